// Server-sent events: an incremental reader that turns arbitrary byte slices into events, and the writer's
// framing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sy::http {

struct SseEvent {
  std::string event;  // empty: "message"
  std::string data;   // data lines joined by '\n'
};

// Feeds bytes as they arrive (any split, CRLF/LF/CR line ends); complete events are appended to `out`.
// Comments (":" lines) are skipped; an event without data lines is not dispatched, as the spec says.
class SseReader {
 public:
  explicit SseReader(std::size_t max_event_bytes = 8u * 1024 * 1024) : max_event_bytes_(max_event_bytes) {}

  // Returns false when a single event grows beyond the limit (the stream should be abandoned).
  bool feed(std::string_view bytes, std::vector<SseEvent>& out);

 private:
  void process_line(std::string_view line, std::vector<SseEvent>& out);

  std::string line_;
  SseEvent pending_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
  std::size_t max_event_bytes_;
};

// Appends "data: <payload>\n\n" to out.
void append_sse_data(std::string& out, std::string_view payload);
// Appends "event: <event>\ndata: <payload>\n\n" to out (a named event, as Anthropic's streams use).
void append_sse_event(std::string& out, std::string_view event, std::string_view payload);

}  // namespace sy::http
