// Watches one artifact file and hands each changed version to its owner: at start, every `interval` on a
// background thread (hot_reload), and on request (SIGHUP). A change is the file's identity (device, inode,
// size, modification time) differing from the last one seen, so an unchanged file is never re-read; a missing
// or unreadable file is an identity too, so its absence is reported once rather than at every interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/error.h"

namespace sy::router::ml {

class ArtifactWatcher {
 public:
  // Receives the file's bytes, or why they could not be read. Runs on the thread that checks.
  using OnChange = std::function<void(Result<std::vector<std::byte>> contents)>;

  ArtifactWatcher(std::string path, OnChange on_change);
  ~ArtifactWatcher();
  ArtifactWatcher(const ArtifactWatcher&) = delete;
  ArtifactWatcher& operator=(const ArtifactWatcher&) = delete;

  const std::string& path() const noexcept { return path_; }

  // Passes the file on when it changed since the last check; false when it did not. Checks run one at a time.
  bool check();
  // Checks every `interval` on a background thread until destruction.
  void start(std::chrono::milliseconds interval);
  // A check off the caller's thread when the background thread runs (it wakes at once), else on the caller's.
  void request_check();

 private:
  struct Identity {
    int error = 0;  // errno of stat, 0 when the file is there
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Identity&) const = default;
  };
  Identity identify() const;
  void run(std::chrono::milliseconds interval);

  std::string path_;
  OnChange on_change_;
  std::mutex check_mutex_;  // one check at a time
  bool seen_ = false;       // guarded by check_mutex_
  Identity last_;           // guarded by check_mutex_

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stop_ = false;       // guarded by wake_mutex_
  bool requested_ = false;  // guarded by wake_mutex_
  std::thread thread_;
};

}  // namespace sy::router::ml
