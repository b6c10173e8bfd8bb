#include "api/inference.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <boost/asio.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>

#include "api/sse_chunk_sink.h"
#include "api/trace_attributes.h"
#include "util/json.h"
#include "util/log.h"
#include "util/random.h"
#include "util/recycled.h"
#include "util/request_body.h"

namespace sy::api {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using providers::Endpoint;

}  // namespace

namespace {

// Parses and validates synchronously; only the answer is awaited. (Keeping error values out of co_await
// expressions also sidesteps g++ 12 destroying temporaries of a co_await expression twice.)
std::optional<Error> parse_request(Endpoint endpoint, bj::value& parsed, boost::system::error_code ec,
                                   Dialect& dialect, std::string& public_model, RequestFields& fields) {
  if (ec) {
    return invalid_request("We could not parse the JSON body of your request: " + ec.message() + ".", {},
                           "invalid_json");
  }
  if (!parsed.is_object())
    return invalid_request("The request body must be a JSON object.", {}, "invalid_json");
  if (auto error = dialect.translate_request(parsed)) return error;
  fields = RequestFields::of(parsed.as_object());
  if (auto error = validate_request(endpoint, fields)) return error;
  public_model = fields.model->get_string();
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

// A span that records nothing, for a request without tracing. Shared: nothing changes a span without a
// record.
telemetry::Span& no_span() noexcept {
  static telemetry::Span none;
  return none;
}

// What admission read of a request for the inference path.
struct Admission {
  RequestFields fields;  // the document's members; all null when the body was scanned, not parsed
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  GenAiParameters parameters;  // when tracing
};

// One request through the router: attempts, retries and fallbacks until an answer reaches the client.
class Inference {
 public:
  // `admission` is what admit() read of the request; `body` its document, or its scanned text.
  Inference(Endpoint endpoint, const router::Router& router, http::ResponseWriter& writer,
            RequestContext& ctx, Dialect& dialect, json::BodyRef body, const Admission& admission,
            std::string_view public_model, bool capture,
            std::span<const DeploymentSpanAttributes> span_attributes)
      : endpoint_(endpoint),
        router_(router),
        span_attributes_(span_attributes),
        writer_(writer),
        ctx_(ctx),
        dialect_(dialect),
        body_(body),
        parameters_(admission.parameters),
        server_span_(ctx.span ? *ctx.span : no_span()) {
    call_.endpoint = endpoint;
    call_.body = body;
    call_.public_model = public_model;
    call_.request_id = ctx.request_id;
    call_.capture_content = capture;
    call_.stream = admission.stream;
    call_.include_usage = admission.include_usage;
    // Only a stream writes chunks: its sink is made for it alone, which keeps it out of every request's
    // frame.
    if (call_.stream) sink_ = std::make_unique<SseChunkSink>(writer, ctx, dialect);
    take_routing_fields(admission.fields);
    request_.stream = call_.stream;
    request_.prompt_field = endpoint == Endpoint::chat_completions ? "messages"
                            : endpoint == Endpoint::completions    ? "prompt"
                                                                   : "input";
    request_.body = body;
    if (router.settings().enable_pre_call_checks) {
      request_.prompt_tokens = providers::estimate_prompt_tokens(endpoint, *body);
    }
  }

  // The key the client presented, for experiments split by API key (hashed there, never recorded).
  void set_api_key(std::string_view key) noexcept { request_.api_key = key; }
  // The size of the request text the body was parsed from.
  void set_body_bytes(std::size_t n) noexcept { call_.body_bytes = n; }

  asio::awaitable<void> run(const router::ModelGroup& requested, const RoutingEmbedder* embedder) {
    if (embedder) {
      // The embedding a learned strategy routes on, before the first decision (retries and fallbacks reuse
      // it). Settled here when none is needed or this thread's cache has it: the usual case costs no
      // coroutine frame.
      if (const std::optional<PendingEmbedding> pending =
              embedder->from_cache(router_, requested, request_, embedding_)) {
        co_await embedder->fetch(router_, request_, *pending, embedding_, ctx_);
      }
      const asio::cancellation_state cancel_state = co_await asio::this_coro::cancellation_state;
      if (cancel_state.cancelled() != asio::cancellation_type::none) {
        ctx_.client_gone = true;
        co_return;
      }
    }
    group_ = &requested;
    visited_.push_back(group_);
    router::Selection selection = select(*group_);
    for (;;) {
      Error error;
      if (selection.refusal) {
        error = std::move(*selection.refusal);
      } else {
        const bool answered = co_await attempt(selection, error);
        if (answered) co_return;
      }
      const std::optional<std::chrono::milliseconds> wait = plan_next(requested, selection, error);
      if (!wait) {
        co_await fail(error);
        co_return;
      }
      if (wait->count() > 0) {
        const bool waited = co_await pause(*wait);
        if (!waited) co_return;  // cancelled: the client went away
      }
    }
  }

 private:
  // LiteLLM's per-request `num_retries`, `timeout` (seconds) and `fallbacks` (model names) override the
  // router's settings for this request; they are the gateway's, so they are not sent upstream. Types were
  // validated.
  void take_routing_fields(const RequestFields& fields) {
    if (!fields.num_retries && !fields.timeout && !fields.fallbacks) return;
    if (const bj::value* v = fields.num_retries; v && v->is_number()) {
      num_retries_ = static_cast<int>(std::min<std::uint64_t>(100, v->to_number<std::uint64_t>()));
    }
    if (const bj::value* v = fields.timeout; v && v->is_number()) {
      timeout_ =
          std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(v->to_number<double>() * 1000)));
    }
    if (const bj::value* v = fields.fallbacks; v && v->is_array()) {
      for (const auto& f : v->get_array()) request_fallbacks_.emplace_back(f.get_string());
    }
    // The pointers die with the first erase. (Fields come from a document: a scanned body has none.)
    body_->erase("num_retries");
    body_->erase("timeout");
    body_->erase("fallbacks");
  }

  // After a failed attempt (its error `error`), puts the next one in `selection`: another deployment of the
  // group at once, the same one after a backoff, or the pick of the next fallback group. Returns the wait
  // before it, or nothing when no attempt is left. (Not part of the coroutine: its locals would enlarge
  // every request's frame.)
  std::optional<std::chrono::milliseconds> plan_next(const router::ModelGroup& requested,
                                                     router::Selection& selection, const Error& error) {
    const bool refused_locally = refused_locally_;
    refused_locally_ = false;
    // A provider's refusal of what it cannot do falls back like a missing adapter, not like a bad request.
    const router::FailureKind kind =
        refused_locally ? router::FailureKind::not_supported : router::classify(error);
    if (selection.deployment) {
      tried_.push_back(selection.slot);
      if (refused_locally) {
        // Another deployment of the group may serve it: at once, without counting a retry.
        router::Selection next = router_.select(*group_, request_, tried_, FastRandom::thread_instance());
        if (next.deployment && std::find(tried_.begin(), tried_.end(), next.slot) == tried_.end()) {
          record_route(next, *group_, std::chrono::steady_clock::now());
          selection = std::move(next);
          return std::chrono::milliseconds(0);
        }
      }
      // Retry within the group: another deployment at once when there is one, else the same after a wait.
      const int allowed =
          num_retries_ && router::retryable(kind) ? *num_retries_ : router_.retries_for(*group_, kind);
      if (group_retries_ < allowed) {
        const auto started = std::chrono::steady_clock::now();
        router::Selection next = router_.select(*group_, request_, tried_, FastRandom::thread_instance());
        std::optional<std::chrono::milliseconds> wait;
        if (next.deployment) {
          const auto times_tried = std::count(tried_.begin(), tried_.end(), next.slot);
          if (times_tried == 0) {
            wait = std::chrono::milliseconds(0);
          } else if (router::Router::may_retry_on(*next.deployment, static_cast<int>(times_tried))) {
            wait = router_.backoff(group_retries_ + 1, error.retry_after, FastRandom::thread_instance());
          }
        }
        if (wait) {
          record_route(next, *group_, started);
          ++group_retries_;
          ++retries_;
          selection = std::move(next);
          return wait;
        }
      }
    }
    // Fallbacks: the list chosen by the failure that made the requested group give up, tried in order, each
    // group once.
    if (!fallbacks_chosen_) {
      fallbacks_ = request_fallbacks_.empty() ? router_.fallbacks(requested.name, kind)
                                              : std::span<const std::string>(request_fallbacks_);
      fallbacks_chosen_ = true;
    }
    const router::ModelGroup* next_group = nullptr;
    while (router::falls_back(kind) && !next_group && next_fallback_ < fallbacks_.size() &&
           fallbacks_used_ < router_.settings().max_fallbacks) {
      const router::ModelGroup* g = router_.group(fallbacks_[next_fallback_++]);
      if (g && std::find(visited_.begin(), visited_.end(), g) == visited_.end()) next_group = g;
    }
    if (!next_group) return std::nullopt;
    group_ = next_group;
    visited_.push_back(group_);
    ++fallbacks_used_;
    group_retries_ = 0;
    tried_.clear();
    selection = select(*group_);
    return std::chrono::milliseconds(0);
  }

  // Picks the next deployment, recording the decision on a "route" span.
  router::Selection select(const router::ModelGroup& group) {
    const auto started = std::chrono::steady_clock::now();
    router::Selection s = router_.select(group, request_, tried_, FastRandom::thread_instance());
    record_route(s, group, started);
    return s;
  }

  // The selected deployment's span attributes, encoded at start-up; null when it has none there.
  const DeploymentSpanAttributes* span_attributes(const router::Selection& s) const noexcept {
    if (s.slot >= span_attributes_.size() || span_attributes_[s.slot].deployment != s.deployment)
      return nullptr;
    return &span_attributes_[s.slot];
  }

  // The "route" span of a decision that is acted on.
  void record_route(const router::Selection& s, const router::ModelGroup& group,
                    std::chrono::steady_clock::time_point started) {
    if (!ctx_.telemetry) return;
    telemetry::Span span =
        ctx_.telemetry->tracer().start_span("route", telemetry::SpanKind::internal, ctx_.span->context());
    if (!span.recording()) return;
    const router::Decision& d = s.decision;
    span.set_attribute("router.strategy", d.strategy.empty() ? router_.strategy().name() : d.strategy);
    if (!d.strategy_version.empty()) span.set_attribute("router.strategy_version", d.strategy_version);
    if (!d.experiment_arm.empty()) span.set_attribute("router.experiment_arm", d.experiment_arm);
    if (!d.learned_model.empty()) span.set_attribute("router.learned_model", d.learned_model);
    if (!d.routing_text.empty()) span.set_attribute("router.routing_text", d.routing_text);
    if (!d.embedding.empty()) span.set_attribute("router.embedding", d.embedding);
    span.set_attribute("router.model_group", group.name);
    span.set_attribute("router.candidates_evaluated", static_cast<std::int64_t>(s.candidates));
    span.set_attribute("router.decision_reason", s.decision.reason);
    span.set_attribute("router.attempt", static_cast<std::int64_t>(attempts_));
    if (fallbacks_used_ > 0)
      span.set_attribute("router.fallback_depth", static_cast<std::int64_t>(fallbacks_used_));
    if (std::isfinite(s.decision.score)) span.set_attribute("router.score", s.decision.score);
    if (s.deployment) {
      if (const DeploymentSpanAttributes* known = span_attributes(s)) {
        span.set_attributes(known->route);
      } else {
        span.set_attributes(DeploymentSpanAttributes(*s.deployment).route);
      }
    }
    if (s.all_cooling_down) span.set_attribute("router.all_cooling_down", true);
    if (s.refusal) span.set_status(telemetry::StatusCode::error, s.refusal->message);
    span.set_attribute(
        "router.latency_ms",
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  }

  // One call of one deployment. True when the request is answered (successfully, or with an error after bytes
  // of a stream reached the client, which is never retried); false with `error` set when another attempt may
  // follow.
  asio::awaitable<bool> attempt(const router::Selection& selection, Error& error) {
    telemetry::Span span;
    providers::Provider* provider = begin_attempt(selection, span, error);
    if (!provider) co_return false;

    const router::AttemptScope in_flight(router_, selection);
    const auto started = std::chrono::steady_clock::now();
    if (sink_) sink_->attempt(&router_, &selection, started);
    std::optional<Error> failure;
    bool client_gone = false;
    std::optional<std::string> body;
    int status = 200;
    if (!call_.stream) {
      auto result = co_await provider->complete(call_);
      if (result) {
        status = result->status;
        body = std::move(result->body);
      } else {
        failure = std::move(result.error());
      }
    } else {
      auto result = co_await provider->stream(call_, *sink_);
      if (!result) {
        failure = std::move(result.error());
      } else {
        client_gone = !result.value();
      }
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;
    // The client went away (the handler was cancelled, or a stream's sink found the client gone): nothing is
    // answered and the deployment is not to blame.
    const asio::cancellation_state cancel_state = co_await asio::this_coro::cancellation_state;
    if (client_gone || cancel_state.cancelled() != asio::cancellation_type::none) {
      ctx_.client_gone = true;
      if (span.recording()) span.set_status(telemetry::StatusCode::error, "cancelled: the client went away");
      co_return true;
    }

    if (!failure) {
      succeeded(selection, span, elapsed);
      if (body) {
        to_dialect(status, *body);
        co_await send_json(writer_, ctx_, status, std::move(*body));
      } else {
        co_await sink_->end();
      }
      co_return true;
    }
    if (failed(selection, span, *failure, elapsed)) {
      // The answer has begun (bytes reached the client, or chunks wait to be written): no retry; the stream
      // ends with the dialect's error event.
      co_await sink_->end_with_error(*failure);
      co_return true;
    }
    error = std::move(*failure);
    co_return false;
  }

  // An attempt's start: the call made ready for the deployment, the response headers that name it, and its
  // CLIENT span, whose context the upstream request carries so that a traced upstream joins the trace. Null
  // (with `error`) when no adapter serves the deployment's provider.
  providers::Provider* begin_attempt(const router::Selection& selection, telemetry::Span& span,
                                     Error& error) {
    const config::Deployment& d = *selection.deployment;
    const int number = attempts_++;
    call_.deployment = &d;
    call_.public_model = visited_.back()->name;
    call_.timeout = timeout_ ? *timeout_ : router_.timeout(d, call_.stream);
    call_.meta.clear();
    call_.upstream_headers.clear();
    set_routing_headers(selection);

    providers::Provider* provider = providers::provider_for(d);
    if (!provider) {
      error = Error{501,
                    "api_error",
                    "Provider '" + d.params.provider + "' is not supported by this gateway yet.",
                    "provider_not_supported",
                    {},
                    {}};
      return nullptr;
    }
    if (ctx_.telemetry) {
      // Per thread, filled and read before anything suspends (the span record copies the name).
      thread_local std::string name;
      name.assign(operation_name(endpoint_)).append(" ").append(d.params.provider_model);
      span = ctx_.telemetry->tracer().start_span(name, telemetry::SpanKind::client, ctx_.span->context());
      record_attempt(span, endpoint_, d, parameters_, span_attributes(selection));
      if (span.recording()) {
        span.set_attribute("switchyard.attempt", static_cast<std::int64_t>(number));
        span.set_attribute("router.model_group", visited_.back()->name);
      }
      ctx_.telemetry->propagators().inject(
          span.context(), ctx_.baggage,
          [this](std::string_view name, std::string_view value) { call_.upstream_headers.add(name, value); });
    }
    return provider;
  }

  // A whole answer in the client's dialect, in place (an Answer local would take room in the frame).
  void to_dialect(int& status, std::string& body) {
    Answer answer = dialect_.response(status, std::move(body));
    status = answer.status;
    body = std::move(answer.body);
  }

  // A successful attempt's bookkeeping: its outcome on the spans, and the router's statistics.
  void succeeded(const router::Selection& selection, telemetry::Span& span,
                 std::chrono::steady_clock::duration elapsed) {
    record_outcome(server_span_, span, call_, nullptr, call_.capture_content, span_attributes(selection));
    std::int64_t tokens = std::max<std::int64_t>(0, call_.meta.prompt_tokens) +
                          std::max<std::int64_t>(0, call_.meta.completion_tokens);
    if (call_.meta.prompt_tokens < 0) tokens += providers::estimate_prompt_tokens(endpoint_, *body_);
    router_.succeeded(selection, elapsed, tokens);
    span.end();
    record_totals();
  }

  // A failed attempt's bookkeeping: spans, the router's statistics and cooldown, the log line. True when the
  // answer has begun, so that the failure ends it instead of another attempt following.
  bool failed(const router::Selection& selection, telemetry::Span& span, const Error& failure,
              std::chrono::steady_clock::duration elapsed) {
    record_outcome(server_span_, span, call_, &failure, call_.capture_content, span_attributes(selection));
    const router::FailureKind kind = router::classify(failure);
    const bool cooled = router_.failed(selection, kind, failure, elapsed);
    if (span.recording()) {
      span.set_attribute("router.failure_kind", router::to_string(kind));
      if (cooled) span.set_attribute("router.cooldown_started", true);
    }
    span.end();
    log_upstream_error(ctx_, call_, failure);
    if (sink_ && sink_->begun()) {
      record_error(server_span_, failure);
      record_totals();
      return true;
    }
    // A 400 the adapter gave without asking the upstream: this provider cannot serve the request as asked
    // (n > 1 on Anthropic, an https image on Bedrock, ...), which another deployment may.
    refused_locally_ = failure.status == 400 && call_.meta.upstream_status == 0;
    return false;
  }

  // No attempt left: the last error goes to the client.
  asio::awaitable<void> fail(const Error& error) {
    if (error.status >= 500) record_error(server_span_, error);
    record_totals();
    set_count_headers();
    co_await send_error(writer_, ctx_, error, dialect_);
  }

  // Waits before a retry; false when cancelled.
  asio::awaitable<bool> pause(std::chrono::milliseconds wait) {
    if (wait.count() <= 0) co_return true;
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    timer.expires_after(wait);
    boost::system::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await timer.async_wait(token);
    co_return !ec;
  }

  void set_routing_headers(const router::Selection& s) {
    set_header("x-litellm-model-id", s.deployment->info.id);
    set_header("x-litellm-model-group", visited_.back()->name);
    std::string_view base = router_.public_api_base(s.slot);
    if (!base.empty()) {
      set_header("x-litellm-model-api-base", base);
    } else {
      remove_header("x-litellm-model-api-base");
    }
    if (s.all_cooling_down) {
      set_header("x-switchyard-cooldown", "all-deployments-cooling-down");
    } else {
      remove_header("x-switchyard-cooldown");
    }
    set_count_headers();
  }

  void set_count_headers() {
    set_header("x-litellm-attempted-retries", std::to_string(retries_));
    set_header("x-litellm-attempted-fallbacks", std::to_string(fallbacks_used_));
  }

  void set_header(std::string_view name, std::string_view value) { ctx_.response_headers.set(name, value); }
  void remove_header(std::string_view name) { ctx_.response_headers.remove(name); }

  void record_totals() {
    if (!server_span_.recording()) return;
    server_span_.set_attribute("router.attempts", static_cast<std::int64_t>(attempts_));
    server_span_.set_attribute("router.retries", static_cast<std::int64_t>(retries_));
    server_span_.set_attribute("router.fallbacks", static_cast<std::int64_t>(fallbacks_used_));
  }

  Endpoint endpoint_;
  const router::Router& router_;
  std::span<const DeploymentSpanAttributes> span_attributes_;  // by router slot
  http::ResponseWriter& writer_;
  RequestContext& ctx_;
  Dialect& dialect_;
  json::BodyRef body_;
  GenAiParameters parameters_;          // for the CLIENT spans, when tracing
  telemetry::Span& server_span_;        // the request's SERVER span, or one that records nothing
  std::unique_ptr<SseChunkSink> sink_;  // a stream's
  // From this thread's spares, out of the frame (which must stay within the 1,020 bytes Asio recycles): the
  // answer's id, model and finish reasons keep their storage from request to request.
  Recycled<providers::Call> recycled_call_ = Recycled<providers::Call>::take();
  providers::Call& call_ = *recycled_call_;
  router::RouteRequest request_;
  EmbeddingBuffer embedding_;  // request_.embedding's floats
  boost::container::small_vector<std::uint32_t, 8> tried_;
  boost::container::small_vector<const router::ModelGroup*, 4> visited_;
  std::optional<std::chrono::milliseconds> timeout_;  // from the request
  std::vector<std::string> request_fallbacks_;        // from the request
  std::optional<int> num_retries_;                    // from the request
  int attempts_ = 0;
  int retries_ = 0;
  int fallbacks_used_ = 0;
  // Where the router is: the group being tried, its retries so far, and the fallbacks left.
  int group_retries_ = 0;
  bool fallbacks_chosen_ = false;
  bool refused_locally_ = false;  // the last attempt's adapter refused the request without calling upstream
  const router::ModelGroup* group_ = nullptr;
  std::span<const std::string> fallbacks_;
  std::size_t next_fallback_ = 0;
};

}  // namespace

namespace {

// The model group `public_model` names: null, with `refusal`, when there is none.
const router::ModelGroup* group_of(const router::Router& router, RequestContext& ctx,
                                   const std::string& public_model, std::unique_ptr<Error>& refusal) {
  const router::ModelGroup* group = router.group(public_model);
  if (group) return group;
  if (ctx.telemetry) {
    telemetry::Span span =
        ctx.telemetry->tracer().start_span("route", telemetry::SpanKind::internal, ctx.span->context());
    if (span.recording()) {
      span.set_attribute("router.strategy", router.strategy().name());
      span.set_attribute("router.candidates_evaluated", std::int64_t{0});
      span.set_attribute("router.decision_reason", "unknown_model");
    }
  }
  refusal = std::make_unique<Error>(invalid_request(
      "Invalid model name passed in model=" + public_model + ". Call `/v1/models` to view available models.",
      "model", "model_not_found"));
  return nullptr;
}

// Checks the request and finds its model group: null, with `refusal`, when it is refused. A chat request in
// OpenAI's dialect is read from its text by the scanner when it can vouch for it (`scanned` then holds the
// body, unparsed); any other is parsed into `parsed`, and so is one the scanner declines (which validation
// may refuse: its errors come from the document).
const router::ModelGroup* admit(Endpoint endpoint, const router::Router& router, const http::Request& request,
                                RequestContext& ctx, Dialect& dialect, bj::value& parsed,
                                std::optional<json::RequestBody>& scanned, std::string& public_model,
                                Admission& a, bool capture, std::unique_ptr<Error>& refusal) {
  if (endpoint == Endpoint::chat_completions && !capture && &dialect == &openai_dialect()) {
    if (std::optional<ScannedChat> chat = scan_chat_request(request.body, ctx.telemetry != nullptr)) {
      scanned.emplace(request.body, chat->model_value, parsed.storage());
      public_model = chat->model;
      a.stream = chat->stream;
      a.parameters = chat->parameters;
      if (ctx.span) record_request(*ctx.span, endpoint, a.parameters, public_model);
      return group_of(router, ctx, public_model, refusal);
    }
  }
  boost::system::error_code ec;
  parsed = bj::parse(request.body, ec, parsed.storage(), json::parse_options());
  RequestFields& fields = a.fields;
  if (std::optional<Error> error = parse_request(endpoint, parsed, ec, dialect, public_model, fields)) {
    refusal = std::make_unique<Error>(std::move(*error));
    return nullptr;
  }
  if (endpoint != Endpoint::embeddings && fields.stream && fields.stream->is_bool()) {
    a.stream = fields.stream->get_bool();
  }
  if (const auto* so = fields.stream_options; so && so->is_object()) {
    if (const auto* iu = so->as_object().if_contains("include_usage"); iu && iu->is_bool()) {
      a.include_usage = iu->get_bool();
    }
  }
  if (ctx.telemetry) a.parameters = GenAiParameters::of(fields);
  if (ctx.span) {
    record_request(*ctx.span, endpoint, a.parameters, public_model);
    if (capture) record_prompt(*ctx.span, fields);
  }
  return group_of(router, ctx, public_model, refusal);
}

}  // namespace

asio::awaitable<void> handle_inference(Endpoint endpoint, const router::Router& router,
                                       http::Request& request, http::ResponseWriter& writer,
                                       RequestContext& ctx, Dialect& dialect, const RoutingEmbedder* embedder,
                                       std::span<const DeploymentSpanAttributes> span_attributes) {
  // One arena per request for the parsed body: freed at once when the request ends.
  json::RequestArena arena(request.body.size());
  bj::value parsed(bj::storage_ptr(arena.resource()));
  std::string public_model;
  // A refusal is rare: kept behind a pointer, it takes no room in every request's frame.
  std::unique_ptr<Error> refusal;
  const bool capture = ctx.telemetry && ctx.telemetry->capture_message_content();
  std::optional<json::RequestBody> scanned;
  // Read by the Inference's constructor before anything suspends: per thread, out of the frame, which must
  // stay within the 1,020 bytes Asio recycles (a larger frame is allocated and freed every request).
  thread_local Admission admission;
  admission = Admission();
  const router::ModelGroup* group = admit(endpoint, router, request, ctx, dialect, parsed, scanned,
                                          public_model, admission, capture, refusal);
  if (!group) {
    co_await send_error(writer, ctx, *refusal, dialect);
    co_return;
  }
  Inference inference(endpoint, router, writer, ctx, dialect,
                      scanned ? json::BodyRef(&*scanned) : json::BodyRef(&parsed.as_object()), admission,
                      public_model, capture, span_attributes);
  inference.set_api_key(ctx.api_key);
  inference.set_body_bytes(request.body.size());
  co_await inference.run(*group, embedder);
}

}  // namespace sy::api
