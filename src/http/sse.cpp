#include "http/sse.h"

#include <cstring>
#include <utility>

namespace sy::http {
namespace {

// The first '\r' or '\n' in [p, end), or end.
const char* find_line_end(const char* p, const char* end) {
  const auto n = static_cast<std::size_t>(end - p);
  const char* lf = static_cast<const char*>(std::memchr(p, '\n', n));
  const char* cr = static_cast<const char*>(std::memchr(p, '\r', lf ? static_cast<std::size_t>(lf - p) : n));
  return cr ? cr : lf ? lf : end;
}

}  // namespace

bool SseReader::feed(std::string_view bytes) {
  count_ = 0;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  if (last_was_cr_ && p != end) {
    if (*p == '\n') ++p;  // second half of a CRLF cut by the previous feed
    last_was_cr_ = false;
  }
  while (p != end) {
    const char* eol = find_line_end(p, end);
    if (eol == end) {  // the line goes on in the next feed
      line_.append(p, end);
      return line_.size() + pending_.data.size() <= max_event_bytes_;
    }
    bool ok;
    if (line_.empty()) {
      ok = take_line(std::string_view(p, static_cast<std::size_t>(eol - p)));
    } else {
      line_.append(p, eol);
      ok = take_line(line_);
      line_.clear();
    }
    if (!ok) return false;
    p = eol + 1;
    if (*eol == '\r') {
      if (p == end) {
        last_was_cr_ = true;
      } else if (*p == '\n') {
        ++p;
      }
    }
  }
  return true;
}

bool SseReader::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  const bool ok = feed(bytes);
  for (const SseEvent& e : events()) out.push_back(e);
  return ok;
}

bool SseReader::take_line(std::string_view line) {
  if (line.size() + pending_.data.size() > max_event_bytes_) return false;
  if (line.empty()) {  // blank line: dispatch
    if (has_data_) dispatch();
    pending_.event.clear();
    pending_.data.clear();
    has_data_ = false;
    return true;
  }
  if (line.front() == ':') return true;  // comment
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
  return true;
}

// Swaps the pending event into this feed's list: the list's old storage becomes the next pending event's.
void SseReader::dispatch() {
  if (count_ == events_.size()) events_.emplace_back();
  std::swap(events_[count_], pending_);
  ++count_;
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
