#include "telemetry/exporter_factory.h"

#include <dlfcn.h>

#include <string>
#include <system_error>

#include "telemetry/console_exporter.h"
#include "telemetry/otlp_grpc_exporter.h"
#include "telemetry/otlp_http_exporter.h"

namespace sy::telemetry {
namespace {

// Stands in for the gRPC exporter when its module is missing: the gateway serves, its spans are dropped.
class UnloadedGrpcExporter final : public SpanExporter {
 public:
  ExportResult export_spans(SpanBatch, const Resource&, const InstrumentationScope&) noexcept override {
    return ExportResult::failure;
  }
  std::string_view name() const noexcept override { return "otlp_grpc"; }
};

#ifdef SWITCHYARD_VERSION
constexpr const char* kGatewayVersion = SWITCHYARD_VERSION;
#else
constexpr const char* kGatewayVersion = "";
#endif

}  // namespace

std::vector<std::filesystem::path> default_otlp_grpc_modules() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const std::filesystem::path dir = exe.parent_path();
  return {dir / kOtlpGrpcModuleFile, dir.parent_path() / "lib" / "switchyard" / kOtlpGrpcModuleFile};
}

std::unique_ptr<SpanExporter> load_otlp_grpc_exporter(const OtlpExporterOptions& options, Warnings& warnings,
                                                      const std::vector<std::filesystem::path>& modules) {
  std::string tried;
  for (const std::filesystem::path& module : modules) {
    // Kept open once it has made an exporter: the exporter runs its code until the process ends.
    void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
    std::string error;
    if (handle == nullptr) {
      const char* e = dlerror();
      error = e ? e : "cannot be loaded";
    } else if (void* symbol = dlsym(handle, kMakeOtlpGrpcExporterSymbol); symbol == nullptr) {
      const char* e = dlerror();
      error = e ? e : "no entry point";
    } else {
      auto* make = reinterpret_cast<MakeOtlpGrpcExporter*>(symbol);
      if (SpanExporter* exporter = make(options, kGatewayVersion, sizeof(OtlpExporterOptions))) {
        return std::unique_ptr<SpanExporter>(exporter);
      }
      error.assign("not built with this gateway (version ").append(kGatewayVersion);
      error.append("), or it could not create the exporter");
    }
    if (handle != nullptr) dlclose(handle);
    if (!tried.empty()) tried += "; ";
    tried.append(module.string()).append(": ").append(error);
  }
  if (modules.empty()) tried = "no module path (the executable's directory is unknown)";
  warnings.push_back("OTLP exporter: the gRPC exporter module cannot be loaded (" + tried +
                     "); spans are dropped. Install it beside the switchyard binary, or use "
                     "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf");
  return std::make_unique<UnloadedGrpcExporter>();
}

std::unique_ptr<SpanExporter> make_otlp_exporter(const OtlpExporterOptions& options, Warnings& warnings) {
  if (options.protocol == OtlpExporterOptions::Protocol::grpc)
    return load_otlp_grpc_exporter(options, warnings, default_otlp_grpc_modules());
  return std::make_unique<OtlpHttpExporter>(options);
}

std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out) {
  return std::make_unique<ConsoleExporter>(out);
}

}  // namespace sy::telemetry
