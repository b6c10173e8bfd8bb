// Unit tests for the small utilities: errors, JSON helpers, the random source, log-level parsing and the
// per-thread recycling of request objects.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/random.h"
#include "util/recycled.h"

namespace sy {
namespace {

namespace bj = boost::json;

// ---- error.h ----

TEST(ErrorTest, ToJsonFullShape) {
  Error e{429, "rate_limit_error", "Slow down", "rate_limited", "model", "7"};
  bj::value v = bj::parse(e.to_json());
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 1u);
  const auto& inner = v.at("error").as_object();
  EXPECT_EQ(inner.size(), 4u);
  EXPECT_EQ(inner.at("message").as_string(), "Slow down");
  EXPECT_EQ(inner.at("type").as_string(), "rate_limit_error");
  EXPECT_EQ(inner.at("code").as_string(), "rate_limited");
  EXPECT_EQ(inner.at("param").as_string(), "model");
  // Status and Retry-After travel outside the body.
  EXPECT_FALSE(inner.contains("status"));
  EXPECT_FALSE(inner.contains("retry_after"));
}

TEST(ErrorTest, ToJsonNullParamAndCodeWhenEmpty) {
  Error e{500, "api_error", "boom", {}, {}, {}};
  bj::value v = bj::parse(e.to_json());
  const auto& inner = v.at("error").as_object();
  ASSERT_TRUE(inner.contains("param"));
  ASSERT_TRUE(inner.contains("code"));
  EXPECT_TRUE(inner.at("param").is_null());
  EXPECT_TRUE(inner.at("code").is_null());
  EXPECT_EQ(inner.at("message").as_string(), "boom");
  EXPECT_EQ(inner.at("type").as_string(), "api_error");
}

TEST(ErrorTest, ToJsonEscapesMessage) {
  Error e{400, "invalid_request_error", "bad \"quote\" and \\ and\nnewline", {}, {}, {}};
  bj::value v = bj::parse(e.to_json());
  EXPECT_EQ(v.at("error").at("message").as_string(), "bad \"quote\" and \\ and\nnewline");
}

TEST(ErrorTest, InvalidRequest) {
  Error e = invalid_request("Missing thing", "thing", "missing_required_parameter");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.message, "Missing thing");
  EXPECT_EQ(e.param, "thing");
  EXPECT_EQ(e.code, "missing_required_parameter");
  EXPECT_TRUE(e.retry_after.empty());
}

TEST(ErrorTest, InvalidRequestDefaults) {
  Error e = invalid_request("Just a message");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_TRUE(e.param.empty());
  EXPECT_TRUE(e.code.empty());
  bj::value v = bj::parse(e.to_json());
  EXPECT_TRUE(v.at("error").at("param").is_null());
  EXPECT_TRUE(v.at("error").at("code").is_null());
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.value(), 5);
  Result<int> bad = invalid_request("no");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().status, 400);
  EXPECT_EQ(bad.error().message, "no");
}

// ---- json.h ----

// The first byte a parse into `arena` lands on: the arena's first block.
const void* first_allocation(json::RequestArena& arena) {
  return arena.resource()->allocate(16, 8);
}

TEST(RequestArenaTest, SmallBodiesReuseOneBlockPerThread) {
  const void* first = nullptr;
  {
    json::RequestArena arena(300);
    first = first_allocation(arena);
  }
  for (int i = 0; i < 3; ++i) {
    json::RequestArena arena(json::RequestArena::kPooledBodyBytes);
    EXPECT_EQ(first_allocation(arena), first);  // the block given back by the last request
  }
  // Two requests at once each get a block of their own.
  json::RequestArena a(10), b(10);
  EXPECT_NE(first_allocation(a), first_allocation(b));
}

TEST(RequestArenaTest, ADocumentLargerThanTheBlockSpillsIntoTheHeap) {
  std::string text = "{\"messages\":[";
  for (int i = 0; i < 200; ++i)
    text += std::string(i ? "," : "") + R"({"role":"user","content":"hello there"})";
  text += "]}";
  json::RequestArena arena(100);  // told it is small; the document is not
  boost::system::error_code ec;
  const bj::value v = bj::parse(text, ec, arena.resource(), json::parse_options());
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.at("messages").as_array().size(), 200u);
  EXPECT_EQ(v.at("messages").at(199).at("content"), bj::value("hello there"));
}

TEST(RequestArenaTest, LargeBodiesAreNotPooled) {
  const void* pooled = nullptr;
  {
    json::RequestArena small(1);
    pooled = first_allocation(small);
  }
  json::RequestArena large(json::RequestArena::kPooledBodyBytes + 1);
  EXPECT_NE(first_allocation(large), pooled);
  json::RequestArena small(1);
  EXPECT_EQ(first_allocation(small), pooled);  // still in the pool
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(json::base64_encode(""), "");
  EXPECT_EQ(json::base64_encode("f"), "Zg==");
  EXPECT_EQ(json::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(json::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(json::base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(json::base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(json::base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, BinaryBytesAndFullAlphabet) {
  using namespace std::string_view_literals;
  EXPECT_EQ(json::base64_encode("\x00\x00\x00"sv), "AAAA");
  EXPECT_EQ(json::base64_encode("\xff\xff\xff"sv), "////");
  EXPECT_EQ(json::base64_encode("\xfb\xef\xbe"sv), "++++");
  EXPECT_EQ(json::base64_encode("\x00"sv), "AA==");
  EXPECT_EQ(json::base64_encode("\xff"sv), "/w==");
  EXPECT_EQ(json::base64_encode("\xff\xfe"sv), "//4=");
  // All 64 symbols, in order: bytes 0x00 0x10 0x83 0x10 0x51 0x87 ... encode "ABCD...+/".
  std::string bytes;
  for (unsigned i = 0; i < 64; i += 4) {
    const unsigned v = (i << 18) | ((i + 1) << 12) | ((i + 2) << 6) | (i + 3);
    bytes.push_back(static_cast<char>((v >> 16) & 0xff));
    bytes.push_back(static_cast<char>((v >> 8) & 0xff));
    bytes.push_back(static_cast<char>(v & 0xff));
  }
  EXPECT_EQ(json::base64_encode(bytes), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

TEST(Base64Test, OutputLength) {
  for (std::size_t n = 0; n < 40; ++n) {
    EXPECT_EQ(json::base64_encode(std::string(n, 'x')).size(), (n + 2) / 3 * 4) << n;
  }
}

TEST(ContentTextTest, String) {
  EXPECT_EQ(json::content_text(bj::value("hello world")), "hello world");
  EXPECT_EQ(json::content_text(bj::value("")), "");
}

TEST(ContentTextTest, ArrayOfParts) {
  bj::value content = bj::parse(R"([
    {"type":"text","text":"first"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
    {"type":"text","text":"second"}
  ])");
  EXPECT_EQ(json::content_text(content), "first\nsecond");
}

TEST(ContentTextTest, SinglePart) {
  EXPECT_EQ(json::content_text(bj::parse(R"([{"type":"text","text":"only"}])")), "only");
}

TEST(ContentTextTest, IgnoresNonTextParts) {
  EXPECT_EQ(json::content_text(bj::parse(R"(["loose string", 5, {"text": 3}, {"type":"text","text":"ok"}])")),
            "ok");
}

TEST(ContentTextTest, SizeIsTheTextsSizeWithoutBuildingIt) {
  for (const char* content : {R"("hello world")", R"("")", R"([{"type":"text","text":"first"},{"type":"x"},
                              {"type":"text","text":"second"}])",
                              R"([{"type":"text","text":""},{"type":"text","text":"a"},
                              {"type":"text","text":""},{"type":"text","text":"b"}])",
                              R"(["loose", 5, {"text": 3}])", R"(null)", R"({"text": "not a list"})"}) {
    const bj::value v = bj::parse(content);
    EXPECT_EQ(json::content_text_size(v), json::content_text(v).size()) << content;
  }
}

TEST(ContentTextTest, OtherTypesAreEmpty) {
  EXPECT_EQ(json::content_text(bj::value(nullptr)), "");
  EXPECT_EQ(json::content_text(bj::value(42)), "");
  EXPECT_EQ(json::content_text(bj::parse(R"({"text":"x"})")), "");
  EXPECT_EQ(json::content_text(bj::parse("[]")), "");
}

TEST(SerializeIntoTest, MatchesSerialize) {
  bj::value v = bj::parse(R"({"a":[1,2,{"b":"c\"d"}],"e":null,"f":true,"g":1.5})");
  std::string out;
  json::serialize_into(v, out);
  EXPECT_EQ(out, bj::serialize(v));
  EXPECT_EQ(bj::parse(out), v);
}

TEST(SerializeIntoTest, ClearsOutputFirst) {
  std::string out = "stale contents that must disappear";
  json::serialize_into(bj::value(7), out);
  EXPECT_EQ(out, "7");
  json::serialize_into(bj::parse(R"(["x"])"), out);
  EXPECT_EQ(out, R"(["x"])");
}

TEST(SerializeIntoTest, LargerThanInternalBuffer) {
  bj::array arr;
  for (int i = 0; i < 5000; ++i) arr.push_back(bj::value("item-" + std::to_string(i)));
  bj::value v = std::move(arr);
  std::string out;
  json::serialize_into(v, out);
  EXPECT_GT(out.size(), 4096u * 4);
  EXPECT_EQ(out, bj::serialize(v));
}

TEST(SerializeIntoTest, ObjectOverloadMatchesValue) {
  bj::value v = bj::parse(R"({"model":"m","messages":[{"role":"user","content":"hi\u0001"}],"n":2})");
  std::string from_object;
  std::string from_value;
  json::serialize_into(v.as_object(), from_object);
  json::serialize_into(v, from_value);
  EXPECT_EQ(from_object, bj::serialize(v));
  EXPECT_EQ(from_object, from_value);
}

// The size hint only sizes the first buffer: too small, exact or far too large, the text is the same and the
// string is cut to it.
TEST(SerializeIntoTest, AnySizeHintGivesTheSameText) {
  bj::object o;
  o["content"] = std::string(100'000, 'x') + "\"quoted\"\n";
  o["list"] = bj::array{1, 2.5, "three", nullptr};
  const std::string expected = bj::serialize(o);
  for (std::size_t hint : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, expected.size() - 1,
                           expected.size(), expected.size() * 10}) {
    std::string out = "stale";
    json::serialize_into(o, out, hint);
    EXPECT_EQ(out.size(), expected.size()) << hint;
    EXPECT_EQ(out, expected) << hint;
  }
}

TEST(SerializeIntoTest, ReusesTheStringsStorage) {
  std::string out;
  json::serialize_into(bj::parse(R"({"a":")" + std::string(10'000, 'y') + R"("})"), out);
  const std::size_t capacity = out.capacity();
  const char* storage = out.data();
  json::serialize_into(bj::parse(R"({"b":[1,2,3]})"), out);
  EXPECT_EQ(out, R"({"b":[1,2,3]})");
  EXPECT_EQ(out.capacity(), capacity);
  EXPECT_EQ(out.data(), storage);
}

// ---- random.h ----

TEST(FastRandomTest, DeterministicForSeed) {
  FastRandom a(123), b(123);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next(), b.next()) << i;
  FastRandom c(123), d(123);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(c.uniform(), d.uniform()) << i;
}

TEST(FastRandomTest, DifferentSeedsDiffer) {
  FastRandom a(1), b(2);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a.next() == b.next();
  EXPECT_LT(same, 2);
}

TEST(FastRandomTest, NotConstant) {
  FastRandom r(0);  // a zero seed must still give a working generator
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 100; ++i) seen.insert(r.next());
  EXPECT_EQ(seen.size(), 100u);
}

TEST(FastRandomTest, UniformRange) {
  FastRandom r(99);
  double lo = 1, hi = 0, sum = 0;
  const int n = 100'000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_LT(lo, 0.001);
  EXPECT_GT(hi, 0.999);
  EXPECT_NEAR(sum / n, 0.5, 0.01);
}

TEST(FastRandomTest, UniformBuckets) {
  FastRandom r(2024);
  int buckets[10] = {};
  const int n = 100'000;
  for (int i = 0; i < n; ++i) ++buckets[static_cast<int>(r.uniform() * 10)];
  for (int b : buckets) EXPECT_NEAR(b, n / 10, n / 100);
}

TEST(RandomHexIdTest, SixteenLowercaseHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::string id = random_hex_id();
    ASSERT_EQ(id.size(), 16u);
    for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

// ---- log.h ----

TEST(LogLevelTest, ParseKnownLevels) {
  log::Level l = log::Level::off;
  ASSERT_TRUE(log::parse_level("debug", l));
  EXPECT_EQ(l, log::Level::debug);
  ASSERT_TRUE(log::parse_level("info", l));
  EXPECT_EQ(l, log::Level::info);
  ASSERT_TRUE(log::parse_level("warn", l));
  EXPECT_EQ(l, log::Level::warn);
  ASSERT_TRUE(log::parse_level("error", l));
  EXPECT_EQ(l, log::Level::error);
  ASSERT_TRUE(log::parse_level("off", l));
  EXPECT_EQ(l, log::Level::off);
}

TEST(LogLevelTest, ParseUnknownLeavesOutputUntouched) {
  log::Level l = log::Level::warn;
  EXPECT_FALSE(log::parse_level("", l));
  EXPECT_FALSE(log::parse_level("verbose", l));
  EXPECT_FALSE(log::parse_level("warning", l));
  EXPECT_FALSE(log::parse_level("info ", l));
  EXPECT_FALSE(log::parse_level("inf", l));
  EXPECT_EQ(l, log::Level::warn);
}

TEST(LogLevelTest, EnabledFollowsLevel) {
  log::set_level(log::Level::warn);
  EXPECT_FALSE(log::enabled(log::Level::debug));
  EXPECT_FALSE(log::enabled(log::Level::info));
  EXPECT_TRUE(log::enabled(log::Level::warn));
  EXPECT_TRUE(log::enabled(log::Level::error));
  log::set_level(log::Level::off);
  EXPECT_FALSE(log::enabled(log::Level::error));
  log::set_level(log::Level::info);  // the default, for other tests
  EXPECT_TRUE(log::enabled(log::Level::info));
  EXPECT_FALSE(log::enabled(log::Level::debug));
}

// ---- recycled.h ----

struct Reusable {
  std::string text;
  int recycled = 0;
  void recycle() noexcept {
    text.clear();
    ++recycled;
  }
};

TEST(RecycledTest, AGivenBackObjectIsEmptiedAndTakenAgainWithItsStorage) {
  const std::size_t before = Recycled<Reusable>::spare_count();
  const Reusable* address = nullptr;
  const char* storage = nullptr;
  {
    Recycled<Reusable> r = Recycled<Reusable>::take();
    r->text.assign(200, 'x');
    address = &*r;
    storage = r->text.data();
  }
  EXPECT_EQ(Recycled<Reusable>::spare_count(), before + 1);
  Recycled<Reusable> again = Recycled<Reusable>::take();
  EXPECT_EQ(&*again, address);
  EXPECT_TRUE(again->text.empty());
  EXPECT_EQ(again->recycled, 1);
  again->text.assign(150, 'y');
  EXPECT_EQ(again->text.data(), storage);  // the capacity came back with it
}

TEST(RecycledTest, MovingHandsTheObjectOnAndAssigningGivesTheOldOneBack) {
  Recycled<Reusable> a = Recycled<Reusable>::take();
  Recycled<Reusable> b = Recycled<Reusable>::take();
  const Reusable* first = &*a;
  const std::size_t spare = Recycled<Reusable>::spare_count();
  b = std::move(a);  // b's object goes back
  EXPECT_EQ(&*b, first);
  EXPECT_EQ(Recycled<Reusable>::spare_count(), spare + 1);
  Recycled<Reusable> c(std::move(b));
  EXPECT_EQ(&*c, first);
  EXPECT_EQ(Recycled<Reusable>::spare_count(), spare + 1);
}

TEST(RecycledTest, AThreadKeepsAtMostItsLimitAndEachThreadItsOwn) {
  {
    std::vector<Recycled<Reusable>> many;
    for (std::size_t i = 0; i < Recycled<Reusable>::kKeep + 10; ++i)
      many.push_back(Recycled<Reusable>::take());
  }
  EXPECT_EQ(Recycled<Reusable>::spare_count(), Recycled<Reusable>::kKeep);
  std::size_t other_thread = 99;
  std::thread([&] {
    other_thread = Recycled<Reusable>::spare_count();
    Recycled<Reusable> r = Recycled<Reusable>::take();  // made there, given back there
  }).join();
  EXPECT_EQ(other_thread, 0u);
  EXPECT_EQ(Recycled<Reusable>::spare_count(), Recycled<Reusable>::kKeep);
}

}  // namespace
}  // namespace sy
