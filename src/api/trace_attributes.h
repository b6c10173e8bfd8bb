// Records what a request did on its spans, in the seed system's `llm.*` names and the OpenTelemetry GenAI and
// HTTP semantic conventions. Never records keys or headers; prompt and completion text only when capture is
// on.
#pragma once

#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "api/request_fields.h"
#include "config/config.h"
#include "providers/provider.h"
#include "telemetry/tracer.h"
#include "util/error.h"

namespace sy::api {

std::string_view operation_name(providers::Endpoint endpoint) noexcept;

// The attributes that every span of a call to one deployment carries and that depend on the deployment
// alone, encoded once (telemetry::AttributeBlock) instead of attribute by attribute on every request.
struct DeploymentSpanAttributes {
  explicit DeploymentSpanAttributes(const config::Deployment& d);

  const config::Deployment* deployment;
  telemetry::AttributeBlock client;  // the attempt's CLIENT span: provider, system, provider model, id
  telemetry::AttributeBlock server;  // the SERVER span once it answers: llm.model/provider, provider, system
  telemetry::AttributeBlock route;   // the "route" span that picked it: model selected, deployment id
};

// One per model_list entry, in its order (the router's slots).
std::vector<DeploymentSpanAttributes> deployment_span_attributes(const config::Config& config);

// Request-side GenAI attributes (operation, requested model and parameters), on the SERVER span; the
// prompt, when message content is captured. Or all of that from the body.
void record_request(telemetry::Span& span, providers::Endpoint endpoint, const GenAiParameters& parameters,
                    std::string_view public_model);
void record_prompt(telemetry::Span& span, const RequestFields& fields);
void record_request(telemetry::Span& span, providers::Endpoint endpoint, const boost::json::object& body,
                    std::string_view public_model, bool capture_content);

// The attempt's CLIENT span, as it starts: the request's parameters, or those in `body`. `attributes`, the
// deployment's when the caller keeps them (else they are made here).
void record_attempt(telemetry::Span& span, providers::Endpoint endpoint, const config::Deployment& deployment,
                    const GenAiParameters& parameters, const DeploymentSpanAttributes* attributes = nullptr);
void record_attempt(telemetry::Span& span, providers::Endpoint endpoint, const config::Deployment& deployment,
                    const boost::json::object& body);

// The outcome on both spans: response model/id, finish reasons, usage, upstream address and status; on
// failure error.type, ERROR status and an `exception` event. `attributes` as for record_attempt.
void record_outcome(telemetry::Span& server, telemetry::Span& attempt, const providers::Call& call,
                    const Error* error, bool capture_content,
                    const DeploymentSpanAttributes* attributes = nullptr);

// Marks a span failed with an `exception` event describing `error`.
void record_error(telemetry::Span& span, const Error& error);

}  // namespace sy::api
