#include "telemetry/exporter_factory.h"

#include "telemetry/console_exporter.h"
#include "telemetry/otlp_grpc_exporter.h"
#include "telemetry/otlp_http_exporter.h"

namespace sy::telemetry {

std::unique_ptr<SpanExporter> make_otlp_exporter(const OtlpExporterOptions& options) {
  if (options.protocol == OtlpExporterOptions::Protocol::grpc)
    return std::make_unique<OtlpGrpcExporter>(options);
  return std::make_unique<OtlpHttpExporter>(options);
}

std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out) {
  return std::make_unique<ConsoleExporter>(out);
}

}  // namespace sy::telemetry
