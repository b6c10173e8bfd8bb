// llmrouter-svm: one linear SVM per model (does it answer well: score >= label_threshold?), trained with
// Pegasos (hinge loss, L2 regularisation lambda, a constant feature for the bias), its margin mapped to a
// probability by Platt scaling fitted on out-of-fold margins. The models train in parallel, each on its own
// seeded order, so the weights do not depend on the number of threads.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "router/ml/learner.h"
#include "router/ml/parallel.h"
#include "util/random.h"

namespace sy::router::ml {
namespace {

struct SvmModel {
  std::uint32_t columns = 0, models = 0;
  std::vector<float> weights;  // (columns + 1) x models: a feature's weights for every model, then the biases
  std::vector<float> platt;    // per model: a, b of sigmoid(a * margin + b)
};

class SvmPredictor final : public LearnedPredictor {
 public:
  SvmPredictor(LoadedArtifact base, SvmModel model)
      : LearnedPredictor(std::move(base)), m_(std::move(model)) {}

  void score(const FeatureVector& f, std::span<float> out) const override {
    thread_local std::vector<float> margin;
    const std::size_t models = m_.models;
    margin.assign(m_.weights.end() - static_cast<std::ptrdiff_t>(models), m_.weights.end());
    for (std::size_t i = 0; i < f.size(); ++i) {
      const float* w = m_.weights.data() + static_cast<std::size_t>(f.index[i]) * models;
      for (std::size_t m = 0; m < models; ++m) margin[m] += f.value[i] * w[m];
    }
    for (std::size_t m = 0; m < std::min(out.size(), models); ++m)
      out[m] = sigmoid(m_.platt[2 * m] * margin[m] + m_.platt[2 * m + 1]);
  }

 private:
  SvmModel m_;
};

// Fits sigmoid(a * x + b) to targets y by Newton's method on the cross-entropy, with a unit Gaussian prior on
// a and b: a model whose labels are all alike gets a finite fit.
void fit_platt(const std::vector<double>& x, const TrainingSet& data, std::size_t model, float& a_out,
               float& b_out) {
  double a = 1.0, b = 0.0;
  for (int iteration = 0; iteration < 50; ++iteration) {
    double ga = a, gb = b, haa = 1.0, hab = 0, hbb = 1.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double p = 1.0 / (1.0 + std::exp(-(a * x[i] + b)));
      const double d = p - data.target(i)[model], w = p * (1 - p);
      ga += d * x[i], gb += d;
      haa += w * x[i] * x[i], hab += w * x[i], hbb += w;
    }
    const double det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    a -= da, b -= db;
    if (std::abs(da) + std::abs(db) < 1e-9) break;
  }
  a_out = static_cast<float>(a);
  b_out = static_cast<float>(b);
}

// Pegasos on the rows `rows` for model m: the weights (columns + 1, the bias last).
std::vector<double> pegasos(const TrainingSet& data, std::vector<std::size_t> rows, std::size_t m,
                            double lambda, std::uint32_t epochs, double label_threshold, std::uint64_t seed) {
  const std::size_t columns = data.columns;
  std::vector<double> v(columns + 1, 0.0);  // w = scale * v; v[columns] is the bias
  double scale = 1.0;
  FastRandom random(seed);
  std::uint64_t t = 0;
  for (std::uint32_t epoch = 0; epoch < epochs; ++epoch) {
    for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[random.next() % i]);
    for (std::size_t i : rows) {
      ++t;
      const auto row = data.row(i);
      const double y = data.target(i)[m] >= label_threshold ? 1.0 : -1.0;
      double dot = v[columns];
      for (std::size_t k = 0; k < row.index.size(); ++k) dot += v[row.index[k]] * row.value[k];
      const double eta = 1.0 / (lambda * static_cast<double>(t));
      const bool violated = y * scale * dot < 1.0;
      if (t > 1) scale *= 1.0 - eta * lambda;  // at t = 1 the weights are still zero
      if (violated) {
        const double step = eta * y / scale;
        for (std::size_t k = 0; k < row.index.size(); ++k) v[row.index[k]] += step * row.value[k];
        v[columns] += step;
      }
      if (scale < 1e-9) {
        for (double& x : v) x *= scale;
        scale = 1.0;
      }
    }
  }
  for (double& x : v) x *= scale;
  return v;
}

double margin(const std::vector<double>& w, const TrainingSet::Row& row) {
  double dot = w.back();
  for (std::size_t k = 0; k < row.index.size(); ++k) dot += w[row.index[k]] * row.value[k];
  return dot;
}

}  // namespace

std::string train_svm(const TrainingSet& data, const Params& params, std::uint64_t seed, WorkerPool& pool) {
  const double lambda = std::max(1e-9, params.get("lambda", 1e-3));
  const std::uint32_t epochs = std::max<std::uint32_t>(params.get_u32("epochs", 10), 1);
  const double label_threshold = params.get("label_threshold", 0.5);
  // Platt scaling is fitted on margins each row gets from an SVM trained without it (k-fold): margins of
  // training rows are overconfident.
  const std::uint32_t folds = params.get_u32("calibration_folds", 3);
  const std::size_t columns = data.columns, models = data.models.size(), rows = data.rows();
  SvmModel out;
  out.columns = data.columns;
  out.models = static_cast<std::uint32_t>(models);
  out.weights.assign((columns + 1) * models, 0.0f);
  out.platt.assign(2 * models, 0.0f);

  pool.run(models, [&](std::size_t m) {
    const std::uint64_t model_seed = seed ^ (0x73766d00 + m);
    std::vector<std::size_t> all(rows);
    std::iota(all.begin(), all.end(), 0);
    const std::vector<double> w = pegasos(data, all, m, lambda, epochs, label_threshold, model_seed);
    for (std::size_t c = 0; c <= columns; ++c) out.weights[c * models + m] = static_cast<float>(w[c]);
    std::vector<double> margins(rows);
    if (folds < 2) {
      for (std::size_t i = 0; i < rows; ++i) margins[i] = margin(w, data.row(i));
    } else {
      for (std::uint32_t f = 0; f < folds; ++f) {
        std::vector<std::size_t> train;
        for (std::size_t i = 0; i < rows; ++i) {
          if (i % folds != f) train.push_back(i);
        }
        const std::vector<double> wf =
            pegasos(data, train, m, lambda, epochs, label_threshold, model_seed + f + 1);
        for (std::size_t i = f; i < rows; i += folds) margins[i] = margin(wf, data.row(i));
      }
    }
    fit_platt(margins, data, m, out.platt[2 * m], out.platt[2 * m + 1]);
  });

  ByteWriter w;
  w.u32(out.columns);
  w.u32(out.models);
  w.f32s(out.weights);
  w.f32s(out.platt);
  return std::move(w.bytes());
}

Result<std::shared_ptr<const Predictor>> load_svm(ByteReader& r, LoadedArtifact base) {
  SvmModel m;
  m.columns = r.u32();
  m.models = r.u32();
  if (r.ok() && m.columns != base.columns()) r.fail("columns differ from FEAT's (and EMBD's)");
  if (r.ok() && m.models != base.models.size()) r.fail("model count differs from the header's");
  if (r.ok() && std::size_t{m.columns} + 1 > r.remaining() / 4 / std::max<std::uint32_t>(m.models, 1))
    r.fail("weights overrun");
  r.f32s((std::size_t{m.columns} + 1) * m.models, m.weights);
  r.f32s(2 * std::size_t{m.models}, m.platt);
  if (!r.ok()) return artifact_error(r.error());
  return std::shared_ptr<const Predictor>(std::make_shared<SvmPredictor>(std::move(base), std::move(m)));
}

}  // namespace sy::router::ml
