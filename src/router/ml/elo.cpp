// llmrouter-elo: Bradley-Terry ratings (on the Elo scale) from pairwise wins, one set per cluster of queries.
// On each training query a model "beats" another when its score is higher (ties are not games). The queries
// are clustered by spherical k-means over their TF-IDF vectors; each cluster's ratings are fitted by the MM
// algorithm with `prior` pseudo-games a pair, split as the global ratings predict, so a small cluster stays
// near the global order. A request takes its nearest cluster's ratings; a model's predicted quality is its
// expected score against the other models there, mean over j of 1 / (1 + 10^((r_j - r_m) / 400)).
// With external embeddings the queries are clustered by their embeddings instead of their TF-IDF vectors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "router/ml/learner.h"
#include "router/ml/parallel.h"
#include "util/random.h"

namespace sy::router::ml {
namespace {

constexpr std::uint32_t kMaxClusters = 256;

constexpr std::size_t kMaxCentroidCells = std::size_t{1} << 26;

// The part of a feature vector queries are clustered by: the TF-IDF entries, or the embedding's (then column
// c of the clustering space is feature column c + offset).
struct ClusterPart {
  std::span<const std::uint32_t> index;
  std::span<const float> value;
  std::uint32_t offset = 0;
  std::size_t size() const noexcept { return index.size(); }
  std::uint32_t column(std::size_t i) const noexcept { return index[i] - offset; }
};

ClusterPart cluster_part(std::span<const std::uint32_t> index, std::span<const float> value,
                         std::size_t sparse, std::size_t embedding, std::uint32_t embedding_offset) {
  if (embedding == 0) return {index.first(sparse), value.first(sparse), 0};
  return {index.last(embedding), value.last(embedding), embedding_offset};
}

ClusterPart cluster_part(const TrainingSet& data, const TrainingSet::Row& row) {
  return cluster_part(row.index, row.value, row.sparse, data.embedding_dim, data.vocabulary + kDenseSignals);
}

// The columns of the clustering space.
std::size_t cluster_columns(const TrainingSet& data) {
  return data.embedding_dim > 0 ? data.embedding_dim : data.vocabulary;
}

struct EloModel {
  std::uint32_t clusters = 0, models = 0;
  std::uint32_t offset = 0;          // of the clustering space's columns among the features
  std::vector<std::int32_t> row_of;  // clustering column -> its row of `centroid`, -1 when in no centroid
  std::vector<float> centroid;       // rows x clusters: a column's weight in every cluster
  std::vector<float> quality;        // clusters x models, from the ratings
};

class EloPredictor final : public LearnedPredictor {
 public:
  EloPredictor(LoadedArtifact base, EloModel model)
      : LearnedPredictor(std::move(base)), m_(std::move(model)) {}

  void score(const FeatureVector& f, std::span<float> out) const override {
    thread_local std::vector<float> sim;
    sim.assign(m_.clusters, 0.0f);
    const ClusterPart part = cluster_part(f.index, f.value, f.sparse, f.embedding, m_.offset);
    for (std::size_t i = 0; i < part.size(); ++i) {
      const std::uint32_t column = part.column(i);
      const std::int32_t row = column < m_.row_of.size() ? m_.row_of[column] : -1;
      if (row < 0) continue;
      const float* c = m_.centroid.data() + static_cast<std::size_t>(row) * m_.clusters;
      for (std::size_t k = 0; k < m_.clusters; ++k) sim[k] += part.value[i] * c[k];
    }
    const std::size_t best = static_cast<std::size_t>(std::max_element(sim.begin(), sim.end()) - sim.begin());
    const float* q = m_.quality.data() + best * m_.models;
    std::copy_n(q, std::min<std::size_t>(out.size(), m_.models), out.begin());
  }

 private:
  EloModel m_;
};

// Bradley-Terry strengths from wins[a * n + b] (a beat b), by the MM algorithm; returned as Elo ratings with
// mean 1500.
std::vector<double> bradley_terry(const std::vector<double>& wins, std::size_t n) {
  std::vector<double> p(n, 1.0), next(n);
  for (int iteration = 0; iteration < 200; ++iteration) {
    for (std::size_t a = 0; a < n; ++a) {
      double won = 0, denominator = 0;
      for (std::size_t b = 0; b < n; ++b) {
        if (a == b) continue;
        won += wins[a * n + b];
        denominator += (wins[a * n + b] + wins[b * n + a]) / (p[a] + p[b]);
      }
      next[a] = denominator > 0 ? std::max(won / denominator, 1e-9) : p[a];
    }
    double log_mean = 0;
    for (double v : next) log_mean += std::log(v) / static_cast<double>(n);
    for (std::size_t a = 0; a < n; ++a) p[a] = next[a] / std::exp(log_mean);
  }
  std::vector<double> rating(n);
  for (std::size_t a = 0; a < n; ++a) rating[a] = 1500.0 + 400.0 * std::log10(p[a]);
  return rating;
}

double expected(double r_a, double r_b) {
  return 1.0 / (1.0 + std::pow(10.0, (r_b - r_a) / 400.0));
}

void count_wins(const TrainingSet& data, std::size_t row, std::vector<double>& wins) {
  const std::size_t n = data.models.size();
  const float* s = data.target(row);
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = 0; b < n; ++b) {
      if (s[a] > s[b]) wins[a * n + b] += 1.0;
    }
  }
}

// Cosine of a row's clustering part with a dense centroid (clustering columns x clusters, column k).
double similarity(const ClusterPart& row, const std::vector<float>& centroid, std::size_t clusters,
                  std::size_t k) {
  double s = 0;
  for (std::size_t i = 0; i < row.size(); ++i) s += row.value[i] * centroid[row.column(i) * clusters + k];
  return s;
}

// Spherical k-means (k-means++ seeding): each row's cluster.
std::vector<std::uint32_t> cluster_rows(const TrainingSet& data, std::size_t clusters,
                                        std::uint32_t iterations, std::size_t keep, std::uint64_t seed,
                                        WorkerPool& pool, std::vector<float>& centroid) {
  const std::size_t rows = data.rows(), vocabulary = cluster_columns(data);
  auto part = [&data](std::size_t i) { return cluster_part(data, data.row(i)); };
  centroid.assign(vocabulary * clusters, 0.0f);
  std::vector<std::uint32_t> assigned(rows, 0);
  if (clusters == 1 || rows == 0) {
    for (std::size_t i = 0; i < rows; ++i) {
      const ClusterPart row = part(i);
      for (std::size_t k = 0; k < row.size(); ++k) centroid[row.column(k)] += row.value[k];
    }
  } else {
    FastRandom random(seed ^ 0x656c6f);
    std::vector<double> distance(rows, 2.0);
    auto place = [&](std::size_t k, std::size_t row_index) {
      const ClusterPart row = part(row_index);
      for (std::size_t i = 0; i < row.size(); ++i) centroid[row.column(i) * clusters + k] = row.value[i];
    };
    place(0, random.next() % rows);
    for (std::size_t k = 1; k < clusters; ++k) {
      double total = 0;
      for (std::size_t i = 0; i < rows; ++i) {
        distance[i] =
            std::min(distance[i], std::max(0.0, 1.0 - similarity(part(i), centroid, clusters, k - 1)));
        total += distance[i] * distance[i];
      }
      double pick = random.uniform() * total;
      std::size_t chosen = rows - 1;
      for (std::size_t i = 0; i < rows; ++i) {
        pick -= distance[i] * distance[i];
        if (pick <= 0) {
          chosen = i;
          break;
        }
      }
      place(k, chosen);
    }
    constexpr std::size_t kChunks = 64;
    for (std::uint32_t iteration = 0; iteration <= iterations; ++iteration) {
      pool.run(kChunks, [&](std::size_t c) {
        for (std::size_t i = WorkerPool::range_begin(rows, kChunks, c);
             i < WorkerPool::range_begin(rows, kChunks, c + 1); ++i) {
          const ClusterPart row = part(i);
          double best = -std::numeric_limits<double>::infinity();
          for (std::size_t k = 0; k < clusters; ++k) {
            const double s = similarity(row, centroid, clusters, k);
            if (s > best) best = s, assigned[i] = static_cast<std::uint32_t>(k);
          }
        }
      });
      if (iteration == iterations) break;
      std::vector<float> next(vocabulary * clusters, 0.0f);
      std::vector<std::size_t> members(clusters, 0);
      for (std::size_t i = 0; i < rows; ++i) {
        const ClusterPart row = part(i);
        ++members[assigned[i]];
        for (std::size_t k = 0; k < row.size(); ++k)
          next[row.column(k) * clusters + assigned[i]] += row.value[k];
      }
      for (std::size_t k = 0; k < clusters; ++k) {  // an emptied cluster keeps its centroid
        if (members[k] == 0) {
          for (std::size_t c = 0; c < vocabulary; ++c) next[c * clusters + k] = centroid[c * clusters + k];
        }
      }
      centroid.swap(next);
    }
  }
  // Each centroid keeps its `keep` heaviest columns (by magnitude: embeddings have negative ones; TF-IDF
  // weights are positive), L2-normalised.
  for (std::size_t k = 0; k < clusters; ++k) {
    std::vector<std::pair<float, std::uint32_t>> weights;
    for (std::size_t c = 0; c < vocabulary; ++c) {
      if (data.embedding_dim > 0 ? centroid[c * clusters + k] != 0 : centroid[c * clusters + k] > 0)
        weights.emplace_back(centroid[c * clusters + k], static_cast<std::uint32_t>(c));
      centroid[c * clusters + k] = 0.0f;
    }
    auto heavier = [](const auto& a, const auto& b) {
      const float x = std::abs(a.first), y = std::abs(b.first);
      return x != y ? x > y : a.second < b.second;
    };
    if (weights.size() > keep) {
      std::nth_element(weights.begin(), weights.begin() + static_cast<std::ptrdiff_t>(keep), weights.end(),
                       heavier);
      weights.resize(keep);
    }
    double norm = 0;
    for (const auto& [w, c] : weights) norm += static_cast<double>(w) * w;
    for (const auto& [w, c] : weights) centroid[c * clusters + k] = static_cast<float>(w / std::sqrt(norm));
  }
  // The final assignment, by the centroids as saved.
  for (std::size_t i = 0; i < rows && clusters > 1; ++i) {
    const ClusterPart row = part(i);
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < clusters; ++k) {
      const double s = similarity(row, centroid, clusters, k);
      if (s > best) best = s, assigned[i] = static_cast<std::uint32_t>(k);
    }
  }
  return assigned;
}

}  // namespace

std::string train_elo(const TrainingSet& data, const Params& params, std::uint64_t seed, WorkerPool& pool) {
  const std::size_t clusters = std::clamp<std::uint32_t>(params.get_u32("clusters", 8), 1, kMaxClusters);
  const std::uint32_t iterations = params.get_u32("iterations", 20);
  const std::size_t keep = std::max<std::uint32_t>(params.get_u32("keep", 4096), 1);
  const double prior = std::max(0.0, params.get("prior", 20.0));
  const std::size_t n = data.models.size();

  std::vector<double> wins(n * n, 0.0);
  for (std::size_t i = 0; i < data.rows(); ++i) count_wins(data, i, wins);
  for (std::size_t a = 0; a < n; ++a) {  // one drawn game a pair keeps every strength finite
    for (std::size_t b = 0; b < n; ++b) wins[a * n + b] += a == b ? 0.0 : 0.5;
  }
  const std::vector<double> global = bradley_terry(wins, n);

  std::vector<float> centroid;
  const std::vector<std::uint32_t> assigned =
      cluster_rows(data, clusters, iterations, keep, seed, pool, centroid);
  std::vector<float> ratings(clusters * n);
  pool.run(clusters, [&](std::size_t k) {
    std::vector<double> w(n * n, 0.0);
    for (std::size_t i = 0; i < data.rows(); ++i) {
      if (assigned[i] == k) count_wins(data, i, w);
    }
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t b = 0; b < n; ++b)
        w[a * n + b] += a == b ? 0.0 : prior * expected(global[a], global[b]) + 1e-3;
    }
    const std::vector<double> r = bradley_terry(w, n);
    for (std::size_t a = 0; a < n; ++a) ratings[k * n + a] = static_cast<float>(r[a]);
  });

  ByteWriter out;
  out.u32(static_cast<std::uint32_t>(clusters));
  out.u32(static_cast<std::uint32_t>(n));
  const std::size_t columns = cluster_columns(data);
  out.u32(static_cast<std::uint32_t>(columns));
  for (std::size_t k = 0; k < clusters; ++k) {
    std::vector<std::uint32_t> cols;
    std::vector<float> values;
    for (std::size_t c = 0; c < columns; ++c) {
      if (centroid[c * clusters + k] != 0.0f)
        cols.push_back(static_cast<std::uint32_t>(c)), values.push_back(centroid[c * clusters + k]);
    }
    out.u32(static_cast<std::uint32_t>(cols.size()));
    out.u32s(cols);
    out.f32s(values);
  }
  out.f32s(ratings);
  return std::move(out.bytes());
}

Result<std::shared_ptr<const Predictor>> load_elo(ByteReader& r, LoadedArtifact base) {
  EloModel m;
  m.clusters = r.u32();
  m.models = r.u32();
  const std::uint32_t vocabulary = r.u32();
  if (r.ok() && (m.clusters == 0 || m.clusters > kMaxClusters)) r.fail("cluster count out of range");
  if (r.ok() && m.models != base.models.size()) r.fail("model count differs from the header's");
  const bool embedded = base.embedding_dim > 0;
  if (r.ok() && vocabulary != (embedded ? base.embedding_dim : base.featurizer->vocabulary_size()))
    r.fail(embedded ? "clustering columns differ from EMBD's dimension" : "vocabulary differs from FEAT's");
  if (!r.ok()) return artifact_error(r.error());
  m.offset = embedded ? base.featurizer->columns() : 0;
  m.row_of.assign(vocabulary, -1);
  std::vector<std::vector<std::uint32_t>> cols(m.clusters);
  std::vector<std::vector<float>> values(m.clusters);
  std::size_t rows = 0;
  for (std::size_t k = 0; k < m.clusters && r.ok(); ++k) {
    const std::uint32_t n = r.count(vocabulary, 8);
    r.u32s(n, cols[k]);
    r.f32s(n, values[k]);
    for (std::size_t i = 0; i < cols[k].size() && r.ok(); ++i) {
      if (cols[k][i] >= vocabulary)
        r.fail("centroid column out of range");
      else if (m.row_of[cols[k][i]] < 0)
        m.row_of[cols[k][i]] = static_cast<std::int32_t>(rows++);
    }
    if (r.ok() && rows * m.clusters > kMaxCentroidCells) r.fail("centroids too large");
  }
  if (!r.ok()) return artifact_error(r.error());
  m.centroid.assign(rows * m.clusters, 0.0f);
  for (std::size_t k = 0; k < m.clusters; ++k) {
    for (std::size_t i = 0; i < cols[k].size(); ++i)
      m.centroid[static_cast<std::size_t>(m.row_of[cols[k][i]]) * m.clusters + k] = values[k][i];
  }
  std::vector<float> ratings;
  r.f32s(std::size_t{m.clusters} * m.models, ratings);
  if (!r.ok()) return artifact_error(r.error());
  m.quality.assign(ratings.size(), 0.0f);
  for (std::size_t k = 0; k < m.clusters; ++k) {
    const float* rk = ratings.data() + k * m.models;
    for (std::size_t a = 0; a < m.models; ++a) {
      double sum = 0;
      for (std::size_t b = 0; b < m.models; ++b) sum += a == b ? 0.0 : expected(rk[a], rk[b]);
      m.quality[k * m.models + a] = m.models > 1 ? static_cast<float>(sum / (m.models - 1)) : 0.5f;
    }
  }
  return std::shared_ptr<const Predictor>(std::make_shared<EloPredictor>(std::move(base), std::move(m)));
}

}  // namespace sy::router::ml
