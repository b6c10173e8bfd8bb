// The finished-span record handed from the tracer to processors and exporters: ids, timing, attributes,
// events, links, status, resource and scope, as the OpenTelemetry trace data model defines them.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "telemetry/encode_buffer.h"
#include "telemetry/protobuf_wire.h"

namespace sy::telemetry {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// Not all zero. Inline, as words: a request checks ids a dozen times (each span's start, the propagators).
inline bool is_valid(const TraceId& id) noexcept {
  std::uint64_t high, low;
  std::memcpy(&high, id.data(), sizeof high);
  std::memcpy(&low, id.data() + sizeof high, sizeof low);
  return (high | low) != 0;
}
inline bool is_valid(const SpanId& id) noexcept {
  std::uint64_t word;
  std::memcpy(&word, id.data(), sizeof word);
  return word != 0;
}
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);
bool from_hex(std::string_view hex, TraceId& out) noexcept;  // 32 lowercase/uppercase hex digits
bool from_hex(std::string_view hex, SpanId& out) noexcept;   // 16 hex digits

using AttributeValue = std::variant<std::string, bool, std::int64_t, double, std::vector<std::string>,
                                    std::vector<bool>, std::vector<std::int64_t>, std::vector<double>>;

// Two of 256 buckets a span's attribute key falls in (from a hash of all its bytes; the first in the low
// byte): a span notes the buckets its keys took (a Bloom filter), so that setting a key whose two buckets no
// earlier ones both took skips the search for an existing one. Two buckets instead of one make a needless
// search some four times rarer at the 20-30 attributes of a gateway span.
constexpr std::uint16_t key_bucket(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (const char c : key) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return static_cast<std::uint16_t>((h * 0x9E3779B97F4A7C15ULL) >> 48);
}

// An attribute's key. A string literal is kept as a pointer to it (the key of nearly every attribute the
// gateway sets: nothing to copy or free, and its bucket is worked out at compile time); any other key is
// copied and owned. Only a constant expression binds to the literal constructor, so a kept pointer can only
// point to storage that lives as long as the program.
class AttributeKey {
 public:
  AttributeKey() noexcept = default;  // the empty key
  consteval AttributeKey(const char* literal) noexcept
      : data_(literal),
        size_(static_cast<std::uint32_t>(std::char_traits<char>::length(literal))),
        bucket_(key_bucket({literal, size_})) {}
  AttributeKey(std::string_view key) { copy_from(key); }
  AttributeKey(const std::string& key) { copy_from(key); }
  AttributeKey(const AttributeKey& other) : data_(other.data_), size_(other.size_), bucket_(other.bucket_) {
    if (other.owned_) copy_from(other.view());
  }
  AttributeKey(AttributeKey&& other) noexcept
      : data_(other.data_), size_(other.size_), owned_(other.owned_), bucket_(other.bucket_) {
    other.data_ = "";
    other.size_ = 0;
    other.owned_ = false;
    other.bucket_ = kEmptyBucket;
  }
  AttributeKey& operator=(AttributeKey other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(owned_, other.owned_);
    std::swap(bucket_, other.bucket_);
    return *this;
  }
  ~AttributeKey() {
    if (owned_) delete[] data_;
  }

  std::string_view view() const noexcept { return {data_, size_}; }
  bool owned() const noexcept { return owned_; }
  std::uint16_t bucket() const noexcept { return bucket_; }  // key_bucket(view())
  friend bool operator==(const AttributeKey& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  void copy_from(std::string_view key);

  static constexpr std::uint16_t kEmptyBucket = key_bucket({});

  const char* data_ = "";
  std::uint32_t size_ = 0;  // 16 bytes in all, so that an Attribute fills one 64-byte cache line
  bool owned_ = false;
  std::uint16_t bucket_ = kEmptyBucket;
};
std::ostream& operator<<(std::ostream& out, const AttributeKey& key);

struct Attribute {
  AttributeKey key;
  AttributeValue value;
};

// Appends `a` to `out` as the field `field` of its message (wire::append_attribute, for any value type).
void append_attribute(EncodeBuffer& out, std::uint32_t field, const Attribute& a);

// A span record's attributes, kept as the bytes OTLP exports them as: each one a Span.attributes field
// (number 9, a KeyValue holding an AnyValue) in the protobuf wire format, written when the attribute is set,
// so that exporting a span copies its attributes in one block instead of encoding them one by one. The
// storage is kept across clear()s: a recycled record refills it without allocating.
//
// Read access — size(), [], begin()/end(), a conversion to std::span<const Attribute> — decodes the bytes
// into Attribute objects on first use after a change: for the OTLP/JSON encoder and for tests, not for the
// request path. A record is used by one thread at a time; so is this list, reading included.
class AttributeList {
 public:
  AttributeList() = default;
  AttributeList(std::initializer_list<Attribute> attributes) {
    for (const Attribute& a : attributes) push_back(a);
  }
  AttributeList(const AttributeList& other) : count_(other.count_), last_(other.last_) {
    bytes_.append(other.bytes_.data(), other.bytes_.size());
    decoded_current_ = count_ == 0;
  }
  AttributeList(AttributeList&& other) noexcept
      : bytes_(std::move(other.bytes_)),
        count_(std::exchange(other.count_, 0)),
        last_(std::exchange(other.last_, 0)),
        decoded_(std::move(other.decoded_)),
        decoded_current_(std::exchange(other.decoded_current_, false)) {}
  AttributeList& operator=(const AttributeList& other) {
    if (this != &other) {
      clear();
      bytes_.append(other.bytes_.data(), other.bytes_.size());
      count_ = other.count_;
      last_ = other.last_;
      decoded_current_ = count_ == 0;
    }
    return *this;
  }
  AttributeList& operator=(AttributeList&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    count_ = std::exchange(other.count_, 0);
    last_ = std::exchange(other.last_, 0);
    decoded_ = std::move(other.decoded_);
    decoded_current_ = std::exchange(other.decoded_current_, false);
    other.decoded_.clear();
    return *this;
  }
  AttributeList& operator=(std::initializer_list<Attribute> attributes) {
    clear();
    for (const Attribute& a : attributes) push_back(a);
    return *this;
  }

  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  // The attributes as Span.attributes fields, ready to export.
  std::string_view encoded() const noexcept { return bytes_.view(); }
  std::size_t capacity() const noexcept { return bytes_.capacity(); }  // bytes of storage

  // Decoded, on first use after a change.
  const Attribute* begin() const { return decoded().data(); }
  const Attribute* end() const { return begin() + decoded().size(); }
  const Attribute& operator[](std::size_t i) const { return decoded()[i]; }
  operator std::span<const Attribute>() const { return decoded(); }  // NOLINT(google-explicit-constructor)

  // Appends an attribute, without looking for one with the same key (a Span does that). `value` is a
  // std::string_view, bool, std::int64_t, double or a std::vector of those (strings as std::string).
  template <class V>
  void append(std::string_view key, const V& value) {
    last_ = bytes_.size();
    wire::append_attribute(bytes_, kField, key, value);
    ++count_;
    decoded_current_ = false;
  }
  void push_back(const Attribute& attribute);
  // Appends one attribute already encoded as a Span.attributes field (bytes another list appended), without
  // looking for its key.
  void append_encoded(std::string_view attribute) {
    last_ = bytes_.size();
    bytes_.append(attribute.data(), attribute.size());
    ++count_;
    decoded_current_ = false;
  }
  // Where the attribute appended last starts in encoded().
  std::size_t last_offset() const noexcept { return last_; }
  // Appends all of `other`'s attributes (encoded already), without looking for their keys.
  void append_all(const AttributeList& other) {
    if (other.count_ == 0) return;
    last_ = bytes_.size() + other.last_;
    bytes_.append(other.bytes_.data(), other.bytes_.size());
    count_ += other.count_;
    decoded_current_ = false;
  }
  // Removes the attribute with this key: returns where it was (for move_last_to), or npos when none has it.
  std::size_t erase(std::string_view key) noexcept;
  // Moves the attribute appended last to `offset` (where erase took out the one it replaces), the ones from
  // there on one place later.
  void move_last_to(std::size_t offset) noexcept;
  // Asks the CPU to fetch the storage ahead of the writes that fill it: a recycled record has often left the
  // cache since its last life.
  void prefetch() const noexcept;
  void clear() noexcept {
    bytes_.clear();
    count_ = 0;
    last_ = 0;
    decoded_.clear();
    decoded_current_ = true;
  }
  // The same, giving the storage back when it is over `keep_bytes` (one span with a huge prompt must not make
  // every record in the pool that big).
  void clear_for_reuse(std::size_t keep_bytes) noexcept;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::uint32_t kField = 9;  // trace.v1.Span.attributes

 private:
  const std::vector<Attribute>& decoded() const;

  EncodeBuffer bytes_{kFirstCapacity};
  std::size_t count_ = 0;
  std::size_t last_ = 0;  // where the attribute appended last starts
  mutable std::vector<Attribute> decoded_;
  mutable bool decoded_current_ = true;

  static constexpr std::size_t kFirstCapacity = 1024;  // a usual span's attributes
  static constexpr std::size_t kKeepDecoded = 64;      // decoded attributes kept across clears
  static constexpr std::size_t kPrefetchBytes = 256;
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
  AttributeList attributes;
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
