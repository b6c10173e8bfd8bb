// Translation between OpenAI's chat completions and Bedrock's Converse API, without I/O: an OpenAI request
// into a Converse request, a Converse response into a `chat.completion`, the decoded messages of a
// ConverseStream event stream into `chat.completion.chunk` payloads, and Bedrock's errors into OpenAI-shaped
// ones.
//
// What cannot be translated is refused with a 400 rather than dropped: `response_format` other than text, `n`
// above 1, log probabilities, non-zero frequency or presence penalties, `logit_bias`, audio output, image
// URLs that are not inline data. `seed`, `user`, `parallel_tool_calls`, `store`, `metadata` and
// `service_tier` have no Converse counterpart and are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "providers/bedrock/event_stream.h"
#include "providers/provider.h"
#include "util/error.h"

namespace sy::providers::bedrock {

// The Converse request body for an OpenAI chat completion request (`modelId` goes in the path, not here). A
// 400 invalid_request_error names the parameter Bedrock cannot honour.
Result<boost::json::object> to_converse_request(const boost::json::object& chat_request);

// How answers are presented to the client.
struct AnswerOptions {
  std::string_view public_model;    // `model` in what the client sees
  std::string_view upstream_model;  // the Bedrock model id, noted as ResponseMeta::model
  std::string id;                   // "chatcmpl-..."
  std::int64_t created = 0;         // Unix seconds
  bool include_usage = false;       // streams: a usage chunk (choices: []) after the last one
  bool capture_content = false;     // keep the completion text in ResponseMeta
};

// A fresh "chatcmpl-..." id.
std::string new_completion_id();

// OpenAI's finish_reason for a Converse stopReason.
std::string_view finish_reason_for(std::string_view stop_reason) noexcept;

// A Converse response body as an OpenAI `chat.completion`; `meta` receives id, model, finish reason and token
// counts. A body that is not a Converse response gives a 502.
Result<std::string> from_converse_response(std::string_view converse_json, const AnswerOptions& options,
                                           ResponseMeta& meta);

// Turns the decoded messages of one ConverseStream response into `chat.completion.chunk` payloads, one
// message at a time, so each chunk can be forwarded as soon as its frame is decoded.
class StreamTranslator {
 public:
  // `secrets` are scrubbed from exception messages; they must outlive the translator.
  StreamTranslator(AnswerOptions options, ResponseMeta& meta, std::span<const std::string_view> secrets)
      : options_(std::move(options)), meta_(meta), secrets_(secrets) {}

  // Appends the chunks `message` makes (none, one or two) to `chunks`. An exception message, an error message
  // or an event whose payload is not JSON gives the error the stream ends with.
  std::optional<Error> translate(const EventMessage& message, std::vector<std::string>& chunks);

  // True once messageStop has been seen: the answer is complete.
  bool stopped() const noexcept { return stopped_; }

 private:
  std::string chunk(boost::json::object delta, std::optional<std::string_view> finish_reason) const;
  int tool_index(std::int64_t block, bool start);

  AnswerOptions options_;
  ResponseMeta& meta_;
  std::span<const std::string_view> secrets_;
  std::vector<std::pair<std::int64_t, int>> tool_blocks_;  // contentBlockIndex -> OpenAI tool_calls index
  int tools_ = 0;
  bool stopped_ = false;
};

// Bedrock's error for a failed call as the client sees it. `error_type` is the x-amzn-ErrorType header
// ("ThrottlingException:http://...") or an event stream's :exception-type ("throttlingException"); when
// empty, the body's "__type" is used. The body's "message" is kept (the first paragraph only for signature
// errors, which echo the canonical request), with every one of `secrets` replaced by "[redacted]".
Error map_error(int status, std::string_view error_type, std::string_view body, std::string_view retry_after,
                std::span<const std::string_view> secrets);

// Replaces each secret (4 characters or longer) in `text` by "[redacted]".
void scrub(std::string& text, std::span<const std::string_view> secrets);

}  // namespace sy::providers::bedrock
