#include "router/ml/featurizer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "router/ml/parallel.h"

namespace sy::router::ml {
namespace {

constexpr std::uint32_t kFeaturizerVersion = 1;
constexpr std::uint32_t kMaxCharsLimit = 1u << 16;

constexpr std::uint64_t mix64(std::uint64_t x) noexcept {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool is_space(unsigned char c) noexcept {
  return c == ' ' || (c >= '\t' && c <= '\r');
}
bool is_word(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

// The text a long input is featurised by: its head and its tail.
struct Clipped {
  std::string_view head, tail;
};
Clipped clip(std::string_view text, std::size_t max_chars) noexcept {
  if (text.size() <= max_chars) return {text, {}};
  return {text.substr(0, max_chars / 2), text.substr(text.size() - max_chars / 2)};
}

// Lower-cases ASCII, turns each run of white space into one space and trims; 8 zero bytes follow the text
// (not counted in the returned size) so n-grams can be loaded 8 bytes at a time.
std::size_t normalize(Clipped in, std::string& out) {
  out.resize(in.head.size() + in.tail.size() + 1 + 8);
  char* w = out.data();
  bool space = true;  // drops leading white space
  for (std::string_view part : {in.head, in.tail}) {
    for (unsigned char c : part) {
      if (is_space(c)) {
        if (!space) *w++ = ' ';
        space = true;
      } else {
        *w++ = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        space = false;
      }
    }
    if (!space) *w++ = ' ', space = true;  // the head and the tail are separate words
  }
  if (w != out.data() && w[-1] == ' ') --w;
  const std::size_t size = static_cast<std::size_t>(w - out.data());
  std::memset(w, 0, 8);
  out.resize(size + 8);
  return size;
}

constexpr std::uint64_t fnv1a(std::string_view word) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : word) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// Words that mark code, and words that mark mathematics, by their FNV-1a hash (as for_each_hash computes it).
constexpr std::array<std::uint64_t, 16> kCodeWords = {
    fnv1a("def"),    fnv1a("return"), fnv1a("include"), fnv1a("function"), fnv1a("import"), fnv1a("class"),
    fnv1a("print"),  fnv1a("public"), fnv1a("void"),    fnv1a("const"),    fnv1a("elif"),   fnv1a("lambda"),
    fnv1a("struct"), fnv1a("printf"), fnv1a("self"),    fnv1a("int")};
constexpr std::array<std::uint64_t, 8> kMathWords = {fnv1a("frac"),    fnv1a("sqrt"),      fnv1a("equation"),
                                                     fnv1a("solve"),   fnv1a("integer"),   fnv1a("sum"),
                                                     fnv1a("product"), fnv1a("derivative")};

// CJK text has no spaces between words: within a word, each pair of adjacent CJK characters (UTF-8 sequences
// led by 0xe3..0xed: kana, CJK ideographs, Hangul) is a feature of its own, as search engines index it.
template <class F>
void cjk_bigrams(const char* word, std::size_t size, unsigned shift, F&& f) {
  auto cjk = [&](std::size_t at) {
    const auto lead = static_cast<unsigned char>(word[at]);
    return at + 3 <= size && lead >= 0xe3 && lead <= 0xed;
  };
  for (std::size_t at = 0; at + 6 <= size; ++at) {
    if (!cjk(at) || !cjk(at + 3)) continue;
    std::uint64_t v = 0;
    std::memcpy(&v, word + at, 6);
    f(static_cast<std::uint32_t>(mix64(v ^ 0x636a6b0000000000ull) >> shift));
  }
}

// Calls f(hash) for every word n-gram, CJK character pair and character n-gram of `text` (normalised,
// zero-padded).
template <class F, class W>
void for_each_hash(const char* text, std::size_t size, const FeatureConfig& config, F&& f, W&& on_word) {
  const unsigned shift = 64 - config.hash_bits;
  {
    std::array<std::uint64_t, 4> last{};  // hashes of the previous words, newest first
    std::size_t words = 0;
    for (std::size_t i = 0; i < size;) {
      while (i < size && !is_word(static_cast<unsigned char>(text[i]))) ++i;
      if (i == size) break;
      const std::size_t begin = i;
      std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
      while (i < size && is_word(static_cast<unsigned char>(text[i]))) {
        h = (h ^ static_cast<unsigned char>(text[i++])) * 0x100000001b3ull;
      }
      cjk_bigrams(text + begin, i - begin, shift, f);
      on_word(h);
      for (std::size_t k = last.size() - 1; k > 0; --k) last[k] = last[k - 1];
      last[0] = h;
      ++words;
      std::uint64_t gram = 0;
      for (std::size_t n = 1; n <= config.word_ngrams && n <= words; ++n) {
        gram = mix64(gram * 0x9e3779b97f4a7c15ull + last[n - 1] + n);
        f(static_cast<std::uint32_t>(gram >> shift));
      }
    }
  }
  if (config.char_ngram_min > 0) {
    for (std::size_t i = 0; i + config.char_ngram_min <= size; ++i) {
      std::uint64_t v;
      std::memcpy(&v, text + i, 8);
      const std::size_t max_n = std::min<std::size_t>(config.char_ngram_max, size - i);
      for (std::size_t n = config.char_ngram_min; n <= max_n; ++n) {
        const std::uint64_t gram = n == 8 ? v : v & ((1ull << (8 * n)) - 1);
        f(static_cast<std::uint32_t>(mix64(gram ^ (0xa0761d6478bd642full * n)) >> shift));
      }
    }
  }
}

// The dense signals of a text: character shares from its clipped raw parts, word counts from the words.
struct WordCounts {
  std::size_t code = 0, math = 0;
  void operator()(std::uint64_t word) noexcept {
    for (std::uint64_t h : kCodeWords) code += h == word;
    for (std::uint64_t h : kMathWords) math += h == word;
  }
};

void dense_signals(std::size_t original_size, Clipped raw, WordCounts words,
                   std::array<float, kDenseSignals>& out) {
  std::size_t n = 0, lines = 0, code = 0, digits = 0, math = 0, non_ascii = 0, wide = 0, question = 0;
  for (std::string_view part : {raw.head, raw.tail}) {
    for (unsigned char c : part) {
      ++n;
      switch (c) {
        case '\n':
          ++lines;
          break;
        case '{':
        case '}':
        case '[':
        case ']':
        case '(':
        case ')':
        case ';':
        case '<':
        case '>':
        case '_':
        case '#':
        case '\\':
        case '`':
          ++code;
          break;
        case '+':
        case '-':
        case '*':
        case '/':
        case '^':
        case '=':
        case '%':
        case '$':
          ++math;
          break;
        case '?':
          ++question;
          break;
        default:
          break;
      }
      digits += c >= '0' && c <= '9';
      non_ascii += c >= 0x80;
      wide += c >= 0xe0;  // the lead byte of a 3- or 4-byte sequence (CJK, emoji, ...)
    }
  }
  const double size = static_cast<double>(std::max<std::size_t>(n, 1));
  auto unit = [](double v) { return static_cast<float>(std::clamp(v, 0.0, 1.0)); };
  out[0] = unit(std::log1p(static_cast<double>(original_size)) / 10.0);
  out[1] = unit(std::log1p(static_cast<double>(lines)) / 5.0);
  out[2] = unit(5.0 * static_cast<double>(code) / size);
  out[3] = unit(static_cast<double>(words.code) / 4.0);
  out[4] = unit(4.0 * static_cast<double>(digits) / size);
  out[5] = unit(8.0 * static_cast<double>(math) / size + 0.25 * static_cast<double>(words.math));
  out[6] = unit(static_cast<double>(non_ascii) / size);
  out[7] = non_ascii ? unit(static_cast<double>(wide) * 3.0 / static_cast<double>(non_ascii)) : 0.0f;
  out[8] = question ? 1.0f : 0.0f;
}

struct Scratch {
  std::string norm;
  std::vector<std::uint16_t>
      counts;  // per column (saturating), zero between calls: small, so it stays cached
  std::vector<std::uint32_t> touched;
};

}  // namespace

std::string FeatureConfig::validate() const {
  if (hash_bits < 8 || hash_bits > 31) return "hash_bits must be 8..31";
  if (word_ngrams > 4) return "word_ngrams must be 0..4";
  if (char_ngram_min > char_ngram_max || char_ngram_max > 8 || (char_ngram_max > 0 && char_ngram_min == 0))
    return "char n-grams must be 1..8 bytes (or both 0: none)";
  if (word_ngrams == 0 && char_ngram_min == 0) return "no word or character n-grams";
  if (max_chars < 16 || max_chars > kMaxCharsLimit) return "max_chars must be 16..65536";
  if (min_df == 0) return "min_df must be at least 1";
  if (max_features == 0 || max_features > (1u << 24)) return "max_features must be 1..2^24";
  return {};
}

Featurizer Featurizer::fit(const FeatureConfig& config, std::span<const std::string> texts,
                           WorkerPool& pool) {
  // Each chunk of texts lists the distinct features of each text; merged, a feature's run length is its
  // document frequency.
  constexpr std::size_t kChunks = 64;
  std::vector<std::vector<std::uint32_t>> chunk_hashes(kChunks);
  pool.run(kChunks, [&](std::size_t c) {
    std::string norm;
    std::vector<std::uint32_t> doc;
    for (std::size_t i = WorkerPool::range_begin(texts.size(), kChunks, c);
         i < WorkerPool::range_begin(texts.size(), kChunks, c + 1); ++i) {
      const std::size_t size = normalize(clip(texts[i], config.max_chars), norm);
      doc.clear();
      for_each_hash(
          norm.data(), size, config, [&doc](std::uint32_t h) { doc.push_back(h); }, [](std::uint64_t) {});
      std::sort(doc.begin(), doc.end());
      doc.erase(std::unique(doc.begin(), doc.end()), doc.end());
      chunk_hashes[c].insert(chunk_hashes[c].end(), doc.begin(), doc.end());
    }
  });
  std::vector<std::uint32_t> all;
  for (auto& c : chunk_hashes) all.insert(all.end(), c.begin(), c.end()), c = {};
  std::sort(all.begin(), all.end());

  struct Term {
    std::uint32_t hash, df;
  };
  std::vector<Term> terms;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    if (j - i >= config.min_df) terms.push_back({all[i], static_cast<std::uint32_t>(j - i)});
    i = j;
  }
  if (terms.size() > config.max_features) {
    std::sort(terms.begin(), terms.end(),
              [](const Term& a, const Term& b) { return a.df != b.df ? a.df > b.df : a.hash < b.hash; });
    terms.resize(config.max_features);
    std::sort(terms.begin(), terms.end(), [](const Term& a, const Term& b) { return a.hash < b.hash; });
  }

  Featurizer f;
  f.config_ = config;
  const double n = static_cast<double>(texts.size());
  for (const Term& t : terms) {
    f.hashes_.push_back(t.hash);
    f.idf_.push_back(static_cast<float>(std::log((1.0 + n) / (1.0 + t.df)) + 1.0));
  }
  f.build_table();
  return f;
}

void Featurizer::build_table() {
  std::size_t capacity = 16;
  while (capacity < 2 * hashes_.size()) capacity *= 2;
  table_.assign(capacity, 0);
  table_mask_ = capacity - 1;
  for (std::size_t col = 0; col < hashes_.size(); ++col) {
    std::uint64_t i = hashes_[col] & table_mask_;
    while (table_[i] != 0) i = (i + 1) & table_mask_;
    table_[i] = (static_cast<std::uint64_t>(hashes_[col]) + 1) << 32 | col;
  }
}

std::int64_t Featurizer::column_of(std::uint32_t hash) const noexcept {
  const std::uint64_t key = static_cast<std::uint64_t>(hash) + 1;
  for (std::uint64_t i = hash & table_mask_;; i = (i + 1) & table_mask_) {
    const std::uint64_t e = table_[i];
    if (e == 0) return -1;
    if (e >> 32 == key) return static_cast<std::int64_t>(e & 0xffffffffu);
  }
}

void Featurizer::featurize(std::string_view text, FeatureVector& out) const {
  thread_local Scratch s;
  if (s.counts.size() < hashes_.size()) s.counts.resize(hashes_.size(), 0);
  const Clipped raw = clip(text, config_.max_chars);
  const std::size_t size = normalize(raw, s.norm);
  s.touched.clear();
  WordCounts words;
  for_each_hash(
      s.norm.data(), size, config_,
      [this](std::uint32_t h) {
        const std::int64_t col = table_.empty() ? -1 : column_of(h);
        if (col < 0) return;
        std::uint16_t& count = s.counts[static_cast<std::size_t>(col)];
        if (count == 0) s.touched.push_back(static_cast<std::uint32_t>(col));
        if (count < UINT16_MAX) ++count;
      },
      words);
  out.index.clear();
  out.value.clear();
  double norm2 = 0;
  for (std::uint32_t col : s.touched) {
    const float w = (1.0f + std::log(static_cast<float>(s.counts[col]))) * idf_[col];
    s.counts[col] = 0;
    out.index.push_back(col);
    out.value.push_back(w);
    norm2 += static_cast<double>(w) * w;
  }
  if (norm2 > 0) {
    const float scale = static_cast<float>(1.0 / std::sqrt(norm2));
    for (float& v : out.value) v *= scale;
  }
  out.sparse = out.index.size();
  out.embedding = 0;
  std::array<float, kDenseSignals> dense;
  dense_signals(text.size(), raw, words, dense);
  for (std::uint32_t j = 0; j < kDenseSignals; ++j) {
    if (dense[j] != 0.0f) {
      out.index.push_back(vocabulary_size() + j);
      out.value.push_back(dense[j]);
    }
  }
}

void append_embedding(std::span<const float> embedding, std::uint32_t first_column, FeatureVector& out) {
  double norm2 = 0;
  for (float v : embedding) norm2 += static_cast<double>(v) * v;
  const float scale = norm2 > 0 ? static_cast<float>(1.0 / std::sqrt(norm2)) : 0.0f;
  for (std::size_t j = 0; j < embedding.size(); ++j) {
    out.index.push_back(first_column + static_cast<std::uint32_t>(j));
    out.value.push_back(embedding[j] * scale);
  }
  out.embedding = embedding.size();
}

std::string Featurizer::write() const {
  ByteWriter w;
  w.u32(kFeaturizerVersion);
  for (std::uint32_t v : {config_.hash_bits, config_.word_ngrams, config_.char_ngram_min,
                          config_.char_ngram_max, config_.max_chars, config_.min_df, config_.max_features})
    w.u32(v);
  w.u32(vocabulary_size());
  w.u32s(hashes_);
  w.f32s(idf_);
  return std::move(w.bytes());
}

Result<Featurizer> Featurizer::read(std::span<const std::byte> section) {
  ByteReader r(section, "section FEAT");
  Featurizer f;
  const std::uint32_t version = r.u32();
  if (r.ok() && version != kFeaturizerVersion)
    r.fail("featurizer version " + std::to_string(version) + " is not supported");
  FeatureConfig& c = f.config_;
  for (std::uint32_t* v : {&c.hash_bits, &c.word_ngrams, &c.char_ngram_min, &c.char_ngram_max, &c.max_chars,
                           &c.min_df, &c.max_features})
    *v = r.u32();
  if (r.ok()) {
    if (std::string why = c.validate(); !why.empty()) r.fail(why);
  }
  const std::uint32_t n = r.count(c.max_features, 8);
  r.u32s(n, f.hashes_);
  r.f32s(n, f.idf_);
  for (std::size_t i = 0; r.ok() && i < n; ++i) {
    if (i > 0 && f.hashes_[i] <= f.hashes_[i - 1]) r.fail("vocabulary hashes not strictly increasing");
    if ((f.hashes_[i] >> c.hash_bits) != 0) r.fail("vocabulary hash outside hash_bits");
    if (!(f.idf_[i] > 0.0f)) r.fail("IDF weight not positive");
  }
  if (r.ok() && !r.at_end()) r.fail("unexpected bytes at the end");
  if (!r.ok())
    return Error{400, "invalid_request_error", "invalid routing artifact: " + r.error(), {}, {}, {}};
  f.build_table();
  return f;
}

}  // namespace sy::router::ml
