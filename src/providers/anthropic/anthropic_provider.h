// Anthropic's Messages API (`anthropic/<model>` deployments): OpenAI chat requests are translated to
// POST {api_base}/v1/messages and the answers (whole or streamed) back to OpenAI's shapes; token counting
// passes the client's Anthropic-shaped body to /v1/messages/count_tokens.
//
// litellm_params: api_base (default https://api.anthropic.com; a trailing /v1 or /v1/messages is accepted),
// api_key (else ANTHROPIC_API_KEY), timeout, and the extras anthropic_version (default 2023-06-01),
// anthropic_beta (a string or a list, sent as the anthropic-beta header) and default_max_tokens (default
// 4096).
#pragma once

#include <string>
#include <string_view>

#include "http/client.h"
#include "providers/provider.h"
#include "util/recycled.h"

namespace sy::providers {

class AnthropicProvider final : public Provider {
 public:
  std::string_view name() const noexcept override { return "anthropic"; }
  boost::asio::awaitable<Result<Response>> complete(Call& call) override;
  boost::asio::awaitable<Result<bool>> stream(Call& call, ChunkSink& sink) override;
  boost::asio::awaitable<Result<Response>> count_tokens(Call& call) override;
};

namespace anthropic {

inline constexpr std::string_view kDefaultApiBase = "https://api.anthropic.com";
inline constexpr std::string_view kDefaultVersion = "2023-06-01";

// The request path under an api_base's path: "/v1/messages" (or ".../count_tokens"), a trailing "/v1" or
// "/v1/messages" of the base not repeated.
std::string messages_path(std::string_view base_path, bool count_tokens);

// The upstream request for `call` with `body` serialized as its body: target, headers (x-api-key,
// anthropic-version, anthropic-beta when configured, content-type, accept, trace context) and timeout, in
// one of the thread's recycled requests (whose target, header fields and body keep their storage). `api_key`
// receives the key so errors can scrub it. Fills the meta's server address and port.
Result<Recycled<http::ClientRequest>> build_http_request(Call& call, const boost::json::object& body,
                                                         bool count_tokens, std::string& api_key);

}  // namespace anthropic
}  // namespace sy::providers
