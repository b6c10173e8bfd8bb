// A growable byte buffer that encoders write into and exporters reuse from batch to batch: it keeps its
// storage between uses and never zero-fills it, so an export in steady state allocates nothing for its body.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace sy::telemetry {

class EncodeBuffer {
 public:
  EncodeBuffer() = default;
  // Its first storage, when it needs some, holds `first_capacity` bytes (more if the first write needs it).
  explicit EncodeBuffer(std::size_t first_capacity) noexcept : first_capacity_(first_capacity) {}
  EncodeBuffer(EncodeBuffer&& other) noexcept
      : data_(std::move(other.data_)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)),
        first_capacity_(other.first_capacity_) {}
  EncodeBuffer& operator=(EncodeBuffer&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    first_capacity_ = other.first_capacity_;
    return *this;
  }

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
  // Removes `n` bytes at `offset`, moving the ones after them down.
  void erase(std::size_t offset, std::size_t n) noexcept {
    std::memmove(data_.get() + offset, data_.get() + offset + n, size_ - offset - n);
    size_ -= n;
  }
  // Empties the buffer and gives its storage back.
  void release() noexcept {
    data_.reset();
    size_ = 0;
    capacity_ = 0;
  }

 private:
  void grow(std::size_t n) {
    std::size_t cap = capacity_ ? capacity_ * 2 : first_capacity_;
    while (cap - size_ < n) cap *= 2;
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = cap;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t first_capacity_ = 4096;
};

}  // namespace sy::telemetry
