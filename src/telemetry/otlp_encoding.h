// Encodes a batch of spans as one OTLP ExportTraceServiceRequest: protobuf bytes or OTLP/JSON text.
// Each call yields one ResourceSpans holding one ScopeSpans.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "telemetry/encode_buffer.h"
#include "telemetry/span_batch.h"
#include "telemetry/span_data.h"

namespace sy::telemetry {

// The serialized protobuf message (Content-Type application/x-protobuf), written into `out` (emptied first,
// its storage reused). Written straight from the span data, without message objects: the same bytes
// libprotobuf writes for the message (fields in number order, proto3 defaults left out).
void encode_traces_protobuf(SpanBatch spans, const Resource& resource, const InstrumentationScope& scope,
                            EncodeBuffer& out);
// The same, as a new string.
std::string encode_traces_protobuf(SpanBatch spans, const Resource& resource,
                                   const InstrumentationScope& scope);

// Writes the request encode_traces_protobuf writes, span by span: begin() writes the resource and scope into
// `out` (emptied first), add() one span (its record may be reused as soon as add returns), finish() fixes the
// lengths and returns the request, which stays in `out`. The same bytes as encode_traces_protobuf for the
// same spans.
class TracesRequestWriter {
 public:
  void begin(EncodeBuffer& out, const Resource& resource, const InstrumentationScope& scope);
  void add(const SpanData& span);
  std::string_view finish();
  bool open() const noexcept { return out_ != nullptr; }  // between begin and finish
  std::size_t spans() const noexcept { return spans_; }   // added since begin

 private:
  EncodeBuffer* out_ = nullptr;
  std::size_t resource_spans_at_ = 0;
  std::size_t scope_spans_at_ = 0;
  std::size_t spans_ = 0;
};

// OTLP/JSON (Content-Type application/json): lowerCamelCase names, hex trace and span ids, enums as integers,
// 64-bit integers as decimal strings; empty and default fields are left out.
std::string encode_traces_json(SpanBatch spans, const Resource& resource, const InstrumentationScope& scope);

// ExportTraceServiceResponse.partial_success.rejected_spans from a collector's protobuf response; 0 when the
// response is empty, not such a message, or rejects nothing. Read without libprotobuf, which the gateway
// does not load.
std::int64_t decode_rejected_spans(std::string_view response) noexcept;

}  // namespace sy::telemetry
