// Transport-neutral views of HTTP messages, so handlers and providers never include Beast.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sy::http {

struct Header {
  std::string name;
  std::string value;
};

// Case-insensitive ASCII comparison of header names. Inline, so that the usual answer (the sizes differ)
// costs no call: a request looks names up ~60 times.
bool iequals_same_size(std::string_view a, std::string_view b) noexcept;
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && iequals_same_size(a, b);
}

// Whether `headers` has a field of that name (case-insensitive).
bool has_header(std::span<const Header> headers, std::string_view name) noexcept;

// Appends "Name: value\r\n" for each of `headers`, leaving out the fields named in `ours` (the framing the
// writer owns), a field a later one of the same name overrides (the later wins, as a set would), and a field
// with a CR or LF in its name or value (written out, it would start another field: header injection).
void append_fields(std::string& out, std::span<const Header> headers,
                   std::initializer_list<std::string_view> ours);

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
