// libFuzzer target for the chat requests the gateway reads without a parse (api::scan_chat_request) against
// the document path: whatever the scanner takes, Boost.JSON must parse to an object that validation accepts,
// with the same model, stream flag and generation parameters; and the body written upstream from the text
// (json::RequestBody::write_with_model) must parse to that document with only the model (and, for a stream,
// stream_options) changed.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/request_fields.h"
#include "util/json.h"
#include "util/request_body.h"

namespace bj = boost::json;
using sy::api::GenAiParameters;
using sy::api::RequestFields;
using sy::api::ScannedChat;

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// Boost.JSON's default number parsing may round the last bit differently from from_chars.
bool same(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if (std::isnan(*a) || std::isnan(*b)) return std::isnan(*a) && std::isnan(*b);
  return *a == *b || std::fabs(*a - *b) <= 1e-15 * std::fmax(std::fabs(*a), std::fabs(*b));
}

// Equal documents, doubles compared as `same` does: Boost.JSON's default parse of one number can differ in
// the last bit with what follows it in the text (its fast path reads ahead when there is room).
bool equal(const bj::value& a, const bj::value& b) {
  if (a.is_double() && b.is_double()) return same(a.get_double(), b.get_double());
  if (a.kind() != b.kind()) return false;
  if (a.is_object()) {
    const bj::object& x = a.get_object();
    const bj::object& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& member : x) {
      const bj::value* other = y.if_contains(member.key());
      if (!other || !equal(member.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    const bj::array& x = a.get_array();
    const bj::array& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!equal(x[i], y[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::optional<ScannedChat> scanned = sy::api::scan_chat_request(text);
  if (!scanned) return 0;
  boost::system::error_code ec;
  bj::value parsed = bj::parse(text, ec, {}, sy::json::parse_options());
  check(!ec && parsed.is_object());
  const bj::object& doc = parsed.as_object();
  const RequestFields fields = RequestFields::of(doc);
  check(!sy::api::validate_request(sy::providers::Endpoint::chat_completions, fields).has_value());
  check(fields.model && fields.model->is_string() && fields.model->get_string() == scanned->model);
  const GenAiParameters p = GenAiParameters::of(fields);
  check(scanned->stream == p.stream && scanned->parameters.stream == p.stream);
  check(scanned->parameters.max_tokens == p.max_tokens);
  check(same(scanned->parameters.temperature, p.temperature));
  check(same(scanned->parameters.top_p, p.top_p));

  const sy::json::RequestBody body(text, scanned->model_value, {});
  for (const bool ask_usage : {false, true}) {
    std::string out;
    body.write_with_model("upstream \"model\"", ask_usage, out);
    bj::value written = bj::parse(out, ec, {}, sy::json::parse_options());
    check(!ec && written.is_object());
    bj::value expected = doc;
    expected.as_object()["model"] = "upstream \"model\"";
    if (ask_usage) expected.as_object()["stream_options"] = bj::object{{"include_usage", true}};
    check(equal(written, expected));
  }
  return 0;
}
