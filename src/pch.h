// Precompiled header: the heavy Boost headers shared by the translation units that speak HTTP.
#pragma once
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>
