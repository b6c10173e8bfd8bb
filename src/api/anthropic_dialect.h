// Anthropic's Messages API as a dialect of the gateway: a `POST /v1/messages` request is translated into an
// OpenAI chat request, routed like any other (to any provider), and the OpenAI-shaped answer (whole,
// streamed, or an error) is translated back into Anthropic's message, stream event and error shapes. The
// translations are pure functions of their input; the stream translator keeps the state of one stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include "api/dialect.h"
#include "util/error.h"

namespace sy::api::anthropic {

// What answers to a translated request need to know of it.
struct RequestInfo {
  std::string model;  // the model the client asked for
  std::vector<std::string>
      stop_sequences;  // to tell a stop sequence from a natural end, when the upstream says
};

enum class RequestKind {
  messages,      // POST /v1/messages: max_tokens is required
  count_tokens,  // POST /v1/messages/count_tokens: no max_tokens; the result is only estimated from
};

// An Anthropic Messages request as an OpenAI chat completions request, built in `sp`. Errors are 400
// invalid_request_error with `param` naming the offending field as Anthropic does
// ("messages.0.content.1.type"). Fields with no OpenAI counterpart are dropped (top_k, cache_control,
// thinking blocks of earlier turns, ...); what cannot be served faithfully is rejected (extended thinking,
// server tools, unknown content blocks).
Result<boost::json::object> to_openai_request(const boost::json::object& request, RequestKind kind,
                                              RequestInfo& info, boost::json::storage_ptr sp = {});

// The fields Anthropic's own count_tokens accepts (model, messages, system, tools, tool_choice, thinking),
// copied from a request, for a provider that counts natively.
boost::json::object count_tokens_body(const boost::json::object& request, boost::json::storage_ptr sp = {});

// "msg_" and the OpenAI id without its "chatcmpl-" prefix; an id that already starts with "msg_" is kept, an
// empty one gets a random id.
std::string message_id(std::string_view openai_id);

// OpenAI's finish_reason as Anthropic's stop_reason: stop → end_turn, length → max_tokens, tool_calls (and
// function_call) → tool_use, content_filter → refusal; anything else → end_turn.
std::string_view stop_reason(std::string_view finish_reason) noexcept;

// An OpenAI chat completion (JSON) as an Anthropic message (JSON); 502 api_error when it is not one.
Result<std::string> to_anthropic_message(std::string_view openai_body, const RequestInfo& info);

// Errors in Anthropic's shape: the type for the HTTP status (an unknown model is 404 not_found_error, as
// Anthropic answers it), the status, and {"type":"error","error":{"type","message"}}.
std::string_view error_type(const Error& error) noexcept;
int error_status(const Error& error) noexcept;
std::string error_json(const Error& error);

// Turns the OpenAI chunks of one stream into Anthropic's events: message_start, then content_block_start /
// content_block_delta / content_block_stop for each text run and each tool call (text_delta,
// input_json_delta), then message_delta (stop_reason, usage) and message_stop. Each event is an SSE frame
// with an `event:` line.
class StreamTranslator {
 public:
  // `info` must outlive the translator.
  explicit StreamTranslator(const RequestInfo& info) : info_(info) {}

  // Appends the events for one chunk (an OpenAI chat.completion.chunk as JSON); may append none.
  void chunk(std::string_view json, std::string& out);
  // Appends the events that end the message.
  void finish(std::string& out);
  // The mid-stream error event.
  static void error(const Error& error, std::string& out);

 private:
  struct ToolBlock {
    std::int64_t openai_index = 0;
    int block = 0;
  };

  void start(std::string& out);
  void open_text(std::string& out);
  void close_block(std::string& out);
  void emit(std::string& out, std::string_view type, const boost::json::object& event);

  const RequestInfo& info_;
  bool started_ = false;
  std::string id_;
  std::string model_;
  int next_block_ = 0;
  int open_block_ = -1;  // -1: none open
  bool open_is_text_ = false;
  std::vector<ToolBlock> tools_;
  std::string finish_reason_;
  std::string stop_sequence_;
  bool refused_ = false;
  std::int64_t input_tokens_ = -1;  // -1: unknown
  std::int64_t output_tokens_ = -1;
  std::int64_t cached_tokens_ = -1;
  std::string scratch_;
};

class AnthropicDialect final : public Dialect {
 public:
  AnthropicDialect() = default;
  AnthropicDialect(const AnthropicDialect&) = delete;  // the stream translator refers to info_
  AnthropicDialect& operator=(const AnthropicDialect&) = delete;

  std::optional<Error> translate_request(boost::json::value& body) override;
  Answer response(int status, std::string body) override;
  void chunk_frames(std::string_view chunk, std::string& out) override { stream_.chunk(chunk, out); }
  void end_frames(std::string& out) override { stream_.finish(out); }
  Answer error_response(const Error& error) const override;
  void error_frame(const Error& error, std::string& out) const override {
    StreamTranslator::error(error, out);
  }

 private:
  RequestInfo info_;
  StreamTranslator stream_{info_};
};

}  // namespace sy::api::anthropic
