// Learned routing's per-request work must not allocate once warm: routing_text, featurising, every learner's
// predict and rank_candidates. This file replaces the unit-test binary's global operator new with one that
// counts the allocations of the calling thread while counting is switched on (off everywhere else).
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "router/ml/artifact.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "router_ml_test_support.h"

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
    Result<TrainedArtifact> artifact = train_artifact(strategy, data, testing::synthetic_models(), {}, 1, 1);
    ASSERT_TRUE(artifact.ok());
    auto loaded = load_predictor(as_bytes(artifact.value().bytes));
    ASSERT_TRUE(loaded.ok());
    const Predictor& p = *loaded.value();
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

}  // namespace
}  // namespace sy::router::ml
