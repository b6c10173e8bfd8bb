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

// OTLP/JSON (Content-Type application/json): lowerCamelCase names, hex trace and span ids, enums as integers,
// 64-bit integers as decimal strings; empty and default fields are left out.
std::string encode_traces_json(SpanBatch spans, const Resource& resource, const InstrumentationScope& scope);

// ExportTraceServiceResponse.partial_success.rejected_spans from a collector's protobuf response; 0 when the
// response is empty, not such a message, or rejects nothing. Read without libprotobuf, which the gateway
// does not load.
std::int64_t decode_rejected_spans(std::string_view response) noexcept;

}  // namespace sy::telemetry
