#include "providers/anthropic/anthropic_provider.h"

#include <cstdlib>
#include <ctime>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "http/sse.h"
#include "providers/anthropic/translate.h"
#include "util/json.h"
#include "util/string_map.h"

namespace sy::providers {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;

Error config_error(const config::Deployment& d, std::string what, std::string code) {
  return Error{500, "api_error", "Deployment '" + d.info.id + "' has " + what + ".", std::move(code), {}, {}};
}

// Parsed api_base per worker thread, so a URL is parsed once, not per request.
Result<const http::Origin*> origin_for(const config::Deployment& d) {
  const std::string_view base = d.params.api_base.empty() ? anthropic::kDefaultApiBase : d.params.api_base;
  thread_local StringMap<http::Origin> cache;
  auto it = cache.find(base);
  if (it == cache.end()) {
    auto parsed = http::parse_origin(base);
    if (!parsed) return config_error(d, "an invalid api_base", "invalid_api_base");
    it = cache.emplace(std::string(base), std::move(parsed.value())).first;
  }
  return &it->second;
}

std::string api_key_for(const config::Deployment& d) {
  if (!d.params.api_key.empty()) return d.params.api_key;
  if (const char* v = std::getenv("ANTHROPIC_API_KEY")) return v;
  return {};
}

// A string extra, or a list of strings joined with commas (anthropic-beta takes several).
Result<std::string> string_extra(const config::Deployment& d, std::string_view key) {
  const bj::value* v = d.params.extra.if_contains(key);
  if (!v || v->is_null()) return std::string();
  if (v->is_string()) return std::string(v->get_string());
  if (const bj::array* list = v->if_array()) {
    std::string joined;
    for (const bj::value& item : *list) {
      if (!item.is_string()) return config_error(d, "an invalid " + std::string(key), "invalid_config");
      if (!joined.empty()) joined += ',';
      joined += item.get_string();
    }
    return joined;
  }
  return config_error(d, "an invalid " + std::string(key), "invalid_config");
}

Result<std::int64_t> default_max_tokens(const config::Deployment& d) {
  const bj::value* v = d.params.extra.if_contains("default_max_tokens");
  if (!v || v->is_null()) return anthropic::kDefaultMaxTokens;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= 1'000'000'000) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else if (v->is_string()) {  // from an os.environ/ reference
    const std::string s(v->get_string());
    char* end = nullptr;
    n = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') n = 0;
  }
  if (n < 1) return config_error(d, "an invalid default_max_tokens (a positive integer)", "invalid_config");
  return n;
}

std::int64_t now_seconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// The Messages request for `call`. The client's body is left as it is: a later attempt (a retry on another
// provider, a fallback) starts from the same request.
Result<bj::object> messages_body(const Call& call) {
  const config::Deployment& d = *call.deployment;
  if (call.endpoint != Endpoint::chat_completions) {
    return Error{501,
                 "invalid_request_error",
                 "Anthropic deployments serve chat completions only.",
                 "endpoint_not_supported",
                 {},
                 {}};
  }
  auto max_tokens = default_max_tokens(d);
  if (!max_tokens) return max_tokens.error();
  anthropic::RequestOptions options{d.params.provider_model, max_tokens.value()};
  auto translated = anthropic::to_anthropic_request(*call.body, options);
  if (!translated) return translated.error();
  if (call.stream) translated.value()["stream"] = true;
  return translated;
}

// Decodes the upstream SSE stream and hands each translated chunk to the sink, flushing after every read.
class EventForwarder final : public http::BodySink {
 public:
  EventForwarder(ChunkSink& sink, const anthropic::StreamTranslator::Options& options, ResponseMeta& meta)
      : sink_(sink), meta_(meta), translator_(options, meta) {}

  asio::awaitable<bool> on_data(std::string_view bytes, bool last) override {
    meta_.upstream_status = 200;  // only a 2xx body streams here
    if (!reader_.feed(bytes)) {
      error_ =
          Error{502, "api_error", "The upstream sent an oversized stream event.", "upstream_error", {}, {}};
      co_return false;
    }
    for (const http::SseEvent& ev : reader_.events()) {
      chunks_.clear();
      const bool translated = translator_.on_event(ev, chunks_);
      for (const std::string& chunk : chunks_) sink_.on_chunk(chunk);
      if (!translated) {
        error_ = translator_.error();
        co_return false;
      }
    }
    if (last) co_return true;  // what is left goes out with the end of the stream
    const bool delivered = co_await sink_.flush();
    if (!delivered) {
      client_gone_ = true;
      co_return false;
    }
    co_return true;
  }

  const anthropic::StreamTranslator& translator() const noexcept { return translator_; }

  std::optional<Error> error_;
  bool client_gone_ = false;

 private:
  ChunkSink& sink_;
  ResponseMeta& meta_;
  anthropic::StreamTranslator translator_;
  http::SseReader reader_;
  std::vector<std::string> chunks_;
};

}  // namespace

namespace anthropic {

std::string messages_path(std::string_view base_path, bool count_tokens) {
  std::string_view base = base_path;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.ends_with("/v1/messages")) {
    base.remove_suffix(std::string_view("/messages").size());
  }
  std::string path(base);
  if (!base.ends_with("/v1")) path += "/v1";
  path += count_tokens ? "/messages/count_tokens" : "/messages";
  return path;
}

Result<Recycled<http::ClientRequest>> build_http_request(Call& call, const bj::object& body,
                                                         bool count_tokens, std::string& api_key) {
  const config::Deployment& d = *call.deployment;
  auto origin = origin_for(d);
  if (!origin) return origin.error();
  auto version = string_extra(d, "anthropic_version");
  if (!version) return version.error();
  auto beta = string_extra(d, "anthropic_beta");
  if (!beta) return beta.error();
  call.meta.server_address = origin.value()->host;
  call.meta.server_port = origin.value()->port;

  Recycled<http::ClientRequest> request = Recycled<http::ClientRequest>::take();
  http::ClientRequest& r = *request;
  r.origin = origin.value();
  r.target = messages_path(r.origin->base_path, count_tokens);
  api_key = api_key_for(d);
  if (!api_key.empty()) r.headers.add("x-api-key", api_key);
  r.headers.add("anthropic-version", version->empty() ? std::string_view(kDefaultVersion) : version.value());
  if (!beta->empty()) r.headers.add("anthropic-beta", beta.value());
  r.headers.add("Content-Type", "application/json");
  r.headers.add("Accept", call.stream && !count_tokens ? "text/event-stream" : "application/json");
  for (const http::Header& h : call.upstream_headers) r.headers.add(h.name, h.value);
  json::serialize_into(body, r.body, call.body_bytes);
  r.timeout = call.timeout;
  return request;
}

}  // namespace anthropic

asio::awaitable<Result<Response>> AnthropicProvider::complete(Call& call) {
  auto body = messages_body(call);
  if (!body) co_return body.error();
  std::string api_key;
  auto request = anthropic::build_http_request(call, body.value(), false, api_key);
  if (!request) co_return request.error();
  auto response = co_await http::fetch(*request.value());
  if (!response) co_return response.error();
  const http::ClientResponse& r = response.value();
  call.meta.upstream_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    co_return anthropic::map_error(r.status, r.body, r.header("retry-after"), api_key);
  }
  const anthropic::ResponseOptions options{call.public_model, now_seconds(), call.capture_content};
  auto translated = anthropic::to_openai_response(r.body, options, call.meta);
  if (!translated) co_return translated.error();
  co_return Response{200, std::move(translated.value())};
}

asio::awaitable<Result<bool>> AnthropicProvider::stream(Call& call, ChunkSink& sink) {
  auto body = messages_body(call);
  if (!body) co_return body.error();
  std::string api_key;
  auto request = anthropic::build_http_request(call, body.value(), false, api_key);
  if (!request) co_return request.error();
  const anthropic::StreamTranslator::Options options{call.public_model, now_seconds(), call.include_usage,
                                                     call.capture_content, api_key};
  EventForwarder forwarder(sink, options, call.meta);
  auto response = co_await http::fetch_streaming(*request.value(), forwarder);
  if (forwarder.client_gone_) co_return false;
  if (forwarder.error_) co_return *forwarder.error_;
  if (!response) co_return response.error();
  const http::ClientResponse& r = response.value();
  call.meta.upstream_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    co_return anthropic::map_error(r.status, r.body, r.header("retry-after"), api_key);
  }
  if (auto early_end = forwarder.translator().finish()) co_return *early_end;
  co_return true;
}

asio::awaitable<Result<Response>> AnthropicProvider::count_tokens(Call& call) {
  (*call.body)["model"] = call.deployment->params.provider_model;
  std::string api_key;
  auto request = anthropic::build_http_request(call, *call.body, true, api_key);
  if (!request) co_return request.error();
  auto response = co_await http::fetch(*request.value());
  if (!response) co_return response.error();
  http::ClientResponse& r = response.value();
  call.meta.upstream_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    co_return anthropic::map_error(r.status, r.body, r.header("retry-after"), api_key);
  }
  co_return Response{r.status, std::move(r.body)};
}

}  // namespace sy::providers
