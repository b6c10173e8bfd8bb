// Unit tests for the header-field writer both HTTP heads share (requests upstream, responses to clients).
#include "http/message.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sy::http {
namespace {

TEST(AppendFieldsTest, WritesFieldsInOrder) {
  const std::vector<Header> headers = {{"X-A", "1"}, {"x-b", "two words"}};
  std::string out = "HEAD\r\n";
  append_fields(out, headers, {});
  EXPECT_EQ(out, "HEAD\r\nX-A: 1\r\nx-b: two words\r\n");
}

TEST(AppendFieldsTest, LeavesOutTheWritersOwnFieldsWhateverTheirCase) {
  const std::vector<Header> headers = {
      {"Content-Length", "5"}, {"TRANSFER-ENCODING", "chunked"}, {"X-Keep", "yes"}};
  std::string out;
  append_fields(out, headers, {"content-length", "transfer-encoding"});
  EXPECT_EQ(out, "X-Keep: yes\r\n");
}

TEST(AppendFieldsTest, ALaterFieldOfTheSameNameWins) {
  const std::vector<Header> headers = {{"X-Id", "first"}, {"Other", "o"}, {"x-id", "second"}};
  std::string out;
  append_fields(out, headers, {});
  EXPECT_EQ(out, "Other: o\r\nx-id: second\r\n");
}

TEST(AppendFieldsTest, AFieldWithALineBreakIsLeftOut) {
  // Written out, either would start a field of the caller's choosing (header injection).
  const std::vector<Header> headers = {{"X-Value", "ok\r\nSet-Cookie: stolen=1"},
                                       {"X-Bare-Lf", "a\nb"},
                                       {"X-Name\r\nInjected", "v"},
                                       {"X-Fine", "fine"}};
  std::string out;
  append_fields(out, headers, {});
  EXPECT_EQ(out, "X-Fine: fine\r\n");
}

TEST(HasHeaderTest, MatchesNamesCaseInsensitively) {
  const std::vector<Header> headers = {{"Content-Type", "text/plain"}};
  EXPECT_TRUE(has_header(headers, "content-type"));
  EXPECT_FALSE(has_header(headers, "content-length"));
  EXPECT_FALSE(has_header({}, "content-type"));
}

}  // namespace
}  // namespace sy::http
