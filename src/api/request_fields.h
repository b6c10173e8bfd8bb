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

// The members the gateway reads, by name: one slot of type V each, filled in one pass over a body. The
// document path keeps pointers to the parsed values (RequestFields); the scanner keeps the values' text.
template <class V>
struct RequestMembers {
  V model{};
  V stream{};
  V stream_options{};
  V num_retries{};
  V timeout{};
  V fallbacks{};
  V messages{};
  V prompt{};
  V input{};
  V max_tokens{};
  V max_completion_tokens{};
  V temperature{};
  V top_p{};

  // The slot of the member named `key`, or null for a member the gateway does not read.
  V* slot(std::string_view key) noexcept {
    // By length first: most keys are compared with one name, or none.
    switch (key.size()) {
      case 5:
        return key == "model" ? &model : key == "input" ? &input : key == "top_p" ? &top_p : nullptr;
      case 6:
        return key == "stream" ? &stream : key == "prompt" ? &prompt : nullptr;
      case 7:
        return key == "timeout" ? &timeout : nullptr;
      case 8:
        return key == "messages" ? &messages : nullptr;
      case 9:
        return key == "fallbacks" ? &fallbacks : nullptr;
      case 10:
        return key == "max_tokens" ? &max_tokens : nullptr;
      case 11:
        return key == "num_retries" ? &num_retries : key == "temperature" ? &temperature : nullptr;
      case 14:
        return key == "stream_options" ? &stream_options : nullptr;
      case 21:
        return key == "max_completion_tokens" ? &max_completion_tokens : nullptr;
      default:
        return nullptr;
    }
  }
};

// Pointers into the body (null: absent), valid until the body changes: read them before anything erases or
// inserts a member. A parsed body has no duplicate keys; of a built one, the first member with a key is
// taken.
struct RequestFields : RequestMembers<const boost::json::value*> {
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
