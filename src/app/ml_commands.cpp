#include "app/ml_commands.h"

#include <filesystem>
#include <iostream>

#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
#include "router/ml/predictor.h"

namespace sy::app {

namespace ml = router::ml;

int run_train(const ml::TrainOptions& options) {
  Result<ml::TrainSummary> summary = ml::train(options);
  if (!summary) {
    std::cerr << "train: " << summary.error().message << "\n";
    return 1;
  }
  std::cout << ml::summary_text(summary.value());
  return 0;
}

int run_eval(const EvalCommand& c) {
  // An artifact directory holding one artifact is accepted for the artifact itself.
  std::string path = c.artifact;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".syra") found.push_back(entry.path().string());
    }
    if (found.size() != 1) {
      std::cerr << "eval: " << path << " holds " << found.size() << " .syra artifacts; name one\n";
      return 1;
    }
    path = found.front();
  }
  Result<std::shared_ptr<const ml::Predictor>> predictor = ml::load_predictor(path);
  if (!predictor) {
    std::cerr << "eval: " << predictor.error().message << "\n";
    return 1;
  }
  Result<std::vector<ml::ModelInfo>> models = ml::load_candidates(c.models);
  if (!models) {
    std::cerr << "eval: " << models.error().message << "\n";
    return 1;
  }
  Result<ml::Dataset> data = ml::load_dataset(c.data);
  if (!data) {
    std::cerr << "eval: " << data.error().message << "\n";
    return 1;
  }
  if (!c.embeddings.empty()) {
    if (auto error = ml::attach_embeddings(data.value(), c.embeddings)) {
      std::cerr << "eval: " << error->message << "\n";
      return 1;
    }
  }
  Result<ml::EvalReport> report = ml::evaluate(*predictor.value(), data.value(), models.value(), c.options);
  if (!report) {
    std::cerr << "eval: " << report.error().message << "\n";
    return 1;
  }
  std::cout << (c.json ? ml::report_json(report.value()) : ml::report_text(report.value()));
  return 0;
}

int run_split(const SplitCommand& c) {
  Result<ml::SplitCounts> counts =
      ml::split_dataset(c.data, c.test_fraction, c.seed, c.train_out, c.test_out);
  if (!counts) {
    std::cerr << "split: " << counts.error().message << "\n";
    return 1;
  }
  std::cout << "split " << c.data << ": " << counts.value().train << " rows to " << c.train_out << ", "
            << counts.value().test << " rows to " << c.test_out << "\n";
  return 0;
}

}  // namespace sy::app
