// llmrouter-knn: the k training queries most similar to the request (cosine of the TF-IDF vectors) vote with
// their scores, weighted by similarity^power and shrunk towards each model's mean by `prior`
// pseudo-neighbours. An inverted index (column -> training rows) scores only the rows sharing a feature with
// the request, and the request is cut to its `query_terms` heaviest features: the rare, high-IDF ones with
// short postings. With external embeddings, similarity is the cosine of the embeddings instead (every
// training row is scored: the cost grows with rows x dimension), as LLMRouter's knn router does.
#include <algorithm>
#include <cmath>

#include "router/ml/learner.h"

namespace sy::router::ml {
namespace {

constexpr std::uint32_t kMaxK = 1024;

// a . b with eight running sums, which the compiler keeps in vector registers (a single sum would be a chain
// of dependent additions it may not reorder).
float dot(const float* a, const float* b, std::size_t n) noexcept {
  float s[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (std::size_t k = 0; k < 8; ++k) s[k] += a[i + k] * b[i + k];
  }
  float total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

struct KnnModel {
  std::uint32_t k = 100, query_terms = 64;
  float power = 1.0f, prior = 1.0f;
  std::uint32_t rows = 0, models = 0, dim = 0;
  std::vector<float> scores;              // rows x models
  std::vector<float> embeddings;          // rows x dim, normalised (dim > 0 only)
  std::vector<float> mean;                // per model
  std::vector<std::uint32_t> post_start;  // vocabulary + 1
  std::vector<std::uint32_t> post_row;
  std::vector<float> post_value;
};

class KnnPredictor final : public LearnedPredictor {
 public:
  KnnPredictor(LoadedArtifact base, KnnModel model)
      : LearnedPredictor(std::move(base)), m_(std::move(model)) {}

  void score(const FeatureVector& f, std::span<float> out) const override {
    thread_local Scratch s;
    auto heavier = [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    if (m_.dim > 0) {
      nearest_by_embedding(f.embedding_values(), s);
    } else {
      nearest_by_terms(f, s, heavier);
    }
    // The k most similar rows (ties: the earlier row).
    if (s.top.size() > m_.k) {
      std::nth_element(s.top.begin(), s.top.begin() + m_.k, s.top.end(), heavier);
      s.top.resize(m_.k);
    }
    const std::size_t n = std::min<std::size_t>(out.size(), m_.models);
    for (std::size_t j = 0; j < n; ++j) out[j] = m_.prior * m_.mean[j];
    float total = m_.prior;
    for (const auto& [sim, row] : s.top) {
      const float w = m_.power == 1.0f ? sim : std::pow(sim, m_.power);
      total += w;
      const float* row_scores = m_.scores.data() + static_cast<std::size_t>(row) * m_.models;
      for (std::size_t j = 0; j < n; ++j) out[j] += w * row_scores[j];
    }
    for (std::size_t j = 0; j < n; ++j) out[j] = total > 0.0f ? out[j] / total : m_.mean[j];
  }

 private:
  struct Scratch {
    std::vector<float> sim;  // per training row, zero between calls
    std::vector<std::uint32_t> touched;
    std::vector<std::pair<float, std::uint32_t>> terms, top;
  };

  // The rows sharing a term with the request, by TF-IDF cosine, into s.top.
  template <class Heavier>
  void nearest_by_terms(const FeatureVector& f, Scratch& s, Heavier heavier) const {
    if (s.sim.size() < m_.rows) s.sim.resize(m_.rows, 0.0f);
    s.terms.clear();
    for (std::size_t i = 0; i < f.sparse; ++i) s.terms.emplace_back(f.value[i], f.index[i]);
    if (s.terms.size() > m_.query_terms) {
      std::nth_element(s.terms.begin(), s.terms.begin() + m_.query_terms, s.terms.end(), heavier);
      s.terms.resize(m_.query_terms);
    }
    s.touched.clear();
    for (const auto& [weight, col] : s.terms) {
      for (std::uint32_t p = m_.post_start[col]; p < m_.post_start[col + 1]; ++p) {
        const std::uint32_t row = m_.post_row[p];
        if (s.sim[row] == 0.0f) s.touched.push_back(row);
        s.sim[row] += weight * m_.post_value[p];
      }
    }
    s.top.clear();
    for (std::uint32_t row : s.touched) {
      s.top.emplace_back(s.sim[row], row);
      s.sim[row] = 0.0f;
    }
  }

  // Every row whose embedding has a positive cosine with the request's, into s.top.
  void nearest_by_embedding(std::span<const float> query, Scratch& s) const {
    s.top.clear();
    if (query.size() != m_.dim) return;
    for (std::uint32_t row = 0; row < m_.rows; ++row) {
      const float sim =
          dot(query.data(), m_.embeddings.data() + static_cast<std::size_t>(row) * m_.dim, m_.dim);
      if (sim > 0.0f) s.top.emplace_back(sim, row);
    }
  }

  KnnModel m_;
};

}  // namespace

std::string train_knn(const TrainingSet& data, const Params& params, std::uint64_t, WorkerPool&) {
  ByteWriter w;
  w.u32(std::clamp<std::uint32_t>(params.get_u32("k", 100), 1, kMaxK));
  w.u32(std::max<std::uint32_t>(params.get_u32("query_terms", 64), 1));
  w.f32(static_cast<float>(params.get("power", 1.0)));
  w.f32(static_cast<float>(std::max(0.0, params.get("prior", 1.0))));
  w.u32(static_cast<std::uint32_t>(data.rows()));
  w.u32(static_cast<std::uint32_t>(data.models.size()));
  w.u32(data.vocabulary);
  w.f32s(data.scores);
  // The TF-IDF rows (none when the embeddings measure similarity), then the embeddings.
  std::vector<std::uint32_t> row_end, cols;
  std::vector<float> values;
  for (std::size_t i = 0; i < data.rows(); ++i) {
    const auto row = data.row(i);
    if (data.embedding_dim == 0) {
      cols.insert(cols.end(), row.index.begin(), row.index.begin() + row.sparse);
      values.insert(values.end(), row.value.begin(), row.value.begin() + row.sparse);
    }
    row_end.push_back(static_cast<std::uint32_t>(cols.size()));
  }
  w.u32s(row_end);
  w.u32(static_cast<std::uint32_t>(cols.size()));
  w.u32s(cols);
  w.f32s(values);
  for (std::size_t i = 0; i < data.rows(); ++i) w.f32s(data.row(i).embedding);
  return std::move(w.bytes());
}

Result<std::shared_ptr<const Predictor>> load_knn(ByteReader& r, LoadedArtifact base) {
  KnnModel m;
  m.k = r.u32();
  m.query_terms = r.u32();
  m.power = r.f32();
  m.prior = r.f32();
  m.rows = r.count(1u << 26, 4);
  m.models = r.u32();
  const std::uint32_t vocabulary = r.u32();
  if (r.ok() && (m.k == 0 || m.k > kMaxK)) r.fail("k out of range");
  if (r.ok() && m.query_terms == 0) r.fail("query_terms is 0");
  if (r.ok() && (m.power < 0 || m.prior < 0)) r.fail("negative power or prior");
  if (r.ok() && m.models != base.models.size()) r.fail("model count differs from the header's");
  if (r.ok() && vocabulary != base.featurizer->vocabulary_size()) r.fail("vocabulary differs from FEAT's");
  if (r.ok() && m.rows > r.remaining() / 4 / std::max<std::uint32_t>(m.models, 1)) r.fail("too many rows");
  r.f32s(static_cast<std::size_t>(m.rows) * m.models, m.scores);
  std::vector<std::uint32_t> row_end, cols;
  std::vector<float> values;
  r.u32s(m.rows, row_end);
  const std::uint32_t nnz = r.count(UINT32_MAX, 8);
  r.u32s(nnz, cols);
  r.f32s(nnz, values);
  for (std::size_t i = 0; r.ok() && i < row_end.size(); ++i) {
    if (row_end[i] < (i ? row_end[i - 1] : 0) || row_end[i] > nnz) r.fail("row offsets out of order");
  }
  if (r.ok() && m.rows > 0 && row_end.back() != nnz) r.fail("row offsets do not cover the entries");
  for (std::size_t i = 0; r.ok() && i < nnz; ++i) {
    if (cols[i] >= vocabulary) r.fail("feature column out of range");
    if (!(values[i] > 0.0f)) r.fail("feature weight not positive");
  }
  m.dim = base.embedding_dim;
  if (r.ok() && m.dim > 0 && m.rows > r.remaining() / 4 / m.dim) r.fail("embeddings overrun");
  r.f32s(static_cast<std::size_t>(m.rows) * m.dim, m.embeddings);
  if (!r.ok()) return artifact_error(r.error());

  // The inverted index: per column, the rows holding it and their weights, rows in order.
  m.post_start.assign(vocabulary + 1, 0);
  for (std::uint32_t c : cols) ++m.post_start[c + 1];
  for (std::size_t c = 0; c < vocabulary; ++c) m.post_start[c + 1] += m.post_start[c];
  m.post_row.resize(nnz);
  m.post_value.resize(nnz);
  std::vector<std::uint32_t> fill(m.post_start.begin(), m.post_start.end() - 1);
  for (std::uint32_t row = 0, i = 0; row < m.rows; ++row) {
    for (; i < row_end[row]; ++i) {
      const std::uint32_t at = fill[cols[i]]++;
      m.post_row[at] = row;
      m.post_value[at] = values[i];
    }
  }
  m.mean.assign(m.models, 0.0f);
  for (std::size_t row = 0; row < m.rows; ++row) {
    for (std::size_t j = 0; j < m.models; ++j) m.mean[j] += m.scores[row * m.models + j];
  }
  for (float& v : m.mean) v = m.rows ? v / static_cast<float>(m.rows) : 0.5f;
  return std::shared_ptr<const Predictor>(std::make_shared<KnnPredictor>(std::move(base), std::move(m)));
}

}  // namespace sy::router::ml
