// Wiring: loads the config, builds the API over it and runs the HTTP server until it drains.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sy::app {

struct ServeOptions {
  std::string config_path;
  std::string host = "0.0.0.0";
  std::uint16_t port = 4000;
  std::optional<unsigned> workers;  // overrides server_settings.workers
};

// Returns the process exit code.
int serve(const ServeOptions& options);
// Prints the diagnostics of a config file; returns 0 when it loads.
int check_config(const std::string& path);

}  // namespace sy::app
