// `switchyard eval`: how a trained artifact routes a scored dataset, against baselines on the same rows. Each
// row's cost is the routing data's rule, (prompt tokens * input price + 256 * output price) / 1e6, the prompt
// counted by the gateway's estimator. The curve sweeps rank_candidates' trade-off; its area (AUC) and APGR
// use RouteLLM's definitions with "cost" in place of "calls to the strong model": the cost axis is normalised
// so that 0 is always the cheapest model and 1 always the best single model (the most accurate), and
//   AUC  = the integral over [0, 1] of the best accuracy the router reaches within that normalised cost
//          (linear between its operating points, from the cheapest model's point, flat after the last),
//   APGR = (AUC - cheapest accuracy) / (best single accuracy - cheapest accuracy),
//   CPT(p) = the least normalised cost at which the curve recovers p of the gap between the two.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
#include "router/ml/predictor.h"
#include "util/error.h"

namespace sy::router::ml {

struct EvalOptions {
  std::size_t points = 21;  // operating points on the curve (at least 2)
  // The sweep: quality_threshold from 0 to max_threshold (spaced quadratically) with cost_weight fixed, or
  // (sweep_cost_weight) cost_weight from 0 to max_cost_weight (evenly) with quality_threshold at
  // max_threshold.
  bool sweep_cost_weight = false;
  double max_threshold = 1.0;
  double cost_weight = 1000.0;  // with a threshold sweep: the cheapest of the models within the threshold
  double max_cost_weight = 1.0;
};

struct OperatingPoint {
  double threshold = 0, cost_weight = 0, accuracy = 0, cost = 0;
};

struct Baseline {
  std::string model;
  double accuracy = 0, cost = 0;
};

struct EvalReport {
  std::string strategy, checksum;
  std::size_t rows = 0;
  std::vector<Baseline> models;  // each candidate alone
  Baseline best_single, cheapest, random, oracle;
  std::vector<OperatingPoint> points;
  double auc = 0;
  std::optional<double> apgr;
  double brier = 0;  // mean squared error of the predicted qualities against the scores, over every model
  std::optional<double> cpt50, cpt80, cpt100;  // normalised costs
  std::optional<OperatingPoint> match;  // the cheapest point at least as accurate as the best single model
  std::vector<std::string> ignored_models;  // scored in the data, unknown to the artifact
  // The artifact's embedding dimension (0: it has none), and whether the data's embeddings were used: without
  // them the artifact's built-in-featurizer model is what is evaluated.
  std::uint32_t embedding_dim = 0;
  bool embeddings_used = false;
};

// Predicts with the data's embeddings when it has them (attach_embeddings), which must then match the
// artifact's dimension.
Result<EvalReport> evaluate(const Predictor& predictor, const Dataset& data,
                            const std::vector<ModelInfo>& models, const EvalOptions& options);
std::string report_json(const EvalReport& report);
std::string report_text(const EvalReport& report);

}  // namespace sy::router::ml
