// Unit tests for the Bedrock provider's pure parts: OpenAI requests into Converse requests and Converse
// responses back (golden fixtures written from the Converse API reference's shapes), ConverseStream event
// streams (built with the event-stream encoder, fed byte by byte) into OpenAI chunks, the error mapping, and
// the deployment settings (region, endpoint, path, credentials). No error may carry a credential.
#include <stdlib.h>

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "coro_test_support.h"
#include "http_test_support.h"
#include "providers/bedrock/bedrock_provider.h"
#include "providers/bedrock/converse.h"
#include "providers/bedrock/credentials.h"
#include "providers/bedrock/event_stream.h"

namespace sy::providers::bedrock {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using test::run;

constexpr std::string_view kKeyId = "AKIDEXAMPLEBEDROCK01";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN0123456789";
constexpr std::string_view kSecretsArray[] = {kSecret, kToken, kKeyId};
const std::span<const std::string_view> kSecrets(kSecretsArray);

// A 1x1 PNG.
constexpr std::string_view kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

bj::object parse_object(std::string_view text) {
  return bj::parse(text).as_object();
}

bj::object converse_ok(std::string_view openai_request) {
  auto r = to_converse_request(parse_object(openai_request));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  return r.value();
}

Error converse_error(std::string_view openai_request) {
  auto r = to_converse_request(parse_object(openai_request));
  EXPECT_FALSE(r.ok()) << openai_request;
  if (r.ok()) return {};
  return r.error();
}

void expect_no_secret(const Error& e) {
  const std::string json = e.to_json();
  for (std::string_view s : kSecrets) EXPECT_EQ(json.find(s), std::string::npos) << json;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

TEST(BedrockConverseRequest, GoldenConversationWithImageToolsAndParameters) {
  const std::string request = R"({
    "model": "claude-haiku",
    "stream": false,
    "seed": 7,
    "user": "user-123",
    "messages": [
      {"role": "system", "content": "You are a weather bot."},
      {"role": "developer", "content": [{"type": "text", "text": "Answer in metric units."}]},
      {"role": "user", "content": [
        {"type": "text", "text": "What is the weather where this photo was taken?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,)" +
                              std::string(kPng) + R"(", "detail": "low"}}
      ]},
      {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":\"Seattle\"}"}},
        {"id": "tooluse_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
      ]},
      {"role": "tool", "tool_call_id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": "12 degrees, rain"},
      {"role": "tool", "tool_call_id": "tooluse_2", "content": {"time": "09:00"}},
      {"role": "user", "content": "And tomorrow?"}
    ],
    "max_tokens": 512,
    "temperature": 0.5,
    "top_p": 0.9,
    "stop": "END",
    "tools": [
      {"type": "function", "function": {"name": "get_weather", "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
      {"type": "function", "function": {"name": "get_time"}}
    ],
    "tool_choice": "auto"
  })";
  const bj::value expected = bj::parse(R"({
    "system": [{"text": "You are a weather bot."}, {"text": "Answer in metric units."}],
    "messages": [
      {"role": "user", "content": [
        {"text": "What is the weather where this photo was taken?"},
        {"image": {"format": "png", "source": {"bytes": ")" +
                                       std::string(kPng) + R"("}}}
      ]},
      {"role": "assistant", "content": [
        {"text": "Let me check."},
        {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather", "input": {"city": "Seattle"}}},
        {"toolUse": {"toolUseId": "tooluse_2", "name": "get_time", "input": {}}}
      ]},
      {"role": "user", "content": [
        {"toolResult": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": [{"text": "12 degrees, rain"}]}},
        {"toolResult": {"toolUseId": "tooluse_2", "content": [{"json": {"time": "09:00"}}]}},
        {"text": "And tomorrow?"}
      ]}
    ],
    "inferenceConfig": {"maxTokens": 512, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
    "toolConfig": {
      "tools": [
        {"toolSpec": {"name": "get_weather", "description": "Current weather", "inputSchema": {"json":
          {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}},
        {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object", "properties": {}}}}}
      ],
      "toolChoice": {"auto": {}}
    }
  })");
  const bj::object got = converse_ok(request);
  EXPECT_EQ(bj::value(got), expected) << bj::serialize(got);
}

TEST(BedrockConverseRequest, MinimalRequestHasNoOptionalSections) {
  const bj::object got = converse_ok(R"({"model":"m","messages":[{"role":"user","content":"Hello"}]})");
  EXPECT_EQ(bj::value(got), bj::parse(R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}]})"));
}

TEST(BedrockConverseRequest, ConsecutiveSameRoleTurnsMerged) {
  const bj::object got = converse_ok(R"({"messages":[
    {"role":"user","content":"one"},{"role":"user","content":"two"},
    {"role":"assistant","content":"three"},{"role":"assistant","content":"four"},{"role":"user","content":"five"}]})");
  EXPECT_EQ(bj::value(got), bj::parse(R"({"messages":[
    {"role":"user","content":[{"text":"one"},{"text":"two"}]},
    {"role":"assistant","content":[{"text":"three"},{"text":"four"}]},
    {"role":"user","content":[{"text":"five"}]}]})"));
}

TEST(BedrockConverseRequest, EmptyTextsLeftOutAndNullAssistantContentWithToolCalls) {
  const bj::object got = converse_ok(R"({"messages":[
    {"role":"user","content":"hi"},
    {"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"[1,2]"}}]},
    {"role":"tool","tool_call_id":"t1","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
    {"role":"assistant","content":""},
    {"role":"user","content":"next"}]})");
  EXPECT_EQ(bj::value(got), bj::parse(R"({"messages":[
    {"role":"user","content":[{"text":"hi"}]},
    {"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":[1,2]}}]},
    {"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"a"},{"text":"b"}]}},{"text":"next"}]}]})"));
}

TEST(BedrockConverseRequest, MaxCompletionTokensWinsAndStopArray) {
  const bj::object got = converse_ok(
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":10,"max_completion_tokens":20,"stop":["a","b"],
          "temperature":1})");
  EXPECT_EQ(got.at("inferenceConfig"),
            bj::parse(R"({"maxTokens":20,"stopSequences":["a","b"],"temperature":1.0})"));
}

TEST(BedrockConverseRequest, ToolChoices) {
  const std::string tools =
      R"("messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}])";
  EXPECT_EQ(converse_ok("{" + tools + R"(,"tool_choice":"required"})").at("toolConfig").at("toolChoice"),
            bj::parse(R"({"any":{}})"));
  EXPECT_EQ(converse_ok("{" + tools + R"(,"tool_choice":{"type":"function","function":{"name":"f"}}})")
                .at("toolConfig")
                .at("toolChoice"),
            bj::parse(R"({"tool":{"name":"f"}})"));
  EXPECT_FALSE(converse_ok("{" + tools + "}").at("toolConfig").as_object().contains("toolChoice"));
  EXPECT_FALSE(converse_ok("{" + tools + R"(,"tool_choice":"none"})").contains("toolConfig"));
  EXPECT_EQ(converse_error("{" + tools + R"(,"tool_choice":"sometimes"})").param, "tool_choice");
}

TEST(BedrockConverseRequest, ImageFormats) {
  for (const auto& [media, format] : {std::pair<std::string, std::string>{"image/jpeg", "jpeg"},
                                      {"image/jpg", "jpeg"},
                                      {"image/gif", "gif"},
                                      {"image/webp", "webp"},
                                      {"IMAGE/PNG", "png"}}) {
    const bj::object got =
        converse_ok(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:)" +
                    media + ";base64," + std::string(kPng) + R"("}]}]})");
    EXPECT_EQ(got.at("messages").at(0).at("content").at(0).at("image").at("format"), bj::value(format))
        << media;
  }
}

TEST(BedrockConverseRequest, ImageUrlsRefused) {
  for (std::string_view url : {"https://example.com/cat.png", "HTTP://example.com/cat.png"}) {
    const Error e =
        converse_error(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":")" +
                       std::string(url) + R"("}}]}]})");
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_NE(e.message.find("Bedrock needs images inline as base64 data URLs"), std::string::npos)
        << e.message;
    EXPECT_EQ(e.param, "messages[0].content[0].image_url.url");
  }
  for (std::string_view bad : {"data:image/bmp;base64,Qk0=", "data:image/png,rawbytes",
                               "data:image/png;base64,not base64!", "ftp://x/y.png"}) {
    const Error e =
        converse_error(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":")" +
                       std::string(bad) + R"("}}]}]})");
    EXPECT_EQ(e.status, 400) << bad;
    EXPECT_EQ(e.code, "invalid_image_url") << bad;
  }
}

TEST(BedrockConverseRequest, UnsupportedParametersRefused) {
  const std::string m = R"("messages":[{"role":"user","content":"x"}])";
  for (std::string_view extra :
       {R"("response_format":{"type":"json_object"})",
        R"("response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{}}})", R"("n":2)",
        R"("logprobs":true)", R"("top_logprobs":2)", R"("frequency_penalty":0.5)", R"("presence_penalty":-1)",
        R"("logit_bias":{"50256":-100})", R"("audio":{"voice":"x"})", R"("modalities":["text","audio"])",
        R"("functions":[{"name":"f"}])"}) {
    const Error e = converse_error("{" + m + "," + std::string(extra) + "}");
    EXPECT_EQ(e.status, 400) << extra;
    EXPECT_EQ(e.type, "invalid_request_error") << extra;
    EXPECT_EQ(e.code, "unsupported_parameter") << extra;
    EXPECT_FALSE(e.param.empty()) << extra;
  }
  EXPECT_EQ(converse_error("{" + m + R"(,"response_format":{"type":"json_object"}})").param,
            "response_format");
  EXPECT_EQ(converse_error("{" + m + R"(,"n":3})").param, "n");
  // Defaults and ignored parameters are fine.
  const bj::object got =
      converse_ok("{" + m +
                  R"(,"n":1,"response_format":{"type":"text"},"logprobs":false,"frequency_penalty":0,
      "seed":42,"user":"u","parallel_tool_calls":true,"store":false,"metadata":{"a":"b"},"logit_bias":{}})");
  EXPECT_EQ(bj::value(got), bj::parse(R"({"messages":[{"role":"user","content":[{"text":"x"}]}]})"));
}

TEST(BedrockConverseRequest, BadShapesAreInvalidRequests) {
  EXPECT_EQ(converse_error(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})").param,
            "max_tokens");
  EXPECT_EQ(converse_error(R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})").param,
            "temperature");
  EXPECT_EQ(converse_error(R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})").param, "stop");
  EXPECT_EQ(converse_error(R"({"messages":[{"role":"wizard","content":"x"}]})").param, "messages[0].role");
  EXPECT_EQ(converse_error(R"({"messages":[{"role":"tool","content":"x"}]})").param,
            "messages[0].tool_call_id");
  EXPECT_EQ(converse_error(R"({"messages":[{"role":"system","content":"only a system prompt"}]})").param,
            "messages");
  EXPECT_EQ(converse_error(R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[
      {"id":"t","type":"function","function":{"name":"f","arguments":"{not json"}}]}]})")
                .param,
            "messages[1].tool_calls[0].function.arguments");
  EXPECT_EQ(
      converse_error(R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})")
          .code,
      "unsupported_parameter");
  EXPECT_EQ(
      converse_error(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"code_interpreter"}]})")
          .param,
      "tools[0].type");
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

AnswerOptions options(bool include_usage = false, bool capture = false) {
  AnswerOptions o;
  o.public_model = "claude-haiku";
  o.upstream_model = "anthropic.claude-3-haiku-20240307-v1:0";
  o.id = "chatcmpl-test";
  o.created = 1700000000;
  o.include_usage = include_usage;
  o.capture_content = capture;
  return o;
}

TEST(BedrockConverseResponse, GoldenText) {
  const std::string_view converse = R"({
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello"}, {"text": ", world."}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 1542, "cacheReadInputTokens": 1500},
    "metrics": {"latencyMs": 412}
  })";
  ResponseMeta meta;
  auto r = from_converse_response(converse, options(false, true), meta);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(bj::parse(r.value()), bj::parse(R"({
    "id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": "claude-haiku",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello, world."}, "logprobs": null,
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1530, "completion_tokens": 12, "total_tokens": 1542,
              "prompt_tokens_details": {"cached_tokens": 1500}}
  })"))
      << r.value();
  EXPECT_EQ(meta.id, "chatcmpl-test");
  EXPECT_EQ(meta.model, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(meta.finish_reasons, std::vector<std::string>{"stop"});
  EXPECT_EQ(meta.prompt_tokens, 1530);
  EXPECT_EQ(meta.completion_tokens, 12);
  EXPECT_EQ(meta.completion_text, "Hello, world.");
}

TEST(BedrockConverseResponse, GoldenToolUse) {
  const std::string_view converse = R"({
    "output": {"message": {"role": "assistant", "content": [
      {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}}}
    ]}},
    "stopReason": "tool_use",
    "usage": {"inputTokens": 375, "outputTokens": 54, "totalTokens": 429}
  })";
  ResponseMeta meta;
  auto r = from_converse_response(converse, options(), meta);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(bj::parse(r.value()), bj::parse(R"({
    "id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": "claude-haiku",
    "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
      "role": "assistant", "content": null, "tool_calls": [{"id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
        "function": {"name": "top_song", "arguments": "{\"sign\":\"WZPZ\"}"}}]}}],
    "usage": {"prompt_tokens": 375, "completion_tokens": 54, "total_tokens": 429}
  })"))
      << r.value();
  EXPECT_EQ(meta.finish_reasons, std::vector<std::string>{"tool_calls"});
  EXPECT_TRUE(meta.completion_text.empty());  // not captured
}

TEST(BedrockConverseResponse, StopReasons) {
  for (const auto& [reason, finish] : {std::pair<std::string_view, std::string_view>{"end_turn", "stop"},
                                       {"stop_sequence", "stop"},
                                       {"max_tokens", "length"},
                                       {"tool_use", "tool_calls"},
                                       {"guardrail_intervened", "content_filter"},
                                       {"content_filtered", "content_filter"},
                                       {"something_new", "stop"}}) {
    EXPECT_EQ(finish_reason_for(reason), finish) << reason;
    ResponseMeta meta;
    auto r = from_converse_response(
        R"({"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":")" +
            std::string(reason) + R"("})",
        options(), meta);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(bj::parse(r.value()).at("choices").at(0).at("finish_reason"), bj::value(finish)) << reason;
    EXPECT_FALSE(bj::parse(r.value()).as_object().contains("usage"));
    EXPECT_EQ(meta.prompt_tokens, -1);
  }
}

TEST(BedrockConverseResponse, NotAConverseResponseIs502) {
  for (std::string_view body : {"<html/>", "[]", R"({"output":{}})"}) {
    ResponseMeta meta;
    auto r = from_converse_response(body, options(), meta);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().status, 502);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Streams

std::string event_frame(std::string_view event_type, std::string_view json) {
  return encode_event_message({EventHeader::string_value(":event-type", std::string(event_type)),
                               EventHeader::string_value(":content-type", "application/json"),
                               EventHeader::string_value(":message-type", "event")},
                              json);
}

std::string exception_frame(std::string_view exception_type, std::string_view json) {
  return encode_event_message({EventHeader::string_value(":exception-type", std::string(exception_type)),
                               EventHeader::string_value(":content-type", "application/json"),
                               EventHeader::string_value(":message-type", "exception")},
                              json);
}

// A tool-use answer as Bedrock streams it (with the "p" padding field it adds to each event).
std::string tool_use_stream() {
  std::string s;
  s += event_frame("messageStart", R"({"p":"abcd","role":"assistant"})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Let me "},"p":"ab"})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"look."},"p":"abcdef"})");
  s += event_frame("contentBlockStop", R"({"contentBlockIndex":0,"p":"a"})");
  s += event_frame(
      "contentBlockStart",
      R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_abc","name":"get_weather"}},"p":"x"})");
  s += event_frame("contentBlockDelta",
                   R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}},"p":"xy"})");
  s += event_frame("contentBlockDelta",
                   R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}},"p":"x"})");
  s += event_frame("contentBlockStop", R"({"contentBlockIndex":1,"p":"abc"})");
  s += event_frame("messageStop", R"({"stopReason":"tool_use","p":"abcd"})");
  s += event_frame(
      "metadata",
      R"({"usage":{"inputTokens":25,"outputTokens":17,"totalTokens":42},"metrics":{"latencyMs":321},"p":"ab"})");
  return s;
}

struct StreamRun {
  std::vector<std::string> chunks;
  std::optional<Error> error;
  bool stopped = false;
  ResponseMeta meta;
};

// Decodes `bytes` fed one byte at a time and translates each message as it is decoded.
StreamRun run_stream(std::string_view bytes, bool include_usage, bool capture = false) {
  StreamRun run;
  StreamTranslator translator(options(include_usage, capture), run.meta, kSecrets);
  EventStreamDecoder decoder;
  std::vector<EventMessage> messages;
  for (char c : bytes) {
    messages.clear();
    EXPECT_TRUE(decoder.feed(std::string_view(&c, 1), messages));
    for (const auto& m : messages) {
      const std::size_t before = run.chunks.size();
      run.error = translator.translate(m, run.chunks);
      // each chunk exists as soon as its frame is decoded: at most one per message
      EXPECT_LE(run.chunks.size() - before, 1u);
      if (run.error) return run;
    }
  }
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  run.stopped = translator.stopped();
  return run;
}

TEST(BedrockConverseStream, ToolUseWithUsage) {
  const StreamRun run = run_stream(tool_use_stream(), true, true);
  ASSERT_FALSE(run.error) << run.error->message;
  EXPECT_TRUE(run.stopped);
  const std::vector<std::string_view> expected = {
      R"({"role":"assistant","content":""})",
      R"({"content":"Let me "})",
      R"({"content":"look."})",
      R"({"tool_calls":[{"index":0,"id":"tooluse_abc","type":"function","function":{"name":"get_weather","arguments":""}}]})",
      R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]})",
      R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]})",
      R"({})",
  };
  ASSERT_EQ(run.chunks.size(), expected.size() + 1);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const bj::object chunk = parse_object(run.chunks[i]);
    EXPECT_EQ(chunk.at("id"), "chatcmpl-test");
    EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
    EXPECT_EQ(chunk.at("created"), 1700000000);
    EXPECT_EQ(chunk.at("model"), "claude-haiku");
    EXPECT_FALSE(chunk.contains("usage"));
    const bj::object& choice = chunk.at("choices").at(0).as_object();
    EXPECT_EQ(choice.at("index"), 0);
    EXPECT_EQ(choice.at("delta"), bj::parse(expected[i])) << i << ": " << run.chunks[i];
    EXPECT_EQ(choice.at("finish_reason"),
              i + 1 == expected.size() ? bj::value("tool_calls") : bj::value(nullptr))
        << i;
  }
  EXPECT_EQ(bj::parse(run.chunks.back()), bj::parse(R"({"id":"chatcmpl-test","object":"chat.completion.chunk",
      "created":1700000000,"model":"claude-haiku","choices":[],
      "usage":{"prompt_tokens":25,"completion_tokens":17,"total_tokens":42}})"));
  EXPECT_EQ(run.meta.prompt_tokens, 25);
  EXPECT_EQ(run.meta.completion_tokens, 17);
  EXPECT_EQ(run.meta.finish_reasons, std::vector<std::string>{"tool_calls"});
  EXPECT_EQ(run.meta.id, "chatcmpl-test");
  EXPECT_EQ(run.meta.model, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(run.meta.completion_text, "Let me look.");
}

TEST(BedrockConverseStream, UsageOnlyInMetaWhenNotAskedFor) {
  const StreamRun run = run_stream(tool_use_stream(), false);
  ASSERT_FALSE(run.error);
  ASSERT_EQ(run.chunks.size(), 7u);
  for (const auto& c : run.chunks) EXPECT_EQ(c.find("usage"), std::string::npos) << c;
  EXPECT_EQ(run.meta.prompt_tokens, 25);
  EXPECT_EQ(run.meta.completion_tokens, 17);
}

TEST(BedrockConverseStream, TwoToolCallsGetTheirOwnIndexes) {
  std::string s = event_frame("messageStart", R"({"role":"assistant"})");
  s += event_frame("contentBlockStart",
                   R"({"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"a","name":"f"}}})");
  s += event_frame("contentBlockStart",
                   R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"b","name":"g"}}})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{}"}}})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"toolUse":{"input":"[]"}}})");
  s += event_frame("messageStop", R"({"stopReason":"tool_use"})");
  const StreamRun run = run_stream(s, false);
  ASSERT_FALSE(run.error);
  ASSERT_EQ(run.chunks.size(), 6u);
  auto call = [&](std::size_t i) {
    return parse_object(run.chunks[i]).at("choices").at(0).at("delta").at("tool_calls").at(0);
  };
  EXPECT_EQ(call(1).at("index"), 0);
  EXPECT_EQ(call(2).at("index"), 1);
  EXPECT_EQ(call(3).at("index"), 1);
  EXPECT_EQ(call(4).at("index"), 0);
}

TEST(BedrockConverseStream, ExceptionMidStreamEndsWithMappedError) {
  std::string s = event_frame("messageStart", R"({"role":"assistant"})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
  s += exception_frame(
      "throttlingException",
      R"({"message":"Too many requests, please wait before trying again. )" + std::string(kToken) + R"("})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"never"}})");
  const StreamRun run = run_stream(s, false);
  ASSERT_TRUE(run.error);
  EXPECT_EQ(run.chunks.size(), 2u);
  EXPECT_EQ(run.error->status, 429);
  EXPECT_EQ(run.error->type, "rate_limit_error");
  EXPECT_NE(run.error->message.find("Too many requests"), std::string::npos);
  expect_no_secret(*run.error);
  EXPECT_FALSE(run.stopped);
}

TEST(BedrockConverseStream, ExceptionTypes) {
  for (const auto& [type, status] : {std::pair<std::string_view, int>{"modelStreamErrorException", 502},
                                     {"internalServerException", 500},
                                     {"serviceUnavailableException", 503},
                                     {"validationException", 400},
                                     {"somethingNewException", 502}}) {
    const StreamRun run = run_stream(exception_frame(type, R"({"message":"it broke"})"), false);
    ASSERT_TRUE(run.error) << type;
    EXPECT_EQ(run.error->status, status) << type;
    EXPECT_EQ(run.error->message, "it broke") << type;
  }
  const std::string error_frame =
      encode_event_message({EventHeader::string_value(":message-type", "error"),
                            EventHeader::string_value(":error-code", "InternalFailure"),
                            EventHeader::string_value(":error-message", "frame error")},
                           "");
  const StreamRun run = run_stream(error_frame, false);
  ASSERT_TRUE(run.error);
  EXPECT_EQ(run.error->status, 502);
  EXPECT_EQ(run.error->message, "frame error");
}

TEST(BedrockConverseStream, EventThatIsNotJsonIs502) {
  const StreamRun run = run_stream(event_frame("contentBlockDelta", "not json"), false);
  ASSERT_TRUE(run.error);
  EXPECT_EQ(run.error->status, 502);
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

TEST(BedrockErrors, TypesFromTheErrorTypeHeader) {
  struct Case {
    std::string_view type;
    int status;
    std::string_view openai_type;
  };
  for (const Case& c :
       {Case{"ThrottlingException", 429, "rate_limit_error"},
        Case{"ServiceUnavailableException", 503, "api_error"},
        Case{"ModelNotReadyException", 503, "api_error"}, Case{"ModelTimeoutException", 504, "timeout_error"},
        Case{"ValidationException", 400, "invalid_request_error"},
        Case{"AccessDeniedException", 403, "permission_error"},
        Case{"UnrecognizedClientException", 401, "authentication_error"},
        Case{"InvalidSignatureException", 401, "authentication_error"},
        Case{"ExpiredTokenException", 401, "authentication_error"},
        Case{"ResourceNotFoundException", 404, "invalid_request_error"},
        Case{"InternalServerException", 500, "api_error"}}) {
    const std::string header = std::string(c.type) + ":http://internal.amazon.com/coral/com.amazon.bedrock/";
    const Error e =
        map_error(c.status == 504 ? 408 : 400, header, R"({"message":"the message"})", "", kSecrets);
    EXPECT_EQ(e.status, c.status) << c.type;
    EXPECT_EQ(e.type, c.openai_type) << c.type;
    EXPECT_EQ(e.message, "the message") << c.type;
    EXPECT_NE(e.code, "context_length_exceeded") << c.type;
  }
}

TEST(BedrockErrors, TypeFromTheBodyWhenNoHeader) {
  const Error e =
      map_error(400, "", R"({"__type":"com.amazon.coral.service#ExpiredTokenException","Message":"expired"})",
                "", kSecrets);
  EXPECT_EQ(e.status, 401);
  EXPECT_EQ(e.type, "authentication_error");
  EXPECT_EQ(e.message, "expired");
}

TEST(BedrockErrors, RetryAfterKeptOnThrottling) {
  const Error e = map_error(429, "ThrottlingException", R"({"message":"Too many requests"})", "3", kSecrets);
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.retry_after, "3");
  EXPECT_EQ(map_error(429, "ThrottlingException", "{}", "", kSecrets).retry_after, "");
}

TEST(BedrockErrors, InputTooLongIsContextLengthExceeded) {
  for (std::string_view message :
       {"Input is too long for requested model.", "too many input tokens: 250000 > 200000",
        "prompt is too long: 210000 tokens > 200000 maximum",
        "The model returned the following errors: Input is too long"}) {
    const std::string body = bj::serialize(bj::object{{"message", message}});
    const Error e = map_error(400, "ValidationException", body, "", kSecrets);
    EXPECT_EQ(e.status, 400) << message;
    EXPECT_EQ(e.code, "context_length_exceeded") << message;
    EXPECT_EQ(e.message, message);
  }
  const Error other =
      map_error(400, "ValidationException", R"({"message":"temperature must be at most 1"})", "", kSecrets);
  EXPECT_TRUE(other.code.empty());
}

TEST(BedrockErrors, UnknownTypesKeepTheStatus) {
  const Error e = map_error(418, "TeapotException", R"({"message":"short and stout"})", "", kSecrets);
  EXPECT_EQ(e.status, 418);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.message, "short and stout");
  const Error html = map_error(502, "", "<html>Bad Gateway</html>", "", kSecrets);
  EXPECT_EQ(html.status, 502);
  EXPECT_EQ(html.type, "api_error");
  EXPECT_EQ(html.message.find("html"), std::string::npos);
  EXPECT_NE(html.message.find("502"), std::string::npos);
}

TEST(BedrockErrors, NoCredentialInAnyMessage) {
  // A signature error echoes the canonical request, which carries the session token.
  const std::string echoed =
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
      "Access "
      "Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for "
      "this "
      "request should have been\n'POST\n/model/x/converse\n\nhost:bedrock-runtime.us-east-1.amazonaws.com\n"
      "x-amz-security-token:" +
      std::string(kToken) + "\n'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'\n";
  const Error sig = map_error(403, "InvalidSignatureException",
                              bj::serialize(bj::object{{"message", echoed}}), "", kSecrets);
  EXPECT_EQ(sig.status, 401);
  EXPECT_EQ(sig.message.find("Canonical"), std::string::npos) << sig.message;
  EXPECT_NE(sig.message.find("does not match"), std::string::npos);
  expect_no_secret(sig);
  // Any message that quotes a credential is scrubbed.
  const std::string quoting =
      "key " + std::string(kKeyId) + " secret " + std::string(kSecret) + " token " + std::string(kToken);
  const Error e =
      map_error(403, "AccessDeniedException", bj::serialize(bj::object{{"message", quoting}}), "", kSecrets);
  EXPECT_EQ(e.status, 403);
  expect_no_secret(e);
  EXPECT_NE(e.message.find("[redacted]"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// Deployment settings

config::Deployment deployment(std::string_view model_id, boost::json::object extra = {}) {
  config::Deployment d;
  d.model_name = "claude";
  d.params.model = "bedrock/" + std::string(model_id);
  d.params.provider = "bedrock";
  d.params.provider_model = std::string(model_id);
  d.params.extra = std::move(extra);
  d.info.id = "bedrock-0";
  return d;
}

config::EnvLookup env_of(std::vector<std::pair<std::string, std::string>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : vars) {
      if (k == name) return v;
    }
    return std::nullopt;
  };
}

TEST(BedrockDeployment, RegionOrder) {
  const auto env = env_of({{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "eu-central-1"}});
  EXPECT_EQ(region_for(deployment("m", {{"aws_region_name", "us-west-2"}}), env).value(), "us-west-2");
  EXPECT_EQ(region_for(deployment("m"), env).value(), "eu-west-1");
  EXPECT_EQ(region_for(deployment("m"), env_of({{"AWS_DEFAULT_REGION", "eu-central-1"}})).value(),
            "eu-central-1");
  EXPECT_EQ(
      region_for(deployment("arn:aws:bedrock:ap-south-1:123456789012:inference-profile/apac.x"), env).value(),
      "ap-south-1");
  const auto missing = region_for(deployment("m"), env_of({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().status, 500);
  EXPECT_EQ(missing.error().code, "missing_aws_region");
  EXPECT_NE(missing.error().message.find("aws_region_name"), std::string::npos);
  EXPECT_NE(missing.error().message.find("AWS_REGION"), std::string::npos);
  const auto invalid = region_for(deployment("m", {{"aws_region_name", "us-east-1.evil.com/"}}), env);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, "invalid_aws_region");
}

TEST(BedrockDeployment, EndpointAndPath) {
  EXPECT_EQ(endpoint_for(deployment("m"), "us-east-1"), "https://bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(endpoint_for(deployment("m", {{"aws_bedrock_runtime_endpoint", "https://vpce-1.example.com"}}),
                         "us-east-1"),
            "https://vpce-1.example.com");
  config::Deployment with_base =
      deployment("m", {{"aws_bedrock_runtime_endpoint", "https://vpce-1.example.com"}});
  with_base.params.api_base = "http://127.0.0.1:9999";
  EXPECT_EQ(endpoint_for(with_base, "us-east-1"), "http://127.0.0.1:9999");

  EXPECT_EQ(converse_path("", "anthropic.claude-3-haiku-20240307-v1:0", false),
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  EXPECT_EQ(converse_path("/base", "us.anthropic.claude-3-5-haiku-20241022-v1:0", true),
            "/base/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream");
  EXPECT_EQ(converse_path("", "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.meta.llama3-2-1b",
                          false),
            "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-1b/"
            "converse");
  EXPECT_EQ(model_id_for(deployment("converse/anthropic.claude-v2:1")), "anthropic.claude-v2:1");
}

// The upstream request: target, signed headers, the call's own headers after them, and the thread's recycled
// request reused from call to call (its header storage kept).
TEST(BedrockDeployment, RequestsAreSignedInTheThreadsRecycledOnes) {
  config::Deployment d =
      deployment("anthropic.claude-3-haiku-20240307-v1:0", {{"aws_region_name", "us-west-2"}});
  d.params.api_base = "http://127.0.0.1:9";
  bj::object body =
      bj::parse(R"({"model":"claude","messages":[{"role":"user","content":"hi"}]})").as_object();
  Call call;
  call.deployment = &d;
  call.body = &body;
  call.timeout = std::chrono::milliseconds(4321);
  call.upstream_headers.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  using test::header;
  const void* first_fields = nullptr;
  std::size_t spare = 0;
  {
    PreparedRequest first;
    ASSERT_TRUE(build_unsigned(call, first).ok());
    first.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1"};
    sign_request(call, first);
    first_fields = first.request->headers.begin();
    spare = Recycled<http::ClientRequest>::spare_count();
  }
  EXPECT_EQ(Recycled<http::ClientRequest>::spare_count(), spare + 1);  // handed back when done with
  PreparedRequest p;
  EXPECT_EQ(Recycled<http::ClientRequest>::spare_count(), spare);  // and taken again
  ASSERT_TRUE(build_unsigned(call, p).ok());
  p.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1"};
  sign_request(call, p);
  const http::ClientRequest& r = *p.request;
  EXPECT_EQ(static_cast<const void*>(r.headers.begin()), first_fields);  // the same header storage
  EXPECT_EQ(r.target, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  EXPECT_EQ(r.origin->host, "127.0.0.1");
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(4321));
  EXPECT_EQ(p.region, "us-west-2");
  EXPECT_EQ(bj::parse(r.body).at("messages").at(0).at("content").at(0).at("text"), "hi");
  EXPECT_EQ(header(r, "content-type"), "application/json");
  EXPECT_EQ(header(r, "accept"), "application/json");
  EXPECT_EQ(header(r, "x-amz-security-token"), "session-token-1");
  EXPECT_TRUE(header(r, "authorization").starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
      << header(r, "authorization");
  EXPECT_NE(header(r, "authorization").find("/us-west-2/bedrock/aws4_request"), std::string::npos);
  EXPECT_EQ(header(r, "traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(header(r, "authorization").find("wJalrXUtnFEMI"), std::string::npos)
      << "the secret key is never sent";
}

// ---- credentials ----

// Sets (or with nullptr unsets) the AWS credential variables for one test, restoring them after.
class AwsEnv {
 public:
  AwsEnv(const char* key_id, const char* secret, const char* token) {
    for (const char* name : kNames) {
      const char* v = ::getenv(name);
      saved_.emplace_back(v ? std::optional<std::string>(v) : std::nullopt);
    }
    set("AWS_ACCESS_KEY_ID", key_id);
    set("AWS_SECRET_ACCESS_KEY", secret);
    set("AWS_SESSION_TOKEN", token);
  }
  ~AwsEnv() {
    for (std::size_t i = 0; i < 3; ++i) set(kNames[i], saved_[i] ? saved_[i]->c_str() : nullptr);
  }

 private:
  static void set(const char* name, const char* value) {
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  static constexpr const char* kNames[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
  std::vector<std::optional<std::string>> saved_;
};

TEST(BedrockCredentials, FromParamsFirst) {
  const AwsEnv env("AKIDFROMENVIRONMENT1", "env-secret-value-123", nullptr);
  const config::Deployment d = deployment(
      "m",
      {{"aws_access_key_id", kKeyId}, {"aws_secret_access_key", kSecret}, {"aws_session_token", kToken}});
  const auto c = run(credentials_for(d));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().access_key_id, kKeyId);
  EXPECT_EQ(c.value().secret_access_key, kSecret);
  EXPECT_EQ(c.value().session_token, kToken);
}

// The environment, profile, web identity, container and instance-metadata sources, each with an injected
// environment, are tested in aws_credentials_test.cpp.

}  // namespace
}  // namespace sy::providers::bedrock
