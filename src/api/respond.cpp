#include "api/respond.h"

namespace sy::api {

boost::asio::awaitable<void> send_json(http::ResponseWriter& w, RequestContext& ctx, int status,
                                       std::string body) {
  co_await w.send(status, "application/json", std::move(body), ctx.response_headers);
}

boost::asio::awaitable<void> send_error(http::ResponseWriter& w, RequestContext& ctx, const Error& error) {
  if (!error.retry_after.empty()) ctx.response_headers.push_back({"Retry-After", error.retry_after});
  co_await w.send(error.status, "application/json", error.to_json(), ctx.response_headers);
}

Error not_found(std::string message, std::string code) {
  return Error{404, "invalid_request_error", std::move(message), std::move(code), {}, {}};
}

}  // namespace sy::api
