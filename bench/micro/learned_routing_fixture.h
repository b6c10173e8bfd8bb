// What router_learned_bench.cpp and router_embedding_bench.cpp share: a synthetic routing dataset of nine
// models (six 7B at $0.2, three 70B at $0.9 per million tokens, random 0/1 scores) over 2,000 queries of 40
// to 640 characters of random words, the ten deployments of group "g" that serve them (and one model the data
// does not know), a 2,000-character chat request, and timing of single operations (mean, p50 and p99).
#pragma once

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "config/config.h"
#include "router/ml/candidates.h"
#include "router/ml/dataset.h"
#include "util/random.h"

namespace sy::router::bench {

struct RoutingData {
  ml::Dataset data;
  std::vector<ml::ModelInfo> models;
};

inline RoutingData nine_model_data(FastRandom& random) {
  RoutingData r;
  for (int m = 0; m < 9; ++m) {
    const std::string name = "model-" + std::to_string(m);
    r.data.models.push_back(name);
    const double size = m < 6 ? 7 : 70;
    r.models.push_back({name, size, size > 20 ? 0.9 : 0.2, size > 20 ? 0.9 : 0.2});
  }
  std::vector<std::string> words;
  for (int i = 0; i < 5000; ++i) {
    std::string w;
    for (int k = 0, n = 2 + static_cast<int>(random.next() % 8); k < n; ++k)
      w += static_cast<char>('a' + random.next() % 26);
    words.push_back(w);
  }
  for (int row = 0; row < 2000; ++row) {
    std::string q;
    const std::size_t length = 40 + random.next() % 600;
    while (q.size() < length) q += words[random.next() % words.size()] + " ";
    r.data.queries.push_back(q);
    for (std::size_t m = 0; m < r.data.models.size(); ++m)
      r.data.scores.push_back(random.uniform() < 0.5 ? 1.0f : 0.0f);
  }
  return r;
}

// Group "g": a deployment of each model of `data`, then one of a model it does not know.
inline std::vector<config::Deployment> ten_deployments(const ml::Dataset& data) {
  std::vector<config::Deployment> out;
  for (int i = 0; i < 10; ++i) {
    config::Deployment d;
    d.model_name = "g";
    d.params.provider = "openai";
    d.params.provider_model = i < 9 ? data.models[static_cast<std::size_t>(i)] : "not-in-the-artifact";
    d.params.model = "openai/" + d.params.provider_model;
    d.info.id = "d" + std::to_string(i);
    d.info.input_cost_per_token = (i < 6 ? 0.2 : 0.9) / 1e6;
    d.info.output_cost_per_token = d.info.input_cost_per_token;
    out.push_back(std::move(d));
  }
  return out;
}

// A chat request for group "g" whose last user turn is the first `chars` characters of the data's queries.
inline boost::json::object chat_request(const ml::Dataset& data, std::size_t chars) {
  std::string prompt;
  for (std::size_t i = 0; prompt.size() < chars; ++i) prompt += data.queries[i] + "\n";
  prompt.resize(chars);
  boost::json::object body =
      boost::json::parse(R"({"model": "g", "messages": [{"role": "system", "content": "You are helpful."},
                                                           {"role": "user", "content": ""}]})")
          .as_object();
  body["messages"].as_array()[1].as_object()["content"] = prompt;
  return body;
}

// Writes artifact bytes to a temporary file named after `name` and the process, removed at exit; its path.
inline std::string temporary_artifact(const std::string& bytes, const std::string& name) {
  static std::vector<std::string> remove_at_exit;
  if (remove_at_exit.empty()) {
    std::atexit([] {
      std::error_code ec;
      for (const std::string& p : remove_at_exit) std::filesystem::remove(p, ec);
    });
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".syra")).string();
  std::ofstream(path, std::ios::binary) << bytes;
  remove_at_exit.push_back(path);
  return path;
}

// Times each iteration of `body` and reports mean, p50 and p99 in microseconds.
template <class F>
void timed(benchmark::State& state, F&& body) {
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const auto t1 = std::chrono::steady_clock::now();
    if (us.size() < us.capacity()) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  if (us.empty()) return;
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  state.counters["mean_us"] = sum / static_cast<double>(us.size());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.SetItemsProcessed(state.iterations());
}

}  // namespace sy::router::bench
