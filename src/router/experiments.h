// A/B experiments between strategies (routing_strategy_args.experiments): each request goes to one arm,
// chosen by a deterministic hash of its `user` field or of its API key (only the hash is used; the key is
// never recorded), so a user or key stays on one arm across requests, processes and replicas. Arms take their
// configured percentages of the hash space in configuration order; the rest, and requests without the key, go
// to the main arm.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "router/strategy.h"

namespace sy::router {

inline constexpr std::string_view kMainArm = "main";
inline constexpr std::uint32_t kExperimentBuckets = 10'000;  // percentages to two decimals

struct ArmStrategy {
  std::string name;
  double percent = 0;
  std::unique_ptr<Strategy> strategy;
};

std::unique_ptr<Strategy> make_experiment_split(std::unique_ptr<Strategy> main, std::vector<ArmStrategy> arms,
                                                config::ExperimentKey key);

// The bucket (0 .. kExperimentBuckets - 1) of an experiment key. Stable: changing it would move users between
// arms.
std::uint32_t experiment_bucket(std::string_view key) noexcept;

// The experiment key of a request: its `user` field or the API key it presented; empty when it has none.
std::string_view experiment_key_of(const RouteRequest& request, config::ExperimentKey key) noexcept;

}  // namespace sy::router
