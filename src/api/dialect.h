// The client-facing wire format of the inference endpoints. The gateway routes OpenAI-shaped chat requests
// and its provider adapters answer in OpenAI's shapes; a dialect turns the client's request into that shape,
// and the answers, stream frames and errors back into the client's. OpenAI's dialect passes everything
// through; others (Anthropic's Messages API) translate. An instance serves one request: stream translation
// may keep state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include "api/respond.h"
#include "http/response_writer.h"
#include "util/error.h"

namespace sy::api {

// A whole response: its HTTP status and JSON body.
struct Answer {
  int status = 200;
  std::string body;
};

class Dialect {
 public:
  virtual ~Dialect() = default;

  // Rewrites the client's request (a parsed JSON object, allocated in its storage) in place into the
  // OpenAI-shaped body the gateway routes; an error rejects the request before routing.
  virtual std::optional<Error> translate_request(boost::json::value& body) = 0;
  // A provider's whole answer (an OpenAI-shaped JSON body) as the client receives it.
  virtual Answer response(int status, std::string body) = 0;
  // Appends the SSE frames for one stream chunk (an OpenAI chunk object as JSON); may append none.
  virtual void chunk_frames(std::string_view chunk, std::string& out) = 0;
  // Appends the frames that end a stream whose answer is complete.
  virtual void end_frames(std::string& out) = 0;
  // An error answered before any byte of the response was sent.
  virtual Answer error_response(const Error& error) const = 0;
  // Appends the frame that ends a stream failing after bytes reached the client.
  virtual void error_frame(const Error& error, std::string& out) const = 0;
};

// OpenAI's own shapes: the request and answers pass through, chunks are `data: {chunk}` events, a stream ends
// with `data: [DONE]`, errors are `{"error": {...}}` (mid-stream too, as one `data:` event, without [DONE]).
class OpenAiDialect final : public Dialect {
 public:
  std::optional<Error> translate_request(boost::json::value&) override { return std::nullopt; }
  Answer response(int status, std::string body) override { return Answer{status, std::move(body)}; }
  void chunk_frames(std::string_view chunk, std::string& out) override;
  void end_frames(std::string& out) override;
  Answer error_response(const Error& error) const override;
  void error_frame(const Error& error, std::string& out) const override;
};

// The OpenAI dialect keeps no state: one instance serves every request.
Dialect& openai_dialect() noexcept;

// Sends `error` in the dialect's shape, with the request's headers and the error's Retry-After.
boost::asio::awaitable<void> send_error(http::ResponseWriter& w, RequestContext& ctx, const Error& error,
                                        const Dialect& dialect);

}  // namespace sy::api
