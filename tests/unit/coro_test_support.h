// Running a coroutine to its end in a unit test: store_result keeps what an awaitable returns, run() drives
// one on a fresh io_context and rethrows what it threw.
#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio.hpp>

namespace sy::test {

template <class T>
boost::asio::awaitable<void> store_result(boost::asio::awaitable<T> work, std::optional<T>& out) {
  auto result = co_await std::move(work);
  out.emplace(std::move(result));
}

inline boost::asio::awaitable<void> store_done(boost::asio::awaitable<void> work, bool& done) {
  co_await std::move(work);
  done = true;
}

// Runs one coroutine to its end on a fresh io_context and returns its result.
template <class T>
T run(boost::asio::awaitable<T> work) {
  boost::asio::io_context io;
  std::optional<T> out;
  boost::asio::co_spawn(io, store_result(std::move(work), out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  if (!out) throw std::runtime_error("the coroutine did not complete");
  return std::move(*out);
}

inline void run(boost::asio::awaitable<void> work) {
  boost::asio::io_context io;
  bool done = false;
  boost::asio::co_spawn(io, store_done(std::move(work), done), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  if (!done) throw std::runtime_error("the coroutine did not complete");
}

}  // namespace sy::test
