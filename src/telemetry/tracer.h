// Starts spans: picks ids, asks the sampler, and hands ended spans to the batch processor. A span that is not
// sampled (or with no processor) records nothing but still carries a context to propagate.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "telemetry/batch_processor.h"
#include "telemetry/context.h"
#include "telemetry/id_generator.h"
#include "telemetry/sampler.h"

namespace sy::telemetry {

struct SpanLimits {
  std::size_t attribute_count = 128;        // OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT
  std::size_t event_count = 128;            // OTEL_SPAN_EVENT_COUNT_LIMIT
  std::size_t link_count = 128;             // OTEL_SPAN_LINK_COUNT_LIMIT
  std::size_t event_attribute_count = 128;  // OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT
  std::size_t link_attribute_count = 128;   // OTEL_LINK_ATTRIBUTE_COUNT_LIMIT
  std::size_t attribute_value_length = 0;   // OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT; 0: unlimited
};

std::uint64_t now_unix_nano() noexcept;
// Keeps at most `max_chars` UTF-8 characters of `s`.
void truncate_utf8(std::string& s, std::size_t max_chars);

class Tracer;

// One span in progress. Move-only; ends itself when destroyed if nobody ended it.
// Attributes encoded once and added to many spans as one block of bytes: the same provider, model and
// deployment id go on every span of every call to a deployment. A later attribute with a key the block has
// already replaces that one.
class AttributeBlock {
 public:
  AttributeBlock() = default;
  AttributeBlock(std::initializer_list<Attribute> attributes) {
    for (const Attribute& a : attributes) add(a);
  }
  void add(const Attribute& attribute);

  std::size_t size() const noexcept { return attributes_.size(); }
  std::span<const Attribute> attributes() const noexcept { return attributes_; }

 private:
  friend class Span;
  std::vector<Attribute> attributes_;
  AttributeList encoded_;
  std::size_t longest_text_ = 0;  // bytes of the longest string (or string element) value
  bool valid_utf8_ = true;        // every string is valid UTF-8
};

class Span {
 public:
  Span() = default;
  Span(Span&&) noexcept = default;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  bool recording() const noexcept { return data_ != nullptr; }
  const SpanContext& context() const noexcept { return context_; }

  // One overload per attribute type, so a bool or a double never converts to an integer by accident. A string
  // literal key is kept without a copy (AttributeKey). The value is encoded into the record's attribute bytes
  // at once (AttributeList), into the storage a recycled record kept: the caller's value is not held on to.
  void set_attribute(const AttributeKey& key, std::string_view value);
  void set_attribute(const AttributeKey& key, const std::string& value) {
    set_attribute(key, std::string_view(value));
  }
  void set_attribute(const AttributeKey& key, std::string&& value);
  void set_attribute(const AttributeKey& key, const char* value) {
    set_attribute(key, std::string_view(value));
  }
  void set_attribute(const AttributeKey& key, bool value) { record(key, value); }
  void set_attribute(const AttributeKey& key, std::int64_t value) { record(key, value); }
  void set_attribute(const AttributeKey& key, int value) { record(key, static_cast<std::int64_t>(value)); }
  void set_attribute(const AttributeKey& key, double value) { record(key, value); }
  void set_attribute(const AttributeKey& key, const std::vector<std::string>& value);
  void set_attribute(const AttributeKey& key, std::vector<std::string>&& value);
  void set_value(const AttributeKey& key, AttributeValue value);
  // Sets the attribute on this span and on `other`, encoding it once: `other` gets a copy of the bytes this
  // span appended for it. Where this span did not append it at its end (not recording, a key it had already,
  // the count limit) or the two spans have different tracers (limits), `other` sets it as set_attribute
  // would.
  template <class V>
  void set_attribute_on_both(Span& other, const AttributeKey& key, const V& value);
  // Every attribute of `block`, as set_value would set them one by one. Copied as the block's bytes when none
  // of its keys may be set already, nothing needs truncating or mending and all fit under the count limit.
  void set_attributes(const AttributeBlock& block);
  void add_event(std::string_view name, std::vector<Attribute> attributes = {});
  // Links this span to another (a batch it belongs to, the request a retry repeats, ...).
  void add_link(const SpanContext& other, std::vector<Attribute> attributes = {});
  void set_status(StatusCode code, std::string_view description = {});
  StatusCode status() const noexcept;
  void end() noexcept;

 private:
  friend class Tracer;
  // Whether an attribute with `key` is recorded: false when not recording, or when it is new and the
  // attribute count limit drops it. A live one with the key is taken out first, and `replaced` says where it
  // was (AttributeList::npos when there was none).
  inline bool admit(const AttributeKey& key, std::size_t& replaced) noexcept;
  // The rest of admit, for a key that may be set already or a span at the attribute count limit.
  bool admit_slow(const AttributeKey& key, bool maybe_set, std::size_t& replaced) noexcept;
  // The key's two bits in key_buckets_ (key_bucket): whether both are taken, and taking them.
  struct KeyBits {
    std::uint64_t& first_word;
    std::uint64_t& second_word;
    std::uint64_t first_bit, second_bit;
    bool taken() const noexcept { return (first_word & first_bit) != 0 && (second_word & second_bit) != 0; }
    void take() noexcept {
      first_word |= first_bit;
      second_word |= second_bit;
    }
  };
  KeyBits key_bits(const AttributeKey& key) noexcept {
    const unsigned first = key.bucket() & 0xff, second = key.bucket() >> 8;
    return {key_buckets_[first / 64], key_buckets_[second / 64], std::uint64_t{1} << (first % 64),
            std::uint64_t{1} << (second % 64)};
  }
  template <class V>
  void record(const AttributeKey& key, const V& value) {
    std::size_t replaced = AttributeList::npos;
    if (!admit(key, replaced)) return;
    data_->attributes.append(key.view(), value);
    if (replaced != AttributeList::npos) data_->attributes.move_last_to(replaced);
  }
  // Records an attribute set on another span of the same tracer, given as the bytes that span appended.
  void append_copy(const AttributeKey& key, std::string_view encoded) {
    std::size_t replaced = AttributeList::npos;
    if (!admit(key, replaced)) return;
    data_->attributes.append_encoded(encoded);
    if (replaced != AttributeList::npos) data_->attributes.move_last_to(replaced);
  }
  // Valid UTF-8, truncated to the value length limit.
  void sanitize(std::string& value) const;
  // Whether sanitize would change `value`.
  bool needs_sanitizing(std::string_view value) const noexcept;
  std::unique_ptr<SpanData> data_;
  SpanContext context_;
  const Tracer* tracer_ = nullptr;
  // One bit per hash bucket of the keys set so far (two per key, key_bucket): a key with either bit clear is
  // new, and is appended without a search of the attributes for it.
  std::array<std::uint64_t, 4> key_buckets_{};
};

class Tracer {
 public:
  Tracer(Sampler sampler, IdGenerator ids, SpanLimits limits, std::shared_ptr<BatchSpanProcessor> processor)
      : sampler_(sampler), ids_(ids), limits_(limits), processor_(std::move(processor)) {}

  // Starts a span continuing `parent` (an invalid parent makes a root span with a new trace id).
  Span start_span(std::string_view name, SpanKind kind, const SpanContext& parent) const;

  const SpanLimits& limits() const noexcept { return limits_; }
  void finish(std::unique_ptr<SpanData> data) const noexcept;

 private:
  Sampler sampler_;
  IdGenerator ids_;
  SpanLimits limits_;
  std::shared_ptr<BatchSpanProcessor> processor_;
};

inline bool Span::admit(const AttributeKey& key, std::size_t& replaced) noexcept {
  if (!data_) return false;
  KeyBits bits = key_bits(key);
  const bool maybe_set = bits.taken();
  if (!maybe_set && data_->attributes.size() < tracer_->limits().attribute_count) {
    bits.take();  // a key no earlier one shares both buckets with: new
    return true;
  }
  return admit_slow(key, maybe_set, replaced);
}

template <class V>
void Span::set_attribute_on_both(Span& other, const AttributeKey& key, const V& value) {
  if (!data_ || tracer_ != other.tracer_) {
    set_attribute(key, value);
    other.set_attribute(key, value);
    return;
  }
  const std::size_t count = data_->attributes.size();
  const std::size_t bytes = data_->attributes.encoded().size();
  set_attribute(key, value);
  if (!other.data_) return;
  const AttributeList& mine = data_->attributes;
  if (mine.size() == count + 1 && mine.last_offset() == bytes) {
    other.append_copy(key, mine.encoded().substr(bytes));
  } else {
    other.set_attribute(key, value);
  }
}

}  // namespace sy::telemetry
