// OTLP trace exporter settings, filled from the OTEL_EXPORTER_OTLP_* environment exactly as the OpenTelemetry
// specification defines it (signal-specific variable, then generic, then default).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "telemetry/env.h"

namespace sy::telemetry {

// How an exporter spaces its retries inside one export's deadline.
struct OtlpRetryPolicy {
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 2.0;
  double jitter = 0.2;  // each wait is backoff * (1 ± jitter)

  // The wait before retry number `retry` (0 for the first); `unit_random` in [0, 1) places it within the
  // jitter.
  std::chrono::milliseconds backoff(int retry, double unit_random) const noexcept;
};

struct OtlpExporterOptions {
  enum class Protocol { grpc, http_protobuf, http_json };
  enum class Compression { none, gzip };

  Protocol protocol = Protocol::http_protobuf;
  // HTTP: the full URL the batch is POSTed to. gRPC: scheme://host:port or host:port (the path is ignored).
  std::string endpoint = "http://localhost:4318/v1/traces";
  // Sent with every export (HTTP headers or gRPC metadata). Values may be secrets: never log them.
  std::vector<std::pair<std::string, std::string>> headers;
  // Deadline for one whole export, retries included.
  std::chrono::milliseconds timeout{10000};
  Compression compression = Compression::none;
  // gRPC only, for an endpoint without a scheme: plaintext instead of TLS. http:// is always plaintext and
  // https:// always TLS, whatever this says.
  bool insecure = false;
  std::string certificate_file;         // PEM CA bundle trusted for the collector; empty: the system store
  std::string client_key_file;          // PEM private key for mutual TLS; empty: none
  std::string client_certificate_file;  // PEM certificate chain for mutual TLS; empty: none
  OtlpRetryPolicy retry;
};

std::string_view to_string(OtlpExporterOptions::Protocol protocol) noexcept;  // "grpc", "http/protobuf", ...

// Reads
// OTEL_EXPORTER_OTLP_TRACES_{ENDPOINT,PROTOCOL,HEADERS,TIMEOUT,COMPRESSION,INSECURE,CERTIFICATE,CLIENT_KEY,
// CLIENT_CERTIFICATE} and their generic OTEL_EXPORTER_OTLP_* forms. The first non-empty variable decides; a
// malformed value adds a warning (which never quotes a header) and leaves the default.
OtlpExporterOptions otlp_options_from_env(const EnvLookup& env, Warnings& warnings);

// An endpoint split for connecting.
struct OtlpEndpoint {
  bool tls = false;
  std::string host;    // IPv6 literals without brackets
  std::string port;    // always set: from the URL, else 443/80 by scheme, else 4317 (gRPC host only)
  std::string target;  // path and query; "/" when the URL has none
  bool has_scheme = false;
};

// Parses http://host[:port][/path], https://..., or (when scheme_optional, for gRPC) host[:port], which is
// TLS unless `insecure`. Returns nullopt for anything else.
std::optional<OtlpEndpoint> parse_otlp_endpoint(std::string_view url, bool scheme_optional = false,
                                                bool insecure = false);

// What an exporter has done since it was built; read from any thread.
struct OtlpExportStats {
  std::uint64_t batches_exported = 0;
  std::uint64_t batches_failed = 0;
  std::uint64_t spans_exported = 0;
  std::uint64_t spans_failed = 0;
  std::uint64_t retries = 0;
  std::uint64_t spans_rejected = 0;  // partial success reported by the collector
};

}  // namespace sy::telemetry
