// Reads the structure of JSON text without building a document: the members of an object and the elements of
// an array, as views into the text, after checking that the text is well-formed. For hot paths that look at a
// few top-level fields of a document and pass the rest on as it is (the chunks of an OpenAI stream).
#pragma once

#include <string_view>
#include <vector>

namespace sy::json {

// A member of an object as it stands in the text.
struct RawMember {
  std::string_view key;    // between its quotes, escapes not decoded
  std::string_view value;  // the whole value: a string keeps its quotes, an object its braces
};

// Both functions return false when they cannot vouch for the text: it is not one well-formed JSON value of
// the asked kind (RFC 8259; whitespace around it allowed), or it uses what this scanner leaves to a full
// parser (nesting deeper than kMaxScanDepth, a \u escape of a surrogate). A caller then falls back to a
// parser.
inline constexpr int kMaxScanDepth = 64;

// The members of the object `text`, in order (a repeated key appears twice).
bool scan_object(std::string_view text, std::vector<RawMember>& members);
// The elements of the array `text`, in order.
bool scan_array(std::string_view text, std::vector<std::string_view>& elements);

}  // namespace sy::json
