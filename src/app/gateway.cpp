#include "app/gateway.h"

#if SWITCHYARD_TCMALLOC
#include <gperftools/malloc_extension.h>
#else
#include <malloc.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>

#include "api/api.h"
#include "config/config.h"
#include "http/server.h"
#include "telemetry/telemetry.h"
#include "util/log.h"

namespace sy::app {
namespace {

http::ServerLimits limits_from(const config::ServerSettings& s) {
  http::ServerLimits l;
  l.max_request_body_bytes = s.max_request_body_bytes;
  l.max_header_bytes = s.max_header_bytes;
  l.header_timeout = s.header_timeout;
  l.body_timeout = s.body_timeout;
  l.idle_timeout = s.idle_timeout;
  l.write_timeout = s.write_timeout;
  l.drain_timeout = s.drain_timeout;
  l.max_connections = s.max_connections;
  return l;
}

std::optional<config::Config> load_or_report(const std::string& path) {
  auto result = config::load_file(path);
  for (const auto& w : result.warnings) log::warn("config", {{"diagnostic", w.to_string()}});
  for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  return std::move(result.config);
}

// The OTEL_* environment, plus the one tracing choice a config file may make:
// general_settings.otel_id_generator (random or xray) for users on older X-Ray pipelines. The environment
// variable wins over the file.
telemetry::EnvLookup telemetry_environment(const config::Config& cfg) {
  std::optional<std::string> id_generator;
  if (const auto* v = cfg.general_settings.extra.if_contains("otel_id_generator"); v && v->is_string()) {
    id_generator = std::string(v->get_string());
  }
  return [env = telemetry::process_environment(), id_generator](std::string_view name) {
    auto value = env(name);
    if (!value && name == "OTEL_SWITCHYARD_ID_GENERATOR") return id_generator;
    return value;
  };
}

#if SWITCHYARD_TCMALLOC

// tcmalloc (CMakeLists.txt says why) serves blocks from per-thread caches and its page heap, and needs no
// thresholds set.
bool settle_allocator() {
  return true;
}

// On a worker thread, once the gateway is idle (http::ServerOptions::on_idle runs it on one worker after the
// other): this thread's cache goes back to the central lists; after the last worker's, the free pages of the
// page heap (the whole process's) go to the kernel.
void give_back_idle_memory(bool last) {
  MallocExtension::instance()->MarkThreadTemporarilyIdle();
  if (last) MallocExtension::instance()->ReleaseFreeMemory();
}

#else

// glibc adjusts when it returns freed memory to the kernel from what the process frees, so whether a large
// request's buffers (a 1 MB body, its parse arena of twice that, the upstream request) are faulted in again
// on every request depended on the history of the heap: a 1 MB body cost 2.2 or 3.7 ms of CPU, page faults
// making the difference, between two builds that changed nothing on that path. Fixed thresholds make it
// deterministic: blocks under 16 MiB come from the heap and stay there for the next request, and a heap
// returns its top to the kernel once more than 64 MiB of it is free. What is kept goes back when the gateway
// is idle (give_back_idle_memory). An operator's GLIBC_TUNABLES wins: then the allocator is left alone.
constexpr int kTrimThreshold = 64 << 20;
constexpr int kIdleTrimThreshold = 128 << 10;

bool settle_allocator() {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return false;
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  return true;
}

// On a worker thread, once the gateway is idle (http::ServerOptions::on_idle runs it on one worker after the
// other): returns the free top of this thread's heap to the kernel. glibc does that only in free() of a large
// block, when the top exceeds the trim threshold (malloc_trim leaves the heaps of threads other than the main
// one as they are), so the threshold is lowered for one such free, then restored. Free pages inside the heaps
// (not at their top) go back through malloc_trim, which walks every heap: once, on the last worker.
void give_back_idle_memory(bool last) {
  mallopt(M_TRIM_THRESHOLD, kIdleTrimThreshold);
  void* volatile block = std::malloc(kIdleTrimThreshold * 2);  // volatile: the pair is not optimised away
  std::free(block);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  if (last) malloc_trim(0);
}

#endif

}  // namespace

int check_config(const std::string& path) {
  auto result = config::load_file(path);
  for (const auto& w : result.warnings) std::fprintf(stderr, "warning: %s\n", w.to_string().c_str());
  for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  if (!result.config) {
    std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), result.errors.size());
    return 1;
  }
  std::printf("%s: ok (%zu deployments)\n", path.c_str(), result.config->model_list.size());
  return 0;
}

int serve(const ServeOptions& options) {
  const bool allocator_settled = settle_allocator();
  auto loaded = load_or_report(options.config_path);
  if (!loaded) {
    log::error("config failed to load", {{"file", options.config_path}});
    return 1;
  }
  auto cfg = std::make_shared<const config::Config>(std::move(*loaded));
  if (cfg->general_settings.master_key.empty()) {
    log::warn("no general_settings.master_key: every request is accepted without authentication");
  }

  http::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.workers = options.workers.value_or(cfg->server_settings.workers);
  server_options.limits = limits_from(cfg->server_settings);
  if (allocator_settled) server_options.on_idle = give_back_idle_memory;

  telemetry::Warnings telemetry_warnings;
  auto tracing =
      telemetry::Telemetry::create(telemetry_environment(*cfg), SWITCHYARD_VERSION, telemetry_warnings,
                                   [](std::string_view message) { log::warn(message); });
  for (const auto& w : telemetry_warnings) log::warn("telemetry", {{"diagnostic", w}});
  auto api = std::make_shared<api::Api>(cfg, tracing.get());
  // SIGHUP reloads what changed of the files the router loads (learned routing artifacts), off the I/O
  // threads.
  server_options.on_hangup = [api] {
    log::info("SIGHUP: reloading learned routing artifacts");
    api->reload();
  };
  http::Server server(server_options,
                      [api](http::Request& req, http::ResponseWriter& w) { return api->handle(req, w); });
  std::uint16_t port = 0;
  try {
    port = server.listen();
  } catch (const std::exception& e) {
    log::error("could not listen",
               {{"host", options.host}, {"port", static_cast<int>(options.port)}, {"error", e.what()}});
    return 1;
  }
  const unsigned workers =
      server_options.workers ? server_options.workers : std::max(1u, std::thread::hardware_concurrency());
  log::info("listening", {{"host", options.host},
                          {"port", static_cast<int>(port)},
                          {"workers", workers},
                          {"models", cfg->model_list.size()},
                          {"version", SWITCHYARD_VERSION}});
  server.run();
  // Whatever spans are still queued get the drain deadline to leave.
  if (tracing) tracing->shutdown(server_options.limits.drain_timeout);
  return 0;
}

}  // namespace sy::app
