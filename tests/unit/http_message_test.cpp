// Unit tests for the header-field writer both HTTP heads share (requests upstream, responses to clients), and
// for the header list requests and answers are built in.
#include "http/message.h"

#include <span>
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

std::vector<std::string> names_and_values(const HeaderList& list) {
  std::vector<std::string> out;
  for (const Header& h : list) out.push_back(h.name + "=" + h.value);
  return out;
}

TEST(HeaderListTest, SetReplacesInPlaceAddAppendsRemoveKeepsTheOrder) {
  HeaderList list;
  list.add("a", "1");
  list.add("b", "2");
  list.add("a", "3");
  list.set("b", "two");
  list.set("c", "4");
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"a=1", "b=two", "a=3", "c=4"}));
  list.set("a", "one");  // the first of that name
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"a=one", "b=two", "a=3", "c=4"}));
  list.remove("a");  // every one of that name
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"b=two", "c=4"}));
  list.remove("absent");
  list.remove("B");  // exact names: a different case is another name here
  EXPECT_EQ(list.size(), 2u);
  list.add("d", "x").append("yz");  // completed in place
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"b=two", "c=4", "d=xyz"}));
  const std::span<const Header> fields = list;
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[2].value, "xyz");
  EXPECT_TRUE(has_header(list, "D"));
}

TEST(HeaderListTest, ARemovedOrClearedFieldsStorageServesTheNextField) {
  HeaderList list;
  const std::string long_value(100, 'v');
  list.add("x-litellm-attempted-retries", long_value);
  const char* storage = list.fields()[0].value.data();
  list.clear();
  EXPECT_TRUE(list.empty());
  list.add("x-litellm-attempted-fallbacks", std::string(90, 'w'));
  EXPECT_EQ(list.fields()[0].value.data(), storage);  // no allocation for it
  list.remove("x-litellm-attempted-fallbacks");
  list.set("x-litellm-model-id", std::string(80, 'u'));
  EXPECT_EQ(list.fields()[0].value.data(), storage);
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"x-litellm-model-id=" + std::string(80, 'u')}));
}

TEST(HeaderListTest, RecyclingEmptiesTheListAndFreesWhatIsUnusuallyLarge) {
  HeaderList list;
  for (int i = 0; i < 40; ++i) list.add("x-field-" + std::to_string(i), std::to_string(i));
  list.add("x-big", std::string(10'000, 'b'));
  list.recycle();
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.begin(), list.end());
  for (int i = 0; i < 41; ++i) list.add("x-again-" + std::to_string(i), "v");
  EXPECT_EQ(list.size(), 41u);
  EXPECT_EQ(list.fields()[40].name, "x-again-40");
  list.recycle();
  list.add("x-small", "s");
  for (const Header& h : list) EXPECT_LT(h.value.capacity(), 10'000u);
}

TEST(HeaderListTest, AFieldCopiedFromTheListItselfSurvivesItsGrowth) {
  HeaderList list;
  // Short strings keep their bytes inside the vector's own storage, which its growth frees.
  list.add("x-short", "v");
  for (int i = 0; i < 20; ++i) {
    const Header& first = list.fields()[0];
    list.add(first.name, first.value);  // the vector grows under these views now and then
  }
  ASSERT_EQ(list.size(), 21u);
  for (const Header& h : list) {
    EXPECT_EQ(h.name, "x-short");
    EXPECT_EQ(h.value, "v");
  }
  list.clear();
  list.add("a", "1");
  list.add("b", "2");
  list.add(list.fields()[1].name, list.fields()[0].value);  // reusing kept storage
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"a=1", "b=2", "b=1"}));
}

TEST(HeaderListTest, AssignedFromAListOfFields) {
  HeaderList list = {{"Accept", "application/json"}, {"X-A", "1"}};
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"Accept=application/json", "X-A=1"}));
  list = {{"X-B", "2"}};
  EXPECT_EQ(names_and_values(list), (std::vector<std::string>{"X-B=2"}));
  std::string out;
  append_fields(out, list, {});
  EXPECT_EQ(out, "X-B: 2\r\n");
}

}  // namespace
}  // namespace sy::http
