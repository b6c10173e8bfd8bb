#include "app/embed_command.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "http/client.h"
#include "router/ml/artifact.h"
#include "router/ml/dataset.h"

namespace sy::app {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;

// The embeddings of one batch, in input order; an error message (never holding the key) otherwise.
asio::awaitable<std::optional<std::string>> embed_batch(const http::Origin& origin, const std::string& target,
                                                        const EmbedCommand& c, const std::string& key,
                                                        std::span<const std::string> inputs,
                                                        std::vector<std::vector<float>>& out) {
  bj::array input;
  for (const std::string& text : inputs) input.emplace_back(text);
  http::ClientRequest request;
  request.origin = &origin;
  request.target = target;
  request.headers = {{"content-type", "application/json"}};
  if (!key.empty()) request.headers.add("authorization", "Bearer ").append(key);
  request.body = bj::serialize(bj::object{{"model", c.model}, {"input", std::move(input)}});
  request.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(c.timeout_seconds * 1000));
  const auto response = co_await http::fetch(request);
  if (!response) co_return response.error().message;
  boost::system::error_code ec;
  const bj::value body = bj::parse(response.value().body, ec);
  if (response.value().status != 200) {
    const bj::value* message = nullptr;
    if (const bj::object* o = ec ? nullptr : body.if_object()) {
      if (const bj::value* e = o->if_contains("error"); e && e->is_object())
        message = e->get_object().if_contains("message");
    }
    co_return "the gateway answered " + std::to_string(response.value().status) +
        (message && message->is_string() ? ": " + std::string(message->get_string()) : std::string());
  }
  const bj::object* o = ec ? nullptr : body.if_object();
  const bj::value* data = o ? o->if_contains("data") : nullptr;
  if (!data || !data->is_array() || data->get_array().size() != inputs.size())
    co_return std::string("the answer has no \"data\" list of one embedding per input");
  out.assign(inputs.size(), {});
  for (const bj::value& item : data->get_array()) {
    const bj::object* e = item.if_object();
    const bj::value* index = e ? e->if_contains("index") : nullptr;
    const bj::value* vector = e ? e->if_contains("embedding") : nullptr;
    if (!index || !index->is_int64() || index->get_int64() < 0 ||
        static_cast<std::size_t>(index->get_int64()) >= inputs.size() || !vector || !vector->is_array())
      co_return std::string("an item of \"data\" has no valid \"index\" and \"embedding\" list");
    std::vector<float>& v = out[static_cast<std::size_t>(index->get_int64())];
    for (const bj::value& x : vector->get_array()) {
      const double f = x.is_number() ? x.to_number<double>() : NAN;
      if (!std::isfinite(f)) co_return std::string("an embedding holds something other than a finite number");
      v.push_back(static_cast<float>(f));
    }
  }
  co_return std::nullopt;
}

void write_line(std::ofstream& out, const std::string& query, const std::string& model,
                std::span<const float> embedding) {
  // The floats in their shortest exact form (boost::json would print them as doubles).
  out << "{\"query\":" << bj::serialize(bj::value(query)) << ",\"model\":" << bj::serialize(bj::value(model))
      << ",\"embedding\":[";
  char buf[32];
  for (std::size_t i = 0; i < embedding.size(); ++i) {
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, embedding[i]);
    if (i) out << ',';
    out.write(buf, end - buf);
  }
  out << "]}\n";
}

asio::awaitable<int> embed_all(const EmbedCommand& c, const std::vector<std::string>& queries,
                               const std::string& key) {
  const auto origin = http::parse_origin(c.url);
  if (!origin) {
    std::fprintf(stderr, "embed: --url: %s\n", origin.error().message.c_str());
    co_return 2;
  }
  std::string base = origin.value().base_path;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string target = base + (base.ends_with("/v1") ? "/embeddings" : "/v1/embeddings");
  std::ofstream out(c.out, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::fprintf(stderr, "embed: cannot write %s\n", c.out.c_str());
    co_return 1;
  }
  std::size_t dim = 0;
  std::vector<std::vector<float>> vectors;
  for (std::size_t begin = 0; begin < queries.size(); begin += c.batch) {
    const std::span<const std::string> batch =
        std::span(queries).subspan(begin, std::min(c.batch, queries.size() - begin));
    const std::optional<std::string> error =
        co_await embed_batch(origin.value(), target, c, key, batch, vectors);
    if (error) {
      std::fprintf(stderr, "embed: queries %zu..%zu: %s\n", begin + 1, begin + batch.size(), error->c_str());
      co_return 1;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (vectors[i].empty() || vectors[i].size() > router::ml::kMaxEmbeddingDimension ||
          (dim && vectors[i].size() != dim)) {
        std::fprintf(stderr, "embed: query %zu: an embedding of %zu numbers (the first had %zu)\n",
                     begin + i + 1, vectors[i].size(), dim);
        co_return 1;
      }
      dim = vectors[i].size();
      write_line(out, batch[i], c.model, vectors[i]);
    }
  }
  out.flush();
  if (!out) {
    std::fprintf(stderr, "embed: writing %s failed\n", c.out.c_str());
    co_return 1;
  }
  std::printf("embedded %zu queries with %s (dimension %zu) into %s\n", queries.size(), c.model.c_str(), dim,
              c.out.c_str());
  co_return 0;
}

}  // namespace

int run_embed(const EmbedCommand& c) {
  if (c.batch == 0 || !(c.timeout_seconds > 0)) {
    std::fprintf(stderr, "embed: --batch and --timeout must be positive\n");
    return 2;
  }
  std::string key = c.key;
  if (key.empty()) {
    if (const char* env = std::getenv("SWITCHYARD_API_KEY")) key = env;
  }
  auto queries = router::ml::load_queries(c.data);
  if (!queries) {
    std::fprintf(stderr, "embed: %s\n", queries.error().message.c_str());
    return 1;
  }
  asio::io_context io;
  int code = 1;
  asio::co_spawn(io, embed_all(c, queries.value(), key), [&code](std::exception_ptr e, int result) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "embed: %s\n", x.what());
      }
      return;
    }
    code = result;
  });
  // On a thread of its own: the HTTP client keeps idle connections per thread, and they must go (with the
  // thread) before the io_context whose deadline service they are registered with.
  std::thread runner([&io] { io.run(); });
  runner.join();
  return code;
}

}  // namespace sy::app
