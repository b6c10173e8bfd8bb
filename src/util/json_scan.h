// Reads the structure of JSON text without building a document: the members of an object and the elements of
// an array, as views into the text, after checking that the text is well-formed. For hot paths that look at a
// few top-level fields of a document and pass the rest on as it is (the chunks of an OpenAI stream).
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::json {

// A member of an object as it stands in the text.
struct RawMember {
  std::string_view key;    // between its quotes, escapes not decoded
  std::string_view value;  // the whole value: a string keeps its quotes, an object its braces
};

// Both functions return false when they cannot vouch for the text: it is not one well-formed JSON value of
// the asked kind (RFC 8259; whitespace around it allowed), or it uses what this scanner leaves to a full
// parser (nesting deeper than kMaxScanDepth, a \u escape of a surrogate, an exponent of more than 9 digits,
// which the parser may refuse as an overflow). A caller then falls back to a parser.
inline constexpr int kMaxScanDepth = 64;

// The members of the object `text`, in order (a repeated key appears twice).
bool scan_object(std::string_view text, std::vector<RawMember>& members);

// An array member of an object, read in the same pass as the object: its elements, and the members of those
// that are objects. Saves a second and a third walk over text already checked (an OpenAI answer's `choices`,
// whose message content would otherwise be walked three times).
struct NestedArray {
  explicit NestedArray(std::string_view member_key) noexcept : key(member_key) {}

  std::string_view key;                    // the member to read: its first occurrence, when an array
  bool found = false;                      // such a member was read
  std::vector<std::string_view> elements;  // each element's whole text
  std::vector<std::size_t> first_member;   // per element, where its members begin in `members`
  std::vector<RawMember> members;  // the members of the elements that are objects, element after element
  // The members of element `i` (none unless it is an object).
  std::pair<std::size_t, std::size_t> members_of(std::size_t i) const noexcept {
    return {first_member[i], i + 1 < first_member.size() ? first_member[i + 1] : members.size()};
  }
};

// As scan_object, also reading nested.key's array into `nested` (its key compared as it stands in the text).
bool scan_object(std::string_view text, std::vector<RawMember>& members, NestedArray& nested);
// The elements of the array `text`, in order.
bool scan_array(std::string_view text, std::vector<std::string_view>& elements);

}  // namespace sy::json
