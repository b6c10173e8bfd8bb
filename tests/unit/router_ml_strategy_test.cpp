// Unit tests for the online half of learned routing: the llmrouter-* strategies over a test-double Predictor
// (deployment mapping, ordering, the hybrid trade-off, fallbacks, unknown models, replicas), artifact reload
// (swap, bad file keeps the old one, unchanged file), A/B experiment splits, the lock-free Published slot and
// the candidates file parser. Randomness is seeded and files live in a fresh temporary folder per test.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "config/config.h"
#include "config/llm_candidates.h"
#include "router/experiments.h"
#include "router/ml/artifact_watcher.h"
#include "router/ml/learned_strategy.h"
#include "router/ml/predictor.h"
#include "router/stats.h"
#include "router/strategy.h"
#include "util/published.h"
#include "util/random.h"

namespace sy::router::ml {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;

// ---- test doubles ----

// Predicts a fixed quality per model, or another set when the routing text contains `keyword`, or (with
// an embedding dimension) when the embedding's first value is positive.
class FakePredictor final : public Predictor {
 public:
  FakePredictor(std::string learner, std::string checksum, std::vector<std::string> models,
                std::vector<float> quality, std::string keyword = {}, std::vector<float> keyword_quality = {})
      : learner_(std::move(learner)),
        checksum_(std::move(checksum)),
        models_(std::move(models)),
        quality_(std::move(quality)),
        keyword_(std::move(keyword)),
        keyword_quality_(std::move(keyword_quality)) {}
  std::string_view strategy() const noexcept override { return learner_; }
  std::string_view checksum() const noexcept override { return checksum_; }
  std::span<const std::string> models() const noexcept override { return models_; }
  std::uint32_t embedding_dimension() const noexcept override { return embedding_dim; }
  bool predict(std::string_view text, std::span<const float> embedding, std::span<float> out) const override {
    const bool embedded = embedding_dim > 0 && embedding.size() == embedding_dim;
    const bool other =
        embedded ? embedding[0] > 0 : !keyword_.empty() && text.find(keyword_) != std::string_view::npos;
    const auto& q = other ? keyword_quality_ : quality_;
    std::copy(q.begin(), q.end(), out.begin());
    return embedded;
  }
  std::uint32_t embedding_dim = 0;

 private:
  std::string learner_, checksum_;
  std::vector<std::string> models_;
  std::vector<float> quality_;
  std::string keyword_;
  std::vector<float> keyword_quality_;
};

// An "artifact" file for the test loader: `learner checksum model=quality model=quality ...`; anything else
// (or "corrupt") is refused like a corrupt artifact.
Result<std::shared_ptr<const Predictor>> fake_loader(std::span<const std::byte> bytes) {
  std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::istringstream in(text);
  std::string learner, checksum, item;
  in >> learner >> checksum;
  std::vector<std::string> models;
  std::vector<float> quality;
  while (in >> item) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) break;
    models.push_back(item.substr(0, eq));
    quality.push_back(std::stof(item.substr(eq + 1)));
  }
  if (learner.empty() || learner == "corrupt" || models.empty()) {
    return Error{500, "api_error", "corrupt artifact: checksum mismatch", {}, {}, {}};
  }
  return std::shared_ptr<const Predictor>(
      std::make_shared<FakePredictor>(learner, checksum, std::move(models), std::move(quality)));
}

PredictorLoader loader_of(std::shared_ptr<const Predictor> p) {
  return [p](std::span<const std::byte>) -> Result<std::shared_ptr<const Predictor>> { return p; };
}

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("switchyard-ml-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// Replaces `path` atomically (write aside, rename), as deploy tools do.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  fs::rename(tmp, path);
}

config::Deployment deployment(std::string group, std::string_view model, std::string id) {
  config::Deployment d;
  d.model_name = std::move(group);
  d.params.model = std::string(model);
  const std::size_t slash = model.find('/');
  d.params.provider = std::string(model.substr(0, slash));
  d.params.provider_model = std::string(model.substr(slash + 1));
  d.info.id = std::move(id);
  return d;
}

// The deployments of one group, their stats and candidates, and a way to rank them.
struct Group {
  std::vector<config::Deployment> model_list;
  std::vector<DeploymentStats> stats;

  explicit Group(std::vector<config::Deployment> list)
      : model_list(std::move(list)), stats(model_list.size()) {}

  std::vector<Candidate> candidates(std::vector<std::uint32_t> slots = {}) {
    if (slots.empty()) {
      for (std::uint32_t i = 0; i < model_list.size(); ++i) slots.push_back(i);
    }
    std::vector<Candidate> out;
    for (std::uint32_t s : slots) out.push_back(Candidate{&model_list[s], &stats[s], s});
    return out;
  }
};

bj::object chat_body(std::string_view content, std::string_view user = {}) {
  bj::object body;
  body["model"] = "g";
  bj::array messages;
  bj::object m;
  m["role"] = "user";
  m["content"] = content;
  messages.push_back(std::move(m));
  body["messages"] = std::move(messages);
  if (!user.empty()) body["user"] = user;
  return body;
}

std::vector<std::string> ids(const std::vector<Candidate>& c) {
  std::vector<std::string> out;
  for (const Candidate& x : c) out.push_back(x.deployment->info.id);
  return out;
}

std::unique_ptr<Strategy> shuffle() {
  return make_strategy(config::RouterSettings{}, {});
}

// Three models of different price and quality, one deployment each, and one deployment of a model the
// artifact does not know.
Group three_models() {
  std::vector<config::Deployment> list = {
      deployment("g", "openai/small-model", "dep-small"),
      deployment("g", "openai/medium-model", "dep-medium"),
      deployment("g", "openai/large-model", "dep-large"),
      deployment("g", "openai/unknown-model", "dep-unknown"),
  };
  list[0].info.input_cost_per_token = 0.1e-6;
  list[0].info.output_cost_per_token = 0.1e-6;
  list[1].info.input_cost_per_token = 0.5e-6;
  list[1].info.output_cost_per_token = 0.5e-6;
  list[2].info.input_cost_per_token = 5e-6;
  list[2].info.output_cost_per_token = 5e-6;
  return Group(std::move(list));
}

std::shared_ptr<const Predictor> three_model_predictor(std::string learner = "knn") {
  return std::make_shared<FakePredictor>(
      learner, "c0ffee", std::vector<std::string>{"small-model", "medium-model", "large-model"},
      std::vector<float>{0.55f, 0.7f, 0.75f}, "prove", std::vector<float>{0.1f, 0.2f, 0.9f});
}

// A file for strategies whose loader double ignores the bytes (the watcher still reads a file).
const std::string& dummy_artifact() {
  static const TempDir dir;  // removed at exit
  static const std::string path = [] {
    const std::string p = dir.file("dummy.artifact");
    std::ofstream(p) << "x";
    return p;
  }();
  return path;
}

config::LearnedRoutingArgs args_with(std::string model_path) {
  config::LearnedRoutingArgs a;
  a.model_path = std::move(model_path);
  return a;
}

// ---- mapping ----

TEST(LearnedMapping, ExplicitModelInfoWins) {
  config::Deployment d = deployment("g", "openai/gpt-4o-mini", "x");
  d.info.extra["llmrouter_model"] = "qwen2.5-7b-instruct";
  EXPECT_EQ(model_names_for(d, {}), std::vector<std::string>{"qwen2.5-7b-instruct"});
}

TEST(LearnedMapping, CandidateModelIdThenProviderModelThenLastSegment) {
  const config::Deployment d = deployment("g", "nvidia_nim/qwen/qwen2.5-7b-instruct", "x");
  std::vector<config::LlmCandidate> candidates(2);
  candidates[0].name = "qwen-small";
  candidates[0].model = "qwen/qwen2.5-7b-instruct";
  candidates[1].name = "other";
  candidates[1].model = "meta/llama";
  EXPECT_EQ(model_names_for(d, candidates),
            (std::vector<std::string>{"qwen-small", "qwen/qwen2.5-7b-instruct", "qwen2.5-7b-instruct"}));
  EXPECT_EQ(model_names_for(deployment("g", "openai/gpt-4o", "y"), {}), std::vector<std::string>{"gpt-4o"});
}

TEST(LearnedMapping, FullLitellmModelMatchesCandidate) {
  const config::Deployment d = deployment("g", "openai/gpt-4o", "x");
  std::vector<config::LlmCandidate> candidates(1);
  candidates[0].name = "strong";
  candidates[0].model = "openai/gpt-4o";
  EXPECT_EQ(model_names_for(d, candidates).front(), "strong");
}

// ---- ordering ----

TEST(LearnedStrategy, OrdersMappedByPredictedQualityThenUnmapped) {
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-knn", args_with(dummy_artifact()), g.model_list, shuffle(),
                                 loader_of(three_model_predictor()));
  FastRandom random(1);
  const bj::object body = chat_body("hello there");
  RouteRequest request;
  request.body = &body;
  auto c = g.candidates();
  const Decision d = s->rank(request, c, 0, random);
  EXPECT_EQ(ids(c), (std::vector<std::string>{"dep-large", "dep-medium", "dep-small", "dep-unknown"}));
  EXPECT_EQ(d.reason, "predicted_quality");
  EXPECT_FLOAT_EQ(static_cast<float>(d.score), 0.75f);
  EXPECT_EQ(d.strategy_version, "c0ffee");
  EXPECT_EQ(d.learned_model, "large-model");
  EXPECT_TRUE(d.routing_text.empty()) << "the routing text is recorded only when trace_routing_text is on";
}

TEST(LearnedStrategy, PredictionFollowsTheRoutingText) {
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-mlp", args_with(dummy_artifact()), g.model_list, shuffle(),
                                 loader_of(three_model_predictor("mlp")));
  FastRandom random(1);
  const bj::object body = chat_body("please prove this theorem");
  RouteRequest request;
  request.body = &body;
  auto c = g.candidates({0, 1, 2});
  const Decision d = s->rank(request, c, 0, random);
  EXPECT_EQ(ids(c).front(), "dep-large");
  EXPECT_FLOAT_EQ(static_cast<float>(d.score), 0.9f);
}

TEST(LearnedStrategy, RecordsTheRoutingTextOnlyWhenAsked) {
  Group g = three_models();
  auto args = args_with(dummy_artifact());
  args.trace_routing_text = true;
  auto s = make_learned_strategy("llmrouter-knn", args, g.model_list, shuffle(),
                                 loader_of(three_model_predictor()));
  FastRandom random(1);
  const bj::object body = chat_body("a distinctive question");
  RouteRequest request;
  request.body = &body;
  auto c = g.candidates();
  const Decision d = s->rank(request, c, 0, random);
  EXPECT_NE(d.routing_text.find("distinctive"), std::string_view::npos) << d.routing_text;
}

// ---- embeddings ----

std::shared_ptr<const Predictor> embedded_predictor(std::uint32_t dimension) {
  auto p = std::make_shared<FakePredictor>(
      "knn", "e1", std::vector<std::string>{"small-model", "medium-model", "large-model"},
      std::vector<float>{0.55f, 0.7f, 0.75f}, "", std::vector<float>{0.9f, 0.2f, 0.1f});
  p->embedding_dim = dimension;
  return p;
}

TEST(LearnedStrategy, AnEmbeddingIsNeededOnlyWithEmbeddingModelAndAnEmbeddedArtifact) {
  Group g = three_models();
  auto args = args_with(dummy_artifact());
  args.embedding_model = "embed";
  args.embedding_timeout_ms = 75;
  const bj::object body = chat_body("hello");
  RouteRequest request;
  request.body = &body;
  const std::vector<std::uint32_t> slots{0, 1, 2, 3}, unmapped{3};
  auto s =
      make_learned_strategy("llmrouter-knn", args, g.model_list, shuffle(), loader_of(embedded_predictor(3)));
  EXPECT_FALSE(s->embedding_need(request, unmapped)) << "a group the artifact does not cover routes without";
  const EmbeddingNeed need = s->embedding_need(request, slots);
  EXPECT_EQ(need.model, "embed");
  EXPECT_EQ(need.dimension, 3u);
  EXPECT_EQ(need.timeout.count(), 75);
  // An artifact without embeddings, or no embedding_model: nothing to fetch.
  auto plain = make_learned_strategy("llmrouter-knn", args, g.model_list, shuffle(),
                                     loader_of(three_model_predictor()));
  EXPECT_FALSE(plain->embedding_need(request, slots));
  auto unset = make_learned_strategy("llmrouter-knn", args_with(dummy_artifact()), g.model_list, shuffle(),
                                     loader_of(embedded_predictor(3)));
  EXPECT_FALSE(unset->embedding_need(request, slots));
  EXPECT_FALSE(shuffle()->embedding_need(request, slots));
}

TEST(LearnedStrategy, RanksByTheEmbeddingAndSaysHowItCame) {
  Group g = three_models();
  auto args = args_with(dummy_artifact());
  args.embedding_model = "embed";
  auto s =
      make_learned_strategy("llmrouter-knn", args, g.model_list, shuffle(), loader_of(embedded_predictor(3)));
  FastRandom random(1);
  const bj::object body = chat_body("hello");
  const std::vector<float> small_wins{1.0f, 0.0f, 0.0f}, wrong_size{1.0f, 0.0f};
  struct Case {
    std::span<const float> embedding;
    std::string_view status, expected, first;
  };
  const Case cases[] = {
      {small_wins, "fetched", "used", "dep-small"},  {small_wins, "cached", "cached", "dep-small"},
      {{}, "timeout", "timeout", "dep-large"},       {{}, "error", "error", "dep-large"},
      {{}, "absent", "absent", "dep-large"},         {{}, "", "absent", "dep-large"},
      {wrong_size, "fetched", "error", "dep-large"},
  };
  for (const Case& c : cases) {
    RouteRequest request;
    request.body = &body;
    request.embedding = c.embedding;
    request.embedding_status = c.status;
    auto candidates = g.candidates({0, 1, 2});
    const Decision d = s->rank(request, candidates, 0, random);
    EXPECT_EQ(d.embedding, c.expected) << c.status;
    EXPECT_EQ(ids(candidates).front(), c.first) << c.status;
  }
  // An artifact without embeddings says nothing about them.
  auto plain = make_learned_strategy("llmrouter-knn", args, g.model_list, shuffle(),
                                     loader_of(three_model_predictor()));
  RouteRequest request;
  request.body = &body;
  auto candidates = g.candidates({0, 1, 2});
  EXPECT_TRUE(plain->rank(request, candidates, 0, random).embedding.empty());
}

TEST(Experiments, EmbeddingNeedIsTheArmsStrategys) {
  Group g = three_models();
  auto args = args_with(dummy_artifact());
  args.embedding_model = "embed";
  std::vector<ArmStrategy> arms;
  arms.push_back({"learned", 100,
                  make_learned_strategy("llmrouter-knn", args, g.model_list, shuffle(),
                                        loader_of(embedded_predictor(4)))});
  auto split = make_experiment_split(shuffle(), std::move(arms), config::ExperimentKey::user);
  const std::vector<std::uint32_t> slots{0, 1, 2};
  const bj::object with_user = chat_body("hi", "someone"), without = chat_body("hi");
  RouteRequest request;
  request.body = &with_user;
  EXPECT_EQ(split->embedding_need(request, slots).model, "embed");
  request.body = &without;  // the main arm (simple-shuffle) needs none
  EXPECT_FALSE(split->embedding_need(request, slots));
}

TEST(LearnedStrategy, UnhealthyBestIsSkippedForTheNextBest) {
  // The router leaves deployments in cooldown or at their cap out of the candidates: the next best goes
  // first.
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-knn", args_with(dummy_artifact()), g.model_list, shuffle(),
                                 loader_of(three_model_predictor()));
  FastRandom random(1);
  RouteRequest request;
  auto c = g.candidates({0, 1, 3});
  s->rank(request, c, 0, random);
  EXPECT_EQ(ids(c), (std::vector<std::string>{"dep-medium", "dep-small", "dep-unknown"}));
}

TEST(LearnedStrategy, GroupWithNoMappedDeploymentUsesTheFallback) {
  Group g(
      std::vector<config::Deployment>{deployment("g", "openai/x", "a"), deployment("g", "openai/y", "b")});
  auto s = make_learned_strategy("llmrouter-knn", args_with(dummy_artifact()), g.model_list, shuffle(),
                                 loader_of(three_model_predictor()));
  FastRandom random(3);
  RouteRequest request;
  std::map<std::string, int> first;
  for (int i = 0; i < 200; ++i) {
    auto c = g.candidates();
    const Decision d = s->rank(request, c, 0, random);
    EXPECT_EQ(d.reason, "fallback_no_mapped_model");
    EXPECT_EQ(c.size(), 2u);
    ++first[c[0].deployment->info.id];
  }
  EXPECT_GT(first["a"], 50);
  EXPECT_GT(first["b"], 50);
}

TEST(LearnedStrategy, ReplicasOfOneModelShareTheLoad) {
  Group g(std::vector<config::Deployment>{deployment("g", "openai/large-model", "large-1"),
                                          deployment("g", "openai/large-model", "large-2"),
                                          deployment("g", "openai/small-model", "small")});
  auto s = make_learned_strategy("llmrouter-knn", args_with(dummy_artifact()), g.model_list, shuffle(),
                                 loader_of(three_model_predictor()));
  FastRandom random(5);
  RouteRequest request;
  std::map<std::string, int> first;
  for (int i = 0; i < 400; ++i) {
    auto c = g.candidates();
    s->rank(request, c, 0, random);
    EXPECT_EQ(c[2].deployment->info.id, "small");
    ++first[c[0].deployment->info.id];
  }
  EXPECT_GT(first["large-1"], 100);
  EXPECT_GT(first["large-2"], 100);
}

TEST(LearnedStrategy, HybridPicksTheCheapestWithinTheThreshold) {
  Group g = three_models();
  auto run = [&](double threshold, std::optional<double> cost_weight) {
    auto args = args_with(dummy_artifact());
    args.quality_threshold = threshold;
    args.cost_weight = cost_weight;
    auto s = make_learned_strategy("llmrouter-hybrid", args, g.model_list, shuffle(),
                                   loader_of(three_model_predictor("svm")));
    FastRandom random(1);
    const bj::object body = chat_body("hello");
    RouteRequest request;
    request.body = &body;
    auto c = g.candidates({0, 1, 2});
    const Decision d = s->rank(request, c, 0, random);
    EXPECT_EQ(d.reason, "cost_quality_tradeoff");
    return ids(c).front();
  };
  EXPECT_EQ(run(0, 0), "dep-large");    // most likely to answer well
  EXPECT_EQ(run(0.1, 0), "dep-large");  // medium (0.7) is within 0.1 of large (0.75): ranked by quality
  EXPECT_EQ(run(0.1, std::nullopt), "dep-medium");  // no cost_weight set: the cheapest within the threshold
  EXPECT_EQ(run(0.01, std::nullopt), "dep-large");  // ... medium is not within 0.01
  EXPECT_EQ(run(0, std::nullopt), "dep-large");
  EXPECT_EQ(run(0.1, 1.0), "dep-medium");  // ... but with cost in the balance, medium is far cheaper
  EXPECT_EQ(run(1.0, 10.0), "dep-small");  // any quality, cost weighing most: the cheapest
}

TEST(LearnedStrategy, HybridUsesCandidatePricesWhenModelInfoHasNone) {
  Group g(std::vector<config::Deployment>{deployment("g", "openai/small-model", "dep-small"),
                                          deployment("g", "openai/large-model", "dep-large")});
  std::vector<config::LlmCandidate> candidates(2);
  candidates[0].name = "small-model";
  candidates[0].input_cost_per_token = 0.1e-6;
  candidates[0].output_cost_per_token = 0.1e-6;
  candidates[1].name = "large-model";
  candidates[1].input_cost_per_token = 9e-6;
  candidates[1].output_cost_per_token = 9e-6;
  auto args = args_with(dummy_artifact());
  args.quality_threshold = 0.5;
  args.cost_weight = 1;
  args.candidates = candidates;
  auto s = make_learned_strategy("llmrouter-hybrid", args, g.model_list, shuffle(),
                                 loader_of(three_model_predictor()));
  FastRandom random(1);
  RouteRequest request;
  auto c = g.candidates();
  s->rank(request, c, 0, random);
  EXPECT_EQ(ids(c).front(), "dep-small");
}

TEST(LearnedStrategy, SizeBaselinesNeedNoArtifact) {
  Group g(std::vector<config::Deployment>{deployment("g", "openai/m7", "seven"),
                                          deployment("g", "openai/m70", "seventy"),
                                          deployment("g", "openai/m8", "eight")});
  std::vector<config::LlmCandidate> candidates(3);
  candidates[0].name = "m7";
  candidates[0].size_billions = 7;
  candidates[1].name = "m70";
  candidates[1].size_billions = 70;
  candidates[2].name = "m8";
  candidates[2].size_billions = 8;
  for (const auto& [name, expected] :
       {std::pair{"llmrouter-smallest", "seven"}, std::pair{"llmrouter-largest", "seventy"}}) {
    config::LearnedRoutingArgs args;
    args.candidates = candidates;
    auto s = make_learned_strategy(name, args, g.model_list, shuffle(), default_predictor_loader());
    FastRandom random(1);
    RouteRequest request;
    auto c = g.candidates();
    const Decision d = s->rank(request, c, 0, random);
    EXPECT_EQ(ids(c).front(), expected) << name;
    EXPECT_EQ(d.reason, "predicted_quality") << name;
  }
}

// ---- artifacts from files: missing, bad, reloaded ----

TEST(LearnedStrategy, MissingArtifactRoutesByTheFallbackUntilOneLoads) {
  TempDir dir;
  const std::string path = dir.file("router.artifact");
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-knn", args_with(path), g.model_list, shuffle(), fake_loader);
  FastRandom random(1);
  RouteRequest request;
  auto c = g.candidates();
  Decision d = s->rank(request, c, 0, random);
  EXPECT_EQ(d.reason, "fallback_no_artifact");
  EXPECT_EQ(c.size(), 4u);
  EXPECT_TRUE(d.strategy_version.empty());

  write_file(path, "knn v1 small-model=0.9 large-model=0.1");
  s->reload();  // without hot_reload, on the caller's thread
  c = g.candidates();
  d = s->rank(request, c, 0, random);
  EXPECT_EQ(d.reason, "predicted_quality");
  EXPECT_EQ(d.strategy_version, "v1");
  EXPECT_EQ(ids(c).front(), "dep-small");
}

TEST(LearnedStrategy, CorruptArtifactAtStartUsesTheFallback) {
  TempDir dir;
  const std::string path = dir.file("router.artifact");
  write_file(path, "corrupt");
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-knn", args_with(path), g.model_list, shuffle(), fake_loader);
  FastRandom random(1);
  RouteRequest request;
  auto c = g.candidates();
  EXPECT_EQ(s->rank(request, c, 0, random).reason, "fallback_no_artifact");
}

TEST(LearnedStrategy, ReloadSwapsAndABadFileKeepsTheOldOne) {
  TempDir dir;
  const std::string path = dir.file("router.artifact");
  write_file(path, "knn v1 small-model=0.9 large-model=0.1");
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-knn", args_with(path), g.model_list, shuffle(), fake_loader);
  FastRandom random(1);
  RouteRequest request;
  auto first = [&] {
    auto c = g.candidates();
    const Decision d = s->rank(request, c, 0, random);
    return std::pair{ids(c).front(), std::string(d.strategy_version)};
  };
  EXPECT_EQ(first(), (std::pair<std::string, std::string>{"dep-small", "v1"}));

  write_file(path, "knn v2 small-model=0.1 large-model=0.9");
  s->reload();
  EXPECT_EQ(first(), (std::pair<std::string, std::string>{"dep-large", "v2"}));

  write_file(path, "corrupt bytes");
  s->reload();
  EXPECT_EQ(first(), (std::pair<std::string, std::string>{"dep-large", "v2"}))
      << "a bad file keeps the old artifact";

  fs::remove(path);
  s->reload();
  EXPECT_EQ(first(), (std::pair<std::string, std::string>{"dep-large", "v2"})) << "a missing file too";

  write_file(path, "mlp v3 small-model=0.9 large-model=0.1");
  s->reload();
  EXPECT_EQ(first().second, "v2") << "an artifact of another learner is refused by llmrouter-knn";

  write_file(path, "knn v3 small-model=0.9 large-model=0.1");
  s->reload();
  EXPECT_EQ(first(), (std::pair<std::string, std::string>{"dep-small", "v3"}));
}

TEST(LearnedStrategy, HybridTakesAnyLearner) {
  TempDir dir;
  const std::string path = dir.file("router.artifact");
  write_file(path, "elo e1 small-model=0.9 large-model=0.1");
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-hybrid", args_with(path), g.model_list, shuffle(), fake_loader);
  FastRandom random(1);
  RouteRequest request;
  auto c = g.candidates();
  EXPECT_EQ(s->rank(request, c, 0, random).strategy_version, "e1");
}

TEST(LearnedStrategy, HotReloadPicksUpANewFileOnItsOwn) {
  TempDir dir;
  const std::string path = dir.file("router.artifact");
  write_file(path, "knn v1 small-model=0.9 large-model=0.1");
  Group g = three_models();
  auto args = args_with(path);
  args.hot_reload = true;
  args.reload_interval_seconds = 0.01;
  auto s = make_learned_strategy("llmrouter-knn", args, g.model_list, shuffle(), fake_loader);
  FastRandom random(1);
  RouteRequest request;
  auto version = [&] {
    auto c = g.candidates();
    return std::string(s->rank(request, c, 0, random).strategy_version);
  };
  EXPECT_EQ(version(), "v1");
  write_file(path, "knn v2 small-model=0.1 large-model=0.9");
  // Bounded wait for the background check (no timing assertion: only that it happens).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (version() != "v2" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(version(), "v2");
}

TEST(LearnedStrategy, DecisionsDuringReloadsAlwaysSeeAWholeArtifact) {
  // Readers on several threads rank while the file is replaced and reloaded; each decision names one version
  // and orders the deployments the way that version says (ASan catches a freed artifact still in use).
  TempDir dir;
  const std::string path = dir.file("router.artifact");
  write_file(path, "knn v1 small-model=0.9 large-model=0.1");
  Group g = three_models();
  auto s = make_learned_strategy("llmrouter-knn", args_with(path), g.model_list, shuffle(), fake_loader);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, decisions{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      FastRandom random(static_cast<std::uint64_t>(t) + 1);
      RouteRequest request;
      std::vector<DeploymentStats> stats(g.model_list.size());
      while (!stop.load()) {
        std::vector<Candidate> c;
        for (std::uint32_t i = 0; i < g.model_list.size(); ++i) c.push_back({&g.model_list[i], &stats[i], i});
        const Decision d = s->rank(request, c, 0, random);
        const bool odd = d.strategy_version.size() > 1 && (d.strategy_version.back() - '0') % 2 == 1;
        const std::string expected = odd ? "dep-small" : "dep-large";
        if (c[0].deployment->info.id != expected) ++wrong;
        ++decisions;
      }
    });
  }
  for (int v = 2; v < 60; ++v) {
    write_file(path, v % 2 ? "knn v" + std::to_string(v) + " small-model=0.9 large-model=0.1"
                           : "knn v" + std::to_string(v) + " small-model=0.1 large-model=0.9");
    s->reload();
    if (v % 7 == 0) {
      write_file(path, "corrupt");
      s->reload();
    }
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(decisions.load(), 0);
}

// ---- the watcher ----

TEST(ArtifactWatcher, PassesAFileOnOnlyWhenItChanged) {
  TempDir dir;
  const std::string path = dir.file("a");
  std::vector<std::string> seen;
  ArtifactWatcher w(path, [&](Result<std::vector<std::byte>> r) {
    seen.push_back(r ? std::string(reinterpret_cast<const char*>(r.value().data()), r.value().size())
                     : "error: " + r.error().message);
  });
  EXPECT_TRUE(w.check());
  EXPECT_FALSE(w.check()) << "a file still missing is reported once";
  write_file(path, "one");
  EXPECT_TRUE(w.check());
  EXPECT_FALSE(w.check());
  write_file(path, "two");
  EXPECT_TRUE(w.check());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].rfind("error: cannot open", 0), 0u) << seen[0];
  EXPECT_EQ(seen[1], "one");
  EXPECT_EQ(seen[2], "two");
}

// ---- Published ----

TEST(Published, ReadersSeeEachPublishedValueWhole) {
  struct Value {
    int a, b;
  };
  Published<Value> slot(std::make_shared<const Value>(Value{0, 0}));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int last = 0;
      while (!stop.load()) {
        const Value* v = slot.get();
        if (v->a != v->b || v->a < last) ++torn;
        last = v->a;
      }
    });
  }
  for (int i = 1; i <= 2000; ++i) slot.publish(std::make_shared<const Value>(Value{i, i}));
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(slot.get()->a, 2000);
}

TEST(Published, ManySlotsOnOneThread) {
  std::vector<std::unique_ptr<Published<int>>> slots;
  for (int i = 0; i < 20; ++i)
    slots.push_back(std::make_unique<Published<int>>(std::make_shared<const int>(i)));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) EXPECT_EQ(*slots[static_cast<std::size_t>(i)]->get(), i);
  }
  slots[3]->publish(std::make_shared<const int>(33));
  EXPECT_EQ(*slots[3]->get(), 33);
  // A slot made where a destroyed one lived never sees the destroyed one's value.
  slots[5].reset();
  slots[5] = std::make_unique<Published<int>>(std::make_shared<const int>(55));
  EXPECT_EQ(*slots[5]->get(), 55);
  Published<int> empty;
  EXPECT_EQ(empty.get(), nullptr);
}

// ---- experiments ----

// A strategy that leaves the order alone and names itself in the decision.
class Named final : public Strategy {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  Decision rank(const RouteRequest&, std::span<Candidate>, Nanos, FastRandom&) const override {
    return {"named"};
  }
  void reload() override { ++reloads; }
  int reloads = 0;

 private:
  std::string name_;
};

std::unique_ptr<Strategy> split(config::ExperimentKey key, std::vector<std::pair<std::string, double>> arms,
                                std::vector<Named*>* out = nullptr) {
  std::vector<ArmStrategy> list;
  for (auto& [name, percent] : arms) {
    auto s = std::make_unique<Named>("strategy-" + name);
    if (out) out->push_back(s.get());
    list.push_back(ArmStrategy{name, percent, std::move(s)});
  }
  auto main = std::make_unique<Named>("main-strategy");
  if (out) out->push_back(main.get());
  return make_experiment_split(std::move(main), std::move(list), key);
}

std::string arm_of(const Strategy& s, std::string_view user, std::string_view api_key = {}) {
  Group g(std::vector<config::Deployment>{deployment("g", "openai/x", "a")});
  auto c = g.candidates();
  const bj::object body = chat_body("x", user);
  RouteRequest request;
  request.body = &body;
  request.api_key = api_key;
  FastRandom random(1);
  return std::string(s.rank(request, c, 0, random).experiment_arm);
}

TEST(Experiments, SameKeySameArm) {
  auto s = split(config::ExperimentKey::user, {{"a", 30}, {"b", 20}});
  for (int i = 0; i < 100; ++i) {
    const std::string user = "user-" + std::to_string(i);
    EXPECT_EQ(arm_of(*s, user), arm_of(*s, user));
  }
  // And across strategy instances (another process, another replica).
  auto again = split(config::ExperimentKey::user, {{"a", 30}, {"b", 20}});
  for (int i = 0; i < 100; ++i) {
    const std::string user = "user-" + std::to_string(i);
    EXPECT_EQ(arm_of(*s, user), arm_of(*again, user));
  }
}

TEST(Experiments, PercentagesHoldOverManyKeys) {
  auto s = split(config::ExperimentKey::user, {{"a", 30}, {"b", 20}, {"tiny", 0.5}});
  std::map<std::string, int> n;
  constexpr int kKeys = 40'000;
  for (int i = 0; i < kKeys; ++i) ++n[arm_of(*s, "user-" + std::to_string(i))];
  auto share = [&](const std::string& arm) { return 100.0 * n[arm] / kKeys; };
  EXPECT_NEAR(share("a"), 30, 1.5);
  EXPECT_NEAR(share("b"), 20, 1.5);
  EXPECT_NEAR(share("tiny"), 0.5, 0.3);
  EXPECT_NEAR(share("main"), 49.5, 1.5);
  EXPECT_EQ(n.size(), 4u);
}

TEST(Experiments, DecisionNamesTheArmAndItsStrategy) {
  auto s = split(config::ExperimentKey::user, {{"everyone", 100}});
  Group g(std::vector<config::Deployment>{deployment("g", "openai/x", "a")});
  auto c = g.candidates();
  const bj::object body = chat_body("x", "someone");
  RouteRequest request;
  request.body = &body;
  FastRandom random(1);
  const Decision d = s->rank(request, c, 0, random);
  EXPECT_EQ(d.experiment_arm, "everyone");
  EXPECT_EQ(d.strategy, "strategy-everyone");
  EXPECT_EQ(s->name(), "main-strategy");
}

TEST(Experiments, RequestsWithoutTheKeyGoToTheMainArm) {
  auto by_user = split(config::ExperimentKey::user, {{"all", 100}});
  EXPECT_EQ(arm_of(*by_user, ""), "main");
  EXPECT_EQ(arm_of(*by_user, "u"), "all");
  auto by_key = split(config::ExperimentKey::api_key, {{"all", 100}});
  EXPECT_EQ(arm_of(*by_key, "u"), "main") << "no API key presented";
  EXPECT_EQ(arm_of(*by_key, "", "sk-some-key"), "all");
}

TEST(Experiments, ApiKeySplitIsByTheKeyNotTheUser) {
  auto s = split(config::ExperimentKey::api_key, {{"half", 50}});
  std::map<std::string, int> n;
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "sk-key-" + std::to_string(i);
    const std::string arm = arm_of(*s, "same-user", key);
    EXPECT_EQ(arm, arm_of(*s, "another-user", key));
    ++n[arm];
  }
  EXPECT_GT(n["half"], 800);
  EXPECT_GT(n["main"], 800);
}

TEST(Experiments, ReloadReachesEveryArm) {
  std::vector<Named*> strategies;
  auto s = split(config::ExperimentKey::user, {{"a", 10}, {"b", 10}}, &strategies);
  s->reload();
  ASSERT_EQ(strategies.size(), 3u);
  for (Named* n : strategies) EXPECT_EQ(n->reloads, 1);
}

TEST(Experiments, BucketIsStable) {
  // Pinned values: a change of the hash would move every user to another arm.
  EXPECT_EQ(experiment_bucket(""), experiment_bucket(""));
  EXPECT_LT(experiment_bucket("user-1"), kExperimentBuckets);
  EXPECT_NE(experiment_bucket("user-1"), experiment_bucket("user-2"));
}

TEST(Experiments, ThroughMakeStrategyWithLearnedArms) {
  TempDir dir;
  const std::string v1 = dir.file("v1.artifact"), v2 = dir.file("v2.artifact");
  write_file(v1, "knn main-artifact small-model=0.9 large-model=0.1");
  write_file(v2, "knn arm-artifact small-model=0.1 large-model=0.9");
  Group g = three_models();
  config::RouterSettings settings;
  settings.routing_strategy = "llmrouter-knn";
  settings.learned.model_path = v1;
  config::ExperimentArm arm;
  arm.name = "candidate";
  arm.percent = 50;
  arm.routing_strategy = "llmrouter-knn";
  arm.learned = settings.learned;
  arm.learned.model_path = v2;
  settings.experiments.push_back(arm);
  auto s = make_strategy(settings, g.model_list, fake_loader);
  std::map<std::string, std::string> version_of_arm;
  for (int i = 0; i < 200; ++i) {
    auto c = g.candidates();
    const bj::object body = chat_body("x", "user-" + std::to_string(i));
    RouteRequest request;
    request.body = &body;
    FastRandom random(1);
    const Decision d = s->rank(request, c, 0, random);
    const std::string arm_name(d.experiment_arm);
    const std::string version(d.strategy_version);
    if (version_of_arm.count(arm_name)) {
      EXPECT_EQ(version_of_arm[arm_name], version);
    }
    version_of_arm[arm_name] = version;
    EXPECT_EQ(ids(c).front(), arm_name == "main" ? "dep-small" : "dep-large");
  }
  EXPECT_EQ(version_of_arm["main"], "main-artifact");
  EXPECT_EQ(version_of_arm["candidate"], "arm-artifact");
}

// ---- candidates file ----

TEST(LlmCandidates, ParsesLlmRouterShape) {
  auto r = config::parse_llm_candidates(R"({
    "qwen2.5-7b-instruct": {"size": "7B", "feature": "Qwen", "input_price": 0.2, "output_price": "0.3",
                            "model": "qwen/qwen2.5-7b-instruct", "service": "NVIDIA"},
    "tiny": {"size": "350M", "input_price_per_mtok": 0.1, "output_price_per_mtok": 0.1},
    "nosize": {}
  })",
                                        "c.json");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r.value().size(), 3u);
  const config::LlmCandidate& q = r.value()[0];
  EXPECT_EQ(q.name, "qwen2.5-7b-instruct");
  EXPECT_DOUBLE_EQ(*q.size_billions, 7);
  EXPECT_DOUBLE_EQ(*q.input_cost_per_token, 0.2e-6);
  EXPECT_DOUBLE_EQ(*q.output_cost_per_token, 0.3e-6);
  EXPECT_EQ(q.model, "qwen/qwen2.5-7b-instruct");
  EXPECT_EQ(q.description, "Qwen");
  EXPECT_DOUBLE_EQ(*r.value()[1].size_billions, 0.35);
  EXPECT_FALSE(r.value()[2].size_billions);
  EXPECT_FALSE(r.value()[2].input_cost_per_token);
}

TEST(LlmCandidates, ErrorsNameTheFileAndTheEntry) {
  auto bad_json = config::parse_llm_candidates("{", "c.json");
  ASSERT_FALSE(bad_json);
  EXPECT_NE(bad_json.error().message.find("c.json"), std::string::npos);
  auto bad_price = config::parse_llm_candidates(R"({"m": {"input_price": -1}})", "c.json");
  ASSERT_FALSE(bad_price);
  EXPECT_NE(bad_price.error().message.find("\"m\""), std::string::npos) << bad_price.error().message;
  auto bad_size = config::parse_llm_candidates(R"({"m": {"size": "big"}})", "c.json");
  ASSERT_FALSE(bad_size);
  EXPECT_FALSE(config::parse_llm_candidates("[]", "c.json"));
  EXPECT_FALSE(config::load_llm_candidates("/nonexistent/switchyard/candidates.json"));
}

}  // namespace
}  // namespace sy::router::ml
