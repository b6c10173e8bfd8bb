#include "router/experiments.h"

#include <cmath>

namespace sy::router {
namespace {

class ExperimentSplit final : public Strategy {
 public:
  ExperimentSplit(std::unique_ptr<Strategy> main, std::vector<ArmStrategy> arms, config::ExperimentKey key)
      : main_(std::move(main)), arms_(std::move(arms)), key_(key) {
    double cumulative = 0;
    for (const ArmStrategy& arm : arms_) {
      cumulative += arm.percent;
      upto_.push_back(static_cast<std::uint32_t>(std::llround(cumulative * (kExperimentBuckets / 100.0))));
    }
  }

  std::string_view name() const noexcept override { return main_->name(); }

  Decision rank(const RouteRequest& request, std::span<Candidate> candidates, Nanos now,
                FastRandom& random) const override {
    const Arm arm = arm_of(request);
    Decision d = arm.strategy->rank(request, candidates, now, random);
    d.experiment_arm = arm.name;
    if (d.strategy.empty()) d.strategy = arm.strategy->name();
    return d;
  }

  EmbeddingNeed embedding_need(const RouteRequest& request,
                               std::span<const std::uint32_t> slots) const override {
    return arm_of(request).strategy->embedding_need(request, slots);
  }

  void reload() override {
    main_->reload();
    for (const ArmStrategy& arm : arms_) arm.strategy->reload();
  }

 private:
  struct Arm {
    const Strategy* strategy;
    std::string_view name;
  };

  Arm arm_of(const RouteRequest& request) const {
    const std::string_view key = experiment_key_of(request, key_);
    if (!key.empty()) {
      const std::uint32_t bucket = experiment_bucket(key);
      for (std::size_t i = 0; i < arms_.size(); ++i) {
        if (bucket < upto_[i]) return {arms_[i].strategy.get(), arms_[i].name};
      }
    }
    return {main_.get(), kMainArm};
  }

  std::unique_ptr<Strategy> main_;
  std::vector<ArmStrategy> arms_;
  std::vector<std::uint32_t> upto_;  // arm i takes the buckets below upto_[i] not taken by an earlier arm
  config::ExperimentKey key_;
};

}  // namespace

std::uint32_t experiment_bucket(std::string_view key) noexcept {
  // FNV-1a, then the SplitMix64 finaliser so that nearby keys ("user-1", "user-2") spread over every bucket.
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<std::uint32_t>(h % kExperimentBuckets);
}

std::string_view experiment_key_of(const RouteRequest& request, config::ExperimentKey key) noexcept {
  if (key == config::ExperimentKey::api_key) return request.api_key;
  if (!request.body) return {};
  const auto* user = request.body->if_contains("user");
  if (!user || !user->is_string()) return {};
  return std::string_view(user->get_string().data(), user->get_string().size());
}

std::unique_ptr<Strategy> make_experiment_split(std::unique_ptr<Strategy> main, std::vector<ArmStrategy> arms,
                                                config::ExperimentKey key) {
  return std::make_unique<ExperimentSplit>(std::move(main), std::move(arms), key);
}

}  // namespace sy::router
