#include "util/request_body.h"

#include <stdexcept>

#include <boost/json/parse.hpp>

#include "util/json.h"

namespace sy::json {

boost::json::object& RequestBody::document() const {
  if (!parsed_) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(text_, ec, document_.storage(), parse_options());
    // The scanner accepts a subset of what the parser does; this cannot fail but for a bug.
    if (ec || !parsed.is_object())
      throw std::logic_error("a request body the scanner accepted did not parse");
    document_ = std::move(parsed);
    parsed_ = true;
  }
  return document_.as_object();
}

void RequestBody::write_with_model(std::string_view model, bool ask_usage, std::string& out) const {
  static constexpr std::string_view kAskUsage = R"(,"stream_options":{"include_usage":true})";
  const auto model_at = static_cast<std::size_t>(model_.data() - text_.data());
  const std::size_t after_model = model_at + model_.size();
  out.clear();
  out.reserve(text_.size() + model.size() + kAskUsage.size() + 2);
  out.append(text_.substr(0, model_at));
  append_quoted(out, model);
  if (!ask_usage) {
    out.append(text_.substr(after_model));
    return;
  }
  const std::size_t close = text_.rfind('}');  // the object's own: only whitespace may follow it
  out.append(text_.substr(after_model, close - after_model));
  out.append(kAskUsage);
  out.append(text_.substr(close));
}

}  // namespace sy::json
