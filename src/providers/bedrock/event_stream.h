// AWS event stream (application/vnd.amazon.eventstream), the binary framing of Bedrock's ConverseStream: an
// incremental decoder that turns arbitrary byte slices into messages, checking both CRC32s and every length,
// and an encoder (tests build frames with it). A frame is
//   total length (u32 BE) | headers length (u32 BE) | prelude CRC (u32 BE, of the first 8 bytes)
//   | headers | payload | message CRC (u32 BE, of everything before it)
// and a header is name length (u8) | name | type (u8) | value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::providers::bedrock {

enum class EventHeaderType : std::uint8_t {
  bool_true = 0,
  bool_false = 1,
  byte = 2,       // int8
  int16 = 3,      // big-endian
  int32 = 4,      // big-endian
  int64 = 5,      // big-endian
  bytes = 6,      // u16 BE length + bytes
  string = 7,     // u16 BE length + UTF-8 bytes
  timestamp = 8,  // int64 BE, milliseconds since the Unix epoch
  uuid = 9,       // 16 bytes
};

struct EventHeader {
  std::string name;
  EventHeaderType type = EventHeaderType::string;
  std::int64_t integer = 0;  // byte, int16, int32, int64, timestamp (sign-extended); bool: 1 or 0
  std::string data;          // bytes, string; uuid: its 16 bytes

  static EventHeader string_value(std::string name, std::string value);
  static EventHeader bytes_value(std::string name, std::string value);
  static EventHeader bool_value(std::string name, bool value);
  // type: byte, int16, int32, int64 or timestamp; the value is truncated to the type's width when encoded.
  static EventHeader integer_value(std::string name, EventHeaderType type, std::int64_t value);
  static EventHeader uuid_value(std::string name, std::string_view sixteen_bytes);

  friend bool operator==(const EventHeader&, const EventHeader&) = default;
};

struct EventMessage {
  std::vector<EventHeader> headers;
  std::string payload;

  // The value of the first string-typed header of that name; empty when there is none.
  std::string_view header(std::string_view name) const noexcept;
  std::string_view message_type() const noexcept { return header(":message-type"); }  // event, exception
  std::string_view event_type() const noexcept { return header(":event-type"); }      // contentBlockDelta
  std::string_view exception_type() const noexcept {
    return header(":exception-type");
  }                                                                                   // throttlingException
  std::string_view content_type() const noexcept { return header(":content-type"); }  // application/json
};

enum class EventStreamError {
  none,
  prelude_crc,       // the first 8 bytes do not match their CRC
  message_crc,       // the frame does not match its CRC
  bad_length,        // total length below 16, or headers length beyond total - 16
  too_large,         // total length above the decoder's limit
  malformed_header,  // a header runs past the headers block, has an empty name or an unknown type
};

std::string_view to_string(EventStreamError e) noexcept;

// Feeds bytes as they arrive (frames split anywhere, several frames in one slice); complete messages are
// appended to `out`. An incomplete frame stays buffered and is not an error. The first bad frame puts the
// decoder in an error state that it keeps: the stream cannot be resynchronised, so it should be abandoned.
class EventStreamDecoder {
 public:
  static constexpr std::size_t kDefaultMaxMessageBytes = 16u * 1024 * 1024;

  explicit EventStreamDecoder(std::size_t max_message_bytes = kDefaultMaxMessageBytes)
      : max_message_bytes_(max_message_bytes) {}

  // Returns false once the decoder is in the error state (messages decoded before the bad frame are kept).
  bool feed(std::string_view bytes, std::vector<EventMessage>& out);

  EventStreamError error() const noexcept { return error_; }
  bool failed() const noexcept { return error_ != EventStreamError::none; }
  // Bytes of a frame not complete yet: at the end of the stream, non-zero means it was cut short.
  std::size_t buffered_bytes() const noexcept { return buffer_.size(); }

 private:
  // Decodes the frame at the start of `bytes` if it is complete; returns the bytes used (0: need more or
  // failed).
  std::size_t decode_one(std::string_view bytes, std::vector<EventMessage>& out);

  std::string buffer_;
  std::size_t max_message_bytes_;
  EventStreamError error_ = EventStreamError::none;
};

// One frame. Returns an empty string when a header cannot be encoded (name empty or over 255 bytes, string or
// bytes value over 65535 bytes, uuid not 16 bytes, unknown type) or the frame would exceed 4 GiB.
std::string encode_event_message(const std::vector<EventHeader>& headers, std::string_view payload);

}  // namespace sy::providers::bedrock
