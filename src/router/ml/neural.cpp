#include "router/ml/neural.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "router/ml/parallel.h"
#include "util/random.h"

namespace sy::router::ml {
namespace {

constexpr std::size_t kChunkRows = 8;  // rows of a batch per task
constexpr std::size_t kRowParts = 8;   // W's gradient is summed in this many parts, split by row
constexpr std::uint32_t kMaxWidth = 4096;

struct Adam {
  float rate, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f, decay;
  float correction1 = 1, correction2 = 1;
  void step(std::uint64_t t) {
    correction1 = 1.0f - std::pow(beta1, static_cast<float>(t));
    correction2 = 1.0f - std::pow(beta2, static_cast<float>(t));
  }
  // One update of n parameters from their (batch-mean) gradient.
  void update(float* w, const float* g, float* m, float* v, std::size_t n) const {
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      w[i] -= rate * ((m[i] / correction1) / (std::sqrt(v[i] / correction2) + epsilon) + decay * w[i]);
    }
  }
};

// A uniform number in [0, 1) from a 64-bit key (splitmix64's finaliser).
float unit_interval(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<float>(x >> 40) * 0x1.0p-24f;
}

}  // namespace

void SparseNet::linear(std::span<const std::uint32_t> index, std::span<const float> value, float* z) const {
  const std::size_t width = shape.width;
  std::copy(bias.begin(), bias.end(), z);
  for (std::size_t i = 0; i < index.size(); ++i) {
    const float x = value[i];
    const float* w = first.data() + static_cast<std::size_t>(index[i]) * width;
    for (std::size_t j = 0; j < width; ++j) z[j] += x * w[j];
  }
}

void SparseNet::forward(std::span<const std::uint32_t> index, std::span<const float> value, float* a) const {
  linear(index, value, a);
  if (shape.relu) {
    for (std::size_t j = 0; j < shape.width; ++j) a[j] = std::max(a[j], 0.0f);
  }
}

void train_sparse_net(const TrainingSet& data, const NetTraining& t, std::uint64_t seed, WorkerPool& pool,
                      SparseNet& net) {
  const std::size_t width = net.shape.width, models = net.shape.models, columns = net.shape.columns;
  const std::size_t n_head = net.head->params.size();
  FastRandom random(seed);
  net.first.resize(columns * width);
  for (float& w : net.first) w = static_cast<float>((2 * random.uniform() - 1) * t.init_scale);
  net.bias.assign(width, 0.0f);

  std::vector<float> m_first(net.first.size()), v_first(net.first.size());
  std::vector<float> m_bias(width), v_bias(width), m_head(n_head), v_head(n_head);
  const std::size_t batch = std::max<std::uint32_t>(t.batch, 1);
  const std::size_t tasks = (batch + kChunkRows - 1) / kChunkRows;
  std::vector<float> grad_head(tasks * n_head), grad_bias(tasks * width), dz(batch * width);
  std::vector<float> g_head(n_head), g_bias(width);
  std::vector<std::int64_t> slot(columns, -1);  // column -> its row in g_first during a batch
  std::vector<std::uint32_t> touched;
  std::vector<float> g_first;
  Adam adam{t.learning_rate, 0.9f, 0.999f, 1e-8f, t.weight_decay};
  Adam dense = adam;
  dense.decay = 0.0f;

  std::vector<std::size_t> order(data.rows());
  std::iota(order.begin(), order.end(), 0);
  std::uint64_t step = 0;
  for (std::uint32_t epoch = 0; epoch < t.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random.next() % i]);
    for (std::size_t begin = 0; begin < order.size(); begin += batch) {
      const std::size_t end = std::min(order.size(), begin + batch), rows = end - begin;
      std::fill(grad_head.begin(), grad_head.end(), 0.0f);
      std::fill(grad_bias.begin(), grad_bias.end(), 0.0f);
      pool.run((rows + kChunkRows - 1) / kChunkRows, [&](std::size_t task) {
        std::vector<float> a(width), z(width), keep(width), logit(models), delta(models), grad_a(width);
        for (std::size_t r = task * kChunkRows; r < std::min(rows, (task + 1) * kChunkRows); ++r) {
          const auto row = data.row(order[begin + r]);
          const bool relu = net.shape.relu;
          net.linear(row.index, row.value, z.data());
          // Dropout: a unit's mask is a hash of (seed, step, row, unit), the same on any thread.
          const std::uint64_t row_key =
              (seed ^ (step + 1) * 0x9e3779b97f4a7c15ull) + order[begin + r] * 0xbf58476d1ce4e5b9ull;
          for (std::size_t j = 0; j < width; ++j) {
            keep[j] = t.dropout <= 0.0f || unit_interval(row_key + j * 0x94d049bb133111ebull) >= t.dropout
                          ? 1.0f / (1.0f - t.dropout)
                          : 0.0f;
            a[j] = (relu ? std::max(z[j], 0.0f) : z[j]) * keep[j];
          }
          net.head->logits(a.data(), logit.data());
          const float* y = data.target(order[begin + r]);
          for (std::size_t m = 0; m < models; ++m) delta[m] = sigmoid(logit[m]) - y[m];
          net.head->backward(a.data(), delta.data(), grad_head.data() + task * n_head, grad_a.data());
          float* d = dz.data() + r * width;
          for (std::size_t j = 0; j < width; ++j) {
            d[j] = relu && z[j] <= 0.0f ? 0.0f : grad_a[j] * keep[j];
            grad_bias[task * width + j] += d[j];
          }
        }
      });
      ++step;
      adam.step(step);
      dense.step(step);
      const float scale = 1.0f / static_cast<float>(rows);
      std::fill(g_head.begin(), g_head.end(), 0.0f);
      std::fill(g_bias.begin(), g_bias.end(), 0.0f);
      for (std::size_t task = 0; task < tasks; ++task) {
        for (std::size_t i = 0; i < n_head; ++i) g_head[i] += grad_head[task * n_head + i] * scale;
        for (std::size_t j = 0; j < width; ++j) g_bias[j] += grad_bias[task * width + j] * scale;
      }
      dense.update(net.head->params.data(), g_head.data(), m_head.data(), v_head.data(), n_head);
      dense.update(net.bias.data(), g_bias.data(), m_bias.data(), v_bias.data(), width);

      // W: the rows this batch touches, each summed over the batch's rows in order.
      touched.clear();
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::uint32_t c : data.row(order[begin + r]).index) {
          if (slot[c] < 0) slot[c] = static_cast<std::int64_t>(touched.size()), touched.push_back(c);
        }
      }
      g_first.assign(touched.size() * width, 0.0f);
      pool.run(kRowParts, [&](std::size_t part) {
        for (std::size_t r = 0; r < rows; ++r) {
          const auto row = data.row(order[begin + r]);
          const float* d = dz.data() + r * width;
          for (std::size_t i = 0; i < row.index.size(); ++i) {
            const std::size_t s = static_cast<std::size_t>(slot[row.index[i]]);
            if (s % kRowParts != part) continue;
            float* g = g_first.data() + s * width;
            const float x = row.value[i] * scale;
            for (std::size_t j = 0; j < width; ++j) g[j] += x * d[j];
          }
        }
        for (std::size_t s = part; s < touched.size(); s += kRowParts) {
          const std::size_t at = static_cast<std::size_t>(touched[s]) * width;
          adam.update(net.first.data() + at, g_first.data() + s * width, m_first.data() + at,
                      v_first.data() + at, width);
        }
      });
      for (std::uint32_t c : touched) slot[c] = -1;
    }
  }
}

std::string write_net(const SparseNet& net) {
  ByteWriter w;
  w.u32(net.shape.columns);
  w.u32(net.shape.width);
  w.u32(net.shape.models);
  w.u32(net.shape.relu ? 1 : 0);
  w.f32s(net.first);
  w.f32s(net.bias);
  w.u32(static_cast<std::uint32_t>(net.head->params.size()));
  w.f32s(net.head->params);
  return std::move(w.bytes());
}

bool read_net(ByteReader& r, const LoadedArtifact& base, std::size_t head_params, SparseNet& net) {
  NetShape& s = net.shape;
  s.columns = r.u32();
  s.width = r.u32();
  s.models = r.u32();
  const std::uint32_t relu = r.u32();
  s.relu = relu == 1;
  if (r.ok() && s.columns != base.columns()) r.fail("columns differ from FEAT's (and EMBD's)");
  if (r.ok() && (s.width == 0 || s.width > kMaxWidth)) r.fail("width out of range");
  if (r.ok() && s.models != base.models.size()) r.fail("model count differs from the header's");
  if (r.ok() && relu > 1) r.fail("bad activation");
  if (r.ok() && s.columns > r.remaining() / 4 / std::max<std::uint32_t>(s.width, 1))
    r.fail("weights overrun");
  r.f32s(static_cast<std::size_t>(s.columns) * s.width, net.first);
  r.f32s(s.width, net.bias);
  const std::uint32_t n = r.u32();
  if (r.ok() && n != head_params)
    r.fail("head has " + std::to_string(n) + " parameters, expected " + std::to_string(head_params));
  r.f32s(n, net.head->params);
  return r.ok();
}

void NetPredictor::score(const FeatureVector& f, std::span<float> out) const {
  thread_local std::vector<float> a, logit;
  a.resize(net_.shape.width);
  logit.resize(net_.shape.models);
  net_.forward(f.index, f.value, a.data());
  net_.head->logits(a.data(), logit.data());
  for (std::size_t m = 0; m < std::min(out.size(), logit.size()); ++m) out[m] = sigmoid(logit[m]);
}

}  // namespace sy::router::ml
