#include "telemetry/id_generator.h"

#include <chrono>
#include <cstring>
#include <random>

namespace sy::telemetry {
namespace {

// xoshiro256** per thread, seeded once from the OS: ids cost a few nanoseconds and no lock.
struct ThreadRandom {
  std::uint64_t s[4];
  ThreadRandom() {
    std::random_device rd;
    std::uint64_t x = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    for (auto& v : s) {
      x += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      v = z ^ (z >> 31);
    }
  }
  static std::uint64_t rotl(std::uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

std::uint64_t nonzero_random() noexcept {
  thread_local ThreadRandom rng;
  std::uint64_t v;
  do {
    v = rng.next();
  } while (v == 0);
  return v;
}

}  // namespace

TraceId IdGenerator::trace_id() const noexcept {
  TraceId id{};
  std::uint64_t hi = nonzero_random(), lo = nonzero_random();
  std::memcpy(id.data(), &hi, 8);
  std::memcpy(id.data() + 8, &lo, 8);
  if (xray_) {
    const auto secs = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    id[0] = static_cast<std::uint8_t>(secs >> 24);
    id[1] = static_cast<std::uint8_t>(secs >> 16);
    id[2] = static_cast<std::uint8_t>(secs >> 8);
    id[3] = static_cast<std::uint8_t>(secs);
  }
  return id;
}

SpanId IdGenerator::span_id() const noexcept {
  SpanId id{};
  std::uint64_t v = nonzero_random();
  std::memcpy(id.data(), &v, 8);
  return id;
}

}  // namespace sy::telemetry
