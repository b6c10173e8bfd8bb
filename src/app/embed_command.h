// `switchyard embed`: the embeddings of a dataset's queries through a running gateway's /v1/embeddings (any
// provider behind it), written as the embeddings file `switchyard train --embeddings` reads.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace sy::app {

struct EmbedCommand {
  std::string url = "http://127.0.0.1:4000";  // the gateway (a trailing /v1 is accepted)
  std::string model;                          // the model_name to embed with: the config's embedding_model
  std::string key;                            // the gateway's API key; else $SWITCHYARD_API_KEY
  std::string data;                           // JSON lines with a "query"
  std::string out;                            // JSON lines of {"query", "model", "embedding"}
  std::size_t batch = 64;                     // queries per request
  double timeout_seconds = 60;                // per request
};

// Returns the process exit code; prints a summary on stdout and errors on stderr (never the key).
int run_embed(const EmbedCommand& command);

}  // namespace sy::app
