#include "providers/bedrock/credentials.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace sy::providers::bedrock {
namespace {

// A non-empty string from litellm_params; a value of another type is a configuration error.
Result<std::optional<std::string>> param(const config::Deployment& d, std::string_view key) {
  const auto* v = d.params.extra.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) {
    return Error{500,
                 "api_error",
                 "Deployment '" + d.info.id + "': litellm_params." + std::string(key) + " must be a string.",
                 "invalid_aws_credentials",
                 {},
                 {}};
  }
  if (v->get_string().empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::string(v->get_string()));
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

Error half_pair(const config::Deployment& d, std::string_view where, std::string_view have,
                std::string_view missing) {
  return Error{500,
               "api_error",
               "Deployment '" + d.info.id + "': " + std::string(where) + " sets " + std::string(have) +
                   " without " + std::string(missing) + ".",
               "invalid_aws_credentials",
               {},
               {}};
}

// LiteLLM keys naming credential sources this resolver does not implement: refused rather than silently
// calling Bedrock as another identity.
constexpr std::string_view kUnsupportedSources[] = {
    "aws_role_name", "aws_profile_name", "aws_web_identity_token", "aws_session_name", "aws_sts_endpoint"};

Result<Credentials> resolve(const config::Deployment& d) {
  for (std::string_view key : kUnsupportedSources) {
    if (const auto* v = d.params.extra.if_contains(key); v && !v->is_null()) {
      return Error{
          500,
          "api_error",
          "Deployment '" + d.info.id + "': litellm_params." + std::string(key) +
              " is not supported yet; use aws_access_key_id/aws_secret_access_key or the AWS_ACCESS_KEY_ID/"
              "AWS_SECRET_ACCESS_KEY environment variables.",
          "unsupported_aws_credentials",
          {},
          {}};
    }
  }
  auto key_id = param(d, "aws_access_key_id");
  if (!key_id) return key_id.error();
  auto secret = param(d, "aws_secret_access_key");
  if (!secret) return secret.error();
  auto token = param(d, "aws_session_token");
  if (!token) return token.error();
  if (key_id.value() && secret.value()) {
    return Credentials{std::move(*key_id.value()), std::move(*secret.value()), token.value().value_or("")};
  }
  if (key_id.value()) return half_pair(d, "litellm_params", "aws_access_key_id", "aws_secret_access_key");
  if (secret.value()) return half_pair(d, "litellm_params", "aws_secret_access_key", "aws_access_key_id");

  auto env_key_id = env("AWS_ACCESS_KEY_ID");
  auto env_secret = env("AWS_SECRET_ACCESS_KEY");
  if (env_key_id && env_secret) {
    return Credentials{std::move(*env_key_id), std::move(*env_secret), env("AWS_SESSION_TOKEN").value_or("")};
  }
  if (env_key_id) return half_pair(d, "the environment", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
  if (env_secret) return half_pair(d, "the environment", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID");

  return Error{
      500,
      "api_error",
      "No AWS credentials for deployment '" + d.info.id +
          "': tried litellm_params aws_access_key_id/aws_secret_access_key and the environment variables "
          "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.",
      "missing_aws_credentials",
      {},
      {}};
}

}  // namespace

// Static credentials only: nothing to cache or refresh, and nothing here waits.
boost::asio::awaitable<Result<Credentials>> credentials_for(const config::Deployment& d) {
  co_return resolve(d);
}

}  // namespace sy::providers::bedrock
