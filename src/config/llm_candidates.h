// The candidates file of learned routing (`routing_strategy_args.llm_data_path`): LLMRouter's
// llm_candidates.json shape, model name -> {size, input_price, output_price, model, feature}, or the routing
// data's models.json shape (input_price_per_mtok / output_price_per_mtok). The config loader reads it (a bad
// file is a config error); the router uses it to map deployments to the artifact's models (by the `model` API
// id), to price them, and for the size baselines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace sy::config {

struct LlmCandidate {
  std::string name;                            // the model's name in the artifact and the training data
  std::optional<double> size_billions;         // "7B" -> 7, "350M" -> 0.35
  std::optional<double> input_cost_per_token;  // dollars (the file says dollars per million tokens)
  std::optional<double> output_cost_per_token;
  std::string model;        // the API model id ("qwen/qwen2.5-7b-instruct"), when the file gives one
  std::string description;  // LLMRouter's `feature` (or `description`)
};

// "7B" -> 7, "350M" -> 0.35, "1.5t" -> 1500, "70" -> 70; nullopt when unreadable or negative.
std::optional<double> parse_size_billions(std::string_view size);

// In the file's order. An Error's message names `source` and the entry at fault.
Result<std::vector<LlmCandidate>> parse_llm_candidates(std::string_view json, std::string_view source);
Result<std::vector<LlmCandidate>> load_llm_candidates(const std::string& path);

}  // namespace sy::config
