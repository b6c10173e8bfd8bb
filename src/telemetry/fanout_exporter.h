// Sends each batch to several exporters (OTEL_TRACES_EXPORTER=otlp,console); succeeds when all of them do.
#pragma once

#include <memory>
#include <vector>

#include "telemetry/exporter.h"

namespace sy::telemetry {

class FanoutExporter final : public SpanExporter {
 public:
  explicit FanoutExporter(std::vector<std::unique_ptr<SpanExporter>> exporters)
      : exporters_(std::move(exporters)) {}

  ExportResult export_spans(SpanBatch spans, const Resource& resource,
                            const InstrumentationScope& scope) noexcept override {
    ExportResult result = ExportResult::success;
    for (auto& e : exporters_) {
      if (e->export_spans(spans, resource, scope) != ExportResult::success) result = ExportResult::failure;
    }
    return result;
  }
  void shutdown() noexcept override {
    for (auto& e : exporters_) e->shutdown();
  }
  std::string_view name() const noexcept override { return "fanout"; }

 private:
  std::vector<std::unique_ptr<SpanExporter>> exporters_;
};

inline std::unique_ptr<SpanExporter> make_fanout_exporter(
    std::vector<std::unique_ptr<SpanExporter>> exporters) {
  return std::make_unique<FanoutExporter>(std::move(exporters));
}

}  // namespace sy::telemetry
