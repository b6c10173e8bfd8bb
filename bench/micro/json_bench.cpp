// Micro-benchmarks of the JSON work on the hot path of POST /v1/chat/completions, done the way
// handle_inference (src/api/inference.cpp) and the OpenAI adapter (src/providers/openai/) do it:
//
// - the request front half: Boost.JSON parse into a per-request monotonic arena with json::parse_options(),
//   the dialect's translate_request, validate_request, the model name taken out and looked up in the router;
// - the upstream request: `model` set to the deployment's model and the body serialised with
//   json::serialize_into;
// - the answer: the upstream's non-stream completion parsed into a stack arena, `model` set to the public
//   name and serialised again (what the adapter does to every response today);
// - an Anthropic Messages request translated to the OpenAI shape (the /v1/messages front half).
//
// Two request sizes: ~400 bytes (one system and one user message) and ~8 KB (a tool definition and a
// nine-message conversation). Numbers only: nothing asserts a time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "api/anthropic_dialect.h"
#include "api/dialect.h"
#include "api/inference.h"
#include "config/config.h"
#include "providers/openai/chunk_rewriter.h"
#include "router/router.h"
#include "util/json.h"

namespace sy {
namespace {

namespace bj = boost::json;

// Text of about `bytes` bytes, with the escapes real prompts carry (newlines, quotes).
std::string prose(std::size_t bytes) {
  static constexpr std::string_view kSentence =
      "The service keeps a \"hot\" cache of recent answers; when a key misses, it asks the origin and stores "
      "the result for five minutes.\n";
  std::string out;
  while (out.size() < bytes) out.append(kSentence);
  out.resize(bytes);
  return out;
}

std::string small_request() {
  const bj::object body{
      {"model", "gpt-4o-mini"},
      {"messages",
       bj::array{bj::object{{"role", "system"},
                            {"content",
                             "You are a helpful assistant that answers briefly and names its sources "
                             "when it can."}},
                 bj::object{{"role", "user"},
                            {"content",
                             "What is the capital of Australia, and why was it chosen over Sydney and "
                             "Melbourne? Answer in two sentences."}}}},
      {"max_tokens", 256},
      {"temperature", 0.7},
      {"top_p", 1},
      {"stream", false},
      {"user", "user-8f3a2c"}};
  return bj::serialize(body);
}

std::string large_request() {
  bj::array messages;
  messages.push_back(bj::object{{"role", "system"}, {"content", prose(700)}});
  for (int turn = 0; turn < 4; ++turn) {
    messages.push_back(bj::object{{"role", "user"}, {"content", prose(650)}});
    messages.push_back(bj::object{{"role", "assistant"}, {"content", prose(900)}});
  }
  messages.push_back(bj::object{
      {"role", "user"},
      {"content",
       bj::array{bj::object{{"type", "text"}, {"text", prose(500)}},
                 bj::object{{"type", "text"}, {"text", "Summarise the above in three bullet points."}}}}});
  const bj::object cache_tool{
      {"type", "function"},
      {"function",
       bj::object{
           {"name", "get_cache_stats"},
           {"description", "Hit rate, size and evictions of one cache, over a time window."},
           {"parameters",
            bj::object{
                {"type", "object"},
                {"properties",
                 bj::object{
                     {"cache", bj::object{{"type", "string"}, {"description", "cache name"}}},
                     {"window_minutes", bj::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 1440}}},
                     {"detail", bj::object{{"type", "string"}, {"enum", bj::array{"summary", "full"}}}}}},
                {"required", bj::array{"cache"}}}}}}};
  const bj::object body{{"model", "gpt-4o-mini"},
                        {"messages", std::move(messages)},
                        {"tools", bj::array{cache_tool}},
                        {"tool_choice", "auto"},
                        {"max_tokens", 1024},
                        {"temperature", 0.2},
                        {"stream", false},
                        {"user", "user-8f3a2c"}};
  return bj::serialize(body);
}

// The benchmark upstream's answer (bench/benchlib/fixtures.py completion()), ~450 bytes.
std::string completion() {
  return R"({"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"bench-model",)"
         R"("system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":)"
         R"("Hello! This is the fixed answer of the benchmark upstream: the same bytes for every request, so )"
         R"(that the upstream is never what limits a run."},"logprobs":null,"finish_reason":"stop"}],)"
         R"("usage":{"prompt_tokens":24,"completion_tokens":31,"total_tokens":55}})";
}

enum class Size { small, large };

const std::string& request_of(Size size) {
  static const std::string small = small_request();
  static const std::string large = large_request();
  return size == Size::small ? small : large;
}

// Ten model groups of one deployment each, "gpt-4o-mini" among them.
const router::Router& gateway_router() {
  static const router::Router router = [] {
    static const char* const kModels[] = {"gpt-4o",  "gpt-4o-mini",   "gpt-4.1", "gpt-4.1-mini",   "o3-mini",
                                          "o4-mini", "gpt-3.5-turbo", "claude",  "text-embedding", "llama"};
    std::vector<config::Deployment> list;
    for (const char* model : kModels) {
      config::Deployment d;
      d.model_name = model;
      d.params.provider = "openai";
      d.params.provider_model = std::string(model) + "-2024";
      d.params.model = "openai/" + d.params.provider_model;
      d.info.id = model;
      list.push_back(std::move(d));
    }
    return router::Router(list, config::RouterSettings{});
  }();
  return router;
}

void set_bytes(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

// Parse only: the arena handle_inference sizes from the body, and the gateway's parse options.
void BM_RequestParse(benchmark::State& state, Size size) {
  const std::string& body = request_of(size);
  for (auto _ : state) {
    bj::monotonic_resource arena(std::max<std::size_t>(1024, body.size() * 2));
    boost::system::error_code ec;
    bj::value parsed = bj::parse(body, ec, &arena, json::parse_options());
    benchmark::DoNotOptimize(parsed);
    if (ec) state.SkipWithError("parse failed");
  }
  set_bytes(state, body.size());
}

// Everything handle_inference does with the body before routing: parse, the OpenAI dialect's
// translate_request, validate_request, the public model copied out, and the model group looked up.
void BM_RequestParseValidateLookup(benchmark::State& state, Size size) {
  const std::string& body = request_of(size);
  const router::Router& router = gateway_router();
  api::Dialect& dialect = api::openai_dialect();
  for (auto _ : state) {
    bj::monotonic_resource arena(std::max<std::size_t>(1024, body.size() * 2));
    boost::system::error_code ec;
    bj::value parsed = bj::parse(body, ec, &arena, json::parse_options());
    if (ec || !parsed.is_object() || dialect.translate_request(parsed) ||
        api::validate_request(providers::Endpoint::chat_completions, parsed.as_object())) {
      state.SkipWithError("the request was refused");
      break;
    }
    const std::string public_model(parsed.as_object().at("model").get_string());
    const router::ModelGroup* group = router.group(public_model);
    benchmark::DoNotOptimize(group);
  }
  set_bytes(state, body.size());
}

// The upstream request body: `model` rewritten in the parsed request, then serialised (json::serialize_into
// into a reused string, as the adapter's request body is).
void BM_UpstreamRequestSerialize(benchmark::State& state, Size size) {
  const std::string& body = request_of(size);
  bj::monotonic_resource arena;
  boost::system::error_code ec;
  bj::value parsed = bj::parse(body, ec, &arena, json::parse_options());
  bj::object& object = parsed.as_object();
  std::string out;
  for (auto _ : state) {
    object["model"] = "gpt-4o-mini-2024";
    json::serialize_into(parsed, out);
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, out.size());
}

// A whole non-stream answer as the OpenAI adapter passed it on before it scanned answers: parsed into an 8 KB
// stack arena, its usage and finish reason read, `model` set to the public name, serialised again.
void BM_ResponseModelRewrite(benchmark::State& state) {
  const std::string body = completion();
  std::string out;
  for (auto _ : state) {
    unsigned char buffer[8192];
    bj::monotonic_resource mr(buffer, sizeof buffer);
    boost::system::error_code ec;
    bj::value v = bj::parse(body, ec, &mr, json::parse_options());
    bj::object& doc = v.as_object();
    const auto* usage = doc.at("usage").if_object();
    benchmark::DoNotOptimize(usage->if_contains("completion_tokens"));
    benchmark::DoNotOptimize(doc.at("choices").as_array()[0].as_object().if_contains("finish_reason"));
    if (auto* m = doc.if_contains("model")) *m = "gpt-4o-mini";
    json::serialize_into(v, out);
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, body.size());
}

// The same answer as the OpenAI adapter passes it on now (providers/openai/chunk_rewriter.h, document
// framing): scanned, id, model, finish reason and token counts noted from the scan, the public name spliced
// in.
void BM_ResponseModelScan(benchmark::State& state) {
  const std::string body = completion();
  std::string out;
  for (auto _ : state) {
    providers::ResponseMeta meta;
    providers::openai::ChunkRewriter rewriter({"gpt-4o-mini", &meta, false, false},
                                              providers::openai::Framing::document);
    benchmark::DoNotOptimize(rewriter.rewrite(body, out));
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(meta.completion_tokens);
  }
  set_bytes(state, body.size());
}

// POST /v1/messages: the Anthropic dialect (one per request) turns a small Messages request into the OpenAI
// shape in the request's arena, then the same validation as above.
void BM_AnthropicRequestTranslate(benchmark::State& state) {
  const std::string body =
      R"({"model":"claude-sonnet-4","max_tokens":256,"system":"You are a helpful assistant that answers )"
      R"(briefly.","messages":[{"role":"user","content":[{"type":"text","text":"What is the capital of )"
      R"(Australia, and why was it chosen over Sydney and Melbourne? Answer in two sentences."}]}],)"
      R"("temperature":0.7,"stop_sequences":["\n\nHuman:"]})";
  for (auto _ : state) {
    bj::monotonic_resource arena(std::max<std::size_t>(1024, body.size() * 2));
    boost::system::error_code ec;
    bj::value parsed = bj::parse(body, ec, &arena, json::parse_options());
    api::anthropic::AnthropicDialect dialect;
    if (ec || dialect.translate_request(parsed) ||
        api::validate_request(providers::Endpoint::chat_completions, parsed.as_object())) {
      state.SkipWithError("the request was refused");
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
  set_bytes(state, body.size());
}

BENCHMARK_CAPTURE(BM_RequestParse, small, Size::small);
BENCHMARK_CAPTURE(BM_RequestParse, large, Size::large);
BENCHMARK_CAPTURE(BM_RequestParseValidateLookup, small, Size::small);
BENCHMARK_CAPTURE(BM_RequestParseValidateLookup, large, Size::large);
BENCHMARK_CAPTURE(BM_UpstreamRequestSerialize, small, Size::small);
BENCHMARK_CAPTURE(BM_UpstreamRequestSerialize, large, Size::large);
BENCHMARK(BM_ResponseModelRewrite);
BENCHMARK(BM_ResponseModelScan);
BENCHMARK(BM_AnthropicRequestTranslate);

}  // namespace
}  // namespace sy
