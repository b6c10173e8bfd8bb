// Unit tests for the Anthropic translation: OpenAI chat requests to Messages requests, Messages responses and
// stream events to OpenAI's shapes (events fed one by one and split across reads anywhere), error mapping and
// secret scrubbing. Fixtures follow the examples of Anthropic's Messages, streaming and errors references.
#include "providers/anthropic/translate.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace sy::providers::anthropic {
namespace {

namespace bj = boost::json;

constexpr std::string_view kModel = "claude-3-5-haiku-20241022";
constexpr std::string_view kSecret = "sk-ant-api03-SECRET-0123456789";

bj::object obj(std::string_view json) {
  return bj::parse(json).as_object();
}

bj::object translate(std::string_view openai, std::int64_t default_max_tokens = kDefaultMaxTokens) {
  auto r = to_anthropic_request(obj(openai), RequestOptions{kModel, default_max_tokens});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_json());
  return r.ok() ? r.value() : bj::object();
}

Error translate_error(std::string_view openai) {
  auto r = to_anthropic_request(obj(openai), RequestOptions{kModel});
  EXPECT_FALSE(r.ok()) << "translated to " << (r.ok() ? bj::serialize(r.value()) : "");
  return r.ok() ? Error{} : r.error();
}

void expect_json(const bj::value& actual, std::string_view expected) {
  EXPECT_EQ(actual, bj::parse(expected))
      << "actual:   " << bj::serialize(actual) << "\nexpected: " << expected;
}

void expect_400(const Error& e, std::string_view param, std::string_view fragment = {}) {
  EXPECT_EQ(e.status, 400) << e.to_json();
  EXPECT_EQ(e.type, "invalid_request_error") << e.to_json();
  EXPECT_EQ(e.param, param) << e.to_json();
  EXPECT_FALSE(e.message.empty());
  if (!fragment.empty()) {
    EXPECT_NE(e.message.find(fragment), std::string::npos) << e.message;
  }
}

// ---- requests ----

TEST(AnthropicRequestTest, MinimalRequestGetsModelAndDefaultMaxTokens) {
  const bj::object out =
      translate(R"({"model":"claude-haiku","messages":[{"role":"user","content":"Hello"}]})");
  expect_json(out, R"({"model":"claude-3-5-haiku-20241022","max_tokens":4096,
                       "messages":[{"role":"user","content":"Hello"}]})");
}

TEST(AnthropicRequestTest, DefaultMaxTokensConfigurable) {
  const bj::object out = translate(R"({"model":"m","messages":[{"role":"user","content":"Hi"}]})", 1024);
  EXPECT_EQ(out.at("max_tokens"), bj::value(1024));
}

TEST(AnthropicRequestTest, MaxTokensAndMaxCompletionTokens) {
  EXPECT_EQ(translate(R"({"model":"m","max_tokens":300,"messages":[{"role":"user","content":"x"}]})")
                .at("max_tokens"),
            bj::value(300));
  // max_completion_tokens wins: it is the newer name of the same limit.
  EXPECT_EQ(translate(R"({"model":"m","max_tokens":300,"max_completion_tokens":200,
                          "messages":[{"role":"user","content":"x"}]})")
                .at("max_tokens"),
            bj::value(200));
  EXPECT_EQ(translate(R"({"model":"m","max_tokens":null,"messages":[{"role":"user","content":"x"}]})")
                .at("max_tokens"),
            bj::value(4096));
  expect_400(translate_error(R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})"),
             "max_tokens");
  expect_400(translate_error(
                 R"({"model":"m","max_completion_tokens":"9","messages":[{"role":"user","content":"x"}]})"),
             "max_completion_tokens");
}

TEST(AnthropicRequestTest, SystemMessageHoisted) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"system","content":"You are a helpful assistant."},
      {"role":"user","content":"Hello"}]})");
  expect_json(out, R"({"model":"claude-3-5-haiku-20241022","max_tokens":4096,
                       "system":"You are a helpful assistant.",
                       "messages":[{"role":"user","content":"Hello"}]})");
}

TEST(AnthropicRequestTest, SeveralSystemAndDeveloperMessagesConcatenatedAsBlocks) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"system","content":"Rule one."},
      {"role":"developer","content":[{"type":"text","text":"Rule two."},{"type":"text","text":"Rule three."}]},
      {"role":"user","content":"Hi"},
      {"role":"system","content":"Late rule."}]})");
  expect_json(out.at("system"), R"([{"type":"text","text":"Rule one."},{"type":"text","text":"Rule two."},
                                    {"type":"text","text":"Rule three."},{"type":"text","text":"Late rule."}])");
  expect_json(out.at("messages"), R"([{"role":"user","content":"Hi"}])");
}

TEST(AnthropicRequestTest, SystemCacheControlKept) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"system","content":[{"type":"text","text":"Long context","cache_control":{"type":"ephemeral"}}]},
      {"role":"user","content":"Hi"}]})");
  expect_json(out.at("system"),
              R"([{"type":"text","text":"Long context","cache_control":{"type":"ephemeral"}}])");
}

TEST(AnthropicRequestTest, SystemWithNonTextPartRejected) {
  expect_400(translate_error(R"({"model":"m","messages":[
      {"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
      {"role":"user","content":"Hi"}]})"),
             "messages[0].content[0].type");
}

TEST(AnthropicRequestTest, ConsecutiveSameRoleTurnsMerged) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"user","content":"First."},
      {"role":"user","content":[{"type":"text","text":"Second."}]},
      {"role":"assistant","content":"A."},
      {"role":"assistant","content":"B."},
      {"role":"user","content":"Third."}]})");
  expect_json(out.at("messages"), R"([
      {"role":"user","content":[{"type":"text","text":"First."},{"type":"text","text":"Second."}]},
      {"role":"assistant","content":[{"type":"text","text":"A."},{"type":"text","text":"B."}]},
      {"role":"user","content":"Third."}])");
}

TEST(AnthropicRequestTest, SystemBetweenUserTurnsDoesNotSplitThem) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"user","content":"one"},{"role":"system","content":"S"},{"role":"user","content":"two"}]})");
  expect_json(out.at("messages"),
              R"([{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}])");
  EXPECT_EQ(out.at("system"), bj::value("S"));
}

TEST(AnthropicRequestTest, EmptyAssistantTurnDropped) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"user","content":"one"},{"role":"assistant","content":""},{"role":"user","content":"two"}]})");
  expect_json(out.at("messages"),
              R"([{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}])");
}

TEST(AnthropicRequestTest, ImagesByUrlAndBase64) {
  const bj::object out = translate(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"text","text":"What is in these images?"},
      {"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/a/ant.jpg","detail":"high"}},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]})");
  expect_json(out.at("messages"), R"([{"role":"user","content":[
      {"type":"text","text":"What is in these images?"},
      {"type":"image","source":{"type":"url","url":"https://upload.wikimedia.org/a/ant.jpg"}},
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}])");
}

TEST(AnthropicRequestTest, BadImagesRejected) {
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]}]})"),
             "messages[0].content[0].image_url.url", "base64");
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"ftp://host/x.png"}}]}]})"),
             "messages[0].content[0].image_url.url");
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{}}]}]})"),
             "messages[0].content[0].image_url.url");
}

TEST(AnthropicRequestTest, UnsupportedContentPartRejected) {
  const Error e = translate_error(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"text","text":"listen"},{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]})");
  expect_400(e, "messages[0].content[1].type", "input_audio");
  EXPECT_EQ(e.code, "unsupported_value");
}

TEST(AnthropicRequestTest, UnknownAndLegacyRolesRejected) {
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"robot","content":"x"}]})"),
             "messages[0].role", "robot");
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"function","name":"f","content":"x"}]})"),
             "messages[0].role");
}

TEST(AnthropicRequestTest, AssistantToolCallsBecomeToolUseAndToolMessagesToolResults) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"user","content":"What's the weather in SF and NYC?"},
      {"role":"assistant","content":"Let me check.","tool_calls":[
        {"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\"}"}},
        {"id":"toolu_01B","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"New York, NY\",\"unit\":\"celsius\"}"}}]},
      {"role":"tool","tool_call_id":"toolu_01A","content":"15 degrees"},
      {"role":"tool","tool_call_id":"toolu_01B","content":[{"type":"text","text":"22 degrees"}]},
      {"role":"user","content":"Thanks! Which is warmer?"}]})");
  expect_json(out.at("messages"), R"([
      {"role":"user","content":"What's the weather in SF and NYC?"},
      {"role":"assistant","content":[
        {"type":"text","text":"Let me check."},
        {"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"location":"San Francisco, CA"}},
        {"type":"tool_use","id":"toolu_01B","name":"get_weather","input":{"location":"New York, NY","unit":"celsius"}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_01A","content":"15 degrees"},
        {"type":"tool_result","tool_use_id":"toolu_01B","content":[{"type":"text","text":"22 degrees"}]},
        {"type":"text","text":"Thanks! Which is warmer?"}]}])");
}

TEST(AnthropicRequestTest, ToolCallWithoutContentAndEmptyArguments) {
  const bj::object out = translate(R"({"model":"m","messages":[
      {"role":"user","content":"time?"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"toolu_9","type":"function","function":{"name":"now","arguments":""}}]},
      {"role":"tool","tool_call_id":"toolu_9","content":""}]})");
  expect_json(out.at("messages"), R"([
      {"role":"user","content":"time?"},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_9","name":"now","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9"}]}])");
}

TEST(AnthropicRequestTest, InvalidToolCallArgumentsRejected) {
  for (std::string_view args : {R"(not json)", R"({\"a\":)", R"([1,2])", R"(\"text\")"}) {
    const std::string body = R"({"model":"m","messages":[{"role":"user","content":"x"},
        {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":")" +
                             std::string(args) + R"("}}]}]})";
    expect_400(translate_error(body), "messages[1].tool_calls[0].function.arguments", "JSON object");
  }
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"user","content":"x"},
        {"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]})"),
             "messages[1].tool_calls[0].id");
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})"),
             "messages[0].tool_call_id");
}

TEST(AnthropicRequestTest, ToolsAndToolChoice) {
  const std::string base = R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[
      {"type":"function","function":{"name":"get_weather","description":"Get the current weather in a given location",
        "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}},
      {"type":"function","function":{"name":"now"}}])";
  const bj::object out = translate(base + "}");
  expect_json(out.at("tools"), R"([
      {"name":"get_weather","description":"Get the current weather in a given location",
       "input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}},
      {"name":"now","input_schema":{"type":"object","properties":{}}}])");
  EXPECT_FALSE(out.contains("tool_choice"));

  expect_json(translate(base + R"(,"tool_choice":"auto"})").at("tool_choice"), R"({"type":"auto"})");
  expect_json(translate(base + R"(,"tool_choice":"none"})").at("tool_choice"), R"({"type":"none"})");
  expect_json(translate(base + R"(,"tool_choice":"required"})").at("tool_choice"), R"({"type":"any"})");
  expect_json(
      translate(base + R"(,"tool_choice":{"type":"function","function":{"name":"now"}}})").at("tool_choice"),
      R"({"type":"tool","name":"now"})");
  expect_400(translate_error(base + R"(,"tool_choice":"sometimes"})"), "tool_choice");
  expect_400(translate_error(base + R"(,"tool_choice":{"type":"function"}})"), "tool_choice");
}

TEST(AnthropicRequestTest, ParallelToolCallsFalseDisablesParallelToolUse) {
  const std::string base = R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"parallel_tool_calls":false)";
  expect_json(translate(base + "}").at("tool_choice"), R"({"type":"auto","disable_parallel_tool_use":true})");
  expect_json(translate(base + R"(,"tool_choice":"required"})").at("tool_choice"),
              R"({"type":"any","disable_parallel_tool_use":true})");
  expect_json(
      translate(base + R"(,"tool_choice":{"type":"function","function":{"name":"f"}}})").at("tool_choice"),
      R"({"type":"tool","name":"f","disable_parallel_tool_use":true})");
  expect_json(translate(base + R"(,"tool_choice":"none"})").at("tool_choice"), R"({"type":"none"})");
  // parallel_tool_calls true is Anthropic's default: nothing to say.
  EXPECT_FALSE(translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":true})")
                   .contains("tool_choice"));
}

TEST(AnthropicRequestTest, ToolChoiceWithoutTools) {
  EXPECT_FALSE(translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"none"})")
                   .contains("tool_choice"));
  EXPECT_FALSE(translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"auto",
                             "parallel_tool_calls":false})")
                   .contains("tool_choice"));
  expect_400(
      translate_error(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"})"),
      "tool_choice");
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"retrieval"}]})"),
             "tools[0].type");
}

TEST(AnthropicRequestTest, SamplingStopUserAndStream) {
  const bj::object out = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "temperature":0.2,"top_p":0.9,"stop":"\n\nHuman:","user":"user-42","seed":7,
      "frequency_penalty":0.5,"presence_penalty":0.1,"stream":true,"stream_options":{"include_usage":true}})");
  expect_json(out, R"({"model":"claude-3-5-haiku-20241022","max_tokens":4096,
      "messages":[{"role":"user","content":"x"}],"temperature":0.2,"top_p":0.9,
      "stop_sequences":["\n\nHuman:"],"metadata":{"user_id":"user-42"},"stream":true})");
  expect_json(translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["END","STOP"]})")
                  .at("stop_sequences"),
              R"(["END","STOP"])");
  EXPECT_FALSE(
      translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":null,"stream":false})")
          .contains("stop_sequences"));
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]})"),
             "stop");
  expect_400(translate_error(R"({"model":"m","messages":[{"role":"user","content":"x"}],"user":5})"), "user");
}

TEST(AnthropicRequestTest, RejectedParameters) {
  const std::string msgs = R"("messages":[{"role":"user","content":"x"}])";
  expect_400(translate_error(R"({"model":"m",)" + msgs + R"(,"n":2})"), "n", "one choice");
  EXPECT_EQ(translate(R"({"model":"m",)" + msgs + R"(,"n":1})").contains("n"), false);
  expect_400(translate_error(R"({"model":"m",)" + msgs + R"(,"response_format":{"type":"json_object"}})"),
             "response_format", "json_object");
  expect_400(
      translate_error(R"({"model":"m",)" + msgs +
                      R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}})"),
      "response_format", "json_schema");
  EXPECT_FALSE(translate(R"({"model":"m",)" + msgs + R"(,"response_format":{"type":"text"}})")
                   .contains("response_format"));
  expect_400(translate_error(R"({"model":"m",)" + msgs + R"(,"logprobs":true})"), "logprobs");
}

TEST(AnthropicRequestTest, ClientBodyNotModified) {
  const bj::object in = obj(R"({"model":"claude-haiku","messages":[{"role":"system","content":"S"},
      {"role":"user","content":"x"}],"stop":"Z"})");
  const bj::object copy = in;
  ASSERT_TRUE(to_anthropic_request(in, RequestOptions{kModel}).ok());
  EXPECT_EQ(in, copy);
}

// ---- responses ----

constexpr std::string_view kTextMessage = R"({
  "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
  "type": "message",
  "role": "assistant",
  "model": "claude-3-5-haiku-20241022",
  "content": [{"type": "text", "text": "Hi! My name is Claude."}],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_read_input_tokens": 1800,
            "cache_creation_input_tokens": 100}
})";

TEST(AnthropicResponseTest, TextMessage) {
  ResponseMeta meta;
  auto r = to_openai_response(kTextMessage, ResponseOptions{"claude-haiku", 1700000000, true}, meta);
  ASSERT_TRUE(r.ok()) << r.error().to_json();
  expect_json(bj::parse(r.value()), R"({
      "id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","object":"chat.completion","created":1700000000,"model":"claude-haiku",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Hi! My name is Claude."},
                  "logprobs":null,"finish_reason":"stop"}],
      "usage":{"prompt_tokens":3995,"completion_tokens":503,"total_tokens":4498,
               "prompt_tokens_details":{"cached_tokens":1800}}})");
  EXPECT_EQ(meta.id, "msg_013Zva2CMHLNnXjNJJKqJ2EF");
  EXPECT_EQ(meta.model, "claude-3-5-haiku-20241022");
  EXPECT_EQ(meta.prompt_tokens, 3995);
  EXPECT_EQ(meta.completion_tokens, 503);
  EXPECT_EQ(meta.finish_reasons, std::vector<std::string>{"stop"});
  EXPECT_EQ(meta.completion_text, "Hi! My name is Claude.");
}

TEST(AnthropicResponseTest, ContentNotCapturedUnlessAsked) {
  ResponseMeta meta;
  ASSERT_TRUE(to_openai_response(kTextMessage, ResponseOptions{"claude-haiku", 1, false}, meta).ok());
  EXPECT_TRUE(meta.completion_text.empty());
}

TEST(AnthropicResponseTest, ToolUseMessage) {
  constexpr std::string_view body = R"({
    "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
    "stop_reason": "tool_use", "stop_sequence": null,
    "content": [
      {"type": "text", "text": "I'll check the weather."},
      {"type": "text", "text": " One moment."},
      {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
       "input": {"location": "San Francisco, CA", "unit": "celsius"}}],
    "usage": {"input_tokens": 384, "output_tokens": 92}})";
  ResponseMeta meta;
  auto r = to_openai_response(body, ResponseOptions{"claude-haiku", 5, false}, meta);
  ASSERT_TRUE(r.ok());
  const bj::value v = bj::parse(r.value());
  const bj::value& message = v.at("choices").at(0).at("message");
  EXPECT_EQ(message.at("content"), bj::value("I'll check the weather. One moment."));
  const bj::value& call = message.at("tool_calls").at(0);
  EXPECT_EQ(call.at("id"), bj::value("toolu_01A09q90qw90lq917835lq9"));
  EXPECT_EQ(call.at("type"), bj::value("function"));
  EXPECT_EQ(call.at("function").at("name"), bj::value("get_weather"));
  EXPECT_EQ(bj::parse(call.at("function").at("arguments").as_string()),
            bj::parse(R"({"location":"San Francisco, CA","unit":"celsius"})"));
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason"), bj::value("tool_calls"));
  expect_json(v.at("usage"), R"({"prompt_tokens":384,"completion_tokens":92,"total_tokens":476,
                                 "prompt_tokens_details":{"cached_tokens":0}})");
  EXPECT_EQ(meta.finish_reasons, std::vector<std::string>{"tool_calls"});
}

TEST(AnthropicResponseTest, ToolUseOnlyHasNullContent) {
  constexpr std::string_view body = R"({"id":"msg_1","type":"message","role":"assistant","model":"c",
    "stop_reason":"tool_use","content":[{"type":"tool_use","id":"toolu_1","name":"now","input":{}}],
    "usage":{"input_tokens":10,"output_tokens":5}})";
  ResponseMeta meta;
  auto r = to_openai_response(body, ResponseOptions{"pub", 5, false}, meta);
  ASSERT_TRUE(r.ok());
  const bj::value v = bj::parse(r.value());
  EXPECT_TRUE(v.at("choices").at(0).at("message").at("content").is_null());
  EXPECT_EQ(v.at("choices").at(0).at("message").at("tool_calls").at(0).at("function").at("arguments"),
            bj::value("{}"));
}

TEST(AnthropicResponseTest, FinishReasons) {
  EXPECT_EQ(finish_reason("end_turn"), "stop");
  EXPECT_EQ(finish_reason("stop_sequence"), "stop");
  EXPECT_EQ(finish_reason("max_tokens"), "length");
  EXPECT_EQ(finish_reason("tool_use"), "tool_calls");
  EXPECT_EQ(finish_reason("refusal"), "content_filter");
  EXPECT_EQ(finish_reason("pause_turn"), "stop");
  EXPECT_EQ(finish_reason("something_new"), "stop");
  for (auto [stop, finish] : std::vector<std::pair<std::string, std::string>>{
           {"max_tokens", "length"}, {"refusal", "content_filter"}, {"stop_sequence", "stop"}}) {
    const std::string body =
        R"({"id":"m","model":"c","content":[{"type":"text","text":"t"}],"stop_reason":")" + stop +
        R"(","usage":{"input_tokens":1,"output_tokens":1}})";
    ResponseMeta meta;
    auto r = to_openai_response(body, ResponseOptions{"p", 1, false}, meta);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(bj::parse(r.value()).at("choices").at(0).at("finish_reason"), bj::value(finish)) << stop;
  }
}

TEST(AnthropicResponseTest, NullCacheCountsAreZero) {
  ResponseMeta meta;
  auto r = to_openai_response(R"({"id":"m","model":"c","content":[],"stop_reason":"end_turn",
      "usage":{"input_tokens":7,"output_tokens":0,"cache_read_input_tokens":null,"cache_creation_input_tokens":null}})",
                              ResponseOptions{"p", 1, false}, meta);
  ASSERT_TRUE(r.ok());
  const bj::value v = bj::parse(r.value());
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), bj::value(7));
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content"), bj::value(""));
}

TEST(AnthropicResponseTest, NotAMessageIs502) {
  for (std::string_view body : {"", "<html>", "[]", R"({"type":"message"})"}) {
    ResponseMeta meta;
    auto r = to_openai_response(body, ResponseOptions{"p", 1, false}, meta);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().status, 502);
    EXPECT_EQ(r.error().code, "upstream_error");
  }
}

// ---- streams ----

// Anthropic's documented stream shape: text, then a tool_use block with input_json_delta, ping, usage.
constexpr std::string_view kToolStream =
    "event: message_start\n"
    R"(data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2,"cache_read_input_tokens":400,"cache_creation_input_tokens":0},"content":[],"stop_reason":null}})"
    "\n\n"
    "event: content_block_start\n"
    R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
    "\n\n"
    "event: ping\n"
    R"(data: {"type": "ping"})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay, let me check"}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the weather."}})"
    "\n\n"
    "event: content_block_stop\n"
    R"(data: {"type":"content_block_stop","index":0})"
    "\n\n"
    "event: content_block_start\n"
    R"(data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\"}"}})"
    "\n\n"
    "event: content_block_stop\n"
    R"(data: {"type":"content_block_stop","index":1})"
    "\n\n"
    "event: content_block_start\n"
    R"(data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"now","input":{}}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}})"
    "\n\n"
    "event: content_block_stop\n"
    R"(data: {"type":"content_block_stop","index":2})"
    "\n\n"
    "event: message_delta\n"
    R"(data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}})"
    "\n\n"
    "event: message_stop\n"
    R"(data: {"type":"message_stop"})"
    "\n\n";

struct Translated {
  std::vector<std::string> chunks;
  ResponseMeta meta;
  bool ok = true;
  bool finished = false;
  Error error;
};

StreamTranslator::Options stream_options(bool include_usage = true, bool capture = true) {
  return StreamTranslator::Options{"claude-haiku", 1700000000, include_usage, capture, kSecret};
}

// Feeds `wire` in slices cut at `cuts` (ascending offsets).
Translated feed_split(std::string_view wire, const std::vector<std::size_t>& cuts,
                      const StreamTranslator::Options& options = stream_options()) {
  Translated t;
  StreamTranslator translator(options, t.meta);
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size() && t.ok; ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : wire.size();
    t.ok = translator.feed(wire.substr(from, to - from), t.chunks);
    from = to;
  }
  t.finished = translator.finished();
  if (!t.ok) t.error = translator.error();
  return t;
}

std::vector<bj::value> parsed(const std::vector<std::string>& chunks) {
  std::vector<bj::value> out;
  for (const auto& c : chunks) out.push_back(bj::parse(c));
  return out;
}

TEST(AnthropicStreamTest, ToolStreamTranslated) {
  const Translated t = feed_split(kToolStream, {}, stream_options(false));
  ASSERT_TRUE(t.ok) << t.error.to_json();
  EXPECT_TRUE(t.finished);
  const auto c = parsed(t.chunks);
  ASSERT_EQ(c.size(), 8u) << t.chunks.size();
  for (const auto& chunk : c) {
    EXPECT_EQ(chunk.at("id"), bj::value("msg_014p7gG3wDgGV9EUtLvnow3U"));
    EXPECT_EQ(chunk.at("object"), bj::value("chat.completion.chunk"));
    EXPECT_EQ(chunk.at("model"), bj::value("claude-haiku"));
    EXPECT_EQ(chunk.at("created"), bj::value(1700000000));
  }
  // The first chunk carries the role, with the first text.
  expect_json(c[0].at("choices"),
              R"([{"index":0,"delta":{"content":"Okay, let me check","role":"assistant"},"logprobs":null,
                   "finish_reason":null}])");
  expect_json(c[1].at("choices").at(0).at("delta"), R"({"content":" the weather."})");
  expect_json(c[2].at("choices").at(0).at("delta"),
              R"({"tool_calls":[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6",
      "type":"function","function":{"name":"get_weather","arguments":""}}]})");
  expect_json(c[3].at("choices").at(0).at("delta"),
              R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]})");
  expect_json(c[4].at("choices").at(0).at("delta"),
              R"({"tool_calls":[{"index":0,"function":{"arguments":" \"San Francisco, CA\"}"}}]})");
  // The second tool_use block (Anthropic index 2) is OpenAI tool call index 1.
  expect_json(c[5].at("choices").at(0).at("delta"),
              R"({"tool_calls":[{"index":1,"id":"toolu_02","type":"function",
      "function":{"name":"now","arguments":""}}]})");
  expect_json(c[6].at("choices").at(0).at("delta"),
              R"({"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]})");
  expect_json(c[7].at("choices"), R"([{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}])");
}

TEST(AnthropicStreamTest, UsageChunkOnlyWhenAsked) {
  const Translated with = feed_split(kToolStream, {}, stream_options(true));
  ASSERT_TRUE(with.ok);
  const Translated without = feed_split(kToolStream, {}, stream_options(false));
  ASSERT_TRUE(without.ok);
  ASSERT_EQ(with.chunks.size(), without.chunks.size() + 1);
  const bj::value last = bj::parse(with.chunks.back());
  EXPECT_TRUE(last.at("choices").as_array().empty());
  expect_json(last.at("usage"), R"({"prompt_tokens":872,"completion_tokens":89,"total_tokens":961,
                                    "prompt_tokens_details":{"cached_tokens":400}})");
  for (const auto& chunk : without.chunks) EXPECT_EQ(chunk.find("usage"), std::string::npos) << chunk;
}

TEST(AnthropicStreamTest, MetaFilled) {
  const Translated t = feed_split(kToolStream, {});
  EXPECT_EQ(t.meta.id, "msg_014p7gG3wDgGV9EUtLvnow3U");
  EXPECT_EQ(t.meta.model, "claude-3-5-haiku-20241022");
  EXPECT_EQ(t.meta.prompt_tokens, 872);
  EXPECT_EQ(t.meta.completion_tokens, 89);
  EXPECT_EQ(t.meta.finish_reasons, std::vector<std::string>{"tool_calls"});
  EXPECT_EQ(t.meta.completion_text, "Okay, let me check the weather.");
  const Translated quiet = feed_split(kToolStream, {}, stream_options(true, false));
  EXPECT_TRUE(quiet.meta.completion_text.empty());
}

TEST(AnthropicStreamTest, EventByEvent) {
  // Each event translated on its own yields its chunks at once: nothing waits for a later event.
  ResponseMeta meta;
  StreamTranslator translator(stream_options(), meta);
  auto event = [&](std::string_view name, std::string_view data) {
    std::vector<std::string> out;
    EXPECT_TRUE(translator.on_event(http::SseEvent{std::string(name), std::string(data)}, out));
    return out;
  };
  EXPECT_TRUE(event("message_start", R"({"type":"message_start","message":{"id":"msg_1","model":"claude-x",
      "usage":{"input_tokens":25,"output_tokens":1}}})")
                  .empty());
  EXPECT_EQ(meta.prompt_tokens, 25);
  EXPECT_TRUE(event("content_block_start", R"({"type":"content_block_start","index":0,
      "content_block":{"type":"text","text":""}})")
                  .empty());
  EXPECT_TRUE(event("ping", R"({"type":"ping"})").empty());
  auto hello =
      event("content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})");
  ASSERT_EQ(hello.size(), 1u);
  expect_json(bj::parse(hello[0]).at("choices").at(0).at("delta"),
              R"({"role":"assistant","content":"Hello"})");
  auto bang = event("content_block_delta",
                    R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}})");
  ASSERT_EQ(bang.size(), 1u);
  expect_json(bj::parse(bang[0]).at("choices").at(0).at("delta"), R"({"content":"!"})");
  EXPECT_TRUE(event("content_block_stop", R"({"type":"content_block_stop","index":0})").empty());
  auto fin = event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"max_tokens",
      "stop_sequence":null},"usage":{"output_tokens":15}})");
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(bj::parse(fin[0]).at("choices").at(0).at("finish_reason"), bj::value("length"));
  EXPECT_EQ(meta.completion_tokens, 15);
  EXPECT_FALSE(translator.finished());
  EXPECT_TRUE(translator.finish().has_value());
  auto stop = event("message_stop", R"({"type":"message_stop"})");
  ASSERT_EQ(stop.size(), 1u);  // the usage chunk
  EXPECT_EQ(bj::parse(stop[0]).at("usage").at("total_tokens"), bj::value(40));
  EXPECT_TRUE(translator.finished());
  EXPECT_FALSE(translator.finish().has_value());
  // Unknown event types are ignored, as Anthropic asks.
  EXPECT_TRUE(event("brand_new", R"({"type":"brand_new","x":1})").empty());
}

TEST(AnthropicStreamTest, EventTypeFromEventLineWhenDataHasNone) {
  ResponseMeta meta;
  StreamTranslator translator(stream_options(false), meta);
  std::vector<std::string> out;
  ASSERT_TRUE(translator.on_event(http::SseEvent{"message_stop", "{}"}, out));
  EXPECT_TRUE(translator.finished());
}

TEST(AnthropicStreamTest, SplitAtEveryOffsetGivesTheSameChunks) {
  const Translated whole = feed_split(kToolStream, {});
  ASSERT_TRUE(whole.ok);
  for (std::size_t cut = 1; cut < kToolStream.size(); ++cut) {
    const Translated split = feed_split(kToolStream, {cut});
    ASSERT_TRUE(split.ok) << cut;
    ASSERT_EQ(split.chunks, whole.chunks) << "cut at " << cut;
    ASSERT_TRUE(split.finished);
  }
}

TEST(AnthropicStreamTest, SplitIntoTinyAndUnevenSlices) {
  const Translated whole = feed_split(kToolStream, {});
  for (std::size_t step : {1u, 2u, 3u, 7u, 13u, 64u, 509u}) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = step; at < kToolStream.size(); at += step + (at % 5)) cuts.push_back(at);
    const Translated split = feed_split(kToolStream, cuts);
    ASSERT_TRUE(split.ok) << step;
    EXPECT_EQ(split.chunks, whole.chunks) << "step " << step;
    EXPECT_EQ(split.meta.completion_text, whole.meta.completion_text);
  }
}

TEST(AnthropicStreamTest, CrlfLineEnds) {
  std::string crlf;
  for (char c : kToolStream) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const Translated whole = feed_split(kToolStream, {});
  for (std::size_t cut : {std::size_t{1}, crlf.find('\r') + 1, crlf.size() / 2}) {
    const Translated t = feed_split(crlf, {cut});
    ASSERT_TRUE(t.ok);
    EXPECT_EQ(t.chunks, whole.chunks);
  }
}

TEST(AnthropicStreamTest, StopReasonsInStream) {
  for (auto [stop, finish] :
       std::vector<std::pair<std::string, std::string>>{{"end_turn", "stop"},
                                                        {"stop_sequence", "stop"},
                                                        {"max_tokens", "length"},
                                                        {"refusal", "content_filter"}}) {
    const std::string wire =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\","
        "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" +
        stop +
        "\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    const Translated t = feed_split(wire, {}, stream_options(false));
    ASSERT_TRUE(t.ok);
    ASSERT_EQ(t.chunks.size(), 1u);
    const bj::value c = bj::parse(t.chunks[0]);
    EXPECT_EQ(c.at("choices").at(0).at("finish_reason"), bj::value(finish)) << stop;
    // No content came: the finish chunk is the first one and carries the role.
    EXPECT_EQ(c.at("choices").at(0).at("delta").at("role"), bj::value("assistant"));
    EXPECT_EQ(t.meta.finish_reasons, std::vector<std::string>{finish});
  }
}

TEST(AnthropicStreamTest, ErrorEventEndsTheStream) {
  const std::string wire =
      std::string(kToolStream.substr(0, kToolStream.find("event: content_block_start"))) +
      "event: content_block_start\n"
      R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"
      "\n\n"
      "event: error\n"
      R"(data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})"
      "\n\n";
  const Translated t = feed_split(wire, {});
  EXPECT_FALSE(t.ok);
  EXPECT_EQ(t.chunks.size(), 1u);  // the text before the error was translated
  EXPECT_EQ(t.error.status, 503);
  EXPECT_EQ(t.error.type, "api_error");
  EXPECT_EQ(t.error.code, "overloaded");
  EXPECT_EQ(t.error.message, "Overloaded");
  EXPECT_FALSE(t.finished);
}

TEST(AnthropicStreamTest, ErrorEventTypesAndScrubbing) {
  const std::string wire =
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
      "\"message\":\"Number of request tokens has exceeded your rate limit for key " +
      std::string(kSecret) + "\"}}\n\n";
  const Translated t = feed_split(wire, {});
  ASSERT_FALSE(t.ok);
  EXPECT_EQ(t.error.status, 429);
  EXPECT_EQ(t.error.type, "rate_limit_error");
  EXPECT_EQ(t.error.message.find(kSecret), std::string::npos) << t.error.message;
  EXPECT_NE(t.error.message.find("[redacted]"), std::string::npos);

  const Translated api = feed_split(
      "event: error\ndata: "
      "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal\"}}\n\n",
      {});
  EXPECT_EQ(api.error.status, 500);
  EXPECT_EQ(api.error.type, "api_error");
}

TEST(AnthropicStreamTest, NonJsonEventIs502) {
  const Translated t = feed_split("event: message_start\ndata: {not json\n\n", {});
  ASSERT_FALSE(t.ok);
  EXPECT_EQ(t.error.status, 502);
  EXPECT_EQ(t.error.code, "upstream_error");
}

TEST(AnthropicStreamTest, EndWithoutMessageStopIsAnError) {
  const std::string wire(kToolStream.substr(0, kToolStream.find("event: message_stop")));
  ResponseMeta meta;
  StreamTranslator translator(stream_options(), meta);
  std::vector<std::string> out;
  ASSERT_TRUE(translator.feed(wire, out));
  const auto e = translator.finish();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status, 502);
  EXPECT_NE(e->message.find("message_stop"), std::string::npos);
}

// ---- errors ----

std::string anthropic_error(std::string_view type, std::string_view message) {
  return R"({"type":"error","error":{"type":")" + std::string(type) + R"(","message":")" +
         std::string(message) + R"("},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"})";
}

TEST(AnthropicErrorTest, EveryDocumentedStatus) {
  struct Case {
    int status;
    std::string_view type;
    int out_status;
    std::string_view out_type;
    std::string_view code;
  };
  for (const Case& c : std::vector<Case>{
           {400, "invalid_request_error", 400, "invalid_request_error", ""},
           {401, "authentication_error", 401, "authentication_error", ""},
           {403, "permission_error", 403, "permission_error", ""},
           {404, "not_found_error", 404, "not_found_error", ""},
           {413, "request_too_large", 413, "request_too_large", ""},
           {429, "rate_limit_error", 429, "rate_limit_error", ""},
           {500, "api_error", 500, "api_error", ""},
           {529, "overloaded_error", 503, "api_error", "overloaded"},
       }) {
    const Error e = map_error(c.status, anthropic_error(c.type, "the message"), "", kSecret);
    EXPECT_EQ(e.status, c.out_status) << c.status;
    EXPECT_EQ(e.type, c.out_type) << c.status;
    EXPECT_EQ(e.code, c.code) << c.status;
    EXPECT_EQ(e.message, "the message") << c.status;
  }
}

TEST(AnthropicErrorTest, PromptTooLongIsContextLengthExceeded) {
  const Error e = map_error(
      400, anthropic_error("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"), "",
      kSecret);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.code, "context_length_exceeded");
  EXPECT_EQ(e.param, "messages");
  EXPECT_EQ(e.message, "prompt is too long: 208310 tokens > 200000 maximum");
  // Other 400s keep no code.
  EXPECT_TRUE(
      map_error(400, anthropic_error("invalid_request_error", "messages: roles must alternate"), "", "")
          .code.empty());
}

TEST(AnthropicErrorTest, RetryAfterKept) {
  const Error e = map_error(429, anthropic_error("rate_limit_error", "slow down"), "17", kSecret);
  EXPECT_EQ(e.retry_after, "17");
  const Error o = map_error(529, anthropic_error("overloaded_error", "Overloaded"), "3", kSecret);
  EXPECT_EQ(o.status, 503);
  EXPECT_EQ(o.retry_after, "3");
}

TEST(AnthropicErrorTest, OverloadedTypeUnderAnotherStatus) {
  const Error e = map_error(500, anthropic_error("overloaded_error", "Overloaded"), "", kSecret);
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code, "overloaded");
}

TEST(AnthropicErrorTest, BodiesThatAreNotAnthropicErrors) {
  for (auto [status, type] : std::vector<std::pair<int, std::string>>{{400, "invalid_request_error"},
                                                                      {401, "authentication_error"},
                                                                      {413, "request_too_large"},
                                                                      {429, "rate_limit_error"},
                                                                      {502, "api_error"},
                                                                      {418, "invalid_request_error"}}) {
    const Error e = map_error(status, "<html>Request Entity Too Large</html>", "", kSecret);
    EXPECT_EQ(e.status, status);
    EXPECT_EQ(e.type, type) << status;
    EXPECT_NE(e.message.find(std::to_string(status)), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("html"), std::string::npos) << e.message;
  }
  const Error o = map_error(529, "", "", kSecret);
  EXPECT_EQ(o.status, 503);
  EXPECT_EQ(o.code, "overloaded");
}

TEST(AnthropicErrorTest, SecretScrubbed) {
  const Error e = map_error(
      401, anthropic_error("authentication_error", "invalid x-api-key " + std::string(kSecret)), "", kSecret);
  EXPECT_EQ(e.message, "invalid x-api-key [redacted]");
  EXPECT_EQ(e.to_json().find(kSecret), std::string::npos);
  // A type carrying the key (a hostile upstream) is scrubbed too.
  const Error t = map_error(400, anthropic_error(kSecret, "m"), "", kSecret);
  EXPECT_EQ(t.type.find(kSecret), std::string::npos);
  // Short or empty secrets are not "scrubbed" out of ordinary text.
  EXPECT_EQ(map_error(400, anthropic_error("invalid_request_error", "abc"), "", "ab").message, "abc");
}

TEST(AnthropicErrorTest, ScrubEveryOccurrence) {
  std::string text = "k=SECRETKEY, again SECRETKEY.";
  scrub(text, "SECRETKEY");
  EXPECT_EQ(text, "k=[redacted], again [redacted].");
}

TEST(AnthropicErrorTest, StatusForErrorType) {
  EXPECT_EQ(status_for_error_type("invalid_request_error"), 400);
  EXPECT_EQ(status_for_error_type("authentication_error"), 401);
  EXPECT_EQ(status_for_error_type("permission_error"), 403);
  EXPECT_EQ(status_for_error_type("not_found_error"), 404);
  EXPECT_EQ(status_for_error_type("request_too_large"), 413);
  EXPECT_EQ(status_for_error_type("rate_limit_error"), 429);
  EXPECT_EQ(status_for_error_type("overloaded_error"), 529);
  EXPECT_EQ(status_for_error_type("api_error"), 500);
  EXPECT_EQ(status_for_error_type("new_kind"), 500);
}

}  // namespace
}  // namespace sy::providers::anthropic
