// Routing strategies: given the request and the deployments of a model group that may be tried now (healthy,
// within their limits, big enough for the prompt), order them best first. The router tries the first; a
// learned strategy plugs in here with the same inputs.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "config/config.h"
#include "router/stats.h"
#include "util/random.h"

namespace sy::router {

// What a strategy may look at besides the candidates.
struct RouteRequest {
  bool stream = false;
  std::int64_t prompt_tokens = -1;             // estimated; -1 when not estimated
  const boost::json::object* body = nullptr;   // the parsed request (for content-aware strategies)
  std::string_view prompt_field = "messages";  // names the prompt in a context-length error
};

struct Candidate {
  const config::Deployment* deployment = nullptr;
  DeploymentStats* stats = nullptr;
  std::uint32_t slot = 0;  // position in model_list: the key of the deployment's stats
};

struct Decision {
  std::string_view reason;                                  // e.g. "weighted_random", "lowest_latency"
  double score = std::numeric_limits<double>::quiet_NaN();  // the deciding figure of the first candidate
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view name() const noexcept = 0;
  // Reorders `candidates` (never empty) best first; ties are broken at random.
  virtual Decision rank(const RouteRequest& request, std::span<Candidate> candidates, Nanos now,
                        FastRandom& random) const = 0;
};

// The strategy `settings.routing_strategy` names (validated at config load). A strategy may precompute per
// deployment from `model_list` (candidates' `slot`s index it); the list must outlive the strategy.
std::unique_ptr<Strategy> make_strategy(const config::RouterSettings& settings,
                                        const std::vector<config::Deployment>& model_list);

// simple-shuffle's weight: litellm_params.weight, else rpm, else tpm; nullopt when none is set.
std::optional<double> shuffle_weight(const config::Deployment& d) noexcept;

// Dollars per token (input, output): model_info when set, else the built-in table (router/prices.cpp).
struct Price {
  double input = 0;
  double output = 0;
};
std::optional<Price> price_of(const config::Deployment& d) noexcept;
std::optional<Price> builtin_price(std::string_view provider_model) noexcept;

}  // namespace sy::router
