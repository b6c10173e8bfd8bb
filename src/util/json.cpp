#include "util/json.h"

#include <algorithm>
#include <vector>

#include <boost/json.hpp>

namespace sy::json {
namespace {

using Block = std::unique_ptr<unsigned char[]>;

std::vector<Block>& arena_pool() {
  thread_local std::vector<Block> pool = [] {
    std::vector<Block> p;
    p.reserve(RequestArena::kPoolLimit);
    return p;
  }();
  return pool;
}

}  // namespace

RequestArena::RequestArena(std::size_t body_size) {
  if (body_size > kPooledBodyBytes) {
    resource_.emplace(std::max<std::size_t>(1024, body_size * 2));
    return;
  }
  std::vector<Block>& pool = arena_pool();
  if (pool.empty()) {
    block_.reset(new unsigned char[kArenaBlockBytes]);
  } else {
    block_ = std::move(pool.back());
    pool.pop_back();
  }
  resource_.emplace(block_.get(), kArenaBlockBytes);
}

RequestArena::~RequestArena() {
  resource_.reset();  // frees what spilled over the block
  if (!block_) return;
  std::vector<Block>& pool = arena_pool();
  if (pool.size() < kPoolLimit) pool.push_back(std::move(block_));
}

boost::json::parse_options parse_options() noexcept {
  boost::json::parse_options opt;
  opt.max_depth = 512;
  return opt;
}

namespace {

// Runs a reset serializer into `out`'s own storage, sized up front and cut to what was written. Not through a
// small buffer appended to `out`: boost::json copies a string value with a tight loop only when the whole
// value fits in the room it is given, and byte by byte otherwise (a 1 MB message: 0.7 ms against 0.04 ms).
// The zero fill of resize is the price, far below that.
void serialize_with(boost::json::serializer& sr, std::string& out, std::size_t size_hint) {
  constexpr std::size_t kMinRoom = 64;
  constexpr std::size_t kFirstSize = 512;
  out.clear();
  std::size_t used = 0;
  while (!sr.done()) {
    // Grown by steps, not to the capacity at once: a string that once held a large document would otherwise
    // zero all of it for each small one.
    if (out.size() - used < kMinRoom) {
      out.resize(std::max({out.size() * 2, size_hint + size_hint / 8 + kMinRoom, kFirstSize}));
    }
    used += sr.read(out.data() + used, out.size() - used).size();
  }
  out.resize(used);
}

}  // namespace

void serialize_into(const boost::json::value& v, std::string& out, std::size_t size_hint) {
  boost::json::serializer sr;
  sr.reset(&v);
  serialize_with(sr, out, size_hint);
}

void serialize_into(const boost::json::object& o, std::string& out, std::size_t size_hint) {
  boost::json::serializer sr;
  sr.reset(&o);
  serialize_with(sr, out, size_hint);
}

void append_quoted(std::string& out, std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
    return;
  }
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  out += text;
  out += '"';
}

std::string content_text(const boost::json::value& content) {
  if (const auto* s = content.if_string()) return std::string(*s);
  std::string out;
  if (const auto* parts = content.if_array()) {
    for (const auto& part : *parts) {
      const auto* obj = part.if_object();
      if (!obj) continue;
      if (const auto* text = obj->if_contains("text"); text && text->is_string()) {
        if (!out.empty()) out.push_back('\n');
        out.append(text->get_string());
      }
    }
  }
  return out;
}

std::size_t content_text_size(const boost::json::value& content) noexcept {
  if (const auto* s = content.if_string()) return s->size();
  std::size_t size = 0;
  if (const auto* parts = content.if_array()) {
    for (const auto& part : *parts) {
      const auto* obj = part.if_object();
      if (!obj) continue;
      if (const auto* text = obj->if_contains("text"); text && text->is_string()) {
        if (size > 0) ++size;  // the '\n' content_text puts between texts once it has some
        size += text->get_string().size();
      }
    }
  }
  return size;
}

std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace sy::json
