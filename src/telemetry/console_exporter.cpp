#include "telemetry/console_exporter.h"

#include "telemetry/otlp_encoding.h"

namespace sy::telemetry {

ExportResult ConsoleExporter::export_spans(SpanBatch spans, const Resource& resource,
                                           const InstrumentationScope& scope) noexcept {
  if (shut_ || out_ == nullptr) return ExportResult::failure;
  if (spans.empty()) return ExportResult::success;
  try {
    std::string line = encode_traces_json(spans, resource, scope);
    line += '\n';
    // One fwrite per batch: stdio's stream lock keeps the line whole next to other writers in the process.
    const bool written = std::fwrite(line.data(), 1, line.size(), out_) == line.size();
    const bool flushed = std::fflush(out_) == 0;
    return written && flushed ? ExportResult::success : ExportResult::failure;
  } catch (...) {
    return ExportResult::failure;
  }
}

}  // namespace sy::telemetry
