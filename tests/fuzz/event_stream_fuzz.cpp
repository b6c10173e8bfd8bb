// libFuzzer target for the event-stream decoder. The first input byte seeds how the rest is cut into pieces
// and, when its top bit is set, has the frames' CRCs corrected first (so that mutated headers get parsed
// instead of failing the CRC); the rest is the stream. Checks that decoding in pieces gives the same messages
// and error as decoding the whole, and that every decoded message survives an encode/decode round trip
// unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "providers/bedrock/event_stream.h"

using sy::providers::bedrock::encode_event_message;
using sy::providers::bedrock::EventMessage;
using sy::providers::bedrock::EventStreamDecoder;

namespace {

constexpr std::size_t kMaxMessageBytes = 64 * 1024;  // small, so the size check is reached too

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::uint32_t read_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void write_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

std::uint32_t crc_of(const std::string& s, std::size_t at, std::size_t n) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(s.data() + at), static_cast<uInt>(n)));
}

// Rewrites the prelude and message CRCs of each frame the stream's lengths delimit.
void fix_crcs(std::string& s) {
  std::size_t pos = 0;
  while (s.size() - pos >= 12) {
    write_u32(s, pos + 8, crc_of(s, pos, 8));
    const std::uint32_t total = read_u32(s, pos);
    if (total < 16 || total > s.size() - pos) return;
    write_u32(s, pos + total - 4, crc_of(s, pos, total - 4));
    pos += total;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint32_t state = data[0] * 2654435761u + 1;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 0x80) fix_crcs(bytes);
  const std::string_view stream(bytes);

  EventStreamDecoder whole(kMaxMessageBytes);
  std::vector<EventMessage> whole_out;
  const bool whole_ok = whole.feed(stream, whole_out);
  check(whole_ok == !whole.failed());

  EventStreamDecoder pieces(kMaxMessageBytes);
  std::vector<EventMessage> pieces_out;
  const std::size_t max_piece = (data[0] & 0x3f) + 1;
  std::size_t pos = 0;
  bool pieces_ok = true;
  while (pos < stream.size()) {
    state = state * 1103515245u + 12345u;
    const std::size_t n = 1 + (state >> 16) % max_piece;
    pieces_ok = pieces.feed(stream.substr(pos, n), pieces_out) && pieces_ok;
    pos += n;
  }

  check(pieces_ok == whole_ok);
  check(pieces.error() == whole.error());
  check(pieces.buffered_bytes() == whole.buffered_bytes());
  check(pieces_out.size() == whole_out.size());
  for (std::size_t i = 0; i < whole_out.size(); ++i) {
    check(pieces_out[i].headers == whole_out[i].headers);
    check(pieces_out[i].payload == whole_out[i].payload);

    const std::string frame = encode_event_message(whole_out[i].headers, whole_out[i].payload);
    check(!frame.empty());
    EventStreamDecoder again;
    std::vector<EventMessage> again_out;
    check(again.feed(frame, again_out));
    check(again_out.size() == 1);
    check(again_out[0].headers == whole_out[i].headers);
    check(again_out[0].payload == whole_out[i].payload);
  }
  return 0;
}
