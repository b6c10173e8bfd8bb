#include "telemetry/env.h"

#include <cstdlib>

namespace sy::telemetry {

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

EnvLookup ignoring_empty(EnvLookup env) {
  return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto v = env(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
}

}  // namespace sy::telemetry
