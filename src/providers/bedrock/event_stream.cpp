#include "providers/bedrock/event_stream.h"

#include <limits>

#include <zlib.h>

namespace sy::providers::bedrock {
namespace {

constexpr std::size_t kPreludeBytes = 12;  // total length, headers length, prelude CRC
constexpr std::size_t kOverheadBytes = kPreludeBytes + 4;

std::uint32_t crc32_of(std::string_view bytes, std::uint32_t crc = 0) noexcept {
  return static_cast<std::uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

// Big-endian unsigned integer of n bytes at the start of s (the caller checked s.size() >= n).
std::uint64_t read_be(std::string_view s, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

void write_be(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The headers block, whole; false when a header is malformed or runs past the block.
bool parse_headers(std::string_view block, std::vector<EventHeader>& headers) {
  while (!block.empty()) {
    const std::size_t name_len = static_cast<unsigned char>(block[0]);
    block.remove_prefix(1);
    if (name_len == 0 || block.size() < name_len + 1) return false;
    EventHeader h;
    h.name.assign(block.substr(0, name_len));
    const auto type = static_cast<unsigned char>(block[name_len]);
    block.remove_prefix(name_len + 1);

    std::size_t fixed = 0;  // width of a fixed-size value
    switch (type) {
      case 0:
      case 1:
        h.integer = type == 0 ? 1 : 0;
        break;
      case 2:
        fixed = 1;
        break;
      case 3:
        fixed = 2;
        break;
      case 4:
        fixed = 4;
        break;
      case 5:
      case 8:
        fixed = 8;
        break;
      case 9:
        if (block.size() < 16) return false;
        h.data.assign(block.substr(0, 16));
        block.remove_prefix(16);
        break;
      case 6:
      case 7: {
        if (block.size() < 2) return false;
        const std::size_t len = read_be(block, 2);
        if (block.size() - 2 < len) return false;
        h.data.assign(block.substr(2, len));
        block.remove_prefix(2 + len);
        break;
      }
      default:
        return false;
    }
    h.type = static_cast<EventHeaderType>(type);
    if (fixed > 0) {
      if (block.size() < fixed) return false;
      const std::uint64_t raw = read_be(block, fixed);
      switch (fixed) {  // sign-extended from the value's width
        case 1:
          h.integer = static_cast<std::int8_t>(raw);
          break;
        case 2:
          h.integer = static_cast<std::int16_t>(raw);
          break;
        case 4:
          h.integer = static_cast<std::int32_t>(raw);
          break;
        default:
          h.integer = static_cast<std::int64_t>(raw);
          break;
      }
      block.remove_prefix(fixed);
    }
    headers.push_back(std::move(h));
  }
  return true;
}

}  // namespace

EventHeader EventHeader::string_value(std::string name, std::string value) {
  return EventHeader{std::move(name), EventHeaderType::string, 0, std::move(value)};
}

EventHeader EventHeader::bytes_value(std::string name, std::string value) {
  return EventHeader{std::move(name), EventHeaderType::bytes, 0, std::move(value)};
}

EventHeader EventHeader::bool_value(std::string name, bool value) {
  return EventHeader{
      std::move(name), value ? EventHeaderType::bool_true : EventHeaderType::bool_false, value ? 1 : 0, {}};
}

EventHeader EventHeader::integer_value(std::string name, EventHeaderType type, std::int64_t value) {
  return EventHeader{std::move(name), type, value, {}};
}

EventHeader EventHeader::uuid_value(std::string name, std::string_view sixteen_bytes) {
  return EventHeader{std::move(name), EventHeaderType::uuid, 0, std::string(sixteen_bytes)};
}

std::string_view EventMessage::header(std::string_view name) const noexcept {
  for (const EventHeader& h : headers) {
    if (h.type == EventHeaderType::string && h.name == name) return h.data;
  }
  return {};
}

std::string_view to_string(EventStreamError e) noexcept {
  switch (e) {
    case EventStreamError::none:
      return "no error";
    case EventStreamError::prelude_crc:
      return "event stream frame prelude CRC mismatch";
    case EventStreamError::message_crc:
      return "event stream frame CRC mismatch";
    case EventStreamError::bad_length:
      return "event stream frame lengths are inconsistent";
    case EventStreamError::too_large:
      return "event stream frame exceeds the size limit";
    case EventStreamError::malformed_header:
      return "event stream frame has a malformed header";
  }
  return "unknown event stream error";
}

bool EventStreamDecoder::feed(std::string_view bytes, std::vector<EventMessage>& out) {
  if (failed()) return false;
  // Without a partial frame pending, complete frames are decoded straight from the caller's bytes.
  const bool had_pending = !buffer_.empty();
  std::string_view data = bytes;
  if (had_pending) {
    buffer_.append(bytes);
    data = buffer_;
  }
  std::size_t used = 0;
  while (!failed()) {
    const std::size_t n = decode_one(data.substr(used), out);
    if (n == 0) break;
    used += n;
  }
  if (failed()) {
    buffer_.clear();
    buffer_.shrink_to_fit();
    return false;
  }
  if (had_pending) {
    buffer_.erase(0, used);
  } else {
    buffer_.assign(data.substr(used));
  }
  return true;
}

std::size_t EventStreamDecoder::decode_one(std::string_view bytes, std::vector<EventMessage>& out) {
  if (bytes.size() < kPreludeBytes) return 0;
  // The prelude is checked as soon as it is here, so a corrupt or oversized length is never waited for.
  const std::uint32_t prelude_crc = crc32_of(bytes.substr(0, 8));
  if (prelude_crc != read_be(bytes.substr(8), 4)) {
    error_ = EventStreamError::prelude_crc;
    return 0;
  }
  const std::size_t total = read_be(bytes, 4);
  const std::size_t headers_len = read_be(bytes.substr(4), 4);
  if (total < kOverheadBytes || headers_len > total - kOverheadBytes) {
    error_ = EventStreamError::bad_length;
    return 0;
  }
  if (total > max_message_bytes_) {
    error_ = EventStreamError::too_large;
    return 0;
  }
  if (bytes.size() < total) return 0;

  const std::uint32_t message_crc = crc32_of(bytes.substr(8, total - 12), prelude_crc);
  if (message_crc != read_be(bytes.substr(total - 4), 4)) {
    error_ = EventStreamError::message_crc;
    return 0;
  }
  EventMessage message;
  if (!parse_headers(bytes.substr(kPreludeBytes, headers_len), message.headers)) {
    error_ = EventStreamError::malformed_header;
    return 0;
  }
  message.payload.assign(bytes.substr(kPreludeBytes + headers_len, total - kOverheadBytes - headers_len));
  out.push_back(std::move(message));
  return total;
}

std::string encode_event_message(const std::vector<EventHeader>& headers, std::string_view payload) {
  std::string block;
  for (const EventHeader& h : headers) {
    if (h.name.empty() || h.name.size() > 255) return {};
    block.push_back(static_cast<char>(h.name.size()));
    block.append(h.name);
    block.push_back(static_cast<char>(h.type));
    const auto value = static_cast<std::uint64_t>(h.integer);
    switch (h.type) {
      case EventHeaderType::bool_true:
      case EventHeaderType::bool_false:
        break;
      case EventHeaderType::byte:
        write_be(block, value, 1);
        break;
      case EventHeaderType::int16:
        write_be(block, value, 2);
        break;
      case EventHeaderType::int32:
        write_be(block, value, 4);
        break;
      case EventHeaderType::int64:
      case EventHeaderType::timestamp:
        write_be(block, value, 8);
        break;
      case EventHeaderType::bytes:
      case EventHeaderType::string:
        if (h.data.size() > std::numeric_limits<std::uint16_t>::max()) return {};
        write_be(block, h.data.size(), 2);
        block.append(h.data);
        break;
      case EventHeaderType::uuid:
        if (h.data.size() != 16) return {};
        block.append(h.data);
        break;
      default:
        return {};
    }
  }
  const std::uint64_t total = kOverheadBytes + block.size() + payload.size();
  if (total > std::numeric_limits<std::uint32_t>::max()) return {};

  std::string frame;
  frame.reserve(total);
  write_be(frame, total, 4);
  write_be(frame, block.size(), 4);
  write_be(frame, crc32_of(frame), 4);
  frame.append(block);
  frame.append(payload);
  write_be(frame, crc32_of(frame), 4);
  return frame;
}

}  // namespace sy::providers::bedrock
