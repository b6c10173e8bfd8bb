// Unit tests for the built-in mock provider: whole answers, streams, completions and embeddings, run on an
// io_context exactly as the gateway runs them.
#include "providers/mock/mock_provider.h"
#include "coro_test_support.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

namespace sy::providers {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using test::run;

constexpr std::string_view kPublicModel = "my-mock-model";
constexpr std::string_view kEchoPrefix = "This is a mock response from Switchyard. You said: ";

// ---- running coroutines ----

// ---- test doubles and helpers ----

// Collects every chunk and the size of each flushed batch; a flush answers false (client gone) once `accept`
// chunks were taken.
class CollectingSink final : public ChunkSink {
 public:
  explicit CollectingSink(std::size_t accept = std::numeric_limits<std::size_t>::max()) : accept_(accept) {}

  void on_chunk(std::string_view json) override { raw.emplace_back(json); }

  asio::awaitable<bool> flush() override {
    batches.push_back(raw.size() - flushed_);
    flushed_ = raw.size();
    const bool keep_going = raw.size() < accept_;
    co_return keep_going;
  }

  std::vector<bj::object> objects() const {
    std::vector<bj::object> out;
    for (const auto& r : raw) out.push_back(bj::parse(r).as_object());
    return out;
  }

  std::vector<std::string> raw;
  std::vector<std::size_t> batches;  // chunks per flush

 private:
  std::size_t accept_;
  std::size_t flushed_ = 0;
};

config::Deployment mock_deployment(std::optional<std::string> mock_response = std::nullopt) {
  config::Deployment d;
  d.model_name = std::string(kPublicModel);
  d.params.model = "mock/echo";
  d.params.provider = "mock";
  d.params.provider_model = "echo";
  d.params.mock_response = std::move(mock_response);
  d.info.id = "mock-0";
  return d;
}

// Owns everything a Call points at.
struct Fixture {
  config::Deployment deployment;
  bj::object body;
  Call call;

  Fixture(Endpoint endpoint, std::string_view json, config::Deployment d = mock_deployment())
      : deployment(std::move(d)), body(bj::parse(json).as_object()) {
    call.endpoint = endpoint;
    call.deployment = &deployment;
    call.body = &body;
    call.public_model = kPublicModel;
    call.request_id = "req-1";
  }
};

bj::object complete(Fixture& f) {
  MockProvider provider;
  Result<Response> r = run(provider.complete(f.call));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  EXPECT_EQ(r.value().status, 200);
  return bj::parse(r.value().body).as_object();
}

std::string chat_content(const bj::object& response) {
  return std::string(response.at("choices").at(0).at("message").at("content").as_string());
}

std::vector<unsigned char> base64_decode(std::string_view in) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<unsigned char> out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = sextet(c);
    if (v < 0) {
      ADD_FAILURE() << "not base64: " << c;
      return {};
    }
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::vector<float> float_embedding(const bj::value& embedding) {
  std::vector<float> out;
  for (const auto& x : embedding.as_array()) out.push_back(static_cast<float>(x.to_number<double>()));
  return out;
}

std::vector<float> base64_embedding(const bj::value& embedding) {
  auto bytes = base64_decode(embedding.as_string());
  EXPECT_EQ(bytes.size() % sizeof(float), 0u);
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

const char* kChatBody = R"({"model":"my-mock-model","messages":[
  {"role":"system","content":"You are terse."},
  {"role":"user","content":"first question"},
  {"role":"assistant","content":"first answer"},
  {"role":"user","content":"what is the capital of France?"}]})";

// ---- chat completions, whole ----

TEST(MockProviderTest, Name) {
  EXPECT_EQ(MockProvider{}.name(), "mock");
}

TEST(MockProviderTest, ChatEchoesLastUserMessage) {
  Fixture f(Endpoint::chat_completions, kChatBody);
  bj::object r = complete(f);
  EXPECT_EQ(r.at("object").as_string(), "chat.completion");
  EXPECT_EQ(r.at("model").as_string(), kPublicModel);
  EXPECT_TRUE(r.at("id").as_string().starts_with("chatcmpl-"));
  EXPECT_GT(r.at("created").as_int64(), 1'600'000'000);
  const auto& choices = r.at("choices").as_array();
  ASSERT_EQ(choices.size(), 1u);
  EXPECT_EQ(choices[0].at("index").as_int64(), 0);
  EXPECT_EQ(choices[0].at("message").at("role").as_string(), "assistant");
  EXPECT_EQ(choices[0].at("finish_reason").as_string(), "stop");
  EXPECT_EQ(chat_content(r), std::string(kEchoPrefix) + "what is the capital of France?");
}

TEST(MockProviderTest, ChatEchoesArrayOfPartsContent) {
  Fixture f(Endpoint::chat_completions, R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"text","text":"describe"},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}},
      {"type":"text","text":"this picture"}]}]})");
  bj::object r = complete(f);
  EXPECT_EQ(chat_content(r), std::string(kEchoPrefix) + "describe\nthis picture");
}

TEST(MockProviderTest, ChatWithoutUserMessageEchoesNothing) {
  Fixture f(Endpoint::chat_completions,
            R"({"model":"m","messages":[{"role":"system","content":"only system"}]})");
  EXPECT_EQ(chat_content(complete(f)), std::string(kEchoPrefix));
}

TEST(MockProviderTest, MockResponseOverrides) {
  Fixture f(Endpoint::chat_completions, kChatBody, mock_deployment("Paris. Definitely Paris."));
  bj::object r = complete(f);
  EXPECT_EQ(chat_content(r), "Paris. Definitely Paris.");
  EXPECT_EQ(r.at("model").as_string(), kPublicModel);
}

TEST(MockProviderTest, ModelIsPublicNameNotProviderModel) {
  Fixture f(Endpoint::chat_completions, kChatBody);
  f.call.public_model = "alias-for-clients";
  bj::object r = complete(f);
  EXPECT_EQ(r.at("model").as_string(), "alias-for-clients");
}

TEST(MockProviderTest, UsageSums) {
  Fixture f(Endpoint::chat_completions,
            R"({"model":"m","messages":[{"role":"user","content":"hello world"}]})");
  bj::object r = complete(f);
  const auto& usage = r.at("usage").as_object();
  const std::int64_t prompt = usage.at("prompt_tokens").as_int64();
  const std::int64_t completion = usage.at("completion_tokens").as_int64();
  // One message: 4 framing tokens plus ceil(11 / 4) = 3 for "hello world".
  EXPECT_EQ(prompt, 7);
  EXPECT_EQ(completion, estimate_tokens(chat_content(r)));
  EXPECT_GT(completion, 0);
  EXPECT_EQ(usage.at("total_tokens").as_int64(), prompt + completion);
}

TEST(MockProviderTest, UsageCountsEveryMessage) {
  Fixture f(Endpoint::chat_completions, kChatBody, mock_deployment("ok"));
  bj::object r = complete(f);
  const auto& usage = r.at("usage").as_object();
  const std::int64_t expected_prompt = 4 * 4 + estimate_tokens("You are terse.") +
                                       estimate_tokens("first question") + estimate_tokens("first answer") +
                                       estimate_tokens("what is the capital of France?");
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), expected_prompt);
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 1);  // "ok" is one token
  EXPECT_EQ(usage.at("total_tokens").as_int64(), expected_prompt + 1);
}

TEST(MockProviderTest, LatencySetting) {
  config::Deployment d = mock_deployment("x");
  d.params.extra["mock_latency_ms"] = 40;
  Fixture f(Endpoint::chat_completions, kChatBody, std::move(d));
  const auto start = std::chrono::steady_clock::now();
  bj::object r = complete(f);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
  EXPECT_EQ(chat_content(r), "x");
}

// ---- chat completions, streamed ----

struct StreamOutcome {
  Result<bool> result;
  std::vector<bj::object> chunks;
  std::vector<std::size_t> batches;  // chunks per flush
};

StreamOutcome stream(Fixture& f, std::size_t accept = std::numeric_limits<std::size_t>::max()) {
  MockProvider provider;
  CollectingSink sink(accept);
  f.call.stream = true;
  Result<bool> r = run(provider.stream(f.call, sink));
  return {std::move(r), sink.objects(), sink.batches};
}

// A mock that pauses between chunks, as an upstream sending them one read at a time.
config::Deployment paced_deployment() {
  config::Deployment d = mock_deployment();
  d.params.extra["mock_chunk_latency_ms"] = 1;
  return d;
}

std::string concatenated_deltas(const std::vector<bj::object>& chunks) {
  std::string out;
  for (const auto& c : chunks) {
    const auto& choices = c.at("choices").as_array();
    if (choices.empty()) continue;
    const auto& delta = choices[0].at("delta").as_object();
    if (const auto* content = delta.if_contains("content")) out.append(content->as_string());
  }
  return out;
}

TEST(MockProviderTest, StreamChunksRebuildTheAnswer) {
  Fixture whole(Endpoint::chat_completions, kChatBody);
  const std::string expected = chat_content(complete(whole));

  Fixture f(Endpoint::chat_completions, kChatBody);
  StreamOutcome s = stream(f);
  ASSERT_TRUE(s.result.ok()) << s.result.error().message;
  EXPECT_TRUE(s.result.value());
  ASSERT_GE(s.chunks.size(), 3u);  // role, at least one piece, finish

  // Several pieces: the answer is really streamed, not sent at once.
  EXPECT_GT(s.chunks.size(), 4u);

  const auto& first = s.chunks.front().at("choices").at(0).as_object();
  EXPECT_EQ(first.at("delta").at("role").as_string(), "assistant");
  EXPECT_TRUE(first.at("finish_reason").is_null());

  EXPECT_EQ(concatenated_deltas(s.chunks), expected);

  const auto& last = s.chunks.back().at("choices").at(0).as_object();
  EXPECT_EQ(last.at("finish_reason").as_string(), "stop");
  EXPECT_TRUE(last.at("delta").as_object().empty());

  const std::string id(s.chunks.front().at("id").as_string());
  EXPECT_TRUE(id.starts_with("chatcmpl-"));
  for (std::size_t i = 0; i < s.chunks.size(); ++i) {
    const auto& c = s.chunks[i];
    EXPECT_EQ(c.at("object").as_string(), "chat.completion.chunk") << i;
    EXPECT_EQ(c.at("model").as_string(), kPublicModel) << i;
    EXPECT_EQ(c.at("id").as_string(), id) << i;
    EXPECT_FALSE(c.contains("usage")) << i;
    const auto& choice = c.at("choices").at(0).as_object();
    if (i + 1 < s.chunks.size()) {
      EXPECT_TRUE(choice.at("finish_reason").is_null()) << i;
    }
    if (i > 0) {
      EXPECT_FALSE(choice.at("delta").as_object().contains("role")) << i;
    }
  }
}

TEST(MockProviderTest, StreamMockResponse) {
  Fixture f(Endpoint::chat_completions, kChatBody, mock_deployment("one two three"));
  StreamOutcome s = stream(f);
  ASSERT_TRUE(s.result.ok());
  EXPECT_TRUE(s.result.value());
  EXPECT_EQ(concatenated_deltas(s.chunks), "one two three");
}

TEST(MockProviderTest, StreamIncludeUsage) {
  Fixture whole(Endpoint::chat_completions, kChatBody);
  const bj::object whole_usage = complete(whole).at("usage").as_object();

  Fixture f(Endpoint::chat_completions, kChatBody);
  f.call.include_usage = true;
  StreamOutcome s = stream(f);
  ASSERT_TRUE(s.result.ok());
  EXPECT_TRUE(s.result.value());
  ASSERT_GE(s.chunks.size(), 4u);

  const bj::object& final_chunk = s.chunks.back();
  EXPECT_TRUE(final_chunk.at("choices").as_array().empty());
  EXPECT_EQ(final_chunk.at("usage").as_object(), whole_usage);
  EXPECT_EQ(final_chunk.at("object").as_string(), "chat.completion.chunk");

  // The chunk before it finishes the choice; every content chunk carries "usage": null.
  const auto& finish = s.chunks[s.chunks.size() - 2];
  EXPECT_EQ(finish.at("choices").at(0).at("finish_reason").as_string(), "stop");
  for (std::size_t i = 0; i + 1 < s.chunks.size(); ++i) {
    ASSERT_TRUE(s.chunks[i].contains("usage")) << i;
    EXPECT_TRUE(s.chunks[i].at("usage").is_null()) << i;
  }
  EXPECT_EQ(concatenated_deltas(s.chunks), chat_content(complete(whole)));
}

TEST(MockProviderTest, UnpacedStreamIsOneBatchLeftForTheEnd) {
  Fixture f(Endpoint::chat_completions, kChatBody);
  f.call.include_usage = true;
  StreamOutcome s = stream(f);
  ASSERT_TRUE(s.result.ok());
  EXPECT_TRUE(s.result.value());
  EXPECT_GT(s.chunks.size(), 4u);
  EXPECT_TRUE(s.batches.empty());  // never flushed: everything goes out with the end of the stream
}

TEST(MockProviderTest, PacedStreamFlushesBeforeEachPause) {
  Fixture f(Endpoint::chat_completions, kChatBody, paced_deployment());
  StreamOutcome s = stream(f);
  ASSERT_TRUE(s.result.ok());
  EXPECT_TRUE(s.result.value());
  // role chunk, one chunk per piece, finish chunk: a flush before the pause ahead of each piece, the finish
  // chunk left for the end.
  const std::size_t pieces = s.chunks.size() - 2;
  ASSERT_GT(pieces, 2u);
  EXPECT_EQ(s.batches, std::vector<std::size_t>(pieces, 1u));
}

TEST(MockProviderTest, SinkFalseStopsStream) {
  Fixture full(Endpoint::chat_completions, kChatBody, paced_deployment());
  const std::size_t total = stream(full).chunks.size();
  ASSERT_GT(total, 3u);

  Fixture f(Endpoint::chat_completions, kChatBody, paced_deployment());
  StreamOutcome s = stream(f, 2);  // the flush after the second chunk is answered with false
  ASSERT_TRUE(s.result.ok()) << s.result.error().message;
  EXPECT_FALSE(s.result.value());
  EXPECT_EQ(s.chunks.size(), 2u);
}

TEST(MockProviderTest, SinkFalseOnFirstChunk) {
  Fixture f(Endpoint::chat_completions, kChatBody, paced_deployment());
  StreamOutcome s = stream(f, 1);
  ASSERT_TRUE(s.result.ok());
  EXPECT_FALSE(s.result.value());
  EXPECT_EQ(s.chunks.size(), 1u);
}

// ---- completions ----

TEST(MockProviderTest, CompletionsTextCompletion) {
  Fixture f(Endpoint::completions, R"({"model":"m","prompt":"Once upon a time"})");
  bj::object r = complete(f);
  EXPECT_EQ(r.at("object").as_string(), "text_completion");
  EXPECT_EQ(r.at("model").as_string(), kPublicModel);
  EXPECT_TRUE(r.at("id").as_string().starts_with("cmpl-"));
  const auto& choice = r.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("text").as_string(), std::string(kEchoPrefix) + "Once upon a time");
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  EXPECT_FALSE(choice.contains("message"));
  const auto& usage = r.at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), estimate_tokens("Once upon a time"));
  EXPECT_EQ(usage.at("total_tokens").as_int64(),
            usage.at("prompt_tokens").as_int64() + usage.at("completion_tokens").as_int64());
}

TEST(MockProviderTest, CompletionsPromptArray) {
  Fixture f(Endpoint::completions, R"({"model":"m","prompt":["abc","def"]})");
  bj::object r = complete(f);
  EXPECT_EQ(r.at("choices").at(0).at("text").as_string(), std::string(kEchoPrefix) + "abcdef");
}

TEST(MockProviderTest, CompletionsStream) {
  Fixture whole(Endpoint::completions, R"({"model":"m","prompt":"tell me a story"})");
  const std::string expected(complete(whole).at("choices").at(0).at("text").as_string());

  Fixture f(Endpoint::completions, R"({"model":"m","prompt":"tell me a story"})");
  StreamOutcome s = stream(f);
  ASSERT_TRUE(s.result.ok());
  EXPECT_TRUE(s.result.value());
  ASSERT_GE(s.chunks.size(), 2u);
  std::string text;
  for (const auto& c : s.chunks) {
    EXPECT_EQ(c.at("object").as_string(), "text_completion");
    EXPECT_EQ(c.at("model").as_string(), kPublicModel);
    EXPECT_FALSE(c.at("choices").at(0).as_object().contains("delta"));
    text.append(c.at("choices").at(0).at("text").as_string());
  }
  EXPECT_EQ(text, expected);
  EXPECT_EQ(s.chunks.back().at("choices").at(0).at("finish_reason").as_string(), "stop");
  EXPECT_TRUE(s.chunks.front().at("id").as_string().starts_with("cmpl-"));
}

// ---- embeddings ----

TEST(MockProviderTest, EmbeddingsShapeAndDefaults) {
  Fixture f(Endpoint::embeddings, R"({"model":"m","input":"hello"})");
  bj::object r = complete(f);
  EXPECT_EQ(r.at("object").as_string(), "list");
  EXPECT_EQ(r.at("model").as_string(), kPublicModel);
  const auto& data = r.at("data").as_array();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].at("object").as_string(), "embedding");
  EXPECT_EQ(data[0].at("index").to_number<std::int64_t>(), 0);
  auto v = float_embedding(data[0].at("embedding"));
  EXPECT_EQ(v.size(), 16u);
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5);
  const auto& usage = r.at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), 2);  // ceil(5 / 4)
  EXPECT_EQ(usage.at("total_tokens").as_int64(), 2);
}

TEST(MockProviderTest, EmbeddingsDeterministic) {
  Fixture a(Endpoint::embeddings, R"({"model":"m","input":["alpha","beta","alpha"]})");
  bj::object r = complete(a);
  const auto& data = r.at("data").as_array();
  ASSERT_EQ(data.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(data[i].at("index").to_number<std::size_t>(), i);
  const auto alpha = float_embedding(data[0].at("embedding"));
  const auto beta = float_embedding(data[1].at("embedding"));
  EXPECT_EQ(alpha, float_embedding(data[2].at("embedding")));
  EXPECT_NE(alpha, beta);

  // A later, separate request for the same text gets the same vector.
  Fixture b(Endpoint::embeddings, R"({"model":"m","input":"alpha"})");
  EXPECT_EQ(float_embedding(complete(b).at("data").at(0).at("embedding")), alpha);
}

TEST(MockProviderTest, EmbeddingsDimensionsHonoured) {
  for (int dims : {1, 8, 256, 1536}) {
    Fixture f(Endpoint::embeddings, R"({"model":"m","input":"x","dimensions":)" + std::to_string(dims) + "}");
    bj::object r = complete(f);
    EXPECT_EQ(r.at("data").at(0).at("embedding").as_array().size(), static_cast<std::size_t>(dims)) << dims;
  }
}

TEST(MockProviderTest, EmbeddingsBase64MatchesFloats) {
  Fixture floats(Endpoint::embeddings, R"({"model":"m","input":["some text","other"],"dimensions":32})");
  Fixture b64(Endpoint::embeddings,
              R"({"model":"m","input":["some text","other"],"dimensions":32,"encoding_format":"base64"})");
  bj::object rf = complete(floats);
  bj::object rb = complete(b64);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(rb.at("data").at(i).at("embedding").is_string());
    const auto from_floats = float_embedding(rf.at("data").at(i).at("embedding"));
    const auto from_base64 = base64_embedding(rb.at("data").at(i).at("embedding"));
    ASSERT_EQ(from_base64.size(), 32u);
    EXPECT_EQ(from_base64, from_floats) << i;
  }
}

TEST(MockProviderTest, EmbeddingsFloatFormatExplicit) {
  Fixture f(Endpoint::embeddings, R"({"model":"m","input":"x","encoding_format":"float"})");
  EXPECT_TRUE(complete(f).at("data").at(0).at("embedding").is_array());
}

TEST(MockProviderTest, EmbeddingsCannotStream) {
  Fixture f(Endpoint::embeddings, R"({"model":"m","input":"x"})");
  StreamOutcome s = stream(f);
  ASSERT_FALSE(s.result.ok());
  EXPECT_EQ(s.result.error().status, 400);
  EXPECT_TRUE(s.chunks.empty());
}

}  // namespace
}  // namespace sy::providers
