// Unit tests for the OTEL_EXPORTER_OTLP_* environment contract and OTLP endpoint parsing.
#include "telemetry/otlp_options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace sy::telemetry {
namespace {

using Protocol = OtlpExporterOptions::Protocol;
using Compression = OtlpExporterOptions::Compression;

struct Env {
  std::map<std::string, std::string, std::less<>> vars;
  Warnings warnings;

  OtlpExporterOptions read() {
    warnings.clear();
    EnvLookup lookup = [this](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    return otlp_options_from_env(lookup, warnings);
  }
};

std::string joined(const Warnings& w) {
  std::string out;
  for (const auto& s : w) out += s + "\n";
  return out;
}

TEST(OtlpOptionsTest, DefaultsAreHttpProtobufOnLocalhost4318) {
  Env env;
  OtlpExporterOptions o = env.read();
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
  EXPECT_EQ(o.protocol, Protocol::http_protobuf);
  EXPECT_EQ(o.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_TRUE(o.headers.empty());
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(o.compression, Compression::none);
  EXPECT_TRUE(o.insecure);  // http:// settles it
  EXPECT_TRUE(o.certificate_file.empty());
  EXPECT_TRUE(o.client_key_file.empty());
  EXPECT_TRUE(o.client_certificate_file.empty());
}

TEST(OtlpOptionsTest, EmptyEnvironmentLookupGivesDefaults) {
  Warnings w;
  OtlpExporterOptions o = otlp_options_from_env(EnvLookup{}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(o.endpoint, "http://localhost:4318/v1/traces");
}

TEST(OtlpOptionsTest, GrpcDefaultEndpointIs4317) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  OtlpExporterOptions o = env.read();
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
  EXPECT_EQ(o.protocol, Protocol::grpc);
  EXPECT_EQ(o.endpoint, "http://localhost:4317");
  EXPECT_TRUE(o.insecure);
}

TEST(OtlpOptionsTest, ProtocolValuesAndCaseInsensitivity) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json";
  EXPECT_EQ(env.read().protocol, Protocol::http_json);
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = " HTTP/Protobuf ";
  EXPECT_EQ(env.read().protocol, Protocol::http_protobuf);
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "GRPC";
  EXPECT_EQ(env.read().protocol, Protocol::grpc);
  EXPECT_TRUE(env.warnings.empty());
}

TEST(OtlpOptionsTest, SignalSpecificProtocolWinsOverGeneric) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "grpc";
  OtlpExporterOptions o = env.read();
  EXPECT_EQ(o.protocol, Protocol::grpc);
  EXPECT_EQ(o.endpoint, "http://localhost:4317");
}

TEST(OtlpOptionsTest, MalformedProtocolWarnsAndUsesDefault) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/thrift";
  OtlpExporterOptions o = env.read();
  EXPECT_EQ(o.protocol, Protocol::http_protobuf);
  ASSERT_EQ(env.warnings.size(), 1u);
  EXPECT_NE(env.warnings[0].find("OTEL_EXPORTER_OTLP_PROTOCOL"), std::string::npos);
  EXPECT_NE(env.warnings[0].find("http/thrift"), std::string::npos);
}

TEST(OtlpOptionsTest, MalformedSignalSpecificValueUsesDefaultNotGeneric) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "carrier-pigeon";
  OtlpExporterOptions o = env.read();
  EXPECT_EQ(o.protocol, Protocol::http_protobuf);
  ASSERT_EQ(env.warnings.size(), 1u);
  EXPECT_NE(env.warnings[0].find("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), std::string::npos);
}

TEST(OtlpOptionsTest, EmptyValueCountsAsUnset) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "";
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "  ";
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318";
  env.vars["OTEL_EXPORTER_OTLP_TIMEOUT"] = "";
  OtlpExporterOptions o = env.read();
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
  EXPECT_EQ(o.protocol, Protocol::http_json);
  EXPECT_EQ(o.endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(10000));
}

TEST(OtlpOptionsTest, GenericHttpEndpointGetsV1TracesAppended) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318";
  EXPECT_EQ(env.read().endpoint, "http://collector:4318/v1/traces");
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318/";
  EXPECT_EQ(env.read().endpoint, "http://collector:4318/v1/traces");
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://gateway.example.com/otlp";
  EXPECT_EQ(env.read().endpoint, "https://gateway.example.com/otlp/v1/traces");
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://gateway.example.com/otlp/";
  OtlpExporterOptions o = env.read();
  EXPECT_EQ(o.endpoint, "https://gateway.example.com/otlp/v1/traces");
  EXPECT_FALSE(o.insecure);
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
}

TEST(OtlpOptionsTest, SignalSpecificHttpEndpointIsUsedAsIs) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://generic:4318";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://traces:9999/custom/path";
  EXPECT_EQ(env.read().endpoint, "http://traces:9999/custom/path");
  env.vars["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://traces:9999";
  EXPECT_EQ(env.read().endpoint, "http://traces:9999");
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
}

TEST(OtlpOptionsTest, GrpcEndpointIsNeverGivenAPath) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://jaeger:4317";
  OtlpExporterOptions o = env.read();
  EXPECT_EQ(o.endpoint, "http://jaeger:4317");
  EXPECT_TRUE(o.insecure);
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
}

TEST(OtlpOptionsTest, GrpcSchemeDecidesTransportSecurity) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector:4317";
  env.vars["OTEL_EXPORTER_OTLP_INSECURE"] = "true";
  EXPECT_FALSE(env.read().insecure);  // https:// wins over INSECURE
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4317";
  env.vars["OTEL_EXPORTER_OTLP_INSECURE"] = "false";
  EXPECT_TRUE(env.read().insecure);  // http:// wins too
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
}

TEST(OtlpOptionsTest, GrpcEndpointWithoutSchemeUsesInsecureSetting) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "collector:4317";
  OtlpExporterOptions o = env.read();
  EXPECT_EQ(o.endpoint, "collector:4317");
  EXPECT_FALSE(o.insecure);  // TLS by default
  env.vars["OTEL_EXPORTER_OTLP_INSECURE"] = "TRUE";
  EXPECT_TRUE(env.read().insecure);
  env.vars["OTEL_EXPORTER_OTLP_TRACES_INSECURE"] = "false";
  EXPECT_FALSE(env.read().insecure);  // signal-specific wins
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
}

TEST(OtlpOptionsTest, MalformedInsecureWarnsAndIsFalse) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "collector:4317";
  env.vars["OTEL_EXPORTER_OTLP_INSECURE"] = "yes";
  EXPECT_FALSE(env.read().insecure);
  ASSERT_EQ(env.warnings.size(), 1u);
  EXPECT_NE(env.warnings[0].find("OTEL_EXPORTER_OTLP_INSECURE"), std::string::npos);
}

TEST(OtlpOptionsTest, HttpEndpointWithoutSchemeWarnsAndUsesDefault) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "collector:4318/v1/traces";
  EXPECT_EQ(env.read().endpoint, "http://localhost:4318/v1/traces");
  ASSERT_EQ(env.warnings.size(), 1u);
  EXPECT_NE(env.warnings[0].find("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), std::string::npos);
}

TEST(OtlpOptionsTest, MalformedEndpointWarningDoesNotQuoteTheUrl) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://user:hunter2@collector:4318";
  EXPECT_EQ(env.read().endpoint, "http://localhost:4318/v1/traces");
  ASSERT_EQ(env.warnings.size(), 1u);
  EXPECT_EQ(env.warnings[0].find("hunter2"), std::string::npos) << env.warnings[0];
}

TEST(OtlpOptionsTest, MalformedGrpcEndpointWarnsAndUsesGrpcDefault) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "ftp://collector:4317";
  EXPECT_EQ(env.read().endpoint, "http://localhost:4317");
  EXPECT_EQ(env.warnings.size(), 1u);
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "collector:99999";
  EXPECT_EQ(env.read().endpoint, "http://localhost:4317");
  EXPECT_EQ(env.warnings.size(), 1u);
}

TEST(OtlpOptionsTest, HeadersAreParsedTrimmedAndPercentDecoded) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_HEADERS"] =
      " api-key = secret%20value ,x-tenant=acme%2Cinc, authorization=Basic%20dXNlcjpwYXNz%3D%3D,,x-eq=a=b";
  OtlpExporterOptions o = env.read();
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
  ASSERT_EQ(o.headers.size(), 4u);
  EXPECT_EQ(o.headers[0], (std::pair<std::string, std::string>{"api-key", "secret value"}));
  EXPECT_EQ(o.headers[1], (std::pair<std::string, std::string>{"x-tenant", "acme,inc"}));
  EXPECT_EQ(o.headers[2], (std::pair<std::string, std::string>{"authorization", "Basic dXNlcjpwYXNz=="}));
  EXPECT_EQ(o.headers[3], (std::pair<std::string, std::string>{"x-eq", "a=b"}));
}

TEST(OtlpOptionsTest, EmptyHeaderValueIsKept) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_HEADERS"] = "x-empty=";
  OtlpExporterOptions o = env.read();
  ASSERT_EQ(o.headers.size(), 1u);
  EXPECT_EQ(o.headers[0].second, "");
}

TEST(OtlpOptionsTest, SignalSpecificHeadersReplaceGenericOnes) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_HEADERS"] = "a=1,b=2";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = "c=3";
  OtlpExporterOptions o = env.read();
  ASSERT_EQ(o.headers.size(), 1u);
  EXPECT_EQ(o.headers[0].first, "c");
  EXPECT_EQ(o.headers[0].second, "3");
}

TEST(OtlpOptionsTest, MalformedHeaderPairsAreSkippedWithWarningsThatNeverQuoteSecrets) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_HEADERS"] =
      "good=ok,BearerS3cretNoEquals,=S3cretNoKey,bad "
      "key=S3cretBadName,x-pct=S3cret%zz,x-crlf=S3cret%0D%0AInjected,"
      "also-good=fine";
  OtlpExporterOptions o = env.read();
  ASSERT_EQ(o.headers.size(), 2u);
  EXPECT_EQ(o.headers[0], (std::pair<std::string, std::string>{"good", "ok"}));
  EXPECT_EQ(o.headers[1], (std::pair<std::string, std::string>{"also-good", "fine"}));
  ASSERT_EQ(env.warnings.size(), 5u) << joined(env.warnings);
  for (const std::string& w : env.warnings) {
    EXPECT_EQ(w.find("S3cret"), std::string::npos) << w;
    EXPECT_EQ(w.find("Injected"), std::string::npos) << w;
    EXPECT_EQ(w.find("ok"), std::string::npos) << w;
    EXPECT_NE(w.find("OTEL_EXPORTER_OTLP_HEADERS"), std::string::npos) << w;
  }
  EXPECT_NE(env.warnings[0].find("entry 2"), std::string::npos) << env.warnings[0];
}

TEST(OtlpOptionsTest, TimeoutInMilliseconds) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_TIMEOUT"] = "2500";
  EXPECT_EQ(env.read().timeout, std::chrono::milliseconds(2500));
  env.vars["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] = "750";
  EXPECT_EQ(env.read().timeout, std::chrono::milliseconds(750));
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
}

TEST(OtlpOptionsTest, MalformedTimeoutWarnsAndUsesDefault) {
  for (const char* bad : {"abc", "-5", "0", "1.5", "10s", "99999999999999999999", "+100"}) {
    Env env;
    env.vars["OTEL_EXPORTER_OTLP_TIMEOUT"] = bad;
    EXPECT_EQ(env.read().timeout, std::chrono::milliseconds(10000)) << bad;
    ASSERT_EQ(env.warnings.size(), 1u) << bad;
    EXPECT_NE(env.warnings[0].find("OTEL_EXPORTER_OTLP_TIMEOUT"), std::string::npos);
  }
}

TEST(OtlpOptionsTest, Compression) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip";
  EXPECT_EQ(env.read().compression, Compression::gzip);
  env.vars["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] = "none";
  EXPECT_EQ(env.read().compression, Compression::none);
  env.vars["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] = "GZIP";
  EXPECT_EQ(env.read().compression, Compression::gzip);
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
  env.vars["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] = "zstd";
  EXPECT_EQ(env.read().compression, Compression::none);
  ASSERT_EQ(env.warnings.size(), 1u);
  EXPECT_NE(env.warnings[0].find("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"), std::string::npos);
}

TEST(OtlpOptionsTest, CertificateFiles) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_CERTIFICATE"] = "/etc/generic-ca.pem";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"] = "/etc/traces-ca.pem";
  env.vars["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = "/etc/client.key";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE"] = "/etc/client.pem";
  OtlpExporterOptions o = env.read();
  EXPECT_EQ(o.certificate_file, "/etc/traces-ca.pem");
  EXPECT_EQ(o.client_key_file, "/etc/client.key");
  EXPECT_EQ(o.client_certificate_file, "/etc/client.pem");
}

TEST(OtlpOptionsTest, TheSeedUsersConfiguration) {
  Env env;
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://jaeger:4317";
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  OtlpExporterOptions o = env.read();
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
  EXPECT_EQ(o.protocol, Protocol::grpc);
  EXPECT_EQ(o.endpoint, "http://jaeger:4317");
  EXPECT_TRUE(o.insecure);
  EXPECT_EQ(to_string(o.protocol), "grpc");
}

TEST(OtlpOptionsTest, ParseEndpointForms) {
  auto ep = parse_otlp_endpoint("https://collector.example.com/v1/traces?x=1#frag");
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->tls);
  EXPECT_TRUE(ep->has_scheme);
  EXPECT_EQ(ep->host, "collector.example.com");
  EXPECT_EQ(ep->port, "443");
  EXPECT_EQ(ep->target, "/v1/traces?x=1");

  ep = parse_otlp_endpoint("HTTP://127.0.0.1:4318");
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->tls);
  EXPECT_EQ(ep->port, "4318");
  EXPECT_EQ(ep->target, "/");

  ep = parse_otlp_endpoint("http://[::1]:4318/v1/traces");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, "4318");

  ep = parse_otlp_endpoint("http://collector");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, "80");

  ep = parse_otlp_endpoint("collector", /*scheme_optional=*/true, /*insecure=*/true);
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->tls);
  EXPECT_FALSE(ep->has_scheme);
  EXPECT_EQ(ep->port, "4317");

  ep = parse_otlp_endpoint("collector:4317", /*scheme_optional=*/true, /*insecure=*/false);
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->tls);

  for (const char* bad :
       {"", "collector:4318", "ftp://x", "http://", "http://:80", "http://h:", "http://h:0", "http://h:65536",
        "http://h:12a", "http://u@h", "http://::1:80", "http://[::1", "http://h x/"}) {
    EXPECT_FALSE(parse_otlp_endpoint(bad)) << bad;
  }
}

TEST(OtlpOptionsTest, RetryBackoffDoublesUpToTheCapWithinJitter) {
  OtlpRetryPolicy p;
  EXPECT_EQ(p.backoff(0, 0.5), std::chrono::milliseconds(100));
  EXPECT_EQ(p.backoff(1, 0.5), std::chrono::milliseconds(200));
  EXPECT_EQ(p.backoff(3, 0.5), std::chrono::milliseconds(800));
  EXPECT_EQ(p.backoff(20, 0.5), std::chrono::milliseconds(5000));
  EXPECT_EQ(p.backoff(0, 0.0), std::chrono::milliseconds(80));
  EXPECT_GE(p.backoff(0, 0.999), std::chrono::milliseconds(119));
  EXPECT_LE(p.backoff(0, 0.999), std::chrono::milliseconds(120));
}

}  // namespace
}  // namespace sy::telemetry
