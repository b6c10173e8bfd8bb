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

// The check reads eight bytes at a time, then the tail: a CR or LF anywhere in values of every length up to
// a few words is found, in the name too, and the bytes next to them in value (VT, FF, SO; the same low bits
// with the high bit set) are not taken for one.
TEST(AppendFieldsTest, FindsALineBreakAtEveryPositionAndNothingElse) {
  for (std::size_t size = 1; size <= 40; ++size) {
    for (std::size_t at = 0; at < size; ++at) {
      for (char c : {'\r', '\n'}) {
        std::string value(size, 'v');
        value[at] = c;
        std::string out;
        append_fields(out, std::vector<Header>{{"X-Value", value}}, {});
        EXPECT_EQ(out, "") << size << " " << at << " " << int(c);
        out.clear();
        append_fields(out, std::vector<Header>{{value, "v"}}, {});
        EXPECT_EQ(out, "") << "in the name: " << size << " " << at << " " << int(c);
      }
      for (char near : {'\x0b', '\x0c', '\x0e', '\x8a', '\x8d', '\x00'}) {
        std::string value(size, 'v');
        value[at] = near;
        std::string out;
        append_fields(out, std::vector<Header>{{"X-Value", value}}, {});
        EXPECT_EQ(out, "X-Value: " + value + "\r\n") << size << " " << at << " " << int(near);
      }
    }
  }
}

TEST(HasHeaderTest, MatchesNamesCaseInsensitively) {
  const std::vector<Header> headers = {{"Content-Type", "text/plain"}};
  EXPECT_TRUE(has_header(headers, "content-type"));
  EXPECT_FALSE(has_header(headers, "content-length"));
  EXPECT_FALSE(has_header({}, "content-type"));
}

}  // namespace
}  // namespace sy::http
