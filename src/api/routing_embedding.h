// Gets the embedding a learned strategy routes on (routing_strategy_args.embedding_model) before the router
// selects a deployment: from this worker thread's LRU cache, else by calling the embedding model's group
// through its provider adapter as /v1/embeddings does, given up after the strategy's embedding_timeout_ms.
// It never fails the request: without an embedding the strategy's built-in model decides, and
// RouteRequest::embedding_status says why (the route span's router.embedding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/respond.h"
#include "config/config.h"
#include "router/ml/embedding_cache.h"
#include "router/router.h"

namespace sy::api {

// The floats of one request's embedding, borrowed from the thread's pool on first use and given back when
// the request ends, so that a warm thread allocates none.
class EmbeddingBuffer {
 public:
  EmbeddingBuffer() = default;
  EmbeddingBuffer(const EmbeddingBuffer&) = delete;
  EmbeddingBuffer& operator=(const EmbeddingBuffer&) = delete;
  ~EmbeddingBuffer();
  std::vector<float>& get();

 private:
  std::optional<std::vector<float>> floats_;
};

// What a request's routing still needs fetched: the routing text's embedding by need.model.
struct PendingEmbedding {
  router::EmbeddingNeed need;
  std::uint64_t key = 0;  // in the cache
  std::string text;
};

class RoutingEmbedder {
 public:
  // Each worker thread's cache holds `cache_size` embeddings (0: none are kept).
  explicit RoutingEmbedder(std::size_t cache_size);
  // The largest embedding_cache_size of the router's strategy and its experiment arms.
  static std::size_t cache_size_for(const config::RouterSettings& settings);

  // Sets request.embedding (into `buffer`) and request.embedding_status when the router's strategy needs an
  // embedding to route `request` in `group`, in two halves. This one, synchronous, settles the request when
  // no embedding is needed, there is no routing text, or this thread's cache has it; otherwise it says what
  // to fetch.
  std::optional<PendingEmbedding> from_cache(const router::Router& router, const router::ModelGroup& group,
                                             router::RouteRequest& request, EmbeddingBuffer& buffer) const;
  // The asynchronous half: fetches what from_cache said is missing, and settles the request. Throws only what
  // cancellation throws.
  boost::asio::awaitable<void> fetch(const router::Router& router, router::RouteRequest& request,
                                     const PendingEmbedding& pending, EmbeddingBuffer& buffer,
                                     RequestContext& ctx) const;
  // Keeps a fetched embedding in this thread's cache.
  void remember(const PendingEmbedding& pending, std::span<const float> embedding) const;

 private:
  router::ml::EmbeddingCache& cache() const;  // this thread's

  std::size_t cache_size_;
  std::uint64_t id_;  // tells this embedder's thread caches from another's (tests make several)
};

}  // namespace sy::api
