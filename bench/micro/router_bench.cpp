// Micro-benchmarks of the routing pick: Router::select on a 10-deployment model group, once per strategy with
// live-looking statistics, and once with 3 of the 10 deployments cooling down. Numbers only: nothing asserts
// a time.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "router/router.h"
#include "util/error.h"
#include "util/random.h"

namespace sy::router {
namespace {

constexpr int kDeployments = 10;

// Ten deployments of group "g" over a mix of models, so cost-based routing sees several prices.
std::vector<config::Deployment> deployments() {
  static const char* const kModels[] = {"gpt-4o-mini",   "gpt-4o",          "gpt-4.1-mini", "gpt-4.1",
                                        "gpt-3.5-turbo", "o3-mini",         "gpt-4.1-nano", "gpt-4-turbo",
                                        "o4-mini",       "my-private-model"};
  std::vector<config::Deployment> list;
  for (int i = 0; i < kDeployments; ++i) {
    config::Deployment d;
    d.model_name = "g";
    d.params.provider = "openai";
    d.params.provider_model = kModels[i];
    d.params.model = "openai/" + d.params.provider_model;
    d.params.weight = i + 1;               // simple-shuffle: weighted
    d.params.tpm = 1'000'000.0 * (i + 1);  // usage-based-routing: limits to take a share of
    d.info.id = "d" + std::to_string(i);
    list.push_back(std::move(d));
  }
  return list;
}

// The selection of the deployment in `slot`: every other one is marked tried.
Selection pin(const Router& router, const ModelGroup& group, std::uint32_t slot, FastRandom& random) {
  std::vector<std::uint32_t> others;
  for (std::uint32_t s : group.slots) {
    if (s != slot) others.push_back(s);
  }
  return router.select(group, {}, others, random);
}

// Gives every deployment some history: in-flight requests, latencies, first-token times and tokens used.
void warm_up(const Router& router, const ModelGroup& group, FastRandom& random) {
  for (std::uint32_t slot : group.slots) {
    const Selection s = pin(router, group, slot, random);
    for (std::uint32_t n = 0; n < 5; ++n) {
      router.begin(s);
      router.first_token(s, std::chrono::milliseconds(50 + 7 * slot + n));
      router.succeeded(s, std::chrono::milliseconds(400 + 31 * slot + 3 * n), 1000 + 97 * slot);
    }
    for (std::uint32_t n = 0; n < slot % 4; ++n) router.begin(s);  // left in flight
  }
}

void run(benchmark::State& state, const std::string& strategy, int cooling) {
  const std::vector<config::Deployment> list = deployments();
  config::RouterSettings settings;
  settings.routing_strategy = strategy;
  settings.lowest_latency_buffer = 0.1;
  settings.cooldown_time_seconds = 3600;  // outlasts the run
  const Router router(list, settings);
  const ModelGroup& group = *router.group("g");
  FastRandom random(42);
  warm_up(router, group, random);
  for (int i = 0; i < cooling; ++i) {
    const Selection s = pin(router, group, static_cast<std::uint32_t>(i * 3), random);
    router.begin(s);
    const Error e{429, "rate_limit_error", "slow down", {}, {}, {}};
    router.failed(s, FailureKind::rate_limit, e);
  }
  const RouteRequest request;
  for (auto _ : state) {
    Selection s = router.select(group, request, {}, random);
    benchmark::DoNotOptimize(s.deployment);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SelectSimpleShuffleWeighted(benchmark::State& state) {
  run(state, "simple-shuffle", 0);
}
void BM_SelectLeastBusy(benchmark::State& state) {
  run(state, "least-busy", 0);
}
void BM_SelectLatencyBased(benchmark::State& state) {
  run(state, "latency-based-routing", 0);
}
void BM_SelectUsageBased(benchmark::State& state) {
  run(state, "usage-based-routing", 0);
}
void BM_SelectCostBased(benchmark::State& state) {
  run(state, "cost-based-routing", 0);
}
void BM_SelectSimpleShuffle3of10CoolingDown(benchmark::State& state) {
  run(state, "simple-shuffle", 3);
}

BENCHMARK(BM_SelectSimpleShuffleWeighted);
BENCHMARK(BM_SelectLeastBusy);
BENCHMARK(BM_SelectLatencyBased);
BENCHMARK(BM_SelectUsageBased);
BENCHMARK(BM_SelectCostBased);
BENCHMARK(BM_SelectSimpleShuffle3of10CoolingDown);

}  // namespace
}  // namespace sy::router
