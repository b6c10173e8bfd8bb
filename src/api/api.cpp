#include "api/api.h"

#include <chrono>

#include <boost/asio.hpp>

#include "api/anthropic_dialect.h"
#include "api/inference.h"
#include "api/messages.h"
#include "api/models.h"
#include "api/respond.h"
#include "util/log.h"
#include "util/random.h"
#include "util/recycled.h"

namespace sy::api {
namespace {

namespace asio = boost::asio;
using providers::Endpoint;

constexpr std::string_view kModelsPrefix = "/v1/models/";
constexpr std::string_view kModelsPrefixShort = "/models/";

// Records the status a handler answered with, for the access log. Its methods are not coroutines: each hands
// back the inner writer's awaitable, which the caller awaits at once (while the views it passed are alive),
// so forwarding costs no coroutine frame of its own.
class StatusRecorder final : public http::ResponseWriter {
 public:
  explicit StatusRecorder(http::ResponseWriter& inner) : inner_(inner) {}
  asio::awaitable<void> send(int status, std::string_view ct, std::string body,
                             std::span<const http::Header> h) override {
    status_ = status;
    return inner_.send(status, ct, std::move(body), h);
  }
  asio::awaitable<bool> start_stream(int status, std::string_view ct,
                                     std::span<const http::Header> h) override {
    status_ = status;
    return inner_.start_stream(status, ct, h);
  }
  asio::awaitable<bool> write(std::string_view data) override { return inner_.write(data); }
  asio::awaitable<void> finish(std::string_view last_data) override { return inner_.finish(last_data); }
  bool started() const noexcept override { return inner_.started(); }
  int status() const noexcept { return status_; }

 private:
  http::ResponseWriter& inner_;
  int status_ = 0;
};

std::optional<Endpoint> inference_endpoint(std::string_view path) {
  if (path == "/v1/chat/completions" || path == "/chat/completions") return Endpoint::chat_completions;
  if (path == "/v1/completions" || path == "/completions") return Endpoint::completions;
  if (path == "/v1/embeddings" || path == "/embeddings") return Endpoint::embeddings;
  return std::nullopt;
}

// Anthropic's Messages API: the paths under /v1/messages answer in Anthropic's shapes, errors included.
enum class MessagesRoute { none, messages, count_tokens, other };

MessagesRoute messages_route(std::string_view path) {
  if (path.starts_with("/v1/")) path.remove_prefix(3);
  if (path == "/messages") return MessagesRoute::messages;
  if (path == "/messages/count_tokens") return MessagesRoute::count_tokens;
  if (path.starts_with("/messages/")) return MessagesRoute::other;
  return MessagesRoute::none;
}

bool is_messages_endpoint(MessagesRoute route) {
  return route == MessagesRoute::messages || route == MessagesRoute::count_tokens;
}

bool is_liveness(std::string_view p) {
  return p == "/health/liveliness" || p == "/_health/live";
}
bool is_readiness(std::string_view p) {
  return p == "/health/readiness" || p == "/_health/ready";
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A client-supplied request id is kept when it is short and printable; otherwise a fresh one is made. Written
// into `id`, whose storage the (recycled) request context keeps.
void assign_request_id(const http::Request& request, std::string& id) {
  std::string_view given = request.header("x-request-id");
  if (!given.empty() && given.size() <= 128 &&
      std::all_of(given.begin(), given.end(), [](char c) { return c > 32 && c < 127 && c != '"'; })) {
    id.assign(given);
    return;
  }
  id.clear();
  append_random_hex_id(id);
}

// "{method} {route}" as the HTTP conventions name server spans; unknown paths get the method alone, so span
// names stay few. Written into `name`, whose storage a caller can keep from one request to the next.
std::string_view span_name(std::string_view method, std::string_view path, std::string& name) {
  name.assign(method);
  if (inference_endpoint(path) || is_messages_endpoint(messages_route(path)) || path == "/v1/models" ||
      path == "/models") {
    name.append(" ").append(path);
  } else if (path.starts_with(kModelsPrefix)) {
    name.append(" /v1/models/{id}");
  } else if (path.starts_with(kModelsPrefixShort)) {
    name.append(" /models/{id}");
  }
  return name;
}

Error method_not_allowed(std::string_view method) {
  return Error{405,
               "invalid_request_error",
               "Method " + std::string(method) + " is not allowed here.",
               "method_not_allowed",
               {},
               {}};
}

}  // namespace

Api::Api(std::shared_ptr<const config::Config> config, const telemetry::Telemetry* telemetry)
    : config_(std::move(config)),
      auth_(config_->general_settings.master_key),
      router_(*config_),
      embedder_(RoutingEmbedder::cache_size_for(config_->router)),
      telemetry_(telemetry) {
  if (telemetry_) span_attributes_ = deployment_span_attributes(*config_);
}

namespace {

// The request's SERVER span, continuing the caller's trace, with the attributes known at its start.
telemetry::Span start_server_span(const telemetry::Telemetry& telemetry, const http::Request& request,
                                  RequestContext& ctx) {
  const std::string_view path = request.path;
  telemetry::SpanContext parent;
  telemetry.propagators().extract([&request](std::string_view name) { return request.header(name); }, parent,
                                  ctx.baggage);
  // Per thread, filled and read before anything suspends: a name like "POST /v1/chat/completions" is too
  // long for a string's inline buffer, and the span record copies it anyway.
  thread_local std::string name;
  telemetry::Span span = telemetry.tracer().start_span(span_name(request.method, path, name),
                                                       telemetry::SpanKind::server, parent);
  if (span.recording()) {
    span.set_attribute("http.request.method", request.method);
    span.set_attribute("url.path", path);
    if (auto ua = request.header("user-agent"); !ua.empty()) span.set_attribute("user_agent.original", ua);
    span.set_attribute("server.port", static_cast<std::int64_t>(request.local_port));
    // The id the response carries in x-request-id: what feedback refers to (traces-to-dataset joins on it).
    span.set_attribute("switchyard.request_id", ctx.request_id);
  }
  return span;
}

// Ends the SERVER span of a request whose handler threw: cancelled (the client went away mid-request) or an
// I/O failure.
void end_failed_span(telemetry::Span& span, const std::exception& e) {
  const auto* system_error = dynamic_cast<const boost::system::system_error*>(&e);
  span.set_status(telemetry::StatusCode::error,
                  system_error && system_error->code() == boost::asio::error::operation_aborted
                      ? std::string("request cancelled: the client went away")
                      : std::string("request failed: ") + e.what());
  span.end();
}

void record_response(telemetry::Span& span, int status, bool client_gone) {
  if (!span.recording()) return;
  span.set_attribute("http.response.status_code", status);
  span.set_attribute("http.status_code", status);
  if (client_gone) {
    span.set_status(telemetry::StatusCode::error, "the client went away before the response was complete");
  } else if (status >= 500 && span.status() != telemetry::StatusCode::error) {
    span.set_status(telemetry::StatusCode::error, "HTTP " + std::to_string(status));
  }
}

// The access-log line, at debug level.
void log_request(const http::Request& request, const RequestContext& ctx, const telemetry::Span& span,
                 int status, std::chrono::steady_clock::time_point start) {
  if (!log::enabled(log::Level::debug)) return;
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string trace_id, span_id;
  if (span.context().valid()) {
    trace_id = telemetry::to_hex(span.context().trace_id);
    span_id = telemetry::to_hex(span.context().span_id);
  }
  log::debug("request", {{"request_id", ctx.request_id},
                         {"trace_id", trace_id},
                         {"span_id", span_id},
                         {"method", request.method},
                         {"path", request.path},
                         {"status", status},
                         {"duration_ms", ms}});
}

// What a request's path names, worked out once per request.
struct Route {
  bool health = false;                           // a liveness or readiness probe
  MessagesRoute messages = MessagesRoute::none;  // under /v1/messages: Anthropic's dialect
  std::optional<Endpoint> endpoint;              // an OpenAI inference endpoint
  bool inference() const noexcept { return endpoint || is_messages_endpoint(messages); }
};

Route route_of(std::string_view path) {
  return Route{is_liveness(path) || is_readiness(path), messages_route(path), inference_endpoint(path)};
}

// The answer of a request no endpoint handler serves (health, models, and every refusal before a handler
// runs): an error or a body; neither for a request the handler is to answer.
void answer_directly(const auth::Authenticator& auth, const router::Router& router,
                     const http::Request& request, std::string_view api_key, const Route& route,
                     std::optional<Error>& error, std::string& body) {
  const std::string_view path = request.path;
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  if (route.health) {
    if (!get) {
      error = method_not_allowed(request.method);
    } else if (is_liveness(path)) {
      body = R"({"status":"alive"})";
    } else {
      body = R"({"status":"healthy","version":")" SWITCHYARD_VERSION "\"}";
    }
    return;
  }
  const bool inference = route.inference();
  const bool models = path == "/v1/models" || path == "/models" || path.starts_with(kModelsPrefix) ||
                      path.starts_with(kModelsPrefixShort);
  if (!inference && !models) {
    error = not_found("Unknown path " + std::string(path) + ".");
  } else if ((inference && !post) || (models && !get)) {
    error = method_not_allowed(request.method);
  } else if (!auth.allows_key(api_key)) {
    error = Error{
        401,
        "authentication_error",
        route.messages == MessagesRoute::none
            ? "Invalid or missing API key. Pass it as 'Authorization: Bearer <key>'."
            : "Invalid or missing API key. Pass it as 'x-api-key: <key>' or 'Authorization: Bearer <key>'.",
        "invalid_api_key",
        {},
        {}};
  } else if (path == "/v1/models" || path == "/models") {
    body = models_list_json(router, unix_now());
  } else if (!inference) {
    std::string_view id =
        path.substr(path.starts_with(kModelsPrefix) ? kModelsPrefix.size() : kModelsPrefixShort.size());
    auto model = model_json(router, id, unix_now());
    if (model) {
      body = std::move(model.value());
    } else {
      error = model.error();
    }
  }
}

}  // namespace

// A coroutine's frame holds every local of its body, so the work that never suspends lives in the plain
// functions above: the frame stays small enough for Asio's per-thread recycling of frames (1,020 bytes).
asio::awaitable<void> Api::handle(http::Request& request, http::ResponseWriter& raw_writer) {
  StatusRecorder writer(raw_writer);
  // From this thread's spare contexts: the request id and the answer's header fields keep their storage, so
  // the usual request sets them without allocating.
  const Recycled<RequestContext> recycled = Recycled<RequestContext>::take();
  RequestContext& ctx = *recycled;
  ctx.start = std::chrono::steady_clock::now();
  assign_request_id(request, ctx.request_id);
  ctx.response_headers.add("x-request-id", ctx.request_id);
  const Route route = route_of(request.path);
  // The client's wire format: Anthropic's under /v1/messages (whose SDKs read the request id from
  // `request-id`), made only for those requests.
  std::unique_ptr<anthropic::AnthropicDialect> anthropic;
  if (route.messages != MessagesRoute::none) {
    anthropic = std::make_unique<anthropic::AnthropicDialect>();
    ctx.response_headers.add("request-id", ctx.request_id);
  }
  Dialect& dialect = anthropic ? *anthropic : openai_dialect();

  // The request's SERVER span. Health probes are not traced.
  telemetry::Span server_span;
  if (telemetry_ && !route.health) {
    server_span = start_server_span(*telemetry_, request, ctx);
    ctx.telemetry = telemetry_;
    ctx.span = &server_span;
  }

  // Answers are built into named locals first: g++ 12 destroys temporaries of a co_await expression twice.
  std::optional<Error> error;
  std::string body;
  // Read once: the inference path splits experiments by it too.
  if (!route.health) ctx.api_key = auth::Authenticator::presented_key(request);
  answer_directly(auth_, router_, request, ctx.api_key, route, error, body);
  if (error) {
    co_await send_error(writer, ctx, *error, dialect);
  } else if (!body.empty()) {
    co_await send_json(writer, ctx, 200, std::move(body));
  } else if (route.inference()) {
    try {
      if (route.messages == MessagesRoute::count_tokens) {
        co_await handle_count_tokens(router_, request, writer, ctx);
      } else {
        // Anthropic's messages are chat completions in Anthropic's dialect.
        const Endpoint e = route.endpoint.value_or(Endpoint::chat_completions);
        co_await handle_inference(e, router_, request, writer, ctx, dialect, &embedder_, span_attributes_);
      }
    } catch (const std::exception& e) {
      end_failed_span(server_span, e);
      throw;
    }
  }
  record_response(server_span, writer.status(), ctx.client_gone);
  log_request(request, ctx, server_span, writer.status(), ctx.start);
}

}  // namespace sy::api
