"""What `make bench` measures: the upstream it all talks to, and the five targets in front of it.

  direct           the load generator straight to the upstream (the physical limit)
  nginx            nginx proxy_pass with a keep-alive upstream pool (the practical limit of an HTTP proxy)
  switchyard       the gateway, tracing off
  switchyard-otel  the gateway, tracing on, exporting OTLP/HTTP protobuf to a loopback receiver (nginx)
  portkey          the Portkey AI gateway from npm (bench/node_modules)

Each target says, per kind of request ("small", "stream", "slow", "big"), which path and headers to send; the
bodies are the same bytes for every target (bench/benchlib/fixtures.py).
"""
import os
from pathlib import Path

from . import fixtures
from .procs import Proc, free_port, taskset, wait_http

BENCH_DIR = Path(__file__).resolve().parent.parent
CONF_DIR = BENCH_DIR / "conf"
UPSTREAM_KEY = "sk-upstream-bench"
GATEWAY_KEY = "sk-bench"
# Per kind of request: the upstream path prefix (the deployment's api_base path in switchyard's config).
UPSTREAM_PREFIX = {"small": "/v1", "big": "/v1", "stream": "/stream/v1", "slow": "/slow/v1"}
CHAT = "/chat/completions"
SLOW_RATE_BYTES_PER_S = 256  # about 40 s for the whole 10 KB stream: long enough to hold 1,000 streams open


def _fill(template: Path, out: Path, **values) -> Path:
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    assert "@" not in "".join(line for line in text.splitlines() if not line.lstrip().startswith("#")), \
        f"unfilled placeholder in {out}"
    out.write_text(text)
    return out


def _nginx_dirs(workdir: Path):
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)


def _nginx_user() -> str:
    # As root, nginx would switch its workers to "nobody", who cannot write the temp dir.
    return "user root;" if os.geteuid() == 0 else ""


class Upstream:
    """nginx serving the fixed completion, the fixed stream and the slow stream; and, as a second nginx, the OTLP
    receiver of the tracing-on target, pinned to `receiver_cpus` (the load generators' CPUs in a pinned run)."""

    def __init__(self, workdir: Path, cpus, workers: int, receiver_cpus=None):
        self.dir = workdir / "upstream"
        self.otlp_dir = workdir / "otlp"
        _nginx_dirs(self.dir)
        _nginx_dirs(self.otlp_dir)
        self.port, self.otlp_port = free_port(), free_port()
        maps, refs = fixtures.nginx_maps("sse", fixtures.stream())
        conf = _fill(CONF_DIR / "upstream.nginx.conf", self.dir / "nginx.conf", USER=_nginx_user(), WORKERS=workers,
                     DIR=self.dir, PORT=self.port, MAPS=maps,
                     COMPLETION=fixtures.nginx_string(fixtures.completion()), STREAM=refs,
                     SLOW_RATE=SLOW_RATE_BYTES_PER_S)
        otlp_conf = _fill(CONF_DIR / "otlp.nginx.conf", self.otlp_dir / "nginx.conf", USER=_nginx_user(),
                          DIR=self.otlp_dir, PORT=self.otlp_port)
        self.proc = Proc("upstream", taskset(cpus) + ["nginx", "-p", str(self.dir), "-c", str(conf)],
                         self.dir / "stdout.log")
        receiver_cpus = cpus if receiver_cpus is None else receiver_cpus
        self.receiver = Proc("otlp", taskset(receiver_cpus) + ["nginx", "-p", str(self.otlp_dir), "-c", str(otlp_conf)],
                             self.otlp_dir / "stdout.log")

    def wait_ready(self) -> bool:
        ok = (wait_http(f"http://127.0.0.1:{self.port}/", 10, self.proc)
              and wait_http(f"http://127.0.0.1:{self.otlp_port}/", 10, self.receiver))
        self.proc.find_children()
        self.receiver.find_children()
        return ok

    def log_text(self) -> str:
        return self.proc.log_text() + self.receiver.log_text()

    def stop(self):
        self.proc.stop()
        self.receiver.stop()

    def otlp_exports(self) -> tuple[int, int]:
        """(export requests received, bytes received) by the OTLP receiver."""
        try:
            sizes = [int(x) for x in (self.otlp_dir / "otlp.log").read_text().split()]
        except OSError:
            return 0, 0
        return len(sizes), sum(sizes)


class Target:
    name = ""
    description = ""

    def __init__(self):
        self.port = 0
        self.procs: list[Proc] = []   # processes started for this target
        self.measured: list[Proc] = []  # processes whose RSS and CPU are this target's

    def pids(self) -> list[int]:
        return [pid for p in self.measured for pid in p.pids]

    def request(self, kind: str) -> tuple[str, list[str]]:
        """(path, extra headers) of a request of `kind`."""
        raise NotImplementedError

    def start(self, workdir: Path, cpus, workers: int, upstream: Upstream):
        raise NotImplementedError

    def wait_ready(self) -> bool:
        raise NotImplementedError

    def stop(self):
        for p in self.procs:
            p.stop()


class Direct(Target):
    name = "direct"
    description = "wrk straight to the upstream nginx"

    def start(self, workdir, cpus, workers, upstream):
        self.port = upstream.port
        self.measured = [upstream.proc]

    def wait_ready(self):
        return True

    def request(self, kind):
        return UPSTREAM_PREFIX[kind] + CHAT, [f"Authorization: Bearer {UPSTREAM_KEY}"]


class NginxProxy(Target):
    name = "nginx"
    description = "nginx proxy_pass, keep-alive upstream pool"

    def start(self, workdir, cpus, workers, upstream):
        d = workdir / "nginx-proxy"
        _nginx_dirs(d)
        self.port = free_port()
        conf = _fill(CONF_DIR / "proxy.nginx.conf", d / "nginx.conf", USER=_nginx_user(), WORKERS=workers, DIR=d,
                     PORT=self.port, UPSTREAM_PORT=upstream.port)
        self.procs = self.measured = [Proc("nginx", taskset(cpus) + ["nginx", "-p", str(d), "-c", str(conf)],
                                           d / "stdout.log")]

    def wait_ready(self):
        ok = wait_http(f"http://127.0.0.1:{self.port}/v1/chat/completions", 10, self.procs[0])
        self.procs[0].find_children()
        return ok

    def request(self, kind):
        return UPSTREAM_PREFIX[kind] + CHAT, [f"Authorization: Bearer {UPSTREAM_KEY}"]


class Switchyard(Target):
    name = "switchyard"
    description = "switchyard, tracing off"
    tracing = False

    def __init__(self, binary: Path):
        super().__init__()
        self.binary = binary

    def env(self, upstream: Upstream) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        if self.tracing:
            env.update(OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                       OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{upstream.otlp_port}",
                       OTEL_SERVICE_NAME="switchyard-bench")
        else:
            env.update(OTEL_TRACES_EXPORTER="none")
        return env

    def start(self, workdir, cpus, workers, upstream):
        d = workdir / self.name
        d.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = _fill(CONF_DIR / "switchyard.yaml", d / "config.yaml", UPSTREAM_PORT=upstream.port, WORKERS=workers)
        cmd = taskset(cpus) + [str(self.binary), "serve", "--config", str(conf), "--host", "127.0.0.1",
                               "--port", str(self.port), "--workers", str(workers)]
        self.procs = self.measured = [Proc(self.name, cmd, d / "stderr.log", env=self.env(upstream))]

    def wait_ready(self):
        return wait_http(f"http://127.0.0.1:{self.port}/health/readiness", 15, self.procs[0])

    def request(self, kind):
        return "/v1" + CHAT, [f"Authorization: Bearer {GATEWAY_KEY}"]


class SwitchyardTracing(Switchyard):
    name = "switchyard-otel"
    description = "switchyard, tracing on (OTLP/HTTP protobuf to a loopback receiver)"
    tracing = True


class Portkey(Target):
    name = "portkey"
    description = "Portkey AI gateway (npm @portkey-ai/gateway, Node.js)"
    START_SCRIPT = BENCH_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"

    def __init__(self):
        super().__init__()
        self.upstream_port = 0

    @staticmethod
    def version() -> str:
        import json
        try:
            pkg = Portkey.START_SCRIPT.parent.parent / "package.json"
            return json.loads(pkg.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return "missing"

    def start(self, workdir, cpus, workers, upstream):
        d = workdir / "portkey"
        d.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.upstream_port = upstream.port
        env = dict(os.environ, NODE_ENV="production")
        # Node.js runs JavaScript on one thread whatever the CPU count; it gets the same CPUs as the others.
        cmd = taskset(cpus) + ["node", str(self.START_SCRIPT), f"--port={self.port}", "--headless"]
        self.procs = self.measured = [Proc("portkey", cmd, d / "stdout.log", env=env, cwd=BENCH_DIR)]

    def wait_ready(self):
        return wait_http(f"http://127.0.0.1:{self.port}/", 20, self.procs[0])

    def request(self, kind):
        host = f"http://127.0.0.1:{self.upstream_port}{UPSTREAM_PREFIX[kind]}"
        return "/v1" + CHAT, ["x-portkey-provider: openai", f"x-portkey-custom-host: {host}",
                              f"Authorization: Bearer {UPSTREAM_KEY}"]


def all_targets(binary: Path) -> list[Target]:
    return [Direct(), NginxProxy(), Switchyard(binary), SwitchyardTracing(binary), Portkey()]
