// llmrouter-mf: RouteLLM's matrix factorisation. The request's features are projected to a d-dimensional
// embedding q = P x; each model m has a learned embedding v_m; its score is sigmoid(w . (v_m * q) + b_m) (the
// element-wise product, then a shared linear classifier). Trained pointwise on binary cross-entropy against
// the scores (neural.h), where RouteLLM trains on pairwise preferences.
#include <algorithm>
#include <cmath>

#include "router/ml/neural.h"
#include "util/random.h"

namespace sy::router::ml {
namespace {

// Logits w . (v_m * a) + b_m: params are v (models x dim), w (dim), b (models).
class MfHead final : public NetHead {
 public:
  MfHead(std::size_t dim, std::size_t models) : dim_(dim), models_(models) {}
  std::size_t size() const noexcept { return models_ * dim_ + dim_ + models_; }
  void logits(const float* a, float* out) const override {
    const float* w = params.data() + models_ * dim_;
    for (std::size_t m = 0; m < models_; ++m) {
      const float* v = params.data() + m * dim_;
      float s = params[models_ * dim_ + dim_ + m];
      for (std::size_t j = 0; j < dim_; ++j) s += w[j] * v[j] * a[j];
      out[m] = s;
    }
  }
  void backward(const float* a, const float* delta, float* grad, float* grad_a) const override {
    const float* w = params.data() + models_ * dim_;
    float* gw = grad + models_ * dim_;
    std::fill(grad_a, grad_a + dim_, 0.0f);
    for (std::size_t m = 0; m < models_; ++m) {
      const float* v = params.data() + m * dim_;
      float* gv = grad + m * dim_;
      for (std::size_t j = 0; j < dim_; ++j) {
        gv[j] += delta[m] * w[j] * a[j];
        gw[j] += delta[m] * v[j] * a[j];
        grad_a[j] += delta[m] * w[j] * v[j];
      }
      grad[models_ * dim_ + dim_ + m] += delta[m];
    }
  }

 private:
  std::size_t dim_, models_;
};

}  // namespace

std::string train_mf(const TrainingSet& data, const Params& params, std::uint64_t seed, WorkerPool& pool) {
  SparseNet net;
  net.shape = {data.columns, std::clamp<std::uint32_t>(params.get_u32("dim", 32), 1, 4096),
               static_cast<std::uint32_t>(data.models.size()), false};
  NetTraining t;
  t.epochs = params.get_u32("epochs", 8);
  t.batch = std::max<std::uint32_t>(params.get_u32("batch", 32), 1);
  t.learning_rate = static_cast<float>(params.get("learning_rate", 1e-3));
  t.weight_decay = static_cast<float>(params.get("weight_decay", 0.0));
  t.init_scale = static_cast<float>(params.get("init_scale", 0.1));
  t.dropout = static_cast<float>(std::clamp(params.get("dropout", 0.3), 0.0, 0.9));
  const std::size_t dim = net.shape.width, models = net.shape.models;
  auto head = std::make_unique<MfHead>(dim, models);
  head->params.assign(head->size(), 0.0f);
  FastRandom random(seed ^ 0x6d66);
  for (std::size_t i = 0; i < models * dim; ++i)
    head->params[i] = static_cast<float>(2 * random.uniform() - 1);
  for (std::size_t j = 0; j < dim; ++j)
    head->params[models * dim + j] = 1.0f / std::sqrt(static_cast<float>(dim));
  for (std::size_t m = 0; m < models; ++m) {
    double sum = 0;
    for (std::size_t i = 0; i < data.rows(); ++i) sum += data.target(i)[m];
    const double p = std::clamp(data.rows() ? sum / static_cast<double>(data.rows()) : 0.5, 0.01, 0.99);
    head->params[models * dim + dim + m] = static_cast<float>(std::log(p / (1 - p)));
  }
  net.head = std::move(head);
  train_sparse_net(data, t, seed, pool, net);
  return write_net(net);
}

Result<std::shared_ptr<const Predictor>> load_mf(ByteReader& r, LoadedArtifact base) {
  SparseNet net;
  ByteReader peek = r;
  peek.u32();
  const std::uint32_t dim = std::min<std::uint32_t>(peek.u32(), 4096);
  const std::size_t models = base.models.size();
  auto head = std::make_unique<MfHead>(dim, models);
  const std::size_t size = head->size();
  net.head = std::move(head);
  if (!read_net(r, base, size, net)) return artifact_error(r.error());
  if (net.shape.relu) return artifact_error("mf: expected a linear projection");
  return std::shared_ptr<const Predictor>(std::make_shared<NetPredictor>(std::move(base), std::move(net)));
}

}  // namespace sy::router::ml
