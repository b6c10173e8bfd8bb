// `switchyard traces-to-dataset`: exported OTLP/JSON spans + a feedback file -> training lines for
// `switchyard train` (router/ml/traces_dataset.h says how they are joined).
#pragma once

#include <string>
#include <vector>

namespace sy::app {

struct TracesToDatasetOptions {
  std::vector<std::string> span_files;
  std::string feedback_file;
  std::string out_file;
  std::string models_file;  // models.json / llm_candidates.json: the models every line scores (optional)
  bool partial = false;     // also write queries not scored for every model
};

// Returns the process exit code; prints a summary on stdout and errors on stderr.
int traces_to_dataset(const TracesToDatasetOptions& options);

}  // namespace sy::app
