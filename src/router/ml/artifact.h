// The file a learned routing strategy is saved in. Layout (integers little-endian):
//   magic "SYRA\r\n\x1a\n" | u32 format version | u32 section count | u64 body size |
//   body: sections, each u32 tag (4 ASCII chars) | u64 size | payload |
//   SHA-256 of everything before it (32 bytes).
// The first section is always "HEAD" (ArtifactHeader); "FEAT" holds the featurizer; the learner's own
// sections follow. An artifact trained with external embeddings (format version 2) also has "EMBD"
// (EmbeddingInfo), its learner's section reads the embedding's columns after the featurizer's, and "BASE"
// holds the same learner trained on the featurizer alone (the same layout as the learner's section): the
// model for requests without an embedding. Artifacts without embeddings are still written as version 1.
// parse_artifact checks the magic, the version, every size against the bytes present and the checksum before
// any section is read; ByteReader then bounds-checks each field of a section.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/ml/candidates.h"
#include "util/error.h"

namespace sy::router::ml {

inline constexpr std::uint32_t kArtifactVersion = 1;            // without embeddings
inline constexpr std::uint32_t kArtifactVersionEmbeddings = 2;  // with EMBD and BASE; the newest read
inline constexpr std::uint32_t kMaxEmbeddingDimension = 1u << 16;
inline constexpr std::size_t kArtifactPreamble = 8 + 4 + 4 + 8;
inline constexpr std::size_t kChecksumBytes = 32;

struct ArtifactHeader {
  std::string strategy;          // "knn", "mlp", ...
  std::uint64_t created_at = 0;  // unix seconds
  std::uint64_t seed = 0;
  std::uint64_t train_rows = 0;
  std::string data_digest;        // hex SHA-256 of the training data file
  std::vector<ModelInfo> models;  // the order predictions come in
};

// Appends little-endian fields to a byte string.
class ByteWriter {
 public:
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void f32(float v);
  void f64(double v);
  void str(std::string_view s);  // u32 length, bytes
  void f32s(std::span<const float> v);
  void u32s(std::span<const std::uint32_t> v);
  std::string& bytes() noexcept { return out_; }

 private:
  std::string out_;
};

// Reads little-endian fields with bounds checks. The first failure sticks: later reads return zeros and
// leave vectors empty, and error() says what failed, where.
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  std::uint32_t u32();
  std::uint64_t u64();
  float f32();   // must be finite
  double f64();  // must be finite
  std::string str(std::size_t max_size = 4096);
  // A count of items of at least `min_item_bytes` each that must fit in what is left and be <= max.
  std::uint32_t count(std::uint32_t max, std::size_t min_item_bytes);
  void f32s(std::size_t n, std::vector<float>& out);  // all finite
  void u32s(std::size_t n, std::vector<std::uint32_t>& out);
  std::span<const std::byte> take(std::size_t n);  // the next n bytes, as a view
  void fail(std::string_view message);             // a semantic check failed at the current offset

  bool ok() const noexcept { return error_.empty(); }
  bool at_end() const noexcept { return pos_ == bytes_.size(); }
  std::size_t remaining() const noexcept { return ok() ? bytes_.size() - pos_ : 0; }
  const std::string& error() const noexcept { return error_; }

 private:
  bool need(std::size_t n);
  std::span<const std::byte> bytes_;
  std::string what_;  // names the part being read in messages
  std::size_t pos_ = 0;
  std::string error_;
};

struct SectionView {
  std::array<char, 4> tag{};
  std::span<const std::byte> bytes;
};

// A parsed artifact: its header, its sections as views into the bytes given to parse_artifact.
struct Artifact {
  std::uint32_t version = 0;
  ArtifactHeader header;
  std::vector<SectionView> sections;
  std::string checksum;  // hex SHA-256 of the content
  const SectionView* find(std::string_view tag) const noexcept;
};

struct SectionData {
  std::string_view tag;  // exactly 4 characters
  std::string bytes;
};

// Version 2 when a section is "EMBD", else version 1.
std::string write_artifact(const ArtifactHeader& header, std::span<const SectionData> sections);
Result<Artifact> parse_artifact(std::span<const std::byte> bytes);

// The "EMBD" section: u32 dimension (1..kMaxEmbeddingDimension) | str model (the embedding model's name as
// the embeddings file gave it; may be empty).
struct EmbeddingInfo {
  std::uint32_t dimension = 0;
  std::string model;
};
std::string write_embedding_info(const EmbeddingInfo& info);
Result<EmbeddingInfo> read_embedding_info(std::span<const std::byte> section);

std::string sha256_hex(std::span<const std::byte> bytes);
inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace sy::router::ml
