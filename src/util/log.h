// Structured logging: one JSON object per line on stderr (time, level, msg, then fields), one write per line.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <variant>

namespace sy::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_level(Level level) noexcept;
bool enabled(Level level) noexcept;
// Parses "debug", "info", "warn", "error", "off"; false when unknown.
bool parse_level(std::string_view text, Level& out) noexcept;

struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, std::size_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
};

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {}) noexcept;

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::debug)) write(Level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::info)) write(Level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::warn)) write(Level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) noexcept {
  if (enabled(Level::error)) write(Level::error, m, f);
}

}  // namespace sy::log
