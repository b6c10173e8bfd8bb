// PLACEHOLDER until the offline half of learned routing (featurizer, learners, artifact files) is merged:
// minimal implementations of the contract in router/ml/predictor.h so the online half builds and its tests
// run against test-double predictors. The merge replaces this file with the real implementations.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <boost/json.hpp>

#include "router/ml/predictor.h"
#include "util/json.h"

namespace sy::router::ml {

Result<std::shared_ptr<const Predictor>> load_predictor(const std::string& path) {
  return Error{500, "api_error", path + ": learned routing artifacts cannot be loaded by this build yet",
               {},  {},          {}};
}

Result<std::shared_ptr<const Predictor>> load_predictor(std::span<const std::byte>) {
  return Error{500, "api_error", "learned routing artifacts cannot be loaded by this build yet", {}, {}, {}};
}

void routing_text(const boost::json::object& body, std::string& out) {
  out.clear();
  const auto* messages = body.if_contains("messages");
  if (!messages || !messages->is_array()) return;
  std::string system, user;
  for (const auto& m : messages->get_array()) {
    const auto* o = m.if_object();
    if (!o) continue;
    const auto* role = o->if_contains("role");
    const auto* content = o->if_contains("content");
    if (!role || !role->is_string() || !content) continue;
    if (role->get_string() == "system" && system.empty())
      system = json::content_text(*content).substr(0, 200);
    if (role->get_string() == "user") user = json::content_text(*content);
  }
  if (!system.empty()) out = system + "\n";
  out += user;
}

void rank_candidates(std::span<const float> quality, std::span<const double> cost, Tradeoff tradeoff,
                     std::span<std::uint32_t> order) {
  const std::size_t n = order.size();
  auto c = [&](std::uint32_t i) {
    return std::isnan(cost[i]) ? std::numeric_limits<double>::infinity() : cost[i];
  };
  double best = -std::numeric_limits<double>::infinity(), max_cost = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    best = std::max(best, static_cast<double>(quality[i]));
    if (std::isfinite(c(i))) max_cost = std::max(max_cost, c(i));
  }
  const double floor = best - tradeoff.quality_threshold;
  const double per_cost = max_cost > 0 ? tradeoff.cost_weight / max_cost : 0;
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const bool ea = quality[a] >= floor, eb = quality[b] >= floor;
    if (ea != eb) return ea;
    const double ka = ea ? quality[a] - per_cost * std::min(c(a), max_cost) : quality[a];
    const double kb = eb ? quality[b] - per_cost * std::min(c(b), max_cost) : quality[b];
    if (ka != kb) return ka > kb;
    return c(a) < c(b);
  });
}

}  // namespace sy::router::ml
