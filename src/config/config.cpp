// Loads a LiteLLM-style config.yaml into Config. The loader walks the YAML tree once, collecting every error
// and warning with its position instead of stopping at the first, so an operator can fix a file in one pass.
#include "config/config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <yaml-cpp/yaml.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

namespace sy::config {
namespace {

// A deployment's api_base is checked at load so a typo fails the start, not every request. (The upstream
// client parses it again for its connection details.)
bool looks_like_http_url(std::string_view text) {
  auto url = boost::urls::parse_uri(text);
  if (!url || url->encoded_host().empty()) return false;
  std::string scheme(url->scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") return false;
  auto path = url->encoded_path();
  return path.empty() || path.front() == '/';
}

constexpr std::string_view kEnvPrefix = "os.environ/";

// Deeper nesting is rejected rather than recursed into: it also stops a self-referencing alias (`&a [*a]`),
// which yaml-cpp turns into a cycle.
constexpr int kMaxDepth = 64;
// Aliases share nodes, so a small file can expand into billions of values ("billion laughs"); cap the total.
constexpr std::size_t kMaxJsonValues = 100'000;

constexpr std::array<std::string_view, 14> kKnownProviders = {
    "openai", "mock", "anthropic",   "bedrock",  "azure",   "text-completion-openai", "hosted_vllm",
    "ollama", "groq", "together_ai", "deepseek", "mistral", "fireworks_ai",           "openrouter"};

constexpr double kBytesPerMb = 1024.0 * 1024.0;

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string index_path(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A field whose value may be a credential. Matching the whole path is deliberately broad: a false positive
// only drops the echoed value from a message, a false negative would leak a secret into logs.
bool is_sensitive(std::string_view path) {
  const std::string p = lowercase(path);
  if (p.starts_with("environment_variables")) return true;
  for (std::string_view word : {"key", "secret", "token", "password", "credential", "authorization"}) {
    if (p.find(word) != std::string::npos) return true;
  }
  return false;
}

// Long opaque strings and well-known key prefixes (OpenAI/Anthropic "sk-", AWS access key ids, bearer
// tokens). Short values such as "abc" or "10s" are what typos look like, and echoing those helps.
bool looks_like_credential(std::string_view v) {
  constexpr std::size_t kLongest = 32;
  if (v.size() >= kLongest) return true;
  for (std::string_view prefix : {"sk-", "sk_", "AKIA", "ASIA", "Bearer ", "ghp_", "xox"}) {
    if (v.starts_with(prefix)) return true;
  }
  return false;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "undefined";
}

bool parse_double(std::string_view s, double& out) {
  if (s.starts_with('+')) s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

bool parse_int(std::string_view s, std::int64_t& out, bool& out_of_range) {
  out_of_range = false;
  if (s.starts_with('+')) s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc::result_out_of_range) out_of_range = true;
  return ec == std::errc() && end == s.data() + s.size();
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// YAML 1.2 core-schema integer: [-+]?[0-9]+
bool looks_like_int(std::string_view s) {
  if (s.starts_with('-') || s.starts_with('+')) s.remove_prefix(1);
  return all_digits(s);
}

// YAML 1.2 core-schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?  (.inf/.nan stay strings:
// JSON cannot carry them).
bool looks_like_float(std::string_view s) {
  if (s.starts_with('-') || s.starts_with('+')) s.remove_prefix(1);
  const std::size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  if (e != std::string_view::npos) {
    std::string_view exponent = s.substr(e + 1);
    if (exponent.starts_with('-') || exponent.starts_with('+')) exponent.remove_prefix(1);
    if (!all_digits(exponent)) return false;
  }
  const std::size_t dot = mantissa.find('.');
  if (dot == std::string_view::npos) return all_digits(mantissa);
  const std::string_view whole = mantissa.substr(0, dot);
  const std::string_view fraction = mantissa.substr(dot + 1);
  if (whole.empty()) return all_digits(fraction);
  return all_digits(whole) && (fraction.empty() || all_digits(fraction));
}

// Types an untagged plain scalar the way YAML's core schema (and LiteLLM's loader, for these cases) does.
boost::json::value plain_scalar_to_json(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) return nullptr;
  if (looks_like_int(s)) {
    std::int64_t i = 0;
    bool out_of_range = false;
    if (parse_int(s, i, out_of_range)) return i;
    // Too large for int64: keep the magnitude as a double rather than failing.
  }
  if (looks_like_float(s)) {
    double d = 0;
    if (parse_double(s, d)) return d;
  }
  return boost::json::string(s);
}

int one_based(int zero_based) {
  return zero_based >= 0 ? zero_based + 1 : 0;
}

// Routing strategies the router implements (router/strategy.cpp; the llmrouter-* ones in router/ml/).
constexpr std::array<std::string_view, 13> kStrategies = {
    "simple-shuffle",     "least-busy",    "latency-based-routing", "usage-based-routing",
    "cost-based-routing", "llmrouter-knn", "llmrouter-mlp",         "llmrouter-svm",
    "llmrouter-mf",       "llmrouter-elo", "llmrouter-smallest",    "llmrouter-largest",
    "llmrouter-hybrid"};
constexpr std::string_view kLearnedPrefix = "llmrouter-";

bool is_learned(std::string_view strategy) {
  return strategy.starts_with(kLearnedPrefix);
}

// The learned strategies that need no artifact when the candidates file gives sizes.
bool is_size_baseline(std::string_view strategy) {
  return strategy == "llmrouter-smallest" || strategy == "llmrouter-largest";
}
constexpr std::int64_t kMaxRetries = 100;

enum class Bound { kAny, kNonNegative, kPositive };

std::string_view bound_words(Bound bound) {
  switch (bound) {
    case Bound::kAny:
      return "";
    case Bound::kNonNegative:
      return "non-negative ";
    case Bound::kPositive:
      return "positive ";
  }
  return "";
}

bool within(double v, Bound bound) {
  switch (bound) {
    case Bound::kAny:
      return true;
    case Bound::kNonNegative:
      return v >= 0;
    case Bound::kPositive:
      return v > 0;
  }
  return true;
}

// A scalar after os.environ/ resolution. env_name is set when the text came from the environment: such text
// may be a secret, so it is never echoed.
struct Text {
  std::string value;
  std::string env_name;
};

class Loader {
 public:
  Loader(std::string_view source, const EnvLookup& env) : source_(source), env_(env) {}

  LoadResult load(std::string_view yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      // ParserException messages describe the syntax problem, never the document's content.
      error(e.mark, "", "YAML syntax error: " + e.msg);
      return finish();
    }
    try {
      read_root(root);
    } catch (const YAML::Exception& e) {
      error(e.mark, "", "cannot read the configuration: " + e.msg);
    }
    return finish();
  }

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
    std::string name;
  };

  struct IdSite {
    std::string id;
    YAML::Mark mark;
    std::string path;  // the model_list entry
    bool generated = false;
  };

  // ---- diagnostics ----

  Diagnostic diagnostic(const YAML::Mark& mark, std::string field, std::string message) const {
    Diagnostic d;
    d.file = source_;
    d.line = one_based(mark.line);
    d.column = d.line == 0 ? 0 : one_based(mark.column);
    d.field = std::move(field);
    d.message = std::move(message);
    return d;
  }

  void error(const YAML::Mark& mark, std::string field, std::string message) {
    add(result_.errors, diagnostic(mark, std::move(field), std::move(message)));
  }

  void warn(const YAML::Mark& mark, std::string field, std::string message) {
    add(result_.warnings, diagnostic(mark, std::move(field), std::move(message)));
  }

  // A node reached through several aliases would otherwise report the same problem once per alias.
  static void add(std::vector<Diagnostic>& list, Diagnostic d) {
    const auto same = [&](const Diagnostic& o) {
      return o.line == d.line && o.column == d.column && o.field == d.field && o.message == d.message;
    };
    if (std::none_of(list.begin(), list.end(), same)) list.push_back(std::move(d));
  }

  // A null value (`key:` with nothing after it) is marked at the following line by yaml-cpp; the key is where
  // the reader looks.
  static YAML::Mark where(const Entry& e) { return e.value.IsNull() ? e.key.Mark() : e.value.Mark(); }

  // The offending value, appended to a message only when it is safe to show: not from the environment, not in
  // a credential-like field, and not itself shaped like a credential (a key pasted into the wrong field).
  static std::string got(const Text& t, std::string_view path) {
    if (!t.env_name.empty()) return " (value from environment variable " + t.env_name + ")";
    if (is_sensitive(path) || looks_like_credential(t.value)) return "";
    return ", got \"" + t.value + "\"";
  }

  LoadResult finish() {
    if (result_.errors.empty()) result_.config = std::move(config_);
    return std::move(result_);
  }

  // ---- generic YAML access ----

  // The entries of a mapping, in order, with YAML merge keys (`<<: *defaults`, which yaml-cpp 0.7 leaves as
  // an ordinary key) expanded and duplicate keys reduced to the last one, as LiteLLM's PyYAML loader does.
  std::vector<Entry> map_entries(const YAML::Node& map, const std::string& path, int depth = 0) {
    std::vector<Entry> out;
    std::unordered_map<std::string, std::size_t> position;
    std::vector<YAML::Node> merges;
    for (auto it = map.begin(); it != map.end(); ++it) {
      // Copies, not references: yaml-cpp's iterator hands out a temporary pair that dies with the statement.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        error(key.Mark(), path, "mapping keys must be strings, not " + describe(key));
        continue;
      }
      if (key.Scalar() == "<<" && key.Tag() == "?") {
        merges.push_back(value);
        continue;
      }
      Entry e{key, value, key.Scalar()};
      if (auto found = position.find(e.name); found != position.end()) {
        warn(key.Mark(), join(path, e.name), "duplicate key; the later value is used");
        out[found->second] = std::move(e);
      } else {
        position.emplace(e.name, out.size());
        out.push_back(std::move(e));
      }
    }
    for (const YAML::Node& merge : merges) merge_into(merge, path, depth, out, position);
    return out;
  }

  // Merged keys never override keys written in the mapping itself, and earlier merge sources win over later.
  void merge_into(const YAML::Node& source, const std::string& path, int depth, std::vector<Entry>& out,
                  std::unordered_map<std::string, std::size_t>& position) {
    if (depth >= kMaxDepth) {
      error(source.Mark(), path, "merge keys (<<) are nested too deeply");
      return;
    }
    std::vector<YAML::Node> sources;
    if (source.IsMap()) {
      sources.push_back(source);
    } else if (source.IsSequence()) {
      for (auto it = source.begin(); it != source.end(); ++it) sources.push_back(*it);
    }
    for (const YAML::Node& s : sources) {
      // Merges can alias the same mapping many times over (or themselves); bound the work like to_json does.
      merged_entries_ += s.size() + 1;
      if (merged_entries_ > kMaxJsonValues) {
        if (!merge_budget_reported_)
          error(s.Mark(), join(path, "<<"), "merge keys expand to too many values");
        merge_budget_reported_ = true;
        return;
      }
      if (!s.IsMap()) {
        error(s.Mark(), join(path, "<<"), "a merge key must merge a mapping or a sequence of mappings");
        continue;
      }
      for (Entry& e : map_entries(s, path, depth + 1)) {
        if (position.contains(e.name)) continue;
        position.emplace(e.name, out.size());
        out.push_back(std::move(e));
      }
    }
    if (sources.empty()) {
      error(source.Mark(), join(path, "<<"), "a merge key must merge a mapping or a sequence of mappings");
    }
  }

  std::optional<std::string> lookup_env(const std::string& name) const {
    if (auto it = config_env_.find(name); it != config_env_.end()) return it->second;
    if (!env_) return std::nullopt;
    return env_(name);
  }

  // Replaces a whole-value `os.environ/NAME` with the variable's value. A missing variable is an error.
  std::optional<Text> resolve(const YAML::Node& scalar, const std::string& path) {
    const std::string& s = scalar.Scalar();
    if (!s.starts_with(kEnvPrefix)) return Text{s, {}};
    std::string name = s.substr(kEnvPrefix.size());
    if (name.empty()) {
      error(scalar.Mark(), path, "os.environ/ reference does not name a variable");
      return std::nullopt;
    }
    if (auto value = lookup_env(name)) return Text{std::move(*value), std::move(name)};
    error(scalar.Mark(), path, "environment variable " + name + " is not set");
    return std::nullopt;
  }

  // Optional string field: null means unset. Numbers and booleans are taken as their text.
  std::optional<std::string> read_string(const Entry& e, const std::string& path) {
    if (e.value.IsNull()) return std::nullopt;
    if (!e.value.IsScalar()) {
      error(where(e), path, "must be a string, not " + describe(e.value));
      return std::nullopt;
    }
    auto text = resolve(e.value, path);
    if (!text) return std::nullopt;
    return std::move(text->value);
  }

  // A required, non-empty string field that is present in the mapping.
  std::optional<std::string> read_required_string(const Entry& e, const std::string& path) {
    if (e.value.IsNull()) {
      error(where(e), path, "is required and must be a non-empty string");
      return std::nullopt;
    }
    auto s = read_string(e, path);
    if (s && s->empty()) {
      error(where(e), path, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<double> read_number(const Entry& e, const std::string& path, Bound bound) {
    if (e.value.IsNull()) return std::nullopt;
    if (!e.value.IsScalar()) {
      error(where(e), path,
            "must be a " + std::string(bound_words(bound)) + "number, not " + describe(e.value));
      return std::nullopt;
    }
    auto text = resolve(e.value, path);
    if (!text) return std::nullopt;
    double v = 0;
    if (!parse_double(text->value, v) || !within(v, bound)) {
      error(where(e), path, "must be a " + std::string(bound_words(bound)) + "number" + got(*text, path));
      return std::nullopt;
    }
    return v;
  }

  // Integers only: "1.5" and "1e3" are rejected so a typo cannot silently truncate a limit.
  std::optional<std::int64_t> read_integer(const Entry& e, const std::string& path, Bound bound,
                                           std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
    const std::string expected = "must be a " + std::string(bound_words(bound)) + "integer";
    if (e.value.IsNull()) return std::nullopt;
    if (!e.value.IsScalar()) {
      error(where(e), path, expected + ", not " + describe(e.value));
      return std::nullopt;
    }
    auto text = resolve(e.value, path);
    if (!text) return std::nullopt;
    std::int64_t v = 0;
    bool out_of_range = false;
    if (!parse_int(text->value, v, out_of_range) || out_of_range || v > max ||
        !within(static_cast<double>(v), bound)) {
      std::string message = expected;
      if (out_of_range || v > max) message += " no greater than " + std::to_string(max);
      error(where(e), path, message + got(*text, path));
      return std::nullopt;
    }
    return v;
  }

  boost::json::value scalar_to_json(const YAML::Node& node, const std::string& path) {
    auto text = resolve(node, path);
    if (!text) return nullptr;
    // Environment values, quoted scalars and !!str stay strings; only plain scalars are typed.
    const std::string& tag = node.Tag();
    if (!text->env_name.empty() || tag == "!" || tag == "tag:yaml.org,2002:str") {
      return boost::json::string(text->value);
    }
    return plain_scalar_to_json(text->value);
  }

  boost::json::value to_json(const YAML::Node& node, const std::string& path, int depth) {
    if (++json_values_ > kMaxJsonValues) {
      if (json_values_ == kMaxJsonValues + 1) {
        error(node.Mark(), path, "the configuration expands to too many values (aliases nested too deeply?)");
      }
      return nullptr;
    }
    if (depth > kMaxDepth) {
      error(node.Mark(), path, "nested too deeply (or an alias refers to itself)");
      return nullptr;
    }
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        return scalar_to_json(node, path);
      case YAML::NodeType::Sequence: {
        boost::json::array array;
        std::size_t i = 0;
        for (auto it = node.begin(); it != node.end(); ++it, ++i) {
          array.push_back(to_json(*it, index_path(path, i), depth + 1));
        }
        return array;
      }
      case YAML::NodeType::Map: {
        boost::json::object object;
        for (const Entry& e : map_entries(node, path)) {
          object.insert_or_assign(e.name, to_json(e.value, join(path, e.name), depth + 1));
        }
        return object;
      }
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        break;
    }
    return nullptr;
  }

  // A whole section kept as JSON; null means empty.
  boost::json::object read_object(const Entry& e, const std::string& path) {
    if (e.value.IsNull()) return {};
    if (!e.value.IsMap()) {
      error(where(e), path, "must be a mapping, not " + describe(e.value));
      return {};
    }
    boost::json::value v = to_json(e.value, path, 0);
    if (boost::json::object* object = v.if_object()) return std::move(*object);
    return {};  // only when the value budget ran out, which is already an error
  }

  void put_extra(boost::json::object& extra, const Entry& e, const std::string& path) {
    extra.insert_or_assign(e.name, to_json(e.value, path, 1));
  }

  // ---- sections ----

  void read_root(const YAML::Node& root) {
    if (root.IsNull() || !root.IsDefined()) {
      error(YAML::Mark::null_mark(), "model_list", "is required (the configuration is empty)");
      return;
    }
    if (!root.IsMap()) {
      error(root.Mark(), "", "the configuration must be a mapping of top-level keys, not " + describe(root));
      return;
    }
    const std::vector<Entry> entries = map_entries(root, "");
    // environment_variables applies to every os.environ/ reference, wherever the section appears in the file.
    for (const Entry& e : entries) {
      if (e.name == "environment_variables") read_environment_variables(e);
    }
    bool has_model_list = false;
    for (const Entry& e : entries) {
      if (e.name == "model_list") {
        has_model_list = true;
        read_model_list(e);
      } else if (e.name == "general_settings") {
        read_general_settings(e);
      } else if (e.name == "server_settings") {
        read_server_settings(e);
      } else if (e.name == "litellm_settings") {
        config_.litellm_settings = read_object(e, e.name);
        litellm_section_ = e;
      } else if (e.name == "router_settings") {
        config_.router_settings = read_object(e, e.name);
        router_section_ = e;
      } else if (e.name != "environment_variables") {
        warn(e.key.Mark(), e.name, "unknown top-level key is ignored");
      }
    }
    if (!has_model_list) error(root.Mark(), "model_list", "is required");
    // LiteLLM reads these keys from litellm_settings too; router_settings wins wherever both set one.
    if (litellm_section_ && litellm_section_->value.IsMap()) read_router_settings(*litellm_section_, true);
    if (router_section_ && router_section_->value.IsMap()) read_router_settings(*router_section_, false);
    read_learned_and_experiments();
    check_fallback_groups();
    // server_settings is ours and more precise, so it wins over general_settings.max_request_size_mb.
    if (body_bytes_from_general_ && !body_bytes_from_server_) {
      config_.server_settings.max_request_body_bytes = *body_bytes_from_general_;
    }
    check_unique_ids();
  }

  // LiteLLM exports these into os.environ; here they only feed this load's os.environ/ lookups, so loading a
  // config never changes the process environment.
  void read_environment_variables(const Entry& section) {
    if (section.value.IsNull()) return;
    if (!section.value.IsMap()) {
      error(where(section), section.name, "must be a mapping of NAME: value, not " + describe(section.value));
      return;
    }
    std::unordered_map<std::string, std::string> vars;
    for (const Entry& e : map_entries(section.value, section.name)) {
      const std::string path = join(section.name, e.name);
      if (e.name.empty()) {
        error(e.key.Mark(), path, "variable name must not be empty");
        continue;
      }
      if (!e.value.IsScalar()) {
        error(where(e), path, "must be a string, not " + describe(e.value));
        continue;
      }
      // Resolved against the real environment only (config_env_ is still empty), so order does not matter.
      if (auto text = resolve(e.value, path)) vars.insert_or_assign(e.name, std::move(text->value));
    }
    config_env_ = std::move(vars);
  }

  void read_model_list(const Entry& section) {
    if (section.value.IsNull() || (section.value.IsSequence() && section.value.size() == 0)) {
      warn(where(section), section.name, "is empty: no models will be served");
      return;
    }
    if (!section.value.IsSequence()) {
      error(where(section), section.name,
            "must be a sequence of model entries, not " + describe(section.value));
      return;
    }
    std::size_t i = 0;
    for (auto it = section.value.begin(); it != section.value.end(); ++it, ++i) read_deployment(*it, i);
  }

  void read_deployment(const YAML::Node& node, std::size_t i) {
    const std::string path = index_path("model_list", i);
    if (!node.IsMap()) {
      error(node.Mark(), path, "must be a mapping with model_name and litellm_params, not " + describe(node));
      return;
    }
    Deployment d;
    bool has_name = false;
    bool has_params = false;
    bool has_id = false;
    YAML::Mark id_mark = node.Mark();
    for (const Entry& e : map_entries(node, path)) {
      const std::string field = join(path, e.name);
      if (e.name == "model_name") {
        has_name = true;
        if (auto name = read_required_string(e, field)) d.model_name = std::move(*name);
      } else if (e.name == "litellm_params") {
        has_params = true;
        read_params(e, field, d.params);
      } else if (e.name == "model_info") {
        read_info(e, field, d.info, has_id, id_mark);
      } else {
        warn(e.key.Mark(), field, "unknown key in a model_list entry is ignored");
      }
    }
    if (!has_name) error(node.Mark(), join(path, "model_name"), "is required");
    if (!has_params) error(node.Mark(), join(path, "litellm_params"), "is required");
    // Without an explicit id the position makes one: stable as long as the list order is.
    const bool generated = !has_id;
    if (generated) d.info.id = d.model_name + "-" + std::to_string(i);
    if (!d.info.id.empty()) ids_.push_back({d.info.id, id_mark, path, generated});
    config_.model_list.push_back(std::move(d));
  }

  void read_params(const Entry& section, const std::string& path, LitellmParams& p) {
    if (!section.value.IsMap()) {
      error(where(section), path, "must be a mapping containing model, not " + describe(section.value));
      return;
    }
    bool has_model = false;
    for (const Entry& e : map_entries(section.value, path)) {
      const std::string field = join(path, e.name);
      const std::string& k = e.name;
      if (k == "model") {
        has_model = true;
        read_model(e, field, p);
      } else if (k == "api_base") {
        if (auto s = read_string(e, field)) {
          if (!looks_like_http_url(*s)) {
            error(where(e), field,
                  "must be an http:// or https:// URL with a host, e.g. http://localhost:8000/v1");
          } else {
            p.api_base = std::move(*s);
          }
        }
      } else if (k == "api_key") {
        if (auto s = read_string(e, field)) p.api_key = std::move(*s);
      } else if (k == "api_version") {
        if (auto s = read_string(e, field)) p.api_version = std::move(*s);
      } else if (k == "timeout") {
        p.timeout_seconds = read_number(e, field, Bound::kPositive);
      } else if (k == "stream_timeout") {
        p.stream_timeout_seconds = read_number(e, field, Bound::kPositive);
      } else if (k == "max_retries") {
        if (auto v = read_integer(e, field, Bound::kNonNegative, std::numeric_limits<int>::max())) {
          p.max_retries = static_cast<int>(*v);
        }
      } else if (k == "mock_response") {
        p.mock_response = read_string(e, field);
      } else if (k == "rpm") {
        p.rpm = read_number(e, field, Bound::kNonNegative);
      } else if (k == "tpm") {
        p.tpm = read_number(e, field, Bound::kNonNegative);
      } else if (k == "weight") {
        p.weight = read_number(e, field, Bound::kNonNegative);
      } else {
        put_extra(p.extra, e, field);
      }
    }
    if (!has_model) error(section.value.Mark(), join(path, "model"), "is required");
  }

  void read_model(const Entry& e, const std::string& path, LitellmParams& p) {
    if (e.value.IsNull()) {
      error(where(e), path, "is required, as \"<provider>/<model>\"");
      return;
    }
    if (!e.value.IsScalar()) {
      error(where(e), path, "must be a string \"<provider>/<model>\", not " + describe(e.value));
      return;
    }
    auto text = resolve(e.value, path);
    if (!text) return;
    const std::size_t slash = text->value.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == text->value.size()) {
      error(where(e), path, "must be \"<provider>/<model>\", e.g. \"openai/gpt-4o-mini\"" + got(*text, path));
      return;
    }
    p.model = text->value;
    p.provider = p.model.substr(0, slash);
    p.provider_model = p.model.substr(slash + 1);
    if (std::find(kKnownProviders.begin(), kKnownProviders.end(), p.provider) == kKnownProviders.end()) {
      std::string known;
      for (std::string_view name : kKnownProviders) known += (known.empty() ? "" : ", ") + std::string(name);
      warn(where(e), path, "unknown provider \"" + p.provider + "\" (known: " + known + ")");
    }
  }

  void read_info(const Entry& section, const std::string& path, ModelInfo& info, bool& has_id,
                 YAML::Mark& id_mark) {
    if (section.value.IsNull()) return;
    if (!section.value.IsMap()) {
      error(where(section), path, "must be a mapping, not " + describe(section.value));
      return;
    }
    for (const Entry& e : map_entries(section.value, path)) {
      const std::string field = join(path, e.name);
      const std::string& k = e.name;
      if (k == "id" && e.value.IsNull()) {
        continue;  // `id:` with no value: generate one, as when absent
      } else if (k == "id") {
        // A present but invalid id still counts as given: no id is generated to stand in for it.
        has_id = true;
        id_mark = where(e);
        if (auto id = read_required_string(e, field)) info.id = std::move(*id);
      } else if (k == "input_cost_per_token") {
        info.input_cost_per_token = read_number(e, field, Bound::kNonNegative);
      } else if (k == "output_cost_per_token") {
        info.output_cost_per_token = read_number(e, field, Bound::kNonNegative);
      } else if (k == "max_tokens") {
        info.max_tokens = read_integer(e, field, Bound::kNonNegative);
      } else if (k == "max_input_tokens") {
        info.max_input_tokens = read_integer(e, field, Bound::kNonNegative);
      } else if (k == "max_output_tokens") {
        info.max_output_tokens = read_integer(e, field, Bound::kNonNegative);
      } else {
        put_extra(info.extra, e, field);
      }
    }
  }

  void read_general_settings(const Entry& section) {
    if (section.value.IsNull()) return;
    if (!section.value.IsMap()) {
      error(where(section), section.name, "must be a mapping, not " + describe(section.value));
      return;
    }
    GeneralSettings& g = config_.general_settings;
    for (const Entry& e : map_entries(section.value, section.name)) {
      const std::string field = join(section.name, e.name);
      if (e.name == "master_key") {
        // LiteLLM recommends an "sk-" prefix; it is not enforced, but an empty key would mean "no auth" by
        // accident (e.g. an exported but empty variable), so that is an error.
        auto key = read_string(e, field);
        if (key && key->empty()) {
          error(where(e), field, "must not be empty (remove master_key to disable authentication)");
        } else if (key) {
          g.master_key = std::move(*key);
        }
      } else if (e.name == "max_request_size_mb") {
        if (auto mb = read_number(e, field, Bound::kPositive)) {
          const double bytes = std::round(*mb * kBytesPerMb);
          if (bytes < 1 || bytes > static_cast<double>(std::numeric_limits<std::int64_t>::max() / 2)) {
            error(where(e), field, "is out of range");
          } else {
            body_bytes_from_general_ = static_cast<std::size_t>(bytes);
          }
        }
      } else {
        put_extra(g.extra, e, field);
      }
    }
  }

  void read_server_settings(const Entry& section) {
    if (section.value.IsNull()) return;
    if (!section.value.IsMap()) {
      error(where(section), section.name, "must be a mapping, not " + describe(section.value));
      return;
    }
    ServerSettings& s = config_.server_settings;
    for (const Entry& e : map_entries(section.value, section.name)) {
      const std::string field = join(section.name, e.name);
      const std::string& k = e.name;
      if (k == "max_request_body_bytes") {
        if (auto v = read_integer(e, field, Bound::kPositive)) {
          s.max_request_body_bytes = static_cast<std::size_t>(*v);
          body_bytes_from_server_ = true;
        }
      } else if (k == "max_header_bytes") {
        if (auto v = read_integer(e, field, Bound::kPositive)) {
          s.max_header_bytes = static_cast<std::size_t>(*v);
        }
      } else if (k == "max_connections") {
        if (auto v = read_integer(e, field, Bound::kPositive)) {
          s.max_connections = static_cast<std::size_t>(*v);
        }
      } else if (k == "workers") {
        if (auto v = read_integer(e, field, Bound::kNonNegative, std::numeric_limits<unsigned>::max())) {
          s.workers = static_cast<unsigned>(*v);
        }
      } else if (k == "header_timeout_ms") {
        read_millis(e, field, s.header_timeout);
      } else if (k == "body_timeout_ms") {
        read_millis(e, field, s.body_timeout);
      } else if (k == "idle_timeout_ms") {
        read_millis(e, field, s.idle_timeout);
      } else if (k == "write_timeout_ms") {
        read_millis(e, field, s.write_timeout);
      } else if (k == "drain_timeout_ms") {
        read_millis(e, field, s.drain_timeout);
      } else {
        warn(e.key.Mark(), field, "unknown server_settings key is ignored");
      }
    }
  }

  // router_settings, or the subset of litellm_settings that configures the router (`from_litellm`: other keys
  // belong to LiteLLM's SDK and are left alone).
  void read_router_settings(const Entry& section, bool from_litellm) {
    RouterSettings& r = config_.router;
    for (const Entry& e : map_entries(section.value, section.name)) {
      const std::string field = join(section.name, e.name);
      const std::string& k = e.name;
      if (k == "num_retries") {
        if (auto v = read_integer(e, field, Bound::kNonNegative, kMaxRetries))
          r.num_retries = static_cast<int>(*v);
      } else if (k == "request_timeout" || (!from_litellm && k == "timeout")) {
        if (auto v = read_number(e, field, Bound::kPositive)) r.timeout_seconds = v;
      } else if (k == "fallbacks") {
        read_fallback_rules(e, field, r.fallbacks);
      } else if (k == "context_window_fallbacks") {
        read_fallback_rules(e, field, r.context_window_fallbacks);
      } else if (k == "content_policy_fallbacks") {
        read_fallback_rules(e, field, r.content_policy_fallbacks);
      } else if (k == "default_fallbacks") {
        r.default_fallbacks.clear();  // router_settings replaces what litellm_settings gave
        read_group_list(e, field, r.default_fallbacks);
      } else if (k == "allowed_fails") {
        if (auto v = read_integer(e, field, Bound::kNonNegative, std::numeric_limits<int>::max())) {
          r.allowed_fails = static_cast<int>(*v);
        }
      } else if (k == "cooldown_time") {
        if (auto v = read_number(e, field, Bound::kNonNegative)) r.cooldown_time_seconds = *v;
      } else if (k == "disable_cooldowns") {
        if (auto v = read_bool(e, field)) r.disable_cooldowns = *v;
      } else if (from_litellm) {
        continue;  // the rest of litellm_settings configures LiteLLM's SDK, not the router
      } else if (k == "routing_strategy") {
        read_strategy(e, field, r.routing_strategy);
      } else if (k == "routing_strategy_args") {
        read_strategy_args(e, field, r);
      } else if (k == "stream_timeout") {
        if (auto v = read_number(e, field, Bound::kPositive)) r.stream_timeout_seconds = v;
      } else if (k == "retry_policy") {
        RetryPolicy policy;
        if (read_retry_policy(e, field, policy)) r.retry_policy = policy;
      } else if (k == "model_group_retry_policy") {
        read_group_retry_policies(e, field, r.model_group_retry_policy);
      } else if (k == "retry_after") {
        if (auto v = read_number(e, field, Bound::kNonNegative)) r.retry_after_seconds = *v;
      } else if (k == "max_retry_after") {
        if (auto v = read_number(e, field, Bound::kNonNegative)) r.max_retry_after_seconds = *v;
      } else if (k == "max_fallbacks") {
        if (auto v = read_integer(e, field, Bound::kNonNegative, 100)) r.max_fallbacks = static_cast<int>(*v);
      } else if (k == "enable_pre_call_checks") {
        if (auto v = read_bool(e, field)) r.enable_pre_call_checks = *v;
      } else {
        warn(e.key.Mark(), field, "unknown router_settings key is ignored");
      }
    }
  }

  std::optional<bool> read_bool(const Entry& e, const std::string& path) {
    if (e.value.IsNull()) return std::nullopt;
    if (e.value.IsScalar()) {
      auto text = resolve(e.value, path);
      if (!text) return std::nullopt;
      std::string v = text->value;
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
      if (v == "true" || v == "yes" || v == "on") return true;
      if (v == "false" || v == "no" || v == "off") return false;
      error(where(e), path, "must be true or false" + got(*text, path));
      return std::nullopt;
    }
    error(where(e), path, "must be true or false, not " + describe(e.value));
    return std::nullopt;
  }

  // A known strategy name; a fallback strategy (`learned_allowed` false) may not be a learned one.
  std::optional<std::string> read_strategy_name(const Entry& e, const std::string& path,
                                                bool learned_allowed) {
    auto s = read_required_string(e, path);
    if (!s) return std::nullopt;
    if (*s == "usage-based-routing-v2") *s = "usage-based-routing";  // LiteLLM's newer name, same rule here
    const bool known = std::find(kStrategies.begin(), kStrategies.end(), *s) != kStrategies.end();
    if (!known || (!learned_allowed && is_learned(*s))) {
      std::string names;
      for (std::string_view name : kStrategies) {
        if (learned_allowed || !is_learned(name)) names += (names.empty() ? "" : ", ") + std::string(name);
      }
      error(where(e), path,
            std::string(known ? "a learned strategy cannot be the fallback" : "unknown routing strategy") +
                " (known: " + names + ")" + got(Text{*s, {}}, path));
      return std::nullopt;
    }
    return s;
  }

  void read_strategy(const Entry& e, const std::string& path, std::string& out) {
    if (auto s = read_strategy_name(e, path, true)) out = std::move(*s);
  }

  void read_strategy_args(const Entry& e, const std::string& path, RouterSettings& r) {
    r.routing_strategy_args = read_object(e, path);
    strategy_args_ = e;
    strategy_args_path_ = path;
    if (!e.value.IsMap()) return;
    for (const Entry& arg : map_entries(e.value, path)) {
      if (arg.name == "lowest_latency_buffer") {
        if (auto v = read_number(arg, join(path, arg.name), Bound::kNonNegative))
          r.lowest_latency_buffer = *v;
      }
    }
  }

  // ---- learned routing and experiments (routing_strategy_args), checked once routing_strategy is known ----

  // A path in the config, relative ones taken from the config file's folder.
  std::string config_relative(const std::string& path) const {
    std::filesystem::path p(path);
    if (p.is_absolute()) return path;
    return (std::filesystem::path(source_).parent_path() / p).lexically_normal().string();
  }

  // One key of LearnedRoutingArgs; false when `arg` is not one.
  bool read_learned_arg(const Entry& arg, const std::string& field, LearnedRoutingArgs& a) {
    const std::string& k = arg.name;
    if (k == "model_path") {
      if (auto v = read_required_string(arg, field)) a.model_path = config_relative(*v);
    } else if (k == "llm_data_path") {
      if (auto v = read_required_string(arg, field)) {
        a.llm_data_path = config_relative(*v);
        auto candidates = load_llm_candidates(a.llm_data_path);
        if (candidates) {
          a.candidates = std::move(candidates.value());
        } else {
          error(where(arg), field, candidates.error().message);
        }
      }
    } else if (k == "quality_threshold") {
      if (auto v = read_number(arg, field, Bound::kNonNegative)) a.quality_threshold = *v;
    } else if (k == "cost_weight") {
      if (auto v = read_number(arg, field, Bound::kNonNegative)) a.cost_weight = *v;
    } else if (k == "expected_output_tokens") {
      if (auto v = read_integer(arg, field, Bound::kNonNegative, 10'000'000)) a.expected_output_tokens = *v;
    } else if (k == "fallback_strategy") {
      if (auto v = read_strategy_name(arg, field, false)) a.fallback_strategy = std::move(*v);
    } else if (k == "hot_reload") {
      if (auto v = read_bool(arg, field)) a.hot_reload = *v;
    } else if (k == "reload_interval") {
      if (auto v = read_number(arg, field, Bound::kPositive)) a.reload_interval_seconds = *v;
    } else if (k == "embedding_model") {
      if (auto v = read_required_string(arg, field)) {
        const bool listed = std::any_of(config_.model_list.begin(), config_.model_list.end(),
                                        [&](const Deployment& d) { return d.model_name == *v; });
        if (!listed) {
          error(where(arg), field, "must be a model_name of model_list" + got(Text{*v, {}}, field));
        } else {
          a.embedding_model = std::move(*v);
        }
      }
    } else if (k == "embedding_timeout_ms") {
      if (auto v = read_integer(arg, field, Bound::kPositive, 600'000)) a.embedding_timeout_ms = *v;
    } else if (k == "embedding_cache_size") {
      if (auto v = read_integer(arg, field, Bound::kNonNegative, 10'000'000)) a.embedding_cache_size = *v;
    } else if (k == "trace_routing_text") {
      if (auto v = read_bool(arg, field)) a.trace_routing_text = *v;
    } else {
      return false;
    }
    return true;
  }

  // What a learned strategy cannot do without.
  void check_learned(std::string_view strategy, const LearnedRoutingArgs& a, const YAML::Mark& mark,
                     const std::string& path) {
    if (!is_learned(strategy)) return;
    if (a.model_path.empty() && !(is_size_baseline(strategy) && !a.llm_data_path.empty())) {
      error(mark, join(path, "model_path"),
            is_size_baseline(strategy)
                ? "is required for " + std::string(strategy) + " (or llm_data_path with the models' sizes)"
                : "is required for " + std::string(strategy) + ": the artifact `switchyard train` wrote");
      return;
    }
    std::error_code ec;
    if (!a.model_path.empty() && !std::filesystem::exists(a.model_path, ec)) {
      warn(mark, join(path, "model_path"),
           "file " + a.model_path + " does not exist (yet): requests are routed by " + a.fallback_strategy +
               " until a valid artifact is there" + (a.hot_reload ? "" : " and the gateway gets SIGHUP"));
    }
  }

  void read_learned_and_experiments() {
    RouterSettings& r = config_.router;
    const std::string& path = strategy_args_path_;
    const bool learned = is_learned(r.routing_strategy);
    YAML::Mark mark = router_section_ ? router_section_->key.Mark() : YAML::Mark::null_mark();
    std::optional<Entry> experiments;
    if (strategy_args_ && strategy_args_->value.IsMap()) {
      mark = strategy_args_->key.Mark();
      for (const Entry& arg : map_entries(strategy_args_->value, path)) {
        const std::string field = join(path, arg.name);
        if (read_learned_arg(arg, field, r.learned)) {
          if (!learned) {
            warn(arg.key.Mark(), field,
                 "is used by the llmrouter-* strategies only (routing_strategy is " + r.routing_strategy +
                     ")");
          }
        } else if (arg.name == "experiments") {
          experiments = arg;
        } else if (arg.name == "experiment_key") {
          auto v = read_required_string(arg, field);
          if (v && *v == "user") {
            r.experiment_key = ExperimentKey::user;
          } else if (v && *v == "api_key") {
            r.experiment_key = ExperimentKey::api_key;
          } else if (v) {
            error(where(arg), field, "must be user or api_key" + got(Text{*v, {}}, field));
          }
        } else if (arg.name != "lowest_latency_buffer" && learned) {
          warn(arg.key.Mark(), field,
               "unknown routing_strategy_args key for " + r.routing_strategy + " is ignored");
        }
      }
    }
    check_learned(r.routing_strategy, r.learned, mark,
                  path.empty() ? "router_settings.routing_strategy_args" : path);
    if (experiments) read_experiments(*experiments, join(path, "experiments"), r);
  }

  // [{name, percent, strategy, <routing_strategy_args keys>...}]: each arm starts from the main settings.
  void read_experiments(const Entry& e, const std::string& path, RouterSettings& r) {
    if (e.value.IsNull()) return;
    if (!e.value.IsSequence()) {
      error(where(e), path, "must be a list of {name, percent, strategy, ...}, not " + describe(e.value));
      return;
    }
    double total = 0;
    std::unordered_set<std::string> names;
    std::size_t i = 0;
    for (auto it = e.value.begin(); it != e.value.end(); ++it, ++i) {
      const YAML::Node node = *it;
      const std::string arm_path = index_path(path, i);
      if (!node.IsMap()) {
        error(node.Mark(), arm_path,
              "must be a mapping {name, percent, strategy, ...}, not " + describe(node));
        continue;
      }
      ExperimentArm arm;
      arm.routing_strategy = r.routing_strategy;
      arm.learned = r.learned;
      arm.lowest_latency_buffer = r.lowest_latency_buffer;
      bool has_percent = false;
      for (const Entry& f : map_entries(node, arm_path)) {
        const std::string field = join(arm_path, f.name);
        if (f.name == "name") {
          if (auto v = read_required_string(f, field)) {
            if (*v == "main") {
              error(where(f), field, "\"main\" names the main arm (the requests no experiment takes)");
            } else if (!names.insert(*v).second) {
              error(where(f), field, "duplicate experiment name \"" + *v + "\"");
            }
            arm.name = std::move(*v);
          }
        } else if (f.name == "percent") {
          has_percent = true;
          if (auto v = read_number(f, field, Bound::kNonNegative)) {
            if (*v > 100) {
              error(where(f), field, "must be a percentage from 0 to 100");
            } else {
              arm.percent = *v;
              total += *v;
            }
          }
        } else if (f.name == "strategy" || f.name == "routing_strategy") {
          if (auto v = read_strategy_name(f, field, true)) arm.routing_strategy = std::move(*v);
        } else if (f.name == "lowest_latency_buffer") {
          if (auto v = read_number(f, field, Bound::kNonNegative)) arm.lowest_latency_buffer = *v;
        } else if (!read_learned_arg(f, field, arm.learned)) {
          warn(f.key.Mark(), field, "unknown experiment key is ignored");
        }
      }
      if (arm.name.empty()) error(node.Mark(), join(arm_path, "name"), "is required");
      if (!has_percent) error(node.Mark(), join(arm_path, "percent"), "is required");
      check_learned(arm.routing_strategy, arm.learned, node.Mark(), arm_path);
      r.experiments.push_back(std::move(arm));
    }
    if (total > 100 + 1e-9) {
      std::ostringstream sum;
      sum << total;
      error(where(e), path,
            "the arms' percentages add up to " + sum.str() +
                "; they may add up to 100 at most (the rest of the requests go to the main arm)");
    }
  }

  // A list of model group names.
  void read_group_list(const Entry& e, const std::string& path, std::vector<std::string>& out) {
    if (e.value.IsNull()) return;
    if (!e.value.IsSequence()) {
      error(where(e), path, "must be a list of model group names, not " + describe(e.value));
      return;
    }
    std::size_t i = 0;
    for (auto it = e.value.begin(); it != e.value.end(); ++it, ++i) {
      const YAML::Node item = *it;
      const std::string item_path = index_path(path, i);
      if (!item.IsScalar() || item.Scalar().empty()) {
        error(item.Mark(), item_path, "must be a model group name, not " + describe(item));
        continue;
      }
      out.push_back(item.Scalar());
      group_refs_.push_back({item.Scalar(), item.Mark(), item_path});
    }
  }

  // `[{group: [fallback groups]}, ...]`, LiteLLM's shape; a single mapping of several groups is accepted too.
  void read_fallback_rules(const Entry& e, const std::string& path, std::vector<FallbackRule>& out) {
    if (e.value.IsNull()) return;
    std::vector<std::pair<YAML::Node, std::string>> maps;
    if (e.value.IsMap()) {
      maps.emplace_back(e.value, path);
    } else if (e.value.IsSequence()) {
      std::size_t i = 0;
      for (auto it = e.value.begin(); it != e.value.end(); ++it, ++i)
        maps.emplace_back(*it, index_path(path, i));
    } else {
      error(where(e), path, "must be a list of {model_group: [fallback groups]}, not " + describe(e.value));
      return;
    }
    out.clear();  // router_settings replaces what litellm_settings gave
    for (const auto& [node, node_path] : maps) {
      if (!node.IsMap()) {
        error(node.Mark(), node_path,
              "must be a mapping {model_group: [fallback groups]}, not " + describe(node));
        continue;
      }
      for (const Entry& rule : map_entries(node, node_path)) {
        FallbackRule r{rule.name, {}};
        const std::string rule_path = join(node_path, rule.name);
        if (rule.value.IsScalar()) {  // `group: other` as a one-element list
          r.fallbacks.push_back(rule.value.Scalar());
          group_refs_.push_back({rule.value.Scalar(), rule.value.Mark(), rule_path});
        } else {
          read_group_list(rule, rule_path, r.fallbacks);
        }
        if (rule.name != "*") group_refs_.push_back({rule.name, rule.key.Mark(), rule_path});
        out.push_back(std::move(r));
      }
    }
  }

  bool read_retry_policy(const Entry& e, const std::string& path, RetryPolicy& policy) {
    if (!e.value.IsMap()) {
      error(where(e), path, "must be a mapping such as {RateLimitErrorRetries: 3}, not " + describe(e.value));
      return false;
    }
    for (const Entry& f : map_entries(e.value, path)) {
      const std::string field = join(path, f.name);
      std::optional<int>* slot = nullptr;
      if (f.name == "RateLimitErrorRetries") {
        slot = &policy.rate_limit;
      } else if (f.name == "TimeoutErrorRetries") {
        slot = &policy.timeout;
      } else if (f.name == "InternalServerErrorRetries") {
        slot = &policy.server_error;
      } else if (f.name == "BadRequestErrorRetries" || f.name == "AuthenticationErrorRetries" ||
                 f.name == "ContentPolicyViolationErrorRetries") {
        warn(f.key.Mark(), field,
             "this failure is never retried (the same request would fail again); ignored");
        continue;
      } else {
        warn(f.key.Mark(), field, "unknown retry policy key is ignored");
        continue;
      }
      if (auto v = read_integer(f, field, Bound::kNonNegative, kMaxRetries)) *slot = static_cast<int>(*v);
    }
    return true;
  }

  void read_group_retry_policies(const Entry& e, const std::string& path,
                                 std::vector<std::pair<std::string, RetryPolicy>>& out) {
    if (!e.value.IsMap()) {
      error(where(e), path, "must be a mapping of model group to retry policy, not " + describe(e.value));
      return;
    }
    for (const Entry& g : map_entries(e.value, path)) {
      RetryPolicy policy;
      const std::string group_path = join(path, g.name);
      if (read_retry_policy(g, group_path, policy)) out.emplace_back(g.name, policy);
      group_refs_.push_back({g.name, g.key.Mark(), group_path});
    }
  }

  // A fallback or policy naming a group that no model_list entry defines is a typo: say so at load time.
  void check_fallback_groups() {
    std::unordered_set<std::string> groups;
    for (const Deployment& d : config_.model_list) groups.insert(d.model_name);
    for (const GroupRef& ref : group_refs_) {
      if (!groups.contains(ref.name)) {
        warn(ref.mark, ref.path, "no model_list entry has model_name \"" + ref.name + "\"");
      }
    }
  }

  void read_millis(const Entry& e, const std::string& path, std::chrono::milliseconds& out) {
    if (auto v = read_integer(e, path, Bound::kPositive)) out = std::chrono::milliseconds(*v);
  }

  void check_unique_ids() {
    std::unordered_map<std::string, const IdSite*> first;
    for (const IdSite& site : ids_) {
      auto [it, inserted] = first.emplace(site.id, &site);
      if (inserted) continue;
      std::string message = "duplicate id \"" + site.id + "\"";
      if (site.generated) message += " (generated from model_name and position; set model_info.id)";
      message += ": already used by " + it->second->path;
      error(site.mark, join(site.path, "model_info.id"), std::move(message));
    }
  }

  struct GroupRef {
    std::string name;
    YAML::Mark mark;
    std::string path;
  };

  std::string source_;
  const EnvLookup& env_;
  std::optional<Entry> litellm_section_;
  std::optional<Entry> router_section_;
  std::optional<Entry> strategy_args_;  // router_settings.routing_strategy_args
  std::string strategy_args_path_;
  std::vector<GroupRef> group_refs_;
  std::unordered_map<std::string, std::string> config_env_;  // from the environment_variables section
  Config config_;
  LoadResult result_;
  std::vector<IdSite> ids_;
  std::optional<std::size_t> body_bytes_from_general_;
  bool body_bytes_from_server_ = false;
  std::size_t json_values_ = 0;
  std::size_t merged_entries_ = 0;
  bool merge_budget_reported_ = false;
};

// Reads a whole file; on failure returns nullopt and says why in `why`.
std::optional<std::string> read_file(const std::string& path, std::string& why) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    why = "is a directory";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::generic_category().message(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    why = "read failed";
    return std::nullopt;
  }
  return std::move(text).str();
}

LoadResult internal_failure(std::string_view source, std::string_view what) {
  LoadResult result;
  result.errors.push_back(
      Diagnostic{std::string(source), 0, 0, "", "internal error while loading: " + std::string(what)});
  return result;
}

}  // namespace

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);  // getenv needs a terminated string
    if (const char* value = std::getenv(key.c_str())) return std::string(value);
    return std::nullopt;
  };
}

LoadResult load_string(std::string_view yaml, std::string_view source_name, const EnvLookup& env) {
  try {
    Loader loader(source_name, env);
    LoadResult result = loader.load(yaml);
    if (result.config) result.config->source = std::string(source_name);
    return result;
  } catch (const std::exception& e) {
    // Only allocation failures and the like reach here; their messages carry no config values.
    return internal_failure(source_name, e.what());
  } catch (...) {
    return internal_failure(source_name, "unknown exception");
  }
}

LoadResult load_file(const std::string& path, const EnvLookup& env) {
  std::string why;
  std::optional<std::string> text;
  try {
    text = read_file(path, why);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!text) {
    LoadResult result;
    result.errors.push_back(Diagnostic{path, 0, 0, "", "cannot read the configuration file: " + why});
    return result;
  }
  return load_string(*text, path, env);
}

}  // namespace sy::config
