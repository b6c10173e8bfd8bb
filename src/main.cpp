// switchyard: serve, check-config, traces-to-dataset.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/dataset_command.h"
#include "app/gateway.h"
#include "util/log.h"

int main(int argc, char** argv) {
  CLI::App cli{"Switchyard: an OpenAI-compatible LLM gateway with a LiteLLM-compatible config."};
  cli.set_version_flag("--version", std::string("switchyard ") + SWITCHYARD_VERSION);
  cli.require_subcommand(1);

  std::string log_level = std::getenv("SWITCHYARD_LOG_LEVEL") ? std::getenv("SWITCHYARD_LOG_LEVEL") : "info";
  cli.add_option("--log-level", log_level, "debug, info, warn, error or off (env SWITCHYARD_LOG_LEVEL)")
      ->capture_default_str();

  sy::app::ServeOptions serve;
  unsigned workers = 0;
  auto* serve_cmd = cli.add_subcommand("serve", "Run the gateway");
  serve_cmd->add_option("-c,--config", serve.config_path, "LiteLLM-compatible config.yaml")->required();
  serve_cmd->add_option("--host", serve.host, "Address to listen on")->capture_default_str();
  serve_cmd->add_option("-p,--port", serve.port, "Port to listen on (0: any free port)")
      ->capture_default_str();
  auto* workers_opt = serve_cmd->add_option("-w,--workers", workers,
                                            "Worker threads (default: server_settings.workers, else one "
                                            "per core)");

  std::string check_path;
  auto* check_cmd =
      cli.add_subcommand("check-config", "Load and validate a config file, print its diagnostics");
  check_cmd->add_option("file", check_path, "config.yaml")->required();

  sy::app::TracesToDatasetOptions dataset;
  auto* dataset_cmd = cli.add_subcommand(
      "traces-to-dataset",
      "Join exported OTLP/JSON spans with a feedback file into training lines for `train`");
  dataset_cmd->add_option("--spans", dataset.span_files, "OTLP/JSON export files (one or more)")->required();
  dataset_cmd
      ->add_option("--feedback", dataset.feedback_file,
                   "JSON lines of {\"request_id\", \"model\", \"score\"}")
      ->required();
  dataset_cmd->add_option("--out", dataset.out_file, "training lines to write (JSON lines)")->required();

  CLI11_PARSE(cli, argc, argv);

  sy::log::Level level;
  if (!sy::log::parse_level(log_level, level)) {
    std::cerr << "unknown log level: " << log_level << "\n";
    return 2;
  }
  sy::log::set_level(level);

  if (*check_cmd) return sy::app::check_config(check_path);
  if (*dataset_cmd) return sy::app::traces_to_dataset(dataset);
  if (*workers_opt) serve.workers = workers;
  return sy::app::serve(serve);
}
