#include "router/strategy.h"

#include <algorithm>
#include <cmath>

#include <boost/container/small_vector.hpp>

#include "router/experiments.h"
#include "router/ml/learned_strategy.h"

namespace sy::router {
namespace {

struct Key {
  double value;       // lower is better
  std::uint64_t tie;  // random, breaks ties
  std::uint32_t index;
};

// Orders `candidates` by ascending key (ties at random). Works on the stack for groups of usual size.
template <class KeyOf>
void order_by(std::span<Candidate> candidates, FastRandom& random, KeyOf key_of) {
  boost::container::small_vector<Key, 16> keys;
  keys.reserve(candidates.size());
  for (std::uint32_t i = 0; i < candidates.size(); ++i) {
    keys.push_back(Key{key_of(candidates[i]), random.next(), i});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.value < b.value || (a.value == b.value && a.tie < b.tie);
  });
  boost::container::small_vector<Candidate, 16> sorted;
  sorted.reserve(candidates.size());
  for (const Key& k : keys) sorted.push_back(candidates[k.index]);
  std::copy(sorted.begin(), sorted.end(), candidates.begin());
}

class SimpleShuffle final : public Strategy {
 public:
  std::string_view name() const noexcept override { return "simple-shuffle"; }
  Decision rank(const RouteRequest&, std::span<Candidate> c, Nanos, FastRandom& random) const override {
    if (c.size() == 1) return {"only_candidate"};
    double total = 0;
    bool weighted = false;
    for (const Candidate& x : c) {
      if (auto w = shuffle_weight(*x.deployment)) {
        weighted = true;
        total += std::max(0.0, *w);
      }
    }
    if (!weighted || total <= 0) {
      order_by(c, random, [](const Candidate&) { return 0.0; });
      return {"uniform_random"};
    }
    // Weighted sampling without replacement: an exponential key with rate w per candidate, smallest first, so
    // the first place goes to each candidate with probability w / total.
    order_by(c, random, [&random](const Candidate& x) {
      const double w = std::max(0.0, shuffle_weight(*x.deployment).value_or(0.0));
      if (w <= 0) return std::numeric_limits<double>::infinity();
      const double u = 1.0 - random.uniform();  // (0, 1]
      return -std::log(u) / w;
    });
    const double w = std::max(0.0, shuffle_weight(*c[0].deployment).value_or(0.0));
    return {"weighted_random", w / total};
  }
};

class LeastBusy final : public Strategy {
 public:
  std::string_view name() const noexcept override { return "least-busy"; }
  Decision rank(const RouteRequest&, std::span<Candidate> c, Nanos, FastRandom& random) const override {
    order_by(c, random, [](const Candidate& x) {
      return static_cast<double>(x.stats->in_flight.load(std::memory_order_relaxed));
    });
    return {"least_busy", static_cast<double>(c[0].stats->in_flight.load(std::memory_order_relaxed))};
  }
};

class LowestLatency final : public Strategy {
 public:
  explicit LowestLatency(double buffer) : buffer_(buffer) {}
  std::string_view name() const noexcept override { return "latency-based-routing"; }
  Decision rank(const RouteRequest& request, std::span<Candidate> c, Nanos,
                FastRandom& random) const override {
    // Streams compare time to first token where it is known; a deployment never measured counts as fastest,
    // so every deployment gets measured.
    auto latency = [&request](const Candidate& x) {
      if (request.stream && x.stats->ttft.has_value()) return x.stats->ttft.get();
      return std::max(0.0, x.stats->latency.get());
    };
    double best = std::numeric_limits<double>::infinity();
    for (const Candidate& x : c) best = std::min(best, latency(x));
    // Within the buffer of the best, deployments count as equal and share the load at random.
    const double within = best * (1 + buffer_);
    order_by(c, random, [&](const Candidate& x) {
      const double l = latency(x);
      return l <= within ? best : l;
    });
    return {"lowest_latency", latency(c[0])};
  }

 private:
  double buffer_;
};

class LowestUsage final : public Strategy {
 public:
  std::string_view name() const noexcept override { return "usage-based-routing"; }
  Decision rank(const RouteRequest&, std::span<Candidate> c, Nanos now, FastRandom& random) const override {
    const bool any_limit = std::any_of(c.begin(), c.end(), [](const Candidate& x) {
      return x.deployment->params.tpm.value_or(0) > 0 || x.deployment->params.rpm.value_or(0) > 0;
    });
    // Share of the deployment's limits used this minute; without limits anywhere, the tokens used.
    auto usage = [now, any_limit](const Candidate& x) {
      const auto tokens = static_cast<double>(x.stats->tokens.get(now));
      if (!any_limit) return tokens;
      double share = 0;
      if (double tpm = x.deployment->params.tpm.value_or(0); tpm > 0) share = tokens / tpm;
      if (double rpm = x.deployment->params.rpm.value_or(0); rpm > 0) {
        share = std::max(share, static_cast<double>(x.stats->requests.get(now)) / rpm);
      }
      return share;
    };
    order_by(c, random, usage);
    return {"lowest_usage", usage(c[0])};
  }
};

class LowestCost final : public Strategy {
 public:
  // Input plus output price per token, per deployment, worked out once; an unknown price sorts last.
  explicit LowestCost(const std::vector<config::Deployment>& model_list) {
    costs_.reserve(model_list.size());
    for (const auto& d : model_list) {
      auto p = price_of(d);
      costs_.push_back(p ? p->input + p->output : std::numeric_limits<double>::infinity());
    }
  }
  std::string_view name() const noexcept override { return "cost-based-routing"; }
  Decision rank(const RouteRequest&, std::span<Candidate> c, Nanos, FastRandom& random) const override {
    auto cost = [this](const Candidate& x) { return costs_[x.slot]; };
    order_by(c, random, cost);
    return {"lowest_cost", cost(c[0])};
  }

 private:
  std::vector<double> costs_;  // by model_list position
};

}  // namespace

std::optional<double> shuffle_weight(const config::Deployment& d) noexcept {
  if (d.params.weight) return d.params.weight;
  if (d.params.rpm) return d.params.rpm;
  if (d.params.tpm) return d.params.tpm;
  return std::nullopt;
}

std::optional<Price> price_of(const config::Deployment& d) noexcept {
  const auto& info = d.info;
  if (info.input_cost_per_token || info.output_cost_per_token) {
    return Price{info.input_cost_per_token.value_or(0), info.output_cost_per_token.value_or(0)};
  }
  return builtin_price(d.params.provider_model);
}

namespace {

std::unique_ptr<Strategy> make_one(const config::RouterSettings& s,
                                   const std::vector<config::Deployment>& model_list,
                                   const PredictorLoader& loader) {
  const std::string& n = s.routing_strategy;
  if (ml::is_learned_strategy(n)) {
    config::RouterSettings fallback = s;
    fallback.routing_strategy =
        ml::is_learned_strategy(s.learned.fallback_strategy) ? "simple-shuffle" : s.learned.fallback_strategy;
    return ml::make_learned_strategy(n, s.learned, model_list, make_one(fallback, model_list, loader),
                                     loader);
  }
  if (n == "least-busy") return std::make_unique<LeastBusy>();
  if (n == "latency-based-routing") return std::make_unique<LowestLatency>(s.lowest_latency_buffer);
  if (n == "usage-based-routing" || n == "usage-based-routing-v2") return std::make_unique<LowestUsage>();
  if (n == "cost-based-routing") return std::make_unique<LowestCost>(model_list);
  return std::make_unique<SimpleShuffle>();
}

}  // namespace

std::unique_ptr<Strategy> make_strategy(const config::RouterSettings& s,
                                        const std::vector<config::Deployment>& model_list) {
  return make_strategy(s, model_list, ml::default_predictor_loader());
}

std::unique_ptr<Strategy> make_strategy(const config::RouterSettings& s,
                                        const std::vector<config::Deployment>& model_list,
                                        const PredictorLoader& loader) {
  if (s.experiments.empty()) return make_one(s, model_list, loader);
  std::vector<ArmStrategy> arms;
  for (const config::ExperimentArm& arm : s.experiments) {
    config::RouterSettings a = s;
    a.routing_strategy = arm.routing_strategy;
    a.learned = arm.learned;
    a.lowest_latency_buffer = arm.lowest_latency_buffer;
    arms.push_back(ArmStrategy{arm.name, arm.percent, make_one(a, model_list, loader)});
  }
  return make_experiment_split(make_one(s, model_list, loader), std::move(arms), s.experiment_key);
}

}  // namespace sy::router
