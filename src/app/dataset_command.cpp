#include "app/dataset_command.h"

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "config/llm_candidates.h"
#include "router/ml/traces_dataset.h"

namespace sy::app {
namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(text).str();
}

}  // namespace

int traces_to_dataset(const TracesToDatasetOptions& options) {
  router::ml::TraceIndex index;
  for (const std::string& path : options.span_files) {
    auto text = read_text(path);
    if (!text) {
      std::fprintf(stderr, "%s: cannot be read\n", path.c_str());
      return 1;
    }
    if (auto error = index.add(*text, path)) {
      std::fprintf(stderr, "%s\n", error->message.c_str());
      return 1;
    }
  }
  auto feedback_text = read_text(options.feedback_file);
  if (!feedback_text) {
    std::fprintf(stderr, "%s: cannot be read\n", options.feedback_file.c_str());
    return 1;
  }
  auto feedback = router::ml::parse_feedback(*feedback_text, options.feedback_file);
  if (!feedback) {
    std::fprintf(stderr, "%s\n", feedback.error().message.c_str());
    return 1;
  }
  router::ml::DatasetOptions dataset_options;
  dataset_options.partial = options.partial;
  if (!options.models_file.empty()) {
    auto models = config::load_llm_candidates(options.models_file);
    if (!models) {
      std::fprintf(stderr, "%s\n", models.error().message.c_str());
      return 1;
    }
    for (const auto& m : models.value()) dataset_options.models.push_back(m.name);
  }
  const auto requests = index.requests();
  router::ml::DatasetSummary summary;
  const std::string lines = router::ml::build_dataset(requests, feedback.value(), dataset_options, summary);
  {
    std::ofstream out(options.out_file, std::ios::binary | std::ios::trunc);
    out << lines;
    out.flush();
    if (!out) {
      std::fprintf(stderr, "%s: cannot be written\n", options.out_file.c_str());
      return 1;
    }
  }
  std::printf(
      "%zu spans, %zu traced requests; %zu feedback lines: %zu joined, %zu with an unknown request id, %zu "
      "without routing text, %zu without a model; %zu queries left out as not scored for every model; %zu "
      "training lines written to %s\n",
      index.spans(), requests.size(), summary.feedback, summary.joined, summary.unmatched,
      summary.without_text, summary.without_model, summary.incomplete, summary.queries,
      options.out_file.c_str());
  if (summary.without_text > 0) {
    std::fprintf(
        stderr,
        "note: requests without routing text: set routing_strategy_args.trace_routing_text: true (or "
        "capture message content) for the requests you want to learn from\n");
  }
  if (summary.incomplete > 0 && !options.partial) {
    std::fprintf(
        stderr,
        "note: training needs every line to score the same models; give feedback for every model of a "
        "query (or --partial to write the incomplete ones too)\n");
  }
  if (summary.queries == 0) {
    std::fprintf(stderr, "no training line written\n");
    return 1;
  }
  return 0;
}

}  // namespace sy::app
