// The OTLP protobuf encoding the exporters used before encode_traces_protobuf wrote the wire format itself:
// fill libprotobuf's generated message objects, then serialise them. Kept as the reference that the unit
// tests compare the direct encoder's bytes with, and that bench/micro/span_encode_bench.cpp measures it
// against.
#pragma once

#include <span>
#include <string>
#include <type_traits>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "telemetry/span_data.h"

namespace sy::telemetry::reference {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
using ExportTraceServiceRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

template <class Id>
std::string id_bytes(const Id& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

inline void set_value(pb_common::AnyValue& out, const AttributeValue& value) {
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

inline void add_attributes(google::protobuf::RepeatedPtrField<pb_common::KeyValue>& out,
                           std::span<const Attribute> attributes) {
  out.Reserve(static_cast<int>(attributes.size()));
  for (const Attribute& a : attributes) {
    pb_common::KeyValue* kv = out.Add();
    kv->set_key(std::string(a.key.view()));
    set_value(*kv->mutable_value(), a.value);
  }
}

inline void fill_span(pb_trace::Span& out, const SpanData& s) {
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

// Fills `out` (cleared first).
inline void build_export_request(std::span<const SpanData> spans, const Resource& resource,
                                 const InstrumentationScope& scope, ExportTraceServiceRequest& out) {
  out.Clear();
  pb_trace::ResourceSpans* rs = out.add_resource_spans();
  add_attributes(*rs->mutable_resource()->mutable_attributes(), resource.attributes);
  pb_trace::ScopeSpans* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name(scope.name);
  if (!scope.version.empty()) ss->mutable_scope()->set_version(scope.version);
  ss->mutable_spans()->Reserve(static_cast<int>(spans.size()));
  for (const SpanData& s : spans) fill_span(*ss->add_spans(), s);
}

inline std::string encode_traces_protobuf(std::span<const SpanData> spans, const Resource& resource,
                                          const InstrumentationScope& scope) {
  ExportTraceServiceRequest request;
  build_export_request(spans, resource, scope, request);
  return request.SerializeAsString();
}

}  // namespace sy::telemetry::reference
