// The tracing SDK as the gateway uses it, configured from the standard OTEL_* environment variables:
// resource, sampler, propagators, exporters (otlp, console, none) behind one batch processor, and shutdown
// with a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "telemetry/batch_processor.h"
#include "telemetry/env.h"
#include "telemetry/propagation.h"
#include "telemetry/tracer.h"

namespace sy::telemetry {

struct TelemetrySettings {
  bool sdk_disabled = false;  // OTEL_SDK_DISABLED=true
  std::vector<std::string>
      exporters;  // OTEL_TRACES_EXPORTER (default: otlp when an endpoint is set, else none)
  std::string propagators = "tracecontext,baggage";
  bool xray_ids = false;                 // OTEL_SWITCHYARD_ID_GENERATOR=xray
  bool capture_message_content = false;  // OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true
  BatchSettings batch;
  SpanLimits limits;
  Resource resource;
};

// Reads every OTEL_* variable the SDK honours; malformed values become warnings and defaults.
TelemetrySettings settings_from_env(const EnvLookup& env, std::string_view service_version,
                                    Warnings& warnings);

class Telemetry {
 public:
  using Diagnostics = BatchSpanProcessor::Diagnostics;

  // Null when the SDK is disabled. Exporter set-up problems are warnings; the gateway runs regardless.
  static std::unique_ptr<Telemetry> create(const EnvLookup& env, std::string_view service_version,
                                           Warnings& warnings, Diagnostics diagnostics = {});

  const Tracer& tracer() const noexcept { return *tracer_; }
  const Propagators& propagators() const noexcept { return propagators_; }
  bool capture_message_content() const noexcept { return capture_message_content_; }
  // Flushes what is queued within `timeout`, then stops exporting.
  void shutdown(std::chrono::milliseconds timeout) noexcept;
  const BatchSpanProcessor* processor() const noexcept { return processor_.get(); }

 private:
  std::shared_ptr<BatchSpanProcessor> processor_;
  std::unique_ptr<Tracer> tracer_;
  Propagators propagators_;
  bool capture_message_content_ = false;
};

}  // namespace sy::telemetry
