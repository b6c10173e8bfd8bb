// Unit tests for the router: model groups, the five strategies, rpm/tpm caps, cooldowns, pre-call checks,
// retries, backoff, fallbacks, timeouts, failure classification, the price table and the per-deployment
// statistics. Time comes from a fake clock and randomness from seeded generators, so every test is
// deterministic.
#include "router/router.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"
#include "router/failure.h"
#include "router/stats.h"
#include "router/strategy.h"
#include "util/error.h"
#include "util/random.h"

namespace sy::router {
namespace {

using std::chrono::milliseconds;

// A clock the test moves by hand. Starts on a minute boundary far from 0.
class FakeClock final : public Clock {
 public:
  static constexpr Nanos kStart = 1000 * kNanosPerMinute;
  Nanos now() const noexcept override { return now_; }
  void set(Nanos t) noexcept { now_ = t; }
  void advance(Nanos d) noexcept { now_ += d; }

 private:
  Nanos now_ = kStart;
};

constexpr Nanos seconds(double s) {
  return static_cast<Nanos>(s * 1e9);
}

// A deployment of `group` served by `model` ("<provider>/<provider model id>").
config::Deployment deployment(std::string group, std::string_view model = "openai/gpt-4o-mini") {
  config::Deployment d;
  d.model_name = std::move(group);
  d.params.model = std::string(model);
  const std::size_t slash = model.find('/');
  d.params.provider = std::string(model.substr(0, slash));
  d.params.provider_model = std::string(model.substr(slash + 1));
  return d;
}

config::RouterSettings strategy(std::string name) {
  config::RouterSettings s;
  s.routing_strategy = std::move(name);
  return s;
}

// The selection of one particular deployment, obtained through the router itself: every other deployment of
// the group is marked as tried, so the untried one is chosen whenever it is usable.
Selection pin(const Router& router, const ModelGroup& group, std::uint32_t slot, FastRandom& random,
              const RouteRequest& request = {}) {
  std::vector<std::uint32_t> others;
  for (std::uint32_t s : group.slots) {
    if (s != slot) others.push_back(s);
  }
  Selection sel = router.select(group, request, others, random);
  EXPECT_EQ(sel.slot, slot);
  EXPECT_NE(sel.deployment, nullptr);
  return sel;
}

// How often each slot is chosen in `n` selections.
std::map<std::uint32_t, int> picks(const Router& router, const ModelGroup& group, int n, FastRandom& random,
                                   const RouteRequest& request = {},
                                   std::span<const std::uint32_t> tried = {}) {
  std::map<std::uint32_t, int> counts;
  for (int i = 0; i < n; ++i) {
    const Selection s = router.select(group, request, tried, random);
    EXPECT_NE(s.deployment, nullptr);
    EXPECT_FALSE(s.refusal);
    if (s.deployment) ++counts[s.slot];
  }
  return counts;
}

// One whole successful attempt on the selected deployment.
void complete(const Router& router, const Selection& s, double ms, std::int64_t tokens = 0) {
  router.begin(s);
  router.succeeded(s, std::chrono::nanoseconds(static_cast<std::int64_t>(ms * 1e6)), tokens);
}

// One whole failed attempt; returns whether it started a cooldown.
// One failed attempt, in flight for its scope as in the gateway.
bool fail(const Router& router, const Selection& s, int status, std::string code = {}) {
  const AttemptScope attempt(router, s);
  const Error e{status, "api_error", "failed", std::move(code), {}, {}};
  return router.failed(s, classify(e), e);
}

config::RetryPolicy policy(std::optional<int> rate_limit, std::optional<int> timeout,
                           std::optional<int> server_error) {
  config::RetryPolicy p;
  p.rate_limit = rate_limit;
  p.timeout = timeout;
  p.server_error = server_error;
  return p;
}

// ---- model groups ----

TEST(RouterGroups, GroupsInConfigurationOrderWithModelListSlots) {
  const std::vector<config::Deployment> list = {deployment("b"), deployment("a"), deployment("b"),
                                                deployment("c"), deployment("a")};
  const Router router(list);
  EXPECT_EQ(router.model_names(), (std::vector<std::string>{"b", "a", "c"}));
  const ModelGroup* b = router.group("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "b");
  EXPECT_EQ(b->slots, (std::vector<std::uint32_t>{0, 2}));
  ASSERT_EQ(b->deployments.size(), 2u);
  EXPECT_EQ(b->deployments[0], &list[0]);
  EXPECT_EQ(b->deployments[1], &list[2]);
  const ModelGroup* a = router.group("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->slots, (std::vector<std::uint32_t>{1, 4}));
  EXPECT_EQ(a->deployments[1], &list[4]);
  EXPECT_EQ(router.group("c")->slots, (std::vector<std::uint32_t>{3}));
  EXPECT_EQ(router.group("unknown"), nullptr);
  EXPECT_EQ(router.group(""), nullptr);
  EXPECT_EQ(router.group("B"), nullptr);  // names are case-sensitive
}

TEST(RouterGroups, StrategyFromSettingsAndGroupRetryPolicy) {
  const std::vector<config::Deployment> list = {deployment("a"), deployment("b")};
  EXPECT_EQ(Router(list).strategy().name(), "simple-shuffle");
  for (std::string_view name : {"simple-shuffle", "least-busy", "latency-based-routing",
                                "usage-based-routing", "cost-based-routing"}) {
    EXPECT_EQ(Router(list, strategy(std::string(name))).strategy().name(), name);
  }
  EXPECT_EQ(Router(list, strategy("usage-based-routing-v2")).strategy().name(), "usage-based-routing");

  config::RouterSettings s;
  s.model_group_retry_policy = {{"b", config::RetryPolicy{1, 2, 3}},
                                {"missing", config::RetryPolicy{4, 4, 4}}};
  const Router router(list, s);
  EXPECT_FALSE(router.group("a")->retry_policy.rate_limit);
  EXPECT_EQ(router.group("b")->retry_policy.rate_limit, 1);
  EXPECT_EQ(router.group("b")->retry_policy.timeout, 2);
  EXPECT_EQ(router.group("b")->retry_policy.server_error, 3);
}

// ---- simple-shuffle ----

TEST(StrategyShuffle, WeightsOneToThree) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  list[0].params.weight = 1;
  list[1].params.weight = 3;
  const Router router(list);
  FastRandom random(1);
  const int n = 20000;
  auto counts = picks(router, *router.group("g"), n, random);
  EXPECT_NEAR(counts[0] / double(n), 0.25, 0.02);
  EXPECT_NEAR(counts[1] / double(n), 0.75, 0.02);

  const Selection s = router.select(*router.group("g"), {}, {}, random);
  EXPECT_EQ(s.decision.reason, "weighted_random");
  EXPECT_DOUBLE_EQ(s.decision.score, s.slot == 0 ? 0.25 : 0.75);
  EXPECT_EQ(s.candidates, 2u);
}

TEST(StrategyShuffle, WeightFromWeightThenRpmThenTpm) {
  config::Deployment d = deployment("g");
  EXPECT_FALSE(shuffle_weight(d));
  d.params.tpm = 1000;
  EXPECT_EQ(shuffle_weight(d), 1000);
  d.params.rpm = 10;
  EXPECT_EQ(shuffle_weight(d), 10);
  d.params.weight = 2;
  EXPECT_EQ(shuffle_weight(d), 2);
}

TEST(StrategyShuffle, RpmAndTpmActAsWeights) {
  FastRandom random(2);
  const int n = 20000;
  {
    std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
    list[0].params.rpm = 100;
    list[1].params.rpm = 300;
    const Router router(list);
    auto counts = picks(router, *router.group("g"), n, random);
    EXPECT_NEAR(counts[0] / double(n), 0.25, 0.02);
  }
  {
    std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
    list[0].params.tpm = 30000;
    list[1].params.tpm = 10000;
    const Router router(list);
    auto counts = picks(router, *router.group("g"), n, random);
    EXPECT_NEAR(counts[0] / double(n), 0.75, 0.02);
  }
}

TEST(StrategyShuffle, NoWeightsIsUniform) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  const Router router(list);
  FastRandom random(3);
  const int n = 30000;
  auto counts = picks(router, *router.group("g"), n, random);
  for (std::uint32_t slot = 0; slot < 3; ++slot) EXPECT_NEAR(counts[slot] / double(n), 1.0 / 3, 0.02) << slot;
  EXPECT_EQ(router.select(*router.group("g"), {}, {}, random).decision.reason, "uniform_random");
}

TEST(StrategyShuffle, ZeroWeightNeverChosenWhileOthersHaveWeight) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  list[0].params.weight = 0;
  list[1].params.weight = 1;
  list[2].params.weight = 1;
  const Router router(list);
  FastRandom random(4);
  auto counts = picks(router, *router.group("g"), 5000, random);
  EXPECT_EQ(counts[0], 0);
  EXPECT_GT(counts[1], 2000);
  EXPECT_GT(counts[2], 2000);
}

TEST(StrategyShuffle, SingleDeploymentIsTheOnlyCandidate) {
  std::vector<config::Deployment> list = {deployment("solo"), deployment("other")};
  list[0].params.weight = 5;
  const Router router(list);
  FastRandom random(5);
  const Selection s = router.select(*router.group("solo"), {}, {}, random);
  EXPECT_EQ(s.slot, 0u);
  EXPECT_EQ(s.deployment, &list[0]);
  EXPECT_EQ(s.candidates, 1u);
  EXPECT_EQ(s.decision.reason, "only_candidate");
  EXPECT_FALSE(s.all_cooling_down);
  EXPECT_FALSE(s.refusal);
}

// ---- least-busy ----

TEST(StrategyLeastBusy, PicksFewestInFlight) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  const Router router(list, strategy("least-busy"));
  const ModelGroup& g = *router.group("g");
  FastRandom random(6);
  const Selection s0 = pin(router, g, 0, random);
  const Selection s1 = pin(router, g, 1, random);
  const Selection s2 = pin(router, g, 2, random);
  router.begin(s0);
  router.begin(s0);
  router.begin(s1);
  router.begin(s2);
  router.begin(s2);
  router.begin(s2);
  EXPECT_EQ(s0.stats->in_flight.load(), 2);
  EXPECT_EQ(s2.stats->in_flight.load(), 3);
  for (int i = 0; i < 50; ++i) {
    const Selection s = router.select(g, {}, {}, random);
    ASSERT_EQ(s.slot, 1u);
    EXPECT_EQ(s.decision.reason, "least_busy");
    EXPECT_EQ(s.decision.score, 1);
  }
  // Two attempts on slot 2 end: it becomes the least busy. Recording an outcome does not end an attempt.
  router.succeeded(s2, milliseconds(10), 0);
  router.failed(s2, FailureKind::bad_request, Error{400, "invalid_request_error", "bad", {}, {}, {}});
  EXPECT_EQ(s2.stats->in_flight.load(), 3);
  router.end(s2);
  router.end(s2);
  EXPECT_EQ(s2.stats->in_flight.load(), 1);
  router.end(s0);
  router.end(s0);
  EXPECT_EQ(s0.stats->in_flight.load(), 0);
  {
    const AttemptScope scope(router, s0);
    EXPECT_EQ(s0.stats->in_flight.load(), 1);
  }
  EXPECT_EQ(s0.stats->in_flight.load(), 0);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(g, {}, {}, random).slot, 0u);
}

TEST(StrategyLeastBusy, TiesAreSpread) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  const Router router(list, strategy("least-busy"));
  const ModelGroup& g = *router.group("g");
  FastRandom random(7);
  router.begin(pin(router, g, 2, random));
  auto counts = picks(router, g, 2000, random);
  EXPECT_EQ(counts[2], 0);
  EXPECT_NEAR(counts[0], 1000, 150);
  EXPECT_NEAR(counts[1], 1000, 150);
}

// ---- latency-based-routing ----

TEST(StatsEwma, FirstSampleThenAlphaPointThree) {
  Ewma e;
  EXPECT_FALSE(e.has_value());
  EXPECT_EQ(e.get(), -1);
  e.observe(100);
  EXPECT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e.get(), 100);
  e.observe(200);
  EXPECT_DOUBLE_EQ(e.get(), 0.3 * 200 + 0.7 * 100);  // 130
  e.observe(50);
  EXPECT_DOUBLE_EQ(e.get(), 0.3 * 50 + 0.7 * 130);  // 106
  EXPECT_DOUBLE_EQ(Ewma::kAlpha, 0.3);
  // Negative and NaN samples are ignored; a zero sample still counts as a sample.
  e.observe(-5);
  e.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_DOUBLE_EQ(e.get(), 106);
  Ewma z;
  z.observe(0);
  EXPECT_TRUE(z.has_value());
  EXPECT_NEAR(z.get(), 0, 1e-5);
}

TEST(StrategyLatency, PicksLowestLatency) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  const Router router(list, strategy("latency-based-routing"));
  const ModelGroup& g = *router.group("g");
  FastRandom random(8);
  complete(router, pin(router, g, 0, random), 300);
  complete(router, pin(router, g, 1, random), 100);
  complete(router, pin(router, g, 2, random), 200);
  for (int i = 0; i < 50; ++i) {
    const Selection s = router.select(g, {}, {}, random);
    ASSERT_EQ(s.slot, 1u);
    EXPECT_EQ(s.decision.reason, "lowest_latency");
    EXPECT_DOUBLE_EQ(s.decision.score, 100);
  }
  // Slot 1 slows down: 0.3 * 1000 + 0.7 * 100 = 370, now slower than slot 2 (200) and slot 0 (300).
  complete(router, pin(router, g, 1, random), 1000);
  EXPECT_DOUBLE_EQ(pin(router, g, 1, random).stats->latency.get(), 370);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(g, {}, {}, random).slot, 2u);
}

TEST(StrategyLatency, UnmeasuredDeploymentCountsAsFastest) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  const Router router(list, strategy("latency-based-routing"));
  const ModelGroup& g = *router.group("g");
  FastRandom random(9);
  complete(router, pin(router, g, 0, random), 5);
  complete(router, pin(router, g, 2, random), 1);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(g, {}, {}, random).slot, 1u);
}

TEST(StrategyLatency, StreamsUseTimeToFirstTokenWhenKnown) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  const Router router(list, strategy("latency-based-routing"));
  const ModelGroup& g = *router.group("g");
  FastRandom random(10);
  const RouteRequest stream{.stream = true};
  const Selection s0 = pin(router, g, 0, random);
  const Selection s1 = pin(router, g, 1, random);
  const Selection s2 = pin(router, g, 2, random);
  // Slot 0: slow whole answers, fast first token. Slot 1: fast whole answers, no stream measured yet.
  // Slot 2: slow in both.
  router.begin(s0);
  router.first_token(s0, milliseconds(50));
  router.succeeded(s0, milliseconds(2000), 0);
  complete(router, s1, 400);
  router.begin(s2);
  router.first_token(s2, milliseconds(900));
  router.succeeded(s2, milliseconds(3000), 0);
  EXPECT_DOUBLE_EQ(s0.stats->ttft.get(), 50);
  EXPECT_FALSE(s1.stats->ttft.has_value());
  for (int i = 0; i < 50; ++i) {
    const Selection s = router.select(g, stream, {}, random);
    ASSERT_EQ(s.slot, 0u);
    EXPECT_DOUBLE_EQ(s.decision.score, 50);
  }
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(g, {}, {}, random).slot, 1u);
  // Without a first-token time, a stream compares the whole latency: slot 1 (400) beats slot 2's TTFT (900).
  const std::vector<std::uint32_t> not_0 = {0};
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(g, stream, not_0, random).slot, 1u);
}

TEST(StrategyLatency, BufferSpreadsAmongNearEqualDeployments) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  auto settings = strategy("latency-based-routing");
  settings.lowest_latency_buffer = 0.1;
  const Router router(list, settings);
  const ModelGroup& g = *router.group("g");
  FastRandom random(11);
  complete(router, pin(router, g, 0, random), 100);
  complete(router, pin(router, g, 1, random), 105);
  complete(router, pin(router, g, 2, random), 200);
  auto counts = picks(router, g, 2000, random);
  EXPECT_EQ(counts[2], 0);  // 200 > 100 * 1.1
  EXPECT_NEAR(counts[0], 1000, 150);
  EXPECT_NEAR(counts[1], 1000, 150);

  // Without a buffer, 105 ms loses to 100 ms every time.
  const Router strict(list, strategy("latency-based-routing"));
  const ModelGroup& sg = *strict.group("g");
  complete(strict, pin(strict, sg, 0, random), 100);
  complete(strict, pin(strict, sg, 1, random), 105);
  complete(strict, pin(strict, sg, 2, random), 200);
  auto strict_counts = picks(strict, sg, 500, random);
  EXPECT_EQ(strict_counts[0], 500);
}

// ---- usage-based-routing ----

TEST(StatsMinuteCounter, CountsRollOverAtTheMinuteBoundary) {
  const Nanos minute = FakeClock::kStart;
  MinuteCounter c;
  EXPECT_EQ(c.get(minute), 0);
  c.add(minute, 5);
  c.add(minute + seconds(59.999), 7);
  EXPECT_EQ(c.get(minute + seconds(30)), 12);
  EXPECT_EQ(c.get(minute + kNanosPerMinute), 0);  // next minute: nothing counted yet
  EXPECT_EQ(c.get(minute - 1), 0);                // the minute before is another minute too
  c.add(minute + kNanosPerMinute, 3);
  EXPECT_EQ(c.get(minute + kNanosPerMinute + seconds(1)), 3);
  EXPECT_EQ(c.get(minute), 0);  // the old minute's count is gone
  c.add(minute + kNanosPerMinute, 0);
  c.add(minute + kNanosPerMinute, -4);
  EXPECT_EQ(c.get(minute + kNanosPerMinute), 3);
  // A fresh counter at time 0 (minute 0) works too.
  MinuteCounter z;
  z.add(0, 1);
  EXPECT_EQ(z.get(kNanosPerMinute - 1), 1);
  EXPECT_EQ(z.get(kNanosPerMinute), 0);
}

TEST(StatsMinuteCounter, ConcurrentAddsAreExact) {
  MinuteCounter c;
  const Nanos now = FakeClock::kStart + seconds(10);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, now] {
      for (int i = 0; i < 10000; ++i) c.add(now, 1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.get(now), 40000);
}

TEST(StrategyUsage, LowestShareOfLimitsThisMinute) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  list[0].params.tpm = 1000;
  list[1].params.tpm = 10000;
  list[2].params.rpm = 10;
  FakeClock clock;
  const Router router(list, strategy("usage-based-routing"), clock);
  const ModelGroup& g = *router.group("g");
  FastRandom random(12);
  // Shares: slot 0 500/1000 = 0.5; slot 1 2000/10000 = 0.2; slot 2 3 of 10 requests = 0.3.
  complete(router, pin(router, g, 0, random), 10, 500);
  complete(router, pin(router, g, 1, random), 10, 2000);
  const Selection s2 = pin(router, g, 2, random);
  for (int i = 0; i < 3; ++i) complete(router, s2, 10, 1);
  for (int i = 0; i < 50; ++i) {
    const Selection s = router.select(g, {}, {}, random);
    ASSERT_EQ(s.slot, 1u);
    EXPECT_EQ(s.decision.reason, "lowest_usage");
    EXPECT_DOUBLE_EQ(s.decision.score, 0.2);
  }
  complete(router, pin(router, g, 1, random), 10, 2000);  // 0.4: slot 2 (0.3) leads
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(g, {}, {}, random).slot, 2u);

  // Next minute: every count is 0, so all three share the load.
  clock.advance(kNanosPerMinute);
  auto counts = picks(router, g, 3000, random);
  for (std::uint32_t slot = 0; slot < 3; ++slot) EXPECT_NEAR(counts[slot], 1000, 150) << slot;
  complete(router, pin(router, g, 0, random), 10, 100);
  complete(router, pin(router, g, 2, random), 10, 0);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(g, {}, {}, random).slot, 1u);
}

TEST(StrategyUsage, WithoutLimitsFewestTokens) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  FakeClock clock;
  const Router router(list, strategy("usage-based-routing"), clock);
  const ModelGroup& g = *router.group("g");
  FastRandom random(13);
  complete(router, pin(router, g, 0, random), 10, 300);
  complete(router, pin(router, g, 1, random), 10, 200);
  for (int i = 0; i < 50; ++i) {
    const Selection s = router.select(g, {}, {}, random);
    ASSERT_EQ(s.slot, 1u);
    EXPECT_DOUBLE_EQ(s.decision.score, 200);
  }
}

// ---- cost-based-routing ----

TEST(PriceBuiltin, LongestMatchAtABoundary) {
  auto mini = builtin_price("gpt-4o-mini");
  ASSERT_TRUE(mini);
  EXPECT_DOUBLE_EQ(mini->input, 0.15e-6);
  EXPECT_DOUBLE_EQ(mini->output, 0.60e-6);
  auto big = builtin_price("gpt-4o");
  ASSERT_TRUE(big);
  EXPECT_DOUBLE_EQ(big->input, 2.50e-6);
  EXPECT_DOUBLE_EQ(big->output, 10.00e-6);
  auto dated = builtin_price("gpt-4o-2024-08-06");  // gpt-4o, not gpt-4
  ASSERT_TRUE(dated);
  EXPECT_DOUBLE_EQ(dated->input, 2.50e-6);
  auto mini_dated = builtin_price("gpt-4o-mini-2024-07-18");
  ASSERT_TRUE(mini_dated);
  EXPECT_DOUBLE_EQ(mini_dated->input, 0.15e-6);
  auto nano = builtin_price("gpt-4.1-nano");
  ASSERT_TRUE(nano);
  EXPECT_DOUBLE_EQ(nano->input, 0.10e-6);

  auto haiku = builtin_price("anthropic.claude-3-haiku-20240307-v1:0");  // a Bedrock id
  ASSERT_TRUE(haiku);
  EXPECT_DOUBLE_EQ(haiku->input, 0.25e-6);
  EXPECT_DOUBLE_EQ(haiku->output, 1.25e-6);
  auto regional = builtin_price("us.anthropic.claude-3-5-sonnet-20241022-v2:0");
  ASSERT_TRUE(regional);
  EXPECT_DOUBLE_EQ(regional->input, 3.00e-6);
  auto routed = builtin_price("openai/gpt-4o-mini");  // after a '/'
  ASSERT_TRUE(routed);
  EXPECT_DOUBLE_EQ(routed->input, 0.15e-6);

  EXPECT_FALSE(builtin_price("my-private-model"));
  EXPECT_FALSE(builtin_price(""));
  EXPECT_FALSE(builtin_price("chatgpt-4o-latest"));  // "gpt-4o" inside a word is no match
}

TEST(PriceBuiltin, ModelInfoCostsWin) {
  config::Deployment d = deployment("g", "openai/gpt-4o");
  auto p = price_of(d);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->input, 2.50e-6);
  d.info.output_cost_per_token = 1e-3;  // only one of the two set: the other counts as 0
  p = price_of(d);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->input, 0);
  EXPECT_DOUBLE_EQ(p->output, 1e-3);
  config::Deployment custom = deployment("g", "hosted_vllm/my-model");
  EXPECT_FALSE(price_of(custom));
  custom.info.input_cost_per_token = 1e-7;
  ASSERT_TRUE(price_of(custom));
  EXPECT_DOUBLE_EQ(price_of(custom)->input, 1e-7);
}

TEST(StrategyCost, CheapestFirstUnknownLast) {
  std::vector<config::Deployment> list = {deployment("g", "hosted_vllm/my-model"),
                                          deployment("g", "openai/gpt-4o"),
                                          deployment("g", "openai/gpt-4o-mini"),
                                          deployment("g", "bedrock/anthropic.claude-3-haiku-20240307-v1:0")};
  const Router router(list, strategy("cost-based-routing"));
  const ModelGroup& g = *router.group("g");
  FastRandom random(14);
  for (int i = 0; i < 50; ++i) {
    const Selection s = router.select(g, {}, {}, random);
    ASSERT_EQ(s.slot, 2u);  // gpt-4o-mini: 0.75 $/Mtok in + out, haiku 1.50, gpt-4o 12.50
    EXPECT_EQ(s.decision.reason, "lowest_cost");
    EXPECT_NEAR(s.decision.score, 0.75e-6, 1e-15);
  }
  const std::vector<std::uint32_t> tried_2 = {2};
  for (int i = 0; i < 20; ++i) ASSERT_EQ(router.select(g, {}, tried_2, random).slot, 3u);
  const std::vector<std::uint32_t> tried_23 = {2, 3};
  for (int i = 0; i < 20; ++i) ASSERT_EQ(router.select(g, {}, tried_23, random).slot, 1u);
  const std::vector<std::uint32_t> tried_123 = {1, 2, 3};
  const Selection last = router.select(g, {}, tried_123, random);
  EXPECT_EQ(last.slot, 0u);
  EXPECT_TRUE(std::isinf(last.decision.score));
}

TEST(StrategyCost, ModelInfoCostOverridesTheTable) {
  std::vector<config::Deployment> list = {deployment("g", "openai/gpt-4o-mini"),
                                          deployment("g", "openai/gpt-4o")};
  list[0].info.input_cost_per_token = 1e-3;  // a mini priced far above gpt-4o's list price
  list[0].info.output_cost_per_token = 1e-3;
  const Router router(list, strategy("cost-based-routing"));
  FastRandom random(15);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(router.select(*router.group("g"), {}, {}, random).slot, 1u);
}

// ---- rpm / tpm caps ----

TEST(RouterCaps, DeploymentAtItsRpmIsSkippedUntilTheNextMinute) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  list[0].params.rpm = 2;
  list[1].params.rpm = 2;
  FakeClock clock;
  clock.set(FakeClock::kStart + seconds(15));
  const Router router(list, {}, clock);
  const ModelGroup& g = *router.group("g");
  FastRandom random(16);
  const Selection s0 = pin(router, g, 0, random);
  const Selection s1 = pin(router, g, 1, random);
  router.begin(s0);
  router.begin(s0);  // slot 0 at its cap of 2 requests this minute
  auto counts = picks(router, g, 200, random);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[1], 200);
  router.begin(s1);
  router.begin(s1);

  Selection refused = router.select(g, {}, {}, random);
  EXPECT_EQ(refused.deployment, nullptr);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->status, 429);
  EXPECT_EQ(refused.refusal->code, "rate_limit_exceeded");
  EXPECT_EQ(refused.refusal->type, "rate_limit_error");
  EXPECT_EQ(refused.refusal->retry_after, "45");
  EXPECT_EQ(refused.decision.reason, "all_at_capacity");
  EXPECT_FALSE(refused.all_cooling_down);

  clock.set(FakeClock::kStart + seconds(59.5));  // rounded up to whole seconds
  EXPECT_EQ(router.select(g, {}, {}, random).refusal->retry_after, "1");
  clock.set(FakeClock::kStart + seconds(59.999));
  EXPECT_EQ(router.select(g, {}, {}, random).refusal->retry_after, "1");

  clock.set(FakeClock::kStart + kNanosPerMinute);
  auto next = picks(router, g, 2000, random);
  EXPECT_GT(next[0], 800);
  EXPECT_GT(next[1], 800);
}

TEST(RouterCaps, RetryAfterAtTheStartOfAMinuteIsSixty) {
  std::vector<config::Deployment> list = {deployment("g")};
  list[0].params.rpm = 1;
  FakeClock clock;
  const Router router(list, {}, clock);
  FastRandom random(17);
  router.begin(router.select(*router.group("g"), {}, {}, random));
  const Selection s = router.select(*router.group("g"), {}, {}, random);
  ASSERT_TRUE(s.refusal);
  EXPECT_EQ(s.refusal->retry_after, "60");
}

TEST(RouterCaps, DeploymentAtItsTpmIsSkipped) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  list[0].params.tpm = 1000;
  list[1].params.tpm = 1000;
  FakeClock clock;
  const Router router(list, {}, clock);
  const ModelGroup& g = *router.group("g");
  FastRandom random(18);
  const Selection s0 = pin(router, g, 0, random);
  complete(router, s0, 10, 999);
  EXPECT_GT(picks(router, g, 1000, random)[0], 300);  // one token below the cap: still usable
  complete(router, s0, 10, 1);
  EXPECT_EQ(s0.stats->tokens.get(clock.now()), 1000);
  EXPECT_EQ(picks(router, g, 500, random)[0], 0);

  complete(router, pin(router, g, 1, random), 10, 5000);
  const Selection refused = router.select(g, {}, {}, random);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->status, 429);
  EXPECT_EQ(refused.refusal->code, "rate_limit_exceeded");

  clock.advance(kNanosPerMinute);
  EXPECT_FALSE(router.select(g, {}, {}, random).refusal);
}

// ---- cooldowns ----

TEST(RouterCooldown, RateLimitAuthAndNotFoundCoolDownAtOnce) {
  for (int status : {429, 401, 404}) {
    const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
    FakeClock clock;
    const Router router(list, {}, clock);
    const ModelGroup& g = *router.group("g");
    FastRandom random(19);
    const Selection s0 = pin(router, g, 0, random);
    EXPECT_TRUE(fail(router, s0, status)) << status;
    EXPECT_TRUE(s0.stats->cooling_down(clock.now())) << status;
    EXPECT_EQ(s0.stats->in_flight.load(), 0);
    EXPECT_EQ(picks(router, g, 200, random)[1], 200) << status;
  }
}

TEST(RouterCooldown, ForbiddenAndServerErrorsCoolDownAfterAllowedFails) {
  for (int status : {500, 503, 403, 504}) {
    const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
    FakeClock clock;
    config::RouterSettings settings;
    settings.allowed_fails = 3;
    const Router router(list, settings, clock);
    const ModelGroup& g = *router.group("g");
    FastRandom random(20);
    const Selection s0 = pin(router, g, 0, random);
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(fail(router, s0, status)) << status << " failure " << i + 1;
      EXPECT_FALSE(s0.stats->cooling_down(clock.now()));
      clock.advance(seconds(1));
    }
    EXPECT_GT(picks(router, g, 400, random)[0], 100) << status;
    EXPECT_TRUE(fail(router, s0, status)) << status;  // the fourth in the minute
    EXPECT_TRUE(s0.stats->cooling_down(clock.now()));
    EXPECT_EQ(picks(router, g, 200, random)[1], 200) << status;
  }
}

TEST(RouterCooldown, FailuresCountPerMinute) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  FakeClock clock;
  config::RouterSettings settings;
  settings.allowed_fails = 1;
  const Router router(list, settings, clock);
  FastRandom random(21);
  const Selection s0 = pin(router, *router.group("g"), 0, random);
  EXPECT_FALSE(fail(router, s0, 500));
  clock.advance(kNanosPerMinute);
  EXPECT_FALSE(fail(router, s0, 500));  // a new minute: the first failure of it
  EXPECT_TRUE(fail(router, s0, 500));
}

TEST(RouterCooldown, ClientErrorsNeverCoolDown) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  FakeClock clock;
  config::RouterSettings settings;
  settings.allowed_fails = 0;
  const Router router(list, settings, clock);
  FastRandom random(22);
  const Selection s0 = pin(router, *router.group("g"), 0, random);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(fail(router, s0, 400));
    EXPECT_FALSE(fail(router, s0, 400, "context_length_exceeded"));
    EXPECT_FALSE(fail(router, s0, 400, "content_filter"));
    EXPECT_FALSE(fail(router, s0, 501));
  }
  EXPECT_FALSE(s0.stats->cooling_down(clock.now()));
  EXPECT_EQ(s0.stats->failures.get(clock.now()), 0);
  EXPECT_EQ(s0.stats->last_failure.load(), 0);
  EXPECT_EQ(s0.stats->in_flight.load(), 0);
  EXPECT_TRUE(fail(router, s0, 500));  // allowed_fails 0: the first server error cools down
}

TEST(RouterCooldown, ExpiresAfterCooldownTime) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  FakeClock clock;
  config::RouterSettings settings;
  settings.cooldown_time_seconds = 30;
  const Router router(list, settings, clock);
  const ModelGroup& g = *router.group("g");
  FastRandom random(23);
  const Selection s0 = pin(router, g, 0, random);
  const Nanos failed_at = clock.now();
  EXPECT_TRUE(fail(router, s0, 429));
  EXPECT_EQ(s0.stats->cooldown_until.load(), failed_at + seconds(30));
  EXPECT_EQ(s0.stats->last_failure.load(), failed_at);
  clock.advance(seconds(29.999));
  EXPECT_EQ(picks(router, g, 200, random)[0], 0);
  clock.set(failed_at + seconds(30));
  EXPECT_FALSE(s0.stats->cooling_down(clock.now()));
  EXPECT_GT(picks(router, g, 1000, random)[0], 300);
  // A failure during a cooldown extends it but does not report a new one.
  EXPECT_TRUE(fail(router, s0, 429));
  clock.advance(seconds(10));
  EXPECT_FALSE(fail(router, s0, 429));
  EXPECT_EQ(s0.stats->cooldown_until.load(), clock.now() + seconds(30));
}

TEST(RouterCooldown, DefaultCooldownIsFiveSeconds) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  FakeClock clock;
  const Router router(list, {}, clock);
  FastRandom random(24);
  const Selection s0 = pin(router, *router.group("g"), 0, random);
  EXPECT_TRUE(fail(router, s0, 429));
  clock.advance(seconds(4.9));
  EXPECT_TRUE(s0.stats->cooling_down(clock.now()));
  clock.advance(seconds(0.1));
  EXPECT_FALSE(s0.stats->cooling_down(clock.now()));
}

TEST(RouterCooldown, DisableCooldownsNeverCoolsDown) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  FakeClock clock;
  config::RouterSettings settings;
  settings.disable_cooldowns = true;
  settings.allowed_fails = 0;
  const Router router(list, settings, clock);
  const ModelGroup& g = *router.group("g");
  FastRandom random(25);
  const Selection s0 = pin(router, g, 0, random);
  for (int status : {429, 401, 404, 500, 500, 500, 500, 500})
    EXPECT_FALSE(fail(router, s0, status)) << status;
  EXPECT_FALSE(s0.stats->cooling_down(clock.now()));
  EXPECT_GT(picks(router, g, 1000, random)[0], 300);
}

TEST(RouterCooldown, AllCoolingDownTriesTheLeastRecentlyFailed) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  FakeClock clock;
  const Router router(list, {}, clock);
  const ModelGroup& g = *router.group("g");
  FastRandom random(26);
  const Selection s0 = pin(router, g, 0, random);
  const Selection s1 = pin(router, g, 1, random);
  const Selection s2 = pin(router, g, 2, random);
  EXPECT_TRUE(fail(router, s2, 429));
  clock.advance(seconds(1));
  EXPECT_TRUE(fail(router, s0, 429));
  clock.advance(seconds(1));
  EXPECT_TRUE(fail(router, s1, 429));
  for (int i = 0; i < 20; ++i) {
    const Selection s = router.select(g, {}, {}, random);
    ASSERT_EQ(s.slot, 2u);
    EXPECT_TRUE(s.all_cooling_down);
    EXPECT_EQ(s.decision.reason, "all_cooling_down");
    EXPECT_EQ(s.candidates, 3u);
    EXPECT_FALSE(s.refusal);
  }
  // Among the untried, the least recently failed.
  const std::vector<std::uint32_t> tried = {2};
  const Selection s = router.select(g, {}, tried, random);
  EXPECT_EQ(s.slot, 0u);
  EXPECT_TRUE(s.all_cooling_down);
  // One cooldown ends: that deployment is usable again and chosen normally.
  clock.advance(seconds(3.5));  // slot 2 failed 5.5 s ago
  const Selection after = router.select(g, {}, {}, random);
  EXPECT_EQ(after.slot, 2u);
  EXPECT_FALSE(after.all_cooling_down);
  EXPECT_EQ(after.decision.reason, "only_candidate");
}

// ---- tried ----

TEST(RouterTried, UntriedDeploymentsFirst) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  const Router router(list, strategy("least-busy"));
  const ModelGroup& g = *router.group("g");
  FastRandom random(27);
  // Slot 0 is the least busy, but it was tried already.
  router.begin(pin(router, g, 1, random));
  router.begin(pin(router, g, 2, random));
  const std::vector<std::uint32_t> tried_0 = {0};
  auto counts = picks(router, g, 500, random, {}, tried_0);
  EXPECT_EQ(counts[0], 0);
  EXPECT_GT(counts[1], 150);
  EXPECT_GT(counts[2], 150);
  const std::vector<std::uint32_t> tried_01 = {0, 1};
  EXPECT_EQ(picks(router, g, 100, random, {}, tried_01)[2], 100);
  // Every deployment tried: the strategy ranks them all again.
  const std::vector<std::uint32_t> tried_all = {2, 1, 0};
  const Selection s = router.select(g, {}, tried_all, random);
  EXPECT_EQ(s.slot, 0u);
  EXPECT_EQ(s.candidates, 3u);
}

TEST(RouterTried, SimpleShuffleAvoidsTried) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  list[0].params.weight = 100;  // the heavy one, already tried
  list[1].params.weight = 1;
  list[2].params.weight = 1;
  const Router router(list);
  FastRandom random(28);
  const std::vector<std::uint32_t> tried = {0};
  EXPECT_EQ(picks(router, *router.group("g"), 500, random, {}, tried)[0], 0);
}

// ---- pre-call checks ----

TEST(RouterPreCall, SkipsDeploymentsTooSmallForThePrompt) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  list[0].info.max_input_tokens = 1000;
  list[1].info.max_input_tokens = 8000;
  config::RouterSettings settings;
  settings.enable_pre_call_checks = true;
  const Router router(list, settings);
  const ModelGroup& g = *router.group("g");
  FastRandom random(29);
  EXPECT_EQ(picks(router, g, 200, random, RouteRequest{.prompt_tokens = 2000})[1], 200);
  EXPECT_GT(picks(router, g, 1000, random, RouteRequest{.prompt_tokens = 1000})[0], 300);  // exactly fits
  EXPECT_GT(picks(router, g, 1000, random, RouteRequest{.prompt_tokens = -1})[0], 300);    // not estimated

  const Selection refused = router.select(g, RouteRequest{.prompt_tokens = 9000}, {}, random);
  EXPECT_EQ(refused.deployment, nullptr);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->status, 400);
  EXPECT_EQ(refused.refusal->code, "context_length_exceeded");
  EXPECT_EQ(refused.refusal->type, "invalid_request_error");
  EXPECT_EQ(refused.refusal->param, "messages");
  EXPECT_NE(refused.refusal->message.find("9000"), std::string::npos);
  EXPECT_EQ(refused.decision.reason, "context_window_exceeded");
}

TEST(RouterPreCall, DeploymentWithoutMaxInputTokensAlwaysFits) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  list[0].info.max_input_tokens = 1000;
  config::RouterSettings settings;
  settings.enable_pre_call_checks = true;
  const Router router(list, settings);
  FastRandom random(30);
  EXPECT_EQ(picks(router, *router.group("g"), 100, random, RouteRequest{.prompt_tokens = 1'000'000})[1], 100);
}

TEST(RouterPreCall, NotCheckedWithoutTheSetting) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  list[0].info.max_input_tokens = 1000;
  list[1].info.max_input_tokens = 1000;
  const Router router(list);
  FastRandom random(31);
  auto counts = picks(router, *router.group("g"), 1000, random, RouteRequest{.prompt_tokens = 5000});
  EXPECT_GT(counts[0], 300);
  EXPECT_GT(counts[1], 300);
}

// ---- retries and backoff ----

TEST(RouterRetries, Precedence) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("h")};
  list[1].params.max_retries = 1;
  config::RouterSettings settings;
  settings.num_retries = 2;
  settings.retry_policy = policy(5, {}, {});
  settings.model_group_retry_policy = {{"g", policy({}, 7, {})}};
  const Router router(list, settings);
  const ModelGroup& g = *router.group("g");
  const ModelGroup& h = *router.group("h");
  // Group policy > router policy > num_retries.
  EXPECT_EQ(router.retries_for(g, FailureKind::timeout), 7);
  EXPECT_EQ(router.retries_for(g, FailureKind::rate_limit), 5);
  EXPECT_EQ(router.retries_for(g, FailureKind::server_error), 2);
  EXPECT_EQ(router.retries_for(h, FailureKind::timeout), 2);
  EXPECT_EQ(router.retries_for(h, FailureKind::rate_limit), 5);
  // A deployment's max_retries bounds the retries of that deployment only.
  EXPECT_TRUE(Router::may_retry_on(list[1], 1));
  EXPECT_FALSE(Router::may_retry_on(list[1], 2));
  EXPECT_TRUE(Router::may_retry_on(list[0], 50));
  list[0].params.max_retries = 0;
  EXPECT_FALSE(Router::may_retry_on(list[0], 1));
  // Never retried, whatever the settings.
  for (FailureKind k : {FailureKind::auth, FailureKind::not_found, FailureKind::context_window,
                        FailureKind::content_policy, FailureKind::bad_request, FailureKind::not_supported}) {
    EXPECT_EQ(router.retries_for(g, k), 0) << to_string(k);
    EXPECT_EQ(router.retries_for(g, k), 0) << to_string(k);
  }
  // Zero is a value, not "unset".
  config::RouterSettings zero;
  zero.num_retries = 4;
  zero.model_group_retry_policy = {{"g", policy(0, {}, {})}};
  const Router z(list, zero);
  EXPECT_EQ(z.retries_for(*z.group("g"), FailureKind::rate_limit), 0);
  EXPECT_EQ(z.retries_for(*z.group("g"), FailureKind::timeout), 4);
  list[0].params.max_retries = 0;  // bounds that deployment's own retries, not the group's
  EXPECT_EQ(z.retries_for(*z.group("g"), FailureKind::timeout), 4);
  EXPECT_FALSE(Router::may_retry_on(list[0], 1));
  const Router defaults(list);
  EXPECT_EQ(defaults.retries_for(*defaults.group("h"), FailureKind::server_error),
            2);  // the default
}

TEST(RouterBackoff, ExponentialWithJitterCappedAtEightSeconds) {
  const std::vector<config::Deployment> list = {deployment("g")};
  const Router router(list);
  FastRandom random(32);
  const double bases[] = {500, 1000, 2000, 4000, 8000, 8000, 8000};
  for (int retry = 1; retry <= 7; ++retry) {
    const double base = bases[retry - 1];
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = 0;
    for (int i = 0; i < 500; ++i) {
      auto wait = router.backoff(retry, "", random);
      ASSERT_TRUE(wait);
      lo = std::min<std::int64_t>(lo, wait->count());
      hi = std::max<std::int64_t>(hi, wait->count());
    }
    EXPECT_GE(lo, static_cast<std::int64_t>(base * 0.75)) << retry;
    EXPECT_LE(hi, static_cast<std::int64_t>(base)) << retry;
    EXPECT_LT(lo, static_cast<std::int64_t>(base * 0.80)) << retry;  // the jitter is used
    EXPECT_GT(hi, static_cast<std::int64_t>(base * 0.95)) << retry;
  }
  auto far = router.backoff(30, "", random);
  ASSERT_TRUE(far);
  EXPECT_LE(far->count(), 8000);
  EXPECT_GE(far->count(), 6000);
}

TEST(RouterBackoff, RetryAfterIsHonoured) {
  const std::vector<config::Deployment> list = {deployment("g")};
  const Router router(list);
  FastRandom random(33);
  EXPECT_EQ(router.backoff(1, "3", random), milliseconds(3000));
  EXPECT_EQ(router.backoff(5, "1.5", random), milliseconds(1500));
  EXPECT_EQ(router.backoff(1, " 2 ", random), milliseconds(2000));
  EXPECT_EQ(router.backoff(1, "0", random), milliseconds(0));
  EXPECT_EQ(router.backoff(1, "60", random), milliseconds(60000));  // the default max_retry_after
  EXPECT_EQ(router.backoff(1, "61", random), std::nullopt);
  EXPECT_EQ(router.backoff(1, "120", random), std::nullopt);
  // Not a number of seconds (an HTTP date, garbage, negative): the exponential backoff.
  for (std::string_view v : {"Wed, 21 Oct 2015 07:28:00 GMT", "soon", "-1", "3s"}) {
    auto wait = router.backoff(2, v, random);
    ASSERT_TRUE(wait) << v;
    EXPECT_GE(wait->count(), 750) << v;
    EXPECT_LE(wait->count(), 1000) << v;
  }
}

TEST(RouterBackoff, MaxRetryAfterAndMinimum) {
  const std::vector<config::Deployment> list = {deployment("g")};
  config::RouterSettings settings;
  settings.max_retry_after_seconds = 10;
  settings.retry_after_seconds = 2;
  const Router router(list, settings);
  FastRandom random(34);
  EXPECT_EQ(router.backoff(1, "10", random), milliseconds(10000));
  EXPECT_EQ(router.backoff(1, "10.5", random), std::nullopt);
  EXPECT_EQ(router.backoff(1, "1", random), milliseconds(2000));  // the minimum wins
  EXPECT_EQ(router.backoff(1, "", random), milliseconds(2000));   // 0.375-0.5 s raised to 2 s
  auto third = router.backoff(4, "", random);                     // 3-4 s, above the minimum
  ASSERT_TRUE(third);
  EXPECT_GE(third->count(), 3000);
  EXPECT_LE(third->count(), 4000);
}

// ---- fallbacks ----

TEST(RouterFallbacks, PerGroupWildcardAndDefault) {
  const std::vector<config::Deployment> list = {deployment("a"), deployment("b"), deployment("c")};
  config::RouterSettings settings;
  settings.fallbacks = {{"a", {"b", "c"}}, {"*", {"z"}}};
  settings.default_fallbacks = {"d"};
  const Router router(list, settings);
  auto as_vector = [](std::span<const std::string> s) {
    return std::vector<std::string>(s.begin(), s.end());
  };
  EXPECT_EQ(as_vector(router.fallbacks("a", FailureKind::server_error)),
            (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(as_vector(router.fallbacks("a", FailureKind::rate_limit)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(as_vector(router.fallbacks("b", FailureKind::timeout)), (std::vector<std::string>{"z"}));
  EXPECT_EQ(as_vector(router.fallbacks("anything", FailureKind::auth)), (std::vector<std::string>{"z"}));
  EXPECT_TRUE(router.fallbacks("a", FailureKind::bad_request).empty());

  config::RouterSettings no_wildcard;
  no_wildcard.fallbacks = {{"a", {"b"}}};
  no_wildcard.default_fallbacks = {"d", "e"};
  const Router r2(list, no_wildcard);
  EXPECT_EQ(as_vector(r2.fallbacks("b", FailureKind::server_error)), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(as_vector(r2.fallbacks("a", FailureKind::server_error)), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(r2.fallbacks("b", FailureKind::bad_request).empty());

  const Router none(list);
  EXPECT_TRUE(none.fallbacks("a", FailureKind::server_error).empty());
}

TEST(RouterFallbacks, ContextWindowAndContentPolicyLists) {
  const std::vector<config::Deployment> list = {deployment("a"), deployment("b")};
  config::RouterSettings settings;
  settings.fallbacks = {{"a", {"generic"}}};
  settings.context_window_fallbacks = {{"a", {"big"}}};
  settings.content_policy_fallbacks = {{"*", {"lenient"}}};
  settings.default_fallbacks = {"d"};
  const Router router(list, settings);
  auto as_vector = [](std::span<const std::string> s) {
    return std::vector<std::string>(s.begin(), s.end());
  };
  EXPECT_EQ(as_vector(router.fallbacks("a", FailureKind::context_window)), (std::vector<std::string>{"big"}));
  EXPECT_EQ(as_vector(router.fallbacks("a", FailureKind::content_policy)),
            (std::vector<std::string>{"lenient"}));
  EXPECT_EQ(as_vector(router.fallbacks("b", FailureKind::content_policy)),
            (std::vector<std::string>{"lenient"}));
  EXPECT_EQ(as_vector(router.fallbacks("a", FailureKind::server_error)),
            (std::vector<std::string>{"generic"}));
  // No context-window rule for b: the generic rules, then the default.
  EXPECT_EQ(as_vector(router.fallbacks("b", FailureKind::context_window)), (std::vector<std::string>{"d"}));
  EXPECT_TRUE(router.fallbacks("a", FailureKind::bad_request).empty());
}

TEST(RouterFallbacks, SpecificListFallsBackToGenericRule) {
  const std::vector<config::Deployment> list = {deployment("a")};
  config::RouterSettings settings;
  settings.fallbacks = {{"a", {"generic"}}};
  const Router router(list, settings);
  auto as_vector = [](std::span<const std::string> s) {
    return std::vector<std::string>(s.begin(), s.end());
  };
  EXPECT_EQ(as_vector(router.fallbacks("a", FailureKind::context_window)),
            (std::vector<std::string>{"generic"}));
  EXPECT_EQ(as_vector(router.fallbacks("a", FailureKind::content_policy)),
            (std::vector<std::string>{"generic"}));
}

// ---- timeouts ----

TEST(RouterTimeout, DeploymentThenRouterThenSixHundredSeconds) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g")};
  list[0].params.timeout_seconds = 30;
  list[0].params.stream_timeout_seconds = 10;
  list[2].params.timeout_seconds = 45;
  const Router plain(list);
  EXPECT_EQ(plain.timeout(list[0], false), milliseconds(30000));
  EXPECT_EQ(plain.timeout(list[0], true), milliseconds(10000));
  EXPECT_EQ(plain.timeout(list[1], false), milliseconds(600000));
  EXPECT_EQ(plain.timeout(list[1], true), milliseconds(600000));
  EXPECT_EQ(plain.timeout(list[2], false), milliseconds(45000));
  EXPECT_EQ(plain.timeout(list[2], true), milliseconds(45000));  // no stream timeout anywhere: the timeout

  config::RouterSettings settings;
  settings.timeout_seconds = 120;
  settings.stream_timeout_seconds = 20.5;
  const Router router(list, settings);
  EXPECT_EQ(router.timeout(list[0], false), milliseconds(30000));
  EXPECT_EQ(router.timeout(list[0], true), milliseconds(10000));
  EXPECT_EQ(router.timeout(list[1], false), milliseconds(120000));
  EXPECT_EQ(router.timeout(list[1], true), milliseconds(20500));
  EXPECT_EQ(router.timeout(list[2], false), milliseconds(45000));
  // The deployment's own timeout beats any router setting, for streams too.
  EXPECT_EQ(router.timeout(list[2], true), milliseconds(45000));

  config::RouterSettings only_timeout;
  only_timeout.timeout_seconds = 90;
  const Router r3(list, only_timeout);
  EXPECT_EQ(r3.timeout(list[1], true), milliseconds(90000));
}

// ---- failure classification ----

TEST(FailureClassify, StatusesAndCodes) {
  auto kind = [](int status, std::string code = {}) {
    return classify(Error{status, "api_error", "m", std::move(code), {}, {}});
  };
  EXPECT_EQ(kind(429), FailureKind::rate_limit);
  EXPECT_EQ(kind(408), FailureKind::timeout);
  EXPECT_EQ(kind(504), FailureKind::timeout);
  EXPECT_EQ(kind(502, "upstream_timeout"), FailureKind::timeout);
  EXPECT_EQ(kind(500, "upstream_timeout"), FailureKind::timeout);
  EXPECT_EQ(kind(500), FailureKind::server_error);
  EXPECT_EQ(kind(502), FailureKind::server_error);
  EXPECT_EQ(kind(503), FailureKind::server_error);
  EXPECT_EQ(kind(501), FailureKind::not_supported);
  EXPECT_EQ(kind(401), FailureKind::auth);
  EXPECT_EQ(kind(403), FailureKind::auth);
  EXPECT_EQ(kind(404), FailureKind::not_found);
  EXPECT_EQ(kind(400), FailureKind::bad_request);
  EXPECT_EQ(kind(422), FailureKind::bad_request);
  EXPECT_EQ(kind(400, "context_length_exceeded"), FailureKind::context_window);
  EXPECT_EQ(kind(400, "context_window_exceeded"), FailureKind::context_window);
  EXPECT_EQ(kind(400, "content_filter"), FailureKind::content_policy);
  EXPECT_EQ(kind(400, "content_policy_violation"), FailureKind::content_policy);
  EXPECT_EQ(kind(429, "rate_limit_exceeded"), FailureKind::rate_limit);
}

TEST(FailureClassify, RulesPerKind) {
  EXPECT_EQ(to_string(FailureKind::rate_limit), "rate_limit");
  EXPECT_EQ(to_string(FailureKind::context_window), "context_window");
  EXPECT_EQ(to_string(FailureKind::not_supported), "not_supported");
  static_assert(retryable(FailureKind::rate_limit) && retryable(FailureKind::timeout) &&
                retryable(FailureKind::server_error));
  static_assert(!retryable(FailureKind::auth) && !retryable(FailureKind::bad_request) &&
                !retryable(FailureKind::context_window) && !retryable(FailureKind::not_supported));
  static_assert(cools_down_at_once(FailureKind::rate_limit, 429) &&
                cools_down_at_once(FailureKind::auth, 401) &&
                cools_down_at_once(FailureKind::not_found, 404));
  static_assert(!cools_down_at_once(FailureKind::auth, 403) &&
                !cools_down_at_once(FailureKind::server_error, 500));
  static_assert(!counts_as_deployment_failure(FailureKind::bad_request) &&
                !counts_as_deployment_failure(FailureKind::context_window) &&
                !counts_as_deployment_failure(FailureKind::content_policy));
  static_assert(!falls_back(FailureKind::bad_request) && falls_back(FailureKind::context_window));
}

// ---- public api_base ----

TEST(RouterPublicApiBase, CredentialsQueryAndFragmentRemoved) {
  std::vector<config::Deployment> list = {deployment("g"), deployment("g"), deployment("g"), deployment("g"),
                                          deployment("g", "mock/echo")};
  list[0].params.api_base = "https://user:secret@host:8443/v1?key=abc";
  list[1].params.api_base = "http://localhost:8000/v1#section";
  list[2].params.api_base = "https://api.openai.com/v1";
  list[3].params.api_base = "https://token@example.com";
  const Router router(list);
  EXPECT_EQ(router.public_api_base(0), "https://host:8443/v1");
  EXPECT_EQ(router.public_api_base(1), "http://localhost:8000/v1");
  EXPECT_EQ(router.public_api_base(2), "https://api.openai.com/v1");
  EXPECT_EQ(router.public_api_base(3), "https://example.com");
  EXPECT_EQ(router.public_api_base(4), "");
}

}  // namespace
}  // namespace sy::router

namespace sy::router {
namespace {

// A timeout teaches latency-based routing that the deployment is slow; other failures leave latency alone.
TEST(RouterLatency, TimeoutsCountAsLatencySamples) {
  const std::vector<config::Deployment> list = {deployment("g"), deployment("g")};
  const Router router(list);
  FastRandom random(3);
  const Selection s0 = pin(router, *router.group("g"), 0, random);
  const Error timeout{504, "timeout_error", "slow", "upstream_timeout", {}, {}};
  router.failed(s0, FailureKind::timeout, timeout, std::chrono::seconds(2));
  EXPECT_DOUBLE_EQ(s0.stats->latency.get(), 2000.0);
  EXPECT_DOUBLE_EQ(s0.stats->ttft.get(), 2000.0);
  const Selection s1 = pin(router, *router.group("g"), 1, random);
  const Error boom{500, "api_error", "boom", {}, {}, {}};
  router.failed(s1, FailureKind::server_error, boom, std::chrono::seconds(2));
  EXPECT_FALSE(s1.stats->latency.has_value());
}

}  // namespace
}  // namespace sy::router
