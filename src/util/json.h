// Small Boost.JSON helpers shared by the API and the adapters.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

namespace sy::json {

// Parse options for request and response bodies: deep enough for real JSON schemas (Boost.JSON's default of
// 32 rejects structured-output schemas), still bounded. The parser keeps its own stack, so depth costs no
// recursion.
boost::json::parse_options parse_options() noexcept;

// Serializes into `out` (cleared first), reusing its capacity.
void serialize_into(const boost::json::value& v, std::string& out);

// The text of an OpenAI message `content`: a string, or the concatenated "text" parts of an array.
std::string content_text(const boost::json::value& content);
// content_text(content).size(), without building the text.
std::size_t content_text_size(const boost::json::value& content) noexcept;

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);

}  // namespace sy::json
