#include "api/dialect.h"

#include "http/sse.h"

namespace sy::api {

void OpenAiDialect::chunk_frames(std::string_view chunk, std::string& out) {
  http::append_sse_data(out, chunk);
}

void OpenAiDialect::end_frames(std::string& out) {
  http::append_sse_data(out, "[DONE]");
}

Answer OpenAiDialect::error_response(const Error& error) const {
  return Answer{error.status, error.to_json()};
}

void OpenAiDialect::error_frame(const Error& error, std::string& out) const {
  http::append_sse_data(out, error.to_json());
}

Dialect& openai_dialect() noexcept {
  static OpenAiDialect dialect;
  return dialect;
}

boost::asio::awaitable<void> send_error(http::ResponseWriter& w, RequestContext& ctx, const Error& error,
                                        const Dialect& dialect) {
  if (!error.retry_after.empty()) ctx.response_headers.add("Retry-After", error.retry_after);
  Answer answer = dialect.error_response(error);
  return w.send(answer.status, "application/json", std::move(answer.body), ctx.response_headers);
}

}  // namespace sy::api
