// libFuzzer target for the SigV4 canonicalisation: arbitrary paths, queries, headers and dates. Checks that
// the canonical URI and query use only the characters SigV4 allows, that a normalised path has no empty, "."
// or
// ".." segment, and that signing always yields a 64-digit hex signature.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "providers/bedrock/sigv4.h"

namespace bedrock = sy::providers::bedrock;

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

bool is_upper_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

// Only unreserved characters, the given separators and %XX escapes with upper-case digits.
bool well_encoded(std::string_view s, std::string_view separators) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_unreserved(s[i]) || separators.find(s[i]) != std::string_view::npos) continue;
    if (s[i] != '%' || i + 2 >= s.size() || !is_upper_hex(s[i + 1]) || !is_upper_hex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

void check_normalised(std::string_view uri) {
  check(!uri.empty() && uri.front() == '/');
  std::size_t start = 1;
  while (start < uri.size()) {
    std::size_t end = uri.find('/', start);
    const bool last = end == std::string_view::npos;
    if (last) end = uri.size();
    const std::string_view segment = uri.substr(start, end - start);
    check(!segment.empty());
    check(segment != "." && segment != "..");
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string method = in.ConsumeRandomLengthString(16);
  const std::string path = in.ConsumeRandomLengthString(256);
  const std::string query = in.ConsumeRandomLengthString(256);
  const std::string amz_date = in.ConsumeRandomLengthString(20);
  const std::string token = in.ConsumeRandomLengthString(64);
  bedrock::SigningInput request;
  request.method = method;
  request.host = "bedrock-runtime.us-east-1.amazonaws.com";
  request.path = path;
  request.query = query;
  request.region = "us-east-1";
  request.service = "bedrock";
  request.amz_date = amz_date;
  request.add_content_sha256 = in.ConsumeBool();
  request.normalize_path = in.ConsumeBool();
  const int header_count = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < header_count; ++i) {
    std::string name = in.ConsumeRandomLengthString(32);
    std::string value = in.ConsumeRandomLengthString(64);
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  const std::string payload = in.ConsumeRemainingBytesAsString();
  request.payload = payload;

  const std::string uri = bedrock::canonical_uri(path, request.normalize_path);
  check(well_encoded(uri, "/"));
  if (request.normalize_path) check_normalised(uri);
  const std::string canonical_query = bedrock::canonical_query(query);
  check(well_encoded(canonical_query, "=&"));

  const bedrock::Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token};
  const std::string canonical = bedrock::canonical_request(request, credentials);
  check(canonical.find(uri) != std::string::npos);
  const bedrock::SignedHeaders signed_headers = bedrock::sign(request, credentials);
  check(signed_headers.signature.size() == 64);
  check(well_encoded(signed_headers.signature, ""));  // lower-case hex digits are unreserved
  return 0;
}
