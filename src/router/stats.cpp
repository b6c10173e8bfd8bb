#include "router/stats.h"

#include <algorithm>
#include <bit>
#include <chrono>

namespace sy::router {
namespace {

class SteadyClock final : public Clock {
 public:
  Nanos now() const noexcept override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

const Clock& steady_clock() noexcept {
  static const SteadyClock clock;
  return clock;
}

std::uint64_t MinuteCounter::tag(Nanos now) noexcept {
  // Minute numbers modulo 2^20 (about two years): a counter untouched for exactly that long is the only
  // alias. Tag 0 is kept for "never used", so minute tags run from 1.
  const auto minute = static_cast<std::uint64_t>(now / kNanosPerMinute);
  return ((minute % ((1u << 20) - 1)) + 1) << kCountBits;
}

void MinuteCounter::add(Nanos now, std::int64_t n) noexcept {
  if (n <= 0) return;
  const std::uint64_t t = tag(now);
  const std::uint64_t mask = (std::uint64_t{1} << kCountBits) - 1;
  std::uint64_t cur = word_.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t count = (cur & ~mask) == t ? (cur & mask) : 0;
    const std::uint64_t next = t | std::min(mask, count + static_cast<std::uint64_t>(n));
    if (word_.compare_exchange_weak(cur, next, std::memory_order_relaxed)) return;
  }
}

std::int64_t MinuteCounter::get(Nanos now) const noexcept {
  const std::uint64_t mask = (std::uint64_t{1} << kCountBits) - 1;
  const std::uint64_t cur = word_.load(std::memory_order_relaxed);
  return (cur & ~mask) == tag(now) ? static_cast<std::int64_t>(cur & mask) : 0;
}

void Ewma::observe(double ms) noexcept {
  if (!(ms >= 0)) return;
  ms = std::max(ms, 1e-6);  // keeps 0 meaning "no sample"
  std::uint64_t cur = bits_.load(std::memory_order_relaxed);
  for (;;) {
    const double next = cur == 0 ? ms : kAlpha * ms + (1 - kAlpha) * std::bit_cast<double>(cur);
    if (bits_.compare_exchange_weak(cur, std::bit_cast<std::uint64_t>(next), std::memory_order_relaxed))
      return;
  }
}

double Ewma::get() const noexcept {
  const std::uint64_t cur = bits_.load(std::memory_order_relaxed);
  return cur == 0 ? -1 : std::bit_cast<double>(cur);
}

bool DeploymentStats::record_failure(Nanos now, bool immediate, int allowed_fails, Nanos cooldown) noexcept {
  last_failure.store(now, std::memory_order_relaxed);
  failures.add(now, 1);
  if (cooldown <= 0) return false;
  if (!immediate && failures.get(now) <= allowed_fails) return false;
  const Nanos until = now + cooldown;
  Nanos cur = cooldown_until.load(std::memory_order_relaxed);
  // Only the failure that moves the deadline reports a new cooldown.
  while (cur < until) {
    if (cooldown_until.compare_exchange_weak(cur, until, std::memory_order_relaxed)) return cur <= now;
  }
  return false;
}

}  // namespace sy::router
