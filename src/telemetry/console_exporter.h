// Writes each batch of spans as one OTLP/JSON line (an ExportTraceServiceRequest) to a stream, stdout by
// default.
#pragma once

#include <atomic>
#include <cstdio>

#include "telemetry/exporter.h"

namespace sy::telemetry {

class ConsoleExporter final : public SpanExporter {
 public:
  // `out` is not owned and must outlive the exporter.
  explicit ConsoleExporter(std::FILE* out = stdout) noexcept : out_(out) {}

  ExportResult export_spans(SpanBatch spans, const Resource& resource,
                            const InstrumentationScope& scope) noexcept override;
  void shutdown() noexcept override { shut_ = true; }
  std::string_view name() const noexcept override { return "console"; }

 private:
  std::FILE* out_;
  std::atomic<bool> shut_{false};
};

}  // namespace sy::telemetry
