// A fixed set of worker threads that runs the tasks 0..n-1 of one job at a time: training's data-parallel
// steps. Results never depend on which thread ran a task: a task writes only its own slots and the caller
// combines them in task order, so a trained artifact is the same for any number of threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sy::router::ml {

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);  // 0: one per core; the calling thread is one of them
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned threads() const noexcept { return static_cast<unsigned>(workers_.size()) + 1; }
  // Runs fn(0) .. fn(tasks - 1) across the threads and returns when all have finished.
  void run(std::size_t tasks, const std::function<void(std::size_t)>& fn);

  // Splits [0, n) into `parts` contiguous ranges (the same for any thread count): range i is
  // [n * i / parts, n * (i + 1) / parts).
  static std::size_t range_begin(std::size_t n, std::size_t parts, std::size_t i) noexcept {
    return n * i / parts;
  }

 private:
  void work(std::size_t generation);
  void loop();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t tasks_ = 0, next_ = 0, finished_ = 0;
  std::size_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace sy::router::ml
