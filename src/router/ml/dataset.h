// Routing datasets: JSON lines of {"query": "...", "scores": {"<model>": 0..1, ...}} (other keys ignored),
// every line scoring the same models; and the deterministic split of such a file by a hash of each query, so
// the same query always lands on the same side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace sy::router::ml {

struct Dataset {
  std::vector<std::string> models;  // sorted by name: the columns of `scores`
  std::vector<std::string> queries;
  std::vector<float> scores;       // rows x models
  std::string digest;              // hex SHA-256 of the file's bytes
  std::string source;              // the file's name, for messages
  std::vector<std::size_t> lines;  // each row's line number in it

  // External embeddings of the queries (attach_embeddings): rows x embedding_dim, as the file gave them.
  std::uint32_t embedding_dim = 0;  // 0: none
  std::vector<float> embeddings;
  std::string embedding_model;  // as the embeddings file named it (may be empty)

  std::size_t rows() const noexcept { return queries.size(); }
  float score(std::size_t row, std::size_t model) const noexcept {
    return scores[row * models.size() + model];
  }
  std::span<const float> embedding(std::size_t row) const noexcept {
    return {embeddings.data() + row * embedding_dim, embedding_dim};
  }
};

Result<Dataset> parse_dataset(std::string_view jsonl, std::string_view source = "dataset");
Result<Dataset> load_dataset(const std::string& path);

// Embeddings files are JSON lines of {"query": "...", "embedding": [numbers], "model": "..."}, as `switchyard
// embed` writes them ("model" may be left out; when present it is the same on every line). Gives each row of
// `data` the embedding of its query text (matched exactly); a row without one is an error naming its line.
std::optional<Error> attach_embeddings(Dataset& data, const std::string& path);
std::optional<Error> parse_embeddings(Dataset& data, std::string_view jsonl, std::string_view source);

// The distinct "query" strings of a JSON-lines file, in order of first appearance.
Result<std::vector<std::string>> load_queries(const std::string& path);

// True when `query` belongs to the `fraction` side of a split seeded by `seed` (a hash of both, so a query
// and its duplicates always land on the same side).
bool in_split(std::string_view query, double fraction, std::uint64_t seed) noexcept;

struct SplitCounts {
  std::size_t train = 0, test = 0;
};
// Copies the lines of `data` to `train_out` or `test_out` (the test side gets `test_fraction` of them).
Result<SplitCounts> split_dataset(const std::string& data, double test_fraction, std::uint64_t seed,
                                  const std::string& train_out, const std::string& test_out);

}  // namespace sy::router::ml
