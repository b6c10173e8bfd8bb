// AWS credentials for Bedrock deployments.
//
// This build resolves two sources, first match wins:
//   1. litellm_params `aws_access_key_id` / `aws_secret_access_key` (and `aws_session_token`), with
//      `os.environ/...` references already resolved by the config loader;
//   2. the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) environment variables.
// Anything else is a 500 naming the sources tried, never a secret value. A deployment naming a source not
// resolved here (aws_role_name, aws_profile_name, aws_web_identity_token, ...) is a 500 too, rather than a
// call made as another identity.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "config/config.h"
#include "providers/bedrock/sigv4.h"
#include "util/error.h"

namespace sy::providers::bedrock {

// Resolves AWS credentials for a deployment: first match wins, cached and refreshed before expiry.
boost::asio::awaitable<Result<Credentials>> credentials_for(const config::Deployment& d);

}  // namespace sy::providers::bedrock
