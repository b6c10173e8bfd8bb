// Encodes a batch of spans as one OTLP ExportTraceServiceRequest: protobuf bytes or OTLP/JSON text.
// Each call yields one ResourceSpans holding one ScopeSpans.
#pragma once

#include <span>
#include <string>

#include "telemetry/span_data.h"

namespace opentelemetry::proto::collector::trace::v1 {
class ExportTraceServiceRequest;
}

namespace sy::telemetry {

// The serialized protobuf message (Content-Type application/x-protobuf).
std::string encode_traces_protobuf(std::span<const SpanData> spans, const Resource& resource,
                                   const InstrumentationScope& scope);

// OTLP/JSON (Content-Type application/json): lowerCamelCase names, hex trace and span ids, enums as integers,
// 64-bit integers as decimal strings; empty and default fields are left out.
std::string encode_traces_json(std::span<const SpanData> spans, const Resource& resource,
                               const InstrumentationScope& scope);

// Fills `out` (cleared first) for callers that hand the message to a generated stub; only they include the
// generated headers.
void build_export_request(std::span<const SpanData> spans, const Resource& resource,
                          const InstrumentationScope& scope,
                          opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& out);

}  // namespace sy::telemetry
