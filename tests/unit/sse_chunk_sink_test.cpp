// Unit tests for the SSE sink of streamed answers (api/sse_chunk_sink.h): the chunks handed over between two
// flushes leave in one write, chunks of separate flushes in separate writes, and the end of the stream in one
// write with what was not flushed yet. The last test runs the OpenAI adapter against a loopback upstream that
// sends its events in two TCP writes, the second only once the first has reached the client.
#include "api/sse_chunk_sink.h"

#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "coro_test_support.h"
#include "providers/openai/openai_provider.h"

namespace sy::api {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using asio::ip::tcp;
using test::run;

// What a handler did to its response, call by call.
class RecordingWriter final : public http::ResponseWriter {
 public:
  struct Op {
    std::string kind;  // send, start, write, finish
    std::string data;
  };

  asio::awaitable<void> send(int, std::string_view, std::string body,
                             std::span<const http::Header>) override {
    ops.push_back({"send", std::move(body)});
    started_ = true;
    co_return;
  }
  asio::awaitable<bool> start_stream(int, std::string_view, std::span<const http::Header>) override {
    if (started_) co_return false;
    started_ = true;
    ops.push_back({"start", {}});
    co_return true;
  }
  asio::awaitable<bool> write(std::string_view data) override {
    ops.push_back({"write", std::string(data)});
    if (on_write) on_write();
    co_return !gone;
  }
  asio::awaitable<void> finish(std::string_view last_data) override {
    ops.push_back({"finish", std::string(last_data)});
    co_return;
  }
  bool started() const noexcept override { return started_; }

  std::vector<Op> ops;
  std::function<void()> on_write;
  bool gone = false;  // writes fail: the client went away

 private:
  bool started_ = false;
};

std::string frames(std::initializer_list<std::string_view> payloads) {
  std::string out;
  for (std::string_view p : payloads) out += "data: " + std::string(p) + "\n\n";
  return out;
}

TEST(SseChunkSinkTest, ChunksOfOneFlushLeaveInOneWrite) {
  RecordingWriter w;
  RequestContext ctx;
  SseChunkSink sink(w, ctx, openai_dialect());
  EXPECT_FALSE(sink.begun());
  sink.on_chunk(R"({"n":1})");
  sink.on_chunk(R"({"n":2})");
  sink.on_chunk(R"({"n":3})");
  EXPECT_TRUE(sink.begun());
  EXPECT_TRUE(w.ops.empty());  // held until the flush
  EXPECT_TRUE(run(sink.flush()));
  ASSERT_EQ(w.ops.size(), 2u);
  EXPECT_EQ(w.ops[0].kind, "start");
  EXPECT_EQ(w.ops[1].kind, "write");
  EXPECT_EQ(w.ops[1].data, frames({R"({"n":1})", R"({"n":2})", R"({"n":3})"}));

  EXPECT_TRUE(run(sink.flush()));  // nothing new: no write
  EXPECT_EQ(w.ops.size(), 2u);

  sink.on_chunk(R"({"n":4})");
  sink.on_chunk(R"({"n":5})");
  EXPECT_TRUE(run(sink.flush()));
  ASSERT_EQ(w.ops.size(), 3u);
  EXPECT_EQ(w.ops[2].kind, "write");
  EXPECT_EQ(w.ops[2].data, frames({R"({"n":4})", R"({"n":5})"}));

  sink.on_chunk(R"({"n":6})");
  run(sink.end());
  ASSERT_EQ(w.ops.size(), 4u);
  EXPECT_EQ(w.ops[3].kind, "finish");
  EXPECT_EQ(w.ops[3].data, frames({R"({"n":6})", "[DONE]"}));
}

TEST(SseChunkSinkTest, EndWithoutChunksStartsAndEndsInOneWrite) {
  RecordingWriter w;
  RequestContext ctx;
  SseChunkSink sink(w, ctx, openai_dialect());
  run(sink.end());
  ASSERT_EQ(w.ops.size(), 2u);
  EXPECT_EQ(w.ops[0].kind, "start");
  EXPECT_EQ(w.ops[1].kind, "finish");
  EXPECT_EQ(w.ops[1].data, frames({"[DONE]"}));
}

TEST(SseChunkSinkTest, ErrorEndCarriesTheUnflushedChunks) {
  RecordingWriter w;
  RequestContext ctx;
  SseChunkSink sink(w, ctx, openai_dialect());
  sink.on_chunk(R"({"n":1})");
  const Error error{502, "api_error", "cut", "upstream_error", {}, {}};
  run(sink.end_with_error(error));
  ASSERT_EQ(w.ops.size(), 2u);
  EXPECT_EQ(w.ops[1].kind, "finish");
  EXPECT_EQ(w.ops[1].data, frames({R"({"n":1})", error.to_json()}));
}

TEST(SseChunkSinkTest, FlushTellsTheClientIsGone) {
  RecordingWriter w;
  w.gone = true;
  RequestContext ctx;
  SseChunkSink sink(w, ctx, openai_dialect());
  sink.on_chunk(R"({"n":1})");
  EXPECT_FALSE(run(sink.flush()));
}

// ---- through the OpenAI adapter, from a loopback upstream ----

std::string http_chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

std::string event(int n) {
  return "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"e" +
         std::to_string(n) + "\"},\"finish_reason\":" + (n == 5 ? "\"stop\"" : "null") + "}]}\n\n";
}

// Answers one streaming request in two TCP writes: events 1-3 (one HTTP chunk each), then, once `gate` is
// cancelled, events 4-5, [DONE] and the end of the body; then closes (Connection: close: nothing is pooled).
asio::awaitable<void> serve_two_writes(tcp::acceptor& acceptor, asio::steady_timer& gate, bool& second_sent) {
  tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const std::size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::use_awaitable);
    request.append(buf, n);
  }
  std::string first =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: "
      "close\r\n\r\n";
  for (int n = 1; n <= 3; ++n) first += http_chunk(event(n));
  co_await asio::async_write(socket, asio::buffer(first), asio::use_awaitable);
  auto [ec] = co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
  std::string second =
      http_chunk(event(4)) + http_chunk(event(5)) + http_chunk("data: [DONE]\n\n") + "0\r\n\r\n";
  second_sent = true;
  co_await asio::async_write(socket, asio::buffer(second), asio::use_awaitable);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

TEST(SseChunkSinkTest, OneWritePerUpstreamReadAndNothingHeldBack) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::steady_timer gate(io, asio::steady_timer::time_point::max());
  bool second_sent = false;
  asio::co_spawn(io, serve_two_writes(acceptor, gate, second_sent), asio::detached);

  config::Deployment d;
  d.model_name = "pub";
  d.params.model = "openai/up";
  d.params.provider = "openai";
  d.params.provider_model = "up";
  d.params.api_base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/v1";
  d.params.api_key = "sk-test";
  bj::object body =
      bj::parse(R"({"model":"pub","stream":true,"messages":[{"role":"user","content":"hi"}]})").as_object();
  providers::Call call;
  call.deployment = &d;
  call.body = &body;
  call.public_model = "pub";
  call.stream = true;
  call.include_usage = false;

  RecordingWriter w;
  // The first write must reach the client while the upstream still holds events 4 and 5.
  w.on_write = [&] {
    EXPECT_FALSE(second_sent) << "a write came only after the upstream's second write";
    gate.cancel();
  };
  RequestContext ctx;
  SseChunkSink sink(w, ctx, openai_dialect());
  providers::OpenAiProvider provider;
  std::optional<Result<bool>> result;
  auto stream_and_end = [&]() -> asio::awaitable<void> {
    auto r = co_await provider.stream(call, sink);
    const bool complete = r.ok() && r.value();
    result.emplace(std::move(r));
    if (complete) co_await sink.end();
  };
  asio::co_spawn(io, stream_and_end(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(result.has_value()) << "the stream did not complete (were events held back?)";
  ASSERT_TRUE(result->ok()) << result->error().to_json();
  EXPECT_TRUE(result->value());

  auto rewritten = [](int n) {
    std::string e = event(n);
    e.replace(e.find("\"up\""), 4, "\"pub\"");
    return e;
  };
  ASSERT_EQ(w.ops.size(), 3u);
  EXPECT_EQ(w.ops[0].kind, "start");
  EXPECT_EQ(w.ops[1].kind, "write");  // the three events of the first read, in one write
  EXPECT_EQ(w.ops[1].data, rewritten(1) + rewritten(2) + rewritten(3));
  EXPECT_EQ(w.ops[2].kind, "finish");  // the rest of the stream and its end, in one write
  EXPECT_EQ(w.ops[2].data, rewritten(4) + rewritten(5) + "data: [DONE]\n\n");
  EXPECT_EQ(call.meta.finish_reasons, std::vector<std::string>{"stop"});
}

}  // namespace
}  // namespace sy::api
