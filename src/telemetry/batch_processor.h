// The batch span processor: ending a span pushes it onto a bounded lock-free queue (a full queue drops and
// counts); one export thread sends batches when a batch fills or the schedule delay passes, and flushes on
// shutdown. Span records are cleared and handed back, with their storage, for the next spans to fill: one of
// the same kind, the most recently cleared first, while it is still in cache.
//
// With an exporter that sends OTLP protobuf (SpanExporter::takes_encoded_requests), there is no queue of
// records: the thread that ends a span encodes it at once into a request of its own (the record is still in
// its cache, having just been filled) and keeps the record for its next span. A thread's request is handed to
// the export thread when it holds a batch; the export thread takes what a thread has begun when the schedule
// delay passes, and at shutdown. So the export thread is woken once per batch (not per span or chunk of
// spans), spans cross between threads as whole requests, and a record never leaves the thread that fills
// it. Other exporters get the records of a whole batch, as they were filled.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
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
  // Called when a span ends, from any thread. Never blocks: a push onto the lock-free queue (encoded mode:
  // the span's encoding into the thread's own request, whose lock only the export thread's rare takes of
  // a begun request contend for), and when the queue is full only a try of the free list's lock to keep the
  // record if the thread's stash has no room.
  void on_end(std::unique_ptr<SpanData> span) noexcept;
  void on_end(SpanData&& span) noexcept;
  // Exports what is queued, waiting at most `timeout`, then stops the export thread. Idempotent.
  void shutdown(std::chrono::milliseconds timeout) noexcept;

  static constexpr std::size_t kKinds = 6;        // SpanKind's values: one free list each
  static constexpr std::size_t kThreadStash = 8;  // records per kind a thread keeps for its next spans
  bool encodes_requests() const noexcept { return encoded_; }

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  // Counted once the batch's records are back on the free lists (release): a reader that sees the count
  // (acquire) sees them cleared.
  std::uint64_t exported() const noexcept { return exported_.load(std::memory_order_acquire); }
  std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_acquire); }

 private:
  // Encoded mode: a thread's request in progress, under its own lock. The export thread takes that lock only
  // to take what the thread has begun (the schedule delay, shutdown).
  struct ThreadRequest {
    std::mutex mutex;
    TracesRequestWriter writer;
    EncodeBuffer bytes;
    std::thread::id thread;
  };
  // A request ready to send, and the spans in it.
  struct Request {
    EncodeBuffer bytes;
    std::size_t spans = 0;
  };
  // The calling thread's request for this processor: made and registered on its first span.
  ThreadRequest& thread_request();
  // Encoded mode's on_end: the span into the thread's request; the record back to the thread's stash.
  void encode(std::unique_ptr<SpanData> span) noexcept;
  // Finishes `r`'s request (with r.mutex held) and queues it for the export thread; `r` gets a spare buffer.
  void hand_over(ThreadRequest& r) noexcept;
  // Encoded mode, export thread: sends the full requests, oldest first, then, when the schedule delay has
  // passed or `flush`, what each thread has begun. Returns after one send when shutting down, so the flush
  // can watch its deadline.
  void send_requests(bool flush) noexcept;
  void send(Request& request) noexcept;  // and gives its buffer back to the spares
  // Keeps a cleared record for the next span: in the thread's stash, else on the free list if its lock is
  // free; else frees it.
  void keep_cleared(std::unique_ptr<SpanData> record) noexcept;
  // Clears the records in batch_ and hands them back to the free lists; frees what they have no room for.
  void recycle_batch() noexcept;
  std::size_t waiting() const noexcept;  // spans not exported yet: queued (encoded mode: in requests)

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
  const bool encoded_;
  std::size_t wake_at_ = 0;  // records mode: queued spans that wake the export thread early
  std::chrono::steady_clock::time_point next_send_;  // encoded mode: when begun requests go out
  // Encoded mode: every thread's request, the full ones waiting for the export thread (oldest first), and
  // spare buffers for the threads' next requests. Taken once per batch, and by a thread's first span.
  std::mutex requests_mutex_;
  std::vector<std::shared_ptr<ThreadRequest>> thread_requests_;
  std::deque<Request> full_;
  std::vector<EncodeBuffer> spare_buffers_;
  // Encoded mode: spans in the threads' and the full requests, bounded by max_queue_size as the queue is.
  std::atomic<std::size_t> encoded_spans_{0};

  std::mutex mutex_;  // the export thread's sleep and wake-up (on_end holds it only to notify)
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
