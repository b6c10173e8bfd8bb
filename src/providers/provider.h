// The interface every provider adapter implements: take the client's OpenAI-shaped request for one deployment
// and answer it, whole or as a stream of OpenAI `chat.completion.chunk` payloads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "config/config.h"
#include "http/message.h"
#include "util/error.h"
#include "util/request_body.h"

namespace sy::providers {

enum class Endpoint { chat_completions, completions, embeddings };

// What the gateway learns about an answer while passing it on, for traces and routing: filled by the adapter.
struct ResponseMeta {
  std::string id;
  std::string model;  // as the provider reported it, before the public name replaces it
  std::vector<std::string> finish_reasons;
  std::int64_t prompt_tokens = -1;  // -1: unknown
  std::int64_t completion_tokens = -1;
  std::string completion_text;  // only when Call::capture_content
  std::string server_address;   // network providers only
  int server_port = 0;
  int upstream_status = 0;

  // Empties it for another attempt, keeping what its strings and vector allocated (not a completion text
  // beyond 64 KB).
  void clear() noexcept;
};

// One call of one deployment. `body` is the client's request: its document, parsed once when first asked
// for, which the adapter may rewrite in place; or, while nothing has parsed it, its text (body.unparsed()),
// which an adapter that sends the request on as it is may send with the model value replaced.
struct Call {
  Endpoint endpoint = Endpoint::chat_completions;
  const config::Deployment* deployment = nullptr;
  json::BodyRef body{};
  // The size of the text `body` was parsed from, when known: a hint for serializing it, or what becomes of
  // it.
  std::size_t body_bytes = 0;
  std::string_view public_model;  // the model name the client asked for; responses carry it back
  bool stream = false;
  bool include_usage = false;    // the client asked for stream_options.include_usage
  bool capture_content = false;  // keep the completion text in `meta` (message-content capture is on)
  ResponseMeta meta;
  std::string_view request_id;
  std::chrono::milliseconds timeout{600'000};  // the whole attempt (streams: connect and each wait for bytes)
  http::HeaderList
      upstream_headers;  // added to the upstream request (trace context); storage kept when recycled

  // Empties it for the next request (a recycled Call, util/recycled.h), keeping what it allocated.
  void recycle() noexcept;
};

struct Response {
  int status = 200;
  std::string body;  // JSON, OpenAI-shaped
};

// Receives a stream's payloads as they are decoded, each one an OpenAI chunk object serialized as JSON, and
// passes them to the client in batches. An adapter hands over every chunk it decoded from one upstream read,
// then flushes: the client gets them in one write, and none of them waits for the next read. Chunks taken
// after the last flush go out with the end of the stream, so an adapter need not flush after the upstream's
// last read.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Takes one chunk; it reaches the client at the next flush.
  virtual void on_chunk(std::string_view json) = 0;
  // Sends the chunks taken since the last flush. Returns false when the client is gone: the adapter stops and
  // drops the upstream exchange.
  virtual boost::asio::awaitable<bool> flush() = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual boost::asio::awaitable<Result<Response>> complete(Call& call) = 0;
  // Ends normally (no error) after the last chunk; an error after chunks were sent ends the stream mid-way.
  virtual boost::asio::awaitable<Result<bool>> stream(Call& call, ChunkSink& sink) = 0;
  // Anthropic's token counting (`POST /v1/messages/count_tokens`): `call.body` is the client's
  // Anthropic-shaped request; the answer is Anthropic's `{"input_tokens": N}`. Providers without such an API
  // answer 501 `count_tokens_not_supported` (the default).
  virtual boost::asio::awaitable<Result<Response>> count_tokens(Call& call);
};

// The adapter serving a deployment: the mock when `mock_response` is set, else by its provider prefix.
// Null when no adapter serves that provider (yet).
Provider* provider_for(const config::Deployment& deployment);

// True for provider prefixes that speak OpenAI's wire format.
bool is_openai_compatible(std::string_view provider);

// Rough token estimate (about four characters a token) for usage reports and pre-call checks.
std::int64_t estimate_tokens(std::string_view text);
// The same estimate for a whole request's prompt (messages, prompt or input), at least 1.
std::int64_t estimate_prompt_tokens(Endpoint endpoint, const boost::json::object& body);

}  // namespace sy::providers
