// Micro-benchmarks of learned routing on external embeddings (routing_strategy_args.embedding_model): what a
// request pays when its routing text's embedding is in the worker thread's cache (the routing text, the cache
// key, the lookup and the copy into the request's pooled buffer: RoutingEmbedder::from_cache), and
// Router::select on a 10-deployment group with an artifact trained with 1,536-dimension embeddings (the size
// of OpenAI's text-embedding-3-small) on 2,000 rows, for mlp and knn, next to the same select without the
// embedding (the artifact's built-in model). The network call of a cache miss is not here: it is the
// embedding model's latency, bounded by embedding_timeout_ms. Each benchmark reports mean, p50 and p99 of
// single operations (counters mean_us, p50_us, p99_us). Numbers only: nothing asserts a time.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/routing_embedding.h"
#include "config/config.h"
#include "learned_routing_fixture.h"
#include "router/ml/dataset.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "router/router.h"
#include "util/random.h"

namespace sy::router {
namespace {

constexpr std::size_t kDimension = 1536;
constexpr std::size_t kPromptChars = 2000;

struct Fixture {
  bench::RoutingData r;
  std::map<std::string, std::string> artifact_path;  // by learner
  std::vector<config::Deployment> deployments;
  boost::json::object body;
  std::vector<float> embedding;
};

// The routing data of router_learned_bench with a random embedding of each query, the same ten deployments
// and a group "embed" for embedding_model.
Fixture& fixture() {
  static Fixture f = [] {
    Fixture f;
    FastRandom random(11);
    f.r = bench::nine_model_data(random);
    f.r.data.embedding_dim = kDimension;
    for (std::size_t i = 0; i < (f.r.data.rows() + 1) * kDimension; ++i)
      f.r.data.embeddings.push_back(static_cast<float>(random.uniform() * 2 - 1));
    f.embedding.assign(f.r.data.embeddings.end() - kDimension, f.r.data.embeddings.end());  // the request's
    f.r.data.embeddings.resize(f.r.data.rows() * kDimension);
    f.deployments = bench::ten_deployments(f.r.data);
    config::Deployment embed = f.deployments.back();
    embed.model_name = "embed";
    embed.info.id = "embed";
    f.deployments.push_back(std::move(embed));
    f.body = bench::chat_request(f.r.data, kPromptChars);
    return f;
  }();
  return f;
}

const std::string& artifact(const std::string& learner) {
  Fixture& f = fixture();
  std::string& path = f.artifact_path[learner];
  if (path.empty()) {
    auto trained = ml::train_artifact(learner, f.r.data, f.r.models, {}, 1, 0);
    if (!trained) std::abort();
    path = bench::temporary_artifact(trained.value().bytes, "switchyard-bench-emb-" + learner);
  }
  return path;
}

using bench::timed;

config::RouterSettings settings_for(const std::string& learner) {
  config::RouterSettings settings;
  settings.routing_strategy = "llmrouter-" + learner;
  settings.learned.model_path = artifact(learner);
  settings.learned.embedding_model = "embed";
  return settings;
}

// A cached embedding: everything a request does before Router::select when the cache has its text.
void BM_CachedEmbedding1536(benchmark::State& state) {
  const Fixture& f = fixture();
  const Router router(f.deployments, settings_for("mlp"));
  const ModelGroup& group = *router.group("g");
  const api::RoutingEmbedder embedder(1024);
  {
    RouteRequest request;
    request.body = &f.body;
    api::EmbeddingBuffer buffer;
    const auto pending = embedder.from_cache(router, group, request, buffer);
    if (!pending) std::abort();
    embedder.remember(*pending, f.embedding);
  }
  timed(state, [&] {
    RouteRequest request;
    request.body = &f.body;
    api::EmbeddingBuffer buffer;
    const auto pending = embedder.from_cache(router, group, request, buffer);
    benchmark::DoNotOptimize(request.embedding.data());
    if (pending) std::abort();
  });
}

// Router::select with the embedding (`with`) or without it (the artifact's built-in model).
void select(benchmark::State& state, const std::string& learner, bool with) {
  const Fixture& f = fixture();
  const Router router(f.deployments, settings_for(learner));
  const ModelGroup& group = *router.group("g");
  FastRandom random(42);
  RouteRequest request;
  request.body = &f.body;
  if (with) {
    request.embedding = f.embedding;
    request.embedding_status = "cached";
  }
  timed(state, [&] {
    Selection s = router.select(group, request, {}, random);
    benchmark::DoNotOptimize(s.deployment);
  });
}

void BM_SelectMlpWithEmbedding1536(benchmark::State& state) {
  select(state, "mlp", true);
}
void BM_SelectMlpBuiltInModelSameArtifact(benchmark::State& state) {
  select(state, "mlp", false);
}
void BM_SelectKnnWithEmbedding1536(benchmark::State& state) {
  select(state, "knn", true);
}
void BM_SelectKnnBuiltInModelSameArtifact(benchmark::State& state) {
  select(state, "knn", false);
}

BENCHMARK(BM_CachedEmbedding1536);
BENCHMARK(BM_SelectMlpWithEmbedding1536);
BENCHMARK(BM_SelectMlpBuiltInModelSameArtifact);
BENCHMARK(BM_SelectKnnWithEmbedding1536);
BENCHMARK(BM_SelectKnnBuiltInModelSameArtifact);

}  // namespace
}  // namespace sy::router
