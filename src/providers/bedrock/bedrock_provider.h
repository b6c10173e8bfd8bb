// AWS Bedrock through the Converse API (`bedrock/<model id, inference profile id or ARN>`): chat completions
// are translated to Converse (converse.h), signed with SigV4 (service "bedrock") using the deployment's
// credentials (credentials.h), and sent to POST /model/{modelId}/converse, or /converse-stream whose event
// stream is decoded frame by frame and forwarded as OpenAI chunks as it arrives.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "config/config.h"
#include "http/client.h"
#include "providers/bedrock/sigv4.h"
#include "providers/provider.h"
#include "util/error.h"
#include "util/recycled.h"

namespace sy::providers::bedrock {

class BedrockProvider final : public Provider {
 public:
  std::string_view name() const noexcept override { return "bedrock"; }
  boost::asio::awaitable<Result<Response>> complete(Call& call) override;
  boost::asio::awaitable<Result<bool>> stream(Call& call, ChunkSink& sink) override;
};

// The deployment's region: litellm_params `aws_region_name`, else the region of an inference-profile or model
// ARN used as the model id, else AWS_REGION, else AWS_DEFAULT_REGION; a 500 when none is set or it is not a
// region name.
Result<std::string> region_for(const config::Deployment& d, const config::EnvLookup& env);

// The model id sent in the path: the part after "bedrock/", without LiteLLM's "converse/" route prefix.
std::string_view model_id_for(const config::Deployment& d) noexcept;

// The endpoint: `api_base`, else `aws_bedrock_runtime_endpoint`, else
// https://bedrock-runtime.{region}.amazonaws.com.
std::string endpoint_for(const config::Deployment& d, std::string_view region);

// "{base_path}/model/{URI-encoded model id}/converse" ("/converse-stream" when streaming).
std::string converse_path(std::string_view base_path, std::string_view model_id, bool stream);

// One upstream request being prepared: what is sent, built in one of the thread's recycled requests (its
// header list and body keep their storage from call to call), and what was used to sign it.
struct PreparedRequest {
  Recycled<http::ClientRequest> request = Recycled<http::ClientRequest>::take();
  std::string region;
  std::string model_id;
  Credentials credentials;

  // What errors are scrubbed of (an access key id is not secret, but it has no place in a client's error).
  std::array<std::string_view, 3> secrets() const noexcept {
    return {credentials.secret_access_key, credentials.session_token, credentials.access_key_id};
  }
};

// Everything of the call's request but the signature: target, Converse body, timeout (and the region and
// model id it is for). An error for what the deployment or the request cannot do.
Result<bool> build_unsigned(Call& call, PreparedRequest& p);
// Signs the request built by build_unsigned with `p.credentials` and adds the call's own upstream headers.
void sign_request(Call& call, PreparedRequest& p);

}  // namespace sy::providers::bedrock
