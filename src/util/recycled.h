// An object a thread takes for one request and gives back for the next, with what it allocated (the capacity
// of its strings and vectors) kept: the usual request then allocates nothing for it. Each thread keeps its
// own spare objects (no lock); an object given back on another thread than the one it came from joins that
// thread's spares.
//
// T provides `void recycle() noexcept`, which empties it for its next use and frees what is too big to keep.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace sy {

template <class T>
class Recycled {
 public:
  // Spare objects a thread keeps at most (one per request in flight on it, up to this many).
  static constexpr std::size_t kKeep = 256;

  // One of this thread's spare objects, or a new one.
  static Recycled take() {
    std::vector<std::unique_ptr<T>>& spare = spares();
    if (spare.empty()) return Recycled(std::make_unique<T>());
    Recycled r(std::move(spare.back()));
    spare.pop_back();
    return r;
  }

  Recycled(Recycled&& other) noexcept = default;
  Recycled& operator=(Recycled&& other) noexcept {
    if (this != &other) {
      give_back();
      object_ = std::move(other.object_);
    }
    return *this;
  }
  Recycled(const Recycled&) = delete;
  Recycled& operator=(const Recycled&) = delete;
  ~Recycled() { give_back(); }

  T& operator*() const noexcept { return *object_; }
  T* operator->() const noexcept { return object_.get(); }

  // This thread's spare objects (for tests).
  static std::size_t spare_count() noexcept { return spares().size(); }

 private:
  explicit Recycled(std::unique_ptr<T> object) noexcept : object_(std::move(object)) {}

  void give_back() noexcept {
    if (!object_) return;
    std::vector<std::unique_ptr<T>>& spare = spares();
    if (spare.size() < kKeep) {
      object_->recycle();
      spare.push_back(std::move(object_));  // within the reserved capacity: never allocates, never throws
    }
    object_.reset();
  }

  static std::vector<std::unique_ptr<T>>& spares() noexcept {
    thread_local std::vector<std::unique_ptr<T>> spare = [] {
      std::vector<std::unique_ptr<T>> v;
      v.reserve(kKeep);
      return v;
    }();
    return spare;
  }

  std::unique_ptr<T> object_;
};

}  // namespace sy
