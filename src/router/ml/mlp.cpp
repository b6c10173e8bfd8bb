// llmrouter-mlp: one hidden ReLU layer over the sparse features, then one sigmoid output per model (its
// predicted score), trained on binary cross-entropy against the scores (neural.h).
#include <algorithm>
#include <cmath>

#include "router/ml/neural.h"
#include "util/random.h"

namespace sy::router::ml {
namespace {

// Logits W2 a + b2: params are W2 (models x hidden) then b2.
class MlpHead final : public NetHead {
 public:
  MlpHead(std::size_t hidden, std::size_t models) : hidden_(hidden), models_(models) {}
  std::size_t size() const noexcept { return models_ * hidden_ + models_; }
  void logits(const float* a, float* out) const override {
    for (std::size_t m = 0; m < models_; ++m) {
      const float* w = params.data() + m * hidden_;
      float s = params[models_ * hidden_ + m];
      for (std::size_t j = 0; j < hidden_; ++j) s += w[j] * a[j];
      out[m] = s;
    }
  }
  void backward(const float* a, const float* delta, float* grad, float* grad_a) const override {
    std::fill(grad_a, grad_a + hidden_, 0.0f);
    for (std::size_t m = 0; m < models_; ++m) {
      const float* w = params.data() + m * hidden_;
      float* g = grad + m * hidden_;
      for (std::size_t j = 0; j < hidden_; ++j) {
        g[j] += delta[m] * a[j];
        grad_a[j] += delta[m] * w[j];
      }
      grad[models_ * hidden_ + m] += delta[m];
    }
  }

 private:
  std::size_t hidden_, models_;
};

float mean_logit(const TrainingSet& data, std::size_t model) {
  double sum = 0;
  for (std::size_t i = 0; i < data.rows(); ++i) sum += data.target(i)[model];
  const double p = std::clamp(data.rows() ? sum / static_cast<double>(data.rows()) : 0.5, 0.01, 0.99);
  return static_cast<float>(std::log(p / (1 - p)));
}

}  // namespace

std::string train_mlp(const TrainingSet& data, const Params& params, std::uint64_t seed, WorkerPool& pool) {
  SparseNet net;
  net.shape = {data.columns, std::clamp<std::uint32_t>(params.get_u32("hidden", 64), 1, 4096),
               static_cast<std::uint32_t>(data.models.size()), true};
  NetTraining t;
  t.epochs = params.get_u32("epochs", 10);
  t.batch = std::max<std::uint32_t>(params.get_u32("batch", 32), 1);
  t.learning_rate = static_cast<float>(params.get("learning_rate", 1e-3));
  t.weight_decay = static_cast<float>(params.get("weight_decay", 0.0));
  t.init_scale = static_cast<float>(params.get("init_scale", 0.1));
  t.dropout = static_cast<float>(std::clamp(params.get("dropout", 0.5), 0.0, 0.9));
  auto head = std::make_unique<MlpHead>(net.shape.width, net.shape.models);
  head->params.assign(head->size(), 0.0f);
  FastRandom random(seed ^ 0x6d6c70);
  const float scale = 1.0f / std::sqrt(static_cast<float>(net.shape.width));
  for (std::size_t i = 0; i < std::size_t{net.shape.models} * net.shape.width; ++i)
    head->params[i] = static_cast<float>((2 * random.uniform() - 1) * scale);
  for (std::size_t m = 0; m < net.shape.models; ++m)
    head->params[std::size_t{net.shape.models} * net.shape.width + m] = mean_logit(data, m);
  net.head = std::move(head);
  train_sparse_net(data, t, seed, pool, net);
  return write_net(net);
}

Result<std::shared_ptr<const Predictor>> load_mlp(ByteReader& r, LoadedArtifact base) {
  SparseNet net;
  // The head's size depends on the width read first: peek it through a copy of the reader.
  ByteReader peek = r;
  peek.u32();
  const std::uint32_t width = std::min<std::uint32_t>(peek.u32(), 4096);
  auto head = std::make_unique<MlpHead>(width, base.models.size());
  const std::size_t size = head->size();
  net.head = std::move(head);
  if (!read_net(r, base, size, net)) return artifact_error(r.error());
  if (!net.shape.relu) return artifact_error("mlp: expected a ReLU layer");
  return std::shared_ptr<const Predictor>(std::make_shared<NetPredictor>(std::move(base), std::move(net)));
}

}  // namespace sy::router::ml
