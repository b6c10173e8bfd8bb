// Micro-benchmarks of a learned routing decision: featurise a 2,000-character prompt, predict each model's
// quality and rank the candidates by cost (the per-request work of the llmrouter-* strategies), per learner.
// The artifacts are trained at start-up, on SWITCHYARD_ROUTING_DATA (a folder holding train.jsonl and
// models.json, the routing data of docs/routing.md) when set, else on a synthetic dataset of the same size
// and shape (5,600 rows, nine models). Training is cut short (few epochs): a prediction's cost depends on the
// artifact's shape (vocabulary, widths, rows), not on how long it trained. Each benchmark reports the mean,
// p50 and p99 of single decisions, in wall time (mean_us, p50_us, p99_us) and in the thread's CPU time
// (cpu_mean_us, cpu_p50_us, cpu_p99_us). Numbers only: nothing asserts a time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "providers/provider.h"
#include "router/ml/artifact.h"
#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
#include "router/ml/featurizer.h"
#include "router/ml/parallel.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "util/random.h"

namespace sy::router::ml {
namespace {

constexpr std::size_t kPromptChars = 2000;

Dataset synthetic_data(std::vector<ModelInfo>& models) {
  static const char* const kNames[] = {"m1-7b",  "m2-7b",  "m3-8b",  "m4-8b", "m5-9b",
                                       "m6-49b", "m7-51b", "m8-70b", "m9-7b"};
  Dataset d;
  for (const char* n : kNames) {
    d.models.push_back(n);
    const double size = std::atof(std::string(n).substr(3).c_str());
    models.push_back({n, size, size > 20 ? 0.9 : 0.2, size > 20 ? 0.9 : 0.2});
  }
  FastRandom random(7);
  std::vector<std::string> words;
  for (int i = 0; i < 20000; ++i) {
    std::string w;
    for (int k = 0, n = 2 + static_cast<int>(random.next() % 8); k < n; ++k)
      w += static_cast<char>('a' + random.next() % 26);
    words.push_back(w);
  }
  for (int row = 0; row < 5600; ++row) {
    std::string q;
    const std::size_t length =
        40 + random.next() % 600;  // about the routing data's 314 characters on average
    while (q.size() < length)
      q += words[random.next() % words.size()] + (random.next() % 9 ? " " : "(x) = 3;\n");
    d.queries.push_back(q);
    for (std::size_t m = 0; m < d.models.size(); ++m)
      d.scores.push_back(random.uniform() < 0.5 ? 1.0f : 0.0f);
  }
  return d;
}

struct Fixture {
  Dataset data;
  std::vector<ModelInfo> models;
  std::string prompt;
  std::map<std::string, std::shared_ptr<const Predictor>> predictors;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f;
    if (const char* dir = std::getenv("SWITCHYARD_ROUTING_DATA")) {
      Result<Dataset> data = load_dataset(std::string(dir) + "/train.jsonl");
      Result<std::vector<ModelInfo>> models = load_candidates(std::string(dir) + "/models.json");
      if (!data || !models) std::abort();
      f.data = std::move(data.value());
      f.models = std::move(models.value());
    } else {
      f.data = synthetic_data(f.models);
    }
    for (std::size_t i = 0; f.prompt.size() < kPromptChars; ++i)
      f.prompt += f.data.queries[i % f.data.rows()] + "\n";
    f.prompt.resize(kPromptChars);
    for (const char* strategy : {"knn", "mlp", "svm", "mf", "elo", "smallest"}) {
      std::vector<std::string> params;
      if (std::string(strategy) == "mlp" || std::string(strategy) == "mf") params = {"epochs=1"};
      if (std::string(strategy) == "svm") params = {"epochs=1"};
      Result<TrainedArtifact> a = train_artifact(strategy, f.data, f.models, params, 1, 0);
      if (!a) std::abort();
      Result<std::shared_ptr<const Predictor>> p = load_predictor(as_bytes(a.value().bytes));
      if (!p) std::abort();
      f.predictors[strategy] = p.value();
    }
    return f;
  }();
  return f;
}

double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

// Times each iteration of `body` and reports mean, p50 and p99 in microseconds, of wall time and of the
// thread's CPU time (which leaves out the time other processes had the core: the figure for a shared
// machine).
template <class F>
void timed(benchmark::State& state, F&& body) {
  std::vector<double> wall, cpu;
  wall.reserve(1 << 20);
  cpu.reserve(1 << 20);
  for (auto _ : state) {
    const double c0 = thread_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = thread_cpu_us();
    if (wall.size() < wall.capacity()) {
      wall.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      cpu.push_back(c1 - c0);
    }
  }
  auto report = [&state](std::vector<double>& us, const std::string& prefix) {
    if (us.empty()) return;
    double sum = 0;
    for (double v : us) sum += v;
    std::sort(us.begin(), us.end());
    state.counters[prefix + "mean_us"] = sum / static_cast<double>(us.size());
    state.counters[prefix + "p50_us"] = us[us.size() / 2];
    state.counters[prefix + "p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  };
  report(wall, "");
  report(cpu, "cpu_");
  state.SetItemsProcessed(state.iterations());
}

void BM_Featurize2000Chars(benchmark::State& state) {
  const Fixture& f = fixture();
  WorkerPool pool(1);
  const Featurizer featurizer = Featurizer::fit({}, f.data.queries, pool);
  FeatureVector v;
  timed(state, [&] {
    featurizer.featurize(f.prompt, v);
    benchmark::DoNotOptimize(v.index.data());
  });
  state.counters["features"] = static_cast<double>(v.size());
}

void decide(benchmark::State& state, const std::string& strategy) {
  const Fixture& f = fixture();
  const Predictor& p = *f.predictors.at(strategy);
  const std::size_t n = p.models().size();
  std::vector<float> quality(n);
  std::vector<double> cost(n);
  std::vector<std::uint32_t> order(n);
  std::vector<const ModelInfo*> info;
  for (const auto& name : p.models()) info.push_back(find_model(f.models, name));
  timed(state, [&] {
    p.predict(f.prompt, quality);
    const std::int64_t tokens = providers::estimate_tokens(f.prompt);
    for (std::size_t i = 0; i < n; ++i) cost[i] = request_cost(*info[i], tokens);
    rank_candidates(quality, cost, Tradeoff{0.05, 1.0}, order);
    benchmark::DoNotOptimize(order.data());
  });
}

void BM_DecideKnn(benchmark::State& state) {
  decide(state, "knn");
}
void BM_DecideMlp(benchmark::State& state) {
  decide(state, "mlp");
}
void BM_DecideSvm(benchmark::State& state) {
  decide(state, "svm");
}
void BM_DecideMf(benchmark::State& state) {
  decide(state, "mf");
}
void BM_DecideElo(benchmark::State& state) {
  decide(state, "elo");
}
void BM_DecideSmallest(benchmark::State& state) {
  decide(state, "smallest");
}

BENCHMARK(BM_Featurize2000Chars);
BENCHMARK(BM_DecideKnn);
BENCHMARK(BM_DecideMlp);
BENCHMARK(BM_DecideSvm);
BENCHMARK(BM_DecideMf);
BENCHMARK(BM_DecideElo);
BENCHMARK(BM_DecideSmallest);

}  // namespace
}  // namespace sy::router::ml
