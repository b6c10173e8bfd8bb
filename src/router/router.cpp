#include "router/router.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/container/small_vector.hpp>

namespace sy::router {
namespace {

using Candidates = boost::container::small_vector<Candidate, 16>;

bool at_cap(const config::Deployment& d, const DeploymentStats& s, Nanos now) noexcept {
  if (d.params.rpm && static_cast<double>(s.requests.get(now)) >= *d.params.rpm) return true;
  if (d.params.tpm && static_cast<double>(s.tokens.get(now)) >= *d.params.tpm) return true;
  return false;
}

bool contains(std::span<const std::uint32_t> slots, std::uint32_t slot) noexcept {
  return std::find(slots.begin(), slots.end(), slot) != slots.end();
}

std::optional<int> policy_for(const config::RetryPolicy& p, FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::rate_limit:
      return p.rate_limit;
    case FailureKind::timeout:
      return p.timeout;
    case FailureKind::server_error:
      return p.server_error;
    default:
      return std::nullopt;
  }
}

Nanos seconds_to_nanos(double s) noexcept {
  return static_cast<Nanos>(s * 1e9);
}

std::chrono::milliseconds seconds_to_millis(double s) noexcept {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000.0)));
}

// A Retry-After in seconds (decimal seconds accepted); an HTTP date is not used.
std::optional<double> parse_retry_after(std::string_view v) noexcept {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  double seconds = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc{} || end != v.data() + v.size() || !(seconds >= 0)) return std::nullopt;
  return seconds;
}

void index_rules(const std::vector<config::FallbackRule>& rules, StringMap<std::vector<std::string>>& out) {
  for (const auto& rule : rules) out.insert_or_assign(rule.group, rule.fallbacks);
}

const std::vector<std::string>* rule_for(const StringMap<std::vector<std::string>>& rules,
                                         std::string_view group) noexcept {
  auto it = rules.find(group);
  if (it == rules.end()) it = rules.find(std::string_view("*"));
  return it == rules.end() ? nullptr : &it->second;
}

// api_base without user-info, query or fragment (where credentials may hide).
std::string without_credentials(std::string_view base) {
  if (auto cut = base.find_first_of("?#"); cut != std::string_view::npos) base = base.substr(0, cut);
  const std::size_t scheme = base.find("://");
  if (scheme == std::string_view::npos) return std::string(base);
  const std::size_t host = scheme + 3;
  const std::size_t path = base.find('/', host);
  const std::string_view authority =
      base.substr(host, path == std::string_view::npos ? base.npos : path - host);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(base);
  std::string out(base.substr(0, host));
  out += base.substr(host + at + 1);
  return out;
}

}  // namespace

Router::Router(const std::vector<config::Deployment>& model_list, const config::RouterSettings& settings,
               const Clock& clock)
    : clock_(clock),
      settings_(settings),
      strategy_(make_strategy(settings, model_list)),
      stats_(std::make_unique<DeploymentStats[]>(model_list.size())),
      cooldown_(settings.disable_cooldowns ? 0 : seconds_to_nanos(settings.cooldown_time_seconds)) {
  for (std::uint32_t i = 0; i < model_list.size(); ++i) {
    const config::Deployment& d = model_list[i];
    auto [it, inserted] = groups_.try_emplace(d.model_name);
    if (inserted) {
      it->second.name = d.model_name;
      names_.push_back(d.model_name);
    }
    it->second.deployments.push_back(&d);
    it->second.slots.push_back(i);
    public_api_bases_.push_back(without_credentials(d.params.api_base));
  }
  for (const auto& [name, policy] : settings_.model_group_retry_policy) {
    if (auto it = groups_.find(name); it != groups_.end()) it->second.retry_policy = policy;
  }
  index_rules(settings_.fallbacks, fallbacks_);
  index_rules(settings_.context_window_fallbacks, context_fallbacks_);
  index_rules(settings_.content_policy_fallbacks, content_fallbacks_);
}

Router::~Router() = default;

const ModelGroup* Router::group(std::string_view model_name) const noexcept {
  auto it = groups_.find(model_name);
  return it == groups_.end() ? nullptr : &it->second;
}

Selection Router::select(const ModelGroup& group, const RouteRequest& request,
                         std::span<const std::uint32_t> tried, FastRandom& random) const {
  const Nanos now = clock_.now();
  Candidates usable, cooling;
  std::size_t capped = 0;
  for (std::size_t i = 0; i < group.deployments.size(); ++i) {
    const config::Deployment& d = *group.deployments[i];
    DeploymentStats& stats = stats_[group.slots[i]];
    if (settings_.enable_pre_call_checks && request.prompt_tokens >= 0 && d.info.max_input_tokens &&
        request.prompt_tokens > *d.info.max_input_tokens) {
      continue;
    }
    if (at_cap(d, stats, now)) {
      ++capped;
      continue;
    }
    Candidate c{&d, &stats, group.slots[i]};
    if (cooldown_ > 0 && stats.cooling_down(now)) {
      cooling.push_back(c);
    } else {
      usable.push_back(c);
    }
  }

  // Deployments not yet tried for this request go first.
  auto prefer_untried = [&tried](Candidates& list) {
    if (tried.empty()) return;
    auto untried = std::stable_partition(list.begin(), list.end(),
                                         [&tried](const Candidate& c) { return !contains(tried, c.slot); });
    if (untried != list.begin()) list.erase(untried, list.end());
  };

  Selection s;
  if (usable.empty() && !cooling.empty()) {
    // Everything usable is cooling down: rather than refuse, try the one that failed longest ago.
    prefer_untried(cooling);
    const Candidate* pick = &cooling.front();
    for (const Candidate& c : cooling) {
      if (c.stats->last_failure.load(std::memory_order_relaxed) <
          pick->stats->last_failure.load(std::memory_order_relaxed)) {
        pick = &c;
      }
    }
    s.deployment = pick->deployment;
    s.stats = pick->stats;
    s.slot = pick->slot;
    s.candidates = static_cast<std::uint32_t>(cooling.size());
    s.decision = {"all_cooling_down"};
    s.all_cooling_down = true;
    return s;
  }
  if (usable.empty()) {
    if (capped > 0) {
      const Nanos next_minute = (now / kNanosPerMinute + 1) * kNanosPerMinute;
      Error e{
          429,
          "rate_limit_error",
          "Every deployment of model group '" + group.name +
              "' is at its rpm/tpm limit for this minute. Retry after the time in Retry-After.",
          "rate_limit_exceeded",
          {},
          std::to_string(std::max<Nanos>(1, (next_minute - now + kNanosPerSecond - 1) / kNanosPerSecond))};
      s.refusal = std::move(e);
      s.decision = {"all_at_capacity"};
    } else {
      s.refusal = Error{400,
                        "invalid_request_error",
                        "The prompt (about " + std::to_string(request.prompt_tokens) +
                            " tokens) is longer than every deployment of model group '" + group.name +
                            "' accepts (model_info.max_input_tokens).",
                        "context_length_exceeded",
                        std::string(request.prompt_field),
                        {}};
      s.decision = {"context_window_exceeded"};
    }
    return s;
  }
  prefer_untried(usable);
  s.decision = strategy_->rank(request, usable, now, random);
  s.deployment = usable.front().deployment;
  s.stats = usable.front().stats;
  s.slot = usable.front().slot;
  s.candidates = static_cast<std::uint32_t>(usable.size());
  return s;
}

void Router::begin(const Selection& s) const noexcept {
  s.stats->in_flight.fetch_add(1, std::memory_order_relaxed);
  s.stats->requests.add(clock_.now(), 1);
}

void Router::end(const Selection& s) const noexcept {
  s.stats->in_flight.fetch_sub(1, std::memory_order_relaxed);
}

AttemptScope::AttemptScope(const Router& router, const Selection& selection) noexcept
    : router_(router), selection_(selection) {
  router_.begin(selection_);
}

AttemptScope::~AttemptScope() {
  router_.end(selection_);
}

void Router::first_token(const Selection& s, std::chrono::nanoseconds elapsed) const noexcept {
  s.stats->ttft.observe(std::chrono::duration<double, std::milli>(elapsed).count());
}

void Router::succeeded(const Selection& s, std::chrono::nanoseconds elapsed,
                       std::int64_t tokens) const noexcept {
  s.stats->latency.observe(std::chrono::duration<double, std::milli>(elapsed).count());
  if (tokens > 0) s.stats->tokens.add(clock_.now(), tokens);
}

bool Router::failed(const Selection& s, FailureKind kind, const Error& error,
                    std::chrono::nanoseconds elapsed) const noexcept {
  if (kind == FailureKind::timeout && elapsed.count() > 0) {
    s.stats->latency.observe(std::chrono::duration<double, std::milli>(elapsed).count());
    s.stats->ttft.observe(std::chrono::duration<double, std::milli>(elapsed).count());
  }
  if (!counts_as_deployment_failure(kind)) return false;
  return s.stats->record_failure(clock_.now(), cools_down_at_once(kind, error.status),
                                 settings_.allowed_fails, cooldown_);
}

int Router::retries_for(const ModelGroup& group, FailureKind kind) const noexcept {
  if (!retryable(kind)) return 0;
  if (auto n = policy_for(group.retry_policy, kind)) return *n;
  if (settings_.retry_policy) {
    if (auto n = policy_for(*settings_.retry_policy, kind)) return *n;
  }
  return settings_.num_retries;
}

bool Router::may_retry_on(const config::Deployment& d, int times_tried) noexcept {
  return !d.params.max_retries || times_tried <= *d.params.max_retries;
}

std::optional<std::chrono::milliseconds> Router::backoff(int retry, std::string_view retry_after,
                                                         FastRandom& random) const noexcept {
  double seconds;
  if (auto told = parse_retry_after(retry_after)) {
    if (*told > settings_.max_retry_after_seconds) return std::nullopt;
    seconds = *told;
  } else {
    // 0.5 s, 1 s, 2 s ... up to 8 s, less up to a quarter at random so clients that failed together spread
    // out.
    const double base = std::min(0.5 * std::pow(2.0, std::max(0, retry - 1)), 8.0);
    seconds = base * (1.0 - 0.25 * random.uniform());
  }
  return seconds_to_millis(std::max(seconds, settings_.retry_after_seconds));
}

std::span<const std::string> Router::fallbacks(std::string_view group, FailureKind kind) const noexcept {
  if (!falls_back(kind)) return {};
  const std::vector<std::string>* list = nullptr;
  if (kind == FailureKind::context_window) list = rule_for(context_fallbacks_, group);
  if (kind == FailureKind::content_policy) list = rule_for(content_fallbacks_, group);
  if (!list) list = rule_for(fallbacks_, group);
  if (!list) return settings_.default_fallbacks;
  return *list;
}

std::chrono::milliseconds Router::timeout(const config::Deployment& d, bool stream) const noexcept {
  // The deployment's own settings first, then the router's; a stream prefers stream_timeout at each level.
  const auto& p = d.params;
  std::optional<double> s = stream && p.stream_timeout_seconds ? p.stream_timeout_seconds : p.timeout_seconds;
  if (!s && stream) s = settings_.stream_timeout_seconds;
  if (!s) s = settings_.timeout_seconds;
  return seconds_to_millis(s.value_or(600));
}

}  // namespace sy::router
