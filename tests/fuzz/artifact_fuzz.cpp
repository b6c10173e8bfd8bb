// libFuzzer target for the routing-artifact loader (load_predictor). When the first input byte's top bit is
// set, the trailing SHA-256 is rewritten first, so that mutations get past the checksum and reach the header
// and section parsers; the rest of the input is the file. Whatever loads must predict for a few texts without
// fault (with an embedding of its own dimension, one of another and none), and rank_candidates must turn its
// predictions into a permutation.
// The seed corpus (tests/fuzz/corpus/artifact_fuzz/) holds artifacts of every strategy trained by
// `switchyard train` on tests/fixtures/routing/ (small parameters), some with embeddings (`--embeddings`),
// and broken variants of them.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "router/ml/artifact.h"
#include "router/ml/predictor.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void reseal(std::string& bytes) {
  using sy::router::ml::kChecksumBytes;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size() - kChecksumBytes, digest, &size, EVP_sha256(), nullptr);
  bytes.replace(bytes.size() - kChecksumBytes, kChecksumBytes, reinterpret_cast<const char*>(digest), size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ml = sy::router::ml;
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 0x80) && bytes.size() >= ml::kArtifactPreamble + ml::kChecksumBytes) reseal(bytes);

  auto loaded = ml::load_predictor(ml::as_bytes(bytes));
  if (!loaded.ok()) {
    check(!loaded.error().message.empty());
    return 0;
  }
  const ml::Predictor& p = *loaded.value();
  const std::size_t n = p.models().size();
  check(n > 0);
  check(p.checksum().size() == 64);
  std::vector<float> quality(n);
  std::vector<double> cost(n);
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) cost[i] = static_cast<double>(i % 3);
  const std::string long_text(3000, 'a');
  std::vector<float> embedding(p.embedding_dimension(), 0.5f), other(p.embedding_dimension() + 1, -0.5f);
  if (!embedding.empty()) embedding[0] = -1.0f;
  for (const std::string& text : {std::string(), std::string("Write a python function to sort a list."),
                                  std::string("Solve 3x + 4 = 19."), long_text}) {
    for (std::span<const float> e :
         {std::span<const float>(), std::span<const float>(embedding), std::span<const float>(other)}) {
      const bool used = p.predict(text, e, quality);
      check(!used || e.size() == p.embedding_dimension());
      ml::rank_candidates(quality, cost, {0.1, 1.0}, order);
      std::vector<bool> seen(n, false);
      for (std::uint32_t i : order) {
        check(i < n && !seen[i]);
        seen[i] = true;
      }
    }
  }
  return 0;
}
