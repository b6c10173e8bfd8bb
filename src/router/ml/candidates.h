// The candidate models of learned routing and what they cost: read from a models file, either the shape of
// the routing data's models.json (name -> {size, input_price_per_mtok, output_price_per_mtok}) or LLMRouter's
// llm_candidates.json (name -> {size, input_price, output_price, feature, model, ...}). Prices are dollars
// per million tokens; size is in billions of parameters ("7B", "350M", or a number).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace sy::router::ml {

struct ModelInfo {
  std::string name;
  double size_b = 0.0;
  double input_price = 0.0;   // $ per million prompt tokens
  double output_price = 0.0;  // $ per million completion tokens
};

// The completion length every cost is computed for (the routing data's cost rule).
inline constexpr double kAnswerTokens = 256.0;

// Dollars for one request of `prompt_tokens` to `model`: (prompt * input + 256 * output) / 1e6.
inline double request_cost(const ModelInfo& model, std::int64_t prompt_tokens) noexcept {
  return (static_cast<double>(prompt_tokens) * model.input_price + kAnswerTokens * model.output_price) / 1e6;
}

// Sorted by name. An Error names the file and the entry at fault.
Result<std::vector<ModelInfo>> parse_candidates(std::string_view json,
                                                std::string_view source = "models file");
Result<std::vector<ModelInfo>> load_candidates(const std::string& path);
// "7B" -> 7, "350M" -> 0.35, "1.5b" -> 1.5, "70" -> 70; negative when unreadable.
double parse_model_size(std::string_view size);

const ModelInfo* find_model(const std::vector<ModelInfo>& models, std::string_view name) noexcept;

}  // namespace sy::router::ml
