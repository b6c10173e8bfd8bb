// Unit tests for the OTLP/gRPC exporter against an in-process TraceService on 127.0.0.1 (port 0).
#include "telemetry/otlp_grpc_exporter.h"

#include <dlfcn.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "telemetry/exporter_factory.h"

namespace sy::telemetry {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A TraceService that answers from a script of status codes (then OK) and records requests and metadata.
class ScriptedTraceService final : public collector::TraceService::Service {
 public:
  struct Call {
    collector::ExportTraceServiceRequest request;
    std::multimap<std::string, std::string> metadata;
  };

  explicit ScriptedTraceService(std::deque<grpc::StatusCode> script = {}, std::int64_t rejected = 0)
      : script_(std::move(script)), rejected_(rejected) {}

  grpc::Status Export(grpc::ServerContext* context, const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse* response) override {
    std::lock_guard lock(mutex_);
    Call call{*request, {}};
    for (const auto& [k, v] : context->client_metadata()) {
      call.metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    calls_.push_back(std::move(call));
    if (!script_.empty()) {
      grpc::StatusCode code = script_.front();
      script_.pop_front();
      if (code != grpc::StatusCode::OK) return grpc::Status(code, "scripted failure");
    }
    if (rejected_ > 0) {
      response->mutable_partial_success()->set_rejected_spans(rejected_);
      response->mutable_partial_success()->set_error_message("too old");
    }
    return grpc::Status::OK;
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<grpc::StatusCode> script_;
  std::int64_t rejected_;
  std::vector<Call> calls_;
};

// The service running on a loopback port for the lifetime of the object.
class LoopbackGrpcCollector {
 public:
  explicit LoopbackGrpcCollector(std::deque<grpc::StatusCode> script = {}, std::int64_t rejected = 0)
      : service_(std::move(script), rejected) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~LoopbackGrpcCollector() { server_->Shutdown(std::chrono::system_clock::now() + 1s); }

  int port() const { return port_; }
  std::vector<ScriptedTraceService::Call> calls() const { return service_.calls(); }

 private:
  ScriptedTraceService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

std::vector<SpanData> two_spans() {
  std::vector<SpanData> spans(2);
  EXPECT_TRUE(from_hex("4bf92f3577b34da6a3ce929d0e0e4736", spans[0].trace_id));
  EXPECT_TRUE(from_hex("00f067aa0ba902b7", spans[0].span_id));
  spans[0].name = "POST /v1/chat/completions";
  spans[0].kind = SpanKind::server;
  spans[0].attributes = {{"llm.tokens.prompt", std::int64_t{12}}};
  spans[1] = spans[0];
  EXPECT_TRUE(from_hex("b7ad6b7169203331", spans[1].span_id));
  spans[1].parent_span_id = spans[0].span_id;
  spans[1].name = "chat mock-model";
  spans[1].kind = SpanKind::client;
  return spans;
}

Resource resource() {
  return Resource{{{"service.name", std::string("litellm-gateway")}}};
}

OtlpExporterOptions options_for(int port, std::chrono::milliseconds timeout = 5s) {
  OtlpExporterOptions o;
  o.protocol = OtlpExporterOptions::Protocol::grpc;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port);
  o.timeout = timeout;
  o.retry.initial_backoff = 20ms;
  return o;
}

std::string metadata_value(const ScriptedTraceService::Call& call, const std::string& key) {
  auto it = call.metadata.find(key);
  return it == call.metadata.end() ? "<missing>" : it->second;
}

TEST(OtlpGrpcExporterTest, ExportsSpansWithMetadata) {
  LoopbackGrpcCollector server;
  ASSERT_GT(server.port(), 0);
  OtlpExporterOptions o = options_for(server.port());
  o.headers = {{"X-Api-Key", "s3cret"}, {"x-tenant", "acme"}};
  OtlpGrpcExporter exporter(o);
  EXPECT_EQ(exporter.name(), "otlp_grpc");
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {"switchyard", "0.1.0"}), ExportResult::success)
      << exporter.last_error();

  auto calls = server.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(metadata_value(calls[0], "x-api-key"), "s3cret");  // keys lowercased
  EXPECT_EQ(metadata_value(calls[0], "x-tenant"), "acme");
  EXPECT_EQ(metadata_value(calls[0], "user-agent").rfind("OTel-OTLP-Exporter-Cpp", 0), 0u);
  const auto& rs = calls[0].request.resource_spans(0);
  EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "litellm-gateway");
  EXPECT_EQ(rs.scope_spans(0).scope().version(), "0.1.0");
  ASSERT_EQ(rs.scope_spans(0).spans_size(), 2);
  EXPECT_EQ(rs.scope_spans(0).spans(0).attributes(0).value().int_value(), 12);
  EXPECT_EQ(rs.scope_spans(0).spans(1).parent_span_id(), rs.scope_spans(0).spans(0).span_id());
  EXPECT_EQ(exporter.stats().batches_exported, 1u);
  EXPECT_EQ(exporter.stats().spans_exported, 2u);
}

TEST(OtlpGrpcExporterTest, EndpointWithoutSchemeAndInsecure) {
  LoopbackGrpcCollector server;
  OtlpExporterOptions o = options_for(server.port());
  o.endpoint = "127.0.0.1:" + std::to_string(server.port());
  o.insecure = true;
  OtlpGrpcExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  EXPECT_EQ(server.calls().size(), 1u);
}

TEST(OtlpGrpcExporterTest, GzipCompressedExportArrivesIntact) {
  LoopbackGrpcCollector server;
  OtlpExporterOptions o = options_for(server.port());
  o.compression = OtlpExporterOptions::Compression::gzip;
  OtlpGrpcExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  auto calls = server.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request.resource_spans(0).scope_spans(0).spans_size(), 2);
}

TEST(OtlpGrpcExporterTest, RetriesUnavailableThenSucceeds) {
  LoopbackGrpcCollector server({grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::RESOURCE_EXHAUSTED});
  OtlpGrpcExporter exporter(options_for(server.port()));
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(server.calls().size(), 3u);
  EXPECT_EQ(exporter.stats().retries, 2u);
}

TEST(OtlpGrpcExporterTest, NonRetryableStatusFailsAtOnce) {
  LoopbackGrpcCollector server({grpc::StatusCode::INVALID_ARGUMENT});
  OtlpExporterOptions o = options_for(server.port());
  o.headers = {{"x-api-key", "s3cret-value"}};
  OtlpGrpcExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_EQ(server.calls().size(), 1u);
  EXPECT_EQ(exporter.stats().retries, 0u);
  EXPECT_EQ(exporter.stats().batches_failed, 1u);
  EXPECT_NE(exporter.last_error().find("scripted failure"), std::string::npos) << exporter.last_error();
  EXPECT_EQ(exporter.last_error().find("s3cret"), std::string::npos);
}

TEST(OtlpGrpcExporterTest, CountsRejectedSpans) {
  LoopbackGrpcCollector server({}, /*rejected=*/2);
  OtlpGrpcExporter exporter(options_for(server.port()));
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success);
  EXPECT_EQ(exporter.stats().spans_rejected, 2u);
  EXPECT_EQ(server.calls().size(), 1u);
}

TEST(OtlpGrpcExporterTest, CollectorDownFailsWithinTheTimeout) {
  int port = 0;
  {
    LoopbackGrpcCollector gone;
    port = gone.port();
  }
  OtlpGrpcExporter exporter(options_for(port, 500ms));
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_FALSE(exporter.last_error().empty());
}

TEST(OtlpGrpcExporterTest, ShutdownInterruptsRetriesAndFailsLaterExports) {
  std::deque<grpc::StatusCode> always_unavailable(1000, grpc::StatusCode::UNAVAILABLE);
  LoopbackGrpcCollector server(always_unavailable);
  OtlpExporterOptions o = options_for(server.port(), 10s);
  o.retry.initial_backoff = 500ms;
  OtlpGrpcExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    exporter.shutdown();
  });
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  stopper.join();
  EXPECT_LT(Clock::now() - start, 2s);
  const std::size_t calls = server.calls().size();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_EQ(server.calls().size(), calls);
}

TEST(OtlpGrpcExporterTest, InvalidMetadataIsNotSent) {
  LoopbackGrpcCollector server;
  OtlpExporterOptions o = options_for(server.port());
  o.headers = {{"good", "yes"}, {"bad key", "v"}, {"grpc-timeout", "1S"}, {"x-nonascii", "caf\xc3\xa9"}};
  OtlpGrpcExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  auto calls = server.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(metadata_value(calls[0], "good"), "yes");
  EXPECT_EQ(calls[0].metadata.count("x-nonascii"), 0u);
}

TEST(OtlpGrpcExporterTest, UnreadableCertificateFailsAtOnce) {
  OtlpExporterOptions o;
  o.protocol = OtlpExporterOptions::Protocol::grpc;
  o.endpoint = "https://127.0.0.1:4317";
  o.certificate_file = "/nonexistent/ca.pem";
  OtlpGrpcExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_NE(exporter.last_error().find("/nonexistent/ca.pem"), std::string::npos) << exporter.last_error();
}

// ---- the module the gateway loads the exporter from ----

// The file the object's code comes from (its vtable's): this test binary also has the exporter compiled in.
std::string library_of(const SpanExporter* object) {
  Dl_info info{};
  const void* vtable = *reinterpret_cast<const void* const*>(object);
  if (dladdr(vtable, &info) == 0 || info.dli_fname == nullptr) return "<unknown>";
  return info.dli_fname;
}

bool from_module(const SpanExporter* exporter) {
  return library_of(exporter).ends_with(std::string("/") + kOtlpGrpcModuleFile);
}

TEST(OtlpGrpcModuleTest, TheFactoryLoadsTheExporterFromItsModuleBesideTheExecutable) {
  LoopbackGrpcCollector server;
  Warnings warnings;
  std::unique_ptr<SpanExporter> exporter = make_otlp_exporter(options_for(server.port()), warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(exporter->name(), "otlp_grpc");
  EXPECT_TRUE(from_module(exporter.get())) << library_of(exporter.get());
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter->export_spans(spans, resource(), {}), ExportResult::success);
  auto calls = server.calls();
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_EQ(calls[0].request.resource_spans_size(), 1);
  ASSERT_EQ(calls[0].request.resource_spans(0).scope_spans_size(), 1);
  EXPECT_EQ(calls[0].request.resource_spans(0).scope_spans(0).spans_size(), 2);
  exporter->shutdown();
  EXPECT_EQ(exporter->export_spans(spans, resource(), {}), ExportResult::failure);
}

TEST(OtlpGrpcModuleTest, TheModuleSaysWhichGatewayVersionItIs) {
  LoopbackGrpcCollector server;
  Warnings warnings;
  std::unique_ptr<SpanExporter> exporter = make_otlp_exporter(options_for(server.port()), warnings);
  ASSERT_TRUE(from_module(exporter.get())) << library_of(exporter.get());
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter->export_spans(spans, resource(), {}), ExportResult::success);
  auto calls = server.calls();
  ASSERT_EQ(calls.size(), 1u);
  const std::string ua = metadata_value(calls[0], "user-agent");
  EXPECT_EQ(ua.rfind("OTel-OTLP-Exporter-Cpp-Switchyard/" SWITCHYARD_VERSION " ", 0), 0u) << ua;
}

TEST(OtlpGrpcModuleTest, TheModuleRefusesAGatewayOfAnotherBuild) {
  std::vector<std::filesystem::path> modules = default_otlp_grpc_modules();
  ASSERT_FALSE(modules.empty());
  void* handle = dlopen(modules[0].c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto* make = reinterpret_cast<MakeOtlpGrpcExporter*>(dlsym(handle, kMakeOtlpGrpcExporterSymbol));
  ASSERT_NE(make, nullptr);
  const OtlpExporterOptions options = options_for(4317);
  EXPECT_EQ(make(options, "0.0.0-other", sizeof(OtlpExporterOptions)), nullptr) << "another version";
  EXPECT_EQ(make(options, SWITCHYARD_VERSION, sizeof(OtlpExporterOptions) + 8), nullptr) << "another layout";
  EXPECT_EQ(make(options, nullptr, sizeof(OtlpExporterOptions)), nullptr);
  std::unique_ptr<SpanExporter> same(make(options, SWITCHYARD_VERSION, sizeof(OtlpExporterOptions)));
  EXPECT_NE(same, nullptr);
  same.reset();
  dlclose(handle);
}

TEST(OtlpGrpcModuleTest, TriesEachCandidateInTurn) {
  std::vector<std::filesystem::path> modules = default_otlp_grpc_modules();
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[0].filename(), kOtlpGrpcModuleFile);
  EXPECT_EQ(modules[1].parent_path().filename(), "switchyard");
  modules.insert(modules.begin(), "/nonexistent/libswitchyard_otlp_grpc.so");
  Warnings warnings;
  std::unique_ptr<SpanExporter> exporter = load_otlp_grpc_exporter(options_for(4317), warnings, modules);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_TRUE(from_module(exporter.get())) << library_of(exporter.get());
}

TEST(OtlpGrpcModuleTest, WithoutTheModuleTheGatewayWarnsAndItsExportsFail) {
  Warnings warnings;
  // A file that does not exist, and a library without our entry point.
  std::unique_ptr<SpanExporter> exporter = load_otlp_grpc_exporter(
      options_for(4317), warnings, {"/nonexistent/libswitchyard_otlp_grpc.so", "libz.so.1"});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("/nonexistent/libswitchyard_otlp_grpc.so"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find(kMakeOtlpGrpcExporterSymbol), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"), std::string::npos) << warnings[0];
  EXPECT_EQ(exporter->name(), "otlp_grpc");
  EXPECT_FALSE(from_module(exporter.get()));
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter->export_spans(spans, resource(), {}), ExportResult::failure);
}

}  // namespace
}  // namespace sy::telemetry
