#include "router/ml/dataset.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "router/ml/artifact.h"

namespace sy::router::ml {
namespace {

namespace bj = boost::json;

Error bad(std::string_view source, std::size_t line, const std::string& message) {
  return Error{400,
               "invalid_request_error",
               std::string(source) + (line ? ":" + std::to_string(line) : std::string()) + ": " + message,
               {},
               {},
               {}};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, 0, "cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Calls f(line_number, line) for each non-blank line.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!f(number, line)) return;
  }
}

}  // namespace

Result<Dataset> parse_dataset(std::string_view text, std::string_view source) {
  Dataset d;
  d.digest = sha256_hex(as_bytes(text));
  std::vector<float> row;
  Error error;
  bool failed = false;
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    boost::system::error_code ec;
    const bj::value v = bj::parse(line, ec);
    const bj::object* obj = ec ? nullptr : v.if_object();
    const bj::value* query = obj ? obj->if_contains("query") : nullptr;
    const bj::value* scores = obj ? obj->if_contains("scores") : nullptr;
    if (!query || !query->is_string() || !scores || !scores->is_object()) {
      error = bad(source, number, "expected {\"query\": string, \"scores\": {model: number}}");
      return !(failed = true);
    }
    const bj::object& s = scores->get_object();
    if (d.models.empty()) {
      for (const auto& [model, score] : s) d.models.emplace_back(model);
      std::sort(d.models.begin(), d.models.end());
      if (d.models.empty()) {
        error = bad(source, number, "no scores");
        return !(failed = true);
      }
    }
    if (s.size() != d.models.size()) {
      error = bad(source, number,
                  "scores " + std::to_string(s.size()) + " models, the first line " +
                      std::to_string(d.models.size()));
      return !(failed = true);
    }
    row.clear();
    for (const std::string& model : d.models) {
      const bj::value* score = s.if_contains(model);
      const double x = score && score->is_number() ? score->to_number<double>() : NAN;
      if (!(x >= 0.0 && x <= 1.0)) {
        error = bad(source, number, "the score of '" + model + "' is missing or not a number in 0..1");
        return !(failed = true);
      }
      row.push_back(static_cast<float>(x));
    }
    d.queries.emplace_back(query->get_string());
    d.scores.insert(d.scores.end(), row.begin(), row.end());
    return true;
  });
  if (failed) return error;
  if (d.queries.empty()) return bad(source, 0, "no rows");
  return d;
}

Result<Dataset> load_dataset(const std::string& path) {
  Result<std::string> text = read_file(path);
  if (!text) return text.error();
  return parse_dataset(text.value(), path);
}

bool in_split(std::string_view query, double fraction, std::uint64_t seed) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull ^ (seed * 0x9e3779b97f4a7c15ull);  // FNV-1a, seeded
  for (unsigned char c : query) h = (h ^ c) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction;
}

Result<SplitCounts> split_dataset(const std::string& data, double test_fraction, std::uint64_t seed,
                                  const std::string& train_out, const std::string& test_out) {
  if (!(test_fraction >= 0.0 && test_fraction <= 1.0)) return bad("--test-fraction", 0, "must be in 0..1");
  Result<std::string> text = read_file(data);
  if (!text) return text.error();
  std::ofstream train(train_out, std::ios::binary), test(test_out, std::ios::binary);
  if (!train) return bad(train_out, 0, "cannot write");
  if (!test) return bad(test_out, 0, "cannot write");
  SplitCounts counts;
  Error error;
  bool failed = false;
  for_each_line(text.value(), [&](std::size_t number, std::string_view line) {
    boost::system::error_code ec;
    const bj::value v = bj::parse(line, ec);
    const bj::value* query = !ec && v.is_object() ? v.get_object().if_contains("query") : nullptr;
    if (!query || !query->is_string()) {
      error = bad(data, number, "expected an object with a string \"query\"");
      return !(failed = true);
    }
    const bool to_test = in_split(query->get_string(), test_fraction, seed);
    (to_test ? test : train) << line << '\n';
    ++(to_test ? counts.test : counts.train);
    return true;
  });
  if (failed) return error;
  train.flush();
  test.flush();
  if (!train || !test) return bad(train_out, 0, "write failed");
  return counts;
}

}  // namespace sy::router::ml
