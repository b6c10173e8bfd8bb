// Reading what a provider put in an upstream request, in unit tests.
#pragma once

#include <string>
#include <string_view>

#include "http/client.h"

namespace sy::test {

// The value of the request's first header field named `name` (any case), or "<absent>".
inline std::string header(const http::ClientRequest& r, std::string_view name) {
  for (const http::Header& h : r.headers) {
    if (http::iequals(h.name, name)) return h.value;
  }
  return "<absent>";
}

}  // namespace sy::test
