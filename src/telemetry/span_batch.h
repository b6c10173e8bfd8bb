// A batch of finished spans as exporters and encoders read it: a view, either of span records held one by one
// (the batch processor exports the records request threads filled, where they are, and hands them back
// afterwards) or of a contiguous list (a caller's std::vector<SpanData>).
#pragma once

#include <cstddef>
#include <iterator>
#include <span>
#include <type_traits>

#include "telemetry/span_data.h"

namespace sy::telemetry {

class SpanBatch {
 public:
  // Holds what the batch views, not the batch: it stays valid when the SpanBatch it came from (a by-value
  // parameter, a temporary) is gone, as long as the spans are.
  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = SpanData;
    using difference_type = std::ptrdiff_t;
    using pointer = const SpanData*;
    using reference = const SpanData&;

    iterator() = default;
    reference operator*() const noexcept { return at(index_); }
    pointer operator->() const noexcept { return &at(index_); }
    reference operator[](difference_type n) const noexcept { return at(index_ + n); }
    iterator& operator++() noexcept { return ++index_, *this; }
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++index_;
      return old;
    }
    iterator& operator--() noexcept { return --index_, *this; }
    iterator operator--(int) noexcept {
      iterator old = *this;
      --index_;
      return old;
    }
    iterator& operator+=(difference_type n) noexcept { return index_ += n, *this; }
    iterator& operator-=(difference_type n) noexcept { return index_ -= n, *this; }
    friend iterator operator+(iterator it, difference_type n) noexcept { return it += n; }
    friend iterator operator+(difference_type n, iterator it) noexcept { return it += n; }
    friend iterator operator-(iterator it, difference_type n) noexcept { return it -= n; }
    friend difference_type operator-(const iterator& a, const iterator& b) noexcept {
      return a.index_ - b.index_;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.index_ == b.index_; }
    friend auto operator<=>(const iterator& a, const iterator& b) noexcept { return a.index_ <=> b.index_; }

   private:
    friend class SpanBatch;
    iterator(const SpanData* list, const SpanData* const* records, difference_type index) noexcept
        : list_(list), records_(records), index_(index) {}
    const SpanData& at(difference_type i) const noexcept { return records_ ? *records_[i] : list_[i]; }
    const SpanData* list_ = nullptr;
    const SpanData* const* records_ = nullptr;
    difference_type index_ = 0;
  };

  SpanBatch() noexcept = default;
  SpanBatch(std::span<const SpanData> spans) noexcept : list_(spans.data()), size_(spans.size()) {}
  // Any contiguous list of spans (a std::vector<SpanData>, an array).
  template <class List>
  requires std::is_convertible_v<const List&, std::span<const SpanData>> SpanBatch(const List& spans)
  noexcept : SpanBatch(std::span<const SpanData>(spans)) {}
  SpanBatch(std::span<const SpanData* const> records) noexcept
      : records_(records.data()), size_(records.size()) {}

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const SpanData& operator[](std::ptrdiff_t i) const noexcept { return records_ ? *records_[i] : list_[i]; }
  iterator begin() const noexcept { return iterator(list_, records_, 0); }
  iterator end() const noexcept { return iterator(list_, records_, static_cast<std::ptrdiff_t>(size_)); }

 private:
  const SpanData* list_ = nullptr;
  const SpanData* const* records_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace sy::telemetry
