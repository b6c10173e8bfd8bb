#include "telemetry/propagation.h"

#include "telemetry/text.h"

#include <algorithm>
#include <cctype>

namespace sy::telemetry {
using text::is_token;
using text::trim;

namespace {

constexpr std::size_t kMaxTraceState = 512;
constexpr std::size_t kMaxTraceStateMembers = 32;
constexpr std::size_t kMaxBaggageEntries = 180;
constexpr std::size_t kMaxBaggageBytes = 8192;

bool is_lower_hex(std::string_view s) noexcept {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    // baggage-octet excludes controls, space, '"', ',', ';', '\\' and '%' (which starts an escape).
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' || c == '%') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

std::optional<SpanContext> parse_traceparent(std::string_view v) noexcept {
  v = trim(v);
  // version "-" trace-id "-" parent-id "-" flags; later versions may append fields after another '-'.
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), span = v.substr(36, 16),
                   flags = v.substr(53, 2);
  if (!is_lower_hex(version) || version == "ff") return std::nullopt;
  if (version == "00" && v.size() != 55) return std::nullopt;
  if (version != "00" && v.size() > 55 && v[55] != '-') return std::nullopt;
  if (!is_lower_hex(trace) || !is_lower_hex(span) || !is_lower_hex(flags)) return std::nullopt;
  SpanContext ctx;
  if (!from_hex(trace, ctx.trace_id) || !from_hex(span, ctx.span_id) || !ctx.valid()) return std::nullopt;
  ctx.flags = static_cast<std::uint8_t>((text::hex_digit(flags[0]) << 4) | text::hex_digit(flags[1])) & 0x01;
  ctx.remote = true;
  return ctx;
}

namespace {

template <std::size_t N>
void put_hex(char* out, const std::array<std::uint8_t, N>& bytes) noexcept {
  constexpr char kDigits[] = "0123456789abcdef";
  for (const std::uint8_t b : bytes) {
    *out++ = kDigits[b >> 4];
    *out++ = kDigits[b & 0xf];
  }
}

}  // namespace

void format_traceparent(const SpanContext& ctx, std::span<char, kTraceparentSize> out) noexcept {
  // 00-<trace id>-<span id>-<flags>
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  put_hex(out.data() + 3, ctx.trace_id);
  out[35] = '-';
  put_hex(out.data() + 36, ctx.span_id);
  out[52] = '-';
  out[53] = '0';
  out[54] = ctx.sampled() ? '1' : '0';
}

std::string format_traceparent(const SpanContext& ctx) {
  std::string out(kTraceparentSize, '-');
  format_traceparent(ctx, std::span<char, kTraceparentSize>(out.data(), kTraceparentSize));
  return out;
}

namespace {

bool tracestate_key_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

// W3C Trace Context Level 2: key = (lcalpha / DIGIT) 0*255(keychar), keychar = lcalpha / DIGIT / "_" / "-" /
// "*" / "/" / "@".
bool valid_tracestate_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > 256) return false;
  if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= '0' && key[0] <= '9'))) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return tracestate_key_char(c) || c == '@'; });
}

// value = 0*255(chr) nblk-chr, chr = %x20 / nblk-chr, nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
bool valid_tracestate_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

}  // namespace

std::string sanitize_tracestate(std::string_view value) {
  value = trim(value);
  if (value.empty() || value.size() > kMaxTraceState) return {};
  std::size_t members = 0;
  bool valid = true;
  text::for_each_item(value, ',', [&](std::string_view member) {
    member = trim(member);
    if (member.empty()) return true;  // empty members are allowed and skipped
    auto eq = member.find('=');
    valid = eq != std::string_view::npos && valid_tracestate_key(member.substr(0, eq)) &&
            valid_tracestate_value(member.substr(eq + 1)) && ++members <= kMaxTraceStateMembers;
    return valid;
  });
  return valid ? std::string(value) : std::string();
}

void parse_baggage(std::string_view value, Baggage& out) {
  if (value.size() > kMaxBaggageBytes) return;
  text::for_each_item(value, ',', [&](std::string_view member) {
    if (out.size() >= kMaxBaggageEntries) return false;
    member = member.substr(0, member.find(';'));  // properties are not kept
    auto eq = member.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = trim(member.substr(0, eq));
      if (is_token(key))
        out.emplace_back(std::string(key), text::percent_decode_lenient(trim(member.substr(eq + 1))));
    }
    return true;
  });
}

std::string format_baggage(const Baggage& baggage) {
  std::string out;
  for (const auto& [k, v] : baggage) {
    if (!is_token(k)) continue;
    std::string member = k + "=" + percent_encode(v);
    if (out.size() + member.size() + 1 > kMaxBaggageBytes) break;
    if (!out.empty()) out.push_back(',');
    out += member;
  }
  return out;
}

std::optional<SpanContext> parse_xray(std::string_view value) noexcept {
  SpanContext ctx;
  bool have_root = false, have_parent = false, valid = true;
  text::for_each_item(value, ';', [&](std::string_view part) {
    part = trim(part);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return true;
    std::string_view key = part.substr(0, eq), val = part.substr(eq + 1);
    if (key == "Root") {
      // 1-<8 hex epoch>-<24 hex>; from_hex takes either case.
      valid = val.size() == 35 && val.substr(0, 2) == "1-" && val[10] == '-' &&
              from_hex(std::string(val.substr(2, 8)) + std::string(val.substr(11, 24)), ctx.trace_id);
      have_root = valid;
    } else if (key == "Parent") {
      valid = from_hex(val, ctx.span_id);
      have_parent = valid;
    } else if (key == "Sampled") {
      ctx.flags = val == "1" ? 1 : 0;
    }
    return valid;
  });
  if (!valid || !have_root || !have_parent || !ctx.valid()) return std::nullopt;
  ctx.remote = true;
  return ctx;
}

std::string format_xray(const SpanContext& ctx) {
  const std::string trace = to_hex(ctx.trace_id);
  std::string out = "Root=1-";
  out += trace.substr(0, 8);
  out += '-';
  out += trace.substr(8);
  out += ";Parent=";
  out += to_hex(ctx.span_id);
  out += ctx.sampled() ? ";Sampled=1" : ";Sampled=0";
  return out;
}

Propagators Propagators::from_list(std::string_view list, Warnings& warnings) {
  Propagators p;
  text::for_each_item(list, ',', [&](std::string_view item) {
    const std::string name = text::ascii_lower(trim(item));
    if (name == "tracecontext") {
      p.tracecontext_ = true;
    } else if (name == "baggage") {
      p.baggage_ = true;
    } else if (name == "xray") {
      p.xray_ = true;
    } else if (name == "none") {
      p = Propagators{};
      return false;
    } else if (!name.empty()) {
      warnings.push_back("OTEL_PROPAGATORS: unsupported propagator '" + name + "' ignored");
    }
    return true;
  });
  return p;
}

void Propagators::extract(const HeaderGetter& get, SpanContext& context, Baggage& baggage) const {
  if (tracecontext_) {
    if (auto ctx = parse_traceparent(get("traceparent"))) {
      context = *ctx;
      context.trace_state = sanitize_tracestate(get("tracestate"));
    }
  }
  if (xray_ && !context.valid()) {
    if (auto ctx = parse_xray(get("x-amzn-trace-id"))) context = *ctx;
  }
  if (baggage_) parse_baggage(get("baggage"), baggage);
}

void Propagators::inject(const SpanContext& context, const Baggage& baggage, const HeaderSetter& set) const {
  if (context.valid()) {
    if (tracecontext_) {
      char traceparent[kTraceparentSize];  // written in place: nothing allocated per request
      format_traceparent(context, traceparent);
      set("traceparent", std::string_view(traceparent, kTraceparentSize));
      if (!context.trace_state.empty()) set("tracestate", context.trace_state);
    }
    if (xray_) set("X-Amzn-Trace-Id", format_xray(context));
  }
  if (baggage_ && !baggage.empty()) {
    std::string value = format_baggage(baggage);
    if (!value.empty()) set("baggage", std::move(value));
  }
}

}  // namespace sy::telemetry
