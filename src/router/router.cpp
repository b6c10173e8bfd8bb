#include "router/router.h"

#include <algorithm>

namespace sy::router {
namespace {

double weight_of(const config::Deployment& d) {
  if (d.params.weight) return *d.params.weight;
  if (d.params.rpm) return *d.params.rpm;
  if (d.params.tpm) return *d.params.tpm;
  return -1;  // no weight given
}

}  // namespace

Router::Router(const std::vector<config::Deployment>& deployments) {
  for (const auto& d : deployments) {
    auto [it, inserted] = groups_.try_emplace(d.model_name);
    if (inserted) {
      it->second.name = d.model_name;
      names_.push_back(d.model_name);
    }
    it->second.deployments.push_back(&d);
  }
  for (auto& [name, g] : groups_) {
    bool weighted = std::any_of(g.deployments.begin(), g.deployments.end(),
                                [](const config::Deployment* d) { return weight_of(*d) >= 0; });
    if (!weighted || g.deployments.size() < 2) continue;
    double sum = 0;
    for (const auto* d : g.deployments) {
      sum += std::max(0.0, weight_of(*d));
      g.cumulative_weights.push_back(sum);
    }
    if (sum <= 0) g.cumulative_weights.clear();
  }
}

const ModelGroup* Router::group(std::string_view model_name) const noexcept {
  auto it = groups_.find(model_name);
  return it == groups_.end() ? nullptr : &it->second;
}

const config::Deployment* Router::pick(const ModelGroup& g, double u) noexcept {
  if (g.deployments.empty()) return nullptr;
  if (g.cumulative_weights.empty()) {
    auto i = static_cast<std::size_t>(u * static_cast<double>(g.deployments.size()));
    return g.deployments[std::min(i, g.deployments.size() - 1)];
  }
  const double target = u * g.cumulative_weights.back();
  auto it = std::upper_bound(g.cumulative_weights.begin(), g.cumulative_weights.end(), target);
  auto i = static_cast<std::size_t>(it - g.cumulative_weights.begin());
  return g.deployments[std::min(i, g.deployments.size() - 1)];
}

}  // namespace sy::router
