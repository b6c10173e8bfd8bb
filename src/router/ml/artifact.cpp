#include "router/ml/artifact.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include <openssl/evp.h>

namespace sy::router::ml {
namespace {

constexpr char kMagic[8] = {'S', 'Y', 'R', 'A', '\r', '\n', '\x1a', '\n'};
constexpr std::uint32_t kMaxSections = 64;
constexpr std::uint32_t kMaxModels = 4096;

std::uint64_t load_le(const std::byte* p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

Error corrupt(std::string message) {
  return Error{400, "invalid_request_error", "invalid routing artifact: " + message, {}, {}, {}};
}

std::string hex(std::span<const std::byte> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::byte b : bytes) {
    out.push_back(kHex[static_cast<unsigned>(b) >> 4]);
    out.push_back(kHex[static_cast<unsigned>(b) & 15]);
  }
  return out;
}

}  // namespace

// ---- ByteWriter ----

void ByteWriter::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void ByteWriter::u64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void ByteWriter::f32(float v) {
  u32(std::bit_cast<std::uint32_t>(v));
}
void ByteWriter::f64(double v) {
  u64(std::bit_cast<std::uint64_t>(v));
}
void ByteWriter::str(std::string_view s) {
  u32(static_cast<std::uint32_t>(s.size()));
  out_.append(s);
}
void ByteWriter::f32s(std::span<const float> v) {
  for (float x : v) f32(x);
}
void ByteWriter::u32s(std::span<const std::uint32_t> v) {
  for (std::uint32_t x : v) u32(x);
}

// ---- ByteReader ----

bool ByteReader::need(std::size_t n) {
  if (!ok()) return false;
  if (n <= bytes_.size() - pos_) return true;
  error_ = std::string(what_) + ": truncated at byte " + std::to_string(pos_) + " (needs " +
           std::to_string(n) + " bytes, " + std::to_string(bytes_.size() - pos_) + " left)";
  return false;
}

void ByteReader::fail(std::string_view message) {
  if (ok()) error_ = std::string(what_) + " at byte " + std::to_string(pos_) + ": " + std::string(message);
}

std::uint32_t ByteReader::u32() {
  if (!need(4)) return 0;
  pos_ += 4;
  return static_cast<std::uint32_t>(load_le(bytes_.data() + pos_ - 4, 4));
}

std::span<const std::byte> ByteReader::take(std::size_t n) {
  if (!need(n)) return {};
  pos_ += n;
  return bytes_.subspan(pos_ - n, n);
}

std::uint64_t ByteReader::u64() {
  if (!need(8)) return 0;
  pos_ += 8;
  return load_le(bytes_.data() + pos_ - 8, 8);
}

float ByteReader::f32() {
  const float v = std::bit_cast<float>(u32());
  if (!std::isfinite(v)) fail("not a finite number");
  return ok() ? v : 0.0f;
}

double ByteReader::f64() {
  const double v = std::bit_cast<double>(u64());
  if (!std::isfinite(v)) fail("not a finite number");
  return ok() ? v : 0.0;
}

std::string ByteReader::str(std::size_t max_size) {
  const std::uint32_t n = u32();
  if (n > max_size)
    fail("string of " + std::to_string(n) + " bytes (at most " + std::to_string(max_size) + ")");
  if (!need(n)) return {};
  std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
  pos_ += n;
  return s;
}

std::uint32_t ByteReader::count(std::uint32_t max, std::size_t min_item_bytes) {
  const std::uint32_t n = u32();
  if (!ok()) return 0;
  if (n > max) {
    fail("count " + std::to_string(n) + " exceeds " + std::to_string(max));
    return 0;
  }
  if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
    fail("count " + std::to_string(n) + " does not fit in the " + std::to_string(remaining()) +
         " bytes left");
    return 0;
  }
  return n;
}

void ByteReader::f32s(std::size_t n, std::vector<float>& out) {
  out.clear();
  if (n > remaining() / 4) {
    need(n > SIZE_MAX / 4 ? SIZE_MAX : n * 4);
    return;
  }
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(load_le(bytes_.data() + pos_ + 4 * i, 4)));
    if (!std::isfinite(out[i])) {
      pos_ += 4 * i;
      fail("not a finite number");
      out.clear();
      return;
    }
  }
  pos_ += 4 * n;
}

void ByteReader::u32s(std::size_t n, std::vector<std::uint32_t>& out) {
  out.clear();
  if (n > remaining() / 4) {
    need(n > SIZE_MAX / 4 ? SIZE_MAX : n * 4);
    return;
  }
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::uint32_t>(load_le(bytes_.data() + pos_ + 4 * i, 4));
  pos_ += 4 * n;
}

// ---- artifact ----

std::string sha256_hex(std::span<const std::byte> bytes) {
  std::byte digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(digest), &size, EVP_sha256(),
             nullptr);
  return hex({digest, size});
}

const SectionView* Artifact::find(std::string_view tag) const noexcept {
  for (const auto& s : sections) {
    if (std::string_view(s.tag.data(), 4) == tag) return &s;
  }
  return nullptr;
}

std::string write_artifact(const ArtifactHeader& header, std::span<const SectionData> sections) {
  ByteWriter head;
  head.str(header.strategy);
  head.u64(header.created_at);
  head.u64(header.seed);
  head.u64(header.train_rows);
  head.str(header.data_digest);
  head.u32(static_cast<std::uint32_t>(header.models.size()));
  for (const auto& m : header.models) {
    head.str(m.name);
    head.f64(m.size_b);
    head.f64(m.input_price);
    head.f64(m.output_price);
  }

  ByteWriter body;
  auto add = [&body](std::string_view tag, std::string_view bytes) {
    body.bytes().append(tag.substr(0, 4));
    body.u64(bytes.size());
    body.bytes().append(bytes);
  };
  add("HEAD", head.bytes());
  for (const auto& s : sections) add(s.tag, s.bytes);

  const bool embedded =
      std::any_of(sections.begin(), sections.end(), [](const SectionData& s) { return s.tag == "EMBD"; });
  ByteWriter out;
  out.bytes().append(kMagic, sizeof kMagic);
  out.u32(embedded ? kArtifactVersionEmbeddings : kArtifactVersion);
  out.u32(static_cast<std::uint32_t>(sections.size() + 1));
  out.u64(body.bytes().size());
  out.bytes().append(body.bytes());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(out.bytes().data(), out.bytes().size(), digest, &size, EVP_sha256(), nullptr);
  out.bytes().append(reinterpret_cast<const char*>(digest), size);
  return std::move(out.bytes());
}

Result<Artifact> parse_artifact(std::span<const std::byte> bytes) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return corrupt("not an artifact file (bad magic)");
  if (bytes.size() < kArtifactPreamble) return corrupt("truncated in its preamble");
  const auto version = static_cast<std::uint32_t>(load_le(bytes.data() + 8, 4));
  if (version < kArtifactVersion || version > kArtifactVersionEmbeddings)
    return corrupt("unsupported format version " + std::to_string(version) + " (this build reads versions " +
                   std::to_string(kArtifactVersion) + " to " + std::to_string(kArtifactVersionEmbeddings) +
                   ")");
  const auto section_count = static_cast<std::uint32_t>(load_le(bytes.data() + 12, 4));
  const std::uint64_t body_size = load_le(bytes.data() + 16, 8);
  const std::size_t available = bytes.size() - kArtifactPreamble;
  if (body_size > available || available - body_size < kChecksumBytes)
    return corrupt(
        "truncated: the file has " + std::to_string(bytes.size()) + " bytes, its preamble announces " +
        (body_size > available ? "more" : std::to_string(body_size + kArtifactPreamble + kChecksumBytes)));
  if (available - body_size > kChecksumBytes) return corrupt("trailing bytes after the checksum");
  const std::size_t content = kArtifactPreamble + body_size;
  Artifact artifact;
  artifact.version = version;
  artifact.checksum = sha256_hex(bytes.first(content));
  if (hex(bytes.subspan(content, kChecksumBytes)) != artifact.checksum)
    return corrupt("checksum mismatch (the file is corrupt)");
  if (section_count == 0 || section_count > kMaxSections)
    return corrupt("section count " + std::to_string(section_count) + " out of range");

  ByteReader body(bytes.subspan(kArtifactPreamble, body_size), "artifact body");
  for (std::uint32_t i = 0; i < section_count; ++i) {
    SectionView s;
    const std::span<const std::byte> tag = body.take(4);
    const std::uint64_t size = body.u64();
    if (size > body.remaining()) body.fail("section " + std::to_string(i) + " overruns the body");
    s.bytes = body.take(static_cast<std::size_t>(size));
    if (!body.ok()) return corrupt(body.error());
    std::memcpy(s.tag.data(), tag.data(), 4);
    artifact.sections.push_back(s);
  }
  if (!body.at_end()) return corrupt("bytes after the last section");
  if (std::string_view(artifact.sections[0].tag.data(), 4) != "HEAD")
    return corrupt("the first section is not HEAD");

  ArtifactHeader& h = artifact.header;
  ByteReader r(artifact.sections[0].bytes, "section HEAD");
  h.strategy = r.str(64);
  h.created_at = r.u64();
  h.seed = r.u64();
  h.train_rows = r.u64();
  h.data_digest = r.str(128);
  const std::uint32_t models = r.count(kMaxModels, 4 + 24);
  for (std::uint32_t i = 0; i < models && r.ok(); ++i) {
    ModelInfo m;
    m.name = r.str(256);
    m.size_b = r.f64();
    m.input_price = r.f64();
    m.output_price = r.f64();
    if (m.name.empty()) r.fail("empty model name");
    if (m.size_b < 0 || m.input_price < 0 || m.output_price < 0) r.fail("negative size or price");
    for (const auto& other : h.models) {
      if (other.name == m.name) r.fail("model '" + m.name + "' listed twice");
    }
    h.models.push_back(std::move(m));
  }
  if (r.ok() && models == 0) r.fail("no models");
  if (r.ok() && !r.at_end()) r.fail("unexpected bytes at the end");
  if (!r.ok()) return corrupt(r.error());
  return artifact;
}

std::string write_embedding_info(const EmbeddingInfo& info) {
  ByteWriter w;
  w.u32(info.dimension);
  w.str(info.model);
  return std::move(w.bytes());
}

Result<EmbeddingInfo> read_embedding_info(std::span<const std::byte> section) {
  ByteReader r(section, "section EMBD");
  EmbeddingInfo info;
  info.dimension = r.u32();
  if (r.ok() && (info.dimension == 0 || info.dimension > kMaxEmbeddingDimension))
    r.fail("embedding dimension " + std::to_string(info.dimension) + " out of range");
  info.model = r.str(256);
  if (r.ok() && !r.at_end()) r.fail("unexpected bytes at the end");
  if (!r.ok()) return corrupt(r.error());
  return info;
}

}  // namespace sy::router::ml
