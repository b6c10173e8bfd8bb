// The top-level members of an inference request body the gateway reads (validation, routing fields, trace
// attributes), found in one pass over the body instead of a search per member.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "providers/provider.h"
#include "util/error.h"

namespace sy::api {

// Pointers into the body (null: absent), valid until the body changes: read them before anything erases or
// inserts a member. A parsed body has no duplicate keys; of a built one, the first member with a key is
// taken.
struct RequestFields {
  const boost::json::value* model = nullptr;
  const boost::json::value* stream = nullptr;
  const boost::json::value* stream_options = nullptr;
  const boost::json::value* num_retries = nullptr;
  const boost::json::value* timeout = nullptr;
  const boost::json::value* fallbacks = nullptr;
  const boost::json::value* messages = nullptr;
  const boost::json::value* prompt = nullptr;
  const boost::json::value* input = nullptr;
  const boost::json::value* max_tokens = nullptr;
  const boost::json::value* max_completion_tokens = nullptr;
  const boost::json::value* temperature = nullptr;
  const boost::json::value* top_p = nullptr;

  static RequestFields of(const boost::json::object& body) noexcept;
};

// The generation parameters the GenAI conventions record on the SERVER and CLIENT spans, as values: they
// outlive the body's members (the routing fields are erased before the first attempt).
struct GenAiParameters {
  std::optional<std::int64_t> max_tokens;  // max_completion_tokens, else max_tokens; integers only
  std::optional<double> temperature;       // a number
  std::optional<double> top_p;
  bool stream = false;  // `stream` is true

  static GenAiParameters of(const RequestFields& fields) noexcept;
};

// A chat completion request read from its text by the scanner (util/json_scan.h), without a parse: only
// when the scanner vouches for the text and for everything validation checks, and the request has nothing
// that only the document path handles. Nothing (and the caller parses) when
// - the text is not a JSON object the scanner accepts, or a top-level key has an escape or comes twice;
// - validation would refuse it: `model` is not a non-empty string without escapes, `stream` not a boolean or
//   null, `messages` not a non-empty array of objects each with one `role` that is a string;
// - it has `stream_options` or LiteLLM's routing fields (`num_retries`, `timeout`, `fallbacks`).
// Checks the fields the gateway relies on; the error names the offending field.
std::optional<Error> validate_request(providers::Endpoint endpoint, const RequestFields& fields);
std::optional<Error> validate_request(providers::Endpoint endpoint, const boost::json::object& body);

struct ScannedChat {
  std::string_view model_value;  // the model member's value as it stands in the text, quotes included
  std::string_view model;        // between the quotes
  bool stream = false;
  GenAiParameters parameters;  // as GenAiParameters::of would read them from the document: only the stream
                               // flag unless `with_parameters` (they are for the spans)
};
std::optional<ScannedChat> scan_chat_request(std::string_view text, bool with_parameters = true);

}  // namespace sy::api
