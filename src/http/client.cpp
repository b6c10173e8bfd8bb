#include "http/client.h"

#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

namespace sy::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxIdlePerOrigin = 64;

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

// One upstream connection, plain or TLS, with its read buffer.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

// Idle keep-alive connections of this worker thread, by origin. Never shared across threads.
struct Pool {
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
};

Pool& thread_pool() {
  thread_local Pool pool;
  return pool;
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

// An idle connection the upstream has closed (its FIN or reset already arrived) must not carry a request: a
// non-blocking peek sees that without waiting. Bytes waiting on an idle plain connection are garbage; on a
// TLS one they may be a session ticket, so only a close counts there.
bool still_open(Connection& conn) {
  char byte;
  const ssize_t n = ::recv(conn.lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;
  if (n > 0) return conn.tls != nullptr;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

std::unique_ptr<Connection> take_idle(const std::string& key) {
  auto& idle = thread_pool().idle;
  auto it = idle.find(key);
  if (it == idle.end()) return nullptr;
  while (!it->second.empty()) {
    auto conn = std::move(it->second.back());
    it->second.pop_back();
    if (still_open(*conn)) return conn;
  }
  return nullptr;
}

void give_back(const std::string& key, std::unique_ptr<Connection> conn) {
  auto& list = thread_pool().idle[key];
  if (list.size() < kMaxIdlePerOrigin) list.push_back(std::move(conn));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Origin& origin,
                                                             std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(origin.host, std::to_string(origin.port), kTuple);
  if (rec) co_return unreachable("could not resolve the host (" + rec.message() + ")");

  auto conn = std::make_unique<Connection>();
  if (origin.tls) {
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, thread_tls_context());
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(ex);
  }
  auto& low = conn->lowest();
  low.expires_after(timeout);
  auto [cec, ep] = co_await low.async_connect(endpoints, kTuple);
  if (cec == beast::error::timeout) co_return timed_out(timeout);
  if (cec) co_return unreachable(cec.message());
  boost::system::error_code ignored;
  low.socket().set_option(tcp::no_delay(true), ignored);

  if (conn->tls) {
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), origin.host.c_str())) {
      co_return unreachable("could not set TLS server name");
    }
    conn->tls->set_verify_callback(ssl::host_name_verification(origin.host));
    auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
    if (hec == beast::error::timeout) co_return timed_out(timeout);
    if (hec) co_return unreachable("TLS handshake failed (" + hec.message() + ")");
  }
  co_return conn;
}

struct ExchangeState {
  bool reusable = false;  // the connection may go back to the pool
  bool stale =
      false;  // writing to a reused connection failed: the request did not go out, send it on a new one
  bool abandoned = false;  // the sink asked to stop
};

// The most body bytes an exchange reads, and a stream hands to its sink, at a time.
constexpr std::size_t kBodyReadBytes = 16 * 1024;

// Parses what the last read left in `buffer`, without reading more: one read of a chunked body often holds
// several chunks, and the parser stops after each. So a sink gets all that one read brought in one call.
boost::system::error_code parse_buffered(bhttp::response_parser<bhttp::buffer_body>& parser,
                                         beast::flat_buffer& buffer) {
  while (!parser.is_done() && buffer.size() > 0 && parser.get().body().size > 0) {
    boost::system::error_code ec;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) break;
    if (ec) return ec;
    if (used == 0) break;
  }
  return {};
}

// Runs one request/response on an open connection.
template <class Stream>
asio::awaitable<Result<ClientResponse>> exchange(Stream& stream, Connection& conn, const ClientRequest& r,
                                                 BodySink* sink, bool reused, ExchangeState& st) {
  const bool streaming = sink != nullptr;
  const auto deadline = Clock::now() + r.timeout;
  auto arm = [&] {
    if (streaming) {
      conn.lowest().expires_after(r.timeout);
    } else {
      conn.lowest().expires_at(deadline);
    }
  };

  bhttp::request<bhttp::span_body<const char>> req{bhttp::string_to_verb(r.method), r.target, 11};
  req.set(bhttp::field::host, r.origin->host_header);
  req.set(bhttp::field::user_agent, "switchyard/" SWITCHYARD_VERSION);
  for (const Header& h : r.headers) req.set(h.name, h.value);
  req.body() = boost::span<const char>(r.body.data(), r.body.size());
  req.keep_alive(true);
  req.prepare_payload();

  arm();
  auto [wec, wn] = co_await bhttp::async_write(stream, req, kTuple);
  if (wec == beast::error::timeout) co_return timed_out(r.timeout);
  if (wec) {
    st.stale = reused;
    co_return upstream_failed(wec.message());
  }

  bhttp::response_parser<bhttp::buffer_body> parser;
  // Beast reads at most what the buffer has room for (512 bytes at first): a stream is read in pieces as
  // large as the body buffer below, so that what arrived together is parsed, and passed on, together.
  if (streaming) conn.buffer.reserve(kBodyReadBytes);
  parser.body_limit(streaming ? std::numeric_limits<std::uint64_t>::max() : r.max_response_bytes);
  arm();
  auto [hec, hn] = co_await bhttp::async_read_header(stream, conn.buffer, parser, kTuple);
  if (hec == beast::error::timeout) co_return timed_out(r.timeout);
  // Once the request is written it is never sent again here: the upstream may have acted on it (a POST is not
  // idempotent, RFC 9110 section 9.2.2). Whether to try again is the router's decision.
  if (hec) co_return upstream_failed(hec.message());

  ClientResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get())
    out.headers.push_back(Header{std::string(f.name_string()), std::string(f.value())});
  const bool to_sink = streaming && out.status >= 200 && out.status < 300;

  char buf[kBodyReadBytes];
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    arm();
    auto [rec, rn] = co_await bhttp::async_read_some(stream, conn.buffer, parser, kTuple);
    if (rec == bhttp::error::need_buffer) rec = {};
    if (rec == beast::error::timeout) co_return timed_out(r.timeout);
    if (rec) co_return upstream_failed(rec.message());
    if (to_sink) {
      rec = parse_buffered(parser, conn.buffer);
      if (rec) co_return upstream_failed(rec.message());
    }
    const std::size_t got = sizeof buf - parser.get().body().size;
    if (got == 0) continue;
    if (to_sink) {
      const bool wanted = co_await sink->on_data(std::string_view(buf, got), parser.is_done());
      if (!wanted) {
        st.abandoned = true;
        co_return out;
      }
    } else {
      if (out.body.size() + got > r.max_response_bytes) co_return upstream_failed("response too large");
      out.body.append(buf, got);
    }
  }
  st.reusable = parser.keep_alive();
  co_return out;
}

asio::awaitable<Result<ClientResponse>> run(const ClientRequest& r, BodySink* sink) {
  const std::string key = r.origin->key();
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> conn = attempt == 0 ? take_idle(key) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto connected = co_await connect(*r.origin, std::min(r.connect_timeout, r.timeout));
      if (!connected) co_return connected.error();
      conn = std::move(connected.value());
    }
    ExchangeState st;
    Result<ClientResponse> result = Error{};
    if (conn->tls) {
      result = co_await exchange(*conn->tls, *conn, r, sink, reused, st);
    } else {
      result = co_await exchange(*conn->plain, *conn, r, sink, reused, st);
    }
    if (!result && st.stale) continue;  // the pooled connection had been closed by the upstream
    if (result && st.reusable && !st.abandoned) {
      conn->lowest().expires_never();
      give_back(key, std::move(conn));
    }
    co_return result;
  }
  co_return upstream_failed("connection closed");
}

}  // namespace

std::string Origin::key() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
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
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
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
