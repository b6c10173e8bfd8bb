// Unit tests for the bounded span queue (span_queue.h) and the batch span processor (batch_processor.h), with
// a fake exporter that records every batch. Every wait is a bounded poll or condition-variable wait on the
// result.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "telemetry/batch_processor.h"
#include "telemetry/otlp_encoding.h"
#include "telemetry/protobuf_wire.h"
#include "telemetry/span_queue.h"

namespace sy::telemetry {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 5s;  // upper bound for anything these tests wait for

// Polls `done` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// ---- span_queue.h ----

TEST(SpanQueue, FifoOrder) {
  SpanQueue<int> q(16);
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(q.try_push(int(i)));
  EXPECT_EQ(q.size(), 10u);
  for (int i = 1; i <= 10; ++i) {
    int v = 0;
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, i);
  }
  int v = -1;
  EXPECT_FALSE(q.try_pop(v));
  EXPECT_EQ(v, -1);
  EXPECT_EQ(q.size(), 0u);
}

TEST(SpanQueue, PopOnEmptyFails) {
  SpanQueue<std::string> q(4);
  std::string s = "untouched";
  EXPECT_FALSE(q.try_pop(s));
  EXPECT_EQ(s, "untouched");
}

TEST(SpanQueue, CapacityIsExactEvenWhenNotAPowerOfTwo) {
  for (std::size_t cap : {1u, 2u, 3u, 5u, 7u, 8u, 100u, 1000u, 1025u}) {
    SpanQueue<int> q(cap);
    EXPECT_EQ(q.capacity(), cap);
    for (std::size_t i = 0; i < cap; ++i)
      ASSERT_TRUE(q.try_push(static_cast<int>(i))) << "cap " << cap << " i " << i;
    EXPECT_EQ(q.size(), cap);
    EXPECT_FALSE(q.try_push(-1)) << "cap " << cap;
    EXPECT_EQ(q.size(), cap);
    // One out, one in, and full again.
    int v = -1;
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, 0);
    EXPECT_TRUE(q.try_push(12345));
    EXPECT_FALSE(q.try_push(-1));
    EXPECT_EQ(q.size(), cap);
  }
}

TEST(SpanQueue, ZeroCapacityHoldsOne) {
  SpanQueue<int> q(0);
  EXPECT_EQ(q.capacity(), 1u);
  EXPECT_TRUE(q.try_push(1));
  EXPECT_FALSE(q.try_push(2));
}

TEST(SpanQueue, WrapsAroundManyTimesKeepingOrderAndCapacity) {
  SpanQueue<int> q(5);  // a ring of 8 holding at most 5
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int n = 1 + round % 5;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(q.try_push(int(next_in++)));
    if (n == 5) {
      EXPECT_FALSE(q.try_push(-1));
    }
    for (int i = 0; i < n; ++i) {
      int v = -1;
      ASSERT_TRUE(q.try_pop(v));
      ASSERT_EQ(v, next_out++);
    }
  }
  EXPECT_EQ(q.size(), 0u);
}

TEST(SpanQueue, MovesMoveOnlyValues) {
  SpanQueue<std::unique_ptr<int>> q(3);
  ASSERT_TRUE(q.try_push(std::make_unique<int>(7)));
  std::unique_ptr<int> out;
  ASSERT_TRUE(q.try_pop(out));
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, 7);
}

TEST(SpanQueue, ManyProducersOneConsumerLoseNothingDuplicateNothing) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20000;
  SpanQueue<std::uint64_t> q(100);  // small and not a power of two: producers often find it full
  std::atomic<bool> timed_out{false};
  const auto deadline = Clock::now() + 20s;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        std::uint64_t v = (static_cast<std::uint64_t>(p) << 32) | static_cast<std::uint64_t>(i);
        while (!q.try_push(std::move(v))) {
          if (Clock::now() > deadline) {
            timed_out = true;
            return;
          }
          std::this_thread::yield();
        }
      }
    });
  }
  std::vector<int> next(kProducers, 0);  // per producer: the next value expected (FIFO per producer)
  std::set<std::uint64_t> seen;
  int received = 0;
  bool order_ok = true;
  while (received < kProducers * kPerProducer && !timed_out && Clock::now() < deadline) {
    std::uint64_t v = 0;
    if (!q.try_pop(v)) {
      std::this_thread::yield();
      continue;
    }
    const int p = static_cast<int>(v >> 32), i = static_cast<int>(v & 0xffffffffu);
    if (p < 0 || p >= kProducers) {
      ADD_FAILURE() << "value from nowhere: " << v;
      break;
    }
    if (i != next[p]) order_ok = false;
    next[p] = i + 1;
    seen.insert(v);
    ++received;
  }
  for (auto& t : producers) t.join();
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(received, kProducers * kPerProducer);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kProducers * kPerProducer));  // no duplicates
  EXPECT_TRUE(order_ok);
  std::uint64_t extra = 0;
  EXPECT_FALSE(q.try_pop(extra));
  EXPECT_EQ(q.size(), 0u);
}

TEST(SpanQueue, ConcurrentProducersNeverExceedCapacity) {
  constexpr std::size_t kCap = 37;
  SpanQueue<int> q(kCap);
  std::atomic<int> pushed{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (q.try_push(int(i))) ++pushed;
      }
    });
  }
  for (auto& t : producers) t.join();
  // Nobody popped: exactly the capacity went in, whatever the interleaving.
  EXPECT_EQ(pushed.load(), static_cast<int>(kCap));
  EXPECT_EQ(q.size(), kCap);
  int n = 0, v = 0;
  while (q.try_pop(v)) ++n;
  EXPECT_EQ(n, static_cast<int>(kCap));
}

// ---- batch_processor.h ----

// What the fake exporter saw, shared with the test (the processor owns the exporter itself).
struct ExportLog {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::vector<std::string>> batches;  // span names per export call
  std::vector<Clock::time_point> batch_times;
  std::vector<std::string> resource_service_names;
  std::vector<std::string> scope_names;
  std::vector<std::string> requests;  // the bytes of each encoded request (an exporter that takes them)
  int shutdown_calls = 0;
  int in_export = 0;
  bool block = false;                       // exports wait while this is set (bounded)
  std::chrono::milliseconds per_export{0};  // simulated slowness of each export
  ExportResult result = ExportResult::success;

  std::size_t total() {
    std::lock_guard lock(m);
    std::size_t n = 0;
    for (auto& b : batches) n += b.size();
    return n;
  }
  std::vector<std::string> all_names() {
    std::lock_guard lock(m);
    std::vector<std::string> out;
    for (auto& b : batches) out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  // Waits (bounded) until `pred` holds under the lock.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, timeout, pred);
  }
  void set_block(bool b) {
    {
      std::lock_guard lock(m);
      block = b;
    }
    cv.notify_all();
  }
};

// The names of the spans in an encoded ExportTraceServiceRequest, its resource's service.name and its scope's
// name, read with the gateway's own protobuf reader.
struct DecodedRequest {
  std::vector<std::string> names;
  std::string service;
  std::string scope;
};

std::string_view string_field(std::string_view message, std::uint32_t wanted) {
  std::string_view out;
  wire::for_each_field(message, [&](std::uint32_t f, wire::Wire t, std::uint64_t, std::string_view bytes) {
    if (f == wanted && t == wire::Wire::len) out = bytes;
  });
  return out;
}

DecodedRequest decode_request(std::string_view request) {
  DecodedRequest d;
  const auto each = [](std::string_view message, std::uint32_t wanted, auto&& fn) {
    wire::for_each_field(message, [&](std::uint32_t f, wire::Wire t, std::uint64_t, std::string_view bytes) {
      if (f == wanted && t == wire::Wire::len) fn(bytes);
    });
  };
  each(request, 1, [&](std::string_view resource_spans) {
    each(string_field(resource_spans, 1), 1, [&](std::string_view key_value) {
      if (string_field(key_value, 1) == "service.name")
        d.service = std::string(string_field(string_field(key_value, 2), 1));
    });
    each(resource_spans, 2, [&](std::string_view scope_spans) {
      d.scope = std::string(string_field(string_field(scope_spans, 1), 1));
      each(scope_spans, 2, [&](std::string_view span) { d.names.emplace_back(string_field(span, 5)); });
    });
  });
  return d;
}

// Records every batch in the log. `encoded`: it takes whole requests the processor encoded
// (takes_encoded_requests), and reads the names back out of the bytes.
class FakeExporter final : public SpanExporter {
 public:
  explicit FakeExporter(std::shared_ptr<ExportLog> log, bool encoded = false)
      : log_(std::move(log)), encoded_(encoded) {}
  ExportResult export_spans(SpanBatch spans, const Resource& resource,
                            const InstrumentationScope& scope) noexcept override {
    std::vector<std::string> names;
    for (const SpanData& s : spans) names.push_back(s.name);
    std::string service;
    for (const Attribute& a : resource.attributes) {
      if (a.key == "service.name") service = std::get<std::string>(a.value);
    }
    return log_batch(std::move(names), std::move(service), scope.name);
  }
  bool takes_encoded_requests() const noexcept override { return encoded_; }
  ExportResult export_request(std::string_view request, std::size_t count) noexcept override {
    DecodedRequest d = decode_request(request);
    EXPECT_EQ(d.names.size(), count);
    {
      std::lock_guard lock(log_->m);
      log_->requests.emplace_back(request);
    }
    return log_batch(std::move(d.names), std::move(d.service), std::move(d.scope));
  }
  void shutdown() noexcept override {
    std::lock_guard lock(log_->m);
    ++log_->shutdown_calls;
    log_->cv.notify_all();
  }
  std::string_view name() const noexcept override { return "fake"; }

 private:
  ExportResult log_batch(std::vector<std::string> names, std::string service, std::string scope) {
    std::chrono::milliseconds delay;
    {
      std::unique_lock lock(log_->m);
      ++log_->in_export;
      log_->cv.notify_all();
      log_->cv.wait_for(lock, 10s, [&] { return !log_->block; });
      delay = log_->per_export;
    }
    if (delay.count() > 0)
      std::this_thread::sleep_for(delay);  // simulated network time, not a wait for results
    std::lock_guard lock(log_->m);
    log_->batches.push_back(std::move(names));
    log_->batch_times.push_back(Clock::now());
    log_->resource_service_names.push_back(std::move(service));
    log_->scope_names.push_back(std::move(scope));
    --log_->in_export;
    log_->cv.notify_all();
    return log_->result;
  }

  std::shared_ptr<ExportLog> log_;
  bool encoded_;
};

// Diagnostics messages, thread-safe.
struct DiagLog {
  std::mutex m;
  std::vector<std::string> messages;
  std::vector<Clock::time_point> times;
  BatchSpanProcessor::Diagnostics callback() {
    return [this](std::string_view msg) {
      std::lock_guard lock(m);
      messages.emplace_back(msg);
      times.push_back(Clock::now());
    };
  }
  std::size_t count() {
    std::lock_guard lock(m);
    return messages.size();
  }
};

SpanData span_named(std::string name) {
  SpanData s;
  s.name = std::move(name);
  s.trace_id[0] = 1;
  s.span_id[0] = 1;
  return s;
}

BatchSettings settings(std::size_t queue, std::size_t batch, std::chrono::milliseconds delay) {
  BatchSettings s;
  s.max_queue_size = queue;
  s.max_export_batch_size = batch;
  s.schedule_delay = delay;
  s.export_timeout = 5000ms;
  return s;
}

Resource resource_named(const std::string& service) {
  return Resource{{{"service.name", service}}};
}

// Whether make_processor's exporter takes encoded requests: set by the BatchProcessorModes fixture, so that
// its tests run against both ways the processor holds spans.
bool g_encoded = false;

std::unique_ptr<BatchSpanProcessor> make_processor(const BatchSettings& s, std::shared_ptr<ExportLog> log,
                                                   BatchSpanProcessor::Diagnostics diag = {}) {
  auto p = std::make_unique<BatchSpanProcessor>(s, std::make_unique<FakeExporter>(std::move(log), g_encoded),
                                                resource_named("test-service"),
                                                InstrumentationScope{"test-scope", "1.0"}, std::move(diag));
  EXPECT_EQ(p->encodes_requests(), g_encoded);
  return p;
}

// The processor's behaviour, the same whether it hands the exporter span records or requests it encoded.
class BatchProcessorModes : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { g_encoded = GetParam(); }
  void TearDown() override { g_encoded = false; }
};

INSTANTIATE_TEST_SUITE_P(RecordsAndEncoded, BatchProcessorModes, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Encoded" : "Records";
                         });

TEST_P(BatchProcessorModes, ExportsAfterTheScheduleDelay) {
  auto log = std::make_shared<ExportLog>();
  const auto created = Clock::now();
  auto p = make_processor(settings(2048, 512, 50ms), log);
  p->on_end(span_named("a"));
  p->on_end(span_named("b"));
  p->on_end(span_named("c"));
  ASSERT_TRUE(log->wait([&] { return log->batches.size() >= 1; }));
  {
    std::lock_guard lock(log->m);
    ASSERT_EQ(log->batches.size(), 1u);
    EXPECT_EQ(log->batches[0], (std::vector<std::string>{"a", "b", "c"}));
    // Less than a batch waits for the timer: not exported before the schedule delay ran out.
    EXPECT_GE(log->batch_times[0] - created, 45ms);
    EXPECT_EQ(log->resource_service_names[0], "test-service");
    EXPECT_EQ(log->scope_names[0], "test-scope");
  }
  ASSERT_TRUE(eventually([&] { return p->exported() == 3; }));
  EXPECT_EQ(p->dropped(), 0u);
  EXPECT_EQ(p->failed(), 0u);
  p->shutdown(1000ms);
}

TEST_P(BatchProcessorModes, KeepsExportingOnEveryScheduleTick) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(2048, 512, 20ms), log);
  for (int round = 0; round < 3; ++round) {
    p->on_end(span_named("r" + std::to_string(round)));
    ASSERT_TRUE(log->wait([&] { return log->batches.size() == static_cast<std::size_t>(round + 1); }))
        << "round " << round;
  }
  EXPECT_EQ(log->all_names(), (std::vector<std::string>{"r0", "r1", "r2"}));
  p->shutdown(1000ms);
}

TEST_P(BatchProcessorModes, AFullBatchIsExportedWithoutWaitingForTheTimer) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(100, 10, std::chrono::milliseconds(60000)), log);
  for (int i = 0; i < 10; ++i) p->on_end(span_named("s" + std::to_string(i)));
  ASSERT_TRUE(log->wait([&] { return log->batches.size() >= 1; }));
  {
    std::lock_guard lock(log->m);
    EXPECT_EQ(log->batches[0].size(), 10u);
  }
  p->shutdown(1000ms);
}

TEST_P(BatchProcessorModes, BatchesNeverExceedTheMaximum) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(1000, 7, 20ms), log);
  std::vector<std::string> expected;
  for (int i = 0; i < 100; ++i) {
    expected.push_back("s" + std::to_string(i));
    p->on_end(span_named(expected.back()));
  }
  ASSERT_TRUE(eventually([&] { return log->total() == 100; }));
  {
    std::lock_guard lock(log->m);
    for (auto& b : log->batches) {
      EXPECT_GE(b.size(), 1u);
      EXPECT_LE(b.size(), 7u);
    }
  }
  EXPECT_EQ(log->all_names(), expected);  // in order, each once
  p->shutdown(1000ms);
  EXPECT_EQ(log->total(), 100u);
}

TEST_P(BatchProcessorModes, BatchSizeAboveQueueSizeIsClampedToIt) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(5, 50, std::chrono::milliseconds(60000)), log);
  // Five spans fill a batch once the batch size is clamped to the queue size: exported without the 60 s
  // timer.
  for (int i = 0; i < 5; ++i) p->on_end(span_named("s" + std::to_string(i)));
  ASSERT_TRUE(log->wait([&] { return log->batches.size() >= 1; }));
  {
    std::lock_guard lock(log->m);
    EXPECT_EQ(log->batches[0].size(), 5u);
  }
  p->shutdown(1000ms);
}

// Blocks the exporter on one span, so the queue can then be filled deterministically.
void hold_exporter_busy(BatchSpanProcessor& p, ExportLog& log, std::string name) {
  log.set_block(true);
  p.on_end(span_named(std::move(name)));
  ASSERT_TRUE(log.wait([&] { return log.in_export == 1; }));
}

TEST_P(BatchProcessorModes, FullQueueDropsAndCounts) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(4, 4, 10ms), log);
  ASSERT_NO_FATAL_FAILURE(hold_exporter_busy(*p, *log, "busy"));
  for (int i = 0; i < 4; ++i) p->on_end(span_named("q" + std::to_string(i)));
  EXPECT_EQ(p->dropped(), 0u);
  for (int i = 0; i < 3; ++i) p->on_end(span_named("dropped" + std::to_string(i)));
  EXPECT_EQ(p->dropped(), 3u);
  log->set_block(false);
  ASSERT_TRUE(eventually([&] { return log->total() == 5; }));
  EXPECT_EQ(log->all_names(), (std::vector<std::string>{"busy", "q0", "q1", "q2", "q3"}));
  p->shutdown(1000ms);
  EXPECT_EQ(p->dropped(), 3u);
  EXPECT_EQ(p->exported(), 5u);
  EXPECT_EQ(log->total(), 5u);
}

TEST_P(BatchProcessorModes, OnEndNeverBlocksEvenWhenTheExporterHangs) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(16, 8, 10ms), log);
  ASSERT_NO_FATAL_FAILURE(hold_exporter_busy(*p, *log, "busy"));
  const auto start = Clock::now();
  for (int i = 0; i < 10000; ++i) p->on_end(span_named("x"));
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(p->dropped(), 10000u - 16u);
  log->set_block(false);
  p->shutdown(2000ms);
}

TEST_P(BatchProcessorModes, DropIsReportedToDiagnosticsOnce) {
  auto log = std::make_shared<ExportLog>();
  DiagLog diag;
  BatchSettings s = settings(4, 4, 10ms);
  s.drop_report_interval = std::chrono::seconds(60);
  auto p = make_processor(s, log, diag.callback());
  ASSERT_NO_FATAL_FAILURE(hold_exporter_busy(*p, *log, "busy"));
  for (int i = 0; i < 7; ++i) p->on_end(span_named("s"));  // 4 queued, 3 dropped
  log->set_block(false);
  ASSERT_TRUE(eventually([&] { return diag.count() >= 1; }));
  ASSERT_TRUE(eventually([&] { return log->total() == 5; }));
  {
    std::lock_guard lock(diag.m);
    EXPECT_NE(diag.messages[0].find("dropped"), std::string::npos) << diag.messages[0];
    EXPECT_NE(diag.messages[0].find('3'), std::string::npos) << diag.messages[0];
  }
  // More drops within the interval: counted, not reported again.
  ASSERT_NO_FATAL_FAILURE(hold_exporter_busy(*p, *log, "busy2"));
  for (int i = 0; i < 6; ++i) p->on_end(span_named("t"));  // 4 queued, 2 dropped
  log->set_block(false);
  ASSERT_TRUE(eventually([&] { return log->total() == 10; }));
  // One more export cycle: the report for the cycle that exported the spans above has run by then.
  p->on_end(span_named("later"));
  ASSERT_TRUE(eventually([&] { return log->total() == 11; }));
  p->on_end(span_named("later2"));
  ASSERT_TRUE(eventually([&] { return log->total() == 12; }));
  EXPECT_EQ(diag.count(), 1u);
  EXPECT_EQ(p->dropped(), 5u);
  p->shutdown(1000ms);
  EXPECT_EQ(diag.count(), 1u);
}

TEST_P(BatchProcessorModes, DropReportsAreSpacedByTheInterval) {
  auto log = std::make_shared<ExportLog>();
  DiagLog diag;
  BatchSettings s = settings(2, 2, 10ms);
  s.drop_report_interval = std::chrono::seconds(1);
  auto p = make_processor(s, log, diag.callback());
  ASSERT_NO_FATAL_FAILURE(hold_exporter_busy(*p, *log, "busy"));
  for (int i = 0; i < 5; ++i) p->on_end(span_named("s"));  // 2 queued, 3 dropped
  log->set_block(false);
  ASSERT_TRUE(eventually([&] { return diag.count() == 1; }));
  ASSERT_TRUE(eventually([&] { return log->total() == 3; }));
  ASSERT_NO_FATAL_FAILURE(hold_exporter_busy(*p, *log, "busy2"));
  for (int i = 0; i < 4; ++i) p->on_end(span_named("t"));  // 2 queued, 2 dropped
  log->set_block(false);
  // The second report comes, but not before the interval has passed since the first.
  ASSERT_TRUE(eventually([&] { return diag.count() >= 2; }, 4000ms));
  std::lock_guard lock(diag.m);
  EXPECT_GE(diag.times[1] - diag.times[0], 990ms);
  EXPECT_NE(diag.messages[1].find('2'), std::string::npos) << diag.messages[1];  // the new drops
  EXPECT_NE(diag.messages[1].find('5'), std::string::npos) << diag.messages[1];  // in all
  EXPECT_EQ(diag.messages.size(), 2u);
  p->shutdown(1000ms);
}

TEST_P(BatchProcessorModes, FailedExportsAreCounted) {
  auto log = std::make_shared<ExportLog>();
  log->result = ExportResult::failure;
  DiagLog diag;
  auto p = make_processor(settings(100, 10, 10ms), log, diag.callback());
  for (int i = 0; i < 5; ++i) p->on_end(span_named("s"));
  ASSERT_TRUE(eventually([&] { return p->failed() == 5; }));
  EXPECT_EQ(p->exported(), 0u);
  EXPECT_EQ(p->dropped(), 5u);  // a failed export is a loss of those spans
  EXPECT_EQ(log->total(), 5u);  // each span was tried once
  ASSERT_TRUE(eventually([&] { return diag.count() >= 1; }));
  p->shutdown(1000ms);
}

TEST_P(BatchProcessorModes, ShutdownFlushesEverythingQueuedAndShutsTheExporterDown) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(1000, 1000, std::chrono::milliseconds(60000)), log);
  std::vector<std::string> expected;
  for (int i = 0; i < 300; ++i) {
    expected.push_back("s" + std::to_string(i));
    p->on_end(span_named(expected.back()));
  }
  EXPECT_EQ(log->total(), 0u);  // the 60 s timer has not run out and no batch is full
  const auto start = Clock::now();
  p->shutdown(3000ms);
  EXPECT_LT(Clock::now() - start, 3000ms);
  EXPECT_EQ(log->all_names(), expected);
  EXPECT_EQ(p->exported(), 300u);
  std::lock_guard lock(log->m);
  EXPECT_EQ(log->shutdown_calls, 1);
}

TEST_P(BatchProcessorModes, ShutdownFlushRespectsTheBatchSize) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(1000, 50, std::chrono::milliseconds(60000)), log);
  for (int i = 0; i < 40; ++i) p->on_end(span_named("s"));  // under a batch: nothing exported yet
  p->shutdown(3000ms);
  EXPECT_EQ(log->total(), 40u);
  std::lock_guard lock(log->m);
  for (auto& b : log->batches) EXPECT_LE(b.size(), 50u);
}

TEST_P(BatchProcessorModes, ShutdownReturnsWithinItsDeadlineWhenExportsAreSlow) {
  // A slow collector: each export takes 20 ms, 100 one-span batches are queued and the export thread is busy
  // with the first when shutdown comes (SIGTERM during an export). Shutdown with a 150 ms deadline must give
  // up on what is left instead of exporting all of it (2 s).
  auto log = std::make_shared<ExportLog>();
  log->per_export = 20ms;
  auto p = make_processor(settings(100, 1, std::chrono::milliseconds(60000)), log);
  log->set_block(true);
  for (int i = 0; i < 100; ++i) p->on_end(span_named("s"));
  ASSERT_TRUE(log->wait([&] { return log->in_export == 1; }));  // a full batch woke the export thread
  log->set_block(false);
  const auto start = Clock::now();
  p->shutdown(150ms);
  const auto took = Clock::now() - start;
  EXPECT_LT(took, 1000ms) << "shutdown took "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_LT(log->total(), 100u);
  std::lock_guard lock(log->m);
  EXPECT_EQ(log->shutdown_calls, 1);
}

TEST_P(BatchProcessorModes, OnEndAfterShutdownDrops) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(100, 10, 10ms), log);
  p->shutdown(1000ms);
  p->on_end(span_named("late"));
  p->on_end(span_named("later"));
  EXPECT_EQ(p->dropped(), 2u);
  EXPECT_EQ(log->total(), 0u);
}

TEST_P(BatchProcessorModes, ShutdownIsIdempotent) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(100, 10, 10ms), log);
  p->on_end(span_named("a"));
  p->shutdown(1000ms);
  p->shutdown(1000ms);
  p.reset();  // the destructor shuts down once more
  EXPECT_EQ(log->total(), 1u);
  std::lock_guard lock(log->m);
  EXPECT_EQ(log->shutdown_calls, 1);
}

TEST_P(BatchProcessorModes, DestructorFlushes) {
  auto log = std::make_shared<ExportLog>();
  {
    auto p = make_processor(settings(100, 100, std::chrono::milliseconds(60000)), log);
    p->on_end(span_named("a"));
    p->on_end(span_named("b"));
  }
  EXPECT_EQ(log->all_names(), (std::vector<std::string>{"a", "b"}));
  std::lock_guard lock(log->m);
  EXPECT_EQ(log->shutdown_calls, 1);
}

TEST(BatchProcessor, NoExporterCountsSpansAsFailed) {
  BatchSpanProcessor p(settings(100, 10, 10ms), nullptr, Resource{}, InstrumentationScope{});
  p.on_end(span_named("a"));
  ASSERT_TRUE(eventually([&] { return p.failed() == 1; }));
  EXPECT_EQ(p.exported(), 0u);
  p.shutdown(500ms);
}

TEST_P(BatchProcessorModes, ManyThreadsEndingSpansLoseNothing) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(100000, 512, 5ms), log);
  constexpr int kThreads = 8, kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) p->on_end(span_named(std::to_string(t) + ":" + std::to_string(i)));
    });
  }
  for (auto& th : threads) th.join();
  p->shutdown(5000ms);
  EXPECT_EQ(p->dropped(), 0u);
  const auto names = log->all_names();
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(),
            static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(p->exported(), static_cast<std::uint64_t>(kThreads * kPerThread));
}

// Every field of `s` is what a new record holds.
void expect_like_new(const SpanData& s) {
  const SpanData fresh;
  EXPECT_EQ(s.trace_id, fresh.trace_id);
  EXPECT_EQ(s.span_id, fresh.span_id);
  EXPECT_EQ(s.parent_span_id, fresh.parent_span_id);
  EXPECT_EQ(s.trace_state, fresh.trace_state);
  EXPECT_EQ(s.flags, fresh.flags);
  EXPECT_EQ(s.name, fresh.name);
  EXPECT_EQ(s.kind, fresh.kind);
  EXPECT_EQ(s.start_time_unix_nano, fresh.start_time_unix_nano);
  EXPECT_EQ(s.end_time_unix_nano, fresh.end_time_unix_nano);
  EXPECT_TRUE(s.attributes.empty());
  EXPECT_TRUE(s.events.empty());
  EXPECT_TRUE(s.links.empty());
  EXPECT_EQ(s.status_code, fresh.status_code);
  EXPECT_EQ(s.status_message, fresh.status_message);
  EXPECT_EQ(s.dropped_attributes_count, fresh.dropped_attributes_count);
  EXPECT_EQ(s.dropped_events_count, fresh.dropped_events_count);
  EXPECT_EQ(s.dropped_links_count, fresh.dropped_links_count);
}

void fill_everything(SpanData& s, std::string name) {
  s.trace_id[0] = 1;
  s.span_id[0] = 2;
  s.parent_span_id[0] = 3;
  s.trace_state = "vendor=value";
  s.flags = 0;
  s.name = std::move(name);
  s.kind = SpanKind::client;
  s.start_time_unix_nano = 10;
  s.end_time_unix_nano = 20;
  for (int i = 0; i < 20; ++i) {
    Attribute a{"k" + std::to_string(i), std::int64_t{i}};  // a named local: g++ 12 warns wrongly otherwise
    s.attributes.push_back(std::move(a));
  }
  s.events.push_back(Event{"exception", 15, {{"exception.message", std::string("boom")}}});
  s.links.push_back(Link{s.trace_id, s.span_id, "k=v", {}});
  s.status_code = StatusCode::error;
  s.status_message = "failed";
  s.dropped_attributes_count = 1;
  s.dropped_events_count = 2;
  s.dropped_links_count = 3;
}

TEST(BatchProcessor, ExportedRecordsComeBackClearedWithTheirStorage) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(16, 1, 10ms), log);
  // One record goes round twice: it is exported where it is, cleared, and handed out again with its storage.
  std::unique_ptr<SpanData> record = p->acquire();
  SpanData* const address = record.get();
  for (int round = 1; round <= 2; ++round) {
    fill_everything(*record, "round" + std::to_string(round));
    p->on_end(std::move(record));
    // exported() counts a batch once its records are back on the free list.
    ASSERT_TRUE(eventually([&] { return p->exported() >= static_cast<std::uint64_t>(round); }));
    record = p->acquire();
    ASSERT_EQ(record.get(), address) << "the exported record was not reused";
    expect_like_new(*record);
  }
  EXPECT_GE(record->attributes.capacity(), 20u) << "the storage of the first round's attributes was not kept";
  EXPECT_EQ(log->all_names(), (std::vector<std::string>{"round1", "round2"}));
}

TEST(BatchProcessor, TheRecordClearedLastIsHandedOutFirst) {
  auto log = std::make_shared<ExportLog>();
  // A schedule delay far beyond the test: the three spans leave together, as the batch they fill.
  auto p = make_processor(settings(16, 3, 10s), log);
  std::vector<SpanData*> exported;
  for (const char* name : {"a", "b", "c"}) {
    std::unique_ptr<SpanData> record = p->acquire();
    exported.push_back(record.get());
    record->name = name;
    p->on_end(std::move(record));
  }
  ASSERT_TRUE(eventually([&] { return p->exported() == 3; }));
  EXPECT_EQ(log->all_names(), (std::vector<std::string>{"a", "b", "c"}));
  // Cleared in export order, so "c"'s record is the warmest in cache: it comes back first, "a"'s last.
  std::vector<std::unique_ptr<SpanData>> again;
  for (int i = 0; i < 3; ++i) again.push_back(p->acquire());
  EXPECT_EQ(again[0].get(), exported[2]);
  EXPECT_EQ(again[1].get(), exported[1]);
  EXPECT_EQ(again[2].get(), exported[0]);
  for (const auto& record : again) expect_like_new(*record);
  const std::unique_ptr<SpanData> fresh = p->acquire();
  for (SpanData* e : exported) EXPECT_NE(fresh.get(), e) << "an empty free list makes a new record";
}

TEST(BatchProcessor, ARecordGoesBackToASpanOfTheKindItHeld) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(16, 3, 10s), log);
  // A server, a client and an internal span leave together; each record returns to its kind's list.
  std::map<SpanKind, SpanData*> held;
  for (SpanKind kind : {SpanKind::server, SpanKind::client, SpanKind::internal}) {
    std::unique_ptr<SpanData> record = p->acquire(kind);
    held[kind] = record.get();
    record->name = "span";
    record->kind = kind;
    p->on_end(std::move(record));
  }
  ASSERT_TRUE(eventually([&] { return p->exported() == 3; }));
  // Asked in another order than the records were cleared in, each kind still gets its own record back.
  std::vector<std::unique_ptr<SpanData>> again;
  for (SpanKind kind : {SpanKind::client, SpanKind::server, SpanKind::internal}) {
    again.push_back(p->acquire(kind));
    EXPECT_EQ(again.back().get(), held[kind]) << "kind " << static_cast<int>(kind);
    expect_like_new(*again.back());
  }
}

TEST(BatchProcessor, AKindWithoutRecordsTakesOneOfAnotherKindBeforeMakingOne) {
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(16, 1, 10ms), log);
  std::unique_ptr<SpanData> record = p->acquire(SpanKind::client);
  SpanData* const address = record.get();
  record->kind = SpanKind::client;
  p->on_end(std::move(record));
  ASSERT_TRUE(eventually([&] { return p->exported() == 1; }));
  record = p->acquire(SpanKind::server);
  EXPECT_EQ(record.get(), address) << "a kept record of another kind is used before a new one is made";
  expect_like_new(*record);
}

TEST(BatchProcessor, ARecordDroppedOnAFullQueueIsReusedToo) {
  auto log = std::make_shared<ExportLog>();
  log->set_block(true);
  auto p = make_processor(settings(1, 1, 10ms), log);
  p->on_end(span_named("exporting"));
  ASSERT_TRUE(log->wait([&] { return log->in_export == 1; }));
  p->on_end(span_named("queued"));
  std::unique_ptr<SpanData> record = p->acquire();
  SpanData* const address = record.get();
  fill_everything(*record, "dropped");
  p->on_end(std::move(record));  // the queue holds one: dropped
  EXPECT_EQ(p->dropped(), 1u);
  record = p->acquire();
  EXPECT_EQ(record.get(), address);
  expect_like_new(*record);
  log->set_block(false);
  p->shutdown(5000ms);
  EXPECT_EQ(log->all_names(), (std::vector<std::string>{"exporting", "queued"}));
}

// A thread takes several cleared records in one go and keeps them for its own next spans (no lock per span):
// another thread finds none left and makes its own, and the first one's next spans get the rest, most recent
// first.
TEST(BatchProcessor, AThreadKeepsTheRecordsItTookForItsNextSpans) {
  auto log = std::make_shared<ExportLog>();
  constexpr std::size_t kTaken = BatchSpanProcessor::kThreadStash;
  auto p = make_processor(settings(64, kTaken, 10s), log);
  std::vector<SpanData*> exported;
  for (std::size_t i = 0; i < kTaken; ++i) {
    std::unique_ptr<SpanData> record = p->acquire();
    exported.push_back(record.get());
    record->name = "s" + std::to_string(i);
    p->on_end(std::move(record));
  }
  ASSERT_TRUE(eventually([&] { return p->exported() == kTaken; }));
  std::vector<std::unique_ptr<SpanData>> mine;
  mine.push_back(p->acquire());
  EXPECT_EQ(mine.back().get(), exported.back());
  std::unique_ptr<SpanData> theirs;
  std::thread([&] { theirs = p->acquire(); }).join();
  for (SpanData* e : exported) EXPECT_NE(theirs.get(), e) << "another thread's stash holds every kept record";
  for (std::size_t i = 1; i < kTaken; ++i) {
    mine.push_back(p->acquire());
    EXPECT_EQ(mine.back().get(), exported[kTaken - 1 - i]) << i;
    expect_like_new(*mine.back());
  }
}

// ---- encoded requests ----

// The processor encodes each span before it clears the record: the request holds exactly the bytes
// encode_traces_protobuf writes for copies of the spans as they ended.
TEST(BatchProcessorEncoded, RequestsAreTheBytesOfTheSpansAsTheyEnded) {
  g_encoded = true;
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(100, 3, 60s), log);
  g_encoded = false;
  std::vector<SpanData> copies;
  for (const char* name : {"first", "second", "third"}) {
    std::unique_ptr<SpanData> record = p->acquire(SpanKind::client);
    fill_everything(*record, name);
    fill_everything(copies.emplace_back(), name);  // the same span, filled alike
    p->on_end(std::move(record));
  }
  ASSERT_TRUE(eventually([&] { return p->exported() == 3; }));
  std::lock_guard lock(log->m);
  ASSERT_EQ(log->requests.size(), 1u);
  EXPECT_EQ(log->requests[0], encode_traces_protobuf(copies, resource_named("test-service"),
                                                     InstrumentationScope{"test-scope", "1.0"}));
  EXPECT_EQ(log->resource_service_names[0], "test-service");
  EXPECT_EQ(log->scope_names[0], "test-scope");
}

// Records come back after a chunk of spans is encoded, long before their batch is full and sent: that is
// what keeps them in cache.
TEST(BatchProcessorEncoded, RecordsComeBackBeforeTheirBatchIsSent) {
  g_encoded = true;
  auto log = std::make_shared<ExportLog>();
  auto p = make_processor(settings(2048, 512, 60s), log);
  g_encoded = false;
  std::set<SpanData*> ended;
  for (std::size_t i = 0; i < BatchSpanProcessor::kEncodeChunk; ++i) {
    std::unique_ptr<SpanData> record = p->acquire();
    fill_everything(*record, "s" + std::to_string(i));
    ended.insert(record.get());
    p->on_end(std::move(record));
  }
  std::vector<std::unique_ptr<SpanData>> again;  // held, so that each acquire takes another record
  ASSERT_TRUE(eventually([&] {
    again.push_back(p->acquire());
    return ended.count(again.back().get()) == 1;
  }));
  expect_like_new(*again.back());
  EXPECT_GE(again.back()->attributes.capacity(), 20u) << "its storage was not kept";
  EXPECT_EQ(log->total(), 0u) << "a chunk is not a batch: nothing is sent before 512 spans or the delay";
  p->shutdown(5000ms);
  EXPECT_EQ(log->total(), BatchSpanProcessor::kEncodeChunk);
}

// An exporter that cannot take requests (OTLP/JSON, the console) gets records, as before.
TEST(BatchProcessorEncoded, OnlyAnExporterThatTakesRequestsGetsThem) {
  auto log = std::make_shared<ExportLog>();
  auto records = make_processor(settings(100, 10, 10ms), log);
  EXPECT_FALSE(records->encodes_requests());
  BatchSpanProcessor none(settings(100, 10, 10ms), nullptr, Resource{}, InstrumentationScope{});
  EXPECT_FALSE(none.encodes_requests());
}

}  // namespace
}  // namespace sy::telemetry
