// Unit tests for the cost/quality trade-off (rank_candidates), `switchyard eval`'s metrics on a dataset small
// enough to compute by hand, the deterministic split, and the models and data file readers.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
#include "router/ml/evaluate.h"
#include "router/ml/predictor.h"

namespace sy::router::ml {
namespace {

std::vector<std::uint32_t> ranked(std::vector<float> q, std::vector<double> c, Tradeoff t) {
  std::vector<std::uint32_t> order(q.size());
  rank_candidates(q, c, t, order);
  return order;
}

using Order = std::vector<std::uint32_t>;

TEST(RankCandidatesTest, BestQualityFirstWithoutATradeoff) {
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f}, {1, 10, 2}, {0.0, 0.0}), (Order{1, 2, 0}));
}

TEST(RankCandidatesTest, WithinTheThresholdRankedByQualityLessWeightedCost) {
  // 0.9 - 1 * 10/10 = -0.1 against 0.85 - 1 * 2/10 = 0.65; 0.5 is outside the threshold and follows.
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f}, {1, 10, 2}, {0.1, 1.0}), (Order{2, 1, 0}));
  // No cost weight: within the threshold by quality.
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f}, {1, 10, 2}, {0.1, 0.0}), (Order{1, 2, 0}));
  // An infinite cost weight: the cheapest within the threshold (equal cost: by quality), the rest by quality.
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f}, {1, 10, 2}, {0.1, kCheapestWithin}), (Order{2, 1, 0}));
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f, 0.88f}, {1, 10, 2, 2}, {0.1, kCheapestWithin}), (Order{3, 2, 1, 0}));
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f}, {1, 10, 2}, {1.0, kCheapestWithin}), (Order{0, 2, 1}));
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f}, {1, 10, 2}, {0.0, kCheapestWithin}), (Order{1, 2, 0}));
  // A large threshold and a large cost weight: the cheapest first.
  EXPECT_EQ(ranked({0.5f, 0.9f, 0.85f}, {1, 10, 2}, {1.0, 1000.0}), (Order{0, 2, 1}));
}

TEST(RankCandidatesTest, TiesGoToTheCheaperThenTheFirst) {
  EXPECT_EQ(ranked({0.7f, 0.7f, 0.7f}, {3, 1, 1}, {0.0, 0.0}), (Order{1, 2, 0}));
  // Outside the threshold: by quality, then cost.
  EXPECT_EQ(ranked({0.9f, 0.2f, 0.2f}, {5, 2, 1}, {0.1, 0.0}), (Order{0, 2, 1}));
}

TEST(RankCandidatesTest, NanQualityRanksLastAndEmptyInputIsFine) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(ranked({nan, 0.1f, 0.3f}, {1, 1, 1}, {1.0, 1.0}), (Order{2, 1, 0}));
  EXPECT_EQ(ranked({nan, nan}, {1, 2}, {0.0, 0.0}), (Order{0, 1}));
  EXPECT_EQ(ranked({}, {}, {0.5, 0.5}), Order{});
}

// A predictor that answers from a table keyed by the query.
class TablePredictor final : public Predictor {
 public:
  explicit TablePredictor(std::map<std::string, std::vector<float>> table) : table_(std::move(table)) {}
  std::string_view strategy() const noexcept override { return "table"; }
  std::string_view checksum() const noexcept override { return "00"; }
  std::span<const std::string> models() const noexcept override { return models_; }
  bool predict(std::string_view text, std::span<const float>, std::span<float> out) const override {
    const auto& q = table_.at(std::string(text));
    std::copy(q.begin(), q.end(), out.begin());
    return false;
  }

 private:
  std::vector<std::string> models_{"a", "b"};
  std::map<std::string, std::vector<float>> table_;
};

// Model a costs 256e-6 a query, b 1024e-6 (no input price: the prompt's length does not matter).
// Scores a: 1 0 0 1 (0.5), b: 1 1 0 1 (0.75). The predictor predicts the true scores.
TEST(EvaluateTest, HandComputedMetrics) {
  Dataset d;
  d.models = {"a", "b"};
  d.queries = {"q0", "q1", "q2", "q3"};
  d.scores = {1, 1, 0, 1, 0, 0, 1, 1};
  const std::vector<ModelInfo> models{{"a", 7, 0.0, 1.0}, {"b", 70, 0.0, 4.0}};
  TablePredictor p({{"q0", {1, 1}}, {"q1", {0, 1}}, {"q2", {0, 0}}, {"q3", {1, 1}}});
  EvalOptions o;
  o.points = 2;  // thresholds 0 and 1, cost_weight 1000: the cheapest within the threshold
  Result<EvalReport> r = evaluate(p, d, models, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const EvalReport& e = r.value();
  EXPECT_EQ(e.best_single.model, "b");
  EXPECT_DOUBLE_EQ(e.best_single.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(e.best_single.cost, 1024e-6);
  EXPECT_EQ(e.cheapest.model, "a");
  EXPECT_DOUBLE_EQ(e.cheapest.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(e.cheapest.cost, 256e-6);
  // The oracle takes the cheapest of the best answers: a, b, a, a.
  EXPECT_DOUBLE_EQ(e.oracle.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(e.oracle.cost, 448e-6);
  ASSERT_EQ(e.points.size(), 2u);
  EXPECT_DOUBLE_EQ(e.points[0].threshold, 0.0);
  EXPECT_DOUBLE_EQ(e.points[0].accuracy, 0.75);  // ties in predicted quality go to the cheaper model
  EXPECT_DOUBLE_EQ(e.points[0].cost, 448e-6);
  EXPECT_DOUBLE_EQ(e.points[1].threshold, 1.0);
  EXPECT_DOUBLE_EQ(e.points[1].accuracy, 0.5);
  EXPECT_DOUBLE_EQ(e.points[1].cost, 256e-6);
  // Normalised cost of the first point: (448 - 256) / (1024 - 256) = 0.25. The curve rises from (0, 0.5) to
  // (0.25, 0.75) and stays: AUC = 0.25 * 0.625 + 0.75 * 0.75 = 0.71875; APGR = 0.21875 / 0.25 = 0.875.
  EXPECT_NEAR(e.auc, 0.71875, 1e-12);
  ASSERT_TRUE(e.apgr);
  EXPECT_NEAR(*e.apgr, 0.875, 1e-12);
  ASSERT_TRUE(e.cpt50 && e.cpt80 && e.cpt100);
  EXPECT_NEAR(*e.cpt50, 0.125, 1e-12);
  EXPECT_NEAR(*e.cpt80, 0.2, 1e-12);
  EXPECT_NEAR(*e.cpt100, 0.25, 1e-12);
  ASSERT_TRUE(e.match);
  EXPECT_NEAR(e.match->cost / e.best_single.cost, 0.4375, 1e-12);
  // Random at the cost of the most accurate point: a quarter of the way from a to b.
  EXPECT_NEAR(e.random.cost, 448e-6, 1e-15);
  EXPECT_NEAR(e.random.accuracy, 0.5625, 1e-12);

  const boost::json::object j = boost::json::parse(report_json(e)).as_object();
  for (const char* key : {"best_single", "cheapest", "random", "oracle"}) {
    const auto& b = j.at("baselines").at(key).as_object();
    EXPECT_TRUE(b.contains("model") && b.contains("accuracy") && b.contains("cost")) << key;
  }
  EXPECT_EQ(j.at("points").as_array().size(), 2u);
  EXPECT_TRUE(j.at("points").as_array()[0].as_object().contains("threshold"));
  EXPECT_NEAR(j.at("auc").as_double(), 0.71875, 1e-12);
  EXPECT_NEAR(j.at("apgr").as_double(), 0.875, 1e-12);
  EXPECT_NE(report_text(e).find("matches the best single model's accuracy"), std::string::npos)
      << report_text(e);
}

TEST(EvaluateTest, CostWeightSweepAndMismatchedModels) {
  Dataset d;
  d.models = {"a", "b", "c"};
  d.queries = {"q0", "q1"};
  d.scores = {1, 0, 0, 0, 1, 0};
  const std::vector<ModelInfo> models{{"a", 7, 0.0, 1.0}, {"b", 70, 0.0, 4.0}};
  TablePredictor p({{"q0", {0.9f, 0.2f}}, {"q1", {0.1f, 0.8f}}});
  EvalOptions o;
  o.points = 3;
  o.sweep_cost_weight = true;
  Result<EvalReport> r = evaluate(p, d, models, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().ignored_models, std::vector<std::string>{"c"});
  EXPECT_DOUBLE_EQ(r.value().points[0].cost_weight, 0.0);
  EXPECT_DOUBLE_EQ(r.value().points[2].cost_weight, 1.0);
  EXPECT_DOUBLE_EQ(r.value().points[0].accuracy, 1.0);  // argmax of the predictions
  // cost_weight 1: q1's b (0.8 - 1) loses to a (0.1 - 0.25).
  EXPECT_DOUBLE_EQ(r.value().points[2].accuracy, 0.5);
  o.sweep_cost_weight = false;  // thresholds spaced quadratically
  Result<EvalReport> t = evaluate(p, d, models, o);
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(t.value().points[1].threshold, 0.25);
  EXPECT_DOUBLE_EQ(t.value().points[2].threshold, 1.0);
  EXPECT_DOUBLE_EQ(t.value().points[2].cost_weight, 1000.0);
  o.points = 1;
  EXPECT_FALSE(evaluate(p, d, models, o).ok());
  EXPECT_FALSE(evaluate(p, d, {{"a", 7, 0, 1}}, {}).ok());  // b has no price
}

// ---- split ----

TEST(SplitTest, ByAHashOfTheQuery) {
  std::size_t in = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string q = "query number " + std::to_string(i);
    const bool side = in_split(q, 0.2, 7);
    EXPECT_EQ(side, in_split(q, 0.2, 7));
    in += side;
  }
  EXPECT_NEAR(static_cast<double>(in) / 10000, 0.2, 0.02);
  std::size_t differ = 0;
  for (int i = 0; i < 1000; ++i)
    differ += in_split(std::to_string(i), 0.5, 1) != in_split(std::to_string(i), 0.5, 2);
  EXPECT_GT(differ, 300u);
  EXPECT_FALSE(in_split("x", 0.0, 1));
  EXPECT_TRUE(in_split("x", 1.0, 1));
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SplitTest, FilesAreDeterministicAndAQueryNeverLandsOnBothSides) {
  const auto dir = std::filesystem::temp_directory_path() / "switchyard_split_test";
  std::filesystem::create_directories(dir);
  std::ofstream data(dir / "data.jsonl");
  for (int i = 0; i < 300; ++i) {
    data << R"({"query": "q)" << i % 100 << R"(", "scores": {"a": 1}, "id": )" << i << "}\n";
  }
  data.close();
  auto run = [&](std::uint64_t seed, const char* train, const char* test) {
    Result<SplitCounts> c = split_dataset((dir / "data.jsonl").string(), 0.3, seed, (dir / train).string(),
                                          (dir / test).string());
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c.value().train + c.value().test, 300u);
    EXPECT_EQ(c.value().test % 3, 0u);  // each query thrice, always together
  };
  run(5, "train1", "test1");
  run(5, "train2", "test2");
  run(6, "train3", "test3");
  EXPECT_EQ(slurp(dir / "train1"), slurp(dir / "train2"));
  EXPECT_EQ(slurp(dir / "test1"), slurp(dir / "test2"));
  EXPECT_NE(slurp(dir / "test1"), slurp(dir / "test3"));
  EXPECT_FALSE(
      split_dataset((dir / "missing").string(), 0.3, 1, (dir / "a").string(), (dir / "b").string()).ok());
  EXPECT_FALSE(
      split_dataset((dir / "data.jsonl").string(), 1.5, 1, (dir / "a").string(), (dir / "b").string()).ok());
  std::filesystem::remove_all(dir);
}

// ---- files ----

TEST(CandidatesTest, BothShapes) {
  Result<std::vector<ModelInfo>> ours = parse_candidates(
      R"({"m-9b": {"size": "9B", "input_price_per_mtok": 0.1, "output_price_per_mtok": 0.2},
          "a-350m": {"size": "350M", "input_price_per_mtok": 0, "output_price_per_mtok": 0}})");
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  ASSERT_EQ(ours.value().size(), 2u);
  EXPECT_EQ(ours.value()[0].name, "a-350m");  // sorted
  EXPECT_DOUBLE_EQ(ours.value()[0].size_b, 0.35);
  EXPECT_DOUBLE_EQ(ours.value()[1].output_price, 0.2);
  Result<std::vector<ModelInfo>> llmrouter = parse_candidates(
      R"({"qwen2.5-7b-instruct": {"size": "7B", "feature": "text", "input_price": 0.20, "output_price": "0.30",
          "model": "qwen/qwen2.5-7b-instruct", "service": "NVIDIA"}})");
  ASSERT_TRUE(llmrouter.ok()) << llmrouter.error().message;
  EXPECT_DOUBLE_EQ(llmrouter.value()[0].size_b, 7);
  EXPECT_DOUBLE_EQ(llmrouter.value()[0].output_price, 0.3);
  EXPECT_DOUBLE_EQ(request_cost(llmrouter.value()[0], 1000), (1000 * 0.2 + 256 * 0.3) / 1e6);
  EXPECT_FALSE(parse_candidates("[]").ok());
  EXPECT_FALSE(parse_candidates(R"({"m": {"size": "7B"}})").ok());
  EXPECT_FALSE(parse_candidates(R"({"m": {"input_price": -1, "output_price": 1}})").ok());
  EXPECT_FALSE(parse_candidates(R"({"m": {"input_price": 1, "output_price": 1, "size": "big"}})").ok());
  EXPECT_DOUBLE_EQ(parse_model_size("1.5b"), 1.5);
  EXPECT_DOUBLE_EQ(parse_model_size("70"), 70);
  EXPECT_LT(parse_model_size("B"), 0);
}

TEST(DatasetTest, ParsesAndNamesTheBadLine) {
  Result<Dataset> d = parse_dataset(
      "{\"query\": \"x\", \"scores\": {\"b\": 0.5, \"a\": 1}}\n\n{\"query\": \"y\", \"scores\": {\"a\": 0, "
      "\"b\": 1}, \"extra\": 1}\n");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d.value().models, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.value().rows(), 2u);
  EXPECT_FLOAT_EQ(d.value().score(0, 1), 0.5f);
  EXPECT_FLOAT_EQ(d.value().score(1, 0), 0.0f);
  EXPECT_EQ(d.value().digest.size(), 64u);
  auto error = [](const char* text) {
    Result<Dataset> r = parse_dataset(text, "f.jsonl");
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_NE(error("{\"query\": \"x\", \"scores\": {\"a\": 1}}\n{\"query\": \"y\", \"scores\": {\"b\": 1}}")
                .find("f.jsonl:2"),
            std::string::npos);
  EXPECT_NE(error("{\"query\": \"x\", \"scores\": {\"a\": 2}}").find("0..1"), std::string::npos);
  EXPECT_NE(error("not json").find("f.jsonl:1"), std::string::npos);
  EXPECT_NE(error("").find("no rows"), std::string::npos);
}

}  // namespace
}  // namespace sy::router::ml
