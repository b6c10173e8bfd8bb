// Unit tests for the one-pass lookup of a request body's members (api/request_fields.h) and the generation
// parameters read from them.
#include "api/request_fields.h"

#include <string_view>

#include <gtest/gtest.h>
#include <boost/json.hpp>

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
