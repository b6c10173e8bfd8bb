// Server-sent events: an incremental reader that turns arbitrary byte slices into events, and the writer's
// framing.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sy::http {

struct SseEvent {
  std::string event;  // empty: "message"
  std::string data;   // data lines joined by '\n'
};

// Feeds bytes as they arrive (any split, CRLF/LF/CR line ends) and decodes complete events. Comments (":"
// lines) are skipped; an event without data lines is not dispatched, as the spec says. The events of a feed
// live in storage the reader reuses from feed to feed, so a stream costs no allocation per event.
class SseReader {
 public:
  explicit SseReader(std::size_t max_event_bytes = 8u * 1024 * 1024) : max_event_bytes_(max_event_bytes) {}

  // The events completed by `bytes` are events() until the next feed. Returns false when a single event grows
  // beyond the limit (the stream should be abandoned).
  bool feed(std::string_view bytes);
  std::span<const SseEvent> events() const noexcept { return {events_.data(), count_}; }

  // The same, appending copies of the events to `out`.
  bool feed(std::string_view bytes, std::vector<SseEvent>& out);

 private:
  bool take_line(std::string_view line);
  void dispatch();

  std::string line_;  // a line cut by the end of a feed
  SseEvent pending_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
  std::vector<SseEvent> events_;  // events_[0, count_): this feed's events; the rest: storage kept for reuse
  std::size_t count_ = 0;
  std::size_t max_event_bytes_;
};

// Appends "data: <payload>\n\n" to out.
void append_sse_data(std::string& out, std::string_view payload);
// Appends "event: <event>\ndata: <payload>\n\n" to out (a named event, as Anthropic's streams use).
void append_sse_event(std::string& out, std::string_view event, std::string_view payload);

}  // namespace sy::http
