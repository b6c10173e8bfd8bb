// Maps a public model name to its model group and picks one deployment of the group per request
// (simple-shuffle: weighted random by `weight`, else `rpm`, else `tpm`, else uniform).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace sy::router {

struct ModelGroup {
  std::string name;
  std::vector<const config::Deployment*> deployments;
  std::vector<double> cumulative_weights;  // for the weighted pick; empty: uniform
};

// Lets the group map be searched with a string_view, without building a std::string per request.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
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
  std::unordered_map<std::string, ModelGroup, StringHash, std::equal_to<>> groups_;
  std::vector<std::string> names_;
};

}  // namespace sy::router
