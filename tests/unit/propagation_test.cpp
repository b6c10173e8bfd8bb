// Unit tests for context propagation (propagation.h): W3C traceparent/tracestate (cases from the W3C Trace
// Context test suite), W3C baggage, AWS X-Ray's X-Amzn-Trace-Id, and the OTEL_PROPAGATORS selection with
// extract/inject.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "telemetry/propagation.h"

namespace sy::telemetry {
namespace {

constexpr std::string_view kTraceHex = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpanHex = "00f067aa0ba902b7";
const std::string kValidTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// HTTP headers: names case-insensitive. The getter returns views into the map, which outlives every call.
struct Headers {
  std::map<std::string, std::string> values;                   // lower-case name -> value
  std::vector<std::pair<std::string, std::string>> set_calls;  // as the setter was called

  void add(std::string_view name, std::string value) { values[lower(name)] = std::move(value); }
  HeaderGetter getter() const {
    return [this](std::string_view name) -> std::string_view {
      auto it = values.find(lower(name));
      return it == values.end() ? std::string_view() : std::string_view(it->second);
    };
  }
  HeaderSetter setter() {
    return [this](std::string_view name, std::string_view value) {
      set_calls.emplace_back(std::string(name), std::string(value));
      values[lower(name)] = std::string(value);
    };
  }
  bool has(std::string_view name) const { return values.count(lower(name)) != 0; }
  std::string get(std::string_view name) const {
    auto it = values.find(lower(name));
    return it == values.end() ? std::string() : it->second;
  }
};

SpanContext make_context(bool sampled, std::string trace_state = {}) {
  SpanContext ctx;
  EXPECT_TRUE(from_hex(kTraceHex, ctx.trace_id));
  EXPECT_TRUE(from_hex(kSpanHex, ctx.span_id));
  ctx.flags = sampled ? 1 : 0;
  ctx.trace_state = std::move(trace_state);
  return ctx;
}

// ---- traceparent ----

TEST(PropagationTraceparent, ParsesValidHeader) {
  auto ctx = parse_traceparent(kValidTraceparent);
  ASSERT_TRUE(ctx.has_value());
  EXPECT_EQ(to_hex(ctx->trace_id), kTraceHex);
  EXPECT_EQ(to_hex(ctx->span_id), kSpanHex);
  EXPECT_TRUE(ctx->sampled());
  EXPECT_TRUE(ctx->remote);
  EXPECT_TRUE(ctx->valid());
}

TEST(PropagationTraceparent, NotSampledFlag) {
  auto ctx = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(ctx.has_value());
  EXPECT_FALSE(ctx->sampled());
  EXPECT_TRUE(ctx->valid());
}

TEST(PropagationTraceparent, VersionFfIsInvalid) {
  EXPECT_FALSE(parse_traceparent("ff-12345678901234567890123456789012-1234567890123456-01"));
}

TEST(PropagationTraceparent, VersionIllegalCharactersOrLength) {
  EXPECT_FALSE(parse_traceparent(".0-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("0.-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("0A-12345678901234567890123456789012-1234567890123456-01"));  // upper case
  EXPECT_FALSE(parse_traceparent("000-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("0000-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("0-12345678901234567890123456789012-1234567890123456-01"));
}

TEST(PropagationTraceparent, UppercaseHexIsInvalid) {
  EXPECT_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"));
}

TEST(PropagationTraceparent, AllZeroIdsAreInvalid) {
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-0000000000000000-01"));
}

TEST(PropagationTraceparent, TraceIdIllegalCharactersOrLength) {
  EXPECT_FALSE(parse_traceparent("00-.2345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-1234567890123456789012345678901.-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-123456789012345678901234567890123-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-1234567890123456789012345678901-1234567890123456-01"));
}

TEST(PropagationTraceparent, ParentIdIllegalCharactersOrLength) {
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-.234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-123456789012345.-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-12345678901234567-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-123456789012345-01"));
}

TEST(PropagationTraceparent, FlagsIllegalCharactersOrLength) {
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-.0"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-0."));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-0g"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-001"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-1"));
}

TEST(PropagationTraceparent, WrongSeparatorsAreInvalid) {
  EXPECT_FALSE(parse_traceparent("00_12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012_1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456_01"));
  EXPECT_FALSE(parse_traceparent("00 12345678901234567890123456789012 1234567890123456 01"));
}

TEST(PropagationTraceparent, Version00WithExtraFieldsIsInvalid) {
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-01."));
  EXPECT_FALSE(parse_traceparent(
      "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-01-"));
}

TEST(PropagationTraceparent, FutureVersionIsAcceptedWithExtraFields) {
  auto plain = parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-01");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(to_hex(plain->trace_id), "12345678901234567890123456789012");
  EXPECT_EQ(to_hex(plain->span_id), "1234567890123456");
  EXPECT_TRUE(plain->sampled());

  auto extended = parse_traceparent(
      "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like");
  ASSERT_TRUE(extended.has_value());
  EXPECT_EQ(to_hex(extended->trace_id), "12345678901234567890123456789012");
  EXPECT_EQ(to_hex(extended->span_id), "1234567890123456");
  EXPECT_TRUE(extended->sampled());

  // The extra fields must be separated by a dash.
  EXPECT_FALSE(parse_traceparent(
      "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like"));
  // A future version still needs the version-00 fields to be well formed.
  EXPECT_FALSE(parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-0"));
  EXPECT_FALSE(parse_traceparent("cc-00000000000000000000000000000000-1234567890123456-01-xyz"));
}

TEST(PropagationTraceparent, UnknownFlagBitsAreIgnored) {
  auto a = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-09");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->sampled());
  auto b = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-ff");
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->sampled());
  auto c = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-fe");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->sampled());
  auto d = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-02");
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->sampled());
  // Continued with only the sampled flag meaning anything to a level-1 writer.
  EXPECT_EQ(format_traceparent(*b).substr(53), "01");
  EXPECT_EQ(format_traceparent(*c).substr(53), "00");
}

TEST(PropagationTraceparent, LeadingAndTrailingWhitespaceIsAccepted) {
  for (const char* v : {" 00-12345678901234567890123456789012-1234567890123456-01",
                        "\t00-12345678901234567890123456789012-1234567890123456-01",
                        "00-12345678901234567890123456789012-1234567890123456-01 ",
                        "00-12345678901234567890123456789012-1234567890123456-01\t",
                        "\t 00-12345678901234567890123456789012-1234567890123456-01 \t"}) {
    auto ctx = parse_traceparent(v);
    ASSERT_TRUE(ctx.has_value()) << "'" << v << "'";
    EXPECT_EQ(to_hex(ctx->trace_id), "12345678901234567890123456789012");
  }
  // Whitespace inside the value is not optional whitespace.
  EXPECT_FALSE(parse_traceparent("00- 12345678901234567890123456789012-1234567890123456-01"));
}

TEST(PropagationTraceparent, GarbageIsInvalidAndNeverThrows) {
  for (const std::string& v : {std::string(), std::string("-"), std::string("00"), std::string(55, '-'),
                               std::string(55, '0'), std::string(5000, 'a'), std::string("\0\0\0", 3),
                               std::string("00-12345678901234567890123456789012-1234567890123456-01\0", 56),
                               std::string("\xff\xfe-\x80")}) {
    std::optional<SpanContext> ctx;
    EXPECT_NO_THROW(ctx = parse_traceparent(v));
    EXPECT_FALSE(ctx.has_value());
  }
}

TEST(PropagationTraceparent, FormatWritesVersion00) {
  EXPECT_EQ(format_traceparent(make_context(true)), kValidTraceparent);
  EXPECT_EQ(format_traceparent(make_context(false)),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

TEST(PropagationTraceparent, FormatParseRoundTrip) {
  for (bool sampled : {true, false}) {
    const SpanContext in = make_context(sampled);
    auto out = parse_traceparent(format_traceparent(in));
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->trace_id, in.trace_id);
    EXPECT_EQ(out->span_id, in.span_id);
    EXPECT_EQ(out->sampled(), sampled);
  }
}

// ---- tracestate ----

std::string members(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) {
    if (!out.empty()) out += ',';
    char buf[32];
    std::snprintf(buf, sizeof buf, "bar%02d=%02d", i, i);
    out += buf;
  }
  return out;
}

TEST(PropagationTracestate, KeepsWellFormedValue) {
  EXPECT_EQ(sanitize_tracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(sanitize_tracestate("foo=1"), "foo=1");
}

TEST(PropagationTracestate, EmptyStaysEmpty) {
  EXPECT_EQ(sanitize_tracestate(""), "");
  EXPECT_EQ(sanitize_tracestate("  \t "), "");
}

TEST(PropagationTracestate, OptionalWhitespaceAndEmptyMembersAreAllowed) {
  const std::string ows = sanitize_tracestate("foo=1 \t , \t bar=2, \t baz=3");
  EXPECT_NE(ows.find("foo=1"), std::string::npos);
  EXPECT_NE(ows.find("bar=2"), std::string::npos);
  EXPECT_NE(ows.find("baz=3"), std::string::npos);
  const std::string empties = sanitize_tracestate("foo=1,,bar=2, ,");
  EXPECT_NE(empties.find("foo=1"), std::string::npos);
  EXPECT_NE(empties.find("bar=2"), std::string::npos);
}

TEST(PropagationTracestate, AtMost32Members) {
  const std::string ok = members(32);
  EXPECT_EQ(sanitize_tracestate(ok), ok);
  EXPECT_EQ(sanitize_tracestate(members(33)), "");
  // Empty members do not count.
  EXPECT_EQ(sanitize_tracestate(ok + ",,"), ok + ",,");
}

TEST(PropagationTracestate, AtMost512Characters) {
  // Five members with values well under the 256-character value limit, padded to exactly 512 characters.
  std::string v;
  for (int i = 0; i < 5; ++i) {
    if (!v.empty()) v += ',';
    v += "k" + std::to_string(i) + "=" + std::string(90, 'v');
  }
  ASSERT_LT(v.size(), 512u);
  v += std::string(512 - v.size(), 'w');
  ASSERT_EQ(v.size(), 512u);
  EXPECT_EQ(sanitize_tracestate(v), v);
  EXPECT_EQ(sanitize_tracestate(v + "w"), "");
}

TEST(PropagationTracestate, MemberWithoutKeyValueIsMalformed) {
  EXPECT_EQ(sanitize_tracestate("foo"), "");
  EXPECT_EQ(sanitize_tracestate("foo=1,bar"), "");
  EXPECT_EQ(sanitize_tracestate("=1"), "");
  EXPECT_EQ(sanitize_tracestate("foo=,bar=3"), "");  // a value needs at least one non-blank character
}

TEST(PropagationTracestate, KeyGrammarIsEnforced) {
  // W3C key = ( lcalpha / DIGIT ) 0*255 ( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" ).
  EXPECT_EQ(sanitize_tracestate("foo =1"), "");
  EXPECT_EQ(sanitize_tracestate("FOO=1"), "");
  EXPECT_EQ(sanitize_tracestate("foo.bar=1"), "");
  EXPECT_EQ(sanitize_tracestate("@foo=1,bar=2"), "");
  EXPECT_EQ(sanitize_tracestate("bar=2," + std::string(257, 'z') + "=1"), "");
  // Valid keys, including vendor (tenant@system) keys and a 256-character key.
  EXPECT_EQ(sanitize_tracestate("foo@bar=1,bar=2"), "foo@bar=1,bar=2");
  EXPECT_EQ(sanitize_tracestate("1a_-*/x=1"), "1a_-*/x=1");
  const std::string long_key = std::string(256, 'z') + "=1";
  EXPECT_EQ(sanitize_tracestate(long_key), long_key);
}

TEST(PropagationTracestate, ValueGrammarIsEnforced) {
  // W3C value = 0*255( %x20-2B / %x2D-3C / %x3E-7E ) ( %x21-2B / %x2D-3C / %x3E-7E ): no '=' or ',' and at
  // most 256 characters.
  EXPECT_EQ(sanitize_tracestate("foo=bar=baz"), "");
  EXPECT_EQ(sanitize_tracestate("foo=" + std::string(257, 'v')), "");
  EXPECT_EQ(sanitize_tracestate("foo=caf\xc3\xa9"), "");  // not printable ASCII
  const std::string ok = "foo=" + std::string(256, 'v');
  EXPECT_EQ(sanitize_tracestate(ok), ok);
  EXPECT_EQ(sanitize_tracestate("foo=a b"), "foo=a b");  // inner spaces are allowed
}

// ---- baggage ----

TEST(PropagationBaggage, ParsesMembersInOrder) {
  Baggage b;
  parse_baggage("key1=value1,key2=value2", b);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], (std::pair<std::string, std::string>("key1", "value1")));
  EXPECT_EQ(b[1], (std::pair<std::string, std::string>("key2", "value2")));
}

TEST(PropagationBaggage, TrimsOptionalWhitespace) {
  Baggage b;
  parse_baggage(" key1 = value1 ,\tkey2\t=\tvalue2\t", b);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].first, "key1");
  EXPECT_EQ(b[0].second, "value1");
  EXPECT_EQ(b[1].first, "key2");
  EXPECT_EQ(b[1].second, "value2");
}

TEST(PropagationBaggage, PercentDecodesValues) {
  Baggage b;
  parse_baggage("k=hello%20world%2C%3B%25%22%5C,u=caf%C3%A9,lower=%c3%a9", b);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].second, "hello world,;%\"\\");
  EXPECT_EQ(b[1].second, "caf\xc3\xa9");
  EXPECT_EQ(b[2].second, "\xc3\xa9");
}

TEST(PropagationBaggage, EmptyValueIsAllowed) {
  Baggage b;
  parse_baggage("k=", b);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].first, "k");
  EXPECT_EQ(b[0].second, "");
}

TEST(PropagationBaggage, PropertiesAreDropped) {
  Baggage b;
  parse_baggage("k1=v1;prop1=1;flag,k2=v2 ; p=2", b);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].first, "k1");
  EXPECT_EQ(b[0].second, "v1");
  EXPECT_EQ(b[1].first, "k2");
  EXPECT_EQ(b[1].second, "v2");
}

TEST(PropagationBaggage, MalformedMembersAreSkipped) {
  Baggage b;
  parse_baggage("novalue,=v,k e y=v,good=1,bad\"key=2,(x)=3,,   ,also=ok", b);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].first, "good");
  EXPECT_EQ(b[0].second, "1");
  EXPECT_EQ(b[1].first, "also");
  EXPECT_EQ(b[1].second, "ok");
}

TEST(PropagationBaggage, AppendsToExistingEntries) {
  Baggage b{{"a", "1"}};
  parse_baggage("b=2", b);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].first, "a");
  EXPECT_EQ(b[1].first, "b");
}

TEST(PropagationBaggage, EmptyHeaderAddsNothing) {
  Baggage b;
  parse_baggage("", b);
  EXPECT_TRUE(b.empty());
}

TEST(PropagationBaggage, MemberCountIsBounded) {
  std::string header;
  for (int i = 0; i < 800; ++i) {
    if (!header.empty()) header += ',';
    header += "k" + std::to_string(i) + "=" + std::to_string(i);
  }
  ASSERT_LE(header.size(), 8192u);
  Baggage b;
  parse_baggage(header, b);
  // W3C: at least 64 members must get through; this SDK keeps at most 180.
  EXPECT_GE(b.size(), 64u);
  EXPECT_LE(b.size(), 180u);
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b[i].first, "k" + std::to_string(i));
    EXPECT_EQ(b[i].second, std::to_string(i));
  }
}

TEST(PropagationBaggage, OversizedHeaderYieldsNoPartialMembers) {
  // More than 8192 bytes: whatever is kept must be whole members, and no more than the limit allows.
  std::string header;
  std::vector<std::string> values(40);
  for (int i = 0; i < 40; ++i) {
    if (!header.empty()) header += ',';
    values[i].assign(300, static_cast<char>('a' + i % 26));
    header += 'k';
    header += std::to_string(i);
    header += '=';
    header += values[i];
  }
  ASSERT_GT(header.size(), 8192u);
  Baggage b;
  EXPECT_NO_THROW(parse_baggage(header, b));
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b[i].first, "k" + std::to_string(i));
    EXPECT_EQ(b[i].second, values[i]);
    bytes += b[i].first.size() + 1 + b[i].second.size() + 1;
  }
  EXPECT_LE(bytes, 8192u + 1);
}

TEST(PropagationBaggage, FormatJoinsMembers) {
  EXPECT_EQ(format_baggage({{"key1", "value1"}, {"key2", "value2"}}), "key1=value1,key2=value2");
  EXPECT_EQ(format_baggage({}), "");
}

TEST(PropagationBaggage, FormatPercentEncodesReservedCharacters) {
  EXPECT_EQ(format_baggage({{"k", "a b,c;d\"e\\f%g"}}), "k=a%20b%2Cc%3Bd%22e%5Cf%25g");
  EXPECT_EQ(format_baggage({{"u", "caf\xc3\xa9"}}), "u=caf%C3%A9");
  EXPECT_EQ(format_baggage({{"c", std::string("\x01\x7f\n", 3)}}), "c=%01%7F%0A");
  // Characters allowed in a baggage-octet stay as they are.
  EXPECT_EQ(format_baggage({{"k", "abc-._~!#$&'()*+/:<=>?@[]^`{|}"}}), "k=abc-._~!#$&'()*+/:<=>?@[]^`{|}");
}

TEST(PropagationBaggage, FormatSkipsInvalidKeys) {
  EXPECT_EQ(format_baggage({{"bad key", "1"}, {"", "2"}, {"good", "3"}, {"a,b", "4"}}), "good=3");
}

TEST(PropagationBaggage, FormatParseRoundTrip) {
  const Baggage in{{"user.id", "42"},
                   {"text", "hello, world; 100% \"quoted\" \\ back"},
                   {"utf8", "\xe2\x82\xac \xc3\xa9"},
                   {"empty", ""},
                   {"eq", "a=b"}};
  Baggage out;
  parse_baggage(format_baggage(in), out);
  EXPECT_EQ(out, in);
}

TEST(PropagationBaggage, FormatStaysWithinSizeLimitWithWholeMembers) {
  Baggage in;
  for (int i = 0; i < 100; ++i) in.emplace_back("key" + std::to_string(i), std::string(200, 'x'));
  const std::string header = format_baggage(in);
  EXPECT_LE(header.size(), 8192u);
  EXPECT_FALSE(header.empty());
  Baggage out;
  parse_baggage(header, out);
  ASSERT_FALSE(out.empty());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], in[i]);
}

// ---- X-Ray ----

constexpr std::string_view kXray =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

TEST(PropagationXray, ParsesRootParentSampled) {
  auto ctx = parse_xray(kXray);
  ASSERT_TRUE(ctx.has_value());
  EXPECT_EQ(to_hex(ctx->trace_id), "5759e988bd862e3fe1be46a994272793");
  EXPECT_EQ(to_hex(ctx->span_id), "53995c3f42cd8ad8");
  EXPECT_TRUE(ctx->sampled());
  EXPECT_TRUE(ctx->remote);
}

TEST(PropagationXray, SampledZero) {
  auto ctx = parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0");
  ASSERT_TRUE(ctx.has_value());
  EXPECT_FALSE(ctx->sampled());
}

TEST(PropagationXray, OrderWhitespaceAndExtraFieldsDoNotMatter) {
  auto ctx = parse_xray(
      "Self=1-67891233-12456789abcdef012345678;Parent=53995c3f42cd8ad8; Sampled=1 ;"
      " Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a87bd80c:1|68fd508a:5");
  ASSERT_TRUE(ctx.has_value());
  EXPECT_EQ(to_hex(ctx->trace_id), "5759e988bd862e3fe1be46a994272793");
  EXPECT_EQ(to_hex(ctx->span_id), "53995c3f42cd8ad8");
  EXPECT_TRUE(ctx->sampled());
}

TEST(PropagationXray, MissingPartsAreInvalid) {
  EXPECT_FALSE(parse_xray(""));
  EXPECT_FALSE(parse_xray("Parent=53995c3f42cd8ad8;Sampled=1"));                   // no Root
  EXPECT_FALSE(parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"));  // no Parent
  EXPECT_FALSE(parse_xray("Root=;Parent=53995c3f42cd8ad8;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=;Sampled=1"));
}

TEST(PropagationXray, MalformedIdsAreInvalid) {
  // Wrong version, wrong lengths, missing separator, non-hex, all-zero ids.
  EXPECT_FALSE(parse_xray("Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e98-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e988xbd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e98g-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8adz;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8;Sampled=1"));
  EXPECT_FALSE(parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000;Sampled=1"));
}

TEST(PropagationXray, GarbageNeverThrows) {
  for (const std::string& v :
       {std::string(";;;;"), std::string("===="), std::string(10000, ';'), std::string("Root=1-\0\0", 9),
        std::string("Root=1-5759e988-"), std::string("Root"), std::string("\xff\xfe")}) {
    std::optional<SpanContext> ctx;
    EXPECT_NO_THROW(ctx = parse_xray(v));
    EXPECT_FALSE(ctx.has_value());
  }
}

TEST(PropagationXray, FormatAndRoundTrip) {
  SpanContext ctx;
  ASSERT_TRUE(from_hex("5759e988bd862e3fe1be46a994272793", ctx.trace_id));
  ASSERT_TRUE(from_hex("53995c3f42cd8ad8", ctx.span_id));
  ctx.flags = 1;
  EXPECT_EQ(format_xray(ctx), kXray);
  ctx.flags = 0;
  EXPECT_EQ(format_xray(ctx), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0");
  auto back = parse_xray(format_xray(ctx));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->trace_id, ctx.trace_id);
  EXPECT_EQ(back->span_id, ctx.span_id);
  EXPECT_FALSE(back->sampled());
}

// ---- Propagators ----

TEST(PropagationPropagators, DefaultListExtractsTraceContextAndBaggage) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext,baggage", w);
  EXPECT_TRUE(w.empty());
  Headers h;
  h.add("traceparent", kValidTraceparent);
  h.add("tracestate", "congo=t61rcWkgMzE");
  h.add("baggage", "user=alice,team=a%20b");
  h.add("X-Amzn-Trace-Id", std::string(kXray));  // not selected: ignored
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  ASSERT_TRUE(ctx.valid());
  EXPECT_EQ(to_hex(ctx.trace_id), kTraceHex);
  EXPECT_EQ(to_hex(ctx.span_id), kSpanHex);
  EXPECT_TRUE(ctx.sampled());
  EXPECT_TRUE(ctx.remote);
  EXPECT_EQ(ctx.trace_state, "congo=t61rcWkgMzE");
  ASSERT_EQ(bag.size(), 2u);
  EXPECT_EQ(bag[0], (std::pair<std::string, std::string>("user", "alice")));
  EXPECT_EQ(bag[1], (std::pair<std::string, std::string>("team", "a b")));
}

TEST(PropagationPropagators, DefaultListInjectsTraceContextAndBaggage) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext,baggage", w);
  Headers h;
  p.inject(make_context(true, "rojo=00f067aa0ba902b7"), Baggage{{"user", "a b"}}, h.setter());
  EXPECT_EQ(h.get("traceparent"), kValidTraceparent);
  EXPECT_EQ(h.get("tracestate"), "rojo=00f067aa0ba902b7");
  EXPECT_EQ(h.get("baggage"), "user=a%20b");
  EXPECT_FALSE(h.has("x-amzn-trace-id"));
  EXPECT_EQ(h.set_calls.size(), 3u);
}

TEST(PropagationPropagators, TracestateIsInjectedOnlyWhenPresent) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext", w);
  Headers h;
  p.inject(make_context(false), {}, h.setter());
  EXPECT_EQ(h.get("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  EXPECT_FALSE(h.has("tracestate"));
  EXPECT_FALSE(h.has("baggage"));
}

TEST(PropagationPropagators, TracecontextOnlyIgnoresBaggage) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext", w);
  Headers h;
  h.add("traceparent", kValidTraceparent);
  h.add("baggage", "k=v");
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  EXPECT_TRUE(ctx.valid());
  EXPECT_TRUE(bag.empty());
  Headers out;
  p.inject(ctx, Baggage{{"k", "v"}}, out.setter());
  EXPECT_TRUE(out.has("traceparent"));
  EXPECT_FALSE(out.has("baggage"));
}

TEST(PropagationPropagators, BaggageOnlyIgnoresTraceContext) {
  Warnings w;
  Propagators p = Propagators::from_list("baggage", w);
  Headers h;
  h.add("traceparent", kValidTraceparent);
  h.add("baggage", "k=v");
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  EXPECT_FALSE(ctx.valid());
  ASSERT_EQ(bag.size(), 1u);
  Headers out;
  p.inject(make_context(true), bag, out.setter());
  EXPECT_FALSE(out.has("traceparent"));
  EXPECT_EQ(out.get("baggage"), "k=v");
}

TEST(PropagationPropagators, XrayOnly) {
  Warnings w;
  Propagators p = Propagators::from_list("xray", w);
  EXPECT_TRUE(w.empty());
  Headers h;
  h.add("X-Amzn-Trace-Id", std::string(kXray));
  h.add("baggage", "k=v");
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  ASSERT_TRUE(ctx.valid());
  EXPECT_EQ(to_hex(ctx.trace_id), "5759e988bd862e3fe1be46a994272793");
  EXPECT_EQ(to_hex(ctx.span_id), "53995c3f42cd8ad8");
  EXPECT_TRUE(bag.empty());

  // A traceparent alone is not read when only xray is selected.
  Headers tp;
  tp.add("traceparent", kValidTraceparent);
  SpanContext none;
  p.extract(tp.getter(), none, bag);
  EXPECT_FALSE(none.valid());

  Headers out;
  p.inject(ctx, Baggage{{"k", "v"}}, out.setter());
  EXPECT_EQ(out.get("x-amzn-trace-id"), std::string(kXray));
  EXPECT_FALSE(out.has("traceparent"));
  EXPECT_FALSE(out.has("baggage"));
  ASSERT_EQ(out.set_calls.size(), 1u);
  EXPECT_EQ(out.set_calls[0].first, "X-Amzn-Trace-Id");
}

TEST(PropagationPropagators, NoneDoesNothing) {
  Warnings w;
  Propagators p = Propagators::from_list("none", w);
  EXPECT_TRUE(w.empty());
  Headers h;
  h.add("traceparent", kValidTraceparent);
  h.add("X-Amzn-Trace-Id", std::string(kXray));
  h.add("baggage", "k=v");
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  EXPECT_FALSE(ctx.valid());
  EXPECT_TRUE(bag.empty());
  Headers out;
  p.inject(make_context(true), Baggage{{"k", "v"}}, out.setter());
  EXPECT_TRUE(out.set_calls.empty());
}

TEST(PropagationPropagators, UnknownNameWarnsAndIsSkipped) {
  Warnings w;
  Propagators p = Propagators::from_list("b3,tracecontext,jaeger", w);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[0].find("b3"), std::string::npos);
  EXPECT_NE(w[1].find("jaeger"), std::string::npos);
  Headers h;
  h.add("traceparent", kValidTraceparent);
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  EXPECT_TRUE(ctx.valid());
}

TEST(PropagationPropagators, ListWhitespaceIsTolerated) {
  Warnings w;
  Propagators p = Propagators::from_list(" tracecontext , baggage ", w);
  EXPECT_TRUE(w.empty());
  Headers out;
  p.inject(make_context(true), Baggage{{"k", "v"}}, out.setter());
  EXPECT_TRUE(out.has("traceparent"));
  EXPECT_TRUE(out.has("baggage"));
}

TEST(PropagationPropagators, TracecontextWinsOverXrayWhenBothPresent) {
  for (const char* list : {"tracecontext,xray", "xray,tracecontext"}) {
    Warnings w;
    Propagators p = Propagators::from_list(list, w);
    Headers h;
    h.add("traceparent", kValidTraceparent);
    h.add("X-Amzn-Trace-Id", std::string(kXray));
    SpanContext ctx;
    Baggage bag;
    p.extract(h.getter(), ctx, bag);
    ASSERT_TRUE(ctx.valid()) << list;
    EXPECT_EQ(to_hex(ctx.trace_id), kTraceHex) << list;
    EXPECT_EQ(to_hex(ctx.span_id), kSpanHex) << list;
  }
}

TEST(PropagationPropagators, XrayIsUsedWhenTraceparentIsInvalid) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext,xray", w);
  Headers h;
  h.add("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01");
  h.add("tracestate", "foo=1");
  h.add("X-Amzn-Trace-Id", std::string(kXray));
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  ASSERT_TRUE(ctx.valid());
  EXPECT_EQ(to_hex(ctx.trace_id), "5759e988bd862e3fe1be46a994272793");
  EXPECT_TRUE(ctx.trace_state.empty());
}

TEST(PropagationPropagators, InjectWritesEverySelectedFormat) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext,baggage,xray", w);
  Headers out;
  p.inject(make_context(true, "foo=1"), Baggage{{"k", "v"}}, out.setter());
  EXPECT_EQ(out.get("traceparent"), kValidTraceparent);
  EXPECT_EQ(out.get("tracestate"), "foo=1");
  EXPECT_EQ(out.get("baggage"), "k=v");
  EXPECT_EQ(out.get("x-amzn-trace-id"),
            "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1");
}

TEST(PropagationPropagators, InvalidContextInjectsNoTraceHeadersButBaggage) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext,baggage,xray", w);
  Headers out;
  p.inject(SpanContext{}, Baggage{{"k", "v"}}, out.setter());
  EXPECT_FALSE(out.has("traceparent"));
  EXPECT_FALSE(out.has("tracestate"));
  EXPECT_FALSE(out.has("x-amzn-trace-id"));
  EXPECT_EQ(out.get("baggage"), "k=v");
}

TEST(PropagationPropagators, TracestateIsExtractedOnlyWithValidTraceparent) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext", w);
  Headers h;
  h.add("traceparent", "garbage");
  h.add("tracestate", "foo=1");
  SpanContext ctx;
  Baggage bag;
  p.extract(h.getter(), ctx, bag);
  EXPECT_FALSE(ctx.valid());
  EXPECT_TRUE(ctx.trace_state.empty());

  Headers bad_state;
  bad_state.add("traceparent", kValidTraceparent);
  bad_state.add("tracestate", "foo");  // malformed: dropped, the traceparent still counts
  SpanContext ctx2;
  p.extract(bad_state.getter(), ctx2, bag);
  EXPECT_TRUE(ctx2.valid());
  EXPECT_TRUE(ctx2.trace_state.empty());
}

TEST(PropagationPropagators, InjectExtractRoundTrip) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext,baggage", w);
  Headers wire;
  const SpanContext sent = make_context(true, "congo=t61rcWkgMzE");
  const Baggage sent_bag{{"tenant", "acme corp"}, {"x", "1,2;3"}};
  p.inject(sent, sent_bag, wire.setter());
  SpanContext got;
  Baggage got_bag;
  p.extract(wire.getter(), got, got_bag);
  EXPECT_EQ(got.trace_id, sent.trace_id);
  EXPECT_EQ(got.span_id, sent.span_id);
  EXPECT_EQ(got.sampled(), sent.sampled());
  EXPECT_EQ(got.trace_state, sent.trace_state);
  EXPECT_TRUE(got.remote);
  EXPECT_EQ(got_bag, sent_bag);
}

TEST(PropagationPropagators, BadHeadersNeverThrow) {
  Warnings w;
  Propagators p = Propagators::from_list("tracecontext,baggage,xray", w);
  const std::vector<std::string> junk = {std::string(),
                                         std::string(20000, 'x'),
                                         std::string(20000, ','),
                                         std::string(20000, '='),
                                         std::string(20000, ';'),
                                         std::string("\0\0\0\0", 4),
                                         std::string("\xff\xfe\xfd"),
                                         std::string("%"),
                                         std::string("k=%"),
                                         std::string("k=%4"),
                                         std::string("k=%zz"),
                                         std::string("00-") + std::string(200, '-')};
  for (const auto& a : junk) {
    for (const auto& b : junk) {
      Headers h;
      h.add("traceparent", a);
      h.add("tracestate", b);
      h.add("baggage", b);
      h.add("X-Amzn-Trace-Id", a);
      SpanContext ctx;
      Baggage bag;
      EXPECT_NO_THROW(p.extract(h.getter(), ctx, bag));
      EXPECT_FALSE(ctx.valid());
    }
  }
}

}  // namespace
}  // namespace sy::telemetry
