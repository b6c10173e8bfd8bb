// Maps a public model name to its model group and picks one deployment of the group per request
// (simple-shuffle: weighted random by `weight`, else `rpm`, else `tpm`, else uniform).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "util/string_map.h"

namespace sy::router {

struct ModelGroup {
  std::string name;
  std::vector<const config::Deployment*> deployments;
  std::vector<double> cumulative_weights;  // for the weighted pick; empty: uniform
};

class Router {
 public:
  explicit Router(const std::vector<config::Deployment>& deployments);

  const ModelGroup* group(std::string_view model_name) const noexcept;
  // One deployment of the group; `uniform01` is a random number in [0, 1) (injected for deterministic tests).
  static const config::Deployment* pick(const ModelGroup& group, double uniform01) noexcept;
  // Group names in configuration order.
  const std::vector<std::string>& model_names() const noexcept { return names_; }

 private:
  StringMap<ModelGroup> groups_;
  std::vector<std::string> names_;
};

}  // namespace sy::router
