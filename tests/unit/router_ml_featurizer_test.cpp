// Unit tests for the learned-routing featurizer (src/router/ml/featurizer.h) and routing_text: deterministic,
// normalised, insensitive to case and spacing, unseen features dropped, dense signals in range, and a
// serialisation round trip.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "router/ml/featurizer.h"
#include "router/ml/parallel.h"
#include "router/ml/predictor.h"
#include "router_ml_test_support.h"

namespace sy::router::ml {
namespace {

Featurizer fitted(std::vector<std::string> texts, FeatureConfig config = {}) {
  WorkerPool pool(2);
  return Featurizer::fit(config, texts, pool);
}

std::vector<std::string> corpus() {
  FastRandom random(1);
  std::vector<std::string> texts;
  for (int i = 0; i < 100; ++i)
    texts.push_back(testing::synthetic_query(i % 2 ? testing::Topic::math : testing::Topic::code, random));
  return texts;
}

double sparse_norm(const FeatureVector& f) {
  double n = 0;
  for (std::size_t i = 0; i < f.sparse; ++i) n += static_cast<double>(f.value[i]) * f.value[i];
  return std::sqrt(n);
}

TEST(FeaturizerTest, SparsePartIsL2NormalisedAndDenseSignalsInRange) {
  const Featurizer f = fitted(corpus());
  EXPECT_GT(f.vocabulary_size(), 50u);
  EXPECT_EQ(f.columns(), f.vocabulary_size() + kDenseSignals);
  FeatureVector v;
  f.featurize("Write a python function to sort a list.", v);
  ASSERT_GT(v.sparse, 5u);
  EXPECT_NEAR(sparse_norm(v), 1.0, 1e-5);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i < v.sparse) {
      EXPECT_LT(v.index[i], f.vocabulary_size());
      EXPECT_GT(v.value[i], 0.0f);
    } else {
      EXPECT_GE(v.index[i], f.vocabulary_size());
      EXPECT_LT(v.index[i], f.columns());
      EXPECT_GT(v.value[i], 0.0f);
      EXPECT_LE(v.value[i], 1.0f);
    }
  }
}

TEST(FeaturizerTest, DeterministicAndInsensitiveToCaseAndSpacing) {
  const std::vector<std::string> texts = corpus();
  const Featurizer a = fitted(texts), b = fitted(texts);
  EXPECT_EQ(a.write(), b.write());
  FeatureVector x, y, z;
  a.featurize("Write a Python function to SORT a list.", x);
  b.featurize("  write a python   function\tto sort a list.\n", y);
  a.featurize("Write a Python function to SORT a list.", z);
  ASSERT_EQ(x.sparse, y.sparse);
  auto sparse_of = [](const FeatureVector& v) {
    std::vector<std::pair<std::uint32_t, float>> s;
    for (std::size_t i = 0; i < v.sparse; ++i) s.emplace_back(v.index[i], v.value[i]);
    std::sort(s.begin(), s.end());
    return s;
  };
  EXPECT_EQ(sparse_of(x), sparse_of(y));
  EXPECT_EQ(x.index, z.index);
  EXPECT_EQ(x.value, z.value);
}

TEST(FeaturizerTest, UnseenFeaturesAreDropped) {
  const Featurizer f = fitted(corpus());
  FeatureVector v;
  f.featurize("zqzqzq xjxjxj", v);
  EXPECT_EQ(v.sparse, 0u);
  f.featurize("", v);
  EXPECT_EQ(v.size(), 0u);
}

TEST(FeaturizerTest, AdjacentCjkCharactersAreFeatures) {
  // Words are not separated in Chinese: the texts share the pair 函数 ("function"), nothing else.
  const Featurizer f = fitted({"这个函数是做什么的", "写一个函数排序", "今天天气很好"});
  FeatureVector a, b, c;
  f.featurize("这个函数", a);
  f.featurize("函数排序吗", b);
  f.featurize("天气", c);
  auto shared = [](const FeatureVector& x, const FeatureVector& y) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < x.sparse; ++i)
      n += std::count(y.index.begin(), y.index.begin() + static_cast<std::ptrdiff_t>(y.sparse), x.index[i]);
    return n;
  };
  EXPECT_EQ(shared(a, b), 1u);
  EXPECT_EQ(shared(a, c), 0u);
  EXPECT_EQ(c.sparse, 0u);  // 天气 occurs in one training text only (min_df 2)
}

TEST(FeaturizerTest, MinDfAndMaxFeaturesBoundTheVocabulary) {
  FeatureConfig config;
  config.min_df = 1;
  const Featurizer all = fitted(corpus(), config);
  config.min_df = 5;
  const Featurizer frequent = fitted(corpus(), config);
  EXPECT_LT(frequent.vocabulary_size(), all.vocabulary_size());
  config.max_features = 40;
  EXPECT_EQ(fitted(corpus(), config).vocabulary_size(), 40u);
}

TEST(FeaturizerTest, DenseSignalsSeeCodeMathAndScripts) {
  const Featurizer f = fitted(corpus());
  auto dense = [&](const std::string& text) {
    FeatureVector v;
    f.featurize(text, v);
    std::vector<float> d(kDenseSignals, 0.0f);
    for (std::size_t i = v.sparse; i < v.size(); ++i) d[v.index[i] - f.vocabulary_size()] = v.value[i];
    return d;
  };
  const auto code = dense("def f(x):\n    return {x: [1, 2]}\n");
  const auto prose = dense("Tell me about the history of Rome");
  EXPECT_GT(code[2], prose[2]);  // code punctuation
  EXPECT_GT(code[3], prose[3]);  // code keywords
  const auto math = dense("Solve 3x + 4 = 19 for x");
  EXPECT_GT(math[4], prose[4]);  // digits
  EXPECT_GT(math[5], prose[5]);  // math markers
  const auto cjk = dense("这个函数是做什么的?");
  EXPECT_GT(cjk[6], 0.5f);  // non-ASCII share
  EXPECT_GT(cjk[7], 0.5f);  // 3-byte sequences
  EXPECT_EQ(cjk[8], 1.0f);  // a question mark
  EXPECT_EQ(prose[8], 0.0f);
}

TEST(FeaturizerTest, LongTextsAreCutToHeadAndTail) {
  FeatureConfig config;
  config.max_chars = 64;
  const Featurizer f = fitted(corpus(), config);
  const std::string head = "Write a python function to sort ", tail = "and return the sorted list now.";
  ASSERT_EQ(head.size(), 32u);  // max_chars / 2
  FeatureVector a, b;
  f.featurize(head + std::string(10000, 'q') + "  " + tail, a);
  f.featurize(head + std::string(10000, 'z') + "  " + tail, b);
  EXPECT_GT(a.sparse, 0u);
  EXPECT_EQ(a.index, b.index);  // the middle is never looked at
  EXPECT_EQ(a.value, b.value);
}

TEST(FeaturizerTest, WriteReadRoundTrip) {
  const Featurizer f = fitted(corpus());
  const std::string bytes = f.write();
  Result<Featurizer> back = Featurizer::read(as_bytes(bytes));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value().write(), bytes);
  FeatureVector x, y;
  f.featurize("How do I merge a dictionary in rust?", x);
  back.value().featurize("How do I merge a dictionary in rust?", y);
  EXPECT_EQ(x.index, y.index);
  EXPECT_EQ(x.value, y.value);
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7)
    EXPECT_FALSE(Featurizer::read(as_bytes(std::string_view(bytes).substr(0, cut))).ok());
}

TEST(FeaturizerTest, ConfigValidation) {
  FeatureConfig c;
  EXPECT_EQ(c.validate(), "");
  c.char_ngram_min = 3;
  c.char_ngram_max = 9;
  EXPECT_NE(c.validate(), "");
  c.char_ngram_min = 0;
  c.char_ngram_max = 4;
  EXPECT_NE(c.validate(), "");
  c = {};
  c.word_ngrams = 0;
  c.char_ngram_min = 0;
  EXPECT_NE(c.validate(), "");
  c = {};
  c.hash_bits = 40;
  EXPECT_NE(c.validate(), "");
}

// ---- routing_text ----

std::string text_of(const char* body) {
  std::string out = "stale";
  routing_text(boost::json::parse(body).as_object(), out);
  return out;
}

TEST(RoutingTextTest, LastUserTurnAfterASystemPrefix) {
  EXPECT_EQ(text_of(R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"first"},
                       {"role":"assistant","content":"ok"},{"role":"user","content":"second"}]})"),
            "Be brief.\nsecond");
  EXPECT_EQ(text_of(R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},
                       {"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]}]})"),
            "a\nb");
  EXPECT_EQ(text_of(R"({"messages":[{"role":"developer","content":"Dev."},{"role":"user","content":"q"}]})"),
            "Dev.\nq");
  EXPECT_EQ(text_of(R"({"messages":[]})"), "");
  EXPECT_EQ(text_of(R"({"messages":[{"role":"user"},{"role":7,"content":"x"}]})"), "");
  EXPECT_EQ(text_of(R"({"prompt":"complete me"})"), "complete me");
  EXPECT_EQ(text_of(R"({"prompt":["one","two"]})"), "one\ntwo");
}

TEST(RoutingTextTest, SystemPrefixIsCutOnACharacterBoundary) {
  std::string system;
  for (int i = 0; i < 200; ++i) system += "é";  // 2 bytes each
  const std::string body =
      R"({"messages":[{"role":"system","content":")" + system + R"("},{"role":"user","content":"hi"}]})";
  std::string out;
  routing_text(boost::json::parse(body).as_object(), out);
  const std::string prefix = out.substr(0, out.find('\n'));
  EXPECT_LE(prefix.size(), 256u);
  EXPECT_GE(prefix.size(), 254u);
  EXPECT_EQ(prefix.size() % 2, 0u);  // whole characters only
  EXPECT_EQ(out.substr(out.find('\n') + 1), "hi");
}

}  // namespace
}  // namespace sy::router::ml
