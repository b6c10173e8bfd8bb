#include "router/ml/candidates.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

namespace sy::router::ml {
namespace {

namespace bj = boost::json;

Error bad(std::string_view source, std::string message) {
  return Error{400, "invalid_request_error", std::string(source) + ": " + message, {}, {}, {}};
}

// The first of `keys` present in `entry` as a number; false when none is, or one is not a number.
bool number_field(const bj::object& entry, std::initializer_list<std::string_view> keys, double& out,
                  bool& present) {
  present = false;
  for (std::string_view key : keys) {
    const bj::value* v = entry.if_contains(key);
    if (!v) continue;
    present = true;
    if (v->is_number()) {
      out = v->to_number<double>();
      return out >= 0;
    }
    if (v->is_string()) {  // "0.2" as LLMRouter files sometimes write it
      const auto& s = v->get_string();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc() && p == s.data() + s.size() && out >= 0;
    }
    return false;
  }
  return true;
}

}  // namespace

double parse_model_size(std::string_view size) {
  while (!size.empty() && size.back() == ' ') size.remove_suffix(1);
  double scale = 1.0;
  if (!size.empty()) {
    const char unit = static_cast<char>(size.back() | 0x20);
    if (unit == 'b')
      scale = 1.0, size.remove_suffix(1);
    else if (unit == 'm')
      scale = 1e-3, size.remove_suffix(1);
    else if (unit == 't')
      scale = 1e3, size.remove_suffix(1);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), v);
  if (size.empty() || ec != std::errc() || p != size.data() + size.size() || v < 0) return -1;
  return v * scale;
}

Result<std::vector<ModelInfo>> parse_candidates(std::string_view text, std::string_view source) {
  boost::system::error_code ec;
  bj::value doc = bj::parse(text, ec);
  if (ec) return bad(source, "not JSON: " + ec.message());
  const bj::object* models = doc.if_object();
  if (!models || models->empty()) return bad(source, "expected an object of model name -> {size, prices}");
  std::vector<ModelInfo> out;
  for (const auto& [key, value] : *models) {
    const std::string name(key);
    const bj::object* entry = value.if_object();
    if (!entry) return bad(source, "model '" + name + "' is not an object");
    ModelInfo m{name, 0.0, 0.0, 0.0};
    bool present = false;
    if (!number_field(*entry, {"input_price_per_mtok", "input_price"}, m.input_price, present) || !present)
      return bad(source, "model '" + name + "': input_price_per_mtok (or input_price) must be a number >= 0");
    if (!number_field(*entry, {"output_price_per_mtok", "output_price"}, m.output_price, present) || !present)
      return bad(source,
                 "model '" + name + "': output_price_per_mtok (or output_price) must be a number >= 0");
    if (const bj::value* size = entry->if_contains("size")) {
      if (size->is_number())
        m.size_b = size->to_number<double>();
      else if (size->is_string())
        m.size_b = parse_model_size(size->get_string());
      else
        m.size_b = -1;
      if (!(m.size_b >= 0))
        return bad(source, "model '" + name + "': size must look like \"7B\" or a number");
    }
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const ModelInfo& a, const ModelInfo& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<ModelInfo>> load_candidates(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, "cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_candidates(text.str(), path);
}

const ModelInfo* find_model(const std::vector<ModelInfo>& models, std::string_view name) noexcept {
  auto it = std::lower_bound(models.begin(), models.end(), name,
                             [](const ModelInfo& m, std::string_view n) { return m.name < n; });
  return it != models.end() && it->name == name ? &*it : nullptr;
}

}  // namespace sy::router::ml
