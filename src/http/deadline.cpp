#include "http/deadline.h"

namespace sy::http {

namespace asio = boost::asio;

asio::execution_context::id DeadlineSweeper::id;

namespace {

DeadlineSweeper& sweeper_of(asio::ip::tcp::socket& socket) {
  return DeadlineSweeper::of(asio::query(socket.get_executor(), asio::execution::context));
}

}  // namespace

SocketDeadline::SocketDeadline(asio::ip::tcp::socket& socket)
    : socket_(socket), sweeper_(sweeper_of(socket)) {
  sweeper_.add(*this);
}

SocketDeadline::~SocketDeadline() {
  disarm();
  sweeper_.remove(*this);
}

void SocketDeadline::arm_at(Clock::time_point when) {
  const Clock::rep t = when.time_since_epoch().count();
  if (expiry_.exchange(t == 0 ? 1 : t, std::memory_order_relaxed) == 0) sweeper_.on_armed();
}

void SocketDeadline::disarm() noexcept {
  if (expiry_.exchange(0, std::memory_order_relaxed) != 0) {
    sweeper_.armed_.fetch_sub(1, std::memory_order_relaxed);
  }
}

bool SocketDeadline::passed(Clock::time_point now) const noexcept {
  const Clock::rep t = expiry_.load(std::memory_order_relaxed);
  return t != 0 && t <= now.time_since_epoch().count();
}

DeadlineSweeper::DeadlineSweeper(asio::execution_context& context)
    : asio::execution_context::service(context) {}

DeadlineSweeper::~DeadlineSweeper() = default;

DeadlineSweeper& DeadlineSweeper::of(asio::execution_context& context) {
  return asio::use_service<DeadlineSweeper>(context);
}

void DeadlineSweeper::set_resolution(Clock::duration resolution) {
  std::lock_guard lock(mutex_);
  resolution_ = resolution;
}

DeadlineSweeper::Clock::duration DeadlineSweeper::resolution() const {
  std::lock_guard lock(mutex_);
  return resolution_;
}

std::size_t DeadlineSweeper::registered() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::size_t DeadlineSweeper::sweep(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::size_t fired = 0;
  for (SocketDeadline* d = head_; d != nullptr; d = d->next_) {
    if (d->passed(now)) {
      boost::system::error_code ignored;
      d->socket_.cancel(ignored);  // completions are posted, never run inside this loop
      ++fired;
    }
  }
  return fired;
}

void DeadlineSweeper::add(SocketDeadline& d) {
  std::lock_guard lock(mutex_);
  d.prev_ = nullptr;
  d.next_ = head_;
  if (head_ != nullptr) head_->prev_ = &d;
  head_ = &d;
  ++count_;
  if (!timer_ && !shut_down_) timer_.emplace(d.socket_.get_executor());  // the context's own executor
}

void DeadlineSweeper::on_armed() {
  if (armed_.fetch_add(1, std::memory_order_relaxed) != 0) return;
  std::lock_guard lock(mutex_);
  if (!ticking_) schedule();
}

void DeadlineSweeper::remove(SocketDeadline& d) noexcept {
  std::lock_guard lock(mutex_);
  if (d.prev_ != nullptr) {
    d.prev_->next_ = d.next_;
  } else if (head_ == &d) {
    head_ = d.next_;
  } else {
    return;  // not linked (the service was shut down)
  }
  if (d.next_ != nullptr) d.next_->prev_ = d.prev_;
  d.prev_ = d.next_ = nullptr;
  --count_;
}

void DeadlineSweeper::schedule() {
  if (!timer_) return;
  ticking_ = true;
  timer_->expires_after(resolution_);
  timer_->async_wait([this](const boost::system::error_code& ec) { on_tick(ec); });
}

void DeadlineSweeper::on_tick(const boost::system::error_code& ec) {
  if (ec) return;  // shut down
  sweep(Clock::now());
  std::lock_guard lock(mutex_);
  ticking_ = false;
  if (armed_.load(std::memory_order_relaxed) > 0) schedule();  // nothing armed: no wake-ups
}

void DeadlineSweeper::shutdown() {
  std::lock_guard lock(mutex_);
  // Sockets still registered unlink themselves as their owners are destroyed; the list is simply forgotten.
  for (SocketDeadline* d = head_; d != nullptr;) {
    SocketDeadline* next = d->next_;
    d->prev_ = d->next_ = nullptr;
    d = next;
  }
  head_ = nullptr;
  count_ = 0;
  timer_.reset();
  shut_down_ = true;
}

}  // namespace sy::http
