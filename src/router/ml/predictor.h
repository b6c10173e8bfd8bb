// The contract between learned routing's offline half (featurizer, learners, artifact files, `switchyard
// train` / `eval`) and its online half (the router strategy, hot reload, experiments). A Predictor is one
// loaded artifact: immutable once loaded, shared by every worker thread, swapped whole on reload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "util/error.h"

namespace sy::router::ml {

class Predictor {
 public:
  virtual ~Predictor() = default;

  // The learner that produced the artifact: "knn", "mlp", "svm", "mf", "elo", "smallest", "largest".
  virtual std::string_view strategy() const noexcept = 0;
  // Hex checksum of the artifact's content: the `router.strategy_version` of traces.
  virtual std::string_view checksum() const noexcept = 0;
  // The model names the artifact was trained on, in the order `predict` fills.
  virtual std::span<const std::string> models() const noexcept = 0;
  // The dimension of the external embeddings the artifact was trained with (`switchyard train
  // --embeddings`); 0 when it routes on the built-in featurizer alone.
  virtual std::uint32_t embedding_dimension() const noexcept { return 0; }
  // The embedding model those embeddings came from, as the embeddings file named it (may be empty).
  virtual std::string_view embedding_model() const noexcept { return {}; }
  // Predicted quality (0..1) of each of `models()` answering the request whose routing text is `text`
  // (see routing_text). `embedding` is the routing text's embedding as the embedding model returned it
  // (not necessarily normalised): used when its size is embedding_dimension(), otherwise the artifact's
  // built-in-featurizer model decides. Returns whether the embedding was used. `out.size() ==
  // models().size()`. Thread-safe; no heap allocation once warm.
  virtual bool predict(std::string_view text, std::span<const float> embedding,
                       std::span<float> out) const = 0;
  // The same without an embedding.
  void predict(std::string_view text, std::span<float> out) const { predict(text, {}, out); }
};

// Loads an artifact file; a missing, truncated, corrupt or unknown-version file is an Error whose message
// says which and where (never a crash: the loader checks every bound).
Result<std::shared_ptr<const Predictor>> load_predictor(const std::string& path);
Result<std::shared_ptr<const Predictor>> load_predictor(std::span<const std::byte> bytes);

// What a chat request is routed on: the last user turn's text, after a short prefix of the system prompt
// (content parts' text joined). The same function builds training text from a dataset's `query`.
void routing_text(const boost::json::object& request_body, std::string& out);

// The cost/quality trade-off shared by `llmrouter-hybrid` and `switchyard eval`'s curve. `quality[i]` and
// `cost[i]` (dollars for this request) describe candidate i. Writes candidate indices into `order`, best
// first: the candidates whose quality is at least (best quality - quality_threshold) come first, ranked by
// (quality - cost_weight * cost / max cost) and then by cost (cheapest first) — with an infinite cost_weight
// (kCheapestWithin) simply the cheapest first, then by quality; the others follow by quality, then cost.
// quality_threshold 0 and cost_weight 0 is "most likely to answer well"; a threshold with kCheapestWithin is
// "the cheapest model predicted within that margin of the best"; quality_threshold >= 1 with cost_weight w
// ranks every candidate by quality - w * cost / max cost.
inline constexpr double kCheapestWithin = std::numeric_limits<double>::infinity();
struct Tradeoff {
  double quality_threshold = 0.0;
  double cost_weight = 0.0;
};
void rank_candidates(std::span<const float> quality, std::span<const double> cost, Tradeoff tradeoff,
                     std::span<std::uint32_t> order);

}  // namespace sy::router::ml
