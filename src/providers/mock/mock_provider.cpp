#include "providers/mock/mock_provider.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "util/json.h"
#include "util/random.h"

namespace sy::providers {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t extra_ms(const config::Deployment& d, std::string_view key) {
  const auto* v = d.params.extra.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return std::max<std::int64_t>(0, v->get_int64());
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(std::max(0.0, v->get_double()));
  return 0;
}

asio::awaitable<void> pause(std::int64_t ms) {
  if (ms <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

std::string prompt_text(const Call& call) {
  const bj::object& body = *call.body;
  if (call.endpoint == Endpoint::completions) {
    const bj::value* p = body.if_contains("prompt");
    if (!p) return {};
    if (p->is_string()) return std::string(p->get_string());
    std::string out;
    if (p->is_array()) {
      for (const auto& item : p->get_array()) {
        if (item.is_string()) out.append(item.get_string());
      }
    }
    return out;
  }
  std::string last_user;
  if (const auto* msgs = body.if_contains("messages"); msgs && msgs->is_array()) {
    for (const auto& m : msgs->get_array()) {
      const auto* obj = m.if_object();
      if (!obj) continue;
      const auto* role = obj->if_contains("role");
      const auto* content = obj->if_contains("content");
      if (role && role->is_string() && role->get_string() == "user" && content) {
        last_user = json::content_text(*content);
      }
    }
  }
  return last_user;
}

std::int64_t prompt_tokens(const Call& call) {
  if (call.endpoint == Endpoint::completions)
    return std::max<std::int64_t>(1, estimate_tokens(prompt_text(call)));
  return estimate_prompt_tokens(call.endpoint, *call.body);
}

std::string reply_text(const Call& call) {
  if (call.deployment->params.mock_response) return *call.deployment->params.mock_response;
  return "This is a mock response from Switchyard. You said: " + prompt_text(call);
}

bj::object usage(std::int64_t prompt, std::int64_t completion) {
  return bj::object{
      {"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

// Deterministic unit vector for a text: the same input always maps to the same embedding.
std::vector<float> embed(std::string_view text, std::size_t dims) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  FastRandom rng(h);
  std::vector<float> v(dims);
  double norm = 0;
  for (auto& x : v) {
    x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  for (auto& x : v) x = static_cast<float>(x / norm);
  return v;
}

Result<Response> embeddings(Call& call) {
  const bj::object& body = *call.body;
  std::vector<std::string> inputs;
  const bj::value& input = body.at("input");
  if (input.is_string()) {
    inputs.emplace_back(input.get_string());
  } else if (input.is_array()) {
    for (const auto& item : input.get_array()) {
      if (item.is_string()) {
        inputs.emplace_back(item.get_string());
      } else {
        inputs.push_back(bj::serialize(item));  // token arrays: hash their text form
      }
    }
  }
  std::size_t dims = 16;
  if (const auto* d = body.if_contains("dimensions");
      d && d->is_int64() && d->get_int64() > 0 && d->get_int64() <= 4096) {
    dims = static_cast<std::size_t>(d->get_int64());
  }
  const bool base64 = [&] {
    const auto* f = body.if_contains("encoding_format");
    return f && f->is_string() && f->get_string() == "base64";
  }();
  bj::array data;
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto vec = embed(inputs[i], dims);
    tokens += std::max<std::int64_t>(1, estimate_tokens(inputs[i]));
    bj::value embedding;
    if (base64) {
      std::string bytes(vec.size() * sizeof(float), '\0');
      std::memcpy(bytes.data(), vec.data(), bytes.size());  // little-endian hosts, as the format expects
      embedding = bj::string(json::base64_encode(bytes));
    } else {
      bj::array arr;
      for (float x : vec) arr.push_back(static_cast<double>(x));
      embedding = std::move(arr);
    }
    data.push_back(bj::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  bj::object out{{"object", "list"},
                 {"data", std::move(data)},
                 {"model", call.public_model},
                 {"usage", bj::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  call.meta.model = call.deployment->params.provider_model;
  call.meta.prompt_tokens = tokens;
  call.meta.completion_tokens = 0;
  return Response{200, bj::serialize(out)};
}

// Splits text into word-sized pieces that concatenate back to the original.
std::vector<std::string_view> pieces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ') {
      out.push_back(text.substr(start, i - start));
      start = i;
    }
  }
  return out;
}

void record_meta(Call& call, std::string_view id, std::int64_t prompt, std::int64_t completion,
                 const std::string& text) {
  call.meta.id = std::string(id);
  call.meta.model = call.deployment->params.provider_model;
  call.meta.finish_reasons = {"stop"};
  call.meta.prompt_tokens = prompt;
  call.meta.completion_tokens = completion;
  if (call.capture_content) call.meta.completion_text = text;
}

}  // namespace

asio::awaitable<Result<Response>> MockProvider::complete(Call& call) {
  co_await pause(extra_ms(*call.deployment, "mock_latency_ms"));
  if (call.endpoint == Endpoint::embeddings) co_return embeddings(call);
  const std::string text = reply_text(call);
  const std::int64_t completion = std::max<std::int64_t>(1, estimate_tokens(text));
  bj::object out;
  if (call.endpoint == Endpoint::completions) {
    out = bj::object{
        {"id", "cmpl-" + random_hex_id()},
        {"object", "text_completion"},
        {"created", now_seconds()},
        {"model", call.public_model},
        {"choices", bj::array{bj::object{
                        {"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", "stop"}}}},
        {"usage", usage(prompt_tokens(call), completion)}};
  } else {
    out = bj::object{
        {"id", "chatcmpl-" + random_hex_id()},
        {"object", "chat.completion"},
        {"created", now_seconds()},
        {"model", call.public_model},
        {"choices", bj::array{bj::object{{"index", 0},
                                         {"message", bj::object{{"role", "assistant"}, {"content", text}}},
                                         {"logprobs", nullptr},
                                         {"finish_reason", "stop"}}}},
        {"usage", usage(prompt_tokens(call), completion)}};
  }
  record_meta(call, out.at("id").as_string(), prompt_tokens(call), completion, text);
  co_return Response{200, bj::serialize(out)};
}

asio::awaitable<Result<bool>> MockProvider::stream(Call& call, ChunkSink& sink) {
  if (call.endpoint == Endpoint::embeddings)
    co_return invalid_request("embeddings cannot be streamed", "stream");
  co_await pause(extra_ms(*call.deployment, "mock_latency_ms"));
  const std::int64_t chunk_pause = extra_ms(*call.deployment, "mock_chunk_latency_ms");
  const std::string text = reply_text(call);
  const bool chat = call.endpoint == Endpoint::chat_completions;
  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + random_hex_id();
  const std::int64_t created = now_seconds();
  std::string wire;

  auto emit = [&](bj::object choice, bool last_usage_chunk = false) {
    bj::object chunk{{"id", id},
                     {"object", chat ? "chat.completion.chunk" : "text_completion"},
                     {"created", created},
                     {"model", call.public_model}};
    if (last_usage_chunk) {
      chunk["choices"] = bj::array{};
      chunk["usage"] = usage(prompt_tokens(call), std::max<std::int64_t>(1, estimate_tokens(text)));
    } else {
      chunk["choices"] = bj::array{std::move(choice)};
      if (call.include_usage) chunk["usage"] = nullptr;
    }
    json::serialize_into(chunk, wire);
    sink.on_chunk(wire);
  };
  // A pause between chunks stands for the upstream's pace: the chunks before it are flushed, as an adapter
  // flushes after each read. Without pauses the whole answer is one read, and goes out with the stream's end.
  auto paced = [&]() -> asio::awaitable<bool> {
    if (chunk_pause <= 0) co_return true;
    const bool delivered = co_await sink.flush();
    if (delivered) co_await pause(chunk_pause);
    co_return delivered;
  };

  if (chat) {
    bj::object first{{"index", 0},
                     {"delta", bj::object{{"role", "assistant"}, {"content", ""}}},
                     {"logprobs", nullptr},
                     {"finish_reason", nullptr}};
    emit(std::move(first));
  }
  for (std::string_view piece : pieces(text)) {
    const bool ok = co_await paced();
    if (!ok) co_return false;
    bj::object choice =
        chat ? bj::object{{"index", 0},
                          {"delta", bj::object{{"content", piece}}},
                          {"logprobs", nullptr},
                          {"finish_reason", nullptr}}
             : bj::object{{"index", 0}, {"text", piece}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    emit(std::move(choice));
  }
  bj::object last =
      chat ? bj::object{{"index", 0},
                        {"delta", bj::object{}},
                        {"logprobs", nullptr},
                        {"finish_reason", "stop"}}
           : bj::object{{"index", 0}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", "stop"}};
  emit(std::move(last));
  if (call.include_usage) emit({}, true);
  record_meta(call, id, prompt_tokens(call), std::max<std::int64_t>(1, estimate_tokens(text)), text);
  co_return true;
}

}  // namespace sy::providers
