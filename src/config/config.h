// LiteLLM-compatible gateway configuration: the structs a config.yaml loads into, and the loader.
// Loading resolves `os.environ/NAME` references, validates every field, and reports errors that name the
// file, line, column and field path. Unknown keys are kept as warnings, never errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "config/llm_candidates.h"

namespace sy::config {

// Looks up an environment variable; injected so tests are deterministic.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_env();

struct LitellmParams {
  std::string model;           // "<provider>/<provider model id>", e.g. "openai/gpt-4o-mini"
  std::string provider;        // the part before the first '/': openai, mock, anthropic, bedrock, azure, ...
  std::string provider_model;  // the part after the first '/'
  std::string api_base;        // empty: the provider's default
  std::string api_key;         // secret: never logged
  std::string api_version;
  std::optional<double> timeout_seconds;         // whole request, non-streaming
  std::optional<double> stream_timeout_seconds;  // connect and each wait for bytes, streaming
  std::optional<int> max_retries;
  std::optional<std::string> mock_response;  // when set, answered by the mock provider without network
  std::optional<double> rpm;
  std::optional<double> tpm;
  std::optional<double> weight;
  boost::json::object extra;  // every other key, env references resolved (provider extras for later issues)
};

struct ModelInfo {
  std::string id;  // unique deployment id; generated from the entry's position when absent
  std::optional<double> input_cost_per_token;
  std::optional<double> output_cost_per_token;
  std::optional<std::int64_t> max_tokens;
  std::optional<std::int64_t> max_input_tokens;
  std::optional<std::int64_t> max_output_tokens;
  boost::json::object extra;
};

struct Deployment {
  std::string model_name;  // public name; entries sharing one form a model group
  LitellmParams params;
  ModelInfo info;
};

// HTTP server limits. Every limit is a named setting with a safe default.
struct ServerSettings {
  std::size_t max_request_body_bytes = 32u * 1024 * 1024;  // larger bodies: 413
  std::size_t max_header_bytes = 16u * 1024;               // larger request heads: 431
  std::chrono::milliseconds header_timeout{10'000};        // time to receive a whole request head
  std::chrono::milliseconds body_timeout{60'000};          // time to receive a whole request body
  std::chrono::milliseconds idle_timeout{60'000};          // keep-alive connection idle between requests
  std::chrono::milliseconds write_timeout{60'000};  // time for each write to a client that does not read
  std::chrono::milliseconds drain_timeout{30'000};  // on SIGTERM, time given to in-flight requests
  std::size_t max_connections = 10'000;             // beyond: 503 and close
  unsigned workers = 0;                             // 0: one per core
};

// Retries per failure class, LiteLLM's RetryPolicy shape. Unset: the router's num_retries.
struct RetryPolicy {
  std::optional<int> rate_limit;    // RateLimitErrorRetries (429)
  std::optional<int> timeout;       // TimeoutErrorRetries (408, upstream timeouts)
  std::optional<int> server_error;  // InternalServerErrorRetries (5xx, connection failures)
};

// One `fallbacks`-style entry: when `group` fails, these groups are tried in order ("*" matches any group).
struct FallbackRule {
  std::string group;
  std::vector<std::string> fallbacks;
};

// routing_strategy_args of the learned strategies (llmrouter-*); docs/routing.md, "Learned routing".
struct LearnedRoutingArgs {
  std::string model_path;                // the artifact; relative paths are from the config file's folder
  std::string llm_data_path;             // the candidates file, as read into `candidates`
  std::vector<LlmCandidate> candidates;  // from llm_data_path: names, sizes, prices, API model ids
  double quality_threshold = 0;          // llmrouter-hybrid: how far below the best a cheaper model may be
  // llmrouter-hybrid: weight of cost (share of the dearest) vs quality; unset: the cheapest within the
  // threshold.
  std::optional<double> cost_weight;
  std::int64_t expected_output_tokens = 256;         // the completion length a request is priced for
  std::string fallback_strategy = "simple-shuffle";  // without an artifact, and for unmapped deployments
  bool hot_reload = false;                           // check model_path every reload_interval
  double reload_interval_seconds = 30;
  // A model_name of model_list: an artifact trained with embeddings (`switchyard train --embeddings`) routes
  // on the routing text's embedding by this model group, fetched within embedding_timeout_ms and kept in a
  // per-worker-thread LRU of embedding_cache_size entries (0: none); without it the built-in model decides.
  std::string embedding_model;
  std::int64_t embedding_timeout_ms = 100;
  std::int64_t embedding_cache_size = 1024;
  bool trace_routing_text = false;  // route spans carry router.routing_text (prompt text: sensitive)
};

// One arm of an A/B split (routing_strategy_args.experiments).
struct ExperimentArm {
  std::string name;
  double percent = 0;                // of requests (by experiment key), 0..100
  std::string routing_strategy;      // the main routing_strategy unless the arm names another
  LearnedRoutingArgs learned;        // the main arguments with the arm's own over them
  double lowest_latency_buffer = 0;  // likewise
};

// What assigns a request to an experiment arm: its `user` field or (a hash of) its API key.
enum class ExperimentKey { user, api_key };

// router_settings (with the litellm_settings keys LiteLLM also accepts there as defaults).
struct RouterSettings {
  std::string routing_strategy = "simple-shuffle";
  boost::json::object routing_strategy_args;
  double lowest_latency_buffer = 0;        // routing_strategy_args.lowest_latency_buffer
  LearnedRoutingArgs learned;              // routing_strategy_args of llmrouter-* strategies
  std::vector<ExperimentArm> experiments;  // routing_strategy_args.experiments
  ExperimentKey experiment_key = ExperimentKey::user;
  int num_retries = 2;  // LiteLLM's default (the OpenAI SDK's)
  std::optional<RetryPolicy> retry_policy;
  std::vector<std::pair<std::string, RetryPolicy>> model_group_retry_policy;
  double retry_after_seconds = 0;         // minimum wait before a retry of the same deployment
  double max_retry_after_seconds = 60;    // an upstream Retry-After above this is not waited for
  std::optional<double> timeout_seconds;  // per attempt, when the deployment sets none
  std::optional<double> stream_timeout_seconds;
  int allowed_fails = 3;  // failures within a minute a deployment may have before its cooldown
  double cooldown_time_seconds = 5;
  bool disable_cooldowns = false;
  std::vector<FallbackRule> fallbacks;
  std::vector<FallbackRule> context_window_fallbacks;
  std::vector<FallbackRule> content_policy_fallbacks;
  std::vector<std::string> default_fallbacks;
  int max_fallbacks = 5;
  bool enable_pre_call_checks = false;
};

struct GeneralSettings {
  std::string master_key;  // secret; empty: no authentication
  boost::json::object extra;
};

struct Config {
  std::string source;  // file name the config came from
  std::vector<Deployment> model_list;
  GeneralSettings general_settings;
  ServerSettings server_settings;
  RouterSettings router;                 // from router_settings, then litellm_settings
  boost::json::object litellm_settings;  // as written, for keys read elsewhere
  boost::json::object router_settings;   // as written
};

struct Diagnostic {
  std::string file;
  int line = 0;       // 1-based; 0 when unknown
  int column = 0;     // 1-based; 0 when unknown
  std::string field;  // path such as "model_list[0].litellm_params.model"
  std::string message;
  std::string to_string() const;  // "file:line:column: field: message"
};

struct LoadResult {
  std::optional<Config> config;  // set when there are no errors
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
};

LoadResult load_file(const std::string& path, const EnvLookup& env = process_env());
LoadResult load_string(std::string_view yaml, std::string_view source_name,
                       const EnvLookup& env = process_env());

}  // namespace sy::config
