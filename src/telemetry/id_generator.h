// Makes trace and span ids from a fast per-thread random source; the X-Ray flavour puts the epoch seconds in
// the trace id's first four bytes, as AWS X-Ray's older pipelines require.
#pragma once

#include <cstdint>

#include "telemetry/span_data.h"

namespace sy::telemetry {

class IdGenerator {
 public:
  explicit IdGenerator(bool xray_compatible = false) : xray_(xray_compatible) {}
  TraceId trace_id() const noexcept;
  SpanId span_id() const noexcept;
  bool xray_compatible() const noexcept { return xray_; }

 private:
  bool xray_;
};

}  // namespace sy::telemetry
