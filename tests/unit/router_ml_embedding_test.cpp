// Learned routing with external embeddings (src/router/ml/): every learner trained with an embeddings file
// routes by the embedding where the built-in featurizer cannot tell the classes apart, and its artifact's
// built-in model decides when the embedding is missing or of another dimension; the artifact records the
// embedding's dimension and model and is rejected whole when its embedding sections are broken; embeddings
// files are matched to the data by query text; the per-thread LRU cache of embeddings.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "router/ml/artifact.h"
#include "router/ml/dataset.h"
#include "router/ml/embedding_cache.h"
#include "router/ml/evaluate.h"
#include "router/ml/predictor.h"
#include "router/ml/train.h"
#include "router_ml_test_support.h"

namespace sy::router::ml {
namespace {

std::string train_bytes(const std::string& strategy, const Dataset& data,
                        std::vector<std::string> params = {}) {
  Result<TrainedArtifact> a = train_artifact(strategy, data, testing::synthetic_models(), params, 7, 2);
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message);
  return a.ok() ? a.value().bytes : std::string();
}

std::shared_ptr<const Predictor> load(const std::string& bytes) {
  Result<std::shared_ptr<const Predictor>> p = load_predictor(as_bytes(bytes));
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? p.value() : nullptr;
}

std::string load_error(const std::string& bytes) {
  Result<std::shared_ptr<const Predictor>> p = load_predictor(as_bytes(bytes));
  return p.ok() ? std::string() : p.error().message;
}

std::size_t argmax(const std::vector<float>& v) {
  return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

class EmbeddedLearnerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EmbeddedLearnerTest, RoutesByTheEmbeddingAndFallsBackToTheBuiltInModel) {
  const Dataset data = testing::parity_dataset(240);
  const auto predictor = load(train_bytes(GetParam(), data));
  ASSERT_TRUE(predictor);
  EXPECT_EQ(predictor->strategy(), GetParam());
  EXPECT_EQ(predictor->embedding_dimension(), 4u);
  EXPECT_EQ(predictor->embedding_model(), "embed-model");

  std::vector<float> quality(3), builtin_even(3), builtin_odd(3), wrong(3);
  int right = 0;
  for (std::uint32_t n = 5000; n < 5040; ++n) {  // numbers training never saw
    const std::string query = testing::parity_query(n);
    const std::vector<float> e = testing::parity_embedding(query);
    EXPECT_TRUE(predictor->predict(query, e, quality));
    for (float q : quality) EXPECT_TRUE(q >= 0.0f && q <= 1.0f) << q;
    right += argmax(quality) == (n % 2 == 0 ? 1u : 2u);
    // The same text without its embedding, or with one of another dimension: the built-in model, which
    // sees the same features for every number.
    EXPECT_FALSE(predictor->predict(query, {}, n % 2 ? builtin_odd : builtin_even));
    const std::vector<float> short_embedding(e.begin(), e.begin() + 3);
    EXPECT_FALSE(predictor->predict(query, short_embedding, wrong));
    EXPECT_EQ(wrong, n % 2 ? builtin_odd : builtin_even);
  }
  EXPECT_EQ(right, 40) << GetParam() << " routed " << right << " of 40 by their embeddings";
  EXPECT_EQ(builtin_even, builtin_odd) << "the built-in featurizer cannot tell the classes apart";
}

TEST_P(EmbeddedLearnerTest, TrainingWithEmbeddingsIsDeterministic) {
  const Dataset data = testing::parity_dataset(60);
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  Result<TrainedArtifact> one = train_artifact(GetParam(), data, testing::synthetic_models(), {}, 5, 1);
  Result<TrainedArtifact> three = train_artifact(GetParam(), data, testing::synthetic_models(), {}, 5, 3);
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(one.ok() && three.ok());
  EXPECT_TRUE(one.value().bytes == three.value().bytes);
}

INSTANTIATE_TEST_SUITE_P(Learners, EmbeddedLearnerTest, ::testing::Values("knn", "mlp", "svm", "mf", "elo"));

TEST(EmbeddedArtifactTest, VersionTwoWithEmbdAndBaseWhileArtifactsWithoutStayVersionOne) {
  const std::string with = train_bytes("knn", testing::parity_dataset(20));
  Dataset plain = testing::parity_dataset(20);
  plain.embedding_dim = 0;
  plain.embeddings.clear();
  const std::string without = train_bytes("knn", plain);
  ASSERT_FALSE(with.empty() || without.empty());
  EXPECT_EQ(with[8], 2);
  EXPECT_EQ(without[8], 1);
  Result<Artifact> a = parse_artifact(as_bytes(with));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value().version, 2u);
  for (const char* tag : {"HEAD", "FEAT", "EMBD", "KNN ", "BASE"}) EXPECT_TRUE(a.value().find(tag)) << tag;
  Result<EmbeddingInfo> info = read_embedding_info(a.value().find("EMBD")->bytes);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().dimension, 4u);
  EXPECT_EQ(info.value().model, "embed-model");
  const auto p = load(without);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->embedding_dimension(), 0u);
  EXPECT_TRUE(p->embedding_model().empty());
}

// Rewrites the trailing SHA-256 so that a deliberately corrupted file reaches the section parsers.
void reseal(std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size() - kChecksumBytes, digest, &size, EVP_sha256(), nullptr);
  bytes.replace(bytes.size() - kChecksumBytes, kChecksumBytes, reinterpret_cast<const char*>(digest), size);
}

// An embedded knn artifact rebuilt with its sections changed by `edit`.
std::string rebuilt(const std::string& bytes, const std::function<void(std::vector<SectionData>&)>& edit) {
  Result<Artifact> a = parse_artifact(as_bytes(bytes));
  EXPECT_TRUE(a.ok());
  std::vector<std::string> tags;  // the sections' tags are views of these
  for (std::size_t i = 1; i < a.value().sections.size(); ++i)
    tags.emplace_back(a.value().sections[i].tag.data(), 4);
  std::vector<SectionData> sections;
  for (std::size_t i = 1; i < a.value().sections.size(); ++i) {
    const SectionView& s = a.value().sections[i];
    sections.push_back(
        {tags[i - 1], std::string(reinterpret_cast<const char*>(s.bytes.data()), s.bytes.size())});
  }
  edit(sections);
  return write_artifact(a.value().header, sections);
}

// The same with its EMBD section saying `info`.
std::string with_embedding_info(const std::string& bytes, const EmbeddingInfo& info) {
  return rebuilt(bytes, [&](std::vector<SectionData>& sections) {
    for (SectionData& s : sections) {
      if (s.tag == "EMBD") s.bytes = write_embedding_info(info);
    }
  });
}

TEST(EmbeddedArtifactTest, BrokenEmbeddingSectionsAreRejectedByName) {
  const std::string bytes = train_bytes("knn", testing::parity_dataset(20));
  ASSERT_FALSE(bytes.empty());
  EXPECT_NE(load_error(rebuilt(bytes,
                               [](std::vector<SectionData>& s) {
                                 std::erase_if(s, [](const SectionData& x) { return x.tag == "BASE"; });
                               }))
                .find("BASE"),
            std::string::npos);
  EXPECT_NE(load_error(with_embedding_info(bytes, {0, ""})).find("embedding dimension 0 out of range"),
            std::string::npos);
  EXPECT_NE(load_error(with_embedding_info(bytes, {5, "embed-model"})), "")
      << "a dimension that differs from the learner section's";
  // EMBD in a file that says version 1.
  std::string v1 = bytes;
  v1[8] = 1;
  reseal(v1);
  EXPECT_NE(load_error(v1).find("EMBD section in a version 1 artifact"), std::string::npos) << load_error(v1);
}

TEST(EmbeddedArtifactTest, CorruptSectionsUnderAValidChecksumNeverCrash) {
  for (const std::string strategy : {"knn", "elo", "mlp"}) {
    std::vector<std::string> params{"min_df=1"};
    if (strategy == "elo") params.push_back("clusters=2");
    if (strategy == "mlp") params.push_back("hidden=2");
    const std::string bytes = train_bytes(strategy, testing::parity_dataset(6), params);
    ASSERT_FALSE(bytes.empty());
    std::vector<float> out(3);
    const std::vector<float> e = testing::parity_embedding("7");
    std::size_t rejected = 0;
    for (std::size_t at = kArtifactPreamble; at + kChecksumBytes < bytes.size(); ++at) {
      std::string bad = bytes;
      bad[at] = static_cast<char>(static_cast<unsigned char>(bad[at]) ^ 0x80);
      reseal(bad);
      auto p = load_predictor(as_bytes(bad));
      if (!p.ok()) {
        ++rejected;
        continue;
      }
      p.value()->predict("Please handle ticket number 7.", e, out);
      p.value()->predict("Please handle ticket number 7.", {}, out);
    }
    EXPECT_GT(rejected, 0u) << strategy;
  }
}

TEST(EmbeddedArtifactTest, SizeBaselinesTakeNoEmbeddings) {
  Result<TrainedArtifact> a =
      train_artifact("smallest", testing::parity_dataset(4), testing::synthetic_models(), {}, 1, 1);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("--embeddings"), std::string::npos) << a.error().message;
}

// ---- embeddings files ----

Dataset two_rows() {
  Result<Dataset> d = parse_dataset(
      "{\"query\": \"alpha\", \"scores\": {\"a\": 1, \"b\": 0}}\n\n"
      "{\"query\": \"beta\", \"scores\": {\"a\": 0, \"b\": 1}}\n",
      "train.jsonl");
  EXPECT_TRUE(d.ok());
  return d.ok() ? d.value() : Dataset{};
}

TEST(EmbeddingsFile, MatchesRowsByQueryText) {
  Dataset d = two_rows();
  const auto error = parse_embeddings(d,
                                      "{\"query\": \"beta\", \"model\": \"m\", \"embedding\": [0, 1.5]}\n"
                                      "{\"query\": \"alpha\", \"model\": \"m\", \"embedding\": [2, -1]}\n"
                                      "{\"query\": \"unused\", \"model\": \"m\", \"embedding\": [9, 9]}\n",
                                      "emb.jsonl");
  ASSERT_FALSE(error) << error->message;
  EXPECT_EQ(d.embedding_dim, 2u);
  EXPECT_EQ(d.embedding_model, "m");
  EXPECT_EQ(std::vector<float>(d.embedding(0).begin(), d.embedding(0).end()), (std::vector<float>{2, -1}));
  EXPECT_EQ(std::vector<float>(d.embedding(1).begin(), d.embedding(1).end()), (std::vector<float>{0, 1.5}));
}

TEST(EmbeddingsFile, ErrorsNameTheLine) {
  auto error_of = [](std::string_view text) {
    Dataset d = two_rows();
    const auto error = parse_embeddings(d, text, "emb.jsonl");
    EXPECT_EQ(d.embedding_dim, 0u);
    return error ? error->message : std::string();
  };
  // A row of the data without an embedding: its line in the data (line 3: a blank line precedes it).
  EXPECT_EQ(error_of("{\"query\": \"alpha\", \"embedding\": [1, 2]}\n"),
            "train.jsonl:3: no embedding for this query in emb.jsonl");
  EXPECT_NE(
      error_of("{\"query\": \"alpha\", \"embedding\": [1, 2]}\n{\"query\": \"beta\", \"embedding\": [1]}\n")
          .find("emb.jsonl:2: an embedding of 1 numbers, the first line's has 2"),
      std::string::npos);
  EXPECT_NE(error_of("{\"query\": \"alpha\", \"embedding\": [1, \"x\"]}\n").find("emb.jsonl:1:"),
            std::string::npos);
  EXPECT_NE(error_of("{\"query\": \"alpha\", \"model\": \"a\", \"embedding\": [1]}\n"
                     "{\"query\": \"beta\", \"model\": \"b\", \"embedding\": [1]}\n")
                .find("emb.jsonl:2: model \"b\""),
            std::string::npos);
  EXPECT_NE(error_of("{\"query\": \"alpha\"}\n").find("emb.jsonl:1: expected"), std::string::npos);
  EXPECT_NE(error_of("").find("no embeddings"), std::string::npos);
}

TEST(EmbeddingsFile, EvalUsesTheEmbeddingsWhenGiven) {
  const Dataset data = testing::parity_dataset(120);
  const auto predictor = load(train_bytes("knn", data));
  ASSERT_TRUE(predictor);
  const Dataset test = testing::parity_dataset(40, 7000);
  Result<EvalReport> with = evaluate(*predictor, test, testing::synthetic_models(), {});
  ASSERT_TRUE(with.ok()) << with.error().message;
  EXPECT_TRUE(with.value().embeddings_used);
  EXPECT_EQ(with.value().embedding_dim, 4u);
  EXPECT_DOUBLE_EQ(with.value().points.front().accuracy, 1.0);  // most likely to answer well: always right
  Dataset bare = test;
  bare.embedding_dim = 0;
  bare.embeddings.clear();
  Result<EvalReport> without = evaluate(*predictor, bare, testing::synthetic_models(), {});
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without.value().embeddings_used);
  EXPECT_LT(without.value().points.front().accuracy, 1.0);
  EXPECT_NE(report_text(without.value()).find("without --embeddings"), std::string::npos);
}

// ---- the cache ----

TEST(EmbeddingCacheTest, HitsMissesAndLeastRecentlyUsedEviction) {
  EmbeddingCache cache(2);
  const std::vector<float> a{1, 2}, b{3, 4}, c{5, 6};
  EXPECT_TRUE(cache.find(1).empty());
  cache.insert(1, a);
  cache.insert(2, b);
  EXPECT_EQ(cache.size(), 2u);
  ASSERT_EQ(cache.find(1).size(), 2u);  // 1 is now the most recently used
  EXPECT_EQ(cache.find(1)[1], 2.0f);
  cache.insert(3, c);  // evicts 2, the least recently used
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.find(2).empty());
  EXPECT_EQ(cache.find(1)[0], 1.0f);
  EXPECT_EQ(cache.find(3)[0], 5.0f);
  cache.insert(1, c);  // an update moves it to the front too
  EXPECT_EQ(cache.find(1)[0], 5.0f);
  cache.insert(4, a);  // evicts 3
  EXPECT_TRUE(cache.find(3).empty());
  EXPECT_FALSE(cache.find(1).empty());
  EXPECT_FALSE(cache.find(4).empty());
}

TEST(EmbeddingCacheTest, LongRunsKeepTheMostRecentlyUsed) {
  EmbeddingCache cache(8);
  std::vector<float> v(3);
  cache.insert(0, v);
  for (std::uint64_t k = 1; k < 1000; ++k) {
    v[0] = static_cast<float>(k);
    cache.insert(k, v);
    ASSERT_FALSE(cache.find(0).empty()) << k;  // used after every insert: never the one evicted
  }
  EXPECT_EQ(cache.size(), 8u);
  for (std::uint64_t k = 993; k < 1000; ++k) {
    ASSERT_FALSE(cache.find(k).empty()) << k;
    EXPECT_EQ(cache.find(k)[0], static_cast<float>(k));
  }
  EXPECT_TRUE(cache.find(992).empty());
}

TEST(EmbeddingCacheTest, CapacityZeroKeepsNothing) {
  EmbeddingCache cache(0);
  const std::vector<float> a{1};
  cache.insert(1, a);
  EXPECT_TRUE(cache.find(1).empty());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(EmbeddingCacheTest, KeysDependOnModelAndText) {
  EXPECT_EQ(embedding_cache_key("m", "hello"), embedding_cache_key("m", "hello"));
  EXPECT_NE(embedding_cache_key("m", "hello"), embedding_cache_key("n", "hello"));
  EXPECT_NE(embedding_cache_key("m", "hello"), embedding_cache_key("m", "hello!"));
  EXPECT_NE(embedding_cache_key("mh", "ello"), embedding_cache_key("m", "hello"));
}

}  // namespace
}  // namespace sy::router::ml
