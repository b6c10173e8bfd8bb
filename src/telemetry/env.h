// Environment access for the telemetry SDK, injected so tests are deterministic. Telemetry depends on nothing
// else of ours, so it has its own lookup type.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::telemetry {

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_environment();

// The spec says an empty variable means unset: this lookup returns nullopt for empty values too.
EnvLookup ignoring_empty(EnvLookup env);

// Malformed OTEL_* values are not fatal: they are reported here and the default is used.
using Warnings = std::vector<std::string>;

}  // namespace sy::telemetry
