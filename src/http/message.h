// Transport-neutral views of HTTP messages, so handlers and providers never include Beast.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sy::http {

struct Header {
  std::string name;
  std::string value;
};

// Case-insensitive ASCII comparison of header names.
bool iequals(std::string_view a, std::string_view b) noexcept;

// An incoming request as the server hands it to a handler. The views stay valid until the handler returns.
struct Request {
  std::string_view method;
  std::string_view target;  // path and query, as sent
  std::string_view path;    // target without the query
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string body;
  std::uint16_t local_port = 0;  // the port the request arrived on

  // The first header with that name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const noexcept;
};

}  // namespace sy::http
