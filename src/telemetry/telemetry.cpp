#include "telemetry/telemetry.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>

#include "telemetry/exporter_factory.h"
#include "telemetry/fanout_exporter.h"
#include "telemetry/otlp_options.h"
#include "telemetry/text.h"

namespace sy::telemetry {
namespace {

std::string lower_trimmed(std::string_view s) {
  return text::ascii_lower(text::trim(s));
}

// A boolean variable: "true" or "false" in any case; anything else warns and counts as false.
bool env_true(const EnvLookup& env, std::string_view name, Warnings& warnings) {
  auto v = env(name);
  if (!v) return false;
  const std::string value = lower_trimmed(*v);
  if (value != "true" && value != "false") {
    warnings.push_back(std::string(name) + ": expected true or false; using false");
  }
  return value == "true";
}

// A non-negative integer variable; malformed: warning and the default.
template <class T>
T env_count(const EnvLookup& env, std::string_view name, T fallback, Warnings& warnings) {
  auto v = env(name);
  if (!v || v->empty()) return fallback;
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || ptr != v->data() + v->size()) {
    warnings.push_back(std::string(name) + ": expected a non-negative integer; using the default");
    return fallback;
  }
  return static_cast<T>(n);
}

std::chrono::milliseconds env_ms(const EnvLookup& env, std::string_view name,
                                 std::chrono::milliseconds fallback, Warnings& warnings) {
  return std::chrono::milliseconds(env_count<std::int64_t>(env, name, fallback.count(), warnings));
}

void set_resource(Resource& r, std::string key, AttributeValue value) {
  for (auto& a : r.attributes) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  r.attributes.push_back(Attribute{std::move(key), std::move(value)});
}

Resource resource_from_env(const EnvLookup& env, std::string_view service_version, Warnings& warnings) {
  Resource r;
  set_resource(r, "service.name", std::string("unknown_service:switchyard"));
  set_resource(r, "service.version", std::string(service_version));
  set_resource(r, "telemetry.sdk.name", std::string("switchyard"));
  set_resource(r, "telemetry.sdk.language", std::string("cpp"));
  set_resource(r, "telemetry.sdk.version", std::string(service_version));
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) set_resource(r, "host.name", std::string(host));
  set_resource(r, "process.pid", static_cast<std::int64_t>(getpid()));
  if (auto attrs = env("OTEL_RESOURCE_ATTRIBUTES")) {
    // All or nothing, as the spec says: one malformed member discards the whole value.
    std::vector<std::pair<std::string, std::string>> pairs;
    bool malformed = false;
    const std::string_view list = *attrs;
    text::for_each_item(list, ',', [&](std::string_view pair) {
      auto eq = pair.find('=');
      std::string key =
          eq == std::string_view::npos ? std::string() : std::string(text::trim(pair.substr(0, eq)));
      if (key.empty()) {
        const bool last = pair.data() + pair.size() == list.data() + list.size();
        malformed = !text::trim(pair).empty() || !last;  // only a trailing empty member is tolerated
        return !malformed;
      }
      pairs.emplace_back(std::move(key), text::percent_decode_lenient(text::trim(pair.substr(eq + 1))));
      return true;
    });
    if (malformed) {
      warnings.push_back("OTEL_RESOURCE_ATTRIBUTES: malformed (expected key=value,key2=value2); ignored");
    } else {
      for (auto& [k, v] : pairs) set_resource(r, std::move(k), std::move(v));
    }
  }
  // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
  if (auto name = env("OTEL_SERVICE_NAME"); name && !name->empty()) set_resource(r, "service.name", *name);
  return r;
}

}  // namespace

TelemetrySettings settings_from_env(const EnvLookup& raw_env, std::string_view service_version,
                                    Warnings& warnings) {
  const EnvLookup env = ignoring_empty(raw_env);  // empty means unset, as the spec says
  TelemetrySettings s;
  s.sdk_disabled = env_true(env, "OTEL_SDK_DISABLED", warnings);
  // The spec's default exporter is otlp; a gateway that nobody told where to send traces keeps them to itself
  // rather than knock on localhost:4318 for every batch. Any OTLP endpoint variable, or OTEL_TRACES_EXPORTER,
  // turns export on.
  const bool endpoint_given = env("OTEL_EXPORTER_OTLP_ENDPOINT") || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  std::string exporters =
      lower_trimmed(env("OTEL_TRACES_EXPORTER").value_or(endpoint_given ? "otlp" : "none"));
  text::for_each_item(exporters, ',', [&](std::string_view item) {
    const std::string name = lower_trimmed(item);
    if (name == "otlp" || name == "console") {
      if (std::find(s.exporters.begin(), s.exporters.end(), name) == s.exporters.end())
        s.exporters.push_back(name);
    } else if (name == "none") {
      s.exporters.clear();
      return false;
    } else if (!name.empty()) {
      warnings.push_back("OTEL_TRACES_EXPORTER: unsupported exporter '" + name + "' ignored");
    }
    return true;
  });
  s.propagators = env("OTEL_PROPAGATORS").value_or("tracecontext,baggage");
  const std::string ids = lower_trimmed(env("OTEL_SWITCHYARD_ID_GENERATOR").value_or("random"));
  s.xray_ids = ids == "xray";
  if (ids != "xray" && ids != "random") {
    warnings.push_back("OTEL_SWITCHYARD_ID_GENERATOR: expected random or xray; using random");
  }
  s.capture_message_content = env_true(env, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", warnings);
  s.batch.max_queue_size = env_count<std::size_t>(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, warnings);
  s.batch.max_export_batch_size =
      env_count<std::size_t>(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, warnings);
  s.batch.schedule_delay = env_ms(env, "OTEL_BSP_SCHEDULE_DELAY", std::chrono::milliseconds(5000), warnings);
  s.batch.export_timeout = env_ms(env, "OTEL_BSP_EXPORT_TIMEOUT", std::chrono::milliseconds(30000), warnings);
  // Bounds that keep a typo from costing the process: a queue of at most 1M spans, delays between 1 ms and a
  // day.
  constexpr std::size_t kMaxQueue = 1u << 20;
  if (s.batch.max_queue_size > kMaxQueue) {
    warnings.push_back("OTEL_BSP_MAX_QUEUE_SIZE: at most 1048576; using 1048576");
    s.batch.max_queue_size = kMaxQueue;
  }
  for (auto* delay : {&s.batch.schedule_delay, &s.batch.export_timeout}) {
    if (delay->count() < 1 || delay->count() > 86'400'000) {
      warnings.push_back(
          "OTEL_BSP_SCHEDULE_DELAY/OTEL_BSP_EXPORT_TIMEOUT: between 1 and 86400000 ms; clamped");
      *delay = std::chrono::milliseconds(std::clamp<std::int64_t>(delay->count(), 1, 86'400'000));
    }
  }
  if (s.batch.max_queue_size == 0) {
    warnings.push_back("OTEL_BSP_MAX_QUEUE_SIZE: must be positive; using 2048");
    s.batch.max_queue_size = 2048;
  }
  if (s.batch.max_export_batch_size == 0 || s.batch.max_export_batch_size > s.batch.max_queue_size) {
    warnings.push_back("OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must be positive and at most the queue size");
    s.batch.max_export_batch_size = std::min<std::size_t>(512, s.batch.max_queue_size);
  }
  const std::size_t general_attrs = env_count<std::size_t>(env, "OTEL_ATTRIBUTE_COUNT_LIMIT", 128, warnings);
  s.limits.attribute_count =
      env_count<std::size_t>(env, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", general_attrs, warnings);
  s.limits.event_count = env_count<std::size_t>(env, "OTEL_SPAN_EVENT_COUNT_LIMIT", 128, warnings);
  s.limits.link_count = env_count<std::size_t>(env, "OTEL_SPAN_LINK_COUNT_LIMIT", 128, warnings);
  s.limits.event_attribute_count =
      env_count<std::size_t>(env, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", 128, warnings);
  s.limits.link_attribute_count =
      env_count<std::size_t>(env, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", 128, warnings);
  s.limits.attribute_value_length = env_count<std::size_t>(
      env, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
      env_count<std::size_t>(env, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0, warnings), warnings);
  s.resource = resource_from_env(env, service_version, warnings);
  return s;
}

std::unique_ptr<Telemetry> Telemetry::create(const EnvLookup& env, std::string_view service_version,
                                             Warnings& warnings, Diagnostics diagnostics) {
  TelemetrySettings s = settings_from_env(env, service_version, warnings);
  const EnvLookup nonempty_env = ignoring_empty(env);
  if (s.sdk_disabled) return nullptr;
  auto t = std::unique_ptr<Telemetry>(new Telemetry());
  t->propagators_ = Propagators::from_list(s.propagators, warnings);
  t->capture_message_content_ = s.capture_message_content;

  std::vector<std::unique_ptr<SpanExporter>> exporters;
  for (const std::string& name : s.exporters) {
    if (name == "console") {
      exporters.push_back(make_console_exporter());
    } else {
      OtlpExporterOptions options = otlp_options_from_env(nonempty_env, warnings);
      // TLS files are read by the exporter when it first connects; say now, at start, if one cannot be read.
      for (const std::string* file :
           {&options.certificate_file, &options.client_key_file, &options.client_certificate_file}) {
        if (!file->empty() && !std::ifstream(*file).good()) {
          warnings.push_back("OTLP exporter: cannot read the TLS file " + *file + "; exports will fail");
        }
      }
      options.timeout = std::min(options.timeout, s.batch.export_timeout);
      if (auto e = make_otlp_exporter(options, warnings)) exporters.push_back(std::move(e));
    }
  }
  std::unique_ptr<SpanExporter> exporter;
  if (exporters.size() == 1) {
    exporter = std::move(exporters.front());
  } else if (exporters.size() > 1) {
    exporter = make_fanout_exporter(std::move(exporters));
  }
  // Nothing to export to: no spans, and no trace headers sent upstream either (a sampled traceparent would
  // promise a parent span that never arrives anywhere).
  if (!exporter) return nullptr;
  t->processor_ = std::make_shared<BatchSpanProcessor>(
      s.batch, std::move(exporter), s.resource,
      InstrumentationScope{"switchyard", std::string(service_version)}, std::move(diagnostics));
  t->tracer_ = std::make_unique<Tracer>(Sampler::from_env(nonempty_env, warnings), IdGenerator(s.xray_ids),
                                        s.limits, t->processor_);
  return t;
}

void Telemetry::shutdown(std::chrono::milliseconds timeout) noexcept {
  if (processor_) processor_->shutdown(timeout);
}

}  // namespace sy::telemetry
