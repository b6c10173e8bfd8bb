// Traces + feedback -> training data (`switchyard traces-to-dataset`), the step that closes the loop traces
// -> dataset -> train -> hot reload. Reads OTLP/JSON exports (ExportTraceServiceRequest documents: one per
// file, one per line, or concatenated, as the gateway's OTLP/HTTP JSON exporter sends them and a collector's
// file exporter writes them), finds each request by its SERVER span's `switchyard.request_id`, takes the text
// it was routed on from its route span's `router.routing_text` (opt-in: trace_routing_text) or else from the
// captured prompt
// (`gen_ai.prompt`, with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT), joins a feedback file of JSON
// lines
// {"request_id", "model", "score"}, and writes training lines {"query", "scores": {model: score}}: one per
// distinct query, every model's feedback for it merged (several scores of one model averaged). Training wants
// every line to score the same models, so by default only queries scored for every model are written.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/error.h"

namespace sy::router::ml {

// What the spans of one request say.
struct TracedRequest {
  std::string query;  // the routing text
  std::string model;  // the model that served it: router.learned_model, else router.model_selected
};

// Spans gathered from any number of exports; a request's spans may be spread over several.
class TraceIndex {
 public:
  // Adds the spans of OTLP/JSON text; an Error (naming `source`) when it is not OTLP/JSON.
  std::optional<Error> add(std::string_view otlp_json, std::string_view source);
  // Request id -> its query and model, for every SERVER span that carries a request id.
  std::unordered_map<std::string, TracedRequest> requests() const;
  std::size_t spans() const noexcept { return spans_; }

 private:
  struct Server {
    std::string request_id;
    std::string prompt;  // gen_ai.prompt, when captured
  };
  struct Route {
    std::string parent;  // trace id + parent span id
    std::int64_t attempt = 0;
    std::string text;
    std::string model;
  };
  std::unordered_map<std::string, Server> servers_;  // by trace id + span id
  std::vector<Route> routes_;
  std::size_t spans_ = 0;
};

struct Feedback {
  std::string request_id;
  std::string model;  // empty: the model the traces say served the request
  double score = 0;   // 0..1
};

// JSON lines of {"request_id": "...", "model": "...", "score": 0..1}; blank lines are skipped. An Error names
// the line at fault.
Result<std::vector<Feedback>> parse_feedback(std::string_view jsonl, std::string_view source);

struct DatasetSummary {
  std::size_t feedback = 0;       // feedback lines read
  std::size_t joined = 0;         // of them, matched to a traced request with a query and a model
  std::size_t unmatched = 0;      // request id in no SERVER span
  std::size_t without_text = 0;   // request found, but no routing text on its spans
  std::size_t without_model = 0;  // no model in the feedback nor on the route span
  std::size_t incomplete = 0;     // queries left out: not scored for every model
  std::size_t queries = 0;        // training lines written
};

struct DatasetOptions {
  std::vector<std::string> models;  // the models every line must score (others are dropped); empty: every
                                    // model the joined feedback names
  bool partial = false;             // also write queries scored for only some of the models
};

// The training lines, in the order their queries first appear in the feedback.
std::string build_dataset(const std::unordered_map<std::string, TracedRequest>& requests,
                          const std::vector<Feedback>& feedback, const DatasetOptions& options,
                          DatasetSummary& summary);

}  // namespace sy::router::ml
