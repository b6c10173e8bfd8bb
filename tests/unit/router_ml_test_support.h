// Synthetic routing data with a known answer for the learned-routing tests: questions about code are answered
// well by "coder-7b" only, questions about arithmetic by "math-7b" only; "big-70b" scores 0.4 on both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
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

}  // namespace sy::router::ml::testing
