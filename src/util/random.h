// A fast per-thread random source (xoshiro256**), seeded once per thread from the OS; never shared.
#pragma once

#include <cstdint>
#include <string>

namespace sy {

class FastRandom {
 public:
  explicit FastRandom(std::uint64_t seed) noexcept;
  std::uint64_t next() noexcept;
  double uniform() noexcept;  // [0, 1)

  static FastRandom& thread_instance() noexcept;  // seeded from std::random_device

 private:
  std::uint64_t s_[4];
};

// 16 lowercase hex characters from the thread's random source.
std::string random_hex_id();
// The same, appended to `out` (whose storage a caller may keep from one id to the next).
void append_random_hex_id(std::string& out);

}  // namespace sy
