// Synthetic routing data with a known answer for the learned-routing tests: questions about code are answered
// well by "coder-7b" only, questions about arithmetic by "math-7b" only; "big-70b" scores 0.4 on both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "router/ml/artifact.h"
#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "util/random.h"

namespace sy::router::ml::testing {

enum class Topic { code, math };

inline std::string synthetic_query(Topic topic, FastRandom& random) {
  auto pick = [&random](const std::vector<std::string>& words) {
    return words[random.next() % words.size()];
  };
  static const std::vector<std::string> kCodeVerbs = {"sort", "reverse", "parse", "merge", "filter", "count"};
  static const std::vector<std::string> kCodeNouns = {"list",       "string",      "array",  "linked list",
                                                      "dictionary", "binary tree", "matrix", "json file"};
  static const std::vector<std::string> kLanguages = {"python", "C++", "javascript", "rust", "java"};
  static const std::vector<std::string> kNumbers = {"12", "7", "45", "3", "128", "99", "64", "5"};
  static const std::vector<std::string> kMathAsks = {"Solve for x:", "Compute", "Simplify the expression",
                                                     "Find the value of", "Evaluate"};
  if (topic == Topic::code) {
    switch (random.next() % 3) {
      case 0:
        return "Write a " + pick(kLanguages) + " function to " + pick(kCodeVerbs) + " a " + pick(kCodeNouns) +
               ".";
      case 1:
        return "def " + pick(kCodeVerbs) + "_items(" + pick(kCodeNouns) + "):\n    # " + pick(kCodeVerbs) +
               " the " + pick(kCodeNouns) + " and return it";
      default:
        return "How do I " + pick(kCodeVerbs) + " a " + pick(kCodeNouns) + " in " + pick(kLanguages) +
               "? Show the code with a for loop.";
    }
  }
  switch (random.next() % 3) {
    case 0:
      return pick(kMathAsks) + " " + pick(kNumbers) + "x + " + pick(kNumbers) + " = " + pick(kNumbers) + ".";
    case 1:
      return "What is " + pick(kNumbers) + " times " + pick(kNumbers) + " minus " + pick(kNumbers) + "?";
    default:
      return pick(kMathAsks) + " the sum of " + pick(kNumbers) + "/" + pick(kNumbers) + " and " +
             pick(kNumbers) + "/" + pick(kNumbers) + " as a fraction.";
  }
}

inline std::vector<ModelInfo> synthetic_models() {
  return {{"big-70b", 70, 0.9, 0.9}, {"coder-7b", 7, 0.2, 0.2}, {"math-7b", 7, 0.1, 0.1}};
}

// `rows` rows alternating code and math; models sorted by name: big-70b, coder-7b, math-7b.
inline Dataset synthetic_dataset(std::size_t rows, std::uint64_t seed) {
  Dataset d;
  d.models = {"big-70b", "coder-7b", "math-7b"};
  d.digest = "synthetic";
  FastRandom random(seed);
  for (std::size_t i = 0; i < rows; ++i) {
    const Topic topic = i % 2 ? Topic::math : Topic::code;
    d.queries.push_back(synthetic_query(topic, random));
    d.scores.insert(d.scores.end(),
                    {0.4f, topic == Topic::code ? 1.0f : 0.0f, topic == Topic::math ? 1.0f : 0.0f});
  }
  return d;
}

// The predictor of `strategy` trained on `data` with the synthetic models (seed 1, one thread); null when training
// or loading fails.
inline std::shared_ptr<const Predictor> trained_predictor(const std::string& strategy, const Dataset& data) {
  Result<TrainedArtifact> artifact = train_artifact(strategy, data, synthetic_models(), {}, 1, 1);
  if (!artifact.ok()) return nullptr;
  Result<std::shared_ptr<const Predictor>> loaded = load_predictor(as_bytes(artifact.value().bytes));
  return loaded.ok() ? loaded.value() : nullptr;
}

// Rows whose class only an embedding tells: "Please handle ticket number N." with N a distinct 4-digit number
// (seen once, so the featurizer drops it), answered well by coder-7b when N is even and by math-7b when N is
// odd. parity_embedding is what an embedding model that "understands" N would return.
inline std::string parity_query(std::uint32_t n) {
  return "Please handle ticket number " + std::to_string(n) + ".";
}

inline std::vector<float> parity_embedding(std::string_view query) {
  std::uint32_t n = 0;
  for (char c : query) {
    if (c >= '0' && c <= '9') n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  FastRandom random(n);  // a little noise of the text's own
  const float even = n % 2 == 0 ? 1.0f : 0.0f;
  return {even, 1.0f - even, static_cast<float>(random.uniform() * 0.2 - 0.1),
          static_cast<float>(random.uniform() * 0.2 - 0.1)};
}

// `rows` rows alternating even and odd, numbers from `first` up, with their embeddings attached.
inline Dataset parity_dataset(std::size_t rows, std::uint32_t first = 1000) {
  Dataset d;
  d.models = {"big-70b", "coder-7b", "math-7b"};
  d.digest = "parity";
  d.embedding_dim = 4;
  d.embedding_model = "embed-model";
  for (std::uint32_t i = 0; i < rows; ++i) {
    const std::uint32_t n = first + i;
    d.queries.push_back(parity_query(n));
    d.lines.push_back(i + 1);
    d.scores.insert(d.scores.end(), {0.4f, n % 2 == 0 ? 1.0f : 0.0f, n % 2 == 0 ? 0.0f : 1.0f});
    const std::vector<float> e = parity_embedding(d.queries.back());
    d.embeddings.insert(d.embeddings.end(), e.begin(), e.end());
  }
  return d;
}

}  // namespace sy::router::ml::testing
