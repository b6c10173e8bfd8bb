// `GET /v1/models` and `GET /v1/models/{id}`: the public model names, one entry per model group.
#pragma once

#include <string>
#include <string_view>

#include "router/router.h"
#include "util/error.h"

namespace sy::api {

std::string models_list_json(const router::Router& router, std::int64_t created);
Result<std::string> model_json(const router::Router& router, std::string_view id, std::int64_t created);

}  // namespace sy::api
