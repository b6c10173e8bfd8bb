#include "providers/bedrock/converse.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

#include <boost/json.hpp>

#include "util/json.h"
#include "util/random.h"

namespace sy::providers::bedrock {
namespace {

namespace bj = boost::json;

bool is_set(const bj::value* v) noexcept {
  return v && !v->is_null();
}

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && starts_with_ci(a, b);
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error unsupported(std::string param, std::string message) {
  return invalid_request(std::move(message), std::move(param), "unsupported_parameter");
}

Error wrong_type(const std::string& param, std::string_view expected) {
  return invalid_request("Invalid type for '" + param + "': expected " + std::string(expected) + ".", param,
                         "invalid_type");
}

std::optional<std::int64_t> integer(const bj::value& v) noexcept {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get_uint64());
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

bool is_base64(std::string_view s) noexcept {
  if (s.empty() || s.size() % 4 != 0) return false;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '=') {
      if (i + 2 < s.size()) return false;  // at most two, at the end
      ++padding;
      continue;
    }
    if (padding > 0) return false;
    if (!(std::isalnum(c) || c == '+' || c == '/')) return false;
  }
  return true;
}

// An OpenAI image part ({"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}) as a
// Converse image block. Bedrock takes image bytes only: URLs are refused, not fetched.
Result<bj::object> image_block(const bj::object& part, const std::string& path) {
  std::string_view url;
  const bj::value* image_url = part.if_contains("image_url");
  if (image_url && image_url->is_string()) {
    url = image_url->get_string();
  } else if (image_url && image_url->is_object()) {
    if (const auto* u = image_url->get_object().if_contains("url"); u && u->is_string())
      url = u->get_string();
  }
  const std::string param = path + ".image_url.url";
  if (url.empty())
    return invalid_request("Missing required parameter: '" + param + "'.", param,
                           "missing_required_parameter");
  if (starts_with_ci(url, "http://") || starts_with_ci(url, "https://")) {
    return invalid_request("Bedrock needs images inline as base64 data URLs (data:image/png;base64,...): '" +
                               param + "' is an http(s) URL.",
                           param, "invalid_image_url");
  }
  const std::size_t comma = url.find(',');
  if (!starts_with_ci(url, "data:") || comma == std::string_view::npos) {
    return invalid_request("Bedrock needs images inline as base64 data URLs (data:image/png;base64,...): '" +
                               param + "' is not a data URL.",
                           param, "invalid_image_url");
  }
  const std::string header = lowercase(url.substr(5, comma - 5));  // "image/png;base64"
  const std::string_view data = url.substr(comma + 1);
  const std::size_t semicolon = header.find(';');
  const std::string_view media_type = std::string_view(header).substr(0, semicolon);
  const bool base64 = semicolon != std::string::npos && header.find("base64", semicolon) != std::string::npos;
  std::string_view format;
  if (media_type == "image/png") {
    format = "png";
  } else if (media_type == "image/jpeg" || media_type == "image/jpg") {
    format = "jpeg";
  } else if (media_type == "image/gif") {
    format = "gif";
  } else if (media_type == "image/webp") {
    format = "webp";
  } else {
    return invalid_request("Bedrock accepts png, jpeg, gif and webp images; '" + param + "' is '" +
                               std::string(media_type) + "'.",
                           param, "invalid_image_url");
  }
  if (!base64 || !is_base64(data)) {
    return invalid_request(
        "'" + param + "' must carry its image as base64 (data:image/" + std::string(format) + ";base64,...).",
        param, "invalid_image_url");
  }
  return bj::object{{"image", bj::object{{"format", format}, {"source", bj::object{{"bytes", data}}}}}};
}

// Appends the Converse blocks of an OpenAI message `content` (a string, an array of parts, or null) to `out`.
// Empty texts are left out: Converse refuses blank text blocks.
std::optional<Error> content_blocks(const bj::value* content, const std::string& path, bool images,
                                    bj::array& out) {
  if (!is_set(content)) return std::nullopt;
  if (const auto* s = content->if_string()) {
    if (!s->empty()) out.push_back(bj::object{{"text", *s}});
    return std::nullopt;
  }
  const auto* parts = content->if_array();
  if (!parts) return wrong_type(path + ".content", "a string or an array of content parts");
  for (std::size_t i = 0; i < parts->size(); ++i) {
    const std::string part_path = path + ".content[" + std::to_string(i) + "]";
    const auto* part = (*parts)[i].if_object();
    if (!part) return wrong_type(part_path, "a content part object");
    const auto* type = part->if_contains("type");
    const std::string_view kind = type && type->is_string() ? std::string_view(type->get_string()) : "";
    if (kind == "text") {
      const auto* text = part->if_contains("text");
      if (!text || !text->is_string()) return wrong_type(part_path + ".text", "a string");
      if (!text->get_string().empty()) out.push_back(bj::object{{"text", text->get_string()}});
    } else if (kind == "image_url" && images) {
      auto block = image_block(*part, part_path);
      if (!block) return block.error();
      out.push_back(std::move(block.value()));
    } else {
      return unsupported(part_path + ".type", "Content parts of type '" + std::string(kind) +
                                                  "' are not supported for Bedrock in this message.");
    }
  }
  return std::nullopt;
}

// System and developer messages: text only.
std::optional<Error> system_blocks(const bj::value* content, const std::string& path, bj::array& out) {
  return content_blocks(content, path, false, out);
}

std::optional<Error> tool_use_blocks(const bj::value& calls, const std::string& path, bj::array& out) {
  const auto* list = calls.if_array();
  if (!list) return wrong_type(path + ".tool_calls", "an array");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string call_path = path + ".tool_calls[" + std::to_string(i) + "]";
    const auto* call = (*list)[i].if_object();
    if (!call) return wrong_type(call_path, "an object");
    const auto* id = call->if_contains("id");
    if (!id || !id->is_string()) return wrong_type(call_path + ".id", "a string");
    const auto* fn = call->if_contains("function");
    if (!fn || !fn->is_object()) return wrong_type(call_path + ".function", "an object");
    const auto* name = fn->get_object().if_contains("name");
    if (!name || !name->is_string()) return wrong_type(call_path + ".function.name", "a string");
    const auto* args = fn->get_object().if_contains("arguments");
    bj::value input = bj::object();
    if (args && args->is_string() && !args->get_string().empty()) {
      boost::system::error_code ec;
      input = bj::parse(args->get_string(), ec, {}, json::parse_options());
      if (ec) {
        return invalid_request("'" + call_path + ".function.arguments' is not valid JSON.",
                               call_path + ".function.arguments", "invalid_value");
      }
    } else if (args && args->is_object()) {
      input = *args;
    } else if (is_set(args) && !args->is_string()) {
      return wrong_type(call_path + ".function.arguments", "a JSON string");
    }
    out.push_back(bj::object{{"toolUse", bj::object{{"toolUseId", id->get_string()},
                                                    {"name", name->get_string()},
                                                    {"input", std::move(input)}}}});
  }
  return std::nullopt;
}

// A tool message as a toolResult block: text content as text, a JSON object or array as json.
Result<bj::object> tool_result_block(const bj::object& m, const std::string& path) {
  const auto* id = m.if_contains("tool_call_id");
  if (!id || !id->is_string()) return wrong_type(path + ".tool_call_id", "a string");
  bj::array content;
  const auto* c = m.if_contains("content");
  if (!is_set(c)) {
    content.push_back(bj::object{{"text", ""}});
  } else if (c->is_string()) {
    content.push_back(bj::object{{"text", c->get_string()}});
  } else if (const auto* parts = c->if_array()) {
    for (std::size_t i = 0; i < parts->size(); ++i) {
      const auto* part = (*parts)[i].if_object();
      const auto* type = part ? part->if_contains("type") : nullptr;
      const auto* text = part ? part->if_contains("text") : nullptr;
      if (!type || !type->is_string() || type->get_string() != "text" || !text || !text->is_string()) {
        return unsupported(path + ".content[" + std::to_string(i) + "]",
                           "Tool results for Bedrock are text: content parts of type 'text' only.");
      }
      content.push_back(bj::object{{"text", text->get_string()}});
    }
    if (content.empty()) content.push_back(bj::object{{"text", ""}});
  } else if (c->is_object()) {
    content.push_back(bj::object{{"json", *c}});
  } else {
    return wrong_type(path + ".content", "a string or an array of text parts");
  }
  return bj::object{
      {"toolResult", bj::object{{"toolUseId", id->get_string()}, {"content", std::move(content)}}}};
}

struct Turn {
  std::string_view role;  // "user" or "assistant"
  bj::array content;
};

// The messages as Converse turns (consecutive turns of one role merged, as Converse wants them alternating)
// and the system prompt.
std::optional<Error> translate_messages(const bj::array& messages, bj::array& system, bj::array& out) {
  std::vector<Turn> turns;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string path = "messages[" + std::to_string(i) + "]";
    const auto* m = messages[i].if_object();
    if (!m) return wrong_type(path, "an object");
    const auto* role_value = m->if_contains("role");
    if (!role_value || !role_value->is_string()) return wrong_type(path + ".role", "a string");
    const std::string_view role = role_value->get_string();
    const bj::value* content = m->if_contains("content");
    if (role == "system" || role == "developer") {
      if (auto e = system_blocks(content, path, system)) return e;
    } else if (role == "user") {
      Turn t{"user", {}};
      if (auto e = content_blocks(content, path, true, t.content)) return e;
      turns.push_back(std::move(t));
    } else if (role == "assistant") {
      Turn t{"assistant", {}};
      if (auto e = content_blocks(content, path, false, t.content)) return e;
      if (const auto* calls = m->if_contains("tool_calls"); is_set(calls)) {
        if (auto e = tool_use_blocks(*calls, path, t.content)) return e;
      }
      if (is_set(m->if_contains("function_call"))) {
        return unsupported(path + ".function_call",
                           "Legacy function calls are not supported for Bedrock: use tool_calls.");
      }
      turns.push_back(std::move(t));
    } else if (role == "tool") {
      auto block = tool_result_block(*m, path);
      if (!block) return block.error();
      turns.push_back(Turn{"user", bj::array{std::move(block.value())}});
    } else if (role == "function") {
      return unsupported(path + ".role",
                         "Legacy function messages are not supported for Bedrock: use tool messages.");
    } else {
      return invalid_request("Invalid value for '" + path + ".role': '" + std::string(role) + "'.",
                             path + ".role", "invalid_value");
    }
  }
  for (Turn& t : turns) {
    if (t.content.empty()) continue;
    if (!out.empty() && out.back().as_object().at("role").as_string() == t.role) {
      bj::array& merged = out.back().as_object().at("content").as_array();
      for (auto& block : t.content) merged.push_back(std::move(block));
      continue;
    }
    out.push_back(bj::object{{"role", t.role}, {"content", std::move(t.content)}});
  }
  if (out.empty()) {
    return invalid_request("'messages' must contain a user or assistant message with content for Bedrock.",
                           "messages", "invalid_value");
  }
  return std::nullopt;
}

std::optional<Error> translate_inference(const bj::object& body, bj::object& config) {
  const bj::value* max_tokens = body.if_contains("max_completion_tokens");
  std::string max_param = "max_completion_tokens";
  if (!is_set(max_tokens)) {
    max_tokens = body.if_contains("max_tokens");
    max_param = "max_tokens";
  }
  if (is_set(max_tokens)) {
    const auto n = integer(*max_tokens);
    if (!n || *n < 1) return wrong_type(max_param, "a positive integer");
    config["maxTokens"] = *n;
  }
  static constexpr std::pair<std::string_view, std::string_view> kNumbers[] = {{"temperature", "temperature"},
                                                                               {"top_p", "topP"}};
  for (const auto& [from, to] : kNumbers) {
    const auto* v = body.if_contains(from);
    if (!is_set(v)) continue;
    if (!v->is_number()) return wrong_type(std::string(from), "a number");
    config[to] = v->to_number<double>();
  }
  if (const auto* stop = body.if_contains("stop"); is_set(stop)) {
    bj::array sequences;
    if (stop->is_string()) {
      sequences.push_back(stop->get_string());
    } else if (const auto* list = stop->if_array()) {
      for (const auto& s : *list) {
        if (!s.is_string()) return wrong_type("stop", "a string or an array of strings");
        sequences.push_back(s);
      }
    } else {
      return wrong_type("stop", "a string or an array of strings");
    }
    if (!sequences.empty()) config["stopSequences"] = std::move(sequences);
  }
  return std::nullopt;
}

std::optional<Error> translate_tools(const bj::object& body, bj::object& request) {
  const auto* tools = body.if_contains("tools");
  if (!is_set(tools)) return std::nullopt;
  const auto* list = tools->if_array();
  if (!list) return wrong_type("tools", "an array");
  if (list->empty()) return std::nullopt;
  const auto* choice = body.if_contains("tool_choice");
  if (is_set(choice) && choice->is_string() && choice->get_string() == "none") return std::nullopt;

  bj::array specs;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = "tools[" + std::to_string(i) + "]";
    const auto* tool = (*list)[i].if_object();
    if (!tool) return wrong_type(path, "an object");
    const auto* type = tool->if_contains("type");
    if (!type || !type->is_string() || type->get_string() != "function") {
      return unsupported(path + ".type", "Bedrock supports tools of type 'function' only.");
    }
    const auto* fn = tool->if_contains("function");
    if (!fn || !fn->is_object()) return wrong_type(path + ".function", "an object");
    const bj::object& f = fn->get_object();
    const auto* name = f.if_contains("name");
    if (!name || !name->is_string() || name->get_string().empty())
      return wrong_type(path + ".function.name", "a non-empty string");
    bj::object spec{{"name", name->get_string()}};
    if (const auto* d = f.if_contains("description"); is_set(d)) {
      if (!d->is_string()) return wrong_type(path + ".function.description", "a string");
      if (!d->get_string().empty()) spec["description"] = d->get_string();
    }
    bj::value schema = bj::object{{"type", "object"}, {"properties", bj::object()}};
    if (const auto* p = f.if_contains("parameters"); is_set(p)) {
      if (!p->is_object()) return wrong_type(path + ".function.parameters", "a JSON schema object");
      schema = *p;
    }
    spec["inputSchema"] = bj::object{{"json", std::move(schema)}};
    specs.push_back(bj::object{{"toolSpec", std::move(spec)}});
  }
  bj::object config{{"tools", std::move(specs)}};
  if (is_set(choice)) {
    if (choice->is_string() && choice->get_string() == "auto") {
      config["toolChoice"] = bj::object{{"auto", bj::object()}};
    } else if (choice->is_string() && choice->get_string() == "required") {
      config["toolChoice"] = bj::object{{"any", bj::object()}};
    } else if (const auto* named = choice->if_object()) {
      const auto* fn = named->if_contains("function");
      const auto* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
      if (!name || !name->is_string()) return wrong_type("tool_choice.function.name", "a string");
      config["toolChoice"] = bj::object{{"tool", bj::object{{"name", name->get_string()}}}};
    } else {
      return invalid_request(
          "Invalid value for 'tool_choice': expected \"none\", \"auto\", \"required\" or a named function.",
          "tool_choice", "invalid_value");
    }
  }
  request["toolConfig"] = std::move(config);
  return std::nullopt;
}

// Parameters whose effect Converse cannot give: refused when they would change the answer.
std::optional<Error> refuse_unsupported(const bj::object& body) {
  if (const auto* n = body.if_contains("n"); is_set(n)) {
    const auto v = integer(*n);
    if (!v || *v < 1) return wrong_type("n", "a positive integer");
    if (*v > 1) return unsupported("n", "Bedrock returns one choice per request: 'n' must be 1.");
  }
  if (const auto* rf = body.if_contains("response_format"); is_set(rf)) {
    const auto* type = rf->is_object() ? rf->get_object().if_contains("type") : nullptr;
    if (!type || !type->is_string() || type->get_string() != "text") {
      return unsupported("response_format", "'response_format' is not supported for Bedrock deployments.");
    }
  }
  if (const auto* lp = body.if_contains("logprobs"); lp && lp->is_bool() && lp->get_bool()) {
    return unsupported("logprobs", "Bedrock does not return log probabilities.");
  }
  if (is_set(body.if_contains("top_logprobs"))) {
    return unsupported("top_logprobs", "Bedrock does not return log probabilities.");
  }
  for (std::string_view key : {"frequency_penalty", "presence_penalty"}) {
    const auto* v = body.if_contains(key);
    if (is_set(v) && !(v->is_number() && v->to_number<double>() == 0.0)) {
      return unsupported(std::string(key),
                         "'" + std::string(key) + "' is not supported for Bedrock deployments.");
    }
  }
  if (const auto* lb = body.if_contains("logit_bias");
      is_set(lb) && !(lb->is_object() && lb->get_object().empty())) {
    return unsupported("logit_bias", "'logit_bias' is not supported for Bedrock deployments.");
  }
  if (is_set(body.if_contains("audio"))) {
    return unsupported("audio", "Audio output is not supported for Bedrock deployments.");
  }
  if (const auto* modalities = body.if_contains("modalities"); is_set(modalities)) {
    const auto* list = modalities->if_array();
    if (!list) return wrong_type("modalities", "an array");
    for (const auto& m : *list) {
      if (!m.is_string() || m.get_string() != "text") {
        return unsupported("modalities", "Bedrock deployments answer with text only.");
      }
    }
  }
  if (is_set(body.if_contains("functions")) || is_set(body.if_contains("function_call"))) {
    return unsupported(is_set(body.if_contains("functions")) ? "functions" : "function_call",
                       "Legacy functions are not supported for Bedrock: use tools.");
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

std::int64_t int_field(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return -1;
  return integer(*v).value_or(-1);
}

struct Usage {
  std::int64_t input = -1;
  std::int64_t output = -1;
  std::int64_t cache_read = -1;
  std::int64_t cache_write = -1;
  std::int64_t prompt() const noexcept {
    return std::max<std::int64_t>(0, input) + std::max<std::int64_t>(0, cache_read) +
           std::max<std::int64_t>(0, cache_write);
  }
};

std::optional<Usage> read_usage(const bj::object& doc) {
  const auto* u = doc.if_contains("usage");
  if (!u || !u->is_object()) return std::nullopt;
  const bj::object& o = u->get_object();
  Usage usage{int_field(o, "inputTokens"), int_field(o, "outputTokens"), int_field(o, "cacheReadInputTokens"),
              int_field(o, "cacheWriteInputTokens")};
  if (usage.input < 0 && usage.output < 0) return std::nullopt;
  return usage;
}

// OpenAI counts cached prompt tokens in prompt_tokens; Converse counts them apart from inputTokens.
bj::object usage_json(const Usage& u) {
  const std::int64_t prompt = u.prompt();
  const std::int64_t completion = std::max<std::int64_t>(0, u.output);
  bj::object out{
      {"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
  if (u.cache_read >= 0) out["prompt_tokens_details"] = bj::object{{"cached_tokens", u.cache_read}};
  return out;
}

void note_usage(ResponseMeta& meta, const Usage& u) {
  meta.prompt_tokens = u.prompt();
  meta.completion_tokens = std::max<std::int64_t>(0, u.output);
}

Error upstream_error(std::string message) {
  return Error{502, "api_error", std::move(message), "upstream_error", {}, {}};
}

const bj::object* object_at(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

struct ErrorKind {
  std::string_view name;
  int status;
  std::string_view type;
  std::string_view code;
};

constexpr ErrorKind kErrorKinds[] = {
    {"ThrottlingException", 429, "rate_limit_error", "rate_limit_exceeded"},
    {"ServiceQuotaExceededException", 429, "rate_limit_error", "quota_exceeded"},
    {"ServiceUnavailableException", 503, "api_error", "service_unavailable"},
    {"ModelNotReadyException", 503, "api_error", "model_not_ready"},
    {"ModelTimeoutException", 504, "timeout_error", "model_timeout"},
    {"ValidationException", 400, "invalid_request_error", ""},
    {"AccessDeniedException", 403, "permission_error", "access_denied"},
    {"UnrecognizedClientException", 401, "authentication_error", "invalid_credentials"},
    {"InvalidSignatureException", 401, "authentication_error", "invalid_signature"},
    {"IncompleteSignatureException", 401, "authentication_error", "invalid_signature"},
    {"MissingAuthenticationTokenException", 401, "authentication_error", "invalid_credentials"},
    {"ExpiredTokenException", 401, "authentication_error", "expired_token"},
    {"ResourceNotFoundException", 404, "invalid_request_error", "model_not_found"},
    {"InternalServerException", 500, "api_error", "internal_server_error"},
    {"ModelErrorException", 502, "api_error", "model_error"},
    {"ModelStreamErrorException", 502, "api_error", "model_error"},
};

// "ValidationException:http://internal.amazon.com/coral/..." or
// "com.amazon.coral.service#ValidationException" → "ValidationException".
std::string_view error_name(std::string_view raw) noexcept {
  if (const auto colon = raw.find(':'); colon != std::string_view::npos) raw = raw.substr(0, colon);
  if (const auto hash = raw.rfind('#'); hash != std::string_view::npos) raw = raw.substr(hash + 1);
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
  return raw;
}

bool says_too_long(std::string_view message) {
  const std::string m = lowercase(message);
  for (std::string_view needle : {"too long", "too many input tokens", "too many tokens", "context length",
                                  "context window", "maximum context", "input length"}) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

void scrub(std::string& text, std::span<const std::string_view> secrets) {
  static constexpr std::string_view kRedacted = "[redacted]";
  for (std::string_view secret : secrets) {
    if (secret.size() < 4) continue;
    for (auto pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + kRedacted.size())) {
      text.replace(pos, secret.size(), kRedacted);
    }
  }
}

Result<bj::object> to_converse_request(const bj::object& body) {
  if (auto e = refuse_unsupported(body)) return *e;
  const auto* messages = body.if_contains("messages");
  if (!messages || !messages->is_array()) return wrong_type("messages", "an array of message objects");
  bj::object request;
  bj::array system;
  bj::array turns;
  if (auto e = translate_messages(messages->get_array(), system, turns)) return *e;
  request["messages"] = std::move(turns);
  if (!system.empty()) request["system"] = std::move(system);
  bj::object config;
  if (auto e = translate_inference(body, config)) return *e;
  if (!config.empty()) request["inferenceConfig"] = std::move(config);
  if (auto e = translate_tools(body, request)) return *e;
  return request;
}

std::string new_completion_id() {
  return "chatcmpl-" + random_hex_id() + random_hex_id();
}

std::string_view finish_reason_for(std::string_view stop_reason) noexcept {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "guardrail_intervened" || stop_reason == "content_filtered") return "content_filter";
  return "stop";  // end_turn, stop_sequence, and any reason added later
}

Result<std::string> from_converse_response(std::string_view converse_json, const AnswerOptions& options,
                                           ResponseMeta& meta) {
  boost::system::error_code ec;
  bj::value parsed = bj::parse(converse_json, ec, {}, json::parse_options());
  if (ec || !parsed.is_object())
    return upstream_error("Bedrock answered with something that is not a JSON object.");
  const bj::object& doc = parsed.get_object();
  const bj::object* output = object_at(doc, "output");
  const bj::object* message = output ? object_at(*output, "message") : nullptr;
  const bj::value* content = message ? message->if_contains("content") : nullptr;
  if (!content || !content->is_array()) return upstream_error("Bedrock answered without an output message.");

  std::string text;
  std::string reasoning;
  bj::array tool_calls;
  for (const auto& block : content->get_array()) {
    const auto* b = block.if_object();
    if (!b) continue;
    if (const auto* t = b->if_contains("text"); t && t->is_string()) {
      text.append(t->get_string());
    } else if (const bj::object* use = object_at(*b, "toolUse")) {
      const auto* id = use->if_contains("toolUseId");
      const auto* name = use->if_contains("name");
      const auto* input = use->if_contains("input");
      tool_calls.push_back(bj::object{
          {"id", id && id->is_string() ? id->get_string() : bj::string()},
          {"type", "function"},
          {"function", bj::object{{"name", name && name->is_string() ? name->get_string() : bj::string()},
                                  {"arguments", input ? bj::serialize(*input) : std::string("{}")}}}});
    } else if (const bj::object* rc = object_at(*b, "reasoningContent")) {
      if (const bj::object* rt = object_at(*rc, "reasoningText")) {
        if (const auto* t = rt->if_contains("text"); t && t->is_string()) reasoning.append(t->get_string());
      }
    }
  }
  bj::object msg{{"role", "assistant"}};
  if (text.empty() && !tool_calls.empty()) {
    msg["content"] = nullptr;
  } else {
    msg["content"] = text;
  }
  if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);

  std::string_view stop_reason;
  if (const auto* sr = doc.if_contains("stopReason"); sr && sr->is_string()) stop_reason = sr->get_string();
  const std::string_view finish = finish_reason_for(stop_reason);

  bj::object out{
      {"id", options.id},
      {"object", "chat.completion"},
      {"created", options.created},
      {"model", options.public_model},
      {"choices",
       bj::array{bj::object{
           {"index", 0}, {"message", std::move(msg)}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
  meta.id = options.id;
  meta.model = options.upstream_model;
  meta.finish_reasons.emplace_back(finish);
  if (const auto usage = read_usage(doc)) {
    out["usage"] = usage_json(*usage);
    note_usage(meta, *usage);
  }
  if (options.capture_content) meta.completion_text.append(text);
  return bj::serialize(out);
}

// ---------------------------------------------------------------------------------------------------------------
// Streams

std::string StreamTranslator::chunk(bj::object delta, std::optional<std::string_view> finish_reason) const {
  bj::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
  if (finish_reason) {
    choice["finish_reason"] = *finish_reason;
  } else {
    choice["finish_reason"] = nullptr;
  }
  bj::object out{{"id", options_.id},
                 {"object", "chat.completion.chunk"},
                 {"created", options_.created},
                 {"model", options_.public_model},
                 {"choices", bj::array{std::move(choice)}}};
  return bj::serialize(out);
}

int StreamTranslator::tool_index(std::int64_t block, bool start) {
  if (!start) {
    for (const auto& [b, index] : tool_blocks_) {
      if (b == block) return index;
    }
  }
  tool_blocks_.emplace_back(block, tools_);
  return tools_++;
}

std::optional<Error> StreamTranslator::translate(const EventMessage& message,
                                                 std::vector<std::string>& chunks) {
  if (meta_.id.empty()) {
    meta_.id = options_.id;
    meta_.model = options_.upstream_model;
  }
  const std::string_view kind = message.message_type();
  if (kind == "exception") {
    return map_error(0, message.exception_type(), message.payload, {}, secrets_);
  }
  if (kind == "error") {
    // A frame-level error: :error-code and :error-message headers, no JSON payload.
    bj::object body{{"message", message.header(":error-message")}};
    return map_error(0, message.header(":error-code"), bj::serialize(body), {}, secrets_);
  }
  if (kind != "event") return std::nullopt;

  const std::string_view event = message.event_type();
  boost::system::error_code ec;
  bj::value parsed = bj::parse(message.payload, ec, {}, json::parse_options());
  if (ec || !parsed.is_object()) {
    return upstream_error("Bedrock sent a stream event that is not JSON (" + std::string(event) + ").");
  }
  const bj::object& doc = parsed.get_object();
  const std::int64_t block = int_field(doc, "contentBlockIndex");

  if (event == "messageStart") {
    chunks.push_back(chunk(bj::object{{"role", "assistant"}, {"content", ""}}, std::nullopt));
  } else if (event == "contentBlockStart") {
    const bj::object* start = object_at(doc, "start");
    const bj::object* use = start ? object_at(*start, "toolUse") : nullptr;
    if (use) {
      const auto* id = use->if_contains("toolUseId");
      const auto* name = use->if_contains("name");
      bj::object call{
          {"index", tool_index(block, true)},
          {"id", id && id->is_string() ? id->get_string() : bj::string()},
          {"type", "function"},
          {"function", bj::object{{"name", name && name->is_string() ? name->get_string() : bj::string()},
                                  {"arguments", ""}}}};
      chunks.push_back(chunk(bj::object{{"tool_calls", bj::array{std::move(call)}}}, std::nullopt));
    }
  } else if (event == "contentBlockDelta") {
    const bj::object* delta = object_at(doc, "delta");
    if (!delta) return std::nullopt;
    if (const auto* t = delta->if_contains("text"); t && t->is_string()) {
      if (options_.capture_content) meta_.completion_text.append(t->get_string());
      chunks.push_back(chunk(bj::object{{"content", t->get_string()}}, std::nullopt));
    } else if (const bj::object* use = object_at(*delta, "toolUse")) {
      const auto* input = use->if_contains("input");
      const std::string_view args = input && input->is_string() ? std::string_view(input->get_string()) : "";
      bj::object call{{"index", tool_index(block, false)}, {"function", bj::object{{"arguments", args}}}};
      chunks.push_back(chunk(bj::object{{"tool_calls", bj::array{std::move(call)}}}, std::nullopt));
    } else if (const bj::object* rc = object_at(*delta, "reasoningContent")) {
      if (const auto* t = rc->if_contains("text"); t && t->is_string()) {
        chunks.push_back(chunk(bj::object{{"reasoning_content", t->get_string()}}, std::nullopt));
      }
    }
  } else if (event == "messageStop") {
    std::string_view stop_reason;
    if (const auto* sr = doc.if_contains("stopReason"); sr && sr->is_string()) stop_reason = sr->get_string();
    const std::string_view finish = finish_reason_for(stop_reason);
    meta_.finish_reasons.emplace_back(finish);
    stopped_ = true;
    chunks.push_back(chunk(bj::object(), finish));
  } else if (event == "metadata") {
    if (const auto usage = read_usage(doc)) {
      note_usage(meta_, *usage);
      if (options_.include_usage) {
        bj::object out{{"id", options_.id},           {"object", "chat.completion.chunk"},
                       {"created", options_.created}, {"model", options_.public_model},
                       {"choices", bj::array()},      {"usage", usage_json(*usage)}};
        chunks.push_back(bj::serialize(out));
      }
    }
  }
  // contentBlockStop and events added later carry nothing to forward.
  return std::nullopt;
}

Error map_error(int status, std::string_view error_type, std::string_view body, std::string_view retry_after,
                std::span<const std::string_view> secrets) {
  std::string message;
  std::string body_type;
  boost::system::error_code ec;
  bj::value parsed = bj::parse(body, ec, {}, json::parse_options());
  if (!ec && parsed.is_object()) {
    const bj::object& o = parsed.get_object();
    for (std::string_view key : {"message", "Message"}) {
      if (const auto* m = o.if_contains(key); m && m->is_string() && message.empty())
        message = m->get_string();
    }
    for (std::string_view key : {"__type", "code", "Code"}) {
      if (const auto* t = o.if_contains(key); t && t->is_string() && body_type.empty())
        body_type = t->get_string();
    }
  }
  std::string_view name = error_name(error_type);
  if (name.empty()) name = error_name(body_type);

  const ErrorKind* kind = nullptr;
  for (const ErrorKind& k : kErrorKinds) {
    if (iequals(k.name, name)) kind = &k;
  }
  Error e;
  e.retry_after = std::string(retry_after);
  if (kind) {
    e.status = kind->status;
    e.type = kind->type;
    e.code = kind->code;
  } else {
    e.status = status > 0 ? status : 502;
    e.type = e.status == 429   ? "rate_limit_error"
             : e.status == 401 ? "authentication_error"
             : e.status == 403 ? "permission_error"
             : e.status >= 500 ? "api_error"
                               : "invalid_request_error";
  }
  // Signature errors echo the canonical request and string to sign after a blank line: the first paragraph
  // says all the client needs.
  if (kind && kind->code == "invalid_signature") {
    if (const auto blank = message.find("\n\n"); blank != std::string::npos) message.resize(blank);
  }
  if (message.empty()) {
    message = status > 0 ? "Bedrock answered HTTP " + std::to_string(status)
                         : std::string("Bedrock ended the stream");
    if (!name.empty()) message += " (" + std::string(name) + ")";
    message += ".";
  }
  if (kind && kind->name == "ValidationException" && says_too_long(message)) {
    e.code = "context_length_exceeded";
    e.param = "messages";
  }
  scrub(message, secrets);
  e.message = std::move(message);
  return e;
}

}  // namespace sy::providers::bedrock
