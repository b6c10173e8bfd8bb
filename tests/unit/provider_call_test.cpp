// Unit tests for recycling a provider call (providers/provider.h): taken from a thread's spares for each
// request, it must carry nothing of the last request into the next, and keep what its strings allocated.
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/provider.h"
#include "util/recycled.h"

namespace sy::providers {
namespace {

TEST(ProviderCallTest, ARecycledCallCarriesNothingOfTheLastRequestAndKeepsItsStorage) {
  config::Deployment deployment;
  boost::json::object body{{"model", "m"}};
  const Call defaults;
  Call call;
  call.endpoint = Endpoint::embeddings;
  call.deployment = &deployment;
  call.body = &body;
  call.body_bytes = 99;
  call.public_model = "public";
  call.stream = call.include_usage = call.capture_content = true;
  call.request_id = "req-1";
  call.timeout = std::chrono::milliseconds(5);
  const char* traceparent_storage = call.upstream_headers.add("traceparent", std::string(55, 't')).data();
  call.meta.id.assign(40, 'i');
  call.meta.model.assign(40, 'm');
  call.meta.finish_reasons = {"stop", "length"};
  call.meta.prompt_tokens = 3;
  call.meta.completion_tokens = 4;
  call.meta.completion_text.assign(100, 'c');
  call.meta.server_address = "upstream.example";
  call.meta.server_port = 8443;
  call.meta.upstream_status = 200;
  const char* id_storage = call.meta.id.data();
  const std::size_t reasons_capacity = call.meta.finish_reasons.capacity();

  call.recycle();
  EXPECT_EQ(call.endpoint, defaults.endpoint);
  EXPECT_EQ(call.deployment, nullptr);
  EXPECT_FALSE(call.body);
  EXPECT_EQ(call.body_bytes, 0u);
  EXPECT_TRUE(call.public_model.empty());
  EXPECT_FALSE(call.stream || call.include_usage || call.capture_content);
  EXPECT_TRUE(call.request_id.empty());
  EXPECT_EQ(call.timeout, defaults.timeout);
  EXPECT_TRUE(call.upstream_headers.empty());
  // The next request's trace header is written where this one's was: nothing allocated for it.
  EXPECT_EQ(call.upstream_headers.add("traceparent", std::string(55, 'u')).data(), traceparent_storage);
  const ResponseMeta& m = call.meta;
  EXPECT_TRUE(m.id.empty() && m.model.empty() && m.finish_reasons.empty() && m.completion_text.empty() &&
              m.server_address.empty());
  EXPECT_EQ(m.prompt_tokens, -1);
  EXPECT_EQ(m.completion_tokens, -1);
  EXPECT_EQ(m.server_port, 0);
  EXPECT_EQ(m.upstream_status, 0);
  call.meta.id.assign(30, 'j');
  EXPECT_EQ(call.meta.id.data(), id_storage);  // kept
  EXPECT_EQ(call.meta.finish_reasons.capacity(), reasons_capacity);

  call.meta.completion_text.assign(100'000, 'c');  // past 64 KB: given back
  call.meta.clear();
  EXPECT_LT(call.meta.completion_text.capacity(), 100'000u);
}

TEST(ProviderCallTest, TheRecyclerHandsBackTheSameCallEmptied) {
  Call* first = nullptr;
  {
    Recycled<Call> call = Recycled<Call>::take();
    first = &*call;
    call->meta.id = "chatcmpl-1";
    call->stream = true;
  }
  Recycled<Call> again = Recycled<Call>::take();
  EXPECT_EQ(&*again, first);
  EXPECT_TRUE(again->meta.id.empty());
  EXPECT_FALSE(again->stream);
}

}  // namespace
}  // namespace sy::providers
