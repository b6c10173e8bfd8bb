#include "api/trace_attributes.h"

#include <boost/json.hpp>

namespace sy::api {
namespace {

namespace bj = boost::json;
using providers::Endpoint;

// The request parameters both the SERVER and the CLIENT span carry.
void record_parameters(telemetry::Span& span, Endpoint endpoint, const GenAiParameters& p) {
  if (p.max_tokens) span.set_attribute("gen_ai.request.max_tokens", *p.max_tokens);
  if (p.temperature) span.set_attribute("gen_ai.request.temperature", *p.temperature);
  if (p.top_p) span.set_attribute("gen_ai.request.top_p", *p.top_p);
  if (endpoint != Endpoint::embeddings) span.set_attribute("gen_ai.request.stream", p.stream);
}

}  // namespace

std::string_view operation_name(Endpoint endpoint) noexcept {
  switch (endpoint) {
    case Endpoint::completions:
      return "text_completion";
    case Endpoint::embeddings:
      return "embeddings";
    default:
      return "chat";
  }
}

DeploymentSpanAttributes::DeploymentSpanAttributes(const config::Deployment& d)
    : deployment(&d),
      client{{"gen_ai.provider.name", d.params.provider},
             {"gen_ai.system", d.params.provider},
             {"gen_ai.request.model", d.params.provider_model},
             {"switchyard.deployment.id", d.info.id}},
      server{{"llm.model", d.params.provider_model},
             {"llm.provider", d.params.provider},
             {"gen_ai.provider.name", d.params.provider},
             {"gen_ai.system", d.params.provider}},
      route{{"router.model_selected", d.params.provider_model}, {"router.deployment_id", d.info.id}} {}

std::vector<DeploymentSpanAttributes> deployment_span_attributes(const config::Config& config) {
  std::vector<DeploymentSpanAttributes> all;
  all.reserve(config.model_list.size());
  for (const config::Deployment& d : config.model_list) all.emplace_back(d);
  return all;
}

void record_request(telemetry::Span& span, Endpoint endpoint, const GenAiParameters& parameters,
                    std::string_view public_model) {
  if (!span.recording()) return;
  span.set_attribute("gen_ai.operation.name", operation_name(endpoint));
  if (!public_model.empty()) span.set_attribute("gen_ai.request.model", public_model);
  record_parameters(span, endpoint, parameters);
}

void record_prompt(telemetry::Span& span, const RequestFields& fields) {
  if (!span.recording()) return;
  for (const bj::value* v : {fields.messages, fields.prompt, fields.input}) {
    if (v) span.set_attribute("gen_ai.prompt", bj::serialize(*v));
  }
}

void record_request(telemetry::Span& span, Endpoint endpoint, const bj::object& body,
                    std::string_view public_model, bool capture_content) {
  const RequestFields fields = RequestFields::of(body);
  record_request(span, endpoint, GenAiParameters::of(fields), public_model);
  if (capture_content) record_prompt(span, fields);
}

void record_attempt(telemetry::Span& span, Endpoint endpoint, const config::Deployment& d,
                    const GenAiParameters& parameters, const DeploymentSpanAttributes* attributes) {
  if (!span.recording()) return;
  record_parameters(span, endpoint, parameters);
  span.set_attribute("gen_ai.operation.name", operation_name(endpoint));
  if (attributes) {
    span.set_attributes(attributes->client);
  } else {
    span.set_attributes(DeploymentSpanAttributes(d).client);
  }
}

void record_attempt(telemetry::Span& span, Endpoint endpoint, const config::Deployment& d,
                    const bj::object& body) {
  record_attempt(span, endpoint, d, GenAiParameters::of(RequestFields::of(body)));
}

void record_error(telemetry::Span& span, const Error& error) {
  if (!span.recording()) return;
  span.set_status(telemetry::StatusCode::error, error.message);
  span.add_event("exception", {{"exception.type", error.code.empty() ? error.type : error.code},
                               {"exception.message", error.message}});
}

void record_outcome(telemetry::Span& server, telemetry::Span& attempt, const providers::Call& call,
                    const Error* error, bool capture_content, const DeploymentSpanAttributes* attributes) {
  const config::Deployment& d = *call.deployment;
  const providers::ResponseMeta& m = call.meta;
  // The same on both spans: encoded once, on the attempt's, and copied to the server's.
  if (server.recording() || attempt.recording()) {
    if (!m.model.empty()) attempt.set_attribute_on_both(server, "gen_ai.response.model", m.model);
    if (!m.id.empty()) attempt.set_attribute_on_both(server, "gen_ai.response.id", m.id);
    if (!m.finish_reasons.empty())
      attempt.set_attribute_on_both(server, "gen_ai.response.finish_reasons", m.finish_reasons);
    if (m.prompt_tokens >= 0)
      attempt.set_attribute_on_both(server, "gen_ai.usage.input_tokens", m.prompt_tokens);
    if (m.completion_tokens >= 0)
      attempt.set_attribute_on_both(server, "gen_ai.usage.output_tokens", m.completion_tokens);
  }
  if (server.recording()) {
    if (attributes) {
      server.set_attributes(attributes->server);
    } else {
      server.set_attributes(DeploymentSpanAttributes(d).server);
    }
    if (m.prompt_tokens >= 0) server.set_attribute("llm.tokens.prompt", m.prompt_tokens);
    if (m.completion_tokens >= 0) server.set_attribute("llm.tokens.completion", m.completion_tokens);
    if (capture_content && !m.completion_text.empty())
      server.set_attribute("gen_ai.completion", m.completion_text);
  }
  if (attempt.recording()) {
    if (!m.server_address.empty()) {
      attempt.set_attribute("server.address", m.server_address);
      attempt.set_attribute("server.port", static_cast<std::int64_t>(m.server_port));
    }
    if (m.upstream_status > 0) {
      attempt.set_attribute("http.response.status_code", static_cast<std::int64_t>(m.upstream_status));
    }
    if (error) {
      attempt.set_attribute("error.type", error->code.empty() ? error->type : error->code);
      record_error(attempt, *error);
    }
  }
}

}  // namespace sy::api
