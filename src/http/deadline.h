// Coarse socket deadlines: one timer per io_context sweeps the sockets registered with it at a fixed interval
// and cancels the pending operations of those whose deadline has passed. Arming a deadline is a store, not a
// system call; a Beast tcp_stream (a steady_timer per operation) reprograms the kernel timer on every read
// and write. A deadline fires between its time and one resolution later, never before.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace sy::http {

class DeadlineSweeper;

// The deadline of one socket's operations. Registered with the sweeper of the socket's io_context for its
// whole life; arm and disarm are lock-free stores. When a sweep finds it passed, the socket's pending
// operations fail with operation_aborted, again at every sweep until it is re-armed or disarmed.
class SocketDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SocketDeadline(boost::asio::ip::tcp::socket& socket);
  ~SocketDeadline();
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;

  void arm(Clock::duration timeout) { arm_at(Clock::now() + timeout); }
  void arm_at(Clock::time_point when);
  void disarm() noexcept;
  bool armed() const noexcept { return expiry_.load(std::memory_order_relaxed) != 0; }
  // Whether an armed deadline has passed: an operation that failed with operation_aborted then timed out.
  bool passed(Clock::time_point now = Clock::now()) const noexcept;

 private:
  friend class DeadlineSweeper;
  boost::asio::ip::tcp::socket& socket_;
  DeadlineSweeper& sweeper_;
  std::atomic<Clock::rep> expiry_{0};  // time_since_epoch().count(); 0: disarmed
  SocketDeadline* prev_ = nullptr;
  SocketDeadline* next_ = nullptr;
};

// The sweeper of one io_context (an Asio service, created on first use with the default resolution). Its
// timer ticks only while sockets are registered. Registration (once per socket) and the sweep take a mutex,
// so that an io_context run by several threads stays correct; arming never does.
class DeadlineSweeper final : public boost::asio::execution_context::service {
 public:
  using Clock = SocketDeadline::Clock;
  using key_type = DeadlineSweeper;
  static boost::asio::execution_context::id id;
  static constexpr std::chrono::milliseconds kDefaultResolution{100};

  explicit DeadlineSweeper(boost::asio::execution_context& context);
  ~DeadlineSweeper() override;

  static DeadlineSweeper& of(boost::asio::execution_context& context);

  // The interval between two sweeps; takes effect at the next tick.
  void set_resolution(Clock::duration resolution);
  Clock::duration resolution() const;

  // Cancels the operations of every socket whose armed deadline is at or before `now`; returns how many. The
  // timer calls it with the current time; tests call it with their own.
  std::size_t sweep(Clock::time_point now);

  std::size_t registered() const;
  std::size_t armed() const noexcept { return armed_.load(std::memory_order_relaxed); }

 private:
  friend class SocketDeadline;
  void shutdown() override;
  void add(SocketDeadline& d);
  void remove(SocketDeadline& d) noexcept;
  void on_armed();
  void schedule();  // with mutex_ held
  void on_tick(const boost::system::error_code& ec);

  mutable std::mutex mutex_;
  SocketDeadline* head_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> armed_{0};
  Clock::duration resolution_ = kDefaultResolution;
  std::optional<boost::asio::steady_timer> timer_;  // made on first use, with the first socket's executor
  bool ticking_ = false;
  bool shut_down_ = false;
};

// A socket with a deadline, usable wherever Asio and Beast take an AsyncReadStream or AsyncWriteStream. Its
// expires_after and expires_never mirror Beast's tcp_stream; an operation cut by the deadline fails with
// operation_aborted and timed_out() tells it apart.
class TimedSocket {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  explicit TimedSocket(boost::asio::ip::tcp::socket socket)
      : socket_(std::move(socket)), deadline_(socket_) {}
  TimedSocket(const TimedSocket&) = delete;
  TimedSocket& operator=(const TimedSocket&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }
  SocketDeadline& deadline() noexcept { return deadline_; }

  void expires_after(SocketDeadline::Clock::duration timeout) { deadline_.arm(timeout); }
  void expires_at(SocketDeadline::Clock::time_point when) noexcept { deadline_.arm_at(when); }
  void expires_never() noexcept { deadline_.disarm(); }
  bool timed_out(const boost::system::error_code& ec) const noexcept {
    return ec == boost::asio::error::operation_aborted && deadline_.passed();
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  boost::asio::ip::tcp::socket socket_;
  SocketDeadline deadline_;
};

}  // namespace sy::http
