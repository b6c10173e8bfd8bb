#include "providers/bedrock/bedrock_provider.h"

#include <array>
#include <chrono>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "http/client.h"
#include "providers/bedrock/converse.h"
#include "providers/bedrock/credentials.h"
#include "providers/bedrock/event_stream.h"
#include "providers/bedrock/sigv4.h"
#include "util/json.h"
#include "util/string_map.h"

namespace sy::providers::bedrock {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;

Error config_error(const config::Deployment& d, std::string what, std::string code) {
  return Error{500, "api_error", "Deployment '" + d.info.id + "': " + std::move(what), std::move(code),
               {},  {}};
}

bool is_region_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string_view extra_string(const config::Deployment& d, std::string_view key) noexcept {
  const auto* v = d.params.extra.if_contains(key);
  if (!v || !v->is_string()) return {};
  return v->get_string();
}

// "arn:aws:bedrock:us-west-2:123456789012:inference-profile/..." → "us-west-2".
std::string_view arn_region(std::string_view model_id) noexcept {
  if (!model_id.starts_with("arn:")) return {};
  std::size_t start = 0;
  for (int field = 0; field < 3; ++field) {
    start = model_id.find(':', start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  const std::size_t end = model_id.find(':', start);
  if (end == std::string_view::npos) return {};
  return model_id.substr(start, end - start);
}

// Parsed endpoints per worker thread, so a URL is parsed once, not per request.
Result<const http::Origin*> origin_for(const config::Deployment& d, const std::string& url) {
  thread_local StringMap<http::Origin> cache;
  auto it = cache.find(url);
  if (it == cache.end()) {
    auto parsed = http::parse_origin(url);
    if (!parsed)
      return config_error(d, "the Bedrock endpoint is not a valid http(s) URL.", "invalid_api_base");
    it = cache.emplace(url, std::move(parsed.value())).first;
  }
  return &it->second;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<bool> build_unsigned(Call& call, PreparedRequest& p) {
  const config::Deployment& d = *call.deployment;
  if (call.endpoint != Endpoint::chat_completions) {
    return Error{501,
                 "api_error",
                 "Bedrock deployments serve chat completions only (deployment '" + d.info.id + "').",
                 "endpoint_not_supported",
                 {},
                 {}};
  }
  p.model_id = std::string(model_id_for(d));
  if (p.model_id.empty())
    return config_error(d, "the model has no Bedrock model id after 'bedrock/'.", "invalid_model");
  auto region = region_for(d, config::process_env());
  if (!region) return region.error();
  p.region = std::move(region.value());
  auto origin = origin_for(d, endpoint_for(d, p.region));
  if (!origin) return origin.error();

  auto converse = to_converse_request(*call.body);
  if (!converse) return converse.error();

  http::ClientRequest& r = *p.request;
  r.origin = origin.value();
  r.target = converse_path(r.origin->base_path, p.model_id, call.stream);
  json::serialize_into(converse.value(), r.body, call.body_bytes);
  r.timeout = call.timeout;
  call.meta.server_address = r.origin->host;
  call.meta.server_port = r.origin->port;
  return true;
}

void sign_request(Call& call, PreparedRequest& p) {
  http::ClientRequest& r = *p.request;
  SigningInput in;
  in.method = r.method;
  in.host = r.origin->host_header;
  in.path = r.target;
  in.headers = {{"Content-Type", "application/json"}};
  in.payload = r.body;
  in.region = p.region;
  in.service = "bedrock";
  in.amz_date = format_amz_date(std::chrono::system_clock::now());
  SignedHeaders signed_headers = sign(in, p.credentials);
  r.headers.add("Content-Type", "application/json");
  r.headers.add("Accept", call.stream ? "application/vnd.amazon.eventstream" : "application/json");
  for (const auto& [name, value] : signed_headers.headers) r.headers.add(name, value);
  for (const auto& h : call.upstream_headers) r.headers.add(h.name, h.value);
}

namespace {

asio::awaitable<Result<bool>> prepare(Call& call, PreparedRequest& p) {
  auto built = build_unsigned(call, p);
  if (!built) co_return built.error();
  auto credentials = co_await credentials_for(*call.deployment);
  if (!credentials) co_return credentials.error();
  p.credentials = std::move(credentials.value());
  sign_request(call, p);
  co_return true;
}

AnswerOptions answer_options(const Call& call, const PreparedRequest& p) {
  AnswerOptions o;
  o.public_model = call.public_model;
  o.upstream_model = p.model_id;
  o.id = new_completion_id();
  o.created = now_seconds();
  o.include_usage = call.include_usage;
  o.capture_content = call.capture_content;
  return o;
}

// Decodes the event stream as it arrives and hands each chunk to the sink, flushing after every read.
class EventForwarder final : public http::BodySink {
 public:
  EventForwarder(ChunkSink& sink, StreamTranslator& translator, ResponseMeta& meta)
      : sink_(sink), translator_(translator), meta_(meta) {}

  asio::awaitable<bool> on_data(std::string_view bytes, bool last) override {
    meta_.upstream_status = 200;  // only a 2xx body streams here
    messages_.clear();
    const bool intact = decoder_.feed(bytes, messages_);
    // The messages decoded before a bad frame are passed on first.
    for (const EventMessage& message : messages_) {
      chunks_.clear();
      if (auto error = translator_.translate(message, chunks_)) {
        error_ = std::move(*error);
        co_return false;
      }
      for (const std::string& chunk : chunks_) sink_.on_chunk(chunk);
    }
    if (!intact) {
      error_ = Error{
          502,
          "api_error",
          "Bedrock sent a malformed event-stream frame (" + std::string(to_string(decoder_.error())) + ").",
          "upstream_error",
          {},
          {}};
      co_return false;
    }
    if (last) co_return true;  // what is left goes out with the end of the stream
    const bool delivered = co_await sink_.flush();
    if (!delivered) {
      client_gone_ = true;
      co_return false;
    }
    co_return true;
  }

  std::size_t buffered_bytes() const noexcept { return decoder_.buffered_bytes(); }

  std::optional<Error> error_;
  bool client_gone_ = false;

 private:
  ChunkSink& sink_;
  StreamTranslator& translator_;
  ResponseMeta& meta_;
  EventStreamDecoder decoder_;
  std::vector<EventMessage> messages_;
  std::vector<std::string> chunks_;
};

}  // namespace

std::string_view model_id_for(const config::Deployment& d) noexcept {
  std::string_view id = d.params.provider_model;
  if (id.starts_with("converse/")) id.remove_prefix(9);
  return id;
}

Result<std::string> region_for(const config::Deployment& d, const config::EnvLookup& env) {
  std::string region;
  std::string source;
  if (const auto* v = d.params.extra.if_contains("aws_region_name"); v && !v->is_null()) {
    if (!v->is_string())
      return config_error(d, "litellm_params.aws_region_name must be a string.", "invalid_aws_region");
    region = v->get_string();
    source = "litellm_params.aws_region_name";
  }
  if (region.empty()) {
    region = arn_region(model_id_for(d));
    source = "the model ARN";
  }
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (!region.empty()) break;
    if (auto value = env(name)) {
      region = std::move(*value);
      source = name;
    }
  }
  if (region.empty()) {
    return config_error(
        d,
        "no AWS region: set litellm_params.aws_region_name, or AWS_REGION or AWS_DEFAULT_REGION in "
        "the environment.",
        "missing_aws_region");
  }
  if (!is_region_name(region)) {
    return config_error(d, source + " is not an AWS region name.", "invalid_aws_region");
  }
  return region;
}

std::string endpoint_for(const config::Deployment& d, std::string_view region) {
  if (!d.params.api_base.empty()) return d.params.api_base;
  if (std::string_view endpoint = extra_string(d, "aws_bedrock_runtime_endpoint"); !endpoint.empty()) {
    return std::string(endpoint);
  }
  return "https://bedrock-runtime." + std::string(region) + ".amazonaws.com";
}

std::string converse_path(std::string_view base_path, std::string_view model_id, bool stream) {
  std::string path(base_path);
  path += "/model/";
  path += uri_encode(model_id);
  path += stream ? "/converse-stream" : "/converse";
  return path;
}

asio::awaitable<Result<Response>> BedrockProvider::complete(Call& call) {
  PreparedRequest p;
  auto ready = co_await prepare(call, p);
  if (!ready) co_return ready.error();
  const auto secrets = p.secrets();
  auto response = co_await http::fetch(*p.request);
  if (!response) co_return response.error();
  const http::ClientResponse& r = response.value();
  call.meta.upstream_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    co_return map_error(r.status, r.header("x-amzn-errortype"), r.body, r.header("retry-after"), secrets);
  }
  const AnswerOptions options = answer_options(call, p);
  auto body = from_converse_response(r.body, options, call.meta);
  if (!body) co_return body.error();
  Response out;
  out.body = std::move(body.value());
  co_return out;
}

asio::awaitable<Result<bool>> BedrockProvider::stream(Call& call, ChunkSink& sink) {
  PreparedRequest p;
  auto ready = co_await prepare(call, p);
  if (!ready) co_return ready.error();
  const auto secrets = p.secrets();
  StreamTranslator translator(answer_options(call, p), call.meta, secrets);
  EventForwarder forwarder(sink, translator, call.meta);
  auto response = co_await http::fetch_streaming(*p.request, forwarder);
  if (forwarder.client_gone_) co_return false;
  if (forwarder.error_) co_return *forwarder.error_;
  if (!response) co_return response.error();
  const http::ClientResponse& r = response.value();
  call.meta.upstream_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    co_return map_error(r.status, r.header("x-amzn-errortype"), r.body, r.header("retry-after"), secrets);
  }
  if (!translator.stopped() || forwarder.buffered_bytes() > 0) {
    co_return Error{
        502, "api_error", "Bedrock's event stream ended before the message was complete.", "upstream_error",
        {},  {}};
  }
  co_return true;
}

}  // namespace sy::providers::bedrock
