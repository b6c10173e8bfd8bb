// The exporter interface: sends a batch of finished spans somewhere (OTLP over gRPC or HTTP, the console).
// Exporters are called from the batch processor's export thread only, one batch at a time, and never throw.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include "telemetry/span_batch.h"
#include "telemetry/span_data.h"

namespace sy::telemetry {

enum class ExportResult { success, failure };

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Sends one batch, retrying retryable failures within the exporter's timeout. Blocks the export thread
  // only. The spans are the caller's and valid during the call only (the batch processor clears and reuses
  // them right after): an exporter that keeps anything copies it.
  virtual ExportResult export_spans(SpanBatch spans, const Resource& resource,
                                    const InstrumentationScope& scope) noexcept = 0;
  // Whether the batch processor may hand this exporter whole requests it encoded itself (export_request)
  // instead of span records: exporters that send OTLP protobuf. The processor then encodes spans a few dozen
  // at a time as they end, and hands their records back at once, while they are still in cache.
  virtual bool takes_encoded_requests() const noexcept { return false; }
  // Sends `request`, an ExportTraceServiceRequest (TracesRequestWriter's) holding `count` spans; as
  // export_spans otherwise.
  virtual ExportResult export_request(std::string_view request, std::size_t count) noexcept {
    (void)request, (void)count;
    return ExportResult::failure;
  }
  // Releases connections; later exports fail at once.
  virtual void shutdown() noexcept {}
  virtual std::string_view name() const noexcept = 0;
};

}  // namespace sy::telemetry
