// Rewrites what an OpenAI-compatible upstream answers into what the client sees: the public model name in
// place of the deployment's, usage kept out of a stream when only the gateway asked for it, and what the
// answer says (id, model, finish reasons, usage, text) noted for traces and routing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.h"
#include "util/json_scan.h"

namespace sy::providers::openai {

enum class Rewrite { not_json, error_event, ok, drop };

struct RewriteOptions {
  std::string_view public_model;
  ResponseMeta* meta = nullptr;
  bool strip_usage = false;  // the gateway asked for usage the client did not: keep it out of what it sees
  bool capture_content = false;
};

// One whole JSON document (a completion, or a chunk), parsed and written again into `out`.
Rewrite rewrite_document(std::string_view in, const RewriteOptions& options, std::string& out);

// What the chunk rewriter does and may leave as it came.
enum class Framing {
  sse_event,  // a stream's chunk: written on one line (a payload spread over lines is parsed and written
              // again)
  document,   // a whole answer: line breaks between tokens pass on as they are
};

// The chunks of one stream, or one whole answer. A document is scanned (util/json_scan.h), not parsed: only
// its top-level `model` value is replaced (and, when usage is stripped, its top-level `usage` member
// removed), the rest of its text is passed on as it came; id, model, finish reasons and token counts are read
// from the scan. A document the scanner cannot vouch for, one with a top-level key (or a usage key) written
// with escapes, token counts that are not plain integers, an SSE payload spread over several lines, and every
// document when message content is captured, goes through rewrite_document instead.
class ChunkRewriter {
 public:
  explicit ChunkRewriter(const RewriteOptions& options, Framing framing = Framing::sse_event);

  Rewrite rewrite(std::string_view chunk, std::string& out);

  // How many chunks took each path (for tests).
  std::size_t scanned() const noexcept { return scanned_; }
  std::size_t parsed() const noexcept { return parsed_; }

 private:
  enum class Fast { done, unsure };
  Fast try_scan(std::string_view chunk, Rewrite& result, std::string& out);

  RewriteOptions options_;
  Framing framing_;
  std::string quoted_model_;  // the public model as a JSON string
  std::size_t scanned_ = 0;
  std::size_t parsed_ = 0;
};

}  // namespace sy::providers::openai
