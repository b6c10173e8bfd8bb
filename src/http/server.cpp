#include "http/server.h"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <list>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "util/error.h"
#include "util/log.h"

namespace sy::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// A live connection as its worker sees it: drain closes the idle ones at once.
struct SessionEntry {
  beast::tcp_stream* stream;
  bool idle;
};

struct Worker {
  asio::io_context ioc{1};
  std::optional<tcp::acceptor> acceptor;
  std::list<SessionEntry> sessions;
  bool draining = false;
  std::thread thread;
};

Error server_error(int status, std::string type, std::string message, std::string code) {
  return Error{status, std::move(type), std::move(message), std::move(code), {}, {}};
}

// Writes responses on one connection; tracks whether anything reached the socket and whether the client is
// gone.
class SessionWriter final : public ResponseWriter {
 public:
  SessionWriter(beast::tcp_stream& stream, const ServerLimits& limits) : stream_(stream), limits_(limits) {}

  void reset(bool keep_alive, unsigned version) {
    keep_alive_ = keep_alive;
    version_ = version;
    started_ = finished_ = failed_ = streaming_ = false;
  }

  asio::awaitable<void> send(int status, std::string_view content_type, std::string body,
                             std::span<const Header> extra_headers) override {
    if (started_) co_return;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version_};
    res.set(bhttp::field::server, "switchyard");
    res.set(bhttp::field::content_type, content_type);
    for (const Header& h : extra_headers) res.set(h.name, h.value);
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    started_ = true;
    stream_.expires_after(limits_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream_, res, kTuple);
    failed_ = static_cast<bool>(ec);
    finished_ = true;
  }

  asio::awaitable<bool> start_stream(int status, std::string_view content_type,
                                     std::span<const Header> extra_headers) override {
    if (started_) co_return false;
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), version_};
    res.set(bhttp::field::server, "switchyard");
    res.set(bhttp::field::content_type, content_type);
    res.set(bhttp::field::cache_control, "no-cache");
    for (const Header& h : extra_headers) res.set(h.name, h.value);
    chunked_ = version_ >= 11;
    if (!chunked_) keep_alive_ = false;  // HTTP/1.0: the body ends when the connection closes
    res.keep_alive(keep_alive_);
    if (chunked_) res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    started_ = streaming_ = true;
    stream_.expires_after(limits_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, kTuple);
    failed_ = static_cast<bool>(ec);
    co_return !failed_;
  }

  asio::awaitable<bool> write(std::string_view data) override {
    if (!streaming_ || failed_ || data.empty()) co_return !failed_;
    stream_.expires_after(limits_.write_timeout);
    boost::system::error_code ec;
    if (chunked_) {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(data)), kTuple);
    } else {
      std::tie(ec, std::ignore) = co_await asio::async_write(stream_, asio::buffer(data), kTuple);
    }
    failed_ = static_cast<bool>(ec);
    co_return !failed_;
  }

  asio::awaitable<void> finish() override {
    if (!streaming_ || finished_) co_return;
    finished_ = true;
    if (failed_ || !chunked_) co_return;
    stream_.expires_after(limits_.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk_last(), kTuple);
    failed_ = static_cast<bool>(ec);
  }

  bool started() const noexcept override { return started_; }
  bool finished() const noexcept { return finished_; }
  bool failed() const noexcept { return failed_; }
  bool keep_alive() const noexcept { return keep_alive_; }

 private:
  beast::tcp_stream& stream_;
  const ServerLimits& limits_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;
  bool streaming_ = false;
  bool chunked_ = true;
};

// Completes when the peer has closed (or reset) its side; parks when it has pipelined bytes, which cannot be
// told apart from a close without reading them.
asio::awaitable<void> watch_client_gone(beast::tcp_stream& stream, bool& gone) {
  auto& sock = stream.socket();
  // Waits complete with an error code, not an exception: this watcher is cancelled at the end of every
  // request, and unwinding an exception there cost about 5% of the CPU of a small request.
  for (;;) {
    auto [wec] = co_await sock.async_wait(tcp::socket::wait_read, kTuple);
    if (wec) {
      gone = wec != asio::error::operation_aborted;  // aborted: the request ended; else the socket failed
      co_return;
    }
    char c;
    ssize_t n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      gone = true;
      co_return;
    }
    if (n > 0) {
      // The client sent more (a pipelined request): nothing to watch until the request ends and cancels this.
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer park(executor, asio::steady_timer::time_point::max());
      auto [pec] = co_await park.async_wait(kTuple);
      (void)pec;
      co_return;
    }
  }
}

// Half-closes, then reads and discards what the client still sends for a moment, so that closing does not
// reset the connection before the client has read our last response.
asio::awaitable<void> close_gracefully(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    stream.expires_after(std::chrono::seconds(2));
    char buf[4096];
    std::size_t total = 0;
    while (total < (1u << 20)) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(buf), kTuple);
      if (rec) break;
      total += n;
    }
  }
  stream.socket().close(ec);
}

}  // namespace

struct Server::Impl {
  ServerOptions opts;
  Handler handler;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<std::size_t> connections{0};
  asio::io_context control{1};
  std::optional<asio::steady_timer> drain_deadline;
  bool drain_started = false;  // control thread only

  asio::awaitable<void> accept_loop(Worker& w);
  asio::awaitable<void> session(Worker& w, tcp::socket socket);
  asio::awaitable<void> reject_overloaded(tcp::socket socket);
  asio::awaitable<void> run_handler(Request& req, SessionWriter& writer, beast::tcp_stream& stream);
  asio::awaitable<void> guarded_handler(Request& req, SessionWriter& writer, const bool& client_gone);
  void start_drain();
};

asio::awaitable<void> Server::Impl::accept_loop(Worker& w) {
  for (;;) {
    auto [ec, socket] = co_await w.acceptor->async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) co_return;
      // Out of descriptors and the like: back off briefly rather than spin.
      log::warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer backoff(w.ioc, std::chrono::milliseconds(50));
      co_await backoff.async_wait(kTuple);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (connections.fetch_add(1, std::memory_order_relaxed) >= opts.limits.max_connections) {
      asio::co_spawn(w.ioc, reject_overloaded(std::move(socket)), asio::detached);
    } else {
      asio::co_spawn(w.ioc, session(w, std::move(socket)), asio::detached);
    }
  }
}

asio::awaitable<void> Server::Impl::reject_overloaded(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  SessionWriter writer(stream, opts.limits);
  writer.reset(false, 11);
  Error e = server_error(503, "service_unavailable_error",
                         "The gateway is at its connection limit; retry later.", "overloaded");
  Header retry{"Retry-After", "1"};
  std::string body = e.to_json();
  co_await writer.send(503, "application/json", std::move(body), std::span<const Header>(&retry, 1));
  co_await close_gracefully(stream);
  connections.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<void> Server::Impl::guarded_handler(Request& req, SessionWriter& writer,
                                                    const bool& client_gone) {
  try {
    co_await handler(req, writer);
  } catch (const std::exception& e) {
    if (!client_gone) log::error("handler failed", {{"error", e.what()}, {"path", req.path}});
  }
  if (client_gone) co_return;
  if (!writer.started()) {
    Error e = server_error(500, "api_error", "Internal error.", "internal_error");
    std::string body = e.to_json();
    co_await writer.send(500, "application/json", std::move(body), {});
  } else {
    co_await writer.finish();
  }
}

asio::awaitable<void> Server::Impl::run_handler(Request& req, SessionWriter& writer,
                                                beast::tcp_stream& stream) {
  bool client_gone = false;
  co_await (guarded_handler(req, writer, client_gone) || watch_client_gone(stream, client_gone));
  if (client_gone) writer.reset(false, 11);
}

asio::awaitable<void> Server::Impl::session(Worker& w, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  auto entry = w.sessions.insert(w.sessions.end(), SessionEntry{&stream, true});
  beast::flat_buffer buffer;
  SessionWriter writer(stream, opts.limits);
  Request req;
  {
    boost::system::error_code ec;
    auto local = stream.socket().local_endpoint(ec);
    if (!ec) req.local_port = local.port();
  }
  const ServerLimits& lim = opts.limits;
  bool close_from_our_side = false;

  // Takes plain views, never an Error temporary: g++ 12 destroys temporaries of a co_await expression twice.
  auto reply_error = [&](int status, std::string_view message,
                         std::string_view code) -> asio::awaitable<void> {
    writer.reset(false, 11);
    const Error e = server_error(status, "invalid_request_error", std::string(message), std::string(code));
    std::string body = e.to_json();
    co_await writer.send(status, "application/json", std::move(body), {});
    close_from_our_side = true;
  };
  bool first_request = true;

  for (;;) {
    entry->idle = true;
    if (w.draining) {
      close_from_our_side = true;
      break;
    }
    if (buffer.size() == 0) {
      // A new connection gets the head deadline for its first byte too; a kept-alive one may idle longer.
      stream.expires_after(first_request ? lim.header_timeout : lim.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
      if (ec) break;
      buffer.commit(n);
    }
    entry->idle = false;
    first_request = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
    parser.body_limit(lim.max_request_body_bytes);
    stream.expires_after(lim.header_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    if (hec == bhttp::error::header_limit) {
      co_await reply_error(431, "Request header fields too large.", "request_header_fields_too_large");
      break;
    }
    if (hec == bhttp::error::body_limit) {
      co_await reply_error(413, "Request body too large.", "request_too_large");
      break;
    }
    if (hec) {
      if (hec != beast::error::timeout && hec != bhttp::error::end_of_stream && hec != asio::error::eof &&
          hec != asio::error::operation_aborted && hec != asio::error::connection_reset) {
        co_await reply_error(400, "Malformed HTTP request.", "bad_request");
      }
      break;
    }
    if (!parser.is_done()) {
      if (auto expect = parser.get()[bhttp::field::expect]; http::iequals(expect, "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream.expires_after(lim.write_timeout);
        auto [cec, cn] = co_await asio::async_write(stream, asio::buffer(kContinue), kTuple);
        if (cec) break;
      }
      stream.expires_after(lim.body_timeout);
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
      if (bec == bhttp::error::body_limit) {
        co_await reply_error(413, "Request body too large.", "request_too_large");
        break;
      }
      if (bec) break;
    }

    auto& msg = parser.get();
    const bool keep_alive = msg.keep_alive() && !w.draining;
    req.method = msg.method_string();
    req.target = msg.target();
    req.path = req.target.substr(0, req.target.find('?'));
    req.headers.clear();
    for (const auto& field : msg) req.headers.emplace_back(field.name_string(), field.value());
    req.body = std::move(msg.body());
    writer.reset(keep_alive, msg.version());
    stream.expires_never();
    co_await run_handler(req, writer, stream);
    if (!writer.finished() || writer.failed()) break;
    if (!writer.keep_alive()) {
      close_from_our_side = true;
      break;
    }
  }

  w.sessions.erase(entry);
  if (close_from_our_side) {
    co_await close_gracefully(stream);
  } else {
    boost::system::error_code ignored;
    stream.socket().close(ignored);
  }
  connections.fetch_sub(1, std::memory_order_relaxed);
}

void Server::Impl::start_drain() {
  if (drain_started) {
    log::warn("second stop signal: stopping now");
    for (auto& w : workers) w->ioc.stop();
    return;
  }
  drain_started = true;
  log::info("draining", {{"timeout_ms", static_cast<std::int64_t>(opts.limits.drain_timeout.count())}});
  for (auto& w : workers) {
    asio::post(w->ioc, [wp = w.get()] {
      wp->draining = true;
      boost::system::error_code ignored;
      if (wp->acceptor) wp->acceptor->close(ignored);
      for (auto& s : wp->sessions) {
        if (s.idle) s.stream->socket().cancel(ignored);
      }
    });
  }
  drain_deadline.emplace(control, opts.limits.drain_timeout);
  drain_deadline->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    log::warn("drain deadline reached: cancelling remaining requests");
    for (auto& w : workers) w->ioc.stop();
  });
}

Server::Server(ServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(options);
  impl_->handler = std::move(handler);
}

Server::~Server() {
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) {
      w->ioc.stop();
      w->thread.join();
    }
  }
}

std::uint16_t Server::listen() {
  unsigned n = impl_->opts.workers ? impl_->opts.workers : std::max(1u, std::thread::hardware_concurrency());
  tcp::resolver resolver(impl_->control);
  auto results = resolver.resolve(impl_->opts.host, std::to_string(impl_->opts.port));
  tcp::endpoint endpoint = results.begin()->endpoint();
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->acceptor.emplace(w->ioc);
    w->acceptor->open(endpoint.protocol());
    w->acceptor->set_option(tcp::acceptor::reuse_address(true));
    w->acceptor->set_option(ReusePort(true));
    w->acceptor->bind(endpoint);
    w->acceptor->listen(asio::socket_base::max_listen_connections);
    if (i == 0)
      endpoint.port(w->acceptor->local_endpoint().port());  // port 0: the others share the chosen one
    impl_->workers.push_back(std::move(w));
  }
  return endpoint.port();
}

void Server::run() {
  Impl& im = *impl_;
  asio::signal_set signals(im.control, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> arm = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        if (im.opts.on_hangup) im.opts.on_hangup();
      } else {
        im.start_drain();
      }
      arm();
    });
  };
  arm();
  auto guard = asio::make_work_guard(im.control);
  std::size_t remaining = im.workers.size();
  for (auto& w : im.workers) {
    asio::co_spawn(w->ioc, im.accept_loop(*w), asio::detached);
    w->thread = std::thread([&im, &remaining, wp = w.get()] {
      wp->ioc.run();
      asio::post(im.control, [&im, &remaining] {
        if (--remaining == 0) im.control.stop();
      });
    });
  }
  im.control.run();
  for (auto& w : im.workers) {
    w->ioc.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  log::info("stopped");
}

void Server::drain() {
  asio::post(impl_->control, [this] { impl_->start_drain(); });
}

}  // namespace sy::http
