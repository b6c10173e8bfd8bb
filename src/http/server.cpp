#include "http/server.h"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <list>
#include <optional>
#include <span>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/deadline.h"
#include "util/error.h"
#include "util/log.h"

namespace sy::http {

using namespace std::string_view_literals;
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Request bytes are read into one buffer per worker and parsed at once; only what the parser leaves (a
// partial head, a pipelined request) is copied into the connection's own buffer.
constexpr std::size_t kWorkerReadBuffer = 64 * 1024;
// A request's head and body buffers up to this size stay with their connection between requests (no
// allocation per request); a larger body buffer goes back to the worker's spare (one, up to kMaxSpareBody) so
// that large bodies do not cost an allocation each either.
constexpr std::size_t kKeepPerConnection = 1024;
constexpr std::size_t kMaxSpareBody = 8u * 1024 * 1024;

struct ClientConnection;

// A live connection as its worker sees it: drain closes the idle ones at once.
struct SessionEntry {
  ClientConnection* connection;
  bool idle;
};

struct Worker {
  ~Worker();

  asio::io_context ioc{1};
  std::optional<tcp::acceptor> acceptor;
  std::list<SessionEntry> sessions;
  bool draining = false;
  std::thread thread;
  std::unique_ptr<char[]> read_buffer = std::make_unique<char[]>(kWorkerReadBuffer);
  std::string head_scratch;  // response heads are formatted here, then written at once
  std::string spare_body;
  // Requests this worker has read, for the idle check on the control thread (written by this worker only).
  std::atomic<std::uint64_t> requests{0};
};

Error server_error(int status, std::string type, std::string message, std::string code) {
  return Error{status, std::move(type), std::move(message), std::move(code), {}, {}};
}

// The head of a response with a Content-Length body, as Beast's serializer would write it.
void format_head(std::string& out, unsigned version, int status, std::string_view content_type,
                 std::span<const Header> extra, bool keep_alive, std::size_t length) {
  out.clear();
  out += "HTTP/"sv;
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
  out += ' ';
  char code[4] = {static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
                  static_cast<char>('0' + status % 10), ' '};
  out.append(code, 4);
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  out += "\r\n"sv;
  if (!has_header(extra, "server")) out += "Server: switchyard\r\n"sv;
  if (!has_header(extra, "content-type")) {
    out += "Content-Type: "sv;
    out += content_type;
    out += "\r\n"sv;
  }
  append_fields(out, extra, {"content-length", "transfer-encoding", "connection"});
  if (version >= 11 && !keep_alive) out += "Connection: close\r\n"sv;
  if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n"sv;
  if (!(status / 100 == 1 || status == 204 || status == 304)) {
    out += "Content-Length: "sv;
    char digits[24];
    char* end = digits + sizeof digits;
    char* p = end;
    do {
      *--p = static_cast<char>('0' + length % 10);
      length /= 10;
    } while (length != 0);
    out.append(p, end);
    out += "\r\n"sv;
  }
  out += "\r\n"sv;
}

// Writes responses on one connection; tracks whether anything reached the socket and whether the client is
// gone.
class SessionWriter final : public ResponseWriter {
 public:
  SessionWriter(TimedSocket& stream, const ServerLimits& limits, std::string& scratch)
      : stream_(stream), limits_(limits), scratch_(scratch) {}

  void reset(bool keep_alive, unsigned version) {
    keep_alive_ = keep_alive;
    version_ = version;
    started_ = finished_ = failed_ = streaming_ = head_pending_ = false;
  }

  // The head and body go out in one non-blocking write; only what the socket does not take at once is left
  // to an asynchronous write under write_timeout.
  asio::awaitable<void> send(int status, std::string_view content_type, std::string body,
                             std::span<const Header> extra_headers) override {
    if (started_) co_return;
    started_ = true;
    format_head(scratch_, version_, status, content_type, extra_headers, keep_alive_, body.size());
    const std::array<asio::const_buffer, 2> both{asio::buffer(scratch_), asio::buffer(body)};
    error_code ec;
    std::size_t n = stream_.socket().write_some(both, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      n = 0;
    }
    if (!ec && n < scratch_.size() + body.size()) {
      // The worker's scratch is shared: keep what is left of the head while this write waits.
      std::string head_rest = n < scratch_.size() ? scratch_.substr(n) : std::string();
      const std::size_t body_done = n > scratch_.size() ? n - scratch_.size() : 0;
      const std::array<asio::const_buffer, 2> rest{
          asio::buffer(head_rest), asio::buffer(body.data() + body_done, body.size() - body_done)};
      stream_.expires_after(limits_.write_timeout);
      auto [wec, wn] = co_await asio::async_write(stream_, rest, kTuple);
      stream_.expires_never();
      ec = wec;
    }
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
    // The head waits for the first write, and leaves with it in one send.
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    sr.split(true);
    head_.clear();
    boost::system::error_code ec;
    while (!ec && !sr.is_header_done()) {
      sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
        for (const auto b : beast::buffers_range_ref(buffers))
          head_.append(static_cast<const char*>(b.data()), b.size());
        sr.consume(beast::buffer_bytes(buffers));
      });
    }
    started_ = streaming_ = head_pending_ = true;
    co_return true;
  }

  asio::awaitable<bool> write(std::string_view data) override {
    if (!streaming_ || failed_ || data.empty()) co_return !failed_;
    co_await write_body(data, false);
    co_return !failed_;
  }

  asio::awaitable<void> finish(std::string_view last_data) override {
    if (!streaming_ || finished_) co_return;
    finished_ = true;
    if (failed_ || (!chunked_ && last_data.empty() && !head_pending_)) co_return;
    co_await write_body(last_data, true);
  }

  bool started() const noexcept override { return started_; }
  bool finished() const noexcept { return finished_; }
  bool failed() const noexcept { return failed_; }
  bool keep_alive() const noexcept { return keep_alive_; }

 private:
  // Sends `data` as one chunk of the body, and the last chunk after it when `last`, in one write; the chunk
  // framing is written here rather than with Beast's make_chunk, which allocates for every chunk.
  asio::awaitable<void> write_body(std::string_view data, bool last) {
    static constexpr std::string_view kCrlf = "\r\n";
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    std::array<asio::const_buffer, 5> buffers;
    std::size_t count = 0;
    if (head_pending_) buffers[count++] = asio::buffer(head_);
    head_pending_ = false;
    char size_line[2 * sizeof(std::size_t) + 2];
    if (!chunked_) {
      buffers[count++] = asio::buffer(data);
    } else {
      if (!data.empty()) {
        char* end = std::to_chars(size_line, size_line + 2 * sizeof(std::size_t), data.size(), 16).ptr;
        *end++ = '\r';
        *end++ = '\n';
        buffers[count++] = asio::buffer(size_line, static_cast<std::size_t>(end - size_line));
        buffers[count++] = asio::buffer(data);
        buffers[count++] = asio::buffer(kCrlf);
      }
      if (last) buffers[count++] = asio::buffer(kLastChunk);
    }
    const std::span<const asio::const_buffer> sequence(buffers.data(), count);
    stream_.expires_after(limits_.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, sequence, kTuple);
    stream_.expires_never();  // the deadline covers the write only: the next may come much later
    failed_ = static_cast<bool>(ec);
  }

  TimedSocket& stream_;
  const ServerLimits& limits_;
  std::string& scratch_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;
  bool streaming_ = false;
  bool chunked_ = true;
  std::string head_;           // a stream's head, serialized by start_stream
  bool head_pending_ = false;  // ... and not written yet
};

// A connection's one pending readability wait. Armed once a request has been read, it watches for the client
// going away while the handler runs (a close or reset emits the handler's cancellation); the session then
// awaits the same wait for the next request. One wait per request: one registration (epoll_ctl), and the
// completion resumes the session directly, not through a second queued operation.
class ReadWatch {
 public:
  ReadWatch(tcp::socket& socket, SocketDeadline& deadline) : socket_(socket), deadline_(deadline) {}
  ReadWatch(const ReadWatch&) = delete;
  ReadWatch& operator=(const ReadWatch&) = delete;

  // Starts the wait, unless one is pending or has completed without being consumed.
  void arm() {
    if (pending_ || done_) return;
    pending_ = true;
    socket_.async_wait(tcp::socket::wait_read, [this](const error_code& ec) { on_wait(ec); });
  }
  bool pending() const noexcept { return pending_; }

  // While set, a completion tells a close (or reset) from pipelined bytes, and on a close emits `cancel`.
  void watch_for_close(asio::cancellation_signal* cancel) { cancel_ = cancel; }
  bool client_gone() const noexcept { return gone_; }

  // Completes with the wait's result once it has completed (at once if it already has), and consumes it.
  asio::awaitable<error_code> ready() {
    arm();
    if (!done_) {
      auto [ec] = co_await asio::async_initiate<decltype(kTuple), void(error_code)>(
          [this](auto handler) { waiter_.emplace(std::move(handler)); }, kTuple);
      (void)ec;
    }
    done_ = false;
    co_return result_;
  }

  // The waiting session, when its io_context is destroyed under it: it owns the session's frame, which holds
  // this watch, so nothing else would ever free them. Destroying it hands the frame to the io_context to
  // free.
  void drop_waiter() noexcept { waiter_.reset(); }

 private:
  void on_wait(const error_code& ec) {
    pending_ = false;
    if (cancel_ != nullptr && !gone_) {
      if (ec == asio::error::operation_aborted) {
        // A sweep for a write deadline that outlived its write (nothing else cancels a connection whose
        // handler runs): the write, if one was pending, has failed; keep watching.
        if (deadline_.passed()) deadline_.disarm();
        arm();
        return;
      }
      bool closed = static_cast<bool>(ec);
      if (!ec) {
        char c;
        const ssize_t n = ::recv(socket_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
          arm();  // spurious
          return;
        }
        closed = n <= 0;  // 0: closed; < 0: reset; > 0: a pipelined request, read once the handler is done
      }
      if (closed) {
        gone_ = true;
        cancel_->emit(asio::cancellation_type::terminal);
      }
    }
    done_ = true;
    result_ = ec;
    if (waiter_) {
      // Resumes the session, which may end and free this object: nothing touches it after the call.
      auto waiter = std::move(*waiter_);
      waiter_.reset();
      std::move(waiter)(ec);
    }
  }

  tcp::socket& socket_;
  SocketDeadline& deadline_;
  std::optional<asio::any_completion_handler<void(error_code)>> waiter_;
  asio::cancellation_signal* cancel_ = nullptr;
  error_code result_;
  bool pending_ = false;
  bool done_ = false;
  bool gone_ = false;
};

// One client connection: its socket and deadline, the bytes read but not parsed yet, and the readability
// wait.
struct ClientConnection {
  explicit ClientConnection(tcp::socket socket)
      : stream(std::move(socket)), watch(stream.socket(), stream.deadline()) {}
  TimedSocket stream;
  beast::flat_buffer carry;  // empty and unallocated unless a head came in pieces or requests were pipelined
  std::string head;          // the current request's head, which the Request's views point into
  ReadWatch watch;
};

Worker::~Worker() {
  for (SessionEntry& s : sessions) s.connection->watch.drop_waiter();
}

// Half-closes, then reads and discards what the client still sends for a moment, so that closing does not
// reset the connection before the client has read our last response.
asio::awaitable<void> close_gracefully(TimedSocket& stream) {
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

// Parses a request head into the Request: method, target and header fields as views of the bytes it was
// given, no allocation per field (Beast's request_parser stores every field in a node of its own). The
// session copies the head into the connection's buffer and moves the views there (rebase). A chunked body is
// appended to the request's body; a Content-Length body is read by the session itself, straight into it.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  // `spare`: the worker's spare body buffer, taken for a body it can hold and this request's buffer cannot.
  RequestParser(Request& req, std::string& spare) : req_(req), spare_(spare) {
    req_.headers.clear();
    req_.body.clear();
  }

  unsigned version() const noexcept { return version_; }
  bool expects_continue() const noexcept { return expect_continue_; }

  // Points the views parsed from [from, from + size) to the same bytes at `to`.
  void rebase(const char* from, std::size_t size, const char* to) noexcept {
    auto move = [&](std::string_view& v) {
      if (v.data() >= from && v.data() + v.size() <= from + size)
        v = std::string_view(to + (v.data() - from), v.size());
    };
    move(req_.method);
    move(req_.target);
    for (auto& [name, value] : req_.headers) {
      move(name);
      move(value);
    }
    req_.path = req_.target.substr(0, req_.target.find('?'));
  }

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int version,
                       error_code&) override {
    req_.method = method;
    req_.target = target;
    version_ = static_cast<unsigned>(version);
  }
  void on_response_impl(int, beast::string_view, int, error_code& ec) override {
    ec = bhttp::error::bad_version;
  }
  void on_field_impl(bhttp::field f, beast::string_view name, beast::string_view value,
                     error_code& ec) override {
    // A folded value (obs-fold) comes from Beast's own scratch, not from the bytes given: refused, as RFC
    // 9112 section 5.2 allows.
    if (!value.empty() && (value.data() < from_ || value.data() + value.size() > to_)) {
      ec = bhttp::error::bad_value;
      return;
    }
    if (f == bhttp::field::expect && iequals(value, "100-continue")) expect_continue_ = true;
    req_.headers.emplace_back(name, value);
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (!length) return;
    const auto n = static_cast<std::size_t>(*length);
    if (req_.body.capacity() < n && spare_.capacity() >= n) {
      req_.body.swap(spare_);
      req_.body.clear();
    }
    req_.body.reserve(n);
  }
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    req_.body.append(body);
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    req_.body.append(body);
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  friend std::size_t feed(RequestParser&, ClientConnection&, const char*, std::size_t, bool, error_code&);
  Request& req_;
  std::string& spare_;
  const char* from_ = nullptr;  // the bytes of the current put()
  const char* to_ = nullptr;
  unsigned version_ = 11;
  bool expect_continue_ = false;
};

// Feeds `parser` what `data` holds until it has the head (or, with `whole`, the whole message); returns the
// bytes it took, and need_more in `ec` when it wants more. A head, once parsed, is copied into the
// connection's head buffer and the request's views moved there: `data` may be the worker's shared buffer.
// Body bytes that came with the head of a Content-Length request go to the request's body (the session reads
// the rest straight into it); only what follows (a pipelined request) is left.
std::size_t feed(RequestParser& parser, ClientConnection& c, const char* data, std::size_t size, bool whole,
                 error_code& ec) {
  std::size_t used = 0;
  ec = {};
  auto satisfied = [&] {
    if (whole || parser.is_done()) return parser.is_done();
    return parser.is_header_done() && (parser.chunked() || parser.req_.body.size() > 0);
  };
  while (used < size && !satisfied()) {
    const bool had_head = parser.is_header_done();
    parser.from_ = data + used;
    parser.to_ = data + size;
    const std::size_t n = parser.put(asio::buffer(data + used, size - used), ec);
    if (!had_head && parser.is_header_done()) {
      c.head.assign(data + used, n);
      parser.rebase(data + used, n, c.head.data());
    }
    used += n;
    if (ec) break;
    if (n == 0) {
      ec = bhttp::error::need_more;
      break;
    }
  }
  return used;
}

// How long a sweep may come after a deadline: a tenth of a second, less when a limit is shorter than 0.4 s.
std::chrono::milliseconds sweep_resolution(const ServerLimits& l) {
  std::chrono::milliseconds r = l.deadline_resolution;
  for (auto t : {l.header_timeout, l.body_timeout, l.idle_timeout, l.write_timeout}) {
    r = std::min(r, std::max(std::chrono::milliseconds(5), t / 4));
  }
  return r;
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
  asio::awaitable<void> reject_overloaded(Worker& w, tcp::socket socket);
  asio::awaitable<error_code> read_body(ClientConnection& c, std::string& body, std::size_t length);
  asio::awaitable<void> guarded_handler(Request& req, SessionWriter& writer, const ReadWatch& watch);
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
    socket.non_blocking(true, ignored);
    if (connections.fetch_add(1, std::memory_order_relaxed) >= opts.limits.max_connections) {
      asio::co_spawn(w.ioc, reject_overloaded(w, std::move(socket)), asio::detached);
    } else {
      asio::co_spawn(w.ioc, session(w, std::move(socket)), asio::detached);
    }
  }
}

asio::awaitable<void> Server::Impl::reject_overloaded(Worker& w, tcp::socket socket) {
  TimedSocket stream(std::move(socket));
  SessionWriter writer(stream, opts.limits, w.head_scratch);
  writer.reset(false, 11);
  Error e = server_error(503, "service_unavailable_error",
                         "The gateway is at its connection limit; retry later.", "overloaded");
  Header retry{"Retry-After", "1"};
  std::string body = e.to_json();
  co_await writer.send(503, "application/json", std::move(body), std::span<const Header>(&retry, 1));
  co_await close_gracefully(stream);
  connections.fetch_sub(1, std::memory_order_relaxed);
}

// Parses what the connection carries, then reads the socket without waiting (into the worker's buffer) until
// the parser has the head (or, with `whole`, the whole message). would_block: the socket has nothing more
// yet; the session waits for readability and calls again.
error_code read_available(Worker& w, ClientConnection& c, RequestParser& parser, bool whole) {
  auto satisfied = [&] { return whole ? parser.is_done() : parser.is_header_done(); };
  error_code ec;
  if (c.carry.size() > 0) {
    const auto data = c.carry.data();
    c.carry.consume(feed(parser, c, static_cast<const char*>(data.data()), data.size(), whole, ec));
    if (ec && ec != bhttp::error::need_more) return ec;
  }
  while (!satisfied()) {
    // A partial head stays in the connection's buffer, which then takes the next bytes: the parser wants a
    // head in one piece.
    const bool into_carry = c.carry.size() > 0;
    const asio::mutable_buffer into = into_carry ? c.carry.prepare(kWorkerReadBuffer)
                                                 : asio::buffer(w.read_buffer.get(), kWorkerReadBuffer);
    const std::size_t n = c.stream.socket().read_some(into, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return asio::error::would_block;
    if (ec == asio::error::eof) {
      // Nothing of a request yet: a plain close; else the request was cut short.
      return parser.got_some() ? error_code(bhttp::error::partial_message)
                               : error_code(bhttp::error::end_of_stream);
    }
    if (ec) return ec;
    const char* data = static_cast<const char*>(into.data());
    std::size_t size = n;
    if (into_carry) {
      c.carry.commit(n);
      const auto all = c.carry.data();
      data = static_cast<const char*>(all.data());
      size = all.size();
    }
    const std::size_t used = feed(parser, c, data, size, whole, ec);
    if (into_carry) {
      c.carry.consume(used);
    } else if (used < size) {
      const std::size_t left = size - used;
      std::memcpy(c.carry.prepare(left).data(), data + used, left);
      c.carry.commit(left);
    }
    if (ec && ec != bhttp::error::need_more) return ec;
  }
  return {};
}

// Reads the rest of a Content-Length body straight into `body` (which holds what came with the head), in
// pieces as large as what is left.
asio::awaitable<error_code> Server::Impl::read_body(ClientConnection& c, std::string& body,
                                                    std::size_t length) {
  std::size_t got = body.size();  // what came with the head
  body.resize(length);
  while (got < length) {
    auto [ec, n] = co_await c.stream.async_read_some(asio::buffer(body.data() + got, length - got), kTuple);
    if (c.stream.timed_out(ec)) co_return beast::error::timeout;
    if (ec == asio::error::eof) co_return bhttp::error::partial_message;
    if (ec) co_return ec;
    got += n;
  }
  co_return error_code{};
}

asio::awaitable<void> Server::Impl::guarded_handler(Request& req, SessionWriter& writer,
                                                    const ReadWatch& watch) {
  try {
    co_await handler(req, writer);
  } catch (const std::exception& e) {
    if (!watch.client_gone()) log::error("handler failed", {{"error", e.what()}, {"path", req.path}});
  }
  if (watch.client_gone()) co_return;
  if (!writer.started()) {
    Error e = server_error(500, "api_error", "Internal error.", "internal_error");
    std::string body = e.to_json();
    co_await writer.send(500, "application/json", std::move(body), {});
  } else {
    co_await writer.finish({});
  }
}

asio::awaitable<void> Server::Impl::session(Worker& w, tcp::socket socket) {
  ClientConnection c(std::move(socket));
  auto entry = w.sessions.insert(w.sessions.end(), SessionEntry{&c, true});
  const auto executor = co_await asio::this_coro::executor;
  asio::cancellation_signal cancel_handler;  // one for every request: its handler memory is reused
  SessionWriter writer(c.stream, opts.limits, w.head_scratch);
  Request req;
  {
    boost::system::error_code ec;
    auto local = c.stream.socket().local_endpoint(ec);
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
    if (c.carry.size() == 0) {
      // Between requests the connection holds no read buffer: it waits for readability, then reads into the
      // worker's buffer. A new connection gets the head deadline for its first byte too; a kept-alive one may
      // idle longer.
      c.carry.shrink_to_fit();
      c.stream.expires_after(first_request ? lim.header_timeout : lim.idle_timeout);
      const error_code wec = co_await c.watch.ready();
      if (wec) break;
    }
    entry->idle = false;
    w.requests.store(w.requests.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    first_request = false;

    RequestParser parser(req, w.spare_body);
    parser.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
    parser.body_limit(lim.max_request_body_bytes);
    c.stream.expires_after(lim.header_timeout);
    error_code hec = read_available(w, c, parser, false);
    while (hec == asio::error::would_block) {
      const error_code wec = co_await c.watch.ready();
      hec = c.stream.timed_out(wec) ? error_code(beast::error::timeout) : wec;
      if (!hec) hec = read_available(w, c, parser, false);
    }
    if (hec == bhttp::error::header_limit) {
      co_await reply_error(431, "Request header fields too large.", "request_header_fields_too_large");
      break;
    }
    if (hec == bhttp::error::body_limit) {
      co_await reply_error(413, "Request body too large.", "request_too_large");
      break;
    }
    if (hec) {
      if (hec != beast::error::timeout && hec != bhttp::error::end_of_stream &&
          hec != asio::error::operation_aborted && hec != asio::error::connection_reset) {
        co_await reply_error(400, "Malformed HTTP request.", "bad_request");
      }
      break;
    }
    if (!parser.is_done()) {
      if (parser.expects_continue()) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        c.stream.expires_after(lim.write_timeout);
        auto [cec, cn] = co_await asio::async_write(c.stream, asio::buffer(kContinue), kTuple);
        if (cec) break;
      }
      // One deadline for the whole body, however many reads it takes.
      c.stream.expires_after(lim.body_timeout);
      error_code bec;
      if (const auto length = parser.content_length(); length && !parser.chunked()) {
        bec = co_await read_body(c, req.body, static_cast<std::size_t>(*length));
      } else {
        bec = read_available(w, c, parser, true);
        while (bec == asio::error::would_block) {
          const error_code wec = co_await c.watch.ready();
          bec = c.stream.timed_out(wec) ? error_code(beast::error::timeout) : wec;
          if (!bec) bec = read_available(w, c, parser, true);
        }
      }
      if (bec == bhttp::error::body_limit) {
        co_await reply_error(413, "Request body too large.", "request_too_large");
        break;
      }
      if (bec) break;
    }

    const bool keep_alive = parser.keep_alive() && !w.draining;
    writer.reset(keep_alive, parser.version());
    c.stream.expires_never();
    {
      // The handler runs in a coroutine of its own whose cancellation slot the connection's readability wait
      // signals if the client goes away meanwhile (its awaited operations then fail with operation_aborted).
      c.watch.watch_for_close(&cancel_handler);
      c.watch.arm();
      auto task = guarded_handler(req, writer, c.watch);
      auto token = asio::bind_cancellation_slot(cancel_handler.slot(), asio::as_tuple(asio::use_awaitable));
      auto [ep] = co_await asio::co_spawn(executor, std::move(task), std::move(token));
      (void)ep;  // guarded_handler lets no exception out
      c.watch.watch_for_close(nullptr);
      if (c.watch.client_gone()) writer.reset(false, 11);
    }
    if (c.head.capacity() > kKeepPerConnection) std::string().swap(c.head);
    if (req.body.capacity() > kKeepPerConnection) {
      if (req.body.capacity() > w.spare_body.capacity() && req.body.capacity() <= kMaxSpareBody) {
        req.body.swap(w.spare_body);
      }
      std::string().swap(req.body);
    }
    if (!writer.finished() || writer.failed()) break;
    if (!writer.keep_alive()) {
      close_from_our_side = true;
      break;
    }
  }

  w.sessions.erase(entry);
  c.stream.expires_never();
  if (c.watch.pending()) {
    // The wait's callback refers to this frame: cancel it and wait for its completion.
    boost::system::error_code ignored;
    c.stream.socket().cancel(ignored);
    const error_code wec = co_await c.watch.ready();
    (void)wec;
  }
  if (close_from_our_side) {
    co_await close_gracefully(c.stream);
  } else {
    boost::system::error_code ignored;
    c.stream.socket().close(ignored);
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
        if (s.idle) s.connection->stream.socket().cancel(ignored);
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
    DeadlineSweeper::of(w->ioc).set_resolution(sweep_resolution(impl_->opts.limits));
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

namespace {

// Runs `task` on workers[i], then on the next one, from each worker's own thread.
void run_on_workers_in_turn(const std::vector<std::unique_ptr<Worker>>& workers, std::size_t i,
                            const std::function<void(bool last)>& task) {
  if (i >= workers.size()) return;
  asio::post(workers[i]->ioc, [&workers, i, &task] {
    task(i + 1 == workers.size());
    run_on_workers_in_turn(workers, i + 1, task);
  });
}

}  // namespace

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
  // The idle check, on this control thread: once no worker has read a request for a whole `idle_after`,
  // on_idle runs on each worker in turn (each posts it to the next), and not again before the next request.
  asio::steady_timer idle_timer(im.control);
  std::uint64_t requests_seen = 0;
  bool idle_done = true;  // nothing to give back before the first request
  std::function<void()> watch_idle = [&] {
    idle_timer.expires_after(im.opts.idle_after);
    idle_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      std::uint64_t requests = 0;
      for (const auto& w : im.workers) requests += w->requests.load(std::memory_order_relaxed);
      if (requests != requests_seen) {
        requests_seen = requests;
        idle_done = false;
      } else if (!idle_done) {
        idle_done = true;
        run_on_workers_in_turn(im.workers, 0, im.opts.on_idle);
      }
      watch_idle();
    });
  };
  if (im.opts.on_idle) watch_idle();
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
  idle_timer.cancel();
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
