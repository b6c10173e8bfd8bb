#include "telemetry/sampler.h"

#include <charconv>
#include <cmath>

namespace sy::telemetry {

Sampler Sampler::from_env(const EnvLookup& raw_env, Warnings& warnings) {
  const EnvLookup env = ignoring_empty(raw_env);  // empty means unset, as the spec says
  std::string name = env("OTEL_TRACES_SAMPLER").value_or("parentbased_always_on");
  double ratio = 1.0;
  const bool wants_ratio = name == "traceidratio" || name == "parentbased_traceidratio";
  if (wants_ratio) {
    if (auto arg = env("OTEL_TRACES_SAMPLER_ARG")) {
      double v = 0;
      auto [ptr, ec] = std::from_chars(arg->data(), arg->data() + arg->size(), v);
      if (ec != std::errc() || ptr != arg->data() + arg->size() || !(v >= 0.0 && v <= 1.0)) {
        warnings.push_back("OTEL_TRACES_SAMPLER_ARG: expected a ratio in [0, 1]; using 1.0");
      } else {
        ratio = v;
      }
    }
  }
  if (name == "always_on") return Sampler(Root::always_on, 1.0, false);
  if (name == "always_off") return Sampler(Root::always_off, 0.0, false);
  if (name == "traceidratio") return Sampler(Root::ratio, ratio, false);
  if (name == "parentbased_always_on") return Sampler(Root::always_on, 1.0, true);
  if (name == "parentbased_always_off") return Sampler(Root::always_off, 0.0, true);
  if (name == "parentbased_traceidratio") return Sampler(Root::ratio, ratio, true);
  warnings.push_back("OTEL_TRACES_SAMPLER: unsupported sampler '" + name + "'; using parentbased_always_on");
  return Sampler(Root::always_on, 1.0, true);
}

bool Sampler::root_decision(const TraceId& id) const noexcept {
  switch (root_) {
    case Root::always_on:
      return true;
    case Root::always_off:
      return false;
    case Root::ratio: {
      if (ratio_ >= 1.0) return true;
      if (ratio_ <= 0.0) return false;
      // The trace id's last 8 bytes (the random part in every id format) as a 63-bit number, compared with
      // the ratio's share of that range: every service sampling by ratio agrees on the same traces.
      std::uint64_t v = 0;
      for (int i = 8; i < 16; ++i) v = (v << 8) | id[static_cast<std::size_t>(i)];
      v >>= 1;
      const double bound = ratio_ * 9223372036854775808.0;  // 2^63
      return static_cast<double>(v) < bound;
    }
  }
  return true;
}

bool Sampler::should_sample(const SpanContext& parent, const TraceId& trace_id) const noexcept {
  if (parent_based_ && parent.valid()) return parent.sampled();
  return root_decision(trace_id);
}

std::string Sampler::description() const {
  std::string root = root_ == Root::always_on    ? "always_on"
                     : root_ == Root::always_off ? "always_off"
                                                 : "traceidratio";
  return parent_based_ ? "parentbased_" + root : root;
}

}  // namespace sy::telemetry
