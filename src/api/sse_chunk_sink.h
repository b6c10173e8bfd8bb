// Writes a stream's chunks to the client as SSE, batched per upstream read: every chunk an adapter hands over
// is framed by the dialect into one buffer, and a flush writes what the buffer holds — all the events of one
// upstream read leave in one write (one chunk of the chunked body, one send), none waits for the next read.
// The response starts with the first write; the stream's end frames leave in one write with the chunks not
// flushed yet, and with the end of the chunked body.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "api/dialect.h"
#include "api/respond.h"
#include "http/response_writer.h"
#include "providers/provider.h"

namespace sy::router {
class Router;
struct Selection;
}  // namespace sy::router

namespace sy::api {

class SseChunkSink final : public providers::ChunkSink {
 public:
  SseChunkSink(http::ResponseWriter& w, RequestContext& ctx, Dialect& dialect)
      : w_(w), ctx_(ctx), dialect_(dialect) {}

  void on_chunk(std::string_view json) override;
  boost::asio::awaitable<bool> flush() override;

  // The attempt the next chunks belong to: its first chunk is the deployment's time to first token.
  void attempt(const router::Router* router, const router::Selection* selection,
               std::chrono::steady_clock::time_point started);

  // True once the answer has begun: bytes were sent, or chunks wait for the next write. It is then never
  // retried.
  bool begun() const noexcept { return w_.started() || !pending_.empty(); }

  // Ends a stream whose answer is complete.
  boost::asio::awaitable<void> end();
  // Ends a stream that failed after its answer had begun.
  boost::asio::awaitable<void> end_with_error(const Error& error);

 private:
  boost::asio::awaitable<bool> start();
  boost::asio::awaitable<void> write_last();

  http::ResponseWriter& w_;
  RequestContext& ctx_;
  Dialect& dialect_;
  std::string pending_;  // frames not written yet; its capacity is reused from write to write
  const router::Router* router_ = nullptr;
  const router::Selection* selection_ = nullptr;
  std::chrono::steady_clock::time_point attempt_started_;
  bool first_seen_ = false;
};

}  // namespace sy::api
