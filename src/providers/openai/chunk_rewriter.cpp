#include "providers/openai/chunk_rewriter.h"

#include <array>
#include <cstring>

#include <boost/json.hpp>

#include "util/json.h"

namespace sy::providers::openai {
namespace {

namespace bj = boost::json;

std::int64_t int_field(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return -1;
}

// Notes what a response or chunk says about the answer: id, model, finish reasons, usage, text.
void record(const bj::object& doc, const RewriteOptions& opt) {
  ResponseMeta& m = *opt.meta;
  if (m.id.empty()) {
    if (const auto* id = doc.if_contains("id"); id && id->is_string()) m.id = id->get_string();
  }
  if (m.model.empty()) {
    if (const auto* model = doc.if_contains("model"); model && model->is_string())
      m.model = model->get_string();
  }
  if (const auto* usage = doc.if_contains("usage"); usage && usage->is_object()) {
    m.prompt_tokens = int_field(usage->get_object(), "prompt_tokens");
    m.completion_tokens = int_field(usage->get_object(), "completion_tokens");
  }
  const auto* choices = doc.if_contains("choices");
  if (!choices || !choices->is_array()) return;
  for (const auto& c : choices->get_array()) {
    const auto* choice = c.if_object();
    if (!choice) continue;
    if (const auto* fr = choice->if_contains("finish_reason"); fr && fr->is_string()) {
      m.finish_reasons.emplace_back(fr->get_string());
    }
    if (!opt.capture_content) continue;
    for (std::string_view part : {"message", "delta"}) {
      if (const auto* msg = choice->if_contains(part); msg && msg->is_object()) {
        if (const auto* text = msg->get_object().if_contains("content"); text && text->is_string()) {
          m.completion_text.append(text->get_string());
        }
      }
    }
    if (const auto* text = choice->if_contains("text"); text && text->is_string()) {
      m.completion_text.append(text->get_string());
    }
  }
}

bool has_escape(std::string_view text) {
  return text.find('\\') != std::string_view::npos;
}

bool is_string(std::string_view value) {
  return !value.empty() && value.front() == '"';
}

// A string value's text between its quotes.
std::string_view unquoted(std::string_view value) {
  return value.substr(1, value.size() - 2);
}

// Whether the text of a chunk or answer may name a finish reason: it has a "finish_reason" key whose value is
// not null, or a \u escape, which could spell one. Only then are its choices read one by one: most chunks say
// "finish_reason":null.
bool may_finish(std::string_view text) {
  if (text.find("\\u") != std::string_view::npos) return true;
  // Searched from after its opening quote: memchr finds an 'f' far less often than a quote in JSON (the
  // search from the quote stopped at every string, ~1,100 instructions per answer).
  static constexpr std::string_view kKey = "finish_reason\"";
  auto skip_ws = [&](std::size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    return i;
  };
  for (auto at = text.find(kKey); at != std::string_view::npos; at = text.find(kKey, at + kKey.size())) {
    if (at == 0 || text[at - 1] != '"') continue;
    std::size_t i = skip_ws(at + kKey.size());
    if (i == text.size() || text[i] != ':') continue;  // the end of a string value, not a key
    i = skip_ws(i + 1);
    if (text.substr(i, 4) != "null") return true;
  }
  return false;
}

// The scanner's views, per thread: a scan never suspends, so one set serves every rewriter of the thread
// without an allocation per stream or per answer.
struct Scratch {
  std::vector<json::RawMember> members;
  json::NestedArray choices{"choices"};
  std::vector<json::RawMember> usage_members;
  std::vector<std::string_view> finish_reasons;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// A token count as the full parse reads it (int_field): a JSON integer that fits in int64 counts; any other
// value (a string, a number with a fraction or an exponent, null) is -1. False when the scanner should not
// decide: an integer beyond int64, which the parser would keep as uint64 or double.
bool count_value(std::string_view raw, std::int64_t& count) {
  count = -1;
  if (raw.empty()) return true;
  const bool negative = raw.front() == '-';
  const std::string_view digits = negative ? raw.substr(1) : raw;
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') return true;    // not a number
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return true;  // fraction, exponent
  if (digits.size() > 18) return false;
  std::int64_t v = 0;
  for (const char c : digits) v = v * 10 + (c - '0');
  count = negative ? -v : v;
  return true;
}

// prompt_tokens and completion_tokens of a usage object's text; false when the full parse should decide.
bool usage_counts(std::string_view usage, std::vector<json::RawMember>& members, std::int64_t& prompt,
                  std::int64_t& completion) {
  if (!json::scan_object(usage, members)) return false;
  bool seen_prompt = false, seen_completion = false;
  prompt = completion = -1;
  for (const json::RawMember& m : members) {
    if (has_escape(m.key)) return false;
    bool* seen = m.key == "prompt_tokens"       ? &seen_prompt
                 : m.key == "completion_tokens" ? &seen_completion
                                                : nullptr;
    if (!seen) continue;
    if (*seen) return false;  // a repeated key: the parser knows which one counts
    *seen = true;
    if (!count_value(m.value, m.key == "prompt_tokens" ? prompt : completion)) return false;
  }
  return true;
}

}  // namespace

// Parses into a stack arena: no heap churn per document of ordinary size.
Rewrite rewrite_document(std::string_view in, const RewriteOptions& opt, std::string& out) {
  unsigned char buffer[8192];
  bj::monotonic_resource mr(buffer, sizeof buffer);
  boost::system::error_code ec;
  bj::value v = bj::parse(in, ec, &mr, json::parse_options());
  if (ec || !v.is_object()) return Rewrite::not_json;
  bj::object& doc = v.as_object();
  if (doc.contains("error")) return Rewrite::error_event;
  if (opt.meta) record(doc, opt);
  if (opt.strip_usage) {
    if (const auto* choices = doc.if_contains("choices");
        doc.contains("usage") && choices && choices->is_array() && choices->get_array().empty()) {
      return Rewrite::drop;
    }
    doc.erase("usage");
  }
  if (auto* m = doc.if_contains("model")) *m = opt.public_model;
  json::serialize_into(v, out);
  return Rewrite::ok;
}

ChunkRewriter::ChunkRewriter(const RewriteOptions& options, Framing framing)
    : options_(options), framing_(framing) {
  json::append_quoted(quoted_model_, options.public_model);
}

Rewrite ChunkRewriter::rewrite(std::string_view chunk, std::string& out) {
  Rewrite result = Rewrite::ok;
  if (try_scan(chunk, result, out) == Fast::done) {
    ++scanned_;
    return result;
  }
  ++parsed_;
  return rewrite_document(chunk, options_, out);
}

ChunkRewriter::Fast ChunkRewriter::try_scan(std::string_view in, Rewrite& result, std::string& out) {
  // A chunk spread over lines (SSE allows a payload in several `data:` lines) is written again on one line:
  // the dialect frames it as a single `data:` line.
  if (options_.capture_content) return Fast::unsure;
  if (framing_ == Framing::sse_event &&
      (std::memchr(in.data(), '\n', in.size()) || std::memchr(in.data(), '\r', in.size()))) {
    return Fast::unsure;
  }
  Scratch& sc = scratch();
  std::vector<json::RawMember>& members = sc.members;
  std::vector<std::string_view>& reasons = sc.finish_reasons;
  // The choices are read one by one only when they may name a finish reason (most chunks say
  // "finish_reason":null), and then in the same pass as the document.
  const bool finishing = may_finish(in);
  if (!(finishing ? json::scan_object(in, members, sc.choices) : json::scan_object(in, members))) {
    return Fast::unsure;
  }
  const json::RawMember* id = nullptr;
  const json::RawMember* model = nullptr;
  const json::RawMember* choices = nullptr;
  std::size_t usage = members.size();
  bool error = false;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const json::RawMember& m = members[i];
    if (has_escape(m.key)) return Fast::unsure;  // might spell one of the keys below
    const json::RawMember** slot = nullptr;
    if (m.key == "model") {
      slot = &model;
    } else if (m.key == "id") {
      slot = &id;
    } else if (m.key == "choices") {
      slot = &choices;
    } else if (m.key == "usage") {
      if (usage != members.size()) return Fast::unsure;
      usage = i;
    } else if (m.key == "error") {
      error = true;
    }
    if (slot) {
      if (*slot) return Fast::unsure;  // a repeated key: the parser knows which one counts
      *slot = &m;
    }
  }
  if (error) {
    result = Rewrite::error_event;
    return Fast::done;
  }
  const bool has_usage = usage != members.size();
  // Token counts, as the full parse records them: from a usage object only.
  std::int64_t prompt_tokens = -1, completion_tokens = -1;
  const bool has_counts = has_usage && members[usage].value.front() == '{';
  if (has_counts && !usage_counts(members[usage].value, sc.usage_members, prompt_tokens, completion_tokens)) {
    return Fast::unsure;
  }

  reasons.clear();
  bool no_choices = false;  // `choices` is an empty array
  if (choices && choices->value.front() == '[') {
    const std::size_t first = choices->value.find_first_not_of(" \t\n\r", 1);
    no_choices = first != std::string_view::npos && choices->value[first] == ']';
    // The first `choices` member is the one read; a repeated one was refused above.
    const json::NestedArray& read = sc.choices;
    for (std::size_t c = 0; finishing && c < read.elements.size(); ++c) {
      const auto [begin, end] = read.members_of(c);
      const json::RawMember* finish = nullptr;
      for (std::size_t i = begin; i < end; ++i) {
        const json::RawMember& m = read.members[i];
        if (has_escape(m.key)) return Fast::unsure;
        if (m.key != "finish_reason") continue;
        if (finish) return Fast::unsure;
        finish = &m;
      }
      if (finish && is_string(finish->value)) {
        if (has_escape(finish->value)) return Fast::unsure;
        reasons.push_back(unquoted(finish->value));
      }
    }
  }
  if (ResponseMeta* meta = options_.meta) {
    const bool want_id = meta->id.empty() && id && is_string(id->value);
    const bool want_model = meta->model.empty() && model && is_string(model->value);
    if ((want_id && has_escape(id->value)) || (want_model && has_escape(model->value))) return Fast::unsure;
    // From here on nothing falls back, so the notes are taken once.
    if (want_id) meta->id = unquoted(id->value);
    if (want_model) meta->model = unquoted(model->value);
    for (std::string_view reason : reasons) meta->finish_reasons.emplace_back(reason);
    if (has_counts) {
      meta->prompt_tokens = prompt_tokens;
      meta->completion_tokens = completion_tokens;
    }
  }
  if (options_.strip_usage && has_usage && no_choices) {
    result = Rewrite::drop;
    return Fast::done;
  }

  // At most two edits of the text, in order: the model value replaced, the `usage` member cut out.
  struct Edit {
    const char* begin;
    const char* end;
    std::string_view with;
  };
  std::array<Edit, 2> edits;
  std::size_t count = 0;
  if (model) {
    edits[count++] = {model->value.data(), model->value.data() + model->value.size(), quoted_model_};
  }
  if (options_.strip_usage && has_usage) {
    // With the comma that joins it to the next member, or else to the previous one.
    auto key_begin = [](const json::RawMember& m) { return m.key.data() - 1; };
    auto value_end = [](const json::RawMember& m) { return m.value.data() + m.value.size(); };
    const json::RawMember& u = members[usage];
    if (usage + 1 < members.size()) {
      edits[count++] = {key_begin(u), key_begin(members[usage + 1]), {}};
    } else if (usage > 0) {
      edits[count++] = {value_end(members[usage - 1]), value_end(u), {}};
    } else {
      edits[count++] = {key_begin(u), value_end(u), {}};
    }
  }
  if (count == 2 && edits[1].begin < edits[0].begin) std::swap(edits[0], edits[1]);
  out.clear();
  out.reserve(in.size() + quoted_model_.size());  // one allocation, not one per doubling as the parts go in
  const char* at = in.data();
  for (std::size_t i = 0; i < count; ++i) {
    out.append(at, edits[i].begin);
    out.append(edits[i].with);
    at = edits[i].end;
  }
  out.append(at, in.data() + in.size());
  result = Rewrite::ok;
  return Fast::done;
}

}  // namespace sy::providers::openai
