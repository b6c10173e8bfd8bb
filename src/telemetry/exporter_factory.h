// Builds span exporters from their settings: OTLP over gRPC or HTTP per the protocol, and the console
// exporter.
#pragma once

#include <cstdio>
#include <memory>

#include "telemetry/exporter.h"
#include "telemetry/otlp_options.h"

namespace sy::telemetry {

// OtlpGrpcExporter for Protocol::grpc, OtlpHttpExporter (protobuf or JSON) otherwise. Never null; bad
// settings surface as failed exports rather than exceptions.
std::unique_ptr<SpanExporter> make_otlp_exporter(const OtlpExporterOptions& options);

// One OTLP/JSON line per batch on `out` (not owned).
std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out = stdout);

}  // namespace sy::telemetry
