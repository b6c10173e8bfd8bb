// Unit tests for the AWS event-stream decoder and encoder: the AWS SDKs' published frames (positive and
// negative), round trips of every header type, frames split at every byte boundary or packed many to a read,
// corruption, truncation, size limits and malformed header blocks.
#include "providers/bedrock/event_stream.h"

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

namespace sy::providers::bedrock {
namespace {

std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::uint32_t crc(std::string_view data) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// A frame around a raw headers block, with correct lengths and CRCs (for malformed header blocks).
std::string frame_with_raw_headers(std::string_view headers_block, std::string_view payload) {
  std::string frame;
  put_u32(frame, static_cast<std::uint32_t>(16 + headers_block.size() + payload.size()));
  put_u32(frame, static_cast<std::uint32_t>(headers_block.size()));
  put_u32(frame, crc(frame));
  frame.append(headers_block);
  frame.append(payload);
  put_u32(frame, crc(frame));
  return frame;
}

// A prelude with the given lengths and a correct prelude CRC (the rest of the frame is not needed to fail).
std::string prelude(std::uint32_t total, std::uint32_t headers_len) {
  std::string p;
  put_u32(p, total);
  put_u32(p, headers_len);
  put_u32(p, crc(p));
  return p;
}

std::vector<EventMessage> decode_all(std::string_view stream,
                                     EventStreamError expected = EventStreamError::none) {
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  EXPECT_EQ(decoder.feed(stream, out), expected == EventStreamError::none);
  EXPECT_EQ(decoder.error(), expected) << to_string(decoder.error());
  return out;
}

void expect_same(const std::vector<EventMessage>& a, const std::vector<EventMessage>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].headers, b[i].headers) << "message " << i;
    EXPECT_EQ(a[i].payload, b[i].payload) << "message " << i;
  }
}

std::string converse_event(std::string_view event_type, std::string_view json) {
  return encode_event_message({EventHeader::string_value(":event-type", std::string(event_type)),
                               EventHeader::string_value(":content-type", "application/json"),
                               EventHeader::string_value(":message-type", "event")},
                              json);
}

// Three Converse-shaped frames back to back.
std::string converse_stream() {
  return converse_event("messageStart", R"({"role":"assistant"})") +
         converse_event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})") +
         converse_event("messageStop", R"({"stopReason":"end_turn"})");
}

// --- The AWS SDKs' published frames (aws-sdk-go and aws-c-event-stream test data) ---

constexpr std::string_view kEmptyMessage = "000000100000000005c248eb7d98c8ff";
constexpr std::string_view kPayloadNoHeaders = "0000001d00000000fd528c5a7b27666f6f273a27626172277dc3653936";
constexpr std::string_view kInt32Header =
    "0000002d0000001041c424b80a6576656e742d74797065040000a00c7b27666f6f273a27626172277d36f480a0";
constexpr std::string_view kOneStringHeader =
    "0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27666f6f273a27"
    "626172"
    "277d8d9c08b1";
constexpr std::string_view kAllHeaders =
    "000000cc000000af0fae64ca0a6576656e742d74797065040000a00c0c636f6e74656e742d747970650700106170706c69636174"
    "696f"
    "6e2f6a736f6e0a626f6f6c2066616c73650109626f6f6c207472756500046279746502cf08627974652062756606001449276d20"
    "6120"
    "6c6974746c6520746561706f74210974696d657374616d70080000000000845fed05696e74313603002a05696e74363405000000"
    "00"
    "028757b20475756964090102030405060708090a0b0c0d0e0f107b27666f6f273a27626172277daba5f10c";

std::vector<EventHeader> all_headers() {
  return {EventHeader::integer_value("event-type", EventHeaderType::int32, 40972),
          EventHeader::string_value("content-type", "application/json"),
          EventHeader::bool_value("bool false", false),
          EventHeader::bool_value("bool true", true),
          EventHeader::integer_value("byte", EventHeaderType::byte, -49),  // 0xcf
          EventHeader::bytes_value("byte buf", "I'm a little teapot!"),
          EventHeader::integer_value("timestamp", EventHeaderType::timestamp, 8675309),
          EventHeader::integer_value("int16", EventHeaderType::int16, 42),
          EventHeader::integer_value("int64", EventHeaderType::int64, 42424242),
          EventHeader::uuid_value("uuid", from_hex("0102030405060708090a0b0c0d0e0f10"))};
}

TEST(EventStreamTest, PublishedEmptyMessage) {
  auto messages = decode_all(from_hex(kEmptyMessage));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].headers.empty());
  EXPECT_EQ(messages[0].payload, "");
  EXPECT_EQ(encode_event_message({}, ""), from_hex(kEmptyMessage));
}

TEST(EventStreamTest, PublishedPayloadWithoutHeaders) {
  auto messages = decode_all(from_hex(kPayloadNoHeaders));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].headers.empty());
  EXPECT_EQ(messages[0].payload, "{'foo':'bar'}");
  EXPECT_EQ(encode_event_message({}, "{'foo':'bar'}"), from_hex(kPayloadNoHeaders));
}

TEST(EventStreamTest, PublishedInt32Header) {
  auto messages = decode_all(from_hex(kInt32Header));
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].headers.size(), 1u);
  EXPECT_EQ(messages[0].headers[0], EventHeader::integer_value("event-type", EventHeaderType::int32, 40972));
  EXPECT_EQ(messages[0].header("event-type"), "");  // not a string header
  EXPECT_EQ(encode_event_message(messages[0].headers, "{'foo':'bar'}"), from_hex(kInt32Header));
}

TEST(EventStreamTest, PublishedStringHeader) {
  auto messages = decode_all(from_hex(kOneStringHeader));
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].headers.size(), 1u);
  EXPECT_EQ(messages[0].header("content-type"), "application/json");
  EXPECT_EQ(messages[0].payload, "{'foo':'bar'}");
  EXPECT_EQ(
      encode_event_message({EventHeader::string_value("content-type", "application/json")}, "{'foo':'bar'}"),
      from_hex(kOneStringHeader));
}

TEST(EventStreamTest, PublishedAllHeaderTypes) {
  const std::string frame = from_hex(kAllHeaders);
  ASSERT_EQ(frame.size(), 204u);
  auto messages = decode_all(frame);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].headers, all_headers());
  EXPECT_EQ(messages[0].payload, "{'foo':'bar'}");
  EXPECT_EQ(encode_event_message(all_headers(), "{'foo':'bar'}"), frame);
}

TEST(EventStreamTest, PublishedNegativeFrames) {
  // Headers length changed: the prelude no longer matches its CRC.
  decode_all(
      from_hex("0000003d0000002107fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27"
               "666f6f273a27626172277d8d9c08b1"),
      EventStreamError::prelude_crc);
  // Total length changed.
  decode_all(
      from_hex("0000003e0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27"
               "666f6f273a27626172277d8d9c08b1"),
      EventStreamError::prelude_crc);
  // A payload byte changed.
  decode_all(
      from_hex("0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b61"
               "666f6f273a27626172277d8d9c08b1"),
      EventStreamError::message_crc);
  decode_all(from_hex("0000001d00000000fd528c5a5b27666f6f273a27626172277dc3653936"),
             EventStreamError::message_crc);
}

// --- Round trips ---

TEST(EventStreamTest, ConverseEventAccessors) {
  auto messages = decode_all(converse_event("contentBlockDelta", R"({"delta":{"text":"Hi"}})"));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message_type(), "event");
  EXPECT_EQ(messages[0].event_type(), "contentBlockDelta");
  EXPECT_EQ(messages[0].content_type(), "application/json");
  EXPECT_EQ(messages[0].exception_type(), "");
  EXPECT_EQ(messages[0].payload, R"({"delta":{"text":"Hi"}})");
}

TEST(EventStreamTest, ExceptionMessage) {
  const std::string frame =
      encode_event_message({EventHeader::string_value(":exception-type", "throttlingException"),
                            EventHeader::string_value(":content-type", "application/json"),
                            EventHeader::string_value(":message-type", "exception")},
                           R"({"message":"Too many requests"})");
  auto messages = decode_all(frame);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message_type(), "exception");
  EXPECT_EQ(messages[0].exception_type(), "throttlingException");
  EXPECT_EQ(messages[0].event_type(), "");
}

TEST(EventStreamTest, EveryHeaderTypeRoundTrips) {
  const std::vector<EventHeader> headers = {
      EventHeader::bool_value("t", true),
      EventHeader::bool_value("f", false),
      EventHeader::integer_value("b", EventHeaderType::byte, -1),
      EventHeader::integer_value("b+", EventHeaderType::byte, 127),
      EventHeader::integer_value("s", EventHeaderType::int16, -2),
      EventHeader::integer_value("s+", EventHeaderType::int16, 32767),
      EventHeader::integer_value("i", EventHeaderType::int32, std::numeric_limits<std::int32_t>::min()),
      EventHeader::integer_value("l", EventHeaderType::int64, std::numeric_limits<std::int64_t>::min()),
      EventHeader::integer_value("l+", EventHeaderType::int64, std::numeric_limits<std::int64_t>::max()),
      EventHeader::integer_value("ts", EventHeaderType::timestamp, 1709806500123),
      EventHeader::bytes_value("raw", std::string("\0\1\xff", 3)),
      EventHeader::bytes_value("empty", ""),
      EventHeader::string_value("str", "h\xc3\xa9llo"),
      EventHeader::string_value(std::string(255, 'n'), std::string(65535, 'v')),
      EventHeader::uuid_value("id", from_hex("00112233445566778899aabbccddeeff")),
  };
  const std::string frame = encode_event_message(headers, std::string("pay\0load", 8));
  ASSERT_FALSE(frame.empty());
  auto messages = decode_all(frame);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].headers, headers);
  EXPECT_EQ(messages[0].payload, std::string("pay\0load", 8));
}

TEST(EventStreamTest, IntegersAreTruncatedToTheirWidthWhenEncoded) {
  auto messages =
      decode_all(encode_event_message({EventHeader::integer_value("b", EventHeaderType::byte, 0x1ff),
                                       EventHeader::integer_value("s", EventHeaderType::int16, 0x18000)},
                                      ""));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].headers[0].integer, -1);
  EXPECT_EQ(messages[0].headers[1].integer, -32768);
}

TEST(EventStreamTest, HeaderLookupTakesTheFirstStringHeader) {
  auto messages = decode_all(encode_event_message(
      {EventHeader::integer_value("x", EventHeaderType::int32, 1), EventHeader::string_value("x", "first"),
       EventHeader::string_value("x", "second")},
      ""));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].header("x"), "first");
  EXPECT_EQ(messages[0].header("y"), "");
}

// --- Incremental feeding ---

TEST(EventStreamTest, SplitAtEveryByteBoundary) {
  const std::string stream = converse_stream() + from_hex(kAllHeaders);
  const auto whole = decode_all(stream);
  ASSERT_EQ(whole.size(), 4u);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    EventStreamDecoder decoder;
    std::vector<EventMessage> out;
    ASSERT_TRUE(decoder.feed(std::string_view(stream).substr(0, cut), out)) << cut;
    ASSERT_TRUE(decoder.feed(std::string_view(stream).substr(cut), out)) << cut;
    EXPECT_EQ(decoder.buffered_bytes(), 0u);
    expect_same(out, whole);
  }
}

TEST(EventStreamTest, SplitAtEveryPairOfBoundaries) {
  const std::string stream = converse_event("a", "{}") + converse_event("b", "[1]");
  const auto whole = decode_all(stream);
  ASSERT_EQ(whole.size(), 2u);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    for (std::size_t j = i; j <= stream.size(); ++j) {
      EventStreamDecoder decoder;
      std::vector<EventMessage> out;
      const std::string_view s(stream);
      ASSERT_TRUE(decoder.feed(s.substr(0, i), out));
      ASSERT_TRUE(decoder.feed(s.substr(i, j - i), out));
      ASSERT_TRUE(decoder.feed(s.substr(j), out));
      ASSERT_EQ(out.size(), 2u) << i << "," << j;
      EXPECT_EQ(out[0].event_type(), "a");
      EXPECT_EQ(out[1].payload, "[1]");
    }
  }
}

TEST(EventStreamTest, ByteAtATime) {
  const std::string stream = converse_stream();
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  for (char c : stream) ASSERT_TRUE(decoder.feed(std::string_view(&c, 1), out));
  expect_same(out, decode_all(stream));
}

TEST(EventStreamTest, ManyFramesInOneRead) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += converse_event("contentBlockDelta", std::to_string(i));
  auto messages = decode_all(stream);
  ASSERT_EQ(messages.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(messages[i].payload, std::to_string(i));
}

TEST(EventStreamTest, TruncatedInputStaysPending) {
  const std::string frame = converse_event("messageStop", "{}");
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  EXPECT_TRUE(decoder.feed(std::string_view(frame).substr(0, frame.size() - 1), out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(decoder.failed());
  EXPECT_EQ(decoder.buffered_bytes(), frame.size() - 1);
  EXPECT_TRUE(decoder.feed(std::string_view(frame).substr(frame.size() - 1), out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(EventStreamTest, EmptyFeedIsHarmless) {
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  EXPECT_TRUE(decoder.feed("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

// --- Corruption and limits ---

TEST(EventStreamTest, AnyCorruptByteIsDetected) {
  const std::string frame = converse_event("contentBlockDelta", R"({"delta":{"text":"x"}})");
  for (std::size_t i = 0; i < frame.size(); ++i) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string bad = frame;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      EventStreamDecoder decoder;
      std::vector<EventMessage> out;
      EXPECT_FALSE(decoder.feed(bad, out)) << i;
      EXPECT_TRUE(out.empty()) << i;
      EXPECT_EQ(decoder.error(), i < 12 ? EventStreamError::prelude_crc : EventStreamError::message_crc) << i;
    }
  }
}

TEST(EventStreamTest, ErrorIsStickyAndKeepsEarlierMessages) {
  std::string bad = converse_event("b", "{}");
  bad.back() = static_cast<char>(bad.back() ^ 1);
  const std::string stream = converse_event("a", "{}") + bad + converse_event("c", "{}");
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  EXPECT_FALSE(decoder.feed(stream, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event_type(), "a");
  EXPECT_EQ(decoder.error(), EventStreamError::message_crc);
  EXPECT_FALSE(decoder.feed(converse_event("d", "{}"), out));
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(decoder.error(), EventStreamError::message_crc);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(EventStreamTest, CorruptPreludeFailsBeforeTheRestArrives) {
  std::string p = prelude(1000, 0);
  p[11] = static_cast<char>(p[11] ^ 1);
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  EXPECT_FALSE(decoder.feed(p, out));
  EXPECT_EQ(decoder.error(), EventStreamError::prelude_crc);
}

TEST(EventStreamTest, OversizeFrameFailsAtThePrelude) {
  EventStreamDecoder small(64);
  std::vector<EventMessage> out;
  EXPECT_FALSE(small.feed(prelude(65, 0), out));
  EXPECT_EQ(small.error(), EventStreamError::too_large);

  EventStreamDecoder standard;
  EXPECT_FALSE(standard.feed(prelude(16u * 1024 * 1024 + 1, 0), out));
  EXPECT_EQ(standard.error(), EventStreamError::too_large);

  EventStreamDecoder huge;
  EXPECT_FALSE(huge.feed(prelude(0xffffffffu, 0), out));
  EXPECT_EQ(huge.error(), EventStreamError::too_large);
}

TEST(EventStreamTest, FrameExactlyAtTheLimitIsAccepted) {
  const std::string frame = encode_event_message({}, std::string(48, 'x'));
  ASSERT_EQ(frame.size(), 64u);
  EventStreamDecoder decoder(64);
  std::vector<EventMessage> out;
  EXPECT_TRUE(decoder.feed(frame, out));
  EXPECT_EQ(out.size(), 1u);
}

TEST(EventStreamTest, LargePayloadRoundTrips) {
  const std::string payload(1024 * 1024, 'p');
  const std::string frame =
      encode_event_message({EventHeader::string_value(":event-type", "chunk")}, payload);
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  for (std::size_t pos = 0; pos < frame.size(); pos += 4096) {
    ASSERT_TRUE(decoder.feed(std::string_view(frame).substr(pos, 4096), out));
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, payload);
}

TEST(EventStreamTest, InconsistentLengths) {
  for (std::uint32_t total : {0u, 1u, 12u, 15u}) {
    EventStreamDecoder decoder;
    std::vector<EventMessage> out;
    EXPECT_FALSE(decoder.feed(prelude(total, 0), out)) << total;
    EXPECT_EQ(decoder.error(), EventStreamError::bad_length) << total;
  }
  // Headers length beyond total - 16.
  EventStreamDecoder decoder;
  std::vector<EventMessage> out;
  EXPECT_FALSE(decoder.feed(prelude(32, 17), out));
  EXPECT_EQ(decoder.error(), EventStreamError::bad_length);
  EventStreamDecoder wraps;
  EXPECT_FALSE(wraps.feed(prelude(16, 0xffffffffu), out));
  EXPECT_EQ(wraps.error(), EventStreamError::bad_length);
  // Headers filling the whole frame is fine.
  decode_all(frame_with_raw_headers(bytes({0x01, 'h', 0x00}), ""));
}

TEST(EventStreamTest, MalformedHeaderBlocks) {
  const std::vector<std::string> blocks = {
      bytes({0x00, 0x00}),                                       // empty name
      bytes({0x05, 'a', 'b', 'c'}),                              // name runs past the block
      bytes({0x01, 'a'}),                                        // no type byte
      bytes({0x01, 'a', 0x0a}),                                  // unknown type
      bytes({0x01, 'a', 0xff}),                                  // unknown type
      bytes({0x01, 'a', 0x02}),                                  // byte value missing
      bytes({0x01, 'a', 0x03, 0x00}),                            // int16 cut short
      bytes({0x01, 'a', 0x04, 0x00, 0x00, 0x00}),                // int32 cut short
      bytes({0x01, 'a', 0x05, 0x00, 0x00, 0x00}),                // int64 cut short
      bytes({0x01, 'a', 0x08, 0x00}),                            // timestamp cut short
      bytes({0x01, 'a', 0x09, 0x00, 0x01}),                      // uuid cut short
      bytes({0x01, 'a', 0x07, 0x00}),                            // string length cut short
      bytes({0x01, 'a', 0x07, 0x00, 0x05, 'a', 'b', 'c', 'd'}),  // string runs past the block
      bytes({0x01, 'a', 0x06, 0xff, 0xff}),                      // bytes run past the block
      bytes({0x01, 'a', 0x00, 0x01}),                            // a second header cut short
  };
  for (const std::string& block : blocks) {
    // The payload after the block must not be read as part of a header.
    decode_all(frame_with_raw_headers(block, "payload-bytes-that-would-fit"),
               EventStreamError::malformed_header);
  }
}

TEST(EventStreamTest, EncoderRefusesWhatCannotBeEncoded) {
  EXPECT_EQ(encode_event_message({EventHeader::string_value("", "v")}, ""), "");
  EXPECT_EQ(encode_event_message({EventHeader::string_value(std::string(256, 'n'), "v")}, ""), "");
  EXPECT_EQ(encode_event_message({EventHeader::string_value("n", std::string(65536, 'v'))}, ""), "");
  EXPECT_EQ(encode_event_message({EventHeader::bytes_value("n", std::string(65536, 'v'))}, ""), "");
  EXPECT_EQ(encode_event_message({EventHeader::uuid_value("n", "short")}, ""), "");
  EventHeader unknown = EventHeader::string_value("n", "v");
  unknown.type = static_cast<EventHeaderType>(10);
  EXPECT_EQ(encode_event_message({unknown}, ""), "");
}

TEST(EventStreamTest, ErrorsHaveDescriptions) {
  for (auto e :
       {EventStreamError::none, EventStreamError::prelude_crc, EventStreamError::message_crc,
        EventStreamError::bad_length, EventStreamError::too_large, EventStreamError::malformed_header}) {
    EXPECT_FALSE(to_string(e).empty());
  }
}

}  // namespace
}  // namespace sy::providers::bedrock
