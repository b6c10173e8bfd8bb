#include "http/message.h"

#include <cstdint>

#include "util/swar.h"

namespace sy::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool has_header(std::span<const Header> headers, std::string_view name) noexcept {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return true;
  }
  return false;
}

namespace {

// Eight bytes at a time, then the tail byte by byte: find_first_of with a set calls memchr once per
// character, and a plain byte loop was most of the time spent writing a head.
bool has_line_break(std::string_view s) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    const std::uint64_t word = swar::load(s.data() + i);
    if (swar::bytes_equal(word, '\r') | swar::bytes_equal(word, '\n')) return true;
  }
  bool found = false;
  for (; i < s.size(); ++i) found |= (s[i] == '\r') | (s[i] == '\n');
  return found;
}

bool overridden(std::span<const Header> headers, std::size_t i) noexcept {
  for (std::size_t j = i + 1; j < headers.size(); ++j) {
    if (iequals(headers[j].name, headers[i].name)) return true;
  }
  return false;
}

}  // namespace

void append_fields(std::string& out, std::span<const Header> headers,
                   std::initializer_list<std::string_view> ours) {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const Header& h = headers[i];
    bool skip = overridden(headers, i) || has_line_break(h.name) || has_line_break(h.value);
    for (std::string_view name : ours) skip = skip || iequals(h.name, name);
    if (skip) continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
}

std::string_view Request::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

}  // namespace sy::http
