#include "api/respond.h"

namespace sy::api {

// Not coroutines: they hand back the writer's awaitable (its arguments are values, or the context's headers,
// which outlive the caller's co_await), so answering costs no coroutine frame of its own.
boost::asio::awaitable<void> send_json(http::ResponseWriter& w, RequestContext& ctx, int status,
                                       std::string body) {
  return w.send(status, "application/json", std::move(body), ctx.response_headers);
}

boost::asio::awaitable<void> send_error(http::ResponseWriter& w, RequestContext& ctx, const Error& error) {
  if (!error.retry_after.empty()) ctx.response_headers.push_back({"Retry-After", error.retry_after});
  return w.send(error.status, "application/json", error.to_json(), ctx.response_headers);
}

Error not_found(std::string message, std::string code) {
  return Error{404, "invalid_request_error", std::move(message), std::move(code), {}, {}};
}

}  // namespace sy::api
