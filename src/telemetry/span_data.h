// The finished-span record handed from the tracer to processors and exporters: ids, timing, attributes,
// events, links, status, resource and scope, as the OpenTelemetry trace data model defines them.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sy::telemetry {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

bool is_valid(const TraceId& id) noexcept;  // not all zero
bool is_valid(const SpanId& id) noexcept;
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);
bool from_hex(std::string_view hex, TraceId& out) noexcept;  // 32 lowercase/uppercase hex digits
bool from_hex(std::string_view hex, SpanId& out) noexcept;   // 16 hex digits

using AttributeValue = std::variant<std::string, bool, std::int64_t, double, std::vector<std::string>,
                                    std::vector<bool>, std::vector<std::int64_t>, std::vector<double>>;

// An attribute's key. A string literal is kept as a pointer to it (the key of nearly every attribute the
// gateway sets: nothing to copy or free); any other key is copied and owned. Only a constant expression binds
// to the literal constructor, so a kept pointer can only point to storage that lives as long as the program.
class AttributeKey {
 public:
  AttributeKey() noexcept = default;  // the empty key
  consteval AttributeKey(const char* literal) noexcept
      : data_(literal), size_(static_cast<std::uint32_t>(std::char_traits<char>::length(literal))) {}
  AttributeKey(std::string_view key) { copy_from(key); }
  AttributeKey(const std::string& key) { copy_from(key); }
  AttributeKey(const AttributeKey& other) : data_(other.data_), size_(other.size_) {
    if (other.owned_) copy_from(other.view());
  }
  AttributeKey(AttributeKey&& other) noexcept : data_(other.data_), size_(other.size_), owned_(other.owned_) {
    other.data_ = "";
    other.size_ = 0;
    other.owned_ = false;
  }
  AttributeKey& operator=(AttributeKey other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(owned_, other.owned_);
    return *this;
  }
  ~AttributeKey() {
    if (owned_) delete[] data_;
  }

  std::string_view view() const noexcept { return {data_, size_}; }
  friend bool operator==(const AttributeKey& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  void copy_from(std::string_view key);

  const char* data_ = "";
  std::uint32_t size_ = 0;  // 16 bytes in all, so that an Attribute fills one 64-byte cache line
  bool owned_ = false;
};
std::ostream& operator<<(std::ostream& out, const AttributeKey& key);

struct Attribute {
  AttributeKey key;
  AttributeValue value;
};

// OTLP enum values (opentelemetry.proto.trace.v1.Span.SpanKind).
enum class SpanKind : int {
  unspecified = 0,
  internal = 1,
  server = 2,
  client = 3,
  producer = 4,
  consumer = 5
};
// OTLP enum values (opentelemetry.proto.trace.v1.Status.StatusCode).
enum class StatusCode : int { unset = 0, ok = 1, error = 2 };

struct Event {
  std::string name;
  std::uint64_t time_unix_nano = 0;
  std::vector<Attribute> attributes;
};

struct Link {
  TraceId trace_id{};
  SpanId span_id{};
  std::string trace_state;
  std::vector<Attribute> attributes;
};

struct SpanData {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  std::string trace_state;  // W3C tracestate, as received
  std::uint32_t flags = 1;  // W3C trace flags (bit 0: sampled)
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::uint64_t start_time_unix_nano = 0;
  std::uint64_t end_time_unix_nano = 0;
  std::vector<Attribute> attributes;
  std::vector<Event> events;
  std::vector<Link> links;
  StatusCode status_code = StatusCode::unset;
  std::string status_message;
  std::uint32_t dropped_attributes_count = 0;
  std::uint32_t dropped_events_count = 0;
  std::uint32_t dropped_links_count = 0;
};

// Empties `span` for the next span to reuse: every field back to its default, the storage of its strings and
// lists kept (unless it grew unusually large).
void clear_for_reuse(SpanData& span) noexcept;

// Who produced the spans: the resource (service.name, host.name, ...) and the instrumentation scope.
struct Resource {
  std::vector<Attribute> attributes;
};

struct InstrumentationScope {
  std::string name = "switchyard";
  std::string version;
};

}  // namespace sy::telemetry
