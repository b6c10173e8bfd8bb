// The router: maps a public model name to its model group and decides, per attempt, which deployment of the
// group serves the request — skipping deployments in cooldown, at their rpm/tpm cap or too small for the
// prompt, then asking the configured strategy to rank the rest. It also owns the reliability rules around an
// attempt: retries and their backoff, cooldowns, fallback groups and timeouts.
//
// Shared state is per-deployment atomics (router/stats.h); no decision takes a lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "router/failure.h"
#include "router/stats.h"
#include "router/strategy.h"
#include "util/error.h"
#include "util/random.h"
#include "util/string_map.h"

namespace sy::router {

struct ModelGroup {
  std::string name;
  std::vector<const config::Deployment*> deployments;
  std::vector<std::uint32_t> slots;  // each deployment's position in model_list
  config::RetryPolicy retry_policy;  // model_group_retry_policy entry, when there is one
};

// The deployment chosen for one attempt, or why none may be tried.
struct Selection {
  const config::Deployment* deployment = nullptr;  // null: see `refusal`
  DeploymentStats* stats = nullptr;
  std::uint32_t slot = 0;
  std::uint32_t candidates = 0;  // deployments the strategy ranked
  Decision decision;
  bool all_cooling_down =
      false;  // every usable deployment was cooling down: the least recently failed is tried
  std::optional<Error> refusal;  // 429 (all at their rpm/tpm cap) or 400 context_length_exceeded
};

class Router;

// Counts an attempt in flight for as long as it lives.
class AttemptScope {
 public:
  AttemptScope(const Router& router, const Selection& selection) noexcept;
  ~AttemptScope();
  AttemptScope(const AttemptScope&) = delete;
  AttemptScope& operator=(const AttemptScope&) = delete;

 private:
  const Router& router_;
  const Selection& selection_;
};

class Router {
 public:
  // The deployments must outlive the router.
  explicit Router(const std::vector<config::Deployment>& model_list,
                  const config::RouterSettings& settings = {}, const Clock& clock = steady_clock());
  explicit Router(const config::Config& config) : Router(config.model_list, config.router) {}
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  const ModelGroup* group(std::string_view model_name) const noexcept;
  // Group names in configuration order.
  const std::vector<std::string>& model_names() const noexcept { return names_; }
  const config::RouterSettings& settings() const noexcept { return settings_; }
  const Strategy& strategy() const noexcept { return *strategy_; }
  // Reloads the strategy's files (learned routing artifacts) that changed; off the I/O threads (SIGHUP).
  void reload_strategy() { strategy_->reload(); }
  Nanos now() const noexcept { return clock_.now(); }

  // Picks the deployment for the next attempt. Deployments in `tried` are avoided while others can be tried.
  Selection select(const ModelGroup& group, const RouteRequest& request, std::span<const std::uint32_t> tried,
                   FastRandom& random) const;

  // Attempt bookkeeping: `begin` counts the request against the deployment's rpm and in-flight count, `end`
  // takes it out of the in-flight count (AttemptScope pairs them, also when a request is cancelled); at most
  // one of `succeeded` / `failed` records the outcome.
  void begin(const Selection& s) const noexcept;
  void end(const Selection& s) const noexcept;
  void first_token(const Selection& s, std::chrono::nanoseconds elapsed) const noexcept;
  void succeeded(const Selection& s, std::chrono::nanoseconds elapsed, std::int64_t tokens) const noexcept;
  // Returns true when this failure put the deployment in cooldown. A timeout also counts as a latency sample
  // of `elapsed`, so latency-based routing learns that the deployment is slow.
  bool failed(const Selection& s, FailureKind kind, const Error& error,
              std::chrono::nanoseconds elapsed = {}) const noexcept;

  // Retries allowed for a failure of `kind` in `group`: the group's retry policy, else the router's
  // retry_policy, else num_retries. 0 for failures that are never retried.
  int retries_for(const ModelGroup& group, FailureKind kind) const noexcept;
  // Whether a deployment already tried `times_tried` times for this request may take one more attempt: its
  // litellm_params.max_retries bounds the retries of that deployment (other deployments stay available).
  static bool may_retry_on(const config::Deployment& deployment, int times_tried) noexcept;
  // The wait before retry number `retry` (1-based) of the same deployment: exponential with jitter, or the
  // upstream's Retry-After. nullopt: the Retry-After exceeds max_retry_after, so waiting is pointless.
  std::optional<std::chrono::milliseconds> backoff(int retry, std::string_view retry_after,
                                                   FastRandom& random) const noexcept;
  // The fallback groups for a failure of `kind` in `group`, in order (empty: none).
  std::span<const std::string> fallbacks(std::string_view group, FailureKind kind) const noexcept;
  // The deployment's api_base as response headers may show it: no credentials, query or fragment; empty for
  // deployments without one.
  std::string_view public_api_base(std::uint32_t slot) const noexcept { return public_api_bases_[slot]; }
  // The attempt timeout: the deployment's timeout / stream_timeout, else the router's, else 600 s.
  std::chrono::milliseconds timeout(const config::Deployment& deployment, bool stream) const noexcept;

 private:
  const Clock& clock_;
  config::RouterSettings settings_;
  std::unique_ptr<Strategy> strategy_;
  StringMap<ModelGroup> groups_;
  std::vector<std::string> names_;
  std::unique_ptr<DeploymentStats[]> stats_;
  std::vector<std::string> public_api_bases_;
  StringMap<std::vector<std::string>> fallbacks_, context_fallbacks_, content_fallbacks_;
  Nanos cooldown_ = 0;
};

}  // namespace sy::router
