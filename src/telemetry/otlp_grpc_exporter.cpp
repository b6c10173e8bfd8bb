#include "telemetry/otlp_grpc_exporter.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "telemetry/export_bookkeeping.h"
#include "telemetry/otlp_encoding.h"
#include "telemetry/text.h"

namespace sy::telemetry {
namespace {

using Clock = std::chrono::steady_clock;

// The request goes out as bytes the OTLP encoder wrote (a generic call), and the small response is read by
// our decoder: no message objects, and no libprotobuf.
const std::string kExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#ifdef SWITCHYARD_VERSION
constexpr const char* kUserAgent = "OTel-OTLP-Exporter-Cpp-Switchyard/" SWITCHYARD_VERSION;
constexpr std::string_view kVersion = SWITCHYARD_VERSION;
#else
constexpr const char* kUserAgent = "OTel-OTLP-Exporter-Cpp-Switchyard";
constexpr std::string_view kVersion;
#endif

// The codes the OTLP specification lists as retryable. DEADLINE_EXCEEDED is not among ours: the call's
// deadline is the export's, so once it passes there is no time left to retry in.
bool is_retryable(grpc::StatusCode code) noexcept {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    default:
      return false;
  }
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

// gRPC metadata keys: lowercase letters, digits, '-', '_', '.'; grpc-* is reserved for the library.
bool is_metadata_key(const std::string& key) {
  if (key.empty() || key.rfind("grpc-", 0) == 0) return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// Text metadata values are printable ASCII; "-bin" keys carry arbitrary bytes.
bool is_metadata_value(const std::string& key, const std::string& value) {
  if (key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0) return true;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// ExportTraceServiceResponse.partial_success.rejected_spans; 0 when the response is empty or not one.
std::int64_t rejected_spans(grpc::ByteBuffer& response) {
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return 0;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return decode_rejected_spans(bytes);
}

}  // namespace

struct OtlpGrpcExporter::Impl : ExportBookkeeping {
  OtlpExporterOptions options;
  std::string config_error;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::size_t skipped_headers = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  EncodeBuffer body;  // kept from export to export so its storage is reused

  std::mutex call_mutex;  // guards `current` against shutdown() from another thread
  grpc::ClientContext* current = nullptr;
  std::minstd_rand rng{std::random_device{}()};

  explicit Impl(OtlpExporterOptions o) : options(std::move(o)) {
    std::optional<OtlpEndpoint> ep =
        parse_otlp_endpoint(options.endpoint, /*scheme_optional=*/true, options.insecure);
    if (!ep) {
      config_error = "the endpoint is not http(s)://host:port or host:port";
      return;
    }
    for (const auto& [key, value] : options.headers) {
      std::string k = text::ascii_lower(key);
      if (is_metadata_key(k) && is_metadata_value(k, value)) {
        metadata.emplace_back(std::move(k), value);
      } else {
        ++skipped_headers;
      }
    }
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (ep->tls) {
      grpc::SslCredentialsOptions ssl;
      if (!load_pem(options.certificate_file, "CA certificate file", ssl.pem_root_certs) ||
          !load_pem(options.client_key_file, "client key", ssl.pem_private_key) ||
          !load_pem(options.client_certificate_file, "client certificate", ssl.pem_cert_chain)) {
        return;
      }
      credentials = grpc::SslCredentials(ssl);  // empty roots: gRPC's default (the system store)
    } else {
      credentials = grpc::InsecureChannelCredentials();
    }
    grpc::ChannelArguments args;
    args.SetUserAgentPrefix(kUserAgent);
    // Reconnect soon after a collector restart instead of gRPC's default of up to two minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    const bool v6 = ep->host.find(':') != std::string::npos;
    const std::string target = (v6 ? "[" + ep->host + "]" : ep->host) + ":" + ep->port;
    channel = grpc::CreateCustomChannel(target, credentials, args);
    stub = std::make_unique<grpc::GenericStub>(channel);
  }

  bool load_pem(const std::string& path, const char* what, std::string& out) {
    if (path.empty()) return true;
    std::optional<std::string> pem = read_file(path);
    if (!pem) {
      config_error = std::string("cannot read the ") + what + " " + path;
      return false;
    }
    out = std::move(*pem);
    return true;
  }

  // One unary call, waited for on this thread; false when shutdown() came first.
  bool call(const grpc::ByteBuffer& request, Clock::time_point deadline, grpc::ByteBuffer& response,
            grpc::Status& status) {
    grpc::ClientContext context;
    context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(deadline - Clock::now()));
    for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
    if (options.compression == OtlpExporterOptions::Compression::gzip) {
      context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    }
    {
      std::lock_guard lock(call_mutex);
      if (shut) return false;
      current = &context;
    }
    std::mutex done_mutex;
    std::condition_variable done_cv;
    bool done = false;
    stub->UnaryCall(&context, kExportMethod, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      // Notified under the lock: the waiter cannot return (and destroy these) before it is done.
      std::lock_guard done_lock(done_mutex);
      status = std::move(s);
      done = true;
      done_cv.notify_one();
    });
    {
      std::unique_lock done_lock(done_mutex);
      done_cv.wait(done_lock, [&] { return done; });
    }
    std::lock_guard lock(call_mutex);
    current = nullptr;
    return true;
  }

  ExportResult export_batch(SpanBatch spans, const Resource& resource, const InstrumentationScope& scope) {
    encode_traces_protobuf(spans, resource, scope, body);
    return send(body.view());
  }

  // Sends one encoded request, retrying retryable status codes inside the export deadline; fails at once when
  // the exporter is shut down or its settings cannot work.
  ExportResult send(std::string_view request_bytes) {
    if (!can_export(config_error)) return ExportResult::failure;
    const Clock::time_point deadline = Clock::now() + options.timeout;
    // A copy gRPC owns: it may outlive the call internally.
    grpc::Slice slice(request_bytes.data(), request_bytes.size());
    const grpc::ByteBuffer request(&slice, 1);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int retry = 0;; ++retry) {
      grpc::ByteBuffer response;
      grpc::Status status;
      if (!call(request, deadline, response, status)) {
        fail("the exporter is shut down");
        return ExportResult::failure;
      }
      if (status.ok()) {
        const std::int64_t rejected = rejected_spans(response);
        if (rejected > 0) spans_rejected += static_cast<std::uint64_t>(rejected);
        return ExportResult::success;
      }
      fail("gRPC status " + std::to_string(static_cast<int>(status.error_code())) + ": " +
           status.error_message());
      if (!is_retryable(status.error_code()) || shut) return ExportResult::failure;
      const std::chrono::milliseconds delay = options.retry.backoff(retry, unit(rng));
      if (Clock::now() + delay >= deadline) return ExportResult::failure;
      ++retries;
      if (!sleep_for(delay)) return ExportResult::failure;
    }
  }
};

OtlpGrpcExporter::OtlpGrpcExporter(OtlpExporterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  if (impl_->skipped_headers > 0) {
    impl_->fail(std::to_string(impl_->skipped_headers) +
                " configured header(s) are not valid gRPC metadata and are not sent");
  }
}

OtlpGrpcExporter::~OtlpGrpcExporter() = default;

ExportResult OtlpGrpcExporter::export_spans(SpanBatch spans, const Resource& resource,
                                            const InstrumentationScope& scope) noexcept {
  if (spans.empty()) return ExportResult::success;
  return impl_->counted(
      spans.size(), [&] { return impl_->export_batch(spans, resource, scope); }, [] {});
}

ExportResult OtlpGrpcExporter::export_request(std::string_view request, std::size_t count) noexcept {
  if (count == 0) return ExportResult::success;
  return impl_->counted(
      count, [&] { return impl_->send(request); }, [] {});
}

void OtlpGrpcExporter::shutdown() noexcept {
  {
    std::lock_guard lock(impl_->call_mutex);
    impl_->shut = true;
    if (impl_->current) impl_->current->TryCancel();
  }
  impl_->wake_sleepers();
}

std::string_view OtlpGrpcExporter::name() const noexcept {
  return "otlp_grpc";
}

OtlpExportStats OtlpGrpcExporter::stats() const noexcept {
  return impl_->stats();
}

std::string OtlpGrpcExporter::last_error() const {
  return impl_->last_error();
}

}  // namespace sy::telemetry

extern "C" __attribute__((visibility("default"))) sy::telemetry::SpanExporter*
switchyard_make_otlp_grpc_exporter(const sy::telemetry::OtlpExporterOptions& options,
                                   const char* gateway_version, std::size_t options_size) noexcept {
  static_assert(
      std::is_same_v<decltype(switchyard_make_otlp_grpc_exporter), sy::telemetry::MakeOtlpGrpcExporter>);
  if (options_size != sizeof(sy::telemetry::OtlpExporterOptions) || gateway_version == nullptr ||
      std::string_view(gateway_version) != sy::telemetry::kVersion) {
    return nullptr;
  }
  try {
    return new sy::telemetry::OtlpGrpcExporter(options);
  } catch (...) {
    return nullptr;
  }
}
