#include "api/sse_chunk_sink.h"

#include "router/router.h"

namespace sy::api {

namespace asio = boost::asio;

void SseChunkSink::on_chunk(std::string_view json) {
  if (!first_seen_ && router_) {
    first_seen_ = true;
    router_->first_token(*selection_, std::chrono::steady_clock::now() - attempt_started_);
  }
  dialect_.chunk_frames(json, pending_);
}

asio::awaitable<bool> SseChunkSink::flush() {
  if (pending_.empty()) co_return true;
  const bool started = co_await start();
  if (!started) co_return false;
  const bool written = co_await w_.write(pending_);
  pending_.clear();
  co_return written;
}

void SseChunkSink::attempt(const router::Router* router, const router::Selection* selection,
                           std::chrono::steady_clock::time_point started) {
  router_ = router;
  selection_ = selection;
  attempt_started_ = started;
  first_seen_ = false;
}

asio::awaitable<void> SseChunkSink::end() {
  dialect_.end_frames(pending_);
  co_await write_last();
}

asio::awaitable<void> SseChunkSink::end_with_error(const Error& error) {
  dialect_.error_frame(error, pending_);
  co_await write_last();
}

asio::awaitable<bool> SseChunkSink::start() {
  if (w_.started()) co_return true;
  if (ctx_.span && ctx_.span->recording()) {
    const double ttft = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx_.start).count();
    ctx_.span->add_event("gen_ai.first_token", {{"gen_ai.server.time_to_first_token", ttft}});
  }
  const bool ok = co_await w_.start_stream(200, "text/event-stream", ctx_.response_headers);
  co_return ok;
}

asio::awaitable<void> SseChunkSink::write_last() {
  const bool started = co_await start();
  if (started) co_await w_.finish(pending_);
  pending_.clear();
}

}  // namespace sy::api
