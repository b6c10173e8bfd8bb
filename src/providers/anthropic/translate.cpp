#include "providers/anthropic/translate.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "util/json.h"

namespace sy::providers::anthropic {
namespace {

namespace bj = boost::json;

// A field that is present and not null.
const bj::value* present(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

std::optional<std::int64_t> as_int(const bj::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

std::string_view str_field(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

Error unsupported(std::string message, std::string param) {
  return invalid_request(std::move(message), std::move(param), "unsupported_value");
}

Error bad_type(const std::string& param, std::string_view expected) {
  return invalid_request("Invalid type for '" + param + "': expected " + std::string(expected) + ".", param,
                         "invalid_type");
}

// One turn of the Anthropic conversation being built; consecutive same-role turns share one.
struct Turn {
  std::string_view role;  // "user" or "assistant"
  bj::array blocks;
};

class RequestBuilder {
 public:
  explicit RequestBuilder(const RequestOptions& options) : options_(options) {}

  Result<bj::object> build(const bj::object& in) {
    if (auto e = check_unsupported(in)) return *e;
    const bj::value* messages = in.if_contains("messages");
    if (!messages || !messages->is_array()) return bad_type("messages", "an array of message objects");
    const bj::array& list = messages->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (auto e = message(list[i], "messages[" + std::to_string(i) + "]")) return *e;
    }

    bj::object out;
    out["model"] = options_.model;
    if (!system_.empty()) {
      const bj::object& only = system_.front().as_object();
      if (system_.size() == 1 && only.size() == 2) {
        out["system"] = only.at("text");
      } else {
        out["system"] = std::move(system_);
      }
    }
    bj::array turns;
    for (Turn& t : turns_) {
      bj::object m;
      m["role"] = t.role;
      if (t.blocks.size() == 1 && t.blocks.front().as_object().size() == 2 &&
          str_field(t.blocks.front().as_object(), "type") == "text") {
        m["content"] = t.blocks.front().as_object().at("text");
      } else {
        m["content"] = std::move(t.blocks);
      }
      turns.push_back(std::move(m));
    }
    out["messages"] = std::move(turns);

    auto max_tokens = max_tokens_of(in);
    if (!max_tokens) return max_tokens.error();
    out["max_tokens"] = max_tokens.value();

    for (std::string_view key : {"temperature", "top_p", "top_k"}) {
      if (const bj::value* v = present(in, key)) out[key] = *v;
    }
    if (const bj::value* stop = present(in, "stop")) {
      bj::array sequences;
      if (stop->is_string()) {
        sequences.push_back(*stop);
      } else if (const bj::array* a = stop->if_array()) {
        for (const bj::value& s : *a) {
          if (!s.is_string()) return bad_type("stop", "a string or an array of strings");
          sequences.push_back(s);
        }
      } else {
        return bad_type("stop", "a string or an array of strings");
      }
      if (!sequences.empty()) out["stop_sequences"] = std::move(sequences);
    }
    if (const bj::value* user = present(in, "user")) {
      if (!user->is_string()) return bad_type("user", "a string");
      out["metadata"] = bj::object{{"user_id", *user}};
    }
    if (auto e = tools(in, out)) return *e;
    if (const bj::value* stream = present(in, "stream"); stream && stream->is_bool() && stream->get_bool()) {
      out["stream"] = true;
    }
    return out;
  }

 private:
  static std::optional<Error> check_unsupported(const bj::object& in) {
    if (const bj::value* n = present(in, "n")) {
      const auto count = as_int(n);
      if (!count) return bad_type("n", "an integer");
      if (*count != 1) {
        return unsupported("Anthropic models return one choice per request: 'n' must be 1.", "n");
      }
    }
    if (const bj::value* rf = present(in, "response_format")) {
      const bj::object* o = rf->if_object();
      if (!o) return bad_type("response_format", "an object");
      const std::string_view type = str_field(*o, "type");
      if (type == "json_object") {
        return unsupported(
            "response_format json_object is not supported by Anthropic models: ask for JSON in the prompt, "
            "or "
            "use tools with tool_choice to get structured arguments.",
            "response_format");
      }
      if (type == "json_schema") {
        return unsupported(
            "response_format json_schema is not supported by Anthropic models: define a tool whose "
            "parameters "
            "are the schema and force it with tool_choice.",
            "response_format");
      }
      if (type != "text") {
        return unsupported("Unknown response_format type '" + std::string(type) + "'.",
                           "response_format.type");
      }
    }
    if (const bj::value* lp = present(in, "logprobs"); lp && lp->is_bool() && lp->get_bool()) {
      return unsupported("Anthropic models do not return log probabilities: 'logprobs' must be false.",
                         "logprobs");
    }
    return std::nullopt;
  }

  Result<std::int64_t> max_tokens_of(const bj::object& in) const {
    for (std::string_view key : {"max_completion_tokens", "max_tokens"}) {
      const bj::value* v = present(in, key);
      if (!v) continue;
      const auto n = as_int(v);
      if (!n || *n < 1) return bad_type(std::string(key), "a positive integer");
      return *n;
    }
    return options_.default_max_tokens;
  }

  Turn& turn(std::string_view role) {
    if (turns_.empty() || turns_.back().role != role) turns_.push_back(Turn{role, {}});
    return turns_.back();
  }

  std::optional<Error> message(const bj::value& value, const std::string& path) {
    const bj::object* m = value.if_object();
    if (!m) return bad_type(path, "an object");
    const std::string_view role = str_field(*m, "role");
    const bj::value* content = present(*m, "content");
    if (role == "system" || role == "developer") return system(content, path + ".content");
    if (role == "user") {
      bj::array blocks;
      if (auto e = user_content(content, path + ".content", blocks)) return e;
      append(blocks, "user");
      return std::nullopt;
    }
    if (role == "assistant") return assistant(*m, path);
    if (role == "tool") return tool_result(*m, path);
    if (role == "function") {
      return unsupported("The legacy 'function' role is not supported: use 'tool' messages.", path + ".role");
    }
    return invalid_request("Unknown role '" + std::string(role) + "'.", path + ".role", "invalid_value");
  }

  void append(bj::array& blocks, std::string_view role) {
    if (blocks.empty()) return;  // nothing to say: no turn (Anthropic rejects empty content)
    Turn& t = turn(role);
    for (bj::value& b : blocks) t.blocks.push_back(std::move(b));
  }

  // A text part as an Anthropic text block, cache_control kept. Empty text says nothing and is left out.
  static std::optional<Error> text_block(const bj::object& part, const std::string& path, bj::array& out) {
    const bj::value* text = part.if_contains("text");
    if (!text || !text->is_string()) return bad_type(path + ".text", "a string");
    if (text->get_string().empty()) return std::nullopt;
    bj::object block{{"type", "text"}, {"text", *text}};
    if (const bj::value* cc = present(part, "cache_control")) block["cache_control"] = *cc;
    out.push_back(std::move(block));
    return std::nullopt;
  }

  static void text_string(const bj::value& text, bj::array& out) {
    if (!text.get_string().empty()) out.push_back(bj::object{{"type", "text"}, {"text", text}});
  }

  std::optional<Error> system(const bj::value* content, const std::string& path) {
    if (!content) return std::nullopt;
    if (content->is_string()) {
      text_string(*content, system_);
      return std::nullopt;
    }
    const bj::array* parts = content->if_array();
    if (!parts) return bad_type(path, "a string or an array of text parts");
    for (std::size_t j = 0; j < parts->size(); ++j) {
      const std::string part_path = path + "[" + std::to_string(j) + "]";
      const bj::object* part = (*parts)[j].if_object();
      if (!part || str_field(*part, "type") != "text") {
        return unsupported("System messages take text parts only.", part_path + ".type");
      }
      if (auto e = text_block(*part, part_path, system_)) return e;
    }
    return std::nullopt;
  }

  static std::optional<Error> image_block(const bj::object& part, const std::string& path, bj::array& out) {
    const bj::value* image = part.if_contains("image_url");
    std::string_view url;
    if (image && image->is_string()) {
      url = image->get_string();
    } else if (const bj::object* o = image ? image->if_object() : nullptr) {
      url = str_field(*o, "url");
    }
    if (url.empty()) return bad_type(path + ".image_url.url", "a URL string");
    bj::object source;
    if (url.starts_with("data:")) {
      // data:<media type>;base64,<data>
      const std::size_t comma = url.find(',');
      const std::string_view header = url.substr(5, comma == std::string_view::npos ? 0 : comma - 5);
      if (comma == std::string_view::npos || !header.ends_with(";base64")) {
        return invalid_request("Image data URLs must be base64: data:<media type>;base64,<data>.",
                               path + ".image_url.url", "invalid_value");
      }
      source = bj::object{{"type", "base64"},
                          {"media_type", header.substr(0, header.size() - 7)},
                          {"data", url.substr(comma + 1)}};
    } else if (url.starts_with("https://") || url.starts_with("http://")) {
      source = bj::object{{"type", "url"}, {"url", url}};
    } else {
      return invalid_request("Image URLs must be http(s) or base64 data URLs.", path + ".image_url.url",
                             "invalid_value");
    }
    bj::object block{{"type", "image"}, {"source", std::move(source)}};
    if (const bj::value* cc = present(part, "cache_control")) block["cache_control"] = *cc;
    out.push_back(std::move(block));
    return std::nullopt;
  }

  static std::optional<Error> user_content(const bj::value* content, const std::string& path,
                                           bj::array& out) {
    if (!content) return std::nullopt;
    if (content->is_string()) {
      text_string(*content, out);
      return std::nullopt;
    }
    const bj::array* parts = content->if_array();
    if (!parts) return bad_type(path, "a string or an array of content parts");
    for (std::size_t j = 0; j < parts->size(); ++j) {
      const std::string part_path = path + "[" + std::to_string(j) + "]";
      const bj::object* part = (*parts)[j].if_object();
      if (!part) return bad_type(part_path, "a content part object");
      const std::string_view type = str_field(*part, "type");
      std::optional<Error> e;
      if (type == "text") {
        e = text_block(*part, part_path, out);
      } else if (type == "image_url") {
        e = image_block(*part, part_path, out);
      } else {
        e = unsupported("Content parts of type '" + std::string(type) +
                            "' are not supported by Anthropic models (text and image_url are).",
                        part_path + ".type");
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  std::optional<Error> assistant(const bj::object& m, const std::string& path) {
    bj::array blocks;
    if (const bj::value* content = present(m, "content")) {
      if (content->is_string()) {
        text_string(*content, blocks);
      } else if (const bj::array* parts = content->if_array()) {
        for (std::size_t j = 0; j < parts->size(); ++j) {
          const std::string part_path = path + ".content[" + std::to_string(j) + "]";
          const bj::object* part = (*parts)[j].if_object();
          const std::string_view type = part ? str_field(*part, "type") : std::string_view();
          if (type == "text") {
            if (auto e = text_block(*part, part_path, blocks)) return e;
          } else if (type == "refusal") {
            const bj::value* refusal = part->if_contains("refusal");
            if (!refusal || !refusal->is_string()) return bad_type(part_path + ".refusal", "a string");
            text_string(*refusal, blocks);
          } else {
            return unsupported("Assistant messages take text and refusal parts only.", part_path + ".type");
          }
        }
      } else {
        return bad_type(path + ".content", "a string or an array of content parts");
      }
    }
    if (present(m, "function_call")) {
      return unsupported("The legacy 'function_call' is not supported: use 'tool_calls'.",
                         path + ".function_call");
    }
    if (const bj::value* calls = present(m, "tool_calls")) {
      const bj::array* list = calls->if_array();
      if (!list) return bad_type(path + ".tool_calls", "an array");
      for (std::size_t j = 0; j < list->size(); ++j) {
        const std::string call_path = path + ".tool_calls[" + std::to_string(j) + "]";
        const bj::object* call = (*list)[j].if_object();
        if (!call) return bad_type(call_path, "an object");
        const std::string_view id = str_field(*call, "id");
        if (id.empty()) return bad_type(call_path + ".id", "a non-empty string");
        const bj::value* fn = call->if_contains("function");
        const bj::object* function = fn ? fn->if_object() : nullptr;
        if (!function) return bad_type(call_path + ".function", "an object");
        const std::string_view name = str_field(*function, "name");
        if (name.empty()) return bad_type(call_path + ".function.name", "a non-empty string");
        const std::string_view arguments = str_field(*function, "arguments");
        bj::value input = bj::object();
        if (!arguments.empty()) {
          boost::system::error_code ec;
          input = bj::parse(arguments, ec, {}, json::parse_options());
          if (ec || !input.is_object()) {
            return invalid_request("Tool call arguments must be a JSON object, serialized as a string.",
                                   call_path + ".function.arguments", "invalid_value");
          }
        }
        blocks.push_back(
            bj::object{{"type", "tool_use"}, {"id", id}, {"name", name}, {"input", std::move(input)}});
      }
    }
    append(blocks, "assistant");
    return std::nullopt;
  }

  std::optional<Error> tool_result(const bj::object& m, const std::string& path) {
    const std::string_view id = str_field(m, "tool_call_id");
    if (id.empty()) return bad_type(path + ".tool_call_id", "a non-empty string");
    bj::object block{{"type", "tool_result"}, {"tool_use_id", id}};
    if (const bj::value* content = present(m, "content")) {
      if (content->is_string()) {
        if (!content->get_string().empty()) block["content"] = *content;
      } else if (const bj::array* parts = content->if_array()) {
        bj::array texts;
        for (std::size_t j = 0; j < parts->size(); ++j) {
          const std::string part_path = path + ".content[" + std::to_string(j) + "]";
          const bj::object* part = (*parts)[j].if_object();
          if (!part || str_field(*part, "type") != "text") {
            return unsupported("Tool messages take text parts only.", part_path + ".type");
          }
          if (auto e = text_block(*part, part_path, texts)) return e;
        }
        if (!texts.empty()) block["content"] = std::move(texts);
      } else {
        return bad_type(path + ".content", "a string or an array of text parts");
      }
    }
    turn("user").blocks.push_back(std::move(block));
    return std::nullopt;
  }

  static std::optional<Error> tools(const bj::object& in, bj::object& out) {
    bj::array defs;
    if (const bj::value* tools = present(in, "tools")) {
      const bj::array* list = tools->if_array();
      if (!list) return bad_type("tools", "an array");
      for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = "tools[" + std::to_string(i) + "]";
        const bj::object* tool = (*list)[i].if_object();
        if (!tool) return bad_type(path, "an object");
        if (str_field(*tool, "type") != "function") {
          return unsupported("Only tools of type 'function' are supported.", path + ".type");
        }
        const bj::value* fn = tool->if_contains("function");
        const bj::object* function = fn ? fn->if_object() : nullptr;
        if (!function) return bad_type(path + ".function", "an object");
        const std::string_view name = str_field(*function, "name");
        if (name.empty()) return bad_type(path + ".function.name", "a non-empty string");
        bj::object def{{"name", name}};
        if (const bj::value* d = present(*function, "description")) def["description"] = *d;
        if (const bj::value* p = present(*function, "parameters")) {
          def["input_schema"] = *p;
        } else {
          def["input_schema"] = bj::object{{"type", "object"}, {"properties", bj::object()}};
        }
        if (const bj::value* cc = present(*tool, "cache_control")) def["cache_control"] = *cc;
        defs.push_back(std::move(def));
      }
    }

    const bool serial = [&] {
      const bj::value* p = present(in, "parallel_tool_calls");
      return p && p->is_bool() && !p->get_bool();
    }();
    std::optional<bj::object> choice;
    std::string_view kind = "auto";
    if (const bj::value* tc = present(in, "tool_choice")) {
      if (tc->is_string()) {
        kind = tc->get_string();
        if (kind == "required") {
          choice = bj::object{{"type", "any"}};
        } else if (kind == "auto" || kind == "none") {
          choice = bj::object{{"type", kind}};
        } else {
          return invalid_request("tool_choice must be 'auto', 'none', 'required' or a named function.",
                                 "tool_choice", "invalid_value");
        }
      } else if (const bj::object* o = tc->if_object()) {
        const bj::value* fn = o->if_contains("function");
        const std::string_view name = fn && fn->is_object() ? str_field(fn->get_object(), "name") : "";
        if (str_field(*o, "type") != "function" || name.empty()) {
          return bad_type("tool_choice", "{\"type\": \"function\", \"function\": {\"name\": ...}}");
        }
        kind = "function";
        choice = bj::object{{"type", "tool"}, {"name", name}};
      } else {
        return bad_type("tool_choice", "a string or an object");
      }
    }
    if (defs.empty()) {
      // Without tools, "auto" and "none" say nothing; forcing a tool that is not there is the client's error.
      if (choice && kind != "auto" && kind != "none") {
        return invalid_request("tool_choice '" + std::string(kind) + "' needs tools.", "tool_choice",
                               "invalid_value");
      }
      return std::nullopt;
    }
    out["tools"] = std::move(defs);
    if (serial && kind != "none") {
      if (!choice) choice = bj::object{{"type", "auto"}};
      (*choice)["disable_parallel_tool_use"] = true;
    }
    if (choice) out["tool_choice"] = std::move(*choice);
    return std::nullopt;
  }

  const RequestOptions& options_;
  bj::array system_;
  std::vector<Turn> turns_;
};

std::int64_t count(const bj::object& usage, std::string_view key, std::int64_t fallback) {
  const auto v = as_int(present(usage, key));
  return v ? *v : fallback;
}

bool contains_ci(std::string_view text, std::string_view needle) {
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

bj::object chat_choice_shell() {
  return bj::object{{"index", 0}};
}

}  // namespace

Result<bj::object> to_anthropic_request(const bj::object& request, const RequestOptions& options) {
  RequestBuilder builder(options);
  return builder.build(request);
}

std::string_view finish_reason(std::string_view stop_reason) noexcept {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

bj::object Usage::to_openai() const {
  const std::int64_t prompt = prompt_tokens();
  return bj::object{{"prompt_tokens", prompt},
                    {"completion_tokens", output_tokens},
                    {"total_tokens", prompt + output_tokens},
                    {"prompt_tokens_details", bj::object{{"cached_tokens", cache_read_input_tokens}}}};
}

void Usage::update(const bj::object& usage) {
  input_tokens = count(usage, "input_tokens", input_tokens);
  cache_read_input_tokens = count(usage, "cache_read_input_tokens", cache_read_input_tokens);
  cache_creation_input_tokens = count(usage, "cache_creation_input_tokens", cache_creation_input_tokens);
  output_tokens = count(usage, "output_tokens", output_tokens);
}

Result<std::string> to_openai_response(std::string_view body, const ResponseOptions& options,
                                       ResponseMeta& meta) {
  boost::system::error_code ec;
  bj::value parsed = bj::parse(body, ec, {}, json::parse_options());
  const bj::object* msg = ec ? nullptr : parsed.if_object();
  const bj::value* content = msg ? msg->if_contains("content") : nullptr;
  if (!content || !content->is_array()) {
    return Error{502,
                 "api_error",
                 "The upstream answered with something that is not an Anthropic message.",
                 "upstream_error",
                 {},
                 {}};
  }
  meta.id = str_field(*msg, "id");
  meta.model = str_field(*msg, "model");

  std::string text;
  bj::array tool_calls;
  for (const bj::value& b : content->get_array()) {
    const bj::object* block = b.if_object();
    if (!block) continue;
    const std::string_view type = str_field(*block, "type");
    if (type == "text") {
      text += str_field(*block, "text");
    } else if (type == "tool_use") {
      std::string arguments = "{}";
      if (const bj::value* input = present(*block, "input")) json::serialize_into(*input, arguments);
      tool_calls.push_back(bj::object{{"id", str_field(*block, "id")},
                                      {"type", "function"},
                                      {"function", bj::object{{"name", str_field(*block, "name")},
                                                              {"arguments", std::move(arguments)}}}});
    }
    // thinking, server tool blocks and others have no chat.completion counterpart
  }

  Usage usage;
  if (const bj::value* u = msg->if_contains("usage"); u && u->is_object()) usage.update(u->get_object());
  meta.prompt_tokens = usage.prompt_tokens();
  meta.completion_tokens = usage.output_tokens;
  const std::string_view finish = finish_reason(str_field(*msg, "stop_reason"));
  meta.finish_reasons.emplace_back(finish);
  if (options.capture_content) meta.completion_text += text;

  bj::object message{{"role", "assistant"}};
  if (text.empty() && !tool_calls.empty()) {
    message["content"] = nullptr;
  } else {
    message["content"] = std::move(text);
  }
  if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
  bj::object choice = chat_choice_shell();
  choice["message"] = std::move(message);
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish;

  bj::object out{{"id", meta.id},
                 {"object", "chat.completion"},
                 {"created", options.created},
                 {"model", options.public_model},
                 {"choices", bj::array{std::move(choice)}},
                 {"usage", usage.to_openai()}};
  std::string serialized;
  json::serialize_into(out, serialized);
  return serialized;
}

int status_for_error_type(std::string_view type) noexcept {
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  if (type == "rate_limit_error") return 429;
  if (type == "overloaded_error") return 529;
  return 500;
}

void scrub(std::string& text, std::string_view secret) {
  if (secret.size() < 4) return;
  static constexpr std::string_view kRedacted = "[redacted]";
  for (auto pos = text.find(secret); pos != std::string::npos;
       pos = text.find(secret, pos + kRedacted.size())) {
    text.replace(pos, secret.size(), kRedacted);
  }
}

Error map_error(int status, std::string_view body, std::string_view retry_after, std::string_view secret) {
  Error e;
  e.status = status;
  e.retry_after = std::string(retry_after);
  boost::system::error_code ec;
  bj::value v = bj::parse(body, ec, {}, json::parse_options());
  if (!ec && v.is_object()) {
    if (const bj::value* inner = v.as_object().if_contains("error"); inner && inner->is_object()) {
      e.type = str_field(inner->get_object(), "type");
      e.message = str_field(inner->get_object(), "message");
    }
  }
  if (e.type.empty()) e.type = std::string(error_type_for_status(status));
  if (e.message.empty()) e.message = "The upstream answered HTTP " + std::to_string(status) + ".";
  if (e.type == "overloaded_error" || status == 529) {
    // 529 is Anthropic's own status; clients and the router know 503.
    e.status = 503;
    e.type = "api_error";
    e.code = "overloaded";
  } else if (e.type == "invalid_request_error" && contains_ci(e.message, "prompt is too long")) {
    e.code = "context_length_exceeded";
    e.param = "messages";
  }
  for (std::string* field : {&e.message, &e.type, &e.retry_after}) scrub(*field, secret);
  return e;
}

// ----------------------------------------------------------------------------------------------------------------
// Streams

StreamTranslator::StreamTranslator(const Options& options, ResponseMeta& meta)
    : options_(options), meta_(meta) {}

std::string StreamTranslator::chunk(bj::object delta, std::string_view finish) const {
  bj::object choice = chat_choice_shell();
  choice["delta"] = std::move(delta);
  choice["logprobs"] = nullptr;
  if (finish.empty()) {
    choice["finish_reason"] = nullptr;
  } else {
    choice["finish_reason"] = finish;
  }
  bj::object c{{"id", id_},
               {"object", "chat.completion.chunk"},
               {"created", options_.created},
               {"model", options_.public_model},
               {"choices", bj::array{std::move(choice)}}};
  std::string out;
  json::serialize_into(c, out);
  return out;
}

std::string StreamTranslator::usage_chunk() const {
  bj::object c{{"id", id_},
               {"object", "chat.completion.chunk"},
               {"created", options_.created},
               {"model", options_.public_model},
               {"choices", bj::array()},
               {"usage", usage_.to_openai()}};
  std::string out;
  json::serialize_into(c, out);
  return out;
}

void StreamTranslator::emit_delta(bj::object delta, std::vector<std::string>& out) {
  if (!role_sent_) {
    delta["role"] = "assistant";
    role_sent_ = true;
  }
  out.push_back(chunk(std::move(delta), {}));
}

void StreamTranslator::note_usage() {
  meta_.prompt_tokens = usage_.prompt_tokens();
  meta_.completion_tokens = usage_.output_tokens;
}

bool StreamTranslator::on_event(const http::SseEvent& event, std::vector<std::string>& out) {
  boost::system::error_code ec;
  bj::value parsed = bj::parse(event.data, ec, {}, json::parse_options());
  if (ec || !parsed.is_object()) {
    error_ = Error{502, "api_error", "The upstream sent a stream event that is not JSON.", "upstream_error",
                   {},  {}};
    return false;
  }
  const bj::object& ev = parsed.as_object();
  std::string_view type = str_field(ev, "type");
  if (type.empty()) type = event.event;

  if (type == "message_start") {
    if (const bj::value* m = ev.if_contains("message"); m && m->is_object()) {
      const bj::object& msg = m->get_object();
      id_ = str_field(msg, "id");
      meta_.id = id_;
      meta_.model = str_field(msg, "model");
      if (const bj::value* u = msg.if_contains("usage"); u && u->is_object()) usage_.update(u->get_object());
      note_usage();
    }
    // Nothing to forward yet: the role rides on the first delta, so an error right after message_start still
    // leaves the client untouched (and the router free to retry).
  } else if (type == "content_block_start") {
    const bj::value* b = ev.if_contains("content_block");
    const bj::object* block = b ? b->if_object() : nullptr;
    if (!block) return true;
    const std::string_view block_type = str_field(*block, "type");
    if (block_type == "text") {
      const std::string_view text = str_field(*block, "text");
      if (!text.empty()) {
        if (options_.capture_content) meta_.completion_text += text;
        emit_delta(bj::object{{"content", text}}, out);
      }
    } else if (block_type == "tool_use") {
      const std::int64_t index = next_tool_++;
      tool_blocks_.emplace_back(as_int(ev.if_contains("index")).value_or(-1), index);
      bj::object call{{"index", index},
                      {"id", str_field(*block, "id")},
                      {"type", "function"},
                      {"function", bj::object{{"name", str_field(*block, "name")}, {"arguments", ""}}}};
      emit_delta(bj::object{{"tool_calls", bj::array{std::move(call)}}}, out);
    }
  } else if (type == "content_block_delta") {
    const bj::value* d = ev.if_contains("delta");
    const bj::object* delta = d ? d->if_object() : nullptr;
    if (!delta) return true;
    const std::string_view delta_type = str_field(*delta, "type");
    if (delta_type == "text_delta") {
      const std::string_view text = str_field(*delta, "text");
      if (text.empty()) return true;
      if (options_.capture_content) meta_.completion_text += text;
      emit_delta(bj::object{{"content", text}}, out);
    } else if (delta_type == "input_json_delta") {
      const std::string_view partial = str_field(*delta, "partial_json");
      const std::int64_t block_index = as_int(ev.if_contains("index")).value_or(-1);
      const auto it = std::find_if(tool_blocks_.begin(), tool_blocks_.end(),
                                   [&](const auto& p) { return p.first == block_index; });
      if (partial.empty() || it == tool_blocks_.end()) return true;
      bj::object call{{"index", it->second}, {"function", bj::object{{"arguments", partial}}}};
      emit_delta(bj::object{{"tool_calls", bj::array{std::move(call)}}}, out);
    }
    // thinking, signature and citation deltas have no chat.completion.chunk counterpart
  } else if (type == "message_delta") {
    if (const bj::value* u = ev.if_contains("usage"); u && u->is_object()) {
      usage_.update(u->get_object());
      note_usage();
    }
    const bj::value* d = ev.if_contains("delta");
    const bj::object* delta = d ? d->if_object() : nullptr;
    const std::string_view stop = delta ? str_field(*delta, "stop_reason") : std::string_view();
    if (!stop.empty()) {
      const std::string_view finish = finish_reason(stop);
      meta_.finish_reasons.emplace_back(finish);
      bj::object empty;
      if (!role_sent_) {
        empty["role"] = "assistant";
        role_sent_ = true;
      }
      out.push_back(chunk(std::move(empty), finish));
    }
  } else if (type == "message_stop") {
    stopped_ = true;
    if (options_.include_usage) out.push_back(usage_chunk());
  } else if (type == "error") {
    const bj::value* inner = ev.if_contains("error");
    const std::string_view error_type =
        inner && inner->is_object() ? str_field(inner->get_object(), "type") : "";
    error_ = map_error(status_for_error_type(error_type), event.data, {}, options_.secret);
    return false;
  }
  // ping, content_block_stop and event types added later carry nothing to forward
  return true;
}

bool StreamTranslator::feed(std::string_view bytes, std::vector<std::string>& out) {
  if (!reader_.feed(bytes)) {
    error_ =
        Error{502, "api_error", "The upstream sent an oversized stream event.", "upstream_error", {}, {}};
    return false;
  }
  for (const http::SseEvent& ev : reader_.events()) {
    if (!on_event(ev, out)) return false;
  }
  return true;
}

std::optional<Error> StreamTranslator::finish() const {
  if (stopped_) return std::nullopt;
  return Error{502, "api_error", "The upstream stream ended before message_stop.", "upstream_error", {}, {}};
}

std::string_view error_type_for_status(int status) noexcept {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

}  // namespace sy::providers::anthropic
