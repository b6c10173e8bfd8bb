#include "telemetry/span_data.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <ostream>
#include <type_traits>

#include "telemetry/text.h"

namespace sy::telemetry {
namespace {

constexpr char kHex[] = "0123456789abcdef";

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& bytes) {
  std::string out(N * 2, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

template <std::size_t N>
bool parse_hex(std::string_view hex, std::array<std::uint8_t, N>& out) noexcept {
  if (hex.size() != N * 2) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = text::hex_digit(hex[2 * i]), lo = text::hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace

bool is_valid(const TraceId& id) noexcept {
  return std::any_of(id.begin(), id.end(), [](std::uint8_t b) { return b != 0; });
}
bool is_valid(const SpanId& id) noexcept {
  return std::any_of(id.begin(), id.end(), [](std::uint8_t b) { return b != 0; });
}
std::string to_hex(const TraceId& id) {
  return hex_of(id);
}
std::string to_hex(const SpanId& id) {
  return hex_of(id);
}
bool from_hex(std::string_view hex, TraceId& out) noexcept {
  return parse_hex(hex, out);
}
bool from_hex(std::string_view hex, SpanId& out) noexcept {
  return parse_hex(hex, out);
}

void AttributeKey::copy_from(std::string_view key) {
  key = key.substr(0, std::numeric_limits<std::uint32_t>::max());
  if (key.empty()) return;
  char* copy = new char[key.size()];
  std::memcpy(copy, key.data(), key.size());
  data_ = copy;
  size_ = static_cast<std::uint32_t>(key.size());
  owned_ = true;
  bucket_ = key_bucket(key);
}

std::ostream& operator<<(std::ostream& out, const AttributeKey& key) {
  return out << key.view();
}

namespace {

// What a recycled span record may keep; past these it gives its storage back (one span with a huge prompt or
// hundreds of attributes must not make every record in the pool that big).
constexpr std::size_t kKeepTextBytes = 1024;
constexpr std::size_t kKeepAttributes = 64;
constexpr std::size_t kKeepAttributeBytes = 4096;  // the heap storage of the kept attribute values, in all
constexpr std::size_t kKeepEvents = 8;
constexpr std::size_t kKeepLinks = 8;

void clear_text(std::string& s) noexcept {
  if (s.capacity() > kKeepTextBytes) {
    std::string().swap(s);
  } else {
    s.clear();
  }
}

template <class T>
void clear_list(std::vector<T>& v, std::size_t keep) noexcept {
  if (v.capacity() > keep) {
    std::vector<T>().swap(v);
  } else {
    v.clear();
  }
}

// Heap bytes `v` holds (0 for a value kept in place).
std::size_t heap_bytes(const AttributeValue& v) noexcept {
  return std::visit(
      [](const auto& x) -> std::size_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return x.capacity() > kStringInPlace ? x.capacity() + 1 : 0;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::size_t n = x.capacity() * sizeof(std::string);
          for (const std::string& s : x) n += s.capacity() > kStringInPlace ? s.capacity() + 1 : 0;
          return n;
        } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
          return x.capacity() / 8;
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                             std::is_same_v<T, double>) {
          return 0;
        } else {
          return x.capacity() * sizeof(typename T::value_type);
        }
      },
      v);
}

// Whether a value of alternative `kind` needing `size` fits in `v` without allocating (a number: whether it
// would throw away no storage).
bool has_room(const AttributeValue& v, std::size_t kind, std::size_t size) noexcept {
  if (kind == 0) {
    const auto* s = std::get_if<std::string>(&v);
    return s != nullptr && s->capacity() >= size;
  }
  if (kind == 4) {
    const auto* l = std::get_if<std::vector<std::string>>(&v);
    return l != nullptr && l->capacity() >= size;
  }
  return heap_bytes(v) == 0;
}

}  // namespace

Attribute& AttributeList::next_slot_for(std::size_t kind, std::size_t size) noexcept {
  const bool any = kind == 0 && size <= kStringInPlace;  // a short string fits anywhere
  if (!any && size_ < slots_.size() && !has_room(slots_[size_].value, kind, size)) {
    for (std::size_t i = size_ + 1; i < slots_.size(); ++i) {
      if (has_room(slots_[i].value, kind, size)) {
        std::swap(slots_[size_], slots_[i]);
        break;
      }
    }
  }
  return append();
}

void AttributeList::prefetch() const noexcept {
  const char* p = reinterpret_cast<const char*>(slots_.data());
  const char* const end = p + slots_.size() * sizeof(Attribute);
  for (; p < end; p += 64) __builtin_prefetch(p, 1);
}

void AttributeList::clear_for_reuse(std::size_t keep_slots, std::size_t keep_value_bytes,
                                    std::size_t keep_total_bytes) noexcept {
  size_ = 0;
  if (slots_.capacity() > keep_slots) {
    std::vector<Attribute>().swap(slots_);
    grown_ = false;
    return;
  }
  if (!grown_) return;
  grown_ = false;
  std::size_t kept = 0;
  for (Attribute& a : slots_) {
    if (a.key.owned()) a.key = AttributeKey();  // keys are nearly always literals; an owned one goes
    const std::size_t n = heap_bytes(a.value);
    if (n == 0) continue;
    if (n > keep_value_bytes || kept + n > keep_total_bytes) {
      a.value.emplace<std::int64_t>(0);  // frees it
    } else {
      kept += n;
    }
  }
}

void clear_for_reuse(SpanData& span) noexcept {
  span.trace_id = {};
  span.span_id = {};
  span.parent_span_id = {};
  clear_text(span.trace_state);
  span.flags = 1;
  clear_text(span.name);
  span.kind = SpanKind::internal;
  span.start_time_unix_nano = 0;
  span.end_time_unix_nano = 0;
  span.attributes.clear_for_reuse(kKeepAttributes, kKeepTextBytes, kKeepAttributeBytes);
  clear_list(span.events, kKeepEvents);
  clear_list(span.links, kKeepLinks);
  span.status_code = StatusCode::unset;
  clear_text(span.status_message);
  span.dropped_attributes_count = 0;
  span.dropped_events_count = 0;
  span.dropped_links_count = 0;
}

}  // namespace sy::telemetry
