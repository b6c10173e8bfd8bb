#include "telemetry/span_data.h"

#include <algorithm>

#include "telemetry/text.h"

namespace sy::telemetry {
namespace {

constexpr char kHex[] = "0123456789abcdef";

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& bytes) {
  std::string out(N * 2, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

template <std::size_t N>
bool parse_hex(std::string_view hex, std::array<std::uint8_t, N>& out) noexcept {
  if (hex.size() != N * 2) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = text::hex_digit(hex[2 * i]), lo = text::hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace

bool is_valid(const TraceId& id) noexcept {
  return std::any_of(id.begin(), id.end(), [](std::uint8_t b) { return b != 0; });
}
bool is_valid(const SpanId& id) noexcept {
  return std::any_of(id.begin(), id.end(), [](std::uint8_t b) { return b != 0; });
}
std::string to_hex(const TraceId& id) {
  return hex_of(id);
}
std::string to_hex(const SpanId& id) {
  return hex_of(id);
}
bool from_hex(std::string_view hex, TraceId& out) noexcept {
  return parse_hex(hex, out);
}
bool from_hex(std::string_view hex, SpanId& out) noexcept {
  return parse_hex(hex, out);
}

}  // namespace sy::telemetry
