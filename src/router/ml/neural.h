// What the neural learners (mlp, mf) share: a first layer W (columns x width) over the sparse features, plus
// a bias and an optional ReLU, then a small dense head with one logit per model; trained on binary
// cross-entropy against the scores with minibatch Adam, lazily on W's rows (a batch moves only the rows its
// features touch). Each batch is cut into fixed chunks of rows computed in parallel and reduced in chunk
// order, and W's gradient is split by row, so the weights do not depend on the number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "router/ml/learner.h"

namespace sy::router::ml {

// The dense head: logits from the first layer's output `a`, and the gradients of its parameters.
class NetHead {
 public:
  virtual ~NetHead() = default;
  virtual void logits(const float* a, float* out) const = 0;
  // Adds dL/dparams into `grad` and writes dL/da into `grad_a`, given dL/dlogit = `delta`.
  virtual void backward(const float* a, const float* delta, float* grad, float* grad_a) const = 0;
  std::vector<float> params;
};

struct NetShape {
  std::uint32_t columns = 0, width = 0, models = 0;
  bool relu = false;
};

struct NetTraining {
  std::uint32_t epochs = 5, batch = 32;
  float learning_rate = 1e-3f, weight_decay = 0.0f, init_scale = 0.1f;
  float dropout = 0.0f;  // of the first layer's units, while training
};

struct SparseNet {
  NetShape shape;
  std::vector<float> first;  // columns x width, row-major
  std::vector<float> bias;   // width
  std::unique_ptr<NetHead> head;

  // z = bias + W^T x, and a = activation(z).
  void linear(std::span<const std::uint32_t> index, std::span<const float> value, float* z) const;
  void forward(std::span<const std::uint32_t> index, std::span<const float> value, float* a) const;
};

// Trains `net` (shape and head parameters initialised by the caller; `first` is initialised here).
void train_sparse_net(const TrainingSet& data, const NetTraining& training, std::uint64_t seed,
                      WorkerPool& pool, SparseNet& net);

// Section layout shared by mlp and mf: u32 columns, width, models, relu | first | bias | u32 n | head params.
std::string write_net(const SparseNet& net);
// Reads what write_net wrote into `net`, whose head (and so its expected parameter count) the caller made.
bool read_net(ByteReader& r, const LoadedArtifact& base, std::size_t head_params, SparseNet& net);

class NetPredictor final : public LearnedPredictor {
 public:
  NetPredictor(LoadedArtifact base, SparseNet net)
      : LearnedPredictor(std::move(base)), net_(std::move(net)) {}
  void score(const FeatureVector& f, std::span<float> out) const override;

 private:
  SparseNet net_;
};

}  // namespace sy::router::ml
