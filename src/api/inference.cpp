#include "api/inference.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "api/trace_attributes.h"
#include "http/sse.h"
#include "util/json.h"
#include "util/log.h"
#include "util/random.h"

namespace sy::api {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using providers::Endpoint;

Error missing(std::string field) {
  return invalid_request("Missing required parameter: '" + field + "'.", field, "missing_required_parameter");
}
Error wrong_type(std::string field, std::string_view expected) {
  return invalid_request("Invalid type for '" + field + "': expected " + std::string(expected) + ".", field,
                         "invalid_type");
}

std::optional<Error> validate_messages(const bj::value& messages) {
  if (!messages.is_array()) return wrong_type("messages", "an array of message objects");
  const auto& arr = messages.get_array();
  if (arr.empty())
    return invalid_request("'messages' must contain at least one message.", "messages", "invalid_value");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string path = "messages[" + std::to_string(i) + "]";
    const auto* m = arr[i].if_object();
    if (!m) return wrong_type(path, "an object");
    const auto* role = m->if_contains("role");
    if (!role) return missing(path + ".role");
    if (!role->is_string()) return wrong_type(path + ".role", "a string");
  }
  return std::nullopt;
}

// Writes each chunk as one SSE event, starting the response on the first.
class SseChunkSink final : public providers::ChunkSink {
 public:
  SseChunkSink(http::ResponseWriter& w, RequestContext& ctx) : w_(w), ctx_(ctx) {}

  asio::awaitable<bool> on_chunk(std::string_view json) override {
    const bool started = co_await start();
    if (!started) co_return false;
    frame_.clear();
    http::append_sse_data(frame_, json);
    const bool written = co_await w_.write(frame_);
    co_return written;
  }

  asio::awaitable<bool> start() {
    if (w_.started()) co_return true;
    if (ctx_.span && ctx_.span->recording()) {
      const double ttft =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx_.start).count();
      ctx_.span->add_event("gen_ai.first_token", {{"gen_ai.server.time_to_first_token", ttft}});
    }
    const bool ok = co_await w_.start_stream(200, "text/event-stream", ctx_.response_headers);
    co_return ok;
  }

  asio::awaitable<void> end_with(std::string_view payload) {
    frame_.clear();
    http::append_sse_data(frame_, payload);
    const bool written = co_await w_.write(frame_);
    if (written) co_await w_.finish();
  }

 private:
  http::ResponseWriter& w_;
  RequestContext& ctx_;
  std::string frame_;
};

}  // namespace

std::optional<Error> validate_request(Endpoint endpoint, const bj::object& body) {
  const auto* model = body.if_contains("model");
  if (!model) return missing("model");
  if (!model->is_string() || model->get_string().empty()) return wrong_type("model", "a non-empty string");
  if (const auto* stream = body.if_contains("stream"); stream && !stream->is_bool() && !stream->is_null()) {
    return wrong_type("stream", "a boolean");
  }
  switch (endpoint) {
    case Endpoint::chat_completions: {
      const auto* messages = body.if_contains("messages");
      if (!messages) return missing("messages");
      return validate_messages(*messages);
    }
    case Endpoint::completions: {
      const auto* prompt = body.if_contains("prompt");
      if (!prompt) return missing("prompt");
      if (!prompt->is_string() && !prompt->is_array()) return wrong_type("prompt", "a string or an array");
      return std::nullopt;
    }
    case Endpoint::embeddings: {
      const auto* input = body.if_contains("input");
      if (!input) return missing("input");
      if (!input->is_string() && !input->is_array()) return wrong_type("input", "a string or an array");
      if (input->is_array() && input->get_array().empty()) {
        return invalid_request("'input' must not be empty.", "input", "invalid_value");
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace {

// Parses and validates synchronously; only the answer is awaited. (Keeping error values out of co_await
// expressions also sidesteps g++ 12 destroying temporaries of a co_await expression twice.)
std::optional<Error> parse_request(Endpoint endpoint, bj::value& parsed, boost::system::error_code ec,
                                   std::string& public_model) {
  if (ec) {
    return invalid_request("We could not parse the JSON body of your request: " + ec.message() + ".", {},
                           "invalid_json");
  }
  if (!parsed.is_object())
    return invalid_request("The request body must be a JSON object.", {}, "invalid_json");
  if (auto error = validate_request(endpoint, parsed.as_object())) return error;
  public_model = parsed.as_object().at("model").get_string();
  return std::nullopt;
}

// Picks the deployment, recording the decision on a "route" span.
std::optional<Error> route(const router::Router& router, const RequestContext& ctx,
                           std::string_view public_model, const config::Deployment*& deployment,
                           providers::Provider*& provider) {
  const auto started = std::chrono::steady_clock::now();
  telemetry::Span span;
  if (ctx.telemetry)
    span = ctx.telemetry->tracer().start_span("route", telemetry::SpanKind::internal, ctx.span->context());
  const router::ModelGroup* group = router.group(public_model);
  if (!group) {
    if (span.recording()) {
      span.set_attribute("router.strategy", "simple-shuffle");
      span.set_attribute("router.candidates_evaluated", std::int64_t{0});
      span.set_attribute("router.decision_reason", "unknown_model");
    }
    return invalid_request("Invalid model name passed in model=" + std::string(public_model) +
                               ". Call `/v1/models` to view available models.",
                           "model", "model_not_found");
  }
  deployment = router::Router::pick(*group, FastRandom::thread_instance().uniform());
  provider = providers::provider_for(*deployment);
  if (span.recording()) {
    span.set_attribute("router.strategy", "simple-shuffle");
    span.set_attribute("router.candidates_evaluated", static_cast<std::int64_t>(group->deployments.size()));
    span.set_attribute("router.model_selected", deployment->params.provider_model);
    span.set_attribute("router.deployment_id", deployment->info.id);
    span.set_attribute("router.decision_reason", group->deployments.size() == 1      ? "only_candidate"
                                                 : group->cumulative_weights.empty() ? "uniform_random"
                                                                                     : "weighted_random");
    span.set_attribute(
        "router.latency_ms",
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  }
  if (!provider) {
    return Error{501,
                 "api_error",
                 "Provider '" + deployment->params.provider + "' is not supported by this gateway yet.",
                 "provider_not_supported",
                 {},
                 {}};
  }
  return std::nullopt;
}

// One line per failed call, so operators see upstream trouble without debug logging. Messages are already
// scrubbed of the deployment's key by the adapter.
void log_upstream_error(const RequestContext& ctx, const providers::Call& call, const Error& e) {
  if (!log::enabled(log::Level::warn)) return;
  std::string trace_id, span_id;
  if (ctx.span && ctx.span->context().valid()) {
    trace_id = telemetry::to_hex(ctx.span->context().trace_id);
    span_id = telemetry::to_hex(ctx.span->context().span_id);
  }
  log::warn("call failed", {{"request_id", ctx.request_id},
                            {"trace_id", trace_id},
                            {"span_id", span_id},
                            {"model", call.public_model},
                            {"deployment", call.deployment->info.id},
                            {"status", e.status},
                            {"code", e.code},
                            {"message", e.message}});
}

}  // namespace

asio::awaitable<void> handle_inference(Endpoint endpoint, const router::Router& router,
                                       http::Request& request, http::ResponseWriter& writer,
                                       RequestContext& ctx) {
  // One arena per request for the parsed body: freed at once when the request ends.
  bj::monotonic_resource arena(std::max<std::size_t>(1024, request.body.size() * 2));
  boost::system::error_code ec;
  bj::value parsed = bj::parse(request.body, ec, &arena, json::parse_options());
  std::string public_model;
  const config::Deployment* deployment = nullptr;
  providers::Provider* provider = nullptr;
  std::optional<Error> error = parse_request(endpoint, parsed, ec, public_model);
  const bool capture = ctx.telemetry && ctx.telemetry->capture_message_content();
  if (!error && ctx.span) record_request(*ctx.span, endpoint, parsed.as_object(), public_model, capture);
  if (!error) error = route(router, ctx, public_model, deployment, provider);
  if (error) {
    co_await send_error(writer, ctx, *error);
    co_return;
  }

  bj::object& body = parsed.as_object();
  providers::Call call;
  call.endpoint = endpoint;
  call.deployment = deployment;
  call.body = &body;
  call.public_model = public_model;
  call.request_id = ctx.request_id;
  call.capture_content = capture;
  if (const auto* s = body.if_contains("stream"); s && s->is_bool()) call.stream = s->get_bool();
  if (const auto* so = body.if_contains("stream_options"); so && so->is_object()) {
    if (const auto* iu = so->as_object().if_contains("include_usage"); iu && iu->is_bool()) {
      call.include_usage = iu->get_bool();
    }
  }
  if (endpoint == Endpoint::embeddings) call.stream = false;
  ctx.response_headers.push_back({"x-litellm-model-id", deployment->info.id});

  // The attempt's CLIENT span; the upstream request carries its context so a traced upstream joins the trace.
  telemetry::Span attempt;
  if (ctx.telemetry) {
    const std::string name = std::string(operation_name(endpoint)) + " " + deployment->params.provider_model;
    attempt = ctx.telemetry->tracer().start_span(name, telemetry::SpanKind::client, ctx.span->context());
    record_attempt(attempt, endpoint, *deployment, body);
    ctx.telemetry->propagators().inject(
        attempt.context(), ctx.baggage, [&call](std::string_view name, std::string value) {
          call.upstream_headers.push_back({std::string(name), std::move(value)});
        });
  }
  telemetry::Span no_span;
  telemetry::Span& server_span = ctx.span ? *ctx.span : no_span;

  if (!call.stream) {
    auto result = co_await provider->complete(call);
    record_outcome(server_span, attempt, call, result ? nullptr : &result.error(), capture);
    attempt.end();
    if (!result) {
      log_upstream_error(ctx, call, result.error());
      if (result.error().status >= 500) record_error(server_span, result.error());
      co_await send_error(writer, ctx, result.error());
    } else {
      co_await send_json(writer, ctx, result->status, std::move(result->body));
    }
    co_return;
  }

  SseChunkSink sink(writer, ctx);
  auto result = co_await provider->stream(call, sink);
  record_outcome(server_span, attempt, call, result ? nullptr : &result.error(), capture);
  attempt.end();
  if (!result) {
    log_upstream_error(ctx, call, result.error());
    if (result.error().status >= 500 || writer.started()) record_error(server_span, result.error());
    if (!writer.started()) {
      co_await send_error(writer, ctx, result.error());
    } else {
      // Bytes already reached the client: the stream ends with an error event in OpenAI's shape.
      const std::string event = result.error().to_json();
      co_await sink.end_with(event);
    }
    co_return;
  }
  if (!result.value()) {  // the client went away
    ctx.client_gone = true;
    co_return;
  }
  const bool started = co_await sink.start();
  if (started) co_await sink.end_with("[DONE]");
}

}  // namespace sy::api
