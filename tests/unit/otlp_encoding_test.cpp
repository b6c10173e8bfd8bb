// Unit tests for the OTLP protobuf and JSON encodings of a span batch, and the console exporter that prints
// them. The protobuf bytes are parsed back with libprotobuf and compared field by field with the span data,
// and compared byte for byte with what libprotobuf's message objects serialise (otlp_reference_encoder.h).
#include "telemetry/otlp_encoding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <limits>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp_reference_encoder.h"
#include "telemetry/console_exporter.h"
#include "telemetry/exporter_factory.h"

namespace sy::telemetry {
namespace {

namespace pb = opentelemetry::proto;
namespace json = boost::json;

template <class Id>
Id id_from(std::string_view hex) {
  Id id{};
  EXPECT_TRUE(from_hex(hex, id)) << hex;
  return id;
}

template <class Id>
std::string bytes_of(const Id& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpan = "00f067aa0ba902b7";
constexpr std::string_view kParent = "b7ad6b7169203331";
constexpr std::string_view kLinkTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr std::string_view kLinkSpan = "53995c3f42cd8ad8";
constexpr std::uint64_t kBigNanos = 1'700'000'000'123'456'789ULL;

SpanData full_span() {
  SpanData s;
  s.trace_id = id_from<TraceId>(kTrace);
  s.span_id = id_from<SpanId>(kSpan);
  s.parent_span_id = id_from<SpanId>(kParent);
  s.trace_state = "vendor=value";
  s.flags = 1;
  s.name = "POST /v1/chat/completions";
  s.kind = SpanKind::server;
  s.start_time_unix_nano = kBigNanos;
  s.end_time_unix_nano = kBigNanos + 42;
  s.attributes = {
      {"str", std::string("hello")},
      {"flag", true},
      {"count", std::int64_t{-9007199254740993}},  // beyond a double's exact range
      {"ratio", 0.25},
      {"strs", std::vector<std::string>{"a", "b"}},
      {"bools", std::vector<bool>{true, false}},
      {"ints", std::vector<std::int64_t>{1, std::numeric_limits<std::int64_t>::max()}},
      {"doubles", std::vector<double>{1.5, -2.0}},
  };
  s.events = {Event{"gen_ai.first_token", kBigNanos + 7, {{"ttft_ms", std::int64_t{12}}}},
              Event{"exception", kBigNanos + 9, {}}};
  s.links = {Link{id_from<TraceId>(kLinkTrace), id_from<SpanId>(kLinkSpan), "k=v", {{"link.attr", true}}}};
  s.status_code = StatusCode::error;
  s.status_message = "upstream 502";
  s.dropped_attributes_count = 3;
  s.dropped_events_count = 4;
  s.dropped_links_count = 5;
  return s;
}

SpanData root_span() {
  SpanData s;
  s.trace_id = id_from<TraceId>(kTrace);
  s.span_id = id_from<SpanId>(kParent);
  s.name = "route";
  s.kind = SpanKind::internal;
  s.start_time_unix_nano = 1;
  s.end_time_unix_nano = 2;
  return s;
}

Resource test_resource() {
  return Resource{{{"service.name", std::string("litellm-gateway")}, {"process.pid", std::int64_t{4242}}}};
}

InstrumentationScope test_scope() {
  return InstrumentationScope{"switchyard", "0.1.0"};
}

TEST(OtlpEncodingTest, ProtobufRoundTripsEveryField) {
  std::vector<SpanData> spans{full_span(), root_span()};
  std::string bytes = encode_traces_protobuf(spans, test_resource(), test_scope());

  pb::collector::trace::v1::ExportTraceServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(bytes));
  ASSERT_EQ(req.resource_spans_size(), 1);
  const auto& rs = req.resource_spans(0);
  ASSERT_EQ(rs.resource().attributes_size(), 2);
  EXPECT_EQ(rs.resource().attributes(0).key(), "service.name");
  EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "litellm-gateway");
  EXPECT_EQ(rs.resource().attributes(1).key(), "process.pid");
  EXPECT_EQ(rs.resource().attributes(1).value().int_value(), 4242);
  ASSERT_EQ(rs.scope_spans_size(), 1);
  const auto& ss = rs.scope_spans(0);
  EXPECT_EQ(ss.scope().name(), "switchyard");
  EXPECT_EQ(ss.scope().version(), "0.1.0");
  ASSERT_EQ(ss.spans_size(), 2);

  const auto& s = ss.spans(0);
  EXPECT_EQ(s.trace_id(), bytes_of(id_from<TraceId>(kTrace)));
  EXPECT_EQ(s.span_id(), bytes_of(id_from<SpanId>(kSpan)));
  EXPECT_EQ(s.parent_span_id(), bytes_of(id_from<SpanId>(kParent)));
  EXPECT_EQ(s.trace_state(), "vendor=value");
  EXPECT_EQ(s.flags(), 1u);
  EXPECT_EQ(s.name(), "POST /v1/chat/completions");
  EXPECT_EQ(s.kind(), pb::trace::v1::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(s.start_time_unix_nano(), kBigNanos);
  EXPECT_EQ(s.end_time_unix_nano(), kBigNanos + 42);
  EXPECT_EQ(s.dropped_attributes_count(), 3u);
  EXPECT_EQ(s.dropped_events_count(), 4u);
  EXPECT_EQ(s.dropped_links_count(), 5u);

  ASSERT_EQ(s.attributes_size(), 8);
  EXPECT_EQ(s.attributes(0).key(), "str");
  EXPECT_EQ(s.attributes(0).value().value_case(), pb::common::v1::AnyValue::kStringValue);
  EXPECT_EQ(s.attributes(0).value().string_value(), "hello");
  EXPECT_EQ(s.attributes(1).value().value_case(), pb::common::v1::AnyValue::kBoolValue);
  EXPECT_TRUE(s.attributes(1).value().bool_value());
  EXPECT_EQ(s.attributes(2).value().value_case(), pb::common::v1::AnyValue::kIntValue);
  EXPECT_EQ(s.attributes(2).value().int_value(), -9007199254740993);
  EXPECT_EQ(s.attributes(3).value().value_case(), pb::common::v1::AnyValue::kDoubleValue);
  EXPECT_DOUBLE_EQ(s.attributes(3).value().double_value(), 0.25);

  const auto& strs = s.attributes(4).value().array_value();
  ASSERT_EQ(strs.values_size(), 2);
  EXPECT_EQ(strs.values(0).string_value(), "a");
  EXPECT_EQ(strs.values(1).string_value(), "b");
  const auto& bools = s.attributes(5).value().array_value();
  ASSERT_EQ(bools.values_size(), 2);
  EXPECT_EQ(bools.values(0).value_case(), pb::common::v1::AnyValue::kBoolValue);
  EXPECT_TRUE(bools.values(0).bool_value());
  EXPECT_FALSE(bools.values(1).bool_value());
  const auto& ints = s.attributes(6).value().array_value();
  ASSERT_EQ(ints.values_size(), 2);
  EXPECT_EQ(ints.values(1).int_value(), std::numeric_limits<std::int64_t>::max());
  const auto& doubles = s.attributes(7).value().array_value();
  ASSERT_EQ(doubles.values_size(), 2);
  EXPECT_DOUBLE_EQ(doubles.values(0).double_value(), 1.5);
  EXPECT_DOUBLE_EQ(doubles.values(1).double_value(), -2.0);

  ASSERT_EQ(s.events_size(), 2);
  EXPECT_EQ(s.events(0).name(), "gen_ai.first_token");
  EXPECT_EQ(s.events(0).time_unix_nano(), kBigNanos + 7);
  ASSERT_EQ(s.events(0).attributes_size(), 1);
  EXPECT_EQ(s.events(0).attributes(0).key(), "ttft_ms");
  EXPECT_EQ(s.events(0).attributes(0).value().int_value(), 12);
  EXPECT_EQ(s.events(1).name(), "exception");
  EXPECT_EQ(s.events(1).attributes_size(), 0);

  ASSERT_EQ(s.links_size(), 1);
  EXPECT_EQ(s.links(0).trace_id(), bytes_of(id_from<TraceId>(kLinkTrace)));
  EXPECT_EQ(s.links(0).span_id(), bytes_of(id_from<SpanId>(kLinkSpan)));
  EXPECT_EQ(s.links(0).trace_state(), "k=v");
  ASSERT_EQ(s.links(0).attributes_size(), 1);
  EXPECT_TRUE(s.links(0).attributes(0).value().bool_value());

  ASSERT_TRUE(s.has_status());
  EXPECT_EQ(s.status().code(), pb::trace::v1::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(s.status().message(), "upstream 502");

  const auto& root = ss.spans(1);
  EXPECT_TRUE(root.parent_span_id().empty());  // a root span has no parent bytes at all
  EXPECT_EQ(root.kind(), pb::trace::v1::Span::SPAN_KIND_INTERNAL);
  EXPECT_FALSE(root.has_status());
  EXPECT_TRUE(root.trace_state().empty());
}

TEST(OtlpEncodingTest, ProtobufEnumsMatchOurEnumValues) {
  for (SpanKind kind : {SpanKind::unspecified, SpanKind::internal, SpanKind::server, SpanKind::client,
                        SpanKind::producer, SpanKind::consumer}) {
    SpanData s = root_span();
    s.kind = kind;
    s.status_code = StatusCode::ok;
    std::vector<SpanData> spans{s};
    pb::collector::trace::v1::ExportTraceServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(encode_traces_protobuf(spans, {}, {})));
    const auto& span = req.resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(static_cast<int>(span.kind()), static_cast<int>(kind));
    EXPECT_EQ(span.status().code(), pb::trace::v1::Status::STATUS_CODE_OK);
  }
}

// ---- the direct protobuf encoder against libprotobuf ----

template <class Id>
Id filled_id(std::uint8_t byte) {
  Id id{};
  id.fill(byte);
  return id;
}

// Edge cases of every kind: defaults that proto3 leaves out, the oneof members written even when they are
// defaults, empty strings and lists, UTF-8, the largest ids and integers, non-finite doubles, lengths of one,
// two and three bytes.
SpanData edge_span() {
  SpanData s;
  s.trace_id = filled_id<TraceId>(0xff);
  s.span_id = filled_id<SpanId>(0xff);
  s.parent_span_id = SpanId{0, 0, 0, 0, 0, 0, 0, 1};
  s.flags = 0x301;  // W3C flags plus reserved bits: all four bytes of the fixed32 matter
  s.name = "\xe5\x90\x8d\xe5\x89\x8d \xc3\xbcn\xc3\xaf \xf0\x9f\x9a\x80";  // CJK, Latin-1, an emoji
  s.kind = SpanKind::unspecified;                                          // 0: left out
  s.start_time_unix_nano = std::numeric_limits<std::uint64_t>::max();
  s.end_time_unix_nano = 0;  // left out
  s.attributes = {
      {"", std::string("")},  // empty key and empty value: the key is left out, the oneof string is not
      {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", std::string("\xe2\x9c\x93 \xf0\x9f\x98\x80")},
      {"min", std::numeric_limits<std::int64_t>::min()},
      {"minus_one", std::int64_t{-1}},  // ten varint bytes
      {"zero", std::int64_t{0}},
      {"false", false},
      {"nan", std::numeric_limits<double>::quiet_NaN()},
      {"minus_zero", -0.0},
      {"minus_inf", -std::numeric_limits<double>::infinity()},
      {"denormal", std::numeric_limits<double>::denorm_min()},
      {"no_strings", std::vector<std::string>{}},
      {"no_bools", std::vector<bool>{}},
      {"strings_with_empty", std::vector<std::string>{"", "x", std::string(200, 'y')}},
      {"ints", std::vector<std::int64_t>{0, -1, std::numeric_limits<std::int64_t>::max()}},
      {"doubles", std::vector<double>{std::numeric_limits<double>::infinity(), 0.0}},
      {"bools", std::vector<bool>{false, true, false}},
      {"two_byte_length", std::string(300, 'z')},
      {std::string(130, 'k'), std::int64_t{7}},  // a long owned key
  };
  s.events = {Event{"", 0, {}},  // an empty event: an empty message, still written
              Event{"exception", 5, {{"exception.message", std::string(200, 'm')}}}};  // longer than guessed
  s.links = {Link{filled_id<TraceId>(0xff), SpanId{1, 2, 3, 4, 5, 6, 7, 8}, "", {}}};
  s.status_code = StatusCode::unset;
  s.status_message = "a message without a code";  // the status is written, its code left out
  return s;
}

// A span over 16 KB: its length takes three bytes, one more than guessed.
SpanData big_span(std::size_t bytes) {
  SpanData s = root_span();
  s.name = "big";
  s.attributes = {{"gen_ai.prompt", std::string(bytes, 'p')}};
  return s;
}

double double_of(const pb::common::v1::AnyValue& v) {
  return v.double_value();
}

void expect_value(const pb::common::v1::AnyValue& got, const std::string& want) {
  ASSERT_EQ(got.value_case(), pb::common::v1::AnyValue::kStringValue);
  EXPECT_EQ(got.string_value(), want);
}
void expect_value(const pb::common::v1::AnyValue& got, bool want) {
  ASSERT_EQ(got.value_case(), pb::common::v1::AnyValue::kBoolValue);
  EXPECT_EQ(got.bool_value(), want);
}
void expect_value(const pb::common::v1::AnyValue& got, std::int64_t want) {
  ASSERT_EQ(got.value_case(), pb::common::v1::AnyValue::kIntValue);
  EXPECT_EQ(got.int_value(), want);
}
void expect_value(const pb::common::v1::AnyValue& got, double want) {
  ASSERT_EQ(got.value_case(), pb::common::v1::AnyValue::kDoubleValue);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(double_of(got)), std::bit_cast<std::uint64_t>(want));  // NaN, -0.0
}

void expect_attributes(const google::protobuf::RepeatedPtrField<pb::common::v1::KeyValue>& got,
                       std::span<const Attribute> want) {
  ASSERT_EQ(got.size(), static_cast<int>(want.size()));
  for (int i = 0; i < got.size(); ++i) {
    const Attribute& a = want[static_cast<std::size_t>(i)];
    SCOPED_TRACE("attribute " + std::string(a.key.view()));
    EXPECT_EQ(got[i].key(), a.key.view());
    ASSERT_TRUE(got[i].has_value());
    const pb::common::v1::AnyValue& value = got[i].value();
    std::visit(
        [&value](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
                        std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
            expect_value(value, v);
          } else {
            using E = typename T::value_type;
            ASSERT_EQ(value.value_case(), pb::common::v1::AnyValue::kArrayValue);
            ASSERT_EQ(value.array_value().values_size(), static_cast<int>(v.size()));
            for (std::size_t k = 0; k < v.size(); ++k) {
              expect_value(value.array_value().values(static_cast<int>(k)), static_cast<E>(v[k]));
            }
          }
        },
        a.value);
  }
}

void expect_span(const pb::trace::v1::Span& got, const SpanData& want) {
  SCOPED_TRACE("span " + want.name);
  EXPECT_EQ(got.trace_id(), bytes_of(want.trace_id));
  EXPECT_EQ(got.span_id(), bytes_of(want.span_id));
  EXPECT_EQ(got.trace_state(), want.trace_state);
  EXPECT_EQ(got.parent_span_id(), is_valid(want.parent_span_id) ? bytes_of(want.parent_span_id) : "");
  EXPECT_EQ(got.flags(), want.flags);
  EXPECT_EQ(got.name(), want.name);
  EXPECT_EQ(static_cast<int>(got.kind()), static_cast<int>(want.kind));
  EXPECT_EQ(got.start_time_unix_nano(), want.start_time_unix_nano);
  EXPECT_EQ(got.end_time_unix_nano(), want.end_time_unix_nano);
  expect_attributes(got.attributes(), want.attributes);
  EXPECT_EQ(got.dropped_attributes_count(), want.dropped_attributes_count);
  ASSERT_EQ(got.events_size(), static_cast<int>(want.events.size()));
  for (int i = 0; i < got.events_size(); ++i) {
    const Event& e = want.events[static_cast<std::size_t>(i)];
    EXPECT_EQ(got.events(i).name(), e.name);
    EXPECT_EQ(got.events(i).time_unix_nano(), e.time_unix_nano);
    expect_attributes(got.events(i).attributes(), e.attributes);
  }
  EXPECT_EQ(got.dropped_events_count(), want.dropped_events_count);
  ASSERT_EQ(got.links_size(), static_cast<int>(want.links.size()));
  for (int i = 0; i < got.links_size(); ++i) {
    const Link& l = want.links[static_cast<std::size_t>(i)];
    EXPECT_EQ(got.links(i).trace_id(), bytes_of(l.trace_id));
    EXPECT_EQ(got.links(i).span_id(), bytes_of(l.span_id));
    EXPECT_EQ(got.links(i).trace_state(), l.trace_state);
    expect_attributes(got.links(i).attributes(), l.attributes);
  }
  EXPECT_EQ(got.dropped_links_count(), want.dropped_links_count);
  EXPECT_EQ(got.has_status(), want.status_code != StatusCode::unset || !want.status_message.empty());
  EXPECT_EQ(static_cast<int>(got.status().code()), static_cast<int>(want.status_code));
  EXPECT_EQ(got.status().message(), want.status_message);
}

// Parses `bytes`, compares every field with the batch, and compares the bytes with libprotobuf's own.
void expect_encoding(const std::string& bytes, std::span<const SpanData> spans, const Resource& resource,
                     const InstrumentationScope& scope) {
  pb::collector::trace::v1::ExportTraceServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(bytes));
  ASSERT_EQ(req.resource_spans_size(), 1);
  const auto& rs = req.resource_spans(0);
  ASSERT_TRUE(rs.has_resource());
  expect_attributes(rs.resource().attributes(), resource.attributes);
  ASSERT_EQ(rs.scope_spans_size(), 1);
  const auto& ss = rs.scope_spans(0);
  ASSERT_TRUE(ss.has_scope());
  EXPECT_EQ(ss.scope().name(), scope.name);
  EXPECT_EQ(ss.scope().version(), scope.version);
  ASSERT_EQ(ss.spans_size(), static_cast<int>(spans.size()));
  for (std::size_t i = 0; i < spans.size(); ++i) expect_span(ss.spans(static_cast<int>(i)), spans[i]);
  // Same fields in the same order as libprotobuf writes them: the same bytes.
  const std::string expected = reference::encode_traces_protobuf(spans, resource, scope);
  EXPECT_EQ(bytes.size(), expected.size());
  EXPECT_TRUE(bytes == expected) << "the bytes differ from libprotobuf's";
}

Resource unicode_resource() {
  return Resource{{{"service.name", std::string("\xe7\xbd\x91\xe5\x85\xb3")},
                   {"service.instance.id", std::string("")},
                   {"process.pid", std::int64_t{4242}},
                   {"deployment.flags", std::vector<std::string>{"a", "b"}}}};
}

TEST(OtlpProtobufEncoderTest, EdgeCasesMatchLibprotobufFieldByFieldAndByteForByte) {
  std::vector<SpanData> spans{full_span(), edge_span(), root_span()};
  expect_encoding(encode_traces_protobuf(spans, test_resource(), test_scope()), spans, test_resource(),
                  test_scope());
  expect_encoding(encode_traces_protobuf(spans, unicode_resource(), InstrumentationScope{"", ""}), spans,
                  unicode_resource(), InstrumentationScope{"", ""});
}

TEST(OtlpProtobufEncoderTest, LengthsLongerAndShorterThanGuessed) {
  // A batch of one small span (lengths shorter than guessed), a span over 16 KB (longer), and a batch over 2
  // MB.
  std::vector<SpanData> tiny{root_span()};
  expect_encoding(encode_traces_protobuf(tiny, {}, {}), tiny, {}, {});
  std::vector<SpanData> big{root_span(), big_span(20000), edge_span()};
  expect_encoding(encode_traces_protobuf(big, test_resource(), test_scope()), big, test_resource(),
                  test_scope());
  std::vector<SpanData> huge(120, big_span(20000));
  huge.push_back(edge_span());
  const std::string bytes = encode_traces_protobuf(huge, test_resource(), test_scope());
  EXPECT_GT(bytes.size(), std::size_t{2} << 20);
  expect_encoding(bytes, huge, test_resource(), test_scope());
  // No resource attributes, no scope name: the empty resource and scope messages are still written.
  expect_encoding(encode_traces_protobuf({}, {}, InstrumentationScope{"", ""}), {}, {},
                  InstrumentationScope{"", ""});
}

TEST(OtlpProtobufEncoderTest, TypicalGatewaySpansMatchLibprotobuf) {
  // The three spans of a chat request as the gateway records them: SERVER, route, CLIENT.
  SpanData server = full_span();
  server.events.clear();
  server.links.clear();
  server.attributes = {{"http.request.method", std::string("POST")},
                       {"url.path", std::string("/v1/chat/completions")},
                       {"server.port", std::int64_t{4000}},
                       {"gen_ai.request.temperature", 0.7},
                       {"gen_ai.request.stream", false},
                       {"gen_ai.response.finish_reasons", std::vector<std::string>{"stop"}},
                       {"http.response.status_code", std::int64_t{200}}};
  SpanData route = root_span();
  route.parent_span_id = server.span_id;
  route.attributes = {{"router.strategy", std::string("simple-shuffle")}, {"router.latency_ms", 0.0123}};
  SpanData client = root_span();
  client.kind = SpanKind::client;
  client.name = "chat gpt-4o-mini";
  client.attributes = {{"server.address", std::string("api.openai.com")}, {"server.port", std::int64_t{443}}};
  std::vector<SpanData> spans{server, route, client};
  expect_encoding(encode_traces_protobuf(spans, test_resource(), test_scope()), spans, test_resource(),
                  test_scope());
}

TEST(OtlpProtobufEncoderTest, AReusedBufferGivesTheSameBytesAsAFreshOne) {
  EncodeBuffer buffer;
  std::vector<SpanData> big{big_span(50000), edge_span()};
  std::vector<SpanData> small{root_span()};
  encode_traces_protobuf(big, test_resource(), test_scope(), buffer);
  EXPECT_EQ(std::string(buffer.view()), encode_traces_protobuf(big, test_resource(), test_scope()));
  const std::size_t capacity = buffer.capacity();
  encode_traces_protobuf(small, {}, {}, buffer);  // shorter than what the buffer held
  EXPECT_EQ(std::string(buffer.view()), encode_traces_protobuf(small, {}, {}));
  EXPECT_EQ(buffer.capacity(), capacity);  // its storage kept
  encode_traces_protobuf(big, test_resource(), test_scope(), buffer);
  EXPECT_EQ(std::string(buffer.view()), encode_traces_protobuf(big, test_resource(), test_scope()));
}

TEST(OtlpEncodingTest, RecordsHeldApartEncodeAsTheSameListWould) {
  // The batch processor exports span records where they are (a batch of pointers); a caller's list is one
  // contiguous run. Both are one SpanBatch, and encode to the same bytes, in the batch's order.
  const std::vector<SpanData> list{full_span(), edge_span(), root_span()};
  const std::vector<const SpanData*> records{&list[0], &list[1], &list[2]};
  const SpanBatch held(records);
  ASSERT_EQ(held.size(), 3u);
  EXPECT_EQ(held.end() - held.begin(), 3);
  EXPECT_EQ(&held[1], &list[1]);
  EXPECT_EQ(&*(held.begin() + 2), &list[2]);
  EXPECT_EQ(encode_traces_protobuf(held, test_resource(), test_scope()),
            encode_traces_protobuf(list, test_resource(), test_scope()));
  EXPECT_EQ(encode_traces_json(held, test_resource(), test_scope()),
            encode_traces_json(list, test_resource(), test_scope()));
  const std::vector<const SpanData*> reversed{&list[2], &list[1], &list[0]};
  const std::vector<SpanData> reversed_list{list[2], list[1], list[0]};
  EXPECT_EQ(encode_traces_protobuf(SpanBatch(reversed), {}, {}),
            encode_traces_protobuf(reversed_list, {}, {}));
  EXPECT_TRUE(SpanBatch().empty());
  // An iterator views the spans, not the SpanBatch it came from.
  const auto first = SpanBatch(records).begin();
  EXPECT_EQ(&*first, &list[0]);
  EXPECT_EQ(&first[2], &list[2]);
}

TEST(OtlpEncodingTest, EmptyBatchStillHasOneResourceAndScope) {
  pb::collector::trace::v1::ExportTraceServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(encode_traces_protobuf({}, test_resource(), test_scope())));
  ASSERT_EQ(req.resource_spans_size(), 1);
  ASSERT_EQ(req.resource_spans(0).scope_spans_size(), 1);
  EXPECT_EQ(req.resource_spans(0).scope_spans(0).spans_size(), 0);
}

// A reference into `attributes`, so sub-objects taken from it stay valid.
const json::value& attribute_value(const json::array& attributes, std::string_view key) {
  for (const auto& kv : attributes) {
    if (kv.as_object().at("key").as_string() == key) return kv.as_object().at("value");
  }
  ADD_FAILURE() << "no attribute " << key;
  static const json::value missing = json::object{{"missing", true}};
  return missing;
}

TEST(OtlpEncodingTest, JsonUsesHexIdsIntegerEnumsStringInt64sAndCamelCase) {
  std::vector<SpanData> spans{full_span(), root_span()};
  json::value doc = json::parse(encode_traces_json(spans, test_resource(), test_scope()));

  const json::array& resource_spans = doc.at("resourceSpans").as_array();
  ASSERT_EQ(resource_spans.size(), 1u);
  const json::value& rs = resource_spans[0];
  const json::array& resource_attrs = rs.at("resource").at("attributes").as_array();
  EXPECT_EQ(attribute_value(resource_attrs, "service.name").at("stringValue").as_string(), "litellm-gateway");
  EXPECT_EQ(attribute_value(resource_attrs, "process.pid").at("intValue").as_string(), "4242");

  const json::array& scope_spans = rs.at("scopeSpans").as_array();
  ASSERT_EQ(scope_spans.size(), 1u);
  const json::object& scope = scope_spans[0].at("scope").as_object();
  EXPECT_EQ(scope.at("name").as_string(), "switchyard");
  EXPECT_EQ(scope.at("version").as_string(), "0.1.0");

  const json::array& js = scope_spans[0].at("spans").as_array();
  ASSERT_EQ(js.size(), 2u);
  const json::object& s = js[0].as_object();
  EXPECT_EQ(s.at("traceId").as_string(), kTrace);  // hex, not base64
  EXPECT_EQ(s.at("spanId").as_string(), kSpan);
  EXPECT_EQ(s.at("parentSpanId").as_string(), kParent);
  EXPECT_EQ(s.at("traceState").as_string(), "vendor=value");
  EXPECT_EQ(s.at("flags").to_number<int>(), 1);
  EXPECT_EQ(s.at("name").as_string(), "POST /v1/chat/completions");
  ASSERT_TRUE(s.at("kind").is_number());
  EXPECT_EQ(s.at("kind").to_number<int>(), 2);
  EXPECT_EQ(s.at("startTimeUnixNano").as_string(), std::to_string(kBigNanos));
  EXPECT_EQ(s.at("endTimeUnixNano").as_string(), std::to_string(kBigNanos + 42));
  EXPECT_EQ(s.at("droppedAttributesCount").to_number<int>(), 3);
  EXPECT_EQ(s.at("droppedEventsCount").to_number<int>(), 4);
  EXPECT_EQ(s.at("droppedLinksCount").to_number<int>(), 5);

  const json::array& attrs = s.at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 8u);
  EXPECT_EQ(attribute_value(attrs, "str").at("stringValue").as_string(), "hello");
  EXPECT_EQ(attribute_value(attrs, "flag").at("boolValue").as_bool(), true);
  EXPECT_EQ(attribute_value(attrs, "count").at("intValue").as_string(), "-9007199254740993");
  EXPECT_DOUBLE_EQ(attribute_value(attrs, "ratio").at("doubleValue").to_number<double>(), 0.25);
  const json::array& strs = attribute_value(attrs, "strs").at("arrayValue").at("values").as_array();
  ASSERT_EQ(strs.size(), 2u);
  EXPECT_EQ(strs[1].at("stringValue").as_string(), "b");
  const json::array& bools = attribute_value(attrs, "bools").at("arrayValue").at("values").as_array();
  ASSERT_EQ(bools.size(), 2u);
  EXPECT_EQ(bools[0].at("boolValue").as_bool(), true);
  EXPECT_EQ(bools[1].at("boolValue").as_bool(), false);
  const json::array& ints = attribute_value(attrs, "ints").at("arrayValue").at("values").as_array();
  ASSERT_EQ(ints.size(), 2u);
  EXPECT_EQ(ints[1].at("intValue").as_string(), "9223372036854775807");
  const json::array& doubles = attribute_value(attrs, "doubles").at("arrayValue").at("values").as_array();
  ASSERT_EQ(doubles.size(), 2u);
  EXPECT_DOUBLE_EQ(doubles[1].at("doubleValue").to_number<double>(), -2.0);

  const json::array& events = s.at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("name").as_string(), "gen_ai.first_token");
  EXPECT_EQ(events[0].at("timeUnixNano").as_string(), std::to_string(kBigNanos + 7));
  EXPECT_EQ(attribute_value(events[0].at("attributes").as_array(), "ttft_ms").at("intValue").as_string(),
            "12");

  const json::array& links = s.at("links").as_array();
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].at("traceId").as_string(), kLinkTrace);
  EXPECT_EQ(links[0].at("spanId").as_string(), kLinkSpan);
  EXPECT_EQ(links[0].at("traceState").as_string(), "k=v");

  const json::object& status = s.at("status").as_object();
  EXPECT_EQ(status.at("code").to_number<int>(), 2);
  EXPECT_EQ(status.at("message").as_string(), "upstream 502");

  // Defaults are left out: no parent, status, trace state, counts or empty lists on the root span.
  const json::object& root = js[1].as_object();
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_FALSE(root.contains("status"));
  EXPECT_FALSE(root.contains("traceState"));
  EXPECT_FALSE(root.contains("droppedAttributesCount"));
  EXPECT_FALSE(root.contains("attributes"));
  EXPECT_FALSE(root.contains("events"));
  EXPECT_FALSE(root.contains("links"));
  EXPECT_EQ(root.at("kind").to_number<int>(), 1);
  EXPECT_EQ(root.at("startTimeUnixNano").as_string(), "1");

  // No snake_case names anywhere.
  std::string text = json::serialize(doc);
  for (const char* snake : {"trace_id", "span_id", "time_unix_nano", "resource_spans", "scope_spans",
                            "string_value", "int_value", "array_value"}) {
    EXPECT_EQ(text.find(snake), std::string::npos) << snake;
  }
}

TEST(OtlpEncodingTest, JsonSpellsNonFiniteDoublesAsStrings) {
  SpanData s = root_span();
  s.attributes = {{"nan", std::nan("")},
                  {"inf", std::numeric_limits<double>::infinity()},
                  {"ninf", -std::numeric_limits<double>::infinity()}};
  std::vector<SpanData> spans{s};
  json::value doc = json::parse(encode_traces_json(spans, {}, {}));
  const json::array& attrs =
      doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).at("attributes").as_array();
  EXPECT_EQ(attribute_value(attrs, "nan").at("doubleValue").as_string(), "NaN");
  EXPECT_EQ(attribute_value(attrs, "inf").at("doubleValue").as_string(), "Infinity");
  EXPECT_EQ(attribute_value(attrs, "ninf").at("doubleValue").as_string(), "-Infinity");
}

TEST(OtlpEncodingTest, JsonEscapesStrings) {
  SpanData s = root_span();
  s.name = "quote \" backslash \\ newline \n";
  std::vector<SpanData> spans{s};
  json::value doc = json::parse(encode_traces_json(spans, {}, {}));
  EXPECT_EQ(doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).at("name").as_string(),
            s.name);
}

TEST(OtlpConsoleExporterTest, WritesOneJsonLinePerBatch) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ConsoleExporter exporter(f);
  EXPECT_EQ(exporter.name(), "console");
  std::vector<SpanData> first{full_span(), root_span()};
  std::vector<SpanData> second{root_span()};
  EXPECT_EQ(exporter.export_spans(first, test_resource(), test_scope()), ExportResult::success);
  EXPECT_EQ(exporter.export_spans(second, test_resource(), test_scope()), ExportResult::success);
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);

  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::size_t newline = text.find('\n');
  ASSERT_NE(newline, std::string::npos);
  json::value line1 = json::parse(text.substr(0, newline));
  json::value line2 = json::parse(text.substr(newline + 1, text.size() - newline - 2));
  EXPECT_EQ(line1.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().size(), 2u);
  EXPECT_EQ(line2.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().size(), 1u);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST(OtlpConsoleExporterTest, FailsAfterShutdown) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  auto exporter = make_console_exporter(f);
  exporter->shutdown();
  std::vector<SpanData> spans{root_span()};
  EXPECT_EQ(exporter->export_spans(spans, {}, {}), ExportResult::failure);
  std::fclose(f);
}

TEST(OtlpConsoleExporterTest, FactoryPicksTheExporterByProtocol) {
  OtlpExporterOptions o;
  Warnings warnings;
  o.protocol = OtlpExporterOptions::Protocol::grpc;
  o.endpoint = "http://127.0.0.1:4317";
  EXPECT_EQ(make_otlp_exporter(o, warnings)->name(), "otlp_grpc");
  o.protocol = OtlpExporterOptions::Protocol::http_json;
  o.endpoint = "http://127.0.0.1:4318/v1/traces";
  EXPECT_EQ(make_otlp_exporter(o, warnings)->name(), "otlp_http_json");
  o.protocol = OtlpExporterOptions::Protocol::http_protobuf;
  EXPECT_EQ(make_otlp_exporter(o, warnings)->name(), "otlp_http_protobuf");
  EXPECT_TRUE(warnings.empty()) << warnings.front();
}

// ---- the collector's response, read without libprotobuf ----

std::string response_rejecting(std::int64_t rejected, const std::string& message = "") {
  pb::collector::trace::v1::ExportTraceServiceResponse r;
  r.mutable_partial_success()->set_rejected_spans(rejected);
  if (!message.empty()) r.mutable_partial_success()->set_error_message(message);
  return r.SerializeAsString();
}

TEST(OtlpResponseDecodingTest, ReadsRejectedSpansAsLibprotobufWritesThem) {
  EXPECT_EQ(decode_rejected_spans(response_rejecting(3)), 3);
  EXPECT_EQ(decode_rejected_spans(response_rejecting(7, "spans too old")), 7);
  EXPECT_EQ(decode_rejected_spans(response_rejecting(std::int64_t{1} << 40)), std::int64_t{1} << 40);
  // Nothing rejected: an empty response, an empty partial_success, only a message, a negative count.
  EXPECT_EQ(decode_rejected_spans(""), 0);
  EXPECT_EQ(decode_rejected_spans(response_rejecting(0)), 0);
  EXPECT_EQ(decode_rejected_spans(response_rejecting(0, "a warning")), 0);
  EXPECT_EQ(decode_rejected_spans(response_rejecting(-5)), 0);
}

TEST(OtlpResponseDecodingTest, SkipsUnknownFieldsOfEveryWireTypeAndMergesRepeatedMessages) {
  // Unknown fields around and inside partial_success (numbers a newer collector might add): varint, fixed64,
  // length-delimited, fixed32.
  const std::string unknown = std::string("\x28\x96\x01", 3) + std::string("\x31") + std::string(8, '\x7f') +
                              std::string("\x3a\x02hi") + std::string("\x45") + std::string(4, '\x01');
  const std::string inner = response_rejecting(4).substr(2);  // partial_success's own bytes
  std::string bytes = unknown;
  bytes += '\x0a';
  bytes += static_cast<char>(inner.size() + unknown.size());
  bytes += unknown + inner;
  bytes += unknown;
  EXPECT_EQ(decode_rejected_spans(bytes), 4);
  // partial_success twice: a message field seen twice merges, so the later count wins.
  EXPECT_EQ(decode_rejected_spans(response_rejecting(2) + response_rejecting(9)), 9);
  pb::collector::trace::v1::ExportTraceServiceResponse check;
  ASSERT_TRUE(check.ParseFromString(bytes));
  EXPECT_EQ(check.partial_success().rejected_spans(), 4);
}

TEST(OtlpResponseDecodingTest, MalformedResponsesRejectNothing) {
  const std::string good = response_rejecting(6, "why");
  for (std::size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_EQ(decode_rejected_spans(good.substr(0, cut)), 0) << "cut at " << cut;
  }
  EXPECT_EQ(decode_rejected_spans(std::string("\x0b\x0c", 2)), 0);          // a group, which proto3 has not
  EXPECT_EQ(decode_rejected_spans(std::string("\x00\x01", 2)), 0);          // field number 0
  EXPECT_EQ(decode_rejected_spans(std::string(11, '\xff')), 0);             // a varint longer than 10 bytes
  EXPECT_EQ(decode_rejected_spans(std::string("\x0a\x7f\x08\x05", 4)), 0);  // length past the end
  EXPECT_EQ(decode_rejected_spans("{\"partialSuccess\":{\"rejectedSpans\":\"3\"}}"),
            0);  // JSON is not protobuf
}

}  // namespace
}  // namespace sy::telemetry
