# Switchyard container image.
#
#   docker build -t switchyard .
#   docker run --rm -p 4000:4000 switchyard          # serves config/quickstart.yaml (mock provider, offline)
#   docker run --rm -p 4000:4000 -v $PWD/my.yaml:/app/config/my.yaml:ro -e OPENAI_API_KEY \
#     switchyard serve --config /app/config/my.yaml --host 0.0.0.0 --port 4000
#
# Two stages: a full Debian 12 toolchain builds the release binary; the runtime stage is debian:12-slim with
# only the shared libraries that binary loads, and runs it as an unprivileged user.

# ---- build ----------------------------------------------------------------------------------------------------
FROM debian:12 AS build

ARG DEBIAN_FRONTEND=noninteractive
# The toolchain and library sections of scripts/install-deps.sh, without the test, benchmark, fuzzing and Node.js
# tools the image does not need (tests/unit/deploy_files_test.cpp checks that the two lists stay in step).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config make \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libssl-dev zlib1g-dev libyaml-cpp-dev libcli11-dev libgoogle-perftools-dev \
      libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Each Beast/grpc++ translation unit takes about a gigabyte to compile; lower the parallelism on small builders
# with --build-arg BUILD_JOBS=2 (empty: Ninja's default, one job per core plus two).
ARG BUILD_JOBS=
# The target builds the gateway and the OTLP/gRPC exporter module it loads when that protocol is configured.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWITCHYARD_TESTS=OFF \
 && cmake --build build --target switchyard ${BUILD_JOBS:+-j ${BUILD_JOBS}} \
 && strip build/switchyard build/libswitchyard_otlp_grpc.so

# ---- runtime --------------------------------------------------------------------------------------------------
FROM debian:12-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive
# Runtime halves of the -dev packages above (Debian 12 names): Boost.JSON and Boost.URL, OpenSSL 3, yaml-cpp,
# gRPC++ for the OTLP/gRPC exporter module, zlib for gzip, tcmalloc (the allocator), and the CA bundle for TLS to
# providers and collectors. libstdc++ and libgcc are already part of the slim image; protobuf is only a build tool.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libboost-json1.81.0 libboost-url1.81.0 \
      libssl3 \
      libyaml-cpp0.7 \
      libgrpc++1.51 libgrpc29 \
      zlib1g \
      libtcmalloc-minimal4 \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric id, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 switchyard \
 && useradd --system --uid 10001 --gid switchyard --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin switchyard

COPY --from=build /src/build/switchyard /usr/local/bin/switchyard
# Where the gateway looks for the module besides its own directory: ../lib/switchyard/ from the binary.
COPY --from=build /src/build/libswitchyard_otlp_grpc.so /usr/local/lib/switchyard/libswitchyard_otlp_grpc.so
COPY config/ /app/config/

# Fail the image build, not the first container start, if a shared library is missing from the list above.
RUN for f in /usr/local/bin/switchyard /usr/local/lib/switchyard/libswitchyard_otlp_grpc.so; do \
      if ldd "$f" | grep -q 'not found'; then ldd "$f"; echo "$f: missing shared libraries" >&2; exit 1; fi; \
    done \
 && /usr/local/bin/switchyard --version

WORKDIR /app
USER 10001:10001
EXPOSE 4000

# Exec form: switchyard is PID 1 and receives SIGTERM itself, so `docker stop` drains in-flight requests.
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve", "--config", "/app/config/quickstart.yaml", "--host", "0.0.0.0", "--port", "4000"]
