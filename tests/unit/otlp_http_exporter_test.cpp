// Unit tests for the OTLP/HTTP exporter against a loopback collector written here (127.0.0.1, port 0, one
// thread).
#include "telemetry/otlp_http_exporter.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <zlib.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace sy::telemetry {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A scripted OTLP/HTTP collector: answers requests in order from `script` (then 200), one connection at a
// time, and records what arrives. Blocking Beast on its own thread; the destructor unblocks it with
// shutdown(2).
class LoopbackCollector {
 public:
  struct Reply {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool hang = false;         // read the request, never answer
    bool close_after = false;  // answer (claiming keep-alive), then drop the connection
  };
  struct Received {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lowercase names
    std::string body;
  };

  explicit LoopbackCollector(std::vector<Reply> script = {}, ssl::context* tls = nullptr)
      : script_(std::move(script)), tls_(tls) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }

  ~LoopbackCollector() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (connection_fd_ >= 0) ::shutdown(connection_fd_, SHUT_RDWR);
    }
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }

  unsigned short port() const { return port_; }
  std::string url(std::string_view path = "/v1/traces") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  int connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }

 private:
  void serve() {
    for (;;) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) return;
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        ++connections_;
        connection_fd_ = socket.native_handle();
      }
      if (tls_) {
        ssl::stream<tcp::socket&> stream(socket, *tls_);
        stream.handshake(ssl::stream_base::server, ec);
        if (!ec) serve_connection(stream);
      } else {
        serve_connection(socket);
      }
      std::lock_guard lock(mutex_);
      connection_fd_ = -1;
    }
  }

  template <class Stream>
  void serve_connection(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(stream, buffer, req, ec);
      if (ec) return;
      Reply reply;
      {
        std::lock_guard lock(mutex_);
        Received r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        for (const auto& field : req) {
          std::string name(field.name_string());
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          r.headers[name] = std::string(field.value());
        }
        r.body = req.body();
        received_.push_back(std::move(r));
        if (next_ < script_.size()) reply = script_[next_++];
      }
      if (reply.hang) continue;
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      for (const auto& [k, v] : reply.headers) res.set(k, v);
      res.body() = reply.body;
      res.keep_alive(true);
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || reply.close_after) return;
    }
  }

  std::vector<Reply> script_;
  ssl::context* tls_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  unsigned short port_ = 0;
  mutable std::mutex mutex_;
  bool stopping_ = false;
  int connection_fd_ = -1;
  std::size_t next_ = 0;
  int connections_ = 0;
  std::vector<Received> received_;
  std::thread thread_;
};

std::string gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

std::vector<SpanData> two_spans() {
  std::vector<SpanData> spans(2);
  EXPECT_TRUE(from_hex("4bf92f3577b34da6a3ce929d0e0e4736", spans[0].trace_id));
  EXPECT_TRUE(from_hex("00f067aa0ba902b7", spans[0].span_id));
  spans[0].name = "POST /v1/chat/completions";
  spans[0].kind = SpanKind::server;
  spans[0].attributes = {{"llm.provider", std::string("mock")}};
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

OtlpExporterOptions options_for(const LoopbackCollector& c, std::chrono::milliseconds timeout = 5s) {
  OtlpExporterOptions o;
  o.endpoint = c.url();
  o.timeout = timeout;
  return o;
}

opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest parse_request(const std::string& body) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  EXPECT_TRUE(req.ParseFromString(body));
  return req;
}

TEST(OtlpHttpExporterTest, PostsProtobufWithHeadersAndGzip) {
  LoopbackCollector collector;
  OtlpExporterOptions o = options_for(collector);
  o.endpoint = collector.url("/prefix/v1/traces");
  o.headers = {{"x-api-key", "s3cret"}, {"Authorization", "Bearer token123"}};
  o.compression = OtlpExporterOptions::Compression::gzip;
  OtlpHttpExporter exporter(o);
  EXPECT_EQ(exporter.name(), "otlp_http_protobuf");

  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();

  auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/prefix/v1/traces");
  EXPECT_EQ(got[0].headers["content-type"], "application/x-protobuf");
  EXPECT_EQ(got[0].headers["content-encoding"], "gzip");
  EXPECT_EQ(got[0].headers["x-api-key"], "s3cret");
  EXPECT_EQ(got[0].headers["authorization"], "Bearer token123");
  EXPECT_EQ(got[0].headers["host"], "127.0.0.1:" + std::to_string(collector.port()));
  EXPECT_EQ(got[0].headers["user-agent"].rfind("OTel-OTLP-Exporter-Cpp", 0), 0u)
      << got[0].headers["user-agent"];

  auto req = parse_request(gunzip(got[0].body));
  ASSERT_EQ(req.resource_spans_size(), 1);
  EXPECT_EQ(req.resource_spans(0).resource().attributes(0).value().string_value(), "litellm-gateway");
  const auto& ss = req.resource_spans(0).scope_spans(0);
  EXPECT_EQ(ss.scope().name(), "switchyard");
  ASSERT_EQ(ss.spans_size(), 2);
  EXPECT_EQ(ss.spans(0).name(), "POST /v1/chat/completions");
  EXPECT_EQ(ss.spans(1).parent_span_id(), ss.spans(0).span_id());

  OtlpExportStats stats = exporter.stats();
  EXPECT_EQ(stats.batches_exported, 1u);
  EXPECT_EQ(stats.spans_exported, 2u);
  EXPECT_EQ(stats.retries, 0u);
}

TEST(OtlpHttpExporterTest, PostsJsonWhenAskedWithoutCompression) {
  LoopbackCollector collector;
  OtlpExporterOptions o = options_for(collector);
  o.protocol = OtlpExporterOptions::Protocol::http_json;
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/v1/traces");
  EXPECT_EQ(got[0].headers["content-type"], "application/json");
  EXPECT_EQ(got[0].headers.count("content-encoding"), 0u);
  boost::json::value doc = boost::json::parse(got[0].body);
  const auto& span = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_EQ(span.at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.at("kind").to_number<int>(), 2);
}

TEST(OtlpHttpExporterTest, ReusesTheKeepAliveConnection) {
  LoopbackCollector collector;
  OtlpHttpExporter exporter(options_for(collector));
  std::vector<SpanData> spans = two_spans();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success);
  EXPECT_EQ(collector.received().size(), 3u);
  EXPECT_EQ(collector.connections(), 1);
}

TEST(OtlpHttpExporterTest, ReconnectsAtOnceWhenTheCollectorDroppedAnIdleConnection) {
  LoopbackCollector::Reply drop;
  drop.close_after = true;
  LoopbackCollector collector({drop});
  OtlpHttpExporter exporter(options_for(collector));
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success);
  std::this_thread::sleep_for(50ms);  // let the close reach us, as an idle timeout would
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  EXPECT_EQ(collector.received().size(), 2u);
  EXPECT_EQ(collector.connections(), 2);
  EXPECT_EQ(exporter.stats().retries, 0u);
}

TEST(OtlpHttpExporterTest, RetriesA503HonouringRetryAfter) {
  LoopbackCollector::Reply unavailable;
  unavailable.status = 503;
  unavailable.headers = {{"Retry-After", "0"}};
  LoopbackCollector collector({unavailable});
  OtlpHttpExporter exporter(options_for(collector));
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(collector.received().size(), 2u);
  EXPECT_EQ(exporter.stats().retries, 1u);
  EXPECT_EQ(exporter.stats().batches_exported, 1u);
}

TEST(OtlpHttpExporterTest, Retries429And502And504WithBackoff) {
  std::vector<LoopbackCollector::Reply> script(3);
  script[0].status = 429;
  script[1].status = 502;
  script[2].status = 504;
  LoopbackCollector collector(script);
  OtlpExporterOptions o = options_for(collector);
  o.retry.initial_backoff = 20ms;
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  EXPECT_GE(Clock::now() - start, 16ms + 32ms + 64ms);  // 20, 40, 80 ms less 20 % jitter
  EXPECT_EQ(collector.received().size(), 4u);
  EXPECT_EQ(exporter.stats().retries, 3u);
}

TEST(OtlpHttpExporterTest, RetryAfterBeyondTheDeadlineFailsWithoutWaiting) {
  LoopbackCollector::Reply busy;
  busy.status = 503;
  busy.headers = {{"Retry-After", "30"}};
  LoopbackCollector collector({busy});
  OtlpHttpExporter exporter(options_for(collector, 2s));
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(collector.received().size(), 1u);
}

TEST(OtlpHttpExporterTest, ClientErrorFailsWithoutRetryAndWithoutLeakingHeaders) {
  LoopbackCollector::Reply bad;
  bad.status = 400;
  bad.body = "bad request";
  LoopbackCollector collector({bad});
  OtlpExporterOptions o = options_for(collector);
  o.headers = {{"x-api-key", "s3cret-value"}};
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_EQ(collector.received().size(), 1u);
  OtlpExportStats stats = exporter.stats();
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(stats.batches_failed, 1u);
  EXPECT_EQ(stats.spans_failed, 2u);
  EXPECT_NE(exporter.last_error().find("400"), std::string::npos) << exporter.last_error();
  EXPECT_EQ(exporter.last_error().find("s3cret"), std::string::npos);
}

TEST(OtlpHttpExporterTest, CollectorDownFailsWithinTheTimeout) {
  unsigned short port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
  o.timeout = 500ms;
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  const auto elapsed = Clock::now() - start;
  EXPECT_LT(elapsed, 700ms);
  EXPECT_GE(exporter.stats().retries, 1u);  // connection failures are retried while time allows
  EXPECT_NE(exporter.last_error().find("connecting"), std::string::npos) << exporter.last_error();
}

TEST(OtlpHttpExporterTest, HangingCollectorFailsAtTheDeadline) {
  LoopbackCollector::Reply hang;
  hang.hang = true;
  LoopbackCollector collector({hang, hang, hang, hang, hang, hang, hang, hang});
  OtlpHttpExporter exporter(options_for(collector, 300ms));
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 800ms);
}

TEST(OtlpHttpExporterTest, CountsSpansTheCollectorRejected) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse response;
  response.mutable_partial_success()->set_rejected_spans(1);
  response.mutable_partial_success()->set_error_message("span too old");
  LoopbackCollector::Reply partial;
  partial.headers = {{"Content-Type", "application/x-protobuf"}};
  partial.body = response.SerializeAsString();
  LoopbackCollector collector({partial});
  OtlpHttpExporter exporter(options_for(collector));
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success);
  EXPECT_EQ(exporter.stats().spans_rejected, 1u);
  EXPECT_EQ(collector.received().size(), 1u);  // partial success is never retried
}

TEST(OtlpHttpExporterTest, ShutdownFailsLaterExportsAtOnce) {
  LoopbackCollector collector;
  OtlpHttpExporter exporter(options_for(collector));
  exporter.shutdown();
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_EQ(collector.received().size(), 0u);
}

TEST(OtlpHttpExporterTest, ShutdownInterruptsABackoffWait) {
  LoopbackCollector::Reply busy;
  busy.status = 503;
  busy.headers = {{"Retry-After", "3"}};
  LoopbackCollector collector({busy});
  OtlpHttpExporter exporter(options_for(collector, 10s));
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    exporter.shutdown();
  });
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  stopper.join();
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(OtlpHttpExporterTest, EmptyBatchSendsNothing) {
  LoopbackCollector collector;
  OtlpHttpExporter exporter(options_for(collector));
  EXPECT_EQ(exporter.export_spans({}, resource(), {}), ExportResult::success);
  EXPECT_EQ(collector.received().size(), 0u);
}

TEST(OtlpHttpExporterTest, UnusableEndpointFailsAtOnce) {
  OtlpExporterOptions o;
  o.endpoint = "collector:4318";
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_NE(exporter.last_error().find("endpoint"), std::string::npos);
}

// ---- TLS: a self-signed certificate for localhost and 127.0.0.1, made at run time ----

struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

TestCertificate make_self_signed() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  TestCertificate out{bio_string(cert_bio), bio_string(key_bio)};
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

class OtlpHttpExporterTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = make_self_signed();
    server_tls_.use_certificate_chain(asio::buffer(cert_.cert_pem));
    server_tls_.use_private_key(asio::buffer(cert_.key_pem), ssl::context::pem);
    ca_file_ = std::filesystem::temp_directory_path() / ("switchyard-otlp-ca-" + std::to_string(::getpid()) +
                                                         "-" + std::to_string(counter_++) + ".pem");
    std::ofstream(ca_file_) << cert_.cert_pem;
  }
  void TearDown() override { std::filesystem::remove(ca_file_); }

  TestCertificate cert_;
  ssl::context server_tls_{ssl::context::tls_server};
  std::filesystem::path ca_file_;
  static inline int counter_ = 0;
};

TEST_F(OtlpHttpExporterTlsTest, HttpsWithTheConfiguredCertificate) {
  LoopbackCollector collector({}, &server_tls_);
  OtlpExporterOptions o;
  o.endpoint = "https://localhost:" + std::to_string(collector.port()) + "/v1/traces";
  o.certificate_file = ca_file_.string();
  o.timeout = 5s;
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  ASSERT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::success) << exporter.last_error();
  auto got = collector.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].headers["host"], "localhost:" + std::to_string(collector.port()));
  EXPECT_EQ(parse_request(got[0].body).resource_spans(0).scope_spans(0).spans_size(), 2);
  EXPECT_EQ(collector.connections(), 1);
}

TEST_F(OtlpHttpExporterTlsTest, UntrustedCertificateIsRefused) {
  LoopbackCollector collector({}, &server_tls_);
  OtlpExporterOptions o;
  o.endpoint = "https://127.0.0.1:" + std::to_string(collector.port()) + "/v1/traces";
  o.timeout = 400ms;  // the system store does not know our certificate
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_EQ(collector.received().size(), 0u);
}

TEST_F(OtlpHttpExporterTlsTest, MissingCertificateFileFailsAtOnce) {
  OtlpExporterOptions o;
  o.endpoint = "https://localhost:4318/v1/traces";
  o.certificate_file = "/nonexistent/ca.pem";
  OtlpHttpExporter exporter(o);
  std::vector<SpanData> spans = two_spans();
  const auto start = Clock::now();
  EXPECT_EQ(exporter.export_spans(spans, resource(), {}), ExportResult::failure);
  EXPECT_LT(Clock::now() - start, 100ms);
  EXPECT_NE(exporter.last_error().find("/nonexistent/ca.pem"), std::string::npos) << exporter.last_error();
}

}  // namespace
}  // namespace sy::telemetry
