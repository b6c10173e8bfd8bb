#include "router/ml/embedding_cache.h"

#include <algorithm>
#include <functional>

namespace sy::router::ml {

std::uint64_t embedding_cache_key(std::string_view model, std::string_view text) noexcept {
  std::uint64_t h =
      std::hash<std::string_view>{}(text) ^ (std::hash<std::string_view>{}(model)*0x9e3779b97f4a7c15ull);
  h ^= h >> 33;  // the murmur3 finaliser: every input bit reaches every output bit
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

EmbeddingCache::EmbeddingCache(std::size_t capacity) : capacity_(std::min<std::size_t>(capacity, kNone - 1)) {
  index_.reserve(std::min<std::size_t>(capacity_, 4096));  // a large cache grows as it fills
}

std::span<const float> EmbeddingCache::find(std::uint64_t key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return {};
  const std::uint32_t i = it->second;
  if (i != newest_) {
    unlink(i);
    push_front(i);
  }
  return entries_[i].embedding;
}

void EmbeddingCache::insert(std::uint64_t key, std::span<const float> embedding) {
  if (capacity_ == 0 || embedding.empty()) return;
  std::uint32_t i;
  if (const auto it = index_.find(key); it != index_.end()) {
    i = it->second;
    unlink(i);
  } else if (entries_.size() < capacity_) {
    i = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
    index_.emplace(key, i);
  } else {
    i = oldest_;
    unlink(i);
    index_.erase(entries_[i].key);
    index_.emplace(key, i);
  }
  Entry& e = entries_[i];
  e.key = key;
  e.embedding.assign(embedding.begin(), embedding.end());
  push_front(i);
}

void EmbeddingCache::unlink(std::uint32_t i) noexcept {
  Entry& e = entries_[i];
  (e.newer == kNone ? newest_ : entries_[e.newer].older) = e.older;
  (e.older == kNone ? oldest_ : entries_[e.older].newer) = e.newer;
  e.newer = e.older = kNone;
}

void EmbeddingCache::push_front(std::uint32_t i) noexcept {
  Entry& e = entries_[i];
  e.older = newest_;
  e.newer = kNone;
  if (newest_ != kNone) entries_[newest_].newer = i;
  newest_ = i;
  if (oldest_ == kNone) oldest_ = i;
}

}  // namespace sy::router::ml
