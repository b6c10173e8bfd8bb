// Unit tests for parsing an upstream api_base into an Origin, and for recycling a client request.
#include "http/client.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace sy::http {
namespace {

Origin parse_ok(std::string_view url) {
  auto r = parse_origin(url);
  EXPECT_TRUE(r.ok()) << url << ": " << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  return r.value();
}

void expect_error(std::string_view url) {
  auto r = parse_origin(url);
  ASSERT_FALSE(r.ok()) << url << " parsed as host=" << r.value().host << " port=" << r.value().port;
  EXPECT_EQ(r.error().param, "api_base");
  EXPECT_FALSE(r.error().message.empty());
}

TEST(ParseOriginTest, HttpsDefaultPort) {
  Origin o = parse_ok("https://api.openai.com/v1");
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.host, "api.openai.com");
  EXPECT_EQ(o.port, 443);
  EXPECT_EQ(o.base_path, "/v1");
  EXPECT_EQ(o.key(), "https://api.openai.com:443");
}

TEST(ParseOriginTest, HttpDefaultPort) {
  Origin o = parse_ok("http://localhost");
  EXPECT_FALSE(o.tls);
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 80);
  EXPECT_EQ(o.base_path, "");
  EXPECT_EQ(o.key(), "http://localhost:80");
}

TEST(ParseOriginTest, ExplicitPort) {
  Origin o = parse_ok("http://127.0.0.1:11434/v1");
  EXPECT_FALSE(o.tls);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 11434);
  EXPECT_EQ(o.base_path, "/v1");

  Origin s = parse_ok("https://example.com:8443");
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.port, 8443);
  EXPECT_EQ(s.key(), "https://example.com:8443");
}

TEST(ParseOriginTest, TrailingSlashTrimmed) {
  EXPECT_EQ(parse_ok("https://api.groq.com/openai/v1/").base_path, "/openai/v1");
  EXPECT_EQ(parse_ok("https://api.groq.com/openai/v1//").base_path, "/openai/v1");
  EXPECT_EQ(parse_ok("http://localhost:8000/").base_path, "");
}

TEST(ParseOriginTest, DeepBasePath) {
  Origin o = parse_ok("https://gateway.example.com/proxy/openai/v1");
  EXPECT_EQ(o.host, "gateway.example.com");
  EXPECT_EQ(o.base_path, "/proxy/openai/v1");
}

TEST(ParseOriginTest, Ipv6Literal) {
  Origin o = parse_ok("http://[::1]:8080/v1");
  EXPECT_FALSE(o.tls);
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(o.base_path, "/v1");

  Origin d = parse_ok("https://[2001:db8::42]/");
  EXPECT_EQ(d.host, "2001:db8::42");
  EXPECT_EQ(d.port, 443);
  EXPECT_EQ(d.base_path, "");
}

TEST(ParseOriginTest, DistinctOriginsHaveDistinctKeys) {
  EXPECT_NE(parse_ok("http://h:1").key(), parse_ok("https://h:1").key());
  EXPECT_NE(parse_ok("http://h:1").key(), parse_ok("http://h:2").key());
  EXPECT_NE(parse_ok("http://a").key(), parse_ok("http://b").key());
  // Base paths share one connection pool.
  EXPECT_EQ(parse_ok("http://h/v1").key(), parse_ok("http://h/v2").key());
}

TEST(ParseOriginTest, BadScheme) {
  expect_error("ftp://example.com/v1");
  expect_error("ws://example.com");
  expect_error("file:///etc/passwd");
}

TEST(ParseOriginTest, Garbage) {
  expect_error("");
  expect_error("not a url");
  expect_error("api.openai.com/v1");  // no scheme
  expect_error("http://");            // no host
  expect_error("https://exa mple.com");
}

TEST(ParseOriginTest, InvalidPortRejected) {
  // A port that is not a number in 1..65535 must be refused, never wrapped or turned into port 0.
  expect_error("http://localhost:99999/v1");  // would otherwise wrap to 34463
  expect_error("http://localhost:65536");
  expect_error("http://localhost:0/v1");
  expect_error("http://localhost:port/v1");
}

TEST(ParseOriginTest, EmptyPortIsDefaultOrError) {
  // RFC 3986 3.2.3: an empty port means the scheme's default. Port 0 is never right.
  auto r = parse_origin("http://localhost:/v1");
  if (r.ok()) {
    EXPECT_EQ(r.value().port, 80);
    EXPECT_EQ(r.value().base_path, "/v1");
  }
}

TEST(ParseOriginTest, SchemeIsCaseInsensitive) {
  // RFC 3986 3.1: schemes are case-insensitive.
  auto r = parse_origin("HTTPS://api.openai.com/v1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r.value().tls);
  EXPECT_EQ(r.value().port, 443);
  auto h = parse_origin("Http://localhost:8000");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_FALSE(h.value().tls);
  EXPECT_EQ(h.value().port, 8000);
}

TEST(ParseOriginTest, HostHeaderCarriesNonDefaultPort) {
  // RFC 9110 7.2: Host is the authority, port included unless it is the scheme's default.
  EXPECT_EQ(parse_origin("https://api.openai.com/v1").value().host_header, "api.openai.com");
  EXPECT_EQ(parse_origin("http://example.com:80/v1").value().host_header, "example.com");
  EXPECT_EQ(parse_origin("http://127.0.0.1:8000/v1").value().host_header, "127.0.0.1:8000");
  EXPECT_EQ(parse_origin("https://example.com:8443").value().host_header, "example.com:8443");
  EXPECT_EQ(parse_origin("http://[::1]:9000/v1").value().host_header, "[::1]:9000");
}

TEST(ClientRequestTest, RecyclingResetsEverythingAndKeepsTheUsualStorage) {
  const Origin origin = parse_ok("http://127.0.0.1:8080/v1");
  ClientRequest r;
  r.method = "GET";
  r.origin = &origin;
  r.target = "/v1/chat/completions?api-version=2024-10-21";
  r.headers.add("Authorization", "Bearer sk-a-key-that-is-long-enough-to-allocate");
  r.body.assign(4000, 'b');
  r.timeout = std::chrono::milliseconds(5);
  r.connect_timeout = std::chrono::milliseconds(6);
  r.max_response_bytes = 7;
  const char* body = r.body.data();
  r.recycle();
  const ClientRequest fresh;
  EXPECT_EQ(r.method, fresh.method);
  EXPECT_EQ(r.origin, nullptr);
  EXPECT_TRUE(r.target.empty());
  EXPECT_TRUE(r.headers.empty());
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.timeout, fresh.timeout);
  EXPECT_EQ(r.connect_timeout, fresh.connect_timeout);
  EXPECT_EQ(r.max_response_bytes, fresh.max_response_bytes);
  r.body.assign(3000, 'c');
  EXPECT_EQ(r.body.data(), body);  // kept

  r.body.assign(1 << 20, 'd');  // a 1 MB body is not kept
  r.recycle();
  EXPECT_LT(r.body.capacity(), std::size_t{1} << 20);
}

}  // namespace
}  // namespace sy::http
