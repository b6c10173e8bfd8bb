// Unit tests for the client-facing dialects: Anthropic's Messages API translated to and from the OpenAI
// shapes the gateway routes (requests, whole answers, streams, errors), and OpenAI's own dialect, whose bytes
// must stay exactly what the OpenAI endpoints always sent.
#include "api/anthropic_dialect.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "api/messages.h"
#include "http/sse.h"

namespace sy::api::anthropic {
namespace {

namespace bj = boost::json;

bj::object parse(std::string_view text) {
  return bj::parse(text).as_object();
}

// Translates a request that must translate; the result as a JSON value for comparison.
bj::value translate(std::string_view request, RequestInfo* info_out = nullptr,
                    RequestKind kind = RequestKind::messages) {
  RequestInfo info;
  auto result = to_openai_request(parse(request), kind, info);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  if (info_out) *info_out = info;
  return result.ok() ? bj::value(std::move(result.value())) : bj::value();
}

Error rejection(std::string_view request, RequestKind kind = RequestKind::messages) {
  RequestInfo info;
  auto result = to_openai_request(parse(request), kind, info);
  EXPECT_FALSE(result.ok()) << "translated: " << (result.ok() ? bj::serialize(result.value()) : "");
  return result.ok() ? Error{} : result.error();
}

void expect_rejected(std::string_view request, std::string_view param, std::string_view message_part) {
  const Error e = rejection(request);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.param, param);
  EXPECT_NE(e.message.find(message_part), std::string::npos) << e.message;
  EXPECT_EQ(error_json(e).find("\"invalid_request_error\"") != std::string::npos, true);
}

struct Event {
  std::string event;
  bj::value data;
};

std::vector<Event> events_of(std::string_view wire) {
  http::SseReader reader;
  std::vector<http::SseEvent> raw;
  EXPECT_TRUE(reader.feed(wire, raw));
  std::vector<Event> out;
  for (auto& e : raw) out.push_back({e.event, bj::parse(e.data)});
  return out;
}

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.event);
  return out;
}

// ---- requests ----

TEST(AnthropicRequestTest, MinimalRequestWithSystemString) {
  RequestInfo info;
  const bj::value out = translate(
      R"({"model":"claude-x","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":"hi"}]})",
      &info);
  EXPECT_EQ(out, bj::parse(R"({"model":"claude-x","messages":[{"role":"system","content":"be brief"},
      {"role":"user","content":"hi"}],"max_tokens":100})"));
  EXPECT_EQ(info.model, "claude-x");
  EXPECT_TRUE(info.stop_sequences.empty());
}

TEST(AnthropicRequestTest, SystemBlocksJoinedIntoOneSystemMessage) {
  const bj::value out = translate(R"({"model":"m","max_tokens":1,"system":[{"type":"text","text":"one"},
      {"type":"text","text":"two","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"q"}]})");
  EXPECT_EQ(out.at("messages").at(0), bj::parse(R"({"role":"system","content":"one\ntwo"})"));
  expect_rejected(
      R"({"model":"m","max_tokens":1,"system":[{"type":"image"}],"messages":[{"role":"user","content":"q"}]})",
      "system.0.type", "'text'");
  expect_rejected(R"({"model":"m","max_tokens":1,"system":5,"messages":[{"role":"user","content":"q"}]})",
                  "system", "Input should be");
}

TEST(AnthropicRequestTest, SamplingParametersStopSequencesUserAndStream) {
  RequestInfo info;
  const bj::value out = translate(R"({"model":"m","max_tokens":64,"messages":[{"role":"user","content":"q"}],
      "stop_sequences":["END","###"],"temperature":0.5,"top_p":0.9,"top_k":40,"metadata":{"user_id":"u-42"},
      "stream":true,"service_tier":"auto","num_retries":2,"timeout":30,"fallbacks":["other"]})",
                                  &info);
  EXPECT_EQ(out, bj::parse(R"({"model":"m","messages":[{"role":"user","content":"q"}],"max_tokens":64,
      "stream":true,"stream_options":{"include_usage":true},"stop":["END","###"],"temperature":0.5,"top_p":0.9,
      "user":"u-42","num_retries":2,"timeout":30,"fallbacks":["other"]})"));
  EXPECT_EQ(info.stop_sequences, (std::vector<std::string>{"END", "###"}));
}

TEST(AnthropicRequestTest, StreamFalseAndNullsAreLeftOut) {
  const bj::value out = translate(R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":"q"}],
      "stream":false,"temperature":null,"stop_sequences":[],"metadata":{"user_id":null},"tools":[],
      "tool_choice":{"type":"auto"},"thinking":{"type":"disabled"}})");
  EXPECT_EQ(out, bj::parse(R"({"model":"m","messages":[{"role":"user","content":"q"}],"max_tokens":8})"));
}

TEST(AnthropicRequestTest, UserContentBlocks) {
  const bj::value out = translate(R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":[
      {"type":"text","text":"what is this?","cache_control":{"type":"ephemeral"}},
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
      {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}},
      {"type":"document","title":"spec.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},
      {"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain notes"}}]}]})");
  EXPECT_EQ(out.at("messages"), bj::parse(R"([{"role":"user","content":[
      {"type":"text","text":"what is this?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}},
      {"type":"file","file":{"filename":"spec.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},
      {"type":"text","text":"plain notes"}]}])"));
}

TEST(AnthropicRequestTest, SingleTextBlockBecomesAString) {
  const bj::value out = translate(
      R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},
      {"role":"assistant","content":[{"type":"text","text":"hello"}]},{"role":"user","content":"more"}]})");
  EXPECT_EQ(out.at("messages"), bj::parse(R"([{"role":"user","content":"hi"},
      {"role":"assistant","content":"hello"},{"role":"user","content":"more"}])"));
}

TEST(AnthropicRequestTest, ToolUseAndToolResultsBecomeToolCallsAndToolMessages) {
  const bj::value out = translate(R"({"model":"m","max_tokens":8,"messages":[
      {"role":"user","content":"weather in Paris and Rome?"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},
        {"type":"text","text":"Checking."},
        {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
        {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_1","content":"18C sunny"},
        {"type":"tool_result","tool_use_id":"toolu_2","is_error":true,
         "content":[{"type":"text","text":"service down"},{"type":"text","text":"retry later"}]},
        {"type":"text","text":"and tomorrow?"}]}]})");
  EXPECT_EQ(out.at("messages"), bj::parse(R"([
      {"role":"user","content":"weather in Paris and Rome?"},
      {"role":"assistant","content":"Checking.","tool_calls":[
        {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
      {"role":"tool","tool_call_id":"toolu_1","content":"18C sunny"},
      {"role":"tool","tool_call_id":"toolu_2","content":"Error: service down\nretry later"},
      {"role":"user","content":"and tomorrow?"}])"));
}

TEST(AnthropicRequestTest, ToolOnlyTurnsAndToolResultImages) {
  const bj::value out = translate(R"({"model":"m","max_tokens":8,"messages":[
      {"role":"user","content":"screenshot please"},
      {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"shot","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[
        {"type":"text","text":"done"},
        {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}}]}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"t2","name":"noop"}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t2"},{"type":"tool_result","tool_use_id":"t2b","is_error":true}]}]})");
  EXPECT_EQ(out.at("messages"), bj::parse(R"([
      {"role":"user","content":"screenshot please"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"t1","type":"function","function":{"name":"shot","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"t1","content":"done"},
      {"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}]},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"t2","type":"function","function":{"name":"noop","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"t2","content":""},
      {"role":"tool","tool_call_id":"t2b","content":"Error"}])"));
}

TEST(AnthropicRequestTest, ToolsAndToolChoice) {
  const std::string base =
      R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":"q"}],"tools":[
      {"name":"get_weather","description":"Weather of a city","input_schema":{"type":"object",
       "properties":{"city":{"type":"string"}},"required":["city"]},"cache_control":{"type":"ephemeral"}},
      {"type":"custom","name":"noop","input_schema":{"type":"object"}}])";
  const bj::value out = translate(base + "}");
  EXPECT_EQ(out.at("tools"), bj::parse(R"([
      {"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":
        {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
      {"type":"function","function":{"name":"noop","parameters":{"type":"object"}}}])"));
  EXPECT_FALSE(out.as_object().contains("tool_choice"));

  const auto choice = [&](std::string_view tool_choice) {
    return translate(base + R"(,"tool_choice":)" + std::string(tool_choice) + "}").as_object();
  };
  EXPECT_EQ(choice(R"({"type":"auto"})").at("tool_choice"), "auto");
  EXPECT_EQ(choice(R"({"type":"any"})").at("tool_choice"), "required");
  EXPECT_EQ(choice(R"({"type":"none"})").at("tool_choice"), "none");
  EXPECT_EQ(choice(R"({"type":"tool","name":"noop"})").at("tool_choice"),
            bj::parse(R"({"type":"function","function":{"name":"noop"}})"));
  const bj::object serial = choice(R"({"type":"auto","disable_parallel_tool_use":true})");
  EXPECT_EQ(serial.at("parallel_tool_calls"), false);
  EXPECT_FALSE(choice(R"({"type":"any"})").contains("parallel_tool_calls"));
}

TEST(AnthropicRequestTest, MaxTokensIsRequiredForMessages) {
  expect_rejected(R"({"model":"m","messages":[{"role":"user","content":"q"}]})", "max_tokens",
                  "max_tokens: Field required");
  expect_rejected(R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"q"}]})", "max_tokens",
                  "at least 1");
  expect_rejected(R"({"model":"m","max_tokens":"10","messages":[{"role":"user","content":"q"}]})",
                  "max_tokens", "integer");
  const Error e = rejection(R"({"model":"m","messages":[{"role":"user","content":"q"}]})");
  EXPECT_EQ(
      error_json(e),
      R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}})");
}

TEST(AnthropicRequestTest, MalformedRequestsNameTheField) {
  expect_rejected(R"({"max_tokens":1,"messages":[{"role":"user","content":"q"}]})", "model",
                  "Field required");
  expect_rejected(R"({"model":"m","max_tokens":1})", "messages", "Field required");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[]})", "messages", "At least one message");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"system","content":"q"}]})",
                  "messages.0.role", "'user' or 'assistant'");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user"}]})", "messages.0.content",
                  "Field required");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]})",
                  "messages.0.content.0.text", "Field required");
  expect_rejected(
      R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"search_result"}]}]})",
      "messages.0.content.0.type", "not supported");
  expect_rejected(
      R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]})",
      "messages.0.content.0.source.type", "not supported");
  expect_rejected(
      R"({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":[1]}]}]})",
      "messages.0.content.0.input", "dictionary");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"stream":"yes"})",
                  "stream", "boolean");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"top_k":0.5})",
                  "top_k", "integer");
  expect_rejected(
      R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"stop_sequences":"END"})",
      "stop_sequences", "list");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],
      "tools":[{"name":"t"}]})",
                  "tools.0.input_schema", "Field required");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],
      "tools":[{"type":"web_search_20250305","name":"web_search"}]})",
                  "tools.0.type", "web_search_20250305");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],
      "tools":[{"name":"t","input_schema":{}}],"tool_choice":{"type":"tool"}})",
                  "tool_choice.name", "Field required");
  expect_rejected(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],
      "tool_choice":{"type":"sometimes"}})",
                  "tool_choice.type", "'auto', 'any', 'tool' or 'none'");
}

TEST(AnthropicRequestTest, ExtendedThinkingIsRejected) {
  expect_rejected(R"({"model":"m","max_tokens":2048,"messages":[{"role":"user","content":"q"}],
      "thinking":{"type":"enabled","budget_tokens":1024}})",
                  "thinking", "Extended thinking is not supported");
}

TEST(AnthropicRequestTest, CountTokensNeedsNoMaxTokens) {
  const bj::value out = translate(R"({"model":"m","system":"s","messages":[{"role":"user","content":"q"}],
      "tools":[{"name":"t","input_schema":{"type":"object"}}]})",
                                  nullptr, RequestKind::count_tokens);
  EXPECT_EQ(out, bj::parse(R"({"model":"m","messages":[{"role":"system","content":"s"},
      {"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"t",
      "parameters":{"type":"object"}}}]})"));
  EXPECT_EQ(count_tokens_body(parse(R"({"model":"m","max_tokens":5,"stream":true,"system":"s","num_retries":1,
      "messages":[{"role":"user","content":"q"}],"tool_choice":{"type":"auto"},"tools":[],"thinking":null})")),
            parse(R"({"model":"m","messages":[{"role":"user","content":"q"}],"system":"s","tools":[],
      "tool_choice":{"type":"auto"},"thinking":null})"));
}

TEST(AnthropicRequestTest, EstimateCountsMessagesToolsAndToolCalls) {
  const bj::object plain = translate(R"({"model":"m","messages":[{"role":"user","content":"12345678"}]})",
                                     nullptr, RequestKind::count_tokens)
                               .as_object();
  EXPECT_EQ(estimate_input_tokens(plain), 4 + 2);
  const bj::object with_tools = translate(R"({"model":"m","messages":[{"role":"user","content":"12345678"}],
      "tools":[{"name":"lookup","description":"Looks things up in a long list","input_schema":{"type":"object"}}]})",
                                          nullptr, RequestKind::count_tokens)
                                    .as_object();
  EXPECT_GT(estimate_input_tokens(with_tools), estimate_input_tokens(plain) + 10);
}

// ---- whole answers ----

TEST(AnthropicResponseTest, TextAnswer) {
  RequestInfo info{"asked-model", {}};
  auto out = to_anthropic_message(R"({"id":"chatcmpl-abc123","object":"chat.completion","created":1,
      "model":"group-a","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null},
      "logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})",
                                  info);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(bj::parse(out.value()), bj::parse(R"({"id":"msg_abc123","type":"message","role":"assistant",
      "model":"group-a","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,
      "usage":{"input_tokens":12,"output_tokens":3}})"));
}

TEST(AnthropicResponseTest, ToolCallsBecomeToolUseBlocks) {
  auto out = to_anthropic_message(R"({"id":"chatcmpl-t","choices":[{"index":0,"message":{"role":"assistant",
      "content":"Let me look.","tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"call_2","type":"function","function":{"name":"noop","arguments":""}},
        {"id":"call_3","type":"function","function":{"name":"broken","arguments":"{\"city\":"}}]},
      "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":100,"completion_tokens":20,
      "prompt_tokens_details":{"cached_tokens":64}}})",
                                  RequestInfo{"m", {}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(bj::parse(out.value()),
            bj::parse(R"({"id":"msg_t","type":"message","role":"assistant","model":"m",
      "content":[{"type":"text","text":"Let me look."},
        {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
        {"type":"tool_use","id":"call_2","name":"noop","input":{}},
        {"type":"tool_use","id":"call_3","name":"broken","input":{"arguments":"{\"city\":"}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":36,"output_tokens":20,"cache_read_input_tokens":64}})"));
}

TEST(AnthropicResponseTest, StopReasons) {
  const auto reason = [](std::string_view choice, const RequestInfo& info = {}) {
    auto out = to_anthropic_message(R"({"id":"x","choices":[)" + std::string(choice) + "]}", info);
    EXPECT_TRUE(out.ok());
    const bj::object m = bj::parse(out.value()).as_object();
    return std::make_pair(std::string(m.at("stop_reason").as_string()), m.at("stop_sequence"));
  };
  EXPECT_EQ(reason(R"({"message":{"content":"a"},"finish_reason":"length"})").first, "max_tokens");
  EXPECT_EQ(reason(R"({"message":{"content":"a"},"finish_reason":"content_filter"})").first, "refusal");
  EXPECT_EQ(
      reason(R"({"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"})")
          .first,
      "refusal");
  EXPECT_EQ(reason(R"({"message":{"content":"a"},"finish_reason":null})").first, "end_turn");
  // A stop sequence is only known when the upstream names it (vLLM's stop_reason).
  const RequestInfo with_stop{"m", {"END"}};
  EXPECT_EQ(reason(R"({"message":{"content":"a"},"finish_reason":"stop"})", with_stop).first, "end_turn");
  const auto matched =
      reason(R"({"message":{"content":"a"},"finish_reason":"stop","stop_reason":"END"})", with_stop);
  EXPECT_EQ(matched.first, "stop_sequence");
  EXPECT_EQ(matched.second, "END");
  EXPECT_EQ(
      reason(R"({"message":{"content":"a"},"finish_reason":"stop","stop_reason":128001})", with_stop).first,
      "end_turn");

  EXPECT_EQ(stop_reason("stop"), "end_turn");
  EXPECT_EQ(stop_reason("length"), "max_tokens");
  EXPECT_EQ(stop_reason("tool_calls"), "tool_use");
  EXPECT_EQ(stop_reason("function_call"), "tool_use");
  EXPECT_EQ(stop_reason("content_filter"), "refusal");
}

TEST(AnthropicResponseTest, ContentPartsAndEmptyContent) {
  auto parts = to_anthropic_message(
      R"({"id":"x","choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
      "finish_reason":"stop"}]})",
      RequestInfo{"m", {}});
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(bj::parse(parts.value()).at("content"), bj::parse(R"([{"type":"text","text":"a\nb"}])"));
  auto empty =
      to_anthropic_message(R"({"id":"x","choices":[{"message":{"content":""},"finish_reason":"stop"}]})", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(bj::parse(empty.value()).at("content"), bj::array());
  EXPECT_EQ(bj::parse(empty.value()).at("usage"), bj::parse(R"({"input_tokens":0,"output_tokens":0})"));
}

TEST(AnthropicResponseTest, NotAChatCompletionIsABadGateway) {
  for (std::string_view body : {"[]", "not json", R"({"object":"list","data":[]})", R"({"choices":[]})",
                                R"({"choices":[{"text":"legacy"}]})"}) {
    auto out = to_anthropic_message(body, {});
    ASSERT_FALSE(out.ok()) << body;
    EXPECT_EQ(out.error().status, 502);
    EXPECT_EQ(error_type(out.error()), "api_error");
  }
}

TEST(AnthropicResponseTest, MessageIds) {
  EXPECT_EQ(message_id("chatcmpl-AbC123"), "msg_AbC123");
  EXPECT_EQ(message_id("msg_01XYZ"), "msg_01XYZ");
  EXPECT_EQ(message_id("gen-42"), "msg_gen-42");
  const std::string fresh = message_id("");
  EXPECT_TRUE(fresh.starts_with("msg_"));
  EXPECT_GT(fresh.size(), 4u);
  EXPECT_NE(fresh, message_id(""));
}

// ---- streams ----

std::string chunk(std::string_view delta, std::string_view finish = "null", std::string_view usage = "") {
  std::string out = R"({"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1,"model":"group-a",)";
  out += R"("choices":[{"index":0,"delta":)" + std::string(delta) + R"(,"logprobs":null,"finish_reason":)" +
         std::string(finish) + "}]";
  if (!usage.empty()) out += R"(,"usage":)" + std::string(usage);
  return out + "}";
}

TEST(AnthropicStreamTest, TextStreamGolden) {
  const RequestInfo info{"asked", {}};
  StreamTranslator t(info);
  std::string wire;
  t.chunk(chunk(R"({"role":"assistant","content":""})", "null", "null"), wire);
  t.chunk(chunk(R"({"content":"Hel"})", "null", "null"), wire);
  t.chunk(chunk(R"({"content":"lo"})", "null", "null"), wire);
  t.chunk(chunk(R"({})", R"("stop")", "null"), wire);
  t.chunk(R"({"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1,"model":"group-a","choices":[],
      "usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})",
          wire);
  t.finish(wire);
  EXPECT_EQ(wire,
            "event: message_start\n"
            R"(data: {"type":"message_start","message":{"id":"msg_s1","type":"message","role":"assistant",)"
            R"("model":"group-a","content":[],"stop_reason":null,"stop_sequence":null,)"
            R"("usage":{"input_tokens":0,"output_tokens":0}}})"
            "\n\n"
            "event: content_block_start\n"
            R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
            "\n\n"
            "event: content_block_delta\n"
            R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})"
            "\n\n"
            "event: content_block_delta\n"
            R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}})"
            "\n\n"
            "event: content_block_stop\n"
            R"(data: {"type":"content_block_stop","index":0})"
            "\n\n"
            "event: message_delta\n"
            R"(data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
            R"("usage":{"input_tokens":9,"output_tokens":2}})"
            "\n\n"
            "event: message_stop\n"
            R"(data: {"type":"message_stop"})"
            "\n\n");
}

TEST(AnthropicStreamTest, ToolCallsStreamAsToolUseBlocks) {
  const RequestInfo info{"asked", {}};
  StreamTranslator t(info);
  std::string wire;
  t.chunk(chunk(R"({"role":"assistant","content":"Checking."})"), wire);
  t.chunk(chunk(R"({"tool_calls":[{"index":0,"id":"call_a","type":"function",
      "function":{"name":"get_weather","arguments":""}}]})"),
          wire);
  t.chunk(chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]})"), wire);
  t.chunk(chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]})"), wire);
  t.chunk(chunk(R"({"tool_calls":[{"index":1,"id":"call_b","type":"function",
      "function":{"name":"noop","arguments":"{}"}}]})"),
          wire);
  t.chunk(chunk(R"({})", R"("tool_calls")"), wire);
  t.chunk(R"({"id":"chatcmpl-s1","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":17,
      "prompt_tokens_details":{"cached_tokens":32}}})",
          wire);
  t.finish(wire);

  const auto events = events_of(wire);
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_stop", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "content_block_start",
                                      "content_block_delta", "content_block_stop", "message_delta",
                                      "message_stop"}));
  for (const auto& e : events) EXPECT_EQ(e.data.at("type"), bj::value(e.event)) << e.event;
  EXPECT_EQ(events[1].data, bj::parse(R"({"type":"content_block_start","index":0,
      "content_block":{"type":"text","text":""}})"));
  EXPECT_EQ(events[4].data, bj::parse(R"({"type":"content_block_start","index":1,
      "content_block":{"type":"tool_use","id":"call_a","name":"get_weather","input":{}}})"));
  EXPECT_EQ(events[5].data, bj::parse(R"({"type":"content_block_delta","index":1,
      "delta":{"type":"input_json_delta","partial_json":"{\"city\":"}})"));
  EXPECT_EQ(events[6].data.at("delta").at("partial_json"), "\"Paris\"}");
  EXPECT_EQ(events[7].data, bj::parse(R"({"type":"content_block_stop","index":1})"));
  EXPECT_EQ(events[8].data.at("index"), 2);
  EXPECT_EQ(events[8].data.at("content_block").at("id"), "call_b");
  EXPECT_EQ(events[9].data.at("delta").at("partial_json"), "{}");
  EXPECT_EQ(events[11].data, bj::parse(R"({"type":"message_delta","delta":{"stop_reason":"tool_use",
      "stop_sequence":null},"usage":{"input_tokens":18,"output_tokens":17,"cache_read_input_tokens":32}})"));
}

TEST(AnthropicStreamTest, UsageOnTheFirstChunkGoesIntoMessageStart) {
  const RequestInfo info{"asked", {}};
  StreamTranslator t(info);
  std::string wire;
  t.chunk(
      chunk(R"({"role":"assistant","content":"x"})", "null", R"({"prompt_tokens":21,"completion_tokens":1})"),
      wire);
  t.chunk(chunk(R"({})", R"("length")", R"({"prompt_tokens":21,"completion_tokens":5})"), wire);
  t.finish(wire);
  const auto events = events_of(wire);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].data.at("message").at("usage"), bj::parse(R"({"input_tokens":21,"output_tokens":1})"));
  EXPECT_EQ(events[4].data.at("delta").at("stop_reason"), "max_tokens");
  EXPECT_EQ(events[4].data.at("usage"), bj::parse(R"({"input_tokens":21,"output_tokens":5})"));
}

TEST(AnthropicStreamTest, TextAfterAToolCallOpensANewBlockAndRefusalsAndStopSequences) {
  const RequestInfo info{"asked", {"STOP"}};
  StreamTranslator t(info);
  std::string wire;
  t.chunk(chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"n","arguments":"{}"}}]})"), wire);
  t.chunk(chunk(R"({"content":"after"})"), wire);
  t.chunk(
      R"({"id":"chatcmpl-s1","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"STOP"}]})",
      wire);
  t.finish(wire);
  auto events = events_of(wire);
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_stop", "content_block_start", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(events[4].data.at("index"), 1);
  EXPECT_EQ(events[7].data.at("delta"),
            bj::parse(R"({"stop_reason":"stop_sequence","stop_sequence":"STOP"})"));
  // No usage chunk: output_tokens 0, input_tokens left out.
  EXPECT_EQ(events[7].data.at("usage"), bj::parse(R"({"output_tokens":0})"));

  StreamTranslator refusing(info);
  wire.clear();
  refusing.chunk(chunk(R"({"refusal":"I can't."})"), wire);
  refusing.chunk(chunk(R"({})", R"("stop")"), wire);
  refusing.finish(wire);
  events = events_of(wire);
  EXPECT_EQ(events[2].data.at("delta").at("text"), "I can't.");
  EXPECT_EQ(events.at(4).data.at("delta").at("stop_reason"), "refusal");
}

TEST(AnthropicStreamTest, EmptyStreamStillFramesAMessage) {
  const RequestInfo info{"asked", {}};
  StreamTranslator t(info);
  std::string wire;
  t.finish(wire);
  const auto events = events_of(wire);
  EXPECT_EQ(names(events), (std::vector<std::string>{"message_start", "message_delta", "message_stop"}));
  EXPECT_EQ(events[0].data.at("message").at("model"), "asked");
  EXPECT_TRUE(events[0].data.at("message").at("id").as_string().starts_with("msg_"));
}

TEST(AnthropicStreamTest, MidStreamErrorEvent) {
  std::string wire;
  StreamTranslator::error(Error{529, "overloaded_error", "Overloaded", {}, {}, {}}, wire);
  EXPECT_EQ(wire,
            "event: error\n"
            R"(data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"
            "\n\n");
}

// ---- errors ----

TEST(AnthropicErrorTest, TypesAndStatuses) {
  const auto type_of = [](int status, std::string type = "x", std::string code = {}) {
    return std::string(error_type(Error{status, std::move(type), "m", std::move(code), {}, {}}));
  };
  EXPECT_EQ(type_of(400), "invalid_request_error");
  EXPECT_EQ(type_of(401), "authentication_error");
  EXPECT_EQ(type_of(403), "permission_error");
  EXPECT_EQ(type_of(404), "not_found_error");
  EXPECT_EQ(type_of(405), "invalid_request_error");
  EXPECT_EQ(type_of(413), "request_too_large");
  EXPECT_EQ(type_of(422), "invalid_request_error");
  EXPECT_EQ(type_of(429), "rate_limit_error");
  EXPECT_EQ(type_of(500), "api_error");
  EXPECT_EQ(type_of(501), "api_error");
  EXPECT_EQ(type_of(502), "api_error");
  EXPECT_EQ(type_of(503), "overloaded_error");
  EXPECT_EQ(type_of(504), "api_error");
  EXPECT_EQ(type_of(529), "overloaded_error");
  EXPECT_EQ(type_of(500, "overloaded_error"), "overloaded_error");

  // An unknown model is Anthropic's 404 not_found_error.
  const Error unknown = invalid_request("Invalid model name passed in model=x.", "model", "model_not_found");
  EXPECT_EQ(error_status(unknown), 404);
  EXPECT_EQ(error_type(unknown), "not_found_error");
  const Error limited{429, "rate_limit_error", "slow down", "rate_limit_exceeded", {}, "7"};
  EXPECT_EQ(error_status(limited), 429);
  EXPECT_EQ(error_json(limited),
            R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})");
}

TEST(AnthropicDialectTest, TranslatesInPlaceAndAnswersInAnthropicShapes) {
  AnthropicDialect dialect;
  bj::monotonic_resource arena;
  bj::value body = bj::parse(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"}],
      "stop_sequences":["Z"]})",
                             &arena);
  EXPECT_FALSE(dialect.translate_request(body).has_value());
  EXPECT_EQ(body, bj::parse(R"({"model":"m","messages":[{"role":"user","content":"q"}],"max_tokens":5,
      "stop":["Z"]})"));
  EXPECT_EQ(body.storage().get(), static_cast<bj::memory_resource*>(&arena));  // moved, not copied

  const Answer whole = dialect.response(
      200,
      R"({"id":"chatcmpl-1","model":"m","choices":[{"message":{"content":"a"},"finish_reason":"stop"}]})");
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(bj::parse(whole.body).at("id"), "msg_1");
  const Answer bad = dialect.response(200, "[]");
  EXPECT_EQ(bad.status, 502);
  EXPECT_EQ(bj::parse(bad.body).at("error").at("type"), "api_error");

  bj::value missing = bj::parse(R"({"model":"m","messages":[{"role":"user","content":"q"}]})");
  const auto rejected = dialect.translate_request(missing);
  ASSERT_TRUE(rejected.has_value());
  const Answer error = dialect.error_response(*rejected);
  EXPECT_EQ(error.status, 400);
  EXPECT_EQ(error.body, error_json(*rejected));
}

// ---- OpenAI's dialect: the bytes the OpenAI endpoints always sent ----

TEST(OpenAiDialectTest, PassesThroughAndFramesAsBefore) {
  Dialect& dialect = openai_dialect();
  bj::value body = bj::parse(R"({"model":"m","messages":[]})");
  const bj::value before = body;
  EXPECT_FALSE(dialect.translate_request(body).has_value());
  EXPECT_EQ(body, before);
  const Answer whole = dialect.response(200, R"({"id":"x"})");
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body, R"({"id":"x"})");

  std::string wire;
  dialect.chunk_frames(R"({"id":"c"})", wire);
  dialect.end_frames(wire);
  EXPECT_EQ(wire, "data: {\"id\":\"c\"}\n\ndata: [DONE]\n\n");

  const Error e{502, "api_error", "broke", "upstream_error", {}, {}};
  wire.clear();
  dialect.error_frame(e, wire);
  EXPECT_EQ(wire, "data: " + e.to_json() + "\n\n");
  const Answer error = dialect.error_response(e);
  EXPECT_EQ(error.status, 502);
  EXPECT_EQ(error.body, e.to_json());
}

}  // namespace
}  // namespace sy::api::anthropic
