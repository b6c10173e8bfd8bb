// Turns a routing text into the feature vector every learner reads, with no network and no model: hashed word
// uni/bi-grams, pairs of adjacent CJK characters and (optionally) character n-grams of the normalised text,
// weighted by TF-IDF (sublinear term frequency, the IDF learned at training time and saved in the artifact)
// and L2-normalised, then a few dense signals (length, code and math markers, non-ASCII share). Features
// unseen in training (or seen in fewer than min_df texts) are dropped, so the columns are the trained
// vocabulary: [0, vocabulary_size()) TF-IDF, then the dense signals; an artifact trained with external
// embeddings appends the embedding's dimensions after them (append_embedding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/ml/artifact.h"
#include "util/error.h"

namespace sy::router::ml {

class WorkerPool;

struct FeatureConfig {
  std::uint32_t hash_bits = 20;      // features are hashed into [0, 2^hash_bits)
  std::uint32_t word_ngrams = 2;     // word n-grams of 1..word_ngrams words (0: none)
  std::uint32_t char_ngram_min = 0;  // character n-grams of char_ngram_min..char_ngram_max bytes (0: none)
  std::uint32_t char_ngram_max = 0;
  std::uint32_t max_chars = 4096;         // a longer text is featurised by its first and last max_chars / 2
  std::uint32_t min_df = 2;               // a feature must occur in this many training texts
  std::uint32_t max_features = 1u << 16;  // the most frequent features kept

  std::string validate() const;  // empty when usable, else what is wrong
};

// Dense signals, each in [0, 1]: log length, line count, code punctuation, code keywords, digits, math
// markers, non-ASCII share, share of 3- and 4-byte UTF-8 sequences (a script hint), a question mark.
inline constexpr std::uint32_t kDenseSignals = 9;

// A sparse feature vector in buffers the caller reuses: no allocation once they have grown.
struct FeatureVector {
  std::vector<std::uint32_t> index;  // TF-IDF columns first (in no particular order), then dense ones
  std::vector<float> value;
  std::size_t sparse = 0;     // how many leading entries are TF-IDF columns
  std::size_t embedding = 0;  // how many trailing entries are an embedding (every dimension, in order)
  std::size_t size() const noexcept { return index.size(); }
  std::span<const float> embedding_values() const noexcept {
    return {value.data() + value.size() - embedding, embedding};
  }
};

// Appends `embedding`, L2-normalised (a zero vector stays zero), as columns first_column.. of `out`.
void append_embedding(std::span<const float> embedding, std::uint32_t first_column, FeatureVector& out);

class Featurizer {
 public:
  Featurizer() = default;
  // Learns the vocabulary and its IDF from the training texts.
  static Featurizer fit(const FeatureConfig& config, std::span<const std::string> texts, WorkerPool& pool);
  static Result<Featurizer> read(std::span<const std::byte> section);  // the "FEAT" section
  std::string write() const;

  // Thread-safe; uses thread-local scratch, so featurising allocates nothing once warm.
  void featurize(std::string_view text, FeatureVector& out) const;

  const FeatureConfig& config() const noexcept { return config_; }
  std::uint32_t vocabulary_size() const noexcept { return static_cast<std::uint32_t>(hashes_.size()); }
  std::uint32_t columns() const noexcept { return vocabulary_size() + kDenseSignals; }

 private:
  void build_table();
  std::int64_t column_of(std::uint32_t hash) const noexcept;

  FeatureConfig config_;
  std::vector<std::uint32_t> hashes_;  // sorted: the column of a feature is its position
  std::vector<float> idf_;
  std::vector<std::uint64_t> table_;  // open addressing: (hash + 1) << 32 | column; 0 is empty
  std::uint64_t table_mask_ = 0;
};

}  // namespace sy::router::ml
