// Micro-benchmarks of tracing's cost per span: encoding a batch of 512 typical gateway spans (the SERVER,
// route and CLIENT spans of chat requests, with the attributes src/api records) as OTLP protobuf, by the
// direct encoder and by the message-object encoder it replaced (tests/unit/otlp_reference_encoder.h), and as
// OTLP/JSON; and recording those three spans through the Span API. Numbers only: nothing asserts a time.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "otlp_reference_encoder.h"
#include "telemetry/batch_processor.h"
#include "telemetry/otlp_encoding.h"
#include "telemetry/tracer.h"

namespace sy::telemetry {
namespace {

constexpr std::size_t kBatch = 512;  // OTEL_BSP_MAX_EXPORT_BATCH_SIZE's default

// The attributes src/api/api.cpp, inference.cpp and trace_attributes.cpp set on a successful, non-streamed
// chat request, with values of typical lengths.
void record_server(Span& s) {
  s.set_attribute("http.request.method", "POST");
  s.set_attribute("url.path", "/v1/chat/completions");
  s.set_attribute("user_agent.original", "OpenAI/Python 1.54.4");
  s.set_attribute("server.port", std::int64_t{4000});
  s.set_attribute("gen_ai.operation.name", "chat");
  s.set_attribute("gen_ai.request.model", "gpt-4o-mini");
  s.set_attribute("gen_ai.request.max_tokens", std::int64_t{256});
  s.set_attribute("gen_ai.request.temperature", 0.7);
  s.set_attribute("gen_ai.request.stream", false);
  s.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18");
  s.set_attribute("gen_ai.response.id", "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
  s.set_attribute("gen_ai.response.finish_reasons", std::vector<std::string>{"stop"});
  s.set_attribute("gen_ai.usage.input_tokens", std::int64_t{42});
  s.set_attribute("gen_ai.usage.output_tokens", std::int64_t{17});
  s.set_attribute("llm.model", "gpt-4o-mini");
  s.set_attribute("llm.provider", "openai");
  s.set_attribute("gen_ai.provider.name", "openai");
  s.set_attribute("gen_ai.system", "openai");
  s.set_attribute("llm.tokens.prompt", std::int64_t{42});
  s.set_attribute("llm.tokens.completion", std::int64_t{17});
  s.set_attribute("router.attempts", std::int64_t{1});
  s.set_attribute("router.retries", std::int64_t{0});
  s.set_attribute("router.fallbacks", std::int64_t{0});
  s.set_attribute("http.response.status_code", 200);
  s.set_attribute("http.status_code", 200);
}

void record_route(Span& s) {
  s.set_attribute("router.strategy", "simple-shuffle");
  s.set_attribute("router.model_group", "gpt-4o-mini");
  s.set_attribute("router.candidates_evaluated", std::int64_t{2});
  s.set_attribute("router.decision_reason", "weighted_random");
  s.set_attribute("router.attempt", std::int64_t{0});
  s.set_attribute("router.model_selected", "gpt-4o-mini");
  s.set_attribute("router.deployment_id", "3f9c2a7e41b05d86");
  s.set_attribute("router.latency_ms", 0.0123);
}

void record_client(Span& s) {
  s.set_attribute("gen_ai.request.max_tokens", std::int64_t{256});
  s.set_attribute("gen_ai.request.temperature", 0.7);
  s.set_attribute("gen_ai.request.stream", false);
  s.set_attribute("gen_ai.operation.name", "chat");
  s.set_attribute("gen_ai.provider.name", "openai");
  s.set_attribute("gen_ai.system", "openai");
  s.set_attribute("gen_ai.request.model", "gpt-4o-mini");
  s.set_attribute("switchyard.deployment.id", "3f9c2a7e41b05d86");
  s.set_attribute("switchyard.attempt", std::int64_t{0});
  s.set_attribute("router.model_group", "gpt-4o-mini");
  s.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18");
  s.set_attribute("gen_ai.response.id", "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
  s.set_attribute("gen_ai.response.finish_reasons", std::vector<std::string>{"stop"});
  s.set_attribute("gen_ai.usage.input_tokens", std::int64_t{42});
  s.set_attribute("gen_ai.usage.output_tokens", std::int64_t{17});
  s.set_attribute("server.address", "api.openai.com");
  s.set_attribute("server.port", std::int64_t{443});
  s.set_attribute("http.response.status_code", std::int64_t{200});
}

// The three spans of one request, recorded through the Span API.
void record_request(const Tracer& tracer, const SpanContext& caller) {
  Span server = tracer.start_span("POST /v1/chat/completions", SpanKind::server, caller);
  record_server(server);
  {
    Span route = tracer.start_span("route", SpanKind::internal, server.context());
    record_route(route);
  }
  {
    Span client = tracer.start_span("chat gpt-4o-mini", SpanKind::client, server.context());
    record_client(client);
  }
}

class CollectingExporter final : public SpanExporter {
 public:
  explicit CollectingExporter(std::vector<SpanData>& out) : out_(out) {}
  ExportResult export_spans(SpanBatch spans, const Resource&, const InstrumentationScope&) noexcept override {
    out_.insert(out_.end(), spans.begin(), spans.end());
    return ExportResult::success;
  }
  std::string_view name() const noexcept override { return "collecting"; }

 private:
  std::vector<SpanData>& out_;
};

class NullExporter final : public SpanExporter {
 public:
  ExportResult export_spans(SpanBatch, const Resource&, const InstrumentationScope&) noexcept override {
    return ExportResult::success;
  }
  std::string_view name() const noexcept override { return "null"; }
};

SpanContext caller_context() {
  SpanContext c;
  c.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  c.span_id = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  c.flags = 1;
  c.remote = true;
  return c;
}

// 512 spans as the gateway records them: SERVER, route and CLIENT spans of successive requests.
const std::vector<SpanData>& gateway_batch() {
  static const std::vector<SpanData> batch = [] {
    std::vector<SpanData> spans;
    BatchSettings settings;
    settings.max_queue_size = 2 * kBatch;
    settings.max_export_batch_size = 2 * kBatch;
    auto processor = std::make_shared<BatchSpanProcessor>(
        settings, std::make_unique<CollectingExporter>(spans), Resource{}, InstrumentationScope{});
    const Tracer tracer(Sampler(), IdGenerator(), SpanLimits(), processor);
    for (std::size_t i = 0; i < kBatch / 3 + 1; ++i) record_request(tracer, caller_context());
    processor->shutdown(std::chrono::seconds(10));
    spans.resize(kBatch);
    return spans;
  }();
  return batch;
}

Resource gateway_resource() {
  return Resource{{{"service.name", std::string("litellm-gateway")},
                   {"service.version", std::string("0.1.0")},
                   {"telemetry.sdk.name", std::string("switchyard")},
                   {"telemetry.sdk.language", std::string("cpp")},
                   {"telemetry.sdk.version", std::string("0.1.0")},
                   {"host.name", std::string("gateway-7d9f8c6b5-x2k4q")},
                   {"process.pid", std::int64_t{4242}}}};
}

// CPU time per span (shown as e.g. "219.3ns"), and spans per second.
void per_span(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.counters["per_span"] =
      benchmark::Counter(static_cast<double>(kBatch),
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_EncodeProtobufDirect(benchmark::State& state) {
  const auto& spans = gateway_batch();
  const Resource resource = gateway_resource();
  const InstrumentationScope scope{"switchyard", "0.1.0"};
  EncodeBuffer buffer;  // reused from batch to batch, as the exporters do
  for (auto _ : state) {
    encode_traces_protobuf(spans, resource, scope, buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  per_span(state);
  state.counters["bytes_per_span"] = static_cast<double>(buffer.size()) / kBatch;
}
BENCHMARK(BM_EncodeProtobufDirect);

void BM_EncodeProtobufMessageObjects(benchmark::State& state) {
  const auto& spans = gateway_batch();
  const Resource resource = gateway_resource();
  const InstrumentationScope scope{"switchyard", "0.1.0"};
  std::size_t size = 0;
  for (auto _ : state) {
    const std::string bytes = reference::encode_traces_protobuf(spans, resource, scope);
    size = bytes.size();
    benchmark::DoNotOptimize(bytes.data());
  }
  per_span(state);
  state.counters["bytes_per_span"] = static_cast<double>(size) / kBatch;
}
BENCHMARK(BM_EncodeProtobufMessageObjects);

void BM_EncodeJson(benchmark::State& state) {
  const auto& spans = gateway_batch();
  const Resource resource = gateway_resource();
  const InstrumentationScope scope{"switchyard", "0.1.0"};
  std::size_t size = 0;
  for (auto _ : state) {
    const std::string text = encode_traces_json(spans, resource, scope);
    size = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  per_span(state);
  state.counters["bytes_per_span"] = static_cast<double>(size) / kBatch;
}
BENCHMARK(BM_EncodeJson);

// The request thread's side: start, fill and end the three spans of a request (the export thread runs as in
// the gateway, with an exporter that sends nothing).
void BM_RecordRequestSpans(benchmark::State& state) {
  BatchSettings settings;
  settings.max_queue_size =
      1 << 16;  // room for the bursts of a tight loop: what is measured is the recording
  auto processor = std::make_shared<BatchSpanProcessor>(settings, std::make_unique<NullExporter>(),
                                                        Resource{}, InstrumentationScope{});
  const Tracer tracer(Sampler(), IdGenerator(), SpanLimits(), processor);
  const SpanContext caller = caller_context();
  for (auto _ : state) record_request(tracer, caller);
  processor->shutdown(std::chrono::seconds(10));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));  // requests
  state.counters["per_request"] =
      benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["dropped_spans"] = static_cast<double>(processor->dropped());
}
BENCHMARK(BM_RecordRequestSpans);

}  // namespace
}  // namespace sy::telemetry
