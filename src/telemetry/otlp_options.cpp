#include "telemetry/otlp_options.h"

#include "telemetry/text.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace sy::telemetry {
using text::is_token;
using text::percent_decode;
using text::trim;

namespace {

constexpr std::string_view kSignalPrefix = "OTEL_EXPORTER_OTLP_TRACES_";
constexpr std::string_view kGenericPrefix = "OTEL_EXPORTER_OTLP_";
constexpr std::string_view kDefaultHttpEndpoint = "http://localhost:4318/v1/traces";
constexpr std::string_view kDefaultGrpcEndpoint = "http://localhost:4317";
constexpr std::size_t kMaxQuoted = 64;  // warnings quote at most this much of a (non-secret) value

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, kMaxQuoted)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > kMaxQuoted) out += "...";
  return out + "'";
}

// The variable that decides a setting: the signal-specific one when set and non-empty, else the generic one.
struct Setting {
  std::string name;
  std::string value;  // trimmed, non-empty
  bool signal_specific = false;
};

std::optional<Setting> pick(const EnvLookup& env, std::string_view suffix) {
  for (bool signal : {true, false}) {
    std::string name = std::string(signal ? kSignalPrefix : kGenericPrefix) + std::string(suffix);
    std::optional<std::string> raw = env ? env(name) : std::nullopt;
    if (!raw) continue;
    std::string_view value = trim(*raw);
    if (value.empty()) continue;  // the spec: empty means unset
    return Setting{std::move(name), std::string(value), signal};
  }
  return std::nullopt;
}

// No CR, LF, NUL or other controls (tab is allowed): a value that cannot smuggle another header.
bool is_field_value(std::string_view s) noexcept {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

std::vector<std::pair<std::string, std::string>> parse_headers(const Setting& s, Warnings& warnings) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = s.value;
  std::size_t index = 0;
  while (!rest.empty()) {
    ++index;
    std::size_t comma = rest.find(',');
    std::string_view pair = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (pair.empty()) continue;  // "a=1,,b=2": an empty member is not worth a warning
    // Warnings name the pair by position only: a pair without '=' may be a bare secret.
    const std::string where = s.name + ": entry " + std::to_string(index);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      warnings.push_back(where + " is not key=value; skipped");
      continue;
    }
    std::optional<std::string> key = percent_decode(trim(pair.substr(0, eq)));
    if (!key || !is_token(*key)) {
      warnings.push_back(where + " has an invalid header name; skipped");
      continue;
    }
    std::optional<std::string> value = percent_decode(trim(pair.substr(eq + 1)));
    if (!value) {
      warnings.push_back(where + " (" + quoted(*key) +
                         ") has a malformed percent-encoding in its value; skipped");
      continue;
    }
    if (!is_field_value(*value)) {
      warnings.push_back(where + " (" + quoted(*key) + ") has a control character in its value; skipped");
      continue;
    }
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

std::optional<OtlpExporterOptions::Protocol> parse_protocol(std::string_view v) {
  std::string p = text::ascii_lower(v);
  if (p == "grpc") return OtlpExporterOptions::Protocol::grpc;
  if (p == "http/protobuf") return OtlpExporterOptions::Protocol::http_protobuf;
  if (p == "http/json") return OtlpExporterOptions::Protocol::http_json;
  return std::nullopt;
}

// The spec's booleans: "true" (any case) is true, "false" (any case) is false, anything else warns and is
// false.
bool parse_bool(const Setting& s, Warnings& warnings) {
  std::string v = text::ascii_lower(s.value);
  if (v == "true") return true;
  if (v != "false")
    warnings.push_back(s.name + ": " + quoted(s.value) + " is not true or false; using false");
  return false;
}

std::string with_traces_path(std::string_view base) {
  std::string out(base);
  if (out.empty() || out.back() != '/') out += '/';
  return out + "v1/traces";
}

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string_view to_string(OtlpExporterOptions::Protocol protocol) noexcept {
  switch (protocol) {
    case OtlpExporterOptions::Protocol::grpc:
      return "grpc";
    case OtlpExporterOptions::Protocol::http_protobuf:
      return "http/protobuf";
    case OtlpExporterOptions::Protocol::http_json:
      return "http/json";
  }
  return "unknown";
}

std::chrono::milliseconds OtlpRetryPolicy::backoff(int retry, double unit_random) const noexcept {
  double ms = static_cast<double>(initial_backoff.count());
  const double cap = static_cast<double>(max_backoff.count());
  for (int i = 0; i < retry && ms < cap; ++i) ms *= multiplier;
  ms = std::min(ms, cap);
  ms *= 1.0 + jitter * (2.0 * unit_random - 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(ms, 0.0)));
}

std::optional<OtlpEndpoint> parse_otlp_endpoint(std::string_view url, bool scheme_optional, bool insecure) {
  OtlpEndpoint ep;
  std::string_view rest = url;
  if (std::size_t sep = url.find("://"); sep != std::string_view::npos) {
    std::string scheme = text::ascii_lower(url.substr(0, sep));
    if (scheme == "http") {
      ep.tls = false;
    } else if (scheme == "https") {
      ep.tls = true;
    } else {
      return std::nullopt;
    }
    ep.has_scheme = true;
    rest = url.substr(sep + 3);
  } else {
    if (!scheme_optional) return std::nullopt;
    ep.tls = !insecure;
  }

  std::size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (std::size_t hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host;
  std::string_view port;
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':', colon + 1) != std::string_view::npos)
        return std::nullopt;  // IPv6 needs brackets
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    host = authority.substr(0, colon);
  }
  if (host.empty()) return std::nullopt;
  if (std::any_of(host.begin(), host.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '%' || c == '\\';
      }))
    return std::nullopt;
  if (!port.empty()) {
    if (!all_digits(port) || port.size() > 5) return std::nullopt;
    unsigned value = 0;
    std::from_chars(port.data(), port.data() + port.size(), value);
    if (value == 0 || value > 65535) return std::nullopt;
    ep.port = std::string(port);
  } else {
    ep.port = ep.has_scheme ? (ep.tls ? "443" : "80") : "4317";
  }
  ep.host = std::string(host);
  ep.target = tail.empty() || tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  return ep;
}

OtlpExporterOptions otlp_options_from_env(const EnvLookup& env, Warnings& warnings) {
  using Protocol = OtlpExporterOptions::Protocol;
  OtlpExporterOptions o;

  if (auto s = pick(env, "PROTOCOL")) {
    if (auto p = parse_protocol(s->value)) {
      o.protocol = *p;
    } else {
      warnings.push_back(s->name + ": " + quoted(s->value) +
                         " is not grpc, http/protobuf or http/json; using http/protobuf");
    }
  }
  const bool grpc = o.protocol == Protocol::grpc;

  if (auto s = pick(env, "INSECURE")) o.insecure = parse_bool(*s, warnings);

  const std::string default_endpoint(grpc ? kDefaultGrpcEndpoint : kDefaultHttpEndpoint);
  o.endpoint = default_endpoint;
  if (auto s = pick(env, "ENDPOINT")) {
    // The signal-specific URL is used as given; the generic one is a base that /v1/traces is appended to
    // (HTTP).
    std::string candidate = (s->signal_specific || grpc) ? s->value : with_traces_path(s->value);
    if (parse_otlp_endpoint(candidate, grpc, o.insecure)) {
      o.endpoint = std::move(candidate);
    } else {
      // The URL may carry credentials, so it is not quoted.
      warnings.push_back(s->name +
                         (grpc ? " is not a valid gRPC endpoint (http(s)://host:port or host:port)"
                               : " is not a valid http:// or https:// URL") +
                         "; using " + default_endpoint);
    }
  }
  // A scheme settles transport security; `insecure` only matters for a gRPC endpoint without one.
  if (auto ep = parse_otlp_endpoint(o.endpoint, grpc, o.insecure); ep && ep->has_scheme)
    o.insecure = !ep->tls;

  if (auto s = pick(env, "HEADERS")) o.headers = parse_headers(*s, warnings);

  if (auto s = pick(env, "TIMEOUT")) {
    long long ms = 0;
    auto [end, ec] = std::from_chars(s->value.data(), s->value.data() + s->value.size(), ms);
    if (ec == std::errc{} && end == s->value.data() + s->value.size() && all_digits(s->value) && ms > 0 &&
        ms <= 2147483647LL) {
      o.timeout = std::chrono::milliseconds(ms);
    } else {
      warnings.push_back(s->name + ": " + quoted(s->value) +
                         " is not a positive whole number of milliseconds; using " +
                         std::to_string(o.timeout.count()));
    }
  }

  if (auto s = pick(env, "COMPRESSION")) {
    std::string v = text::ascii_lower(s->value);
    if (v == "gzip") {
      o.compression = OtlpExporterOptions::Compression::gzip;
    } else if (v != "none") {
      warnings.push_back(s->name + ": " + quoted(s->value) + " is not gzip or none; using none");
    }
  }

  if (auto s = pick(env, "CERTIFICATE")) o.certificate_file = s->value;
  if (auto s = pick(env, "CLIENT_KEY")) o.client_key_file = s->value;
  if (auto s = pick(env, "CLIENT_CERTIFICATE")) o.client_certificate_file = s->value;
  return o;
}

}  // namespace sy::telemetry
