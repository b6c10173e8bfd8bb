// Unit tests for the coarse socket deadlines (src/http/deadline.h): a sweep cancels the pending operations of
// exactly the sockets whose armed deadline has passed, and the sweeper's timer runs only while sockets exist.
#include "http/deadline.h"

#include <chrono>
#include <memory>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio.hpp>

namespace sy::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = SocketDeadline::Clock;
using namespace std::chrono_literals;

// A connected loopback pair: `ours` is the socket under test, `peer` never writes.
struct SocketPair {
  explicit SocketPair(asio::io_context& io) : ours(io), peer(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    ours.connect(acceptor.local_endpoint());
    acceptor.accept(peer);
  }
  tcp::socket ours;
  tcp::socket peer;
};

// Starts a read on `s` that records how it completed.
struct PendingRead {
  explicit PendingRead(tcp::socket& s) {
    s.async_read_some(asio::buffer(byte), [this](boost::system::error_code ec, std::size_t) { result = ec; });
  }
  char byte[1];
  std::optional<boost::system::error_code> result;
};

TEST(DeadlineSweeperTest, CancelsOnlyWhatHasPassed) {
  asio::io_context io;
  SocketPair a(io), b(io), c(io);
  SocketDeadline da(a.ours), db(b.ours), dc(c.ours);
  DeadlineSweeper& sweeper = DeadlineSweeper::of(io);
  EXPECT_EQ(sweeper.registered(), 3u);

  // Far in the future, so that the sweeper's own timer never reaches them: the test drives the sweeps.
  const Clock::time_point t0 = Clock::now() + 1h;
  da.arm_at(t0 + 100ms);
  db.arm_at(t0 + 200ms);
  // dc stays disarmed.
  PendingRead ra(a.ours), rb(b.ours), rc(c.ours);
  io.poll();

  EXPECT_EQ(sweeper.sweep(t0 + 99ms), 0u);
  io.poll();
  EXPECT_FALSE(ra.result.has_value());
  EXPECT_FALSE(da.passed(t0 + 99ms));

  EXPECT_EQ(sweeper.sweep(t0 + 100ms), 1u);  // due exactly now: fires
  io.poll();
  ASSERT_TRUE(ra.result.has_value());
  EXPECT_EQ(*ra.result, asio::error::operation_aborted);
  EXPECT_TRUE(da.passed(t0 + 100ms));
  EXPECT_FALSE(rb.result.has_value());
  EXPECT_FALSE(rc.result.has_value());

  // Still passed and armed: the next sweep cancels again, so an operation started after the deadline fails
  // too.
  PendingRead ra2(a.ours);
  io.poll();
  EXPECT_EQ(sweeper.sweep(t0 + 150ms), 1u);
  io.poll();
  ASSERT_TRUE(ra2.result.has_value());
  EXPECT_EQ(*ra2.result, asio::error::operation_aborted);

  EXPECT_EQ(sweeper.sweep(t0 + 10h), 2u);  // a and b; the disarmed c never
  io.poll();
  ASSERT_TRUE(rb.result.has_value());
  EXPECT_FALSE(rc.result.has_value());
  EXPECT_FALSE(dc.passed(t0 + 10h));
  c.ours.cancel();
  io.poll();
}

TEST(DeadlineSweeperTest, RearmingAndDisarmingClearAPassedDeadline) {
  asio::io_context io;
  SocketPair p(io);
  SocketDeadline d(p.ours);
  DeadlineSweeper& sweeper = DeadlineSweeper::of(io);
  const Clock::time_point t0 = Clock::now() + 1h;

  d.arm_at(t0);
  EXPECT_TRUE(d.passed(t0 + 1ms));
  d.arm_at(t0 + 1s);  // the next operation's deadline
  EXPECT_FALSE(d.passed(t0 + 1ms));
  d.disarm();
  EXPECT_FALSE(d.armed());
  EXPECT_FALSE(d.passed(t0 + 10h));

  PendingRead r(p.ours);
  io.poll();
  EXPECT_EQ(sweeper.sweep(t0 + 10h), 0u);
  io.poll();
  EXPECT_FALSE(r.result.has_value());
  p.ours.cancel();
  io.poll();
}

TEST(DeadlineSweeperTest, TheTimerSweepsOnItsOwn) {
  asio::io_context io;
  SocketPair p(io);
  DeadlineSweeper::of(io).set_resolution(5ms);
  SocketDeadline d(p.ours);
  PendingRead r(p.ours);
  d.arm(0ms);  // already due: the next tick cancels the read
  while (!r.result.has_value() && io.run_one_for(10s) > 0) {
  }
  ASSERT_TRUE(r.result.has_value()) << "no sweep cancelled the read";
  EXPECT_EQ(*r.result, asio::error::operation_aborted);
}

TEST(DeadlineSweeperTest, TicksOnlyWhileADeadlineIsArmed) {
  asio::io_context io;
  SocketPair p(io);
  DeadlineSweeper& sweeper = DeadlineSweeper::of(io);
  sweeper.set_resolution(5ms);
  SocketDeadline d(p.ours);
  EXPECT_EQ(sweeper.registered(), 1u);
  EXPECT_EQ(sweeper.armed(), 0u);
  d.arm(1h);
  d.arm(2h);
  EXPECT_EQ(sweeper.armed(), 1u);
  {
    SocketPair q(io);
    SocketDeadline e(q.ours);
    e.arm(1h);
    EXPECT_EQ(sweeper.armed(), 2u);
  }  // destroyed armed
  EXPECT_EQ(sweeper.armed(), 1u);
  d.disarm();
  d.disarm();
  EXPECT_EQ(sweeper.armed(), 0u);
  // The pending tick finds nothing armed and does not come back: with its socket still registered and open,
  // the io_context runs out of work (a drained server's pooled upstream connections must not keep it
  // running).
  io.run_for(10s);
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(sweeper.registered(), 1u);
}

TEST(DeadlineSweeperTest, TimedSocketTellsATimeoutFromOtherCancellations) {
  asio::io_context io;
  SocketPair p(io);
  TimedSocket s(std::move(p.ours));
  const boost::system::error_code aborted = asio::error::operation_aborted;
  s.expires_after(1h);
  EXPECT_FALSE(s.timed_out(aborted));
  s.expires_at(Clock::now() - 1ms);
  EXPECT_TRUE(s.timed_out(aborted));
  EXPECT_FALSE(s.timed_out(asio::error::eof));
  s.expires_never();
  EXPECT_FALSE(s.timed_out(aborted));
}

}  // namespace
}  // namespace sy::http
