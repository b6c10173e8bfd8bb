// Helpers every handler answers with: JSON bodies and OpenAI-shaped errors, carrying the request id.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "telemetry/telemetry.h"

#include "http/message.h"
#include "http/response_writer.h"
#include "util/error.h"

namespace sy::api {

// What a handler knows about the request it serves. Recycled from one request to the next on a thread
// (util/recycled.h): the request id and the answer's header fields keep their storage.
struct RequestContext {
  std::string request_id;
  std::string_view api_key;  // the key the client presented (in the request's own bytes); empty: none
  http::HeaderList response_headers;  // sent with every answer (x-request-id, ...)
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  const telemetry::Telemetry* telemetry = nullptr;  // null: tracing is off
  telemetry::Span* span = nullptr;                  // the request's SERVER span
  telemetry::Baggage baggage;                       // from the incoming request, passed upstream
  bool client_gone = false;                         // the client left before the answer was complete

  // Empties it for the next request.
  void recycle() noexcept;
};

boost::asio::awaitable<void> send_json(http::ResponseWriter& w, RequestContext& ctx, int status,
                                       std::string body);

Error not_found(std::string message, std::string code = "not_found");

}  // namespace sy::api
