#include "providers/mock/mock_provider.h"
#include "providers/openai/openai_provider.h"
#include "providers/provider.h"

namespace sy::providers {

bool is_openai_compatible(std::string_view p) {
  return p == "openai" || p == "text-completion-openai" || p == "hosted_vllm" || p == "ollama" ||
         p == "groq" || p == "together_ai" || p == "deepseek" || p == "mistral" || p == "fireworks_ai" ||
         p == "openrouter";
}

Provider* provider_for(const config::Deployment& d) {
  static MockProvider mock;
  static OpenAiProvider openai;
  if (d.params.mock_response || d.params.provider == "mock") return &mock;
  if (is_openai_compatible(d.params.provider)) return &openai;
  return nullptr;
}

std::int64_t estimate_tokens(std::string_view text) {
  return text.empty() ? 0 : static_cast<std::int64_t>((text.size() + 3) / 4);
}

}  // namespace sy::providers
