// The top-level members of an inference request body the gateway reads (validation, routing fields, trace
// attributes), found in one pass over the body instead of a search per member.
#pragma once

#include <cstdint>
#include <optional>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

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

}  // namespace sy::api
