// The inference endpoints (chat completions, completions, embeddings, and Anthropic's messages through its
// dialect): parse and validate the body once, pick a deployment of the requested model group, and answer
// through its provider adapter, whole or as SSE.
#pragma once

#include <optional>
#include <span>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "api/dialect.h"
#include "api/request_fields.h"
#include "api/respond.h"
#include "api/routing_embedding.h"
#include "api/trace_attributes.h"
#include "http/message.h"
#include "http/response_writer.h"
#include "providers/provider.h"
#include "router/router.h"

namespace sy::api {

// `dialect` is the client's wire format: the request is translated in and every answer out through it.
// `embedder` gets the embedding a learned strategy routes on, when it needs one (null: never fetched).
// `span_attributes`: the deployments' span attributes by router slot, encoded once (empty: made per span).
boost::asio::awaitable<void> handle_inference(providers::Endpoint endpoint, const router::Router& router,
                                              http::Request& request, http::ResponseWriter& writer,
                                              RequestContext& ctx, Dialect& dialect = openai_dialect(),
                                              const RoutingEmbedder* embedder = nullptr,
                                              std::span<const DeploymentSpanAttributes> span_attributes = {});

}  // namespace sy::api
