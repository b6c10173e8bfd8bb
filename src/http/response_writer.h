// How a handler answers: one whole response, or a stream of chunks flushed as they are written.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "http/message.h"

namespace sy::http {

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // Sends a complete response. Call once, and not after start_stream.
  virtual boost::asio::awaitable<void> send(int status, std::string_view content_type, std::string body,
                                            std::span<const Header> extra_headers = {}) = 0;

  // Starts a chunked response; its head leaves with the first write. Returns false when the client is gone.
  virtual boost::asio::awaitable<bool> start_stream(int status, std::string_view content_type,
                                                    std::span<const Header> extra_headers = {}) = 0;
  // Writes and flushes one chunk. Returns false when the client is gone.
  virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
  // Writes the last chunk (may be empty) and ends a started stream, in one write.
  virtual boost::asio::awaitable<void> finish(std::string_view last_data) = 0;

  // True once the response has started: a whole response sent, or a stream started.
  virtual bool started() const noexcept = 0;
};

}  // namespace sy::http
