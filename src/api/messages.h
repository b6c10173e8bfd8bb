// Anthropic's token counting, `POST /v1/messages/count_tokens`, for any deployment: a deployment of provider
// `anthropic` counts with its provider's count_tokens API; every other deployment gets the gateway's estimate
// (about four characters a token over the translated request), answered as Anthropic's `{"input_tokens": N}`.
// (`POST /v1/messages` itself is an inference endpoint in Anthropic's dialect: see api/anthropic_dialect.h.)
#pragma once

#include <cstdint>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "api/respond.h"
#include "http/message.h"
#include "http/response_writer.h"
#include "router/router.h"

namespace sy::api {

boost::asio::awaitable<void> handle_count_tokens(const router::Router& router, http::Request& request,
                                                 http::ResponseWriter& writer, RequestContext& ctx);

// The estimate for an OpenAI-shaped chat request: its messages as providers::estimate_prompt_tokens counts
// them, plus its tool definitions and the tool calls of earlier turns.
std::int64_t estimate_input_tokens(const boost::json::object& chat_request);

}  // namespace sy::api
