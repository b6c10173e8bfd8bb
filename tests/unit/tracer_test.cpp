// Unit tests for the tracer and spans (tracer.h): ids and parenting, sampling, typed attributes and their
// limits, events, status, ending. Spans reach a fake exporter through a real BatchSpanProcessor; a test reads
// them after shutting the processor down, which flushes synchronously (no waiting on timers).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "telemetry/propagation.h"
#include "telemetry/tracer.h"

namespace sy::telemetry {
namespace {

using namespace std::chrono_literals;

struct SpanSink {
  std::mutex m;
  std::vector<SpanData> spans;
};

class RecordingExporter final : public SpanExporter {
 public:
  explicit RecordingExporter(std::shared_ptr<SpanSink> sink) : sink_(std::move(sink)) {}
  ExportResult export_spans(SpanBatch spans, const Resource&, const InstrumentationScope&) noexcept override {
    std::lock_guard lock(sink_->m);
    sink_->spans.insert(sink_->spans.end(), spans.begin(), spans.end());
    return ExportResult::success;
  }
  std::string_view name() const noexcept override { return "recording"; }

 private:
  std::shared_ptr<SpanSink> sink_;
};

std::uint64_t unix_nanos_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

class TracerTest : public ::testing::Test {
 protected:
  void make(Sampler sampler = Sampler(), SpanLimits limits = SpanLimits(), bool xray_ids = false) {
    BatchSettings s;
    s.max_queue_size = 4096;
    s.max_export_batch_size = 4096;
    s.schedule_delay = std::chrono::milliseconds(60000);  // nothing leaves before flush()
    s.export_timeout = 5000ms;
    processor_ = std::make_shared<BatchSpanProcessor>(s, std::make_unique<RecordingExporter>(sink_),
                                                      Resource{}, InstrumentationScope{});
    tracer_ = std::make_unique<Tracer>(sampler, IdGenerator(xray_ids), limits, processor_);
  }
  void SetUp() override { make(); }
  void TearDown() override {
    if (processor_) processor_->shutdown(5000ms);
  }

  // Shuts the processor down (flushing everything ended so far) and returns what was exported.
  std::vector<SpanData> flush() {
    processor_->shutdown(5000ms);
    std::lock_guard lock(sink_->m);
    return sink_->spans;
  }
  SpanData only_span() {
    auto spans = flush();
    EXPECT_EQ(spans.size(), 1u);
    return spans.empty() ? SpanData{} : spans.front();
  }

  // The span of `spans` with that name (the first one when none has it, after a test failure).
  static const SpanData& named(const std::vector<SpanData>& spans, std::string_view name) {
    for (const SpanData& d : spans) {
      if (d.name == name) return d;
    }
    ADD_FAILURE() << "no span named " << name;
    return spans.front();
  }

  static const Attribute* find(const SpanData& d, std::string_view key) {
    for (const Attribute& a : d.attributes) {
      if (a.key == key) return &a;
    }
    return nullptr;
  }

  // The value of the attribute `key` as a T: a test failure (and T's default) when the span has no such
  // attribute or it holds another type, instead of a crash.
  template <class T>
  static T value_of(const SpanData& d, std::string_view key) {
    const Attribute* a = find(d, key);
    if (a == nullptr) {
      ADD_FAILURE() << "no attribute " << key;
      return T{};
    }
    const T* v = std::get_if<T>(&a->value);
    if (v == nullptr) {
      ADD_FAILURE() << "attribute " << key << " holds another type";
      return T{};
    }
    return *v;
  }

  std::shared_ptr<SpanSink> sink_ = std::make_shared<SpanSink>();
  std::shared_ptr<BatchSpanProcessor> processor_;
  std::unique_ptr<Tracer> tracer_;
};

// ---- ids and parenting ----

TEST_F(TracerTest, RootSpanGetsANewTraceId) {
  Span a = tracer_->start_span("a", SpanKind::server, SpanContext{});
  Span b = tracer_->start_span("b", SpanKind::server, SpanContext{});
  ASSERT_TRUE(a.recording());
  EXPECT_TRUE(a.context().valid());
  EXPECT_TRUE(a.context().sampled());
  EXPECT_FALSE(a.context().remote);
  EXPECT_NE(a.context().trace_id, b.context().trace_id);
  const SpanContext actx = a.context();
  a.end();
  b.end();
  auto spans = flush();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].trace_id, actx.trace_id);
  EXPECT_EQ(spans[0].span_id, actx.span_id);
  EXPECT_FALSE(is_valid(spans[0].parent_span_id));  // a root has no parent
  EXPECT_EQ(spans[0].flags & 1u, 1u);
  EXPECT_TRUE(spans[0].trace_state.empty());
}

TEST_F(TracerTest, ChildContinuesTheParentsTrace) {
  Span root = tracer_->start_span("root", SpanKind::server, SpanContext{});
  Span child = tracer_->start_span("child", SpanKind::client, root.context());
  EXPECT_EQ(child.context().trace_id, root.context().trace_id);
  EXPECT_NE(child.context().span_id, root.context().span_id);
  const SpanContext rctx = root.context(), cctx = child.context();
  child.end();
  root.end();
  auto spans = flush();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "child");
  EXPECT_EQ(spans[0].trace_id, rctx.trace_id);
  EXPECT_EQ(spans[0].span_id, cctx.span_id);
  EXPECT_EQ(spans[0].parent_span_id, rctx.span_id);
  EXPECT_EQ(spans[1].name, "root");
  EXPECT_FALSE(is_valid(spans[1].parent_span_id));
}

TEST_F(TracerTest, RemoteParentFromTraceparentIsContinuedWithItsTracestate) {
  auto remote = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(remote.has_value());
  remote->trace_state = "congo=t61rcWkgMzE";
  Span s = tracer_->start_span("POST /v1/chat/completions", SpanKind::server, *remote);
  EXPECT_EQ(to_hex(s.context().trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.context().trace_state, "congo=t61rcWkgMzE");
  EXPECT_FALSE(s.context().remote);
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(to_hex(d.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(to_hex(d.parent_span_id), "00f067aa0ba902b7");
  EXPECT_EQ(d.trace_state, "congo=t61rcWkgMzE");
}

TEST_F(TracerTest, XrayIdGeneratorPutsTheTimeInRootTraceIds) {
  make(Sampler(), SpanLimits(), true);
  const auto before = static_cast<std::uint32_t>(unix_nanos_now() / 1000000000ULL);
  Span s = tracer_->start_span("x", SpanKind::internal, SpanContext{});
  const auto after = static_cast<std::uint32_t>(unix_nanos_now() / 1000000000ULL);
  const TraceId& id = s.context().trace_id;
  const std::uint32_t secs = (std::uint32_t(id[0]) << 24) | (std::uint32_t(id[1]) << 16) |
                             (std::uint32_t(id[2]) << 8) | std::uint32_t(id[3]);
  EXPECT_GE(secs, before);
  EXPECT_LE(secs, after);
}

// ---- sampling ----

TEST_F(TracerTest, SamplerOffGivesANonRecordingSpanWithAValidContext) {
  make(Sampler(Sampler::Root::always_off, 0.0, false));
  Span s = tracer_->start_span("dropped", SpanKind::server, SpanContext{});
  EXPECT_FALSE(s.recording());
  EXPECT_TRUE(s.context().valid());
  EXPECT_EQ(s.context().flags, 0);
  EXPECT_FALSE(s.context().sampled());
  // Everything on a non-recording span is a no-op.
  s.set_attribute("k", "v");
  s.add_event("e");
  s.set_status(StatusCode::error, "boom");
  EXPECT_EQ(s.status(), StatusCode::unset);
  // Its context still propagates (with the sampled flag off).
  EXPECT_EQ(format_traceparent(s.context()).substr(53), "00");
  Span child = tracer_->start_span("child", SpanKind::client, s.context());
  EXPECT_EQ(child.context().trace_id, s.context().trace_id);
  s.end();
  child.end();
  EXPECT_TRUE(flush().empty());
  EXPECT_EQ(processor_->dropped(), 0u);
}

TEST_F(TracerTest, ParentBasedFollowsAnUnsampledRemoteParent) {
  auto remote = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(remote.has_value());
  Span s = tracer_->start_span("server", SpanKind::server, *remote);
  EXPECT_FALSE(s.recording());
  EXPECT_TRUE(s.context().valid());
  EXPECT_EQ(to_hex(s.context().trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(to_hex(s.context().span_id), "00f067aa0ba902b7");
  EXPECT_EQ(s.context().flags, 0);
  s.end();
  EXPECT_TRUE(flush().empty());
}

TEST_F(TracerTest, NoProcessorMeansNonRecordingButPropagatable) {
  Tracer t(Sampler(), IdGenerator(), SpanLimits(), nullptr);
  Span s = t.start_span("x", SpanKind::server, SpanContext{});
  EXPECT_FALSE(s.recording());
  EXPECT_TRUE(s.context().valid());
  EXPECT_TRUE(s.context().sampled());
  s.set_attribute("k", 1);
  s.end();
}

// ---- attributes ----

TEST_F(TracerTest, AttributeOverloadsKeepTheirTypes) {
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("bool", true);
  s.set_attribute("double", 0.5);
  s.set_attribute("int", 42);
  s.set_attribute("int64", std::int64_t{1} << 40);
  s.set_attribute("cstr", "text");
  s.set_attribute("view", std::string_view("view"));
  s.set_attribute("string", std::string("owned"));
  s.set_attribute("strings", std::vector<std::string>{"stop", "length"});
  s.end();
  SpanData d = only_span();
  ASSERT_EQ(d.attributes.size(), 8u);
  ASSERT_NE(find(d, "bool"), nullptr);
  ASSERT_TRUE(std::holds_alternative<bool>(find(d, "bool")->value));
  EXPECT_TRUE(value_of<bool>(d, "bool"));
  ASSERT_TRUE(std::holds_alternative<double>(find(d, "double")->value));
  EXPECT_DOUBLE_EQ(value_of<double>(d, "double"), 0.5);
  ASSERT_TRUE(std::holds_alternative<std::int64_t>(find(d, "int")->value));
  EXPECT_EQ(value_of<std::int64_t>(d, "int"), 42);
  ASSERT_TRUE(std::holds_alternative<std::int64_t>(find(d, "int64")->value));
  EXPECT_EQ(value_of<std::int64_t>(d, "int64"), std::int64_t{1} << 40);
  ASSERT_TRUE(std::holds_alternative<std::string>(find(d, "cstr")->value));
  EXPECT_EQ(value_of<std::string>(d, "cstr"), "text");
  ASSERT_TRUE(std::holds_alternative<std::string>(find(d, "view")->value));
  EXPECT_EQ(value_of<std::string>(d, "view"), "view");
  ASSERT_TRUE(std::holds_alternative<std::string>(find(d, "string")->value));
  EXPECT_EQ(value_of<std::string>(d, "string"), "owned");
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(find(d, "strings")->value));
  EXPECT_EQ(value_of<std::vector<std::string>>(d, "strings"), (std::vector<std::string>{"stop", "length"}));
  // Insertion order is kept.
  EXPECT_EQ(d.attributes[0].key, "bool");
  EXPECT_EQ(d.attributes[7].key, "strings");
  EXPECT_EQ(d.dropped_attributes_count, 0u);
}

TEST_F(TracerTest, FalseStaysBoolAndZeroStaysInt) {
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("f", false);
  s.set_attribute("zero", 0);
  s.set_attribute("dzero", 0.0);
  s.end();
  SpanData d = only_span();
  ASSERT_TRUE(std::holds_alternative<bool>(find(d, "f")->value));
  EXPECT_FALSE(value_of<bool>(d, "f"));
  ASSERT_TRUE(std::holds_alternative<std::int64_t>(find(d, "zero")->value));
  ASSERT_TRUE(std::holds_alternative<double>(find(d, "dzero")->value));
}

TEST_F(TracerTest, SetValueTakesArrayTypes) {
  Span s = tracer_->start_span("arrays", SpanKind::internal, SpanContext{});
  s.set_value("ints", std::vector<std::int64_t>{1, 2, 3});
  s.set_value("bools", std::vector<bool>{true, false});
  s.set_value("doubles", std::vector<double>{0.5});
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(value_of<std::vector<std::int64_t>>(d, "ints"), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(value_of<std::vector<bool>>(d, "bools"), (std::vector<bool>{true, false}));
  EXPECT_EQ(value_of<std::vector<double>>(d, "doubles"), (std::vector<double>{0.5}));
}

TEST_F(TracerTest, SameKeyReplacesInPlace) {
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("a", 1);
  s.set_attribute("k", 1);
  s.set_attribute("b", 2);
  s.set_attribute("k", "now a string");
  s.end();
  SpanData d = only_span();
  ASSERT_EQ(d.attributes.size(), 3u);
  EXPECT_EQ(d.attributes[1].key, "k");
  EXPECT_EQ(std::get<std::string>(d.attributes[1].value), "now a string");
  EXPECT_EQ(d.dropped_attributes_count, 0u);
}

TEST_F(TracerTest, AKeyGivenAsALiteralOrAsTextIsOneAttribute) {
  // A literal key's bucket is worked out at compile time, a copied key's at run time: they must agree, or a
  // key set both ways would be recorded twice.
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("gen_ai.request.model", "first");
  s.set_attribute(std::string("gen_ai.request.model"), "second");
  s.set_attribute(std::string_view("x"), 1);
  s.set_attribute("x", 2);
  s.end();
  SpanData d = only_span();
  ASSERT_EQ(d.attributes.size(), 2u);
  EXPECT_EQ(std::get<std::string>(d.attributes[0].value), "second");
  EXPECT_EQ(std::get<std::int64_t>(d.attributes[1].value), 2);
}

// ---- attribute blocks ----

// A block set on a span records exactly what setting its attributes one by one records: the same encoded
// bytes (order included) and the same dropped count, on a fresh span, over keys set already, at the count
// limit, past the value length limit and with text that is not UTF-8; and keys set after it replace its own.
TEST_F(TracerTest, ABlockRecordsWhatItsAttributesOneByOneRecord) {
  const AttributeBlock block{{"gen_ai.system", "openai"},
                             {"gen_ai.request.model", "gpt-4o-mini-2024-07-18"},
                             {"switchyard.deployment.id", "dep-a"},
                             {"n", std::int64_t{3}},
                             {"flags", std::vector<std::string>{"x", "yy"}}};
  struct Case {
    const char* name;
    SpanLimits limits;
    std::function<void(Span&)> before, after;
  };
  SpanLimits count_limit;
  count_limit.attribute_count = 4;
  SpanLimits length_limit;
  length_limit.attribute_value_length = 4;
  const std::vector<Case> cases = {
      {"fresh", {}, [](Span&) {}, [](Span&) {}},
      {"a key set already",
       {},
       [](Span& s) {
         s.set_attribute("a", 1);
         s.set_attribute("gen_ai.system", "x");
       },
       [](Span&) {}},
      {"replaced after",
       {},
       [](Span& s) { s.set_attribute("a", 1); },
       [](Span& s) {
         s.set_attribute("switchyard.deployment.id", "dep-b");
         s.set_attribute("z", true);
       }},
      {"count limit", count_limit,
       [](Span& s) {
         s.set_attribute("a", 1);
         s.set_attribute("b", 2);
       },
       [](Span& s) { s.set_attribute("c", 3); }},
      {"length limit", length_limit, [](Span&) {}, [](Span&) {}},
  };
  for (const Case& c : cases) {
    make(Sampler(), c.limits);
    {
      std::lock_guard lock(sink_->m);
      sink_->spans.clear();
    }
    {
      Span whole = tracer_->start_span("whole", SpanKind::internal, SpanContext{});
      Span single = tracer_->start_span("single", SpanKind::internal, SpanContext{});
      c.before(whole);
      c.before(single);
      whole.set_attributes(block);
      for (const Attribute& a : block.attributes()) single.set_value(a.key, a.value);
      c.after(whole);
      c.after(single);
    }
    const std::vector<SpanData> spans = flush();
    ASSERT_EQ(spans.size(), 2u) << c.name;
    const SpanData& whole = named(spans, "whole");
    const SpanData& single = named(spans, "single");
    EXPECT_EQ(whole.attributes.encoded(), single.attributes.encoded()) << c.name;
    EXPECT_EQ(whole.attributes.size(), single.attributes.size()) << c.name;
    EXPECT_EQ(whole.dropped_attributes_count, single.dropped_attributes_count) << c.name;
  }
  // Spot checks of what the cases recorded.
  make();
  {
    std::lock_guard lock(sink_->m);
    sink_->spans.clear();
  }
  {
    Span s = tracer_->start_span("s", SpanKind::internal, SpanContext{});
    s.set_attribute("gen_ai.system", "before");
    s.set_attributes(block);
    s.set_attribute("switchyard.deployment.id", "after");
  }
  const SpanData d = only_span();
  ASSERT_EQ(d.attributes.size(), 5u);
  EXPECT_EQ(value_of<std::string>(d, "gen_ai.system"), "openai");
  EXPECT_EQ(value_of<std::string>(d, "switchyard.deployment.id"), "after");
}

TEST_F(TracerTest, ABlockMendsTextThatIsNotUtf8AndTruncatesLikeSetAttribute) {
  SpanLimits limits;
  limits.attribute_value_length = 3;
  make(Sampler(), limits);
  const AttributeBlock block{{"bad", std::string("a\xff"
                                                 "b")},
                             {"long", "abcdef"}};
  {
    Span s = tracer_->start_span("s", SpanKind::internal, SpanContext{});
    s.set_attributes(block);
  }
  const SpanData d = only_span();
  EXPECT_TRUE(is_valid_utf8(value_of<std::string>(d, "bad")));
  EXPECT_EQ(value_of<std::string>(d, "long"), "abc");
}

TEST(AttributeBlockTest, ALaterAttributeWithTheSameKeyReplacesTheEarlier) {
  AttributeBlock block{{"a", "1"}, {"b", "2"}};
  block.add({"a", "3"});
  ASSERT_EQ(block.size(), 2u);
  EXPECT_EQ(block.attributes()[0].key, "b");
  EXPECT_EQ(std::get<std::string>(block.attributes()[1].value), "3");
}

TEST_F(TracerTest, AnAttributeSetOnBothSpansIsTheSameOnEach) {
  Span parent = tracer_->start_span("server", SpanKind::server, SpanContext{});
  Span child = tracer_->start_span("client", SpanKind::client, parent.context());
  parent.set_attribute("only.parent", std::int64_t{1});
  child.set_attribute_on_both(parent, "text", std::string("chatcmpl-1"));
  child.set_attribute_on_both(parent, "view", std::string_view("gpt-4o"));
  child.set_attribute_on_both(parent, "count", std::int64_t{300});
  child.set_attribute_on_both(parent, "flag", true);
  child.set_attribute_on_both(parent, "ratio", 0.25);
  child.set_attribute_on_both(parent, "list", std::vector<std::string>{"stop", "length"});
  child.set_attribute_on_both(parent, "not.utf8", std::string("a\xff"));  // mended on both
  child.end();
  parent.end();
  auto spans = flush();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& c = named(spans, "client");
  const SpanData& p = named(spans, "server");
  ASSERT_EQ(c.attributes.size(), 7u);
  ASSERT_EQ(p.attributes.size(), 8u);
  EXPECT_EQ(p.attributes[0].key, "only.parent");
  // The parent's attributes after its own are the child's, byte for byte.
  EXPECT_EQ(p.attributes.encoded().substr(p.attributes.encoded().size() - c.attributes.encoded().size()),
            c.attributes.encoded());
  EXPECT_EQ(value_of<std::string>(p, "text"), "chatcmpl-1");
  EXPECT_EQ(value_of<std::int64_t>(p, "count"), 300);
  EXPECT_EQ(value_of<bool>(p, "flag"), true);
  EXPECT_EQ(value_of<double>(p, "ratio"), 0.25);
  EXPECT_EQ(value_of<std::vector<std::string>>(p, "list"), (std::vector<std::string>{"stop", "length"}));
  EXPECT_EQ(value_of<std::string>(p, "not.utf8"), "a\xEF\xBF\xBD");
  EXPECT_EQ(value_of<std::string>(c, "not.utf8"), "a\xEF\xBF\xBD");
}

TEST_F(TracerTest, SetOnBothKeepsEachSpansKeysAndLimits) {
  SpanLimits limits;
  limits.attribute_count = 2;
  make(Sampler(), limits);
  Span parent = tracer_->start_span("server", SpanKind::server, SpanContext{});
  Span child = tracer_->start_span("client", SpanKind::client, parent.context());
  parent.set_attribute("k", "old");  // the other span has the key: replaced there, in its place
  parent.set_attribute("p", 1);
  child.set_attribute("k", "child's");  // this span has it: replaced here, set on the other all the same
  child.set_attribute_on_both(parent, "k", std::string_view("new"));
  child.set_attribute("c", 2);                                // this span is full now
  parent.set_attribute("q", 3);                               // and so is the other: "q" is dropped
  child.set_attribute_on_both(parent, "p", std::int64_t{7});  // dropped here; the other had "p": updated
  Span not_recording;  // from a span that records nothing, the other still gets it
  not_recording.set_attribute_on_both(child, "c", std::int64_t{8});
  child.end();
  parent.end();
  auto spans = flush();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& c = named(spans, "client");
  const SpanData& p = named(spans, "server");
  ASSERT_EQ(p.attributes.size(), 2u);
  EXPECT_EQ(p.attributes[0].key, "k");
  EXPECT_EQ(std::get<std::string>(p.attributes[0].value), "new");
  EXPECT_EQ(p.attributes[1].key, "p");
  EXPECT_EQ(std::get<std::int64_t>(p.attributes[1].value), 7);
  EXPECT_EQ(p.dropped_attributes_count, 1u);  // "q"
  ASSERT_EQ(c.attributes.size(), 2u);
  EXPECT_EQ(std::get<std::string>(c.attributes[0].value), "new");
  EXPECT_EQ(c.attributes[1].key, "c");
  EXPECT_EQ(std::get<std::int64_t>(c.attributes[1].value), 8);
  EXPECT_EQ(c.dropped_attributes_count, 1u);  // "p"
}

TEST_F(TracerTest, AttributeCountLimitDropsAndCounts) {
  SpanLimits limits;
  limits.attribute_count = 3;
  make(Sampler(), limits);
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  for (int i = 0; i < 5; ++i) s.set_attribute("k" + std::to_string(i), i);
  s.set_attribute("k1", "replaced at the limit");  // an existing key still updates
  s.end();
  SpanData d = only_span();
  ASSERT_EQ(d.attributes.size(), 3u);
  EXPECT_EQ(d.attributes[0].key, "k0");
  EXPECT_EQ(d.attributes[1].key, "k1");
  EXPECT_EQ(d.attributes[2].key, "k2");
  EXPECT_EQ(std::get<std::string>(d.attributes[1].value), "replaced at the limit");
  EXPECT_EQ(find(d, "k3"), nullptr);
  EXPECT_EQ(find(d, "k4"), nullptr);
  EXPECT_EQ(d.dropped_attributes_count, 2u);
}

TEST_F(TracerTest, ValueLengthLimitTruncatesStrings) {
  SpanLimits limits;
  limits.attribute_value_length = 5;
  make(Sampler(), limits);
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("long", "abcdefghij");
  s.set_attribute("exact", "abcde");
  s.set_attribute("short", "abc");
  s.set_attribute("int", 1234567890);
  s.set_attribute("double", 3.14159265);
  s.set_attribute("bool", true);
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(value_of<std::string>(d, "long"), "abcde");
  EXPECT_EQ(value_of<std::string>(d, "exact"), "abcde");
  EXPECT_EQ(value_of<std::string>(d, "short"), "abc");
  // Only strings are truncated.
  EXPECT_EQ(value_of<std::int64_t>(d, "int"), 1234567890);
  EXPECT_DOUBLE_EQ(value_of<double>(d, "double"), 3.14159265);
  EXPECT_TRUE(value_of<bool>(d, "bool"));
}

TEST_F(TracerTest, ValueLengthLimitTruncatesEachStringOfAnArray) {
  // OTel SDK spec (attribute limits): "if it is an array of strings, then apply the above rule to each of the
  // values separately".
  SpanLimits limits;
  limits.attribute_value_length = 4;
  make(Sampler(), limits);
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("finish_reasons", std::vector<std::string>{"stop", "length", "content_filter", "ok"});
  s.end();
  SpanData d = only_span();
  ASSERT_NE(find(d, "finish_reasons"), nullptr);
  EXPECT_EQ(value_of<std::vector<std::string>>(d, "finish_reasons"),
            (std::vector<std::string>{"stop", "leng", "cont", "ok"}));
}

TEST_F(TracerTest, ValueLengthLimitCountsCharactersNotBytes) {
  // OTel SDK spec: truncate "counting any character in it as 1". Cutting UTF-8 mid-character would also make
  // the value invalid UTF-8, which OTLP (protobuf string fields) rejects.
  SpanLimits limits;
  limits.attribute_value_length = 2;
  make(Sampler(), limits);
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("text", "h\xc3\xa9llo");      // "héllo"
  s.set_attribute("fits", "\xc3\xa9\xc3\xa9");  // "éé": two characters, four bytes
  s.end();
  SpanData d = only_span();
  const std::string text = value_of<std::string>(d, "text");
  EXPECT_TRUE(is_valid_utf8(text)) << "truncated to invalid UTF-8";
  EXPECT_EQ(text, "h\xc3\xa9");
  EXPECT_EQ(value_of<std::string>(d, "fits"), "\xc3\xa9\xc3\xa9");
}

TEST_F(TracerTest, ZeroValueLengthLimitMeansUnlimited) {
  Span s = tracer_->start_span("attrs", SpanKind::internal, SpanContext{});
  s.set_attribute("big", std::string(100000, 'x'));
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(value_of<std::string>(d, "big").size(), 100000u);
}

// ---- events ----

TEST_F(TracerTest, EventsAreTimedBetweenStartAndEnd) {
  const std::uint64_t before = unix_nanos_now();
  Span s = tracer_->start_span("events", SpanKind::internal, SpanContext{});
  s.add_event("gen_ai.first_token", {Attribute{"gen_ai.response.time_to_first_chunk", 0.25}});
  s.add_event("exception", {Attribute{"exception.type", std::string("timeout")}});
  s.end();
  const std::uint64_t after = unix_nanos_now();
  SpanData d = only_span();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].name, "gen_ai.first_token");
  EXPECT_EQ(d.events[1].name, "exception");
  ASSERT_EQ(d.events[0].attributes.size(), 1u);
  EXPECT_EQ(d.events[0].attributes[0].key, "gen_ai.response.time_to_first_chunk");
  EXPECT_EQ(std::get<std::string>(d.events[1].attributes[0].value), "timeout");
  EXPECT_LE(before, d.start_time_unix_nano);
  EXPECT_LE(d.start_time_unix_nano, d.events[0].time_unix_nano);
  EXPECT_LE(d.events[0].time_unix_nano, d.events[1].time_unix_nano);
  EXPECT_LE(d.events[1].time_unix_nano, d.end_time_unix_nano);
  EXPECT_LE(d.end_time_unix_nano, after);
}

TEST_F(TracerTest, EventCountLimitDropsAndCounts) {
  SpanLimits limits;
  limits.event_count = 2;
  make(Sampler(), limits);
  Span s = tracer_->start_span("events", SpanKind::internal, SpanContext{});
  for (int i = 0; i < 5; ++i) s.add_event("e" + std::to_string(i));
  s.end();
  SpanData d = only_span();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].name, "e0");
  EXPECT_EQ(d.events[1].name, "e1");
  EXPECT_EQ(d.dropped_events_count, 3u);
}

// ---- status ----

TEST_F(TracerTest, ErrorStatusKeepsItsDescription) {
  Span s = tracer_->start_span("status", SpanKind::server, SpanContext{});
  EXPECT_EQ(s.status(), StatusCode::unset);
  s.set_status(StatusCode::error, "upstream returned 502");
  EXPECT_EQ(s.status(), StatusCode::error);
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(d.status_code, StatusCode::error);
  EXPECT_EQ(d.status_message, "upstream returned 502");
}

TEST_F(TracerTest, OkIgnoresTheDescriptionAndIsFinal) {
  Span s = tracer_->start_span("status", SpanKind::server, SpanContext{});
  s.set_status(StatusCode::ok, "ignored for OK");
  s.set_status(StatusCode::error, "too late");
  s.set_status(StatusCode::unset);
  EXPECT_EQ(s.status(), StatusCode::ok);
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(d.status_code, StatusCode::ok);
  EXPECT_EQ(d.status_message, "");
}

TEST_F(TracerTest, ErrorCanBecomeOk) {
  Span s = tracer_->start_span("status", SpanKind::server, SpanContext{});
  s.set_status(StatusCode::error, "first attempt failed");
  s.set_status(StatusCode::ok);
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(d.status_code, StatusCode::ok);
  EXPECT_EQ(d.status_message, "");
}

TEST_F(TracerTest, SettingUnsetIsIgnored) {
  // OTel trace API (Set Status): "An attempt to set value Unset SHOULD be ignored."
  Span s = tracer_->start_span("status", SpanKind::server, SpanContext{});
  s.set_status(StatusCode::error, "boom");
  s.set_status(StatusCode::unset, "whatever");
  EXPECT_EQ(s.status(), StatusCode::error);
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(d.status_code, StatusCode::error);
  EXPECT_EQ(d.status_message, "boom");
}

// ---- ending ----

TEST_F(TracerTest, EndIsIdempotent) {
  Span s = tracer_->start_span("once", SpanKind::internal, SpanContext{});
  EXPECT_TRUE(s.recording());
  s.end();
  EXPECT_FALSE(s.recording());
  s.set_attribute("after_end", 1);  // ignored
  s.end();
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(d.name, "once");
  EXPECT_EQ(find(d, "after_end"), nullptr);
  EXPECT_GE(d.end_time_unix_nano, d.start_time_unix_nano);
  EXPECT_GT(d.start_time_unix_nano, 0u);
}

TEST_F(TracerTest, DestructorEndsTheSpan) {
  const std::uint64_t before = unix_nanos_now();
  {
    Span s = tracer_->start_span("scoped", SpanKind::internal, SpanContext{});
    s.set_attribute("k", "v");
  }
  SpanData d = only_span();
  EXPECT_EQ(d.name, "scoped");
  EXPECT_GE(d.start_time_unix_nano, before);
  EXPECT_GE(d.end_time_unix_nano, d.start_time_unix_nano);
  EXPECT_LE(d.end_time_unix_nano, unix_nanos_now());
}

TEST_F(TracerTest, MovedSpanEndsOnce) {
  Span a = tracer_->start_span("moved", SpanKind::internal, SpanContext{});
  Span b = std::move(a);
  EXPECT_TRUE(b.recording());
  a.end();  // NOLINT(bugprone-use-after-move): the moved-from span is empty and ends nothing
  b.end();
  auto spans = flush();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "moved");
}

TEST_F(TracerTest, MoveAssignmentEndsTheSpanItReplaces) {
  Span target = tracer_->start_span("first", SpanKind::internal, SpanContext{});
  target = tracer_->start_span("second", SpanKind::internal, SpanContext{});
  EXPECT_TRUE(target.recording());
  target.end();
  auto spans = flush();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "first");
  EXPECT_EQ(spans[1].name, "second");
}

TEST_F(TracerTest, KindAndNameAreRecorded) {
  const std::vector<std::pair<SpanKind, std::string>> cases = {
      {SpanKind::server, "POST /v1/chat/completions"},
      {SpanKind::client, "chat gpt-4o"},
      {SpanKind::internal, "router.decide"},
      {SpanKind::producer, "enqueue"},
      {SpanKind::consumer, "dequeue"}};
  for (const auto& [kind, name] : cases) {
    Span s = tracer_->start_span(name, kind, SpanContext{});
    s.end();
  }
  auto spans = flush();
  ASSERT_EQ(spans.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(spans[i].kind, cases[i].first);
    EXPECT_EQ(spans[i].name, cases[i].second);
  }
}

TEST(TracerRecycling, ASpanStartedOnARecycledRecordKeepsNothingOfTheLastOne) {
  // Export each span at once, so that the second span is recorded on the record the first one used.
  auto sink = std::make_shared<SpanSink>();
  BatchSettings settings;
  settings.max_queue_size = 16;
  settings.max_export_batch_size = 1;
  settings.schedule_delay = 10ms;
  auto processor = std::make_shared<BatchSpanProcessor>(settings, std::make_unique<RecordingExporter>(sink),
                                                        Resource{}, InstrumentationScope{});
  Tracer tracer(Sampler(), IdGenerator(), SpanLimits(), processor);
  auto exported = [&](std::size_t n) {
    for (int i = 0; i < 500 && processor->exported() < n; ++i) std::this_thread::sleep_for(10ms);
    return processor->exported() >= n;
  };
  auto remote = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(remote.has_value());
  remote->trace_state = "congo=t61rcWkgMzE";
  for (int round = 0; round < 3; ++round) {
    Span full = tracer.start_span("full", SpanKind::server, *remote);
    for (int i = 0; i < 40; ++i) full.set_attribute("k" + std::to_string(i), i);
    full.add_event("exception", {{"exception.type", std::string("timeout")}});
    full.add_link(full.context());
    full.set_status(StatusCode::error, "boom");
    full.set_attribute("url.full",
                       "https://api.openai.com/v1/chat/completions?round=" + std::to_string(round));
    full.set_attribute("gen_ai.response.id",
                       std::string_view("chatcmpl-0123456789abcdefghijklmnopqrstuvwxyz"));
    full.end();
    ASSERT_TRUE(exported(2 * round + 1u));
    Span bare = tracer.start_span("bare", SpanKind::internal, SpanContext{});
    bare.set_attribute("url.path", "/v1/chat/completions");  // longer than a string holds inline
    bare.end();
    ASSERT_TRUE(exported(2 * round + 2u));
  }
  processor->shutdown(5000ms);
  std::lock_guard lock(sink->m);
  ASSERT_EQ(sink->spans.size(), 6u);
  for (std::size_t i = 1; i < sink->spans.size(); i += 2) {
    const SpanData& d = sink->spans[i];
    EXPECT_EQ(d.name, "bare");
    EXPECT_EQ(d.kind, SpanKind::internal);
    EXPECT_FALSE(is_valid(d.parent_span_id));
    EXPECT_TRUE(d.trace_state.empty());
    ASSERT_EQ(d.attributes.size(), 1u);
    EXPECT_EQ(d.attributes[0].key, "url.path");
    EXPECT_EQ(std::get<std::string>(d.attributes[0].value), "/v1/chat/completions");
    EXPECT_TRUE(d.events.empty());
    EXPECT_TRUE(d.links.empty());
    EXPECT_EQ(d.status_code, StatusCode::unset);
    EXPECT_TRUE(d.status_message.empty());
    EXPECT_EQ(d.dropped_attributes_count, 0u);
    EXPECT_NE(d.trace_id, sink->spans[i - 1].trace_id);
  }
  EXPECT_EQ(sink->spans[4].attributes.size(), 42u);
  EXPECT_EQ(std::get<std::string>(sink->spans[4].attributes[40].value),
            "https://api.openai.com/v1/chat/completions?round=2");
  EXPECT_EQ(std::get<std::string>(sink->spans[4].attributes[41].value),
            "chatcmpl-0123456789abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(sink->spans[4].trace_state, "congo=t61rcWkgMzE");
}

// One span at a time through a processor that exports each at once, so that every span is recorded on the
// record the one before it used (and left its attribute storage in).
class RecycledRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BatchSettings settings;
    settings.max_queue_size = 16;
    settings.max_export_batch_size = 1;
    settings.schedule_delay = 10ms;
    processor_ = std::make_shared<BatchSpanProcessor>(settings, std::make_unique<RecordingExporter>(sink_),
                                                      Resource{}, InstrumentationScope{});
    tracer_ = std::make_unique<Tracer>(Sampler(), IdGenerator(), SpanLimits(), processor_);
  }
  void TearDown() override { processor_->shutdown(5000ms); }
  bool exported(std::size_t n) {
    for (int i = 0; i < 500 && processor_->exported() < n; ++i) std::this_thread::sleep_for(10ms);
    return processor_->exported() >= n;
  }
  std::vector<SpanData> flush() {
    processor_->shutdown(5000ms);
    std::lock_guard lock(sink_->m);
    return sink_->spans;
  }

  std::shared_ptr<SpanSink> sink_ = std::make_shared<SpanSink>();
  std::shared_ptr<BatchSpanProcessor> processor_;
  std::unique_ptr<Tracer> tracer_;
};

// The value attribute `slot` gets in round `round`: its type turns with the round, so that every slot holds
// every type after every other one.
AttributeValue value_for(int slot, int round) {
  const std::string tag = "round " + std::to_string(round) + " slot " + std::to_string(slot);
  switch ((slot + round) % 8) {
    case 0:
      return tag + ": a string longer than the inline buffer";
    case 1:
      return std::to_string(round);  // short
    case 2:
      return round % 2 == 0;
    case 3:
      return std::int64_t{1000 * round + slot};
    case 4:
      return 0.5 * round + slot;
    case 5:
      return std::vector<std::string>{tag + ": first of a list of strings", "x", tag};
    case 6:
      return std::vector<std::int64_t>{round, slot, -1};
    default:
      return std::vector<std::string>(static_cast<std::size_t>(round % 3), tag + ": one of some strings");
  }
}

// Sets `value` through the overload a caller of that type would use.
void set_typed(Span& span, const std::string& key, const AttributeValue& value, int round) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    if (round % 2 == 0) {
      span.set_attribute(key, std::string_view(*s));
    } else {
      span.set_attribute(key, std::string(*s));
    }
  } else if (const auto* b = std::get_if<bool>(&value)) {
    span.set_attribute(key, *b);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    span.set_attribute(key, *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    span.set_attribute(key, *d);
  } else if (const auto* v = std::get_if<std::vector<std::string>>(&value)) {
    if (round % 2 == 0) {
      span.set_attribute(key, *v);
    } else {
      span.set_attribute(key, std::vector<std::string>(*v));
    }
  } else {
    span.set_value(key, value);
  }
}

TEST_F(RecycledRecordTest, ValuesOfEveryTypeRoundTripOnAReusedRecord) {
  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    Span span = tracer_->start_span("round " + std::to_string(round), SpanKind::internal, SpanContext{});
    const int count = round % 3 == 2 ? 3 : 10;  // some rounds set fewer attributes than the record holds
    for (int slot = 0; slot < count; ++slot) {
      set_typed(span, "k" + std::to_string(slot), value_for(slot, round), round);
    }
    span.set_value("k0", value_for(0, round + 1));  // replacing a live one keeps its place
    span.end();
    ASSERT_TRUE(exported(static_cast<std::size_t>(round) + 1));
  }
  const std::vector<SpanData> spans = flush();
  ASSERT_EQ(spans.size(), static_cast<std::size_t>(kRounds));
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const SpanData& d = spans[static_cast<std::size_t>(round)];
    const int count = round % 3 == 2 ? 3 : 10;
    ASSERT_EQ(d.attributes.size(), static_cast<std::size_t>(count));
    EXPECT_EQ(d.dropped_attributes_count, 0u);
    for (int slot = 0; slot < count; ++slot) {
      const Attribute& a = d.attributes[static_cast<std::size_t>(slot)];
      EXPECT_EQ(a.key, "k" + std::to_string(slot));
      EXPECT_EQ(a.value, value_for(slot, slot == 0 ? round + 1 : round)) << "slot " << slot;
    }
  }
}

TEST_F(RecycledRecordTest, AReusedSlotStillCleansAndLimitsItsValue) {
  Span first = tracer_->start_span("first", SpanKind::internal, SpanContext{});
  first.set_attribute("k", std::string(200, 'a'));  // storage for the next span's value to land in
  first.end();
  ASSERT_TRUE(exported(1));
  Span second = tracer_->start_span("second", SpanKind::internal, SpanContext{});
  second.set_attribute("user_agent.original", std::string_view("bad \xff byte"));
  second.end();
  const std::vector<SpanData> spans = flush();
  ASSERT_EQ(spans.size(), 2u);
  ASSERT_EQ(spans[1].attributes.size(), 1u);
  EXPECT_EQ(spans[1].attributes[0].key, "user_agent.original");
  EXPECT_EQ(std::get<std::string>(spans[1].attributes[0].value), "bad \xEF\xBF\xBD byte");
}

// Remembers which records were exported, to look at them once the processor has cleared them for reuse.
class RecordAddressExporter final : public SpanExporter {
 public:
  ExportResult export_spans(SpanBatch spans, const Resource&, const InstrumentationScope&) noexcept override {
    std::lock_guard lock(m);
    for (const SpanData& s : spans) records.push_back(&s);
    return ExportResult::success;
  }
  std::string_view name() const noexcept override { return "record-addresses"; }
  std::mutex m;
  std::vector<const SpanData*> records;
};

TEST(TracerRecycling, StorageASpanGrewIsGivenBackWhenItsRecordIsCleared) {
  // A record keeps its attribute storage from life to life, unless a life made it bigger than the keep limit:
  // every way a span can set a big value must leave a cleared record within it, or a huge value would stay
  // with the record for good.
  auto exporter = std::make_unique<RecordAddressExporter>();
  RecordAddressExporter* seen = exporter.get();
  BatchSettings settings;
  settings.max_queue_size = 4;
  settings.max_export_batch_size = 1;
  settings.schedule_delay = 10ms;
  auto processor =
      std::make_shared<BatchSpanProcessor>(settings, std::move(exporter), Resource{}, InstrumentationScope{});
  Tracer tracer(Sampler(), IdGenerator(), SpanLimits(), processor);
  auto exported = [&](std::size_t n) {
    for (int i = 0; i < 500 && processor->exported() < n; ++i) std::this_thread::sleep_for(10ms);
    return processor->exported() >= n;
  };
  const std::string path = "/v1/chat/completions/and/some/more";
  const std::string kept_text(900, 'a');  // a usual life's storage: over the first 1 KB, under the limit
  const std::string huge(1 << 20, 'p');
  const std::vector<std::string> huge_list(3, std::string(4000, 'c'));
  const std::string invalid(2000, '\xff');  // 2 KB, and 6 KB once each byte becomes a 3-byte U+FFFD
  const std::vector<std::string> stop = {"stop"}, invalid_list = {invalid};
  auto fill_usual = [&](Span& s) {
    s.set_attribute("url.path", std::string_view(path));
    s.set_attribute("gen_ai.response.finish_reasons", stop);
    s.set_attribute("gen_ai.prompt", std::string_view(kept_text));
  };
  const std::vector<std::pair<const char*, std::function<void(Span&)>>> outgrow = {
      {"new key, string view",
       [&](Span& s) { s.set_attribute("gen_ai.completion", std::string_view(huge)); }},
      {"new key, moved string", [&](Span& s) { s.set_attribute("gen_ai.completion", std::string(huge)); }},
      {"new key, list", [&](Span& s) { s.set_attribute("test.other_list", huge_list); }},
      {"new key, set_value", [&](Span& s) { s.set_value("gen_ai.completion", AttributeValue(huge)); }},
      {"replaced string, string view", [&](Span& s) { s.set_attribute("url.path", std::string_view(huge)); }},
      {"replaced string, moved string", [&](Span& s) { s.set_attribute("url.path", std::string(huge)); }},
      {"replaced list, longer list",
       [&](Span& s) { s.set_attribute("gen_ai.response.finish_reasons", huge_list); }},
      {"sanitized longer", [&](Span& s) { s.set_attribute("gen_ai.prompt", std::string(invalid)); }},
      {"sanitized list longer", [&](Span& s) { s.set_attribute("test.list", invalid_list); }},
  };
  std::size_t lives = 0;
  for (const auto& [way, write] : outgrow) {
    // One usual life, then one that outgrows the keep limit, on the same record.
    Span usual = tracer.start_span("usual", SpanKind::internal, SpanContext{});
    fill_usual(usual);
    usual.end();
    ASSERT_TRUE(exported(++lives));
    std::size_t usual_capacity = 0;
    {
      std::lock_guard lock(seen->m);
      usual_capacity = seen->records.back()->attributes.capacity();
    }
    EXPECT_GE(usual_capacity, path.size() + kept_text.size())
        << way << ": a usual life's storage was not kept";
    Span big = tracer.start_span("big", SpanKind::internal, SpanContext{});
    fill_usual(big);
    write(big);
    big.end();
    ASSERT_TRUE(exported(++lives));
    std::lock_guard lock(seen->m);
    ASSERT_EQ(seen->records.size(), lives);
    ASSERT_EQ(seen->records[lives - 1], seen->records[lives - 2]) << way << ": not the same record";
    const SpanData& record = *seen->records.back();  // cleared, in the free list, nothing started since
    EXPECT_TRUE(record.attributes.empty());
    EXPECT_LE(record.attributes.capacity(), 4096u) << way << ": the record kept what a big value grew";
  }
  processor->shutdown(5000ms);
}

// ---- the attribute list of a span record ----

TEST(AttributeListTest, AClearedRecordHasNoAttributesButKeepsTheirStorage) {
  SpanData d;
  d.attributes.push_back({"url.path", std::string("/v1/chat/completions/and/some/more")});
  d.attributes.push_back({"server.port", std::int64_t{443}});
  const std::size_t capacity = d.attributes.capacity();
  EXPECT_GE(capacity, 34u);
  clear_for_reuse(d);
  EXPECT_EQ(d.attributes.size(), 0u);
  EXPECT_TRUE(d.attributes.empty());
  EXPECT_TRUE(d.attributes.encoded().empty());
  EXPECT_EQ(d.attributes.begin(), d.attributes.end());
  EXPECT_TRUE(std::span<const Attribute>(d.attributes).empty());
  EXPECT_EQ(d.attributes.capacity(), capacity) << "the storage was not kept";
  d.attributes.push_back({"k", true});
  ASSERT_EQ(d.attributes.size(), 1u);
  EXPECT_EQ(d.attributes[0].key, "k");
  EXPECT_EQ(d.attributes.capacity(), capacity);
}

TEST(AttributeListTest, AHugeValueGivesItsStorageBack) {
  SpanData d;
  d.attributes.push_back({"gen_ai.prompt", std::string(1 << 20, 'p')});
  d.attributes.push_back({"gen_ai.completion", std::vector<std::string>(4, std::string(1 << 20, 'c'))});
  EXPECT_GT(d.attributes.capacity(), 5u << 20);
  clear_for_reuse(d);
  EXPECT_TRUE(d.attributes.empty());
  EXPECT_EQ(d.attributes.capacity(), 0u);
  d.attributes.push_back({"url.path", std::string("/v1/chat/completions")});  // a new life starts afresh
  ASSERT_EQ(d.attributes.size(), 1u);
  EXPECT_EQ(std::get<std::string>(d.attributes[0].value), "/v1/chat/completions");
}

TEST(AttributeListTest, TheBytesAreTheSpanAttributeFieldsOtlpExports) {
  // Span.attributes (field 9) KeyValue messages, as libprotobuf would write them: the key, then the AnyValue.
  AttributeList list;
  list.append("k", std::string_view("v"));
  list.append("n", std::int64_t{300});
  list.append("", true);  // an empty key is left out, as proto3 leaves out a default
  const std::string expected = std::string("\x4a\x08\x0a\x01k\x12\x03\x0a\x01v", 10) +
                               std::string("\x4a\x08\x0a\x01n\x12\x03\x18\xac\x02", 10) +
                               std::string("\x4a\x04\x12\x02\x10\x01", 6);
  EXPECT_EQ(list.encoded(), expected);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[2].key, "");
  EXPECT_EQ(std::get<bool>(list[2].value), true);
}

TEST(AttributeListTest, EraseAndMoveLastToReplaceAnAttributeInItsPlace) {
  AttributeList list{{"a", std::int64_t{1}}, {"b", std::string(200, 'b')}, {"c", 0.5}};
  const std::size_t at = list.erase("b");
  ASSERT_NE(at, AttributeList::npos);
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.erase("b"), AttributeList::npos) << "erased twice";
  EXPECT_EQ(list.erase("missing"), AttributeList::npos);
  list.append("b", std::vector<std::string>{"x", "y"});
  list.move_last_to(at);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].key, "a");
  EXPECT_EQ(list[1].key, "b");
  EXPECT_EQ(std::get<std::vector<std::string>>(list[1].value), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(list[2].key, "c");
  EXPECT_EQ(std::get<double>(list[2].value), 0.5);
  // A key over 127 bytes and a value over 127 bytes take two-byte lengths; the walk steps over them.
  const std::string long_key(300, 'k');
  list.append(long_key, std::string_view(std::string(500, 'v')));
  list.append("last", false);
  EXPECT_NE(list.erase("last"), AttributeList::npos);
  const std::size_t long_at = list.erase(long_key);
  ASSERT_NE(long_at, AttributeList::npos);
  EXPECT_EQ(list.size(), 3u);
}

TEST(AttributeListTest, LengthsRoundTripEitherSideOfOneByte) {
  // Short attributes take a path of their own (every length one byte); around where a length needs two bytes
  // the bytes must still be the protobuf encoding: sized right, and read back the same.
  auto varint_size = [](std::size_t n) { return n < 128 ? 1u : n < 16384 ? 2u : 3u; };
  for (std::size_t key_size : {1u, 20u, 120u, 127u, 128u}) {
    for (std::size_t value_size = 90; value_size <= 140; ++value_size) {
      const std::string key(key_size, 'k'), value(value_size, 'v');
      AttributeList list;
      list.append(key, std::string_view(value));
      const std::size_t any_value = 1 + varint_size(value_size) + value_size;
      const std::size_t key_value =
          1 + varint_size(key_size) + key_size + 1 + varint_size(any_value) + any_value;
      ASSERT_EQ(list.encoded().size(), 1 + varint_size(key_value) + key_value)
          << key_size << "/" << value_size;
      ASSERT_EQ(list.size(), 1u);
      EXPECT_EQ(list[0].key, key);
      EXPECT_EQ(std::get<std::string>(list[0].value), value);
    }
  }
}

TEST(AttributeListTest, ListsKeepTheirElementTypes) {
  AttributeList list{{"ints", std::vector<std::int64_t>{1, -2, 3}},
                     {"bools", std::vector<bool>{true, false}},
                     {"doubles", std::vector<double>{0.25}},
                     {"strings", std::vector<std::string>{"stop", ""}},
                     {"empty", std::vector<std::string>{}}};
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(list[0].value), (std::vector<std::int64_t>{1, -2, 3}));
  EXPECT_EQ(std::get<std::vector<bool>>(list[1].value), (std::vector<bool>{true, false}));
  EXPECT_EQ(std::get<std::vector<double>>(list[2].value), (std::vector<double>{0.25}));
  EXPECT_EQ(std::get<std::vector<std::string>>(list[3].value), (std::vector<std::string>{"stop", ""}));
  EXPECT_TRUE(std::get<std::vector<std::string>>(list[4].value).empty());
}

TEST(AttributeListTest, CopiesHoldOnlyTheLiveAttributesAndMovesLeaveNone) {
  AttributeList list{{"a", true}, {"b", std::string("a value longer than inline storage")}};
  list.clear();
  list.push_back({"c", std::int64_t{3}});
  const AttributeList copy = list;
  ASSERT_EQ(copy.size(), 1u);
  EXPECT_EQ(copy.encoded(), list.encoded());
  EXPECT_EQ(copy[0].key, "c");
  AttributeList assigned{{"x", 1.0}, {"y", 2.0}, {"z", 3.0}};
  assigned = list;
  ASSERT_EQ(assigned.size(), 1u);
  EXPECT_EQ(assigned[0].key, "c");
  EXPECT_EQ(std::get<std::int64_t>(assigned[0].value), 3);
  AttributeList moved = std::move(list);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(list.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from list is empty
  AttributeList target{{"old", false}};
  target = std::move(moved);
  ASSERT_EQ(target.size(), 1u);
  EXPECT_EQ(target[0].key, "c");
  EXPECT_EQ(moved.size(), 0u);  // NOLINT(bugprone-use-after-move)
}

TEST_F(TracerTest, InvalidUtf8BytesBecomeReplacementCharacters) {
  Span s = tracer_->start_span("utf8", SpanKind::internal, SpanContext{});
  s.set_attribute("ascii", "just ASCII, longer than eight bytes");
  s.set_attribute("valid", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80");
  s.set_attribute("late", "0123456789abcdef\xff tail");  // past the first eight-byte words
  s.set_attribute("cut", "12345678\xc3");                // a sequence cut short at the end
  s.set_attribute("overlong", "\xc0\xaf");
  s.set_attribute("list", std::vector<std::string>{"ok", "bad \xfe"});
  s.end();
  SpanData d = only_span();
  EXPECT_EQ(value_of<std::string>(d, "ascii"), "just ASCII, longer than eight bytes");
  EXPECT_EQ(value_of<std::string>(d, "valid"), "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80");
  EXPECT_EQ(value_of<std::string>(d, "late"), "0123456789abcdef\xef\xbf\xbd tail");
  EXPECT_EQ(value_of<std::string>(d, "cut"), "12345678\xef\xbf\xbd");
  EXPECT_EQ(value_of<std::string>(d, "overlong"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(value_of<std::vector<std::string>>(d, "list"),
            (std::vector<std::string>{"ok", "bad \xef\xbf\xbd"}));
}

TEST_F(TracerTest, ANonAsciiByteIsFoundWhereverItStands) {
  // The ASCII check reads words (overlapping at the tail, four-byte words under eight bytes): a bad byte at
  // any place of a value of any short length must still be seen.
  SpanLimits limits;
  limits.attribute_count = 1000;  // 230 attributes
  make(Sampler(), limits);
  Span s = tracer_->start_span("utf8", SpanKind::internal, SpanContext{});
  for (std::size_t n = 1; n <= 20; ++n) {
    for (std::size_t at = 0; at < n; ++at) {
      std::string value(n, 'a');
      value[at] = '\xff';
      s.set_attribute("k" + std::to_string(n) + "." + std::to_string(at), std::string_view(value));
    }
    s.set_attribute("clean" + std::to_string(n), std::string_view(std::string(n, 'a')));
  }
  s.end();
  SpanData d = only_span();
  for (std::size_t n = 1; n <= 20; ++n) {
    for (std::size_t at = 0; at < n; ++at) {
      const Attribute* a = find(d, "k" + std::to_string(n) + "." + std::to_string(at));
      ASSERT_NE(a, nullptr);
      std::string expected(n, 'a');
      expected.replace(at, 1, "\xEF\xBF\xBD");
      EXPECT_EQ(std::get<std::string>(a->value), expected) << n << " bytes, bad at " << at;
    }
    EXPECT_EQ(value_of<std::string>(d, "clean" + std::to_string(n)), std::string(n, 'a'));
  }
}

TEST_F(TracerTest, ManyKeysEachStayOnceWhateverTheirHashBuckets) {
  // More keys than set_value's 256 hash buckets: keys share buckets, and a key set again is still found.
  SpanLimits limits;
  limits.attribute_count = 1000;
  make(Sampler(), limits);
  Span s = tracer_->start_span("many", SpanKind::internal, SpanContext{});
  for (int i = 0; i < 600; ++i) s.set_attribute("key." + std::to_string(i), i);
  for (int i = 599; i >= 0; --i) s.set_attribute("key." + std::to_string(i), "again " + std::to_string(i));
  s.end();
  SpanData d = only_span();
  ASSERT_EQ(d.attributes.size(), 600u);
  for (int i = 0; i < 600; ++i) {
    EXPECT_EQ(d.attributes[static_cast<std::size_t>(i)].key, "key." + std::to_string(i));
    EXPECT_EQ(std::get<std::string>(d.attributes[static_cast<std::size_t>(i)].value),
              "again " + std::to_string(i));
  }
}

TEST(AttributeKeyTest, LiteralsAreKeptAndOtherKeysCopied) {
  const AttributeKey literal = "gen_ai.request.model";
  std::string text = "dynamic.key";
  const AttributeKey copied = text;
  text = "changed";
  EXPECT_EQ(literal, "gen_ai.request.model");
  EXPECT_EQ(copied, "dynamic.key");  // its own copy
  AttributeKey assigned = "x";
  assigned = copied;
  EXPECT_EQ(assigned, "dynamic.key");
  AttributeKey moved = std::move(assigned);
  EXPECT_EQ(moved, "dynamic.key");
  const std::vector<Attribute> attributes{{"a", true}, {std::string_view("b"), std::int64_t{1}}};
  const std::vector<Attribute> copy = attributes;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy[0].key, "a");
  EXPECT_EQ(copy[1].key, "b");
  EXPECT_EQ(AttributeKey(std::string_view()).view(), "");
  // Every way of making a key gives the bucket of its text.
  for (const AttributeKey* k : std::initializer_list<const AttributeKey*>{&literal, &copied, &moved})
    EXPECT_EQ(k->bucket(), key_bucket(k->view()));
  EXPECT_EQ(AttributeKey().bucket(), key_bucket(""));
  EXPECT_EQ(assigned.bucket(), key_bucket(""));  // moved from: the empty key
  EXPECT_EQ(AttributeKey("a.b").bucket(), AttributeKey(std::string("a.b")).bucket());
  static_assert(sizeof(AttributeKey) == 16);
}

}  // namespace
TEST_F(TracerTest, LinksAreRecordedWithinTheirLimits) {
  processor_->shutdown(5000ms);
  SpanLimits limits;
  limits.link_count = 2;
  limits.link_attribute_count = 1;
  limits.event_attribute_count = 1;
  make(Sampler(), limits);
  Span other = tracer_->start_span("other", SpanKind::internal, SpanContext{});
  const SpanContext linked = other.context();
  other.end();
  Span s = tracer_->start_span("s", SpanKind::internal, SpanContext{});
  s.add_link(linked, {{"link.reason", std::string("retry")}, {"dropped", std::string("x")}});
  s.add_link(linked);
  s.add_link(linked);         // over the limit: dropped and counted
  s.add_link(SpanContext{});  // invalid: ignored
  s.add_event("e", {{"kept", true}, {"cut", false}});
  s.end();
  auto spans = flush();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& d = spans[1].name == "s" ? spans[1] : spans[0];
  ASSERT_EQ(d.links.size(), 2u);
  EXPECT_EQ(d.links[0].trace_id, linked.trace_id);
  EXPECT_EQ(d.links[0].span_id, linked.span_id);
  ASSERT_EQ(d.links[0].attributes.size(), 1u);
  EXPECT_EQ(d.links[0].attributes[0].key, "link.reason");
  EXPECT_EQ(d.dropped_links_count, 1u);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].attributes.size(), 1u);
}

}  // namespace sy::telemetry
