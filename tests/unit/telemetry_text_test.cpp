#include "telemetry/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sy::telemetry::text {
namespace {

std::vector<std::string> items(std::string_view list, char sep) {
  std::vector<std::string> out;
  for_each_item(list, sep, [&](std::string_view item) {
    out.emplace_back(item);
    return true;
  });
  return out;
}

TEST(TelemetryText, ForEachItemKeepsEmptyItemsAndStopsWhenAsked) {
  EXPECT_EQ(items("a,b", ','), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(items("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(items("a,,b,", ','), (std::vector<std::string>{"a", "", "b", ""}));
  int seen = 0;
  for_each_item("x;y;z", ';', [&](std::string_view) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
}

TEST(TelemetryText, PercentDecodingStrictAndLenient) {
  EXPECT_EQ(percent_decode("acme%20corp"), "acme corp");
  EXPECT_EQ(percent_decode("%41%6a"), "Aj");
  EXPECT_EQ(percent_decode("bad%2"), std::nullopt);
  EXPECT_EQ(percent_decode("bad%zz"), std::nullopt);
  EXPECT_EQ(percent_decode_lenient("bad%zz%20ok%"), "bad%zz ok%");
}

TEST(TelemetryText, TrimLowerToken) {
  EXPECT_EQ(trim(" \t x y \r\n"), "x y");
  EXPECT_EQ(ascii_lower("OtLp-É"), "otlp-É");
  EXPECT_TRUE(is_token("x-tenant_1.v~"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a=b"));
}

}  // namespace
}  // namespace sy::telemetry::text
