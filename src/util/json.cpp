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

void serialize_into(const boost::json::value& v, std::string& out) {
  out.clear();
  boost::json::serializer sr;
  sr.reset(&v);
  char buf[4096];
  while (!sr.done()) out.append(sr.read(buf));
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
