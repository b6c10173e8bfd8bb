// Unit tests for the config.yaml loader: parsing, os.environ/ resolution, diagnostics and their positions.
#include "config/config.h"
#include "config_test_support.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>
#include <boost/json.hpp>

namespace sy::config {
namespace {

using testing::contains;
using testing::env_of;
using testing::kNoEnv;

LoadResult load(std::string_view yaml, const EnvLookup& env = kNoEnv) {
  return load_string(yaml, "test.yaml", env);
}

std::string all_diagnostics(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors) out += "error: " + d.to_string() + "\n";
  for (const Diagnostic& d : r.warnings) out += "warning: " + d.to_string() + "\n";
  return out;
}

const Diagnostic* find_by_field(const std::vector<Diagnostic>& ds, std::string_view field) {
  auto it = std::find_if(ds.begin(), ds.end(), [&](const Diagnostic& d) { return d.field == field; });
  return it == ds.end() ? nullptr : &*it;
}

std::filesystem::path config_dir() {
  return std::filesystem::path(SWITCHYARD_SOURCE_DIR) / "config";
}

// ---- valid configurations ----

TEST(ConfigLoad, ValidFullConfigParsesEveryField) {
  const LoadResult r = load(R"(model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: https://api.openai.com/v1
      api_key: sk-test
      api_version: "2024-02-01"
      timeout: 60
      stream_timeout: 12.5
      max_retries: 3
      mock_response: hello
      rpm: 100
      tpm: 50000
      weight: 0.5
      organization: org-1
      extra_body: {seed: 7, ratio: 0.25, on: true, none: null, quoted: "42", list: [1, two]}
    model_info:
      id: gpt-mini-primary
      input_cost_per_token: 0.00000015
      output_cost_per_token: 0.0000006
      max_tokens: 16384
      max_input_tokens: 128000
      max_output_tokens: 16384
      mode: chat
  - model_name: claude-haiku
    litellm_params:
      model: anthropic/claude-3-5-haiku-20241022
  - model_name: claude-haiku
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
general_settings:
  master_key: sk-master
  database_url: postgres://localhost/db
litellm_settings:
  drop_params: true
  num_retries: 3
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 2
server_settings:
  max_request_body_bytes: 1048576
  workers: 4
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.source, "test.yaml");
  ASSERT_EQ(c.model_list.size(), 3u);

  const Deployment& d = c.model_list[0];
  EXPECT_EQ(d.model_name, "gpt-4o-mini");
  EXPECT_EQ(d.params.model, "openai/gpt-4o-mini");
  EXPECT_EQ(d.params.provider, "openai");
  EXPECT_EQ(d.params.provider_model, "gpt-4o-mini");
  EXPECT_EQ(d.params.api_base, "https://api.openai.com/v1");
  EXPECT_EQ(d.params.api_key, "sk-test");
  EXPECT_EQ(d.params.api_version, "2024-02-01");
  EXPECT_EQ(d.params.timeout_seconds, 60.0);
  EXPECT_EQ(d.params.stream_timeout_seconds, 12.5);
  EXPECT_EQ(d.params.max_retries, 3);
  EXPECT_EQ(d.params.mock_response, "hello");
  EXPECT_EQ(d.params.rpm, 100.0);
  EXPECT_EQ(d.params.tpm, 50000.0);
  EXPECT_EQ(d.params.weight, 0.5);
  // Typed fields are not duplicated into extra.
  EXPECT_FALSE(d.params.extra.contains("api_key"));
  EXPECT_FALSE(d.params.extra.contains("model"));
  EXPECT_EQ(d.params.extra.at("organization"), "org-1");
  const boost::json::object& body = d.params.extra.at("extra_body").as_object();
  EXPECT_TRUE(body.at("seed").is_int64());
  EXPECT_EQ(body.at("seed").as_int64(), 7);
  EXPECT_TRUE(body.at("ratio").is_double());
  EXPECT_EQ(body.at("ratio").as_double(), 0.25);
  EXPECT_EQ(body.at("on"), true);
  EXPECT_TRUE(body.at("none").is_null());
  EXPECT_EQ(body.at("quoted"), "42");  // quoted scalars stay strings
  EXPECT_EQ(body.at("list"), boost::json::parse(R"([1, "two"])"));

  EXPECT_EQ(d.info.id, "gpt-mini-primary");
  EXPECT_EQ(d.info.input_cost_per_token, 0.00000015);
  EXPECT_EQ(d.info.output_cost_per_token, 0.0000006);
  EXPECT_EQ(d.info.max_tokens, 16384);
  EXPECT_EQ(d.info.max_input_tokens, 128000);
  EXPECT_EQ(d.info.max_output_tokens, 16384);
  EXPECT_EQ(d.info.extra, boost::json::parse(R"({"mode": "chat"})").as_object());

  // Two entries sharing a model_name: one model group, distinct generated ids.
  EXPECT_EQ(c.model_list[1].model_name, "claude-haiku");
  EXPECT_EQ(c.model_list[2].model_name, "claude-haiku");
  EXPECT_EQ(c.model_list[1].params.provider, "anthropic");
  EXPECT_EQ(c.model_list[2].params.provider, "bedrock");
  EXPECT_EQ(c.model_list[2].params.provider_model, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(c.model_list[2].params.extra.at("aws_region_name"), "us-east-1");
  EXPECT_EQ(c.model_list[1].info.id, "claude-haiku-1");
  EXPECT_EQ(c.model_list[2].info.id, "claude-haiku-2");

  EXPECT_EQ(c.general_settings.master_key, "sk-master");
  EXPECT_FALSE(c.general_settings.extra.contains("master_key"));
  EXPECT_EQ(c.general_settings.extra.at("database_url"), "postgres://localhost/db");
  EXPECT_EQ(c.litellm_settings, boost::json::parse(R"({"drop_params": true, "num_retries": 3})").as_object());
  EXPECT_EQ(c.router_settings,
            boost::json::parse(R"({"routing_strategy": "simple-shuffle", "num_retries": 2})").as_object());
  EXPECT_EQ(c.server_settings.max_request_body_bytes, 1048576u);
  EXPECT_EQ(c.server_settings.workers, 4u);
}

TEST(ConfigLoad, MinimalConfigUsesDefaults) {
  const LoadResult r = load("model_list:\n  - model_name: m\n    litellm_params: {model: mock/m}\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const Config& c = *r.config;
  EXPECT_TRUE(c.general_settings.master_key.empty());
  EXPECT_TRUE(c.litellm_settings.empty());
  EXPECT_TRUE(c.router_settings.empty());
  const ServerSettings defaults;
  EXPECT_EQ(c.server_settings.max_request_body_bytes, defaults.max_request_body_bytes);
  EXPECT_EQ(c.server_settings.header_timeout, defaults.header_timeout);
  const LitellmParams& p = c.model_list[0].params;
  EXPECT_TRUE(p.api_key.empty());
  EXPECT_FALSE(p.timeout_seconds);
  EXPECT_FALSE(p.max_retries);
  EXPECT_FALSE(p.mock_response);
  EXPECT_TRUE(p.extra.empty());
}

TEST(ConfigLoad, ProviderIsTextBeforeFirstSlash) {
  const LoadResult r = load(R"(model_list:
  - model_name: llama
    litellm_params:
      model: openai/meta-llama/Llama-3-8b
  - model_name: vllm
    litellm_params:
      model: hosted_vllm/org/team/model:v1
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->model_list[0].params.provider, "openai");
  EXPECT_EQ(r.config->model_list[0].params.provider_model, "meta-llama/Llama-3-8b");
  EXPECT_EQ(r.config->model_list[1].params.provider, "hosted_vllm");
  EXPECT_EQ(r.config->model_list[1].params.provider_model, "org/team/model:v1");
}

TEST(ConfigLoad, ModelWithoutProviderOrIdIsAnError) {
  const LoadResult r = load(R"(model_list:
  - model_name: a
    litellm_params: {model: gpt-4o}
  - model_name: b
    litellm_params: {model: /gpt-4o}
  - model_name: c
    litellm_params: {model: openai/}
)");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 3u) << all_diagnostics(r);
  EXPECT_EQ(r.errors[0].field, "model_list[0].litellm_params.model");
  EXPECT_PRED2(contains, r.errors[0].message, "<provider>/<model>");
  EXPECT_PRED2(contains, r.errors[0].message, "\"gpt-4o\"");  // not a secret: echoed to help fix it
  EXPECT_EQ(r.errors[1].field, "model_list[1].litellm_params.model");
  EXPECT_EQ(r.errors[2].field, "model_list[2].litellm_params.model");
}

TEST(ConfigLoad, UnknownProviderIsAWarningNamingIt) {
  const LoadResult r = load(R"(model_list:
  - model_name: x
    litellm_params:
      model: frobnicator/x-1
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].field, "model_list[0].litellm_params.model");
  EXPECT_PRED2(contains, r.warnings[0].message, "\"frobnicator\"");
  EXPECT_EQ(r.warnings[0].line, 4);
  EXPECT_EQ(r.warnings[0].column, 14);
  EXPECT_EQ(r.config->model_list[0].params.provider, "frobnicator");
}

TEST(ConfigLoad, EveryKnownProviderLoadsWithoutWarnings) {
  std::string yaml = "model_list:\n";
  for (const char* provider :
       {"openai", "mock", "anthropic", "bedrock", "azure", "text-completion-openai", "hosted_vllm", "ollama",
        "groq", "together_ai", "deepseek", "mistral", "fireworks_ai", "openrouter"}) {
    yaml += std::string("  - {model_name: m, litellm_params: {model: ") + provider + "/x}}\n";
  }
  const LoadResult r = load(yaml);
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  EXPECT_EQ(r.config->model_list.size(), 14u);
}

// ---- os.environ/ resolution ----

TEST(ConfigEnv, ResolvesReferencesEverywhere) {
  const EnvLookup env = env_of({{"OPENAI_API_KEY", "sk-from-env"},
                                {"BASE", "http://gw:8000/v1"},
                                {"TIMEOUT", "45"},
                                {"HEADER_TOKEN", "tok-123"},
                                {"MASTER", "sk-master-env"},
                                {"STRATEGY", "least-busy"},
                                {"CALLBACK", "langfuse"}});
  const LoadResult r = load(R"(model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      api_base: "os.environ/BASE"
      timeout: os.environ/TIMEOUT
      extra_headers:
        X-Token: os.environ/HEADER_TOKEN
        X-Plain: os.environ-not-a-ref
      tags: [os.environ/HEADER_TOKEN, fixed]
general_settings:
  master_key: os.environ/MASTER
litellm_settings:
  callbacks: [os.environ/CALLBACK]
router_settings:
  routing_strategy: os.environ/STRATEGY
  nested: {deeper: {value: os.environ/TIMEOUT}}
)",
                            env);
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const LitellmParams& p = r.config->model_list[0].params;
  EXPECT_EQ(p.api_key, "sk-from-env");
  EXPECT_EQ(p.api_base, "http://gw:8000/v1");
  EXPECT_EQ(p.timeout_seconds, 45.0);
  EXPECT_EQ(p.extra.at("extra_headers").at("X-Token"), "tok-123");
  EXPECT_EQ(p.extra.at("extra_headers").at("X-Plain"), "os.environ-not-a-ref");
  EXPECT_EQ(p.extra.at("tags"), boost::json::parse(R"(["tok-123", "fixed"])"));
  EXPECT_EQ(r.config->general_settings.master_key, "sk-master-env");
  EXPECT_EQ(r.config->litellm_settings.at("callbacks"), boost::json::parse(R"(["langfuse"])"));
  EXPECT_EQ(r.config->router_settings.at("routing_strategy"), "least-busy");
  // Environment values are strings, even when they look like numbers.
  EXPECT_EQ(r.config->router_settings.at("nested").at("deeper").at("value"), "45");
}

TEST(ConfigEnv, MissingVariableIsAnErrorWithNameFieldAndPosition) {
  const LoadResult r = load(R"(model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
router_settings:
  redis_password: os.environ/REDIS_PASSWORD
)");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 2u) << all_diagnostics(r);
  const Diagnostic& e = r.errors[0];
  EXPECT_EQ(e.field, "model_list[0].litellm_params.api_key");
  EXPECT_EQ(e.message, "environment variable OPENAI_API_KEY is not set");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.column, 16);
  EXPECT_EQ(
      e.to_string(),
      "test.yaml:5:16: model_list[0].litellm_params.api_key: environment variable OPENAI_API_KEY is not "
      "set");
  EXPECT_EQ(r.errors[1].field, "router_settings.redis_password");
  EXPECT_PRED2(contains, r.errors[1].message, "REDIS_PASSWORD");
  EXPECT_EQ(r.errors[1].line, 7);
  EXPECT_EQ(r.errors[1].column, 19);
}

TEST(ConfigEnv, EmptyReferenceIsAnError) {
  const LoadResult r =
      load("model_list:\n  - {model_name: m, litellm_params: {model: mock/m, api_key: os.environ/}}\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_diagnostics(r);
  EXPECT_EQ(r.errors[0].field, "model_list[0].litellm_params.api_key");
}

TEST(ConfigEnv, EnvironmentVariablesSectionFeedsReferences) {
  // The section may come after its uses, overrides the injected environment, and may itself refer to it.
  const EnvLookup env = env_of({{"API_KEY", "from-process"}, {"OUTER", "outer-value"}});
  const LoadResult r = load(R"(model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/API_KEY
      api_base: os.environ/ONLY_IN_CONFIG
      organization: os.environ/CHAINED
environment_variables:
  API_KEY: from-config
  ONLY_IN_CONFIG: http://localhost:1234
  CHAINED: os.environ/OUTER
)",
                            env);
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const LitellmParams& p = r.config->model_list[0].params;
  EXPECT_EQ(p.api_key, "from-config");
  EXPECT_EQ(p.api_base, "http://localhost:1234");
  EXPECT_EQ(p.extra.at("organization"), "outer-value");
  // The real process environment is untouched.
  EXPECT_EQ(std::getenv("ONLY_IN_CONFIG"), nullptr);
}

TEST(ConfigEnv, ProcessEnvReadsTheProcessEnvironment) {
  ::setenv("SWITCHYARD_CONFIG_TEST_VAR", "value-1", 1);
  const EnvLookup env = process_env();
  EXPECT_EQ(env("SWITCHYARD_CONFIG_TEST_VAR"), "value-1");
  ::unsetenv("SWITCHYARD_CONFIG_TEST_VAR");
  EXPECT_EQ(env("SWITCHYARD_CONFIG_TEST_VAR"), std::nullopt);
}

// ---- errors, positions and collection ----

TEST(ConfigErrors, TypeErrorNamesPathAndPosition) {
  const LoadResult r = load(R"(model_list:
  - model_name: a
    litellm_params: {model: mock/a}
  - model_name: b
    litellm_params: {model: mock/b}
  - model_name: c
    litellm_params:
      model: mock/c
      timeout: "abc"
)");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_diagnostics(r);
  const Diagnostic& e = r.errors[0];
  EXPECT_EQ(e.field, "model_list[2].litellm_params.timeout");
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.column, 16);
  EXPECT_EQ(e.to_string(),
            "test.yaml:9:16: model_list[2].litellm_params.timeout: must be a positive number, got \"abc\"");
}

TEST(ConfigErrors, ModelListMustBeASequence) {
  const LoadResult r = load("model_list:\n  model_name: x\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_diagnostics(r);
  EXPECT_EQ(r.errors[0].field, "model_list");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[0].column, 3);
  EXPECT_PRED2(contains, r.errors[0].message, "sequence");
}

TEST(ConfigErrors, MissingRequiredFields) {
  const LoadResult r = load(R"(model_list:
  - litellm_params: {model: mock/a}
  - model_name: b
  - model_name: c
    litellm_params: {api_key: x}
  - model_name: ""
    litellm_params: {model: mock/d}
)");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 4u) << all_diagnostics(r);
  EXPECT_EQ(r.errors[0].field, "model_list[0].model_name");
  EXPECT_EQ(r.errors[0].message, "is required");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[0].column, 5);
  EXPECT_EQ(r.errors[1].field, "model_list[1].litellm_params");
  EXPECT_EQ(r.errors[2].field, "model_list[2].litellm_params.model");
  EXPECT_EQ(r.errors[3].field, "model_list[3].model_name");
  EXPECT_EQ(r.errors[3].message, "must not be empty");
}

TEST(ConfigErrors, MissingOrEmptyModelList) {
  LoadResult r = load("general_settings: {master_key: sk-1}\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].field, "model_list");

  r = load("");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].field, "model_list");
  EXPECT_EQ(r.errors[0].line, 0);

  r = load("- a\n- b\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_PRED2(contains, r.errors[0].message, "mapping");

  // Empty is allowed, with a warning.
  for (const char* yaml : {"model_list: []\n", "model_list:\n"}) {
    r = load(yaml);
    ASSERT_TRUE(r.config) << all_diagnostics(r);
    EXPECT_TRUE(r.config->model_list.empty());
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].field, "model_list");
  }
}

TEST(ConfigErrors, CollectsAllErrorsInOnePass) {
  const LoadResult r = load(R"(model_list:
  - model_name: a
    litellm_params:
      model: mock/a
      timeout: -1
      stream_timeout: 0
      max_retries: 1.5
      rpm: -3
      weight: heavy
    model_info:
      max_tokens: lots
      input_cost_per_token: [1]
  - model_name: [not, a, string]
    litellm_params: oops
general_settings:
  max_request_size_mb: 0
server_settings:
  workers: -2
  idle_timeout_ms: 0
litellm_settings: [1, 2]
router_settings: just-a-string
)");
  EXPECT_FALSE(r.config);
  std::vector<std::string> fields;
  for (const Diagnostic& d : r.errors) fields.push_back(d.field);
  EXPECT_EQ(fields, (std::vector<std::string>{
                        "model_list[0].litellm_params.timeout",
                        "model_list[0].litellm_params.stream_timeout",
                        "model_list[0].litellm_params.max_retries",
                        "model_list[0].litellm_params.rpm",
                        "model_list[0].litellm_params.weight",
                        "model_list[0].model_info.max_tokens",
                        "model_list[0].model_info.input_cost_per_token",
                        "model_list[1].model_name",
                        "model_list[1].litellm_params",
                        "general_settings.max_request_size_mb",
                        "server_settings.workers",
                        "server_settings.idle_timeout_ms",
                        "litellm_settings",
                        "router_settings",
                    }))
      << all_diagnostics(r);
  // Each error points at its own value.
  EXPECT_EQ(r.errors[0].line, 5);
  EXPECT_EQ(r.errors[0].column, 16);
  EXPECT_EQ(r.errors[2].line, 7);
  EXPECT_EQ(r.errors[2].column, 20);
  EXPECT_EQ(r.errors[7].line, 13);
  EXPECT_EQ(r.errors[7].column, 17);
}

TEST(ConfigErrors, UnknownKeysAreWarningsNotErrors) {
  const LoadResult r = load(R"(model_list:
  - model_name: m
    litellm_params: {model: mock/m}
    model_nickname: typo
server_settings:
  max_body: 10
guardrails: []
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.warnings.size(), 3u) << all_diagnostics(r);
  EXPECT_EQ(r.warnings[0].field, "model_list[0].model_nickname");
  EXPECT_EQ(r.warnings[0].line, 4);
  EXPECT_EQ(r.warnings[0].column, 5);
  EXPECT_EQ(r.warnings[1].field, "server_settings.max_body");
  EXPECT_EQ(r.warnings[1].line, 6);
  EXPECT_EQ(r.warnings[1].column, 3);
  EXPECT_EQ(r.warnings[2].field, "guardrails");
  EXPECT_EQ(r.warnings[2].line, 7);
  EXPECT_EQ(r.warnings[2].column, 1);
}

TEST(ConfigErrors, YamlSyntaxErrorReportsParserPosition) {
  const LoadResult r = load("model_list:\n  - model_name: [a, b\n    litellm_params: {}\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_diagnostics(r);
  EXPECT_PRED2(contains, r.errors[0].message, "YAML syntax error");
  EXPECT_EQ(r.errors[0].field, "");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_GT(r.errors[0].column, 0);
  EXPECT_PRED2(contains, r.errors[0].to_string(), "test.yaml:3:");

  const LoadResult bad_indent = load("model_list:\n  - a: b\n   c: d\n");
  ASSERT_EQ(bad_indent.errors.size(), 1u) << all_diagnostics(bad_indent);
  EXPECT_EQ(bad_indent.errors[0].line, 3);
}

TEST(ConfigErrors, FileNotFoundIsAnErrorWithoutPosition) {
  const LoadResult r = load_file("/nonexistent/switchyard/config.yaml", kNoEnv);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_EQ(r.errors[0].file, "/nonexistent/switchyard/config.yaml");
  EXPECT_PRED2(contains, r.errors[0].to_string(), "/nonexistent/switchyard/config.yaml: cannot read");

  const LoadResult dir = load_file(std::filesystem::temp_directory_path().string(), kNoEnv);
  EXPECT_FALSE(dir.config);
  ASSERT_EQ(dir.errors.size(), 1u);
  EXPECT_EQ(dir.errors[0].line, 0);
}

TEST(ConfigErrors, LoadFileReadsAFile) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("switchyard_config_test_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "model_list:\n  - model_name: m\n    litellm_params: {model: mock/m, timeout: x}\n";
  }
  const LoadResult r = load_file(path.string(), kNoEnv);
  std::filesystem::remove(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, path.string());
  EXPECT_EQ(r.errors[0].line, 3);
}

TEST(ConfigErrors, DiagnosticToString) {
  EXPECT_EQ((Diagnostic{"c.yaml", 3, 7, "model_list[0].model_name", "is required"}).to_string(),
            "c.yaml:3:7: model_list[0].model_name: is required");
  EXPECT_EQ((Diagnostic{"c.yaml", 0, 0, "", "cannot read"}).to_string(), "c.yaml: cannot read");
  EXPECT_EQ((Diagnostic{"c.yaml", 0, 0, "model_list", "is required"}).to_string(),
            "c.yaml: model_list: is required");
  EXPECT_EQ((Diagnostic{"c.yaml", 2, 1, "", "YAML syntax error: x"}).to_string(),
            "c.yaml:2:1: YAML syntax error: x");
}

// ---- secrets ----

TEST(ConfigSecrets, SecretValuesNeverAppearInDiagnostics) {
  const std::string secret = "sk-live-SUPERSECRET-0123456789";
  const EnvLookup env = env_of({{"SECRET_FROM_ENV", secret}});
  const std::string yaml = R"(model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_key: [")" + secret +
                           R"("]
      timeout: os.environ/SECRET_FROM_ENV
      max_retries: os.environ/SECRET_FROM_ENV
    model_info:
      max_tokens: )" + secret +
                           R"(
      id: {nested: )" + secret +
                           R"(}
general_settings:
  master_key: {value: )" + secret +
                           R"(}
  max_request_size_mb: os.environ/SECRET_FROM_ENV
environment_variables:
  SOME_KEY: [)" + secret + R"(]
server_settings:
  workers: )" + secret + R"(
  max_connections: os.environ/SECRET_FROM_ENV
)";
  const LoadResult r = load(yaml, env);
  EXPECT_FALSE(r.config);
  EXPECT_GE(r.errors.size(), 9u) << all_diagnostics(r);
  const std::string text = all_diagnostics(r);
  EXPECT_EQ(text.find("SUPERSECRET"), std::string::npos) << text;
  // Still useful: the variable the value came from is named.
  EXPECT_PRED2(contains, text, "environment variable SECRET_FROM_ENV");
}

TEST(ConfigSecrets, SensitiveLiteralValuesAreNotEchoed) {
  const LoadResult r = load(R"(model_list:
  - model_name: m
    litellm_params:
      model: mock/m
      timeout: not-a-number
    model_info:
      max_tokens: hunter2
)");
  ASSERT_EQ(r.errors.size(), 2u) << all_diagnostics(r);
  EXPECT_PRED2(contains, r.errors[0].message, "\"not-a-number\"");    // ordinary fields are echoed
  EXPECT_EQ(r.errors[1].message.find("hunter2"), std::string::npos);  // "*token*" fields are not
}

TEST(ConfigSecrets, EmptyMasterKeyIsAnError) {
  const LoadResult r = load("model_list: []\ngeneral_settings:\n  master_key: \"\"\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].field, "general_settings.master_key");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 15);

  // Not required to start with sk-.
  const LoadResult any = load("model_list: []\ngeneral_settings:\n  master_key: letmein\n");
  ASSERT_TRUE(any.config);
  EXPECT_EQ(any.config->general_settings.master_key, "letmein");
}

// ---- server_settings ----

TEST(ConfigServer, ParsesEverySetting) {
  const LoadResult r = load(R"(model_list: []
server_settings:
  max_request_body_bytes: 1000
  max_header_bytes: 2000
  max_connections: 30
  workers: 0
  header_timeout_ms: 1
  body_timeout_ms: 2
  idle_timeout_ms: 3
  drain_timeout_ms: 4
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const ServerSettings& s = r.config->server_settings;
  EXPECT_EQ(s.max_request_body_bytes, 1000u);
  EXPECT_EQ(s.max_header_bytes, 2000u);
  EXPECT_EQ(s.max_connections, 30u);
  EXPECT_EQ(s.workers, 0u);
  EXPECT_EQ(s.header_timeout, std::chrono::milliseconds(1));
  EXPECT_EQ(s.body_timeout, std::chrono::milliseconds(2));
  EXPECT_EQ(s.idle_timeout, std::chrono::milliseconds(3));
  EXPECT_EQ(s.drain_timeout, std::chrono::milliseconds(4));
}

TEST(ConfigServer, RejectsInvalidLimits) {
  const LoadResult r = load(R"(model_list: []
server_settings:
  max_request_body_bytes: 0
  max_header_bytes: -1
  max_connections: 1.5
  workers: many
  header_timeout_ms: 0
  body_timeout_ms: 10s
  idle_timeout_ms: 99999999999999999999999
  drain_timeout_ms: {}
)");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 8u) << all_diagnostics(r);
  EXPECT_EQ(r.errors[0].field, "server_settings.max_request_body_bytes");
  EXPECT_EQ(r.errors[0].message, "must be a positive integer, got \"0\"");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 27);
  EXPECT_EQ(r.errors[3].field, "server_settings.workers");
  EXPECT_EQ(r.errors[3].message, "must be a non-negative integer, got \"many\"");
  EXPECT_EQ(r.errors[7].field, "server_settings.drain_timeout_ms");
  EXPECT_EQ(r.errors[7].message, "must be a positive integer, not a mapping");
}

TEST(ConfigServer, MaxRequestSizeMbSetsBodyLimit) {
  LoadResult r = load("model_list: []\ngeneral_settings:\n  max_request_size_mb: 2.5\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->server_settings.max_request_body_bytes, 2621440u);
  EXPECT_TRUE(r.config->general_settings.extra.empty());

  // server_settings wins, whichever comes first in the file.
  r = load(R"(model_list: []
server_settings:
  max_request_body_bytes: 4096
general_settings:
  max_request_size_mb: 100
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->server_settings.max_request_body_bytes, 4096u);
}

// ---- model_info.id ----

TEST(ConfigIds, GeneratedFromModelNameAndPosition) {
  const LoadResult r = load(R"(model_list:
  - model_name: claude-haiku
    litellm_params: {model: mock/a}
  - model_name: gpt
    litellm_params: {model: mock/b}
    model_info: {id: custom}
  - model_name: claude-haiku
    litellm_params: {model: mock/c}
    model_info: {mode: chat}
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->model_list[0].info.id, "claude-haiku-0");
  EXPECT_EQ(r.config->model_list[1].info.id, "custom");
  EXPECT_EQ(r.config->model_list[2].info.id, "claude-haiku-2");
}

TEST(ConfigIds, DuplicateIdsAreErrors) {
  const LoadResult r = load(R"(model_list:
  - model_name: a
    litellm_params: {model: mock/a}
    model_info: {id: shared}
  - model_name: b
    litellm_params: {model: mock/b}
    model_info:
      id: shared
  - model_name: c
    litellm_params: {model: mock/c}
    model_info: {id: c-3}
  - model_name: c
    litellm_params: {model: mock/c}
)");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 2u) << all_diagnostics(r);
  EXPECT_EQ(r.errors[0].field, "model_list[1].model_info.id");
  EXPECT_PRED2(contains, r.errors[0].message, "\"shared\"");
  EXPECT_PRED2(contains, r.errors[0].message, "model_list[0]");
  EXPECT_EQ(r.errors[0].line, 8);
  EXPECT_EQ(r.errors[0].column, 11);
  // A generated id colliding with an explicit one is reported too.
  EXPECT_EQ(r.errors[1].field, "model_list[3].model_info.id");
  EXPECT_PRED2(contains, r.errors[1].message, "\"c-3\"");
  EXPECT_PRED2(contains, r.errors[1].message, "generated");
}

// ---- YAML features ----

TEST(ConfigYaml, MergeKeysAndDuplicateKeys) {
  const LoadResult r = load(R"(x-defaults: &defaults
  timeout: 30
  max_retries: 1
model_list:
  - model_name: m
    litellm_params:
      <<: *defaults
      model: mock/m
      max_retries: 5
      max_retries: 6
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const LitellmParams& p = r.config->model_list[0].params;
  EXPECT_EQ(p.timeout_seconds, 30.0);
  EXPECT_EQ(p.max_retries, 6);  // explicit keys win over merged ones; a later duplicate wins
  const Diagnostic* dup = find_by_field(r.warnings, "model_list[0].litellm_params.max_retries");
  ASSERT_NE(dup, nullptr) << all_diagnostics(r);
  EXPECT_PRED2(contains, dup->message, "duplicate");
  EXPECT_NE(find_by_field(r.warnings, "x-defaults"), nullptr);  // unknown top-level key
}

TEST(ConfigYaml, SelfReferencingAliasIsAnErrorNotACrash) {
  const LoadResult r = load(
      "model_list:\n  - model_name: m\n    litellm_params:\n      model: mock/m\n"
      "      loop: &a [*a]\n");
  EXPECT_FALSE(r.config);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_PRED2(contains, r.errors[0].field, "model_list[0].litellm_params.loop");
}

// "Billion laughs": each level aliases the previous one ten times. Loading must stop with an error instead of
// expanding 10^9 values, both for JSON sections and for merge keys.
TEST(ConfigYaml, AliasExpansionIsBounded) {
  std::string values = "model_list: []\nlitellm_settings:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  std::string merges = "model_list: []\nrouter_settings:\n  l0: &l0 {a: 1, b: 2}\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string name = "l" + std::to_string(level);
    const std::string prev = "*l" + std::to_string(level - 1);
    values += "  " + name + ": &" + name + " [";
    merges += "  " + name + ": &" + name + " {<<: [";
    for (int i = 0; i < 10; ++i) {
      values += prev + (i < 9 ? ", " : "]\n");
      merges += prev + (i < 9 ? ", " : "]}\n");
    }
  }
  for (const std::string& yaml : {values, merges}) {
    const LoadResult r = load(yaml);
    EXPECT_FALSE(r.config);
    ASSERT_EQ(r.errors.size(), 1u) << all_diagnostics(r);
    EXPECT_PRED2(contains, r.errors[0].message, "too many values");
  }
  // A merge key that merges its own mapping terminates too.
  const LoadResult cycle = load("model_list: []\nrouter_settings: &r {a: 1, <<: [*r, *r]}\n");
  EXPECT_FALSE(cycle.config);
  EXPECT_FALSE(cycle.errors.empty());
}

TEST(ConfigYaml, ScalarTypingInExtra) {
  const LoadResult r = load(R"(model_list:
  - model_name: m
    litellm_params:
      model: mock/m
      extra:
        int: -12
        big: 99999999999999999999
        float: 1.5e3
        bool: False
        tilde: ~
        empty:
        str_tag: !!str 12
        single: '3'
        version: 1.2.3
        inf: .inf
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const boost::json::object& x = r.config->model_list[0].params.extra.at("extra").as_object();
  EXPECT_EQ(x.at("int").as_int64(), -12);
  EXPECT_TRUE(x.at("big").is_double());
  EXPECT_EQ(x.at("float").as_double(), 1500.0);
  EXPECT_EQ(x.at("bool"), false);
  EXPECT_TRUE(x.at("tilde").is_null());
  EXPECT_TRUE(x.at("empty").is_null());
  EXPECT_EQ(x.at("str_tag"), "12");
  EXPECT_EQ(x.at("single"), "3");
  EXPECT_EQ(x.at("version"), "1.2.3");
  EXPECT_EQ(x.at("inf"), ".inf");
}

// ---- shipped configuration files ----

TEST(ConfigFiles, QuickstartLoadsOffline) {
  const std::filesystem::path path = config_dir() / "quickstart.yaml";
  const LoadResult r = load_file(path.string(), kNoEnv);
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.source, path.string());
  ASSERT_EQ(c.model_list.size(), 3u);
  EXPECT_EQ(c.model_list[0].model_name, "claude-haiku");
  EXPECT_EQ(c.model_list[1].model_name, "gpt-4o-mini");
  EXPECT_EQ(c.model_list[2].model_name, "text-embedding-3-small");
  for (const Deployment& d : c.model_list) EXPECT_EQ(d.params.provider, "mock");
  EXPECT_EQ(c.general_settings.master_key, "sk-dev-key");
}

TEST(ConfigFiles, ExampleLoadsWithItsVariablesSet) {
  const std::filesystem::path path = config_dir() / "config.example.yaml";
  const EnvLookup env = env_of({{"OPENAI_API_KEY", "sk-openai"},
                                {"ANTHROPIC_API_KEY", "sk-ant"},
                                {"SWITCHYARD_MASTER_KEY", "sk-master"}});
  const LoadResult r = load_file(path.string(), env);
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.general_settings.master_key, "sk-master");
  EXPECT_EQ(c.router_settings.at("routing_strategy"), "simple-shuffle");
  EXPECT_EQ(c.router.routing_strategy, "simple-shuffle");
  EXPECT_EQ(c.router.num_retries, 2);
  EXPECT_EQ(c.router.allowed_fails, 3);
  EXPECT_TRUE(c.router.enable_pre_call_checks);
  EXPECT_EQ(c.router.timeout_seconds, 600);
  ASSERT_EQ(c.router.fallbacks.size(), 1u);
  EXPECT_EQ(c.router.fallbacks[0].group, "gpt-4o-mini");
  EXPECT_EQ(c.router.fallbacks[0].fallbacks, std::vector<std::string>{"claude-haiku"});
  EXPECT_FALSE(c.litellm_settings.empty());
  int haiku = 0;
  for (const Deployment& d : c.model_list) {
    if (d.model_name == "claude-haiku") ++haiku;
    if (d.params.provider == "anthropic") {
      EXPECT_EQ(d.params.api_key, "sk-ant");
    } else if (d.params.provider == "bedrock") {
      EXPECT_EQ(d.params.extra.at("aws_region_name"), "us-east-1");
    }
  }
  EXPECT_EQ(haiku, 2);
  EXPECT_EQ(c.model_list[0].params.api_key, "sk-openai");

  // Without the variables, each reference is reported.
  const LoadResult missing = load_file(path.string(), kNoEnv);
  EXPECT_FALSE(missing.config);
  EXPECT_EQ(missing.errors.size(), 3u) << all_diagnostics(missing);
}

TEST(ConfigApiBase, MalformedApiBaseIsALoadError) {
  for (std::string_view bad : {"localhost:8000/v1", "ftp://host/v1", "http://", "http://host:port/v1"}) {
    const std::string yaml =
        std::string(
            "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/x\n"
            "      api_base: \"") +
        std::string(bad) + "\"\n";
    LoadResult r = load(yaml);
    ASSERT_FALSE(r.config) << bad;
    const Diagnostic* d = find_by_field(r.errors, "model_list[0].litellm_params.api_base");
    ASSERT_NE(d, nullptr) << bad << "\n" << all_diagnostics(r);
    EXPECT_EQ(d->line, 5) << bad;
  }
  LoadResult ok = load(
      "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/x\n"
      "      api_base: HTTPS://api.example.com:8443/v1/\n");
  ASSERT_TRUE(ok.config) << all_diagnostics(ok);
}

}  // namespace
}  // namespace sy::config
