#include "http/sse.h"

namespace sy::http {

bool SseReader::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  for (char c : bytes) {
    if (c == '\n' && last_was_cr_) {  // second half of CRLF
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = (c == '\r');
    if (c == '\r' || c == '\n') {
      process_line(line_, out);
      line_.clear();
      continue;
    }
    line_.push_back(c);
    if (line_.size() + pending_.data.size() > max_event_bytes_) return false;
  }
  return true;
}

void SseReader::process_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {  // blank line: dispatch
    if (has_data_) out.push_back(std::move(pending_));
    pending_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment
  std::string_view field = line, value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value);
  }
  // "id" and "retry" carry nothing a gateway forwards.
}

void append_sse_data(std::string& out, std::string_view payload) {
  out.append("data: ");
  out.append(payload);
  out.append("\n\n");
}

void append_sse_event(std::string& out, std::string_view event, std::string_view payload) {
  out.append("event: ");
  out.append(event);
  out.push_back('\n');
  append_sse_data(out, payload);
}

}  // namespace sy::http
