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

// Header fields built for one request or answer. Clearing the list keeps its fields' strings, and their
// capacity, for the next fields set: a list recycled from one request to the next (see util/recycled.h)
// sets its usual fields without allocating. Read as a span of Header.
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(std::initializer_list<Header> fields) : fields_(fields), size_(fields.size()) {}
  HeaderList& operator=(std::initializer_list<Header> fields) {
    clear();
    for (const Header& h : fields) add(h.name, h.value);
    return *this;
  }

  // Appends a field; returns its value, for the caller to complete in place.
  std::string& add(std::string_view name, std::string_view value = {});
  // Gives the first field of that name (exact comparison) this value, or appends one.
  void set(std::string_view name, std::string_view value);
  // Removes every field of that name (exact comparison); the others keep their order.
  void remove(std::string_view name) noexcept;
  void clear() noexcept { size_ = 0; }
  // Clears the list and frees the storage of fields beyond what an answer usually carries.
  void recycle() noexcept;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const Header> fields() const noexcept { return {fields_.data(), size_}; }
  operator std::span<const Header>() const noexcept { return fields(); }
  const Header* begin() const noexcept { return fields_.data(); }
  const Header* end() const noexcept { return fields_.data() + size_; }

 private:
  std::vector<Header> fields_;  // the first size_ are the list; the rest keep their storage for reuse
  std::size_t size_ = 0;
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
