// rank_candidates: the cost/quality trade-off of llmrouter-hybrid and of `switchyard eval`'s curve.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "router/ml/predictor.h"

namespace sy::router::ml {

void rank_candidates(std::span<const float> quality, std::span<const double> cost, Tradeoff tradeoff,
                     std::span<std::uint32_t> order) {
  const std::size_t n = std::min({quality.size(), cost.size(), order.size()});
  // A NaN quality ranks last; a NaN cost counts as the highest cost.
  auto q = [&](std::uint32_t i) {
    return std::isnan(quality[i]) ? -std::numeric_limits<double>::infinity()
                                  : static_cast<double>(quality[i]);
  };
  auto c = [&](std::uint32_t i) {
    return std::isnan(cost[i]) ? std::numeric_limits<double>::infinity() : cost[i];
  };
  double best = -std::numeric_limits<double>::infinity(), max_cost = 0.0;
  for (std::uint32_t i = 0; i < n; ++i) {
    best = std::max(best, q(i));
    if (std::isfinite(c(i))) max_cost = std::max(max_cost, c(i));
  }
  const double floor = best - std::max(0.0, tradeoff.quality_threshold);
  // An infinite cost weight: the cheapest within the threshold.
  const bool weighted = std::isfinite(tradeoff.cost_weight);
  const double per_cost = weighted && max_cost > 0.0 ? std::max(0.0, tradeoff.cost_weight) / max_cost : 0.0;
  auto eligible = [&](std::uint32_t i) {
    return q(i) >= floor && q(i) > -std::numeric_limits<double>::infinity();
  };
  auto key = [&](std::uint32_t i) { return q(i) - per_cost * std::min(c(i), max_cost); };

  std::iota(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), 0u);
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
            [&](std::uint32_t a, std::uint32_t b) {
              const bool ea = eligible(a), eb = eligible(b);
              if (ea != eb) return ea;
              // Within the threshold, an infinite cost weight: the cheapest (then by quality).
              if (ea && !weighted && c(a) != c(b)) return c(a) < c(b);
              const double ka = ea ? key(a) : q(a), kb = ea ? key(b) : q(b);
              if (ka != kb) return ka > kb;
              if (c(a) != c(b)) return c(a) < c(b);
              return a < b;
            });
}

}  // namespace sy::router::ml
