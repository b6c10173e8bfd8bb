// A request's JSON body that is parsed only when something asks for its document. Most chat requests to an
// OpenAI-compatible deployment never need one: the scanner checks their text (util/json_scan.h), the few
// members the gateway reads are read from it, and the text goes upstream with its model value replaced. A
// provider that translates the request, a strategy that reads the prompt, or a count of prompt tokens parses
// it, once, into the request's arena.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

namespace sy::json {

class RequestBody {
 public:
  // `text`: a JSON object the scanner vouched for (so that the parse of it cannot fail), which outlives this.
  // `model`: its "model" member's value as it stands in `text`, quotes included. `storage`: where the
  // document goes (the request's arena).
  RequestBody(std::string_view text, std::string_view model, boost::json::storage_ptr storage)
      : text_(text), model_(model), document_(std::move(storage)) {}
  RequestBody(const RequestBody&) = delete;
  RequestBody& operator=(const RequestBody&) = delete;

  std::string_view text() const noexcept { return text_; }
  std::string_view model_value() const noexcept { return model_; }
  // Whether the document has been parsed (and may have been changed since: then the text is out of date).
  bool parsed() const noexcept { return parsed_; }
  // The document, parsed on first use. Changes to it are the request's from then on.
  boost::json::object& document() const;
  // Writes into `out` (cleared first) the text with its model value replaced by `model` and, when
  // `ask_usage`, a `"stream_options":{"include_usage":true}` member added at its end (the caller knows the
  // text has none: the scanned path takes no body that has one).
  void write_with_model(std::string_view model, bool ask_usage, std::string& out) const;

 private:
  std::string_view text_;
  std::string_view model_;
  mutable boost::json::value document_;
  mutable bool parsed_ = false;
};

// Points at a request body: a document parsed already, or a RequestBody parsed on first use. It reads like a
// pointer to the document (*, ->, a test for null), so code written for a parsed body needs no change.
// `Object` is boost::json::object, or const boost::json::object for readers.
template <class Object>
class BasicBodyRef {
 public:
  BasicBodyRef() noexcept = default;
  BasicBodyRef(Object* document) noexcept : document_(document) {}  // NOLINT(google-explicit-constructor)
  BasicBodyRef(const RequestBody* body) noexcept : body_(body) {}   // NOLINT(google-explicit-constructor)
  template <class Other>
  BasicBodyRef(const BasicBodyRef<Other>& other) noexcept  // NOLINT(google-explicit-constructor)
      : document_(other.document_), body_(other.body_) {}

  explicit operator bool() const noexcept { return document_ != nullptr || body_ != nullptr; }
  Object& operator*() const { return document_ ? *document_ : body_->document(); }
  Object* operator->() const { return &**this; }
  // The body as its text, when it is one nobody has parsed (so that the text is what the request holds).
  const RequestBody* unparsed() const noexcept { return body_ && !body_->parsed() ? body_ : nullptr; }

 private:
  template <class>
  friend class BasicBodyRef;
  Object* document_ = nullptr;
  const RequestBody* body_ = nullptr;
};

using BodyRef = BasicBodyRef<boost::json::object>;
using ConstBodyRef = BasicBodyRef<const boost::json::object>;

}  // namespace sy::json
