// Live statistics of one deployment, shared by every worker thread: atomics only, never a lock, one cache
// line per deployment so workers updating different deployments do not contend.
#pragma once

#include <atomic>
#include <cstdint>

namespace sy::router {

using Nanos = std::int64_t;  // a steady clock reading in nanoseconds

// Injected so tests can move time (usage windows, cooldowns) without sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Nanos now() const noexcept = 0;
};
const Clock& steady_clock() noexcept;

constexpr Nanos kNanosPerSecond = 1'000'000'000;
constexpr Nanos kNanosPerMinute = 60 * kNanosPerSecond;

// A count for the current minute in one 64-bit word (minute tag in the high bits, count in the low 44), so
// adding and rolling over to a new minute is a single compare-and-swap: no count is lost at the boundary.
class MinuteCounter {
 public:
  void add(Nanos now, std::int64_t n) noexcept;
  std::int64_t get(Nanos now) const noexcept;

 private:
  static constexpr int kCountBits = 44;
  static std::uint64_t tag(Nanos now) noexcept;
  std::atomic<std::uint64_t> word_{0};
};

// An exponentially weighted moving average of milliseconds; 0 until the first sample.
class Ewma {
 public:
  static constexpr double kAlpha = 0.3;  // weight of the newest sample
  void observe(double ms) noexcept;
  double get() const noexcept;  // -1 when there is no sample yet
  bool has_value() const noexcept { return bits_.load(std::memory_order_relaxed) != 0; }

 private:
  std::atomic<std::uint64_t> bits_{0};
};

struct alignas(64) DeploymentStats {
  std::atomic<std::int32_t> in_flight{0};
  Ewma latency;  // whole answer (non-streaming), or whole stream
  Ewma ttft;     // time to the first streamed chunk
  MinuteCounter requests;
  MinuteCounter tokens;
  MinuteCounter failures;
  std::atomic<Nanos> cooldown_until{0};
  std::atomic<Nanos> last_failure{0};  // 0: never failed

  bool cooling_down(Nanos now) const noexcept { return cooldown_until.load(std::memory_order_relaxed) > now; }
  // Counts a failure; starts a cooldown when `immediate` or when the minute's failures exceed
  // `allowed_fails`. Returns true when this failure started a cooldown.
  bool record_failure(Nanos now, bool immediate, int allowed_fails, Nanos cooldown) noexcept;
};

}  // namespace sy::router
