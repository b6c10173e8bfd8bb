// Sends span batches to an OTLP/gRPC collector (opentelemetry.proto.collector.trace.v1.TraceService/Export)
// over one channel, retrying retryable status codes inside the export deadline.
//
// Built as a module of its own (libswitchyard_otlp_grpc.so) that the gateway loads only when the gRPC
// protocol is configured: gRPC++ and the ~40 libraries it needs cost ~6 MB of resident memory from the moment
// they are mapped, which every gateway that exports over HTTP, or not at all, would otherwise pay.
#pragma once

#include <cstddef>
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
  bool takes_encoded_requests() const noexcept override { return true; }
  ExportResult export_request(std::string_view request, std::size_t count) noexcept override;
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

// The module's entry point, looked up by this name after the module is loaded: a new exporter the caller
// owns (deleting it runs the module's code, so the module stays loaded), or null if it could not be made or
// the module was built for another gateway (`gateway_version` and the size of the options the gateway passes
// must be the module's own: a stale module would read the options with another layout).
using MakeOtlpGrpcExporter = SpanExporter*(const OtlpExporterOptions& options, const char* gateway_version,
                                           std::size_t options_size) noexcept;
inline constexpr const char* kMakeOtlpGrpcExporterSymbol = "switchyard_make_otlp_grpc_exporter";
inline constexpr const char* kOtlpGrpcModuleFile = "libswitchyard_otlp_grpc.so";

}  // namespace sy::telemetry
