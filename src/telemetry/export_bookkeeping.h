// What both OTLP exporters keep across exports: the counters behind stats(), the last error, and the backoff
// wait that shutdown() interrupts.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "telemetry/exporter.h"
#include "telemetry/otlp_options.h"

namespace sy::telemetry {

class ExportBookkeeping {
 public:
  std::atomic<bool> shut{false};
  std::atomic<std::uint64_t> batches_exported{0}, batches_failed{0}, spans_exported{0}, spans_failed{0},
      retries{0}, spans_rejected{0};

  void fail(std::string error) {
    std::lock_guard lock(error_mutex_);
    last_error_ = std::move(error);
  }
  // False, with the reason kept, when an export cannot even start: shut down, or its set-up failed.
  bool can_export(const std::string& config_error) {
    if (shut) {
      fail("the exporter is shut down");
      return false;
    }
    if (!config_error.empty()) {
      fail(config_error);
      return false;
    }
    return true;
  }
  std::string last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
  }
  OtlpExportStats stats() const noexcept {
    OtlpExportStats s;
    s.batches_exported = batches_exported;
    s.batches_failed = batches_failed;
    s.spans_exported = spans_exported;
    s.spans_failed = spans_failed;
    s.retries = retries;
    s.spans_rejected = spans_rejected;
    return s;
  }

  // Runs one export of `count` spans and counts it (batches and spans, exported or failed). An exception is a
  // failed export: `on_exception` runs (a connection in an unknown state is dropped, say) and the error is
  // kept.
  template <class Export, class OnException>
  ExportResult counted(std::size_t count, Export&& run, OnException&& on_exception) noexcept {
    ExportResult result = ExportResult::failure;
    try {
      result = run();
    } catch (const std::exception& e) {
      on_exception();
      fail(std::string("unexpected error: ") + e.what());
    } catch (...) {
      on_exception();
      fail("unexpected error");
    }
    if (result == ExportResult::success) {
      ++batches_exported;
      spans_exported += count;
    } else {
      ++batches_failed;
      spans_failed += count;
    }
    return result;
  }

  // Waits `delay` unless shutdown comes first; returns false on shutdown.
  bool sleep_for(std::chrono::milliseconds delay) {
    std::unique_lock lock(sleep_mutex_);
    return !sleep_cv_.wait_for(lock, delay, [this] { return shut.load(); });
  }
  // Wakes a backoff wait after `shut` was set.
  void wake_sleepers() {
    { std::lock_guard lock(sleep_mutex_); }  // pairs with sleep_for's predicate check
    sleep_cv_.notify_all();
  }

 private:
  mutable std::mutex error_mutex_;
  std::string last_error_;
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
};

}  // namespace sy::telemetry
