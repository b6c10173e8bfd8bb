// Helpers the config loader's unit tests share: a deterministic environment and a substring check.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace sy::config::testing {

inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// A deterministic environment: only the given variables exist.
inline EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    if (auto it = vars.find(std::string(name)); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

inline const EnvLookup kNoEnv = env_of({});

}  // namespace sy::config::testing
