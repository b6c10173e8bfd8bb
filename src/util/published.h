// A value many threads read and one writer replaces whole (RCU-style): a reader gets the current value
// without a lock or a reference-count write while it is unchanged; a publish makes new readers see the new
// value, and readers that still hold the old one finish with it (its last holder frees it).
//
// Each thread keeps a small cache of (slot, version, shared_ptr) entries; `get` compares the slot's version
// number (one atomic load) with the cached one and refreshes under the slot's mutex only after a publish.
// Version numbers come from one process-wide counter, so a slot created at the address of a destroyed one
// never matches the stale entry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace sy {

namespace detail {
inline std::uint64_t next_published_version() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}
}  // namespace detail

template <class T>
class Published {
 public:
  Published() : version_(detail::next_published_version()) {}
  explicit Published(std::shared_ptr<const T> value)
      : value_(std::move(value)), version_(detail::next_published_version()) {}
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // The current value as this thread sees it (null when none is published). The pointer stays valid until
  // this thread's next `get` of a Published<T>: the thread's cache holds a reference until then.
  const T* get() const {
    const std::uint64_t version = version_.load(std::memory_order_acquire);
    Cache& cache = thread_cache();
    for (const Entry& e : cache.entries) {
      if (e.owner == this && e.version == version) return e.value.get();
    }
    return refresh(cache);
  }

  // The current value, shared (for writers and tests; takes the mutex).
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

  // Replaces the value; readers see the new one from their next `get`.
  void publish(std::shared_ptr<const T> value) {
    std::shared_ptr<const T> old;
    {
      std::lock_guard lock(mutex_);
      old = std::exchange(value_, std::move(value));
      version_.store(detail::next_published_version(), std::memory_order_release);
    }
    // `old` is released here, outside the lock.
  }

 private:
  struct Entry {
    const Published* owner = nullptr;
    std::uint64_t version = 0;
    std::shared_ptr<const T> value;
  };
  struct Cache {
    std::array<Entry, 8> entries;
    unsigned next = 0;  // the entry a new slot takes, round robin
  };

  static Cache& thread_cache() noexcept {
    thread_local Cache cache;
    return cache;
  }

  const T* refresh(Cache& cache) const {
    Entry* entry = nullptr;
    for (Entry& e : cache.entries) {
      if (e.owner == this) {
        entry = &e;
        break;
      }
    }
    if (!entry) entry = &cache.entries[cache.next++ % cache.entries.size()];
    std::shared_ptr<const T> previous = std::move(entry->value);  // freed after the lock, if it was the last
    std::lock_guard lock(mutex_);
    entry->owner = this;
    entry->version = version_.load(std::memory_order_relaxed);
    entry->value = value_;
    return entry->value.get();
  }

  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
  std::atomic<std::uint64_t> version_;
};

}  // namespace sy
