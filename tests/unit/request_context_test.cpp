// Unit tests for the request context handlers share: recycled from one request to the next, it must carry
// nothing of the last request into the next.
#include "api/respond.h"

#include <string>

#include <gtest/gtest.h>

namespace sy::api {
namespace {

TEST(RequestContextTest, ARecycledContextCarriesNothingOfTheLastRequest) {
  RequestContext ctx;
  ctx.request_id.assign(100, 'r');
  ctx.response_headers.add("x-request-id", ctx.request_id);
  ctx.response_headers.add("Retry-After", "30");
  telemetry::Span span;
  ctx.span = &span;
  ctx.telemetry = reinterpret_cast<const telemetry::Telemetry*>(&span);  // any non-null address: never read
  ctx.baggage.push_back({"tenant", "a"});
  ctx.client_gone = true;
  const std::string presented = "sk-presented";
  ctx.api_key = presented;
  const char* id_storage = ctx.request_id.data();

  ctx.recycle();
  EXPECT_TRUE(ctx.request_id.empty());
  EXPECT_TRUE(ctx.response_headers.empty());
  EXPECT_EQ(ctx.span, nullptr);
  EXPECT_EQ(ctx.telemetry, nullptr);
  EXPECT_TRUE(ctx.baggage.empty());
  EXPECT_FALSE(ctx.client_gone);
  EXPECT_TRUE(ctx.api_key.empty());
  ctx.request_id.assign(60, 's');
  EXPECT_EQ(ctx.request_id.data(), id_storage);  // the id's storage is kept

  ctx.request_id.assign(1000, 't');  // longer than any id a client may give: freed
  ctx.recycle();
  EXPECT_LT(ctx.request_id.capacity(), 1000u);
}

}  // namespace
}  // namespace sy::api
