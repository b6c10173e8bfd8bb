// The learned-routing subcommands of the CLI: train, eval and split (src/router/ml/ does the work).
#pragma once

#include <string>

#include "router/ml/evaluate.h"
#include "router/ml/train.h"

namespace sy::app {

int run_train(const router::ml::TrainOptions& options);

struct EvalCommand {
  std::string artifact, data, models;
  std::string embeddings;  // the data's embeddings (optional)
  bool json = false;
  router::ml::EvalOptions options;
};
int run_eval(const EvalCommand& command);

struct SplitCommand {
  std::string data, train_out, test_out;
  double test_fraction = 0.2;
  std::uint64_t seed = 1;
};
int run_split(const SplitCommand& command);

}  // namespace sy::app
