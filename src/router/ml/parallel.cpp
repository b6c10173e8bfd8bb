#include "router/ml/parallel.h"

#include <algorithm>

namespace sy::router::ml {

WorkerPool::WorkerPool(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : workers_) t.join();
}

// Claims and runs tasks of job `generation` until none is left; a thread that arrives late (the job already
// finished and another began) runs nothing of it.
void WorkerPool::work(std::size_t generation) {
  for (;;) {
    const std::function<void(std::size_t)>* job;
    std::size_t task;
    {
      std::lock_guard lock(mutex_);
      if (generation_ != generation || next_ >= tasks_) return;
      job = job_;
      task = next_++;
    }
    (*job)(task);
    std::lock_guard lock(mutex_);
    if (++finished_ == tasks_) done_.notify_all();
  }
}

void WorkerPool::loop() {
  std::size_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    work(seen);
  }
}

void WorkerPool::run(std::size_t tasks, const std::function<void(std::size_t)>& fn) {
  if (tasks == 0) return;
  if (workers_.empty() || tasks == 1) {
    for (std::size_t i = 0; i < tasks; ++i) fn(i);
    return;
  }
  std::size_t generation;
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    tasks_ = tasks;
    next_ = finished_ = 0;
    generation = ++generation_;
  }
  start_.notify_all();
  work(generation);
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return finished_ == tasks_; });
  job_ = nullptr;
}

}  // namespace sy::router::ml
