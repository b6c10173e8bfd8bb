#include "api/models.h"

#include <boost/json.hpp>

namespace sy::api {
namespace {

boost::json::object model_object(std::string_view id, std::int64_t created) {
  return boost::json::object{
      {"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "switchyard"}};
}

}  // namespace

std::string models_list_json(const router::Router& router, std::int64_t created) {
  boost::json::array data;
  for (const auto& name : router.model_names()) data.push_back(model_object(name, created));
  return boost::json::serialize(boost::json::object{{"object", "list"}, {"data", std::move(data)}});
}

Result<std::string> model_json(const router::Router& router, std::string_view id, std::int64_t created) {
  if (!router.group(id)) {
    return Error{404,
                 "invalid_request_error",
                 "The model '" + std::string(id) + "' does not exist.",
                 "model_not_found",
                 "model",
                 {}};
  }
  return boost::json::serialize(model_object(id, created));
}

}  // namespace sy::api
