// A bounded multi-producer multi-consumer queue (Vyukov's ring): request threads hand finished spans to the
// export thread without a lock; when it is full the push fails and the caller counts a drop.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

namespace sy::telemetry {

template <class T>
class SpanQueue {
 public:
  // Holds at most `capacity` items (the ring itself is rounded up to a power of two).
  explicit SpanQueue(std::size_t capacity) : limit_(capacity ? capacity : 1) {
    std::size_t ring = 1;
    while (ring < limit_) ring <<= 1;
    cells_ = std::make_unique<Cell[]>(ring);
    mask_ = ring - 1;
    for (std::size_t i = 0; i < ring; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }

  bool try_push(T&& value) noexcept {
    if (size_.fetch_add(1, std::memory_order_relaxed) >= limit_) {
      size_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    std::size_t pos = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      const std::size_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = std::move(value);
          cell.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        size_.fetch_sub(1, std::memory_order_relaxed);  // cannot happen while size_ bounds the ring
        return false;
      } else {
        pos = enqueue_.load(std::memory_order_relaxed);
      }
    }
  }

  bool try_pop(T& out) noexcept {
    std::size_t pos = dequeue_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      const std::size_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = std::move(cell.value);
          cell.seq.store(pos + mask_ + 1, std::memory_order_release);
          size_.fetch_sub(1, std::memory_order_relaxed);
          return true;
        }
      } else if (diff < 0) {
        return false;  // empty
      } else {
        pos = dequeue_.load(std::memory_order_relaxed);
      }
    }
  }

  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  std::size_t capacity() const noexcept { return limit_; }

 private:
  struct Cell {
    std::atomic<std::size_t> seq{0};
    T value{};
  };
  std::unique_ptr<Cell[]> cells_;
  std::size_t mask_ = 0;
  std::size_t limit_;
  alignas(64) std::atomic<std::size_t> enqueue_{0};
  alignas(64) std::atomic<std::size_t> dequeue_{0};
  alignas(64) std::atomic<std::size_t> size_{0};
};

}  // namespace sy::telemetry
