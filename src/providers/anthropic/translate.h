// Anthropic Messages API <-> OpenAI chat completions: pure translation functions, no I/O.
//
// Requests: an OpenAI chat.completions body becomes a Messages body (system and developer messages hoisted
// into `system`, consecutive same-role turns merged, images, tool calls and tool results as content blocks,
// tools and tool_choice, stop sequences, a max_tokens default). What Anthropic cannot express is a 400 naming
// the parameter. Responses: a Message becomes a chat.completion; a stream of Messages events becomes
// chat.completion.chunk objects, one event at a time. Errors: Anthropic's
// {"type":"error","error":{"type","message"}} becomes our Error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "http/sse.h"
#include "providers/provider.h"
#include "util/error.h"

namespace sy::providers::anthropic {

inline constexpr std::int64_t kDefaultMaxTokens = 4096;

struct RequestOptions {
  std::string_view model;  // the deployment's Anthropic model id
  std::int64_t default_max_tokens = kDefaultMaxTokens;
};

// OpenAI chat.completions request -> Anthropic Messages request. 400 invalid_request_error (with `param`) for
// what the Messages API cannot express: n > 1, response_format json_object / json_schema, logprobs, tool call
// arguments that are not a JSON object, unknown roles or content parts.
Result<boost::json::object> to_anthropic_request(const boost::json::object& request,
                                                 const RequestOptions& options);

// Anthropic stop_reason -> OpenAI finish_reason ("stop" for reasons we do not know).
std::string_view finish_reason(std::string_view stop_reason) noexcept;

// The OpenAI usage object for Anthropic's counts: prompt = input + cache read + cache creation.
struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t cache_read_input_tokens = 0;
  std::int64_t cache_creation_input_tokens = 0;
  std::int64_t output_tokens = 0;

  std::int64_t prompt_tokens() const noexcept {
    return input_tokens + cache_read_input_tokens + cache_creation_input_tokens;
  }
  boost::json::object to_openai() const;
  // Takes the counts present in an Anthropic usage object; absent or null fields keep their value.
  void update(const boost::json::object& usage);
};

struct ResponseOptions {
  std::string_view public_model;  // `model` of what the client sees
  std::int64_t created = 0;       // unix seconds
  bool capture_content = false;   // keep the completion text in the meta
};

// Anthropic Message (JSON text) -> OpenAI chat.completion (JSON text). Notes id, upstream model, finish
// reason and usage (and the text when asked) in `meta`. 502 when the body is not a Message.
Result<std::string> to_openai_response(std::string_view body, const ResponseOptions& options,
                                       ResponseMeta& meta);

// An upstream error (HTTP status and Anthropic error body) -> the error the client sees. Status kept except
// 529 (overloaded: 503, type api_error, code "overloaded"); Anthropic's error type and message kept; a
// "prompt is too long" 400 gets code context_length_exceeded; Retry-After kept; `secret` scrubbed from every
// field.
Error map_error(int status, std::string_view body, std::string_view retry_after, std::string_view secret);

// The HTTP status Anthropic uses for an error type (for `error` events inside a stream, which carry no
// status).
int status_for_error_type(std::string_view type) noexcept;

// Replaces every occurrence of `secret` (4 characters or longer) in `text` with "[redacted]".
void scrub(std::string& text, std::string_view secret);

// Turns Anthropic stream events into OpenAI chat.completion.chunk objects, one event at a time, so each chunk
// can be forwarded as soon as its event is decoded.
class StreamTranslator {
 public:
  struct Options {
    std::string_view public_model;
    std::int64_t created = 0;
    bool include_usage = false;    // end with a usage chunk (choices: [])
    bool capture_content = false;  // keep the completion text in the meta
    std::string_view secret;       // scrubbed from error events
  };

  StreamTranslator(const Options& options, ResponseMeta& meta);

  // Translates one event; its chunks (serialized JSON) are appended to `out`. False on an `error` event or an
  // event that is not JSON: error() says what the client is told; chunks appended before stay valid.
  bool on_event(const http::SseEvent& event, std::vector<std::string>& out);

  // Raw SSE bytes, any split: decodes events and translates each. False as on_event, or for an oversized
  // event.
  bool feed(std::string_view bytes, std::vector<std::string>& out);

  // The upstream body ended: an error unless message_stop was seen.
  std::optional<Error> finish() const;

  bool finished() const noexcept { return stopped_; }
  const Error& error() const noexcept { return error_; }
  const Usage& usage() const noexcept { return usage_; }

 private:
  std::string chunk(boost::json::object delta, std::string_view finish) const;
  std::string usage_chunk() const;
  void emit_delta(boost::json::object delta, std::vector<std::string>& out);
  void note_usage();

  Options options_;
  ResponseMeta& meta_;
  http::SseReader reader_;
  std::string id_;
  Usage usage_;
  bool role_sent_ = false;
  bool stopped_ = false;
  std::vector<std::pair<std::int64_t, std::int64_t>> tool_blocks_;  // content block index -> tool_calls index
  std::int64_t next_tool_ = 0;
  Error error_;
};

// Anthropic's error type for an HTTP status (529 and 503: overloaded_error), for errors that name none.
std::string_view error_type_for_status(int status) noexcept;

}  // namespace sy::providers::anthropic
