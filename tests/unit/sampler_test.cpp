// Unit tests for the samplers (sampler.h): OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG parsing through an
// injected environment, always_on/off, traceidratio (proportion, determinism, monotonicity) and the
// parentbased_ forms.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "telemetry/id_generator.h"
#include "telemetry/sampler.h"

namespace sy::telemetry {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Sampler sampler_from(std::map<std::string, std::string> vars, Warnings& w) {
  return Sampler::from_env(env_of(std::move(vars)), w);
}

SpanContext parent(bool sampled) {
  SpanContext ctx;
  IdGenerator gen;
  ctx.trace_id = gen.trace_id();
  ctx.span_id = gen.span_id();
  ctx.flags = sampled ? 1 : 0;
  ctx.remote = true;
  return ctx;
}

// The share of `n` fresh trace ids that `s` samples as roots.
double sampled_share(const Sampler& s, int n, bool xray_ids = false) {
  IdGenerator gen(xray_ids);
  int yes = 0;
  for (int i = 0; i < n; ++i) {
    if (s.should_sample(SpanContext{}, gen.trace_id())) ++yes;
  }
  return static_cast<double>(yes) / n;
}

TEST(SamplerFromEnv, DefaultIsParentBasedAlwaysOn) {
  Warnings w;
  Sampler s = sampler_from({}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(s.description(), "parentbased_always_on");
  IdGenerator gen;
  EXPECT_TRUE(s.should_sample(SpanContext{}, gen.trace_id()));
  EXPECT_TRUE(s.should_sample(parent(true), gen.trace_id()));
  EXPECT_FALSE(s.should_sample(parent(false), gen.trace_id()));
}

TEST(SamplerFromEnv, DefaultConstructedIsParentBasedAlwaysOn) {
  Sampler s;
  EXPECT_EQ(s.description(), "parentbased_always_on");
}

TEST(SamplerFromEnv, EmptyValueMeansDefault) {
  // OTel environment-variable spec: an empty value is treated exactly as unset (so no warning either).
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", ""}}, w);
  EXPECT_EQ(s.description(), "parentbased_always_on");
  EXPECT_TRUE(w.empty()) << w.front();
}

TEST(SamplerFromEnv, AlwaysOn) {
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "always_on"}}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(s.description(), "always_on");
  EXPECT_DOUBLE_EQ(sampled_share(s, 1000), 1.0);
  // Not parent based: an unsampled parent does not stop it.
  EXPECT_TRUE(s.should_sample(parent(false), parent(false).trace_id));
}

TEST(SamplerFromEnv, AlwaysOff) {
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "always_off"}}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(s.description(), "always_off");
  EXPECT_DOUBLE_EQ(sampled_share(s, 1000), 0.0);
  EXPECT_FALSE(s.should_sample(parent(true), parent(true).trace_id));
}

TEST(SamplerFromEnv, ArgIsIgnoredForNonRatioSamplers) {
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "always_on"}, {"OTEL_TRACES_SAMPLER_ARG", "garbage"}}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_DOUBLE_EQ(sampled_share(s, 100), 1.0);
}

TEST(SamplerRatio, ArgZeroSamplesNothing) {
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0"}}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(s.description(), "traceidratio");
  EXPECT_DOUBLE_EQ(sampled_share(s, 5000), 0.0);
}

TEST(SamplerRatio, ArgOneSamplesEverything) {
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "1"}}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_DOUBLE_EQ(sampled_share(s, 5000), 1.0);
  // Even the extreme trace ids.
  TraceId max_id;
  max_id.fill(0xff);
  EXPECT_TRUE(s.should_sample(SpanContext{}, max_id));
}

TEST(SamplerRatio, MissingArgMeansOne) {
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "traceidratio"}}, w);
  EXPECT_TRUE(w.empty());
  EXPECT_DOUBLE_EQ(sampled_share(s, 2000), 1.0);
}

TEST(SamplerRatio, QuarterSamplesAboutAQuarter) {
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}}, w);
  EXPECT_TRUE(w.empty());
  const double share = sampled_share(s, 40000);
  EXPECT_NEAR(share, 0.25, 0.03);
}

TEST(SamplerRatio, QuarterSamplesAboutAQuarterOfXrayIds) {
  // X-Ray ids carry the clock in their first four bytes: the decision must rest on the random part only.
  Sampler s(Sampler::Root::ratio, 0.25, false);
  EXPECT_NEAR(sampled_share(s, 40000, true), 0.25, 0.03);
}

TEST(SamplerRatio, OtherRatios) {
  for (double ratio : {0.01, 0.1, 0.5, 0.9}) {
    Sampler s(Sampler::Root::ratio, ratio, false);
    EXPECT_NEAR(sampled_share(s, 40000), ratio, 0.03) << ratio;
  }
}

TEST(SamplerRatio, DeterministicForTheSameTraceId) {
  Sampler a(Sampler::Root::ratio, 0.25, false);
  Sampler b(Sampler::Root::ratio, 0.25, false);
  IdGenerator gen;
  for (int i = 0; i < 2000; ++i) {
    const TraceId id = gen.trace_id();
    const bool first = a.should_sample(SpanContext{}, id);
    for (int k = 0; k < 3; ++k) ASSERT_EQ(a.should_sample(SpanContext{}, id), first);
    ASSERT_EQ(b.should_sample(SpanContext{}, id), first);  // another service with the same ratio agrees
  }
}

TEST(SamplerRatio, SampledAtALowerRatioIsSampledAtAHigherOne) {
  // OTel SDK spec: any trace sampled at a given ratio is also sampled at every larger ratio.
  Sampler low(Sampler::Root::ratio, 0.1, false);
  Sampler mid(Sampler::Root::ratio, 0.25, false);
  Sampler high(Sampler::Root::ratio, 0.6, false);
  IdGenerator gen;
  for (int i = 0; i < 20000; ++i) {
    const TraceId id = gen.trace_id();
    if (low.should_sample(SpanContext{}, id)) {
      ASSERT_TRUE(mid.should_sample(SpanContext{}, id));
    }
    if (mid.should_sample(SpanContext{}, id)) {
      ASSERT_TRUE(high.should_sample(SpanContext{}, id));
    }
  }
}

TEST(SamplerRatio, TraceIdRatioIgnoresParent) {
  // Not parent based: the decision is the trace id's, whatever the parent says.
  Sampler none(Sampler::Root::ratio, 0.0, false);
  EXPECT_FALSE(none.should_sample(parent(true), parent(true).trace_id));
  Sampler all(Sampler::Root::ratio, 1.0, false);
  EXPECT_TRUE(all.should_sample(parent(false), parent(false).trace_id));
}

TEST(SamplerRatio, BadArgWarnsAndUsesOne) {
  for (const char* arg : {"abc", "-0.5", "1.5", "0.25x", " 0.5x", "nan", "inf", "-inf"}) {
    Warnings w;
    Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", arg}}, w);
    ASSERT_EQ(w.size(), 1u) << "arg '" << arg << "'";
    EXPECT_NE(w[0].find("OTEL_TRACES_SAMPLER_ARG"), std::string::npos);
    EXPECT_EQ(s.description(), "traceidratio");
    EXPECT_DOUBLE_EQ(sampled_share(s, 500), 1.0) << "arg '" << arg << "'";
  }
}

TEST(SamplerRatio, EmptyArgMeansUnset) {
  // OTel environment-variable spec: an empty value is treated exactly as unset: ratio 1.0, nothing to warn
  // about.
  Warnings w;
  Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", ""}}, w);
  EXPECT_TRUE(w.empty()) << w.front();
  EXPECT_DOUBLE_EQ(sampled_share(s, 500), 1.0);
}

TEST(SamplerParentBased, FollowsAValidParentsSampledFlag) {
  for (const char* name : {"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}) {
    Warnings w;
    Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", name}, {"OTEL_TRACES_SAMPLER_ARG", "0.5"}}, w);
    EXPECT_TRUE(w.empty()) << name;
    EXPECT_EQ(s.description(), name);
    IdGenerator gen;
    for (int i = 0; i < 200; ++i) {
      const TraceId id = gen.trace_id();
      ASSERT_TRUE(s.should_sample(parent(true), id)) << name;
      ASSERT_FALSE(s.should_sample(parent(false), id)) << name;
    }
  }
}

TEST(SamplerParentBased, RootsUseTheRootSampler) {
  Warnings w;
  EXPECT_DOUBLE_EQ(sampled_share(sampler_from({{"OTEL_TRACES_SAMPLER", "parentbased_always_on"}}, w), 1000),
                   1.0);
  EXPECT_DOUBLE_EQ(sampled_share(sampler_from({{"OTEL_TRACES_SAMPLER", "parentbased_always_off"}}, w), 1000),
                   0.0);
  const double share = sampled_share(
      sampler_from({{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}},
                   w),
      40000);
  EXPECT_NEAR(share, 0.25, 0.03);
  EXPECT_TRUE(w.empty());
}

TEST(SamplerParentBased, InvalidParentCountsAsRoot) {
  // A context with a trace id but no span id is not a valid parent: the root sampler decides.
  Sampler off(Sampler::Root::always_off, 0.0, true);
  SpanContext half = parent(true);
  half.span_id = SpanId{};
  EXPECT_FALSE(off.should_sample(half, half.trace_id));
  Sampler on(Sampler::Root::always_on, 1.0, true);
  SpanContext unsampled_half = parent(false);
  unsampled_half.span_id = SpanId{};
  EXPECT_TRUE(on.should_sample(unsampled_half, unsampled_half.trace_id));
}

TEST(SamplerParentBased, BadArgWarnsAndUsesOne) {
  Warnings w;
  Sampler s = sampler_from(
      {{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "2"}}, w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(s.description(), "parentbased_traceidratio");
  EXPECT_DOUBLE_EQ(sampled_share(s, 500), 1.0);
}

TEST(SamplerFromEnv, UnknownSamplerWarnsAndUsesDefault) {
  for (const char* name : {"jaeger_remote", "xray", "sometimes", "ALWAYS_ON_"}) {
    Warnings w;
    Sampler s = sampler_from({{"OTEL_TRACES_SAMPLER", name}}, w);
    ASSERT_EQ(w.size(), 1u) << name;
    EXPECT_NE(w[0].find(name), std::string::npos) << w[0];
    EXPECT_EQ(s.description(), "parentbased_always_on");
    EXPECT_FALSE(s.should_sample(parent(false), parent(false).trace_id));
    EXPECT_TRUE(s.should_sample(SpanContext{}, parent(false).trace_id));
  }
}

}  // namespace
}  // namespace sy::telemetry
