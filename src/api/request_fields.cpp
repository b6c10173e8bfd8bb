#include "api/request_fields.h"

#include <string_view>

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

}  // namespace

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
