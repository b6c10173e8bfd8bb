#include "providers/anthropic/anthropic_provider.h"
#include "providers/bedrock/bedrock_provider.h"
#include "providers/mock/mock_provider.h"
#include "providers/openai/openai_provider.h"
#include "providers/provider.h"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "util/json.h"

namespace sy::providers {

boost::asio::awaitable<Result<Response>> Provider::count_tokens(Call& call) {
  co_return Error{501,
                  "invalid_request_error",
                  "Token counting is not available for provider '" + call.deployment->params.provider + "'.",
                  "count_tokens_not_supported",
                  {},
                  {}};
}

bool is_openai_compatible(std::string_view p) {
  return p == "openai" || p == "text-completion-openai" || p == "hosted_vllm" || p == "ollama" ||
         p == "groq" || p == "together_ai" || p == "deepseek" || p == "mistral" || p == "fireworks_ai" ||
         p == "openrouter";
}

Provider* provider_for(const config::Deployment& d) {
  static MockProvider mock;
  static OpenAiProvider openai;
  static AnthropicProvider anthropic_provider;
  static bedrock::BedrockProvider bedrock;
  if (d.params.mock_response || d.params.provider == "mock") return &mock;
  if (is_openai_compatible(d.params.provider) || d.params.provider == "azure") return &openai;
  if (d.params.provider == "anthropic") return &anthropic_provider;
  if (d.params.provider == "bedrock") return &bedrock;
  return nullptr;
}

std::int64_t estimate_tokens(std::string_view text) {
  return text.empty() ? 0 : static_cast<std::int64_t>((text.size() + 3) / 4);
}

std::int64_t estimate_prompt_tokens(Endpoint endpoint, const boost::json::object& body) {
  std::int64_t tokens = 0;
  auto add_texts = [&tokens](const boost::json::value* v) {
    if (!v) return;
    if (v->is_string()) tokens += estimate_tokens(v->get_string());
    if (const auto* a = v->if_array()) {
      for (const auto& item : *a) {
        if (item.is_string()) tokens += estimate_tokens(item.get_string());
      }
    }
  };
  switch (endpoint) {
    case Endpoint::chat_completions:
      if (const auto* msgs = body.if_contains("messages"); msgs && msgs->is_array()) {
        for (const auto& m : msgs->get_array()) {
          tokens += 4;  // per-message framing, as chat formats add
          if (const auto* obj = m.if_object()) {
            if (const auto* c = obj->if_contains("content")) {
              const std::size_t size = json::content_text_size(*c);  // counted without copying the text
              tokens += size == 0 ? 0 : static_cast<std::int64_t>((size + 3) / 4);
            }
          }
        }
      }
      break;
    case Endpoint::completions:
      add_texts(body.if_contains("prompt"));
      break;
    case Endpoint::embeddings:
      add_texts(body.if_contains("input"));
      break;
  }
  return std::max<std::int64_t>(1, tokens);
}

void ResponseMeta::clear() noexcept {
  static constexpr std::size_t kKeepText = 64 * 1024;
  id.clear();
  model.clear();
  finish_reasons.clear();
  prompt_tokens = -1;
  completion_tokens = -1;
  if (completion_text.capacity() > kKeepText) std::string().swap(completion_text);
  completion_text.clear();
  server_address.clear();
  server_port = 0;
  upstream_status = 0;
}

void Call::recycle() noexcept {
  const Call defaults;
  endpoint = defaults.endpoint;
  deployment = nullptr;
  body = {};
  body_bytes = 0;
  public_model = {};
  stream = false;
  include_usage = false;
  capture_content = false;
  meta.clear();
  request_id = {};
  timeout = defaults.timeout;
  upstream_headers.recycle();
}

}  // namespace sy::providers
