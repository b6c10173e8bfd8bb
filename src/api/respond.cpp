#include "api/respond.h"

namespace sy::api {

void RequestContext::recycle() noexcept {
  static constexpr std::size_t kKeepId = 128;  // the longest request id a client may give
  if (request_id.capacity() > kKeepId) std::string().swap(request_id);
  request_id.clear();
  api_key = {};
  response_headers.recycle();
  telemetry = nullptr;
  span = nullptr;
  baggage.clear();
  client_gone = false;
}

// Not a coroutine: it hands back the writer's awaitable (the body is a value, the headers the context's,
// which outlives the caller's co_await), so answering costs no coroutine frame of its own.
boost::asio::awaitable<void> send_json(http::ResponseWriter& w, RequestContext& ctx, int status,
                                       std::string body) {
  return w.send(status, "application/json", std::move(body), ctx.response_headers);
}

Error not_found(std::string message, std::string code) {
  return Error{404, "invalid_request_error", std::move(message), std::move(code), {}, {}};
}

}  // namespace sy::api
