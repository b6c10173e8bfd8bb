#include "router/ml/artifact_watcher.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

namespace sy::router::ml {
namespace {

Result<std::vector<std::byte>> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{500, "api_error", "cannot open " + path + ": " + std::generic_category().message(errno),
                 {},  {},          {}};
  }
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error{500, "api_error", "cannot read " + path, {}, {}, {}};
  std::vector<std::byte> out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

}  // namespace

ArtifactWatcher::ArtifactWatcher(std::string path, OnChange on_change)
    : path_(std::move(path)), on_change_(std::move(on_change)) {}

ArtifactWatcher::~ArtifactWatcher() {
  {
    std::lock_guard lock(wake_mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ArtifactWatcher::Identity ArtifactWatcher::identify() const {
  Identity id;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    id.error = errno;
    return id;
  }
  id.device = static_cast<std::uint64_t>(st.st_dev);
  id.inode = static_cast<std::uint64_t>(st.st_ino);
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return id;
}

bool ArtifactWatcher::check() {
  std::lock_guard lock(check_mutex_);
  const Identity id = identify();
  if (seen_ && id == last_) return false;
  seen_ = true;
  last_ = id;
  if (id.error != 0) {
    on_change_(Error{500,
                     "api_error",
                     "cannot open " + path_ + ": " + std::generic_category().message(id.error),
                     {},
                     {},
                     {}});
  } else {
    on_change_(read_bytes(path_));
  }
  return true;
}

void ArtifactWatcher::start(std::chrono::milliseconds interval) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, interval] { run(interval); });
}

void ArtifactWatcher::request_check() {
  if (!thread_.joinable()) {
    check();
    return;
  }
  {
    std::lock_guard lock(wake_mutex_);
    requested_ = true;
  }
  wake_.notify_all();
}

void ArtifactWatcher::run(std::chrono::milliseconds interval) {
  for (;;) {
    {
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, interval, [this] { return stop_ || requested_; });
      if (stop_) return;
      requested_ = false;
    }
    check();
  }
}

}  // namespace sy::router::ml
