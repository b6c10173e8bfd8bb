#include "telemetry/tracer.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace sy::telemetry {

std::uint64_t now_unix_nano() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (len == 2 && c < 0xC2) return 0;  // overlong
  return len;
}

// Whether every byte of `s` is ASCII, as nearly every attribute value is: its bytes or-ed together a word at
// a time (a short value as two overlapping words), without a loop over single bytes but for under four.
bool all_ascii(std::string_view s) noexcept {
  const char* const p = s.data();
  const std::size_t n = s.size();
  std::uint64_t seen = 0;
  if (n >= 8) {
    std::uint64_t word;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&word, p + i, 8);
      seen |= word;
    }
    std::memcpy(&word, p + n - 8, 8);
    seen |= word;
  } else if (n >= 4) {
    std::uint32_t head, tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    seen = head | tail;
  } else {
    for (std::size_t i = 0; i < n; ++i) seen |= static_cast<unsigned char>(p[i]);
  }
  return (seen & 0x8080808080808080ULL) == 0;
}

// How many bytes at the start of `s` are ASCII, eight at a time.
std::size_t ascii_prefix(std::string_view s) noexcept {
  std::size_t i = 0;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  std::uint64_t word;
  for (; i + 8 <= s.size(); i += 8) {
    std::memcpy(&word, s.data() + i, 8);
    if ((word & kHigh) != 0) break;
  }
  if (i + 8 > s.size() && s.size() >= 8) {  // the tail, as the last eight bytes (some checked twice)
    std::memcpy(&word, s.data() + s.size() - 8, 8);
    if ((word & kHigh) == 0) return s.size();
  }
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i;
}

// How many bytes at the start of `s` are valid UTF-8.
std::size_t valid_utf8_prefix(std::string_view s) noexcept {
  std::size_t i = ascii_prefix(s);
  while (i < s.size()) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) break;
    i += n;
  }
  return i;
}

// OTLP strings must be UTF-8, and some receivers reject a whole batch otherwise: bytes that are not (a
// client's User-Agent, say) become U+FFFD.
void make_valid_utf8(std::string& s) {
  std::size_t i = valid_utf8_prefix(s);
  if (i == s.size()) return;
  std::string out(s, 0, i);
  while (i < s.size()) {
    std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  s = std::move(out);
}

}  // namespace

void truncate_utf8(std::string& s, std::size_t max_chars) {
  // Counts characters, not bytes, and never cuts one in half: a receiver may reject invalid UTF-8.
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {  // the first byte of a character
      if (chars == max_chars) {
        s.resize(i);
        return;
      }
      ++chars;
    }
  }
}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    data_ = std::move(other.data_);
    context_ = std::move(other.context_);
    tracer_ = other.tracer_;
    key_buckets_ = other.key_buckets_;
  }
  return *this;
}

void Span::sanitize(std::string& value) const {
  make_valid_utf8(value);
  const std::size_t limit = tracer_->limits().attribute_value_length;
  if (limit > 0) truncate_utf8(value, limit);
}

bool Span::needs_sanitizing(std::string_view value) const noexcept {
  const std::size_t limit = tracer_->limits().attribute_value_length;
  return (limit > 0 && value.size() > limit) ||
         (!all_ascii(value) && valid_utf8_prefix(value) != value.size());
}

bool Span::admit_slow(const AttributeKey& key, bool maybe_set, std::size_t& replaced) noexcept {
  if (maybe_set) {
    replaced = data_->attributes.erase(key.view());
    if (replaced != AttributeList::npos) return true;
  }
  if (data_->attributes.size() >= tracer_->limits().attribute_count) {
    ++data_->dropped_attributes_count;
    return false;
  }
  key_bits(key).take();
  return true;
}

void Span::set_attribute(const AttributeKey& key, std::string_view value) {
  if (!data_) return;
  // Checked in the caller's bytes; nearly every value is clean and is encoded as it is.
  if (!needs_sanitizing(value)) return record(key, value);
  std::string fixed(value);
  sanitize(fixed);
  record(key, std::string_view(fixed));
}

void Span::set_attribute(const AttributeKey& key, std::string&& value) {
  if (!data_) return;
  if (needs_sanitizing(value)) sanitize(value);
  record(key, std::string_view(value));
}

void Span::set_attribute(const AttributeKey& key, const std::vector<std::string>& value) {
  if (!data_) return;
  for (const std::string& s : value) {
    if (needs_sanitizing(s)) return set_attribute(key, std::vector<std::string>(value));
  }
  record(key, value);
}

void Span::set_attribute(const AttributeKey& key, std::vector<std::string>&& value) {
  if (!data_) return;
  for (std::string& s : value) {
    if (needs_sanitizing(s)) sanitize(s);
  }
  record(key, value);
}

void Span::set_value(const AttributeKey& key, AttributeValue value) {
  if (!data_) return;
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::string>>) {
          set_attribute(key, std::move(v));
        } else {
          record(key, v);
        }
      },
      value);
}

void AttributeBlock::add(const Attribute& attribute) {
  auto same = std::find_if(attributes_.begin(), attributes_.end(),
                           [&](const Attribute& a) { return a.key.view() == attribute.key.view(); });
  if (same != attributes_.end()) {
    attributes_.erase(same);
  }
  attributes_.push_back(attribute);
  encoded_.clear();
  longest_text_ = 0;
  valid_utf8_ = true;
  const auto text = [this](std::string_view s) {
    longest_text_ = std::max(longest_text_, s.size());
    valid_utf8_ = valid_utf8_ && (all_ascii(s) || valid_utf8_prefix(s) == s.size());
  };
  for (const Attribute& a : attributes_) {
    encoded_.push_back(a);
    if (const auto* s = std::get_if<std::string>(&a.value)) text(*s);
    if (const auto* list = std::get_if<std::vector<std::string>>(&a.value)) {
      for (const std::string& s : *list) text(s);
    }
  }
}

void Span::set_attributes(const AttributeBlock& block) {
  if (!data_ || block.attributes_.empty()) return;
  const SpanLimits& limits = tracer_->limits();
  bool whole = block.valid_utf8_ &&
               (limits.attribute_value_length == 0 || block.longest_text_ <= limits.attribute_value_length) &&
               data_->attributes.size() + block.size() <= limits.attribute_count;
  for (std::size_t i = 0; whole && i < block.attributes_.size(); ++i) {
    whole = !key_bits(block.attributes_[i].key).taken();
  }
  if (!whole) {
    for (const Attribute& a : block.attributes_) set_value(a.key, a.value);
    return;
  }
  for (const Attribute& a : block.attributes_) key_bits(a.key).take();
  data_->attributes.append_all(block.encoded_);
}

void Span::add_event(std::string_view name, std::vector<Attribute> attributes) {
  if (!data_) return;
  if (data_->events.size() >= tracer_->limits().event_count) {
    ++data_->dropped_events_count;
    return;
  }
  if (attributes.size() > tracer_->limits().event_attribute_count) {
    attributes.resize(tracer_->limits().event_attribute_count);
  }
  data_->events.push_back(Event{std::string(name), now_unix_nano(), std::move(attributes)});
}

void Span::add_link(const SpanContext& other, std::vector<Attribute> attributes) {
  if (!data_ || !other.valid()) return;
  if (data_->links.size() >= tracer_->limits().link_count) {
    ++data_->dropped_links_count;
    return;
  }
  if (attributes.size() > tracer_->limits().link_attribute_count) {
    attributes.resize(tracer_->limits().link_attribute_count);
  }
  data_->links.push_back(Link{other.trace_id, other.span_id, other.trace_state, std::move(attributes)});
}

void Span::set_status(StatusCode code, std::string_view description) {
  if (!data_) return;
  if (data_->status_code == StatusCode::ok) return;  // OK is final, as the spec says
  if (code == StatusCode::unset) return;             // and setting Unset is ignored
  data_->status_code = code;
  if (code == StatusCode::error) {
    data_->status_message.assign(description);  // into the recycled record's storage
  } else {
    data_->status_message.clear();
  }
}

StatusCode Span::status() const noexcept {
  return data_ ? data_->status_code : StatusCode::unset;
}

void Span::end() noexcept {
  if (!data_) return;
  data_->end_time_unix_nano = now_unix_nano();
  tracer_->finish(std::move(data_));
}

Span Tracer::start_span(std::string_view name, SpanKind kind, const SpanContext& parent) const {
  Span span;
  span.tracer_ = this;
  span.context_.trace_id = parent.valid() ? parent.trace_id : ids_.trace_id();
  span.context_.span_id = ids_.span_id();
  span.context_.trace_state = parent.valid() ? parent.trace_state : std::string();
  const bool sampled = sampler_.should_sample(parent, span.context_.trace_id);
  span.context_.flags = sampled ? 1 : 0;
  if (!sampled || !processor_) return span;
  // A record whose export is done, with its storage (a span's usual attributes fit the reserve), or a new
  // one.
  std::unique_ptr<SpanData> data = processor_->acquire(kind);
  data->attributes.prefetch();
  data->trace_id = span.context_.trace_id;
  data->span_id = span.context_.span_id;
  if (parent.valid()) data->parent_span_id = parent.span_id;
  data->trace_state.assign(span.context_.trace_state);
  data->flags = 1;
  data->name.assign(name);
  data->kind = kind;
  data->start_time_unix_nano = now_unix_nano();
  span.data_ = std::move(data);
  return span;
}

void Tracer::finish(std::unique_ptr<SpanData> data) const noexcept {
  if (processor_) processor_->on_end(std::move(data));
}

}  // namespace sy::telemetry
