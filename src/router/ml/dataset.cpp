#include "router/ml/dataset.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

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

// A line's JSON object, parsed into `v`; null when the line is not one.
const bj::object* parse_object(std::string_view line, bj::value& v) {
  boost::system::error_code ec;
  v = bj::parse(line, ec);
  return ec ? nullptr : v.if_object();
}

// Calls f(line, query) for each line of a JSONL file whose lines are objects with a string "query" (the other
// fields are not looked at); stops at the first line that is not one, and names it in the error.
template <class F>
std::optional<Error> for_each_query(std::string_view text, std::string_view source, F&& f) {
  std::optional<Error> error;
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    bj::value v;
    const bj::object* obj = parse_object(line, v);
    const bj::value* query = obj ? obj->if_contains("query") : nullptr;
    if (!query || !query->is_string()) {
      error = bad(source, number, "expected an object with a string \"query\"");
      return false;
    }
    f(line, std::string_view(query->get_string()));
    return true;
  });
  return error;
}

}  // namespace

Result<Dataset> parse_dataset(std::string_view text, std::string_view source) {
  Dataset d;
  d.digest = sha256_hex(as_bytes(text));
  d.source = source;
  std::vector<float> row;
  Error error;
  bool failed = false;
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    bj::value v;
    const bj::object* obj = parse_object(line, v);
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
    d.lines.push_back(number);
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

std::optional<Error> parse_embeddings(Dataset& d, std::string_view text, std::string_view source) {
  std::unordered_map<std::string, std::size_t> offset_of;  // query -> offset into `values`
  std::vector<float> values;
  std::uint32_t dim = 0;
  std::optional<std::string> model;
  std::optional<Error> error;
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    bj::value v;
    const bj::object* obj = parse_object(line, v);
    const bj::value* query = obj ? obj->if_contains("query") : nullptr;
    const bj::value* embedding = obj ? obj->if_contains("embedding") : nullptr;
    const bj::value* name = obj ? obj->if_contains("model") : nullptr;
    const bj::array* numbers = embedding ? embedding->if_array() : nullptr;
    if (!query || !query->is_string() || !numbers || (name && !name->is_string())) {
      error =
          bad(source, number, "expected {\"query\": string, \"embedding\": [numbers], \"model\": string}");
      return false;
    }
    if (numbers->empty() || numbers->size() > kMaxEmbeddingDimension || (dim && numbers->size() != dim)) {
      error =
          bad(source, number,
              "an embedding of " + std::to_string(numbers->size()) + " numbers" +
                  (dim ? ", the first line's has " + std::to_string(dim) : std::string(" is out of range")));
      return false;
    }
    const std::string_view this_model = name ? std::string_view(name->get_string()) : std::string_view();
    if (model && *model != this_model) {
      error = bad(source, number,
                  "model \"" + std::string(this_model) + "\", the first line's is \"" + *model + "\"");
      return false;
    }
    model = std::string(this_model);
    dim = static_cast<std::uint32_t>(numbers->size());
    const std::string_view q = query->get_string();
    const std::size_t at = values.size();
    for (const bj::value& x : *numbers) {
      const double f = x.is_number() ? x.to_number<double>() : NAN;
      if (!std::isfinite(f)) {
        error = bad(source, number, "the embedding holds something other than a finite number");
        return false;
      }
      values.push_back(static_cast<float>(f));
    }
    offset_of.try_emplace(std::string(q), at);  // the first line of a query counts
    return true;
  });
  if (error) return error;
  if (dim == 0) return bad(source, 0, "no embeddings");
  d.embedding_dim = dim;
  d.embedding_model = model.value_or("");
  d.embeddings.resize(d.rows() * dim);
  for (std::size_t row = 0; row < d.rows(); ++row) {
    const auto it = offset_of.find(d.queries[row]);
    if (it == offset_of.end()) {
      d.embedding_dim = 0;
      d.embeddings.clear();
      return bad(d.source, row < d.lines.size() ? d.lines[row] : 0,
                 "no embedding for this query in " + std::string(source));
    }
    std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(it->second), dim,
                d.embeddings.begin() + static_cast<std::ptrdiff_t>(row * dim));
  }
  return std::nullopt;
}

std::optional<Error> attach_embeddings(Dataset& d, const std::string& path) {
  Result<std::string> text = read_file(path);
  if (!text) return text.error();
  return parse_embeddings(d, text.value(), path);
}

Result<std::vector<std::string>> load_queries(const std::string& path) {
  Result<std::string> text = read_file(path);
  if (!text) return text.error();
  std::vector<std::string> queries;
  std::unordered_set<std::string> seen;
  if (auto error = for_each_query(text.value(), path, [&](std::string_view, std::string_view query) {
        std::string q(query);
        if (seen.insert(q).second) queries.push_back(std::move(q));
      })) {
    return *error;
  }
  if (queries.empty()) return bad(path, 0, "no queries");
  return queries;
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
  if (auto error = for_each_query(text.value(), data, [&](std::string_view line, std::string_view query) {
        const bool to_test = in_split(query, test_fraction, seed);
        (to_test ? test : train) << line << '\n';
        ++(to_test ? counts.test : counts.train);
      })) {
    return *error;
  }
  train.flush();
  test.flush();
  if (!train || !test) return bad(train_out, 0, "write failed");
  return counts;
}

}  // namespace sy::router::ml
