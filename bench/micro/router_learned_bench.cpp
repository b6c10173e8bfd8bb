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
    ml::Dataset data;
    std::vector<ml::ModelInfo> models;
    FastRandom random(11);
    for (int m = 0; m < 9; ++m) {
      const std::string name = "model-" + std::to_string(m);
      data.models.push_back(name);
      const double size = m < 6 ? 7 : 70;
      models.push_back({name, size, size > 20 ? 0.9 : 0.2, size > 20 ? 0.9 : 0.2});
    }
    std::vector<std::string> words;
    for (int i = 0; i < 5000; ++i) {
      std::string w;
      for (int k = 0, n = 2 + static_cast<int>(random.next() % 8); k < n; ++k)
        w += static_cast<char>('a' + random.next() % 26);
      words.push_back(w);
    }
    for (int row = 0; row < 2000; ++row) {
      std::string q;
      const std::size_t length = 40 + random.next() % 600;
      while (q.size() < length) q += words[random.next() % words.size()] + " ";
      data.queries.push_back(q);
      for (std::size_t m = 0; m < data.models.size(); ++m)
        data.scores.push_back(random.uniform() < 0.5 ? 1.0f : 0.0f);
    }
    auto trained = ml::train_artifact("knn", data, models, {}, 1, 0);
    if (!trained) std::abort();
    f.artifact_path = (std::filesystem::temp_directory_path() /
                       ("switchyard-bench-" + std::to_string(::getpid()) + ".syra"))
                          .string();
    std::ofstream(f.artifact_path, std::ios::binary) << trained.value().bytes;
    static std::string remove_at_exit;
    remove_at_exit = f.artifact_path;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove(remove_at_exit, ec);
    });
    auto predictor = ml::load_predictor(f.artifact_path);
    if (!predictor) std::abort();
    f.predictor = predictor.value();

    for (int i = 0; i < 10; ++i) {
      config::Deployment d;
      d.model_name = "g";
      d.params.provider = "openai";
      d.params.provider_model = i < 9 ? data.models[static_cast<std::size_t>(i)] : "not-in-the-artifact";
      d.params.model = "openai/" + d.params.provider_model;
      d.info.id = "d" + std::to_string(i);
      d.info.input_cost_per_token = (i < 6 ? 0.2 : 0.9) / 1e6;
      d.info.output_cost_per_token = d.info.input_cost_per_token;
      f.deployments.push_back(std::move(d));
    }
    std::string prompt;
    for (std::size_t i = 0; prompt.size() < kPromptChars; ++i) prompt += data.queries[i] + "\n";
    prompt.resize(kPromptChars);
    f.body =
        boost::json::parse(R"({"model": "g", "messages": [{"role": "system", "content": "You are helpful."},
                                                             {"role": "user", "content": ""}]})")
            .as_object();
    f.body["messages"].as_array()[1].as_object()["content"] = prompt;
    ml::routing_text(f.body, f.routing_text);
    return f;
  }();
  return f;
}

// Times each iteration of `body` and reports mean, p50 and p99 in microseconds.
template <class F>
void timed(benchmark::State& state, F&& body) {
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const auto t1 = std::chrono::steady_clock::now();
    if (us.size() < us.capacity()) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  if (us.empty()) return;
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  state.counters["mean_us"] = sum / static_cast<double>(us.size());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.SetItemsProcessed(state.iterations());
}

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
