// Byte tests eight at a time in a 64-bit word ("SIMD within a register"), for scans of short text on hot
// paths where a call to memchr per string or per character costs more than the scan.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace sy::swar {

// load() puts the byte at the lowest address in the word's lowest bits.
static_assert(std::endian::native == std::endian::little, "swar.h reads words as little-endian");

inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;   // 0x01 in every byte
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;  // 0x80 in every byte

// The eight bytes at `p` as one word (no alignment needed).
inline std::uint64_t load(const char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// Nonzero when a byte of `word` is zero: the high bit is set in the lowest zero byte and maybe in bytes above
// it (a borrow), so the first flagged byte is exact.
constexpr std::uint64_t zero_bytes(std::uint64_t word) noexcept {
  return (word - kOnes) & ~word & kHighs;
}

// Nonzero when a byte of `word` equals `c` (flags as zero_bytes).
constexpr std::uint64_t bytes_equal(std::uint64_t word, char c) noexcept {
  return zero_bytes(word ^ (kOnes * static_cast<unsigned char>(c)));
}

// Nonzero when a byte of `word` is below `n` (n <= 0x80; flags as zero_bytes).
constexpr std::uint64_t bytes_below(std::uint64_t word, unsigned char n) noexcept {
  return (word - kOnes * n) & ~word & kHighs;
}

// The position (0-7) of the first flagged byte of a nonzero result of the tests above, or of several of them
// or-ed together: each test flags its lowest matching byte exactly.
constexpr std::size_t first_flagged(std::uint64_t flags) noexcept {
  return static_cast<std::size_t>(std::countr_zero(flags)) / 8;
}

}  // namespace sy::swar
