// Unit tests for request validation of the inference endpoints: each failure names the offending field.
#include "api/inference.h"

#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace sy::api {
namespace {

namespace bj = boost::json;
using providers::Endpoint;

bj::object parse(std::string_view text) {
  return bj::parse(text).as_object();
}

std::optional<Error> validate(Endpoint e, std::string_view body) {
  return validate_request(e, parse(body));
}

void expect_error(const std::optional<Error>& error, std::string_view code, std::string_view param) {
  ASSERT_TRUE(error.has_value()) << "expected an error " << code << " for " << param;
  EXPECT_EQ(error->status, 400);
  EXPECT_EQ(error->type, "invalid_request_error");
  EXPECT_EQ(error->code, code);
  EXPECT_EQ(error->param, param);
  EXPECT_FALSE(error->message.empty());
  EXPECT_NE(error->message.find(std::string(param)), std::string::npos) << error->message;
}

void expect_ok(const std::optional<Error>& error) {
  EXPECT_FALSE(error.has_value()) << (error ? error->to_json() : "");
}

// ---- every endpoint: model and stream ----

TEST(ValidateRequestTest, PerRequestRoutingFields) {
  const auto chat = [](std::string_view extra) {
    return validate(Endpoint::chat_completions,
                    std::string(R"({"model":"m","messages":[{"role":"user","content":"hi"}])") +
                        std::string(extra) + "}");
  };
  expect_ok(chat(R"(,"num_retries":0,"timeout":1.5,"fallbacks":["a","b"])"));
  expect_ok(chat(R"(,"num_retries":null,"timeout":null,"fallbacks":null)"));
  expect_error(chat(R"(,"num_retries":-1)"), "invalid_type", "num_retries");
  expect_error(chat(R"(,"num_retries":1.5)"), "invalid_type", "num_retries");
  expect_error(chat(R"(,"num_retries":101)"), "invalid_type", "num_retries");
  expect_error(chat(R"(,"timeout":0)"), "invalid_type", "timeout");
  expect_error(chat(R"(,"timeout":"10")"), "invalid_type", "timeout");
  expect_error(chat(R"(,"fallbacks":"b")"), "invalid_type", "fallbacks");
  expect_error(chat(R"(,"fallbacks":[{"b":["c"]}])"), "invalid_type", "fallbacks");
}

TEST(ValidateRequestTest, MissingModel) {
  expect_error(validate(Endpoint::chat_completions, R"({"messages":[{"role":"user","content":"hi"}]})"),
               "missing_required_parameter", "model");
  expect_error(validate(Endpoint::completions, R"({"prompt":"hi"})"), "missing_required_parameter", "model");
  expect_error(validate(Endpoint::embeddings, R"({"input":"hi"})"), "missing_required_parameter", "model");
}

TEST(ValidateRequestTest, ModelWrongType) {
  for (Endpoint e : {Endpoint::chat_completions, Endpoint::completions, Endpoint::embeddings}) {
    expect_error(validate(e, R"({"model":42,"messages":[{"role":"user"}],"prompt":"p","input":"i"})"),
                 "invalid_type", "model");
    expect_error(validate(e, R"({"model":null,"messages":[{"role":"user"}],"prompt":"p","input":"i"})"),
                 "invalid_type", "model");
    expect_error(validate(e, R"({"model":["a"],"messages":[{"role":"user"}],"prompt":"p","input":"i"})"),
                 "invalid_type", "model");
  }
}

TEST(ValidateRequestTest, ModelEmptyString) {
  expect_error(validate(Endpoint::chat_completions, R"({"model":"","messages":[{"role":"user"}]})"),
               "invalid_type", "model");
}

TEST(ValidateRequestTest, StreamMustBeBool) {
  expect_error(
      validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user"}],"stream":"true"})"),
      "invalid_type", "stream");
  expect_error(
      validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user"}],"stream":1})"),
      "invalid_type", "stream");
  expect_error(validate(Endpoint::completions, R"({"model":"m","prompt":"p","stream":{}})"), "invalid_type",
               "stream");
  expect_error(validate(Endpoint::embeddings, R"({"model":"m","input":"i","stream":[]})"), "invalid_type",
               "stream");
}

TEST(ValidateRequestTest, StreamBoolOrNullAccepted) {
  expect_ok(
      validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user"}],"stream":true})"));
  expect_ok(
      validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user"}],"stream":false})"));
  expect_ok(
      validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user"}],"stream":null})"));
}

// ---- chat completions ----

TEST(ValidateRequestTest, ChatMissingMessages) {
  expect_error(validate(Endpoint::chat_completions, R"({"model":"m"})"), "missing_required_parameter",
               "messages");
}

TEST(ValidateRequestTest, ChatMessagesWrongType) {
  expect_error(validate(Endpoint::chat_completions, R"({"model":"m","messages":"hi"})"), "invalid_type",
               "messages");
  expect_error(validate(Endpoint::chat_completions, R"({"model":"m","messages":{"role":"user"}})"),
               "invalid_type", "messages");
  expect_error(validate(Endpoint::chat_completions, R"({"model":"m","messages":null})"), "invalid_type",
               "messages");
}

TEST(ValidateRequestTest, ChatEmptyMessages) {
  auto error = validate(Endpoint::chat_completions, R"({"model":"m","messages":[]})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400);
  EXPECT_EQ(error->param, "messages");
  EXPECT_EQ(error->code, "invalid_value");
}

TEST(ValidateRequestTest, ChatMessageNotObject) {
  expect_error(validate(Endpoint::chat_completions, R"({"model":"m","messages":["hello"]})"), "invalid_type",
               "messages[0]");
  expect_error(validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user"},42]})"),
               "invalid_type", "messages[1]");
}

TEST(ValidateRequestTest, ChatMessageMissingRole) {
  expect_error(validate(Endpoint::chat_completions,
                        R"({"model":"m","messages":[{"role":"system","content":"s"},{"content":"x"}]})"),
               "missing_required_parameter", "messages[1].role");
  expect_error(validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"content":"x"}]})"),
               "missing_required_parameter", "messages[0].role");
}

TEST(ValidateRequestTest, ChatMessageRoleWrongType) {
  expect_error(validate(Endpoint::chat_completions,
                        R"({"model":"m","messages":[{"role":"user"},{"role":"user"},{"role":7}]})"),
               "invalid_type", "messages[2].role");
}

TEST(ValidateRequestTest, ChatValid) {
  expect_ok(validate(Endpoint::chat_completions,
                     R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})"));
  expect_ok(validate(Endpoint::chat_completions,
                     R"({"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},
                        {"role":"user","content":[{"type":"text","text":"hi"}]}],
                        "stream":true,"stream_options":{"include_usage":true},"temperature":0.2})"));
}

// ---- completions ----

TEST(ValidateRequestTest, CompletionsMissingPrompt) {
  expect_error(validate(Endpoint::completions, R"({"model":"m"})"), "missing_required_parameter", "prompt");
  // messages do not stand in for a prompt
  expect_error(validate(Endpoint::completions, R"({"model":"m","messages":[{"role":"user"}]})"),
               "missing_required_parameter", "prompt");
}

TEST(ValidateRequestTest, CompletionsPromptWrongType) {
  expect_error(validate(Endpoint::completions, R"({"model":"m","prompt":5})"), "invalid_type", "prompt");
  expect_error(validate(Endpoint::completions, R"({"model":"m","prompt":{"text":"x"}})"), "invalid_type",
               "prompt");
  expect_error(validate(Endpoint::completions, R"({"model":"m","prompt":null})"), "invalid_type", "prompt");
}

TEST(ValidateRequestTest, CompletionsValid) {
  expect_ok(validate(Endpoint::completions, R"({"model":"m","prompt":"Once upon a time"})"));
  expect_ok(validate(Endpoint::completions, R"({"model":"m","prompt":["a","b"],"stream":true})"));
}

// ---- embeddings ----

TEST(ValidateRequestTest, EmbeddingsMissingInput) {
  expect_error(validate(Endpoint::embeddings, R"({"model":"m"})"), "missing_required_parameter", "input");
}

TEST(ValidateRequestTest, EmbeddingsInputWrongType) {
  expect_error(validate(Endpoint::embeddings, R"({"model":"m","input":3})"), "invalid_type", "input");
  expect_error(validate(Endpoint::embeddings, R"({"model":"m","input":{"a":1}})"), "invalid_type", "input");
  expect_error(validate(Endpoint::embeddings, R"({"model":"m","input":true})"), "invalid_type", "input");
}

TEST(ValidateRequestTest, EmbeddingsEmptyInputArray) {
  auto error = validate(Endpoint::embeddings, R"({"model":"m","input":[]})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "input");
  EXPECT_EQ(error->code, "invalid_value");
}

TEST(ValidateRequestTest, EmbeddingsValid) {
  expect_ok(validate(Endpoint::embeddings, R"({"model":"m","input":"hello"})"));
  expect_ok(validate(Endpoint::embeddings, R"({"model":"m","input":["a","b"],"dimensions":8})"));
  expect_ok(validate(Endpoint::embeddings, R"({"model":"m","input":[[1,2,3]],"encoding_format":"base64"})"));
}

TEST(ValidateRequestTest, ModelCheckedBeforeEndpointFields) {
  // Both model and messages are missing: the model is reported first.
  expect_error(validate(Endpoint::chat_completions, R"({})"), "missing_required_parameter", "model");
}

TEST(ValidateRequestTest, ErrorSerializesInOpenAiShape) {
  auto error = validate(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user"},{}]})");
  ASSERT_TRUE(error.has_value());
  bj::value v = bj::parse(error->to_json());
  const auto& e = v.at("error").as_object();
  EXPECT_EQ(e.at("param").as_string(), "messages[1].role");
  EXPECT_EQ(e.at("code").as_string(), "missing_required_parameter");
  EXPECT_EQ(e.at("type").as_string(), "invalid_request_error");
}

}  // namespace
}  // namespace sy::api
