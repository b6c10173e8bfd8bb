// Unit tests for mapping an upstream (OpenAI-compatible) error response to the error the client sees.
#include "providers/openai/openai_provider.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace sy::providers {
namespace {

namespace bj = boost::json;

constexpr std::string_view kSecret = "sk-proj-abcdef0123456789";

TEST(MapUpstreamErrorTest, OpenAiErrorBodyKept) {
  const std::string body = R"({"error":{"message":"This model's maximum context length is 8192 tokens.",
    "type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})";
  Error e = map_upstream_error(400, body, "", kSecret);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.message, "This model's maximum context length is 8192 tokens.");
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.param, "messages");
  EXPECT_EQ(e.code, "context_length_exceeded");
  EXPECT_TRUE(e.retry_after.empty());

  bj::value v = bj::parse(e.to_json());
  EXPECT_EQ(v.at("error").at("code").as_string(), "context_length_exceeded");
  EXPECT_EQ(v.at("error").at("param").as_string(), "messages");
}

TEST(MapUpstreamErrorTest, StatusKept) {
  const std::string body = R"({"error":{"message":"nope","type":"server_error"}})";
  for (int status : {400, 401, 403, 404, 409, 422, 429, 500, 502, 503}) {
    Error e = map_upstream_error(status, body, "", kSecret);
    EXPECT_EQ(e.status, status);
    EXPECT_EQ(e.message, "nope");
    EXPECT_EQ(e.type, "server_error");
  }
}

TEST(MapUpstreamErrorTest, NullParamAndCodeStayEmpty) {
  const std::string body =
      R"({"error":{"message":"Invalid key","type":"invalid_request_error","param":null,"code":null}})";
  Error e = map_upstream_error(401, body, "", kSecret);
  EXPECT_EQ(e.status, 401);
  EXPECT_EQ(e.message, "Invalid key");
  EXPECT_TRUE(e.param.empty());
  EXPECT_TRUE(e.code.empty());
  bj::value v = bj::parse(e.to_json());
  EXPECT_TRUE(v.at("error").at("param").is_null());
  EXPECT_TRUE(v.at("error").at("code").is_null());
}

TEST(MapUpstreamErrorTest, IntegerCodeKept) {
  Error e = map_upstream_error(400, R"({"error":{"message":"m","type":"t","code":400}})", "", kSecret);
  EXPECT_EQ(e.code, "400");
}

TEST(MapUpstreamErrorTest, NonJsonBodyGivesGenericMessage) {
  Error e = map_upstream_error(502, "<html><body>Bad Gateway</body></html>", "", kSecret);
  EXPECT_EQ(e.status, 502);
  EXPECT_NE(e.message.find("502"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("html"), std::string::npos) << e.message;
  EXPECT_EQ(e.type, "api_error");
}

TEST(MapUpstreamErrorTest, EmptyBodyGivesGenericMessage) {
  Error e = map_upstream_error(404, "", "", kSecret);
  EXPECT_EQ(e.status, 404);
  EXPECT_NE(e.message.find("404"), std::string::npos) << e.message;
  EXPECT_EQ(e.type, "invalid_request_error");
}

TEST(MapUpstreamErrorTest, JsonWithoutErrorObjectGivesGenericMessage) {
  for (std::string_view body : {R"({"detail":"Not Found"})", R"({"error":"plain string"})", R"([1,2,3])"}) {
    Error e = map_upstream_error(500, body, "", kSecret);
    EXPECT_EQ(e.status, 500);
    EXPECT_NE(e.message.find("500"), std::string::npos) << body << " -> " << e.message;
    EXPECT_EQ(e.type, "api_error") << body;
  }
}

TEST(MapUpstreamErrorTest, DefaultTypes) {
  EXPECT_EQ(map_upstream_error(429, "{}", "", kSecret).type, "rate_limit_error");
  EXPECT_EQ(map_upstream_error(429, R"({"error":{"message":"slow down"}})", "", kSecret).type,
            "rate_limit_error");
  EXPECT_EQ(map_upstream_error(500, "", "", kSecret).type, "api_error");
  EXPECT_EQ(map_upstream_error(503, "", "", kSecret).type, "api_error");
  EXPECT_EQ(map_upstream_error(400, "", "", kSecret).type, "invalid_request_error");
  EXPECT_EQ(map_upstream_error(401, "", "", kSecret).type, "invalid_request_error");
  // A type the upstream sent wins over the default.
  EXPECT_EQ(map_upstream_error(429, R"({"error":{"message":"m","type":"tokens"}})", "", kSecret).type,
            "tokens");
}

TEST(MapUpstreamErrorTest, RetryAfterKept) {
  Error e = map_upstream_error(429, R"({"error":{"message":"Rate limit reached","type":"requests"}})", "20",
                               kSecret);
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.retry_after, "20");
  EXPECT_EQ(e.message, "Rate limit reached");
  Error e2 = map_upstream_error(503, "busy", "Wed, 21 Oct 2015 07:28:00 GMT", kSecret);
  EXPECT_EQ(e2.retry_after, "Wed, 21 Oct 2015 07:28:00 GMT");
}

TEST(MapUpstreamErrorTest, SecretRedactedFromMessage) {
  const std::string body =
      R"({"error":{"message":"Incorrect API key provided: sk-proj-abcdef0123456789. Retry with sk-proj-abcdef0123456789!","type":"invalid_request_error","code":"invalid_api_key"}})";
  Error e = map_upstream_error(401, body, "", kSecret);
  EXPECT_EQ(e.message.find(kSecret), std::string::npos) << e.message;
  EXPECT_EQ(e.message, "Incorrect API key provided: [redacted]. Retry with [redacted]!");
  EXPECT_EQ(e.code, "invalid_api_key");
  EXPECT_EQ(e.to_json().find(kSecret), std::string::npos);
}

TEST(MapUpstreamErrorTest, MessageUntouchedWithoutSecret) {
  const std::string body =
      R"({"error":{"message":"Incorrect API key provided: sk-proj-****6789.","type":"x"}})";
  EXPECT_EQ(map_upstream_error(401, body, "", kSecret).message,
            "Incorrect API key provided: sk-proj-****6789.");
  EXPECT_EQ(map_upstream_error(401, body, "", "").message, "Incorrect API key provided: sk-proj-****6789.");
}

TEST(MapUpstreamErrorTest, SecretOverlappingReplacementTerminates) {
  // A key that occurs inside the replacement text itself must not make redaction loop forever. Run in a child
  // process with an alarm, so a regression fails this test instead of hanging the whole suite.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        alarm(2);
        Error e = map_upstream_error(401, R"({"error":{"message":"bad key redacted here"}})", "", "redacted");
        std::_Exit(e.message == "bad key [redacted] here" ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace sy::providers
