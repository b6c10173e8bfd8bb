// Sends span batches to an OTLP/gRPC collector (opentelemetry.proto.collector.trace.v1.TraceService/Export)
// over one channel, retrying retryable status codes inside the export deadline.
#pragma once

#include <memory>
#include <string>

#include "telemetry/exporter.h"
#include "telemetry/otlp_options.h"

namespace sy::telemetry {

class OtlpGrpcExporter final : public SpanExporter {
 public:
  // Never throws on bad settings (unusable endpoint, unreadable certificate): exports then fail and
  // last_error() says why. Creating the channel does not connect; the first export does.
  explicit OtlpGrpcExporter(OtlpExporterOptions options);
  ~OtlpGrpcExporter() override;
  OtlpGrpcExporter(const OtlpGrpcExporter&) = delete;
  OtlpGrpcExporter& operator=(const OtlpGrpcExporter&) = delete;

  // Blocking unary calls on the calling (export) thread until success, a non-retryable status, or the
  // timeout.
  ExportResult export_spans(SpanBatch spans, const Resource& resource,
                            const InstrumentationScope& scope) noexcept override;
  // Thread-safe: cancels a call in flight and any backoff wait; later exports fail at once.
  void shutdown() noexcept override;
  std::string_view name() const noexcept override;

  OtlpExportStats stats() const noexcept;
  // The most recent failure (gRPC status or setup error), never a metadata value; empty before any failure.
  std::string last_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sy::telemetry
