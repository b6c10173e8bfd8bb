#include "api/routing_embedding.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <variant>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>

#include "api/trace_attributes.h"
#include "router/ml/predictor.h"
#include "util/random.h"

namespace sy::api {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;

constexpr std::size_t kPooledBuffers = 256;  // per thread; more requests at once allocate their own

std::vector<std::vector<float>>& buffer_pool() {
  thread_local std::vector<std::vector<float>> pool = [] {
    std::vector<std::vector<float>> p;
    p.reserve(kPooledBuffers);
    return p;
  }();
  return pool;
}

std::uint64_t next_embedder_id() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

// The first embedding of an OpenAI-shaped /v1/embeddings answer, into `out`; false when it has none.
bool first_embedding(std::string_view body, std::vector<float>& out) {
  boost::system::error_code ec;
  const bj::value v = bj::parse(body, ec);
  const bj::object* o = ec ? nullptr : v.if_object();
  const bj::value* data = o ? o->if_contains("data") : nullptr;
  const bj::array* items = data ? data->if_array() : nullptr;
  const bj::object* first = items && !items->empty() ? (*items)[0].if_object() : nullptr;
  const bj::value* embedding = first ? first->if_contains("embedding") : nullptr;
  const bj::array* numbers = embedding ? embedding->if_array() : nullptr;
  if (!numbers || numbers->empty()) return false;
  out.clear();
  for (const bj::value& x : *numbers) {
    const double f = x.is_number() ? x.to_number<double>() : NAN;
    if (!std::isfinite(f)) return false;
    out.push_back(static_cast<float>(f));
  }
  return true;
}

// The provider's answer, in a type the race below can default-construct.
asio::awaitable<std::optional<Result<providers::Response>>> call_provider(providers::Provider& provider,
                                                                          providers::Call& call) {
  auto result = co_await provider.complete(call);
  co_return std::optional<Result<providers::Response>>(std::move(result));
}

}  // namespace

EmbeddingBuffer::~EmbeddingBuffer() {
  auto& pool = buffer_pool();
  if (floats_ && floats_->capacity() > 0 && pool.size() < kPooledBuffers) pool.push_back(std::move(*floats_));
}

std::vector<float>& EmbeddingBuffer::get() {
  if (!floats_) {
    auto& pool = buffer_pool();
    if (pool.empty()) {
      floats_.emplace();
    } else {
      floats_.emplace(std::move(pool.back()));
      pool.pop_back();
    }
  }
  return *floats_;
}

RoutingEmbedder::RoutingEmbedder(std::size_t cache_size) : cache_size_(cache_size), id_(next_embedder_id()) {}

std::size_t RoutingEmbedder::cache_size_for(const config::RouterSettings& settings) {
  std::int64_t size = settings.learned.embedding_cache_size;
  for (const config::ExperimentArm& arm : settings.experiments)
    size = std::max(size, arm.learned.embedding_cache_size);
  return static_cast<std::size_t>(std::max<std::int64_t>(size, 0));
}

router::ml::EmbeddingCache& RoutingEmbedder::cache() const {
  struct ThreadCache {
    std::uint64_t owner = 0;
    std::optional<router::ml::EmbeddingCache> cache;
  };
  thread_local ThreadCache t;
  if (t.owner != id_) {
    t.cache.emplace(cache_size_);
    t.owner = id_;
  }
  return *t.cache;
}

std::optional<PendingEmbedding> RoutingEmbedder::from_cache(const router::Router& router,
                                                            const router::ModelGroup& group,
                                                            router::RouteRequest& request,
                                                            EmbeddingBuffer& buffer) const {
  const router::EmbeddingNeed need = router.strategy().embedding_need(request, group.slots);
  if (!need) return std::nullopt;
  thread_local std::string text;
  text.clear();
  if (request.body) router::ml::routing_text(*request.body, text);
  if (text.empty()) {
    request.embedding_status = "absent";
    return std::nullopt;
  }
  const std::uint64_t key = router::ml::embedding_cache_key(need.model, text);
  if (const std::span<const float> hit = cache().find(key); !hit.empty()) {
    std::vector<float>& floats = buffer.get();
    floats.assign(hit.begin(), hit.end());
    request.embedding = floats;
    request.embedding_status = "cached";
    return std::nullopt;
  }
  return PendingEmbedding{need, key, text};
}

void RoutingEmbedder::remember(const PendingEmbedding& pending, std::span<const float> embedding) const {
  cache().insert(pending.key, embedding);
}

asio::awaitable<void> RoutingEmbedder::fetch(const router::Router& router, router::RouteRequest& request,
                                             const PendingEmbedding& pending, EmbeddingBuffer& buffer,
                                             RequestContext& ctx) const {
  using namespace asio::experimental::awaitable_operators;
  request.embedding_status = "error";
  const router::ModelGroup* group = router.group(pending.need.model);
  if (!group) co_return;
  bj::object body;
  body["model"] = pending.need.model;
  body["input"] = pending.text;
  router::RouteRequest embed_request;
  embed_request.body = &body;
  embed_request.prompt_field = "input";
  const router::Selection selection = router.select(*group, embed_request, {}, FastRandom::thread_instance());
  if (!selection.deployment) co_return;
  const config::Deployment& d = *selection.deployment;
  providers::Provider* provider = providers::provider_for(d);
  if (!provider) co_return;
  providers::Call call;
  call.endpoint = providers::Endpoint::embeddings;
  call.deployment = &d;
  call.body = &body;
  call.public_model = group->name;
  call.request_id = ctx.request_id;
  // The race below ends the call on time; the client's own (coarser) deadline only backs it up, later, so
  // that a slow answer is a timeout and not an upstream error.
  call.timeout = 2 * pending.need.timeout + std::chrono::milliseconds(100);

  // A CLIENT span of its own; the upstream request carries its context.
  telemetry::Span span;
  if (ctx.telemetry) {
    const std::string name = "embeddings " + d.params.provider_model;
    span = ctx.telemetry->tracer().start_span(name, telemetry::SpanKind::client, ctx.span->context());
    record_attempt(span, providers::Endpoint::embeddings, d, body);
    if (span.recording()) {
      span.set_attribute("router.model_group", group->name);
      span.set_attribute("switchyard.routing_embedding", true);
    }
    ctx.telemetry->propagators().inject(span.context(), ctx.baggage,
                                        [&call](std::string_view header, std::string_view value) {
                                          call.upstream_headers.add(header, value);
                                        });
  }

  const router::AttemptScope in_flight(router, selection);
  const auto started = std::chrono::steady_clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor, pending.need.timeout);
  auto answer = call_provider(*provider, call);
  auto deadline = timer.async_wait(asio::as_tuple(asio::use_awaitable));
  auto race = std::move(answer) || std::move(deadline);
  auto outcome = co_await std::move(race);

  telemetry::Span no_span;
  std::optional<Error> failure;
  if (outcome.index() == 1) {
    request.embedding_status = "timeout";
    failure = Error{504,
                    "timeout_error",
                    "no embedding within embedding_timeout_ms (" +
                        std::to_string(pending.need.timeout.count()) + " ms): the built-in model routes",
                    "embedding_timeout",
                    {},
                    {}};
  } else if (std::optional<Result<providers::Response>>& result = std::get<0>(outcome); !result || !*result) {
    failure = result ? std::move(result->error()) : Error{};
  } else if (std::vector<float>& floats = buffer.get(); !first_embedding(result->value().body, floats)) {
    failure = Error{502, "api_error", "the embeddings answer holds no embedding", "bad_embedding", {}, {}};
  } else if (floats.size() != pending.need.dimension) {
    failure = Error{502,
                    "api_error",
                    "an embedding of dimension " + std::to_string(floats.size()) + "; the artifact's is " +
                        std::to_string(pending.need.dimension),
                    "bad_embedding",
                    {},
                    {}};
  } else {
    remember(pending, floats);
    request.embedding = floats;
    request.embedding_status = "fetched";
    const std::int64_t tokens = std::max<std::int64_t>(0, call.meta.prompt_tokens);
    router.succeeded(selection, std::chrono::steady_clock::now() - started, tokens);
  }
  record_outcome(no_span, span, call, failure ? &*failure : nullptr, false);
  span.end();
}

}  // namespace sy::api
