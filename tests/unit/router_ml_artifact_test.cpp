// Unit tests for the artifact file (src/router/ml/artifact.h) and load_predictor: a round trip keeps the
// header and the predictions; a file truncated at any byte, with any byte flipped, of another version, or
// with a corrupt section under a valid checksum is rejected with a message and never crashes.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "router/ml/artifact.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "router_ml_test_support.h"

namespace sy::router::ml {
namespace {

// A small artifact: few rows, character trigrams only, narrow layers.
std::string tiny_artifact(const std::string& strategy, std::size_t rows = 24) {
  std::vector<std::string> params;
  if (strategy != "smallest" && strategy != "largest")
    params = {"min_df=1", "char_ngram_min=3", "char_ngram_max=3"};
  if (strategy == "mlp") params.push_back("hidden=2");
  if (strategy == "mf") params.push_back("dim=2");
  if (strategy == "elo") params.push_back("clusters=2");
  Result<TrainedArtifact> a = train_artifact(strategy, testing::synthetic_dataset(rows, 11),
                                             testing::synthetic_models(), params, 3, 1);
  EXPECT_TRUE(a.ok());
  return a.ok() ? a.value().bytes : std::string();
}

// Rewrites the trailing SHA-256 so that a deliberately corrupted file reaches the section parsers.
void reseal(std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size() - kChecksumBytes, digest, &size, EVP_sha256(), nullptr);
  bytes.replace(bytes.size() - kChecksumBytes, kChecksumBytes, reinterpret_cast<const char*>(digest), size);
}

std::string load_error(const std::string& bytes) {
  Result<std::shared_ptr<const Predictor>> p = load_predictor(as_bytes(bytes));
  return p.ok() ? std::string() : p.error().message;
}

TEST(ArtifactTest, WriteParseRoundTrip) {
  ArtifactHeader h;
  h.strategy = "knn";
  h.created_at = 1700000000;
  h.seed = 42;
  h.train_rows = 3;
  h.data_digest = "abc";
  h.models = testing::synthetic_models();
  const std::vector<SectionData> sections{{"ABCD", "hello"}, {"EMPT", ""}};
  const std::string bytes = write_artifact(h, sections);
  Result<Artifact> a = parse_artifact(as_bytes(bytes));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a.value().header.strategy, "knn");
  EXPECT_EQ(a.value().header.created_at, 1700000000u);
  EXPECT_EQ(a.value().header.seed, 42u);
  EXPECT_EQ(a.value().header.train_rows, 3u);
  EXPECT_EQ(a.value().header.data_digest, "abc");
  ASSERT_EQ(a.value().header.models.size(), 3u);
  EXPECT_EQ(a.value().header.models[0].name, "big-70b");
  EXPECT_EQ(a.value().header.models[0].size_b, 70);
  EXPECT_EQ(a.value().header.models[2].input_price, 0.1);
  ASSERT_TRUE(a.value().find("ABCD"));
  EXPECT_EQ(a.value().find("ABCD")->bytes.size(), 5u);
  EXPECT_EQ(a.value().find("EMPT")->bytes.size(), 0u);
  EXPECT_FALSE(a.value().find("NONE"));
  EXPECT_EQ(a.value().checksum, sha256_hex(as_bytes(std::string_view(bytes).substr(0, bytes.size() - 32))));
}

TEST(ArtifactTest, LoadedPredictorMatchesTheTrainedOne) {
  const std::string bytes = tiny_artifact("knn");
  auto a = load_predictor(as_bytes(bytes));
  auto b = load_predictor(as_bytes(bytes));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value()->checksum(), b.value()->checksum());
  EXPECT_EQ(a.value()->checksum(), parse_artifact(as_bytes(bytes)).value().checksum);
  std::vector<float> x(3), y(3);
  a.value()->predict("Write a rust function to sort a list.", x);
  b.value()->predict("Write a rust function to sort a list.", y);
  EXPECT_EQ(x, y);

  const auto path = std::filesystem::temp_directory_path() / "switchyard_artifact_test.syra";
  std::ofstream(path, std::ios::binary) << bytes;
  auto c = load_predictor(path.string());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value()->checksum(), a.value()->checksum());
  std::filesystem::remove(path);
  auto missing = load_predictor(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos);
}

TEST(ArtifactTest, TruncationAtEveryByteIsRejected) {
  for (const char* strategy : {"knn", "largest"}) {
    const std::string bytes = tiny_artifact(strategy);
    ASSERT_FALSE(bytes.empty());
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      const std::string message = load_error(bytes.substr(0, cut));
      ASSERT_FALSE(message.empty()) << strategy << " cut at " << cut;
      ASSERT_NE(message.find("invalid routing artifact"), std::string::npos) << message;
    }
    EXPECT_NE(load_error(bytes.substr(0, bytes.size() - 1)).find("truncated"), std::string::npos);
    EXPECT_NE(load_error(bytes + "x").find("trailing"), std::string::npos);
  }
}

TEST(ArtifactTest, EveryFlippedByteIsRejected) {
  const std::string bytes = tiny_artifact("svm", 8);
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    ASSERT_FALSE(load_error(bad).empty()) << "flip at " << at;
  }
  std::string bad = bytes;
  bad[bytes.size() / 2] ^= 1;
  EXPECT_NE(load_error(bad).find("checksum mismatch"), std::string::npos);
}

TEST(ArtifactTest, OtherVersionsAndMagicAreRejectedByName) {
  std::string bytes = tiny_artifact("knn");
  std::string v3 = bytes;
  v3[8] = 3;
  reseal(v3);
  EXPECT_NE(load_error(v3).find("unsupported format version 3"), std::string::npos) << load_error(v3);
  std::string v0 = bytes;
  v0[8] = 0;
  reseal(v0);
  EXPECT_NE(load_error(v0).find("unsupported format version 0"), std::string::npos) << load_error(v0);
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_NE(load_error(magic).find("bad magic"), std::string::npos);
  EXPECT_NE(load_error("").find("bad magic"), std::string::npos);
}

TEST(ArtifactTest, UnknownStrategyAndMissingSectionsAreRejected) {
  ArtifactHeader h;
  h.strategy = "forest";
  h.models = testing::synthetic_models();
  EXPECT_NE(load_error(write_artifact(h, {})).find("unknown strategy 'forest'"), std::string::npos);
  h.strategy = "knn";
  EXPECT_NE(load_error(write_artifact(h, {})).find("no FEAT section"), std::string::npos);
  h.models.clear();
  EXPECT_NE(load_error(write_artifact(h, {})).find("no models"), std::string::npos);
}

// Corrupt sections under a valid checksum: every byte changed three ways, for each learner's layout. The
// loader may accept a changed weight, but must never crash, nor must what it accepts when it predicts.
TEST(ArtifactTest, CorruptSectionsUnderAValidChecksumNeverCrash) {
  for (const char* strategy : {"knn", "mlp", "svm", "mf", "elo", "smallest"}) {
    const std::string bytes = tiny_artifact(strategy, 6);
    std::size_t rejected = 0;
    std::vector<float> out(3);
    for (std::size_t at = kArtifactPreamble; at + kChecksumBytes < bytes.size(); ++at) {
      for (unsigned char change : {0x01, 0x80, 0xff}) {
        std::string bad = bytes;
        bad[at] = static_cast<char>(static_cast<unsigned char>(bad[at]) ^ change);
        reseal(bad);
        auto p = load_predictor(as_bytes(bad));
        if (!p.ok()) {
          ++rejected;
          continue;
        }
        ASSERT_EQ(p.value()->models().size(), 3u);
        p.value()->predict("Write a python function to merge a list.", out);
      }
    }
    EXPECT_GT(rejected, 0u) << strategy;
  }
}

}  // namespace
}  // namespace sy::router::ml
