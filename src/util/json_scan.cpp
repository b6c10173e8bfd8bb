#include "util/json_scan.h"

#include <array>
#include <cstdint>

#include "util/swar.h"

namespace sy::json {
namespace {

// The bytes a string holds as they are: printable ASCII but the quote and the backslash.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

constexpr std::ptrdiff_t kMaxExponentDigits = 9;

// A cursor over the text. Every skip_* checks what it passes over and returns false at the first byte it
// cannot vouch for.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void skip_ws() {
    // Compact JSON has none: one test passes the usual case (every byte of JSON's whitespace is below '!').
    if (p_ != end_ && static_cast<unsigned char>(*p_) > ' ') return;
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool at_end() const { return p_ == end_; }
  bool peek(char c) const { return p_ != end_ && *p_ == c; }
  const char* pos() const { return p_; }

  bool consume(char c) {
    if (!peek(c)) return false;
    ++p_;
    return true;
  }

  bool skip_value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return skip_object(depth + 1, nullptr);
      case '[':
        return skip_array(depth + 1, nullptr);
      case '"':
        return skip_string();
      case 't':
        return skip_literal("true");
      case 'f':
        return skip_literal("false");
      case 'n':
        return skip_literal("null");
      default:
        return skip_number();
    }
  }

  // `members`, when given, receives the members of this object (not of nested ones); `nested`, when given,
  // the array member it names (see NestedArray).
  bool skip_object(int depth, std::vector<RawMember>* members, NestedArray* nested = nullptr) {
    if (depth > kMaxScanDepth || !consume('{')) return false;
    skip_ws();
    if (consume('}')) return true;
    for (;;) {
      const char* key_begin = p_ + 1;
      if (!skip_string()) return false;
      const std::string_view key(key_begin, static_cast<std::size_t>(p_ - 1 - key_begin));
      skip_ws();
      if (!consume(':')) return false;
      skip_ws();
      const char* value_begin = p_;
      if (nested && !nested->found && peek('[') && key == nested->key) {
        nested->found = true;
        if (!read_array(depth + 1, *nested)) return false;
      } else if (!skip_value(depth)) {
        return false;
      }
      if (members)
        members->push_back({key, std::string_view(value_begin, static_cast<std::size_t>(p_ - value_begin))});
      skip_ws();
      if (consume('}')) return true;
      if (!consume(',')) return false;
      skip_ws();
    }
  }

  // An array's elements into `nested`, and the members of those that are objects.
  bool read_array(int depth, NestedArray& nested) {
    if (depth > kMaxScanDepth || !consume('[')) return false;
    skip_ws();
    if (consume(']')) return true;
    for (;;) {
      const char* value_begin = p_;
      nested.first_member.push_back(nested.members.size());
      if (peek('{') ? !skip_object(depth + 1, &nested.members) : !skip_value(depth)) return false;
      nested.elements.emplace_back(value_begin, static_cast<std::size_t>(p_ - value_begin));
      skip_ws();
      if (consume(']')) return true;
      if (!consume(',')) return false;
      skip_ws();
    }
  }

  bool skip_array(int depth, std::vector<std::string_view>* elements) {
    if (depth > kMaxScanDepth || !consume('[')) return false;
    skip_ws();
    if (consume(']')) return true;
    for (;;) {
      const char* value_begin = p_;
      if (!skip_value(depth)) return false;
      if (elements) elements->emplace_back(value_begin, static_cast<std::size_t>(p_ - value_begin));
      skip_ws();
      if (consume(']')) return true;
      if (!consume(',')) return false;
      skip_ws();
    }
  }

 private:
  bool skip_literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }

  bool digits() {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != start;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool skip_number() {
    consume('-');
    if (consume('0')) {
      if (p_ != end_ && *p_ >= '0' && *p_ <= '9') return false;
    } else if (!digits()) {
      return false;
    }
    if (consume('.') && !digits()) return false;
    if (peek('e') || peek('E')) {
      ++p_;
      if (!consume('+')) consume('-');
      const char* exponent = p_;
      if (!digits()) return false;
      // Boost.JSON refuses an exponent that overflows its int (with the mantissa's digits counted in):
      // one of more than 9 digits is left to it.
      if (p_ - exponent > kMaxExponentDigits) return false;
    }
    return true;
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // One UTF-8 sequence starting at a byte >= 0x80 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
  bool skip_utf8() {
    const auto b0 = static_cast<unsigned char>(*p_);
    int length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3;
      if (b0 == 0xE0) low = 0xA0;
      if (b0 == 0xED) high = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4;
      if (b0 == 0xF0) low = 0x90;
      if (b0 == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (end_ - p_ < length) return false;
    const auto b1 = static_cast<unsigned char>(p_[1]);
    if (b1 < low || b1 > high) return false;
    for (int i = 2; i < length; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if (b < 0x80 || b > 0xBF) return false;
    }
    p_ += length;
    return true;
  }

  // Passes the bytes a string holds as they are: eight at a time while none of the eight needs a look (a byte
  // below 0x20, a quote, a backslash, or one of UTF-8's), then straight to the first that does; the last
  // few one at a time. (A byte loop to the closing quote was the scan's costliest line: ~1,800 instructions
  // per small answer, and a mispredicted exit per string.)
  void skip_plain() {
    while (end_ - p_ >= 8) {
      const std::uint64_t x = swar::load(p_);
      const std::uint64_t special = swar::bytes_below(x, 0x20) | swar::bytes_equal(x, '"') |
                                    swar::bytes_equal(x, '\\') | (x & swar::kHighs);
      if (special) {
        p_ += swar::first_flagged(special);
        return;
      }
      p_ += 8;
    }
    while (p_ != end_ && kPlain[static_cast<unsigned char>(*p_)]) ++p_;
  }

  bool skip_string() {
    if (!consume('"')) return false;
    for (;;) {
      skip_plain();
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c >= 0x80) {
        if (!skip_utf8()) return false;
        continue;
      }
      if (c != '\\') return false;  // a control character
      ++p_;
      if (p_ == end_) return false;
      const char e = *p_++;
      if (e == 'u') {
        if (end_ - p_ < 4) return false;
        int code = 0;
        for (int i = 0; i < 4; ++i) {
          const int h = hex(p_[i]);
          if (h < 0) return false;
          code = code * 16 + h;
        }
        if (code >= 0xD800 && code <= 0xDFFF) return false;  // surrogates: left to the full parser
        p_ += 4;
      } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
                 e != 't') {
        return false;
      }
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool scan_object(std::string_view text, std::vector<RawMember>& members) {
  members.clear();
  Scanner s(text);
  s.skip_ws();
  if (!s.skip_object(1, &members)) return false;
  s.skip_ws();
  return s.at_end();
}

bool scan_object(std::string_view text, std::vector<RawMember>& members, NestedArray& nested) {
  members.clear();
  nested.found = false;
  nested.elements.clear();
  nested.first_member.clear();
  nested.members.clear();
  Scanner s(text);
  s.skip_ws();
  if (!s.skip_object(1, &members, &nested)) return false;
  s.skip_ws();
  return s.at_end();
}

bool scan_array(std::string_view text, std::vector<std::string_view>& elements) {
  elements.clear();
  Scanner s(text);
  s.skip_ws();
  if (!s.skip_array(1, &elements)) return false;
  s.skip_ws();
  return s.at_end();
}

}  // namespace sy::json
