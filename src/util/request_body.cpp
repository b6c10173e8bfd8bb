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

}  // namespace sy::json
