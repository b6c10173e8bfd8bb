// A span's identity as it crosses process boundaries (W3C trace context), and the baggage that travels with
// it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "telemetry/span_data.h"

namespace sy::telemetry {

struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  std::uint8_t flags = 0;  // bit 0: sampled
  std::string trace_state;
  bool remote = false;

  bool valid() const noexcept { return is_valid(trace_id) && is_valid(span_id); }
  bool sampled() const noexcept { return (flags & 1) != 0; }
};

// W3C baggage entries in order; values are already percent-decoded.
using Baggage = std::vector<std::pair<std::string, std::string>>;

}  // namespace sy::telemetry
