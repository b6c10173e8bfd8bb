// Helpers every handler answers with: JSON bodies and OpenAI-shaped errors, carrying the request id.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "http/message.h"
#include "http/response_writer.h"
#include "util/error.h"

namespace sy::api {

// What a handler knows about the request it serves.
struct RequestContext {
  std::string request_id;
  std::vector<http::Header> response_headers;  // sent with every answer (x-request-id, ...)
};

boost::asio::awaitable<void> send_json(http::ResponseWriter& w, RequestContext& ctx, int status,
                                       std::string body);
boost::asio::awaitable<void> send_error(http::ResponseWriter& w, RequestContext& ctx, const Error& error);

Error not_found(std::string message, std::string code = "not_found");

}  // namespace sy::api
