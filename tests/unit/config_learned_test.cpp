// Unit tests for the learned routing part of the config loader: the llmrouter-* strategies, their
// routing_strategy_args (model_path, llm_data_path, hybrid trade-off, fallback, hot reload, embedding_model,
// trace_routing_text), A/B experiments and experiment_key, and the diagnostics for bad values.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_support.h"

namespace sy::config {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::kNoEnv;

constexpr std::string_view kModels = R"(model_list:
  - model_name: g
    litellm_params: {model: openai/small-model}
  - model_name: g
    litellm_params: {model: openai/large-model}
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small}
)";

// An artifact file and a candidates file in a fresh folder.
class Files {
 public:
  Files() {
    dir_ = fs::temp_directory_path() / ("switchyard-config-learned-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(artifact()) << "artifact bytes";
    std::ofstream(candidates()) << R"({"small-model": {"size": "7B", "input_price": 0.2, "output_price": 0.2},
                                       "large-model": {"size": "70B", "input_price": 0.9, "output_price": 0.9,
                                                       "model": "meta/large"}})";
    std::ofstream(bad_candidates()) << R"({"small-model": {"input_price": "free"}})";
  }
  ~Files() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string artifact() const { return (dir_ / "router.artifact").string(); }
  std::string candidates() const { return (dir_ / "llm_candidates.json").string(); }
  std::string bad_candidates() const { return (dir_ / "bad.json").string(); }
  std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
};

LoadResult load(std::string_view router_settings, std::string_view source = "test.yaml") {
  return load_string(std::string(kModels) + "router_settings:\n" + std::string(router_settings), source,
                     kNoEnv);
}

std::string all_diagnostics(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors) out += "error: " + d.to_string() + "\n";
  for (const Diagnostic& d : r.warnings) out += "warning: " + d.to_string() + "\n";
  return out;
}

const Diagnostic* find(const std::vector<Diagnostic>& ds, std::string_view field,
                       std::string_view message = {}) {
  auto it = std::find_if(ds.begin(), ds.end(), [&](const Diagnostic& d) {
    return d.field == field && contains(d.message, message);
  });
  return it == ds.end() ? nullptr : &*it;
}

void expect_error(std::string_view router_settings, std::string_view field, std::string_view message) {
  const LoadResult r = load(router_settings);
  EXPECT_FALSE(r.config) << router_settings;
  EXPECT_NE(find(r.errors, field, message), nullptr) << router_settings << "\n" << all_diagnostics(r);
}

TEST(ConfigLearned, EveryArgument) {
  Files f;
  const LoadResult r = load(
      "  routing_strategy: llmrouter-hybrid\n"
      "  routing_strategy_args:\n"
      "    model_path: " +
      f.artifact() +
      "\n"
      "    llm_data_path: " +
      f.candidates() +
      "\n"
      "    quality_threshold: 0.05\n"
      "    cost_weight: 0.5\n"
      "    expected_output_tokens: 512\n"
      "    fallback_strategy: least-busy\n"
      "    hot_reload: true\n"
      "    reload_interval: 2.5\n"
      "    trace_routing_text: true\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  const RouterSettings& s = r.config->router;
  EXPECT_EQ(s.routing_strategy, "llmrouter-hybrid");
  const LearnedRoutingArgs& a = s.learned;
  EXPECT_EQ(a.model_path, f.artifact());
  EXPECT_EQ(a.llm_data_path, f.candidates());
  ASSERT_EQ(a.candidates.size(), 2u);
  EXPECT_EQ(a.candidates[1].name, "large-model");
  EXPECT_EQ(a.candidates[1].model, "meta/large");
  EXPECT_DOUBLE_EQ(*a.candidates[1].size_billions, 70);
  EXPECT_DOUBLE_EQ(*a.candidates[0].input_cost_per_token, 0.2e-6);
  EXPECT_DOUBLE_EQ(a.quality_threshold, 0.05);
  EXPECT_DOUBLE_EQ(a.cost_weight.value_or(-1), 0.5);
  EXPECT_EQ(a.expected_output_tokens, 512);
  EXPECT_EQ(a.fallback_strategy, "least-busy");
  EXPECT_TRUE(a.hot_reload);
  EXPECT_DOUBLE_EQ(a.reload_interval_seconds, 2.5);
  EXPECT_TRUE(a.trace_routing_text);
  EXPECT_TRUE(s.experiments.empty());
}

TEST(ConfigLearned, Defaults) {
  Files f;
  const LoadResult r = load(
      "  routing_strategy: llmrouter-knn\n"
      "  routing_strategy_args: {model_path: " +
      f.artifact() + "}\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const LearnedRoutingArgs& a = r.config->router.learned;
  EXPECT_EQ(a.quality_threshold, 0);
  EXPECT_FALSE(a.cost_weight.has_value());  // the hybrid: the cheapest within the threshold
  EXPECT_EQ(a.expected_output_tokens, 256);
  EXPECT_EQ(a.fallback_strategy, "simple-shuffle");
  EXPECT_FALSE(a.hot_reload);
  EXPECT_EQ(a.reload_interval_seconds, 30);
  EXPECT_FALSE(a.trace_routing_text);
  EXPECT_TRUE(a.embedding_model.empty());
  EXPECT_EQ(a.embedding_timeout_ms, 100);
  EXPECT_EQ(a.embedding_cache_size, 1024);
  EXPECT_EQ(r.config->router.experiment_key, ExperimentKey::user);
}

TEST(ConfigLearned, EveryLearnedStrategyIsKnown) {
  Files f;
  for (std::string_view name :
       {"llmrouter-knn", "llmrouter-mlp", "llmrouter-svm", "llmrouter-mf", "llmrouter-elo",
        "llmrouter-smallest", "llmrouter-largest", "llmrouter-hybrid"}) {
    const LoadResult r = load("  routing_strategy: " + std::string(name) +
                              "\n  routing_strategy_args: {model_path: " + f.artifact() + "}\n");
    ASSERT_TRUE(r.config) << name << "\n" << all_diagnostics(r);
    EXPECT_EQ(r.config->router.routing_strategy, name);
  }
  expect_error("  routing_strategy: llmrouter-nope\n", "router_settings.routing_strategy",
               "llmrouter-hybrid");
}

TEST(ConfigLearned, ModelPathIsRequiredExceptForSizeBaselinesWithCandidates) {
  expect_error("  routing_strategy: llmrouter-knn\n", "router_settings.routing_strategy_args.model_path",
               "is required for llmrouter-knn");
  expect_error("  routing_strategy: llmrouter-mlp\n  routing_strategy_args: {cost_weight: 1}\n",
               "router_settings.routing_strategy_args.model_path", "is required");
  expect_error("  routing_strategy: llmrouter-smallest\n", "router_settings.routing_strategy_args.model_path",
               "or llm_data_path");
  Files f;
  const LoadResult r = load(
      "  routing_strategy: llmrouter-largest\n"
      "  routing_strategy_args: {llm_data_path: " +
      f.candidates() + "}\n");
  EXPECT_TRUE(r.config) << all_diagnostics(r);
}

TEST(ConfigLearned, MissingArtifactIsAWarningNotAnError) {
  // The file may be deployed after the gateway starts (hot_reload or SIGHUP picks it up).
  const LoadResult r = load(
      "  routing_strategy: llmrouter-knn\n"
      "  routing_strategy_args: {model_path: /nonexistent/switchyard/router.artifact}\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const Diagnostic* w =
      find(r.warnings, "router_settings.routing_strategy_args.model_path", "does not exist");
  ASSERT_NE(w, nullptr) << all_diagnostics(r);
  EXPECT_TRUE(contains(w->message, "simple-shuffle")) << w->message;
}

TEST(ConfigLearned, RelativePathsAreFromTheConfigFilesFolder) {
  Files f;
  const LoadResult r = load(
      "  routing_strategy: llmrouter-knn\n"
      "  routing_strategy_args: {model_path: router.artifact, llm_data_path: "
      "./llm_candidates.json}\n",
      f.dir() + "/config.yaml");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->router.learned.model_path, f.artifact());
  EXPECT_EQ(r.config->router.learned.candidates.size(), 2u);
}

TEST(ConfigLearned, BadValuesAreErrorsOnTheirField) {
  Files f;
  const std::string head =
      "  routing_strategy: llmrouter-hybrid\n  routing_strategy_args:\n    model_path: " + f.artifact() +
      "\n";
  const std::string field = "router_settings.routing_strategy_args.";
  expect_error(head + "    quality_threshold: -0.1\n", field + "quality_threshold", "non-negative number");
  expect_error(head + "    cost_weight: lots\n", field + "cost_weight", "non-negative number");
  expect_error(head + "    expected_output_tokens: 1.5\n", field + "expected_output_tokens", "integer");
  expect_error(head + "    fallback_strategy: random\n", field + "fallback_strategy",
               "unknown routing strategy");
  expect_error(head + "    fallback_strategy: llmrouter-knn\n", field + "fallback_strategy",
               "a learned strategy cannot be the fallback");
  expect_error(head + "    hot_reload: sometimes\n", field + "hot_reload", "true or false");
  expect_error(head + "    reload_interval: 0\n", field + "reload_interval", "positive number");
  expect_error(head + "    trace_routing_text: 3\n", field + "trace_routing_text", "true or false");
  expect_error(head + "    model_path: \"\"\n", field + "model_path", "must not be empty");
  expect_error(head + "    llm_data_path: /nonexistent/switchyard/c.json\n", field + "llm_data_path",
               "cannot be read");
  expect_error(head + "    llm_data_path: " + f.bad_candidates() + "\n", field + "llm_data_path",
               "input_price must be a non-negative number");
  expect_error(head + "    experiment_key: session\n", field + "experiment_key", "must be user or api_key");
}

TEST(ConfigLearned, UnknownArgumentOfALearnedStrategyWarns) {
  Files f;
  const LoadResult r =
      load("  routing_strategy: llmrouter-knn\n  routing_strategy_args:\n    model_path: " + f.artifact() +
           "\n    k: 5\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_NE(find(r.warnings, "router_settings.routing_strategy_args.k", "unknown"), nullptr)
      << all_diagnostics(r);
}

TEST(ConfigLearned, LearnedArgumentsOfAnotherStrategyWarn) {
  Files f;
  const LoadResult r = load(
      "  routing_strategy: simple-shuffle\n  routing_strategy_args:\n    model_path: " + f.artifact() + "\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_NE(
      find(r.warnings, "router_settings.routing_strategy_args.model_path", "llmrouter-* strategies only"),
      nullptr)
      << all_diagnostics(r);
}

TEST(ConfigLearned, EmbeddingModelMustBeAModelName) {
  Files f;
  const std::string head =
      "  routing_strategy: llmrouter-knn\n  routing_strategy_args:\n    model_path: " + f.artifact() + "\n";
  const LoadResult r = load(head +
                            "    embedding_model: embed\n    embedding_timeout_ms: 250\n"
                            "    embedding_cache_size: 0\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->router.learned.embedding_model, "embed");
  EXPECT_EQ(r.config->router.learned.embedding_timeout_ms, 250);
  EXPECT_EQ(r.config->router.learned.embedding_cache_size, 0);
  for (const auto& w : r.warnings) EXPECT_EQ(w.field.find("embedding"), std::string::npos) << w.message;
  expect_error(head + "    embedding_model: nope\n", "router_settings.routing_strategy_args.embedding_model",
               "must be a model_name of model_list");
  expect_error(head + "    embedding_timeout_ms: 0\n",
               "router_settings.routing_strategy_args.embedding_timeout_ms", "positive integer");
  expect_error(head + "    embedding_cache_size: -1\n",
               "router_settings.routing_strategy_args.embedding_cache_size", "non-negative integer");
}

TEST(ConfigLearned, Experiments) {
  Files f;
  const LoadResult r = load(
      "  routing_strategy: llmrouter-knn\n"
      "  routing_strategy_args:\n"
      "    model_path: " +
      f.artifact() +
      "\n"
      "    cost_weight: 0.3\n"
      "    experiment_key: api_key\n"
      "    experiments:\n"
      "      - name: hybrid-v2\n"
      "        percent: 10\n"
      "        strategy: llmrouter-hybrid\n"
      "        quality_threshold: 0.1\n"
      "      - {name: control-shuffle, percent: 5.5, strategy: simple-shuffle}\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  const RouterSettings& s = r.config->router;
  EXPECT_EQ(s.experiment_key, ExperimentKey::api_key);
  ASSERT_EQ(s.experiments.size(), 2u);
  const ExperimentArm& a = s.experiments[0];
  EXPECT_EQ(a.name, "hybrid-v2");
  EXPECT_EQ(a.percent, 10);
  EXPECT_EQ(a.routing_strategy, "llmrouter-hybrid");
  EXPECT_EQ(a.learned.model_path, f.artifact()) << "an arm inherits the main arguments";
  EXPECT_DOUBLE_EQ(a.learned.cost_weight.value_or(-1), 0.3);
  EXPECT_DOUBLE_EQ(a.learned.quality_threshold, 0.1);
  EXPECT_EQ(s.learned.quality_threshold, 0) << "the arm's own keys do not change the main arm";
  EXPECT_EQ(s.experiments[1].routing_strategy, "simple-shuffle");
  EXPECT_DOUBLE_EQ(s.experiments[1].percent, 5.5);
}

TEST(ConfigLearned, ExperimentsWorkWithAnyStrategy) {
  const LoadResult r = load(
      "  routing_strategy: least-busy\n"
      "  routing_strategy_args:\n"
      "    experiments: [{name: b, percent: 50, strategy: simple-shuffle}]\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  ASSERT_EQ(r.config->router.experiments.size(), 1u);
  EXPECT_EQ(r.config->router.experiments[0].routing_strategy, "simple-shuffle");
}

TEST(ConfigLearned, BadExperiments) {
  const std::string head = "  routing_strategy: simple-shuffle\n  routing_strategy_args:\n    experiments:\n";
  const std::string field = "router_settings.routing_strategy_args.experiments";
  expect_error(head + "      - {name: a, percent: 60}\n      - {name: b, percent: 50}\n", field,
               "add up to 110; they may add up to 100 at most");
  expect_error(head + "      - {name: a, percent: 101}\n", field + "[0].percent", "from 0 to 100");
  expect_error(head + "      - {name: a, percent: -1}\n", field + "[0].percent", "non-negative");
  expect_error(head + "      - {percent: 10}\n", field + "[0].name", "is required");
  expect_error(head + "      - {name: a}\n", field + "[0].percent", "is required");
  expect_error(head + "      - {name: a, percent: 1}\n      - {name: a, percent: 1}\n", field + "[1].name",
               "duplicate experiment name");
  expect_error(head + "      - {name: main, percent: 1}\n", field + "[0].name", "main arm");
  expect_error(head + "      - {name: a, percent: 1, strategy: nope}\n", field + "[0].strategy",
               "unknown routing strategy");
  expect_error(head + "      - {name: a, percent: 1, strategy: llmrouter-knn}\n", field + "[0].model_path",
               "is required for llmrouter-knn");
  expect_error("  routing_strategy_args:\n    experiments: {name: a}\n", field, "must be a list");
}

}  // namespace
}  // namespace sy::config
