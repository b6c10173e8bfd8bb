// Unit tests for the router part of the config.yaml loader: every router_settings key, the litellm_settings
// keys that configure the router, their defaults, and the diagnostics for bad values.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_support.h"

namespace sy::config {
namespace {

using testing::contains;
using testing::env_of;
using testing::kNoEnv;

// Two model groups, a and b, then `rest` (further top-level sections).
constexpr std::string_view kModels = R"(model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o}
  - model_name: b
    litellm_params: {model: openai/gpt-4o-mini}
)";

LoadResult load(std::string_view rest, const EnvLookup& env = kNoEnv) {
  return load_string(std::string(kModels) + std::string(rest), "test.yaml", env);
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

// Loads `rest` and expects it to be refused with an error on `field` whose message contains `message`.
void expect_error(std::string_view rest, std::string_view field, std::string_view message) {
  const LoadResult r = load(rest);
  EXPECT_FALSE(r.config) << rest;
  const Diagnostic* d = find_by_field(r.errors, field);
  ASSERT_NE(d, nullptr) << rest << "\n" << all_diagnostics(r);
  EXPECT_TRUE(contains(d->message, message)) << d->to_string();
  EXPECT_GT(d->line, 5) << d->to_string();  // after the model list
}

std::vector<std::string> groups_of(const std::vector<FallbackRule>& rules) {
  std::vector<std::string> out;
  for (const FallbackRule& r : rules) out.push_back(r.group);
  return out;
}

// ---- defaults ----

TEST(RouterSettingsDefaults, WithoutRouterSettings) {
  const LoadResult r = load("");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  const RouterSettings& s = r.config->router;
  EXPECT_EQ(s.routing_strategy, "simple-shuffle");
  EXPECT_TRUE(s.routing_strategy_args.empty());
  EXPECT_EQ(s.lowest_latency_buffer, 0);
  EXPECT_EQ(s.num_retries, 2);
  EXPECT_FALSE(s.retry_policy);
  EXPECT_TRUE(s.model_group_retry_policy.empty());
  EXPECT_EQ(s.retry_after_seconds, 0);
  EXPECT_EQ(s.max_retry_after_seconds, 60);
  EXPECT_FALSE(s.timeout_seconds);
  EXPECT_FALSE(s.stream_timeout_seconds);
  EXPECT_EQ(s.allowed_fails, 3);
  EXPECT_EQ(s.cooldown_time_seconds, 5);
  EXPECT_FALSE(s.disable_cooldowns);
  EXPECT_TRUE(s.fallbacks.empty());
  EXPECT_TRUE(s.context_window_fallbacks.empty());
  EXPECT_TRUE(s.content_policy_fallbacks.empty());
  EXPECT_TRUE(s.default_fallbacks.empty());
  EXPECT_EQ(s.max_fallbacks, 5);
  EXPECT_FALSE(s.enable_pre_call_checks);
}

TEST(RouterSettingsDefaults, EmptySectionsKeepDefaults) {
  const LoadResult r = load("router_settings:\nlitellm_settings: {}\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->router.num_retries, 2);
  EXPECT_EQ(r.config->router.allowed_fails, 3);
  // Keys with no value leave the default too.
  const LoadResult nulls = load("router_settings:\n  num_retries:\n  cooldown_time:\n  timeout:\n");
  ASSERT_TRUE(nulls.config) << all_diagnostics(nulls);
  EXPECT_EQ(nulls.config->router.num_retries, 2);
  EXPECT_EQ(nulls.config->router.cooldown_time_seconds, 5);
  EXPECT_FALSE(nulls.config->router.timeout_seconds);
}

// ---- every key ----

TEST(RouterSettingsParse, EveryKey) {
  const LoadResult r = load(R"(router_settings:
  routing_strategy: latency-based-routing
  routing_strategy_args: {lowest_latency_buffer: 0.25, ttl: 3600}
  num_retries: 4
  timeout: 30
  stream_timeout: 7.5
  retry_policy: {RateLimitErrorRetries: 3, TimeoutErrorRetries: 2, InternalServerErrorRetries: 1}
  model_group_retry_policy:
    a: {RateLimitErrorRetries: 6}
    b: {TimeoutErrorRetries: 0, InternalServerErrorRetries: 9}
  retry_after: 1.5
  max_retry_after: 30
  allowed_fails: 7
  cooldown_time: 12.5
  disable_cooldowns: true
  fallbacks: [{a: [b]}, {b: [a]}]
  context_window_fallbacks: [{a: [b]}]
  content_policy_fallbacks: [{b: [a]}]
  default_fallbacks: [b]
  max_fallbacks: 2
  enable_pre_call_checks: yes
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  const RouterSettings& s = r.config->router;
  EXPECT_EQ(s.routing_strategy, "latency-based-routing");
  EXPECT_DOUBLE_EQ(s.lowest_latency_buffer, 0.25);
  EXPECT_EQ(s.routing_strategy_args.size(), 2u);  // kept as written, unknown args included
  EXPECT_TRUE(s.routing_strategy_args.contains("ttl"));
  EXPECT_EQ(s.num_retries, 4);
  EXPECT_EQ(s.timeout_seconds, 30);
  EXPECT_EQ(s.stream_timeout_seconds, 7.5);
  ASSERT_TRUE(s.retry_policy);
  EXPECT_EQ(s.retry_policy->rate_limit, 3);
  EXPECT_EQ(s.retry_policy->timeout, 2);
  EXPECT_EQ(s.retry_policy->server_error, 1);
  ASSERT_EQ(s.model_group_retry_policy.size(), 2u);
  EXPECT_EQ(s.model_group_retry_policy[0].first, "a");
  EXPECT_EQ(s.model_group_retry_policy[0].second.rate_limit, 6);
  EXPECT_FALSE(s.model_group_retry_policy[0].second.timeout);
  EXPECT_EQ(s.model_group_retry_policy[1].first, "b");
  EXPECT_FALSE(s.model_group_retry_policy[1].second.rate_limit);
  EXPECT_EQ(s.model_group_retry_policy[1].second.timeout, 0);
  EXPECT_EQ(s.model_group_retry_policy[1].second.server_error, 9);
  EXPECT_DOUBLE_EQ(s.retry_after_seconds, 1.5);
  EXPECT_DOUBLE_EQ(s.max_retry_after_seconds, 30);
  EXPECT_EQ(s.allowed_fails, 7);
  EXPECT_DOUBLE_EQ(s.cooldown_time_seconds, 12.5);
  EXPECT_TRUE(s.disable_cooldowns);
  ASSERT_EQ(s.fallbacks.size(), 2u);
  EXPECT_EQ(s.fallbacks[0].group, "a");
  EXPECT_EQ(s.fallbacks[0].fallbacks, (std::vector<std::string>{"b"}));
  EXPECT_EQ(s.fallbacks[1].group, "b");
  EXPECT_EQ(s.fallbacks[1].fallbacks, (std::vector<std::string>{"a"}));
  ASSERT_EQ(s.context_window_fallbacks.size(), 1u);
  EXPECT_EQ(s.context_window_fallbacks[0].group, "a");
  ASSERT_EQ(s.content_policy_fallbacks.size(), 1u);
  EXPECT_EQ(s.content_policy_fallbacks[0].fallbacks, (std::vector<std::string>{"a"}));
  EXPECT_EQ(s.default_fallbacks, (std::vector<std::string>{"b"}));
  EXPECT_EQ(s.max_fallbacks, 2);
  EXPECT_TRUE(s.enable_pre_call_checks);
  // The section is also kept as written.
  EXPECT_EQ(r.config->router_settings.at("num_retries").as_int64(), 4);
}

TEST(RouterSettingsParse, ValuesFromTheEnvironment) {
  const LoadResult r = load(R"(router_settings:
  num_retries: os.environ/RETRIES
  cooldown_time: os.environ/COOLDOWN
  disable_cooldowns: os.environ/NO_COOLDOWNS
)",
                            env_of({{"RETRIES", "6"}, {"COOLDOWN", "2.5"}, {"NO_COOLDOWNS", "true"}}));
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->router.num_retries, 6);
  EXPECT_DOUBLE_EQ(r.config->router.cooldown_time_seconds, 2.5);
  EXPECT_TRUE(r.config->router.disable_cooldowns);
}

// ---- routing_strategy ----

TEST(RouterSettingsStrategy, KnownNames) {
  for (std::string_view name : {"simple-shuffle", "least-busy", "latency-based-routing",
                                "usage-based-routing", "cost-based-routing"}) {
    const LoadResult r = load("router_settings:\n  routing_strategy: " + std::string(name) + "\n");
    ASSERT_TRUE(r.config) << name << "\n" << all_diagnostics(r);
    EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
    EXPECT_EQ(r.config->router.routing_strategy, name);
  }
  const LoadResult v2 = load("router_settings:\n  routing_strategy: usage-based-routing-v2\n");
  ASSERT_TRUE(v2.config) << all_diagnostics(v2);
  EXPECT_EQ(v2.config->router.routing_strategy, "usage-based-routing");
}

TEST(RouterSettingsStrategy, UnknownNameIsAnErrorListingTheKnownOnes) {
  const LoadResult r = load("router_settings:\n  routing_strategy: fastest-first\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_diagnostics(r);
  const Diagnostic& d = r.errors[0];
  EXPECT_EQ(d.field, "router_settings.routing_strategy");
  EXPECT_EQ(d.line, 7);
  EXPECT_EQ(d.column, 21);
  EXPECT_TRUE(
      contains(d.message,
               "unknown routing strategy (known: simple-shuffle, least-busy, latency-based-routing, "
               "usage-based-routing, cost-based-routing, llmrouter-knn, llmrouter-mlp, llmrouter-svm, "
               "llmrouter-mf, llmrouter-elo, llmrouter-smallest, llmrouter-largest, llmrouter-hybrid)"))
      << d.message;
  EXPECT_TRUE(contains(d.message, "fastest-first")) << d.message;
  EXPECT_EQ(d.to_string().rfind("test.yaml:7:21: router_settings.routing_strategy: ", 0), 0u)
      << d.to_string();

  // Names are exact: no case folding, no empty name, no list.
  expect_error("router_settings:\n  routing_strategy: Least-Busy\n", "router_settings.routing_strategy",
               "unknown routing strategy");
  expect_error("router_settings:\n  routing_strategy: \"\"\n", "router_settings.routing_strategy", "empty");
  expect_error("router_settings:\n  routing_strategy: [least-busy]\n", "router_settings.routing_strategy",
               "must be a string");
}

TEST(RouterSettingsStrategy, LowestLatencyBuffer) {
  const LoadResult r = load("router_settings:\n  routing_strategy_args:\n    lowest_latency_buffer: 0.5\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_DOUBLE_EQ(r.config->router.lowest_latency_buffer, 0.5);
  expect_error("router_settings:\n  routing_strategy_args: {lowest_latency_buffer: -0.1}\n",
               "router_settings.routing_strategy_args.lowest_latency_buffer", "non-negative number");
  expect_error("router_settings:\n  routing_strategy_args: {lowest_latency_buffer: fast}\n",
               "router_settings.routing_strategy_args.lowest_latency_buffer", "non-negative number");
  expect_error("router_settings:\n  routing_strategy_args: [1]\n", "router_settings.routing_strategy_args",
               "must be a mapping");
}

// ---- numbers and booleans ----

TEST(RouterSettingsValues, BadNumbersAreErrors) {
  expect_error("router_settings:\n  num_retries: -1\n", "router_settings.num_retries",
               "non-negative integer");
  expect_error("router_settings:\n  num_retries: 1.5\n", "router_settings.num_retries", "integer");
  expect_error("router_settings:\n  num_retries: 101\n", "router_settings.num_retries",
               "no greater than 100");
  expect_error("router_settings:\n  timeout: 0\n", "router_settings.timeout", "positive number");
  expect_error("router_settings:\n  timeout: soon\n", "router_settings.timeout", "positive number");
  expect_error("router_settings:\n  stream_timeout: -5\n", "router_settings.stream_timeout",
               "positive number");
  expect_error("router_settings:\n  retry_after: -1\n", "router_settings.retry_after", "non-negative number");
  expect_error("router_settings:\n  max_retry_after: [1]\n", "router_settings.max_retry_after", "number");
  expect_error("router_settings:\n  allowed_fails: -2\n", "router_settings.allowed_fails",
               "non-negative integer");
  expect_error("router_settings:\n  cooldown_time: -1\n", "router_settings.cooldown_time",
               "non-negative number");
  expect_error("router_settings:\n  max_fallbacks: 101\n", "router_settings.max_fallbacks",
               "no greater than 100");
  expect_error("router_settings:\n  max_fallbacks: x\n", "router_settings.max_fallbacks", "integer");
}

TEST(RouterSettingsValues, ZeroIsAValue) {
  const LoadResult r = load(
      "router_settings:\n  num_retries: 0\n  allowed_fails: 0\n  cooldown_time: 0\n  max_fallbacks: 0\n"
      "  retry_after: 0\n  max_retry_after: 0\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const RouterSettings& s = r.config->router;
  EXPECT_EQ(s.num_retries, 0);
  EXPECT_EQ(s.allowed_fails, 0);
  EXPECT_EQ(s.cooldown_time_seconds, 0);
  EXPECT_EQ(s.max_fallbacks, 0);
  EXPECT_EQ(s.max_retry_after_seconds, 0);
}

TEST(RouterSettingsValues, Booleans) {
  for (std::string_view yes : {"true", "True", "yes", "on"}) {
    const LoadResult r = load("router_settings:\n  disable_cooldowns: " + std::string(yes) +
                              "\n  enable_pre_call_checks: " + std::string(yes) + "\n");
    ASSERT_TRUE(r.config) << yes << "\n" << all_diagnostics(r);
    EXPECT_TRUE(r.config->router.disable_cooldowns) << yes;
    EXPECT_TRUE(r.config->router.enable_pre_call_checks) << yes;
  }
  for (std::string_view no : {"false", "no", "off"}) {
    const LoadResult r = load("router_settings:\n  disable_cooldowns: " + std::string(no) +
                              "\n  enable_pre_call_checks: " + std::string(no) + "\n");
    ASSERT_TRUE(r.config) << no << "\n" << all_diagnostics(r);
    EXPECT_FALSE(r.config->router.disable_cooldowns) << no;
    EXPECT_FALSE(r.config->router.enable_pre_call_checks) << no;
  }
  expect_error("router_settings:\n  disable_cooldowns: maybe\n", "router_settings.disable_cooldowns",
               "must be true or false");
  expect_error("router_settings:\n  disable_cooldowns: 1\n", "router_settings.disable_cooldowns",
               "must be true or false");
  expect_error("router_settings:\n  disable_cooldowns: [true]\n", "router_settings.disable_cooldowns",
               "must be true or false");
  expect_error("router_settings:\n  enable_pre_call_checks: sometimes\n",
               "router_settings.enable_pre_call_checks", "must be true or false");
}

// ---- retry policies ----

TEST(RouterSettingsRetryPolicy, NeverRetriedKindsWarn) {
  const LoadResult r = load(R"(router_settings:
  retry_policy:
    RateLimitErrorRetries: 2
    BadRequestErrorRetries: 3
    AuthenticationErrorRetries: 1
    ContentPolicyViolationErrorRetries: 1
    SomethingElseRetries: 1
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_TRUE(r.config->router.retry_policy);
  EXPECT_EQ(r.config->router.retry_policy->rate_limit, 2);
  EXPECT_FALSE(r.config->router.retry_policy->timeout);
  ASSERT_EQ(r.warnings.size(), 4u) << all_diagnostics(r);
  const Diagnostic* bad = find_by_field(r.warnings, "router_settings.retry_policy.BadRequestErrorRetries");
  ASSERT_NE(bad, nullptr) << all_diagnostics(r);
  EXPECT_TRUE(contains(bad->message, "never retried")) << bad->message;
  EXPECT_EQ(bad->line, 9);
  EXPECT_EQ(bad->column, 5);
  EXPECT_NE(find_by_field(r.warnings, "router_settings.retry_policy.AuthenticationErrorRetries"), nullptr);
  EXPECT_NE(find_by_field(r.warnings, "router_settings.retry_policy.ContentPolicyViolationErrorRetries"),
            nullptr);
  const Diagnostic* unknown = find_by_field(r.warnings, "router_settings.retry_policy.SomethingElseRetries");
  ASSERT_NE(unknown, nullptr);
  EXPECT_TRUE(contains(unknown->message, "unknown retry policy key")) << unknown->message;
}

TEST(RouterSettingsRetryPolicy, BadValuesAreErrors) {
  expect_error("router_settings:\n  retry_policy: 3\n", "router_settings.retry_policy", "must be a mapping");
  expect_error("router_settings:\n  retry_policy: {RateLimitErrorRetries: -1}\n",
               "router_settings.retry_policy.RateLimitErrorRetries", "non-negative integer");
  expect_error("router_settings:\n  retry_policy: {TimeoutErrorRetries: 1000}\n",
               "router_settings.retry_policy.TimeoutErrorRetries", "no greater than 100");
  expect_error("router_settings:\n  model_group_retry_policy: [a]\n",
               "router_settings.model_group_retry_policy", "must be a mapping");
  expect_error("router_settings:\n  model_group_retry_policy: {a: 3}\n",
               "router_settings.model_group_retry_policy.a", "must be a mapping");
  expect_error("router_settings:\n  model_group_retry_policy: {a: {InternalServerErrorRetries: x}}\n",
               "router_settings.model_group_retry_policy.a.InternalServerErrorRetries", "integer");
}

TEST(RouterSettingsRetryPolicy, UndefinedGroupWarns) {
  const LoadResult r =
      load("router_settings:\n  model_group_retry_policy: {nope: {RateLimitErrorRetries: 1}}\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  const Diagnostic* d = find_by_field(r.warnings, "router_settings.model_group_retry_policy.nope");
  ASSERT_NE(d, nullptr) << all_diagnostics(r);
  EXPECT_TRUE(contains(d->message, "no model_list entry has model_name \"nope\"")) << d->message;
}

// ---- fallbacks ----

TEST(RouterSettingsFallbacks, Shapes) {
  // LiteLLM's list of single-key mappings.
  LoadResult r = load("router_settings:\n  fallbacks: [{a: [b]}, {b: [a, a]}]\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(groups_of(r.config->router.fallbacks), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.config->router.fallbacks[1].fallbacks, (std::vector<std::string>{"a", "a"}));
  // One mapping of several groups.
  r = load("router_settings:\n  fallbacks:\n    a: [b]\n    b: [a]\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(groups_of(r.config->router.fallbacks), (std::vector<std::string>{"a", "b"}));
  // A list item mapping several groups.
  r = load("router_settings:\n  fallbacks: [{a: [b], b: [a]}]\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(groups_of(r.config->router.fallbacks), (std::vector<std::string>{"a", "b"}));
  // Scalar shorthand: one fallback group.
  r = load("router_settings:\n  fallbacks: [{a: b}]\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  ASSERT_EQ(r.config->router.fallbacks.size(), 1u);
  EXPECT_EQ(r.config->router.fallbacks[0].fallbacks, (std::vector<std::string>{"b"}));
  // The wildcard is no undefined group.
  r = load("router_settings:\n  fallbacks: [{\"*\": [a]}]\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);
  EXPECT_EQ(r.config->router.fallbacks[0].group, "*");
  // The same parser reads the specific lists.
  r = load("router_settings:\n  context_window_fallbacks: {a: b}\n  content_policy_fallbacks: [{b: [a]}]\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  ASSERT_EQ(r.config->router.context_window_fallbacks.size(), 1u);
  EXPECT_EQ(r.config->router.context_window_fallbacks[0].fallbacks, (std::vector<std::string>{"b"}));
  ASSERT_EQ(r.config->router.content_policy_fallbacks.size(), 1u);
  EXPECT_EQ(r.config->router.content_policy_fallbacks[0].group, "b");
  EXPECT_TRUE(r.config->router.fallbacks.empty());
}

TEST(RouterSettingsFallbacks, BadShapesAreErrors) {
  expect_error("router_settings:\n  fallbacks: a\n", "router_settings.fallbacks", "must be a list of");
  expect_error("router_settings:\n  fallbacks: [a, b]\n", "router_settings.fallbacks[0]",
               "must be a mapping");
  expect_error("router_settings:\n  fallbacks: [{a: {b: c}}]\n", "router_settings.fallbacks[0].a",
               "must be a list of model group names");
  expect_error("router_settings:\n  fallbacks: [{a: [b, [c]]}]\n", "router_settings.fallbacks[0].a[1]",
               "must be a model group name");
  expect_error("router_settings:\n  context_window_fallbacks: 3\n",
               "router_settings.context_window_fallbacks", "must be a list of");
  expect_error("router_settings:\n  content_policy_fallbacks: [[a]]\n",
               "router_settings.content_policy_fallbacks[0]", "must be a mapping");
  expect_error("router_settings:\n  default_fallbacks: a\n", "router_settings.default_fallbacks",
               "must be a list of model group names");
  expect_error("router_settings:\n  default_fallbacks: [{a: b}]\n", "router_settings.default_fallbacks[0]",
               "must be a model group name");
}

TEST(RouterSettingsFallbacks, UndefinedGroupsWarn) {
  const LoadResult r = load(R"(router_settings:
  fallbacks: [{a: [nope]}, {ghost: [b]}]
  context_window_fallbacks: [{a: missing}]
  default_fallbacks: [b, absent]
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.warnings.size(), 4u) << all_diagnostics(r);
  const Diagnostic* nope = find_by_field(r.warnings, "router_settings.fallbacks[0].a[0]");
  ASSERT_NE(nope, nullptr) << all_diagnostics(r);
  EXPECT_TRUE(contains(nope->message, "\"nope\"")) << nope->message;
  EXPECT_EQ(nope->line, 7);
  const Diagnostic* ghost = find_by_field(r.warnings, "router_settings.fallbacks[1].ghost");
  ASSERT_NE(ghost, nullptr) << all_diagnostics(r);
  EXPECT_TRUE(contains(ghost->message, "\"ghost\"")) << ghost->message;
  const Diagnostic* missing = find_by_field(r.warnings, "router_settings.context_window_fallbacks[0].a");
  ASSERT_NE(missing, nullptr) << all_diagnostics(r);
  EXPECT_TRUE(contains(missing->message, "\"missing\"")) << missing->message;
  const Diagnostic* absent = find_by_field(r.warnings, "router_settings.default_fallbacks[1]");
  ASSERT_NE(absent, nullptr) << all_diagnostics(r);
  EXPECT_TRUE(contains(absent->message, "\"absent\"")) << absent->message;
}

// ---- unknown keys ----

TEST(RouterSettingsUnknown, UnknownKeyWarns) {
  const LoadResult r = load("router_settings:\n  num_retries: 1\n  redis_host: localhost\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  ASSERT_EQ(r.warnings.size(), 1u) << all_diagnostics(r);
  EXPECT_EQ(r.warnings[0].field, "router_settings.redis_host");
  EXPECT_EQ(r.warnings[0].line, 8);
  EXPECT_EQ(r.warnings[0].column, 3);
  EXPECT_TRUE(contains(r.warnings[0].message, "unknown router_settings key")) << r.warnings[0].message;
  EXPECT_EQ(r.config->router.num_retries, 1);
  EXPECT_TRUE(r.config->router_settings.contains("redis_host"));  // kept as written
}

// ---- litellm_settings ----

TEST(RouterSettingsLitellm, SuppliesRouterKeys) {
  const LoadResult r = load(R"(litellm_settings:
  num_retries: 5
  request_timeout: 45
  fallbacks: [{a: [b]}]
  context_window_fallbacks: [{b: [a]}]
  content_policy_fallbacks: [{a: [b]}]
  default_fallbacks: [a]
  allowed_fails: 9
  cooldown_time: 15
  disable_cooldowns: true
  drop_params: true
  set_verbose: false
  routing_strategy: least-busy
  timeout: 99
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << all_diagnostics(r);  // LiteLLM's own keys are left alone
  const RouterSettings& s = r.config->router;
  EXPECT_EQ(s.num_retries, 5);
  EXPECT_EQ(s.timeout_seconds, 45);
  EXPECT_EQ(groups_of(s.fallbacks), (std::vector<std::string>{"a"}));
  EXPECT_EQ(groups_of(s.context_window_fallbacks), (std::vector<std::string>{"b"}));
  EXPECT_EQ(groups_of(s.content_policy_fallbacks), (std::vector<std::string>{"a"}));
  EXPECT_EQ(s.default_fallbacks, (std::vector<std::string>{"a"}));
  EXPECT_EQ(s.allowed_fails, 9);
  EXPECT_EQ(s.cooldown_time_seconds, 15);
  EXPECT_TRUE(s.disable_cooldowns);
  // Only router_settings chooses the strategy; litellm_settings.timeout is not the router's.
  EXPECT_EQ(s.routing_strategy, "simple-shuffle");
}

TEST(RouterSettingsLitellm, RouterSettingsWinInEitherOrder) {
  for (bool router_first : {false, true}) {
    const std::string litellm = R"(litellm_settings:
  num_retries: 5
  request_timeout: 45
  fallbacks: [{a: [b]}]
  context_window_fallbacks: [{a: [b]}]
  allowed_fails: 9
  cooldown_time: 15
  disable_cooldowns: true
)";
    const std::string router = R"(router_settings:
  num_retries: 1
  timeout: 20
  fallbacks: [{b: [a]}]
  context_window_fallbacks: [{b: [a]}]
  allowed_fails: 2
  cooldown_time: 3
  disable_cooldowns: false
)";
    const LoadResult r = load(router_first ? router + litellm : litellm + router);
    ASSERT_TRUE(r.config) << all_diagnostics(r);
    const RouterSettings& s = r.config->router;
    EXPECT_EQ(s.num_retries, 1) << router_first;
    EXPECT_EQ(s.timeout_seconds, 20) << router_first;
    EXPECT_EQ(groups_of(s.fallbacks), (std::vector<std::string>{"b"})) << router_first;
    EXPECT_EQ(groups_of(s.context_window_fallbacks), (std::vector<std::string>{"b"})) << router_first;
    EXPECT_EQ(s.allowed_fails, 2) << router_first;
    EXPECT_EQ(s.cooldown_time_seconds, 3) << router_first;
    EXPECT_FALSE(s.disable_cooldowns) << router_first;
  }
}

TEST(RouterSettingsLitellm, RequestTimeoutInRouterSettings) {
  const LoadResult r = load("router_settings:\n  request_timeout: 12\n");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->router.timeout_seconds, 12);
}

TEST(RouterSettingsLitellm, ErrorsNameTheLitellmSection) {
  expect_error("litellm_settings:\n  num_retries: many\n", "litellm_settings.num_retries", "integer");
  expect_error("litellm_settings:\n  fallbacks: a\n", "litellm_settings.fallbacks", "must be a list of");
}

// router_settings wins wherever both sections set a key, default_fallbacks included.
TEST(RouterSettingsLitellm, DefaultFallbacksFromRouterSettingsReplaceLitellmSettings) {
  const LoadResult r = load(R"(litellm_settings:
  default_fallbacks: [a]
router_settings:
  default_fallbacks: [b]
)");
  ASSERT_TRUE(r.config) << all_diagnostics(r);
  EXPECT_EQ(r.config->router.default_fallbacks, (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace sy::config
