// The protobuf wire format as the OTLP code writes and reads it, without libprotobuf: tags, varints, the
// sizes of length-delimited fields, an attribute (common.v1.KeyValue holding an AnyValue) sized and written
// in one go, and a reader of fields. Shared by the span records, which keep their attributes encoded, and the
// encoders.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "telemetry/encode_buffer.h"

namespace sy::telemetry::wire {

enum class Wire : std::uint32_t { varint = 0, i64 = 1, len = 2, i32 = 5 };

constexpr std::uint32_t tag(std::uint32_t field, Wire wire) noexcept {
  return (field << 3) | static_cast<std::uint32_t>(wire);
}
constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  // Nearly every length is below 128: one compare instead of a bit scan and a division.
  return v < 0x80 ? 1 : (static_cast<std::size_t>(std::bit_width(v)) + 6) / 7;
}
// A length-delimited field of `n` bytes whose tag is one byte (field numbers up to 15).
constexpr std::size_t len_field_size(std::size_t n) noexcept {
  return 1 + varint_size(n) + n;
}
constexpr std::size_t kMaxTag = 2;  // field numbers up to 2047
constexpr std::size_t kMaxVarint = 10;

inline char* put_varint(char* p, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

static_assert(std::endian::native == std::endian::little,
              "fixed-size fields are copied as they are in memory");

template <class U>
char* put_little_endian(char* p, U v) noexcept {
  std::memcpy(p, &v, sizeof(U));
  return p + sizeof(U);
}

// Copies `n` bytes; up to 32 (nearly every key and short value) as a few overlapping word moves instead of a
// call to memcpy.
inline void copy_bytes(char* to, const char* from, std::size_t n) noexcept {
  if (n >= 8 && n <= 32) {
    std::uint64_t head[2], tail[2];
    const std::size_t half = n > 16 ? 16 : 8;  // the first and the last `half` bytes cover all n
    std::memcpy(head, from, 8);
    std::memcpy(tail, from + n - 8, 8);
    if (half == 16) {
      std::memcpy(head + 1, from + 8, 8);
      std::memcpy(tail + 1, from + n - 16, 8);
      std::memcpy(to + 8, head + 1, 8);
      std::memcpy(to + n - 16, tail + 1, 8);
    }
    std::memcpy(to, head, 8);
    std::memcpy(to + n - 8, tail, 8);
    return;
  }
  if (n > 0) std::memcpy(to, from, n);
}

// A length-delimited field with a one-byte tag: its tag, length and bytes.
inline char* put_len_field(char* p, std::uint32_t field, const void* data, std::size_t n) noexcept {
  *p++ = static_cast<char>(tag(field, Wire::len));
  p = put_varint(p, n);
  copy_bytes(p, static_cast<const char*>(data), n);
  return p + n;
}

// Reads a varint at `p`, moving `p` past it; false when it is cut short or longer than ten bytes.
inline bool read_varint(const char*& p, const char* end, std::uint64_t& out) noexcept {
  out = 0;
  for (int shift = 0; shift < 64 && p != end; shift += 7) {
    const auto byte = static_cast<std::uint8_t>(*p++);
    out |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// ---- attributes: common.v1.KeyValue and AnyValue ----

namespace key_value_field {
constexpr std::uint32_t key = 1, value = 2;
}
namespace any_value_field {  // a oneof: the set member is written even when it is a default
constexpr std::uint32_t string_value = 1, bool_value = 2, int_value = 3, double_value = 4, array_value = 5;
}
namespace array_value_field {
constexpr std::uint32_t values = 1;
}

// A list value (std::vector of strings, bools, integers or doubles): anything with elements that is not text.
template <class T>
concept ValueList = requires(const T& t) {
  typename T::value_type;
  t.begin();
}
&&!std::is_convertible_v<const T&, std::string_view>;

// The bytes inside an AnyValue holding the value.
constexpr std::size_t value_size(std::string_view v) noexcept {
  return len_field_size(v.size());
}
constexpr std::size_t value_size(bool) noexcept {
  return 2;
}
constexpr std::size_t value_size(std::int64_t v) noexcept {
  return 1 + varint_size(static_cast<std::uint64_t>(v));
}
constexpr std::size_t value_size(double) noexcept {
  return 9;
}
// An ArrayValue of the elements, each an AnyValue.
template <ValueList L>
std::size_t array_size(const L& list) noexcept {
  std::size_t n = 0;
  for (const auto& element : list) {
    n += len_field_size(value_size(static_cast<const typename L::value_type&>(element)));
  }
  return n;
}
template <ValueList L>
std::size_t value_size(const L& list) noexcept {
  return len_field_size(array_size(list));
}

inline char* put_value(char* p, std::string_view v) noexcept {
  return put_len_field(p, any_value_field::string_value, v.data(), v.size());
}
inline char* put_value(char* p, bool v) noexcept {
  *p++ = static_cast<char>(tag(any_value_field::bool_value, Wire::varint));
  *p++ = v ? 1 : 0;
  return p;
}
inline char* put_value(char* p, std::int64_t v) noexcept {
  *p++ = static_cast<char>(tag(any_value_field::int_value, Wire::varint));
  return put_varint(p, static_cast<std::uint64_t>(v));
}
inline char* put_value(char* p, double v) noexcept {
  *p++ = static_cast<char>(tag(any_value_field::double_value, Wire::i64));
  return put_little_endian(p, std::bit_cast<std::uint64_t>(v));
}
template <ValueList L>
char* put_value(char* p, const L& list) noexcept {
  using E = typename L::value_type;
  *p++ = static_cast<char>(tag(any_value_field::array_value, Wire::len));
  p = put_varint(p, array_size(list));
  for (const auto& element : list) {
    const E& e = element;
    *p++ = static_cast<char>(tag(array_value_field::values, Wire::len));
    p = put_varint(p, value_size(e));
    p = put_value(p, e);
  }
  return p;
}

// Appends an attribute to `out` as the length-delimited field `field` (a one-byte tag) of its message: a
// KeyValue holding the key (left out when empty, as proto3 leaves out a default) and an AnyValue of `value`.
// A short attribute, as nearly all are, has one-byte lengths and is written without sizing each.
template <class V>
void append_attribute(EncodeBuffer& out, std::uint32_t field, std::string_view key, const V& value) {
  constexpr std::size_t kShortBytes = 121;  // a key and AnyValue this long: a KeyValue under 128 bytes
  const std::size_t value_bytes = value_size(value);
  if (!key.empty() && key.size() + value_bytes <= kShortBytes) {
    // [tag][KeyValue length][key tag][key length][key][value tag][AnyValue length][AnyValue]
    const std::size_t n = key.size() + value_bytes + 6;
    char* p = out.prepare(n);
    p[0] = static_cast<char>(tag(field, Wire::len));
    p[1] = static_cast<char>(n - 2);
    p[2] = static_cast<char>(tag(key_value_field::key, Wire::len));
    p[3] = static_cast<char>(key.size());
    copy_bytes(p + 4, key.data(), key.size());
    p += 4 + key.size();
    p[0] = static_cast<char>(tag(key_value_field::value, Wire::len));
    p[1] = static_cast<char>(value_bytes);
    put_value(p + 2, value);
    out.commit(n);
    return;
  }
  const std::size_t key_value_bytes =
      (key.empty() ? 0 : len_field_size(key.size())) + len_field_size(value_bytes);
  const std::size_t n = len_field_size(key_value_bytes);
  char* p = out.prepare(n);
  *p++ = static_cast<char>(tag(field, Wire::len));
  p = put_varint(p, key_value_bytes);
  if (!key.empty()) p = put_len_field(p, key_value_field::key, key.data(), key.size());
  *p++ = static_cast<char>(tag(key_value_field::value, Wire::len));
  p = put_varint(p, value_bytes);
  put_value(p, value);
  out.commit(n);
}

// Reads protobuf fields one at a time; any malformed input (truncated, overlong varint, groups) ends it.
class Reader {
 public:
  explicit Reader(std::string_view bytes) noexcept : p_(bytes.data()), end_(p_ + bytes.size()) {}

  // The next field's number and wire type, its value in `number` (a varint, or the bits of a fixed64 or
  // fixed32) or `bytes` (a length-delimited field); false at the end or on bad input (then `ok()` is false
  // too).
  bool next(std::uint32_t& field, Wire& wire, std::uint64_t& number, std::string_view& bytes) noexcept {
    if (p_ == end_) return false;
    std::uint64_t t = 0;
    if (!read_varint(p_, end_, t) || (t >> 3) == 0 || (t >> 3) > 0x1fffffffu) return bad();
    field = static_cast<std::uint32_t>(t >> 3);
    wire = static_cast<Wire>(t & 7);
    switch (wire) {
      case Wire::varint:
        return read_varint(p_, end_, number) || bad();
      case Wire::i64:
        return fixed(8, number);
      case Wire::i32:
        return fixed(4, number);
      case Wire::len: {
        std::uint64_t n = 0;
        if (!read_varint(p_, end_, n) || n > static_cast<std::uint64_t>(end_ - p_)) return bad();
        bytes = std::string_view(p_, static_cast<std::size_t>(n));
        p_ += n;
        return true;
      }
    }
    return bad();  // groups (3, 4) and the unused wire types 6 and 7
  }
  bool ok() const noexcept { return ok_; }

 private:
  bool fixed(std::size_t n, std::uint64_t& out) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < n) return bad();
    out = 0;
    for (std::size_t i = 0; i < n; ++i) out |= std::uint64_t{static_cast<std::uint8_t>(p_[i])} << (8 * i);
    p_ += n;
    return true;
  }
  bool bad() noexcept {
    ok_ = false;
    p_ = end_;
    return false;
  }

  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// Calls f(field, type, number, bytes) for each field of `message`, as Reader::next gives them; false when the
// message ends in bytes that are not a field.
template <class F>
bool for_each_field(std::string_view message, F&& f) {
  Reader r(message);
  std::uint32_t field = 0;
  Wire type{};
  std::uint64_t number = 0;
  std::string_view bytes;
  while (r.next(field, type, number, bytes)) f(field, type, number, bytes);
  return r.ok();
}

}  // namespace sy::telemetry::wire
