#include "router/failure.h"

namespace sy::router {

FailureKind classify(const Error& e) noexcept {
  if (e.code == "context_length_exceeded" || e.code == "context_window_exceeded") {
    return FailureKind::context_window;
  }
  if (e.code == "content_filter" || e.code == "content_policy_violation") return FailureKind::content_policy;
  if (e.status == 429) return FailureKind::rate_limit;
  if (e.status == 408 || e.status == 504 || e.code == "upstream_timeout") return FailureKind::timeout;
  if (e.status == 501) return FailureKind::not_supported;
  if (e.status >= 500) return FailureKind::server_error;
  if (e.status == 401 || e.status == 403) return FailureKind::auth;
  if (e.status == 404) return FailureKind::not_found;
  return FailureKind::bad_request;
}

std::string_view to_string(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::rate_limit:
      return "rate_limit";
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::server_error:
      return "server_error";
    case FailureKind::auth:
      return "auth";
    case FailureKind::not_found:
      return "not_found";
    case FailureKind::context_window:
      return "context_window";
    case FailureKind::content_policy:
      return "content_policy";
    case FailureKind::bad_request:
      return "bad_request";
    case FailureKind::not_supported:
      return "not_supported";
  }
  return "unknown";
}

}  // namespace sy::router
