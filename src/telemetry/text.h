// The small text routines the OTEL_* variables and the propagation headers share: trimming, ASCII lower case,
// percent-decoding and splitting a separated list.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sy::telemetry::text {

std::string_view trim(std::string_view s) noexcept;  // ASCII whitespace at both ends
std::string ascii_lower(std::string_view s);
int hex_digit(char c) noexcept;  // 0-15, or -1
// RFC 9110 token: what an HTTP field name (and a W3C baggage key) may be.
bool is_token(std::string_view s) noexcept;

// "%XX" escapes decoded; a malformed escape makes the whole value invalid.
std::optional<std::string> percent_decode(std::string_view s);
// "%XX" escapes decoded; a malformed escape is kept as it is (W3C baggage, OTEL_RESOURCE_ATTRIBUTES values).
std::string percent_decode_lenient(std::string_view s);

// Calls `f(item)` for each `sep`-separated item of `list` (items untrimmed, empty ones included) until f
// returns false.
template <class F>
void for_each_item(std::string_view list, char sep, F&& f) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = list.find(sep, start);
    if (!f(list.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start))) return;
    if (end == std::string_view::npos) return;
    start = end + 1;
  }
}

}  // namespace sy::telemetry::text
