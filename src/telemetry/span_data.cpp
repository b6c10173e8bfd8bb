#include "telemetry/span_data.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
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
constexpr std::size_t kKeepAttributeBytes = 4096;  // encoded: some 80 usual attributes
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

// The value of an AnyValue: a list takes its type from its first element (an empty one, which OTLP gives no
// type, reads as a list of strings). Types the gateway does not write (bytes, key-value lists) read as an
// empty string.
AttributeValue decode_any_value(std::string_view bytes);

// The elements of an ArrayValue, each as an E (one of another type reads as E's default).
template <class E>
std::vector<E> decode_list(std::string_view array_value) {
  std::vector<E> out;
  wire::for_each_field(array_value,
                       [&](std::uint32_t field, wire::Wire type, std::uint64_t, std::string_view v) {
                         if (field != wire::array_value_field::values || type != wire::Wire::len) return;
                         const AttributeValue element = decode_any_value(v);
                         const E* e = std::get_if<E>(&element);
                         out.push_back(e ? *e : E{});
                       });
  return out;
}

AttributeValue decode_array(std::string_view array_value) {
  std::optional<std::size_t> kind;  // the first element's
  wire::for_each_field(array_value,
                       [&](std::uint32_t field, wire::Wire type, std::uint64_t, std::string_view v) {
                         if (!kind && field == wire::array_value_field::values && type == wire::Wire::len) {
                           kind = decode_any_value(v).index();
                         }
                       });
  switch (kind.value_or(0)) {
    case 1:
      return decode_list<bool>(array_value);
    case 2:
      return decode_list<std::int64_t>(array_value);
    case 3:
      return decode_list<double>(array_value);
    default:
      return decode_list<std::string>(array_value);
  }
}

AttributeValue decode_any_value(std::string_view bytes) {
  AttributeValue value{std::string()};
  wire::for_each_field(bytes,
                       [&](std::uint32_t field, wire::Wire type, std::uint64_t number, std::string_view v) {
                         namespace f = wire::any_value_field;
                         if (field == f::string_value && type == wire::Wire::len) value = std::string(v);
                         if (field == f::bool_value && type == wire::Wire::varint) value = number != 0;
                         if (field == f::int_value && type == wire::Wire::varint)
                           value = static_cast<std::int64_t>(number);
                         if (field == f::double_value && type == wire::Wire::i64)
                           value = std::bit_cast<double>(number);
                         if (field == f::array_value && type == wire::Wire::len) value = decode_array(v);
                       });
  return value;
}

// One attribute of the list: its key, its KeyValue's bytes, and where the next attribute starts.
struct Entry {
  std::string_view key;
  std::string_view key_value;
  const char* next = nullptr;
};

// The attribute starting at `p`; false on bytes that are not one (which the list never holds).
bool read_entry(const char* p, const char* end, Entry& e) noexcept {
  std::uint64_t length = 0;
  if (p == end || static_cast<unsigned char>(*p) != wire::tag(AttributeList::kField, wire::Wire::len)) {
    return false;
  }
  ++p;
  if (!wire::read_varint(p, end, length) || length > static_cast<std::uint64_t>(end - p)) return false;
  e.next = p + length;
  e.key_value = std::string_view(p, static_cast<std::size_t>(length));
  e.key = {};
  if (p != e.next &&
      static_cast<unsigned char>(*p) == wire::tag(wire::key_value_field::key, wire::Wire::len)) {
    const char* k = p + 1;
    std::uint64_t key_length = 0;
    if (!wire::read_varint(k, e.next, key_length) || key_length > static_cast<std::uint64_t>(e.next - k)) {
      return false;
    }
    e.key = std::string_view(k, static_cast<std::size_t>(key_length));
  }
  return true;
}

}  // namespace

void append_attribute(EncodeBuffer& out, std::uint32_t field, const Attribute& a) {
  std::visit(
      [&](const auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
          wire::append_attribute(out, field, a.key.view(), std::string_view(v));
        } else {
          wire::append_attribute(out, field, a.key.view(), v);
        }
      },
      a.value);
}

void AttributeList::push_back(const Attribute& attribute) {
  last_ = bytes_.size();
  append_attribute(bytes_, kField, attribute);
  ++count_;
  decoded_current_ = false;
}

std::size_t AttributeList::erase(std::string_view key) noexcept {
  // Rare: only for a key whose buckets an earlier key of the span took (see key_bucket).
  const char* const begin = bytes_.data();
  const char* const end = begin + bytes_.size();
  Entry e;
  for (const char* p = begin; p != end && read_entry(p, end, e); p = e.next) {
    if (e.key == key) {
      const auto offset = static_cast<std::size_t>(p - begin);
      bytes_.erase(offset, static_cast<std::size_t>(e.next - p));
      --count_;
      decoded_current_ = false;
      return offset;
    }
  }
  return npos;
}

void AttributeList::move_last_to(std::size_t offset) noexcept {
  char* const data = bytes_.data();
  std::rotate(data + offset, data + last_, data + bytes_.size());
  decoded_current_ = false;
}

void AttributeList::prefetch() const noexcept {
  // The first lines only: the writes go in order from there, which the hardware's prefetcher follows.
  const char* p = bytes_.data();
  if (p == nullptr) return;
  const char* const end = p + std::min<std::size_t>(bytes_.capacity(), kPrefetchBytes);
  for (; p < end; p += 64) __builtin_prefetch(p, 1);
}

void AttributeList::clear_for_reuse(std::size_t keep_bytes) noexcept {
  clear();
  if (bytes_.capacity() > keep_bytes) bytes_.release();
  if (decoded_.capacity() > kKeepDecoded) std::vector<Attribute>().swap(decoded_);
}

const std::vector<Attribute>& AttributeList::decoded() const {
  if (decoded_current_) return decoded_;
  decoded_.clear();
  decoded_.reserve(count_);
  const char* const end = bytes_.data() + bytes_.size();
  Entry e;
  for (const char* p = bytes_.data(); p != end && read_entry(p, end, e); p = e.next) {
    Attribute& a = decoded_.emplace_back(Attribute{AttributeKey(e.key), std::string()});
    wire::for_each_field(e.key_value,
                         [&](std::uint32_t field, wire::Wire type, std::uint64_t, std::string_view v) {
                           if (field == wire::key_value_field::value && type == wire::Wire::len)
                             a.value = decode_any_value(v);
                         });
  }
  decoded_current_ = true;
  return decoded_;
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
  span.attributes.clear_for_reuse(kKeepAttributeBytes);
  clear_list(span.events, kKeepEvents);
  clear_list(span.links, kKeepLinks);
  span.status_code = StatusCode::unset;
  clear_text(span.status_message);
  span.dropped_attributes_count = 0;
  span.dropped_events_count = 0;
  span.dropped_links_count = 0;
}

}  // namespace sy::telemetry
