// Unit tests for the router: model groups in configuration order and the weighted simple-shuffle pick.
#include "router/router.h"

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "util/random.h"

namespace sy::router {
namespace {

config::Deployment deployment(std::string model_name, std::string id, std::optional<double> weight = {},
                              std::optional<double> rpm = {}, std::optional<double> tpm = {}) {
  config::Deployment d;
  d.model_name = std::move(model_name);
  d.params.model = "openai/gpt-4o-mini";
  d.params.provider = "openai";
  d.params.provider_model = "gpt-4o-mini";
  d.params.weight = weight;
  d.params.rpm = rpm;
  d.params.tpm = tpm;
  d.info.id = std::move(id);
  return d;
}

// The index of the picked deployment inside its group.
std::size_t pick_index(const ModelGroup& g, double u) {
  const config::Deployment* d = Router::pick(g, u);
  for (std::size_t i = 0; i < g.deployments.size(); ++i) {
    if (g.deployments[i] == d) return i;
  }
  ADD_FAILURE() << "pick returned a deployment outside the group for u=" << u;
  return g.deployments.size();
}

const double kAlmostOne = std::nextafter(1.0, 0.0);

TEST(RouterTest, GroupsByModelNameInConfigOrder) {
  std::vector<config::Deployment> ds = {
      deployment("gpt-4o", "a"),       deployment("claude", "b"), deployment("gpt-4o", "c"),
      deployment("embedder", "d"),     deployment("claude", "e"), deployment("gpt-4o", "f"),
  };
  Router router(ds);
  EXPECT_EQ(router.model_names(), (std::vector<std::string>{"gpt-4o", "claude", "embedder"}));

  const ModelGroup* g = router.group("gpt-4o");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->name, "gpt-4o");
  ASSERT_EQ(g->deployments.size(), 3u);
  EXPECT_EQ(g->deployments[0], &ds[0]);
  EXPECT_EQ(g->deployments[1], &ds[2]);
  EXPECT_EQ(g->deployments[2], &ds[5]);

  const ModelGroup* c = router.group("claude");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->deployments.size(), 2u);
  EXPECT_EQ(c->deployments[0]->info.id, "b");
  EXPECT_EQ(c->deployments[1]->info.id, "e");

  const ModelGroup* e = router.group("embedder");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->deployments.size(), 1u);
  EXPECT_EQ(e->deployments[0]->info.id, "d");
}

TEST(RouterTest, UnknownGroupIsNull) {
  std::vector<config::Deployment> ds = {deployment("gpt-4o", "a")};
  Router router(ds);
  EXPECT_EQ(router.group("gpt-4"), nullptr);
  EXPECT_EQ(router.group("GPT-4O"), nullptr);  // names are exact
  EXPECT_EQ(router.group(""), nullptr);
  EXPECT_NE(router.group("gpt-4o"), nullptr);
}

TEST(RouterTest, EmptyConfig) {
  std::vector<config::Deployment> ds;
  Router router(ds);
  EXPECT_TRUE(router.model_names().empty());
  EXPECT_EQ(router.group("anything"), nullptr);
}

TEST(RouterTest, EmptyGroupPicksNothing) {
  ModelGroup g;
  EXPECT_EQ(Router::pick(g, 0.5), nullptr);
}

TEST(RouterTest, SingleDeploymentAlwaysPicked) {
  std::vector<config::Deployment> ds = {deployment("m", "only", 5.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  for (double u : {0.0, 0.3, 0.99, kAlmostOne}) EXPECT_EQ(Router::pick(*g, u), &ds[0]);
}

TEST(RouterTest, UniformWithoutWeights) {
  std::vector<config::Deployment> ds = {deployment("m", "a"), deployment("m", "b"), deployment("m", "c")};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->cumulative_weights.empty());
  // Each index owns the slice [i/3, (i+1)/3).
  EXPECT_EQ(pick_index(*g, 0.0), 0u);
  EXPECT_EQ(pick_index(*g, 0.2), 0u);
  EXPECT_EQ(pick_index(*g, 0.33), 0u);
  EXPECT_EQ(pick_index(*g, 0.34), 1u);
  EXPECT_EQ(pick_index(*g, 0.5), 1u);
  EXPECT_EQ(pick_index(*g, 0.66), 1u);
  EXPECT_EQ(pick_index(*g, 0.67), 2u);
  EXPECT_EQ(pick_index(*g, 0.9), 2u);
  EXPECT_EQ(pick_index(*g, kAlmostOne), 2u);
}

TEST(RouterTest, UniformEachIndexForItsSlice) {
  std::vector<config::Deployment> ds;
  for (int i = 0; i < 7; ++i) ds.push_back(deployment("m", "d" + std::to_string(i)));
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  const double n = 7;
  for (std::size_t i = 0; i < 7; ++i) {
    const double lo = static_cast<double>(i) / n, hi = static_cast<double>(i + 1) / n;
    EXPECT_EQ(pick_index(*g, lo + 1e-9), i);
    EXPECT_EQ(pick_index(*g, (lo + hi) / 2), i);
    EXPECT_EQ(pick_index(*g, hi - 1e-9), i);
  }
}

TEST(RouterTest, WeightedByWeight) {
  std::vector<config::Deployment> ds = {deployment("m", "a", 1.0), deployment("m", "b", 3.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->cumulative_weights, (std::vector<double>{1.0, 4.0}));
  // a owns [0, 0.25), b owns [0.25, 1).
  EXPECT_EQ(pick_index(*g, 0.0), 0u);
  EXPECT_EQ(pick_index(*g, 0.24), 0u);
  EXPECT_EQ(pick_index(*g, 0.25), 1u);
  EXPECT_EQ(pick_index(*g, 0.26), 1u);
  EXPECT_EQ(pick_index(*g, 0.5), 1u);
  EXPECT_EQ(pick_index(*g, kAlmostOne), 1u);
}

TEST(RouterTest, ZeroWeightNeverPicked) {
  std::vector<config::Deployment> ds = {deployment("m", "a", 2.0), deployment("m", "b", 0.0),
                                        deployment("m", "c", 2.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  for (int i = 0; i < 1000; ++i) {
    const double u = i / 1000.0;
    EXPECT_NE(pick_index(*g, u), 1u) << "u=" << u;
  }
  EXPECT_EQ(pick_index(*g, 0.0), 0u);
  EXPECT_EQ(pick_index(*g, 0.49), 0u);
  EXPECT_EQ(pick_index(*g, 0.5), 2u);
  EXPECT_EQ(pick_index(*g, kAlmostOne), 2u);
}

TEST(RouterTest, AllZeroWeightsFallBackToUniform) {
  std::vector<config::Deployment> ds = {deployment("m", "a", 0.0), deployment("m", "b", 0.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->cumulative_weights.empty());
  EXPECT_EQ(pick_index(*g, 0.1), 0u);
  EXPECT_EQ(pick_index(*g, 0.9), 1u);
}

TEST(RouterTest, WeightTakesPrecedenceOverRpmAndTpm) {
  std::vector<config::Deployment> ds = {deployment("m", "a", 1.0, 1000.0, 1.0),
                                        deployment("m", "b", 1.0, 1.0, 1000.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->cumulative_weights, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(pick_index(*g, 0.49), 0u);
  EXPECT_EQ(pick_index(*g, 0.51), 1u);
}

TEST(RouterTest, FallsBackToRpm) {
  std::vector<config::Deployment> ds = {deployment("m", "a", {}, 100.0, 1.0),
                                        deployment("m", "b", {}, 300.0, 1.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->cumulative_weights, (std::vector<double>{100.0, 400.0}));
  EXPECT_EQ(pick_index(*g, 0.24), 0u);
  EXPECT_EQ(pick_index(*g, 0.26), 1u);
}

TEST(RouterTest, FallsBackToTpm) {
  std::vector<config::Deployment> ds = {deployment("m", "a", {}, {}, 1000.0), deployment("m", "b", {}, {}, 9000.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->cumulative_weights, (std::vector<double>{1000.0, 10000.0}));
  EXPECT_EQ(pick_index(*g, 0.09), 0u);
  EXPECT_EQ(pick_index(*g, 0.11), 1u);
}

TEST(RouterTest, WeightsArePerGroup) {
  std::vector<config::Deployment> ds = {deployment("w", "a", 1.0), deployment("u", "b"),
                                        deployment("w", "c", 9.0), deployment("u", "d")};
  Router router(ds);
  const ModelGroup* w = router.group("w");
  const ModelGroup* u = router.group("u");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(w->cumulative_weights, (std::vector<double>{1.0, 10.0}));
  EXPECT_TRUE(u->cumulative_weights.empty());
  EXPECT_EQ(Router::pick(*w, 0.05), &ds[0]);
  EXPECT_EQ(Router::pick(*w, 0.15), &ds[2]);
  EXPECT_EQ(Router::pick(*u, 0.45), &ds[1]);
  EXPECT_EQ(Router::pick(*u, 0.55), &ds[3]);
}

std::vector<double> frequencies(const ModelGroup& g, std::uint64_t seed, int n) {
  FastRandom rng(seed);
  std::vector<double> counts(g.deployments.size(), 0.0);
  for (int i = 0; i < n; ++i) counts[pick_index(g, rng.uniform())] += 1;
  for (auto& c : counts) c /= n;
  return counts;
}

TEST(RouterTest, WeightedDistribution) {
  std::vector<config::Deployment> ds = {deployment("m", "a", 1.0), deployment("m", "b", 2.0),
                                        deployment("m", "c", 7.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  auto f = frequencies(*g, 42, 200'000);
  EXPECT_NEAR(f[0], 0.1, 0.01);
  EXPECT_NEAR(f[1], 0.2, 0.01);
  EXPECT_NEAR(f[2], 0.7, 0.01);
}

TEST(RouterTest, RpmDistribution) {
  std::vector<config::Deployment> ds = {deployment("m", "a", {}, 600.0), deployment("m", "b", {}, 200.0)};
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  auto f = frequencies(*g, 7, 200'000);
  EXPECT_NEAR(f[0], 0.75, 0.01);
  EXPECT_NEAR(f[1], 0.25, 0.01);
}

TEST(RouterTest, UniformDistribution) {
  std::vector<config::Deployment> ds;
  for (int i = 0; i < 4; ++i) ds.push_back(deployment("m", "d" + std::to_string(i)));
  Router router(ds);
  const ModelGroup* g = router.group("m");
  ASSERT_NE(g, nullptr);
  auto f = frequencies(*g, 12345, 200'000);
  for (double x : f) EXPECT_NEAR(x, 0.25, 0.01);
}

}  // namespace
}  // namespace sy::router
