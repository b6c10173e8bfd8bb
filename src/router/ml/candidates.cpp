#include "router/ml/candidates.h"

#include <algorithm>

#include "config/llm_candidates.h"

namespace sy::router::ml {
namespace {

Error bad(std::string_view source, std::string message) {
  return Error{400, "invalid_request_error", std::string(source) + ": " + message, {}, {}, {}};
}

// Training and evaluation price every model, so a models file for them must give both prices; the rest of the
// checks are the config loader's (one parser for both).
Result<std::vector<ModelInfo>> to_models(Result<std::vector<config::LlmCandidate>> parsed,
                                         std::string_view source) {
  if (!parsed) return parsed.error();
  if (parsed.value().empty()) return bad(source, "expected an object of model name -> {size, prices}");
  std::vector<ModelInfo> out;
  out.reserve(parsed.value().size());
  for (const config::LlmCandidate& c : parsed.value()) {
    if (!c.input_cost_per_token)
      return bad(source, "model '" + c.name + "': input_price_per_mtok (or input_price) is missing");
    if (!c.output_cost_per_token)
      return bad(source, "model '" + c.name + "': output_price_per_mtok (or output_price) is missing");
    out.push_back(ModelInfo{c.name, c.size_billions.value_or(0.0), *c.input_cost_per_token * 1e6,
                            *c.output_cost_per_token * 1e6});
  }
  std::sort(out.begin(), out.end(), [](const ModelInfo& a, const ModelInfo& b) { return a.name < b.name; });
  return out;
}

}  // namespace

double parse_model_size(std::string_view size) {
  return config::parse_size_billions(size).value_or(-1.0);
}

Result<std::vector<ModelInfo>> parse_candidates(std::string_view text, std::string_view source) {
  return to_models(config::parse_llm_candidates(text, source), source);
}

Result<std::vector<ModelInfo>> load_candidates(const std::string& path) {
  return to_models(config::load_llm_candidates(path), path);
}

const ModelInfo* find_model(const std::vector<ModelInfo>& models, std::string_view name) noexcept {
  auto it = std::lower_bound(models.begin(), models.end(), name,
                             [](const ModelInfo& m, std::string_view n) { return m.name < n; });
  return it != models.end() && it->name == name ? &*it : nullptr;
}

}  // namespace sy::router::ml
