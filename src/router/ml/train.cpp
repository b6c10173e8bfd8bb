#include "router/ml/train.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "router/ml/featurizer.h"
#include "router/ml/learner.h"
#include "router/ml/parallel.h"

namespace sy::router::ml {
namespace {

// The held-out side uses its own hash salt, so that holding out of a file `switchyard split` made with the
// same seed still selects rows.
constexpr std::uint64_t kHoldoutSalt = 0x686f6c646f7574ull;

Error bad(std::string message) {
  return Error{400, "invalid_request_error", std::move(message), {}, {}, {}};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// SOURCE_DATE_EPOCH (the reproducible-builds convention) when set, else now.
std::uint64_t created_at() {
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) return std::strtoull(epoch, nullptr, 10);
  return static_cast<std::uint64_t>(std::time(nullptr));
}

FeatureConfig feature_config(const Params& p) {
  FeatureConfig c;
  c.hash_bits = p.get_u32("hash_bits", c.hash_bits);
  c.word_ngrams = p.get_u32("word_ngrams", c.word_ngrams);
  c.char_ngram_min = p.get_u32("char_ngram_min", c.char_ngram_min);
  c.char_ngram_max = p.get_u32("char_ngram_max", c.char_ngram_max);
  c.max_chars = p.get_u32("max_chars", c.max_chars);
  c.min_df = p.get_u32("min_df", c.min_df);
  c.max_features = p.get_u32("max_features", c.max_features);
  return c;
}

// `set` with each row's embedding (normalised) appended as the columns after its own.
TrainingSet with_embeddings(const TrainingSet& set, const Dataset& d, std::span<const std::size_t> rows) {
  TrainingSet out;
  out.vocabulary = set.vocabulary;
  out.embedding_dim = d.embedding_dim;
  out.columns = set.columns + d.embedding_dim;
  out.sparse = set.sparse;
  out.scores = set.scores;
  out.models = set.models;
  FeatureVector f;
  for (std::size_t i = 0; i < set.rows(); ++i) {
    const auto row = set.row(i);
    f.index.assign(row.index.begin(), row.index.end());
    f.value.assign(row.value.begin(), row.value.end());
    append_embedding(d.embedding(rows[i]), set.columns, f);
    out.index.insert(out.index.end(), f.index.begin(), f.index.end());
    out.value.insert(out.value.end(), f.value.begin(), f.value.end());
    out.start.push_back(out.index.size());
  }
  return out;
}

}  // namespace

Result<TrainedArtifact> train_artifact(const std::string& strategy, const Dataset& d,
                                       const std::vector<ModelInfo>& candidates,
                                       const std::vector<std::string>& param_list, std::uint64_t seed,
                                       unsigned threads, std::span<const std::size_t> rows) {
  const Learner* learner = find_learner(strategy);
  if (!learner) return bad("unknown strategy '" + strategy + "'");
  if (d.embedding_dim > 0 && !learner->uses_features)
    return bad("--embeddings: " + strategy + " ranks by size alone and reads no features");
  Result<Params> params = Params::parse(param_list);
  if (!params) return params.error();
  std::vector<std::size_t> all;
  if (rows.empty()) {
    for (std::size_t i = 0; i < d.rows(); ++i) all.push_back(i);
    rows = all;
  }

  ArtifactHeader header;
  header.strategy = strategy;
  header.created_at = created_at();
  header.seed = seed;
  header.data_digest = d.digest;
  header.train_rows = rows.size();
  for (const auto& name : d.models) {
    const ModelInfo* m = find_model(candidates, name);
    if (!m) return bad("the models file has no entry for model '" + name + "' of the data");
    header.models.push_back(*m);
  }

  WorkerPool pool(threads);
  TrainedArtifact out;
  const auto t0 = std::chrono::steady_clock::now();
  const FeatureConfig config = feature_config(params.value());
  if (std::string why = config.validate(); !why.empty()) return bad("feature parameters: " + why);
  const std::size_t models = d.models.size();
  std::vector<SectionData> sections;
  TrainingSet set;
  set.models = header.models;
  if (learner->uses_features) {
    std::vector<std::string> texts;
    for (std::size_t i : rows) texts.push_back(d.queries[i]);
    const Featurizer featurizer = Featurizer::fit(config, texts, pool);
    set.vocabulary = featurizer.vocabulary_size();
    set.columns = featurizer.columns();
    // Featurised in parallel chunks, appended in row order.
    constexpr std::size_t kChunks = 64;
    std::vector<TrainingSet> parts(kChunks);
    pool.run(kChunks, [&](std::size_t c) {
      FeatureVector f;
      for (std::size_t i = WorkerPool::range_begin(texts.size(), kChunks, c);
           i < WorkerPool::range_begin(texts.size(), kChunks, c + 1); ++i) {
        featurizer.featurize(texts[i], f);
        parts[c].add(f, {d.scores.data() + rows[i] * models, models});
      }
    });
    for (TrainingSet& p : parts) {
      for (std::size_t i = 0; i < p.rows(); ++i) {
        const auto row = p.row(i);
        set.index.insert(set.index.end(), row.index.begin(), row.index.end());
        set.value.insert(set.value.end(), row.value.begin(), row.value.end());
        set.start.push_back(set.index.size());
        set.sparse.push_back(static_cast<std::uint32_t>(row.sparse));
        set.scores.insert(set.scores.end(), p.scores.begin() + i * models,
                          p.scores.begin() + (i + 1) * models);
      }
      p = TrainingSet();
    }
    out.vocabulary = featurizer.vocabulary_size();
    sections.push_back({"FEAT", featurizer.write()});
  } else {
    for (std::size_t row : rows) {
      set.start.push_back(0);
      set.sparse.push_back(0);
      set.scores.insert(set.scores.end(), d.scores.data() + row * models,
                        d.scores.data() + (row + 1) * models);
    }
  }
  out.featurize_seconds = seconds_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  if (d.embedding_dim > 0) {
    const TrainingSet embedded = with_embeddings(set, d, rows);
    sections.push_back({"EMBD", write_embedding_info({d.embedding_dim, d.embedding_model})});
    sections.push_back({learner->section, learner->train(embedded, params.value(), seed, pool)});
    sections.push_back({"BASE", learner->train(set, params.value(), seed, pool)});
  } else {
    sections.push_back({learner->section, learner->train(set, params.value(), seed, pool)});
  }
  out.train_seconds = seconds_since(t1);
  if (const auto unread = params.value().unread(); !unread.empty())
    return bad("--param " + unread.front() + ": not a parameter of " + strategy + " or the featurizer");
  out.bytes = write_artifact(header, sections);
  return out;
}

Result<TrainSummary> train(const TrainOptions& o) {
  if (!(o.holdout_fraction >= 0.0 && o.holdout_fraction < 1.0))
    return bad("--holdout-fraction must be in [0, 1)");
  Result<std::vector<ModelInfo>> candidates = load_candidates(o.models_path);
  if (!candidates) return candidates.error();
  Result<Dataset> data = load_dataset(o.data_path);
  if (!data) return data.error();
  if (!o.embeddings_path.empty()) {
    if (auto error = attach_embeddings(data.value(), o.embeddings_path)) return *error;
  }
  const Dataset& d = data.value();
  std::vector<std::size_t> fit_rows, holdout_rows;
  for (std::size_t i = 0; i < d.rows(); ++i) {
    const bool held = in_split(d.queries[i], o.holdout_fraction, o.seed ^ kHoldoutSalt);
    (held ? holdout_rows : fit_rows).push_back(i);
  }
  if (fit_rows.empty()) return bad("no rows left to train on");

  Result<TrainedArtifact> trained =
      train_artifact(o.strategy, d, candidates.value(), o.params, o.seed, o.threads, fit_rows);
  if (!trained) return trained.error();
  const std::string& bytes = trained.value().bytes;
  TrainSummary summary;
  summary.rows = fit_rows.size();
  summary.holdout_rows = holdout_rows.size();
  summary.vocabulary = trained.value().vocabulary;
  summary.featurize_seconds = trained.value().featurize_seconds;
  summary.train_seconds = trained.value().train_seconds;
  summary.embedding_dim = d.embedding_dim;
  summary.embedding_model = d.embedding_model;
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  summary.path = (std::filesystem::path(o.out_dir) / (o.strategy + ".syra")).string();
  {
    std::ofstream out(summary.path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return bad("cannot write " + summary.path);
  }
  summary.artifact_bytes = bytes.size();

  Result<std::shared_ptr<const Predictor>> predictor = load_predictor(as_bytes(bytes));
  if (!predictor) return bad("the artifact just written does not load: " + predictor.error().message);
  summary.checksum = std::string(predictor.value()->checksum());
  if (!holdout_rows.empty()) {
    Dataset held;
    held.models = d.models;
    held.embedding_dim = d.embedding_dim;
    held.embedding_model = d.embedding_model;
    for (std::size_t row : holdout_rows) {
      held.queries.push_back(d.queries[row]);
      held.scores.insert(held.scores.end(), d.scores.data() + row * d.models.size(),
                         d.scores.data() + (row + 1) * d.models.size());
      const auto e = d.embedding(row);
      held.embeddings.insert(held.embeddings.end(), e.begin(), e.end());
    }
    Result<EvalReport> report = evaluate(*predictor.value(), held, candidates.value(), o.eval);
    if (!report) return report.error();
    summary.holdout = std::move(report.value());
  }
  return summary;
}

std::string summary_text(const TrainSummary& s) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "wrote %s (%zu bytes, checksum %.16s...)\n"
                "trained on %zu rows (%zu held out), vocabulary %zu; featurising %.2f s, training %.2f s\n",
                s.path.c_str(), s.artifact_bytes, s.checksum.c_str(), s.rows, s.holdout_rows, s.vocabulary,
                s.featurize_seconds, s.train_seconds);
  std::string out = buf;
  if (s.embedding_dim > 0) {
    out += "with embeddings of dimension " + std::to_string(s.embedding_dim) +
           (s.embedding_model.empty() ? std::string() : " from model " + s.embedding_model) +
           " (and a built-in-featurizer model for requests without one)\n";
  }
  if (s.holdout) out += "\non the held-out rows:\n" + report_text(*s.holdout);
  return out;
}

}  // namespace sy::router::ml
