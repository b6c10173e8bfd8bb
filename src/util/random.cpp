#include "util/random.h"

#include <random>

namespace sy {
namespace {
std::uint64_t splitmix(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

FastRandom::FastRandom(std::uint64_t seed) noexcept {
  for (auto& s : s_) s = splitmix(seed);
}

std::uint64_t FastRandom::next() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double FastRandom::uniform() noexcept {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

FastRandom& FastRandom::thread_instance() noexcept {
  thread_local FastRandom rng([] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }());
  return rng;
}

void append_random_hex_id(std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = FastRandom::thread_instance().next();
  const std::size_t at = out.size();
  out.resize(at + 16);
  for (int i = 15; i >= 0; --i, v >>= 4) out[at + static_cast<std::size_t>(i)] = kHex[v & 0xf];
}

std::string random_hex_id() {
  std::string out;
  append_random_hex_id(out);
  return out;
}

}  // namespace sy
