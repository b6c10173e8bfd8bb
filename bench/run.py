#!/usr/bin/env python3
"""`make bench`: Switchyard side by side with the upstream itself, nginx and Portkey, in one run.

Starts the upstream (nginx serving a fixed completion and a fixed SSE stream) and the five targets, runs every
scenario against every target (targets interleaved within a scenario, their order rotated each round; the median
of the rounds is reported), then writes bench/results/<date>.json and .md and bench/results/latest.md.
Every process it starts is stopped at the end, and its temporary directory removed.

Settings (environment):
  BENCH_QUICK=1                 a ~2 minute run: 1 round, 2 s per measurement, fewer TTFB samples
  BENCH_DURATION=3              seconds per wrk measurement (whole seconds: wrk takes no fractions)
  BENCH_ROUNDS=3                rounds of every load scenario (the median is reported)
  BENCH_TTFB_REQUESTS=400       streaming requests per target and round for the TTFB figures...
  BENCH_TTFB_SECONDS=2          ...or fewer: as many as fit in this many seconds (a slow target gets fewer)
  BENCH_HOLD_CONNECTIONS=1000   connections of the idle keep-alive and concurrent-streams scenarios
  BENCH_SATURATION_CONNECTIONS=512   wrk connections of the saturation run
  BENCH_PAIRS=8                 pairs of the tracing-on/off comparison (each pair: one run of each, 2 s)
  BENCH_TARGETS=direct,nginx,switchyard,switchyard-otel,portkey
  BENCH_PIN=1                   pin the load generator to the upper half of the CPUs, everything else to the
                                lower half (0: let the scheduler place everything)
  BENCH_KEEP_TMP=1              keep the temporary directory (configs and logs) for a look afterwards
  SWITCHYARD_BIN=build/switchyard
"""
import asyncio
import contextlib
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import clients, fixtures, report  # noqa: E402
from benchlib.procs import cpu_seconds, load_average, rss_kb, taskset  # noqa: E402
from benchlib.targets import BENCH_DIR, Portkey, Upstream, all_targets  # noqa: E402

REPO = BENCH_DIR.parent
WRK_SCRIPT = BENCH_DIR / "wrk" / "post.lua"


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
DURATION = env_int("BENCH_DURATION", 2 if QUICK else 3)
ROUNDS = env_int("BENCH_ROUNDS", 1 if QUICK else 3)
TTFB_REQUESTS = env_int("BENCH_TTFB_REQUESTS", 100 if QUICK else 400)
TTFB_SECONDS = env_int("BENCH_TTFB_SECONDS", 1 if QUICK else 2)
HOLD = env_int("BENCH_HOLD_CONNECTIONS", 1000)
SATURATION_CONNS = env_int("BENCH_SATURATION_CONNECTIONS", 512)
PIN = os.environ.get("BENCH_PIN", "1") not in ("0", "false")
PAIRS = env_int("BENCH_PAIRS", 3 if QUICK else 8)
PAIR_DURATION = 1 if QUICK else 2  # seconds per run of a pair
PACED_DELAY_MS = 10  # the mean pause (exponentially distributed) of a connection in the paced scenario


class Stop(Exception):
    """SIGTERM/SIGINT/SIGHUP: stop measuring, clean up."""


def on_signal(signum, _frame):
    raise Stop(f"signal {signum}")


def cpu_layout():
    cpus = sorted(os.sched_getaffinity(0))
    if PIN and len(cpus) >= 2:
        half = len(cpus) // 2
        return cpus[:half], cpus[half:], True
    return None, None, False


def sh(cmd) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(server_cpus, load_cpus, pinned, binary, targets) -> dict:
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
    return {
        "cpu_model": model, "cpus": os.cpu_count(), "kernel": platform.release(),
        "commit": commit + ("+dirty" if dirty else ""),
        "switchyard": sh([str(binary), "--version"]).splitlines()[0] if binary.exists() else "missing",
        "nginx": sh(["nginx", "-v"]).replace("nginx version: ", ""),
        "wrk": sh(["wrk", "-v"]).splitlines()[0].split(" [")[0] if shutil.which("wrk") else "missing",
        "node": sh(["node", "--version"]), "portkey": Portkey.version() if "portkey" in targets else "not run",
        "pinning": (f"servers (upstream, target) on CPU {','.join(map(str, server_cpus))}; "
                    f"load generators (wrk, Python clients) and the OTLP receiver on CPU "
                    f"{','.join(map(str, load_cpus))}")
        if pinned else "none (BENCH_PIN=0)",
    }


class Bench:
    def __init__(self, workdir: Path, binary: Path, names: list[str]):
        self.workdir = workdir
        self.server_cpus, self.load_cpus, self.pinned = cpu_layout()
        n = len(self.server_cpus) if self.pinned else os.cpu_count()
        self.workers = max(1, n)
        self.wrk_threads = max(1, len(self.load_cpus) if self.pinned else (os.cpu_count() or 2) // 2)
        self.targets = [t for t in all_targets(binary) if t.name in names]
        self.upstream = None
        self.bodies = {}
        self.wrk_proc = None  # the running wrk, stopped with everything else if the run is interrupted
        self.results = {"meta": {}, "scenarios": {}, "memory": {t.name: {} for t in self.targets},
                        "checks": {}, "notes": [], "phases_s": {}, "paired": {}}

    @contextlib.contextmanager
    def phase(self, name):
        """Notes the wall time of one phase of the run (results["phases_s"]), to see where the time goes."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            elapsed = round(time.monotonic() - t0, 1)
            self.results["phases_s"][name] = elapsed
            print(f"bench: {name} took {elapsed} s", flush=True)

    # ---------------------------------------------------------------------------------------------------- setup
    def write_bodies(self):
        d = self.workdir / "bodies"
        d.mkdir()
        for kind, text in (("small", fixtures.small_request()), ("stream", fixtures.stream_request()),
                           ("slow", fixtures.slow_stream_request()), ("big", fixtures.big_request())):
            (d / f"{kind}.json").write_text(text)
            self.bodies[kind] = d / f"{kind}.json"

    def start(self):
        self.upstream = Upstream(self.workdir, self.server_cpus, self.workers, self.load_cpus)
        if not self.upstream.wait_ready():
            raise RuntimeError("the upstream nginx did not start:\n" + self.upstream.log_text())
        for t in self.targets:
            t.start(self.workdir, self.server_cpus, self.workers, self.upstream)
        for t in list(self.targets):
            if not t.wait_ready():
                log = "\n".join(p.log_text()[-2000:] for p in t.procs)
                print(f"bench: {t.name} did not start; it is left out of this run:\n{log}", file=sys.stderr)
                self.results["notes"].append(f"{t.name} did not start and was left out")
                t.stop()
                self.targets.remove(t)
        time.sleep(0.5)
        for t in self.targets:
            self.results["memory"][t.name]["start_kb"] = rss_kb(t.pids())

    def check(self):
        """Every target answers the small, the streaming and the 1 MB request as the upstream would."""
        for t in list(self.targets):
            problems = []
            for kind in ("small", "stream", "big"):
                path, headers = t.request(kind)
                try:
                    status, body = clients.check(t.port, path, headers, self.bodies[kind].read_bytes())
                except OSError as e:
                    status, body = 0, str(e).encode()
                ok = status == 200 and (b"[DONE]" in body if kind == "stream" else b"chat.completion" in body)
                if kind == "stream" and ok:
                    ok = body.count(b"data: {") >= fixtures.STREAM_CHUNKS
                if not ok:
                    problems.append(f"{kind}: HTTP {status} {body[:300]!r}")
            self.results["checks"][t.name] = problems or "ok"
            if problems:
                print(f"bench: {t.name} answers wrongly, left out: {problems}", file=sys.stderr)
                self.results["notes"].append(f"{t.name} failed the answer check and was left out: {problems}")
                t.stop()
                self.targets.remove(t)

    def warm_up(self):
        for t in self.targets:
            self.wrk(t, "small", 64, max(1, DURATION // 2))
            self.wrk(t, "stream", 16, 1)
        time.sleep(1.0)
        for t in self.targets:
            self.results["memory"][t.name]["idle_kb"] = rss_kb(t.pids())

    # -------------------------------------------------------------------------------------------- measurements
    def wrk(self, t, kind, conns, duration, delay_ms=None) -> dict:
        path, headers = t.request(kind)
        env = dict(os.environ, WRK_BODY=str(self.bodies[kind]), WRK_HEADERS="\n".join(headers))
        if delay_ms:
            env["WRK_DELAY_MS"] = str(delay_ms)
        cmd = taskset(self.load_cpus) + ["wrk", "-t", str(min(self.wrk_threads, conns)), "-c", str(conns),
                                         "-d", f"{duration}s", "--timeout", "5s", "-s", str(WRK_SCRIPT),
                                         f"http://127.0.0.1:{t.port}{path}"]
        pids = t.pids()
        cpu0, peak = cpu_seconds(pids), 0
        p = self.wrk_proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        while p.poll() is None:
            peak = max(peak, rss_kb(pids))
            time.sleep(0.1)
        cpu = cpu_seconds(pids) - cpu0
        out = p.stdout.read()
        line = next((l for l in out.splitlines() if l.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk gave no summary for {t.name}:\n{out}")
        s = json.loads(line[len("BENCH_JSON "):])
        e = s["errors"]
        reqs = s["requests"]
        lat = s["latency_us"]
        return {
            "rps": reqs / (s["duration_us"] / 1e6), "requests": reqs,
            "errors": e["connect"] + e["read"] + e["write"] + e["status"] + e["timeout"], "error_detail": e,
            "p50_ms": lat["p50"] / 1000, "p90_ms": lat["p90"] / 1000, "p99_ms": lat["p99"] / 1000,
            "mean_ms": lat["mean"] / 1000, "max_ms": lat["max"] / 1000,
            "cpu_s": cpu, "cpu_ms_per_1k": (cpu * 1000) / (reqs / 1000) if reqs else None,
            "rss_peak_kb": peak, "connections": conns,
        }

    def ttfb(self, t) -> dict:
        path, headers = t.request("stream")
        cmd_affinity = set(self.load_cpus) if self.pinned else None
        old = os.sched_getaffinity(0)
        if cmd_affinity:
            os.sched_setaffinity(0, cmd_affinity)
        try:
            r = clients.stream_ttfb(t.port, path, headers, self.bodies["stream"].read_bytes(), TTFB_REQUESTS,
                                    max_seconds=TTFB_SECONDS)
        finally:
            os.sched_setaffinity(0, old)

        def pct(xs, q):
            if not xs:
                return None
            xs = sorted(xs)
            return xs[min(len(xs) - 1, int(q / 100 * len(xs)))] * 1000

        return {"first_byte_p50_ms": pct(r["first_byte_s"], 50), "first_byte_p99_ms": pct(r["first_byte_s"], 99),
                "first_event_p50_ms": pct(r["first_event_s"], 50), "first_event_p90_ms": pct(r["first_event_s"], 90),
                "first_event_p99_ms": pct(r["first_event_s"], 99), "total_p50_ms": pct(r["total_s"], 50),
                "requests": len(r["first_event_s"]), "errors": r["failed"]}

    def hold(self, t, mode) -> dict:
        kind = "small" if mode == "idle" else "slow"
        path, headers = t.request(kind)
        pids = t.pids()
        old = os.sched_getaffinity(0)
        if self.pinned:
            os.sched_setaffinity(0, set(self.load_cpus))
        try:
            cpu0 = cpu_seconds(pids)

            def sample():
                vals = []
                for _ in range(5):
                    vals.append(rss_kb(pids))
                    time.sleep(0.1)
                return max(vals)

            r = asyncio.run(clients.hold(t.port, path, headers, self.bodies[kind].read_bytes(), HOLD, mode, sample))
            cpu = cpu_seconds(pids) - cpu0
        finally:
            os.sched_setaffinity(0, old)
        time.sleep(0.5)  # let the target see the closes before the next one is measured
        return {"rss_kb": r["sample"], "connections": HOLD, "failed": r["failed"], "still_open": r["still_open"],
                "setup_s": r["setup_s"], "cpu_s": cpu}

    # --------------------------------------------------------------------------------------------- scenarios
    def scenario(self, name, rounds, measure):
        """Runs `measure(target)` for every target, `rounds` times, the order rotated each round."""
        per = {t.name: [] for t in self.targets}
        with self.phase(name):
            for r in range(rounds):
                k = r % len(self.targets)
                for t in self.targets[k:] + self.targets[:k]:
                    res = measure(t)
                    per[t.name].append(res)
                    print(f"  [{name} {r + 1}/{rounds}] {t.name:16s} {report.brief(res)}", flush=True)
        self.results["scenarios"][name] = {n: {"rounds": rs, "median": median_of(rs)} for n, rs in per.items()}

    def paired(self, name, base, other, pairs, measure):
        """Runs `measure` on two targets one right after the other, `pairs` times (which goes first alternates):
        the ratio of `other` to `base` in each pair, taken seconds apart, is far less at the mercy of a shared
        host whose speed drifts over tens of seconds than the ratio of two medians from runs a minute apart.
        The report gives the median of the pairs' ratios."""
        ts = {t.name: t for t in self.targets}
        if base not in ts or other not in ts:
            return
        per = {base: [], other: []}
        with self.phase(name):
            for i in range(pairs):
                for n in ((base, other) if i % 2 == 0 else (other, base)):
                    res = measure(ts[n])
                    per[n].append(res)
                    print(f"  [{name} {i + 1}/{pairs}] {n:16s} {report.brief(res)}", flush=True)
        ratios = [o["rps"] / b["rps"] for b, o in zip(per[base], per[other]) if b["rps"]]
        self.results["paired"][name] = {"base": base, "other": other, "rounds": per, "ratios": ratios,
                                        "ratio_median": statistics.median(ratios) if ratios else None}

    def max_rps(self, name) -> float | None:
        sc = self.results["scenarios"]
        vals = [sc[s][name]["median"]["rps"] for s in ("small_c64", "small_c256", "saturation")
                if s in sc and name in sc[s]]
        return max(vals) if vals else None

    def run(self):
        D, R = DURATION, ROUNDS
        print(f"bench: {len(self.targets)} targets, {R} round(s), {D} s per measurement", flush=True)
        # Memory first, while the targets have only seen the warm-up: what an allocator keeps after the 1 MB
        # bodies or the saturation runs would otherwise be counted as the cost of idle connections.
        self.scenario("idle_keepalive", 1, lambda t: self.hold(t, "idle"))
        self.scenario("streams_held", 1, lambda t: self.hold(t, "stream"))
        for c in (1, 64, 256):
            self.scenario(f"small_c{c}", R, lambda t, c=c: self.wrk(t, "small", c, D))
        self.scenario("saturation", R, lambda t: self.wrk(t, "small", SATURATION_CONNS, D))
        ref = next((n for n in ("switchyard", "switchyard-otel") if self.max_rps(n)), None)
        if ref:
            rate = self.max_rps(ref) / 2
            c1 = self.results["scenarios"]["small_c1"][ref]["median"]["p50_ms"]
            conns = max(1, round(rate * (PACED_DELAY_MS + c1) / 1000))
            self.results["paced"] = {"reference": ref, "target_rps": rate, "connections": conns,
                                     "delay_ms": PACED_DELAY_MS}
            self.scenario("paced_half", R, lambda t: self.wrk(t, "small", conns, D, delay_ms=PACED_DELAY_MS))
        for name, conns in (("tracing_c64", 64), ("tracing_saturation", SATURATION_CONNS)):
            self.paired(name, "switchyard", "switchyard-otel", PAIRS,
                        lambda t, c=conns: self.wrk(t, "small", c, PAIR_DURATION))
        self.scenario("stream_ttfb", R, self.ttfb)
        self.scenario("stream_c64", R, lambda t: self.wrk(t, "stream", 64, D))
        self.scenario("body_1mb", R, lambda t: self.wrk(t, "big", 8, D))
        time.sleep(0.5)
        for t in self.targets:
            mem = self.results["memory"][t.name]
            mem["end_kb"] = rss_kb(t.pids())
            mem["load_peak_kb"] = max(self.results["scenarios"][s][t.name]["median"].get("rss_peak_kb") or 0
                                      for s in ("small_c256", "saturation"))

    def stop(self):
        if self.wrk_proc is not None and self.wrk_proc.poll() is None:
            self.wrk_proc.kill()
            self.wrk_proc.wait()
        for t in self.targets:
            t.stop()
        if self.upstream:
            self.upstream.stop()

    def target_logs(self) -> dict:
        out = {}
        for t in self.targets:
            for p in t.procs:
                text = p.log_text()
                out[t.name] = [l for l in text.splitlines() if "dropped" in l or '"level":"error"' in l][-5:]
        return out


def median_of(rounds: list[dict]) -> dict:
    out = {}
    for key in rounds[0]:
        vals = [r[key] for r in rounds if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        if vals and len(vals) == len(rounds):
            out[key] = statistics.median(vals)
        else:
            out[key] = rounds[0][key]
    return out


def main() -> int:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children (the targets) inherit it
    if hard < 2 * HOLD + 200:
        print(f"bench: the open-file limit ({hard}) is too low for {HOLD} held connections", file=sys.stderr)
        return 2

    binary = Path(os.environ.get("SWITCHYARD_BIN", str(REPO / "build" / "switchyard")))
    if not binary.is_absolute():
        binary = (REPO / binary) if not binary.exists() else binary.resolve()
    names = os.environ.get("BENCH_TARGETS", "direct,nginx,switchyard,switchyard-otel,portkey").split(",")
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            print(f"bench: {tool} is missing (scripts/install-deps.sh installs it)", file=sys.stderr)
            return 2
    if not binary.exists():
        print(f"bench: no switchyard binary at {binary} (build it first)", file=sys.stderr)
        return 2
    if "portkey" in names and not Portkey.START_SCRIPT.exists():
        print("bench: Portkey is not installed in bench/node_modules (npm ci in bench/)", file=sys.stderr)
        return 2

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
    bench = Bench(workdir, binary, names)
    res = bench.results
    res["meta"] = machine_info(bench.server_cpus, bench.load_cpus, bench.pinned, binary, names)
    res["meta"].update(started=started.isoformat(timespec="seconds"), load_average_start=load_average(),
                       quick=QUICK, duration_s=DURATION, rounds=ROUNDS, ttfb_requests=TTFB_REQUESTS,
                       ttfb_seconds=TTFB_SECONDS,
                       hold_connections=HOLD, saturation_connections=SATURATION_CONNS, workers=bench.workers,
                       wrk_threads=bench.wrk_threads, pairs=PAIRS, pair_duration_s=PAIR_DURATION)
    print(f"bench: load average at start {res['meta']['load_average_start']}; {res['meta']['pinning']}",
          flush=True)
    code = 0
    try:
        with bench.phase("start"):
            bench.write_bodies()
            bench.start()
        with bench.phase("check"):
            bench.check()
        res["targets"] = {t.name: t.description for t in bench.targets}
        with bench.phase("warm-up"):
            bench.warm_up()
        bench.run()
    except Stop as e:
        print(f"bench: stopped ({e}); nothing written", file=sys.stderr)
        code = 130
    except Exception:
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        if code == 0:
            res["otlp_receiver"] = dict(zip(("exports", "bytes"), bench.upstream.otlp_exports()))
            res["target_log_lines"] = bench.target_logs()
        with bench.phase("stop"):
            bench.stop()
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"bench: temporary files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if code:
        return code

    res["meta"]["load_average_end"] = load_average()
    res["meta"]["elapsed_s"] = round(time.monotonic() - t0, 1)
    out_dir = Path(os.environ.get("BENCH_OUT", str(BENCH_DIR / "results")))
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%d") + ("-quick" if QUICK else "")
    res["budget"] = report.budget(res)
    (out_dir / f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    md = report.markdown(res)
    (out_dir / f"{stem}.md").write_text(md)
    (out_dir / ("latest-quick.md" if QUICK else "latest.md")).write_text(md)
    print(md)
    print("bench: wall time per phase: " + ", ".join(f"{k} {v} s" for k, v in res["phases_s"].items()))
    print(f"bench: wrote {out_dir / (stem + '.md')} and .json in {res['meta']['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
