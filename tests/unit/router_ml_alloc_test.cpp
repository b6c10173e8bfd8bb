// Learned routing's per-request work must not allocate once warm: routing_text, featurising, every learner's
// predict and rank_candidates. This file replaces the unit-test binary's global operator new with one that
// counts the allocations of the calling thread while counting is switched on (off everywhere else).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "api/routing_embedding.h"
#include "config/config.h"
#include "router/ml/artifact.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "router/router.h"
#include "router_ml_test_support.h"
#include "util/random.h"

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

// Every unaligned form is replaced, so that whatever allocates through one of them frees through another of
// them (the aligned forms are left to the library: they pair among themselves).
void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (counting) ++allocations;
  return std::malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace sy::router::ml {
namespace {

TEST(LearnedRoutingAllocationTest, TheCounterCounts) {
  counting = true;
  allocations = 0;
  std::vector<int> v(100);
  counting = false;
  EXPECT_EQ(v.size(), 100u);
  EXPECT_EQ(allocations, 1u);
}

TEST(LearnedRoutingAllocationTest, NothingIsAllocatedOnceWarm) {
  const Dataset data = testing::synthetic_dataset(120, 3);
  const boost::json::object body = boost::json::parse(R"({"messages": [
      {"role": "system", "content": "You are a careful assistant."},
      {"role": "user", "content": [{"type": "text", "text": "Write a python function to sort a list."}]}]})")
                                       .as_object();
  std::string long_prompt;
  while (long_prompt.size() < 2000)
    long_prompt += "How do I merge a dictionary in rust? Solve 3x + 4 = 19. 函数 ";
  for (const char* strategy : {"knn", "mlp", "svm", "mf", "elo", "smallest"}) {
    const auto loaded = testing::trained_predictor(strategy, data);
    ASSERT_TRUE(loaded) << strategy;
    const Predictor& p = *loaded;
    std::vector<float> quality(3);
    const std::vector<double> cost{3.0, 1.0, 2.0};
    std::vector<std::uint32_t> order(3);
    std::string text;
    auto route = [&] {
      routing_text(body, text);
      p.predict(text, quality);
      p.predict(long_prompt, quality);
      rank_candidates(quality, cost, Tradeoff{0.1, 1.0}, order);
    };
    route();  // warm: the thread's buffers grow to size
    counting = true;
    allocations = 0;
    for (int i = 0; i < 20; ++i) route();
    counting = false;
    EXPECT_EQ(allocations, 0u) << strategy;
  }
}

// The online half around it: a whole Router::select with a learned strategy (the artifact read, the
// deployment mapping, prices, ordering, the replicas' shuffle, an unmapped deployment after them) allocates
// nothing once warm either, quality first or hybrid (which also estimates the prompt's tokens).
TEST(LearnedRoutingAllocationTest, RouterSelectAllocatesNothingOnceWarm) {
  const Dataset data = testing::synthetic_dataset(120, 3);
  Result<TrainedArtifact> artifact = train_artifact("knn", data, testing::synthetic_models(), {}, 1, 1);
  ASSERT_TRUE(artifact.ok());
  const std::string path =
      (std::filesystem::temp_directory_path() / ("switchyard-alloc-" + std::to_string(::getpid()) + ".syra"))
          .string();
  std::ofstream(path, std::ios::binary) << artifact.value().bytes;
  std::vector<config::Deployment> list;
  std::vector<std::string> models(data.models.begin(), data.models.end());
  models.push_back(data.models.front());  // a replica
  models.push_back("not-in-the-artifact");
  for (std::size_t i = 0; i < models.size(); ++i) {
    config::Deployment d;
    d.model_name = "g";
    d.params.provider = "openai";
    d.params.provider_model = models[i];
    d.params.model = "openai/" + models[i];
    d.info.id = "d" + std::to_string(i);
    d.info.input_cost_per_token = 1e-6 * static_cast<double>(i + 1);
    d.info.output_cost_per_token = 2e-6;
    list.push_back(std::move(d));
  }
  std::string prompt;
  while (prompt.size() < 2000) prompt += "How do I merge a dictionary in rust? Solve 3x + 4 = 19. ";
  boost::json::object body = boost::json::parse(R"({"model": "g", "messages": [
      {"role": "system", "content": "You are a careful assistant."}, {"role": "user", "content": ""}]})")
                                 .as_object();
  body["messages"].as_array()[1].as_object()["content"] = prompt;
  for (const char* strategy : {"llmrouter-knn", "llmrouter-hybrid"}) {
    config::RouterSettings settings;
    settings.routing_strategy = strategy;
    settings.learned.model_path = path;
    settings.learned.quality_threshold = 0.1;
    settings.learned.cost_weight = 1;
    const Router router(list, settings);
    const ModelGroup& group = *router.group("g");
    RouteRequest request;
    request.body = &body;
    FastRandom random(1);
    for (int i = 0; i < 3; ++i) router.select(group, request, {}, random);  // warm
    counting = true;
    allocations = 0;
    for (int i = 0; i < 20; ++i) {
      const Selection s = router.select(group, request, {}, random);
      EXPECT_NE(s.deployment, nullptr);
    }
    counting = false;
    EXPECT_EQ(allocations, 0u) << strategy;
    EXPECT_FALSE(router.select(group, request, {}, random).decision.strategy_version.empty()) << strategy;
  }
  std::filesystem::remove(path);
}

// With external embeddings: every learner's predict with an embedding, and the gateway's cached-embedding
// path (routing text, cache key and lookup, the request's buffer from the thread's pool) before a
// Router::select that routes on it.
TEST(LearnedRoutingAllocationTest, PredictingWithAnEmbeddingAllocatesNothingOnceWarm) {
  const Dataset data = testing::parity_dataset(120);
  const std::string query = testing::parity_query(4242);
  const std::vector<float> embedding = testing::parity_embedding(query);
  for (const char* strategy : {"knn", "mlp", "svm", "mf", "elo"}) {
    const auto loaded = testing::trained_predictor(strategy, data);
    ASSERT_TRUE(loaded) << strategy;
    const Predictor& p = *loaded;
    std::vector<float> quality(3);
    p.predict(query, embedding, quality);
    p.predict(query, {}, quality);
    counting = true;
    allocations = 0;
    for (int i = 0; i < 20; ++i) {
      p.predict(query, embedding, quality);
      p.predict(query, {}, quality);
    }
    counting = false;
    EXPECT_EQ(allocations, 0u) << strategy;
  }
}

TEST(LearnedRoutingAllocationTest, ACachedEmbeddingAndTheSelectOnItAllocateNothingOnceWarm) {
  Result<TrainedArtifact> artifact =
      train_artifact("knn", testing::parity_dataset(120), testing::synthetic_models(), {}, 1, 1);
  ASSERT_TRUE(artifact.ok());
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("switchyard-alloc-emb-" + std::to_string(::getpid()) + ".syra"))
                               .string();
  std::ofstream(path, std::ios::binary) << artifact.value().bytes;
  std::vector<config::Deployment> list;
  for (const char* model : {"big-70b", "coder-7b", "math-7b", "embed-model"}) {
    config::Deployment d;
    d.model_name = std::string(model) == "embed-model" ? "embed" : "g";
    d.params.provider = "openai";
    d.params.provider_model = model;
    d.params.model = std::string("openai/") + model;
    d.info.id = model;
    list.push_back(std::move(d));
  }
  config::RouterSettings settings;
  settings.routing_strategy = "llmrouter-knn";
  settings.learned.model_path = path;
  settings.learned.embedding_model = "embed";
  const Router router(list, settings);
  const ModelGroup& group = *router.group("g");
  const api::RoutingEmbedder embedder(16);
  const std::string query = testing::parity_query(4242);
  boost::json::object body =
      boost::json::parse(R"({"model": "g", "messages": [{"role": "user", "content": ""}]})").as_object();
  body["messages"].as_array()[0].as_object()["content"] = query;
  {
    RouteRequest request;
    request.body = &body;
    api::EmbeddingBuffer buffer;
    const auto pending = embedder.from_cache(router, group, request, buffer);
    ASSERT_TRUE(pending) << "a miss first";
    EXPECT_EQ(pending->need.model, "embed");
    embedder.remember(*pending, testing::parity_embedding(query));
  }
  FastRandom random(1);
  std::size_t wrong = 0;
  auto route = [&] {
    RouteRequest request;
    request.body = &body;
    api::EmbeddingBuffer buffer;
    wrong += embedder.from_cache(router, group, request, buffer).has_value();
    wrong += request.embedding_status != "cached";
    const Selection s = router.select(group, request, {}, random);
    wrong += s.decision.embedding != "cached" || s.deployment->info.id != "coder-7b";
  };
  for (int i = 0; i < 3; ++i) route();  // warm
  counting = true;
  allocations = 0;
  for (int i = 0; i < 20; ++i) route();
  counting = false;
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(wrong, 0u);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sy::router::ml
