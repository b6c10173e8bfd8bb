#include "telemetry/otlp_encoding.h"

#include <boost/json.hpp>
#include <cmath>
#include <type_traits>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace sy::telemetry {
namespace {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
namespace json = boost::json;

// ---- protobuf ----

template <class Id>
std::string id_bytes(const Id& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

void set_value(pb_common::AnyValue& out, const AttributeValue& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out.set_string_value(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.set_bool_value(v);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out.set_int_value(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out.set_double_value(v);
        } else {
          auto* values = out.mutable_array_value()->mutable_values();
          values->Reserve(static_cast<int>(v.size()));
          for (const auto& element : v) {
            using E = typename T::value_type;
            pb_common::AnyValue* item = values->Add();
            if constexpr (std::is_same_v<E, std::string>) {
              item->set_string_value(element);
            } else if constexpr (std::is_same_v<E, bool>) {
              item->set_bool_value(static_cast<bool>(element));
            } else if constexpr (std::is_same_v<E, std::int64_t>) {
              item->set_int_value(element);
            } else {
              item->set_double_value(element);
            }
          }
        }
      },
      value);
}

void add_attributes(google::protobuf::RepeatedPtrField<pb_common::KeyValue>& out,
                    const std::vector<Attribute>& attributes) {
  out.Reserve(static_cast<int>(attributes.size()));
  for (const Attribute& a : attributes) {
    pb_common::KeyValue* kv = out.Add();
    kv->set_key(std::string(a.key.view()));
    set_value(*kv->mutable_value(), a.value);
  }
}

void fill_span(pb_trace::Span& out, const SpanData& s) {
  out.set_trace_id(id_bytes(s.trace_id));
  out.set_span_id(id_bytes(s.span_id));
  if (!s.trace_state.empty()) out.set_trace_state(s.trace_state);
  if (is_valid(s.parent_span_id)) out.set_parent_span_id(id_bytes(s.parent_span_id));
  out.set_flags(s.flags);
  out.set_name(s.name);
  out.set_kind(static_cast<pb_trace::Span::SpanKind>(static_cast<int>(s.kind)));
  out.set_start_time_unix_nano(s.start_time_unix_nano);
  out.set_end_time_unix_nano(s.end_time_unix_nano);
  add_attributes(*out.mutable_attributes(), s.attributes);
  out.set_dropped_attributes_count(s.dropped_attributes_count);
  for (const Event& e : s.events) {
    pb_trace::Span::Event* event = out.add_events();
    event->set_time_unix_nano(e.time_unix_nano);
    event->set_name(e.name);
    add_attributes(*event->mutable_attributes(), e.attributes);
  }
  out.set_dropped_events_count(s.dropped_events_count);
  for (const Link& l : s.links) {
    pb_trace::Span::Link* link = out.add_links();
    link->set_trace_id(id_bytes(l.trace_id));
    link->set_span_id(id_bytes(l.span_id));
    if (!l.trace_state.empty()) link->set_trace_state(l.trace_state);
    add_attributes(*link->mutable_attributes(), l.attributes);
  }
  out.set_dropped_links_count(s.dropped_links_count);
  if (s.status_code != StatusCode::unset || !s.status_message.empty()) {
    pb_trace::Status* status = out.mutable_status();
    status->set_code(static_cast<pb_trace::Status::StatusCode>(static_cast<int>(s.status_code)));
    status->set_message(s.status_message);
  }
}

// ---- JSON ----

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

json::array json_attributes(const std::vector<Attribute>& attributes) {
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

void put_attributes(json::object& o, const std::vector<Attribute>& attributes) {
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

void build_export_request(std::span<const SpanData> spans, const Resource& resource,
                          const InstrumentationScope& scope,
                          opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& out) {
  out.Clear();
  pb_trace::ResourceSpans* rs = out.add_resource_spans();
  add_attributes(*rs->mutable_resource()->mutable_attributes(), resource.attributes);
  pb_trace::ScopeSpans* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name(scope.name);
  if (!scope.version.empty()) ss->mutable_scope()->set_version(scope.version);
  ss->mutable_spans()->Reserve(static_cast<int>(spans.size()));
  for (const SpanData& s : spans) fill_span(*ss->add_spans(), s);
}

std::string encode_traces_protobuf(std::span<const SpanData> spans, const Resource& resource,
                                   const InstrumentationScope& scope) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  build_export_request(spans, resource, scope, request);
  return request.SerializeAsString();
}

std::string encode_traces_json(std::span<const SpanData> spans, const Resource& resource,
                               const InstrumentationScope& scope) {
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
