// Unit tests for the learners of src/router/ml/: each must learn the synthetic known answer (code questions
// to coder-7b, arithmetic to math-7b) and route unseen questions of each kind to the right model; training is
// deterministic for a seed, whatever the number of threads; the size baselines follow the models' sizes.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "router/ml/artifact.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "router_ml_test_support.h"

namespace sy::router::ml {
namespace {

using testing::Topic;

std::shared_ptr<const Predictor> trained(const std::string& strategy, const Dataset& data,
                                         unsigned threads = 2, std::vector<std::string> params = {}) {
  Result<TrainedArtifact> artifact =
      train_artifact(strategy, data, testing::synthetic_models(), params, /*seed=*/7, threads);
  EXPECT_TRUE(artifact.ok()) << (artifact.ok() ? "" : artifact.error().message);
  if (!artifact.ok()) return nullptr;
  Result<std::shared_ptr<const Predictor>> loaded = load_predictor(as_bytes(artifact.value().bytes));
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
  return loaded.ok() ? loaded.value() : nullptr;
}

std::size_t argmax(const std::vector<float>& v) {
  return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

class LearnerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LearnerTest, RoutesUnseenQuestionsToTheModelThatAnswersTheirKind) {
  const Dataset data = testing::synthetic_dataset(240, 1);
  const auto predictor = trained(GetParam(), data);
  ASSERT_TRUE(predictor);
  EXPECT_EQ(predictor->strategy(), GetParam());
  ASSERT_EQ(predictor->models().size(), 3u);
  EXPECT_EQ(predictor->models()[1], "coder-7b");
  EXPECT_EQ(predictor->checksum().size(), 64u);

  FastRandom random(99);  // another seed: other combinations than training saw
  std::vector<float> quality(3);
  int right = 0, total = 0;
  for (int i = 0; i < 60; ++i) {
    const Topic topic = i % 2 ? Topic::math : Topic::code;
    std::string query = testing::synthetic_query(topic, random);
    const bool seen = std::find(data.queries.begin(), data.queries.end(), query) != data.queries.end();
    if (seen) continue;
    predictor->predict(query, quality);
    for (float q : quality) EXPECT_TRUE(q >= 0.0f && q <= 1.0f) << q;
    right += argmax(quality) == (topic == Topic::code ? 1u : 2u);
    ++total;
  }
  ASSERT_GT(total, 20);
  EXPECT_EQ(right, total) << GetParam() << " routed " << right << " of " << total
                          << " unseen questions right";
}

TEST_P(LearnerTest, TrainingIsDeterministicWhateverTheThreadCount) {
  const Dataset data = testing::synthetic_dataset(120, 2);
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  Result<TrainedArtifact> one = train_artifact(GetParam(), data, testing::synthetic_models(), {}, 5, 1);
  Result<TrainedArtifact> two = train_artifact(GetParam(), data, testing::synthetic_models(), {}, 5, 2);
  Result<TrainedArtifact> three = train_artifact(GetParam(), data, testing::synthetic_models(), {}, 5, 3);
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(one.ok() && two.ok() && three.ok());
  EXPECT_TRUE(one.value().bytes == two.value().bytes);
  EXPECT_TRUE(one.value().bytes == three.value().bytes);
}

INSTANTIATE_TEST_SUITE_P(Learners, LearnerTest, ::testing::Values("knn", "mlp", "svm", "mf", "elo"));

TEST(LearnerTest, AnotherSeedGivesAnotherModel) {
  const Dataset data = testing::synthetic_dataset(120, 2);
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  Result<TrainedArtifact> a = train_artifact("mlp", data, testing::synthetic_models(), {}, 5, 2);
  Result<TrainedArtifact> b = train_artifact("mlp", data, testing::synthetic_models(), {}, 6, 2);
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.value().bytes, b.value().bytes);
}

TEST(LearnerTest, SizeBaselinesPreferBySizeThenPrice) {
  const Dataset data = testing::synthetic_dataset(10, 3);
  std::vector<float> q(3);
  const auto smallest = trained("smallest", data);
  ASSERT_TRUE(smallest);
  smallest->predict("anything", q);
  EXPECT_EQ(argmax(q), 2u);  // math-7b: as small as coder-7b, and cheaper
  EXPECT_LT(q[0], q[1]);     // big-70b last
  const auto largest = trained("largest", data);
  ASSERT_TRUE(largest);
  largest->predict("anything", q);
  EXPECT_EQ(argmax(q), 0u);
}

TEST(LearnerTest, UnknownParametersAndStrategiesAreErrors) {
  const Dataset data = testing::synthetic_dataset(20, 3);
  Result<TrainedArtifact> typo = train_artifact("knn", data, testing::synthetic_models(), {"kk=3"}, 1, 1);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("kk"), std::string::npos);
  EXPECT_FALSE(train_artifact("knn", data, testing::synthetic_models(), {"k"}, 1, 1).ok());
  EXPECT_FALSE(train_artifact("forest", data, testing::synthetic_models(), {}, 1, 1).ok());
  EXPECT_FALSE(train_artifact("knn", data, {{"big-70b", 70, 1, 1}}, {}, 1, 1).ok());  // models missing
  EXPECT_FALSE(train_artifact("knn", data, testing::synthetic_models(), {"char_ngram_max=9"}, 1, 1).ok());
}

TEST(LearnerTest, KnnParametersChangeTheVote) {
  const Dataset data = testing::synthetic_dataset(60, 4);
  // With one neighbour and no prior, the prediction is exactly that neighbour's scores.
  const auto predictor = trained("knn", data, 1, {"k=1", "prior=0"});
  ASSERT_TRUE(predictor);
  std::vector<float> q(3);
  predictor->predict(data.queries[0], q);
  EXPECT_FLOAT_EQ(q[0], 0.4f);
  EXPECT_FLOAT_EQ(q[1], 1.0f);
  EXPECT_FLOAT_EQ(q[2], 0.0f);
  // A text sharing nothing with training: the models' means.
  predictor->predict("zzzz qqqq", q);
  EXPECT_NEAR(q[1], 0.5f, 1e-6);
}

TEST(LearnerTest, PredictIsThreadSafe) {
  const Dataset data = testing::synthetic_dataset(120, 5);
  for (const char* strategy : {"knn", "mlp", "elo"}) {
    const auto predictor = trained(strategy, data);
    ASSERT_TRUE(predictor);
    std::vector<std::vector<float>> expected;
    for (const auto& q : data.queries) {
      expected.emplace_back(3);
      predictor->predict(q, expected.back());
    }
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        std::vector<float> out(3);
        for (int round = 0; round < 5; ++round) {
          for (std::size_t i = 0; i < data.queries.size(); ++i) {
            predictor->predict(data.queries[i], out);
            if (out != expected[i]) ++mismatches;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0) << strategy;
  }
}

}  // namespace
}  // namespace sy::router::ml
