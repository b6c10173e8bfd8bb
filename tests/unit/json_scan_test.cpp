// Unit tests for the JSON structure scanner (util/json_scan.h): members and elements as views into the text,
// and a refusal for anything it cannot vouch for.
#include "util/json_scan.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace sy::json {
namespace {

std::vector<std::pair<std::string, std::string>> members_of(std::string_view text) {
  std::vector<RawMember> members;
  EXPECT_TRUE(scan_object(text, members)) << text;
  std::vector<std::pair<std::string, std::string>> out;
  for (const RawMember& m : members) out.emplace_back(m.key, m.value);
  return out;
}

using Members = std::vector<std::pair<std::string, std::string>>;

TEST(JsonScanTest, TopLevelMembersOnly) {
  EXPECT_EQ(
      members_of(R"({"id":"x","model":"m","choices":[{"model":"inner","delta":{"model":1}}]})"),
      (Members{
          {"id", R"("x")"}, {"model", R"("m")"}, {"choices", R"([{"model":"inner","delta":{"model":1}}])"}}));
}

TEST(JsonScanTest, WhitespaceAroundEverything) {
  EXPECT_EQ(members_of(" \t{ \"a\" : 1 ,\r\n\"b\":[ 1 , 2 ] , \"c\" : { } }\n "),
            (Members{{"a", "1"}, {"b", "[ 1 , 2 ]"}, {"c", "{ }"}}));
  EXPECT_TRUE(members_of("{}").empty());
  EXPECT_TRUE(members_of(" { } ").empty());
}

TEST(JsonScanTest, KeysKeepTheirEscapes) {
  EXPECT_EQ(members_of(R"({"mod\u0065l":"a\"b","x\\":"\\"})"),
            (Members{{R"(mod\u0065l)", R"("a\"b")"}, {R"(x\\)", R"("\\")"}}));
}

TEST(JsonScanTest, StringsHideStructure) {
  EXPECT_EQ(members_of(R"({"text":"}{\"model\":[,]","n":null})"),
            (Members{{"text", R"("}{\"model\":[,]")"}, {"n", "null"}}));
}

TEST(JsonScanTest, ScalarsOfEveryKind) {
  EXPECT_EQ(members_of(R"({"a":true,"b":false,"c":null,"d":-0.5e+10,"e":0,"f":12,"g":1E3,"h":"é日😀"})"),
            (Members{{"a", "true"},
                     {"b", "false"},
                     {"c", "null"},
                     {"d", "-0.5e+10"},
                     {"e", "0"},
                     {"f", "12"},
                     {"g", "1E3"},
                     {"h", "\"é日😀\""}}));
}

TEST(JsonScanTest, RepeatedKeysAreAllListed) {
  EXPECT_EQ(members_of(R"({"model":"a","model":"b"})"), (Members{{"model", R"("a")"}, {"model", R"("b")"}}));
}

TEST(JsonScanTest, ArrayElements) {
  std::vector<std::string_view> elements;
  ASSERT_TRUE(scan_array(R"([ {"a":[1,2]}, "x,y", 3 ,[]])", elements));
  ASSERT_EQ(elements.size(), 4u);
  EXPECT_EQ(elements[0], R"({"a":[1,2]})");
  EXPECT_EQ(elements[1], R"("x,y")");
  EXPECT_EQ(elements[2], "3");
  EXPECT_EQ(elements[3], "[]");
  ASSERT_TRUE(scan_array("[]", elements));
  EXPECT_TRUE(elements.empty());
}

// The one-pass read of an array member gives what separate scans of the object, the array and each element
// give, and keeps to the first top-level member of that name.
TEST(JsonScanTest, NestedArrayReadInTheSamePass) {
  for (
      std::string_view text : {
          R"({"id":"x","choices":[{"index":0,"message":{"content":"hi \"there\""},"finish_reason":"stop"}]})",
          R"({ "choices" : [ {"a":1} , 2 , "s" , [ {"b":2} ] , {} , {"c":{"choices":[]},"d":null} ] , "n":1 })",
          R"({"choices":[],"usage":{"choices":[{"x":1}]}})",
          R"({"choices":{"not":"an array"},"choices":[{"second":true}]})",
          R"({"choices":[{"first":1}],"choices":[{"second":2}]})",
          R"({"other":[{"a":1}]})",
      }) {
    std::vector<RawMember> plain;
    ASSERT_TRUE(scan_object(text, plain)) << text;
    NestedArray nested{"choices"};
    nested.members.push_back({"stale", "stale"});  // left by an earlier read: cleared first
    std::vector<RawMember> members;
    ASSERT_TRUE(scan_object(text, members, nested)) << text;
    ASSERT_EQ(members.size(), plain.size()) << text;
    for (std::size_t i = 0; i < members.size(); ++i) {
      EXPECT_EQ(members[i].key, plain[i].key);
      EXPECT_EQ(members[i].value, plain[i].value);
    }
    // The first member named "choices" whose value is an array, as the separate scans read it.
    const RawMember* expected = nullptr;
    for (const RawMember& m : plain) {
      if (m.key == "choices" && m.value.front() == '[') {
        expected = &m;
        break;
      }
    }
    ASSERT_EQ(nested.found, expected != nullptr) << text;
    if (!expected) {
      EXPECT_TRUE(nested.elements.empty());
      EXPECT_TRUE(nested.members.empty());
      continue;
    }
    std::vector<std::string_view> elements;
    ASSERT_TRUE(scan_array(expected->value, elements));
    ASSERT_EQ(nested.elements, elements) << text;
    for (std::size_t e = 0; e < elements.size(); ++e) {
      std::vector<RawMember> inner;
      if (elements[e].front() == '{') {
        ASSERT_TRUE(scan_object(elements[e], inner));
      }
      const auto [begin, end] = nested.members_of(e);
      ASSERT_EQ(end - begin, inner.size()) << text << " element " << e;
      for (std::size_t i = 0; i < inner.size(); ++i) {
        EXPECT_EQ(nested.members[begin + i].key, inner[i].key);
        EXPECT_EQ(nested.members[begin + i].value, inner[i].value);
      }
    }
  }
}

TEST(JsonScanTest, NestedArrayReadRefusesWhatThePlainScanRefuses) {
  for (std::string_view bad : {
           R"({"choices":[{"a":1},]})",
           R"({"choices":[{"a":"\ud800"}]})",
           R"({"choices":[{"a":1}})",
           R"({"choices":[{"a":"x
"}]})",
       }) {
    std::vector<RawMember> m;
    NestedArray nested{"choices"};
    EXPECT_FALSE(scan_object(bad, m)) << bad;
    EXPECT_FALSE(scan_object(bad, m, nested)) << bad;
  }
  // The nesting limit counts the array and its elements the same way.
  std::string deep = R"({"choices":[)";
  for (int i = 0; i < kMaxScanDepth; ++i) deep += "[";
  for (int i = 0; i < kMaxScanDepth; ++i) deep += "]";
  deep += "]}";
  std::vector<RawMember> m;
  NestedArray nested{"choices"};
  EXPECT_EQ(scan_object(deep, m, nested), scan_object(deep, m));
}

TEST(JsonScanTest, RefusesWhatIsNotOneWellFormedObject) {
  std::vector<RawMember> m;
  for (std::string_view bad : {
           "",
           "[]",
           R"("model")",
           "{",
           R"({"a":1)",
           R"({"a":1,})",
           R"({"a" 1})",
           R"({a:1})",
           R"({"a":1}{"b":2})",
           R"({"a":1} x)",
           R"({"a":01})",
           R"({"a":1.})",
           R"({"a":.5})",
           R"({"a":-})",
           R"({"a":1e})",
           R"({"a":tru})",
           R"({"a":nul})",
           R"({"a":[1,]})",
           R"({"a":"unterminated})",
           "{\"a\":\"tab\there\"}",         // a raw control character in a string
           R"({"a":"\x"})",                 // an unknown escape
           R"({"a":"\u12G4"})",             // a bad \u escape
           "{\"a\":\"\xC3\"}",              // a cut UTF-8 sequence
           "{\"a\":\"\xC0\xAF\"}",          // an overlong encoding
           "{\"a\":\"\xED\xA0\x80\"}",      // a UTF-16 surrogate in UTF-8
           "{\"a\":\"\xF4\x90\x80\x80\"}",  // beyond U+10FFFF
           "{\"a\":\"\xFF\"}",
       }) {
    EXPECT_FALSE(scan_object(bad, m)) << bad;
  }
}

TEST(JsonScanTest, LeavesSurrogateEscapesAndDeepNestingToTheParser) {
  std::vector<RawMember> m;
  EXPECT_FALSE(scan_object(R"({"a":"\ud83d\ude00"})", m));
  // An exponent the parser may refuse as an overflow (found by tests/fuzz/chat_scan_fuzz.cpp): Boost.JSON
  // answers "exponent overflow" for 18e4467440737095, where the scanner had vouched for the text.
  EXPECT_FALSE(scan_object(R"({"a":18e4467440737095})", m));
  EXPECT_FALSE(scan_object(R"({"a":1e-0000000001})", m));
  EXPECT_TRUE(scan_object(R"({"a":1e999999999,"b":2E-5})", m));
  std::string deep = "{\"a\":";
  for (int i = 0; i < kMaxScanDepth; ++i) deep += "[";
  for (int i = 0; i < kMaxScanDepth; ++i) deep += "]";
  deep += "}";
  EXPECT_FALSE(scan_object(deep, m));
  std::string ok = "{\"a\":";
  for (int i = 0; i < kMaxScanDepth - 1; ++i) ok += "[";
  for (int i = 0; i < kMaxScanDepth - 1; ++i) ok += "]";
  ok += "}";
  EXPECT_TRUE(scan_object(ok, m));
}

// What the scanner accepts, Boost.JSON parses, with the same top-level members.
TEST(JsonScanTest, AgreesWithTheParserOnWhatItAccepts) {
  std::vector<RawMember> m;
  for (std::string_view text : {
           R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o",
               "choices":[{"index":0,"delta":{"content":"Hi \"there\"\n\u00e9"},"finish_reason":null}]})",
           R"({"a":[[],{},[{}]],"b":{"c":{"d":[true,false,null,-1.25E-3]}}})",
       }) {
    ASSERT_TRUE(scan_object(text, m)) << text;
    const boost::json::object parsed = boost::json::parse(text).as_object();
    ASSERT_EQ(parsed.size(), m.size());
    for (const RawMember& member : m) {
      const auto* value = parsed.if_contains(member.key);
      ASSERT_NE(value, nullptr) << member.key;
      EXPECT_EQ(*value, boost::json::parse(member.value)) << member.key;
    }
  }
}

// The string scan passes eight bytes at a time up to the first that needs a look. Each such byte, at every
// position of strings up to a few words long (and followed by more text, so that the eight-byte path is taken
// near it): the scanner accepts exactly what Boost.JSON parses, and ends the string where the parser does.
TEST(JsonScanTest, StringsWithASpecialByteAtEveryPosition) {
  // Escapes and multi-byte UTF-8, which both accept; control bytes, bad UTF-8 and bad escapes, which both
  // refuse.
  const std::vector<std::string> specials = {
      "\\\"", "\\\\", "\\n",  "\\u00e9", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x80", "\x01", "\x1f",
      "\n",   "\xff", "\xc3", "\x80",    "\\x",      "\\u12"};
  std::vector<RawMember> m;
  for (std::size_t size = 0; size <= 24; ++size) {
    for (std::size_t at = 0; at <= size; ++at) {
      for (const std::string& special : specials) {
        std::string value(size, 'a');
        value.insert(at, special);
        const std::string text = R"({"k":")" + value + R"(","next":"0123456789abcdef0123456789"})";
        boost::system::error_code ec;
        const boost::json::value parsed = boost::json::parse(text, ec);
        const bool scanned = scan_object(text, m);
        ASSERT_EQ(scanned, !ec) << size << " " << at << " " << text;
        if (!scanned) continue;
        ASSERT_EQ(m.size(), 2u) << text;
        EXPECT_EQ(m[0].value, "\"" + value + "\"") << text;
        EXPECT_EQ(boost::json::parse(m[0].value), parsed.as_object().at("k")) << text;
      }
    }
  }
}

}  // namespace
}  // namespace sy::json
