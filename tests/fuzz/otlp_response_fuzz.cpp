// libFuzzer target for the reader of an OTLP collector's protobuf response (decode_rejected_spans), which the
// exporters run on bytes from the network. Any input must decode without fault to a count that is not
// negative. The input is also wrapped, as the bytes of an unknown field, into a response whose
// partial_success carries a count taken from its first bytes: whatever those bytes are, that count must come
// back, so the reader skips what it does not know by its length and nothing else.
// The seed corpus (tests/fuzz/corpus/otlp_response_fuzz/) holds responses written by
// tests/fuzz/make_corpus.py.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "telemetry/otlp_encoding.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_bytes_field(std::string& out, std::uint32_t field, std::string_view bytes) {
  put_varint(out, (std::uint64_t{field} << 3) | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(sy::telemetry::decode_rejected_spans(input) >= 0);

  std::uint64_t raw = 0;
  std::memcpy(&raw, data, size < sizeof raw ? size : sizeof raw);
  const std::int64_t count = static_cast<std::int64_t>(raw >> 1);  // not negative
  std::string partial;
  put_varint(partial, (std::uint64_t{1} << 3) | 0);  // rejected_spans
  put_varint(partial, static_cast<std::uint64_t>(count));
  put_bytes_field(partial, 2, input);   // error_message
  put_bytes_field(partial, 15, input);  // a field this version does not know
  std::string response;
  put_bytes_field(response, 9, input);
  put_bytes_field(response, 1, partial);  // partial_success
  put_bytes_field(response, 9, input);
  check(sy::telemetry::decode_rejected_spans(response) == count);
  return 0;
}
