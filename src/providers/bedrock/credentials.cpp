#include "providers/bedrock/credentials.h"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "util/log.h"

namespace sy::providers::bedrock {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;
using TimePoint = SystemClock::time_point;

constexpr std::size_t kMaxFileBytes = 1u << 20;
constexpr std::size_t kMaxResponseBytes = 64u * 1024;
constexpr std::string_view kErrorCode = "aws_credentials_unavailable";

// ---- text ----

constexpr std::string_view kBlank = " \t";  // whitespace, as the profile file format counts it

std::string_view trim(std::string_view s, std::string_view chars = " \t\r\n") {
  const auto b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(chars) - b + 1);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// application/x-www-form-urlencoded value: everything but RFC 3986 unreserved characters percent-encoded.
std::string form_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (const char c : s) {
    if (is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

Error credentials_error(std::string message) {
  return Error{500, "api_error", std::move(message), std::string(kErrorCode), {}, {}};
}

// ---- environment and files ----

// Empty variables count as unset, as in the SDKs.
config::EnvLookup non_empty(config::EnvLookup env) {
  return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto value = env(name);
    if (value && value->empty()) return std::nullopt;
    return value;
  };
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out;
  char buf[8192];
  for (;;) {
    in.read(buf, sizeof buf);
    const auto got = in.gcount();
    if (got > 0) out.append(buf, static_cast<std::size_t>(got));
    if (out.size() > kMaxFileBytes) return std::nullopt;
    if (!in) break;
  }
  if (in.bad()) return std::nullopt;
  return out;
}

std::string home_directory(const config::EnvLookup& env) {
  if (auto home = env("HOME")) return *home;
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &found) == 0 && found && found->pw_dir) {
    return found->pw_dir;
  }
  return {};
}

std::string expand_home(std::string_view path, const config::EnvLookup& env) {
  if (path == "~" || path.starts_with("~/")) return home_directory(env) + std::string(path.substr(1));
  return std::string(path);
}

// ---- XML (the few elements of an STS answer) ----

// The raw content of the first <tag>...</tag> (attributes allowed), or nullopt.
std::optional<std::string_view> xml_inner(std::string_view xml, std::string_view tag) {
  std::size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string_view::npos) {
    const std::size_t name_end = pos + 1 + tag.size();
    if (xml.substr(pos + 1, tag.size()) == tag && name_end < xml.size() &&
        (xml[name_end] == '>' || xml[name_end] == ' ' || xml[name_end] == '\t' || xml[name_end] == '\r' ||
         xml[name_end] == '\n' || xml[name_end] == '/')) {
      const std::size_t open_end = xml.find('>', name_end);
      if (open_end == std::string_view::npos) return std::nullopt;
      if (xml[open_end - 1] == '/') return std::string_view{};  // <tag/>
      std::string close = "</";
      close.append(tag);
      close += '>';
      const std::size_t close_pos = xml.find(close, open_end + 1);
      if (close_pos == std::string_view::npos) return std::nullopt;
      return xml.substr(open_end + 1, close_pos - open_end - 1);
    }
    ++pos;
  }
  return std::nullopt;
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Character data of a leaf element: CDATA kept as is, the five named entities and numeric references decoded.
std::string xml_text(std::string_view raw) {
  raw = trim(raw);
  if (raw.starts_with("<![CDATA[") && raw.ends_with("]]>"))
    return std::string(raw.substr(9, raw.size() - 12));
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    const std::size_t semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += raw[i];
      continue;
    }
    const std::string_view entity = raw.substr(i + 1, semi - i - 1);
    if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "amp") {
      out += '&';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string digits(entity.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0') {
        out += raw[i];
        continue;
      }
      append_utf8(out, cp);
    } else {
      out += raw[i];
      continue;
    }
    i = semi;
  }
  return out;
}

std::optional<std::string> xml_leaf(std::string_view xml, std::string_view tag) {
  auto inner = xml_inner(xml, tag);
  if (!inner) return std::nullopt;
  return xml_text(*inner);
}

// A message from an upstream, safe to show: `redact` cut out, control characters dropped, bounded.
std::string sanitize_message(std::string_view message, std::string_view redact) {
  std::string out(message);
  if (!redact.empty()) {
    constexpr std::string_view kRedacted = "[redacted]";
    std::size_t pos = out.find(redact);
    while (pos != std::string::npos) {
      out.replace(pos, redact.size(), kRedacted);
      pos = out.find(redact, pos + kRedacted.size());
    }
  }
  std::erase_if(out, [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  constexpr std::size_t kLongest = 300;
  if (out.size() > kLongest) out = out.substr(0, kLongest) + "...";
  return out;
}

// ---- the sources ----

struct Tried {
  std::string source;
  std::string reason;
};

Error chain_error(const std::vector<Tried>& tried, bool stopped) {
  std::string message = "no AWS credentials found: tried ";
  for (std::size_t i = 0; i < tried.size(); ++i) {
    if (i > 0) message += ", ";
    message += tried[i].source;
    message += " (";
    message += tried[i].reason;
    message += ')';
  }
  if (stopped) message += "; the search stops at a source that is configured but fails";
  return credentials_error(std::move(message));
}

// Static keys from three values, any of which may be missing.
SourceOutcome static_keys(const std::optional<std::string>& id, const std::optional<std::string>& secret,
                          const std::optional<std::string>& token, std::string_view id_name,
                          std::string_view secret_name, std::string_view token_name) {
  SourceOutcome out;
  if (id && secret) {
    out.found = TimedCredentials{Credentials{*id, *secret, token.value_or("")}, std::nullopt};
    return out;
  }
  if (id || secret || token) {
    const std::string_view present = id ? id_name : secret ? secret_name : token_name;
    const std::string_view missing = id ? secret_name : id_name;
    out.reason = std::string(present) + " is set but " + std::string(missing) + " is not";
    out.stop = true;
    return out;
  }
  out.reason = std::string(id_name) + " not set";
  return out;
}

struct ParamsOutcome {
  SourceOutcome keys;
  std::optional<std::string> profile;  // aws_profile_name
};

ParamsOutcome from_params(const bj::object& extra) {
  ParamsOutcome out;
  std::string bad;
  auto get = [&](std::string_view key) -> std::optional<std::string> {
    const bj::value* v = extra.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
      if (bad.empty()) bad = std::string(key) + " must be a string";
      return std::nullopt;
    }
    if (v->get_string().empty()) return std::nullopt;
    return std::string(v->get_string());
  };
  const auto id = get("aws_access_key_id");
  const auto secret = get("aws_secret_access_key");
  const auto token = get("aws_session_token");
  out.profile = get("aws_profile_name");
  if (!bad.empty()) {
    out.keys.reason = std::move(bad);
    out.keys.stop = true;
    return out;
  }
  out.keys =
      static_keys(id, secret, token, "aws_access_key_id", "aws_secret_access_key", "aws_session_token");
  if (!out.keys.found && !out.keys.stop) out.keys.reason = "no aws_access_key_id";
  return out;
}

// What a search needs besides the deployment.
struct Inputs {
  const config::EnvLookup& env;
  const FileReader& read_file;
  TimePoint now;
  std::string profile;
  bool profile_selected = false;     // named by aws_profile_name or AWS_PROFILE
  bool profile_from_params = false;  // aws_profile_name: the environment's keys are skipped, as in botocore
};

SourceOutcome from_environment(const config::EnvLookup& env) {
  return static_keys(env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"),
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN");
}

SourceOutcome from_profile(const Inputs& in) {
  const std::string credentials_path =
      expand_home(in.env("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"), in.env);
  const std::string config_path = expand_home(in.env("AWS_CONFIG_FILE").value_or("~/.aws/config"), in.env);
  const auto credentials_text = in.read_file(credentials_path);
  const auto config_text = in.read_file(config_path);
  SourceOutcome out;
  if (!credentials_text && !config_text) {
    out.reason = "no file " + credentials_path + " or " + config_path;
    out.stop = in.profile_selected;
    return out;
  }
  ProfileFile credentials_file;
  ProfileFile config_file;
  if (credentials_text) {
    credentials_file = parse_profile_file(*credentials_text, ProfileFileKind::credentials);
    if (!credentials_file.error.empty()) {
      out.reason = credentials_path + " " + credentials_file.error;
      out.stop = true;
      return out;
    }
  }
  if (config_text) {
    config_file = parse_profile_file(*config_text, ProfileFileKind::config);
    if (!config_file.error.empty()) {
      out.reason = config_path + " " + config_file.error;
      out.stop = true;
      return out;
    }
  }
  out = profile_credentials(credentials_text ? &credentials_file : nullptr,
                            config_text ? &config_file : nullptr, in.profile, in.profile_selected);
  if (!out.found && !credentials_file.profiles.contains(in.profile) &&
      !config_file.profiles.contains(in.profile)) {
    out.reason = "not in";
    if (credentials_text) out.reason += " " + credentials_path;
    if (credentials_text && config_text) out.reason += " or";
    if (config_text) out.reason += " " + config_path;
  }
  return out;
}

asio::awaitable<SourceOutcome> from_web_identity(const Inputs& in) {
  SourceOutcome out;
  const auto token_file = in.env("AWS_WEB_IDENTITY_TOKEN_FILE");
  const auto role_arn = in.env("AWS_ROLE_ARN");
  if (!token_file || !role_arn) {
    out.reason = !token_file && !role_arn ? "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set"
                 : !token_file            ? "AWS_WEB_IDENTITY_TOKEN_FILE not set"
                                          : "AWS_ROLE_ARN not set";
    co_return out;
  }
  out.stop = true;  // configured: from here on, a failure ends the search
  const auto token_text = in.read_file(*token_file);
  if (!token_text) {
    out.reason = "cannot read the token file " + *token_file;
    co_return out;
  }
  const std::string token(trim(*token_text));
  if (token.empty()) {
    out.reason = "the token file " + *token_file + " is empty";
    co_return out;
  }
  const std::string session_name =
      in.env("AWS_ROLE_SESSION_NAME")
          .value_or("switchyard-" +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::seconds>(in.now.time_since_epoch()).count()));
  const auto endpoint = sts_endpoint(in.env);
  if (!endpoint) {
    out.reason = endpoint.error().message;
    co_return out;
  }
  const auto origin = http::parse_origin(endpoint.value());
  if (!origin) {
    out.reason = "the STS endpoint is not an http(s) URL with a host";
    co_return out;
  }
  http::ClientRequest request;
  request.method = "POST";
  request.origin = &origin.value();
  request.target = origin.value().base_path + "/";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                     {"Accept", "text/xml"}};
  request.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + form_encode(*role_arn) +
                 "&RoleSessionName=" + form_encode(session_name) + "&WebIdentityToken=" + form_encode(token);
  request.connect_timeout = 5s;
  request.timeout = 10s;
  request.max_response_bytes = kMaxResponseBytes;
  const auto response = co_await http::fetch(request);
  if (!response) {
    out.reason = "STS at " + origin.value().host + ": " + response.error().message;
    co_return out;
  }
  auto parsed = parse_sts_response(response.value().status, response.value().body, token);
  if (!parsed) {
    out.reason = parsed.error().message;
    co_return out;
  }
  out.found = std::move(parsed.value());
  out.stop = false;
  co_return out;
}

asio::awaitable<SourceOutcome> from_container(const Inputs& in) {
  SourceOutcome out;
  const auto endpoint = container_endpoint(in.env);
  if (!endpoint) {
    out.reason = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set";
    co_return out;
  }
  out.stop = true;
  if (!*endpoint) {
    out.reason = endpoint->error().message;
    co_return out;
  }
  const ContainerEndpoint& ep = endpoint->value();
  std::string authorization;
  if (const auto file = in.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    const auto text = in.read_file(*file);
    if (!text) {
      out.reason = "cannot read the authorization token file " + *file;
      co_return out;
    }
    authorization = std::string(trim(*text));
  } else if (const auto token = in.env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    authorization = std::string(trim(*token));
  }
  if (has_line_break(authorization)) {
    out.reason = "the authorization token contains a line break";
    co_return out;
  }
  http::ClientRequest request;
  request.method = "GET";
  request.origin = &ep.origin;
  request.target = ep.target;
  request.headers = {{"Accept", "application/json"}};
  if (!authorization.empty()) request.headers.add("Authorization", authorization);
  request.connect_timeout = 2s;
  request.timeout = 5s;
  request.max_response_bytes = kMaxResponseBytes;
  const auto response = co_await http::fetch(request);
  if (!response) {
    out.reason = ep.origin.host + ": " + response.error().message;
    co_return out;
  }
  if (response.value().status != 200) {
    out.reason = ep.origin.host + " answered HTTP " + std::to_string(response.value().status);
    co_return out;
  }
  auto parsed = parse_credentials_json(response.value().body);
  if (!parsed) {
    out.reason = ep.origin.host + ": " + parsed.error().message;
    co_return out;
  }
  out.found = std::move(parsed.value());
  out.stop = false;
  co_return out;
}

bool valid_role_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (const char c : name) {
    if (!is_alnum(c) && std::string_view("+=,.@_-").find(c) == std::string_view::npos) return false;
  }
  return true;
}

asio::awaitable<SourceOutcome> from_instance_metadata(const Inputs& in) {
  SourceOutcome out;
  if (const auto disabled = in.env("AWS_EC2_METADATA_DISABLED");
      disabled && http::iequals(trim(*disabled), "true")) {
    out.reason = "disabled by AWS_EC2_METADATA_DISABLED";
    co_return out;
  }
  // The last source: its failures need no stop, and off EC2 it is not configured at all, only tried.
  std::string endpoint;
  if (const auto configured = in.env("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
    endpoint = *configured;
  } else if (const auto mode = in.env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
             mode && http::iequals(trim(*mode), "IPv6")) {
    endpoint = "http://[fd00:ec2::254]";
  } else {
    endpoint = "http://169.254.169.254";
  }
  const auto origin = http::parse_origin(endpoint);
  if (!origin) {
    out.reason = "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL with a host";
    co_return out;
  }
  const std::string& host = origin.value().host;
  const std::string base = origin.value().base_path;

  // IMDSv2: a session token first (PUT), then every read carries it.
  http::ClientRequest token_request;
  token_request.method = "PUT";
  token_request.origin = &origin.value();
  token_request.target = base + "/latest/api/token";
  token_request.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  token_request.connect_timeout = 1s;  // off EC2 nothing answers: fail fast
  token_request.timeout = 3s;
  token_request.max_response_bytes = kMaxResponseBytes;
  const auto token_response = co_await http::fetch(token_request);
  if (!token_response) {
    out.reason = host + ": " + token_response.error().message;
    co_return out;
  }
  if (token_response.value().status != 200) {
    out.reason =
        host + " answered the token request with HTTP " + std::to_string(token_response.value().status);
    co_return out;
  }
  const std::string token(trim(token_response.value().body));
  if (token.empty() || has_line_break(token)) {
    out.reason = host + " answered the token request without a usable token";
    co_return out;
  }

  http::ClientRequest list_request;
  list_request.method = "GET";
  list_request.origin = &origin.value();
  list_request.target = base + "/latest/meta-data/iam/security-credentials/";
  list_request.headers = {{"X-aws-ec2-metadata-token", token}};
  list_request.connect_timeout = 1s;
  list_request.timeout = 3s;
  list_request.max_response_bytes = kMaxResponseBytes;
  const auto list_response = co_await http::fetch(list_request);
  if (!list_response) {
    out.reason = host + ": " + list_response.error().message;
    co_return out;
  }
  if (list_response.value().status == 404) {
    out.reason = "no IAM role is attached to the instance";
    co_return out;
  }
  if (list_response.value().status != 200) {
    out.reason =
        host + " answered the role request with HTTP " + std::to_string(list_response.value().status);
    co_return out;
  }
  const std::string_view roles = list_response.value().body;
  const std::string role(trim(roles.substr(0, roles.find('\n'))));
  if (!valid_role_name(role)) {
    out.reason = host + " answered the role request without a valid role name";
    co_return out;
  }

  http::ClientRequest credentials_request = list_request;
  credentials_request.target += role;
  const auto response = co_await http::fetch(credentials_request);
  if (!response) {
    out.reason = host + ": " + response.error().message;
    co_return out;
  }
  if (response.value().status != 200) {
    out.reason =
        host + " answered the credentials request with HTTP " + std::to_string(response.value().status);
    co_return out;
  }
  auto parsed = parse_credentials_json(response.value().body);
  if (!parsed) {
    out.reason = host + ": " + parsed.error().message;
    co_return out;
  }
  out.found = std::move(parsed.value());
  co_return out;
}

struct Resolution {
  std::optional<TimedCredentials> found;
  std::string source;
  Error error;
};

// Files `outcome` under `source`; true when the search is over (found, or stopped with an error).
bool settle(SourceOutcome& outcome, std::string_view source, std::vector<Tried>& tried, Resolution& res) {
  if (outcome.found) {
    res.found = std::move(outcome.found);
    res.source = std::string(source);
    return true;
  }
  tried.push_back(Tried{std::string(source), std::move(outcome.reason)});
  if (!outcome.stop) return false;
  res.error = chain_error(tried, true);
  return true;
}

// Sources 2 to 6; the litellm_params keys were looked at by the caller (`params_reason` says why they did not
// answer).
asio::awaitable<Resolution> search(const Inputs& in, const std::string& params_reason) {
  std::vector<Tried> tried;
  tried.push_back(Tried{"litellm_params", params_reason});
  Resolution res;

  if (in.profile_from_params) {
    tried.push_back(Tried{"environment", "skipped: aws_profile_name is set"});
  } else {
    SourceOutcome environment = from_environment(in.env);
    if (settle(environment, "environment", tried, res)) co_return res;
  }

  SourceOutcome profile = from_profile(in);
  const std::string profile_source = "profile " + in.profile;
  if (settle(profile, profile_source, tried, res)) co_return res;

  SourceOutcome web_identity = co_await from_web_identity(in);
  if (settle(web_identity, "web identity", tried, res)) co_return res;

  SourceOutcome container = co_await from_container(in);
  if (settle(container, "container", tried, res)) co_return res;

  SourceOutcome metadata = co_await from_instance_metadata(in);
  if (settle(metadata, "instance metadata", tried, res)) co_return res;

  res.error = chain_error(tried, false);
  co_return res;
}

}  // namespace

// ---- building blocks ----

bool needs_refresh(const std::optional<SystemClock::time_point>& expiration, SystemClock::time_point now) {
  return expiration && now + kRefreshMargin >= *expiration;
}

std::optional<SystemClock::time_point> parse_iso8601(std::string_view text) {
  const std::string_view s = trim(text);
  std::size_t i = 0;
  auto number = [&](std::size_t width, int& out) {
    if (i + width > s.size()) return false;
    out = 0;
    for (std::size_t k = 0; k < width; ++k) {
      if (!is_digit(s[i + k])) return false;
      out = out * 10 + (s[i + k] - '0');
    }
    i += width;
    return true;
  };
  auto literal = [&](std::string_view any_of) {
    if (i >= s.size() || any_of.find(s[i]) == std::string_view::npos) return false;
    ++i;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(4, year) || !literal("-") || !number(2, month) || !literal("-") || !number(2, day) ||
      !literal("Tt ") || !number(2, hour) || !literal(":") || !number(2, minute) || !literal(":") ||
      !number(2, second)) {
    return std::nullopt;
  }
  std::chrono::nanoseconds fraction{0};
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    const std::size_t start = i;
    long long nanos = 0;
    int digits = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (digits < 9) {
        nanos = nanos * 10 + (s[i] - '0');
        ++digits;
      }
    }
    if (i == start) return std::nullopt;
    for (; digits < 9; ++digits) nanos *= 10;
    fraction = std::chrono::nanoseconds(nanos);
  }
  std::chrono::minutes offset{0};
  if (literal("Zz")) {
    // UTC
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh = 0, om = 0;
    if (!number(2, oh)) return std::nullopt;
    if (i < s.size() && s[i] == ':') ++i;
    if (!number(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = std::chrono::minutes(sign * (oh * 60 + om));
  } else {
    return std::nullopt;  // RFC 3339 requires the offset
  }
  if (i != s.size()) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  if (second == 60) second = 59;  // a leap second: close enough for an expiry
  const auto tp = std::chrono::sys_days(date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                  std::chrono::seconds(second) - offset;
  return std::chrono::time_point_cast<SystemClock::duration>(tp) +
         std::chrono::duration_cast<SystemClock::duration>(fraction);
}

namespace {

bool valid_profile_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!is_alnum(c) && std::string_view("_-/.%@:+").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// A line without its comment. Section lines end at the first # or ;. In property lines a comment must follow
// whitespace, so "key = a#b" keeps its value whole.
std::string_view strip_comment(std::string_view line, bool needs_blank) {
  bool after_blank = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if ((c == '#' || c == ';') && (after_blank || !needs_blank)) return trim(line.substr(0, i), kBlank);
    after_blank = c == ' ' || c == '\t';
  }
  return trim(line, kBlank);
}

}  // namespace

ProfileFile parse_profile_file(std::string_view text, ProfileFileKind kind) {
  ProfileFile out;
  std::map<std::string, Profile> sections;  // raw section names; repeated sections merge, later values win
  Profile* section = nullptr;
  std::string property;  // the last property of `section`, for continuation lines
  std::size_t line_number = 0;
  auto fail = [&](std::string_view what) {
    out.profiles.clear();
    out.error = "line " + std::to_string(line_number) + ": " + std::string(what);
    return out;
  };
  for (std::size_t pos = 0; pos <= text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (trim(line, kBlank).empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      const std::string_view header = strip_comment(line, false);
      if (!header.ends_with(']')) return fail("a section header must end with ']'");
      section = &sections[std::string(trim(header.substr(1, header.size() - 2), kBlank))];
      property.clear();
      continue;
    }
    if (!section) return fail("a setting must follow a [section] header");
    if (line.front() == ' ' ||
        line.front() == '\t') {  // continues the previous value (or holds a sub-setting)
      if (property.empty()) return fail("an indented line must continue a setting");
      std::string& value = (*section)[property];
      value += '\n';
      value += trim(line, kBlank);
      continue;
    }
    const std::string_view setting = strip_comment(line, true);
    const std::size_t eq = setting.find('=');
    if (eq == std::string_view::npos) return fail("expected 'name = value'");
    std::string key = lowercase(trim(setting.substr(0, eq), kBlank));
    if (key.empty()) return fail("a setting has no name");
    (*section)[key] = std::string(trim(setting.substr(eq + 1), kBlank));
    property = std::move(key);
  }

  std::optional<Profile> plain_default;  // [default]
  for (auto& [raw, values] : sections) {
    if (kind == ProfileFileKind::credentials) {
      if (valid_profile_name(raw)) out.profiles[raw] = std::move(values);
      continue;
    }
    if (raw == "default") {
      plain_default = std::move(values);
    } else if (raw.starts_with("profile") && raw.size() > 7 && (raw[7] == ' ' || raw[7] == '\t')) {
      const std::string name(trim(std::string_view(raw).substr(7), kBlank));
      if (valid_profile_name(name)) out.profiles[name] = std::move(values);  // [profile default] wins
    }
    // Other sections ([sso-session x], [services x], a bare [name]) are not profiles.
  }
  if (plain_default && !out.profiles.contains("default")) out.profiles["default"] = std::move(*plain_default);
  return out;
}

SourceOutcome profile_credentials(const ProfileFile* credentials_file, const ProfileFile* config_file,
                                  std::string_view name, bool selected) {
  SourceOutcome out;
  const std::string key(name);
  const Profile* from_credentials = nullptr;
  const Profile* from_config = nullptr;
  if (credentials_file) {
    if (auto it = credentials_file->profiles.find(key); it != credentials_file->profiles.end()) {
      from_credentials = &it->second;
    }
  }
  if (config_file) {
    if (auto it = config_file->profiles.find(key); it != config_file->profiles.end())
      from_config = &it->second;
  }
  if (!from_credentials && !from_config) {
    out.reason = "no such profile";
    out.stop = selected;
    return out;
  }
  Profile merged = from_config ? *from_config : Profile{};
  if (from_credentials) {
    for (const auto& [k, v] : *from_credentials) merged[k] = v;
  }
  auto get = [&](const std::string& k) -> std::optional<std::string> {
    auto it = merged.find(k);
    if (it == merged.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  constexpr std::string_view kInstead =
      ", which Switchyard does not support: give the profile static keys, or use web identity, container or "
      "instance credentials";
  // An assumed role wins over static keys in the SDKs: using the keys instead would run as another identity.
  if (get("role_arn")) {
    out.reason = "uses role_arn (assume role)" + std::string(kInstead);
    out.stop = true;
    return out;
  }
  out = static_keys(get("aws_access_key_id"), get("aws_secret_access_key"), get("aws_session_token"),
                    "aws_access_key_id", "aws_secret_access_key", "aws_session_token");
  if (out.found || out.stop) return out;
  for (const char* unsupported : {"credential_process", "sso_session", "sso_start_url", "sso_account_id",
                                  "sso_role_name", "web_identity_token_file", "credential_source"}) {
    if (get(unsupported)) {
      out.reason = "uses " + std::string(unsupported) + std::string(kInstead);
      out.stop = true;
      return out;
    }
  }
  out.reason = "has no aws_access_key_id";
  return out;
}

Result<TimedCredentials> parse_sts_response(int status, std::string_view body, std::string_view redact) {
  if (status < 200 || status > 299) {
    std::string why = "STS answered HTTP " + std::to_string(status);
    if (const auto error = xml_inner(body, "Error")) {
      if (const auto code = xml_leaf(*error, "Code")) why += ": " + sanitize_message(*code, redact);
      if (const auto message = xml_leaf(*error, "Message")) why += ": " + sanitize_message(*message, redact);
    }
    return credentials_error(std::move(why));
  }
  const auto block = xml_inner(body, "Credentials");
  if (!block) return credentials_error("the STS answer has no Credentials");
  TimedCredentials out;
  const auto id = xml_leaf(*block, "AccessKeyId");
  const auto secret = xml_leaf(*block, "SecretAccessKey");
  const auto token = xml_leaf(*block, "SessionToken");
  const auto expiration = xml_leaf(*block, "Expiration");
  if (!id || id->empty()) return credentials_error("the STS answer has no AccessKeyId");
  if (!secret || secret->empty()) return credentials_error("the STS answer has no SecretAccessKey");
  if (!token || token->empty()) return credentials_error("the STS answer has no SessionToken");
  if (!expiration) return credentials_error("the STS answer has no Expiration");
  out.expiration = parse_iso8601(*expiration);
  if (!out.expiration) return credentials_error("the STS answer has an invalid Expiration");
  out.credentials = Credentials{*id, *secret, *token};
  return out;
}

Result<TimedCredentials> parse_credentials_json(std::string_view body) {
  boost::system::error_code ec;
  const bj::value doc = bj::parse(body, ec);
  if (ec || !doc.is_object()) return credentials_error("the answer is not a JSON object");
  const bj::object& o = doc.get_object();
  auto text = [&](std::string_view key) -> std::optional<std::string> {
    const bj::value* v = o.if_contains(key);
    if (!v || !v->is_string() || v->get_string().empty()) return std::nullopt;
    return std::string(v->get_string());
  };
  if (const bj::value* code = o.if_contains("Code");
      code && code->is_string() && code->get_string() != "Success") {
    return credentials_error("the answer has Code " + sanitize_message(code->get_string(), {}));
  }
  TimedCredentials out;
  const auto id = text("AccessKeyId");
  const auto secret = text("SecretAccessKey");
  if (!id) return credentials_error("the answer has no AccessKeyId");
  if (!secret) return credentials_error("the answer has no SecretAccessKey");
  out.credentials = Credentials{*id, *secret, text("Token").value_or("")};
  if (const auto expiration = text("Expiration")) {
    out.expiration = parse_iso8601(*expiration);
    if (!out.expiration) return credentials_error("the answer has an invalid Expiration");
  }
  return out;
}

bool container_host_allowed(const http::Origin& origin) {
  if (origin.tls) return true;
  const std::string host = lowercase(origin.host);
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return false;
  if (address.is_loopback()) return true;
  if (address.is_v4()) {
    const auto v4 = address.to_v4();
    return v4 == asio::ip::make_address_v4("169.254.170.2") ||
           v4 == asio::ip::make_address_v4("169.254.170.23");
  }
  return address.to_v6() == asio::ip::make_address_v6("fd00:ec2::23");
}

std::optional<Result<ContainerEndpoint>> container_endpoint(const config::EnvLookup& env) {
  std::string url;
  std::string_view variable;
  if (const auto relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    variable = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    if (!relative->starts_with('/')) return credentials_error(std::string(variable) + " must start with '/'");
    url = "http://169.254.170.2" + *relative;
  } else if (const auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    variable = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    url = *full;
  } else {
    return std::nullopt;
  }
  const auto parsed = boost::urls::parse_uri(url);
  auto origin = http::parse_origin(url);
  if (!parsed || !origin)
    return credentials_error(std::string(variable) + " is not an http(s) URL with a host");
  if (!container_host_allowed(origin.value())) {
    return credentials_error(
        std::string(variable) + " names host " + origin.value().host +
        ": over http only loopback addresses, localhost, 169.254.170.2, 169.254.170.23 and "
        "fd00:ec2::23 are allowed; other hosts need https");
  }
  ContainerEndpoint out{std::move(origin.value()), std::string(parsed->encoded_target())};
  if (out.target.empty()) out.target = "/";
  return out;
}

Result<std::string> sts_endpoint(const config::EnvLookup& env) {
  if (auto configured = env("AWS_ENDPOINT_URL_STS")) return std::move(*configured);
  std::optional<std::string> region = env("AWS_REGION");
  std::string_view variable = "AWS_REGION";
  if (!region) {
    region = env("AWS_DEFAULT_REGION");
    variable = "AWS_DEFAULT_REGION";
  }
  if (!region) return std::string("https://sts.amazonaws.com");
  for (const char c : *region) {
    if (!is_alnum(c) && c != '-')
      return credentials_error(std::string(variable) + " is not a valid region name");
  }
  const std::string_view suffix = region->starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://sts." + *region + "." + std::string(suffix);
}

// ---- the chain and its cache ----

struct CredentialChain::State {
  struct Entry {
    std::optional<TimedCredentials> value;  // nullopt: the search failed with `error`
    Error error;
    TimePoint refresh_at;                         // until then the entry is the answer
    mutable std::atomic<bool> refreshing{false};  // one caller refreshes credentials that still work
  };
  using Map = std::unordered_map<std::string, std::shared_ptr<const Entry>>;

  config::EnvLookup env;
  FileReader read_file;
  std::function<TimePoint()> now;
  std::chrono::seconds failure_retry{5};

  std::atomic<std::shared_ptr<const Map>> cache{std::make_shared<const Map>()};

  std::shared_ptr<const Entry> find(const std::string& key) const {
    const std::shared_ptr<const Map> map = cache.load(std::memory_order_acquire);
    const auto it = map->find(key);
    return it == map->end() ? nullptr : it->second;
  }

  void store(const std::string& key, std::shared_ptr<const Entry> entry) {
    std::shared_ptr<const Map> current = cache.load(std::memory_order_acquire);
    for (;;) {
      auto next = std::make_shared<Map>(*current);
      (*next)[key] = entry;
      if (cache.compare_exchange_weak(current, std::shared_ptr<const Map>(std::move(next)),
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
        return;
      }
    }
  }
};

namespace {

// Clears a `refreshing` flag when the refreshing coroutine ends, also when it is cancelled.
struct RefreshClaim {
  std::atomic<bool>* flag = nullptr;
  RefreshClaim() = default;
  RefreshClaim(const RefreshClaim&) = delete;
  RefreshClaim& operator=(const RefreshClaim&) = delete;
  ~RefreshClaim() {
    if (flag) flag->store(false, std::memory_order_release);
  }
};

}  // namespace

CredentialChain::CredentialChain(ChainOptions options) : state_(std::make_unique<State>()) {
  state_->env = non_empty(options.env ? std::move(options.env) : config::process_env());
  state_->read_file = options.read_file ? std::move(options.read_file) : FileReader(read_small_file);
  state_->now = options.now ? std::move(options.now) : [] { return SystemClock::now(); };
  state_->failure_retry = options.failure_retry;
}

CredentialChain::~CredentialChain() = default;

asio::awaitable<Result<Credentials>> CredentialChain::resolve(const config::Deployment& d) {
  State& s = *state_;
  // LiteLLM's assume-role options are not supported: refuse rather than call the model as another identity.
  for (std::string_view key : {"aws_role_name", "aws_session_name"}) {
    const bj::value* v = d.params.extra.if_contains(key);
    if (v && !v->is_null() && !(v->is_string() && v->get_string().empty())) {
      co_return Error{500,
                      "api_error",
                      "litellm_params." + std::string(key) +
                          " (assuming a role) is not supported: configure the role's credentials through the "
                          "credential chain instead.",
                      "unsupported_aws_credentials",
                      {},
                      {}};
    }
  }
  ParamsOutcome params = from_params(d.params.extra);
  if (params.keys.found) co_return std::move(params.keys.found->credentials);
  if (params.keys.stop) co_return chain_error({Tried{"litellm_params", params.keys.reason}}, true);

  const TimePoint now = s.now();
  Inputs in{s.env, s.read_file, now, {}, false, false};
  if (params.profile) {
    in.profile = *params.profile;
    in.profile_selected = in.profile_from_params = true;
  } else if (auto named = s.env("AWS_PROFILE")) {
    in.profile = std::move(*named);
    in.profile_selected = true;
  } else {
    in.profile = "default";
  }
  // Everything that changes the search's answer: where the profile name came from, and the name.
  const std::string key = (in.profile_from_params ? "p:" : in.profile_selected ? "e:" : "d:") + in.profile;

  const std::shared_ptr<const State::Entry> cached = s.find(key);
  if (cached && now < cached->refresh_at) {
    if (cached->value) co_return cached->value->credentials;
    co_return cached->error;
  }
  // Credentials in their last minutes still work: one caller refreshes them, the others go on using them.
  const bool still_valid =
      cached && cached->value && cached->value->expiration && now < *cached->value->expiration;
  RefreshClaim claim;
  if (still_valid) {
    bool expected = false;
    if (!cached->refreshing.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      co_return cached->value->credentials;
    }
    claim.flag = &cached->refreshing;  // `cached` outlives `claim`
  }

  Resolution res = co_await search(in, params.keys.reason);

  auto entry = std::make_shared<State::Entry>();
  const TimePoint after = s.now();
  if (res.found) {
    const auto& expiration = res.found->expiration;
    entry->refresh_at = expiration ? *expiration - kRefreshMargin : TimePoint::max();
    const std::int64_t expires_in_s =
        expiration ? std::chrono::duration_cast<std::chrono::seconds>(*expiration - after).count() : -1;
    log::info("aws credentials resolved",
              {{"source", std::string_view(res.source)}, {"expires_in_s", expires_in_s}});
    entry->value = std::move(res.found);
  } else if (still_valid && after < *cached->value->expiration) {
    // Keep serving the credentials that still work; try again shortly.
    log::warn("aws credentials refresh failed, the current ones stay in use until they expire",
              {{"reason", std::string_view(res.error.message)}});
    entry->value = cached->value;
    entry->refresh_at = after + s.failure_retry;
  } else {
    log::warn("aws credentials not found", {{"reason", std::string_view(res.error.message)}});
    entry->error = std::move(res.error);
    entry->refresh_at = after + s.failure_retry;
  }
  s.store(key, entry);
  if (entry->value) co_return entry->value->credentials;
  co_return entry->error;
}

boost::asio::awaitable<Result<Credentials>> credentials_for(const config::Deployment& d) {
  static CredentialChain chain;
  return chain.resolve(d);
}

}  // namespace sy::providers::bedrock
