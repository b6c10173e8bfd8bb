// What a failed attempt means for routing: whether to retry, whether the deployment cools down, and which
// fallback list applies.
#pragma once

#include <string_view>

#include "util/error.h"

namespace sy::router {

enum class FailureKind {
  rate_limit,      // 429
  timeout,         // 408, upstream timeout (504)
  server_error,    // other 5xx, connection failures
  auth,            // 401, 403
  not_found,       // 404
  context_window,  // the prompt is longer than the model takes
  content_policy,  // the provider's content filter refused
  bad_request,     // the client's request is wrong: the same request fails anywhere
  not_supported,   // 501 from the gateway itself (no adapter for the provider)
};

FailureKind classify(const Error& error) noexcept;
std::string_view to_string(FailureKind kind) noexcept;

// Worth another attempt: the same request may succeed later or elsewhere.
constexpr bool retryable(FailureKind k) noexcept {
  return k == FailureKind::rate_limit || k == FailureKind::timeout || k == FailureKind::server_error;
}
// One such failure puts the deployment in cooldown at once (the others count against allowed_fails).
constexpr bool cools_down_at_once(FailureKind k, int status) noexcept {
  return k == FailureKind::rate_limit || k == FailureKind::not_found ||
         (k == FailureKind::auth && status == 401);
}
// Counts against allowed_fails: the deployment, not the request, is at fault.
constexpr bool counts_as_deployment_failure(FailureKind k) noexcept {
  return k == FailureKind::timeout || k == FailureKind::server_error || k == FailureKind::auth ||
         k == FailureKind::rate_limit || k == FailureKind::not_found;
}
// A fallback group may succeed where this group failed (a bad request fails everywhere).
constexpr bool falls_back(FailureKind k) noexcept {
  return k != FailureKind::bad_request;
}

}  // namespace sy::router
