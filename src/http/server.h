// The HTTP/1.1 server: one io_context and one SO_REUSEPORT acceptor per worker thread, keep-alive sessions
// with limits on head size, body size, head/body/idle time and connection count, and a graceful drain on
// SIGTERM/SIGINT.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "http/message.h"
#include "http/response_writer.h"

namespace sy::http {

struct ServerLimits {
  std::size_t max_request_body_bytes = 32u * 1024 * 1024;
  std::size_t max_header_bytes = 16u * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{60'000};
  std::chrono::milliseconds drain_timeout{30'000};
  std::size_t max_connections = 10'000;
  // Deadlines are checked this often (and at least four times per the shortest timeout above), so a timeout
  // fires up to this much after its time, never before.
  std::chrono::milliseconds deadline_resolution{100};
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 4000;
  unsigned workers = 0;  // 0: one per core
  ServerLimits limits;
  // Runs on SIGHUP, on the thread that called run() (not an I/O thread). Without it SIGHUP is ignored.
  std::function<void()> on_hangup;
  // Runs on every worker thread, one worker after the other, once no worker has read a request for
  // `idle_after` (and again only after the next request): housekeeping that should not run while requests
  // keep coming, such as giving memory back to the kernel. Streams begun earlier may still be open then; the
  // task runs between their I/O events like any other work of the worker. `last` is true on the round's last
  // worker: work for the whole process goes there, once, after every worker did its own. Without it nothing
  // runs.
  std::function<void(bool last)> on_idle;
  std::chrono::milliseconds idle_after{1000};
};

// Answers one request. Runs on the worker thread that owns the connection; it is cancelled (its awaited
// operations fail with operation_aborted) when the client goes away before the answer is complete.
using Handler = std::function<boost::asio::awaitable<void>(Request&, ResponseWriter&)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every worker's acceptor; returns the bound port (useful with port 0). Throws on failure.
  std::uint16_t listen();
  // Runs the workers until a drain completes (SIGTERM/SIGINT or drain()). Blocks the calling thread.
  void run();
  // Stops accepting, lets in-flight requests finish within drain_timeout, then stops. Thread-safe.
  void drain();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sy::http
