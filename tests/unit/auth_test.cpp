// Unit tests for the master-key authenticator: where the key is read from and how it is compared.
#include "auth/authenticator.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace sy::auth {
namespace {

constexpr std::string_view kMaster = "sk-master-1234";

http::Request request_with(std::vector<std::pair<std::string_view, std::string_view>> headers) {
  http::Request r;
  r.method = "POST";
  r.target = "/v1/chat/completions";
  r.path = r.target;
  r.headers = std::move(headers);
  return r;
}

TEST(AuthenticatorTest, BearerToken) {
  Authenticator auth(kMaster);
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.allows(request_with({{"Authorization", "Bearer sk-master-1234"}})));
}

TEST(AuthenticatorTest, BearerSchemeIsCaseInsensitive) {
  Authenticator auth(kMaster);
  for (std::string_view value : {"bearer sk-master-1234", "BEARER sk-master-1234", "BeArEr sk-master-1234"}) {
    EXPECT_TRUE(auth.allows(request_with({{"Authorization", value}}))) << value;
  }
}

TEST(AuthenticatorTest, HeaderNameIsCaseInsensitive) {
  Authenticator auth(kMaster);
  EXPECT_TRUE(auth.allows(request_with({{"authorization", "Bearer sk-master-1234"}})));
  EXPECT_TRUE(auth.allows(request_with({{"AUTHORIZATION", "Bearer sk-master-1234"}})));
  EXPECT_TRUE(auth.allows(request_with({{"API-KEY", "sk-master-1234"}})));
  EXPECT_TRUE(auth.allows(request_with({{"X-Api-Key", "sk-master-1234"}})));
}

TEST(AuthenticatorTest, SurroundingWhitespaceTrimmed) {
  Authenticator auth(kMaster);
  EXPECT_TRUE(auth.allows(request_with({{"Authorization", "  Bearer   sk-master-1234 \t"}})));
  EXPECT_TRUE(auth.allows(request_with({{"api-key", " sk-master-1234 "}})));
}

TEST(AuthenticatorTest, BareAuthorizationValue) {
  Authenticator auth(kMaster);
  EXPECT_TRUE(auth.allows(request_with({{"Authorization", "sk-master-1234"}})));
  EXPECT_EQ(Authenticator::presented_key(request_with({{"Authorization", "sk-master-1234"}})),
            "sk-master-1234");
}

TEST(AuthenticatorTest, ApiKeyHeader) {
  Authenticator auth(kMaster);
  EXPECT_TRUE(auth.allows(request_with({{"api-key", "sk-master-1234"}})));
}

TEST(AuthenticatorTest, XApiKeyHeader) {
  Authenticator auth(kMaster);
  EXPECT_TRUE(auth.allows(request_with({{"x-api-key", "sk-master-1234"}})));
}

TEST(AuthenticatorTest, PresentedKeySources) {
  EXPECT_EQ(Authenticator::presented_key(request_with({{"Authorization", "Bearer abc"}})), "abc");
  EXPECT_EQ(Authenticator::presented_key(request_with({{"api-key", "def"}})), "def");
  EXPECT_EQ(Authenticator::presented_key(request_with({{"x-api-key", "ghi"}})), "ghi");
  EXPECT_EQ(Authenticator::presented_key(request_with({{"content-type", "application/json"}})), "");
  EXPECT_EQ(Authenticator::presented_key(request_with({})), "");
}

TEST(AuthenticatorTest, AuthorizationTakesPrecedence) {
  auto r =
      request_with({{"x-api-key", "from-x"}, {"api-key", "from-api"}, {"Authorization", "Bearer from-auth"}});
  EXPECT_EQ(Authenticator::presented_key(r), "from-auth");
  auto r2 = request_with({{"x-api-key", "from-x"}, {"api-key", "from-api"}});
  EXPECT_EQ(Authenticator::presented_key(r2), "from-api");
}

TEST(AuthenticatorTest, WrongKeyRejected) {
  Authenticator auth(kMaster);
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", "Bearer sk-master-1235"}})));
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", "Bearer sk-master-123"}})));
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", "Bearer sk-master-12345"}})));
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", "Bearer SK-MASTER-1234"}})));  // keys are exact
  EXPECT_FALSE(auth.allows(request_with({{"api-key", "nope"}})));
  EXPECT_FALSE(auth.allows(request_with({{"x-api-key", "nope"}})));
}

TEST(AuthenticatorTest, MissingOrEmptyKeyRejected) {
  Authenticator auth(kMaster);
  EXPECT_FALSE(auth.allows(request_with({})));
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", ""}})));
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", "Bearer "}})));
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", "Bearer"}})));
  EXPECT_FALSE(auth.allows(request_with({{"api-key", ""}})));
  EXPECT_FALSE(auth.allows(request_with({{"x-api-key", "   "}})));
}

TEST(AuthenticatorTest, DisabledWhenMasterKeyEmpty) {
  Authenticator auth("");
  EXPECT_FALSE(auth.enabled());
  EXPECT_TRUE(auth.allows(request_with({})));
  EXPECT_TRUE(auth.allows(request_with({{"Authorization", "Bearer anything"}})));
  EXPECT_TRUE(auth.allows(request_with({{"Authorization", ""}})));
}

TEST(AuthenticatorTest, KeysEqual) {
  EXPECT_TRUE(Authenticator::keys_equal("abc", "abc"));
  EXPECT_TRUE(Authenticator::keys_equal("", ""));
  EXPECT_FALSE(Authenticator::keys_equal("abc", "abd"));
  EXPECT_FALSE(Authenticator::keys_equal("abc", "ab"));
  EXPECT_FALSE(Authenticator::keys_equal("abc", "abcd"));
  EXPECT_FALSE(Authenticator::keys_equal("abc", ""));
  EXPECT_FALSE(Authenticator::keys_equal("abc", "ABC"));
  const std::string long_a(10'000, 'k');
  std::string long_b = long_a;
  EXPECT_TRUE(Authenticator::keys_equal(long_a, long_b));
  long_b.back() = 'j';
  EXPECT_FALSE(Authenticator::keys_equal(long_a, long_b));
}

// Keys up to the window are compared zero-padded, so the lengths must decide what padding cannot: a key
// that is the master key plus NUL bytes, or the master key cut short, is refused.
TEST(AuthenticatorTest, PaddingNeverMakesKeysEqual) {
  using namespace std::string_view_literals;
  Authenticator auth(kMaster);
  const std::string with_nul = std::string(kMaster) + std::string(1, '\0');
  EXPECT_FALSE(auth.allows(request_with({{"x-api-key", with_nul}})));
  EXPECT_FALSE(auth.allows(request_with({{"x-api-key", kMaster.substr(0, 3)}})));
  EXPECT_FALSE(Authenticator::keys_equal("abc\0"sv, "abc"sv));
  EXPECT_FALSE(Authenticator::keys_equal(""sv, "\0"sv));
  EXPECT_TRUE(Authenticator::keys_equal(std::string_view{}, ""sv));
}

// Keys at, past and far past the window's size.
TEST(AuthenticatorTest, KeysOfAnyLength) {
  for (std::size_t n : {Authenticator::kKeyWindow - 1, Authenticator::kKeyWindow,
                        Authenticator::kKeyWindow + 1, std::size_t{4096}}) {
    const std::string master(n, 'm');
    Authenticator auth(master);
    EXPECT_TRUE(auth.allows(request_with({{"x-api-key", master}}))) << n;
    std::string other = master;
    other.back() = 'n';
    EXPECT_FALSE(auth.allows(request_with({{"x-api-key", other}}))) << n;
    other.front() = 'n';
    other.back() = 'm';
    EXPECT_FALSE(auth.allows(request_with({{"x-api-key", other}}))) << n;
    EXPECT_FALSE(auth.allows(request_with({{"x-api-key", master + "m"}}))) << n;
    EXPECT_FALSE(auth.allows(request_with({{"x-api-key", master.substr(1)}}))) << n;
    EXPECT_FALSE(auth.allows(request_with({{"x-api-key", kMaster}}))) << n;
    Authenticator short_master(kMaster);
    EXPECT_FALSE(short_master.allows(request_with({{"x-api-key", master}}))) << n;
    EXPECT_TRUE(Authenticator::keys_equal(master, master)) << n;
    EXPECT_FALSE(Authenticator::keys_equal(master, master + "m")) << n;
    EXPECT_FALSE(Authenticator::keys_equal(master, kMaster)) << n;
  }
}

TEST(AuthenticatorTest, KeysWithEmbeddedNul) {
  using namespace std::string_view_literals;
  EXPECT_FALSE(Authenticator::keys_equal("ab\0c"sv, "ab\0d"sv));
  EXPECT_TRUE(Authenticator::keys_equal("ab\0c"sv, "ab\0c"sv));
  EXPECT_FALSE(Authenticator::keys_equal("ab\0c"sv, "ab"sv));
}

}  // namespace
TEST(AuthenticatorTest, OtherAuthorizationSchemeLeavesKeyHeadersToSpeak) {
  sy::auth::Authenticator auth("sk-master-1234");
  EXPECT_TRUE(
      auth.allows(request_with({{"Authorization", "Basic dXNlcjpwYXNz"}, {"x-api-key", "sk-master-1234"}})));
  EXPECT_FALSE(auth.allows(request_with({{"Authorization", "Basic dXNlcjpwYXNz"}})));
}

}  // namespace sy::auth
