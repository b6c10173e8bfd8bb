// Unit tests for the rewriting of OpenAI stream chunks (providers/openai/chunk_rewriter.h): the scanned path
// replaces only the top-level model and keeps every other byte; whatever it cannot vouch for takes the full
// parse, with the same result.
#include "providers/openai/chunk_rewriter.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace sy::providers::openai {
namespace {

namespace bj = boost::json;

constexpr std::string_view kPublic = "public-model";

struct Outcome {
  Rewrite result;
  std::string out;
  ResponseMeta meta;
  bool scanned;  // took the scanner's path
};

Outcome rewrite(std::string_view chunk, bool strip_usage = false, bool capture = false,
                std::string_view public_model = kPublic) {
  Outcome o;
  ChunkRewriter rewriter(RewriteOptions{public_model, &o.meta, strip_usage, capture});
  o.result = rewriter.rewrite(chunk, o.out);
  o.scanned = rewriter.scanned() == 1;
  EXPECT_EQ(rewriter.scanned() + rewriter.parsed(), 1u);
  return o;
}

// The full parse's answer, for comparison.
Outcome parsed(std::string_view chunk, bool strip_usage = false, bool capture = false) {
  Outcome o;
  o.result = rewrite_document(chunk, RewriteOptions{kPublic, &o.meta, strip_usage, capture}, o.out);
  o.scanned = false;
  return o;
}

TEST(ChunkRewriterTest, ReplacesOnlyTheTopLevelModel) {
  const std::string chunk =
      R"({"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024","choices":[{"index":0,)"
      R"("delta":{"content":"the model said","model":"nested"},"model":"in-choice","finish_reason":null}],)"
      R"("extra":{"model":"deeper"}})";
  const Outcome o = rewrite(chunk);
  EXPECT_EQ(o.result, Rewrite::ok);
  EXPECT_TRUE(o.scanned);
  std::string expected = chunk;
  expected.replace(expected.find("\"gpt-4o-2024\""), 13, "\"public-model\"");
  EXPECT_EQ(o.out, expected);
  EXPECT_EQ(o.meta.model, "gpt-4o-2024");
  EXPECT_EQ(o.meta.id, "c1");
  EXPECT_TRUE(o.meta.finish_reasons.empty());
}

TEST(ChunkRewriterTest, KeepsEscapesWhitespaceAndNumbersAsTheyCame) {
  const std::string chunk =
      "{ \"id\" : \"c2\" ,\t\"model\" :  \"m\" , \"created\": 1.50E+9, \"choices\" : [ { \"delta\" : "
      "{ \"content\" : \"line\\nbreak \\\"quoted\\\" \\u00e9 \\/ caf\xC3\xA9\" } } ] }";
  const Outcome o = rewrite(chunk);
  EXPECT_TRUE(o.scanned);
  std::string expected = chunk;
  expected.replace(expected.find("\"m\""), 3, "\"public-model\"");
  EXPECT_EQ(o.out, expected);
  EXPECT_EQ(bj::parse(o.out), bj::parse(parsed(chunk).out));
}

TEST(ChunkRewriterTest, ModelWhereverItStandsAndWhateverItHolds) {
  for (std::string_view chunk : {
           R"({"model":"m","choices":[]})",
           R"({"choices":[],"model":"m"})",
           R"({"model":null})",
           R"({"model":{"name":"m"},"x":1})",
           R"({"model":42})",
       }) {
    const Outcome o = rewrite(chunk);
    EXPECT_TRUE(o.scanned) << chunk;
    EXPECT_EQ(bj::parse(o.out), bj::parse(parsed(chunk).out)) << chunk;
    EXPECT_EQ(bj::parse(o.out).at("model"), bj::value(kPublic)) << chunk;
  }
}

TEST(ChunkRewriterTest, NoModelNoChange) {
  const std::string chunk = R"({"id":"c3","choices":[{"delta":{"model":"nested"}}]})";
  const Outcome o = rewrite(chunk);
  EXPECT_TRUE(o.scanned);
  EXPECT_EQ(o.out, chunk);
}

TEST(ChunkRewriterTest, PublicNameIsWrittenAsAJsonString) {
  const Outcome o = rewrite(R"({"model":"m"})", false, false, "my \"quoted\" \\ model");
  EXPECT_TRUE(o.scanned);
  EXPECT_EQ(bj::parse(o.out).at("model"), bj::value("my \"quoted\" \\ model"));
}

TEST(ChunkRewriterTest, WhatTheScannerCannotVouchForIsParsed) {
  for (std::string_view chunk : {
           R"({"mod\u0065l":"m","choices":[]})",                          // a top-level key with an escape
           R"({"model":"a","model":"b"})",                                // a repeated key
           "{\"model\":\"m\",\n\"choices\":[]}",                          // spread over lines
           R"({"model":"m","choices":[{"finish_reason":"st\u006fp"}]})",  // an escaped finish reason
           R"({"model":"m","choices":[{"finish\u005freason":"stop"}]})",  // an escaped key in a choice
           R"({"id":"c\"4","model":"m"})",                                // an id to note, with an escape
           R"({"model":"m","text":"\ud83d\ude00"})",                      // a surrogate pair
       }) {
    const Outcome o = rewrite(chunk);
    EXPECT_FALSE(o.scanned) << chunk;
    const Outcome p = parsed(chunk);
    EXPECT_EQ(o.result, p.result) << chunk;
    EXPECT_EQ(o.out, p.out) << chunk;
    EXPECT_EQ(o.meta.id, p.meta.id) << chunk;
    EXPECT_EQ(o.meta.finish_reasons, p.meta.finish_reasons) << chunk;
  }
  // The parsed path rewrites what the key means, escapes or not.
  EXPECT_EQ(bj::parse(rewrite(R"({"mod\u0065l":"m"})").out).at("model"), bj::value(kPublic));
  // One line on the wire, whatever the upstream sent.
  EXPECT_EQ(rewrite("{\"model\":\"m\",\n\"choices\":[]}").out.find('\n'), std::string::npos);
}

TEST(ChunkRewriterTest, NotJsonAndErrorEvents) {
  EXPECT_EQ(rewrite("not json").result, Rewrite::not_json);
  EXPECT_EQ(rewrite(R"({"model":"m")").result, Rewrite::not_json);
  EXPECT_EQ(rewrite(R"(["model"])").result, Rewrite::not_json);
  const Outcome e = rewrite(R"({"error":{"message":"overloaded","type":"server_error"}})");
  EXPECT_EQ(e.result, Rewrite::error_event);
  EXPECT_TRUE(e.scanned);
}

TEST(ChunkRewriterTest, FinishReasonsAndMetaNotedOnce) {
  ResponseMeta meta;
  ChunkRewriter rewriter(RewriteOptions{kPublic, &meta, false, false});
  std::string out;
  rewriter.rewrite(R"({"id":"first","model":"up-1","choices":[{"index":0,"finish_reason":null}]})", out);
  rewriter.rewrite(R"({"id":"second","model":"up-2","choices":[{"index":0,"finish_reason":"stop"},)"
                   R"({"index":1,"finish_reason":"length"},"not an object",{"index":2}]})",
                   out);
  EXPECT_EQ(rewriter.scanned(), 2u);
  EXPECT_EQ(meta.id, "first");
  EXPECT_EQ(meta.model, "up-1");
  EXPECT_EQ(meta.finish_reasons, (std::vector<std::string>{"stop", "length"}));
  EXPECT_EQ(meta.prompt_tokens, -1);
}

TEST(ChunkRewriterTest, FinishReasonsWhateverTheSpacingOrNeighbours) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"({"choices":[{"index":0,"finish_reason" : "stop" }]})", {"stop"}},
      {R"({"choices":[{"delta":{"content":"finish_reason"},"finish_reason":null}]})", {}},
      {R"({"choices":[{"delta":{"content":"\"finish_reason\": \"x\""},"finish_reason": null}]})", {}},
      {R"({"choices":[{"delta":{"content":"caf\u00e9"},"finish_reason":"length"}]})", {"length"}},
      {R"({"choices":[{"delta":{"finish_reason":"nested"},"finish_reason":null}]})", {}},
      {R"({"choices":[{"finish_reason":null},{"finish_reason":"stop"}]})", {"stop"}},
  };
  for (const auto& [chunk, reasons] : cases) {
    const Outcome o = rewrite(chunk);
    EXPECT_TRUE(o.scanned) << chunk;
    EXPECT_EQ(o.meta.finish_reasons, reasons) << chunk;
    EXPECT_EQ(o.meta.finish_reasons, parsed(chunk).meta.finish_reasons) << chunk;
  }
}

TEST(ChunkRewriterTest, NullUsageStrippedWhereverItStands) {
  for (std::string_view chunk : {
           R"({"usage":null,"model":"m","choices":[{"delta":{}}]})",
           R"({"model":"m","usage":null,"choices":[{"delta":{}}]})",
           R"({"model":"m","choices":[{"delta":{}}], "usage" : null })",
           R"({ "usage":null })",
       }) {
    const Outcome o = rewrite(chunk, /*strip_usage=*/true);
    EXPECT_TRUE(o.scanned) << chunk;
    EXPECT_EQ(o.result, Rewrite::ok) << chunk;
    EXPECT_EQ(o.out.find("usage"), std::string::npos) << o.out;
    EXPECT_EQ(bj::parse(o.out), bj::parse(parsed(chunk, true).out)) << chunk;
  }
  // Kept when the client asked for usage.
  const std::string kept = R"({"model":"m","usage":null,"choices":[]})";
  EXPECT_EQ(rewrite(kept).out, R"({"model":"public-model","usage":null,"choices":[]})");
}

TEST(ChunkRewriterTest, UsageCountsAreReadFromTheScan) {
  const std::string usage_chunk =
      R"({"id":"u","model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}})";
  const Outcome kept = rewrite(usage_chunk);
  EXPECT_TRUE(kept.scanned);
  EXPECT_EQ(kept.result, Rewrite::ok);
  EXPECT_EQ(kept.meta.prompt_tokens, 9);
  EXPECT_EQ(kept.meta.completion_tokens, 4);
  std::string expected = usage_chunk;
  expected.replace(expected.find("\"m\""), 3, "\"public-model\"");
  EXPECT_EQ(kept.out, expected);

  const Outcome dropped = rewrite(usage_chunk, /*strip_usage=*/true);
  EXPECT_TRUE(dropped.scanned);
  EXPECT_EQ(dropped.result, Rewrite::drop);
  EXPECT_EQ(dropped.meta.prompt_tokens, 9);
  EXPECT_EQ(dropped.meta.completion_tokens, 4);

  // Usage on a chunk that also has choices: the chunk stays, without usage.
  const Outcome erased = rewrite(
      R"({"model":"m","choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}})",
      true);
  EXPECT_TRUE(erased.scanned);
  EXPECT_EQ(erased.result, Rewrite::ok);
  EXPECT_FALSE(bj::parse(erased.out).as_object().contains("usage"));
  EXPECT_EQ(erased.meta.finish_reasons, std::vector<std::string>{"stop"});
  EXPECT_EQ(erased.meta.prompt_tokens, 1);
  EXPECT_EQ(erased.meta.completion_tokens, 2);
}

// Token counts the scan reads exactly as the full parse does, or leaves to it.
TEST(ChunkRewriterTest, UsageCountsAgreeWithTheParse) {
  struct Case {
    std::string_view usage;
    bool scanned;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"prompt_tokens":0,"completion_tokens":123456789012})", true},
           {R"({"completion_tokens":5})", true},                         // prompt unknown: -1
           {R"({"prompt_tokens":"7","completion_tokens":null})", true},  // not integers: -1
           {R"({"prompt_tokens":7.0,"completion_tokens":1e2})", true},   // doubles to the parser: -1
           {R"({"prompt_tokens":-3,"completion_tokens":2})", true},
           {R"({ "prompt_tokens" : 7 , "details" : {"prompt_tokens": 99} })",
            true},              // nested keys do not count
           {R"([1,2])", true},  // not an object: nothing
           {R"("none")", true},
           {R"({"prompt_tokens":18446744073709551615})", false},  // beyond int64
           {R"({"prompt_tokens":1,"prompt_tokens":2})", false},   // repeated
           {R"({"prompt_tok\u0065ns":1})", false},                // escaped key
       }) {
    const std::string doc = std::string(R"({"model":"m","choices":[],"usage":)") + std::string(c.usage) + "}";
    const Outcome o = rewrite(doc);
    const Outcome p = parsed(doc);
    EXPECT_EQ(o.scanned, c.scanned) << doc;
    EXPECT_EQ(o.result, p.result) << doc;
    EXPECT_EQ(o.meta.prompt_tokens, p.meta.prompt_tokens) << doc;
    EXPECT_EQ(o.meta.completion_tokens, p.meta.completion_tokens) << doc;
    EXPECT_EQ(bj::parse(o.out), bj::parse(p.out)) << doc;
  }
}

// A whole (non-streamed) answer: scanned, line breaks and all, and passed on as it came but for the model.
TEST(ChunkRewriterTest, WholeDocumentKeepsItsLayout) {
  const std::string answer =
      "{\n  \"id\": \"chatcmpl-1\",\n  \"object\": \"chat.completion\",\n  \"model\": \"gpt-4o-2024\",\n"
      "  \"choices\": [\n    {\n      \"index\": 0,\n      \"message\": {\"role\": \"assistant\", "
      "\"content\": \"Hi\\nthere\"},\n      \"finish_reason\": \"stop\"\n    }\n  ],\n"
      "  \"usage\": {\"prompt_tokens\": 12, \"completion_tokens\": 3, \"total_tokens\": 15}\n}\n";
  ResponseMeta meta;
  ChunkRewriter rewriter(RewriteOptions{kPublic, &meta, false, false}, Framing::document);
  std::string out;
  EXPECT_EQ(rewriter.rewrite(answer, out), Rewrite::ok);
  EXPECT_EQ(rewriter.scanned(), 1u);
  std::string expected = answer;
  expected.replace(expected.find("\"gpt-4o-2024\""), 13, "\"public-model\"");
  EXPECT_EQ(out, expected);
  EXPECT_EQ(meta.id, "chatcmpl-1");
  EXPECT_EQ(meta.model, "gpt-4o-2024");
  EXPECT_EQ(meta.finish_reasons, std::vector<std::string>{"stop"});
  EXPECT_EQ(meta.prompt_tokens, 12);
  EXPECT_EQ(meta.completion_tokens, 3);

  // The same text as a stream's event is written again on one line.
  const Outcome as_event = rewrite(answer);
  EXPECT_FALSE(as_event.scanned);
  EXPECT_EQ(as_event.out.find('\n'), std::string::npos);
  EXPECT_EQ(bj::parse(as_event.out), bj::parse(out));

  // Captured content, an error object and text that is not JSON take the parse, as for chunks.
  ResponseMeta captured;
  ChunkRewriter capturing(RewriteOptions{kPublic, &captured, false, true}, Framing::document);
  EXPECT_EQ(capturing.rewrite(answer, out), Rewrite::ok);
  EXPECT_EQ(capturing.parsed(), 1u);
  EXPECT_EQ(captured.completion_text, "Hi\nthere");
  ChunkRewriter other(RewriteOptions{kPublic, nullptr, false, false}, Framing::document);
  EXPECT_EQ(other.rewrite("{\n\"error\": {\"message\": \"x\"}\n}", out), Rewrite::error_event);
  EXPECT_EQ(other.rewrite("{\"model\": \"m\",\n", out), Rewrite::not_json);
}

TEST(ChunkRewriterTest, CapturedContentIsParsed) {
  const Outcome o = rewrite(R"({"model":"m","choices":[{"delta":{"content":"caf\u00e9 \"x\""}}]})", false,
                            /*capture=*/true);
  EXPECT_FALSE(o.scanned);
  EXPECT_EQ(o.meta.completion_text, "caf\xC3\xA9 \"x\"");
}

// The scanned and the parsed paths agree, chunk by chunk, on a realistic stream.
TEST(ChunkRewriterTest, ScannedStreamMatchesParsedStream) {
  const std::vector<std::string> stream = {
      R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"Hello\n\t\"world\""},"logprobs":null,"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"model\":\"x\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null})",
      R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}})",
  };
  for (bool strip : {false, true}) {
    ResponseMeta scanned_meta, parsed_meta;
    ChunkRewriter rewriter(RewriteOptions{kPublic, &scanned_meta, strip, false});
    for (const std::string& chunk : stream) {
      std::string a, b;
      const Rewrite ra = rewriter.rewrite(chunk, a);
      const Rewrite rb = rewrite_document(chunk, RewriteOptions{kPublic, &parsed_meta, strip, false}, b);
      ASSERT_EQ(ra, rb) << chunk;
      if (ra == Rewrite::ok) {
        EXPECT_EQ(bj::parse(a), bj::parse(b)) << chunk;
      }
    }
    EXPECT_EQ(rewriter.scanned(), 5u);
    EXPECT_EQ(scanned_meta.id, parsed_meta.id);
    EXPECT_EQ(scanned_meta.model, parsed_meta.model);
    EXPECT_EQ(scanned_meta.finish_reasons, parsed_meta.finish_reasons);
    EXPECT_EQ(scanned_meta.prompt_tokens, parsed_meta.prompt_tokens);
    EXPECT_EQ(scanned_meta.completion_tokens, parsed_meta.completion_tokens);
  }
}

}  // namespace
}  // namespace sy::providers::openai

namespace sy::providers::openai {
namespace {

// The public model name goes in as a JSON string: plain names are quoted as they are, and names with a
// quote, a backslash, a control character, DEL or UTF-8 come out exactly as the serializer writes them.
TEST(ChunkRewriterTest, ThePublicNameIsQuotedAsTheSerializerQuotesIt) {
  const std::vector<std::string> names = {"gpt-4o-mini",
                                          "a",
                                          "",
                                          "with \"quote\"",
                                          "back\\slash",
                                          std::string("tab\there"),
                                          std::string("nul\0x", 5),
                                          "del\x7f",
                                          "caf\xc3\xa9 \xe2\x82\xac"};
  for (const std::string& name : names) {
    const Outcome o = rewrite(R"({"id":"x","model":"upstream-model","choices":[]})", false, false, name);
    ASSERT_EQ(o.result, Rewrite::ok) << name;
    EXPECT_TRUE(o.scanned) << name;
    EXPECT_EQ(o.out, R"({"id":"x","model":)" + bj::serialize(bj::string_view(name)) + R"(,"choices":[]})")
        << name;
    EXPECT_EQ(bj::parse(o.out).at("model").as_string(), name);
  }
}

}  // namespace
}  // namespace sy::providers::openai
