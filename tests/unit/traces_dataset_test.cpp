// Unit tests for traces-to-dataset: OTLP/JSON exports in the shapes exporters write (one document, JSON
// lines, spans of one request spread over two exports), the join with a feedback file, and the training
// lines.
#include "router/ml/traces_dataset.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "router/ml/predictor.h"

namespace sy::router::ml {
namespace {

namespace bj = boost::json;

// Two requests in one export, as the gateway's OTLP/HTTP JSON exporter sends it: req-1 with the opt-in
// routing text on its route span, req-2 with only the captured prompt (and a retry: two route spans).
constexpr std::string_view kExport1 =
    R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"litellm-gateway"}}]},
 "scopeSpans":[{"scope":{"name":"switchyard"},"spans":[
  {"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"00F067AA0BA902B7","name":"POST /v1/chat/completions","kind":2,
   "attributes":[{"key":"switchyard.request_id","value":{"stringValue":"req-1"}},{"key":"http.response.status_code","value":{"intValue":"200"}}]},
  {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"1111111111111111","parentSpanId":"00f067aa0ba902b7","name":"route","kind":1,
   "attributes":[{"key":"router.attempt","value":{"intValue":"0"}},{"key":"router.routing_text","value":{"stringValue":"what is 2+2"}},
                 {"key":"router.learned_model","value":{"stringValue":"small-model"}},{"key":"router.model_selected","value":{"stringValue":"provider-small"}}]},
  {"traceId":"22222222222222222222222222222222","spanId":"3333333333333333","name":"POST /v1/chat/completions","kind":2,
   "attributes":[{"key":"switchyard.request_id","value":{"stringValue":"req-2"}},
                 {"key":"gen_ai.prompt","value":{"stringValue":"[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"prove Fermat\"}]"}}]},
  {"traceId":"22222222222222222222222222222222","spanId":"4444444444444444","parentSpanId":"3333333333333333","name":"route","kind":1,
   "attributes":[{"key":"router.attempt","value":{"intValue":"0"}},{"key":"router.learned_model","value":{"stringValue":"medium-model"}}]},
  {"traceId":"22222222222222222222222222222222","spanId":"5555555555555555","parentSpanId":"3333333333333333","name":"route","kind":1,
   "attributes":[{"key":"router.attempt","value":{"intValue":"1"}},{"key":"router.learned_model","value":{"stringValue":"large-model"}}]}
 ]}]}]})";

// A collector's file exporter: one document per line. req-3's SERVER span and route span came in different
// batches; req-4 was routed on the same text as req-1.
constexpr std::string_view kExport2 =
    R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"66666666666666666666666666666666","spanId":"7777777777777777","name":"route","kind":"SPAN_KIND_INTERNAL","parentSpanId":"8888888888888888","attributes":[{"key":"router.routing_text","value":{"stringValue":"translate hello"}},{"key":"router.model_selected","value":{"stringValue":"gpt-4o"}}]}]}]}]})"
    "\n"
    R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"66666666666666666666666666666666","spanId":"8888888888888888","name":"POST /v1/chat/completions","kind":"SPAN_KIND_SERVER","attributes":[{"key":"switchyard.request_id","value":{"stringValue":"req-3"}}]},)"
    R"({"traceId":"99999999999999999999999999999999","spanId":"aaaaaaaaaaaaaaaa","name":"POST /v1/chat/completions","kind":2,"attributes":[{"key":"switchyard.request_id","value":{"stringValue":"req-4"}}]},)"
    R"({"traceId":"99999999999999999999999999999999","spanId":"bbbbbbbbbbbbbbbb","parentSpanId":"aaaaaaaaaaaaaaaa","name":"route","kind":1,"attributes":[{"key":"router.routing_text","value":{"stringValue":"what is 2+2"}},{"key":"router.learned_model","value":{"stringValue":"large-model"}}]},)"
    R"({"traceId":"cccccccccccccccccccccccccccccccc","spanId":"dddddddddddddddd","name":"POST /v1/chat/completions","kind":2,"attributes":[{"key":"switchyard.request_id","value":{"stringValue":"req-5"}}]}]}]}]})"
    "\n";

std::vector<bj::object> lines(const std::string& text) {
  std::vector<bj::object> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    out.push_back(bj::parse(text.substr(start, end - start)).as_object());
    start = end + 1;
  }
  return out;
}

TEST(TraceIndex, JoinsServerAndRouteSpansAcrossExports) {
  TraceIndex index;
  ASSERT_FALSE(index.add(kExport1, "a.json"));
  ASSERT_FALSE(index.add(kExport2, "b.jsonl"));
  EXPECT_EQ(index.spans(), 10u);
  const auto requests = index.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests.at("req-1").query, "what is 2+2");
  EXPECT_EQ(requests.at("req-1").model, "small-model") << "router.learned_model before router.model_selected";
  // The captured prompt gives the same text the router computes from the request.
  bj::object body;
  body["messages"] =
      bj::parse(R"([{"role":"system","content":"be brief"},{"role":"user","content":"prove Fermat"}])");
  std::string expected;
  routing_text(body, expected);
  EXPECT_EQ(requests.at("req-2").query, expected);
  EXPECT_EQ(requests.at("req-2").model, "large-model") << "the last attempt's route span";
  EXPECT_EQ(requests.at("req-3").query, "translate hello");
  EXPECT_EQ(requests.at("req-3").model, "gpt-4o");
  EXPECT_TRUE(requests.at("req-5").query.empty());
}

TEST(TraceIndex, RejectsWhatIsNotOtlpJson) {
  TraceIndex index;
  auto e = index.add("{\"resourceSpans\": [", "broken.json");
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("broken.json"), std::string::npos) << e->message;
  EXPECT_TRUE(index.add(R"({"foo": 1})", "other.json"));
  EXPECT_FALSE(index.add("\n  \n", "empty.json")) << "an empty export is no error";
  EXPECT_FALSE(index.add(R"([{"resourceSpans": []}])", "array.json"));
}

TEST(Feedback, ParsesLinesAndNamesTheBadOne) {
  auto ok = parse_feedback(
      "{\"request_id\":\"a\",\"model\":\"m\",\"score\":1}\n\n{\"request_id\":\"b\",\"score\":0.5}\n",
      "f.jsonl");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok.value().size(), 2u);
  EXPECT_EQ(ok.value()[1].model, "");
  EXPECT_EQ(ok.value()[1].score, 0.5);
  for (std::string_view bad : {R"({"request_id":"a","score":2})", R"({"score":1})", R"({"request_id":"a"})",
                               R"({"request_id":"a","model":3,"score":1})", "not json"}) {
    auto r = parse_feedback("{\"request_id\":\"x\",\"score\":0}\n" + std::string(bad), "f.jsonl");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("f.jsonl: line 2"), std::string::npos) << r.error().message;
  }
}

// Feedback on the exports above: three models scored for "what is 2+2" (req-1 twice for small-model, req-4 on
// the same text), one model for the others, and ids the traces do not know or that carry no routing text.
std::string feedback_jsonl() {
  return R"({"request_id":"req-1","model":"small-model","score":1}
{"request_id":"req-1","model":"medium-model","score":0}
{"request_id":"req-4","score":0}
{"request_id":"req-1","model":"small-model","score":0}
{"request_id":"req-2","score":1}
{"request_id":"req-3","score":0.25}
{"request_id":"req-5","score":1}
{"request_id":"req-404","score":1}
)";
}

std::string dataset_of(const DatasetOptions& options, DatasetSummary& summary) {
  TraceIndex index;
  EXPECT_FALSE(index.add(kExport1, "a.json"));
  EXPECT_FALSE(index.add(kExport2, "b.jsonl"));
  auto feedback = parse_feedback(feedback_jsonl(), "f.jsonl");
  EXPECT_TRUE(feedback);
  return build_dataset(index.requests(), feedback.value(), options, summary);
}

TEST(BuildDataset, MergesModelsPerQueryAndAveragesRepeats) {
  DatasetOptions options;
  options.partial = true;
  DatasetSummary summary;
  const std::string out = dataset_of(options, summary);
  const auto l = lines(out);
  ASSERT_EQ(l.size(), 3u) << out;
  EXPECT_EQ(l[0].at("query").as_string(), "what is 2+2");
  EXPECT_EQ(l[0].at("scores"), bj::parse(R"({"small-model":0.5,"medium-model":0.0,"large-model":0.0})"));
  EXPECT_EQ(l[1].at("scores"), bj::parse(R"({"large-model":1.0})"));
  EXPECT_EQ(l[2].at("query").as_string(), "translate hello");
  EXPECT_EQ(l[2].at("scores"), bj::parse(R"({"gpt-4o":0.25})"));
  EXPECT_EQ(summary.feedback, 8u);
  EXPECT_EQ(summary.joined, 6u);
  EXPECT_EQ(summary.unmatched, 1u);
  EXPECT_EQ(summary.without_text, 1u);
  EXPECT_EQ(summary.incomplete, 0u);
  EXPECT_EQ(summary.queries, 3u);
}

TEST(BuildDataset, ByDefaultOnlyQueriesScoredForEveryModel) {
  // Every model the feedback names: small, medium, large and gpt-4o. No query has all four.
  DatasetSummary summary;
  EXPECT_EQ(dataset_of({}, summary), "");
  EXPECT_EQ(summary.incomplete, 3u);
  EXPECT_EQ(summary.queries, 0u);
}

TEST(BuildDataset, TheModelsFileSaysWhichModelsALineScores) {
  DatasetOptions options;
  options.models = {"large-model", "medium-model", "small-model"};
  DatasetSummary summary;
  const auto l = lines(dataset_of(options, summary));
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].at("query").as_string(), "what is 2+2");
  EXPECT_EQ(l[0].at("scores"), bj::parse(R"({"large-model":0.0,"medium-model":0.0,"small-model":0.5})"));
  EXPECT_EQ(summary.incomplete, 2u);

  options.partial = true;  // partial lines keep only the listed models
  DatasetSummary partial;
  const auto p = lines(dataset_of(options, partial));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1].at("scores"), bj::parse(R"({"large-model":1.0})"));
  EXPECT_EQ(partial.incomplete, 1u) << "translate hello scores only gpt-4o, which the file does not list";
}

}  // namespace
}  // namespace sy::router::ml
