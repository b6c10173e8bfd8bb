// Decides whether a new span is recorded and exported: always_on, always_off, traceidratio and their
// parentbased_ forms, as OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG select them.
#pragma once

#include <string>
#include <string_view>

#include "telemetry/context.h"
#include "telemetry/env.h"

namespace sy::telemetry {

class Sampler {
 public:
  enum class Root { always_on, always_off, ratio };

  Sampler() = default;
  Sampler(Root root, double ratio, bool parent_based)
      : root_(root), ratio_(ratio), parent_based_(parent_based) {}

  // The spec's default is parentbased_always_on. Unknown names or bad arguments warn and fall back to it.
  static Sampler from_env(const EnvLookup& env, Warnings& warnings);

  // `parent` is the context the new span continues (invalid for a root span).
  bool should_sample(const SpanContext& parent, const TraceId& trace_id) const noexcept;
  std::string description() const;

 private:
  bool root_decision(const TraceId& trace_id) const noexcept;

  Root root_ = Root::always_on;
  double ratio_ = 1.0;
  bool parent_based_ = true;
};

}  // namespace sy::telemetry
