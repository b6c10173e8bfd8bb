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

  bool enabled() const noexcept { return enabled_; }
  bool allows(const http::Request& request) const noexcept;

  // The key a request presents, from whichever header carries it; empty when none.
  static std::string_view presented_key(const http::Request& request) noexcept;
  // Equal keys, in time that depends only on the inputs' lengths being hashed, never on where they differ.
  static bool keys_equal(std::string_view a, std::string_view b) noexcept;

 private:
  bool enabled_ = false;
  std::array<unsigned char, 32> master_digest_{};
};

}  // namespace sy::auth
