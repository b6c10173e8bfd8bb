#include "router/ml/traces_dataset.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "router/ml/predictor.h"

namespace sy::router::ml {
namespace {

namespace bj = boost::json;

constexpr int kSpanKindServer = 2;

Error bad(std::string_view source, const std::string& message) {
  return Error{400, "invalid_request_error", std::string(source) + ": " + message, {}, {}, {}};
}

std::string_view str(const bj::value* v) {
  if (!v || !v->is_string()) return {};
  return {v->get_string().data(), v->get_string().size()};
}

// An OTLP/JSON AnyValue as text (strings as they are, numbers as JSON writes them).
std::string any_text(const bj::value& any) {
  const bj::object* o = any.if_object();
  if (!o) return {};
  if (const auto* s = o->if_contains("stringValue")) return std::string(str(s));
  if (const auto* i = o->if_contains("intValue"))
    return i->is_string() ? std::string(str(i)) : bj::serialize(*i);
  if (const auto* d = o->if_contains("doubleValue")) return bj::serialize(*d);
  if (const auto* b = o->if_contains("boolValue")) return bj::serialize(*b);
  return {};
}

// Span kind as a number: OTLP/JSON writes the enum as an integer, some tools as its name.
int span_kind(const bj::value* kind) {
  if (!kind) return 0;
  if (kind->is_int64()) return static_cast<int>(kind->get_int64());
  if (kind->is_uint64()) return static_cast<int>(kind->get_uint64());
  const std::string_view name = str(kind);
  if (name == "SPAN_KIND_SERVER") return kSpanKindServer;
  return 0;
}

std::string lowercase(std::string_view id) {
  std::string out(id);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The routing text of a captured prompt: `gen_ai.prompt` holds the request's messages (or prompt / input) as
// JSON.
std::string text_of_prompt(const std::string& prompt) {
  boost::system::error_code ec;
  bj::value v = bj::parse(prompt, ec);
  bj::object body;
  if (!ec && v.is_array() && !v.get_array().empty() && v.get_array().front().is_object()) {
    body["messages"] = std::move(v);
  } else {
    bj::object message;
    message["role"] = "user";
    if (!ec && v.is_string()) {
      message["content"] = v.get_string();
    } else if (!ec && v.is_array()) {  // a completions prompt or embeddings input list
      std::string joined;
      for (const bj::value& item : v.get_array()) {
        if (item.is_string()) joined += (joined.empty() ? "" : "\n") + std::string(item.get_string());
      }
      message["content"] = joined;
    } else {
      message["content"] = prompt;
    }
    bj::array messages;
    messages.push_back(std::move(message));
    body["messages"] = std::move(messages);
  }
  std::string out;
  routing_text(body, out);
  return out;
}

}  // namespace

std::optional<Error> TraceIndex::add(std::string_view text, std::string_view source) {
  bj::stream_parser parser;
  std::size_t documents = 0;
  while (true) {
    const std::size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    boost::system::error_code ec;
    parser.reset();
    std::size_t used = parser.write_some(text.data(), text.size(), ec);
    if (!ec && !parser.done()) parser.finish(ec);
    if (ec)
      return bad(source, "not OTLP/JSON (document " + std::to_string(documents + 1) + "): " + ec.message());
    text.remove_prefix(used);
    bj::value doc = parser.release();
    ++documents;
    std::vector<const bj::object*> requests;
    if (const auto* a = doc.if_array()) {
      for (const bj::value& v : *a) {
        if (const auto* o = v.if_object()) requests.push_back(o);
      }
    } else if (const auto* o = doc.if_object()) {
      requests.push_back(o);
    }
    if (requests.empty())
      return bad(source, "expected ExportTraceServiceRequest objects ({\"resourceSpans\": ...})");
    for (const bj::object* request : requests) {
      const auto* resource_spans = request->if_contains("resourceSpans");
      if (!resource_spans || !resource_spans->is_array()) {
        return bad(source, "expected ExportTraceServiceRequest objects ({\"resourceSpans\": ...})");
      }
      for (const bj::value& rs : resource_spans->get_array()) {
        const auto* scope_spans = rs.is_object() ? rs.get_object().if_contains("scopeSpans") : nullptr;
        if (!scope_spans || !scope_spans->is_array()) continue;
        for (const bj::value& ss : scope_spans->get_array()) {
          const auto* spans = ss.is_object() ? ss.get_object().if_contains("spans") : nullptr;
          if (!spans || !spans->is_array()) continue;
          for (const bj::value& sv : spans->get_array()) {
            const bj::object* span = sv.if_object();
            if (!span) continue;
            ++spans_;
            const std::string trace = lowercase(str(span->if_contains("traceId")));
            Server server;
            Route route;
            const auto* attributes = span->if_contains("attributes");
            if (attributes && attributes->is_array()) {
              for (const bj::value& kv : attributes->get_array()) {
                if (!kv.is_object()) continue;
                const std::string_view key = str(kv.get_object().if_contains("key"));
                const bj::value* value = kv.get_object().if_contains("value");
                if (!value) continue;
                if (key == "switchyard.request_id") {
                  server.request_id = any_text(*value);
                } else if (key == "gen_ai.prompt") {
                  server.prompt = any_text(*value);
                } else if (key == "router.routing_text") {
                  route.text = any_text(*value);
                } else if (key == "router.learned_model") {
                  route.model = any_text(*value);
                } else if (key == "router.model_selected" && route.model.empty()) {
                  route.model = any_text(*value);
                } else if (key == "router.attempt") {
                  const std::string a = any_text(*value);
                  std::from_chars(a.data(), a.data() + a.size(), route.attempt);
                }
              }
            }
            const std::string name(str(span->if_contains("name")));
            if (span_kind(span->if_contains("kind")) == kSpanKindServer && !server.request_id.empty()) {
              servers_[trace + "/" + lowercase(str(span->if_contains("spanId")))] = std::move(server);
            } else if (name == "route") {
              route.parent = trace + "/" + lowercase(str(span->if_contains("parentSpanId")));
              routes_.push_back(std::move(route));
            }
          }
        }
      }
    }
  }
  return std::nullopt;
}

std::unordered_map<std::string, TracedRequest> TraceIndex::requests() const {
  // The route span of the attempt that came last carries the model that answered (or failed last).
  std::unordered_map<std::string, const Route*> last_route;
  for (const Route& r : routes_) {
    auto [it, inserted] = last_route.try_emplace(r.parent, &r);
    if (!inserted && r.attempt >= it->second->attempt) it->second = &r;
  }
  std::unordered_map<std::string, TracedRequest> out;
  for (const auto& [key, server] : servers_) {
    TracedRequest t;
    if (auto it = last_route.find(key); it != last_route.end()) {
      t.query = it->second->text;
      t.model = it->second->model;
    }
    if (t.query.empty() && !server.prompt.empty()) t.query = text_of_prompt(server.prompt);
    out.insert_or_assign(server.request_id, std::move(t));
  }
  return out;
}

Result<std::vector<Feedback>> parse_feedback(std::string_view jsonl, std::string_view source) {
  std::vector<Feedback> out;
  std::size_t line_number = 0;
  while (!jsonl.empty()) {
    const std::size_t end = jsonl.find('\n');
    std::string_view line = jsonl.substr(0, end);
    jsonl.remove_prefix(end == std::string_view::npos ? jsonl.size() : end + 1);
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = "line " + std::to_string(line_number);
    boost::system::error_code ec;
    bj::value v = bj::parse(line, ec);
    if (ec || !v.is_object())
      return bad(source, where + ": expected a JSON object {\"request_id\", \"model\", \"score\"}");
    const bj::object& o = v.get_object();
    Feedback f;
    f.request_id = std::string(str(o.if_contains("request_id")));
    if (f.request_id.empty()) return bad(source, where + ": request_id must be a non-empty string");
    if (const auto* m = o.if_contains("model"); m && !m->is_null()) {
      if (!m->is_string()) return bad(source, where + ": model must be a string");
      f.model = std::string(str(m));
    }
    const auto* score = o.if_contains("score");
    if (!score || !score->is_number() || !std::isfinite(score->to_number<double>()) ||
        score->to_number<double>() < 0 || score->to_number<double>() > 1) {
      return bad(source, where + ": score must be a number from 0 to 1");
    }
    f.score = score->to_number<double>();
    out.push_back(std::move(f));
  }
  return out;
}

std::string build_dataset(const std::unordered_map<std::string, TracedRequest>& requests,
                          const std::vector<Feedback>& feedback, const DatasetOptions& options,
                          DatasetSummary& summary) {
  struct Scores {
    std::vector<std::string> models;  // first-seen order
    std::unordered_map<std::string, std::pair<double, int>> sum;
  };
  std::vector<std::string> queries;  // first-seen order
  std::unordered_map<std::string, Scores> by_query;
  summary.feedback += feedback.size();
  for (const Feedback& f : feedback) {
    auto it = requests.find(f.request_id);
    if (it == requests.end()) {
      ++summary.unmatched;
      continue;
    }
    if (it->second.query.empty()) {
      ++summary.without_text;
      continue;
    }
    const std::string& model = f.model.empty() ? it->second.model : f.model;
    if (model.empty()) {
      ++summary.without_model;
      continue;
    }
    ++summary.joined;
    auto [q, new_query] = by_query.try_emplace(it->second.query);
    if (new_query) queries.push_back(it->second.query);
    auto [s, new_model] = q->second.sum.try_emplace(model, 0.0, 0);
    if (new_model) q->second.models.push_back(model);
    s->second.first += f.score;
    s->second.second += 1;
  }
  // The models a complete line scores: the given ones, else every model of the joined feedback.
  std::vector<std::string> required = options.models;
  if (required.empty()) {
    for (const std::string& query : queries) {
      for (const std::string& model : by_query.at(query).models) {
        if (std::find(required.begin(), required.end(), model) == required.end()) required.push_back(model);
      }
    }
  }
  std::string out;
  for (const std::string& query : queries) {
    const Scores& scores = by_query.at(query);
    bj::object s;
    bool complete = true;
    for (const std::string& model : options.partial ? scores.models : required) {
      auto it = scores.sum.find(model);
      if (it == scores.sum.end()) {
        complete = false;
        break;
      }
      if (!options.models.empty() && std::find(required.begin(), required.end(), model) == required.end()) {
        continue;  // a model the --models file does not list
      }
      s[model] = it->second.first / it->second.second;
    }
    if (!complete || s.empty()) {
      ++summary.incomplete;
      continue;
    }
    bj::object line;
    line["query"] = query;
    line["scores"] = std::move(s);
    out += bj::serialize(line);
    out += '\n';
    ++summary.queries;
  }
  return out;
}

}  // namespace sy::router::ml
