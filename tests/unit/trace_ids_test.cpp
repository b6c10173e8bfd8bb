// Unit tests for trace and span ids: hex conversion and validity (span_data.h) and the id generator
// (id_generator.h), including the X-Ray flavour with the epoch seconds in the first four bytes.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "telemetry/id_generator.h"
#include "telemetry/span_data.h"

namespace sy::telemetry {
namespace {

std::uint32_t unix_seconds_now() {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// ---- span_data.h: hex and validity ----

TEST(TraceIdsHex, TraceIdToHexIsLowercase32Digits) {
  TraceId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xa0 + i);
  EXPECT_EQ(to_hex(id), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  TraceId zero{};
  EXPECT_EQ(to_hex(zero), std::string(32, '0'));
}

TEST(TraceIdsHex, SpanIdToHexIsLowercase16Digits) {
  SpanId id{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  EXPECT_EQ(to_hex(id), "00f067aa0ba902b7");
}

TEST(TraceIdsHex, TraceIdRoundTrip) {
  const std::string hex = "4bf92f3577b34da6a3ce929d0e0e4736";
  TraceId id{};
  ASSERT_TRUE(from_hex(hex, id));
  EXPECT_EQ(id[0], 0x4b);
  EXPECT_EQ(id[15], 0x36);
  EXPECT_EQ(to_hex(id), hex);
}

TEST(TraceIdsHex, SpanIdRoundTrip) {
  const std::string hex = "00f067aa0ba902b7";
  SpanId id{};
  ASSERT_TRUE(from_hex(hex, id));
  EXPECT_EQ(id[1], 0xf0);
  EXPECT_EQ(to_hex(id), hex);
}

TEST(TraceIdsHex, RoundTripOfGeneratedIds) {
  IdGenerator gen;
  for (int i = 0; i < 100; ++i) {
    const TraceId t = gen.trace_id();
    const SpanId s = gen.span_id();
    TraceId t2{};
    SpanId s2{};
    ASSERT_TRUE(from_hex(to_hex(t), t2));
    ASSERT_TRUE(from_hex(to_hex(s), s2));
    EXPECT_EQ(t, t2);
    EXPECT_EQ(s, s2);
  }
}

TEST(TraceIdsHex, FromHexAcceptsUppercase) {
  TraceId t{};
  ASSERT_TRUE(from_hex("4BF92F3577B34DA6A3CE929D0E0E4736", t));
  EXPECT_EQ(to_hex(t), "4bf92f3577b34da6a3ce929d0e0e4736");
  SpanId s{};
  ASSERT_TRUE(from_hex("00F067AA0bA902b7", s));  // mixed case too
  EXPECT_EQ(to_hex(s), "00f067aa0ba902b7");
}

TEST(TraceIdsHex, FromHexRejectsWrongLength) {
  TraceId t{};
  EXPECT_FALSE(from_hex("", t));
  EXPECT_FALSE(from_hex("4bf92f3577b34da6a3ce929d0e0e473", t));    // 31
  EXPECT_FALSE(from_hex("4bf92f3577b34da6a3ce929d0e0e47361", t));  // 33
  EXPECT_FALSE(from_hex("00f067aa0ba902b7", t));                   // a span id's length
  SpanId s{};
  EXPECT_FALSE(from_hex("", s));
  EXPECT_FALSE(from_hex("00f067aa0ba902b", s));    // 15
  EXPECT_FALSE(from_hex("00f067aa0ba902b70", s));  // 17
  EXPECT_FALSE(from_hex("4bf92f3577b34da6a3ce929d0e0e4736", s));
}

TEST(TraceIdsHex, FromHexRejectsNonHex) {
  TraceId t{};
  EXPECT_FALSE(from_hex("4bf92f3577b34da6a3ce929d0e0e473g", t));
  EXPECT_FALSE(from_hex("-bf92f3577b34da6a3ce929d0e0e4736", t));
  EXPECT_FALSE(from_hex("4bf92f3577b34da6 3ce929d0e0e4736", t));
  EXPECT_FALSE(from_hex("0x f92f3577b34da6a3ce929d0e0e4736", t));
  SpanId s{};
  EXPECT_FALSE(from_hex("00f067aa0ba902bz", s));
  EXPECT_FALSE(from_hex("00f067aa0ba902b.", s));
  EXPECT_FALSE(from_hex(std::string("00f067aa0ba902b\0", 16), s));
}

TEST(TraceIdsValid, AllZeroIsInvalidAnyNonZeroByteIsValid) {
  TraceId t{};
  EXPECT_FALSE(is_valid(t));
  for (std::size_t i = 0; i < t.size(); ++i) {
    TraceId one{};
    one[i] = 1;
    EXPECT_TRUE(is_valid(one)) << "byte " << i;
  }
  SpanId s{};
  EXPECT_FALSE(is_valid(s));
  for (std::size_t i = 0; i < s.size(); ++i) {
    SpanId one{};
    one[i] = 0x80;
    EXPECT_TRUE(is_valid(one)) << "byte " << i;
  }
}

TEST(TraceIdsValid, ParsedAllZeroHexIsInvalid) {
  TraceId t{};
  ASSERT_TRUE(from_hex(std::string(32, '0'), t));  // well-formed hex, but not a valid id
  EXPECT_FALSE(is_valid(t));
  SpanId s{};
  ASSERT_TRUE(from_hex(std::string(16, '0'), s));
  EXPECT_FALSE(is_valid(s));
}

// ---- id_generator.h ----

TEST(TraceIdsGenerator, DefaultIsNotXray) {
  EXPECT_FALSE(IdGenerator().xray_compatible());
  EXPECT_TRUE(IdGenerator(true).xray_compatible());
}

TEST(TraceIdsGenerator, IdsAreValid) {
  for (bool xray : {false, true}) {
    IdGenerator gen(xray);
    for (int i = 0; i < 10000; ++i) {
      ASSERT_TRUE(is_valid(gen.trace_id()));
      ASSERT_TRUE(is_valid(gen.span_id()));
    }
  }
}

TEST(TraceIdsGenerator, TraceIdsAreUnique) {
  IdGenerator gen;
  std::set<TraceId> seen;
  constexpr int kDraws = 50000;
  for (int i = 0; i < kDraws; ++i) seen.insert(gen.trace_id());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kDraws));
}

TEST(TraceIdsGenerator, SpanIdsAreUnique) {
  IdGenerator gen;
  std::set<SpanId> seen;
  constexpr int kDraws = 50000;
  for (int i = 0; i < kDraws; ++i) seen.insert(gen.span_id());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kDraws));
}

TEST(TraceIdsGenerator, XrayTraceIdsAreUnique) {
  IdGenerator gen(true);
  std::set<TraceId> seen;
  constexpr int kDraws = 50000;
  for (int i = 0; i < kDraws; ++i) seen.insert(gen.trace_id());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kDraws));
}

TEST(TraceIdsGenerator, IdsFromDifferentThreadsAreUnique) {
  // Each thread has its own random source: they must not be seeded alike.
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::vector<TraceId>> traces(kThreads);
  std::vector<std::vector<SpanId>> spans(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      IdGenerator gen;
      for (int i = 0; i < kPerThread; ++i) {
        traces[t].push_back(gen.trace_id());
        spans[t].push_back(gen.span_id());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<TraceId> all_traces;
  std::set<SpanId> all_spans;
  for (int t = 0; t < kThreads; ++t) {
    all_traces.insert(traces[t].begin(), traces[t].end());
    all_spans.insert(spans[t].begin(), spans[t].end());
  }
  EXPECT_EQ(all_traces.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(all_spans.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(TraceIdsGenerator, RandomIdsUseEveryByte) {
  // Not a statistical test: over many draws, every byte of the id takes more than one value (no constant
  // bytes).
  IdGenerator gen;
  std::vector<std::set<std::uint8_t>> trace_bytes(16), span_bytes(8);
  for (int i = 0; i < 1000; ++i) {
    const TraceId t = gen.trace_id();
    const SpanId s = gen.span_id();
    for (std::size_t b = 0; b < t.size(); ++b) trace_bytes[b].insert(t[b]);
    for (std::size_t b = 0; b < s.size(); ++b) span_bytes[b].insert(s[b]);
  }
  for (std::size_t b = 0; b < trace_bytes.size(); ++b)
    EXPECT_GT(trace_bytes[b].size(), 100u) << "trace byte " << b;
  for (std::size_t b = 0; b < span_bytes.size(); ++b)
    EXPECT_GT(span_bytes[b].size(), 100u) << "span byte " << b;
}

TEST(TraceIdsGenerator, XrayTraceIdStartsWithBigEndianEpochSeconds) {
  IdGenerator gen(true);
  for (int i = 0; i < 100; ++i) {
    const std::uint32_t before = unix_seconds_now();
    const TraceId id = gen.trace_id();
    const std::uint32_t after = unix_seconds_now();
    const std::uint32_t secs = (static_cast<std::uint32_t>(id[0]) << 24) |
                               (static_cast<std::uint32_t>(id[1]) << 16) |
                               (static_cast<std::uint32_t>(id[2]) << 8) | static_cast<std::uint32_t>(id[3]);
    ASSERT_GE(secs, before);
    ASSERT_LE(secs, after);
    // The same as the X-Ray header's "1-<8 hex epoch>-..." form.
    char expected[9];
    std::snprintf(expected, sizeof expected, "%08x", secs);
    EXPECT_EQ(to_hex(id).substr(0, 8), expected);
  }
}

TEST(TraceIdsGenerator, XrayTraceIdRestIsRandom) {
  IdGenerator gen(true);
  std::vector<std::set<std::uint8_t>> bytes(16);
  for (int i = 0; i < 1000; ++i) {
    const TraceId t = gen.trace_id();
    for (std::size_t b = 0; b < t.size(); ++b) bytes[b].insert(t[b]);
  }
  for (std::size_t b = 4; b < 16; ++b) EXPECT_GT(bytes[b].size(), 100u) << "byte " << b;
}

TEST(TraceIdsGenerator, NonXrayTraceIdDoesNotCarryTheTime) {
  // The default generator is fully random: the first four bytes are not the clock (with overwhelming
  // probability at least one of 20 draws differs from the current time).
  IdGenerator gen(false);
  int matches = 0;
  for (int i = 0; i < 20; ++i) {
    const std::uint32_t now = unix_seconds_now();
    const TraceId id = gen.trace_id();
    const std::uint32_t secs = (static_cast<std::uint32_t>(id[0]) << 24) |
                               (static_cast<std::uint32_t>(id[1]) << 16) |
                               (static_cast<std::uint32_t>(id[2]) << 8) | static_cast<std::uint32_t>(id[3]);
    if (secs >= now - 1 && secs <= now + 1) ++matches;
  }
  EXPECT_LT(matches, 20);
}

}  // namespace
}  // namespace sy::telemetry
