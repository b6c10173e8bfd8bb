// OpenAI and every OpenAI-compatible server (vLLM, Ollama, LM Studio, Groq, ...): the request body passes
// through with only `model` rewritten; responses and stream chunks come back with `model` set to the public
// name.
#pragma once

#include "providers/provider.h"

namespace sy::providers {

class OpenAiProvider final : public Provider {
 public:
  std::string_view name() const noexcept override { return "openai"; }
  boost::asio::awaitable<Result<Response>> complete(Call& call) override;
  boost::asio::awaitable<Result<bool>> stream(Call& call, ChunkSink& sink) override;
};

// Maps an upstream error response to the error the client sees: status kept, message kept, secrets scrubbed.
Error map_upstream_error(int status, std::string_view body, std::string_view retry_after,
                         std::string_view secret);

}  // namespace sy::providers
