// The finished-span record handed from the tracer to processors and exporters: ids, timing, attributes,
// events, links, status, resource and scope, as the OpenTelemetry trace data model defines them.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
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

// The characters a std::string holds in place, without heap storage (its short-string buffer). Worked out at
// start rather than at compile time, which clang (14) does not do for libstdc++'s std::string.
inline const std::size_t kStringInPlace = std::string().capacity();

using AttributeValue = std::variant<std::string, bool, std::int64_t, double, std::vector<std::string>,
                                    std::vector<bool>, std::vector<std::int64_t>, std::vector<double>>;

// Which of 256 buckets a span's attribute key falls in (from its length and last eight bytes, where the
// gateway's keys differ): a span notes the buckets its keys took, so that setting a key no earlier one shares
// a bucket with skips the search for an existing one.
constexpr std::uint8_t key_bucket(std::string_view key) noexcept {
  const std::size_t n = key.size() < 8 ? key.size() : 8;
  std::uint64_t tail = 0;
  for (std::size_t i = 0; i < n; ++i) {
    tail |= std::uint64_t{static_cast<unsigned char>(key[key.size() - n + i])} << (8 * i);
  }
  return static_cast<std::uint8_t>(((tail ^ key.size()) * 0x9E3779B97F4A7C15ULL) >> 56);
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
  std::uint8_t bucket() const noexcept { return bucket_; }  // key_bucket(view())
  friend bool operator==(const AttributeKey& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  void copy_from(std::string_view key);

  static constexpr std::uint8_t kEmptyBucket = key_bucket({});

  const char* data_ = "";
  std::uint32_t size_ = 0;  // 16 bytes in all, so that an Attribute fills one 64-byte cache line
  bool owned_ = false;
  std::uint8_t bucket_ = kEmptyBucket;
};
std::ostream& operator<<(std::ostream& out, const AttributeKey& key);

struct Attribute {
  AttributeKey key;
  AttributeValue value;
};

// A span record's attributes: a list of the live ones (size(), begin()/end(), [], a contiguous range that
// converts to std::span<const Attribute>). Behind them it keeps the slots of attributes a recycled record
// held in earlier lives, strings and all: `clear()` only forgets them, and `next_slot()` hands the next one
// back so that a new attribute is assigned into the storage already there instead of allocating its own.
class AttributeList {
 public:
  AttributeList() = default;
  AttributeList(std::initializer_list<Attribute> attributes)
      : slots_(attributes), size_(slots_.size()), grown_(true) {}
  AttributeList(const AttributeList& other)
      : slots_(other.begin(), other.end()), size_(other.size_), grown_(true) {}
  AttributeList(AttributeList&& other) noexcept
      : slots_(std::move(other.slots_)), size_(other.size_), grown_(other.grown_) {
    other.slots_.clear();
    other.size_ = 0;
  }
  AttributeList& operator=(const AttributeList& other) {
    if (this != &other) {
      clear();
      for (const Attribute& a : other) next_slot() = a;
    }
    return *this;
  }
  AttributeList& operator=(AttributeList&& other) noexcept {
    std::swap(slots_, other.slots_);  // `other` keeps our storage: it is about to be destroyed or refilled
    std::swap(size_, other.size_);
    std::swap(grown_, other.grown_);
    other.clear();
    return *this;
  }
  AttributeList& operator=(std::initializer_list<Attribute> attributes) {
    clear();
    for (const Attribute& a : attributes) next_slot() = a;
    return *this;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const Attribute* data() const noexcept { return slots_.data(); }
  const Attribute* begin() const noexcept { return slots_.data(); }
  const Attribute* end() const noexcept { return slots_.data() + size_; }
  const Attribute& operator[](std::size_t i) const noexcept { return slots_[i]; }
  // Write access to the live attributes: what is written may hold any storage, so the next clear_for_reuse
  // looks at every slot again.
  Attribute* data() noexcept {
    grown_ = true;
    return slots_.data();
  }
  Attribute* begin() noexcept { return data(); }
  Attribute* end() noexcept { return data() + size_; }
  Attribute& operator[](std::size_t i) noexcept { return data()[i]; }

  void push_back(Attribute attribute) { next_slot() = std::move(attribute); }
  // One more live attribute, in a slot that may still hold a key and value of an earlier life (the caller
  // assigns both, any way it likes).
  Attribute& next_slot() {
    grown_ = true;
    return append();
  }
  // The same, for a value of variant alternative `kind` that needs `size` (the characters of a string, the
  // elements of a list): when the next slot has no room for it, a kept slot that has (a string or list with
  // that capacity, or for a number no storage a later string could use) is swapped in first. For the tracer,
  // which writes into the slot's kept storage and calls note_growth() when it may have allocated more (an
  // owned key, a string or list longer than the slot's capacity).
  Attribute& next_slot_for(std::size_t kind, std::size_t size) noexcept;
  // The live attribute with this key, or null; for the tracer, on the same terms as next_slot_for.
  Attribute* find(std::string_view key) noexcept {
    for (Attribute *a = slots_.data(), *end = a + size_; a != end; ++a) {
      if (a->key.view() == key) return a;
    }
    return nullptr;
  }
  void note_growth() noexcept { grown_ = true; }
  void reserve(std::size_t n) { slots_.reserve(n); }
  // Asks the CPU to fetch the slots' memory ahead of the writes that fill them: a recycled record has often
  // left the cache since its last life, and fetched one by one each slot would stall its write.
  void prefetch() const noexcept;
  void clear() noexcept { size_ = 0; }
  // Forgets the live attributes, keeping slots and their storage while they stay small: past `keep_slots`
  // slots everything goes; a value holding more than `keep_value_bytes` of heap storage, or past
  // `keep_total_bytes` for the whole list, gives its storage back. When nothing may have grown since the last
  // such pass (a recycled record refilled within its kept storage, the usual case), no slot is touched.
  void clear_for_reuse(std::size_t keep_slots, std::size_t keep_value_bytes,
                       std::size_t keep_total_bytes) noexcept;
  std::size_t capacity() const noexcept { return slots_.capacity(); }
  std::size_t slot_count() const noexcept { return slots_.size(); }  // live and kept

 private:
  Attribute& append() {
    if (size_ == slots_.size()) slots_.emplace_back();
    return slots_[size_++];
  }

  std::vector<Attribute> slots_;  // every one constructed; the first size_ are live
  std::size_t size_ = 0;
  // Whether a slot may hold more storage than the last clear_for_reuse pass kept.
  bool grown_ = false;
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
