// Unit tests for the GenAI request attributes a SERVER span gets from the request body
// (api/trace_attributes.h): which body members become which attributes, with which types. Spans reach a
// recording exporter through a real BatchSpanProcessor, flushed by shutting it down.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "api/trace_attributes.h"
#include "telemetry/batch_processor.h"
#include "telemetry/tracer.h"

namespace sy::api {
namespace {

using namespace std::chrono_literals;
using telemetry::AttributeValue;
using telemetry::SpanData;

class Collect final : public telemetry::SpanExporter {
 public:
  explicit Collect(std::vector<SpanData>& out) : out_(out) {}
  telemetry::ExportResult export_spans(telemetry::SpanBatch spans, const telemetry::Resource&,
                                       const telemetry::InstrumentationScope&) noexcept override {
    std::lock_guard lock(m_);
    out_.insert(out_.end(), spans.begin(), spans.end());
    return telemetry::ExportResult::success;
  }
  std::string_view name() const noexcept override { return "collect"; }

 private:
  std::mutex m_;
  std::vector<SpanData>& out_;
};

// The attributes record_request sets for this body, by key.
std::vector<std::pair<std::string, AttributeValue>> request_attributes(std::string_view body,
                                                                       providers::Endpoint endpoint) {
  std::vector<SpanData> spans;
  telemetry::BatchSettings settings;
  settings.schedule_delay = 60000ms;
  auto processor = std::make_shared<telemetry::BatchSpanProcessor>(
      settings, std::make_unique<Collect>(spans), telemetry::Resource{}, telemetry::InstrumentationScope{});
  telemetry::Tracer tracer(telemetry::Sampler(), telemetry::IdGenerator(), telemetry::SpanLimits(),
                           processor);
  {
    telemetry::Span span = tracer.start_span("POST", telemetry::SpanKind::server, telemetry::SpanContext{});
    record_request(span, endpoint, boost::json::parse(body).as_object(), "public-model", false);
  }
  processor->shutdown(5000ms);
  std::vector<std::pair<std::string, AttributeValue>> out;
  if (spans.size() != 1) return out;
  for (const telemetry::Attribute& a : spans[0].attributes) out.emplace_back(a.key.view(), a.value);
  return out;
}

const AttributeValue* find(const std::vector<std::pair<std::string, AttributeValue>>& attributes,
                           std::string_view key) {
  for (const auto& [k, v] : attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

TEST(TraceAttributes, RequestParametersBecomeTypedGenAiAttributes) {
  const auto a = request_attributes(
      R"({"model":"m","messages":[],"max_tokens":64,"temperature":0.5,"top_p":1,"stream":true})",
      providers::Endpoint::chat_completions);
  ASSERT_NE(find(a, "gen_ai.request.max_tokens"), nullptr);
  EXPECT_EQ(std::get<std::int64_t>(*find(a, "gen_ai.request.max_tokens")), 64);
  EXPECT_EQ(std::get<double>(*find(a, "gen_ai.request.temperature")), 0.5);
  EXPECT_EQ(std::get<double>(*find(a, "gen_ai.request.top_p")), 1.0)
      << "an integer given where a double goes";
  EXPECT_EQ(std::get<bool>(*find(a, "gen_ai.request.stream")), true);
  EXPECT_EQ(std::get<std::string>(*find(a, "gen_ai.request.model")), "public-model");
  EXPECT_EQ(std::get<std::string>(*find(a, "gen_ai.operation.name")), "chat");
}

TEST(TraceAttributes, MaxCompletionTokensWinsWhereverItStands) {
  for (const char* body : {R"({"max_completion_tokens":20,"max_tokens":10})",
                           R"({"max_tokens":10,"max_completion_tokens":20})"}) {
    const auto a = request_attributes(body, providers::Endpoint::chat_completions);
    ASSERT_NE(find(a, "gen_ai.request.max_tokens"), nullptr) << body;
    EXPECT_EQ(std::get<std::int64_t>(*find(a, "gen_ai.request.max_tokens")), 20) << body;
  }
}

TEST(TraceAttributes, AbsentOrMistypedParametersAreLeftOut) {
  const auto a = request_attributes(R"({"temperature":"hot","top_p":null,"max_tokens":1.5,"stream":"yes"})",
                                    providers::Endpoint::chat_completions);
  EXPECT_EQ(find(a, "gen_ai.request.temperature"), nullptr);
  EXPECT_EQ(find(a, "gen_ai.request.top_p"), nullptr);
  EXPECT_EQ(find(a, "gen_ai.request.max_tokens"), nullptr);
  ASSERT_NE(find(a, "gen_ai.request.stream"), nullptr);
  EXPECT_EQ(std::get<bool>(*find(a, "gen_ai.request.stream")), false)
      << "stream is true only when it is true";
  // Embeddings have no stream.
  const auto e = request_attributes(R"({"input":"x","model":"m"})", providers::Endpoint::embeddings);
  EXPECT_EQ(find(e, "gen_ai.request.stream"), nullptr);
  EXPECT_EQ(std::get<std::string>(*find(e, "gen_ai.operation.name")), "embeddings");
}

}  // namespace
}  // namespace sy::api
