#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests and the benchmarks need.
# Does nothing (and asks no registry) when every package is already installed.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev zlib1g-dev libyaml-cpp-dev libcli11-dev
  # the allocator (tcmalloc_minimal and its header)
  libgoogle-perftools-dev
  # OTLP export: protobuf messages and the gRPC trace service
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (make fuzz): clang with the libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  curl python3
  nginx-light wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js with npm runs the SDK end-to-end tests; a machine may already carry a Node.js that bundles npm
# (and conflicts with Debian's npm package), so only the command is checked.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
