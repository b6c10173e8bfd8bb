// The batch span processor: ending a span pushes it onto a bounded lock-free queue (a full queue drops and
// counts); one export thread sends batches when a batch fills or the schedule delay passes, and flushes on
// shutdown. Span records are cleared and handed back, with their storage, for the next spans to fill: one of
// the same kind, the most recently cleared first, while it is still in cache.
//
// With an exporter that sends OTLP protobuf (SpanExporter::takes_encoded_requests), the export thread does
// not wait for a whole batch: it is woken every kEncodeChunk spans, encodes them into the request it is
// building and hands their records back at once; the request goes out when it holds a batch or the schedule
// delay passes. A record is then back in use some 20 requests after it was filled, not ~170 (a batch of 512
// spans): still in the core's cache, where the records of a whole batch (~1 MB) were not, and those misses
// were most of what tracing cost a request beyond its instructions. Other exporters get the records of a
// whole batch, as they were filled.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "telemetry/encode_buffer.h"
#include "telemetry/exporter.h"
#include "telemetry/otlp_encoding.h"
#include "telemetry/span_data.h"
#include "telemetry/span_queue.h"

namespace sy::telemetry {

struct BatchSettings {
  std::size_t max_queue_size = 2048;                // OTEL_BSP_MAX_QUEUE_SIZE
  std::size_t max_export_batch_size = 512;          // OTEL_BSP_MAX_EXPORT_BATCH_SIZE
  std::chrono::milliseconds schedule_delay{5000};   // OTEL_BSP_SCHEDULE_DELAY
  std::chrono::milliseconds export_timeout{30000};  // OTEL_BSP_EXPORT_TIMEOUT
  std::chrono::seconds drop_report_interval{60};    // at most one "dropped spans" report this often
};

class BatchSpanProcessor {
 public:
  using Diagnostics = std::function<void(std::string_view)>;

  BatchSpanProcessor(BatchSettings settings, std::unique_ptr<SpanExporter> exporter, Resource resource,
                     InstrumentationScope scope, Diagnostics diagnostics = {});
  ~BatchSpanProcessor();

  // A record for a new span of `kind` to fill, from any thread: the most recently cleared one that last held
  // a span of that kind (its export done, or its span dropped on a full queue; its storage kept), else one of
  // another kind, else a new one. Records come from the calling thread's own stash of up to
  // kThreadStash per kind, without a lock; an empty stash takes the free list's most recent ones in one go,
  // and only tries its lock (a new record when another thread holds it), so it never blocks.
  std::unique_ptr<SpanData> acquire(SpanKind kind = SpanKind::internal);
  // Called when a span ends, from any thread. Never blocks: a push onto the lock-free queue, and when that
  // fails (a full queue) the record goes to the thread's stash, or when that is full to the free list if a
  // try of its lock succeeds.
  void on_end(std::unique_ptr<SpanData> span) noexcept;
  void on_end(SpanData&& span) noexcept;
  // Exports what is queued, waiting at most `timeout`, then stops the export thread. Idempotent.
  void shutdown(std::chrono::milliseconds timeout) noexcept;

  static constexpr std::size_t kKinds = 6;         // SpanKind's values: one free list each
  static constexpr std::size_t kEncodeChunk = 64;  // encoded mode: spans that wake the export thread
  static constexpr std::size_t kThreadStash = 8;   // records per kind a thread keeps for its next spans
  bool encodes_requests() const noexcept { return encoded_; }

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  // Counted once the batch's records are back on the free lists (release): a reader that sees the count
  // (acquire) sees them cleared.
  std::uint64_t exported() const noexcept { return exported_.load(std::memory_order_acquire); }
  std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_acquire); }

 private:
  // Encoded mode, export thread: encodes what is queued, a chunk at a time, handing the records back after
  // each chunk; sends the request when it holds a batch, and what it holds when the schedule delay has passed
  // or `flush`. Returns after one send when shutting down, so the flush can watch its deadline.
  void encode_and_send(bool flush) noexcept;
  void send_request() noexcept;
  // Clears the records in batch_ and hands them back to the free lists; frees what they have no room for.
  void recycle_batch() noexcept;
  std::size_t waiting() const noexcept;  // spans not exported yet: queued, and encoded (export thread only)

  void run() noexcept;
  void export_available(std::size_t max_batches) noexcept;
  void report_drops() noexcept;
  void shutdown_exporter_once() noexcept;

  BatchSettings settings_;
  std::unique_ptr<SpanExporter> exporter_;
  Resource resource_;
  InstrumentationScope scope_;
  Diagnostics diagnostics_;
  SpanQueue<std::unique_ptr<SpanData>> queue_;
  // Cleared records for acquire(), a stack per span kind: the last one pushed is the warmest in cache, and a
  // record refilled by a span of the kind it last held finds an attribute buffer already the size that span's
  // attributes need (the gateway's server, route and client spans each set the same attributes every time),
  // so nothing grows. At most max_queue_size are kept in all (and up to kThreadStash per kind in each
  // thread's stash). The lock is held for one batch's pushes on the export thread, or for a stash's refill,
  // and request threads only ever try it: once per kThreadStash spans of a kind, not once per span, so that
  // the workers of a many-core machine do not all write its cache line for every span.
  void keep(SpanKind kind, std::unique_ptr<SpanData> record);  // with free_mutex_ held
  std::vector<std::unique_ptr<SpanData>>& free_list(SpanKind kind) noexcept;
  // Moves up to kThreadStash of the free list's most recent records for `kind` (else of another kind) to a
  // thread's stash (`records`, which then owns them), in their order: false when the lock is busy or there
  // are none.
  bool refill(SpanKind kind, std::array<SpanData*, kThreadStash>& records, std::size_t& count) noexcept;
  const std::uint64_t id_;  // tells this processor's records in a thread's stash from an earlier one's
  std::mutex free_mutex_;
  std::array<std::vector<std::unique_ptr<SpanData>>, kKinds> free_;
  std::size_t free_count_ = 0;
  // Export thread only: the records of the batch in export, the view of them the exporter reads, and the kind
  // of span each held (clearing resets it).
  std::vector<std::unique_ptr<SpanData>> batch_;
  std::vector<const SpanData*> batch_view_;
  std::vector<SpanKind> batch_kinds_;
  // Encoded mode (export thread only but for the two constants).
  const bool encoded_;
  std::size_t wake_at_ = 0;  // queued spans that wake the export thread early
  TracesRequestWriter writer_;
  EncodeBuffer request_;
  std::chrono::steady_clock::time_point next_send_;

  std::mutex mutex_;  // export thread and shutdown only: never taken by on_end
  std::condition_variable wake_;
  std::condition_variable done_;  // the export thread has flushed and stopped
  bool finished_ = false;
  std::atomic<bool> exporter_shut_down_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> batch_signalled_{false};
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::uint64_t dropped_reported_ = 0;
  std::chrono::steady_clock::time_point last_drop_report_{};
  std::thread thread_;
};

}  // namespace sy::telemetry
