// Small Boost.JSON helpers shared by the API and the adapters.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

namespace sy::json {

// Serializes into `out` (cleared first), reusing its capacity.
void serialize_into(const boost::json::value& v, std::string& out);

// The text of an OpenAI message `content`: a string, or the concatenated "text" parts of an array.
std::string content_text(const boost::json::value& content);

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);

}  // namespace sy::json
