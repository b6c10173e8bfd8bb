#include "util/error.h"

#include <boost/json.hpp>

namespace sy {

std::string Error::to_json() const {
  boost::json::object inner;
  inner["message"] = message;
  inner["type"] = type;
  inner["param"] = param.empty() ? boost::json::value(nullptr) : boost::json::value(param);
  inner["code"] = code.empty() ? boost::json::value(nullptr) : boost::json::value(code);
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

Error invalid_request(std::string message, std::string param, std::string code) {
  return Error{400, "invalid_request_error", std::move(message), std::move(code), std::move(param), {}};
}

}  // namespace sy
