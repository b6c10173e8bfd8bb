#include "http/client.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "http/deadline.h"

namespace sy::http {

using namespace std::string_view_literals;
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<tcp::socket>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Idle keep-alive connections kept per origin and worker (nginx's `keepalive` in the benchmark's proxy is
// 1,024): a pool smaller than the requests in flight closes connections after their answer and opens new
// ones for the next requests (at 256 connections with 64 kept, the CPU per request doubled). The first
// kWarmIdle keep their 16 KB read buffer while they wait (reallocating it per request cost ~10% at 256
// connections); past those, a pooled connection gives it back.
constexpr std::size_t kMaxIdlePerOrigin = 1024;
constexpr std::size_t kWarmIdle = 256;
constexpr std::size_t kReadSize = 16 * 1024;

Error unreachable(std::string why) {
  return Error{502, "api_error", "Could not reach the upstream: " + why + ".", "upstream_unreachable",
               {},  {}};
}
Error upstream_failed(std::string why) {
  return Error{502, "api_error", "The upstream connection failed: " + why + ".", "upstream_error", {}, {}};
}
Error timed_out(std::chrono::milliseconds limit) {
  return Error{504,
               "timeout_error",
               "The upstream did not answer within " + std::to_string(limit.count()) + " ms.",
               "upstream_timeout",
               {},
               {}};
}

ssl::context& thread_tls_context() {
  thread_local ssl::context ctx = [] {
    ssl::context c(ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(ssl::verify_peer);
    c.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    return c;
  }();
  return ctx;
}

// One upstream connection, plain or TLS, with its deadline, its read buffer and the buffer its request heads
// are formatted in (both kept while the connection is pooled).
struct Connection {
  Connection(const asio::any_io_executor& ex, bool use_tls) {
    if (use_tls) {
      tls = std::make_unique<TlsStream>(ex, thread_tls_context());
    } else {
      plain = std::make_unique<tcp::socket>(ex);
    }
    deadline.emplace(lowest());
  }

  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<TlsStream> tls;
  std::optional<SocketDeadline> deadline;  // after the sockets: unregistered before they close
  beast::flat_buffer buffer;
  std::string head;

  tcp::socket& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  bool timed_out(const error_code& ec) const {
    return ec == asio::error::operation_aborted && deadline->passed();
  }
};

// Idle keep-alive connections of this worker thread, by origin. Never shared across threads.
struct Pool {
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  // The list of the origin used last: a request and its answer's give-back, and nearly every request after
  // them, go to the same origin, found by comparing it instead of formatting and hashing its key. (Lists are
  // never erased, and a map's elements stay where they are as it grows.)
  std::vector<std::unique_ptr<Connection>>* last = nullptr;
  bool last_tls = false;
  std::uint16_t last_port = 0;
  std::string last_host;
};

Pool& thread_pool() {
  thread_local Pool pool;
  return pool;
}

// An idle connection the upstream has closed (its FIN or reset already arrived) must not carry a request: a
// non-blocking peek sees that without waiting. Bytes waiting on an idle plain connection are garbage; on a
// TLS one they may be a session ticket, so only a close counts there.
bool still_open(Connection& conn) {
  char byte;
  const ssize_t n = ::recv(conn.lowest().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;
  if (n > 0) return conn.tls != nullptr;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

void append_key(std::string& out, const Origin& o) {
  out += o.tls ? "https://" : "http://";
  out += o.host;
  out += ':';
  char digits[8];
  char* end = digits + sizeof digits;
  char* p = end;
  unsigned port = o.port;
  do {
    *--p = static_cast<char>('0' + port % 10);
    port /= 10;
  } while (port != 0);
  out.append(p, end);
}

// This thread's idle connections to `o` (an empty list at first).
std::vector<std::unique_ptr<Connection>>& idle_list(const Origin& o) {
  Pool& pool = thread_pool();
  if (pool.last && pool.last_port == o.port && pool.last_tls == o.tls && pool.last_host == o.host) {
    return *pool.last;
  }
  pool.last = &pool.idle[o.key()];
  pool.last_tls = o.tls;
  pool.last_port = o.port;
  pool.last_host = o.host;
  return *pool.last;
}

std::unique_ptr<Connection> take_idle(const Origin& o) {
  auto& list = idle_list(o);
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    if (still_open(*conn)) return conn;
  }
  return nullptr;
}

void give_back(const Origin& o, std::unique_ptr<Connection> conn) {
  auto& list = idle_list(o);
  if (list.size() >= kMaxIdlePerOrigin) return;
  if (list.size() >= kWarmIdle) conn->buffer.shrink_to_fit();
  list.push_back(std::move(conn));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Origin& origin,
                                                             std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(origin.host, std::to_string(origin.port), kTuple);
  if (rec) co_return unreachable("could not resolve the host (" + rec.message() + ")");

  auto conn = std::make_unique<Connection>(ex, origin.tls);
  auto& low = conn->lowest();
  conn->deadline->arm(timeout);
  error_code cec = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    boost::system::error_code ignored;
    low.close(ignored);
    auto [ec] = co_await low.async_connect(entry.endpoint(), kTuple);
    cec = ec;
    if (!ec || conn->timed_out(ec)) break;
  }
  if (conn->timed_out(cec)) co_return timed_out(timeout);
  if (cec) co_return unreachable(cec.message());
  boost::system::error_code ignored;
  low.set_option(tcp::no_delay(true), ignored);
  low.non_blocking(true, ignored);

  if (conn->tls) {
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), origin.host.c_str())) {
      co_return unreachable("could not set TLS server name");
    }
    conn->tls->set_verify_callback(ssl::host_name_verification(origin.host));
    auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
    if (conn->timed_out(hec)) co_return timed_out(timeout);
    if (hec) co_return unreachable("TLS handshake failed (" + hec.message() + ")");
  }
  conn->deadline->disarm();
  co_return conn;
}

// Parses a response without storing its header fields (the head is kept as received, and Beast's
// response_parser would allocate a node per field): the status, and the body into the buffer given to into().
class Parser final : public bhttp::basic_parser<false> {
 public:
  int status() const noexcept { return status_; }
  void into(char* data, std::size_t size) noexcept {
    data_ = data;
    room_ = size;
  }
  std::size_t room() const noexcept { return room_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int, error_code& ec) override {
    ec = bhttp::error::bad_method;
  }
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(bhttp::field, beast::string_view, beast::string_view, error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code& ec) override { return take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override {
    return take(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  // As Beast's buffer_body: what does not fit is left, with need_buffer.
  std::size_t take(std::string_view body, error_code& ec) {
    const std::size_t n = std::min(room_, body.size());
    if (n > 0) std::memcpy(data_, body.data(), n);
    data_ += n;
    room_ -= n;
    if (n < body.size()) ec = bhttp::error::need_buffer;
    return n;
  }

  char* data_ = nullptr;
  std::size_t room_ = 0;
  int status_ = 0;
};

struct ExchangeState {
  bool reusable = false;  // the connection may go back to the pool
  bool stale =
      false;  // writing to a reused connection failed: the request did not go out, send it on a new one
  bool abandoned = false;  // the sink asked to stop
  Error failure;           // a stream's failure while its body was pumped
};

// The request head as Beast's serializer would write it (Host, User-Agent, the request's headers, the body's
// length), formatted into `out`.
void format_head(std::string& out, const ClientRequest& r) {
  out.clear();
  out += r.method;
  out += ' ';
  out += r.target;
  out += " HTTP/1.1\r\n"sv;
  if (!has_header(r.headers, "host")) {
    out += "Host: "sv;
    out += r.origin->host_header;
    out += "\r\n"sv;
  }
  if (!has_header(r.headers, "user-agent")) out += "User-Agent: switchyard/" SWITCHYARD_VERSION "\r\n"sv;
  append_fields(out, r.headers, {"content-length", "transfer-encoding"});
  // A body, or a method that has one by nature, gets a length (as Beast's prepare_payload does).
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "OPTIONS") {
    out += "Content-Length: "sv;
    out += std::to_string(r.body.size());
    out += "\r\n"sv;
  }
  out += "\r\n"sv;
}

// Writes on a plain socket what it takes at once (no trip through the event loop for a request that fits in
// the socket's buffer); returns the bytes written, or 0 when it took nothing.
std::size_t write_now(tcp::socket& s, const std::array<asio::const_buffer, 2>& buffers, error_code& ec) {
  const std::size_t n = s.write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  return ec ? 0 : n;
}

std::size_t write_now(TlsStream&, const std::array<asio::const_buffer, 2>&, error_code& ec) {
  ec = {};
  return 0;  // through the SSL stream only
}

// Parses the bytes buffered on the connection into `into` (as the parser's body buffer); returns the body
// bytes produced. need_more in `ec` when the buffered bytes are used up before the message is complete.
std::size_t parse_buffered(Connection& conn, Parser& p, char* into, std::size_t size, error_code& ec) {
  p.into(into, size);
  ec = {};
  while (!p.is_done() && p.room() > 0) {
    if (conn.buffer.size() == 0) {
      ec = bhttp::error::need_more;
      break;
    }
    const std::size_t n = p.put(conn.buffer.data(), ec);
    conn.buffer.consume(n);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) break;
    if (n == 0) {
      ec = bhttp::error::need_more;
      break;
    }
  }
  return size - p.room();
}

// Waits for more response bytes into the connection's buffer (the reactor performs the read once bytes are
// there). At the end of the connection, a body delimited by it ends; any other message was cut short.
template <class Stream>
asio::awaitable<error_code> read_more(Stream& s, Connection& conn, Parser& p) {
  auto [ec, n] = co_await s.async_read_some(conn.buffer.prepare(kReadSize), kTuple);
  conn.buffer.commit(n);
  if (ec == asio::error::eof) {
    if (!p.got_some()) co_return error_code(bhttp::error::end_of_stream);
    p.put_eof(ec);
  }
  co_return ec;
}

// How a streaming body's pumping ended.
enum class Pumped { complete, abandoned, failed };

// Hands a streaming 2xx body to the sink as it arrives, each wait for more bytes bounded by the request's
// timeout. A failure is left in `failure` (the caller's, so that no Result takes room in its frame).
template <class Stream>
asio::awaitable<Pumped> pump_to_sink(Stream& s, Connection& conn, Parser& p, const ClientRequest& r,
                                     BodySink& sink, Error& failure) {
  char buf[kReadSize];
  while (!p.is_done()) {
    error_code ec;
    const std::size_t got = parse_buffered(conn, p, buf, sizeof buf, ec);
    if (got > 0) {
      // All that one read brought, in one call: the sink writes it to its client in one write.
      const bool wanted = co_await sink.on_data(std::string_view(buf, got), p.is_done());
      if (!wanted) co_return Pumped::abandoned;
    }
    if (ec == bhttp::error::need_more) {
      conn.deadline->arm(r.timeout);
      ec = co_await read_more(s, conn, p);
      if (conn.timed_out(ec)) {
        failure = timed_out(r.timeout);
        co_return Pumped::failed;
      }
    }
    if (ec) {
      failure = upstream_failed(ec.message());
      co_return Pumped::failed;
    }
  }
  co_return Pumped::complete;
}

// Counts the exchanges under way on this worker thread (each worker runs its own event loop on one thread).
class ExchangeCount {
 public:
  ExchangeCount() noexcept { ++count(); }
  ~ExchangeCount() { --count(); }
  ExchangeCount(const ExchangeCount&) = delete;
  ExchangeCount& operator=(const ExchangeCount&) = delete;
  static int running() noexcept { return count(); }

 private:
  static int& count() noexcept {
    thread_local int n = 0;
    return n;
  }
};

// Runs one request/response on an open connection.
template <class Stream>
asio::awaitable<Result<ClientResponse>> exchange(Stream& stream, Connection& conn, const ClientRequest& r,
                                                 BodySink* sink, bool reused, ExchangeState& st) {
  const bool streaming = sink != nullptr;
  // Non-streaming: one deadline for the whole exchange. Streaming: one per wait (re-armed below).
  conn.deadline->arm(r.timeout);

  format_head(conn.head, r);
  // With other exchanges under way on this thread, the request goes out after the handlers already due, not
  // at once: the requests that one pass of the event loop brings then reach the upstream one after the other.
  // An upstream on the same host (a local model server; the benchmark's upstream, on the gateway's core) is
  // woken by the first and otherwise preempted the gateway at every request to answer that one alone: with 64
  // connections 0.77 preemptions per request against 0.41 (nginx: 0.29), 22,100 -> 25,200 RPS. Alone, the
  // request goes at once (waiting would cost an extra pass of the reactor: a system call).
  const ExchangeCount counted;
  if (ExchangeCount::running() > 1)
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  {
    const std::array<asio::const_buffer, 2> both{asio::buffer(conn.head), asio::buffer(r.body)};
    error_code wec;
    const std::size_t n = write_now(stream, both, wec);
    if (!wec && n < conn.head.size() + r.body.size()) {
      const std::size_t head_done = std::min(n, conn.head.size());
      const std::size_t body_done = n - head_done;
      const std::array<asio::const_buffer, 2> rest{
          asio::buffer(conn.head.data() + head_done, conn.head.size() - head_done),
          asio::buffer(r.body.data() + body_done, r.body.size() - body_done)};
      auto [ec, wn] = co_await asio::async_write(stream, rest, kTuple);
      wec = ec;
    }
    if (conn.timed_out(wec)) co_return timed_out(r.timeout);
    if (wec) {
      st.stale = reused;
      co_return upstream_failed(wec.message());
    }
  }

  Parser parser;
  parser.body_limit(streaming ? std::numeric_limits<std::uint64_t>::max() : r.max_response_bytes);
  if (streaming) conn.deadline->arm(r.timeout);
  ClientResponse out;
  // The head, kept as received: header() looks fields up in it.
  // The answer is awaited through the event loop, not read at once, although the upstream may have answered
  // already (on a core it shares with the gateway it often has: the write woke it). Finishing the exchange
  // here would send each answer to its client on its own, waking that client each time, before the requests
  // the worker has ready are forwarded; through the loop they go out first, and the answers then leave
  // together. Asio still tries the read at once when the last read did not empty the socket, and queues the
  // completion behind the work already due. (Measured: ~20% less CPU per request with 64 connections.)
  error_code ec = asio::error::would_block;  // nothing read yet
  for (;;) {
    if (!ec && conn.buffer.size() > 0) {
      const auto data = conn.buffer.data();
      const std::size_t n = parser.put(data, ec);
      if (parser.is_header_done()) out.head.assign(static_cast<const char*>(data.data()), n);
      conn.buffer.consume(n);
      if (parser.is_header_done()) break;
      if (ec && ec != bhttp::error::need_more) co_return upstream_failed(ec.message());
      ec = {};
    }
    if (ec == asio::error::eof)
      ec = parser.got_some() ? bhttp::error::partial_message : bhttp::error::end_of_stream;
    if (!ec || ec == asio::error::would_block) ec = co_await read_more(stream, conn, parser);
    if (conn.timed_out(ec)) co_return timed_out(r.timeout);
    // Once the request is written it is never sent again here: the upstream may have acted on it (a POST is
    // not idempotent, RFC 9110 section 9.2.2). Whether to try again is the router's decision.
    if (ec) co_return upstream_failed(ec.message());
  }
  out.status = parser.status();

  if (streaming && out.status >= 200 && out.status < 300) {
    const Pumped pumped = co_await pump_to_sink(stream, conn, parser, r, *sink, st.failure);
    if (pumped == Pumped::failed) co_return std::move(st.failure);
    if (pumped == Pumped::abandoned) {
      st.abandoned = true;
      co_return out;
    }
  } else {
    std::size_t used = 0;
    // A Content-Length body is read into a string of exactly its size; one of unknown length into one that
    // grows by reads' worth.
    const auto length = parser.content_length();
    const bool sized = length && *length <= r.max_response_bytes;
    if (sized) out.body.resize(static_cast<std::size_t>(*length));
    while (!parser.is_done()) {
      const std::size_t room = out.body.size() - used;
      if (room == 0 || (!sized && room < kReadSize / 4)) {
        if (used >= r.max_response_bytes) co_return upstream_failed("response too large");
        out.body.resize(std::min(std::max(2 * out.body.size(), used + kReadSize), r.max_response_bytes + 1));
      }
      used += parse_buffered(conn, parser, out.body.data() + used, out.body.size() - used, ec);
      if (ec == bhttp::error::need_more) {
        if (streaming) conn.deadline->arm(r.timeout);
        ec = co_await read_more(stream, conn, parser);
        if (conn.timed_out(ec)) co_return timed_out(r.timeout);
      }
      if (ec == bhttp::error::body_limit) co_return upstream_failed("response too large");
      if (ec) co_return upstream_failed(ec.message());
      if (used > r.max_response_bytes) co_return upstream_failed("response too large");
    }
    out.body.resize(used);
  }
  // Bytes after the response would be read as the next one's start: such a connection is not reused.
  st.reusable = parser.keep_alive() && conn.buffer.size() == 0;
  co_return out;
}

// The exchange over the connection's TLS or plain stream. Not a coroutine: it hands back the awaitable of
// either, so that the caller awaits one call (one result in its frame, not one per stream type).
asio::awaitable<Result<ClientResponse>> exchange_on(Connection& conn, const ClientRequest& r, BodySink* sink,
                                                    bool reused, ExchangeState& st) {
  if (conn.tls) return exchange(*conn.tls, conn, r, sink, reused, st);
  return exchange(*conn.plain, conn, r, sink, reused, st);
}

asio::awaitable<Result<ClientResponse>> run(const ClientRequest& r, BodySink* sink) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> conn = attempt == 0 ? take_idle(*r.origin) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto connected = co_await connect(*r.origin, std::min(r.connect_timeout, r.timeout));
      if (!connected) co_return connected.error();
      conn = std::move(connected.value());
    }
    ExchangeState st;
    Result<ClientResponse> result = co_await exchange_on(*conn, r, sink, reused, st);
    conn->deadline->disarm();
    if (!result && st.stale) continue;  // the pooled connection had been closed by the upstream
    if (result && st.reusable && !st.abandoned) give_back(*r.origin, std::move(conn));
    co_return result;
  }
  co_return upstream_failed("connection closed");
}

}  // namespace

void ClientRequest::recycle() noexcept {
  static constexpr std::size_t kKeepBody = 64 * 1024;
  const ClientRequest defaults;
  method = defaults.method;
  origin = nullptr;
  target.clear();
  headers.recycle();
  if (body.capacity() > kKeepBody) std::string().swap(body);
  body.clear();
  connect_timeout = defaults.connect_timeout;
  timeout = defaults.timeout;
  max_response_bytes = defaults.max_response_bytes;
}

std::string Origin::key() const {
  std::string out;
  append_key(out, *this);
  return out;
}

Result<Origin> parse_origin(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return invalid_request("api_base is not a valid URL", "api_base");
  Origin o;
  auto scheme = parsed->scheme();
  if (iequals(scheme, "https")) {
    o.tls = true;
  } else if (!iequals(scheme, "http")) {
    return invalid_request("api_base must use http or https", "api_base");
  }
  o.host = std::string(parsed->encoded_host());
  if (o.host.size() > 2 && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
  if (o.host.empty()) return invalid_request("api_base has no host", "api_base");
  o.port = o.tls ? 443 : 80;
  if (std::string_view port = parsed->port(); !port.empty()) {  // an empty port means the default (RFC 3986)
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535)
        return invalid_request("api_base has an invalid port", "api_base");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return invalid_request("api_base has an invalid port", "api_base");
    o.port = static_cast<std::uint16_t>(value);
  }
  o.base_path = std::string(parsed->encoded_path());
  const bool ipv6 = o.host.find(':') != std::string::npos;
  o.host_header = ipv6 ? "[" + o.host + "]" : o.host;
  if (o.port != (o.tls ? 443 : 80)) o.host_header += ":" + std::to_string(o.port);
  // After an authority the path must start with '/'; Boost.URL 1.81 lets "host:port/v1" through as path
  // "port/v1".
  if (!o.base_path.empty() && o.base_path.front() != '/') {
    return invalid_request("api_base has an invalid port", "api_base");
  }
  while (!o.base_path.empty() && o.base_path.back() == '/') o.base_path.pop_back();
  return o;
}

std::string_view ClientResponse::header(std::string_view name) const noexcept {
  // The status line, then one field a line; values without surrounding whitespace.
  std::string_view rest = head;
  std::size_t eol = rest.find("\r\n");
  while (eol != std::string_view::npos) {
    rest.remove_prefix(eol + 2);
    eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (!iequals(line.substr(0, colon), name)) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return value;
  }
  return {};
}

asio::awaitable<Result<ClientResponse>> fetch(const ClientRequest& request) {
  return run(request, nullptr);
}

asio::awaitable<Result<ClientResponse>> fetch_streaming(const ClientRequest& request, BodySink& sink) {
  return run(request, &sink);
}

}  // namespace sy::http
