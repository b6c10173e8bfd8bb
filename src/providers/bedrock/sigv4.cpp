#include "providers/bedrock/sigv4.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <span>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sy::providers::bedrock {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kUpperHexDigits[] = "0123456789ABCDEF";  // percent-encoding

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view data) noexcept {
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) out.fill(0);
  return out;
}

Digest hmac(std::span<const std::uint8_t> key, std::string_view data) noexcept {
  Digest out{};
  unsigned int len = 0;
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return out;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) == nullptr) {
    out.fill(0);
  }
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
  return out;
}

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%XX" decoded; a '%' that does not start a valid escape stays as it is (and is then encoded as %25).
std::string percent_decode_lenient(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

// Leading and trailing blanks dropped, each inner run of blanks made one space.
std::string trim_all(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_space(c)) {
      if (out.back() != ' ') out.push_back(' ');  // out is never empty here: s starts with a non-blank
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_signer_header(std::string_view lower_name) noexcept {
  return lower_name == "host" || lower_name == "x-amz-date" || lower_name == "x-amz-security-token" ||
         lower_name == "x-amz-content-sha256" || lower_name == "authorization";
}

std::string_view date_of(const SigningInput& in) noexcept {
  return std::string_view(in.amz_date).substr(0, 8);
}

std::string credential_scope(const SigningInput& in) {
  std::string scope(date_of(in));
  scope.append("/").append(in.region).append("/").append(in.service).append("/aws4_request");
  return scope;
}

struct Canonical {
  std::string request;
  std::string signed_headers;
  std::string payload_hash;
};

Canonical build_canonical(const SigningInput& in, std::string_view session_token) {
  Canonical c;
  c.payload_hash = to_hex(sha256(in.payload));

  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(in.headers.size() + 4);
  headers.emplace_back("host", trim_all(in.host));
  for (const auto& [name, value] : in.headers) {
    std::string lower = ascii_lower(trim_all(name));
    if (lower.empty() || is_signer_header(lower)) continue;
    headers.emplace_back(std::move(lower), trim_all(value));
  }
  headers.emplace_back("x-amz-date", in.amz_date);
  if (!session_token.empty()) headers.emplace_back("x-amz-security-token", trim_all(session_token));
  if (in.add_content_sha256) headers.emplace_back("x-amz-content-sha256", c.payload_hash);
  // Stable: repeated names keep their values in the order given, joined by commas below.
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string& r = c.request;
  r.append(in.method).push_back('\n');
  r.append(canonical_uri(in.path, in.normalize_path)).push_back('\n');
  r.append(canonical_query(in.query)).push_back('\n');
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      r.back() = ',';  // replaces the previous line's '\n'
    } else {
      if (!c.signed_headers.empty()) c.signed_headers.push_back(';');
      c.signed_headers.append(headers[i].first);
      r.append(headers[i].first).push_back(':');
    }
    r.append(headers[i].second).push_back('\n');
  }
  r.push_back('\n');
  r.append(c.signed_headers).push_back('\n');
  r.append(c.payload_hash);
  return c;
}

std::string make_string_to_sign(const SigningInput& in, std::string_view canonical_request) {
  std::string s(kAlgorithm);
  s.push_back('\n');
  s.append(in.amz_date).push_back('\n');
  s.append(credential_scope(in)).push_back('\n');
  s.append(to_hex(sha256(canonical_request)));
  return s;
}

// A few derived keys per thread: a gateway signs with one or two credentials, and the key changes daily.
struct KeyCacheEntry {
  bool used = false;
  Digest secret_digest{};  // the secret itself is not kept
  std::string date, region, service;
  SigningKey key{};
};

struct KeyCache {
  std::array<KeyCacheEntry, 4> entries;
  std::size_t next = 0;
};

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kUpperHexDigits[c >> 4]);
      out.push_back(kUpperHexDigits[c & 0x0f]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  if (!normalize) {
    std::string out = path.front() == '/' ? std::string() : std::string("/");
    out.append(uri_encode(path, true));
    return out;
  }
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(uri_encode(segments[i]));
  }
  if (!segments.empty() && path.back() == '/') out.push_back('/');
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view item = query.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    params.emplace_back(uri_encode(percent_decode_lenient(key)), uri_encode(percent_decode_lenient(value)));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(key).push_back('=');
    out.append(value);
  }
  return out;
}

std::string canonical_request(const SigningInput& in, const Credentials& credentials) {
  return build_canonical(in, credentials.session_token).request;
}

std::string string_to_sign(const SigningInput& in, std::string_view canonical_request) {
  return make_string_to_sign(in, canonical_request);
}

std::string sha256_hex(std::string_view data) {
  return to_hex(sha256(data));
}

SigningKey derive_signing_key(std::string_view secret, std::string_view date, std::string_view region,
                              std::string_view service) {
  thread_local KeyCache cache;
  const Digest secret_digest = sha256(secret);
  for (const KeyCacheEntry& e : cache.entries) {
    if (e.used && e.date == date && e.region == region && e.service == service &&
        CRYPTO_memcmp(e.secret_digest.data(), secret_digest.data(), secret_digest.size()) == 0) {
      return e.key;
    }
  }

  std::string k_secret = "AWS4";
  k_secret.append(secret);
  Digest k = hmac({reinterpret_cast<const std::uint8_t*>(k_secret.data()), k_secret.size()}, date);
  OPENSSL_cleanse(k_secret.data(), k_secret.size());
  k = hmac(k, region);
  k = hmac(k, service);
  k = hmac(k, "aws4_request");

  KeyCacheEntry& slot = cache.entries[cache.next];
  cache.next = (cache.next + 1) % cache.entries.size();
  slot.used = true;
  slot.secret_digest = secret_digest;
  slot.date.assign(date);
  slot.region.assign(region);
  slot.service.assign(service);
  slot.key = k;
  return k;
}

SignedHeaders sign(const SigningInput& in, const Credentials& credentials) {
  const Canonical canonical = build_canonical(in, credentials.session_token);
  const std::string to_sign = make_string_to_sign(in, canonical.request);
  SigningKey key = derive_signing_key(credentials.secret_access_key, date_of(in), in.region, in.service);
  const Digest signature = hmac(key, to_sign);
  OPENSSL_cleanse(key.data(), key.size());

  SignedHeaders out;
  out.signature = to_hex(signature);
  out.headers.emplace_back("X-Amz-Date", in.amz_date);
  if (!credentials.session_token.empty())
    out.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  if (in.add_content_sha256) out.headers.emplace_back("X-Amz-Content-Sha256", canonical.payload_hash);
  std::string authorization(kAlgorithm);
  authorization.append(" Credential=").append(credentials.access_key_id).push_back('/');
  authorization.append(credential_scope(in));
  authorization.append(", SignedHeaders=").append(canonical.signed_headers);
  authorization.append(", Signature=").append(out.signature);
  out.headers.emplace_back("Authorization", std::move(authorization));
  return out;
}

std::string format_amz_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace sy::providers::bedrock
