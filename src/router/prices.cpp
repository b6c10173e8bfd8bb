// The built-in price table for cost-based routing, used when a deployment's model_info gives no cost.
//
// Source: the providers' published list prices (OpenAI API pricing page, Anthropic pricing page; AWS Bedrock
// on-demand prices for the same Anthropic models match Anthropic's), as of mid-2025, in dollars per million
// tokens. Prices change: set model_info.input_cost_per_token / output_cost_per_token to be exact.
#include <array>
#include <cctype>
#include <string_view>

#include "router/strategy.h"

namespace sy::router {
namespace {

struct Entry {
  std::string_view model;  // matched at the start of the model id, or after a '.' or '/' (Bedrock ids)
  double input_per_mtok;
  double output_per_mtok;
};

constexpr std::array kPrices = {
    Entry{"gpt-4o-mini", 0.15, 0.60},
    Entry{"gpt-4o", 2.50, 10.00},
    Entry{"gpt-4.1-nano", 0.10, 0.40},
    Entry{"gpt-4.1-mini", 0.40, 1.60},
    Entry{"gpt-4.1", 2.00, 8.00},
    Entry{"gpt-4-turbo", 10.00, 30.00},
    Entry{"gpt-4", 30.00, 60.00},
    Entry{"gpt-3.5-turbo", 0.50, 1.50},
    Entry{"o1-mini", 1.10, 4.40},
    Entry{"o1", 15.00, 60.00},
    Entry{"o3-mini", 1.10, 4.40},
    Entry{"o3", 2.00, 8.00},
    Entry{"o4-mini", 1.10, 4.40},
    Entry{"text-embedding-3-small", 0.02, 0},
    Entry{"text-embedding-3-large", 0.13, 0},
    Entry{"text-embedding-ada-002", 0.10, 0},
    Entry{"claude-3-haiku", 0.25, 1.25},
    Entry{"claude-3-5-haiku", 0.80, 4.00},
    Entry{"claude-3-5-sonnet", 3.00, 15.00},
    Entry{"claude-3-7-sonnet", 3.00, 15.00},
    Entry{"claude-sonnet-4", 3.00, 15.00},
    Entry{"claude-3-opus", 15.00, 75.00},
    Entry{"claude-opus-4", 15.00, 75.00},
};

// `model` names the whole id, or the id with a version or date suffix ("-2024-08-06", "-v1:0", "@001"): "o3"
// matches "o3-2025-04-16" but not "o3-pro".
bool matches(std::string_view id, std::string_view model) {
  for (std::size_t pos = id.find(model); pos != std::string_view::npos; pos = id.find(model, pos + 1)) {
    if (pos != 0 && id[pos - 1] != '.' && id[pos - 1] != '/') continue;
    const std::string_view rest = id.substr(pos + model.size());
    if (rest.empty() || rest[0] == ':' || rest[0] == '@') return true;
    if (rest[0] == '-' && rest.size() > 1 &&
        (std::isdigit(static_cast<unsigned char>(rest[1])) || rest[1] == 'v')) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<Price> builtin_price(std::string_view provider_model) noexcept {
  const Entry* best = nullptr;
  for (const Entry& e : kPrices) {
    if ((!best || e.model.size() > best->model.size()) && matches(provider_model, e.model)) best = &e;
  }
  if (!best) return std::nullopt;
  return Price{best->input_per_mtok / 1e6, best->output_per_mtok / 1e6};
}

}  // namespace sy::router
