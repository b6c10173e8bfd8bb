#include "config/llm_candidates.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include <boost/json.hpp>

namespace sy::config {
namespace {

namespace bj = boost::json;

Error bad(std::string_view source, const std::string& message) {
  return Error{400, "invalid_request_error", std::string(source) + ": " + message, {}, {}, {}};
}

std::optional<double> number(const bj::value& v) {
  if (v.is_number()) return v.to_number<double>();
  if (const auto* s = v.if_string()) {  // "0.2", as some LLMRouter files write prices
    double out = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && end == s->data() + s->size()) return out;
  }
  return std::nullopt;
}

std::optional<double> size_in_billions(const bj::value& v) {
  if (v.is_number()) return v.to_number<double>();
  if (const auto* s = v.if_string()) return parse_size_billions(std::string_view(s->data(), s->size()));
  return std::nullopt;
}

// The first of `keys` the entry has: a price in dollars per million tokens, returned per token.
Result<std::optional<double>> price(const bj::object& entry, std::initializer_list<std::string_view> keys,
                                    std::string_view source, const std::string& name) {
  for (std::string_view key : keys) {
    const bj::value* v = entry.if_contains(key);
    if (!v || v->is_null()) continue;
    auto n = number(*v);
    if (!n || !std::isfinite(*n) || *n < 0) {
      return bad(source, "model \"" + name + "\": " + std::string(key) +
                             " must be a non-negative number (dollars per million tokens)");
    }
    return std::optional<double>(*n / 1e6);
  }
  return std::optional<double>();
}

}  // namespace

std::optional<double> parse_size_billions(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  double scale = 1;
  if (!text.empty()) {
    switch (text.back() | 0x20) {
      case 'b':
        text.remove_suffix(1);
        break;
      case 'm':
        scale = 1e-3;
        text.remove_suffix(1);
        break;
      case 't':
        scale = 1e3;
        text.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  double out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || out < 0) return std::nullopt;
  return out * scale;
}

Result<std::vector<LlmCandidate>> parse_llm_candidates(std::string_view json, std::string_view source) {
  boost::system::error_code ec;
  bj::value doc = bj::parse(json, ec);
  if (ec) return bad(source, "not valid JSON: " + ec.message());
  const bj::object* models = doc.if_object();
  if (!models)
    return bad(source, "must be a JSON object of model name -> {size, input_price, output_price, ...}");
  std::vector<LlmCandidate> out;
  out.reserve(models->size());
  for (const auto& [key, value] : *models) {
    LlmCandidate c;
    c.name = std::string(key);
    if (c.name.empty()) return bad(source, "a model name is empty");
    const bj::object* entry = value.if_object();
    if (!entry) return bad(source, "model \"" + c.name + "\" must be an object");
    if (const bj::value* size = entry->if_contains("size"); size && !size->is_null()) {
      c.size_billions = size_in_billions(*size);
      if (!c.size_billions || !std::isfinite(*c.size_billions) || *c.size_billions < 0) {
        return bad(source, "model \"" + c.name + "\": size must be like \"7B\", \"350M\" or a number");
      }
    }
    auto input = price(*entry, {"input_price_per_mtok", "input_price"}, source, c.name);
    if (!input) return input.error();
    c.input_cost_per_token = input.value();
    auto output = price(*entry, {"output_price_per_mtok", "output_price"}, source, c.name);
    if (!output) return output.error();
    c.output_cost_per_token = output.value();
    if (const bj::value* m = entry->if_contains("model"); m && m->is_string()) c.model = m->get_string();
    for (std::string_view key : {"feature", "description"}) {
      if (const bj::value* d = entry->if_contains(key); d && d->is_string() && c.description.empty()) {
        c.description = d->get_string();
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<LlmCandidate>> load_llm_candidates(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_llm_candidates(text.str(), path);
}

}  // namespace sy::config
