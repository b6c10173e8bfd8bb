// Reads and writes trace context on HTTP headers: W3C `traceparent`/`tracestate`, W3C `baggage`, and AWS
// X-Ray's `X-Amzn-Trace-Id`, selected by OTEL_PROPAGATORS. Malformed headers are ignored, never fatal.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "telemetry/context.h"
#include "telemetry/env.h"

namespace sy::telemetry {

using HeaderGetter = std::function<std::string_view(std::string_view name)>;  // empty when absent
// The value is the caller's only during the call: a setter that keeps it copies it.
using HeaderSetter = std::function<void(std::string_view name, std::string_view value)>;

std::optional<SpanContext> parse_traceparent(std::string_view value) noexcept;
inline constexpr std::size_t kTraceparentSize = 55;  // "00-" 32 hex "-" 16 hex "-" 2 hex
std::string format_traceparent(const SpanContext& ctx);
// The same, written into `out`.
void format_traceparent(const SpanContext& ctx, std::span<char, kTraceparentSize> out) noexcept;
// Keeps a tracestate that is well formed (at most 32 list members, at most 512 characters); empty otherwise.
std::string sanitize_tracestate(std::string_view value);
// Appends the entries of a `baggage` header (percent-decoded; malformed members skipped) to `out`.
void parse_baggage(std::string_view value, Baggage& out);
std::string format_baggage(const Baggage& baggage);
std::optional<SpanContext> parse_xray(std::string_view value) noexcept;
std::string format_xray(const SpanContext& ctx);

class Propagators {
 public:
  // "tracecontext,baggage" (the default), "xray", "none", any comma list; unknown names warn and are skipped.
  static Propagators from_list(std::string_view list, Warnings& warnings);

  void extract(const HeaderGetter& get, SpanContext& context, Baggage& baggage) const;
  void inject(const SpanContext& context, const Baggage& baggage, const HeaderSetter& set) const;

 private:
  bool tracecontext_ = false;
  bool baggage_ = false;
  bool xray_ = false;
};

}  // namespace sy::telemetry
