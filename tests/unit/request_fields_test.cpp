// Unit tests for the one-pass lookup of a request body's members (api/request_fields.h), the generation
// parameters read from them, and chat requests read by the scanner without a parse.
#include "api/request_fields.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "api/inference.h"

namespace sy::api {
namespace {

namespace bj = boost::json;

TEST(RequestFieldsTest, FindsEveryMemberItReadsAndOnlyThose) {
  const bj::object body = bj::parse(R"({"model":"m","stream":true,"stream_options":{"include_usage":true},
      "num_retries":2,"timeout":1.5,"fallbacks":["b"],"messages":[],"prompt":"p","input":"i","max_tokens":7,
      "max_completion_tokens":8,"temperature":0.5,"top_p":1,"user":"u","modelx":1,"tools":[],"n":1})")
                              .as_object();
  const RequestFields f = RequestFields::of(body);
  // Each pointer is the member with that key, in the body itself.
  EXPECT_EQ(f.model, body.if_contains("model"));
  EXPECT_EQ(f.stream, body.if_contains("stream"));
  EXPECT_EQ(f.stream_options, body.if_contains("stream_options"));
  EXPECT_EQ(f.num_retries, body.if_contains("num_retries"));
  EXPECT_EQ(f.timeout, body.if_contains("timeout"));
  EXPECT_EQ(f.fallbacks, body.if_contains("fallbacks"));
  EXPECT_EQ(f.messages, body.if_contains("messages"));
  EXPECT_EQ(f.prompt, body.if_contains("prompt"));
  EXPECT_EQ(f.input, body.if_contains("input"));
  EXPECT_EQ(f.max_tokens, body.if_contains("max_tokens"));
  EXPECT_EQ(f.max_completion_tokens, body.if_contains("max_completion_tokens"));
  EXPECT_EQ(f.temperature, body.if_contains("temperature"));
  EXPECT_EQ(f.top_p, body.if_contains("top_p"));
  EXPECT_EQ(f.model->as_string(), "m");
  EXPECT_EQ(f.top_p->as_int64(), 1);
}

TEST(RequestFieldsTest, AbsentMembersAndLookalikeKeysAreNull) {
  // Keys of the same length as a read one, or differing only in case, are not it.
  const RequestFields f = RequestFields::of(
      bj::parse(R"({"Model":"m","modem":1,"streams":true,"top_k":3,"MAX_TOKENS":5})").as_object());
  EXPECT_EQ(f.model, nullptr);
  EXPECT_EQ(f.input, nullptr);
  EXPECT_EQ(f.top_p, nullptr);
  EXPECT_EQ(f.stream, nullptr);
  EXPECT_EQ(f.max_tokens, nullptr);
  EXPECT_EQ(f.messages, nullptr);
  EXPECT_EQ(RequestFields::of(bj::object()).model, nullptr);
}

GenAiParameters parameters(std::string_view body) {
  return GenAiParameters::of(RequestFields::of(bj::parse(body).as_object()));
}

TEST(RequestFieldsTest, GenAiParametersPreferMaxCompletionTokensAndTakeNumbersOnly) {
  GenAiParameters p = parameters(R"({"max_tokens":7,"max_completion_tokens":8,"temperature":1,"top_p":0.25,
      "stream":true})");
  EXPECT_EQ(p.max_tokens, 8);
  EXPECT_EQ(p.temperature, 1.0);  // an integer temperature is recorded as a double
  EXPECT_EQ(p.top_p, 0.25);
  EXPECT_TRUE(p.stream);

  p = parameters(R"({"max_tokens":18446744073709551615})");  // past int64: kept as its bits, like before
  ASSERT_TRUE(p.max_tokens.has_value());
  EXPECT_EQ(static_cast<std::uint64_t>(*p.max_tokens), 18446744073709551615ULL);

  p = parameters(R"({"max_tokens":1.5,"temperature":"hot","top_p":null,"stream":"yes"})");
  EXPECT_FALSE(p.max_tokens.has_value());  // not an integer
  EXPECT_FALSE(p.temperature.has_value());
  EXPECT_FALSE(p.top_p.has_value());
  EXPECT_FALSE(p.stream);

  p = parameters("{}");
  EXPECT_FALSE(p.max_tokens || p.temperature || p.top_p || p.stream);
}

}  // namespace
}  // namespace sy::api

// ---- chat requests read by the scanner (scan_chat_request) ----

namespace sy::api {
namespace {

// A scanned request must say what the document path says: validation passes, and the model, stream flag
// and generation parameters are the document's.
void expect_same_as_document(std::string_view text) {
  SCOPED_TRACE(std::string(text));
  const std::optional<ScannedChat> scanned = scan_chat_request(text);
  ASSERT_TRUE(scanned.has_value());
  const bj::object doc = bj::parse(text).as_object();
  const RequestFields fields = RequestFields::of(doc);
  EXPECT_FALSE(validate_request(providers::Endpoint::chat_completions, fields).has_value());
  EXPECT_EQ(scanned->model, fields.model->as_string());
  EXPECT_EQ(bj::parse(scanned->model_value).as_string(), fields.model->as_string());
  EXPECT_EQ(scanned->model_value.data() - text.data(),
            static_cast<std::ptrdiff_t>(text.find(scanned->model_value)));  // a view into the text
  const GenAiParameters p = GenAiParameters::of(fields);
  EXPECT_EQ(scanned->stream, p.stream);
  EXPECT_EQ(scanned->parameters.stream, p.stream);
  EXPECT_EQ(scanned->parameters.max_tokens, p.max_tokens);
  EXPECT_EQ(scanned->parameters.temperature, p.temperature);
  EXPECT_EQ(scanned->parameters.top_p, p.top_p);
}

TEST(ScanChatRequestTest, ReadsWhatTheDocumentPathReads) {
  expect_same_as_document(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  expect_same_as_document(
      R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"x"}]}],"max_tokens":64,"temperature":0.2,"top_p":1,"stream":true})");
  expect_same_as_document(
      R"( { "model" : "m" , "messages" : [ { "content" : "caf\u00e9 \n", "role" : "user" } ] , "stream" : null } )");
  expect_same_as_document(
      R"({"model":"m","messages":[{"role":"user"}],"max_tokens":7,"max_completion_tokens":9,"stream":false})");
  expect_same_as_document(
      R"({"model":"m","messages":[{"role":"user"}],"max_tokens":1.5,"temperature":"hot"})");
  expect_same_as_document(R"({"model":"m","messages":[{"role":"user"}],"max_tokens":18446744073709551615})");
  expect_same_as_document(R"({"model":"m","messages":[{"role":"user"}],"temperature":-1e-3,"top_p":2E2})");
  expect_same_as_document(
      R"({"model":"m","messages":[{"role":"user"}],"max_tokens":null,"tools":[{"a":{}}]})");
}

TEST(ScanChatRequestTest, LeavesToTheDocumentWhatItCannotVouchFor) {
  for (const std::string_view text : {
           // not a scanned JSON object
           R"(not json)",
           R"([1])",
           R"({"model":"m","messages":[{"role":"user"}]} x)",
           R"({"model":"m","messages":[{"role":"user","content":"\ud83d\ude00"}]})",  // a surrogate escape
           // keys with escapes or twice
           R"({"mod\u0065l":"m","messages":[{"role":"user"}]})",
           R"({"model":"m","model":"n","messages":[{"role":"user"}]})",
           R"({"model":"m","messages":[{"role":"user"}],"user":"a","user":"b"})",
           // what validation refuses
           R"({"messages":[{"role":"user"}]})",
           R"({"model":"","messages":[{"role":"user"}]})",
           R"({"model":42,"messages":[{"role":"user"}]})",
           R"({"model":"m\"x","messages":[{"role":"user"}]})",
           R"({"model":"m","messages":[{"role":"user"}],"stream":"true"})",
           R"({"model":"m"})",
           R"({"model":"m","messages":[]})",
           R"({"model":"m","messages":{}})",
           R"({"model":"m","messages":[1]})",
           R"({"model":"m","messages":[{"content":"x"}]})",
           R"({"model":"m","messages":[{"role":1}]})",
           R"({"model":"m","messages":[{"role":"user","role":"system"}]})",
           R"({"model":"m","messages":[{"r\u006fle":"user"}]})",
           // what only the document path handles
           R"({"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":true}})",
           R"({"model":"m","messages":[{"role":"user"}],"num_retries":1})",
           R"({"model":"m","messages":[{"role":"user"}],"timeout":3})",
           R"({"model":"m","messages":[{"role":"user"}],"fallbacks":["b"]})",
           R"({"model":"m","messages":[{"role":"user"}],"temperature":1e999})",
           // numbers the parser reads its own way (found by tests/fuzz/chat_scan_fuzz.cpp)
           R"({"model":"m","messages":[{"role":"user"}],"top_p":-0E615})",
           R"({"model":"m","messages":[{"role":"user"}],"top_p":0.1000000000000000000000001})",
           R"({"model":"m","messages":[{"role":"user"}],"n":18e4467440737095})",
           R"({"model":"m","messages":[{"role":"user"}],"temperature":123456789012345678901234567890})",
       }) {
    EXPECT_FALSE(scan_chat_request(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace sy::api

namespace sy::api {
namespace {

TEST(ScanChatRequestTest, WithoutParametersOnlyTheStreamFlagIsRead) {
  const std::string_view text =
      R"({"model":"m","messages":[{"role":"user"}],"max_tokens":5,"temperature":1e999,"stream":true})";
  const std::optional<ScannedChat> bare = scan_chat_request(text, false);
  ASSERT_TRUE(bare.has_value());  // an out-of-range number matters only to the spans
  EXPECT_TRUE(bare->stream);
  EXPECT_TRUE(bare->parameters.stream);
  EXPECT_FALSE(bare->parameters.max_tokens || bare->parameters.temperature || bare->parameters.top_p);
  EXPECT_FALSE(scan_chat_request(text).has_value());
}

}  // namespace
}  // namespace sy::api
