#include "api/messages.h"

#include <algorithm>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "api/anthropic_dialect.h"
#include "providers/provider.h"
#include "util/json.h"
#include "util/log.h"
#include "util/random.h"

namespace sy::api {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;

// What a count_tokens request comes to, decided synchronously before anything is awaited.
struct CountPlan {
  std::optional<Error> error;
  const router::ModelGroup* group = nullptr;
  const config::Deployment* deployment = nullptr;
  std::uint32_t slot = 0;
  bool native = false;        // the deployment's provider counts
  std::int64_t estimate = 0;  // otherwise, our estimate
};

CountPlan plan_count(const router::Router& router, bj::value& parsed, boost::system::error_code ec) {
  CountPlan plan;
  if (ec) {
    plan.error = invalid_request("We could not parse the JSON body of your request: " + ec.message() + ".",
                                 {}, "invalid_json");
    return plan;
  }
  if (!parsed.is_object()) {
    plan.error = invalid_request("The request body must be a JSON object.", {}, "invalid_json");
    return plan;
  }
  anthropic::RequestInfo info;
  auto chat = anthropic::to_openai_request(parsed.as_object(), anthropic::RequestKind::count_tokens, info,
                                           parsed.storage());
  if (!chat) {
    plan.error = std::move(chat.error());
    return plan;
  }
  plan.group = router.group(info.model);
  if (!plan.group) {
    plan.error = invalid_request(
        "Invalid model name passed in model=" + info.model + ". Call `/v1/models` to view available models.",
        "model", "model_not_found");
    return plan;
  }
  // The deployment the router would pick for this request; when every one is at its rpm/tpm cap, the group's
  // first (counting is not an inference call, and is not counted against a deployment's limits).
  router::RouteRequest route;
  route.body = &chat.value();
  const router::Selection selection = router.select(*plan.group, route, {}, FastRandom::thread_instance());
  if (selection.deployment) {
    plan.deployment = selection.deployment;
    plan.slot = selection.slot;
  } else {
    plan.deployment = plan.group->deployments.front();
    plan.slot = plan.group->slots.front();
  }
  // A mocked anthropic/ deployment is served by the mock adapter: it gets the estimate too.
  plan.native = plan.deployment->params.provider == "anthropic" && !plan.deployment->params.mock_response;
  if (!plan.native) plan.estimate = estimate_input_tokens(chat.value());
  return plan;
}

void set_header(RequestContext& ctx, std::string_view name, std::string_view value) {
  ctx.response_headers.add(name, value);
}

}  // namespace

std::int64_t estimate_input_tokens(const bj::object& chat) {
  std::int64_t tokens = providers::estimate_prompt_tokens(providers::Endpoint::chat_completions, chat);
  if (const bj::value* tools = chat.if_contains("tools"); tools && tools->is_array()) {
    tokens += providers::estimate_tokens(bj::serialize(*tools));
  }
  if (const bj::value* messages = chat.if_contains("messages"); messages && messages->is_array()) {
    for (const bj::value& m : messages->get_array()) {
      const bj::value* calls = m.is_object() ? m.get_object().if_contains("tool_calls") : nullptr;
      if (calls) tokens += providers::estimate_tokens(bj::serialize(*calls));
    }
  }
  return tokens;
}

asio::awaitable<void> handle_count_tokens(const router::Router& router, http::Request& request,
                                          http::ResponseWriter& writer, RequestContext& ctx) {
  anthropic::AnthropicDialect dialect;  // the shape of errors
  json::RequestArena arena(request.body.size());
  boost::system::error_code ec;
  bj::value parsed = bj::parse(request.body, ec, arena.resource(), json::parse_options());
  CountPlan plan = plan_count(router, parsed, ec);
  if (plan.error) {
    co_await send_error(writer, ctx, *plan.error, dialect);
    co_return;
  }
  const config::Deployment& d = *plan.deployment;
  set_header(ctx, "x-litellm-model-id", d.info.id);
  set_header(ctx, "x-litellm-model-group", plan.group->name);
  if (std::string_view base = router.public_api_base(plan.slot); !base.empty()) {
    set_header(ctx, "x-litellm-model-api-base", base);
  }
  telemetry::Span* server_span = ctx.span && ctx.span->recording() ? ctx.span : nullptr;
  if (server_span) {
    server_span->set_attribute("gen_ai.request.model", plan.group->name);
    server_span->set_attribute("gen_ai.provider.name", d.params.provider);
    server_span->set_attribute("switchyard.deployment.id", d.info.id);
    server_span->set_attribute("switchyard.count_tokens.source", plan.native ? "provider" : "estimate");
  }

  if (!plan.native) {
    std::string body = R"({"input_tokens":)" + std::to_string(plan.estimate) + "}";
    co_await send_json(writer, ctx, 200, std::move(body));
    co_return;
  }

  providers::Provider* provider = providers::provider_for(d);
  if (!provider) {
    const Error unsupported{501,
                            "api_error",
                            "Provider '" + d.params.provider + "' is not supported by this gateway yet.",
                            "provider_not_supported",
                            {},
                            {}};
    co_await send_error(writer, ctx, unsupported, dialect);
    co_return;
  }
  bj::object body = anthropic::count_tokens_body(parsed.as_object(), parsed.storage());
  providers::Call call;
  call.deployment = &d;
  call.body = &body;
  call.public_model = plan.group->name;
  call.request_id = ctx.request_id;
  call.timeout = router.timeout(d, false);

  // The upstream call's CLIENT span; the request carries its context.
  telemetry::Span span;
  if (ctx.telemetry) {
    span = ctx.telemetry->tracer().start_span("count_tokens " + d.params.provider_model,
                                              telemetry::SpanKind::client, ctx.span->context());
    if (span.recording()) {
      span.set_attribute("gen_ai.provider.name", d.params.provider);
      span.set_attribute("gen_ai.request.model", d.params.provider_model);
      span.set_attribute("switchyard.deployment.id", d.info.id);
    }
    ctx.telemetry->propagators().inject(
        span.context(), ctx.baggage,
        [&call](std::string_view name, std::string_view value) { call.upstream_headers.add(name, value); });
  }
  auto result = co_await provider->count_tokens(call);
  if (span.recording()) {
    if (!call.meta.server_address.empty()) {
      span.set_attribute("server.address", call.meta.server_address);
      span.set_attribute("server.port", static_cast<std::int64_t>(call.meta.server_port));
    }
    if (call.meta.upstream_status > 0) {
      span.set_attribute("http.response.status_code", static_cast<std::int64_t>(call.meta.upstream_status));
    }
    if (!result) span.set_status(telemetry::StatusCode::error, result.error().message);
  }
  span.end();
  if (!result) {
    const Error& error = result.error();
    log::warn("count_tokens failed", {{"request_id", ctx.request_id},
                                      {"model", plan.group->name},
                                      {"deployment", d.info.id},
                                      {"status", error.status},
                                      {"code", error.code},
                                      {"message", error.message}});
    co_await send_error(writer, ctx, error, dialect);
    co_return;
  }
  co_await send_json(writer, ctx, result->status, std::move(result->body));
}

}  // namespace sy::api
