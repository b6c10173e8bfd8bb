// Unit tests for the AWS credential chain of the Bedrock provider: the profile file format, Expiration and
// the refresh rule, STS and credential JSON answers, container endpoint rules, the order of the sources, and
// each network source against a loopback stand-in served on the same io_context as the chain.
#include "coro_test_support.h"
#include "providers/bedrock/credentials.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace sy::providers::bedrock {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace bj = boost::json;
using test::store_result;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using TimePoint = SystemClock::time_point;

// Values that must never show in an error message.
constexpr std::string_view kSecret = "SECRET-wJalrXUtnFEMI-K7MDENG";
constexpr std::string_view kToken = "TOKEN-FwoGZXIvYXdzEJr";

// ---- fakes ----

// Environment, files and clock for one chain. Files count their reads.
struct World {
  std::map<std::string, std::string, std::less<>> env{
      {"HOME", "/home/test"},
      {"AWS_EC2_METADATA_DISABLED", "true"},  // never reach a real instance metadata service from a test
  };
  std::map<std::string, std::string> files;
  std::optional<TimePoint> clock;  // unset: the real clock
  std::chrono::seconds failure_retry{0};

  mutable std::mutex mutex;
  mutable std::map<std::string, int> reads;

  int read_count(const std::string& path) const {
    std::lock_guard lock(mutex);
    auto it = reads.find(path);
    return it == reads.end() ? 0 : it->second;
  }

  ChainOptions options() {
    ChainOptions o;
    o.env = [this](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    o.read_file = [this](const std::string& path) -> std::optional<std::string> {
      std::lock_guard lock(mutex);
      ++reads[path];
      auto it = files.find(path);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
    o.now = [this] { return clock ? *clock : SystemClock::now(); };
    o.failure_retry = failure_retry;
    return o;
  }
};

config::Deployment deployment(bj::object extra = {}) {
  config::Deployment d;
  d.model_name = "claude";
  d.params.model = "bedrock/anthropic.claude-3-5-haiku-20241022-v1:0";
  d.params.provider = "bedrock";
  d.params.provider_model = "anthropic.claude-3-5-haiku-20241022-v1:0";
  d.info.id = "claude-0";
  d.params.extra = std::move(extra);
  return d;
}

TimePoint at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return TimePoint(std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d)) +
                   std::chrono::hours(hh) + std::chrono::minutes(mm) + std::chrono::seconds(ss));
}

std::string iso(TimePoint t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss hms(seconds - days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

void expect_no_secret(const std::string& text) {
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
}

// ---- running coroutines ----

// Runs `work` on `io` (which may also serve stand-ins) until it completes.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> work) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, store_result(std::move(work), out), [&](std::exception_ptr e) { failure = e; });
  io.restart();
  while (!out && !failure) {
    if (io.run_one() == 0) break;
  }
  if (failure) std::rethrow_exception(failure);
  if (!out) throw std::runtime_error("the coroutine did not complete");
  return std::move(*out);
}

// ---- a loopback HTTP stand-in on the test's io_context ----

struct Seen {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Reply {
  unsigned status = 200;
  std::string body;
};

// Answers every request with `handler`, then closes the connection (so the client pools nothing across
// tests).
class StandIn {
 public:
  using Handler = std::function<Reply(const Seen&)>;

  StandIn(asio::io_context& io, Handler handler)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), handler_(std::move(handler)) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  ~StandIn() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

  std::string url(std::string_view path = "") const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + std::string(path);
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> request;
    auto [rec, rn] = co_await bhttp::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    Seen seen;
    seen.method = std::string(request.method_string());
    seen.target = std::string(request.target());
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers[name] = std::string(field.value());
    }
    seen.body = request.body();
    const Reply reply = handler_(seen);
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(std::move(seen));
    }
    bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(reply.status), 11};
    response.keep_alive(false);
    response.body() = reply.body;
    response.prepare_payload();
    auto [wec, wn] = co_await bhttp::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
    (void)wec;
    (void)wn;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  tcp::acceptor acceptor_;
  Handler handler_;
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
};

// application/x-www-form-urlencoded into a map.
std::map<std::string, std::string> parse_form(std::string_view body) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view pair = body.substr(pos, amp - pos);
    const std::size_t eq = pair.find('=');
    if (!pair.empty())
      out[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    pos = amp + 1;
  }
  return out;
}

std::string sts_xml(std::string_view id, std::string_view secret, std::string_view token,
                    std::string_view expiration) {
  return R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:llm:switchyard</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/bedrock-invoke/switchyard</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:switchyard</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>)" +
         std::string(token) + R"(</SessionToken>
      <SecretAccessKey>)" +
         std::string(secret) + R"(</SecretAccessKey>
      <Expiration>)" +
         std::string(expiration) + R"(</Expiration>
      <AccessKeyId>)" +
         std::string(id) + R"(</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)";
}

std::string credentials_json(std::string_view id, std::string_view expiration, bool imds = false) {
  bj::object o;
  if (imds) {
    o["Code"] = "Success";
    o["Type"] = "AWS-HMAC";
  }
  o["AccessKeyId"] = std::string(id);
  o["SecretAccessKey"] = std::string(kSecret);
  o["Token"] = std::string(kToken);
  o["Expiration"] = std::string(expiration);
  return bj::serialize(o);
}

// =====================================================================================================
// Profile files
// =====================================================================================================

TEST(AwsProfileFileTest, CredentialsFileProfiles) {
  const auto f = parse_profile_file(
      "[default]\n"
      "aws_access_key_id = AKIADEFAULT\n"
      "aws_secret_access_key = s1\n"
      "\n"
      "[dev]\n"
      "aws_access_key_id=AKIADEV\n"
      "aws_secret_access_key=s2\n"
      "aws_session_token=t2\n",
      ProfileFileKind::credentials);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.profiles.size(), 2u);
  EXPECT_EQ(f.profiles.at("default").at("aws_access_key_id"), "AKIADEFAULT");
  EXPECT_EQ(f.profiles.at("dev").at("aws_secret_access_key"), "s2");
  EXPECT_EQ(f.profiles.at("dev").at("aws_session_token"), "t2");
}

TEST(AwsProfileFileTest, ConfigFileSections) {
  const auto f = parse_profile_file(
      "[default]\n"
      "region = us-east-1\n"
      "[profile dev]\n"
      "region = eu-west-1\n"
      "[profile\t  spaced ]\n"
      "region = ap-south-1\n"
      "[bare]\n"  // not a profile in the config file
      "region = x\n"
      "[sso-session corp]\n"
      "sso_start_url = https://corp.awsapps.com/start\n"
      "[profilenospace]\n"
      "region = y\n",
      ProfileFileKind::config);
  ASSERT_TRUE(f.error.empty()) << f.error;
  EXPECT_EQ(f.profiles.size(), 3u);
  EXPECT_EQ(f.profiles.at("default").at("region"), "us-east-1");
  EXPECT_EQ(f.profiles.at("dev").at("region"), "eu-west-1");
  EXPECT_EQ(f.profiles.at("spaced").at("region"), "ap-south-1");
  EXPECT_FALSE(f.profiles.contains("bare"));
  EXPECT_FALSE(f.profiles.contains("corp"));
  EXPECT_FALSE(f.profiles.contains("profilenospace"));
}

TEST(AwsProfileFileTest, ProfileDefaultWinsOverDefaultInConfig) {
  const auto f =
      parse_profile_file("[profile default]\nregion = a\n[default]\nregion = b\n", ProfileFileKind::config);
  ASSERT_TRUE(f.error.empty()) << f.error;
  EXPECT_EQ(f.profiles.at("default").at("region"), "a");
  // In the credentials file "profile x" is no profile name at all.
  const auto c = parse_profile_file("[profile dev]\naws_access_key_id = A\n", ProfileFileKind::credentials);
  EXPECT_TRUE(c.profiles.empty());
}

TEST(AwsProfileFileTest, CommentsAndWhitespace) {
  const auto f = parse_profile_file(
      "# a comment\n"
      "; another comment\n"
      "[default] # comment after the header\n"
      "aws_access_key_id = AKIA1 # trailing comment\n"
      "aws_secret_access_key = abc#def;ghi\n"  // no whitespace before # or ;: part of the value
      "aws_session_token\t=\ttok ; trailing\n"
      "region=us-west-2\n"
      "\t\n"
      "[dev];comment\n"
      "x = 1\n",
      ProfileFileKind::credentials);
  ASSERT_TRUE(f.error.empty()) << f.error;
  const Profile& p = f.profiles.at("default");
  EXPECT_EQ(p.at("aws_access_key_id"), "AKIA1");
  EXPECT_EQ(p.at("aws_secret_access_key"), "abc#def;ghi");
  EXPECT_EQ(p.at("aws_session_token"), "tok");
  EXPECT_EQ(p.at("region"), "us-west-2");
  EXPECT_TRUE(f.profiles.contains("dev"));
}

TEST(AwsProfileFileTest, KeysAreCaseInsensitiveProfileNamesAreNot) {
  const auto f = parse_profile_file("[Dev]\nAWS_Access_Key_ID = AKIA2\nAws_Secret_Access_Key = s\n",
                                    ProfileFileKind::credentials);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_TRUE(f.profiles.contains("Dev"));
  EXPECT_FALSE(f.profiles.contains("dev"));
  EXPECT_EQ(f.profiles.at("Dev").at("aws_access_key_id"), "AKIA2");
  EXPECT_EQ(f.profiles.at("Dev").at("aws_secret_access_key"), "s");
}

TEST(AwsProfileFileTest, CrlfContinuationsSubSettingsAndRepeats) {
  const auto f = parse_profile_file(
      "[profile dev]\r\n"
      "s3 =\r\n"
      "  max_concurrent_requests = 20\r\n"
      "region = us-\r\n"
      "\twest-2\r\n"
      "aws_access_key_id = A\r\n"
      "[profile dev]\r\n"
      "aws_access_key_id = B\r\n",
      ProfileFileKind::config);
  ASSERT_TRUE(f.error.empty()) << f.error;
  const Profile& p = f.profiles.at("dev");
  EXPECT_EQ(p.at("region"), "us-\nwest-2");
  EXPECT_EQ(p.at("s3"), "\nmax_concurrent_requests = 20");
  EXPECT_EQ(p.at("aws_access_key_id"), "B");  // repeated sections merge, later values win
  EXPECT_FALSE(p.contains("max_concurrent_requests"));
}

TEST(AwsProfileFileTest, MalformedFilesNameTheLineNotItsText) {
  struct Case {
    std::string text;
    std::string line;
  };
  const std::string secret(kSecret);
  for (const Case& c : {
           Case{"aws_secret_access_key = " + secret + "\n", "line 1:"},
           Case{"[default]\n" + secret + "\n", "line 2:"},
           Case{"[default\naws_secret_access_key = " + secret + "\n", "line 1:"},
           Case{"[default]\n = " + secret + "\n", "line 2:"},
           Case{"[default]\n\n= " + secret + "\n", "line 3:"},
       }) {
    const auto f = parse_profile_file(c.text, ProfileFileKind::credentials);
    EXPECT_EQ(f.error.rfind(c.line, 0), 0u) << c.text << " -> " << f.error;
    expect_no_secret(f.error);
    EXPECT_TRUE(f.profiles.empty());
  }
}

TEST(AwsProfileFileTest, ProfileCredentialsMergeAndRules) {
  const auto creds =
      parse_profile_file("[dev]\naws_secret_access_key = from-credentials\n", ProfileFileKind::credentials);
  const auto config = parse_profile_file(
      "[profile dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = from-config\nregion = us-east-1\n"
      "[profile region-only]\nregion = us-east-1\n"
      "[profile proc]\ncredential_process = /usr/bin/get-creds\n"
      "[profile sso]\nsso_session = corp\nsso_account_id = 123\nsso_role_name = Dev\n"
      "[profile role]\nrole_arn = arn:aws:iam::123:role/x\nsource_profile = dev\naws_access_key_id = A\n"
      "aws_secret_access_key = B\n"
      "[profile half]\naws_access_key_id = AKIAHALF\n"
      "[profile static-and-proc]\naws_access_key_id = AKIA3\naws_secret_access_key = s3\ncredential_process "
      "= x\n",
      ProfileFileKind::config);
  ASSERT_TRUE(config.error.empty()) << config.error;

  auto dev = profile_credentials(&creds, &config, "dev", false);
  ASSERT_TRUE(dev.found) << dev.reason;
  EXPECT_EQ(dev.found->credentials.access_key_id, "AKIADEV");
  EXPECT_EQ(dev.found->credentials.secret_access_key, "from-credentials");  // the credentials file wins
  EXPECT_FALSE(dev.found->expiration);

  auto region_only = profile_credentials(&creds, &config, "region-only", true);
  EXPECT_FALSE(region_only.found);
  EXPECT_FALSE(region_only.stop);  // no keys: the search goes on
  EXPECT_EQ(region_only.reason, "has no aws_access_key_id");

  auto proc = profile_credentials(&creds, &config, "proc", false);
  EXPECT_FALSE(proc.found);
  EXPECT_TRUE(proc.stop);
  EXPECT_NE(proc.reason.find("credential_process"), std::string::npos) << proc.reason;
  EXPECT_NE(proc.reason.find("not support"), std::string::npos) << proc.reason;

  auto sso = profile_credentials(&creds, &config, "sso", false);
  EXPECT_TRUE(sso.stop);
  EXPECT_NE(sso.reason.find("sso_"), std::string::npos) << sso.reason;

  auto role = profile_credentials(&creds, &config, "role", false);  // role_arn wins over the keys
  EXPECT_FALSE(role.found);
  EXPECT_TRUE(role.stop);
  EXPECT_NE(role.reason.find("role_arn"), std::string::npos) << role.reason;

  auto half = profile_credentials(&creds, &config, "half", false);
  EXPECT_TRUE(half.stop);
  EXPECT_EQ(half.reason, "aws_access_key_id is set but aws_secret_access_key is not");

  auto both = profile_credentials(&creds, &config, "static-and-proc", false);  // static keys win
  ASSERT_TRUE(both.found);
  EXPECT_EQ(both.found->credentials.access_key_id, "AKIA3");

  auto missing = profile_credentials(&creds, &config, "nope", false);
  EXPECT_FALSE(missing.found);
  EXPECT_FALSE(missing.stop);
  EXPECT_TRUE(profile_credentials(&creds, &config, "nope", true).stop);  // a named profile must exist
  EXPECT_TRUE(profile_credentials(nullptr, &config, "dev", false).found);
}

// =====================================================================================================
// Expiration, STS and JSON answers, endpoints
// =====================================================================================================

TEST(AwsExpirationTest, ParsesIso8601) {
  EXPECT_EQ(parse_iso8601("2024-05-01T12:00:00Z"), at(2024, 5, 1, 12));
  EXPECT_EQ(parse_iso8601("  2014-10-24T23:00:23Z\n"), at(2014, 10, 24, 23, 0, 23));
  EXPECT_EQ(parse_iso8601("2024-05-01t12:00:00z"), at(2024, 5, 1, 12));
  EXPECT_EQ(parse_iso8601("2024-05-01T12:00:00.250Z"), at(2024, 5, 1, 12) + 250ms);
  EXPECT_EQ(parse_iso8601("2024-05-01T14:30:00+02:30"), at(2024, 5, 1, 12));
  EXPECT_EQ(parse_iso8601("2024-05-01T10:00:00-0200"), at(2024, 5, 1, 12));
  EXPECT_EQ(parse_iso8601("2024-02-29T00:00:00Z"), at(2024, 2, 29));
  for (std::string_view bad : {"", "garbage", "2024-05-01", "2024-05-01T12:00:00", "2024-05-01T12:00Z",
                               "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T24:00:00Z",
                               "2024-05-01T12:00:00Zjunk", "2024-05-01T12:00:00.Z", "1714564800"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

TEST(AwsExpirationTest, RefreshFiveMinutesBeforeExpiry) {
  const TimePoint now = at(2024, 5, 1, 12);
  EXPECT_FALSE(needs_refresh(std::nullopt, now));  // long-term keys never expire
  EXPECT_FALSE(needs_refresh(now + 1h, now));
  EXPECT_FALSE(needs_refresh(now + 5min + 1s, now));
  EXPECT_TRUE(needs_refresh(now + 5min, now));
  EXPECT_TRUE(needs_refresh(now + 4min, now));
  EXPECT_TRUE(needs_refresh(now - 1min, now));
}

TEST(AwsStsResponseTest, ParsesCredentials) {
  const auto r = parse_sts_response(
      200, sts_xml("ASIAEXAMPLE", "wJalr/K7+MDENG&amp;x", "FwoG&lt;tok&gt;==", "2024-05-01T13:00:00Z"), "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().credentials.access_key_id, "ASIAEXAMPLE");
  EXPECT_EQ(r.value().credentials.secret_access_key, "wJalr/K7+MDENG&x");
  EXPECT_EQ(r.value().credentials.session_token, "FwoG<tok>==");
  EXPECT_EQ(r.value().expiration, at(2024, 5, 1, 13));
}

TEST(AwsStsResponseTest, ErrorsCarryCodeAndMessageButNoToken) {
  const std::string body = std::string(R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>
  <Message>Token )") + std::string(kToken) +
                           R"( is expired</Message></Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>)";
  const auto r = parse_sts_response(400, body, kToken);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 500);
  EXPECT_NE(r.error().message.find("HTTP 400"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("InvalidIdentityToken"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("[redacted]"), std::string::npos) << r.error().message;
  expect_no_secret(r.error().message);

  const auto missing = parse_sts_response(200, "<AssumeRoleWithWebIdentityResponse/>", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no Credentials"), std::string::npos);
  const auto no_key = parse_sts_response(200, sts_xml("", kSecret, kToken, "2024-05-01T13:00:00Z"), "");
  ASSERT_FALSE(no_key.ok());
  expect_no_secret(no_key.error().message);
  const auto bad_time = parse_sts_response(200, sts_xml("ASIA", kSecret, kToken, "tomorrow"), "");
  ASSERT_FALSE(bad_time.ok());
  EXPECT_NE(bad_time.error().message.find("Expiration"), std::string::npos);
  expect_no_secret(bad_time.error().message);
}

TEST(AwsCredentialsJsonTest, ContainerAndInstanceMetadataShapes) {
  const auto container = parse_credentials_json(credentials_json("ASIACONTAINER", "2024-05-01T13:00:00Z"));
  ASSERT_TRUE(container.ok()) << container.error().message;
  EXPECT_EQ(container.value().credentials.access_key_id, "ASIACONTAINER");
  EXPECT_EQ(container.value().credentials.secret_access_key, kSecret);
  EXPECT_EQ(container.value().credentials.session_token, kToken);
  EXPECT_EQ(container.value().expiration, at(2024, 5, 1, 13));

  const auto imds = parse_credentials_json(credentials_json("ASIAIMDS", "2024-05-01T13:00:00Z", true));
  ASSERT_TRUE(imds.ok());

  const auto no_expiry = parse_credentials_json(R"({"AccessKeyId":"AKIA","SecretAccessKey":"s"})");
  ASSERT_TRUE(no_expiry.ok());
  EXPECT_FALSE(no_expiry.value().expiration);
  EXPECT_EQ(no_expiry.value().credentials.session_token, "");

  for (const std::string& bad :
       {std::string("not json"), std::string("[]"),
        R"({"Code":"Failure","AccessKeyId":"A","SecretAccessKey":")" + std::string(kSecret) + "\"}",
        R"({"SecretAccessKey":")" + std::string(kSecret) + "\"}",
        R"({"AccessKeyId":"A","Token":")" + std::string(kToken) + "\"}",
        R"({"AccessKeyId":"A","SecretAccessKey":")" + std::string(kSecret) + R"(","Expiration":"soon"})"}) {
    const auto r = parse_credentials_json(bad);
    ASSERT_FALSE(r.ok()) << bad;
    expect_no_secret(r.error().message);
  }
}

config::EnvLookup env_of(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AwsContainerEndpointTest, RelativeAndFullUris) {
  EXPECT_FALSE(container_endpoint(env_of({})));

  auto relative =
      container_endpoint(env_of({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc?x=1"},
                                 {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/ignored"}}));
  ASSERT_TRUE(relative && relative->ok());
  EXPECT_EQ(relative->value().origin.host, "169.254.170.2");
  EXPECT_EQ(relative->value().origin.port, 80);
  EXPECT_FALSE(relative->value().origin.tls);
  EXPECT_EQ(relative->value().target, "/v2/credentials/abc?x=1");

  auto no_slash = container_endpoint(env_of({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials"}}));
  ASSERT_TRUE(no_slash);
  EXPECT_FALSE(no_slash->ok());

  auto full = [](std::string url) {
    return container_endpoint(env_of({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", std::move(url)}}));
  };
  for (const char* allowed :
       {"http://127.0.0.1:8080/creds", "http://127.1.2.3/creds", "http://localhost/creds",
        "http://LOCALHOST:9/x", "http://[::1]:9000/creds", "http://169.254.170.2/v2/x",
        "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials",
        "https://creds.example.com/v1", "https://10.0.0.1/creds"}) {
    auto r = full(allowed);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ok()) << allowed << ": " << r->error().message;
  }
  for (const char* refused : {"http://example.com/creds", "http://169.254.169.254/latest",
                              "http://10.0.0.1/creds", "http://169.254.170.3/", "http://[fd00:ec2::254]/",
                              "http://127.0.0.1.evil.com/", "ftp://127.0.0.1/creds", "not a url"}) {
    auto r = full(refused);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok()) << refused;
  }
  auto target = full("http://127.0.0.1:8080");
  ASSERT_TRUE(target && target->ok());
  EXPECT_EQ(target->value().target, "/");
}

TEST(AwsStsEndpointTest, RegionalGlobalAndOverride) {
  EXPECT_EQ(sts_endpoint(env_of({})).value(), "https://sts.amazonaws.com");
  EXPECT_EQ(sts_endpoint(env_of({{"AWS_REGION", "eu-west-1"}})).value(),
            "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(sts_endpoint(env_of({{"AWS_DEFAULT_REGION", "us-east-2"}})).value(),
            "https://sts.us-east-2.amazonaws.com");
  EXPECT_EQ(sts_endpoint(env_of({{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "us-east-2"}})).value(),
            "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(sts_endpoint(env_of({{"AWS_REGION", "cn-north-1"}})).value(),
            "https://sts.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(
      sts_endpoint(env_of({{"AWS_REGION", "eu-west-1"}, {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"}}))
          .value(),
      "http://127.0.0.1:9");
  EXPECT_FALSE(sts_endpoint(env_of({{"AWS_REGION", "evil.example.com/x#"}})).ok());
}

// =====================================================================================================
// The chain: order of the sources, errors, caching (no network: web identity and container unset, instance
// metadata disabled)
// =====================================================================================================

class AwsChainTest : public ::testing::Test {
 protected:
  Result<Credentials> resolve(const config::Deployment& d) { return run(io_, chain().resolve(d)); }
  CredentialChain& chain() {
    if (!chain_) chain_ = std::make_unique<CredentialChain>(world_.options());
    return *chain_;
  }

  asio::io_context io_;
  World world_;
  std::unique_ptr<CredentialChain> chain_;
};

bj::object params_keys(std::string id) {
  return bj::object{{"aws_access_key_id", id}, {"aws_secret_access_key", std::string(kSecret)}};
}

TEST_F(AwsChainTest, LitellmParamsWinOverEverything) {
  world_.env["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  world_.env["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  world_.files["/home/test/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n";
  bj::object extra = params_keys("AKIAPARAMS");
  extra["aws_session_token"] = std::string(kToken);
  const auto r = resolve(deployment(extra));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "AKIAPARAMS");
  EXPECT_EQ(r.value().secret_access_key, kSecret);
  EXPECT_EQ(r.value().session_token, kToken);
  EXPECT_EQ(world_.read_count("/home/test/.aws/credentials"), 0);  // nothing else is looked at
}

TEST_F(AwsChainTest, EnvironmentWinsOverProfile) {
  world_.env["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  world_.env["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  world_.env["AWS_SESSION_TOKEN"] = "env-token";
  world_.files["/home/test/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n";
  const auto r = resolve(deployment());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "AKIAENV");
  EXPECT_EQ(r.value().secret_access_key, "env-secret");
  EXPECT_EQ(r.value().session_token, "env-token");
}

TEST_F(AwsChainTest, EmptyEnvironmentVariablesCountAsUnset) {
  world_.env["AWS_ACCESS_KEY_ID"] = "";
  world_.env["AWS_SECRET_ACCESS_KEY"] = "";
  world_.files["/home/test/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n";
  const auto r = resolve(deployment());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "AKIAFILE");
}

TEST_F(AwsChainTest, ProfileSelection) {
  world_.files["/home/test/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s0\n"
      "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s1\n";
  world_.files["/home/test/.aws/config"] =
      "[profile ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = s2\naws_session_token = t2\n";
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "AKIADEFAULT");

  world_.env["AWS_PROFILE"] = "dev";
  chain_.reset();
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "AKIADEV");

  // aws_profile_name wins over AWS_PROFILE, and the config file is read too.
  const auto ops = resolve(deployment({{"aws_profile_name", "ops"}}));
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_EQ(ops.value().access_key_id, "AKIAOPS");
  EXPECT_EQ(ops.value().session_token, "t2");
}

TEST_F(AwsChainTest, ProfileNameInParamsSkipsEnvironmentKeys) {
  world_.env["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  world_.env["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  world_.files["/home/test/.aws/credentials"] =
      "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s1\n";
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "AKIAENV");
  EXPECT_EQ(resolve(deployment({{"aws_profile_name", "dev"}})).value().access_key_id, "AKIADEV");
}

TEST_F(AwsChainTest, FileLocationsFromEnvironment) {
  world_.env["AWS_SHARED_CREDENTIALS_FILE"] = "~/creds.ini";
  world_.env["AWS_CONFIG_FILE"] = "/etc/aws/config";
  world_.files["/home/test/creds.ini"] =
      "[default]\naws_access_key_id = AKIAMOVED\naws_secret_access_key = s\n";
  const auto r = resolve(deployment());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "AKIAMOVED");
  EXPECT_EQ(world_.read_count("/etc/aws/config"), 1);
  EXPECT_EQ(world_.read_count("/home/test/.aws/credentials"), 0);
}

TEST_F(AwsChainTest, NothingFoundNamesEverySourceInOrder) {
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_EQ(r.error().status, 500);
  EXPECT_EQ(r.error().code, "aws_credentials_unavailable");
  EXPECT_EQ(m.rfind("no AWS credentials found: tried litellm_params (no aws_access_key_id), ", 0), 0u) << m;
  std::size_t last = 0;
  for (const char* part :
       {"litellm_params (no aws_access_key_id)", "environment (AWS_ACCESS_KEY_ID not set)",
        "profile default (no file /home/test/.aws/credentials or /home/test/.aws/config)",
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set)",
        "container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set)",
        "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"}) {
    const std::size_t at_pos = m.find(part);
    ASSERT_NE(at_pos, std::string::npos) << part << " in " << m;
    EXPECT_GE(at_pos, last) << part;
    last = at_pos;
  }
  EXPECT_EQ(m.find("stops"), std::string::npos) << m;
}

TEST_F(AwsChainTest, ConfiguredSourceThatFailsStopsTheSearch) {
  world_.env["AWS_PROFILE"] = "missing";
  world_.files["/home/test/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("profile missing (not in /home/test/.aws/credentials)"), std::string::npos) << m;
  EXPECT_NE(m.find("stops"), std::string::npos) << m;
  EXPECT_EQ(m.find("web identity"), std::string::npos) << m;
}

TEST_F(AwsChainTest, UnsupportedProfileKindsAreClearErrors) {
  world_.files["/home/test/.aws/config"] =
      "[default]\ncredential_process = /opt/bin/creds --secret " + std::string(kSecret) + "\n";
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      r.error().message.find("profile default (uses credential_process, which Switchyard does not support"),
      std::string::npos)
      << r.error().message;
  expect_no_secret(r.error().message);
}

TEST_F(AwsChainTest, IncompleteKeysAreErrorsWithoutSecrets) {
  auto r = resolve(deployment({{"aws_secret_access_key", std::string(kSecret)}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("aws_secret_access_key is set but aws_access_key_id is not"),
            std::string::npos)
      << r.error().message;
  expect_no_secret(r.error().message);

  r = resolve(deployment({{"aws_access_key_id", 12345}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("aws_access_key_id must be a string"), std::string::npos)
      << r.error().message;

  world_.env["AWS_SESSION_TOKEN"] = std::string(kToken);
  world_.env["AWS_SECRET_ACCESS_KEY"] = std::string(kSecret);
  r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("environment (AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not)"),
            std::string::npos)
      << r.error().message;
  expect_no_secret(r.error().message);
}

TEST_F(AwsChainTest, NoSecretInAnyError) {
  const std::string secret(kSecret);
  const std::string token(kToken);
  std::vector<std::function<void(World&)>> setups = {
      [&](World& w) {
        w.files["/home/test/.aws/credentials"] = "[default]\naws_secret_access_key = " + secret + "\n";
      },
      [&](World& w) { w.files["/home/test/.aws/credentials"] = "[default]\n" + secret + "\n"; },
      [&](World& w) { w.files["/home/test/.aws/config"] = "[default]\nsso_start_url = " + secret + "\n"; },
      [&](World& w) {
        w.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/token";
        w.env["AWS_ROLE_ARN"] = "arn:aws:iam::123:role/r";
        w.env["AWS_ENDPOINT_URL_STS"] = "not a url " + token;
        w.files["/var/run/token"] = token;
      },
      [&](World& w) { w.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://example.com/" + token; },
      [&](World& w) {
        w.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:1/creds";
        w.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token + "\r\nX-Injected: 1";
      },
  };
  for (std::size_t i = 0; i < setups.size(); ++i) {
    World world;
    setups[i](world);
    CredentialChain chain(world.options());
    const auto r = run(io_, chain.resolve(deployment()));
    ASSERT_FALSE(r.ok()) << "setup " << i;
    SCOPED_TRACE("setup " + std::to_string(i) + ": " + r.error().message);
    expect_no_secret(r.error().message);
    EXPECT_EQ(r.error().to_json().find(secret), std::string::npos);
  }
}

TEST_F(AwsChainTest, RoleNameIsRefused) {
  world_.env["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  world_.env["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  for (const char* key : {"aws_role_name", "aws_session_name"}) {
    const auto r = resolve(deployment({{key, "arn:aws:iam::123:role/x"}}));
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.error().status, 500);
    EXPECT_EQ(r.error().code, "unsupported_aws_credentials");
    EXPECT_NE(r.error().message.find(key), std::string::npos);
  }
}

TEST_F(AwsChainTest, StaticProfileIsReadOnce) {
  world_.files["/home/test/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(resolve(deployment()).ok());
  EXPECT_EQ(world_.read_count("/home/test/.aws/credentials"), 1);
  EXPECT_EQ(world_.read_count("/home/test/.aws/config"), 1);
}

TEST_F(AwsChainTest, FailuresAreCachedBriefly) {
  world_.clock = at(2024, 5, 1, 12);
  world_.failure_retry = 5s;
  EXPECT_FALSE(resolve(deployment()).ok());
  EXPECT_FALSE(resolve(deployment()).ok());
  EXPECT_EQ(world_.read_count("/home/test/.aws/credentials"), 1);
  // The file appears; after the retry delay it is found.
  world_.files["/home/test/.aws/credentials"] =
      "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
  *world_.clock += 6s;
  EXPECT_TRUE(resolve(deployment()).ok());
  EXPECT_EQ(world_.read_count("/home/test/.aws/credentials"), 2);
}

TEST(AwsCredentialsForTest, UsesLitellmParams) {
  asio::io_context io;
  const config::Deployment d = deployment(params_keys("AKIAPARAMS"));
  const auto r = run(io, credentials_for(d));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "AKIAPARAMS");
  EXPECT_EQ(r.value().session_token, "");
}

// =====================================================================================================
// Network sources against loopback stand-ins
// =====================================================================================================

class AwsNetworkTest : public AwsChainTest {
 protected:
  void web_identity(const StandIn& sts) {
    world_.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
    world_.env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/bedrock-invoke";
    world_.env["AWS_ENDPOINT_URL_STS"] = sts.url();
    world_.files["/var/run/secrets/eks.amazonaws.com/serviceaccount/token"] = std::string(kToken) + "+/=&%\n";
  }
  void container(const StandIn& agent) {
    world_.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = agent.url("/v1/credentials");
    world_.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "/var/run/secrets/pods.eks.amazonaws.com/token";
    world_.files["/var/run/secrets/pods.eks.amazonaws.com/token"] = "pod-identity-token\n";
  }
  void instance_metadata(const StandIn& imds) {
    world_.env.erase("AWS_EC2_METADATA_DISABLED");
    world_.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url("/");
  }
};

// An STS stand-in that checks the request and answers credentials valid for `lifetime`.
StandIn::Handler sts_handler(std::chrono::seconds lifetime, std::atomic<int>* serial = nullptr) {
  return [lifetime, serial](const Seen& s) -> Reply {
    if (s.method != "POST" || s.target != "/") return {404, ""};
    if (!s.header("authorization").empty())
      return {400, "<ErrorResponse><Error><Code>Signed</Code></Error></ErrorResponse>"};
    const auto form = parse_form(s.body);
    auto field = [&](const char* k) {
      auto it = form.find(k);
      return it == form.end() ? std::string() : it->second;
    };
    if (field("Action") != "AssumeRoleWithWebIdentity" || field("Version") != "2011-06-15" ||
        field("RoleArn") != "arn:aws:iam::123456789012:role/bedrock-invoke" ||
        field("WebIdentityToken") != std::string(kToken) + "+/=&%" || field("RoleSessionName").empty()) {
      return {400,
              "<ErrorResponse><Error><Code>ValidationError</Code><Message>bad request</Message></Error>"
              "</ErrorResponse>"};
    }
    const int n = serial ? ++*serial : 1;
    return {200, sts_xml("ASIASTS" + std::to_string(n), kSecret, kToken, iso(SystemClock::now() + lifetime))};
  };
}

TEST_F(AwsNetworkTest, WebIdentityAssumesTheRoleThroughSts) {
  StandIn sts(io_, sts_handler(1h));
  web_identity(sts);
  world_.env["AWS_ROLE_SESSION_NAME"] = "gateway-1";
  const auto r = resolve(deployment());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "ASIASTS1");
  EXPECT_EQ(r.value().secret_access_key, kSecret);
  EXPECT_EQ(r.value().session_token, kToken);
  const auto seen = sts.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(parse_form(seen[0].body).at("RoleSessionName"), "gateway-1");
  EXPECT_EQ(seen[0].header("content-type").rfind("application/x-www-form-urlencoded", 0), 0u);

  // Valid for an hour: the second request is answered from the cache, the token file is not read again.
  ASSERT_TRUE(resolve(deployment()).ok());
  EXPECT_EQ(sts.count(), 1u);
  EXPECT_EQ(world_.read_count("/var/run/secrets/eks.amazonaws.com/serviceaccount/token"), 1);
}

TEST_F(AwsNetworkTest, WebIdentityDefaultSessionName) {
  StandIn sts(io_, sts_handler(1h));
  web_identity(sts);
  ASSERT_TRUE(resolve(deployment()).ok());
  ASSERT_EQ(sts.count(), 1u);
  EXPECT_EQ(parse_form(sts.seen()[0].body).at("RoleSessionName").rfind("switchyard-", 0), 0u);
}

TEST_F(AwsNetworkTest, WebIdentityComesBeforeContainer) {
  StandIn sts(io_, sts_handler(1h));
  StandIn agent(io_, [](const Seen&) {
    return Reply{200, credentials_json("ASIACONTAINER", "2099-01-01T00:00:00Z")};
  });
  web_identity(sts);
  container(agent);
  const auto r = resolve(deployment());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "ASIASTS1");
  EXPECT_EQ(agent.count(), 0u);
}

TEST_F(AwsNetworkTest, StsRefusalStopsTheSearchWithoutLeakingTheToken) {
  StandIn sts(io_, [](const Seen& s) {
    const std::string token = parse_form(s.body)["WebIdentityToken"];
    return Reply{403,
                 "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized "
                 "to perform sts:AssumeRoleWithWebIdentity with " +
                     token + "</Message></Error></ErrorResponse>"};
  });
  StandIn agent(io_, [](const Seen&) {
    return Reply{200, credentials_json("ASIACONTAINER", "2099-01-01T00:00:00Z")};
  });
  web_identity(sts);
  container(agent);
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("web identity (STS answered HTTP 403: AccessDenied: Not authorized"), std::string::npos)
      << m;
  expect_no_secret(m);
  EXPECT_EQ(agent.count(), 0u);  // a configured source that fails ends the search
}

TEST_F(AwsNetworkTest, WebIdentityTokenFileMissing) {
  StandIn sts(io_, sts_handler(1h));
  web_identity(sts);
  world_.files.clear();
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("web identity (cannot read the token file "), std::string::npos)
      << r.error().message;
  EXPECT_EQ(sts.count(), 0u);
}

// A container agent that requires `authorization`.
StandIn::Handler agent_handler(std::string authorization, std::chrono::seconds lifetime,
                               std::atomic<int>* serial = nullptr) {
  return [authorization, lifetime, serial](const Seen& s) -> Reply {
    if (s.method != "GET" || s.target != "/v1/credentials") return {404, ""};
    if (s.header("authorization") != authorization) return {401, R"({"message":"unauthorized"})"};
    const int n = serial ? ++*serial : 1;
    return {200, credentials_json("ASIACONTAINER" + std::to_string(n), iso(SystemClock::now() + lifetime))};
  };
}

TEST_F(AwsNetworkTest, ContainerCredentialsSendTheAuthorizationTokenFromItsFile) {
  StandIn agent(io_, agent_handler("pod-identity-token", 1h));
  container(agent);
  world_.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "the-file-wins";
  const auto r = resolve(deployment());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "ASIACONTAINER1");
  EXPECT_EQ(r.value().session_token, kToken);
  ASSERT_EQ(agent.count(), 1u);
  EXPECT_EQ(agent.seen()[0].header("authorization"), "pod-identity-token");
}

TEST_F(AwsNetworkTest, ContainerCredentialsWithTokenVariable) {
  StandIn agent(io_, agent_handler("Basic ecs-token", 1h));
  world_.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = agent.url("/v1/credentials");
  world_.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Basic ecs-token";
  ASSERT_TRUE(resolve(deployment()).ok());

  // A wrong token: the agent refuses, and the error says so without the token.
  world_.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = std::string(kToken);
  chain_.reset();
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("container (127.0.0.1 answered HTTP 401)"), std::string::npos)
      << r.error().message;
  expect_no_secret(r.error().message);
}

TEST_F(AwsNetworkTest, ContainerHostNotAllowed) {
  world_.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://metadata.example.com/v1/credentials";
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("names host metadata.example.com"), std::string::npos)
      << r.error().message;
}

// IMDSv2: reads without the session token are refused.
class MetadataService {
 public:
  explicit MetadataService(asio::io_context& io, std::chrono::seconds lifetime = 1h)
      : lifetime_(lifetime), server_(io, [this](const Seen& s) { return answer(s); }) {}
  const StandIn& server() const { return server_; }
  bool token_enabled = true;
  std::string role = "bedrock-node-role";

 private:
  Reply answer(const Seen& s) {
    if (s.target == "/latest/api/token") {
      if (s.method != "PUT" || s.header("x-aws-ec2-metadata-token-ttl-seconds") != "21600") return {400, ""};
      if (!token_enabled) return {403, ""};
      return {200, "imds-session-token"};
    }
    if (s.method != "GET" || s.header("x-aws-ec2-metadata-token") != "imds-session-token") return {401, ""};
    if (s.target == "/latest/meta-data/iam/security-credentials/") {
      if (role.empty()) return {404, ""};
      return {200, role + "\n"};
    }
    if (s.target == "/latest/meta-data/iam/security-credentials/" + role) {
      return {200, credentials_json("ASIAIMDS", iso(SystemClock::now() + lifetime_), true)};
    }
    return {404, ""};
  }

  std::chrono::seconds lifetime_;
  StandIn server_;
};

TEST_F(AwsNetworkTest, MetadataStandInRefusesReadsWithoutToken) {
  MetadataService imds(io_);
  auto origin = http::parse_origin(imds.server().url());
  ASSERT_TRUE(origin.ok());
  http::ClientRequest request;
  request.method = "GET";
  request.origin = &origin.value();
  request.target = "/latest/meta-data/iam/security-credentials/";
  const auto response = run(io_, http::fetch(request));
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response.value().status, 401);
}

TEST_F(AwsNetworkTest, InstanceMetadataTokenDance) {
  MetadataService imds(io_);
  instance_metadata(imds.server());
  const auto r = resolve(deployment());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().access_key_id, "ASIAIMDS");
  EXPECT_EQ(r.value().secret_access_key, kSecret);
  EXPECT_EQ(r.value().session_token, kToken);
  const auto seen = imds.server().seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].target, "/latest/api/token");
  EXPECT_EQ(seen[1].target, "/latest/meta-data/iam/security-credentials/");
  EXPECT_EQ(seen[2].target, "/latest/meta-data/iam/security-credentials/bedrock-node-role");
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_EQ(seen[i].header("x-aws-ec2-metadata-token"), "imds-session-token");
}

TEST_F(AwsNetworkTest, InstanceMetadataWithoutTokenDoesNotFallBackToV1) {
  MetadataService imds(io_);
  imds.token_enabled = false;
  instance_metadata(imds.server());
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("instance metadata (127.0.0.1 answered the token request with HTTP 403)"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(imds.server().count(), 1u);  // no read without a token
}

TEST_F(AwsNetworkTest, InstanceMetadataWithoutRole) {
  MetadataService imds(io_);
  imds.role.clear();
  instance_metadata(imds.server());
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("instance metadata (no IAM role is attached to the instance)"),
            std::string::npos)
      << r.error().message;
}

TEST_F(AwsNetworkTest, InstanceMetadataUnreachableFailsFast) {
  // A port nothing listens on: the connection is refused at once.
  tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = probe.local_endpoint().port();
  probe.close();
  world_.env.erase("AWS_EC2_METADATA_DISABLED");
  world_.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:" + std::to_string(port);
  const auto started = std::chrono::steady_clock::now();
  const auto r = resolve(deployment());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("instance metadata (127.0.0.1: "), std::string::npos) << r.error().message;
}

// ---- caching and refresh ----

TEST_F(AwsNetworkTest, ShortExpirationIsFetchedAgainLongIsCached) {
  std::atomic<int> short_serial{0};
  StandIn short_lived(io_, agent_handler("pod-identity-token", 2min, &short_serial));
  container(short_lived);
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIACONTAINER1");
  EXPECT_EQ(resolve(deployment()).value().access_key_id,
            "ASIACONTAINER2");  // under 5 minutes left: refreshed
  EXPECT_EQ(short_lived.count(), 2u);
  EXPECT_EQ(world_.read_count("/var/run/secrets/pods.eks.amazonaws.com/token"), 2);  // once per refresh

  std::atomic<int> long_serial{0};
  StandIn long_lived(io_, agent_handler("pod-identity-token", 1h, &long_serial));
  container(long_lived);
  chain_.reset();
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIACONTAINER1");
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIACONTAINER1");
  EXPECT_EQ(long_lived.count(), 1u);
}

TEST_F(AwsNetworkTest, RefreshBeforeExpiryAndKeepWorkingCredentialsWhenRefreshFails) {
  // The clock is injected: the stand-in answers credentials expiring at 13:00.
  std::atomic<int> serial{0};
  std::atomic<bool> failing{false};
  StandIn sts(io_, [&](const Seen&) -> Reply {
    if (failing)
      return {503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>"};
    return {200, sts_xml("ASIA" + std::to_string(++serial), kSecret, kToken, "2024-05-01T13:00:00Z")};
  });
  web_identity(sts);
  world_.clock = at(2024, 5, 1, 12);
  world_.failure_retry = 30s;
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIA1");
  *world_.clock = at(2024, 5, 1, 12, 54, 59);  // more than 5 minutes left
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIA1");
  EXPECT_EQ(sts.count(), 1u);
  *world_.clock = at(2024, 5, 1, 12, 55);  // 5 minutes left: refreshed
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIA2");
  EXPECT_EQ(sts.count(), 2u);

  // STS fails while the current credentials still work: they stay in use, and STS is asked again after the
  // retry delay, not on every request.
  failing = true;
  *world_.clock = at(2024, 5, 1, 12, 56);
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIA2");
  EXPECT_EQ(sts.count(), 3u);
  *world_.clock = at(2024, 5, 1, 12, 56, 10);
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIA2");
  EXPECT_EQ(sts.count(), 3u);

  // Expired and STS still down: an error.
  *world_.clock = at(2024, 5, 1, 13, 0, 1);
  const auto r = resolve(deployment());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("STS answered HTTP 503: ServiceUnavailable"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(sts.count(), 4u);
}

TEST_F(AwsNetworkTest, ProfilesAreCachedSeparately) {
  std::atomic<int> serial{0};
  StandIn agent(io_, agent_handler("pod-identity-token", 1h, &serial));
  container(agent);
  world_.files["/home/test/.aws/credentials"] =
      "[static]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = s\n";
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIACONTAINER1");
  EXPECT_EQ(resolve(deployment({{"aws_profile_name", "static"}})).value().access_key_id, "AKIASTATIC");
  EXPECT_EQ(resolve(deployment()).value().access_key_id, "ASIACONTAINER1");
  EXPECT_EQ(agent.count(), 1u);
}

TEST_F(AwsNetworkTest, ConcurrentFirstRequestsAllSucceed) {
  std::atomic<int> serial{0};
  StandIn agent(io_, agent_handler("pod-identity-token", 1h, &serial));
  container(agent);
  CredentialChain& c = chain();
  constexpr int kRequests = 16;
  const config::Deployment d = deployment();
  std::vector<std::optional<Result<Credentials>>> results(kRequests);
  std::atomic<int> done{0};
  for (int i = 0; i < kRequests; ++i) {
    asio::co_spawn(io_, store_result(c.resolve(d), results[static_cast<std::size_t>(i)]),
                   [&](std::exception_ptr) {
                     if (++done == kRequests) io_.stop();
                   });
  }
  io_.restart();
  std::thread second([&] { io_.run(); });
  io_.run();
  second.join();
  ASSERT_EQ(done.load(), kRequests);
  for (const auto& r : results) {
    ASSERT_TRUE(r && r->ok()) << (r ? r->error().message : "no result");
    EXPECT_EQ(r->value().access_key_id.rfind("ASIACONTAINER", 0), 0u);
  }
  EXPECT_GE(agent.count(), 1u);
  EXPECT_LE(agent.count(), static_cast<std::size_t>(kRequests));
  const std::size_t fetched = agent.count();
  ASSERT_TRUE(resolve(d).ok());  // then cached
  EXPECT_EQ(agent.count(), fetched);
}

}  // namespace
}  // namespace sy::providers::bedrock
