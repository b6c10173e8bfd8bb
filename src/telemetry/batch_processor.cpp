#include "telemetry/batch_processor.h"

#include <algorithm>
#include <string>

namespace sy::telemetry {
namespace {

// A request's buffer is kept for the next one up to this size (a batch of 512 typical spans is ~300 KB).
constexpr std::size_t kKeepRequestBytes = 4 << 20;

std::atomic<std::uint64_t> next_processor_id{1};

std::size_t kind_index(SpanKind kind) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < BatchSpanProcessor::kKinds ? i : 0;
}

// A thread's records for its next spans, per kind, the last one the warmest: all of one processor's (`owner`,
// its id_; 0 for none), owned by the stash. Trivially destructible, so that reaching it costs no check of
// whether it was initialised; StashReleaser frees what it holds when the thread ends. Records are plain data,
// so a stash still holding a processor's records after that processor is gone only frees them, when the
// thread next asks another processor or ends.
struct Stash {
  struct Kind {
    std::array<SpanData*, BatchSpanProcessor::kThreadStash> records;
    std::size_t count;
  };
  std::uint64_t owner;
  std::array<Kind, BatchSpanProcessor::kKinds> kinds;

  void release() noexcept {
    for (Kind& kind : kinds) {
      for (std::size_t i = 0; i < kind.count; ++i) delete kind.records[i];
      kind.count = 0;
    }
    owner = 0;
  }
};
thread_local constinit Stash t_stash{};

struct StashReleaser {
  bool armed = false;
  ~StashReleaser() { t_stash.release(); }
};
thread_local StashReleaser
    t_stash_releaser;  // initialised (its destructor registered) by a thread's first bind

[[gnu::noinline]] void bind(Stash& stash, std::uint64_t owner) noexcept {
  t_stash_releaser.armed = true;
  stash.release();
  stash.owner = owner;
}

// The calling thread's stash for the processor `owner`, emptied first when it held another one's records.
inline Stash& stash_for(std::uint64_t owner) noexcept {
  Stash& stash = t_stash;
  if (stash.owner != owner) [[unlikely]]
    bind(stash, owner);
  return stash;
}

}  // namespace

BatchSpanProcessor::BatchSpanProcessor(BatchSettings settings, std::unique_ptr<SpanExporter> exporter,
                                       Resource resource, InstrumentationScope scope, Diagnostics diagnostics)
    : settings_(settings),
      exporter_(std::move(exporter)),
      resource_(std::move(resource)),
      scope_(std::move(scope)),
      diagnostics_(std::move(diagnostics)),
      queue_(settings.max_queue_size),
      id_(next_processor_id.fetch_add(1, std::memory_order_relaxed)),
      encoded_(exporter_ && exporter_->takes_encoded_requests()) {
  if (settings_.max_export_batch_size == 0 || settings_.max_export_batch_size > settings_.max_queue_size) {
    settings_.max_export_batch_size = settings_.max_queue_size;
  }
  wake_at_ = settings_.max_export_batch_size;
  next_send_ = std::chrono::steady_clock::now() + settings_.schedule_delay;
  if (!encoded_) {
    batch_.reserve(settings_.max_export_batch_size);
    batch_view_.reserve(settings_.max_export_batch_size);
    batch_kinds_.reserve(settings_.max_export_batch_size);
  }
  thread_ = std::thread([this] { run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() {
  shutdown(settings_.export_timeout);
}

// SpanKind's OTLP values, 0 to 5, are the free lists' indices.
static_assert(static_cast<std::size_t>(SpanKind::consumer) + 1 == BatchSpanProcessor::kKinds);

std::vector<std::unique_ptr<SpanData>>& BatchSpanProcessor::free_list(SpanKind kind) noexcept {
  return free_[kind_index(kind)];
}

bool BatchSpanProcessor::refill(SpanKind kind, std::array<SpanData*, kThreadStash>& records,
                                std::size_t& count) noexcept {
  std::unique_lock lock(free_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || free_count_ == 0) return false;
  std::vector<std::unique_ptr<SpanData>>* from = &free_list(kind);
  for (std::size_t i = 0; from->empty() && i < kKinds; ++i) from = &free_[i];
  const std::size_t n = std::min(from->size(), kThreadStash);
  for (std::size_t i = 0; i < n; ++i)
    records[i] = (*from)[from->size() - n + i].release();  // the last stays last
  from->resize(from->size() - n);
  free_count_ -= n;
  count = n;
  return true;
}

std::unique_ptr<SpanData> BatchSpanProcessor::acquire(SpanKind kind) {
  Stash& stash = stash_for(id_);
  Stash::Kind& mine = stash.kinds[kind_index(kind)];
  if (mine.count > 0 || refill(kind, mine.records, mine.count)) {
    return std::unique_ptr<SpanData>(mine.records[--mine.count]);  // cleared already
  }
  for (Stash::Kind& other : stash.kinds) {  // none kept anywhere: one this thread kept for another kind
    if (other.count > 0) return std::unique_ptr<SpanData>(other.records[--other.count]);
  }
  return std::make_unique<SpanData>();
}

void BatchSpanProcessor::keep(SpanKind kind, std::unique_ptr<SpanData> record) {
  if (free_count_ == settings_.max_queue_size) return;  // freed
  free_list(kind).push_back(std::move(record));
  ++free_count_;
}

void BatchSpanProcessor::on_end(SpanData&& span) noexcept {
  try {
    std::unique_ptr<SpanData> record = acquire(span.kind);
    *record = std::move(span);
    on_end(std::move(record));
  } catch (...) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

void BatchSpanProcessor::keep_cleared(std::unique_ptr<SpanData> record) noexcept {
  const SpanKind kind = record->kind;
  clear_for_reuse(*record);
  Stash::Kind& mine = stash_for(id_).kinds[kind_index(kind)];
  if (mine.count < kThreadStash) {
    mine.records[mine.count++] = record.release();
    return;
  }
  std::unique_lock lock(free_mutex_, std::try_to_lock);
  if (lock.owns_lock()) keep(kind, std::move(record));  // else it is freed
}

void BatchSpanProcessor::on_end(std::unique_ptr<SpanData> span) noexcept {
  if (!span) return;
  if (stopping_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return keep_cleared(std::move(span));
  }
  if (encoded_) return encode(std::move(span));
  if (!queue_.try_push(std::move(span))) {  // a failed push leaves the record with us
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return keep_cleared(std::move(span));
  }
  // Wake the exporter early once a whole batch waits. The flag keeps this to once per wake; taking the mutex
  // for that one notify makes sure the export thread cannot miss it between checking and sleeping.
  if (queue_.size() >= wake_at_ && !batch_signalled_.exchange(true)) {
    { std::lock_guard lock(mutex_); }
    wake_.notify_one();
  }
}

BatchSpanProcessor::ThreadRequest& BatchSpanProcessor::thread_request() {
  struct Cache {
    std::uint64_t owner = 0;
    std::shared_ptr<ThreadRequest> request;
  };
  thread_local Cache cache;
  if (cache.owner == id_) return *cache.request;
  // A thread's first span here (or its first since it ended spans of another processor): its request, made
  // once per thread and kept in the registry, where the export thread finds what it has begun.
  const std::thread::id me = std::this_thread::get_id();
  std::shared_ptr<ThreadRequest> found;
  {
    std::lock_guard lock(requests_mutex_);
    for (const std::shared_ptr<ThreadRequest>& r : thread_requests_) {
      if (r->thread == me) found = r;
    }
    if (!found) {
      found = std::make_shared<ThreadRequest>();
      found->thread = me;
      thread_requests_.push_back(found);
    }
  }
  cache.request = std::move(found);
  cache.owner = id_;
  return *cache.request;
}

void BatchSpanProcessor::encode(std::unique_ptr<SpanData> span) noexcept {
  // Counted against the queue's bound first, so that a span is either encoded or dropped, never both.
  if (encoded_spans_.fetch_add(1, std::memory_order_relaxed) >= settings_.max_queue_size) {
    encoded_spans_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return keep_cleared(std::move(span));
  }
  bool encoded = false;
  try {
    ThreadRequest& r = thread_request();
    std::lock_guard lock(r.mutex);
    if (!r.writer.open()) r.writer.begin(r.bytes, resource_, scope_);
    const std::size_t size = r.bytes.size();
    try {
      r.writer.add(*span);
      encoded = true;
    } catch (...) {  // no memory for it: dropped, and no half-written span left behind
      r.bytes.truncate(size);
    }
    if (r.writer.spans() >= settings_.max_export_batch_size) hand_over(r);
  } catch (...) {  // no memory for the thread's request (its first use, or the beginning of one)
  }
  if (!encoded) {
    encoded_spans_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
  keep_cleared(std::move(span));
}

void BatchSpanProcessor::hand_over(ThreadRequest& r) noexcept {
  Request full;
  full.spans = r.writer.spans();
  r.writer.finish();
  full.bytes = std::move(r.bytes);
  {
    std::lock_guard lock(requests_mutex_);
    if (!spare_buffers_.empty()) {
      r.bytes = std::move(spare_buffers_.back());
      spare_buffers_.pop_back();
    }
    try {
      full_.push_back(std::move(full));
    } catch (...) {  // no memory to queue it: its spans are lost
      encoded_spans_.fetch_sub(full.spans, std::memory_order_relaxed);
      dropped_.fetch_add(full.spans, std::memory_order_relaxed);
      return;
    }
  }
  if (!batch_signalled_.exchange(true)) {
    { std::lock_guard lock(mutex_); }
    wake_.notify_one();
  }
}

void BatchSpanProcessor::recycle_batch() noexcept {
  // Cleared here, while the encoder has just read them, rather than on a request thread later, which would
  // take the cache misses. Clearing keeps their storage (nothing freed but what grew unusually large), so
  // the records' buffers stay with the request threads that reuse them; the free list hands out the last
  // one cleared first.
  for (const std::unique_ptr<SpanData>& record : batch_) {
    batch_kinds_.push_back(record->kind);
    clear_for_reuse(*record);
  }
  {
    std::lock_guard lock(free_mutex_);
    for (std::size_t i = 0; i < batch_.size() && free_count_ < settings_.max_queue_size; ++i) {
      keep(batch_kinds_[i], std::move(batch_[i]));
    }
  }
  batch_.clear();  // frees what the free lists had no room for
  batch_view_.clear();
  batch_kinds_.clear();
}

std::size_t BatchSpanProcessor::waiting() const noexcept {
  return encoded_ ? encoded_spans_.load(std::memory_order_relaxed) : queue_.size();
}

void BatchSpanProcessor::send(Request& request) noexcept {
  const std::size_t count = request.spans;
  const ExportResult r = exporter_->export_request(request.bytes.view(), count);
  encoded_spans_.fetch_sub(count, std::memory_order_relaxed);
  if (r == ExportResult::success) {
    exported_.fetch_add(count, std::memory_order_release);
  } else {
    failed_.fetch_add(count, std::memory_order_release);
    dropped_.fetch_add(count, std::memory_order_relaxed);
  }
  request.bytes.clear();
  if (request.bytes.capacity() > kKeepRequestBytes) return;  // one huge batch's buffer must not stay for good
  std::lock_guard lock(requests_mutex_);
  if (spare_buffers_.size() > thread_requests_.size()) return;  // one per thread is plenty
  try {
    spare_buffers_.push_back(std::move(request.bytes));
  } catch (...) {
  }
}

void BatchSpanProcessor::send_requests(bool flush) noexcept {
  for (;;) {
    Request next;
    {
      std::lock_guard lock(requests_mutex_);
      if (full_.empty()) break;
      next = std::move(full_.front());
      full_.pop_front();
    }
    send(next);
    if (stopping_.load(std::memory_order_relaxed)) return;  // the flush watches its deadline between sends
  }
  const auto now = std::chrono::steady_clock::now();
  if (!flush && now < next_send_) return;
  next_send_ = now + settings_.schedule_delay;
  // What each thread has begun: taken under the thread's lock, sent after it.
  std::vector<std::shared_ptr<ThreadRequest>> threads;
  try {
    std::lock_guard lock(requests_mutex_);
    threads = thread_requests_;
  } catch (...) {
    return;  // no memory for the list: next time
  }
  for (const std::shared_ptr<ThreadRequest>& t : threads) {
    Request begun;
    {
      std::lock_guard lock(t->mutex);
      if (!t->writer.open()) continue;
      begun.spans = t->writer.spans();
      t->writer.finish();
      if (begun.spans == 0) {  // begun, and every span of it failed to encode
        t->bytes.clear();
        continue;
      }
      begun.bytes = std::move(t->bytes);
      t->bytes = EncodeBuffer();
      std::lock_guard spares(requests_mutex_);  // a thread's lock before this one, as in hand_over
      if (!spare_buffers_.empty()) {
        t->bytes = std::move(spare_buffers_.back());
        spare_buffers_.pop_back();
      }
    }
    send(begun);
    if (stopping_.load(std::memory_order_relaxed)) return;
  }
}

void BatchSpanProcessor::export_available(std::size_t max_batches) noexcept {
  for (std::size_t n = 0; n < max_batches; ++n) {
    // A shutdown that arrives mid-way takes over: it flushes against its own deadline.
    if (n > 0 && stopping_.load(std::memory_order_relaxed)) return;
    std::unique_ptr<SpanData> span;
    while (batch_.size() < settings_.max_export_batch_size && queue_.try_pop(span)) {
      batch_view_.push_back(span.get());
      batch_.push_back(std::move(span));
    }
    const std::size_t count = batch_.size();
    if (count == 0) return;
    const ExportResult r = exporter_ ? exporter_->export_spans(SpanBatch(batch_view_), resource_, scope_)
                                     : ExportResult::failure;
    recycle_batch();
    // Counted once the records are back: whoever sees the count can have them.
    if (r == ExportResult::success) {
      exported_.fetch_add(count, std::memory_order_release);
    } else {
      failed_.fetch_add(count, std::memory_order_release);
      dropped_.fetch_add(count, std::memory_order_relaxed);
    }
    if (count < settings_.max_export_batch_size) return;
  }
}

void BatchSpanProcessor::report_drops() noexcept {
  const std::uint64_t dropped = dropped_.load(std::memory_order_relaxed);
  if (dropped == dropped_reported_ || !diagnostics_) return;
  const auto now = std::chrono::steady_clock::now();
  if (last_drop_report_ != std::chrono::steady_clock::time_point{} &&
      now - last_drop_report_ < settings_.drop_report_interval) {
    return;
  }
  try {
    diagnostics_("dropped " + std::to_string(dropped - dropped_reported_) +
                 " spans (export queue full or export failed); " + std::to_string(dropped) + " in all");
  } catch (...) {
  }
  dropped_reported_ = dropped;
  last_drop_report_ = now;
}

void BatchSpanProcessor::run() noexcept {
  std::chrono::steady_clock::time_point deadline;
  for (;;) {
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      const auto woken = [this] {
        return stopping_.load(std::memory_order_relaxed) || batch_signalled_.load(std::memory_order_relaxed);
      };
      if (encoded_) {
        wake_.wait_until(lock, next_send_, woken);  // the request in progress goes out by then
      } else {
        wake_.wait_for(lock, settings_.schedule_delay, woken);
      }
      stop = stopping_.load(std::memory_order_relaxed);
      deadline = shutdown_deadline_;
    }
    batch_signalled_.store(false, std::memory_order_relaxed);
    if (stop) break;
    if (encoded_) {
      send_requests(false);
    } else {
      export_available(settings_.max_queue_size / settings_.max_export_batch_size + 1);
    }
    report_drops();
  }
  // Flush: everything queued, batch by batch, while the shutdown deadline allows.
  while (waiting() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (encoded_) {
      send_requests(true);
    } else {
      export_available(1);
    }
  }
  report_drops();
  shutdown_exporter_once();
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  done_.notify_all();
}

void BatchSpanProcessor::shutdown_exporter_once() noexcept {
  if (exporter_ && !exporter_shut_down_.exchange(true)) exporter_->shutdown();
}

void BatchSpanProcessor::shutdown(std::chrono::milliseconds timeout) noexcept {
  std::chrono::steady_clock::time_point deadline;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_.load()) {
      shutdown_deadline_ = std::chrono::steady_clock::now() + timeout;
      stopping_.store(true);
    }
    deadline = shutdown_deadline_;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  // An export in flight may outlive the deadline (a hanging collector): past it, the exporter is shut down,
  // which cancels the call, and the thread ends.
  bool finished = false;
  {
    std::unique_lock lock(mutex_);
    finished = done_.wait_until(lock, deadline, [this] { return finished_; });
  }
  if (!finished) shutdown_exporter_once();
  thread_.join();
}

}  // namespace sy::telemetry
