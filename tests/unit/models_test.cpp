// Unit tests for `GET /v1/models` and `GET /v1/models/{id}` bodies.
#include "api/models.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace sy::api {
namespace {

namespace bj = boost::json;

config::Deployment deployment(std::string model_name, std::string id) {
  config::Deployment d;
  d.model_name = std::move(model_name);
  d.params.model = "mock/echo";
  d.params.provider = "mock";
  d.params.provider_model = "echo";
  d.info.id = std::move(id);
  return d;
}

constexpr std::int64_t kCreated = 1700000000;

TEST(ModelsTest, ListShape) {
  std::vector<config::Deployment> ds = {deployment("gpt-4o", "a"), deployment("claude", "b")};
  router::Router router(ds);
  bj::value v = bj::parse(models_list_json(router, kCreated));
  ASSERT_TRUE(v.is_object());
  const auto& obj = v.as_object();
  EXPECT_EQ(obj.at("object").as_string(), "list");
  const auto& data = obj.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  const std::vector<std::string> expected = {"gpt-4o", "claude"};  // configuration order
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& m = data[i].as_object();
    EXPECT_EQ(m.size(), 4u);
    EXPECT_EQ(m.at("id").as_string(), expected[i]);
    EXPECT_EQ(m.at("object").as_string(), "model");
    EXPECT_EQ(m.at("created").as_int64(), kCreated);
    EXPECT_EQ(m.at("owned_by").as_string(), "switchyard");
  }
}

TEST(ModelsTest, ListHasUniqueNames) {
  std::vector<config::Deployment> ds = {deployment("gpt-4o", "a"), deployment("gpt-4o", "b"),
                                        deployment("claude", "c"), deployment("gpt-4o", "d"),
                                        deployment("claude", "e")};
  router::Router router(ds);
  bj::value v = bj::parse(models_list_json(router, kCreated));
  const auto& data = v.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  std::set<std::string> names;
  for (const auto& m : data) names.insert(std::string(m.at("id").as_string()));
  EXPECT_EQ(names, (std::set<std::string>{"gpt-4o", "claude"}));
  EXPECT_EQ(data[0].at("id").as_string(), "gpt-4o");
  EXPECT_EQ(data[1].at("id").as_string(), "claude");
}

TEST(ModelsTest, EmptyList) {
  std::vector<config::Deployment> ds;
  router::Router router(ds);
  bj::value v = bj::parse(models_list_json(router, kCreated));
  EXPECT_EQ(v.at("object").as_string(), "list");
  EXPECT_TRUE(v.at("data").as_array().empty());
}

TEST(ModelsTest, NamesNeedingEscapesStayValidJson) {
  std::vector<config::Deployment> ds = {deployment("we\"ird\\name", "a")};
  router::Router router(ds);
  bj::value v = bj::parse(models_list_json(router, kCreated));
  EXPECT_EQ(v.at("data").as_array().at(0).at("id").as_string(), "we\"ird\\name");
}

TEST(ModelsTest, ModelJsonKnown) {
  std::vector<config::Deployment> ds = {deployment("gpt-4o", "a"), deployment("claude", "b")};
  router::Router router(ds);
  auto r = model_json(router, "claude", kCreated);
  ASSERT_TRUE(r.ok()) << r.error().message;
  bj::value v = bj::parse(r.value());
  const auto& m = v.as_object();
  EXPECT_EQ(m.at("id").as_string(), "claude");
  EXPECT_EQ(m.at("object").as_string(), "model");
  EXPECT_EQ(m.at("created").as_int64(), kCreated);
  EXPECT_EQ(m.at("owned_by").as_string(), "switchyard");
}

TEST(ModelsTest, ModelJsonUnknownIs404) {
  std::vector<config::Deployment> ds = {deployment("gpt-4o", "a")};
  router::Router router(ds);
  auto r = model_json(router, "gpt-5", kCreated);
  ASSERT_FALSE(r.ok());
  const Error& e = r.error();
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.code, "model_not_found");
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.param, "model");
  EXPECT_NE(e.message.find("gpt-5"), std::string::npos);
  bj::value v = bj::parse(e.to_json());
  EXPECT_EQ(v.at("error").at("code").as_string(), "model_not_found");
}

TEST(ModelsTest, ModelJsonLookupIsExact) {
  std::vector<config::Deployment> ds = {deployment("gpt-4o", "a")};
  router::Router router(ds);
  EXPECT_FALSE(model_json(router, "GPT-4O", kCreated).ok());
  EXPECT_FALSE(model_json(router, "gpt-4", kCreated).ok());
  EXPECT_FALSE(model_json(router, "", kCreated).ok());
}

}  // namespace
}  // namespace sy::api
