#include "api/request_fields.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "util/json_scan.h"

namespace sy::api {
namespace {

namespace bj = boost::json;
using providers::Endpoint;

Error missing(std::string field) {
  return invalid_request("Missing required parameter: '" + field + "'.", field, "missing_required_parameter");
}
Error wrong_type(std::string field, std::string_view expected) {
  return invalid_request("Invalid type for '" + field + "': expected " + std::string(expected) + ".", field,
                         "invalid_type");
}

std::optional<Error> validate_messages(const bj::value& messages) {
  if (!messages.is_array()) return wrong_type("messages", "an array of message objects");
  const auto& arr = messages.get_array();
  if (arr.empty())
    return invalid_request("'messages' must contain at least one message.", "messages", "invalid_value");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto* m = arr[i].if_object();
    const auto* role = m ? m->if_contains("role") : nullptr;
    if (role && role->is_string()) continue;
    // The path is spelled only for the error.
    const std::string path = "messages[" + std::to_string(i) + "]";
    if (!m) return wrong_type(path, "an object");
    if (!role) return missing(path + ".role");
    return wrong_type(path + ".role", "a string");
  }
  return std::nullopt;
}

std::optional<double> number(const bj::value* v) noexcept {
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  return std::nullopt;
}

bool has_escape(std::string_view raw) noexcept {
  return raw.find('\\') != std::string_view::npos;
}

bool is_integer_literal(std::string_view raw) noexcept {
  return raw.find_first_of(".eE") == std::string_view::npos;
}

// A number's text as the parser types it: an integer literal is an int64 when it fits, else a uint64 when it
// fits, else a double; any other number a double. Nothing for text that is not a number.
struct Number {
  enum class Kind { none, int64, uint64, floating, out_of_range } kind = Kind::none;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
};

constexpr std::size_t kMaxPlainNumber = 24;  // characters

Number number_of(std::string_view raw) noexcept {
  Number n;
  if (raw.empty() || !(raw.front() == '-' || (raw.front() >= '0' && raw.front() <= '9'))) return n;
  const char* const end = raw.data() + raw.size();
  if (is_integer_literal(raw)) {
    if (auto [p, ec] = std::from_chars(raw.data(), end, n.i); ec == std::errc() && p == end) {
      n.kind = Number::Kind::int64;
      return n;
    }
    if (raw.front() != '-') {
      if (auto [p, ec] = std::from_chars(raw.data(), end, n.u); ec == std::errc() && p == end) {
        n.kind = Number::Kind::uint64;
        return n;
      }
    }
  }
  // A long literal, or one near the ends of a double's range, is left to the parser: its default reading
  // of such numbers differs from a correctly rounded one (an overflow, 0 × 10^615 read as NaN, ...), and a
  // generation parameter never looks like that.
  if (raw.size() > kMaxPlainNumber) {
    n.kind = Number::Kind::out_of_range;
    return n;
  }
  if (const std::size_t e = raw.find_first_of("eE"); e != std::string_view::npos) {
    int exponent = 0;
    const char* from = raw.data() + e + 1 + (raw[e + 1] == '+' ? 1 : 0);
    if (auto [p, ec] = std::from_chars(from, end, exponent);
        ec != std::errc() || exponent > 300 || exponent < -300) {
      n.kind = Number::Kind::out_of_range;
      return n;
    }
  }
  if (auto [p, ec] = std::from_chars(raw.data(), end, n.d); p == end && ec == std::errc()) {
    n.kind = Number::Kind::floating;
  } else if (p == end && ec == std::errc::result_out_of_range) {
    n.kind = Number::Kind::out_of_range;
  }
  return n;
}

// GenAiParameters::of's readings, from a member's number.
std::optional<std::int64_t> integer_of(const Number& n) noexcept {
  if (n.kind == Number::Kind::int64) return n.i;
  if (n.kind == Number::Kind::uint64) return static_cast<std::int64_t>(n.u);
  return std::nullopt;
}
std::optional<double> double_of(const Number& n) noexcept {
  if (n.kind == Number::Kind::floating) return n.d;
  if (n.kind == Number::Kind::int64) return static_cast<double>(n.i);
  return std::nullopt;
}

// The members' views, per thread: a scan never suspends.
struct ScanScratch {
  std::vector<json::RawMember> members;
  json::NestedArray messages{"messages"};
};

}  // namespace

std::optional<ScannedChat> scan_chat_request(std::string_view text, bool with_parameters) {
  thread_local ScanScratch scratch;
  std::vector<json::RawMember>& members = scratch.members;
  json::NestedArray& messages = scratch.messages;
  if (!json::scan_object(text, members, messages)) return std::nullopt;
  ScannedChat out;
  RequestMembers<std::string_view> raw;  // the members' text
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string_view key = members[i].key;
    if (has_escape(key)) return std::nullopt;
    for (std::size_t j = 0; j < i; ++j) {
      if (members[j].key == key) return std::nullopt;  // the parser keeps the last; the text has both
    }
    if (std::string_view* slot = raw.slot(key)) *slot = members[i].value;
  }
  // What only the document path handles.
  if (!raw.stream_options.empty() || !raw.num_retries.empty() || !raw.timeout.empty() ||
      !raw.fallbacks.empty()) {
    return std::nullopt;
  }
  const std::string_view model = raw.model, stream = raw.stream;
  if (model.size() < 3 || model.front() != '"' || has_escape(model)) return std::nullopt;
  if (!stream.empty() && stream != "true" && stream != "false" && stream != "null") return std::nullopt;
  out.model_value = model;
  out.model = model.substr(1, model.size() - 2);
  if (!messages.found || messages.elements.empty()) return std::nullopt;
  for (std::size_t e = 0; e < messages.elements.size(); ++e) {
    if (messages.elements[e].front() != '{') return std::nullopt;
    const auto [begin, end] = messages.members_of(e);
    int roles = 0;
    for (std::size_t m = begin; m < end; ++m) {
      const json::RawMember& member = messages.members[m];
      if (has_escape(member.key)) return std::nullopt;  // might spell "role"
      if (member.key != "role") continue;
      if (++roles > 1 || member.value.front() != '"') return std::nullopt;
    }
    if (roles != 1) return std::nullopt;
  }
  out.stream = stream == "true";
  out.parameters.stream = out.stream;
  if (!with_parameters) return out;
  // Each read once: checked, then used.
  const std::array<std::string_view, 4> texts{raw.max_tokens, raw.max_completion_tokens, raw.temperature,
                                              raw.top_p};
  std::array<Number, 4> numbers;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    numbers[i] = number_of(texts[i]);
    if (numbers[i].kind == Number::Kind::out_of_range) return std::nullopt;
  }
  out.parameters.max_tokens = integer_of(!raw.max_completion_tokens.empty() ? numbers[1] : numbers[0]);
  out.parameters.temperature = double_of(numbers[2]);
  out.parameters.top_p = double_of(numbers[3]);
  return out;
}

std::optional<Error> validate_request(Endpoint endpoint, const RequestFields& f) {
  if (!f.model) return missing("model");
  if (!f.model->is_string() || f.model->get_string().empty())
    return wrong_type("model", "a non-empty string");
  if (f.stream && !f.stream->is_bool() && !f.stream->is_null()) return wrong_type("stream", "a boolean");
  // LiteLLM's per-request routing fields.
  if (const auto* n = f.num_retries;
      n && !n->is_null() &&
      !((n->is_int64() && n->get_int64() >= 0 && n->get_int64() <= 100) || n->is_uint64())) {
    return wrong_type("num_retries", "an integer from 0 to 100");
  }
  if (const auto* t = f.timeout; t && !t->is_null() && !(t->is_number() && t->to_number<double>() > 0)) {
    return wrong_type("timeout", "a positive number of seconds");
  }
  if (const auto* fallbacks = f.fallbacks; fallbacks && !fallbacks->is_null()) {
    const auto* list = fallbacks->if_array();
    if (!list || !std::all_of(list->begin(), list->end(), [](const bj::value& v) { return v.is_string(); })) {
      return wrong_type("fallbacks", "an array of model names");
    }
  }
  switch (endpoint) {
    case Endpoint::chat_completions:
      if (!f.messages) return missing("messages");
      return validate_messages(*f.messages);
    case Endpoint::completions:
      if (!f.prompt) return missing("prompt");
      if (!f.prompt->is_string() && !f.prompt->is_array())
        return wrong_type("prompt", "a string or an array");
      return std::nullopt;
    case Endpoint::embeddings: {
      const auto* input = f.input;
      if (!input) return missing("input");
      if (!input->is_string() && !input->is_array()) return wrong_type("input", "a string or an array");
      if (input->is_array() && input->get_array().empty()) {
        return invalid_request("'input' must not be empty.", "input", "invalid_value");
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<Error> validate_request(Endpoint endpoint, const bj::object& body) {
  return validate_request(endpoint, RequestFields::of(body));
}

RequestFields RequestFields::of(const bj::object& body) noexcept {
  RequestFields f;
  for (const bj::key_value_pair& member : body) {
    if (const bj::value** slot = f.slot(member.key()); slot && !*slot) *slot = &member.value();
  }
  return f;
}

GenAiParameters GenAiParameters::of(const RequestFields& fields) noexcept {
  GenAiParameters p;
  if (const bj::value* v = fields.max_completion_tokens ? fields.max_completion_tokens : fields.max_tokens) {
    if (v->is_int64()) p.max_tokens = v->get_int64();
    if (v->is_uint64()) p.max_tokens = static_cast<std::int64_t>(v->get_uint64());
  }
  p.temperature = number(fields.temperature);
  p.top_p = number(fields.top_p);
  p.stream = fields.stream && fields.stream->is_bool() && fields.stream->get_bool();
  return p;
}

}  // namespace sy::api
