// AWS Signature Version 4 for request headers: the canonical request, the string to sign, the derived signing
// key and the headers a signed request carries (X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256,
// Authorization). Pure functions: no clock, no I/O; the secret key never appears in any output.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::providers::bedrock {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: long-term credentials
};

struct SigningInput {
  std::string_view method;  // "POST"
  std::string_view host;    // "bedrock-runtime.us-east-1.amazonaws.com": signed as the host header
  // The path exactly as sent on the wire, already URI-encoded ("/model/anthropic.claude-v2%3A1/converse").
  // The canonical URI encodes it once more, segment by segment, as AWS does for every service but S3.
  std::string_view path;
  std::string_view query;  // as sent, without '?'; may be empty
  // Further headers to sign (content-type, ...), any case. Host, X-Amz-Date, X-Amz-Security-Token,
  // X-Amz-Content-Sha256 and Authorization are the signer's own and ignored here, as are empty names.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view payload;         // the body, hashed into the signature
  std::string_view region;          // "us-east-1"
  std::string_view service;         // "bedrock"
  std::string amz_date;             // "YYYYMMDD'T'HHMMSS'Z'", see format_amz_date
  bool add_content_sha256 = false;  // sign and send X-Amz-Content-Sha256 (S3 wants it; Bedrock does not)
  bool normalize_path = true;       // drop empty, "." and ".." segments first (all services but S3)
};

struct SignedHeaders {
  // To add to the request, in this order: X-Amz-Date, X-Amz-Security-Token (session credentials only),
  // X-Amz-Content-Sha256 (when asked), Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string signature;  // hex, also inside Authorization
};

// Signs the request described by `in`.
SignedHeaders sign(const SigningInput& in, const Credentials& credentials);

// "YYYYMMDD'T'HHMMSS'Z'" in UTC, whole seconds.
std::string format_amz_date(std::chrono::system_clock::time_point t);

// The steps, exposed for tests and for explaining a signature mismatch (none involves the secret).
std::string canonical_uri(std::string_view path, bool normalize = true);
std::string canonical_query(std::string_view query);
// Uses credentials.session_token only (it is a signed header).
std::string canonical_request(const SigningInput& in, const Credentials& credentials);
std::string string_to_sign(const SigningInput& in, std::string_view canonical_request);

using SigningKey = std::array<std::uint8_t, 32>;
// HMAC chain "AWS4"+secret → date (YYYYMMDD) → region → service → "aws4_request"; remembered per thread.
SigningKey derive_signing_key(std::string_view secret, std::string_view date, std::string_view region,
                              std::string_view service);

std::string sha256_hex(std::string_view data);
// RFC 3986 encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) kept, every other byte as %XX (upper case);
// '/' kept too when keep_slash.
std::string uri_encode(std::string_view s, bool keep_slash = false);

}  // namespace sy::providers::bedrock
