// Unit tests for a request body parsed on first use (util/request_body.h) and the pointer-like references to
// it or to a parsed document.
#include "util/request_body.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "util/json.h"

namespace sy::json {
namespace {

namespace bj = boost::json;

TEST(RequestBodyTest, ParsesOnFirstUseIntoItsStorageAndKeepsChanges) {
  const std::string text = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  RequestArena arena(text.size());
  const RequestBody body(text, std::string_view(text).substr(9, 3), bj::storage_ptr(arena.resource()));
  EXPECT_EQ(body.text(), text);
  EXPECT_EQ(body.model_value(), "\"m\"");
  EXPECT_FALSE(body.parsed());

  bj::object& doc = body.document();
  EXPECT_TRUE(body.parsed());
  EXPECT_EQ(doc.at("model").as_string(), "m");
  EXPECT_EQ(doc.storage().get(), bj::storage_ptr(arena.resource()).get());  // the request's arena
  doc["model"] = "changed";
  EXPECT_EQ(&body.document(), &doc);  // parsed once
  EXPECT_EQ(body.document().at("model").as_string(), "changed");
}

TEST(RequestBodyTest, ARefReadsLikeAPointerToTheDocument) {
  const std::string text = R"({"model":"m","messages":[]})";
  const RequestBody body(text, std::string_view(text).substr(9, 3), {});
  BodyRef ref(&body);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref.unparsed(), &body);  // its text is still the request
  const ConstBodyRef reader = ref;   // what a router strategy gets
  EXPECT_EQ(reader->at("model").as_string(), "m");
  EXPECT_EQ(ref.unparsed(), nullptr);  // reading parsed it: the text may be out of date from now on
  (*ref)["model"] = "x";
  EXPECT_EQ(reader->at("model").as_string(), "x");

  bj::object doc{{"model", "d"}};
  BodyRef parsed(&doc);
  EXPECT_EQ(parsed.unparsed(), nullptr);
  EXPECT_EQ(&*parsed, &doc);
  EXPECT_FALSE(BodyRef());
  EXPECT_FALSE(ConstBodyRef());
}

TEST(RequestBodyTest, WritesItsTextWithAnotherModelAndAskingForUsage) {
  const std::string text =
      R"( {"messages":[{"role":"user","content":"caf\u00e9 1.0"}], "model" : "m", "n":1.0} )";
  const auto at = text.find("\"m\"");
  const RequestBody body(text, std::string_view(text).substr(at, 3), {});
  std::string out = "left over";
  body.write_with_model("gpt-4o", false, out);
  EXPECT_EQ(out,
            R"( {"messages":[{"role":"user","content":"caf\u00e9 1.0"}], "model" : "gpt-4o", "n":1.0} )");
  body.write_with_model("a \"quoted\" name", true, out);
  EXPECT_EQ(
      out,
      R"( {"messages":[{"role":"user","content":"caf\u00e9 1.0"}], "model" : "a \"quoted\" name", "n":1.0,"stream_options":{"include_usage":true}} )");
  EXPECT_FALSE(body.parsed());  // written from the text alone
}

}  // namespace
}  // namespace sy::json
