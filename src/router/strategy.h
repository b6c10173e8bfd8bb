// Routing strategies: given the request and the deployments of a model group that may be tried now (healthy,
// within their limits, big enough for the prompt), order them best first. The router tries the first; a
// learned strategy plugs in here with the same inputs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "config/config.h"
#include "router/stats.h"
#include "util/error.h"
#include "util/request_body.h"
#include "util/random.h"

namespace sy::router {

namespace ml {
class Predictor;
}  // namespace ml

// What a strategy may look at besides the candidates.
struct RouteRequest {
  bool stream = false;
  std::int64_t prompt_tokens = -1;             // estimated; -1 when not estimated
  json::ConstBodyRef body{};                   // the request (for content-aware strategies): parsed on use
  std::string_view prompt_field = "messages";  // names the prompt in a context-length error
  std::string_view api_key{};                  // the key presented: experiments hash it; never recorded
  // The routing text's embedding a strategy asked for (Strategy::embedding_need), as the embedding model
  // returned it; and how it came: "fetched" or "cached", else why there is none ("timeout", "error", or
  // "absent": no routing text). Both empty when none was asked for.
  std::span<const float> embedding{};
  std::string_view embedding_status{};
};

// The embedding a strategy ranks a request with (learned routing's embedding_model): its routing text
// embedded by model group `model`, which the inference path gets before selecting, within `timeout`.
struct EmbeddingNeed {
  std::string_view model{};  // empty: none needed
  std::uint32_t dimension = 0;
  std::chrono::milliseconds timeout{0};
  explicit operator bool() const noexcept { return !model.empty(); }
};

struct Candidate {
  const config::Deployment* deployment = nullptr;
  DeploymentStats* stats = nullptr;
  std::uint32_t slot = 0;  // position in model_list: the key of the deployment's stats
};

struct Decision {
  std::string_view reason;                                  // e.g. "weighted_random", "lowest_latency"
  double score = std::numeric_limits<double>::quiet_NaN();  // the deciding figure of the first candidate
  // Learned strategies and experiments fill these; empty otherwise. The views into a learned artifact and the
  // routing text stay valid until the next rank() on the same thread: read them right after selecting.
  std::string_view strategy{};  // the strategy that decided, when an experiment arm's (else the router's)
  std::string_view strategy_version{};  // the learned artifact's checksum
  std::string_view experiment_arm{};    // "main" or an experiment's name
  std::string_view learned_model{};     // the artifact's model the first candidate serves
  std::string_view routing_text{};      // the text the artifact predicted for (trace_routing_text only)
  // How an artifact trained with embeddings got one: "used" (fetched for this request), "cached", or why its
  // built-in model decided instead: "timeout", "error" (a failed call, or the wrong dimension), "absent".
  std::string_view embedding{};
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view name() const noexcept = 0;
  // Reorders `candidates` (never empty) best first; ties are broken at random.
  virtual Decision rank(const RouteRequest& request, std::span<Candidate> candidates, Nanos now,
                        FastRandom& random) const = 0;
  // The embedding rank() would use for `request` among the deployments at `slots` (a model group's), which
  // the caller fetches first (RouteRequest::embedding); none by default.
  virtual EmbeddingNeed embedding_need(const RouteRequest&, std::span<const std::uint32_t>) const {
    return {};
  }
  // Reloads what the strategy loads from files (a learned artifact) when it changed. Thread-safe; called off
  // the I/O threads (SIGHUP); decisions carry on meanwhile.
  virtual void reload() {}
};

// Builds a learned-routing Predictor from an artifact's bytes (ml::load_predictor unless a test injects
// another).
using PredictorLoader =
    std::function<Result<std::shared_ptr<const ml::Predictor>>(std::span<const std::byte> artifact)>;

// The strategy `settings.routing_strategy` names (validated at config load). A strategy may precompute per
// deployment from `model_list` (candidates' `slot`s index it); the list must outlive the strategy.
// With routing_strategy_args.experiments, the strategy splits requests between the arms' strategies.
std::unique_ptr<Strategy> make_strategy(const config::RouterSettings& settings,
                                        const std::vector<config::Deployment>& model_list);
std::unique_ptr<Strategy> make_strategy(const config::RouterSettings& settings,
                                        const std::vector<config::Deployment>& model_list,
                                        const PredictorLoader& loader);

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
