// Unit tests for the Anthropic adapter's HTTP side: request paths and headers, and a loopback upstream (one
// connection, Connection: close) for token counting and a stream whose client goes away.
#include "providers/anthropic/anthropic_provider.h"
#include "coro_test_support.h"
#include "http_test_support.h"

#include <cctype>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

namespace sy::providers {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using asio::ip::tcp;
using test::header;
using test::store_result;

constexpr std::string_view kKey = "sk-ant-api03-unit-SECRET-42";

config::Deployment deployment(std::string api_base = {}) {
  config::Deployment d;
  d.model_name = "claude-haiku";
  d.params.model = "anthropic/claude-3-5-haiku-20241022";
  d.params.provider = "anthropic";
  d.params.provider_model = "claude-3-5-haiku-20241022";
  d.params.api_base = std::move(api_base);
  d.params.api_key = std::string(kKey);
  d.info.id = "claude-haiku-0";
  return d;
}

TEST(AnthropicProviderTest, MessagesPath) {
  EXPECT_EQ(anthropic::messages_path("", false), "/v1/messages");
  EXPECT_EQ(anthropic::messages_path("", true), "/v1/messages/count_tokens");
  EXPECT_EQ(anthropic::messages_path("/v1", false), "/v1/messages");
  EXPECT_EQ(anthropic::messages_path("/v1/messages", false), "/v1/messages");
  EXPECT_EQ(anthropic::messages_path("/v1/messages", true), "/v1/messages/count_tokens");
  EXPECT_EQ(anthropic::messages_path("/proxy/anthropic", false), "/proxy/anthropic/v1/messages");
  EXPECT_EQ(anthropic::messages_path("/proxy/v1/", true), "/proxy/v1/messages/count_tokens");
}

TEST(AnthropicProviderTest, RequestHeadersAndTarget) {
  const config::Deployment d = deployment();
  Call call;
  call.deployment = &d;
  call.timeout = std::chrono::milliseconds(1234);
  call.upstream_headers.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  std::string key;
  auto r = anthropic::build_http_request(call, bj::object{}, false, key);
  ASSERT_TRUE(r.ok()) << r.error().to_json();
  EXPECT_EQ(key, kKey);
  EXPECT_EQ(r.value()->origin->host, "api.anthropic.com");
  EXPECT_TRUE(r.value()->origin->tls);
  EXPECT_EQ(r.value()->target, "/v1/messages");
  EXPECT_EQ(header(*r.value(), "x-api-key"), kKey);
  EXPECT_EQ(header(*r.value(), "anthropic-version"), "2023-06-01");
  EXPECT_EQ(header(*r.value(), "anthropic-beta"), "<absent>");
  EXPECT_EQ(header(*r.value(), "content-type"), "application/json");
  EXPECT_EQ(header(*r.value(), "accept"), "application/json");
  EXPECT_EQ(header(*r.value(), "authorization"), "<absent>");
  EXPECT_EQ(header(*r.value(), "traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(r.value()->timeout, std::chrono::milliseconds(1234));
  EXPECT_EQ(r.value()->body, "{}");
  EXPECT_EQ(call.meta.server_address, "api.anthropic.com");
  EXPECT_EQ(call.meta.server_port, 443);

  call.stream = true;
  auto s = anthropic::build_http_request(call, bj::object{}, false, key);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(header(*s.value(), "accept"), "text/event-stream");
  auto c = anthropic::build_http_request(call, bj::object{}, true, key);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value()->target, "/v1/messages/count_tokens");
}

TEST(AnthropicProviderTest, RequestsAreBuiltInTheThreadsRecycledOnes) {
  const config::Deployment d = deployment();
  Call call;
  call.deployment = &d;
  call.upstream_headers.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  std::string key;
  const bj::object body = {{"model", "claude-3-5-haiku-20241022"}, {"max_tokens", 64}};
  const void* first_fields = nullptr;
  const char* first_body = nullptr;
  std::size_t spare = 0;
  {
    auto first = anthropic::build_http_request(call, body, false, key);
    ASSERT_TRUE(first.ok());
    first_fields = first.value()->headers.begin();
    first_body = first.value()->body.data();
    spare = Recycled<http::ClientRequest>::spare_count();
  }
  EXPECT_EQ(Recycled<http::ClientRequest>::spare_count(), spare + 1);  // handed back when done with
  auto second = anthropic::build_http_request(call, body, false, key);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Recycled<http::ClientRequest>::spare_count(), spare);                      // and taken again
  EXPECT_EQ(static_cast<const void*>(second.value()->headers.begin()), first_fields);  // the same fields
  EXPECT_EQ(second.value()->body.data(), first_body);  // the body serialized into the same storage
  EXPECT_EQ(bj::parse(second.value()->body), body);
  EXPECT_EQ(header(*second.value(), "x-api-key"), kKey);
  EXPECT_EQ(header(*second.value(), "traceparent"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(second.value()->target, "/v1/messages");
}

TEST(AnthropicProviderTest, VersionAndBetaConfigurable) {
  config::Deployment d = deployment("http://127.0.0.1:9/v1");
  d.params.extra["anthropic_version"] = "2024-01-01";
  d.params.extra["anthropic_beta"] = bj::array{"prompt-caching-2024-07-31", "token-counting-2024-11-01"};
  Call call;
  call.deployment = &d;
  std::string key;
  auto r = anthropic::build_http_request(call, bj::object{}, false, key);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->target, "/v1/messages");
  EXPECT_FALSE(r.value()->origin->tls);
  EXPECT_EQ(header(*r.value(), "anthropic-version"), "2024-01-01");
  EXPECT_EQ(header(*r.value(), "anthropic-beta"), "prompt-caching-2024-07-31,token-counting-2024-11-01");
  d.params.extra["anthropic_beta"] = "output-128k-2025-02-19";
  auto one = anthropic::build_http_request(call, bj::object{}, false, key);
  EXPECT_EQ(header(*one.value(), "anthropic-beta"), "output-128k-2025-02-19");
  d.params.extra["anthropic_beta"] = 5;
  auto bad = anthropic::build_http_request(call, bj::object{}, false, key);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().status, 500);
  EXPECT_EQ(bad.error().message.find(kKey), std::string::npos);
}

TEST(AnthropicProviderTest, KeyFromEnvironment) {
  config::Deployment d = deployment();
  d.params.api_key.clear();
  Call call;
  call.deployment = &d;
  std::string key;
  ::setenv("ANTHROPIC_API_KEY", "sk-ant-from-env-0001", 1);
  auto r = anthropic::build_http_request(call, bj::object{}, false, key);
  ::unsetenv("ANTHROPIC_API_KEY");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(header(*r.value(), "x-api-key"), "sk-ant-from-env-0001");
  EXPECT_EQ(key, "sk-ant-from-env-0001");
  auto none = anthropic::build_http_request(call, bj::object{}, false, key);
  EXPECT_EQ(header(*none.value(), "x-api-key"), "<absent>");
}

// ---- a loopback upstream ----

struct Seen {
  std::string head;  // lower-cased: header names are case-insensitive
  std::string body;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Accepts one connection, reads one request (head and Content-Length body), answers `response` whole, closes.
asio::awaitable<void> serve_once(tcp::acceptor& acceptor, std::string response, Seen& seen) {
  tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
  std::string data;
  char buf[4096];
  std::size_t head_end = std::string::npos;
  std::size_t length = 0;
  for (;;) {
    const std::size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::use_awaitable);
    data.append(buf, n);
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const std::string head = lower(data.substr(0, head_end));
      const std::size_t at = head.find("content-length:");
      if (at != std::string::npos) length = std::stoul(head.substr(at + 15));
    }
    if (data.size() >= head_end + 4 + length) break;
  }
  seen.head = lower(data.substr(0, head_end));
  seen.body = data.substr(head_end + 4, length);
  co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

// Runs the upstream and one provider call on one io_context.
template <class T>
T with_upstream(std::string response, Seen& seen,
                const std::function<asio::awaitable<T>(std::string)>& call) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  asio::co_spawn(io, serve_once(acceptor, std::move(response), seen), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  std::optional<T> out;
  asio::co_spawn(io, store_result(call(base), out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(10));
  if (!out) throw std::runtime_error("the call did not complete");
  return std::move(*out);
}

TEST(AnthropicProviderTest, CountTokensPassesTheAnthropicBodyThrough) {
  Seen seen;
  config::Deployment d;
  bj::object body = bj::parse(R"({"model":"claude-haiku","system":"Be brief.",
      "messages":[{"role":"user","content":"Hello, world"}],
      "tools":[{"name":"get_weather","input_schema":{"type":"object"}}]})")
                        .as_object();
  AnthropicProvider provider;
  Call call;
  auto result = with_upstream<Result<Response>>(
      http_response(200, "application/json", R"({"input_tokens":2095})"), seen, [&](std::string base) {
        d = deployment(base);
        call.deployment = &d;
        call.body = &body;
        call.public_model = "claude-haiku";
        return provider.count_tokens(call);
      });
  ASSERT_TRUE(result.ok()) << result.error().to_json();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, R"({"input_tokens":2095})");
  EXPECT_EQ(seen.head.rfind("post /v1/messages/count_tokens http/1.1", 0), 0u) << seen.head;
  EXPECT_NE(seen.head.find("x-api-key: " + lower(kKey)), std::string::npos) << seen.head;
  EXPECT_NE(seen.head.find("anthropic-version: 2023-06-01"), std::string::npos) << seen.head;
  const bj::value sent = bj::parse(seen.body);
  EXPECT_EQ(sent.at("model"), bj::value("claude-3-5-haiku-20241022"));
  EXPECT_EQ(sent.at("system"), bj::value("Be brief."));
  EXPECT_EQ(sent.at("tools").at(0).at("name"), bj::value("get_weather"));
  EXPECT_EQ(call.meta.upstream_status, 200);
}

TEST(AnthropicProviderTest, CountTokensErrorMapped) {
  Seen seen;
  config::Deployment d;
  bj::object body =
      bj::parse(R"({"model":"claude-haiku","messages":[{"role":"user","content":"Hi"}]})").as_object();
  AnthropicProvider provider;
  Call call;
  const std::string error_body =
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded for )" + std::string(kKey) +
      R"("}})";
  auto result = with_upstream<Result<Response>>(
      http_response(529, "application/json", error_body, "Retry-After: 4\r\n"), seen, [&](std::string base) {
        d = deployment(base);
        call.deployment = &d;
        call.body = &body;
        return provider.count_tokens(call);
      });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().status, 503);
  EXPECT_EQ(result.error().code, "overloaded");
  EXPECT_EQ(result.error().retry_after, "4");
  EXPECT_EQ(result.error().to_json().find(kKey), std::string::npos);
  EXPECT_EQ(call.meta.upstream_status, 529);
}

// The client is gone at the first flush.
class GoneAtFirstFlush final : public ChunkSink {
 public:
  void on_chunk(std::string_view json) override { chunks.emplace_back(json); }
  asio::awaitable<bool> flush() override {
    ++flushes;
    co_return false;
  }
  std::vector<std::string> chunks;
  int flushes = 0;
};

TEST(AnthropicProviderTest, StreamStopsWhenTheClientIsGone) {
  const std::string sse =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\","
      "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"one\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"two\"}}\n\n";
  Seen seen;
  config::Deployment d;
  bj::object body =
      bj::parse(R"({"model":"claude-haiku","stream":true,"messages":[{"role":"user","content":"Hi"}]})")
          .as_object();
  AnthropicProvider provider;
  GoneAtFirstFlush sink;
  Call call;
  // The body announces more than it sends: the stream is still open after the first read.
  std::string response = http_response(200, "text/event-stream", sse + std::string(64, ' '));
  response.resize(response.size() - 64);
  auto result = with_upstream<Result<bool>>(response, seen, [&](std::string base) {
    d = deployment(base);
    call.deployment = &d;
    call.body = &body;
    call.stream = true;
    call.public_model = "claude-haiku";
    return provider.stream(call, sink);
  });
  ASSERT_TRUE(result.ok()) << result.error().to_json();
  EXPECT_FALSE(result.value());  // the client went away
  EXPECT_EQ(sink.flushes, 1);
  // What the first read brought (how much depends on the client's read size): at least the role chunk of
  // message_start, at most the two deltas too.
  ASSERT_GE(sink.chunks.size(), 1u);
  EXPECT_LE(sink.chunks.size(), 3u);
  EXPECT_EQ(bj::parse(sink.chunks[0]).at("choices").at(0).at("delta").at("role"), bj::value("assistant"));
  const bj::value sent = bj::parse(seen.body);
  EXPECT_EQ(sent.at("stream"), bj::value(true));
  EXPECT_EQ(sent.at("max_tokens"), bj::value(4096));
  EXPECT_NE(seen.head.find("accept: text/event-stream"), std::string::npos) << seen.head;
}

}  // namespace
}  // namespace sy::providers
