// Tests for the deployment files: the Dockerfile, the three docker compose stacks (Jaeger, Tempo + Grafana,
// ADOT collector → X-Ray) and the configs they mount. Each file is parsed the way its consumer would read it
// (YAML, JSON, Dockerfile instructions) and checked against what docs/observability.md promises, so that a
// broken or drifting file fails here rather than on a user's machine.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

namespace sy::deploy {
namespace {

namespace fs = std::filesystem;

// ---- reading files ----

fs::path repo_root() {
  return fs::path(SWITCHYARD_SOURCE_DIR).lexically_normal();
}

std::string read_text(const fs::path& relative) {
  const fs::path path = repo_root() / relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

YAML::Node load_yaml(const fs::path& relative) {
  const fs::path path = repo_root() / relative;
  if (!fs::exists(path)) throw std::runtime_error(path.string() + " does not exist");
  try {
    return YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path.string() + " is not valid YAML: " + e.what());
  }
}

// The node at `keys` below `root`, or nothing when a key is missing or a step is not a map.
// Only const Nodes are indexed (the non-const operator[] inserts keys), and the cursor moves with reset():
// yaml-cpp's Node::operator= would overwrite the node it refers to.
std::optional<YAML::Node> find(const YAML::Node& root, const std::vector<std::string>& keys) {
  YAML::Node node(root);
  for (const std::string& key : keys) {
    const YAML::Node& current = node;
    if (!current.IsMap()) return std::nullopt;
    const YAML::Node next = current[key];
    if (!next.IsDefined()) return std::nullopt;
    node.reset(next);
  }
  return node;
}

// A map's value at `key`, or a null node: indexing a missing key yields an invalid node that throws on use.
YAML::Node field(const YAML::Node& map, const std::string& key) {
  const auto node = find(map, {key});
  return node ? *node : YAML::Node();
}

std::string scalar(const YAML::Node& root, const std::vector<std::string>& keys) {
  const auto node = find(root, keys);
  return node && node->IsScalar() ? node->as<std::string>() : std::string();
}

std::vector<std::string> scalars(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      if (item.IsScalar()) out.push_back(item.as<std::string>());
    }
  } else if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.emplace_back(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// ---- docker compose ----

const char* const kJaegerCompose = "docker-compose.otel.yml";
const char* const kTempoCompose = "docker-compose.tempo.yml";
const char* const kCloudWatchCompose = "docker-compose.cloudwatch.yml";
const char* const kTempoConfig = "deploy/tempo/tempo-config.yaml";
const char* const kGrafanaDatasource = "deploy/grafana/provisioning/datasources/tempo.yaml";
const char* const kCollectorConfig = "config/otel-collector-config.yaml";
const char* const kXrayPolicy = "deploy/aws/xray-iam-policy.json";

YAML::Node service(const YAML::Node& compose, const std::string& name) {
  const auto node = find(compose, {"services", name});
  if (!node || !node->IsMap()) throw std::runtime_error("no service named " + name);
  return *node;
}

std::vector<std::string> service_names(const YAML::Node& compose) {
  std::vector<std::string> names;
  if (const auto services = find(compose, {"services"}); services && services->IsMap()) {
    for (const auto& entry : *services) names.push_back(entry.first.as<std::string>());
  }
  return names;
}

// `environment:` in either compose form (a list of NAME=value, or a map). A bare NAME passes the variable
// through from the shell and has no value here.
std::map<std::string, std::optional<std::string>> environment(const YAML::Node& svc) {
  std::map<std::string, std::optional<std::string>> env;
  const YAML::Node node = field(svc, "environment");
  if (node.IsSequence()) {
    for (const std::string& item : scalars(node)) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos) {
        env[item] = std::nullopt;
      } else {
        env[item.substr(0, eq)] = item.substr(eq + 1);
      }
    }
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      env[entry.first.as<std::string>()] =
          entry.second.IsNull() ? std::nullopt : std::optional<std::string>(entry.second.as<std::string>());
    }
  }
  return env;
}

// Published ports as "host:container", from the short ("[ip:]host:container[/proto]") or the long syntax.
std::set<std::string> ports(const YAML::Node& svc) {
  std::set<std::string> out;
  const YAML::Node node = field(svc, "ports");
  if (!node.IsSequence()) return out;
  for (const YAML::Node& item : node) {
    if (item.IsMap()) {
      out.insert(field(item, "published").as<std::string>("") + ":" +
                 field(item, "target").as<std::string>(""));
      continue;
    }
    std::string spec = item.as<std::string>();
    spec = spec.substr(0, spec.find('/'));
    const std::vector<std::string> parts = split(spec, ':');
    out.insert(parts.size() == 1 ? parts[0] + ":" + parts[0]
                                 : parts[parts.size() - 2] + ":" + parts[parts.size() - 1]);
  }
  return out;
}

std::vector<std::string> depends_on(const YAML::Node& svc) {
  const YAML::Node node = field(svc, "depends_on");
  if (!node.IsMap()) return scalars(node);
  std::vector<std::string> names;
  for (const auto& entry : node) names.push_back(entry.first.as<std::string>());
  return names;
}

struct Mount {
  std::string source;
  std::string target;
};

// `volumes:` of a service in the short syntax (source:target[:mode]) or the long one.
std::vector<Mount> mounts(const YAML::Node& svc) {
  std::vector<Mount> out;
  const YAML::Node node = field(svc, "volumes");
  if (!node.IsSequence()) return out;
  for (const YAML::Node& item : node) {
    if (item.IsMap()) {
      out.push_back({field(item, "source").as<std::string>(""), field(item, "target").as<std::string>("")});
      continue;
    }
    const std::vector<std::string> parts = split(item.as<std::string>(), ':');
    if (parts.size() >= 2) out.push_back({parts[0], parts[1]});
  }
  return out;
}

std::optional<Mount> mount_at(const YAML::Node& svc, std::string_view target) {
  for (const Mount& m : mounts(svc)) {
    if (m.target == target) return m;
  }
  return std::nullopt;
}

// The value of a `--flag=value` or `-flag=value` argument in a service's command (list or string form).
std::string command_flag(const YAML::Node& svc, std::string_view flag) {
  std::vector<std::string> args = scalars(field(svc, "command"));
  if (args.size() == 1) args = words(args[0]);
  const std::string prefix = std::string(flag) + "=";
  for (const std::string& arg : args) {
    if (starts_with(arg, prefix)) return arg.substr(prefix.size());
  }
  return {};
}

std::string build_context(const YAML::Node& svc) {
  const YAML::Node build = field(svc, "build");
  if (build.IsScalar()) return build.as<std::string>();
  if (build.IsMap()) return field(build, "context").as<std::string>(".");
  return {};
}

// The OTEL_* variables every gateway service sets; only the endpoint differs between the stacks.
std::map<std::string, std::optional<std::string>> gateway_otel_env(const std::string& endpoint) {
  return {{"OTEL_EXPORTER_OTLP_ENDPOINT", endpoint},
          {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
          {"OTEL_SERVICE_NAME", "litellm-gateway"},
          {"OTEL_TRACES_EXPORTER", "otlp"}};
}

void expect_gateway_service(const YAML::Node& compose, const std::string& otlp_endpoint) {
  const YAML::Node gateway = service(compose, "gateway");
  EXPECT_EQ(build_context(gateway), ".");
  EXPECT_TRUE(ports(gateway).count("4000:4000"));
  const auto env = environment(gateway);
  for (const auto& [name, value] : gateway_otel_env(otlp_endpoint)) {
    ASSERT_TRUE(env.count(name)) << name << " missing from the gateway's environment";
    EXPECT_EQ(env.at(name), value) << name;
  }
}

// ---- Dockerfile ----

struct Instruction {
  std::string keyword;  // upper case: FROM, RUN, COPY, ...
  std::string args;
};

// Dockerfile instructions with line continuations joined and comment lines dropped (also inside a
// continuation, as Docker does).
std::vector<Instruction> parse_dockerfile(const std::string& text) {
  std::vector<Instruction> out;
  std::string pending;
  auto flush = [&] {
    const size_t space = pending.find_first_of(" \t");
    std::string keyword = pending.substr(0, space);
    std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    const size_t args =
        space == std::string::npos ? std::string::npos : pending.find_first_not_of(" \t", space);
    out.push_back({keyword, args == std::string::npos ? std::string() : pending.substr(args)});
    pending.clear();
  };
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::string body = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    const bool continues = body.back() == '\\';
    if (continues) body.pop_back();
    pending += pending.empty() ? body : " " + body;
    if (!continues) flush();
  }
  if (!pending.empty()) flush();
  return out;
}

using Stage = std::vector<Instruction>;

// Instructions grouped by build stage; each stage starts with its FROM.
std::vector<Stage> dockerfile_stages() {
  std::vector<Stage> stages;
  for (const Instruction& instruction : parse_dockerfile(read_text("Dockerfile"))) {
    if (instruction.keyword == "FROM") stages.emplace_back();
    if (!stages.empty()) stages.back().push_back(instruction);
  }
  return stages;
}

std::vector<std::string> args_of(const Stage& stage, std::string_view keyword) {
  std::vector<std::string> out;
  for (const Instruction& instruction : stage) {
    if (instruction.keyword == keyword) out.push_back(instruction.args);
  }
  return out;
}

// Every word of every RUN of a stage (package names, flags, paths).
std::vector<std::string> run_words(const Stage& stage) {
  std::vector<std::string> out;
  for (const std::string& run : args_of(stage, "RUN")) {
    for (std::string& word : words(run)) out.push_back(std::move(word));
  }
  return out;
}

std::vector<std::string> json_strings(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) throw std::runtime_error("not a JSON array (exec form): " + text);
  for (const boost::json::value& item : value.as_array()) out.emplace_back(item.as_string());
  return out;
}

// The packages in scripts/install-deps.sh's PACKAGES=( ... ) array.
std::vector<std::string> install_deps_packages() {
  const std::string script = read_text("scripts/install-deps.sh");
  const size_t open = script.find("PACKAGES=(");
  if (open == std::string::npos) throw std::runtime_error("no PACKAGES=( in scripts/install-deps.sh");
  const size_t close = script.find("\n)", open);
  std::vector<std::string> packages;
  std::istringstream in(script.substr(open + 10, close - open - 10));
  for (std::string line; std::getline(in, line);) {
    for (std::string& word : words(line.substr(0, line.find('#')))) packages.push_back(std::move(word));
  }
  return packages;
}

TEST(DeployDockerfile, HasADebianBuildStageAndASlimRuntimeStage) {
  const std::vector<Stage> stages = dockerfile_stages();
  ASSERT_EQ(stages.size(), 2u) << "expected exactly two FROM stages";
  const std::vector<std::string> build_from = words(stages[0][0].args);
  const std::vector<std::string> runtime_from = words(stages[1][0].args);
  ASSERT_FALSE(build_from.empty());
  ASSERT_FALSE(runtime_from.empty());
  EXPECT_EQ(build_from[0], "debian:12");
  EXPECT_EQ(runtime_from[0], "debian:12-slim");
  ASSERT_EQ(build_from.size(), 3u) << "the build stage is named (FROM debian:12 AS build)";
  const std::string build_name = build_from[2];

  // The runtime stage takes the binary from the build stage, by name.
  bool copies_binary = false;
  for (const std::string& copy : args_of(stages[1], "COPY")) {
    if (contains(words(copy), "--from=" + build_name) && copy.find("build/switchyard") != std::string::npos) {
      copies_binary = true;
    }
  }
  EXPECT_TRUE(copies_binary) << "no COPY --from=" << build_name << " of build/switchyard";
}

// The gateway loads its OTLP/gRPC exporter from libswitchyard_otlp_grpc.so beside the binary or in
// ../lib/switchyard/ from it (src/telemetry/exporter_factory.cpp): the image must put it in one of them.
TEST(DeployDockerfile, RuntimeStageCopiesTheGrpcModuleWhereTheGatewayLooks) {
  const std::vector<Stage> stages = dockerfile_stages();
  ASSERT_EQ(stages.size(), 2u);
  std::string binary_dest, module_dest;
  for (const std::string& copy : args_of(stages[1], "COPY")) {
    const std::vector<std::string> w = words(copy);
    if (w.size() < 3 || !starts_with(w[0], "--from=")) continue;
    if (ends_with(w[1], "build/switchyard")) binary_dest = w.back();
    if (ends_with(w[1], "build/libswitchyard_otlp_grpc.so")) module_dest = w.back();
  }
  ASSERT_FALSE(binary_dest.empty());
  ASSERT_FALSE(module_dest.empty()) << "the runtime stage does not copy build/libswitchyard_otlp_grpc.so";
  const fs::path bin_dir = fs::path(binary_dest).parent_path();
  const fs::path module = fs::path(module_dest);
  EXPECT_EQ(module.filename(), "libswitchyard_otlp_grpc.so");
  EXPECT_TRUE(module.parent_path() == bin_dir ||
              module.parent_path() == bin_dir.parent_path() / "lib" / "switchyard")
      << module_dest << " is not where " << binary_dest << " looks";
  const std::vector<std::string> build_run = run_words(stages[0]);
  EXPECT_TRUE(contains(build_run, "build/libswitchyard_otlp_grpc.so")) << "the module is not stripped";
}

TEST(DeployDockerfile, BuildsTheReleaseBinaryWithCMakeAndNinja) {
  const std::vector<Stage> stages = dockerfile_stages();
  ASSERT_EQ(stages.size(), 2u);
  const std::vector<std::string> run = run_words(stages[0]);
  EXPECT_TRUE(contains(run, "-DCMAKE_BUILD_TYPE=Release"));
  EXPECT_TRUE(contains(run, "-DSWITCHYARD_TESTS=OFF"));
  EXPECT_TRUE(contains(run, "Ninja"));
  EXPECT_TRUE(contains(run, "--target"));
  EXPECT_TRUE(contains(run, "switchyard"));
}

TEST(DeployDockerfile, BuildStageInstallsEveryLibraryTheInstallScriptLists) {
  const std::vector<Stage> stages = dockerfile_stages();
  ASSERT_EQ(stages.size(), 2u);
  const std::vector<std::string> run = run_words(stages[0]);
  // Test and benchmark frameworks are not needed with -DSWITCHYARD_TESTS=OFF, nor the fuzzing runtime.
  const std::set<std::string> not_needed = {"libgtest-dev", "libgmock-dev", "libbenchmark-dev",
                                            "libclang-rt-14-dev"};
  const std::vector<std::string> packages = install_deps_packages();
  ASSERT_FALSE(packages.empty());
  for (const std::string& package : packages) {
    if (ends_with(package, "-dev") && !not_needed.count(package)) {
      EXPECT_TRUE(contains(run, package))
          << package << " is in scripts/install-deps.sh but not in the Dockerfile";
    }
  }
  for (const char* tool : {"g++", "cmake", "ninja-build", "protobuf-compiler", "protobuf-compiler-grpc"}) {
    EXPECT_TRUE(contains(run, tool)) << tool;
  }
}

TEST(DeployDockerfile, RuntimeStageInstallsOnlyRuntimeLibraries) {
  const std::vector<Stage> stages = dockerfile_stages();
  ASSERT_EQ(stages.size(), 2u);
  const std::vector<std::string> run = run_words(stages[1]);
  for (const char* package : {"ca-certificates", "libboost-json1.81.0", "libboost-url1.81.0", "libssl3",
                              "libyaml-cpp0.7", "libgrpc++1.51", "zlib1g", "libtcmalloc-minimal4"}) {
    EXPECT_TRUE(contains(run, package)) << package;
  }
  // Neither the gateway nor the gRPC module links libprotobuf (the OTLP protobuf is our own code).
  EXPECT_FALSE(contains(run, "libprotobuf32"));
  for (const std::string& word : run) {
    EXPECT_FALSE(ends_with(word, "-dev")) << word << ": no development packages in the runtime image";
  }
  EXPECT_FALSE(contains(run, "g++"));
}

TEST(DeployDockerfile, RuntimeRunsTheGatewayAsANonRootUserOnPort4000) {
  const std::vector<Stage> stages = dockerfile_stages();
  ASSERT_EQ(stages.size(), 2u);
  const Stage& runtime = stages[1];

  const std::vector<std::string> users = args_of(runtime, "USER");
  ASSERT_FALSE(users.empty()) << "the runtime stage sets no USER, so it runs as root";
  const std::string user = split(users.back(), ':')[0];
  EXPECT_NE(user, "root");
  EXPECT_NE(user, "0");

  std::vector<std::string> exposed;
  for (const std::string& expose : args_of(runtime, "EXPOSE")) {
    for (const std::string& port : words(expose)) exposed.push_back(split(port, '/')[0]);
  }
  EXPECT_TRUE(contains(exposed, "4000"));

  const std::vector<std::string> entrypoints = args_of(runtime, "ENTRYPOINT");
  ASSERT_EQ(entrypoints.size(), 1u);
  const std::vector<std::string> entrypoint = json_strings(entrypoints[0]);
  ASSERT_EQ(entrypoint.size(), 1u);
  EXPECT_TRUE(ends_with(entrypoint[0], "/switchyard"));

  const std::vector<std::string> cmds = args_of(runtime, "CMD");
  ASSERT_EQ(cmds.size(), 1u);
  const std::vector<std::string> expected_cmd = {
      "serve", "--config", "/app/config/quickstart.yaml", "--host", "0.0.0.0", "--port", "4000"};
  EXPECT_EQ(json_strings(cmds[0]), expected_cmd);

  bool copies_config = false;
  for (const std::string& copy : args_of(runtime, "COPY")) {
    const std::vector<std::string> w = words(copy);
    if (w.size() >= 2 && starts_with(w[w.size() - 2], "config") && starts_with(w.back(), "/app/config")) {
      copies_config = true;
    }
  }
  EXPECT_TRUE(copies_config) << "config/ is not copied to /app/config";
  EXPECT_TRUE(fs::exists(repo_root() / "config" / "quickstart.yaml"));
}

TEST(DeployDockerfile, DockerignoreKeepsHostBuildsOutAndSourcesIn) {
  std::vector<std::string> patterns;
  std::istringstream in(read_text(".dockerignore"));
  for (std::string line; std::getline(in, line);) {
    const std::vector<std::string> w = words(line);
    if (!w.empty() && w[0][0] != '#') patterns.push_back(w[0]);
  }
  for (const char* pattern : {".git", ".ccache", "build", "build-*"}) {
    EXPECT_TRUE(contains(patterns, pattern)) << pattern;
  }
  EXPECT_TRUE(contains(patterns, "node_modules") || contains(patterns, "**/node_modules"));
  // What the build stage needs must stay in the context.
  for (const char* needed : {"*", "src", "src/", "proto", "config", "CMakeLists.txt", "scripts"}) {
    EXPECT_FALSE(contains(patterns, needed)) << needed << " must not be ignored";
  }
}

// ---- the three compose stacks ----

TEST(DeployCompose, EveryStackParsesAndItsGatewayExportsOtlpGrpcToAServiceOfTheStack) {
  for (const char* file : {kJaegerCompose, kTempoCompose, kCloudWatchCompose}) {
    SCOPED_TRACE(file);
    const YAML::Node compose = load_yaml(file);
    const auto env = environment(service(compose, "gateway"));
    ASSERT_TRUE(env.count("OTEL_EXPORTER_OTLP_ENDPOINT"));
    const std::string endpoint = env.at("OTEL_EXPORTER_OTLP_ENDPOINT").value_or("");
    ASSERT_TRUE(starts_with(endpoint, "http://")) << endpoint;
    const std::vector<std::string> host_port = split(endpoint.substr(7), ':');
    ASSERT_EQ(host_port.size(), 2u) << endpoint;
    EXPECT_EQ(host_port[1], "4317") << "gRPC goes to the OTLP/gRPC port";
    EXPECT_TRUE(contains(service_names(compose), host_port[0])) << host_port[0] << " is not a service";
    EXPECT_TRUE(contains(depends_on(service(compose, "gateway")), host_port[0]));
    EXPECT_TRUE(fs::exists(repo_root() / build_context(service(compose, "gateway")) / "Dockerfile"));
  }
}

TEST(DeployCompose, EveryMountedFileExistsAndEveryNamedVolumeIsDeclared) {
  for (const char* file : {kJaegerCompose, kTempoCompose, kCloudWatchCompose}) {
    SCOPED_TRACE(file);
    const YAML::Node compose = load_yaml(file);
    for (const std::string& name : service_names(compose)) {
      for (const Mount& m : mounts(service(compose, name))) {
        if (starts_with(m.source, "./")) {
          EXPECT_TRUE(fs::exists(repo_root() / m.source)) << name << " mounts missing " << m.source;
        } else if (!starts_with(m.source, "/") && !starts_with(m.source, "~")) {
          EXPECT_TRUE(find(compose, {"volumes", m.source}).has_value()) << "undeclared volume " << m.source;
        }
      }
    }
  }
}

TEST(DeployComposeJaeger, GatewayAndJaegerWithTheDocumentedEnvironment) {
  const YAML::Node compose = load_yaml(kJaegerCompose);
  expect_gateway_service(compose, "http://jaeger:4317");
  // Exactly the four variables of the user guide, nothing more.
  EXPECT_EQ(environment(service(compose, "gateway")), gateway_otel_env("http://jaeger:4317"));
  EXPECT_EQ(depends_on(service(compose, "gateway")), std::vector<std::string>{"jaeger"});
}

TEST(DeployComposeJaeger, JaegerIsAllInOne154WithOtlpOnItsStandardPorts) {
  const YAML::Node jaeger = service(load_yaml(kJaegerCompose), "jaeger");
  EXPECT_EQ(field(jaeger, "image").as<std::string>(""), "jaegertracing/all-in-one:1.54");
  const auto env = environment(jaeger);
  ASSERT_TRUE(env.count("COLLECTOR_OTLP_ENABLED"));
  EXPECT_EQ(env.at("COLLECTOR_OTLP_ENABLED"), "true");
  const std::set<std::string> published = ports(jaeger);
  for (const char* port : {"16686:16686", "4317:4317", "4318:4318"}) {
    EXPECT_TRUE(published.count(port)) << port;
  }
}

TEST(DeployComposeTempo, GatewayTempoAndGrafana) {
  const YAML::Node compose = load_yaml(kTempoCompose);
  expect_gateway_service(compose, "http://tempo:4317");

  const YAML::Node tempo = service(compose, "tempo");
  EXPECT_TRUE(starts_with(field(tempo, "image").as<std::string>(""), "grafana/tempo:"));
  const std::string config_path = command_flag(tempo, "-config.file");
  ASSERT_FALSE(config_path.empty()) << "tempo is not started with -config.file";
  const auto config_mount = mount_at(tempo, config_path);
  ASSERT_TRUE(config_mount) << config_path << " is not mounted";
  EXPECT_EQ(config_mount->source, std::string("./") + kTempoConfig);
  EXPECT_TRUE(mount_at(tempo, "/var/tempo")) << "Tempo's data directory is not a volume";
  for (const char* port : {"3200:3200", "4317:4317", "4318:4318"}) {
    EXPECT_TRUE(ports(tempo).count(port)) << port;
  }

  const YAML::Node grafana = service(compose, "grafana");
  EXPECT_TRUE(starts_with(field(grafana, "image").as<std::string>(""), "grafana/grafana:"));
  EXPECT_TRUE(ports(grafana).count("3000:3000"));
  const auto env = environment(grafana);
  ASSERT_TRUE(env.count("GF_AUTH_ANONYMOUS_ENABLED"));
  ASSERT_TRUE(env.count("GF_AUTH_ANONYMOUS_ORG_ROLE"));
  EXPECT_EQ(env.at("GF_AUTH_ANONYMOUS_ENABLED"), "true");
  EXPECT_EQ(env.at("GF_AUTH_ANONYMOUS_ORG_ROLE"), "Admin");
  const auto datasources = mount_at(grafana, "/etc/grafana/provisioning/datasources");
  ASSERT_TRUE(datasources) << "the Tempo data source is not provisioned";
  EXPECT_TRUE(fs::exists(repo_root() / datasources->source / "tempo.yaml"));
}

TEST(DeployTempoConfig, ReceivesOtlpOnBothProtocolsAndStoresLocally) {
  const YAML::Node config = load_yaml(kTempoConfig);
  const std::vector<std::string> otlp = {"distributor", "receivers", "otlp", "protocols"};
  auto endpoint = [&](const char* protocol) {
    std::vector<std::string> keys = otlp;
    keys.push_back(protocol);
    keys.push_back("endpoint");
    return scalar(config, keys);
  };
  // 0.0.0.0: Tempo's receivers default to localhost, which other containers cannot reach.
  EXPECT_EQ(endpoint("grpc"), "0.0.0.0:4317");
  EXPECT_EQ(endpoint("http"), "0.0.0.0:4318");

  EXPECT_EQ(scalar(config, {"storage", "trace", "backend"}), "local");
  EXPECT_TRUE(starts_with(scalar(config, {"storage", "trace", "local", "path"}), "/var/tempo/"));
  EXPECT_TRUE(starts_with(scalar(config, {"storage", "trace", "wal", "path"}), "/var/tempo/"));
  EXPECT_EQ(scalar(config, {"server", "http_listen_port"}), "3200");
  // The S3 variant is documented alongside.
  EXPECT_NE(read_text(kTempoConfig).find("backend: s3"), std::string::npos);
}

TEST(DeployGrafanaDatasource, ProvisionsTempoAtTheTempoService) {
  const YAML::Node provisioning = load_yaml(kGrafanaDatasource);
  EXPECT_EQ(field(provisioning, "apiVersion").as<int>(0), 1);
  const YAML::Node datasources = field(provisioning, "datasources");
  ASSERT_TRUE(datasources.IsSequence());
  int tempo_sources = 0;
  for (const YAML::Node& ds : datasources) {
    if (field(ds, "type").as<std::string>("") != "tempo") continue;
    ++tempo_sources;
    EXPECT_EQ(field(ds, "access").as<std::string>(""), "proxy");
    const std::string port = scalar(load_yaml(kTempoConfig), {"server", "http_listen_port"});
    EXPECT_EQ(field(ds, "url").as<std::string>(""), "http://tempo:" + port);
  }
  EXPECT_EQ(tempo_sources, 1);
  EXPECT_TRUE(contains(service_names(load_yaml(kTempoCompose)), "tempo"));
}

TEST(DeployComposeCloudWatch, GatewayAndAdotCollectorWithAwsCredentials) {
  const YAML::Node compose = load_yaml(kCloudWatchCompose);
  expect_gateway_service(compose, "http://otel-collector:4317");

  const YAML::Node collector = service(compose, "otel-collector");
  EXPECT_TRUE(starts_with(field(collector, "image").as<std::string>(""),
                          "public.ecr.aws/aws-observability/aws-otel-collector:"));
  const std::string config_path = command_flag(collector, "--config");
  ASSERT_FALSE(config_path.empty()) << "the collector is not started with --config";
  const auto config_mount = mount_at(collector, config_path);
  ASSERT_TRUE(config_mount) << config_path << " is not mounted";
  EXPECT_EQ(config_mount->source, std::string("./") + kCollectorConfig);
  for (const char* port : {"4317:4317", "4318:4318"}) {
    EXPECT_TRUE(ports(collector).count(port)) << port;
  }
  const auto env = environment(collector);
  for (const char* name : {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}) {
    EXPECT_TRUE(env.count(name)) << name << " is not passed to the collector";
  }
  // Credentials are passed through from the shell, never written into the file.
  EXPECT_EQ(env.at("AWS_ACCESS_KEY_ID"), std::nullopt);
  EXPECT_EQ(env.at("AWS_SECRET_ACCESS_KEY"), std::nullopt);

  // The settings for older X-Ray pipelines are documented where users look for them.
  const std::string text = read_text(kCloudWatchCompose);
  EXPECT_NE(text.find("OTEL_SWITCHYARD_ID_GENERATOR=xray"), std::string::npos);
  EXPECT_NE(text.find("OTEL_PROPAGATORS=tracecontext,baggage,xray"), std::string::npos);
}

TEST(DeployCollectorConfig, OtlpInBatchAndAwsXrayOutInATracesPipeline) {
  const YAML::Node config = load_yaml(kCollectorConfig);
  const std::string grpc = scalar(config, {"receivers", "otlp", "protocols", "grpc", "endpoint"});
  const std::string http = scalar(config, {"receivers", "otlp", "protocols", "http", "endpoint"});
  EXPECT_TRUE(ends_with(grpc, ":4317")) << grpc;
  EXPECT_TRUE(ends_with(http, ":4318")) << http;
  EXPECT_TRUE(find(config, {"processors", "batch"}).has_value());
  ASSERT_TRUE(find(config, {"exporters", "awsxray"}).has_value());
  EXPECT_EQ(scalar(config, {"exporters", "awsxray", "region"}), "${env:AWS_REGION}");

  const auto traces = find(config, {"service", "pipelines", "traces"});
  ASSERT_TRUE(traces) << "no traces pipeline";
  const std::vector<std::string> receivers = scalars(field(*traces, "receivers"));
  const std::vector<std::string> processors = scalars(field(*traces, "processors"));
  const std::vector<std::string> exporters = scalars(field(*traces, "exporters"));
  EXPECT_TRUE(contains(receivers, "otlp"));
  EXPECT_TRUE(contains(processors, "batch"));
  EXPECT_TRUE(contains(exporters, "awsxray"));
  // Every component the pipeline names is defined (the collector refuses to start otherwise).
  for (const auto& [section, ids] : std::map<std::string, std::vector<std::string>>{
           {"receivers", receivers}, {"processors", processors}, {"exporters", exporters}}) {
    for (const std::string& id : ids) {
      EXPECT_TRUE(find(config, {section, id}).has_value()) << section << "." << id << " is not defined";
    }
  }
  // The collector reads its region from the environment the compose file gives it.
  EXPECT_TRUE(environment(service(load_yaml(kCloudWatchCompose), "otel-collector")).count("AWS_REGION"));
}

TEST(DeployXrayPolicy, AllowsTheXrayWritesTheExporterMakes) {
  boost::system::error_code ec;
  const boost::json::value policy = boost::json::parse(read_text(kXrayPolicy), ec);
  ASSERT_FALSE(ec) << kXrayPolicy << " is not valid JSON: " << ec.message();
  ASSERT_TRUE(policy.is_object());
  EXPECT_EQ(policy.at("Version"), "2012-10-17");
  const boost::json::value& statements = policy.at("Statement");
  ASSERT_TRUE(statements.is_array());

  std::set<std::string> allowed;
  for (const boost::json::value& statement : statements.as_array()) {
    if (statement.at("Effect") != "Allow") continue;
    const boost::json::value& action = statement.at("Action");
    if (action.is_string()) {
      allowed.insert(std::string(action.as_string()));
    } else {
      for (const boost::json::value& a : action.as_array()) allowed.insert(std::string(a.as_string()));
    }
    // X-Ray's write actions support no resource-level permissions.
    EXPECT_EQ(statement.at("Resource"), "*");
  }
  EXPECT_TRUE(allowed.count("xray:PutTraceSegments"));
  EXPECT_TRUE(allowed.count("xray:PutTelemetryRecords"));
  EXPECT_FALSE(allowed.count("xray:*")) << "least privilege: name the actions";
  EXPECT_FALSE(allowed.count("*"));
}

}  // namespace
}  // namespace sy::deploy
