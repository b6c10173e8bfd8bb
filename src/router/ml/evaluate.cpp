#include "router/ml/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include <boost/json.hpp>

#include "providers/provider.h"

namespace sy::router::ml {
namespace {

namespace bj = boost::json;

struct CurvePoint {
  double x, accuracy;
};

// The router's best accuracy within each normalised cost: the running maximum of its points by cost, starting
// at the cheapest model's point (0, its accuracy).
std::vector<CurvePoint> envelope(const EvalReport& r, double c0, double c1) {
  std::vector<CurvePoint> pts;
  for (const auto& p : r.points) pts.push_back({(p.cost - c0) / (c1 - c0), p.accuracy});
  std::sort(pts.begin(), pts.end(), [](const CurvePoint& a, const CurvePoint& b) { return a.x < b.x; });
  std::vector<CurvePoint> env{{0.0, r.cheapest.accuracy}};
  for (const auto& p : pts) {
    if (p.accuracy > env.back().accuracy) env.push_back({std::max(p.x, env.back().x), p.accuracy});
  }
  return env;
}

double area(const std::vector<CurvePoint>& env) {  // over [0, 1]
  double total = 0;
  for (std::size_t i = 0; i + 1 < env.size() && env[i].x < 1.0; ++i) {
    const CurvePoint a = env[i], b = env[i + 1];
    const double end = std::min(b.x, 1.0);
    if (end <= a.x) continue;
    const double at_end =
        b.x > a.x ? a.accuracy + (b.accuracy - a.accuracy) * (end - a.x) / (b.x - a.x) : b.accuracy;
    total += (end - a.x) * (a.accuracy + at_end) / 2;
  }
  if (env.back().x < 1.0) total += (1.0 - env.back().x) * env.back().accuracy;
  return total;
}

std::optional<double> reach(const std::vector<CurvePoint>& env, double target) {
  if (env[0].accuracy >= target) return 0.0;
  for (std::size_t i = 0; i + 1 < env.size(); ++i) {
    const CurvePoint a = env[i], b = env[i + 1];
    if (b.accuracy >= target) return a.x + (b.x - a.x) * (target - a.accuracy) / (b.accuracy - a.accuracy);
  }
  return std::nullopt;
}

bj::value optional(std::optional<double> v) {
  return v ? bj::value(*v) : bj::value(nullptr);
}

bj::object baseline(const Baseline& b) {
  return {{"model", b.model}, {"accuracy", b.accuracy}, {"cost", b.cost}};
}

}  // namespace

Result<EvalReport> evaluate(const Predictor& predictor, const Dataset& data,
                            const std::vector<ModelInfo>& models, const EvalOptions& options) {
  auto fail = [](std::string m) { return Error{400, "invalid_request_error", m, {}, {}, {}}; };
  EvalReport r;
  r.strategy = std::string(predictor.strategy());
  r.checksum = std::string(predictor.checksum());
  r.rows = data.rows();

  // The candidates: the artifact's models that the data scores, priced by the models file.
  const auto names = predictor.models();
  std::vector<std::size_t> slot, column;  // candidate -> predictor output, dataset column
  std::vector<const ModelInfo*> info;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto it = std::find(data.models.begin(), data.models.end(), names[i]);
    if (it == data.models.end()) continue;
    const ModelInfo* m = find_model(models, names[i]);
    if (!m) return fail("model '" + names[i] + "' is not in the models file");
    slot.push_back(i);
    column.push_back(static_cast<std::size_t>(it - data.models.begin()));
    info.push_back(m);
  }
  for (const auto& m : data.models) {
    if (std::find(names.begin(), names.end(), m) == names.end()) r.ignored_models.push_back(m);
  }
  if (slot.empty()) return fail("the artifact and the data share no model");
  r.embedding_dim = predictor.embedding_dimension();
  if (data.embedding_dim > 0 && data.embedding_dim != r.embedding_dim) {
    return fail(r.embedding_dim == 0 ? "the artifact was trained without embeddings: leave out --embeddings"
                                     : "the embeddings have dimension " + std::to_string(data.embedding_dim) +
                                           ", the artifact's " + std::to_string(r.embedding_dim));
  }
  r.embeddings_used = data.embedding_dim > 0;
  if (options.points < 2) return fail("--tradeoff-points must be at least 2");
  const std::size_t k = slot.size(), n = data.rows();

  std::vector<float> quality(n * k), all(names.size());
  std::vector<double> cost(n * k);
  for (std::size_t row = 0; row < n; ++row) {
    predictor.predict(data.queries[row], data.embedding(row), all);
    const std::int64_t tokens = providers::estimate_tokens(data.queries[row]);
    for (std::size_t c = 0; c < k; ++c) {
      quality[row * k + c] = all[slot[c]];
      cost[row * k + c] = request_cost(*info[c], tokens);
    }
  }
  auto score = [&](std::size_t row, std::size_t c) {
    return static_cast<double>(data.score(row, column[c]));
  };
  for (std::size_t row = 0; row < n; ++row) {
    for (std::size_t c = 0; c < k; ++c) {
      const double e = quality[row * k + c] - score(row, c);
      r.brier += e * e / static_cast<double>(n * k);
    }
  }

  for (std::size_t c = 0; c < k; ++c) {
    Baseline b{info[c]->name, 0, 0};
    for (std::size_t row = 0; row < n; ++row) b.accuracy += score(row, c), b.cost += cost[row * k + c];
    b.accuracy /= static_cast<double>(n);
    b.cost /= static_cast<double>(n);
    r.models.push_back(b);
  }
  r.best_single =
      *std::min_element(r.models.begin(), r.models.end(), [](const Baseline& a, const Baseline& b) {
        return a.accuracy != b.accuracy ? a.accuracy > b.accuracy : a.cost < b.cost;
      });
  r.cheapest = *std::min_element(r.models.begin(), r.models.end(), [](const Baseline& a, const Baseline& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.accuracy > b.accuracy;
  });
  r.oracle.model = "oracle";
  for (std::size_t row = 0; row < n; ++row) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < k; ++c) {
      if (score(row, c) > score(row, best) ||
          (score(row, c) == score(row, best) && cost[row * k + c] < cost[row * k + best]))
        best = c;
    }
    r.oracle.accuracy += score(row, best);
    r.oracle.cost += cost[row * k + best];
  }
  r.oracle.accuracy /= static_cast<double>(n);
  r.oracle.cost /= static_cast<double>(n);

  std::vector<std::uint32_t> order(k);
  for (std::size_t p = 0; p < options.points; ++p) {
    const double f = static_cast<double>(p) / static_cast<double>(options.points - 1);
    OperatingPoint point;
    // Thresholds are spaced quadratically: predicted qualities of the best few models differ by hundredths.
    point.threshold = options.sweep_cost_weight ? options.max_threshold : f * f * options.max_threshold;
    point.cost_weight = options.sweep_cost_weight ? f * options.max_cost_weight : options.cost_weight;
    for (std::size_t row = 0; row < n; ++row) {
      rank_candidates({quality.data() + row * k, k}, {cost.data() + row * k, k},
                      Tradeoff{point.threshold, point.cost_weight}, order);
      point.accuracy += score(row, order[0]);
      point.cost += cost[row * k + order[0]];
    }
    point.accuracy /= static_cast<double>(n);
    point.cost /= static_cast<double>(n);
    r.points.push_back(point);
  }

  // Random at equal cost: the cheapest and the best single model mixed to cost what the router's most
  // accurate point costs.
  const double c0 = r.cheapest.cost, c1 = r.best_single.cost, a0 = r.cheapest.accuracy,
               a1 = r.best_single.accuracy;
  const OperatingPoint& top = *std::max_element(
      r.points.begin(), r.points.end(),
      [](const OperatingPoint& a, const OperatingPoint& b) { return a.accuracy < b.accuracy; });
  const double mix = c1 > c0 ? std::clamp((top.cost - c0) / (c1 - c0), 0.0, 1.0) : 0.0;
  r.random = {"random", a0 + mix * (a1 - a0), c0 + mix * (c1 - c0)};

  for (const auto& p : r.points) {
    if (p.accuracy >= a1 && (!r.match || p.cost < r.match->cost)) r.match = p;
  }
  if (c1 > c0 && a1 > a0) {
    const std::vector<CurvePoint> env = envelope(r, c0, c1);
    r.auc = area(env);
    r.apgr = (r.auc - a0) / (a1 - a0);
    r.cpt50 = reach(env, a0 + 0.5 * (a1 - a0));
    r.cpt80 = reach(env, a0 + 0.8 * (a1 - a0));
    r.cpt100 = reach(env, a1);
  } else {
    r.auc = a1;  // the cheapest model is the best one: nothing to trade
  }
  return r;
}

std::string report_json(const EvalReport& r) {
  bj::object out;
  out["strategy"] = r.strategy;
  out["checksum"] = r.checksum;
  out["rows"] = r.rows;
  bj::array models;
  for (const auto& m : r.models) models.push_back(baseline(m));
  out["models"] = std::move(models);
  out["baselines"] = bj::object{{"best_single", baseline(r.best_single)},
                                {"cheapest", baseline(r.cheapest)},
                                {"random", baseline(r.random)},
                                {"oracle", baseline(r.oracle)}};
  bj::array points;
  for (const auto& p : r.points) {
    points.push_back(bj::object{{"threshold", p.threshold},
                                {"cost_weight", p.cost_weight},
                                {"accuracy", p.accuracy},
                                {"cost", p.cost}});
  }
  out["points"] = std::move(points);
  out["auc"] = r.auc;
  out["apgr"] = optional(r.apgr);
  out["brier"] = r.brier;
  out["cpt"] = bj::object{{"50", optional(r.cpt50)}, {"80", optional(r.cpt80)}, {"100", optional(r.cpt100)}};
  if (r.match) {
    out["match_best_single"] = bj::object{{"threshold", r.match->threshold},
                                          {"cost_weight", r.match->cost_weight},
                                          {"accuracy", r.match->accuracy},
                                          {"cost", r.match->cost},
                                          {"cost_ratio", r.match->cost / r.best_single.cost}};
  } else {
    out["match_best_single"] = nullptr;
  }
  bj::array ignored;
  for (const auto& m : r.ignored_models) ignored.push_back(bj::value(m));
  out["ignored_models"] = std::move(ignored);
  out["embedding_dimension"] = r.embedding_dim;
  out["embeddings_used"] = r.embeddings_used;
  return bj::serialize(out) + "\n";
}

std::string report_text(const EvalReport& r) {
  std::string out;
  char line[256];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  auto per_k = [](double cost) { return cost * 1000.0; };
  add("strategy %s, %zu rows (cost: dollars per 1,000 queries)\n", r.strategy.c_str(), r.rows);
  if (r.embedding_dim > 0) {
    add(r.embeddings_used ? "with embeddings of dimension %u\n"
                          : "the artifact routes on embeddings of dimension %u; without --embeddings its "
                            "built-in-featurizer model is evaluated\n",
        r.embedding_dim);
  }
  add("\n%-46s %9s %10s\n", "model alone", "accuracy", "cost/1k");
  for (const auto& m : r.models) add("%-46s %9.4f %10.4f\n", m.model.c_str(), m.accuracy, per_k(m.cost));
  add("\n%-46s %9s %10s\n", "baseline", "accuracy", "cost/1k");
  add("%-46s %9.4f %10.4f\n", ("best single: " + r.best_single.model).c_str(), r.best_single.accuracy,
      per_k(r.best_single.cost));
  add("%-46s %9.4f %10.4f\n", ("cheapest: " + r.cheapest.model).c_str(), r.cheapest.accuracy,
      per_k(r.cheapest.cost));
  add("%-46s %9.4f %10.4f\n", "random at equal cost", r.random.accuracy, per_k(r.random.cost));
  add("%-46s %9.4f %10.4f\n", "oracle", r.oracle.accuracy, per_k(r.oracle.cost));
  add("\n%10s %11s %9s %10s %12s\n", "threshold", "cost_weight", "accuracy", "cost/1k", "vs best cost");
  for (const auto& p : r.points) {
    add("%10.4f %11.4g %9.4f %10.4f %11.1f%%\n", p.threshold, p.cost_weight, p.accuracy, per_k(p.cost),
        100.0 * p.cost / r.best_single.cost);
  }
  auto pct = [](std::optional<double> v) { return v ? 100.0 * *v : -1.0; };
  add("\nAUC %.4f  APGR %.4f  Brier %.4f\n", r.auc, r.apgr.value_or(NAN), r.brier);
  add("CPT(50%%) %.1f%%  CPT(80%%) %.1f%%  CPT(100%%) %.1f%%  (normalised cost; -1: never)\n", pct(r.cpt50),
      pct(r.cpt80), pct(r.cpt100));
  if (r.match) {
    add("matches the best single model's accuracy (%.4f >= %.4f) at %.1f%% of its cost (quality_threshold "
        "%.4g, "
        "cost_weight %.4g)\n",
        r.match->accuracy, r.best_single.accuracy, 100.0 * r.match->cost / r.best_single.cost,
        r.match->threshold, r.match->cost_weight);
  } else {
    add("no operating point reaches the best single model's accuracy (%.4f)\n", r.best_single.accuracy);
  }
  for (const auto& m : r.ignored_models)
    add("ignored: '%s' is scored in the data but unknown to the artifact\n", m.c_str());
  return out;
}

}  // namespace sy::router::ml
