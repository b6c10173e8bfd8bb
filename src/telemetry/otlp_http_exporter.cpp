#include "telemetry/otlp_http_exporter.h"

#include <zlib.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>

#include "telemetry/export_bookkeeping.h"
#include "telemetry/otlp_encoding.h"

namespace sy::telemetry {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
// The request body is a view of the exporter's reused encode buffers: no copy into the request.
using Request = http::request<http::span_body<const char>>;

constexpr std::size_t kResponseBodyLimit = 1 << 20;  // a collector's answer is a few bytes; refuse a flood
#ifdef SWITCHYARD_VERSION
constexpr std::string_view kUserAgent = "OTel-OTLP-Exporter-Cpp-Switchyard/" SWITCHYARD_VERSION;
#else
constexpr std::string_view kUserAgent = "OTel-OTLP-Exporter-Cpp-Switchyard";
#endif

// Compresses `in` into `out` (emptied first, its storage reused); false on failure.
bool gzip(std::string_view in, EncodeBuffer& out) {
  out.clear();
  if (in.size() > UINT_MAX / 2) return false;
  z_stream zs{};
  // 15 window bits + 16: a gzip wrapper rather than a zlib one, as Content-Encoding: gzip requires.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  const std::size_t bound = deflateBound(&zs, static_cast<uLong>(in.size()));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.prepare(bound));
  zs.avail_out = static_cast<uInt>(bound);
  const int rc = deflate(&zs, Z_FINISH);
  out.commit(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

bool is_retryable_status(unsigned status) noexcept {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// Retry-After as delay-seconds; the HTTP-date form is rare from collectors and falls back to our own backoff.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 9) return std::nullopt;
  std::int64_t seconds = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::milliseconds(seconds * 1000);
}

// Rejected-span count from a 2xx body (ExportTraceServiceResponse.partial_success), protobuf or JSON.
std::uint64_t rejected_spans(std::string_view body, bool json_body) {
  if (body.empty()) return 0;
  if (!json_body) {
    return static_cast<std::uint64_t>(decode_rejected_spans(body));
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return 0;
  const auto* partial = v.as_object().if_contains("partialSuccess");
  if (!partial || !partial->is_object()) return 0;
  const auto* n = partial->as_object().if_contains("rejectedSpans");
  if (!n) return 0;
  if (n->is_int64()) return n->as_int64() > 0 ? static_cast<std::uint64_t>(n->as_int64()) : 0;
  if (n->is_uint64()) return n->as_uint64();
  if (n->is_string()) {
    std::uint64_t out = 0;
    for (char c : n->as_string()) {
      if (c < '0' || c > '9') return 0;
      out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return out;
  }
  return 0;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The outcome of one request on the wire.
struct Attempt {
  enum class Kind { ok, retryable, fatal } kind = Kind::fatal;
  std::optional<std::chrono::milliseconds> retry_after;
  bool stale_connection = false;  // a reused connection failed before any response byte: retry at once, fresh
  std::string error;
  std::uint64_t rejected = 0;
};

}  // namespace

struct OtlpHttpExporter::Impl : ExportBookkeeping {
  OtlpExporterOptions options;
  std::optional<OtlpEndpoint> endpoint;
  std::string host_header;
  std::string config_error;  // set when the settings cannot work: every export fails with it
  bool json_body = false;

  asio::io_context ioc;
  tcp::resolver resolver{ioc};
  std::optional<ssl::context> tls;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool connected = false;

  std::minstd_rand rng{std::random_device{}()};

  // The encoded bodies, kept from export to export so their storage is reused.
  EncodeBuffer protobuf_body;
  std::string json_body_text;
  EncodeBuffer compressed_body;

  explicit Impl(OtlpExporterOptions o) : options(std::move(o)) {
    json_body = options.protocol == OtlpExporterOptions::Protocol::http_json;
    endpoint = parse_otlp_endpoint(options.endpoint);
    if (!endpoint) {
      config_error = "the endpoint is not an http:// or https:// URL";
      return;
    }
    const bool default_port = endpoint->port == (endpoint->tls ? "443" : "80");
    const bool v6 = endpoint->host.find(':') != std::string::npos;
    host_header =
        (v6 ? "[" + endpoint->host + "]" : endpoint->host) + (default_port ? "" : ":" + endpoint->port);
    if (endpoint->tls) setup_tls();
  }

  void setup_tls() {
    boost::system::error_code ec;
    tls.emplace(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls->set_verify_mode(ssl::verify_peer, ec);
    if (!options.certificate_file.empty()) {
      if (tls->load_verify_file(options.certificate_file, ec); ec) {
        config_error =
            "cannot load the CA certificate file " + options.certificate_file + ": " + ec.message();
      }
    } else if (tls->set_default_verify_paths(ec); ec) {
      config_error = "cannot load the system certificate store: " + ec.message();
    }
    if (!options.client_certificate_file.empty() &&
        (tls->use_certificate_chain_file(options.client_certificate_file, ec), ec)) {
      config_error =
          "cannot load the client certificate " + options.client_certificate_file + ": " + ec.message();
    }
    if (!options.client_key_file.empty() &&
        (tls->use_private_key_file(options.client_key_file, ssl::context::pem, ec), ec)) {
      config_error = "cannot load the client key " + options.client_key_file + ": " + ec.message();
    }
  }

  beast::tcp_stream& lowest() { return secure ? secure->next_layer() : *plain; }

  void close() noexcept {
    boost::system::error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) secure->next_layer().socket().close(ignored);
    plain.reset();
    secure.reset();
    buffer.clear();
    connected = false;
  }

  // Runs the io_context until the operation that `start` began completes, or the deadline passes (or
  // shutdown() stops the loop): then the socket and resolver are cancelled and the result is timed_out.
  // Completion state is shared with the handler so a resolver that finishes late writes into memory that
  // still exists.
  template <class Start>
  beast::error_code run(Clock::time_point deadline, Start&& start) {
    struct Done {
      bool done = false;
      beast::error_code ec;
    };
    auto state = std::make_shared<Done>();
    start([state](beast::error_code ec) {
      state->ec = ec;
      state->done = true;
    });
    ioc.restart();
    while (!state->done) {
      if (ioc.run_one_until(deadline) == 0 && !state->done) {
        resolver.cancel();
        boost::system::error_code ignored;
        if (plain || secure) lowest().socket().close(ignored);
        // A closed socket completes its operations at once; drain them so nothing outlives the stream.
        for (int i = 0; !state->done && i < 100; ++i) {
          if (ioc.stopped()) ioc.restart();  // shutdown() may stop the loop again meanwhile
          ioc.run_one_for(std::chrono::milliseconds(10));
        }
        connected = false;
        return asio::error::timed_out;
      }
    }
    return state->ec;
  }

  beast::error_code connect(Clock::time_point deadline) {
    close();
    auto results = std::make_shared<tcp::resolver::results_type>();
    beast::error_code ec = run(deadline, [&](auto done) {
      resolver.async_resolve(endpoint->host, endpoint->port,
                             [results, done](beast::error_code e, tcp::resolver::results_type r) mutable {
                               *results = std::move(r);
                               done(e);
                             });
    });
    if (ec) return ec;
    if (endpoint->tls) {
      secure.emplace(ioc, *tls);
    } else {
      plain.emplace(ioc);
    }
    ec = run(deadline, [&](auto done) {
      lowest().async_connect(*results,
                             [done](beast::error_code e, const tcp::endpoint&) mutable { done(e); });
    });
    if (ec) return ec;
    boost::system::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (endpoint->tls) {
      if (!is_ip_literal(endpoint->host) &&
          !SSL_set_tlsext_host_name(secure->native_handle(), const_cast<char*>(endpoint->host.c_str()))) {
        return beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
      }
      secure->set_verify_callback(ssl::host_name_verification(endpoint->host));
      ec = run(deadline, [&](auto done) { secure->async_handshake(ssl::stream_base::client, done); });
      if (ec) return ec;
    }
    connected = true;
    return {};
  }

  template <class Stream>
  Attempt exchange(Stream& stream, const Request& req, Clock::time_point deadline, bool reused) {
    Attempt a;
    beast::error_code ec = run(deadline, [&](auto done) {
      http::async_write(stream, req, [done](beast::error_code e, std::size_t) mutable { done(e); });
    });
    if (ec) {
      close();
      a.kind = Attempt::Kind::retryable;
      a.stale_connection = reused && ec != asio::error::timed_out;
      a.error = "sending the request: " + ec.message();
      return a;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kResponseBodyLimit);
    ec = run(deadline, [&](auto done) {
      http::async_read(stream, buffer, parser, [done](beast::error_code e, std::size_t) mutable { done(e); });
    });
    if (ec) {
      const bool nothing_received = !parser.got_some();
      close();
      a.kind = Attempt::Kind::retryable;
      a.stale_connection = reused && nothing_received && ec != asio::error::timed_out;
      a.error = "reading the response: " + ec.message();
      return a;
    }
    const auto& res = parser.get();
    if (!res.keep_alive()) close();
    const unsigned status = res.result_int();
    if (status >= 200 && status < 300) {
      a.kind = Attempt::Kind::ok;
      a.rejected = rejected_spans(res.body(), json_body);
      return a;
    }
    a.error = "the collector answered HTTP " + std::to_string(status);
    if (is_retryable_status(status)) {
      a.kind = Attempt::Kind::retryable;
      if (auto it = res.find(http::field::retry_after); it != res.end())
        a.retry_after = parse_retry_after(it->value());
    } else {
      a.kind = Attempt::Kind::fatal;
    }
    return a;
  }

  Attempt send_once(const Request& req, Clock::time_point deadline) {
    const bool reused = connected;
    if (!connected) {
      if (beast::error_code ec = connect(deadline)) {
        close();
        Attempt a;
        a.kind = Attempt::Kind::retryable;
        a.error = "connecting to " + host_header + ": " + ec.message();
        return a;
      }
    }
    return secure ? exchange(*secure, req, deadline, reused) : exchange(*plain, req, deadline, reused);
  }

  // The request carrying `body` (an encoded ExportTraceServiceRequest), compressed when so configured.
  std::optional<Request> build_request(std::string_view body) {
    Request req{http::verb::post, endpoint->target, 11};
    // The configured headers go first so the protocol's own (content type, encoding, length) always win.
    for (const auto& [key, value] : options.headers) req.insert(key, value);
    req.set(http::field::host, host_header);
    req.set(http::field::user_agent, kUserAgent);
    req.set(http::field::content_type, json_body ? "application/json" : "application/x-protobuf");
    if (options.compression == OtlpExporterOptions::Compression::gzip) {
      if (!gzip(body, compressed_body)) return std::nullopt;
      body = compressed_body.view();
      req.set(http::field::content_encoding, "gzip");
    }
    req.keep_alive(true);
    req.body() = {body.data(), body.size()};
    req.prepare_payload();
    return req;
  }

  ExportResult export_batch(SpanBatch spans, const Resource& resource, const InstrumentationScope& scope) {
    if (json_body) {
      json_body_text = encode_traces_json(spans, resource, scope);
      return send(json_body_text);
    }
    encode_traces_protobuf(spans, resource, scope, protobuf_body);
    return send(protobuf_body.view());
  }

  // Sends one encoded request, retrying retryable failures inside the export deadline; fails at once when
  // the exporter is shut down or its settings cannot work.
  ExportResult send(std::string_view body) {
    if (!can_export(config_error)) return ExportResult::failure;
    const Clock::time_point deadline = Clock::now() + options.timeout;
    std::optional<Request> req = build_request(body);
    if (!req) {
      fail("gzip compression failed");
      return ExportResult::failure;
    }
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    bool fresh_connection_tried = false;
    for (int retry = 0;;) {
      Attempt a = send_once(*req, deadline);
      if (a.kind == Attempt::Kind::ok) {
        spans_rejected += a.rejected;
        return ExportResult::success;
      }
      fail(std::move(a.error));
      if (a.kind == Attempt::Kind::fatal || shut || Clock::now() >= deadline) return ExportResult::failure;
      if (a.stale_connection && !fresh_connection_tried) {
        fresh_connection_tried =
            true;  // the collector closed an idle connection: not the collector's failure
        continue;
      }
      const std::chrono::milliseconds delay =
          a.retry_after ? *a.retry_after : options.retry.backoff(retry, unit(rng));
      if (Clock::now() + delay >= deadline) return ExportResult::failure;
      ++retries;
      ++retry;
      if (!sleep_for(delay)) return ExportResult::failure;
    }
  }
};

OtlpHttpExporter::OtlpHttpExporter(OtlpExporterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

OtlpHttpExporter::~OtlpHttpExporter() {
  if (impl_) impl_->close();
}

ExportResult OtlpHttpExporter::export_spans(SpanBatch spans, const Resource& resource,
                                            const InstrumentationScope& scope) noexcept {
  if (spans.empty()) return ExportResult::success;
  return impl_->counted(
      spans.size(), [&] { return impl_->export_batch(spans, resource, scope); }, [&] { impl_->close(); });
}

bool OtlpHttpExporter::takes_encoded_requests() const noexcept {
  return !impl_->json_body;
}

ExportResult OtlpHttpExporter::export_request(std::string_view request, std::size_t count) noexcept {
  if (count == 0) return ExportResult::success;
  if (impl_->json_body) return ExportResult::failure;  // OTLP/JSON is written from the span records
  return impl_->counted(
      count, [&] { return impl_->send(request); }, [&] { impl_->close(); });
}

void OtlpHttpExporter::shutdown() noexcept {
  impl_->shut = true;
  impl_->ioc.stop();  // thread-safe: a running export returns from its wait at once
  impl_->wake_sleepers();
}

std::string_view OtlpHttpExporter::name() const noexcept {
  return impl_->json_body ? "otlp_http_json" : "otlp_http_protobuf";
}

OtlpExportStats OtlpHttpExporter::stats() const noexcept {
  return impl_->stats();
}

std::string OtlpHttpExporter::last_error() const {
  return impl_->last_error();
}

}  // namespace sy::telemetry
