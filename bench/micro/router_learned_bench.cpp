// Micro-benchmarks of the online half of learned routing: Router::select on a 10-deployment group (nine
// models of a knn artifact and one deployment it does not know) for a chat request whose last user turn is
// 2,000 characters, with llmrouter-knn and llmrouter-hybrid, next to the predictor's own work on the same
// text (predict only) and simple-shuffle on the same group. The difference is what the strategy adds around
// the model: the routing text from the JSON body, the lock-free artifact read, the deployment mapping,
// pricing and ordering. The artifact is trained at start-up on a synthetic dataset. Each benchmark reports
// mean, p50 and p99 of single decisions (counters mean_us, p50_us, p99_us). Numbers only: nothing asserts a
// time.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "config/config.h"
#include "learned_routing_fixture.h"
#include "router/ml/artifact.h"
#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "router/router.h"
#include "util/random.h"

namespace sy::router {
namespace {

constexpr std::size_t kPromptChars = 2000;

struct Fixture {
  std::string artifact_path;
  std::shared_ptr<const ml::Predictor> predictor;
  std::vector<config::Deployment> deployments;
  boost::json::object body;
  std::string routing_text;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f;
    FastRandom random(11);
    const bench::RoutingData r = bench::nine_model_data(random);
    auto trained = ml::train_artifact("knn", r.data, r.models, {}, 1, 0);
    if (!trained) std::abort();
    f.artifact_path = bench::temporary_artifact(trained.value().bytes, "switchyard-bench");
    auto predictor = ml::load_predictor(f.artifact_path);
    if (!predictor) std::abort();
    f.predictor = predictor.value();
    f.deployments = bench::ten_deployments(r.data);
    f.body = bench::chat_request(r.data, kPromptChars);
    ml::routing_text(f.body, f.routing_text);
    return f;
  }();
  return f;
}

using bench::timed;

void select(benchmark::State& state, const std::string& strategy) {
  const Fixture& f = fixture();
  config::RouterSettings settings;
  settings.routing_strategy = strategy;
  settings.learned.model_path = f.artifact_path;
  if (strategy == "llmrouter-hybrid") {
    settings.learned.quality_threshold = 0.05;
    settings.learned.cost_weight = 1;
  }
  const Router router(f.deployments, settings);
  const ModelGroup& group = *router.group("g");
  FastRandom random(42);
  RouteRequest request;
  request.body = &f.body;
  timed(state, [&] {
    Selection s = router.select(group, request, {}, random);
    benchmark::DoNotOptimize(s.deployment);
  });
}

void BM_PredictOnlyKnn2000Chars(benchmark::State& state) {
  const Fixture& f = fixture();
  std::vector<float> quality(f.predictor->models().size());
  timed(state, [&] {
    f.predictor->predict(f.routing_text, quality);
    benchmark::DoNotOptimize(quality.data());
  });
}
void BM_SelectLlmrouterKnn2000Chars(benchmark::State& state) {
  select(state, "llmrouter-knn");
}
void BM_SelectLlmrouterHybrid2000Chars(benchmark::State& state) {
  select(state, "llmrouter-hybrid");
}
void BM_SelectSimpleShuffleSameGroup(benchmark::State& state) {
  select(state, "simple-shuffle");
}

BENCHMARK(BM_PredictOnlyKnn2000Chars);
BENCHMARK(BM_SelectLlmrouterKnn2000Chars);
BENCHMARK(BM_SelectLlmrouterHybrid2000Chars);
BENCHMARK(BM_SelectSimpleShuffleSameGroup);

}  // namespace
}  // namespace sy::router
