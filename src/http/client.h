// The upstream HTTP/1.1 client: keep-alive connections pooled per host per worker thread, TLS with
// certificate and host-name verification, connect and read deadlines, and streaming bodies handed over as
// they arrive. Failures come back as OpenAI-shaped errors: 502 upstream_unreachable, 504 upstream_timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "http/message.h"
#include "util/error.h"

namespace sy::http {

// Where an upstream lives: scheme, host, port and a base path (e.g. "/v1") that request paths are appended
// to.
struct Origin {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string base_path;

  std::string host_header;  // "host", or "host:port" when the port is not the scheme's default

  std::string key() const;  // pool key: "https://host:port"
};

Result<Origin> parse_origin(std::string_view url);

struct ClientRequest {
  std::string_view method = "POST";
  const Origin* origin = nullptr;
  std::string target;  // full path including base_path
  HeaderList headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  // Non-streaming: the whole exchange. Streaming: each wait for the head or for more body bytes.
  std::chrono::milliseconds timeout{600'000};
  std::size_t max_response_bytes = 64u * 1024 * 1024;

  // Empties it for the next request, keeping the storage of its target, header fields and body (a body
  // up to 64 KB): a provider builds its requests in the thread's recycled ones (util/recycled.h).
  void recycle() noexcept;
};

struct ClientResponse {
  int status = 0;
  std::string head;  // status line and header fields as received (one allocation, whatever their number)
  std::string body;
  // The first header field with that name (case-insensitive), without surrounding whitespace, or empty.
  std::string_view header(std::string_view name) const noexcept;
};

// Receives a successful (2xx) streaming body piece by piece.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The bytes of one read from the upstream (every body byte it brought); `last`: the body is complete with
  // them. Returns false to abandon the exchange (the connection is then closed, never reused).
  virtual boost::asio::awaitable<bool> on_data(std::string_view bytes, bool last) = 0;
};

// Sends the request and reads the whole response.
boost::asio::awaitable<Result<ClientResponse>> fetch(const ClientRequest& request);

// Sends the request; a 2xx body is handed to `sink` as it arrives (the returned body stays empty), any other
// status is read whole and returned for error mapping.
boost::asio::awaitable<Result<ClientResponse>> fetch_streaming(const ClientRequest& request, BodySink& sink);

}  // namespace sy::http
