// Unit tests for SigV4 signing: AWS's published test suite (canonical request, string to sign and signature
// for each case), the documented IAM example with its derived signing key, and Bedrock-shaped requests whose
// model ids carry ':' (and '/' in ARNs), checked against values computed by an independent SigV4
// implementation.
#include "providers/bedrock/sigv4.h"

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sy::providers::bedrock {
namespace {

constexpr std::string_view kAccessKey = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kSuiteDate = "20150830T123600Z";

std::string to_hex(const SigningKey& key) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : key) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

std::string header_value(const SignedHeaders& signed_headers, std::string_view name) {
  for (const auto& [n, v] : signed_headers.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

// One case of the SigV4 test suite (region us-east-1, service "service", host example.amazonaws.com, the
// credentials above, 2015-08-30T12:36:00Z). The suite's request lines carry paths unencoded ("/example
// space/"); the canonical URI is that path encoded once more, which is what canonical_uri does to any path it
// is given.
struct SuiteCase {
  const char* name;
  const char* method;
  const char* path;
  const char* query;
  std::vector<std::pair<std::string, std::string>> headers;
  const char* payload;
  bool sign_body;  // X-Amz-Content-Sha256 signed and sent
  bool normalize;
  const char* session_token;
  const char* canonical_request;
  const char* string_to_sign;
  const char* signature;
};

// clang-format off
// One suite case per block, as AWS publishes them.
// The session token of the suite's post-sts-header-before case.
#define SUITE_STS_TOKEN                                                                                       \
  "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YU" \
  "uwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8" \
  "YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2I" \
  "CCR/oLxBA=="

const std::vector<SuiteCase>& suite() {
  static const std::vector<SuiteCase> cases = {
    {"get-vanilla", "GET", "/", "",
     {},
     "", false, true, "",
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1",
     {},
     "", false, true, "",
     "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-order-encoded", "GET", "/", "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
     {},
     "", false, true, "",
     "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
     "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
    {"get-vanilla-utf8-query", "GET", "/", "\xE1\x88\xB4=bar",
     {},
     "", false, true, "",
     "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\neb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-vanilla-query-unreserved", "GET", "/", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {},
     "", false, true, "",
     "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"post-vanilla", "POST", "/", "",
     {},
     "", false, true, "",
     "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-vanilla-query", "POST", "/", "Param1=value1",
     {},
     "", false, true, "",
     "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-x-www-form-urlencoded", "POST", "/", "",
     {{"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "13"}},
     "Param1=value1", true, true, "",
     "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nb1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
     "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
    {"post-x-www-form-urlencoded-parameters", "POST", "/", "",
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}, {"Content-Length", "13"}},
     "Param1=value1", true, true, "",
     "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:example.amazonaws.com\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d",
     "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"},
    {"get-header-value-trim", "GET", "/", "",
     {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
     "", false, true, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-header-key-duplicate", "GET", "/", "",
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
     "", false, true, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ndc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-order", "GET", "/", "",
     {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"}, {"My-Header1", "value2"}},
     "", false, true, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"post-header-key-sort", "POST", "/", "",
     {{"My-Header1", "value1"}},
     "", false, true, "",
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-header-value-case", "POST", "/", "",
     {{"My-Header1", "VALUE1"}},
     "", false, true, "",
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {"get-utf8", "GET", "/\xE1\x88\xB4", "",
     {},
     "", false, true, "",
     "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "",
     {},
     "", false, true, "",
     "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-space-normalized", "GET", "/example space/", "",
     {},
     "", false, true, "",
     "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-space-unnormalized", "GET", "/example space/", "",
     {},
     "", false, false, "",
     "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-slashes-normalized", "GET", "//example//", "",
     {},
     "", false, true, "",
     "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ncb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"get-slashes-unnormalized", "GET", "//example//", "",
     {},
     "", false, false, "",
     "GET\n//example//\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240",
     "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
    {"get-slash-pointless-dot-normalized", "GET", "/./example", "",
     {},
     "", false, true, "",
     "GET\n/example\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
     "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
    {"get-relative-relative-normalized", "GET", "/example1/example2/../..", "",
     {},
     "", false, true, "",
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-relative-relative-unnormalized", "GET", "/example1/example2/../..", "",
     {},
     "", false, false, "",
     "GET\n/example1/example2/../..\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n76115030c0f3ff06c20fdff5ceb6d5e0b835a1743e00b94fea7c7f381269437b",
     "dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b"},
    {"post-sts-header-before", "POST", "/", "",
     {},
     "", false, true, SUITE_STS_TOKEN,
     "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:" SUITE_STS_TOKEN "\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    {"get-vanilla-with-session-token", "GET", "/", "",
     {},
     "", false, true, "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
  };
  return cases;
}
// clang-format on

#undef SUITE_STS_TOKEN

SigningInput suite_input(const SuiteCase& c) {
  SigningInput in;
  in.method = c.method;
  in.host = "example.amazonaws.com";
  in.path = c.path;
  in.query = c.query;
  in.headers = c.headers;
  in.payload = c.payload;
  in.region = "us-east-1";
  in.service = "service";
  in.amz_date = std::string(kSuiteDate);
  in.add_content_sha256 = c.sign_body;
  in.normalize_path = c.normalize;
  return in;
}

Credentials suite_credentials(const SuiteCase& c) {
  return Credentials{std::string(kAccessKey), std::string(kSecret), c.session_token};
}

class SigV4SuiteTest : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4SuiteTest, CanonicalRequestStringToSignAndSignatureMatch) {
  const SuiteCase& c = GetParam();
  const SigningInput in = suite_input(c);
  const Credentials credentials = suite_credentials(c);

  const std::string canonical = canonical_request(in, credentials);
  EXPECT_EQ(canonical, c.canonical_request);
  EXPECT_EQ(string_to_sign(in, canonical), c.string_to_sign);

  const SignedHeaders signed_headers = sign(in, credentials);
  EXPECT_EQ(signed_headers.signature, c.signature);
  // The canonical request's second-to-last line lists the signed headers.
  const std::size_t last = canonical.rfind('\n');
  const std::size_t before = canonical.rfind('\n', last - 1);
  const std::string signed_list = canonical.substr(before + 1, last - before - 1);
  EXPECT_EQ(
      header_value(signed_headers, "Authorization"),
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=" +
          signed_list + ", Signature=" + c.signature);
  EXPECT_EQ(header_value(signed_headers, "X-Amz-Date"), kSuiteDate);
}

INSTANTIATE_TEST_SUITE_P(SigV4, SigV4SuiteTest, ::testing::ValuesIn(suite()),
                         [](const ::testing::TestParamInfo<SuiteCase>& info) {
                           std::string name = info.param.name;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

TEST(SigV4Test, VanillaRequestGetsExactlyDateAndAuthorization) {
  const SignedHeaders signed_headers = sign(suite_input(suite().front()), suite_credentials(suite().front()));
  ASSERT_EQ(signed_headers.headers.size(), 2u);
  EXPECT_EQ(signed_headers.headers[0],
            (std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"}));
  EXPECT_EQ(signed_headers.headers[1],
            (std::pair<std::string, std::string>{
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"}));
}

TEST(SigV4Test, SessionTokenIsSentAndSigned) {
  SigningInput in = suite_input(suite().front());
  const Credentials credentials{std::string(kAccessKey), std::string(kSecret), "token-value"};
  const SignedHeaders signed_headers = sign(in, credentials);
  ASSERT_EQ(signed_headers.headers.size(), 3u);
  EXPECT_EQ(signed_headers.headers[1].first, "X-Amz-Security-Token");
  EXPECT_EQ(signed_headers.headers[1].second, "token-value");
  EXPECT_NE(header_value(signed_headers, "Authorization")
                .find("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
            std::string::npos);
}

TEST(SigV4Test, ContentSha256HeaderWhenAsked) {
  SigningInput in = suite_input(suite().front());
  in.payload = "Param1=value1";
  in.add_content_sha256 = true;
  const SignedHeaders signed_headers = sign(in, suite_credentials(suite().front()));
  EXPECT_EQ(header_value(signed_headers, "X-Amz-Content-Sha256"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  in.add_content_sha256 = false;
  EXPECT_EQ(header_value(sign(in, suite_credentials(suite().front())), "X-Amz-Content-Sha256"), "<absent>");
}

// The worked example of AWS's SigV4 documentation: IAM ListUsers, with its derived signing key, the hash of
// its canonical request and its signature.
TEST(SigV4Test, DocumentedIamExample) {
  SigningInput in;
  in.method = "GET";
  in.host = "iam.amazonaws.com";
  in.path = "/";
  in.query = "Action=ListUsers&Version=2010-05-08";
  in.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  in.region = "us-east-1";
  in.service = "iam";
  in.amz_date = "20150830T123600Z";
  const Credentials credentials{std::string(kAccessKey), std::string(kSecret), ""};

  EXPECT_EQ(to_hex(derive_signing_key(kSecret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  const std::string canonical = canonical_request(in, credentials);
  EXPECT_EQ(canonical,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(canonical), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(string_to_sign(in, canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  const SignedHeaders signed_headers = sign(in, credentials);
  EXPECT_EQ(signed_headers.signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(header_value(signed_headers, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

// A Converse call: the model id's ':' is sent as %3A, and the canonical URI encodes the sent path once more
// (%253A). Expected values computed independently (botocore's SigV4Auth, service "bedrock").
SigningInput converse_input() {
  SigningInput in;
  in.method = "POST";
  in.host = "bedrock-runtime.us-east-1.amazonaws.com";
  in.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  in.headers = {{"Content-Type", "application/json"}};
  in.payload = R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}]})";
  in.region = "us-east-1";
  in.service = "bedrock";
  in.amz_date = "20240307T101500Z";
  return in;
}

TEST(SigV4Test, BedrockConverseModelIdColonIsEncodedTwiceInCanonicalUri) {
  const SigningInput in = converse_input();
  const Credentials credentials{std::string(kAccessKey), std::string(kSecret), ""};
  const std::string canonical = canonical_request(in, credentials);
  EXPECT_EQ(canonical,
            "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\n"
            "content-type:application/json\nhost:bedrock-runtime.us-east-1.amazonaws.com\n"
            "x-amz-date:20240307T101500Z\n\ncontent-type;host;x-amz-date\n"
            "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54");
  EXPECT_EQ(string_to_sign(in, canonical),
            "AWS4-HMAC-SHA256\n20240307T101500Z\n20240307/us-east-1/bedrock/aws4_request\n"
            "70faac674ca1fc4fc89d8d8f5fbb23214994ec2020be7e9b8927b36c68955567");
  const SignedHeaders signed_headers = sign(in, credentials);
  EXPECT_EQ(signed_headers.signature, "bef373986f0688947b5ddbb9c0224e068bfc7673d4c6bf7228441bb470aea4ea");
  EXPECT_EQ(header_value(signed_headers, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240307/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=bef373986f0688947b5ddbb9c0224e068bfc7673d4c6bf7228441bb470aea4ea");
}

TEST(SigV4Test, BedrockConverseWithSessionToken) {
  const SigningInput in = converse_input();
  const Credentials credentials{std::string(kAccessKey), std::string(kSecret), "session-token-example"};
  const std::string canonical = canonical_request(in, credentials);
  EXPECT_EQ(canonical,
            "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\n"
            "content-type:application/json\nhost:bedrock-runtime.us-east-1.amazonaws.com\n"
            "x-amz-date:20240307T101500Z\nx-amz-security-token:session-token-example\n\n"
            "content-type;host;x-amz-date;x-amz-security-token\n"
            "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54");
  EXPECT_EQ(string_to_sign(in, canonical),
            "AWS4-HMAC-SHA256\n20240307T101500Z\n20240307/us-east-1/bedrock/aws4_request\n"
            "f3068ebf12387bcbc7d52f20845a012172161723ffb419029c0315ffb855dcb6");
  const SignedHeaders signed_headers = sign(in, credentials);
  EXPECT_EQ(signed_headers.signature, "7b00f310b3d3a1234dcd6584cc31732f0679932297c9748099bbd62c54394f67");
  EXPECT_EQ(header_value(signed_headers, "X-Amz-Security-Token"), "session-token-example");
}

TEST(SigV4Test, BedrockInferenceProfileArnStaysOneSegment) {
  // An ARN model id is sent with its ':' and '/' encoded, so it stays one path segment.
  EXPECT_EQ(canonical_uri("/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2F"
                          "us.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"),
            "/model/arn%253Aaws%253Abedrock%253Aus-west-2%253A123456789012%253Ainference-profile%252F"
            "us.anthropic.claude-3-haiku-20240307-v1%253A0/converse-stream");
}

TEST(SigV4Test, CanonicalUri) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/"), "/");
  EXPECT_EQ(canonical_uri("model/x/invoke"), "/model/x/invoke");
  EXPECT_EQ(canonical_uri("/a/b/../c/./d"), "/a/c/d");
  EXPECT_EQ(canonical_uri("/a/b/"), "/a/b/");
  EXPECT_EQ(canonical_uri("/../.."), "/");
  EXPECT_EQ(canonical_uri("/a b/%41"), "/a%20b/%2541");
  EXPECT_EQ(canonical_uri("/a//b", false), "/a//b");
  EXPECT_EQ(canonical_uri("a/./b", false), "/a/./b");
}

TEST(SigV4Test, CanonicalQuery) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
  EXPECT_EQ(canonical_query("flag"), "flag=");
  EXPECT_EQ(canonical_query("&&a=1&"), "a=1");
  EXPECT_EQ(canonical_query("k=a+b"), "k=a%2Bb");                  // '+' is a plus sign, not a space
  EXPECT_EQ(canonical_query("k=a%20b&j=x=y"), "j=x%3Dy&k=a%20b");  // escapes kept, '=' in a value encoded
  EXPECT_EQ(canonical_query("%e1%88%b4=%7e"), "%E1%88%B4=~");      // escapes normalised
  EXPECT_EQ(canonical_query("a=%zz&b=%4"), "a=%25zz&b=%254");      // a stray '%' is a literal
  EXPECT_EQ(canonical_query("prefix=a/b"), "prefix=a%2Fb");
}

TEST(SigV4Test, UriEncode) {
  EXPECT_EQ(uri_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(uri_encode("a b/c:d%"), "a%20b%2Fc%3Ad%25");
  EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(uri_encode("\xE1\x88\xB4"), "%E1%88%B4");
}

TEST(SigV4Test, SignerOwnHeadersAndEmptyNamesInTheInputAreIgnored) {
  SigningInput in = suite_input(suite().front());
  in.headers = {
      {"Host", "other.example"},     {"X-Amz-Date", "19990101T000000Z"},           {"authorization", "x"},
      {"X-Amz-Security-Token", "t"}, {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}, {"", "no name"},
      {"  ", "blank name"}};
  EXPECT_EQ(sign(in, suite_credentials(suite().front())).signature, suite().front().signature);
}

TEST(SigV4Test, HeaderNamesAreCaseInsensitiveAndValuesTrimmed) {
  SigningInput in = suite_input(suite().front());
  in.headers = {{"My-Header1", "a"}, {" my-header1 ", "\t b \t c "}, {"X-Zed", ""}};
  const std::string canonical = canonical_request(in, suite_credentials(suite().front()));
  EXPECT_NE(canonical.find("\nmy-header1:a,b c\n"), std::string::npos) << canonical;
  EXPECT_NE(canonical.find("\nx-zed:\n"), std::string::npos) << canonical;
  EXPECT_NE(canonical.find("\nhost;my-header1;x-amz-date;x-zed\n"), std::string::npos) << canonical;
}

TEST(SigV4Test, Sha256Hex) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("Param1=value1"), "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

TEST(SigV4Test, FormatAmzDate) {
  using namespace std::chrono;
  EXPECT_EQ(format_amz_date(system_clock::time_point{}), "19700101T000000Z");
  EXPECT_EQ(format_amz_date(sys_days{2015y / August / 30} + 12h + 36min + 789ms), "20150830T123600Z");
  EXPECT_EQ(format_amz_date(sys_days{2024y / February / 29} + 23h + 59min + 59s), "20240229T235959Z");
  EXPECT_EQ(format_amz_date(sys_days{2031y / December / 31} + 1h + 2min + 3s), "20311231T010203Z");
}

TEST(SigV4Test, SigningKeyCacheNeverMixesKeys) {
  const SigningKey a = derive_signing_key(kSecret, "20150830", "us-east-1", "iam");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(derive_signing_key("another-secret", "20150830", "us-east-1", "iam") == a, false);
    EXPECT_EQ(derive_signing_key(kSecret, "20150831", "us-east-1", "iam") == a, false);
    EXPECT_EQ(derive_signing_key(kSecret, "20150830", "us-west-2", "iam") == a, false);
    EXPECT_EQ(derive_signing_key(kSecret, "20150830", "us-east-1", "bedrock") == a, false);
    EXPECT_EQ(to_hex(derive_signing_key(kSecret, "20150830", "us-east-1", "iam")),
              "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  }
}

TEST(SigV4Test, SigningFromSeveralThreads) {
  const SigningInput in = converse_input();
  const Credentials credentials{std::string(kAccessKey), std::string(kSecret), ""};
  std::vector<std::thread> threads;
  std::vector<std::string> signatures(4);
  for (std::size_t t = 0; t < signatures.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) signatures[t] = sign(in, credentials).signature;
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : signatures)
    EXPECT_EQ(s, "bef373986f0688947b5ddbb9c0224e068bfc7673d4c6bf7228441bb470aea4ea");
}

TEST(SigV4Test, SecretNeverAppearsInOutput) {
  const SigningInput in = converse_input();
  const Credentials credentials{std::string(kAccessKey), std::string(kSecret), "tok"};
  EXPECT_EQ(canonical_request(in, credentials).find(kSecret), std::string::npos);
  for (const auto& [name, value] : sign(in, credentials).headers) {
    EXPECT_EQ(value.find(kSecret), std::string::npos) << name;
  }
}

TEST(SigV4Test, MalformedDateDoesNotCrash) {
  SigningInput in = converse_input();
  in.amz_date = "2024";
  const Credentials credentials{std::string(kAccessKey), std::string(kSecret), ""};
  EXPECT_EQ(sign(in, credentials).signature.size(), 64u);
  in.amz_date.clear();
  EXPECT_EQ(sign(in, credentials).signature.size(), 64u);
}

}  // namespace
}  // namespace sy::providers::bedrock
