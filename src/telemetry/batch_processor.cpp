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
  wake_at_ =
      encoded_ ? std::min(kEncodeChunk, settings_.max_export_batch_size) : settings_.max_export_batch_size;
  next_send_ = std::chrono::steady_clock::now() + settings_.schedule_delay;
  batch_.reserve(settings_.max_export_batch_size);
  batch_view_.reserve(settings_.max_export_batch_size);
  batch_kinds_.reserve(settings_.max_export_batch_size);
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

void BatchSpanProcessor::on_end(std::unique_ptr<SpanData> span) noexcept {
  if (!span) return;
  if (stopping_.load(std::memory_order_relaxed) || !queue_.try_push(std::move(span))) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    const SpanKind kind = span->kind;
    clear_for_reuse(*span);  // a failed push leaves the record with us: for this thread's next span
    Stash::Kind& mine = stash_for(id_).kinds[kind_index(kind)];
    if (mine.count < kThreadStash) {
      mine.records[mine.count++] = span.release();
      return;
    }
    std::unique_lock lock(free_mutex_, std::try_to_lock);
    if (lock.owns_lock()) keep(kind, std::move(span));
    return;  // else it is freed
  }
  // Wake the exporter early once a whole batch waits (encoded mode: a chunk to encode). The flag keeps this
  // to once per wake; taking the mutex for that one notify makes sure the export thread cannot miss it
  // between checking and sleeping.
  if (queue_.size() >= wake_at_ && !batch_signalled_.exchange(true)) {
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
  return queue_.size() + (writer_.open() ? writer_.spans() : 0);
}

void BatchSpanProcessor::send_request() noexcept {
  const std::size_t count = writer_.spans();
  const std::string_view request = writer_.finish();
  const ExportResult r = exporter_->export_request(request, count);
  request_.clear();
  if (request_.capacity() > kKeepRequestBytes) request_.release();  // one huge batch must not stay for good
  if (r == ExportResult::success) {
    exported_.fetch_add(count, std::memory_order_release);
  } else {
    failed_.fetch_add(count, std::memory_order_release);
    dropped_.fetch_add(count, std::memory_order_relaxed);
  }
}

void BatchSpanProcessor::encode_and_send(bool flush) noexcept {
  for (;;) {
    // A chunk never takes more than the request in progress has room for: it fills at most at its end.
    const std::size_t room = settings_.max_export_batch_size - (writer_.open() ? writer_.spans() : 0);
    std::unique_ptr<SpanData> span;
    while (batch_.size() < std::min(kEncodeChunk, room) && queue_.try_pop(span))
      batch_.push_back(std::move(span));
    if (batch_.empty()) break;
    for (const std::unique_ptr<SpanData>& record : batch_) {
      if (!writer_.open()) writer_.begin(request_, resource_, scope_);
      const std::size_t size = request_.size();
      try {
        writer_.add(*record);
      } catch (...) {  // no memory for it: dropped, and no half-written span left behind
        request_.truncate(size);
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    recycle_batch();
    if (writer_.spans() >= settings_.max_export_batch_size) {
      send_request();
      if (stopping_.load(std::memory_order_relaxed)) return;  // the flush watches its deadline between sends
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (writer_.open() && (flush || now >= next_send_)) {
    if (writer_.spans() > 0) {
      send_request();
    } else {
      writer_.finish();  // began, and every span of it failed to encode
      request_.clear();
    }
  }
  if (now >= next_send_) next_send_ = now + settings_.schedule_delay;
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
      encode_and_send(false);
    } else {
      export_available(settings_.max_queue_size / settings_.max_export_batch_size + 1);
    }
    report_drops();
  }
  // Flush: everything queued, batch by batch, while the shutdown deadline allows.
  while (waiting() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (encoded_) {
      encode_and_send(true);
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
