#include "api/request_fields.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "util/json_scan.h"

namespace sy::api {
namespace {

namespace bj = boost::json;

// Sets `slot` to `value` when the key matches and no earlier member took it.
void take(const bj::value*& slot, std::string_view key, std::string_view name,
          const bj::value& value) noexcept {
  if (!slot && key == name) slot = &value;
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
  if (auto [p, ec] = std::from_chars(raw.data(), end, n.d); p == end && ec == std::errc()) {
    n.kind = Number::Kind::floating;
  } else if (p == end && ec == std::errc::result_out_of_range) {
    n.kind = Number::Kind::out_of_range;  // the parser's infinity or zero: left to it
  }
  return n;
}

// GenAiParameters::of, from the members' text.
std::optional<std::int64_t> max_tokens_of(std::string_view raw) noexcept {
  const Number n = number_of(raw);
  if (n.kind == Number::Kind::int64) return n.i;
  if (n.kind == Number::Kind::uint64) return static_cast<std::int64_t>(n.u);
  return std::nullopt;
}
std::optional<double> double_of(std::string_view raw) noexcept {
  const Number n = number_of(raw);
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
  std::string_view max_tokens, max_completion_tokens, temperature, top_p, stream;
  bool has_model = false;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string_view key = members[i].key;
    const std::string_view value = members[i].value;
    if (has_escape(key)) return std::nullopt;
    for (std::size_t j = 0; j < i; ++j) {
      if (members[j].key == key) return std::nullopt;  // the parser keeps the last; the text has both
    }
    if (key == "model") {
      if (value.size() < 3 || value.front() != '"' || has_escape(value)) return std::nullopt;
      out.model_value = value;
      out.model = value.substr(1, value.size() - 2);
      has_model = true;
    } else if (key == "stream") {
      if (value != "true" && value != "false" && value != "null") return std::nullopt;
      stream = value;
    } else if (key == "stream_options" || key == "num_retries" || key == "timeout" || key == "fallbacks") {
      return std::nullopt;
    } else if (key == "max_tokens") {
      max_tokens = value;
    } else if (key == "max_completion_tokens") {
      max_completion_tokens = value;
    } else if (key == "temperature") {
      temperature = value;
    } else if (key == "top_p") {
      top_p = value;
    }
  }
  if (!has_model || !messages.found || messages.elements.empty()) return std::nullopt;
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
  for (const std::string_view raw : {max_tokens, max_completion_tokens, temperature, top_p}) {
    if (number_of(raw).kind == Number::Kind::out_of_range) return std::nullopt;
  }
  out.parameters.max_tokens =
      max_tokens_of(!max_completion_tokens.empty() ? max_completion_tokens : max_tokens);
  out.parameters.temperature = double_of(temperature);
  out.parameters.top_p = double_of(top_p);
  return out;
}

RequestFields RequestFields::of(const bj::object& body) noexcept {
  RequestFields f;
  for (const bj::key_value_pair& member : body) {
    const std::string_view key = member.key();
    const bj::value& v = member.value();
    // By length first: most members are compared with one name, or none.
    switch (key.size()) {
      case 5:
        take(f.model, key, "model", v);
        take(f.input, key, "input", v);
        take(f.top_p, key, "top_p", v);
        break;
      case 6:
        take(f.stream, key, "stream", v);
        take(f.prompt, key, "prompt", v);
        break;
      case 7:
        take(f.timeout, key, "timeout", v);
        break;
      case 8:
        take(f.messages, key, "messages", v);
        break;
      case 9:
        take(f.fallbacks, key, "fallbacks", v);
        break;
      case 10:
        take(f.max_tokens, key, "max_tokens", v);
        break;
      case 11:
        take(f.num_retries, key, "num_retries", v);
        take(f.temperature, key, "temperature", v);
        break;
      case 14:
        take(f.stream_options, key, "stream_options", v);
        break;
      case 21:
        take(f.max_completion_tokens, key, "max_completion_tokens", v);
        break;
      default:
        break;
    }
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
