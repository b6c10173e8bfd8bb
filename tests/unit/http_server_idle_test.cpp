// Unit test of http::ServerOptions::on_idle: a real Server on 127.0.0.1 with three workers, one request sent
// over a blocking socket, then the idle round watched. Every wait is bounded.
#include <boost/asio.hpp>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "http/server.h"

namespace sy::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct IdleCalls {
  std::mutex m;
  std::vector<std::pair<std::thread::id, bool>> calls;  // the worker's thread, `last`

  std::size_t count() {
    std::lock_guard lock(m);
    return calls.size();
  }
};

bool eventually_count(IdleCalls& idle, std::size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (idle.count() >= n) return true;
    std::this_thread::sleep_for(5ms);
  }
  return idle.count() >= n;
}

// One GET on a new connection, read to the end (the request asks the server to close).
std::string get_once(std::uint16_t port) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string request = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(response), ec);  // until the server closes
  return response;
}

TEST(ServerIdle, RunsOnEveryWorkerOnceAfterRequestsStopAndNamesTheLast) {
  IdleCalls idle;
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.workers = 3;
  options.idle_after = 20ms;
  options.on_idle = [&idle](bool last) {
    std::lock_guard lock(idle.m);
    idle.calls.emplace_back(std::this_thread::get_id(), last);
  };
  Server server(options, [](Request&, ResponseWriter& w) -> asio::awaitable<void> {
    co_await w.send(200, "text/plain", "ok");
  });
  const std::uint16_t port = server.listen();
  std::thread runner([&server] { server.run(); });

  // Nothing to give back before the first request.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(idle.count(), 0u);

  const std::string response = get_once(port);
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_TRUE(eventually_count(idle, 3, 5s));
  std::this_thread::sleep_for(100ms);  // five more idle periods: no second round without a new request
  server.drain();
  runner.join();

  std::lock_guard lock(idle.m);
  ASSERT_EQ(idle.calls.size(), 3u);
  std::set<std::thread::id> threads;
  for (const auto& [thread, last] : idle.calls) threads.insert(thread);
  EXPECT_EQ(threads.size(), 3u) << "each worker once";
  EXPECT_FALSE(threads.count(std::this_thread::get_id()));
  EXPECT_FALSE(idle.calls[0].second);
  EXPECT_FALSE(idle.calls[1].second);
  EXPECT_TRUE(idle.calls[2].second) << "the round's last call says so, and only it";
}

}  // namespace
}  // namespace sy::http
