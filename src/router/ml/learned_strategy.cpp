#include "router/ml/learned_strategy.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <boost/container/small_vector.hpp>

#include "providers/provider.h"
#include "router/ml/artifact_watcher.h"
#include "util/log.h"
#include "util/published.h"

namespace sy::router::ml {
namespace {

constexpr double kUnknownCost = std::numeric_limits<double>::quiet_NaN();

struct LearnedName {
  std::string_view strategy;
  std::string_view learner;
};
constexpr std::array<LearnedName, 8> kLearned = {{{"llmrouter-knn", "knn"},
                                                  {"llmrouter-mlp", "mlp"},
                                                  {"llmrouter-svm", "svm"},
                                                  {"llmrouter-mf", "mf"},
                                                  {"llmrouter-elo", "elo"},
                                                  {"llmrouter-smallest", "smallest"},
                                                  {"llmrouter-largest", "largest"},
                                                  {"llmrouter-hybrid", ""}}};

// A loaded artifact with what the router works out for it once: which deployment serves which of its models,
// and at what price.
struct RoutingArtifact {
  std::shared_ptr<const Predictor> predictor;
  std::vector<std::int32_t> model_of_slot;  // by model_list position: index into predictor->models(), or -1
  std::vector<double> input_cost;           // by slot: dollars per token, NaN when unknown
  std::vector<double> output_cost;
};

// llmrouter-smallest / -largest without an artifact: a fixed preference by the candidates file's sizes.
class SizeBaseline final : public Predictor {
 public:
  SizeBaseline(std::span<const config::LlmCandidate> candidates, bool largest) : largest_(largest) {
    double max_size = 0;
    for (const config::LlmCandidate& c : candidates) {
      if (c.size_billions) max_size = std::max(max_size, *c.size_billions);
    }
    for (const config::LlmCandidate& c : candidates) {
      if (!c.size_billions) continue;
      names_.push_back(c.name);
      const double share = max_size > 0 ? *c.size_billions / max_size : 1.0;
      quality_.push_back(static_cast<float>(largest ? share : 1.0 - share));
    }
  }
  std::string_view strategy() const noexcept override { return largest_ ? "largest" : "smallest"; }
  std::string_view checksum() const noexcept override { return {}; }
  std::span<const std::string> models() const noexcept override { return names_; }
  bool predict(std::string_view, std::span<const float>, std::span<float> out) const override {
    std::copy(quality_.begin(), quality_.end(), out.begin());
    return false;
  }

 private:
  bool largest_;
  std::vector<std::string> names_;
  std::vector<float> quality_;
};

// Per-thread buffers of a decision, so a warm thread decides without allocating.
struct Scratch {
  std::string text;
  std::vector<float> quality;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

using Candidates = boost::container::small_vector<Candidate, 16>;

std::string join_ids(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

class LearnedStrategy final : public Strategy {
 public:
  LearnedStrategy(std::string_view name, const config::LearnedRoutingArgs& args,
                  const std::vector<config::Deployment>& model_list, std::unique_ptr<Strategy> fallback,
                  PredictorLoader loader)
      : name_(name),
        learner_(learner_of(name)),
        args_(args),
        model_list_(model_list),
        fallback_(std::move(fallback)),
        loader_(std::move(loader)) {
    if (name == "llmrouter-hybrid")
      tradeoff_ = Tradeoff{args.quality_threshold, args.cost_weight.value_or(kCheapestWithin)};
    reason_ = name == "llmrouter-hybrid" ? "cost_quality_tradeoff" : "predicted_quality";
    names_of_slot_.reserve(model_list.size());
    for (const config::Deployment& d : model_list)
      names_of_slot_.push_back(model_names_for(d, args_.candidates));
    if (!args.model_path.empty()) {
      watcher_ = std::make_unique<ArtifactWatcher>(
          args.model_path, [this](Result<std::vector<std::byte>> bytes) { install(std::move(bytes)); });
      watcher_->check();
      if (args.hot_reload) {
        watcher_->start(std::chrono::milliseconds(
            std::max<std::int64_t>(1, std::llround(args.reload_interval_seconds * 1000))));
      }
    } else if (learner_ == "smallest" || learner_ == "largest") {
      auto baseline = std::make_shared<const SizeBaseline>(args_.candidates, learner_ == "largest");
      if (baseline->models().empty()) {
        log::warn("learned routing: no model of llm_data_path has a size; routing by the fallback strategy",
                  {{"strategy", name_}, {"fallback", fallback_->name()}});
      } else {
        publish(std::move(baseline), "size baseline");
      }
    }
  }

  std::string_view name() const noexcept override { return name_; }

  Decision rank(const RouteRequest& request, std::span<Candidate> c, Nanos now,
                FastRandom& random) const override {
    const RoutingArtifact* artifact = artifact_.get();
    if (!artifact) return fallback(request, c, now, random, "fallback_no_artifact");
    Candidates mapped, unmapped;
    for (const Candidate& x : c) (model_of(*artifact, x.slot) >= 0 ? mapped : unmapped).push_back(x);
    if (mapped.empty()) return fallback(request, c, now, random, "fallback_no_mapped_model");

    const Predictor& predictor = *artifact->predictor;
    Scratch& s = scratch();
    s.text.clear();
    if (request.body) routing_text(*request.body, s.text);
    s.quality.assign(predictor.models().size(), 0.0f);
    const bool embedded = predictor.predict(s.text, request.embedding, s.quality);

    // Dollars for this request on each mapped deployment.
    const double in_tokens = static_cast<double>(prompt_tokens(request));
    const double out_tokens = static_cast<double>(args_.expected_output_tokens);
    boost::container::small_vector<float, 16> quality;
    boost::container::small_vector<double, 16> cost;
    for (const Candidate& x : mapped) {
      quality.push_back(s.quality[static_cast<std::size_t>(model_of(*artifact, x.slot))]);
      cost.push_back(in_tokens * artifact->input_cost[x.slot] + out_tokens * artifact->output_cost[x.slot]);
    }
    boost::container::small_vector<std::uint32_t, 16> order(mapped.size());
    rank_candidates(quality, cost, tradeoff_, order);

    boost::container::small_vector<float, 16> ranked_quality;
    boost::container::small_vector<double, 16> ranked_cost;
    for (std::size_t k = 0; k < order.size(); ++k) {
      c[k] = mapped[order[k]];
      ranked_quality.push_back(quality[order[k]]);
      ranked_cost.push_back(cost[order[k]]);
    }
    // Deployments the model cannot tell apart (same predicted quality and price: replicas of one model, as a
    // rule) share the load the fallback strategy's way.
    for (std::size_t begin = 0; begin < order.size();) {
      std::size_t end = begin + 1;
      while (end < order.size() && ranked_quality[end] == ranked_quality[begin] &&
             same_cost(ranked_cost[end], ranked_cost[begin])) {
        ++end;
      }
      if (end - begin > 1) fallback_->rank(request, c.subspan(begin, end - begin), now, random);
      begin = end;
    }
    std::copy(unmapped.begin(), unmapped.end(), c.begin() + static_cast<std::ptrdiff_t>(mapped.size()));
    if (unmapped.size() > 1) fallback_->rank(request, c.subspan(mapped.size()), now, random);

    Decision d;
    d.reason = reason_;
    d.score = ranked_quality[0];
    d.strategy_version = predictor.checksum();
    d.learned_model = predictor.models()[static_cast<std::size_t>(model_of(*artifact, c[0].slot))];
    if (args_.trace_routing_text) d.routing_text = s.text;
    if (predictor.embedding_dimension() > 0) d.embedding = embedding_outcome(request, embedded);
    return d;
  }

  // An embedding is fetched only when the artifact reads one and some deployment of the group maps to it.
  EmbeddingNeed embedding_need(const RouteRequest&, std::span<const std::uint32_t> slots) const override {
    if (args_.embedding_model.empty()) return {};
    const RoutingArtifact* artifact = artifact_.get();
    const std::uint32_t dimension = artifact ? artifact->predictor->embedding_dimension() : 0;
    if (dimension == 0) return {};
    if (std::none_of(slots.begin(), slots.end(),
                     [&](std::uint32_t slot) { return model_of(*artifact, slot) >= 0; }))
      return {};
    return {args_.embedding_model, dimension, std::chrono::milliseconds(args_.embedding_timeout_ms)};
  }

  void reload() override {
    if (watcher_) watcher_->request_check();
  }

 private:
  static std::int32_t model_of(const RoutingArtifact& a, std::uint32_t slot) noexcept {
    return slot < a.model_of_slot.size() ? a.model_of_slot[slot] : -1;
  }

  static bool same_cost(double a, double b) noexcept { return a == b || (std::isnan(a) && std::isnan(b)); }

  // The route span's router.embedding for an artifact trained with embeddings.
  static std::string_view embedding_outcome(const RouteRequest& request, bool used) noexcept {
    if (used) return request.embedding_status == "cached" ? "cached" : "used";
    if (!request.embedding.empty()) return "error";  // of another dimension than the artifact's
    if (request.embedding_status == "timeout" || request.embedding_status == "error") {
      return request.embedding_status;
    }
    return "absent";
  }

  Decision fallback(const RouteRequest& request, std::span<Candidate> c, Nanos now, FastRandom& random,
                    std::string_view reason) const {
    Decision d = fallback_->rank(request, c, now, random);
    d.reason = reason;
    return d;
  }

  // The prompt's size as the gateway estimates it (providers::estimate_prompt_tokens), the figure training
  // priced queries with. Only the trade-off needs it.
  std::int64_t prompt_tokens(const RouteRequest& request) const {
    if (request.prompt_tokens >= 0) return request.prompt_tokens;
    if (!request.body || (tradeoff_.cost_weight <= 0 && tradeoff_.quality_threshold <= 0)) return 0;
    const providers::Endpoint endpoint = request.prompt_field == "prompt" ? providers::Endpoint::completions
                                         : request.prompt_field == "input"
                                             ? providers::Endpoint::embeddings
                                             : providers::Endpoint::chat_completions;
    return providers::estimate_prompt_tokens(endpoint, *request.body);
  }

  // A new version of the file from the watcher.
  void install(Result<std::vector<std::byte>> bytes) {
    if (!bytes) return reject(bytes.error().message);
    auto loaded = loader_(bytes.value());
    if (!loaded) return reject(loaded.error().message);
    std::shared_ptr<const Predictor> predictor = std::move(loaded.value());
    if (!predictor || predictor->models().empty()) return reject("the artifact has no models");
    if (!learner_.empty() && predictor->strategy() != learner_) {
      return reject("the artifact was trained with --strategy " + std::string(predictor->strategy()) +
                    ", but " + name_ + " needs a " + std::string(learner_) +
                    " artifact (llmrouter-hybrid takes any learner)");
    }
    if (auto current = artifact_.load(); current && current->predictor->checksum() == predictor->checksum()) {
      log::info("learned routing artifact unchanged",
                {{"strategy", name_}, {"path", args_.model_path}, {"checksum", predictor->checksum()}});
      return;
    }
    publish(std::move(predictor), args_.model_path);
  }

  void reject(const std::string& why) {
    if (auto current = artifact_.load()) {
      log::warn("learned routing artifact rejected; the loaded one stays in use",
                {{"strategy", name_},
                 {"path", args_.model_path},
                 {"error", why},
                 {"checksum_in_use", current->predictor->checksum()}});
    } else {
      log::warn(
          "learned routing artifact unavailable; routing by the fallback strategy until a valid one loads",
          {{"strategy", name_}, {"path", args_.model_path}, {"error", why}, {"fallback", fallback_->name()}});
    }
  }

  // Works out the deployments' models and prices for `predictor`, then swaps it in.
  void publish(std::shared_ptr<const Predictor> predictor, std::string_view source) {
    auto a = std::make_shared<RoutingArtifact>();
    const std::span<const std::string> models = predictor->models();
    std::unordered_map<std::string_view, std::int32_t> index;
    for (std::size_t i = 0; i < models.size(); ++i) index.emplace(models[i], static_cast<std::int32_t>(i));
    std::vector<std::string> unmapped;
    std::size_t mapped = 0;
    for (std::size_t slot = 0; slot < model_list_.size(); ++slot) {
      const config::Deployment& d = model_list_[slot];
      std::int32_t model = -1;
      for (const std::string& name : names_of_slot_[slot]) {
        if (auto it = index.find(name); it != index.end()) {
          model = it->second;
          break;
        }
      }
      a->model_of_slot.push_back(model);
      if (model < 0) {
        unmapped.push_back(d.info.id);
        a->input_cost.push_back(kUnknownCost);
        a->output_cost.push_back(kUnknownCost);
        continue;
      }
      ++mapped;
      const Price price = price_for(d, models[static_cast<std::size_t>(model)]);
      a->input_cost.push_back(price.input);
      a->output_cost.push_back(price.output);
    }
    a->predictor = std::move(predictor);
    const std::string checksum(a->predictor->checksum());
    const std::string learner(a->predictor->strategy());
    const std::size_t model_count = models.size();
    const std::shared_ptr<const Predictor> published = a->predictor;
    artifact_.publish(std::move(a));
    log::info("learned routing artifact loaded", {{"strategy", name_},
                                                  {"source", source},
                                                  {"learner", learner},
                                                  {"checksum", checksum},
                                                  {"models", model_count},
                                                  {"deployments_mapped", mapped}});
    warn_about_embeddings(*published, source);
    if (mapped == 0) {
      log::warn(
          "learned routing: no deployment maps to a model of the artifact; routing by the fallback strategy "
          "(set model_info.llmrouter_model)",
          {{"strategy", name_}, {"source", source}, {"fallback", fallback_->name()}});
    } else if (!unmapped.empty()) {
      log::info(
          "learned routing: these deployments map to no model of the artifact and are ranked after the "
          "others by the fallback strategy",
          {{"strategy", name_}, {"deployments", join_ids(unmapped)}});
    }
  }

  // An artifact and an embedding_model that do not go together: the built-in model routes.
  void warn_about_embeddings(const Predictor& p, std::string_view source) const {
    const std::string& configured = args_.embedding_model;
    if (p.embedding_dimension() > 0 && configured.empty()) {
      log::warn(
          "learned routing: the artifact was trained with embeddings but embedding_model is not set; its "
          "built-in-featurizer model routes",
          {{"strategy", name_}, {"source", source}, {"embedding_model_trained", p.embedding_model()}});
    } else if (p.embedding_dimension() == 0 && !configured.empty()) {
      log::warn(
          "learned routing: embedding_model is set but the artifact was trained without embeddings "
          "(switchyard train --embeddings); no embedding is fetched",
          {{"strategy", name_}, {"source", source}, {"embedding_model", configured}});
    } else if (p.embedding_dimension() > 0 && !p.embedding_model().empty() &&
               p.embedding_model() != configured) {
      log::warn(
          "learned routing: the artifact's embeddings came from another model than embedding_model; routing "
          "on them assumes both give the same vectors",
          {{"strategy", name_},
           {"source", source},
           {"embedding_model", configured},
           {"embedding_model_trained", p.embedding_model()}});
    }
  }

  // Dollars per token: the deployment's model_info prices, else the candidates file's for its model, else the
  // built-in table; NaN when none is known (ranked as the dearest).
  Price price_for(const config::Deployment& d, std::string_view model) const {
    if (d.info.input_cost_per_token || d.info.output_cost_per_token) return *price_of(d);
    for (const config::LlmCandidate& c : args_.candidates) {
      if (c.name == model && (c.input_cost_per_token || c.output_cost_per_token)) {
        return Price{c.input_cost_per_token.value_or(0), c.output_cost_per_token.value_or(0)};
      }
    }
    if (auto p = price_of(d)) return *p;
    return Price{kUnknownCost, kUnknownCost};
  }

  std::string name_;
  std::string_view learner_;
  config::LearnedRoutingArgs args_;
  const std::vector<config::Deployment>& model_list_;
  std::vector<std::vector<std::string>> names_of_slot_;
  std::unique_ptr<Strategy> fallback_;
  PredictorLoader loader_;
  Tradeoff tradeoff_;
  std::string_view reason_;
  Published<RoutingArtifact> artifact_;
  std::unique_ptr<ArtifactWatcher> watcher_;  // last: its thread stops before the rest goes
};

}  // namespace

PredictorLoader default_predictor_loader() {
  return [](std::span<const std::byte> bytes) { return load_predictor(bytes); };
}

bool is_learned_strategy(std::string_view routing_strategy) noexcept {
  return std::any_of(kLearned.begin(), kLearned.end(),
                     [&](const LearnedName& n) { return n.strategy == routing_strategy; });
}

std::string_view learner_of(std::string_view routing_strategy) noexcept {
  for (const LearnedName& n : kLearned) {
    if (n.strategy == routing_strategy) return n.learner;
  }
  return {};
}

std::vector<std::string> model_names_for(const config::Deployment& d,
                                         std::span<const config::LlmCandidate> candidates) {
  if (const auto* v = d.info.extra.if_contains("llmrouter_model"); v && v->is_string()) {
    return {std::string(v->get_string())};
  }
  std::vector<std::string> names;
  auto add = [&names](std::string_view name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
  };
  const std::string& provider_model = d.params.provider_model;
  for (const config::LlmCandidate& c : candidates) {
    if (!c.model.empty() && (c.model == d.params.model || c.model == provider_model)) add(c.name);
  }
  add(provider_model);
  if (const auto slash = provider_model.rfind('/'); slash != std::string::npos) {
    add(std::string_view(provider_model).substr(slash + 1));
  }
  return names;
}

std::unique_ptr<Strategy> make_learned_strategy(std::string_view routing_strategy,
                                                const config::LearnedRoutingArgs& args,
                                                const std::vector<config::Deployment>& model_list,
                                                std::unique_ptr<Strategy> fallback, PredictorLoader loader) {
  return std::make_unique<LearnedStrategy>(routing_strategy, args, model_list, std::move(fallback),
                                           std::move(loader));
}

}  // namespace sy::router::ml
