// Unit tests for the SDK's environment contract (telemetry.h): settings_from_env with an injected environment
// (OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_BSP_*, OTEL_PROPAGATORS, resource, span limits, ...) and
// Telemetry::create for the disabled, "none" and "console" cases (never the network-bound otlp exporter).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "telemetry/telemetry.h"

namespace sy::telemetry {
namespace {

using namespace std::chrono_literals;
using Vars = std::map<std::string, std::string>;

EnvLookup env_of(Vars vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TelemetrySettings settings(Vars vars, Warnings& w) {
  return settings_from_env(env_of(std::move(vars)), "1.2.3", w);
}

const AttributeValue* resource_value(const TelemetrySettings& s, std::string_view key) {
  for (const Attribute& a : s.resource.attributes) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

std::string resource_string(const TelemetrySettings& s, std::string_view key) {
  const AttributeValue* v = resource_value(s, key);
  if (!v || !std::holds_alternative<std::string>(*v)) return "<missing>";
  return std::get<std::string>(*v);
}

bool mentions(const Warnings& w, std::string_view what) {
  return std::any_of(w.begin(), w.end(),
                     [&](const std::string& m) { return m.find(what) != std::string::npos; });
}

std::string joined(const Warnings& w) {
  std::string out;
  for (const auto& m : w) out += "[" + m + "] ";
  return out;
}

// ---- defaults ----

TEST(TelemetryEnvDefaults, EmptyEnvironment) {
  Warnings w;
  TelemetrySettings s = settings({}, w);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_FALSE(s.sdk_disabled);
  // Documented deviation from the spec's default (docs/observability.md): without OTEL_TRACES_EXPORTER or an
  // OTLP endpoint variable nothing is exported.
  EXPECT_TRUE(s.exporters.empty());
  EXPECT_EQ(s.propagators, "tracecontext,baggage");
  EXPECT_FALSE(s.xray_ids);
  EXPECT_FALSE(s.capture_message_content);
  EXPECT_EQ(s.batch.max_queue_size, 2048u);
  EXPECT_EQ(s.batch.max_export_batch_size, 512u);
  EXPECT_EQ(s.batch.schedule_delay, 5000ms);
  EXPECT_EQ(s.batch.export_timeout, 30000ms);
  EXPECT_EQ(s.limits.attribute_count, 128u);
  EXPECT_EQ(s.limits.event_count, 128u);
  EXPECT_EQ(s.limits.attribute_value_length, 0u);
}

TEST(TelemetryEnvDefaults, AnOtlpEndpointTurnsOtlpExportOn) {
  Warnings w;
  EXPECT_EQ(settings({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4317"}}, w).exporters,
            (std::vector<std::string>{"otlp"}));
  EXPECT_EQ(settings({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://tempo:4318/v1/traces"}}, w).exporters,
            (std::vector<std::string>{"otlp"}));
  EXPECT_TRUE(
      settings({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4317"}, {"OTEL_TRACES_EXPORTER", "none"}}, w)
          .exporters.empty());
  EXPECT_EQ(
      settings({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4317"}, {"OTEL_TRACES_EXPORTER", "console"}},
               w)
          .exporters,
      (std::vector<std::string>{"console"}));
  EXPECT_TRUE(w.empty()) << joined(w);
}

TEST(TelemetryEnvDefaults, EmptyEndpointIsNotAnEndpoint) {
  // OTel environment-variable spec: an empty value is the same as unset (compose files often pass
  // OTEL_EXPORTER_OTLP_ENDPOINT=${OTEL_EXPORTER_OTLP_ENDPOINT:-}).
  Warnings w;
  EXPECT_TRUE(settings({{"OTEL_EXPORTER_OTLP_ENDPOINT", ""}}, w).exporters.empty());
  EXPECT_TRUE(settings({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""}}, w).exporters.empty());
}

TEST(TelemetryEnvDefaults, EmptyValuesAreTreatedAsUnset) {
  // OTel environment-variable spec: "The SDK MUST interpret an empty value of an environment variable the
  // same way as when the variable is unset."
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_SDK_DISABLED", ""},
                                  {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4317"},
                                  {"OTEL_TRACES_EXPORTER", ""},
                                  {"OTEL_PROPAGATORS", ""},
                                  {"OTEL_SERVICE_NAME", ""},
                                  {"OTEL_RESOURCE_ATTRIBUTES", ""},
                                  {"OTEL_BSP_MAX_QUEUE_SIZE", ""},
                                  {"OTEL_BSP_SCHEDULE_DELAY", ""},
                                  {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", ""}},
                                 w);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_FALSE(s.sdk_disabled);
  EXPECT_EQ(s.exporters, (std::vector<std::string>{"otlp"}));
  EXPECT_EQ(s.propagators, "tracecontext,baggage");
  EXPECT_EQ(resource_string(s, "service.name"), "unknown_service:switchyard");
  EXPECT_EQ(s.batch.max_queue_size, 2048u);
  EXPECT_EQ(s.batch.schedule_delay, 5000ms);
  EXPECT_EQ(s.limits.attribute_count, 128u);
}

// ---- OTEL_SDK_DISABLED and other booleans ----

TEST(TelemetryEnvSdkDisabled, TrueInAnyCase) {
  for (const char* v : {"true", "TRUE", "True", " true "}) {
    Warnings w;
    EXPECT_TRUE(settings({{"OTEL_SDK_DISABLED", v}}, w).sdk_disabled) << v;
    EXPECT_TRUE(w.empty()) << v;
  }
}

TEST(TelemetryEnvSdkDisabled, FalseAndOtherValuesAreFalse) {
  for (const char* v : {"false", "FALSE", "1", "yes", "on"}) {
    Warnings w;
    EXPECT_FALSE(settings({{"OTEL_SDK_DISABLED", v}}, w).sdk_disabled) << v;
  }
}

TEST(TelemetryEnvSdkDisabled, NonBooleanValuesWarn) {
  // OTel environment-variable spec (Boolean): a value other than true, false, empty or unset is false, and "a
  // warning SHOULD be logged to inform users about the fallback to false being applied".
  Warnings w;
  settings({{"OTEL_SDK_DISABLED", "1"}}, w);
  EXPECT_TRUE(mentions(w, "OTEL_SDK_DISABLED")) << joined(w);
  Warnings w2;
  settings({{"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "yes"}}, w2);
  EXPECT_TRUE(mentions(w2, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")) << joined(w2);
  Warnings none;
  settings({{"OTEL_SDK_DISABLED", "false"}, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "False"}},
           none);
  EXPECT_TRUE(none.empty()) << joined(none);
}

TEST(TelemetryEnvCapture, MessageContentCapture) {
  Warnings w;
  EXPECT_TRUE(
      settings({{"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"}}, w).capture_message_content);
  EXPECT_TRUE(
      settings({{"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "TRUE"}}, w).capture_message_content);
  EXPECT_FALSE(
      settings({{"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false"}}, w).capture_message_content);
  EXPECT_FALSE(settings({}, w).capture_message_content);
}

// ---- OTEL_TRACES_EXPORTER ----

TEST(TelemetryEnvExporters, SingleValues) {
  Warnings w;
  EXPECT_EQ(settings({{"OTEL_TRACES_EXPORTER", "otlp"}}, w).exporters, (std::vector<std::string>{"otlp"}));
  EXPECT_EQ(settings({{"OTEL_TRACES_EXPORTER", "console"}}, w).exporters,
            (std::vector<std::string>{"console"}));
  EXPECT_TRUE(settings({{"OTEL_TRACES_EXPORTER", "none"}}, w).exporters.empty());
  EXPECT_TRUE(w.empty()) << joined(w);
}

TEST(TelemetryEnvExporters, Lists) {
  Warnings w;
  EXPECT_EQ(settings({{"OTEL_TRACES_EXPORTER", "otlp,console"}}, w).exporters,
            (std::vector<std::string>{"otlp", "console"}));
  EXPECT_EQ(settings({{"OTEL_TRACES_EXPORTER", " console , otlp "}}, w).exporters,
            (std::vector<std::string>{"console", "otlp"}));
  EXPECT_EQ(settings({{"OTEL_TRACES_EXPORTER", "otlp,otlp,console,otlp"}}, w).exporters,
            (std::vector<std::string>{"otlp", "console"}));
  EXPECT_TRUE(settings({{"OTEL_TRACES_EXPORTER", "otlp,none"}}, w).exporters.empty());
  EXPECT_TRUE(w.empty()) << joined(w);
}

TEST(TelemetryEnvExporters, UnknownWarnsAndIsSkipped) {
  Warnings w;
  EXPECT_EQ(settings({{"OTEL_TRACES_EXPORTER", "zipkin,console"}}, w).exporters,
            (std::vector<std::string>{"console"}));
  ASSERT_EQ(w.size(), 1u) << joined(w);
  EXPECT_NE(w[0].find("zipkin"), std::string::npos);
  EXPECT_NE(w[0].find("OTEL_TRACES_EXPORTER"), std::string::npos);
  Warnings w2;
  EXPECT_TRUE(settings({{"OTEL_TRACES_EXPORTER", "jaeger"}}, w2).exporters.empty());
  EXPECT_TRUE(mentions(w2, "jaeger"));
}

// ---- OTEL_BSP_* ----

TEST(TelemetryEnvBatch, ParsesValues) {
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                                  {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"},
                                  {"OTEL_BSP_SCHEDULE_DELAY", "250"},
                                  {"OTEL_BSP_EXPORT_TIMEOUT", "1000"}},
                                 w);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_EQ(s.batch.max_queue_size, 100u);
  EXPECT_EQ(s.batch.max_export_batch_size, 10u);
  EXPECT_EQ(s.batch.schedule_delay, 250ms);
  EXPECT_EQ(s.batch.export_timeout, 1000ms);
}

TEST(TelemetryEnvBatch, BatchEqualToQueueIsFine) {
  Warnings w;
  TelemetrySettings s =
      settings({{"OTEL_BSP_MAX_QUEUE_SIZE", "64"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"}}, w);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_EQ(s.batch.max_export_batch_size, 64u);
}

TEST(TelemetryEnvBatch, MalformedValuesWarnAndUseDefaults) {
  for (const char* bad : {"abc", "-1", "1.5", "10ms", "0x10", " "}) {
    Warnings w;
    TelemetrySettings s = settings({{"OTEL_BSP_MAX_QUEUE_SIZE", bad},
                                    {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", bad},
                                    {"OTEL_BSP_SCHEDULE_DELAY", bad},
                                    {"OTEL_BSP_EXPORT_TIMEOUT", bad}},
                                   w);
    EXPECT_EQ(s.batch.max_queue_size, 2048u) << bad;
    EXPECT_EQ(s.batch.max_export_batch_size, 512u) << bad;
    EXPECT_EQ(s.batch.schedule_delay, 5000ms) << bad;
    EXPECT_EQ(s.batch.export_timeout, 30000ms) << bad;
    EXPECT_TRUE(mentions(w, "OTEL_BSP_MAX_QUEUE_SIZE")) << bad << ": " << joined(w);
    EXPECT_TRUE(mentions(w, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")) << bad << ": " << joined(w);
    EXPECT_TRUE(mentions(w, "OTEL_BSP_SCHEDULE_DELAY")) << bad << ": " << joined(w);
    EXPECT_TRUE(mentions(w, "OTEL_BSP_EXPORT_TIMEOUT")) << bad << ": " << joined(w);
  }
}

TEST(TelemetryEnvBatch, BatchLargerThanQueueWarns) {
  Warnings w;
  TelemetrySettings s =
      settings({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"}}, w);
  EXPECT_TRUE(mentions(w, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")) << joined(w);
  EXPECT_EQ(s.batch.max_queue_size, 100u);
  EXPECT_LE(s.batch.max_export_batch_size, s.batch.max_queue_size);
  EXPECT_EQ(s.batch.max_export_batch_size, 100u);

  Warnings w2;
  TelemetrySettings d =
      settings({{"OTEL_BSP_MAX_QUEUE_SIZE", "10000"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20000"}}, w2);
  EXPECT_TRUE(mentions(w2, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")) << joined(w2);
  EXPECT_EQ(d.batch.max_export_batch_size, 512u);  // the default, which fits
}

TEST(TelemetryEnvBatch, DefaultBatchShrinksToASmallQueue) {
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"}}, w);
  EXPECT_EQ(s.batch.max_queue_size, 100u);
  EXPECT_LE(s.batch.max_export_batch_size, 100u);
}

TEST(TelemetryEnvBatch, ZeroSizesWarnAndUseDefaults) {
  Warnings w;
  TelemetrySettings s =
      settings({{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"}}, w);
  EXPECT_TRUE(mentions(w, "OTEL_BSP_MAX_QUEUE_SIZE")) << joined(w);
  EXPECT_TRUE(mentions(w, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")) << joined(w);
  EXPECT_EQ(s.batch.max_queue_size, 2048u);
  EXPECT_EQ(s.batch.max_export_batch_size, 512u);
}

// ---- propagators, id generator ----

TEST(TelemetryEnvPropagators, PassedThrough) {
  Warnings w;
  EXPECT_EQ(settings({{"OTEL_PROPAGATORS", "xray"}}, w).propagators, "xray");
  EXPECT_EQ(settings({{"OTEL_PROPAGATORS", "tracecontext,baggage,xray"}}, w).propagators,
            "tracecontext,baggage,xray");
  EXPECT_EQ(settings({{"OTEL_PROPAGATORS", "none"}}, w).propagators, "none");
}

TEST(TelemetryEnvIds, XrayIdGenerator) {
  Warnings w;
  EXPECT_TRUE(settings({{"OTEL_SWITCHYARD_ID_GENERATOR", "xray"}}, w).xray_ids);
  EXPECT_TRUE(settings({{"OTEL_SWITCHYARD_ID_GENERATOR", "XRay"}}, w).xray_ids);
  EXPECT_FALSE(settings({{"OTEL_SWITCHYARD_ID_GENERATOR", "random"}}, w).xray_ids);
  EXPECT_FALSE(settings({}, w).xray_ids);
}

// ---- resource ----

TEST(TelemetryEnvResource, Defaults) {
  Warnings w;
  TelemetrySettings s = settings({}, w);
  EXPECT_EQ(resource_string(s, "service.name"), "unknown_service:switchyard");
  EXPECT_EQ(resource_string(s, "service.version"), "1.2.3");
  EXPECT_EQ(resource_string(s, "telemetry.sdk.name"), "switchyard");
  EXPECT_EQ(resource_string(s, "telemetry.sdk.language"), "cpp");
  EXPECT_EQ(resource_string(s, "telemetry.sdk.version"), "1.2.3");
  const AttributeValue* pid = resource_value(s, "process.pid");
  ASSERT_NE(pid, nullptr);
  ASSERT_TRUE(std::holds_alternative<std::int64_t>(*pid));
  EXPECT_EQ(std::get<std::int64_t>(*pid), static_cast<std::int64_t>(getpid()));
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(resource_string(s, "host.name"), host);
  // Each key once.
  std::vector<std::string> keys;
  for (const Attribute& a : s.resource.attributes) keys.emplace_back(a.key.view());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end());
}

TEST(TelemetryEnvResource, ServiceName) {
  Warnings w;
  EXPECT_EQ(resource_string(settings({{"OTEL_SERVICE_NAME", "litellm-gateway"}}, w), "service.name"),
            "litellm-gateway");
  EXPECT_TRUE(w.empty());
}

TEST(TelemetryEnvResource, ResourceAttributesArePercentDecoded) {
  Warnings w;
  TelemetrySettings s =
      settings({{"OTEL_RESOURCE_ATTRIBUTES",
                 "deployment.environment=prod, team = ml%20platform ,note=a%2Cb%3Dc%25,utf=caf%C3%A9"}},
               w);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_EQ(resource_string(s, "deployment.environment"), "prod");
  EXPECT_EQ(resource_string(s, "team"), "ml platform");
  EXPECT_EQ(resource_string(s, "note"), "a,b=c%");
  EXPECT_EQ(resource_string(s, "utf"), "caf\xc3\xa9");
  // Defaults are still there.
  EXPECT_EQ(resource_string(s, "service.name"), "unknown_service:switchyard");
  EXPECT_EQ(resource_string(s, "telemetry.sdk.language"), "cpp");
}

TEST(TelemetryEnvResource, ServiceNameFromResourceAttributes) {
  Warnings w;
  TelemetrySettings s =
      settings({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,service.namespace=llm"}}, w);
  EXPECT_EQ(resource_string(s, "service.name"), "from-attrs");
  EXPECT_EQ(resource_string(s, "service.namespace"), "llm");
}

TEST(TelemetryEnvResource, ServiceNameVariableWinsOverResourceAttributes) {
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,team=a"},
                                  {"OTEL_SERVICE_NAME", "litellm-gateway"}},
                                 w);
  EXPECT_EQ(resource_string(s, "service.name"), "litellm-gateway");
  EXPECT_EQ(resource_string(s, "team"), "a");
  int count = 0;
  for (const Attribute& a : s.resource.attributes) count += a.key == "service.name";
  EXPECT_EQ(count, 1);
}

TEST(TelemetryEnvResource, MalformedResourceAttributesWarnAndAreDiscarded) {
  // OTel resource SDK spec: on any error in OTEL_RESOURCE_ATTRIBUTES "the entire environment variable value
  // SHOULD be discarded and an error SHOULD be reported".
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_RESOURCE_ATTRIBUTES", "good=1,novalue,also=2"}}, w);
  EXPECT_TRUE(mentions(w, "OTEL_RESOURCE_ATTRIBUTES")) << joined(w);
  EXPECT_EQ(resource_value(s, "novalue"), nullptr);
  EXPECT_EQ(resource_value(s, "good"), nullptr);
  EXPECT_EQ(resource_value(s, "also"), nullptr);
  EXPECT_EQ(resource_string(s, "service.name"), "unknown_service:switchyard");
}

// ---- span limits ----

TEST(TelemetryEnvLimits, SpanSpecificVariables) {
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"},
                                  {"OTEL_SPAN_EVENT_COUNT_LIMIT", "5"},
                                  {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"}},
                                 w);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_EQ(s.limits.attribute_count, 10u);
  EXPECT_EQ(s.limits.event_count, 5u);
  EXPECT_EQ(s.limits.attribute_value_length, 100u);
}

TEST(TelemetryEnvLimits, GeneralVariablesAreTheFallback) {
  Warnings w;
  TelemetrySettings s =
      settings({{"OTEL_ATTRIBUTE_COUNT_LIMIT", "20"}, {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50"}}, w);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_EQ(s.limits.attribute_count, 20u);
  EXPECT_EQ(s.limits.attribute_value_length, 50u);
  EXPECT_EQ(s.limits.event_count, 128u);
}

TEST(TelemetryEnvLimits, SpanSpecificWinsOverGeneral) {
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_ATTRIBUTE_COUNT_LIMIT", "20"},
                                  {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "30"},
                                  {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50"},
                                  {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "60"}},
                                 w);
  EXPECT_EQ(s.limits.attribute_count, 30u);
  EXPECT_EQ(s.limits.attribute_value_length, 60u);
}

TEST(TelemetryEnvLimits, MalformedLimitsWarnAndUseDefaults) {
  Warnings w;
  TelemetrySettings s = settings({{"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "many"},
                                  {"OTEL_SPAN_EVENT_COUNT_LIMIT", "-3"},
                                  {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1k"}},
                                 w);
  EXPECT_TRUE(mentions(w, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")) << joined(w);
  EXPECT_TRUE(mentions(w, "OTEL_SPAN_EVENT_COUNT_LIMIT")) << joined(w);
  EXPECT_TRUE(mentions(w, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT")) << joined(w);
  EXPECT_EQ(s.limits.attribute_count, 128u);
  EXPECT_EQ(s.limits.event_count, 128u);
  EXPECT_EQ(s.limits.attribute_value_length, 0u);
}

// ---- Telemetry::create ----

TEST(TelemetryEnvCreate, SdkDisabledReturnsNull) {
  Warnings w;
  // The exporter settings would point at a collector: nothing may be built, so nothing can connect.
  auto t = Telemetry::create(env_of({{"OTEL_SDK_DISABLED", "true"},
                                     {"OTEL_TRACES_EXPORTER", "otlp"},
                                     {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"}}),
                             "1.2.3", w);
  EXPECT_EQ(t, nullptr);
}

TEST(TelemetryEnvCreate, ExporterNoneMeansNoTracingAtAll) {
  // Nothing to export to: no tracer, so no span and no trace header is sent upstream either.
  Warnings w;
  EXPECT_EQ(Telemetry::create(env_of({{"OTEL_TRACES_EXPORTER", "none"}}), "1.2.3", w), nullptr);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_EQ(Telemetry::create(env_of({}), "1.2.3", w), nullptr);  // no exporter and no endpoint configured
}

TEST(TelemetryEnvCreate, PropagatorsSamplerIdsAndCaptureComeFromTheEnvironment) {
  Warnings w;
  auto t = Telemetry::create(env_of({{"OTEL_TRACES_EXPORTER", "console"},
                                     {"OTEL_PROPAGATORS", "xray"},
                                     {"OTEL_TRACES_SAMPLER", "always_off"},
                                     {"OTEL_SWITCHYARD_ID_GENERATOR", "xray"},
                                     {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"}}),
                             "1.2.3", w);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(w.empty()) << joined(w);
  EXPECT_TRUE(t->capture_message_content());
  const auto before = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  Span s = t->tracer().start_span("x", SpanKind::server, SpanContext{});
  EXPECT_FALSE(s.context().sampled());
  const TraceId& id = s.context().trace_id;
  const std::uint32_t secs = (std::uint32_t(id[0]) << 24) | (std::uint32_t(id[1]) << 16) |
                             (std::uint32_t(id[2]) << 8) | std::uint32_t(id[3]);
  EXPECT_GE(secs, before);
  EXPECT_LE(secs, before + 5);
  std::map<std::string, std::string> headers;
  t->propagators().inject(s.context(), Baggage{}, [&](std::string_view name, std::string_view value) {
    headers[std::string(name)] = std::string(value);
  });
  EXPECT_EQ(headers.count("traceparent"), 0u);
  ASSERT_EQ(headers.count("X-Amzn-Trace-Id"), 1u);
  EXPECT_EQ(headers["X-Amzn-Trace-Id"].substr(0, 7), "Root=1-");
  EXPECT_NE(headers["X-Amzn-Trace-Id"].find(";Sampled=0"), std::string::npos);
}

TEST(TelemetryEnvCreate, UnknownPropagatorAndSamplerWarn) {
  Warnings w;
  auto t = Telemetry::create(env_of({{"OTEL_TRACES_EXPORTER", "console"},
                                     {"OTEL_PROPAGATORS", "b3multi"},
                                     {"OTEL_TRACES_SAMPLER", "nope"}}),
                             "1.2.3", w);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(mentions(w, "b3multi")) << joined(w);
  EXPECT_TRUE(mentions(w, "nope")) << joined(w);
}

TEST(TelemetryEnvCreate, ConsoleExporterRecordsAndWritesSpans) {
  Warnings w;
  auto t = Telemetry::create(env_of({{"OTEL_TRACES_EXPORTER", "console"},
                                     {"OTEL_SERVICE_NAME", "console-test-service"},
                                     {"OTEL_BSP_SCHEDULE_DELAY", "60000"}}),
                             "1.2.3", w);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(w.empty()) << joined(w);
  ASSERT_NE(t->processor(), nullptr);
  testing::internal::CaptureStdout();
  {
    Span s = t->tracer().start_span("console-span-name", SpanKind::server, SpanContext{});
    EXPECT_TRUE(s.recording());
    s.set_attribute("llm.provider", "mock");
  }
  t->shutdown(2000ms);  // flushes the queued span to stdout
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(t->processor()->exported(), 1u);
  EXPECT_NE(out.find("console-span-name"), std::string::npos) << out;
  EXPECT_NE(out.find("console-test-service"), std::string::npos) << out;
  EXPECT_NE(out.find("llm.provider"), std::string::npos) << out;
}

}  // namespace
}  // namespace sy::telemetry
