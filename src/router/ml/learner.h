// What each learned strategy provides behind the Predictor contract: a trainer that turns featurised rows
// into artifact sections, and a loader that turns those sections back into a Predictor. The table of learners
// (learners()) is the one place a new strategy is registered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/ml/artifact.h"
#include "router/ml/candidates.h"
#include "router/ml/featurizer.h"
#include "router/ml/predictor.h"
#include "util/error.h"

namespace sy::router::ml {

class WorkerPool;

// Featurised training rows (CSR) with each row's scores for every model. With external embeddings, each row
// ends with all `embedding_dim` entries of its (normalised) embedding, columns [vocabulary + kDenseSignals,
// columns).
struct TrainingSet {
  std::uint32_t vocabulary = 0;  // TF-IDF columns; the dense signals follow
  std::uint32_t columns = 0;
  std::uint32_t embedding_dim = 0;    // 0: no embedding columns
  std::vector<std::size_t> start{0};  // rows + 1 offsets into index/value
  std::vector<std::uint32_t> index;
  std::vector<float> value;
  std::vector<std::uint32_t> sparse;  // per row: how many leading entries are TF-IDF
  std::vector<float> scores;          // rows x models
  std::vector<ModelInfo> models;

  struct Row {
    std::span<const std::uint32_t> index;
    std::span<const float> value;
    std::size_t sparse;
    std::span<const float> embedding;  // the trailing embedding entries (empty without embeddings)
  };
  std::size_t rows() const noexcept { return start.size() - 1; }
  Row row(std::size_t i) const noexcept {
    const std::size_t n = start[i + 1] - start[i];
    return {{index.data() + start[i], n},
            {value.data() + start[i], n},
            sparse[i],
            {value.data() + start[i + 1] - embedding_dim, embedding_dim}};
  }
  const float* target(std::size_t i) const noexcept { return scores.data() + i * models.size(); }
  void add(const FeatureVector& f, std::span<const float> row_scores);
};

// Named numeric hyper-parameters (`--param name=value`); a learner reads them with defaults, and a name no
// one read is an error, so a typo does not go unnoticed.
class Params {
 public:
  static Result<Params> parse(std::span<const std::string> assignments);
  double get(std::string_view name, double fallback) const;
  std::uint32_t get_u32(std::string_view name, std::uint32_t fallback) const;
  std::vector<std::string> unread() const;

 private:
  std::map<std::string, double, std::less<>> values_;
  mutable std::map<std::string, bool, std::less<>> read_;
};

// What every loaded artifact shares.
struct LoadedArtifact {
  std::string strategy;
  std::string checksum;
  std::vector<ModelInfo> models;
  std::vector<std::string> model_names;
  std::shared_ptr<const Featurizer> featurizer;  // null for the size baselines
  std::uint32_t embedding_dim = 0;               // the model reads an embedding of this dimension (0: none)

  // The columns of the model's features: the featurizer's, then the embedding's.
  std::uint32_t columns() const noexcept { return featurizer->columns() + embedding_dim; }
};

// A learner's Predictor: featurises the text (and appends the embedding when the model reads one), then
// scores the features.
class LearnedPredictor : public Predictor {
 public:
  explicit LearnedPredictor(LoadedArtifact base) : base_(std::move(base)) {}
  std::string_view strategy() const noexcept override { return base_.strategy; }
  std::string_view checksum() const noexcept override { return base_.checksum; }
  std::span<const std::string> models() const noexcept override { return base_.model_names; }
  std::uint32_t embedding_dimension() const noexcept override { return base_.embedding_dim; }
  bool predict(std::string_view text, std::span<const float> embedding, std::span<float> out) const final;
  using Predictor::predict;

 protected:
  // Predicted quality of each model for features `f` (out.size() == models().size()).
  virtual void score(const FeatureVector& f, std::span<float> out) const = 0;
  LoadedArtifact base_;
};

struct Learner {
  std::string_view name;
  std::string_view section;  // the tag of its artifact section
  std::string (*train)(const TrainingSet& data, const Params& params, std::uint64_t seed, WorkerPool& pool);
  Result<std::shared_ptr<const Predictor>> (*load)(ByteReader& section, LoadedArtifact base);
  bool uses_features = true;
};

std::span<const Learner> learners();
const Learner* find_learner(std::string_view name);

// Each learner's entry points (one file each).
std::string train_knn(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&);
Result<std::shared_ptr<const Predictor>> load_knn(ByteReader&, LoadedArtifact);
std::string train_mlp(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&);
Result<std::shared_ptr<const Predictor>> load_mlp(ByteReader&, LoadedArtifact);
std::string train_svm(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&);
Result<std::shared_ptr<const Predictor>> load_svm(ByteReader&, LoadedArtifact);
std::string train_mf(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&);
Result<std::shared_ptr<const Predictor>> load_mf(ByteReader&, LoadedArtifact);
std::string train_elo(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&);
Result<std::shared_ptr<const Predictor>> load_elo(ByteReader&, LoadedArtifact);
std::string train_smallest(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&);
Result<std::shared_ptr<const Predictor>> load_smallest(ByteReader&, LoadedArtifact);
std::string train_largest(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&);
Result<std::shared_ptr<const Predictor>> load_largest(ByteReader&, LoadedArtifact);

// An Error for a section that failed to load.
Error artifact_error(const std::string& message);
float sigmoid(float x) noexcept;

}  // namespace sy::router::ml
