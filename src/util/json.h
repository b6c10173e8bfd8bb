// Small Boost.JSON helpers shared by the API and the adapters.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse_options.hpp>

namespace sy::json {

// Parse options for request and response bodies: deep enough for real JSON schemas (Boost.JSON's default of
// 32 rejects structured-output schemas), still bounded. The parser keeps its own stack, so depth costs no
// recursion.
boost::json::parse_options parse_options() noexcept;

// Serializes into `out` (cleared first), reusing its capacity, straight into its storage. `size_hint`: the
// expected length (the size of the text a document was parsed from, say), so that a large document is written
// in one pass without regrowing. The object overload serializes in place: an object passed where a value is
// expected would be copied, all of it, into a temporary value first.
void serialize_into(const boost::json::value& v, std::string& out, std::size_t size_hint = 0);
void serialize_into(const boost::json::object& o, std::string& out, std::size_t size_hint = 0);

// Appends `text` as a JSON string, quotes included, escaped as boost::json::serialize escapes it. Text of
// printable ASCII without a quote or a backslash (a model name) is copied as it is, without setting up a
// serializer (~400 instructions).
void append_quoted(std::string& out, std::string_view text);

// The text of an OpenAI message `content`: a string, or the concatenated "text" parts of an array.
std::string content_text(const boost::json::value& content);
// content_text(content).size(), without building the text.
std::size_t content_text_size(const boost::json::value& content) noexcept;

// The memory of one request's parsed body, freed at once when the request ends. A body of up to
// kPooledBodyBytes is parsed into a block of kArenaBlockBytes taken from a per-thread pool and given back
// for the next request (it spills into the heap if the document needs more); a larger one gets an arena of
// twice its size, as before. So a small request makes no allocation of a size that malloc serves from its
// bins and consolidates (about 1% of the CPU of a small request at 64 connections went there).
class RequestArena {
 public:
  static constexpr std::size_t kArenaBlockBytes = 4096;
  static constexpr std::size_t kPooledBodyBytes = kArenaBlockBytes / 2;
  static constexpr std::size_t kPoolLimit = 64;  // blocks kept per thread

  explicit RequestArena(std::size_t body_size);
  ~RequestArena();
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;

  boost::json::monotonic_resource* resource() noexcept { return &*resource_; }

 private:
  std::unique_ptr<unsigned char[]> block_;  // from the pool; null for a large body
  std::optional<boost::json::monotonic_resource> resource_;
};

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);

}  // namespace sy::json
