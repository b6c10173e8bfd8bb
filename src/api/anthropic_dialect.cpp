#include "api/anthropic_dialect.h"

#include <algorithm>

#include <boost/json.hpp>

#include "http/sse.h"
#include "providers/anthropic/translate.h"
#include "util/json.h"
#include "util/random.h"

namespace sy::api::anthropic {
namespace {

namespace bj = boost::json;

// ---- request errors, in Anthropic's "path: problem" style ----

Error field_error(const std::string& path, std::string_view problem, std::string code = "invalid_value") {
  return invalid_request(path + ": " + std::string(problem), path, std::move(code));
}
Error missing(const std::string& path) {
  return field_error(path, "Field required", "missing_required_parameter");
}
Error wrong_type(const std::string& path, std::string_view expected) {
  return field_error(path, "Input should be " + std::string(expected), "invalid_type");
}
Error unsupported(const std::string& path, std::string_view what) {
  return field_error(path, std::string(what) + " is not supported by this gateway", "unsupported_parameter");
}

std::string at(const std::string& path, std::size_t i) {
  return path + "." + std::to_string(i);
}
std::string at(const std::string& path, std::string_view key) {
  return path + "." + std::string(key);
}

// A string field, or nullptr when it is absent (or null); `error` is set when it is something else.
const bj::string* string_field(const bj::object& o, std::string_view key, const std::string& path,
                               std::optional<Error>& error) {
  const bj::value* v = o.if_contains(key);
  if (!v || v->is_null()) return nullptr;
  if (!v->is_string()) {
    error = wrong_type(at(path, key), "a valid string");
    return nullptr;
  }
  return &v->get_string();
}

// A required string field: `error` is set when it is absent or not a string.
const bj::string* required_string(const bj::object& o, std::string_view key, const std::string& path,
                                  std::optional<Error>& error) {
  const bj::string* s = string_field(o, key, path, error);
  if (!s && !error) error = missing(at(path, key));
  return s;
}

bool positive_integer(const bj::value& v) {
  return (v.is_int64() && v.get_int64() >= 1) || (v.is_uint64() && v.get_uint64() >= 1);
}

bj::object text_part(std::string_view text, const bj::storage_ptr& sp) {
  bj::object part(sp);
  part["type"] = "text";
  part["text"] = text;
  return part;
}

// An image block's source as an OpenAI image_url part: base64 data becomes a data: URL.
Result<bj::object> image_part(const bj::object& block, const std::string& path, const bj::storage_ptr& sp) {
  const bj::value* source = block.if_contains("source");
  const std::string source_path = at(path, "source");
  if (!source) return missing(source_path);
  if (!source->is_object()) return wrong_type(source_path, "an object");
  const bj::object& src = source->get_object();
  std::optional<Error> error;
  const bj::string* type = string_field(src, "type", source_path, error);
  if (error) return *error;
  if (!type) return missing(at(source_path, "type"));
  std::string url;
  if (*type == "base64") {
    const bj::string* media_type = string_field(src, "media_type", source_path, error);
    const bj::string* data = error ? nullptr : string_field(src, "data", source_path, error);
    if (error) return *error;
    if (!media_type) return missing(at(source_path, "media_type"));
    if (!data) return missing(at(source_path, "data"));
    url.reserve(media_type->size() + data->size() + 13);
    url.append("data:").append(*media_type).append(";base64,").append(*data);
  } else if (*type == "url") {
    const bj::string* u = string_field(src, "url", source_path, error);
    if (error) return *error;
    if (!u) return missing(at(source_path, "url"));
    url = *u;
  } else {
    return unsupported(at(source_path, "type"), "An image source of type '" + std::string(*type) + "'");
  }
  bj::object image_url(sp);
  image_url["url"] = url;
  bj::object part(sp);
  part["type"] = "image_url";
  part["image_url"] = std::move(image_url);
  return part;
}

// A document block: a base64 PDF as an OpenAI file part, plain text as a text part.
Result<bj::object> document_part(const bj::object& block, const std::string& path,
                                 const bj::storage_ptr& sp) {
  const bj::value* source = block.if_contains("source");
  const std::string source_path = at(path, "source");
  if (!source) return missing(source_path);
  if (!source->is_object()) return wrong_type(source_path, "an object");
  const bj::object& src = source->get_object();
  std::optional<Error> error;
  const bj::string* type = string_field(src, "type", source_path, error);
  const bj::string* media_type = error ? nullptr : string_field(src, "media_type", source_path, error);
  const bj::string* data = error ? nullptr : string_field(src, "data", source_path, error);
  if (error) return *error;
  if (!type) return missing(at(source_path, "type"));
  if (!data) return missing(at(source_path, "data"));
  if (*type == "text") return text_part(*data, sp);
  if (*type != "base64" || !media_type || *media_type != "application/pdf") {
    return unsupported(at(source_path, "type"), "A document source other than base64 PDF or text");
  }
  std::string filename = "document.pdf";
  if (const bj::value* title = block.if_contains("title"); title && title->is_string()) {
    filename = title->get_string();
  }
  bj::object file(sp);
  file["filename"] = filename;
  file["file_data"] = "data:application/pdf;base64," + std::string(*data);
  bj::object part(sp);
  part["type"] = "file";
  part["file"] = std::move(file);
  return part;
}

// A tool_result block as an OpenAI "tool" message. Its text blocks become the message's content (an error
// result says so first); its images, which tool messages cannot carry, go to `images` for the user message
// that follows.
Result<bj::object> tool_message(const bj::object& block, const std::string& path, bj::array& images,
                                const bj::storage_ptr& sp) {
  std::optional<Error> error;
  const bj::string* id = string_field(block, "tool_use_id", path, error);
  if (error) return *error;
  if (!id) return missing(at(path, "tool_use_id"));
  std::string text;
  const bj::value* content = block.if_contains("content");
  if (content && content->is_string()) {
    text = content->get_string();
  } else if (content && content->is_array()) {
    const bj::array& blocks = content->get_array();
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const std::string inner = at(at(path, "content"), i);
      const bj::object* b = blocks[i].if_object();
      if (!b) return wrong_type(inner, "an object");
      const bj::string* type = string_field(*b, "type", inner, error);
      if (error) return *error;
      if (!type) return missing(at(inner, "type"));
      if (*type == "text") {
        const bj::string* t = string_field(*b, "text", inner, error);
        if (error) return *error;
        if (!t) return missing(at(inner, "text"));
        if (!text.empty()) text.push_back('\n');
        text.append(*t);
      } else if (*type == "image") {
        auto image = image_part(*b, inner, sp);
        if (!image) return image.error();
        images.emplace_back(std::move(image.value()));
      } else {
        return unsupported(at(inner, "type"), "A '" + std::string(*type) + "' block in a tool result");
      }
    }
  } else if (content && !content->is_null()) {
    return wrong_type(at(path, "content"), "a valid string or a list of content blocks");
  }
  if (const bj::value* is_error = block.if_contains("is_error");
      is_error && is_error->is_bool() && is_error->get_bool()) {
    text.insert(0, text.empty() ? "Error" : "Error: ");
  }
  bj::object message(sp);
  message["role"] = "tool";
  message["tool_call_id"] = *id;
  message["content"] = text;
  return message;
}

// One user message: its tool results become "tool" messages first (OpenAI wants them right after the
// assistant's tool calls), then the rest of its blocks one user message.
std::optional<Error> add_user_message(const bj::array& blocks, const std::string& path, bj::array& out,
                                      const bj::storage_ptr& sp) {
  bj::array parts(sp);
  bj::array tool_images(sp);
  bool tool_results = false;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string block_path = at(path, i);
    const bj::object* block = blocks[i].if_object();
    if (!block) return wrong_type(block_path, "an object");
    std::optional<Error> error;
    const bj::string* type = required_string(*block, "type", block_path, error);
    if (error) return error;
    if (*type == "text") {
      const bj::string* text = required_string(*block, "text", block_path, error);
      if (error) return error;
      parts.emplace_back(text_part(*text, sp));
    } else if (*type == "image") {
      auto part = image_part(*block, block_path, sp);
      if (!part) return part.error();
      parts.emplace_back(std::move(part.value()));
    } else if (*type == "document") {
      auto part = document_part(*block, block_path, sp);
      if (!part) return part.error();
      parts.emplace_back(std::move(part.value()));
    } else if (*type == "tool_result") {
      auto message = tool_message(*block, block_path, tool_images, sp);
      if (!message) return message.error();
      out.emplace_back(std::move(message.value()));
      tool_results = true;
    } else if (*type == "thinking" || *type == "redacted_thinking") {
      continue;  // reasoning of earlier turns: no OpenAI counterpart
    } else {
      return unsupported(at(block_path, "type"), "A '" + std::string(*type) + "' content block");
    }
  }
  if (!tool_images.empty()) {
    for (auto& part : parts) tool_images.emplace_back(std::move(part));
    parts = std::move(tool_images);
  }
  if (parts.empty() && tool_results) return std::nullopt;
  bj::object message(sp);
  message["role"] = "user";
  if (parts.size() == 1 && parts[0].get_object().at("type").get_string() == "text") {
    message["content"] = parts[0].get_object().at("text");
  } else if (parts.empty()) {
    message["content"] = "";
  } else {
    message["content"] = std::move(parts);
  }
  out.emplace_back(std::move(message));
  return std::nullopt;
}

// One assistant message: text blocks joined into its content, tool_use blocks as its tool_calls.
std::optional<Error> add_assistant_message(const bj::array& blocks, const std::string& path, bj::array& out,
                                           const bj::storage_ptr& sp) {
  std::string text;
  bj::array tool_calls(sp);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string block_path = at(path, i);
    const bj::object* block = blocks[i].if_object();
    if (!block) return wrong_type(block_path, "an object");
    std::optional<Error> error;
    const bj::string* type = required_string(*block, "type", block_path, error);
    if (error) return error;
    if (*type == "text") {
      const bj::string* t = required_string(*block, "text", block_path, error);
      if (error) return error;
      if (!text.empty() && !t->empty()) text.push_back('\n');
      text.append(*t);
    } else if (*type == "tool_use") {
      const bj::string* id = string_field(*block, "id", block_path, error);
      const bj::string* name = error ? nullptr : string_field(*block, "name", block_path, error);
      if (error) return error;
      if (!id) return missing(at(block_path, "id"));
      if (!name) return missing(at(block_path, "name"));
      const bj::value* input = block->if_contains("input");
      if (input && !input->is_object()) return wrong_type(at(block_path, "input"), "a valid dictionary");
      bj::object function(sp);
      function["name"] = *name;
      function["arguments"] = input ? bj::serialize(*input) : std::string("{}");
      bj::object call(sp);
      call["id"] = *id;
      call["type"] = "function";
      call["function"] = std::move(function);
      tool_calls.emplace_back(std::move(call));
    } else if (*type == "thinking" || *type == "redacted_thinking") {
      continue;
    } else {
      return unsupported(at(block_path, "type"),
                         "A '" + std::string(*type) + "' block in an assistant message");
    }
  }
  bj::object message(sp);
  message["role"] = "assistant";
  if (text.empty() && !tool_calls.empty()) {
    message["content"] = nullptr;
  } else {
    message["content"] = text;
  }
  if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
  out.emplace_back(std::move(message));
  return std::nullopt;
}

std::optional<Error> add_message(const bj::value& value, std::size_t index, bj::array& out,
                                 const bj::storage_ptr& sp) {
  const std::string path = at("messages", index);
  const bj::object* m = value.if_object();
  if (!m) return wrong_type(path, "a valid dictionary");
  std::optional<Error> error;
  const bj::string* role = required_string(*m, "role", path, error);
  if (error) return error;
  const bool user = *role == "user";
  if (!user && *role != "assistant")
    return field_error(at(path, "role"), "Input should be 'user' or 'assistant'");
  const bj::value* content = m->if_contains("content");
  const std::string content_path = at(path, "content");
  if (!content) return missing(content_path);
  if (content->is_string()) {
    bj::object message(sp);
    message["role"] = *role;
    message["content"] = content->get_string();
    out.emplace_back(std::move(message));
    return std::nullopt;
  }
  if (!content->is_array()) return wrong_type(content_path, "a valid string or a list of content blocks");
  return user ? add_user_message(content->get_array(), content_path, out, sp)
              : add_assistant_message(content->get_array(), content_path, out, sp);
}

// `system`: a string, or text blocks joined by newlines.
Result<std::string> system_text(const bj::value& system) {
  if (system.is_string()) return std::string(system.get_string());
  if (!system.is_array()) return wrong_type("system", "a valid string or a list of text blocks");
  std::string text;
  const bj::array& blocks = system.get_array();
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string path = at("system", i);
    const bj::object* block = blocks[i].if_object();
    if (!block) return wrong_type(path, "an object");
    std::optional<Error> error;
    const bj::string* type = string_field(*block, "type", path, error);
    const bj::string* t = error ? nullptr : string_field(*block, "text", path, error);
    if (error) return *error;
    if (!type || *type != "text") return field_error(at(path, "type"), "Input should be 'text'");
    if (!t) return missing(at(path, "text"));
    if (!text.empty()) text.push_back('\n');
    text.append(*t);
  }
  return text;
}

// `tools`: client tools as OpenAI function tools (input_schema → parameters). Anthropic's server tools (web
// search, code execution, ...) run at Anthropic and cannot be offered to another provider.
Result<bj::array> function_tools(const bj::value& tools, const bj::storage_ptr& sp) {
  if (!tools.is_array()) return wrong_type("tools", "a valid list");
  bj::array out(sp);
  const bj::array& list = tools.get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = at("tools", i);
    const bj::object* tool = list[i].if_object();
    if (!tool) return wrong_type(path, "a valid dictionary");
    std::optional<Error> error;
    const bj::string* type = string_field(*tool, "type", path, error);
    const bj::string* name = error ? nullptr : string_field(*tool, "name", path, error);
    const bj::string* description = error ? nullptr : string_field(*tool, "description", path, error);
    if (error) return *error;
    if (type && *type != "custom") {
      return unsupported(at(path, "type"), "The server tool '" + std::string(*type) + "'");
    }
    if (!name) return missing(at(path, "name"));
    const bj::value* schema = tool->if_contains("input_schema");
    if (!schema) return missing(at(path, "input_schema"));
    if (!schema->is_object()) return wrong_type(at(path, "input_schema"), "a valid dictionary");
    bj::object function(sp);
    function["name"] = *name;
    if (description) function["description"] = *description;
    function["parameters"] = *schema;
    bj::object entry(sp);
    entry["type"] = "function";
    entry["function"] = std::move(function);
    out.emplace_back(std::move(entry));
  }
  return out;
}

// `tool_choice` → OpenAI's tool_choice (and parallel_tool_calls), set on `out`.
std::optional<Error> set_tool_choice(const bj::value& choice, bj::object& out, const bj::storage_ptr& sp) {
  if (!choice.is_object()) return wrong_type("tool_choice", "a valid dictionary");
  const bj::object& c = choice.get_object();
  std::optional<Error> error;
  const bj::string* type = string_field(c, "type", "tool_choice", error);
  if (error) return error;
  if (!type) return missing("tool_choice.type");
  if (*type == "auto") {
    out["tool_choice"] = "auto";
  } else if (*type == "any") {
    out["tool_choice"] = "required";
  } else if (*type == "none") {
    out["tool_choice"] = "none";
  } else if (*type == "tool") {
    const bj::string* name = string_field(c, "name", "tool_choice", error);
    if (error) return error;
    if (!name) return missing("tool_choice.name");
    bj::object function(sp);
    function["name"] = *name;
    bj::object named(sp);
    named["type"] = "function";
    named["function"] = std::move(function);
    out["tool_choice"] = std::move(named);
  } else {
    return field_error("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'");
  }
  if (const bj::value* d = c.if_contains("disable_parallel_tool_use");
      d && d->is_bool() && d->get_bool() && *type != "none") {
    out["parallel_tool_calls"] = false;
  }
  return std::nullopt;
}

// ---- answers ----

std::int64_t integer(const bj::value* v) {
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return -1;
}

std::string_view string_of(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

struct Usage {
  std::int64_t prompt = -1;  // OpenAI's prompt_tokens: cached tokens included
  std::int64_t completion = -1;
  std::int64_t cached = -1;
};

// An OpenAI `usage` object; false when the document has none.
bool read_usage(const bj::object& doc, Usage& usage) {
  const bj::value* u = doc.if_contains("usage");
  if (!u || !u->is_object()) return false;
  const bj::object& o = u->get_object();
  usage.prompt = integer(o.if_contains("prompt_tokens"));
  usage.completion = integer(o.if_contains("completion_tokens"));
  if (const bj::value* details = o.if_contains("prompt_tokens_details"); details && details->is_object()) {
    usage.cached = integer(details->get_object().if_contains("cached_tokens"));
  }
  return true;
}

// Anthropic's usage: input_tokens counts the tokens not read from the cache, cache_read_input_tokens the
// others.
bj::object usage_json(const Usage& usage, bool with_input, const bj::storage_ptr& sp) {
  bj::object out(sp);
  const std::int64_t cached = std::max<std::int64_t>(0, usage.cached);
  if (with_input) out["input_tokens"] = std::max<std::int64_t>(0, usage.prompt - cached);
  out["output_tokens"] = std::max<std::int64_t>(0, usage.completion);
  if (with_input && usage.cached >= 0) out["cache_read_input_tokens"] = usage.cached;
  return out;
}

// A stop sequence is known to have ended the answer when the upstream names it, as vLLM does in the choice's
// `stop_reason`.
std::string matched_stop_sequence(const bj::object& choice, const RequestInfo& info) {
  const std::string_view said = string_of(choice, "stop_reason");
  if (said.empty()) return {};
  const bool known =
      std::find(info.stop_sequences.begin(), info.stop_sequences.end(), said) != info.stop_sequences.end();
  return known ? std::string(said) : std::string();
}

// A tool call's arguments as the tool_use input: a JSON object; empty arguments are {}, anything else that is
// not an object is kept as text under "arguments".
bj::value tool_input(std::string_view arguments, const bj::storage_ptr& sp) {
  const bool blank = std::all_of(arguments.begin(), arguments.end(),
                                 [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
  if (blank) return bj::object(sp);
  boost::system::error_code ec;
  bj::value parsed = bj::parse(arguments, ec, sp, json::parse_options());
  if (!ec && parsed.is_object()) return parsed;
  bj::object wrapped(sp);
  wrapped["arguments"] = arguments;
  return wrapped;
}

std::string tool_id(std::string_view given) {
  return given.empty() ? "toolu_" + random_hex_id() : std::string(given);
}

std::string final_stop_reason(std::string_view finish_reason, bool refused, bool tool_calls,
                              const std::string& stop_sequence) {
  std::string_view reason = stop_reason(finish_reason);
  if (reason == "end_turn") {
    if (tool_calls) reason = "tool_use";
    if (refused) reason = "refusal";
    if (!stop_sequence.empty()) reason = "stop_sequence";
  }
  return std::string(reason);
}

}  // namespace

// ---- requests ----

Result<bj::object> to_openai_request(const bj::object& in, RequestKind kind, RequestInfo& info,
                                     bj::storage_ptr sp) {
  const bj::value* model = in.if_contains("model");
  if (!model) return missing("model");
  if (!model->is_string() || model->get_string().empty()) return wrong_type("model", "a non-empty string");
  info.model = model->get_string();

  const bj::value* max_tokens = in.if_contains("max_tokens");
  if (kind == RequestKind::messages) {
    if (!max_tokens) return missing("max_tokens");
    if (!positive_integer(*max_tokens)) return wrong_type("max_tokens", "an integer of at least 1");
  }

  const bj::value* messages = in.if_contains("messages");
  if (!messages) return missing("messages");
  if (!messages->is_array()) return wrong_type("messages", "a valid list");
  if (messages->get_array().empty()) return field_error("messages", "At least one message is required");

  bj::object out(sp);
  out["model"] = *model;
  bj::array chat(sp);
  if (const bj::value* system = in.if_contains("system"); system && !system->is_null()) {
    auto text = system_text(*system);
    if (!text) return text.error();
    if (!text->empty()) {
      bj::object message(sp);
      message["role"] = "system";
      message["content"] = text.value();
      chat.emplace_back(std::move(message));
    }
  }
  const bj::array& list = messages->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (auto error = add_message(list[i], i, chat, sp)) return *error;
  }
  out["messages"] = std::move(chat);
  if (kind == RequestKind::messages) out["max_tokens"] = *max_tokens;

  if (const bj::value* stream = in.if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) return wrong_type("stream", "a valid boolean");
    if (stream->get_bool() && kind == RequestKind::messages) {
      out["stream"] = true;
      // Usage is always asked for: message_delta reports the real counts.
      bj::object options(sp);
      options["include_usage"] = true;
      out["stream_options"] = std::move(options);
    }
  }
  if (const bj::value* stop = in.if_contains("stop_sequences"); stop && !stop->is_null()) {
    const bj::array* seqs = stop->if_array();
    if (!seqs || !std::all_of(seqs->begin(), seqs->end(), [](const bj::value& v) { return v.is_string(); })) {
      return wrong_type("stop_sequences", "a valid list of strings");
    }
    if (!seqs->empty()) {
      out["stop"] = *seqs;
      for (const auto& s : *seqs) info.stop_sequences.emplace_back(s.get_string());
    }
  }
  for (std::string_view key : {"temperature", "top_p"}) {
    if (const bj::value* v = in.if_contains(key); v && !v->is_null()) {
      if (!v->is_number()) return wrong_type(std::string(key), "a valid number");
      out[key] = *v;
    }
  }
  // top_k has no OpenAI counterpart: checked, then dropped.
  if (const bj::value* top_k = in.if_contains("top_k");
      top_k && !top_k->is_null() && !top_k->is_int64() && !top_k->is_uint64()) {
    return wrong_type("top_k", "a valid integer");
  }
  if (const bj::value* metadata = in.if_contains("metadata"); metadata && !metadata->is_null()) {
    if (!metadata->is_object()) return wrong_type("metadata", "a valid dictionary");
    std::optional<Error> error;
    const bj::string* user = string_field(metadata->get_object(), "user_id", "metadata", error);
    if (error) return *error;
    if (user && !user->empty()) out["user"] = *user;
  }
  if (const bj::value* thinking = in.if_contains("thinking"); thinking && !thinking->is_null()) {
    const bj::object* t = thinking->if_object();
    if (!t) return wrong_type("thinking", "a valid dictionary");
    if (string_of(*t, "type") != "disabled") return unsupported("thinking", "Extended thinking");
  }
  const bj::value* tools = in.if_contains("tools");
  bool has_tools = false;
  if (tools && !tools->is_null()) {
    auto translated = function_tools(*tools, sp);
    if (!translated) return translated.error();
    has_tools = !translated->empty();
    if (has_tools) out["tools"] = std::move(translated.value());
  }
  if (const bj::value* choice = in.if_contains("tool_choice"); choice && !choice->is_null()) {
    bj::object scratch(sp);
    if (auto error = set_tool_choice(*choice, scratch, sp)) return *error;
    // OpenAI takes tool_choice only along with tools.
    if (has_tools) {
      for (auto& field : scratch) out[field.key()] = std::move(field.value());
    }
  }
  // The gateway's own per-request routing fields, as on the OpenAI endpoints (validated there).
  for (std::string_view key : {"num_retries", "timeout", "fallbacks"}) {
    if (const bj::value* v = in.if_contains(key)) out[key] = *v;
  }
  return out;
}

bj::object count_tokens_body(const bj::object& request, bj::storage_ptr sp) {
  bj::object out(sp);
  for (std::string_view key : {"model", "messages", "system", "tools", "tool_choice", "thinking"}) {
    if (const bj::value* v = request.if_contains(key)) out[key] = *v;
  }
  return out;
}

// ---- answers ----

std::string message_id(std::string_view openai_id) {
  if (openai_id.empty()) return "msg_" + random_hex_id();
  if (openai_id.starts_with("msg_")) return std::string(openai_id);
  constexpr std::string_view kChat = "chatcmpl-";
  if (openai_id.starts_with(kChat) && openai_id.size() > kChat.size()) openai_id.remove_prefix(kChat.size());
  return "msg_" + std::string(openai_id);
}

std::string_view stop_reason(std::string_view finish_reason) noexcept {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

Result<std::string> to_anthropic_message(std::string_view openai_body, const RequestInfo& info) {
  const Error not_a_completion{502,
                               "api_error",
                               "The upstream answered with something that is not a chat completion.",
                               "upstream_error",
                               {},
                               {}};
  unsigned char buffer[4096];
  bj::monotonic_resource mr(buffer, sizeof buffer);
  const bj::storage_ptr sp(&mr);
  boost::system::error_code ec;
  bj::value parsed = bj::parse(openai_body, ec, sp, json::parse_options());
  if (ec || !parsed.is_object()) return not_a_completion;
  const bj::object& doc = parsed.get_object();
  const bj::value* choices = doc.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty() ||
      !choices->get_array()[0].is_object()) {
    return not_a_completion;
  }
  const bj::object& choice = choices->get_array()[0].get_object();
  const bj::value* message_value = choice.if_contains("message");
  const bj::object* message = message_value ? message_value->if_object() : nullptr;
  if (!message) return not_a_completion;

  bj::array content(sp);
  bool refused = false;
  if (const bj::value* text = message->if_contains("content"); text && !text->is_null()) {
    std::string t = json::content_text(*text);
    if (!t.empty()) content.emplace_back(text_part(t, sp));
  }
  if (const std::string_view refusal = string_of(*message, "refusal"); !refusal.empty()) {
    content.emplace_back(text_part(refusal, sp));
    refused = true;
  }
  bool tool_calls = false;
  if (const bj::value* calls = message->if_contains("tool_calls"); calls && calls->is_array()) {
    for (const bj::value& c : calls->get_array()) {
      const bj::object* call = c.if_object();
      if (!call) continue;
      const bj::value* f = call->if_contains("function");
      const bj::object* function = f ? f->if_object() : nullptr;
      if (!function) continue;
      bj::object block(sp);
      block["type"] = "tool_use";
      block["id"] = tool_id(string_of(*call, "id"));
      block["name"] = string_of(*function, "name");
      block["input"] = tool_input(string_of(*function, "arguments"), sp);
      content.emplace_back(std::move(block));
      tool_calls = true;
    }
  }
  const std::string stop_sequence = matched_stop_sequence(choice, info);
  Usage usage;
  read_usage(doc, usage);

  bj::object out(sp);
  out["id"] = message_id(string_of(doc, "id"));
  out["type"] = "message";
  out["role"] = "assistant";
  const std::string_view model = string_of(doc, "model");
  out["model"] = model.empty() ? std::string_view(info.model) : model;
  out["content"] = std::move(content);
  out["stop_reason"] =
      final_stop_reason(string_of(choice, "finish_reason"), refused, tool_calls, stop_sequence);
  out["stop_sequence"] = stop_sequence.empty() ? bj::value(nullptr) : bj::value(stop_sequence);
  out["usage"] = usage_json(usage, true, sp);
  return bj::serialize(out);
}

// ---- errors ----

std::string_view error_type(const Error& error) noexcept {
  if (error.code == "model_not_found") return "not_found_error";
  if (error.type == "overloaded_error") return "overloaded_error";
  return providers::anthropic::error_type_for_status(error.status);
}

int error_status(const Error& error) noexcept {
  return error.code == "model_not_found" ? 404 : error.status;
}

std::string error_json(const Error& error) {
  bj::object inner;
  inner["type"] = error_type(error);
  inner["message"] = error.message;
  bj::object outer;
  outer["type"] = "error";
  outer["error"] = std::move(inner);
  return bj::serialize(outer);
}

// ---- streams ----

void StreamTranslator::emit(std::string& out, std::string_view type, const bj::object& event) {
  json::serialize_into(event, scratch_);
  http::append_sse_event(out, type, scratch_);
}

void StreamTranslator::start(std::string& out) {
  started_ = true;
  bj::object message;
  message["id"] = id_;
  message["type"] = "message";
  message["role"] = "assistant";
  message["model"] = model_;
  message["content"] = bj::array();
  message["stop_reason"] = nullptr;
  message["stop_sequence"] = nullptr;
  const Usage usage{input_tokens_, output_tokens_, cached_tokens_};
  message["usage"] = usage_json(usage, true, {});
  bj::object event;
  event["type"] = "message_start";
  event["message"] = std::move(message);
  emit(out, "message_start", event);
}

void StreamTranslator::open_text(std::string& out) {
  if (open_block_ >= 0 && open_is_text_) return;
  close_block(out);
  open_block_ = next_block_++;
  open_is_text_ = true;
  bj::object event;
  event["type"] = "content_block_start";
  event["index"] = open_block_;
  event["content_block"] = {{"type", "text"}, {"text", ""}};
  emit(out, "content_block_start", event);
}

void StreamTranslator::close_block(std::string& out) {
  if (open_block_ < 0) return;
  bj::object event;
  event["type"] = "content_block_stop";
  event["index"] = open_block_;
  emit(out, "content_block_stop", event);
  open_block_ = -1;
}

void StreamTranslator::chunk(std::string_view json, std::string& out) {
  unsigned char buffer[8192];
  bj::monotonic_resource mr(buffer, sizeof buffer);
  boost::system::error_code ec;
  bj::value parsed = bj::parse(json, ec, &mr, json::parse_options());
  if (ec || !parsed.is_object()) return;  // adapters hand over JSON objects only
  const bj::object& doc = parsed.get_object();
  if (Usage usage; read_usage(doc, usage)) {
    input_tokens_ = usage.prompt;
    output_tokens_ = usage.completion;
    cached_tokens_ = usage.cached;
  }
  if (!started_) {
    id_ = message_id(string_of(doc, "id"));
    const std::string_view model = string_of(doc, "model");
    model_ = model.empty() ? info_.model : std::string(model);
    start(out);
  }
  const bj::value* choices = doc.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return;
  const bj::object* choice = choices->get_array()[0].if_object();
  if (!choice) return;
  const bj::value* d = choice->if_contains("delta");
  if (const bj::object* delta = d ? d->if_object() : nullptr) {
    for (std::string_view field : {"content", "refusal"}) {
      const std::string_view text = string_of(*delta, field);
      if (text.empty()) continue;
      if (field == "refusal") refused_ = true;
      open_text(out);
      bj::object event;
      event["type"] = "content_block_delta";
      event["index"] = open_block_;
      event["delta"] = {{"type", "text_delta"}, {"text", text}};
      emit(out, "content_block_delta", event);
    }
    const bj::value* calls = delta->if_contains("tool_calls");
    if (calls && calls->is_array()) {
      std::int64_t position = 0;
      for (const bj::value& c : calls->get_array()) {
        const bj::object* call = c.if_object();
        if (!call) continue;
        std::int64_t index = integer(call->if_contains("index"));
        if (index < 0) index = position;
        ++position;
        const bj::value* f = call->if_contains("function");
        const bj::object* function = f ? f->if_object() : nullptr;
        auto known = std::find_if(tools_.begin(), tools_.end(),
                                  [index](const ToolBlock& t) { return t.openai_index == index; });
        int block = 0;
        if (known == tools_.end()) {
          close_block(out);
          block = open_block_ = next_block_++;
          open_is_text_ = false;
          tools_.push_back({index, block});
          bj::object event;
          event["type"] = "content_block_start";
          event["index"] = block;
          event["content_block"] = {{"type", "tool_use"},
                                    {"id", tool_id(string_of(*call, "id"))},
                                    {"name", function ? string_of(*function, "name") : std::string_view()},
                                    {"input", bj::object()}};
          emit(out, "content_block_start", event);
        } else {
          // OpenAI-compatible upstreams send one tool call after another; should one come back to an earlier
          // call, its arguments still go to that call's block (the SDKs accumulate deltas by index).
          block = known->block;
        }
        const std::string_view arguments = function ? string_of(*function, "arguments") : std::string_view();
        if (!arguments.empty()) {
          bj::object event;
          event["type"] = "content_block_delta";
          event["index"] = block;
          event["delta"] = {{"type", "input_json_delta"}, {"partial_json", arguments}};
          emit(out, "content_block_delta", event);
        }
      }
    }
  }
  if (const std::string_view finish = string_of(*choice, "finish_reason"); !finish.empty()) {
    finish_reason_ = finish;
    stop_sequence_ = matched_stop_sequence(*choice, info_);
  }
}

void StreamTranslator::finish(std::string& out) {
  if (!started_) {
    id_ = message_id({});
    model_ = info_.model;
    start(out);
  }
  close_block(out);
  bj::object delta;
  delta["stop_reason"] = final_stop_reason(finish_reason_, refused_, !tools_.empty(), stop_sequence_);
  delta["stop_sequence"] = stop_sequence_.empty() ? bj::value(nullptr) : bj::value(stop_sequence_);
  const Usage usage{input_tokens_, output_tokens_, cached_tokens_};
  bj::object event;
  event["type"] = "message_delta";
  event["delta"] = std::move(delta);
  event["usage"] = usage_json(usage, input_tokens_ >= 0, {});
  emit(out, "message_delta", event);
  emit(out, "message_stop", bj::object{{"type", "message_stop"}});
}

void StreamTranslator::error(const Error& error, std::string& out) {
  http::append_sse_event(out, "error", error_json(error));
}

// ---- the dialect ----

std::optional<Error> AnthropicDialect::translate_request(bj::value& body) {
  auto translated = to_openai_request(body.as_object(), RequestKind::messages, info_, body.storage());
  if (!translated) return translated.error();
  body = std::move(translated.value());  // built in the body's storage: moved, not copied
  return std::nullopt;
}

Answer AnthropicDialect::response(int status, std::string body) {
  auto message = to_anthropic_message(body, info_);
  if (!message) return error_response(message.error());
  return Answer{status, std::move(message.value())};
}

Answer AnthropicDialect::error_response(const Error& error) const {
  return Answer{error_status(error), error_json(error)};
}

}  // namespace sy::api::anthropic
