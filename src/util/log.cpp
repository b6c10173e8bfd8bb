#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace sy::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};

const char* level_name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    default:
      return "off";
  }
}

void append_escaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_time(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto ms = duration_cast<milliseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

}  // namespace

void set_level(Level level) noexcept {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool enabled(Level level) noexcept {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

bool parse_level(std::string_view text, Level& out) noexcept {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error, Level::off}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) noexcept {
  try {
    thread_local std::string line;
    line.clear();
    line += "{\"time\":";
    append_time(line);
    line += ",\"level\":\"";
    line += level_name(level);
    line += "\",\"msg\":";
    append_escaped(line, msg);
    for (const Field& f : fields) {
      line.push_back(',');
      append_escaped(line, f.key);
      line.push_back(':');
      if (auto* s = std::get_if<std::string_view>(&f.value)) {
        append_escaped(line, *s);
      } else if (auto* i = std::get_if<std::int64_t>(&f.value)) {
        line += std::to_string(*i);
      } else if (auto* d = std::get_if<double>(&f.value)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", *d);
        line += buf;
      } else {
        line += std::get<bool>(f.value) ? "true" : "false";
      }
    }
    line += "}\n";
    // One write per line so concurrent workers never interleave within a line.
    std::size_t off = 0;
    while (off < line.size()) {
      ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  } catch (...) {
    // Logging never throws into the request path.
  }
}

}  // namespace sy::log
