// A growable byte buffer that encoders write into and exporters reuse from batch to batch: it keeps its
// storage between uses and never zero-fills it, so an export in steady state allocates nothing for its body.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace sy::telemetry {

class EncodeBuffer {
 public:
  EncodeBuffer() = default;
  EncodeBuffer(EncodeBuffer&&) noexcept = default;
  EncodeBuffer& operator=(EncodeBuffer&&) noexcept = default;

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  char* data() noexcept { return data_.get(); }
  const char* data() const noexcept { return data_.get(); }
  std::string_view view() const noexcept { return {data_.get(), size_}; }
  // Empties the buffer; its storage is kept.
  void clear() noexcept { size_ = 0; }

  // Room for at least `n` more bytes after the end; returns where they start. commit(k) then adds k of them.
  char* prepare(std::size_t n) {
    if (capacity_ - size_ < n) grow(n);
    return data_.get() + size_;
  }
  void commit(std::size_t n) noexcept { size_ += n; }
  void append(const void* bytes, std::size_t n) {
    if (n == 0) return;
    std::memcpy(prepare(n), bytes, n);
    size_ += n;
  }
  // Drops the bytes past the first `n`.
  void truncate(std::size_t n) noexcept {
    if (n < size_) size_ = n;
  }

 private:
  void grow(std::size_t n) {
    std::size_t cap = capacity_ ? capacity_ * 2 : kFirstCapacity;
    while (cap - size_ < n) cap *= 2;
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = cap;
  }

  static constexpr std::size_t kFirstCapacity = 4096;
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace sy::telemetry
