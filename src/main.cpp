// switchyard: serve, check-config, and the learned-routing tools train, eval, split, traces-to-dataset and
// embed.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/dataset_command.h"
#include "app/embed_command.h"
#include "app/gateway.h"
#include "app/ml_commands.h"
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

  sy::router::ml::TrainOptions train;
  auto* train_cmd = cli.add_subcommand("train", "Train a learned routing strategy into an artifact");
  train_cmd->add_option("--strategy", train.strategy, "knn, mlp, svm, mf, elo, smallest or largest")
      ->required()
      ->check(CLI::IsMember({"knn", "mlp", "svm", "mf", "elo", "smallest", "largest"}));
  train_cmd->add_option("--data", train.data_path, "JSON lines of {query, scores}")->required();
  train_cmd->add_option("--models", train.models_path, "models.json or llm_candidates.json")->required();
  train_cmd->add_option("--out", train.out_dir, "Directory for <strategy>.syra")->required();
  train_cmd->add_option("--seed", train.seed, "Seed of every random choice")->capture_default_str();
  train_cmd->add_option("--threads", train.threads, "Training threads (0: one per core)")
      ->capture_default_str();
  train_cmd
      ->add_option("--holdout-fraction", train.holdout_fraction,
                   "Share of the rows held out of training and evaluated on")
      ->capture_default_str();
  train_cmd->add_option("--param", train.params, "A hyper-parameter, name=value (repeatable)");
  train_cmd->add_option("--embeddings", train.embeddings_path,
                        "JSON lines of {query, embedding, model} (`switchyard embed`): train on them too");

  sy::app::EvalCommand eval;
  auto* eval_cmd = cli.add_subcommand("eval", "Evaluate an artifact on a scored dataset against baselines");
  eval_cmd->add_option("--artifact", eval.artifact, "Artifact file (or a directory holding one)")->required();
  eval_cmd->add_option("--data", eval.data, "JSON lines of {query, scores}")->required();
  eval_cmd->add_option("--models", eval.models, "models.json or llm_candidates.json")->required();
  eval_cmd->add_flag("--json", eval.json, "Print one JSON object");
  eval_cmd->add_option("--embeddings", eval.embeddings,
                       "The data's embeddings, for an artifact trained with them (`switchyard embed`)");
  eval_cmd->add_option("--tradeoff-points", eval.options.points, "Operating points on the curve")
      ->capture_default_str();
  eval_cmd->add_option("--max-threshold", eval.options.max_threshold, "The sweep's largest quality_threshold")
      ->capture_default_str();
  eval_cmd->add_option("--cost-weight", eval.options.cost_weight, "cost_weight during the threshold sweep")
      ->capture_default_str();
  eval_cmd->add_flag("--sweep-cost-weight", eval.options.sweep_cost_weight,
                     "Sweep cost_weight (0..--max-cost-weight) instead of the threshold");
  eval_cmd->add_option("--max-cost-weight", eval.options.max_cost_weight, "The cost_weight sweep's end")
      ->capture_default_str();

  sy::app::SplitCommand split;
  auto* split_cmd = cli.add_subcommand("split", "Split a dataset in two by a hash of each query");
  split_cmd->add_option("--data", split.data, "JSON lines with a \"query\"")->required();
  split_cmd->add_option("--test-fraction", split.test_fraction, "Share of the rows for the test side")
      ->capture_default_str();
  split_cmd->add_option("--seed", split.seed, "Seed of the hash")->capture_default_str();
  split_cmd->add_option("--train-out", split.train_out, "Where the train side goes")->required();
  split_cmd->add_option("--test-out", split.test_out, "Where the test side goes")->required();

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
  dataset_cmd->add_option("--models", dataset.models_file,
                          "models.json or llm_candidates.json: the models every line must score");
  dataset_cmd->add_flag("--partial", dataset.partial, "Also write queries not scored for every model");

  sy::app::EmbedCommand embed;
  auto* embed_cmd = cli.add_subcommand(
      "embed", "Embed a dataset's queries through a gateway's /v1/embeddings, for `train --embeddings`");
  embed_cmd->add_option("--url", embed.url, "The gateway's URL")->capture_default_str();
  embed_cmd->add_option("--model", embed.model, "The model_name to embed with (the config's embedding_model)")
      ->required();
  embed_cmd->add_option("--key", embed.key, "The gateway's API key (default: env SWITCHYARD_API_KEY)");
  embed_cmd->add_option("--data", embed.data, "JSON lines with a \"query\" (a training file)")->required();
  embed_cmd->add_option("--out", embed.out, "JSON lines of {query, model, embedding} to write")->required();
  embed_cmd->add_option("--batch", embed.batch, "Queries per request")->capture_default_str();
  embed_cmd->add_option("--timeout", embed.timeout_seconds, "Seconds per request")->capture_default_str();

  CLI11_PARSE(cli, argc, argv);

  sy::log::Level level;
  if (!sy::log::parse_level(log_level, level)) {
    std::cerr << "unknown log level: " << log_level << "\n";
    return 2;
  }
  sy::log::set_level(level);

  if (*check_cmd) return sy::app::check_config(check_path);
  if (*train_cmd) return sy::app::run_train(train);
  if (*eval_cmd) return sy::app::run_eval(eval);
  if (*split_cmd) return sy::app::run_split(split);
  if (*dataset_cmd) return sy::app::traces_to_dataset(dataset);
  if (*embed_cmd) return sy::app::run_embed(embed);
  if (*workers_opt) serve.workers = workers;
  return sy::app::serve(serve);
}
