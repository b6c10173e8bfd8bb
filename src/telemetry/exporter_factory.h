// Builds span exporters from their settings: OTLP over gRPC or HTTP per the protocol, and the console
// exporter.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "telemetry/env.h"
#include "telemetry/exporter.h"
#include "telemetry/otlp_options.h"

namespace sy::telemetry {

// OtlpGrpcExporter for Protocol::grpc (loaded from its module, see load_otlp_grpc_exporter), OtlpHttpExporter
// (protobuf or JSON) otherwise. Never null; bad settings surface as failed exports rather than exceptions,
// and a module that cannot be loaded as a warning.
std::unique_ptr<SpanExporter> make_otlp_exporter(const OtlpExporterOptions& options, Warnings& warnings);

// The OTLP/gRPC exporter from the first of `modules` that loads (default: libswitchyard_otlp_grpc.so beside
// the running executable, then in ../lib/switchyard/ from it). When none loads, an exporter named
// "otlp_grpc" whose exports all fail, and a warning that says which files were tried and why they failed.
std::unique_ptr<SpanExporter> load_otlp_grpc_exporter(const OtlpExporterOptions& options, Warnings& warnings,
                                                      const std::vector<std::filesystem::path>& modules);
std::vector<std::filesystem::path> default_otlp_grpc_modules();

// One OTLP/JSON line per batch on `out` (not owned).
std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out = stdout);

}  // namespace sy::telemetry
