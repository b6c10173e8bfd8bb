// Micro-benchmarks of SSE framing on the streaming path:
//
// - the SSE reader (src/http/sse.h) over one whole upstream stream, the benchmark upstream's 50-chunk OpenAI
//   stream (bench/benchlib/fixtures.py stream(): 50 content chunks, a finish chunk, a usage chunk and [DONE],
//   ~12 KB), fed the way an upstream's bytes arrive: in one piece, in 4 KB reads, and in 1,400-byte pieces
//   (one TCP segment each);
// - the dialects' chunk framing (src/api/dialect.h, chunk_frames then end_frames): every chunk of that stream
//   framed as OpenAI's `data:` events (a copy) and as Anthropic's named events (each chunk parsed and
//   translated), with a dialect per stream as the gateway has one per request.
//
// Each iteration is one whole stream; `per_chunk` is the time per stream chunk. Numbers only: nothing asserts
// a time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/anthropic_dialect.h"
#include "api/dialect.h"
#include "http/sse.h"

namespace sy {
namespace {

constexpr int kContentChunks = 50;
constexpr std::string_view kContent =
    "Hello! This is the fixed answer of the benchmark upstream: the same bytes for every request, so that "
    "the "
    "upstream is never what limits a run.";

// The JSON payloads of the stream, without their SSE framing, in order (no [DONE]).
std::vector<std::string> chunk_payloads() {
  std::vector<std::string_view> words;
  for (std::size_t start = 0; start <= kContent.size();) {
    const std::size_t space = std::min(kContent.find(' ', start), kContent.size());
    words.push_back(kContent.substr(start, space - start));
    start = space + 1;
  }
  static constexpr std::string_view kHead =
      R"({"id":"chatcmpl-bench0001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model",)"
      R"("system_fingerprint":"fp_bench","choices":[)";
  std::vector<std::string> out;
  for (int i = 0; i < kContentChunks; ++i) {
    const std::string word(words[static_cast<std::size_t>(i) % words.size()]);
    const std::string delta =
        i == 0 ? R"({"role":"assistant","content":")" + word + R"( "})" : R"({"content":")" + word + R"( "})";
    out.push_back(std::string(kHead) + R"({"index":0,"delta":)" + delta +
                  R"(,"logprobs":null,"finish_reason":null}]})");
  }
  out.push_back(std::string(kHead) + R"({"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})");
  out.push_back(std::string(kHead) +
                R"(],"usage":{"prompt_tokens":24,"completion_tokens":50,"total_tokens":74}})");
  return out;
}

const std::vector<std::string>& payloads() {
  static const std::vector<std::string> list = chunk_payloads();
  return list;
}

// The stream as the upstream sends it.
const std::string& upstream_stream() {
  static const std::string wire = [] {
    std::string s;
    for (const std::string& p : payloads()) http::append_sse_data(s, p);
    http::append_sse_data(s, "[DONE]");
    return s;
  }();
  return wire;
}

void per_chunk(benchmark::State& state, std::size_t chunks) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * chunks));
  state.counters["per_chunk"] =
      benchmark::Counter(static_cast<double>(chunks),
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// One stream through a fresh reader, `piece` bytes per feed (0: the whole stream at once), the events
// vector cleared before each feed as the OpenAI adapter's forwarder does.
void BM_SseReaderStream(benchmark::State& state) {
  const std::string& wire = upstream_stream();
  const std::size_t piece = state.range(0) == 0 ? wire.size() : static_cast<std::size_t>(state.range(0));
  std::size_t events_seen = 0;
  for (auto _ : state) {
    http::SseReader reader;
    std::vector<http::SseEvent> events;
    events_seen = 0;
    for (std::size_t at = 0; at < wire.size(); at += piece) {
      events.clear();
      if (!reader.feed(std::string_view(wire).substr(at, piece), events)) state.SkipWithError("feed failed");
      events_seen += events.size();
      benchmark::DoNotOptimize(events.data());
    }
  }
  if (events_seen != payloads().size() + 1) state.SkipWithError("wrong number of events");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  per_chunk(state, events_seen);
}

// Every chunk of one stream framed by `dialect`, then the stream's end, into one reused frame buffer (as
// SseChunkSink in src/api/inference.cpp frames each chunk before writing it).
template <typename MakeDialect>
void frame_stream(benchmark::State& state, MakeDialect make) {
  const std::vector<std::string>& chunks = payloads();
  std::string frame;
  std::size_t framed = 0;
  for (auto _ : state) {
    auto dialect = make();
    api::Dialect& d = dialect.get();
    framed = 0;
    for (const std::string& chunk : chunks) {
      frame.clear();
      d.chunk_frames(chunk, frame);
      framed += frame.size();
      benchmark::DoNotOptimize(frame.data());
    }
    frame.clear();
    d.end_frames(frame);
    framed += frame.size();
    benchmark::DoNotOptimize(frame.data());
  }
  state.counters["bytes_out"] = static_cast<double>(framed);
  per_chunk(state, chunks.size());
}

// The OpenAI dialect keeps no state: the gateway shares one instance.
struct SharedOpenAi {
  api::Dialect& get() { return api::openai_dialect(); }
};

// The Anthropic dialect translates the stream and keeps its state: one per request.
struct OwnAnthropic {
  api::anthropic::AnthropicDialect dialect;
  api::Dialect& get() { return dialect; }
};

void BM_OpenAiChunkFrames(benchmark::State& state) {
  frame_stream(state, [] { return SharedOpenAi{}; });
}

void BM_AnthropicChunkFrames(benchmark::State& state) {
  frame_stream(state, [] { return OwnAnthropic{}; });
}

BENCHMARK(BM_SseReaderStream)->ArgName("piece")->Arg(0)->Arg(4096)->Arg(1400);
BENCHMARK(BM_OpenAiChunkFrames);
BENCHMARK(BM_AnthropicChunkFrames);

}  // namespace
}  // namespace sy
