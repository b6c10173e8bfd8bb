// Checks a request's key against the master key: `Authorization: Bearer <key>`, `api-key:` or `x-api-key:`,
// compared in constant time. Without a master key every request is let through.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "http/message.h"

namespace sy::auth {

class Authenticator {
 public:
  explicit Authenticator(std::string_view master_key);
  ~Authenticator();
  Authenticator(const Authenticator&) = default;
  Authenticator& operator=(const Authenticator&) = default;

  bool enabled() const noexcept { return enabled_; }
  bool allows(const http::Request& request) const noexcept { return allows_key(presented_key(request)); }
  // Whether `presented` (presented_key's answer) is the master key, or any key when auth is off.
  bool allows_key(std::string_view presented) const noexcept;

  // The key a request presents, from whichever header carries it; empty when none.
  static std::string_view presented_key(const http::Request& request) noexcept;
  // Equal keys, in time that depends only on whether a key is longer than kKeyWindow bytes: never on where
  // the keys differ, nor on how long they are within the window.
  static bool keys_equal(std::string_view a, std::string_view b) noexcept;

  // Keys of up to this many bytes are compared over the whole window, zero-padded, with their lengths (one
  // pass of fixed length); longer ones by SHA-256 digest.
  static constexpr std::size_t kKeyWindow = 256;

 private:
  bool enabled_ = false;
  std::size_t master_size_ = 0;
  std::array<unsigned char, kKeyWindow> master_window_{};  // the master key, zero-padded (when it fits)
  std::array<unsigned char, 32> master_digest_{};
};

}  // namespace sy::auth
