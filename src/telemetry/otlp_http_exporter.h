// Sends span batches to an OTLP/HTTP collector (POST .../v1/traces, protobuf or JSON, optional gzip, http or
// https), reusing one keep-alive connection and retrying retryable failures inside the export deadline.
#pragma once

#include <memory>
#include <string>

#include "telemetry/exporter.h"
#include "telemetry/otlp_options.h"

namespace sy::telemetry {

class OtlpHttpExporter final : public SpanExporter {
 public:
  // Never throws on bad settings (unusable endpoint, unreadable certificate): exports then fail and
  // last_error() says why.
  explicit OtlpHttpExporter(OtlpExporterOptions options);
  ~OtlpHttpExporter() override;
  OtlpHttpExporter(const OtlpHttpExporter&) = delete;
  OtlpHttpExporter& operator=(const OtlpHttpExporter&) = delete;

  // Synchronous: runs its own io_context on the calling (export) thread until success, a non-retryable
  // failure, or the options' timeout.
  ExportResult export_spans(SpanBatch spans, const Resource& resource,
                            const InstrumentationScope& scope) noexcept override;
  // With protobuf (not JSON) bodies.
  bool takes_encoded_requests() const noexcept override;
  ExportResult export_request(std::string_view request, std::size_t count) noexcept override;
  // Thread-safe: interrupts a running export's waits; later exports fail at once.
  void shutdown() noexcept override;
  std::string_view name() const noexcept override;

  OtlpExportStats stats() const noexcept;
  // The most recent failure (status code or transport error), never a header value; empty before any failure.
  std::string last_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sy::telemetry
