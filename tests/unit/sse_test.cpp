// Unit tests for the incremental server-sent-events reader and the writer's framing.
#include "http/sse.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace sy::http {
namespace {

std::vector<SseEvent> feed_all(std::string_view bytes, std::size_t limit = 8u * 1024 * 1024) {
  SseReader reader(limit);
  std::vector<SseEvent> out;
  EXPECT_TRUE(reader.feed(bytes, out));
  return out;
}

std::vector<SseEvent> feed_bytewise(std::string_view bytes) {
  SseReader reader;
  std::vector<SseEvent> out;
  for (char c : bytes) EXPECT_TRUE(reader.feed(std::string_view(&c, 1), out));
  return out;
}

void expect_same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].event, b[i].event) << "event " << i;
    EXPECT_EQ(a[i].data, b[i].data) << "event " << i;
  }
}

TEST(SseReaderTest, SingleEvent) {
  auto events = feed_all("data: hello\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "hello");
  EXPECT_EQ(events[0].event, "");
}

TEST(SseReaderTest, SeveralEventsInOneFeed) {
  auto events = feed_all("data: one\n\ndata: two\n\ndata: [DONE]\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "one");
  EXPECT_EQ(events[1].data, "two");
  EXPECT_EQ(events[2].data, "[DONE]");
}

TEST(SseReaderTest, ByteAtATimeGivesSameEventsAsWhole) {
  const std::string stream =
      ": keep-alive\r\n"
      "event: ping\r\ndata: {\"a\":1}\r\n\r\n"
      "data: line1\ndata: line2\n\n"
      "data: cr-only\r\r"
      "event: message\ndata\n\n"
      "data:{\"choices\":[{\"delta\":{\"content\":\"hi there\"}}]}\n\n"
      "data: [DONE]\n\n";
  auto whole = feed_all(stream);
  auto bytewise = feed_bytewise(stream);
  ASSERT_EQ(whole.size(), 6u);
  expect_same(whole, bytewise);
  EXPECT_EQ(whole[0].event, "ping");
  EXPECT_EQ(whole[0].data, "{\"a\":1}");
  EXPECT_EQ(whole[1].data, "line1\nline2");
  EXPECT_EQ(whole[2].data, "cr-only");
  EXPECT_EQ(whole[3].event, "message");
  EXPECT_EQ(whole[3].data, "");
  EXPECT_EQ(whole[4].data, "{\"choices\":[{\"delta\":{\"content\":\"hi there\"}}]}");
  EXPECT_EQ(whole[5].data, "[DONE]");
}

TEST(SseReaderTest, EverySplitPointGivesSameEvents) {
  const std::string stream = "data: a\r\n\r\nevent: e\r\ndata: b\r\ndata: c\r\n\r\n: note\rdata: d\r\r";
  auto whole = feed_all(stream);
  ASSERT_EQ(whole.size(), 3u);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    SseReader reader;
    std::vector<SseEvent> out;
    ASSERT_TRUE(reader.feed(std::string_view(stream).substr(0, split), out));
    ASSERT_TRUE(reader.feed(std::string_view(stream).substr(split), out));
    SCOPED_TRACE("split at " + std::to_string(split));
    expect_same(whole, out);
  }
}

TEST(SseReaderTest, CrlfSplitAcrossFeedsIsOneLineEnd) {
  // "\r" at the end of one feed and "\n" at the start of the next must not make an extra blank line.
  SseReader reader;
  std::vector<SseEvent> out;
  ASSERT_TRUE(reader.feed("data: a\r", out));
  ASSERT_TRUE(reader.feed("\ndata: b\r", out));
  EXPECT_TRUE(out.empty());               // a lone CRLF pair between the two data lines is a single line end
  ASSERT_TRUE(reader.feed("\n\r", out));  // ends "data: b", then a blank line (its LF comes next)
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
  ASSERT_TRUE(reader.feed("\n", out));  // second half of that CRLF: no further line
  ASSERT_TRUE(reader.feed("data: c\r\n\r\n", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, "c");
}

TEST(SseReaderTest, LineEndingStyles) {
  for (std::string_view eol : {"\n", "\r\n", "\r"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(eol)));
    std::string stream;
    stream += "event: update";
    stream += eol;
    stream += "data: x";
    stream += eol;
    stream += "data: y";
    stream += eol;
    stream += eol;
    auto events = feed_all(stream);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].event, "update");
    EXPECT_EQ(events[0].data, "x\ny");
    expect_same(events, feed_bytewise(stream));
  }
}

TEST(SseReaderTest, MultiLineDataJoinedWithNewline) {
  auto events = feed_all("data: first\ndata: second\ndata: third\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "first\nsecond\nthird");
}

TEST(SseReaderTest, EmptyDataLinesKeepTheirPlace) {
  auto events = feed_all("data: a\ndata:\ndata: b\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\n\nb");
}

TEST(SseReaderTest, CommentsIgnored) {
  auto events = feed_all(": this is a comment\ndata: x\n: another\n\n:\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[0].event, "");
}

TEST(SseReaderTest, CommentOnlyStreamDispatchesNothing) {
  EXPECT_TRUE(feed_all(": ping\n\n: ping\n\n").empty());
}

TEST(SseReaderTest, EventField) {
  auto events = feed_all("event: error\ndata: {\"error\":{}}\n\ndata: plain\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "error");
  EXPECT_EQ(events[0].data, "{\"error\":{}}");
  // The event type does not carry over to the next event.
  EXPECT_EQ(events[1].event, "");
  EXPECT_EQ(events[1].data, "plain");
}

TEST(SseReaderTest, FieldWithoutColonHasEmptyValue) {
  // "data" alone is the field "data" with an empty value: the event is dispatched with empty data.
  auto events = feed_all("data\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "");
  // "event" alone sets an empty event type.
  events = feed_all("event: x\nevent\ndata: d\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "");
  EXPECT_EQ(events[0].data, "d");
}

TEST(SseReaderTest, DataWithoutSpaceAfterColon) {
  auto events = feed_all("data:tight\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "tight");
}

TEST(SseReaderTest, OnlyOneLeadingSpaceRemoved) {
  auto events = feed_all("data:  two spaces \n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, " two spaces ");
}

TEST(SseReaderTest, ValueMayContainColons) {
  auto events = feed_all("data: {\"url\":\"http://x:1\"}\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "{\"url\":\"http://x:1\"}");
}

TEST(SseReaderTest, UnknownFieldsIgnored) {
  auto events = feed_all("id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[0].event, "");
}

TEST(SseReaderTest, NoDispatchWithoutBlankLine) {
  SseReader reader;
  std::vector<SseEvent> out;
  ASSERT_TRUE(reader.feed("data: pending\n", out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(reader.feed("data: more", out));  // line not even terminated
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(reader.feed("\n", out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(reader.feed("\n", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "pending\nmore");
}

TEST(SseReaderTest, EventWithoutDataNotDispatched) {
  auto events = feed_all("event: ping\n\nid: 3\n\n\n\ndata: real\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "real");
  // The event type of the undispatched block must not leak into the next event.
  EXPECT_EQ(events[0].event, "");
}

TEST(SseReaderTest, ReaderReusableAfterDispatch) {
  SseReader reader;
  std::vector<SseEvent> out;
  ASSERT_TRUE(reader.feed("event: a\ndata: 1\n\n", out));
  ASSERT_TRUE(reader.feed("data: 2\n\n", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].event, "a");
  EXPECT_EQ(out[0].data, "1");
  EXPECT_EQ(out[1].event, "");
  EXPECT_EQ(out[1].data, "2");
}

TEST(SseReaderTest, EventsAreThoseOfTheLastFeed) {
  SseReader reader;
  ASSERT_TRUE(reader.feed("event: a\ndata: one\n\ndata: two\n\ndata: th"));
  ASSERT_EQ(reader.events().size(), 2u);
  EXPECT_EQ(reader.events()[0].event, "a");
  EXPECT_EQ(reader.events()[0].data, "one");
  EXPECT_EQ(reader.events()[1].event, "");
  EXPECT_EQ(reader.events()[1].data, "two");
  // The storage of earlier events is reused; nothing of them shows through.
  ASSERT_TRUE(reader.feed("ree\n\n"));
  ASSERT_EQ(reader.events().size(), 1u);
  EXPECT_EQ(reader.events()[0].event, "");
  EXPECT_EQ(reader.events()[0].data, "three");
  ASSERT_TRUE(reader.feed(": only a comment\n\n"));
  EXPECT_TRUE(reader.events().empty());
  ASSERT_TRUE(reader.feed("event: b\ndata: 4\n\nevent: c\ndata: 5\n\ndata: 6\n\n"));
  ASSERT_EQ(reader.events().size(), 3u);
  EXPECT_EQ(reader.events()[0].event, "b");
  EXPECT_EQ(reader.events()[1].event, "c");
  EXPECT_EQ(reader.events()[2].event, "");
  EXPECT_EQ(reader.events()[2].data, "6");
}

TEST(SseReaderTest, EmptyFeedKeepsAPendingCrlf) {
  SseReader reader;
  std::vector<SseEvent> out;
  ASSERT_TRUE(reader.feed("data: a\r", out));
  ASSERT_TRUE(reader.feed("", out));
  ASSERT_TRUE(reader.feed("\ndata: b\n\n", out));  // the LF ends the CRLF: no blank line between a and b
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
}

TEST(SseReaderTest, SizeLimitReturnsFalse) {
  SseReader reader(16);
  std::vector<SseEvent> out;
  EXPECT_FALSE(reader.feed("data: " + std::string(64, 'x') + "\n\n", out));
  EXPECT_TRUE(out.empty());
}

TEST(SseReaderTest, SizeLimitCountsAccumulatedDataLines) {
  // Each line is small, but the event as a whole outgrows the limit.
  SseReader reader(32);
  std::vector<SseEvent> out;
  bool ok = true;
  for (int i = 0; i < 10 && ok; ++i) ok = reader.feed("data: 0123456789\n", out);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(out.empty());
}

TEST(SseReaderTest, SizeLimitAppliesPerEvent) {
  // Many events each under the limit are fine even though their total is far above it.
  SseReader reader(32);
  std::vector<SseEvent> out;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(reader.feed("data: 0123456789\n\n", out)) << i;
  EXPECT_EQ(out.size(), 50u);
}

TEST(SseReaderTest, SizeLimitWhenFedBytewise) {
  SseReader reader(16);
  std::vector<SseEvent> out;
  const std::string stream = "data: " + std::string(64, 'x');
  bool ok = true;
  for (char c : stream) {
    ok = reader.feed(std::string_view(&c, 1), out);
    if (!ok) break;
  }
  EXPECT_FALSE(ok);
}

TEST(AppendSseDataTest, Framing) {
  std::string out;
  append_sse_data(out, "{\"a\":1}");
  EXPECT_EQ(out, "data: {\"a\":1}\n\n");
}

TEST(AppendSseDataTest, AppendsWithoutClearing) {
  std::string out = "data: x\n\n";
  append_sse_data(out, "[DONE]");
  EXPECT_EQ(out, "data: x\n\ndata: [DONE]\n\n");
}

TEST(AppendSseDataTest, RoundTripsThroughReader) {
  std::string wire;
  append_sse_data(wire, "{\"id\":\"1\"}");
  append_sse_data(wire, "[DONE]");
  auto events = feed_all(wire);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "{\"id\":\"1\"}");
  EXPECT_EQ(events[1].data, "[DONE]");
}

TEST(AppendSseEventTest, NamedEventRoundTripsThroughReader) {
  std::string wire;
  append_sse_event(wire, "message_stop", "{\"type\":\"message_stop\"}");
  EXPECT_EQ(wire, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  auto events = feed_all(wire);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "message_stop");
  EXPECT_EQ(events[0].data, "{\"type\":\"message_stop\"}");
}

}  // namespace
}  // namespace sy::http
