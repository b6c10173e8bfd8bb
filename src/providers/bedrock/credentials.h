// AWS credentials for Bedrock deployments: the default credential chain of the AWS SDKs, searched in order,
// first match wins:
//   1. litellm_params aws_access_key_id / aws_secret_access_key / aws_session_token
//   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (skipped when aws_profile_name is set)
//   3. the profile (aws_profile_name, else AWS_PROFILE, else "default") in the shared credentials and config
//      files: static keys only
//   4. web identity (EKS IRSA): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, STS AssumeRoleWithWebIdentity
//   5. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI (ECS, EKS Pod Identity)
//   6. EC2 instance metadata (IMDSv2)
// Sources that are not configured are skipped; a source that is configured but fails (STS refuses the token,
// a profile uses credential_process) ends the search with its error, so a deployment never silently runs
// under another identity. Temporary credentials are cached and fetched again when less than five minutes
// remain. Errors name every source tried and why it did not answer, never a secret value.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "config/config.h"
#include "http/client.h"
#include "providers/bedrock/sigv4.h"  // Credentials
#include "util/error.h"

namespace sy::providers::bedrock {

// Resolves AWS credentials for a deployment: first match wins, cached and refreshed before expiry. Reads the
// process environment and the files it names.
boost::asio::awaitable<Result<Credentials>> credentials_for(const config::Deployment& d);

// ---- The chain behind credentials_for, its inputs injectable for tests ----

using SystemClock = std::chrono::system_clock;
// The whole file, or nullopt when it is missing or unreadable.
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;

struct ChainOptions {
  config::EnvLookup env;  // empty values count as unset; default: the process environment
  FileReader read_file;   // default: reads the file (at most 1 MiB)
  std::function<SystemClock::time_point()> now;  // default: system_clock::now
  std::chrono::seconds failure_retry{5};         // a failed search is answered from the cache this long
};

// One chain with its cache. Thread-safe: the cache is a copy-on-write map behind an atomic shared_ptr, so
// lookups take no lock; concurrent first requests may each fetch, and the last to finish stays cached.
class CredentialChain {
 public:
  explicit CredentialChain(ChainOptions options = {});
  ~CredentialChain();
  CredentialChain(const CredentialChain&) = delete;
  CredentialChain& operator=(const CredentialChain&) = delete;

  boost::asio::awaitable<Result<Credentials>> resolve(const config::Deployment& d);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// ---- Building blocks, exposed for tests ----

// Credentials and the moment they stop working (nullopt: long-term keys, never).
struct TimedCredentials {
  Credentials credentials;
  std::optional<SystemClock::time_point> expiration;
};

// Temporary credentials are fetched again once less than this remains before their Expiration.
inline constexpr std::chrono::minutes kRefreshMargin{5};
bool needs_refresh(const std::optional<SystemClock::time_point>& expiration, SystemClock::time_point now);

// ISO-8601 / RFC 3339 date-time as AWS writes it: 2024-05-01T12:00:00Z, with optional fractional seconds and
// a Z or ±hh:mm offset. nullopt when malformed.
std::optional<SystemClock::time_point> parse_iso8601(std::string_view text);

// The shared config and credentials files, parsed as the AWS SDKs do: `[section]` lines, `key = value`
// properties (key names case-insensitive, stored lowercase), comment lines starting with # or ;, inline
// comments after whitespace, and indented continuation lines appended to the previous value.
enum class ProfileFileKind {
  credentials,  // sections are profile names: [default], [dev]
  config,       // [default] and [profile dev]; other sections (sso-session, services) are not profiles
};
using Profile = std::map<std::string, std::string>;
struct ProfileFile {
  std::map<std::string, Profile> profiles;
  std::string error;  // set when the file is malformed: "line N: ...", never the line's text
};
ProfileFile parse_profile_file(std::string_view text, ProfileFileKind kind);

// What one source of the chain found.
struct SourceOutcome {
  std::optional<TimedCredentials> found;
  std::string reason;  // why nothing was found: shown in the error, never a secret
  bool stop = false;   // the source is configured but failed: the search ends here
};

// Static keys of `name`, the credentials file's properties winning over the config file's (either may be
// null: file missing). `selected` means the profile was named (aws_profile_name or AWS_PROFILE): then a
// missing profile stops the search, as in the SDKs.
SourceOutcome profile_credentials(const ProfileFile* credentials_file, const ProfileFile* config_file,
                                  std::string_view name, bool selected);

// The body of an STS AssumeRoleWithWebIdentity answer (or ErrorResponse). `redact` (the web identity token)
// is cut from any message the answer carries.
Result<TimedCredentials> parse_sts_response(int status, std::string_view body, std::string_view redact);

// {AccessKeyId, SecretAccessKey, Token, Expiration} as container credential endpoints and instance metadata
// answer (instance metadata adds "Code": "Success").
Result<TimedCredentials> parse_credentials_json(std::string_view body);

// The container credentials endpoint from AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2 + uri)
// or AWS_CONTAINER_CREDENTIALS_FULL_URI. A full URI over http must name a loopback address, localhost, or the
// ECS/EKS agent (169.254.170.2, 169.254.170.23, fd00:ec2::23); https may name any host. nullopt: neither set.
struct ContainerEndpoint {
  http::Origin origin;
  std::string target;  // path and query
};
std::optional<Result<ContainerEndpoint>> container_endpoint(const config::EnvLookup& env);
bool container_host_allowed(const http::Origin& origin);

// https://sts.{region}.amazonaws.com (AWS_REGION, else AWS_DEFAULT_REGION; .amazonaws.com.cn in China
// regions), else https://sts.amazonaws.com; AWS_ENDPOINT_URL_STS wins. An error for a malformed region name.
Result<std::string> sts_endpoint(const config::EnvLookup& env);

}  // namespace sy::providers::bedrock
