#include "telemetry/otlp_encoding.h"

#include <boost/json.hpp>
#include <cmath>
#include <type_traits>

namespace sy::telemetry {
namespace {

namespace json = boost::json;

json::value json_double(double d) {
  // proto3's JSON mapping spells the non-finite doubles as strings.
  if (std::isnan(d)) return json::string("NaN");
  if (std::isinf(d)) return json::string(d > 0 ? "Infinity" : "-Infinity");
  return d;
}

template <class Element>
json::object json_scalar(const Element& v) {
  json::object o;
  if constexpr (std::is_same_v<Element, std::string>) {
    o["stringValue"] = v;
  } else if constexpr (std::is_same_v<Element, bool>) {
    o["boolValue"] = v;
  } else if constexpr (std::is_same_v<Element, std::int64_t>) {
    o["intValue"] = std::to_string(v);
  } else {
    o["doubleValue"] = json_double(v);
  }
  return o;
}

json::object json_any_value(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> json::object {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
                      std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
          return json_scalar(v);
        } else {
          json::array values;
          values.reserve(v.size());
          for (const auto& element : v) values.push_back(json_scalar<typename T::value_type>(element));
          json::object array_value;
          array_value["values"] = std::move(values);
          json::object o;
          o["arrayValue"] = std::move(array_value);
          return o;
        }
      },
      value);
}

json::array json_attributes(std::span<const Attribute> attributes) {
  json::array out;
  out.reserve(attributes.size());
  for (const Attribute& a : attributes) {
    json::object kv;
    kv["key"] = a.key.view();
    kv["value"] = json_any_value(a.value);
    out.push_back(std::move(kv));
  }
  return out;
}

void put_attributes(json::object& o, std::span<const Attribute> attributes) {
  if (!attributes.empty()) o["attributes"] = json_attributes(attributes);
}

void put_count(json::object& o, std::string_view name, std::uint32_t count) {
  if (count != 0) o[name] = count;
}

json::object json_span(const SpanData& s) {
  json::object o;
  o["traceId"] = to_hex(s.trace_id);
  o["spanId"] = to_hex(s.span_id);
  if (!s.trace_state.empty()) o["traceState"] = s.trace_state;
  if (is_valid(s.parent_span_id)) o["parentSpanId"] = to_hex(s.parent_span_id);
  if (s.flags != 0) o["flags"] = s.flags;
  o["name"] = s.name;
  o["kind"] = static_cast<int>(s.kind);
  o["startTimeUnixNano"] = std::to_string(s.start_time_unix_nano);
  o["endTimeUnixNano"] = std::to_string(s.end_time_unix_nano);
  put_attributes(o, s.attributes);
  put_count(o, "droppedAttributesCount", s.dropped_attributes_count);
  if (!s.events.empty()) {
    json::array events;
    for (const Event& e : s.events) {
      json::object event;
      event["timeUnixNano"] = std::to_string(e.time_unix_nano);
      event["name"] = e.name;
      put_attributes(event, e.attributes);
      events.push_back(std::move(event));
    }
    o["events"] = std::move(events);
  }
  put_count(o, "droppedEventsCount", s.dropped_events_count);
  if (!s.links.empty()) {
    json::array links;
    for (const Link& l : s.links) {
      json::object link;
      link["traceId"] = to_hex(l.trace_id);
      link["spanId"] = to_hex(l.span_id);
      if (!l.trace_state.empty()) link["traceState"] = l.trace_state;
      put_attributes(link, l.attributes);
      links.push_back(std::move(link));
    }
    o["links"] = std::move(links);
  }
  put_count(o, "droppedLinksCount", s.dropped_links_count);
  if (s.status_code != StatusCode::unset || !s.status_message.empty()) {
    json::object status;
    if (!s.status_message.empty()) status["message"] = s.status_message;
    status["code"] = static_cast<int>(s.status_code);
    o["status"] = std::move(status);
  }
  return o;
}

}  // namespace

std::string encode_traces_json(SpanBatch spans, const Resource& resource, const InstrumentationScope& scope) {
  json::object resource_json;
  put_attributes(resource_json, resource.attributes);

  json::object scope_json;
  scope_json["name"] = scope.name;
  if (!scope.version.empty()) scope_json["version"] = scope.version;

  json::array span_array;
  span_array.reserve(spans.size());
  for (const SpanData& s : spans) span_array.push_back(json_span(s));

  json::object scope_spans;
  scope_spans["scope"] = std::move(scope_json);
  scope_spans["spans"] = std::move(span_array);

  json::object resource_spans;
  resource_spans["resource"] = std::move(resource_json);
  resource_spans["scopeSpans"] = json::array{std::move(scope_spans)};

  json::object root;
  root["resourceSpans"] = json::array{std::move(resource_spans)};
  return json::serialize(root);
}

}  // namespace sy::telemetry
