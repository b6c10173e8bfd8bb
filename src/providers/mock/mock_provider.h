// The built-in offline provider: deterministic answers (the configured `mock_response`, else an echo of the
// last user message), realistic usage counts, deterministic embeddings, optional latency and chunk pacing for
// streams
// (`litellm_params.mock_latency_ms`, `mock_chunk_latency_ms`).
#pragma once

#include "providers/provider.h"

namespace sy::providers {

class MockProvider final : public Provider {
 public:
  std::string_view name() const noexcept override { return "mock"; }
  boost::asio::awaitable<Result<Response>> complete(Call& call) override;
  boost::asio::awaitable<Result<bool>> stream(Call& call, ChunkSink& sink) override;
};

}  // namespace sy::providers
