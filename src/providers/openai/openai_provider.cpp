#include "providers/openai/openai_provider.h"

#include <cctype>
#include <cstdlib>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "http/client.h"
#include "http/sse.h"
#include "providers/openai/chunk_rewriter.h"
#include "util/json.h"
#include "util/recycled.h"
#include "util/string_map.h"

namespace sy::providers {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;

struct ProviderDefaults {
  std::string_view provider;
  std::string_view api_base;
  std::string_view key_env;
};

constexpr ProviderDefaults kDefaults[] = {
    {"openai", "https://api.openai.com/v1", "OPENAI_API_KEY"},
    {"text-completion-openai", "https://api.openai.com/v1", "OPENAI_API_KEY"},
    {"groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"},
    {"together_ai", "https://api.together.xyz/v1", "TOGETHERAI_API_KEY"},
    {"deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"},
    {"mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"},
    {"fireworks_ai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY"},
    {"openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"},
    {"ollama", "http://localhost:11434/v1", ""},
    {"hosted_vllm", "", "HOSTED_VLLM_API_KEY"},
    {"azure", "", "AZURE_API_KEY"},
};

// Azure OpenAI's API version when neither litellm_params.api_version nor AZURE_API_VERSION gives one: the
// newest generally available version.
constexpr std::string_view kAzureDefaultApiVersion = "2024-10-21";

const ProviderDefaults* defaults_for(std::string_view provider) {
  for (const auto& d : kDefaults) {
    if (d.provider == provider) return &d;
  }
  return nullptr;
}

// Parsed api_base per worker thread, so a URL is parsed once, not per request.
Result<const http::Origin*> origin_for(const config::Deployment& d) {
  std::string_view base = d.params.api_base;
  const ProviderDefaults* defaults = defaults_for(d.params.provider);
  if (base.empty() && defaults) base = defaults->api_base;
  if (base.empty()) {
    return Error{500, "api_error", "Deployment '" + d.info.id + "' has no api_base.", "missing_api_base",
                 {},  {}};
  }
  thread_local StringMap<http::Origin> cache;
  auto it = cache.find(base);
  if (it == cache.end()) {
    auto parsed = http::parse_origin(base);
    if (!parsed) {
      return Error{
          500, "api_error", "Deployment '" + d.info.id + "' has an invalid api_base.", "invalid_api_base",
          {},  {}};
    }
    it = cache.emplace(std::string(base), std::move(parsed.value())).first;
  }
  return &it->second;
}

// An environment variable's value, or empty: a view of the environment, which the gateway never changes.
std::string_view env_view(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string_view(v) : std::string_view();
}

// The deployment's key, or its provider's environment variable: a view of the configuration or of the
// environment, both of which outlive the request.
std::string_view api_key_for(const config::Deployment& d) {
  if (!d.params.api_key.empty()) return d.params.api_key;
  const ProviderDefaults* defaults = defaults_for(d.params.provider);
  if (defaults && !defaults->key_env.empty()) {
    return env_view(std::string(defaults->key_env).c_str());
  }
  return {};
}

std::string_view path_for(Endpoint e) {
  switch (e) {
    case Endpoint::completions:
      return "/completions";
    case Endpoint::embeddings:
      return "/embeddings";
    default:
      return "/chat/completions";
  }
}

// Unreserved characters stay; everything else is percent-encoded (a deployment name or API version in a URL).
void append_encoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

// Azure OpenAI: /openai/deployments/{deployment}/{operation}?api-version=..., authenticated by an `api-key`
// header, or by a Microsoft Entra ID bearer token (`azure_ad_token`, else AZURE_AD_TOKEN) when no key is set.
void azure_target_and_auth(const config::Deployment& d, Endpoint endpoint, http::ClientRequest& r,
                           std::string_view& secret) {
  std::string version = d.params.api_version;
  if (version.empty()) version = env_view("AZURE_API_VERSION");
  if (version.empty()) version = kAzureDefaultApiVersion;
  if (!r.target.ends_with("/openai")) r.target += "/openai";
  r.target += "/deployments/";
  append_encoded(r.target, d.params.provider_model);
  r.target += path_for(endpoint);
  r.target += "?api-version=";
  append_encoded(r.target, version);
  secret = api_key_for(d);
  if (!secret.empty()) {
    r.headers.add("api-key", secret);
    return;
  }
  if (const auto* token = d.params.extra.if_contains("azure_ad_token"); token && token->is_string()) {
    secret = token->get_string();
  }
  if (secret.empty()) secret = env_view("AZURE_AD_TOKEN");
  if (!secret.empty()) r.headers.add("Authorization", "Bearer ").append(secret);
}

// Builds the upstream request, in one of the thread's recycled requests (whose target, header fields and body
// keep their storage); `api_key` receives the key so errors can scrub it.
Result<Recycled<http::ClientRequest>> build_request(Call& call, std::string_view& api_key) {
  const config::Deployment& d = *call.deployment;
  auto origin = origin_for(d);
  if (!origin) return origin.error();
  const json::RequestBody* text = call.body.unparsed();
  if (!text) {
    (*call.body)["model"] = d.params.provider_model;
    if (call.stream && !call.include_usage) {
      bj::value& so = (*call.body)["stream_options"];
      if (!so.is_object()) so = bj::object();
      so.as_object()["include_usage"] = true;
    }
  }
  call.meta.server_address = origin.value()->host;
  call.meta.server_port = origin.value()->port;
  Recycled<http::ClientRequest> request = Recycled<http::ClientRequest>::take();
  http::ClientRequest& r = *request;
  r.origin = origin.value();
  r.target = r.origin->base_path;
  while (r.target.ends_with('/')) r.target.pop_back();
  if (d.params.provider == "azure") {
    azure_target_and_auth(d, call.endpoint, r, api_key);
  } else {
    r.target += path_for(call.endpoint);
    api_key = api_key_for(d);
    if (!api_key.empty()) r.headers.add("Authorization", "Bearer ").append(api_key);
  }
  r.headers.add("Content-Type", "application/json");
  r.headers.add("Accept", call.stream ? "text/event-stream" : "application/json");
  for (const http::Header& h : call.upstream_headers) r.headers.add(h.name, h.value);
  if (text) {
    text->write_with_model(d.params.provider_model, call.stream && !call.include_usage, r.body);
  } else {
    json::serialize_into(*call.body, r.body, call.body_bytes);
  }
  r.timeout = call.timeout;
  return request;
}

void scrub(std::string& text, std::string_view secret) {
  if (secret.size() < 4) return;
  static constexpr std::string_view kRedacted = "[redacted]";
  for (auto pos = text.find(secret); pos != std::string::npos;
       pos = text.find(secret, pos + kRedacted.size())) {
    text.replace(pos, secret.size(), kRedacted);
  }
}

using openai::Rewrite;
using openai::RewriteOptions;

// Decodes the upstream SSE stream and hands each chunk to the sink, flushing after every read.
class ChunkForwarder final : public http::BodySink {
 public:
  ChunkForwarder(ChunkSink& sink, const RewriteOptions& options, std::string_view secret)
      : sink_(sink), rewriter_(options), meta_(options.meta), secret_(secret) {}

  asio::awaitable<bool> on_data(std::string_view bytes, bool last) override {
    if (meta_) meta_->upstream_status = 200;  // only a 2xx body streams here
    if (!reader_.feed(bytes)) {
      error_ =
          Error{502, "api_error", "The upstream sent an oversized stream event.", "upstream_error", {}, {}};
      co_return false;
    }
    for (const http::SseEvent& ev : reader_.events()) {
      if (ev.data == "[DONE]") {
        done_ = true;
        continue;
      }
      const Rewrite rw = rewriter_.rewrite(ev.data, wire_);
      if (rw == Rewrite::drop) continue;
      if (rw == Rewrite::not_json) {
        error_ = Error{
            502, "api_error", "The upstream sent a stream event that is not JSON.", "upstream_error", {}, {}};
        co_return false;
      }
      if (rw == Rewrite::error_event) {
        error_ = map_upstream_error(500, ev.data, {}, secret_);
        co_return false;
      }
      sink_.on_chunk(wire_);
    }
    if (last) co_return true;  // what is left goes out with the end of the stream
    const bool delivered = co_await sink_.flush();
    if (!delivered) {
      client_gone_ = true;
      co_return false;
    }
    co_return true;
  }

  std::optional<Error> error_;
  bool client_gone_ = false;
  bool done_ = false;

 private:
  ChunkSink& sink_;
  openai::ChunkRewriter rewriter_;
  ResponseMeta* meta_;
  std::string_view secret_;
  http::SseReader reader_;
  std::string wire_;
};

}  // namespace

Error map_upstream_error(int status, std::string_view body, std::string_view retry_after,
                         std::string_view secret) {
  Error e;
  e.status = status;
  e.retry_after = std::string(retry_after);
  boost::system::error_code ec;
  bj::value v = bj::parse(body, ec, {}, json::parse_options());
  const bj::object* err = nullptr;
  if (!ec && v.is_object()) {
    if (auto* inner = v.as_object().if_contains("error"); inner && inner->is_object())
      err = &inner->as_object();
  }
  auto str = [&](std::string_view key) -> std::string {
    if (!err) return {};
    const auto* f = err->if_contains(key);
    if (!f) return {};
    if (f->is_string()) return std::string(f->get_string());
    if (f->is_int64()) return std::to_string(f->get_int64());
    return {};
  };
  e.message = str("message");
  e.type = str("type");
  e.code = str("code");
  e.param = str("param");
  if (e.message.empty()) e.message = "The upstream answered HTTP " + std::to_string(status) + ".";
  if (e.type.empty())
    e.type = status == 429 ? "rate_limit_error" : status >= 500 ? "api_error" : "invalid_request_error";
  for (std::string* field : {&e.message, &e.type, &e.code, &e.param}) scrub(*field, secret);
  return e;
}

asio::awaitable<Result<Response>> OpenAiProvider::complete(Call& call) {
  std::string_view api_key;
  auto request = build_request(call, api_key);
  if (!request) co_return request.error();
  auto response = co_await http::fetch(*request.value());
  if (!response) co_return response.error();
  const http::ClientResponse& r = response.value();
  call.meta.upstream_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    co_return map_upstream_error(r.status, r.body, r.header("retry-after"), api_key);
  }
  Response out;
  const RewriteOptions options{call.public_model, &call.meta, false, call.capture_content};
  // Scanned, not parsed: the answer passes on as it came, with the public model name spliced in.
  openai::ChunkRewriter rewriter(options, openai::Framing::document);
  if (rewriter.rewrite(r.body, out.body) != Rewrite::ok) {
    co_return Error{
        502, "api_error", "The upstream answered with something that is not a JSON object.", "upstream_error",
        {},  {}};
  }
  co_return out;
}

asio::awaitable<Result<bool>> OpenAiProvider::stream(Call& call, ChunkSink& sink) {
  std::string_view api_key;
  auto request = build_request(call, api_key);
  if (!request) co_return request.error();
  // Usage is always asked of the upstream (traces and routing need token counts); a client that did not ask
  // for it does not see it.
  const RewriteOptions options{call.public_model, &call.meta, !call.include_usage, call.capture_content};
  ChunkForwarder forwarder(sink, options, api_key);
  auto response = co_await http::fetch_streaming(*request.value(), forwarder);
  if (forwarder.client_gone_) co_return false;
  if (forwarder.error_) co_return *forwarder.error_;
  if (!response) co_return response.error();
  const http::ClientResponse& r = response.value();
  call.meta.upstream_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    co_return map_upstream_error(r.status, r.body, r.header("retry-after"), api_key);
  }
  // A stream that closed without [DONE] and without a finish_reason was cut short: not a success.
  if (!forwarder.done_ && call.meta.finish_reasons.empty()) {
    co_return Error{502, "api_error", "The upstream stream ended before it was complete.", "upstream_error",
                    {},  {}};
  }
  co_return true;
}

}  // namespace sy::providers
