// The gateway's HTTP API: routes each request to its endpoint handler after authentication, answers errors in
// OpenAI's shape (Anthropic's under /v1/messages), and writes one access-log line per request (at debug
// level).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/routing_embedding.h"
#include "api/trace_attributes.h"
#include "auth/authenticator.h"
#include "config/config.h"
#include "http/message.h"
#include "http/response_writer.h"
#include "router/router.h"
#include "telemetry/telemetry.h"

namespace sy::api {

class Api {
 public:
  // `telemetry` may be null (tracing off); it must outlive the Api.
  Api(std::shared_ptr<const config::Config> config, const telemetry::Telemetry* telemetry = nullptr);

  boost::asio::awaitable<void> handle(http::Request& request, http::ResponseWriter& writer);
  // Reloads the files the router loads (learned routing artifacts) that changed. Call it off the I/O threads.
  void reload() { router_.reload_strategy(); }

 private:
  std::shared_ptr<const config::Config> config_;
  auth::Authenticator auth_;
  router::Router router_;
  RoutingEmbedder embedder_;
  const telemetry::Telemetry* telemetry_ = nullptr;
  std::vector<DeploymentSpanAttributes> span_attributes_;  // by router slot; only with telemetry
};

}  // namespace sy::api
