// A least-recently-used cache of routing-text embeddings, keyed by a 64-bit hash of the embedding model and
// the text (embedding_cache_key). Not thread-safe: the gateway keeps one per worker thread, so no lookup
// takes a lock. Its entries' buffers are reused on eviction, so a warm cache allocates nothing on a hit and
// only the index node on a miss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sy::router::ml {

std::uint64_t embedding_cache_key(std::string_view model, std::string_view text) noexcept;

class EmbeddingCache {
 public:
  explicit EmbeddingCache(std::size_t capacity);  // 0: caches nothing

  // The embedding stored under `key` (now the most recently used), valid until the next insert; empty when
  // there is none.
  std::span<const float> find(std::uint64_t key);
  // Stores a copy of `embedding` under `key`, evicting the least recently used entry when full.
  void insert(std::uint64_t key, std::span<const float> embedding);

  std::size_t size() const noexcept { return index_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  struct Entry {
    std::uint64_t key = 0;
    std::uint32_t newer = kNone, older = kNone;
    std::vector<float> embedding;
  };
  void unlink(std::uint32_t i) noexcept;
  void push_front(std::uint32_t i) noexcept;

  std::size_t capacity_;
  std::vector<Entry> entries_;
  std::unordered_map<std::uint64_t, std::uint32_t> index_;  // key -> entry
  std::uint32_t newest_ = kNone, oldest_ = kNone;
};

}  // namespace sy::router::ml
