#include "telemetry/otlp_encoding.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "telemetry/protobuf_wire.h"

namespace sy::telemetry {
namespace {

// ---- protobuf wire format ----

// Field numbers, from proto/opentelemetry/proto/.
namespace request_field {  // collector.trace.v1.ExportTraceServiceRequest
constexpr std::uint32_t resource_spans = 1;
}
namespace resource_spans_field {  // trace.v1.ResourceSpans
constexpr std::uint32_t resource = 1, scope_spans = 2;
}
namespace resource_field {  // resource.v1.Resource
constexpr std::uint32_t attributes = 1;
}
namespace scope_spans_field {  // trace.v1.ScopeSpans
constexpr std::uint32_t scope = 1, spans = 2;
}
namespace scope_field {  // common.v1.InstrumentationScope
constexpr std::uint32_t name = 1, version = 2;
}
namespace span_field {  // trace.v1.Span
constexpr std::uint32_t trace_id = 1, span_id = 2, trace_state = 3, parent_span_id = 4, name = 5, kind = 6,
                        start_time_unix_nano = 7, end_time_unix_nano = 8, attributes = 9,
                        dropped_attributes_count = 10, events = 11, dropped_events_count = 12, links = 13,
                        dropped_links_count = 14, status = 15, flags = 16;
}
namespace event_field {  // trace.v1.Span.Event
constexpr std::uint32_t time_unix_nano = 1, name = 2, attributes = 3;
}
namespace response_field {  // collector.trace.v1.ExportTraceServiceResponse
constexpr std::uint32_t partial_success = 1;
}
namespace partial_success_field {  // collector.trace.v1.ExportTracePartialSuccess
constexpr std::uint32_t rejected_spans = 1;
}
namespace link_field {  // trace.v1.Span.Link
constexpr std::uint32_t trace_id = 1, span_id = 2, trace_state = 3, attributes = 4;
}
namespace status_field {  // trace.v1.Status
constexpr std::uint32_t message = 2, code = 3;
}
using wire::kMaxTag;
using wire::kMaxVarint;
using wire::len_field_size;
using wire::put_little_endian;
using wire::put_varint;
using wire::tag;
using wire::varint_size;
using wire::Wire;

// Appends fields to an EncodeBuffer. A nested message whose length is only known once written keeps room for
// a guess of its length's size and fixes it when it closes, moving its bytes in the rare case the guess was
// wrong; a message whose length is cheap to compute (attributes, status, scope) gets its exact length first.
class ProtoWriter {
 public:
  explicit ProtoWriter(EncodeBuffer& out) : out_(out) {}

  void varint_field(std::uint32_t field, std::uint64_t v) {
    char* const p = out_.prepare(kMaxTag + kMaxVarint);
    char* q = put_varint(p, tag(field, Wire::varint));
    q = put_varint(q, v);
    out_.commit(static_cast<std::size_t>(q - p));
  }
  void fixed64_field(std::uint32_t field, std::uint64_t v) {
    char* const p = out_.prepare(kMaxTag + 8);
    char* q = put_varint(p, tag(field, Wire::i64));
    q = put_little_endian(q, v);
    out_.commit(static_cast<std::size_t>(q - p));
  }
  void fixed32_field(std::uint32_t field, std::uint32_t v) {
    char* const p = out_.prepare(kMaxTag + 4);
    char* q = put_varint(p, tag(field, Wire::i32));
    q = put_little_endian(q, v);
    out_.commit(static_cast<std::size_t>(q - p));
  }
  void bytes_field(std::uint32_t field, const void* data, std::size_t n) {
    char* const p = out_.prepare(kMaxTag + kMaxVarint + n);
    char* q = put_varint(p, tag(field, Wire::len));
    q = put_varint(q, n);
    if (n > 0) std::memcpy(q, data, n);
    out_.commit(static_cast<std::size_t>(q - p) + n);
  }
  void string_field(std::uint32_t field, std::string_view s) { bytes_field(field, s.data(), s.size()); }
  // Bytes encoded already.
  void raw(std::string_view bytes) { out_.append(bytes.data(), bytes.size()); }
  EncodeBuffer& buffer() noexcept { return out_; }
  // The tag and length of a message field of `length` bytes, which the caller writes next.
  void message_header(std::uint32_t field, std::size_t length) {
    char* const p = out_.prepare(kMaxTag + kMaxVarint);
    char* q = put_varint(p, tag(field, Wire::len));
    q = put_varint(q, length);
    out_.commit(static_cast<std::size_t>(q - p));
  }

  // Starts a message field of unknown length, keeping `guess` bytes for the length; returns the length's
  // offset.
  std::size_t open(std::uint32_t field, std::size_t guess) {
    char* const p = out_.prepare(kMaxTag + guess);
    const char* q = put_varint(p, tag(field, Wire::len));
    const std::size_t at = out_.size() + static_cast<std::size_t>(q - p);
    out_.commit(static_cast<std::size_t>(q - p) + guess);
    return at;
  }
  void close(std::size_t at, std::size_t guess) {
    const std::size_t length = out_.size() - at - guess;
    const std::size_t need = varint_size(length);
    if (need > guess) {
      out_.prepare(need - guess);
      out_.commit(need - guess);
    }
    char* const base = out_.data() + at;
    if (need != guess) {
      std::memmove(base + need, base + guess, length);
      if (need < guess) out_.truncate(out_.size() - (guess - need));
    }
    put_varint(base, length);
  }

 private:
  EncodeBuffer& out_;
};

// Guesses of how many bytes a message's length takes (a wrong guess costs a move of the message's bytes).
constexpr std::size_t kGuessBatch = 3;  // ResourceSpans, ScopeSpans: up to 2 MB
constexpr std::size_t kGuessSpan = 2;   // a span: up to 16 KB
constexpr std::size_t kGuessSmall = 1;  // an event or link: up to 127 bytes
constexpr std::size_t kGuessResource = 2;

// ---- attributes ----

// The attributes of an event, a link or the resource (a span's own are encoded already, in its record).
void write_attributes(EncodeBuffer& out, std::uint32_t field, std::span<const Attribute> attributes) {
  for (const Attribute& a : attributes) append_attribute(out, field, a);
}

// ---- spans ----

void write_span(ProtoWriter& w, const SpanData& s) {
  const std::size_t at = w.open(scope_spans_field::spans, kGuessSpan);
  w.bytes_field(span_field::trace_id, s.trace_id.data(), s.trace_id.size());
  w.bytes_field(span_field::span_id, s.span_id.data(), s.span_id.size());
  if (!s.trace_state.empty()) w.string_field(span_field::trace_state, s.trace_state);
  if (is_valid(s.parent_span_id)) {
    w.bytes_field(span_field::parent_span_id, s.parent_span_id.data(), s.parent_span_id.size());
  }
  if (!s.name.empty()) w.string_field(span_field::name, s.name);
  if (s.kind != SpanKind::unspecified) w.varint_field(span_field::kind, static_cast<std::uint64_t>(s.kind));
  if (s.start_time_unix_nano != 0) w.fixed64_field(span_field::start_time_unix_nano, s.start_time_unix_nano);
  if (s.end_time_unix_nano != 0) w.fixed64_field(span_field::end_time_unix_nano, s.end_time_unix_nano);
  static_assert(AttributeList::kField == span_field::attributes);
  w.raw(s.attributes.encoded());
  if (s.dropped_attributes_count != 0) {
    w.varint_field(span_field::dropped_attributes_count, s.dropped_attributes_count);
  }
  for (const Event& e : s.events) {
    const std::size_t event_at = w.open(span_field::events, kGuessSmall);
    if (e.time_unix_nano != 0) w.fixed64_field(event_field::time_unix_nano, e.time_unix_nano);
    if (!e.name.empty()) w.string_field(event_field::name, e.name);
    write_attributes(w.buffer(), event_field::attributes, e.attributes);
    w.close(event_at, kGuessSmall);
  }
  if (s.dropped_events_count != 0) w.varint_field(span_field::dropped_events_count, s.dropped_events_count);
  for (const Link& l : s.links) {
    const std::size_t link_at = w.open(span_field::links, kGuessSmall);
    w.bytes_field(link_field::trace_id, l.trace_id.data(), l.trace_id.size());
    w.bytes_field(link_field::span_id, l.span_id.data(), l.span_id.size());
    if (!l.trace_state.empty()) w.string_field(link_field::trace_state, l.trace_state);
    write_attributes(w.buffer(), link_field::attributes, l.attributes);
    w.close(link_at, kGuessSmall);
  }
  if (s.dropped_links_count != 0) w.varint_field(span_field::dropped_links_count, s.dropped_links_count);
  if (s.status_code != StatusCode::unset || !s.status_message.empty()) {
    const auto code = static_cast<std::uint64_t>(s.status_code);
    const std::size_t size = (s.status_message.empty() ? 0 : len_field_size(s.status_message.size())) +
                             (code != 0 ? 1 + varint_size(code) : 0);
    w.message_header(span_field::status, size);
    if (!s.status_message.empty()) w.string_field(status_field::message, s.status_message);
    if (code != 0) w.varint_field(status_field::code, code);
  }
  if (s.flags != 0) w.fixed32_field(span_field::flags, s.flags);
  w.close(at, kGuessSpan);
}

}  // namespace

void TracesRequestWriter::begin(EncodeBuffer& out, const Resource& resource,
                                const InstrumentationScope& scope) {
  out.clear();
  out_ = &out;
  spans_ = 0;
  ProtoWriter w(out);
  resource_spans_at_ = w.open(request_field::resource_spans, kGuessBatch);
  const std::size_t resource_at = w.open(resource_spans_field::resource, kGuessResource);
  write_attributes(w.buffer(), resource_field::attributes, resource.attributes);
  w.close(resource_at, kGuessResource);
  scope_spans_at_ = w.open(resource_spans_field::scope_spans, kGuessBatch);
  w.message_header(scope_spans_field::scope,
                   (scope.name.empty() ? 0 : len_field_size(scope.name.size())) +
                       (scope.version.empty() ? 0 : len_field_size(scope.version.size())));
  if (!scope.name.empty()) w.string_field(scope_field::name, scope.name);
  if (!scope.version.empty()) w.string_field(scope_field::version, scope.version);
}

void TracesRequestWriter::add(const SpanData& span) {
  ProtoWriter w(*out_);
  write_span(w, span);
  ++spans_;
}

std::string_view TracesRequestWriter::finish() {
  ProtoWriter w(*out_);
  w.close(scope_spans_at_, kGuessBatch);
  w.close(resource_spans_at_, kGuessBatch);
  const std::string_view request = out_->view();
  out_ = nullptr;
  return request;
}

void encode_traces_protobuf(SpanBatch spans, const Resource& resource, const InstrumentationScope& scope,
                            EncodeBuffer& out) {
  TracesRequestWriter writer;
  writer.begin(out, resource, scope);
  for (const SpanData& s : spans) writer.add(s);
  writer.finish();
}

std::string encode_traces_protobuf(SpanBatch spans, const Resource& resource,
                                   const InstrumentationScope& scope) {
  EncodeBuffer buffer;
  encode_traces_protobuf(spans, resource, scope, buffer);
  return std::string(buffer.view());
}

std::int64_t decode_rejected_spans(std::string_view response) noexcept {
  std::int64_t rejected = 0;
  bool inner_ok = true;
  const bool outer_ok = wire::for_each_field(response, [&](std::uint32_t field, Wire type, std::uint64_t,
                                                           std::string_view bytes) {
    if (field != response_field::partial_success || type != Wire::len) return;
    // A message field seen twice merges: a later rejected_spans replaces an earlier one.
    inner_ok = wire::for_each_field(bytes,
                                    [&](std::uint32_t f, Wire t, std::uint64_t number, std::string_view) {
                                      if (f == partial_success_field::rejected_spans && t == Wire::varint) {
                                        rejected = static_cast<std::int64_t>(number);
                                      }
                                    }) &&
               inner_ok;
  });
  return outer_ok && inner_ok && rejected > 0 ? rejected : 0;
}

}  // namespace sy::telemetry
