// `switchyard train`: featurise a scored dataset, fit one learner, write its artifact. Optionally holds out a
// part of the data (by a hash of each query) and reports how the artifact routes it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "router/ml/dataset.h"
#include "router/ml/evaluate.h"
#include "util/error.h"

namespace sy::router::ml {

struct TrainOptions {
  std::string strategy;
  std::string data_path, models_path, out_dir;
  std::string embeddings_path;  // external embeddings of the queries (empty: the built-in featurizer only)
  std::uint64_t seed = 1;
  unsigned threads = 0;             // 0: one per core
  double holdout_fraction = 0.0;    // held out of training and evaluated on
  std::vector<std::string> params;  // name=value
  EvalOptions eval;                 // for the held-out part
};

struct TrainSummary {
  std::string path, checksum;
  std::size_t rows = 0, holdout_rows = 0, vocabulary = 0, artifact_bytes = 0, embedding_dim = 0;
  std::string embedding_model;
  double featurize_seconds = 0, train_seconds = 0;
  std::optional<EvalReport> holdout;
};

Result<TrainSummary> train(const TrainOptions& options);

// The artifact bytes of `strategy` trained on the rows `rows` of `data` (all when empty): what train()
// writes. When `data` has embeddings the artifact holds two models (see artifact.h): one on the featurizer's
// columns then the embedding's, one on the featurizer's alone.
struct TrainedArtifact {
  std::string bytes;
  std::size_t vocabulary = 0;
  double featurize_seconds = 0, train_seconds = 0;
};
Result<TrainedArtifact> train_artifact(const std::string& strategy, const Dataset& data,
                                       const std::vector<ModelInfo>& candidates,
                                       const std::vector<std::string>& params, std::uint64_t seed,
                                       unsigned threads, std::span<const std::size_t> rows = {});
std::string summary_text(const TrainSummary& summary);

}  // namespace sy::router::ml
