// The size baselines, llmrouter-smallest and llmrouter-largest: a fixed preference by parameter count from
// the models file (then by price, then by name), whatever the request says. Their artifact has no features.
#include <algorithm>
#include <numeric>

#include "router/ml/learner.h"

namespace sy::router::ml {
namespace {

class SizePredictor final : public LearnedPredictor {
 public:
  SizePredictor(LoadedArtifact base, bool largest) : LearnedPredictor(std::move(base)) {
    const auto& m = base_.models;
    std::vector<std::size_t> order(m.size());
    std::iota(order.begin(), order.end(), 0);
    auto price = [&](std::size_t i) { return m[i].input_price + m[i].output_price; };
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (m[a].size_b != m[b].size_b) return largest ? m[a].size_b > m[b].size_b : m[a].size_b < m[b].size_b;
      if (price(a) != price(b)) return largest ? price(a) > price(b) : price(a) < price(b);
      return m[a].name < m[b].name;
    });
    quality_.resize(m.size());
    for (std::size_t rank = 0; rank < order.size(); ++rank)
      quality_[order[rank]] = 1.0f - static_cast<float>(rank) / static_cast<float>(order.size());
  }

  void score(const FeatureVector&, std::span<float> out) const override {
    std::copy_n(quality_.begin(), std::min(out.size(), quality_.size()), out.begin());
  }

 private:
  std::vector<float> quality_;  // 1 for the preferred model, then down by 1/n a rank
};

}  // namespace

std::string train_smallest(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&) {
  return {};
}
std::string train_largest(const TrainingSet&, const Params&, std::uint64_t, WorkerPool&) {
  return {};
}

Result<std::shared_ptr<const Predictor>> load_smallest(ByteReader&, LoadedArtifact base) {
  return std::shared_ptr<const Predictor>(std::make_shared<SizePredictor>(std::move(base), false));
}
Result<std::shared_ptr<const Predictor>> load_largest(ByteReader&, LoadedArtifact base) {
  return std::shared_ptr<const Predictor>(std::make_shared<SizePredictor>(std::move(base), true));
}

}  // namespace sy::router::ml
