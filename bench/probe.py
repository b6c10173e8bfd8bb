#!/usr/bin/env python3
"""Profiles of the request path that `make bench` does not give, for comparing gateway builds side by side:

  syscalls   strace -c over N small requests sent one after another on one keep-alive connection (per request)
  big        the same over 20 1 MB requests, and 1 MB bodies per second (wrk, 8 connections)
  stream     the same over 50 streaming requests (50 content chunks each)
  cpu        utime+stime of the gateway per 1,000 small requests under wrk (64 connections), and its RPS
  rss        VmRSS after a warm-up, and with 1,000 idle keep-alive connections held
  allocs     callgrind: allocations per small request (malloc and its kin, operator new), N requests one after
             another and under wrk (16 connections), and the functions that allocate
  instructions  callgrind (valgrind): user-space instructions per small request under wrk (16 connections),
             counted only after a warm-up: exact where CPU time on a shared machine varies by +-15%, though blind
             to cache misses and to the kernel

    python3 bench/probe.py --bin build/switchyard --bin OTHER/switchyard --what syscalls,cpu,rss --rounds 3

Besides what scripts/install-deps.sh installs, `syscalls`, `big` and `stream` need strace, and `allocs` and
`instructions` valgrind (both Debian packages: apt-get install strace valgrind).

`--tracing on` runs the gateways with tracing on, exporting OTLP/HTTP protobuf to the loopback OTLP
receiver exactly as `make bench`'s switchyard-otel target does; `--tracing both` runs every binary both ways and
adds the tracing-on/tracing-off ratios of each binary's medians to the summary.

Every binary runs against the same upstream nginx (bench/conf/upstream.nginx.conf) with one worker, pinned like
`make bench` (servers on the lower half of the CPUs, load on the upper half); rounds alternate the binaries, so
that a noisy machine weighs on each the same. Prints one JSON line per measurement and a summary (medians).
"""
import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import clients, fixtures  # noqa: E402
from benchlib.procs import Proc, cpu_seconds, rss_kb, taskset, wait_http  # noqa: E402
from benchlib.targets import Switchyard, Upstream  # noqa: E402

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "post.lua"


def cpu_layout():
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return cpus, cpus
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


class Gateway(Switchyard):
    def __init__(self, binary: Path, label: str, tracing: bool = False, callgrind: Path | None = None):
        super().__init__(binary)
        self.name = label
        self.callgrind = callgrind  # the callgrind output file: run under valgrind, not counting until told
        self.tracing = tracing  # as SwitchyardTracing: OTLP/HTTP protobuf to the loopback receiver

    def start(self, workdir, cpus, workers, upstream):
        super().start(workdir, cpus, workers, upstream)
        if self.callgrind:  # the same command again, under valgrind
            self.procs[0].stop()
            cmd = self.procs[0].popen.args
            i = cmd.index(str(self.binary))
            cmd = cmd[:i] + ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                             f"--callgrind-out-file={self.callgrind}"] + cmd[i:]
            self.procs = self.measured = [Proc(self.name, cmd, workdir / f"{self.name}-callgrind.log",
                                               env=self.env(upstream))]

    def wait_ready(self):
        if not self.callgrind:
            return super().wait_ready()
        return wait_http(f"http://127.0.0.1:{self.port}/health/readiness", 90, self.procs[0])

    def server_pid(self) -> int:
        return self.procs[0].pid


def sequential(port: int, path: str, headers: list[str], body: bytes, n: int):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = clients._SyncResponseReader(s)
        req = clients.build_request(port, path, headers, body)
        for _ in range(n):
            s.sendall(req)
            r = reader.read()
            assert r["status"] == 200, r


ALLOCATORS = re.compile(r"(malloc|calloc|realloc|memalign|aligned_alloc|posix_memalign|valloc|pvalloc"
                        r"|operator new(\[\])?\(.*)$")


def allocation_calls(path: Path) -> Counter:
    """Calls into allocation functions in a callgrind output file, by calling function; calls the allocator
    makes to itself (tcmalloc's aligned_alloc calling its memalign, say) are left out."""
    ids = {"fn": {}, "ob": {}}

    def name(kind, rest):  # callgrind names a function or object once, then by its number alone
        m = re.match(r"\((\d+)\)(?: (.*))?", rest)
        if not m:
            return rest
        if m.group(2) is not None:
            ids[kind][m.group(1)] = m.group(2)
        return ids[kind].get(m.group(1), "")

    calls = Counter()
    ob = fn = fn_ob = callee = ""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                ob = name("ob", line[3:].strip())
            elif line.startswith("cob="):
                name("ob", line[4:].strip())
            elif line.startswith("fn="):
                fn, fn_ob = name("fn", line[3:].strip()), ob
            elif line.startswith("cfn="):
                callee = name("fn", line[4:].strip())
            elif line.startswith("calls=") and ALLOCATORS.match(callee):
                if not ALLOCATORS.match(fn) and "tcmalloc" not in fn_ob and "tcmalloc" not in fn:
                    calls[fn] += int(line[6:].split()[0])
    return calls



def callgrind_control(g, *args):
    subprocess.run(["callgrind_control", *args, str(g.server_pid())], capture_output=True, check=True)

def strace_counts(pid: int, action) -> dict:
    out = tempfile.mktemp(suffix=".strace")
    p = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread
    action()
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    p.wait(10)
    counts = {}
    for line in Path(out).read_text().splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
        if m and m.group(2) != "total":
            counts[m.group(2)] = int(m.group(1))
    os.unlink(out)
    return counts


class Probe:
    def __init__(self, args):
        self.args = args
        self.server_cpus, self.load_cpus = cpu_layout()
        self.workdir = Path(tempfile.mkdtemp(prefix="sy-probe-"))
        self.bodies = {}
        for kind, text in (("small", fixtures.small_request()), ("big", fixtures.big_request()),
                           ("stream", fixtures.stream_request())):
            self.bodies[kind] = self.workdir / f"{kind}.json"
            self.bodies[kind].write_text(text)
        self.upstream = Upstream(self.workdir, self.server_cpus, 1, self.load_cpus)
        if not self.upstream.wait_ready():
            raise RuntimeError("upstream nginx did not start: " + self.upstream.log_text())

    def start(self, binary: Path, label: str, tracing=False) -> Gateway:
        g = Gateway(binary, label, tracing)
        g.start(self.workdir, self.server_cpus, 1, self.upstream)
        if not g.wait_ready():
            raise RuntimeError(f"{label} did not start: " + g.procs[0].log_text()[-2000:])
        return g

    def wrk(self, g: Gateway, kind: str, conns: int, duration: int) -> dict:
        path, headers = g.request(kind)
        env = dict(os.environ, WRK_BODY=str(self.bodies[kind]), WRK_HEADERS="\n".join(headers))
        cmd = taskset(self.load_cpus) + ["wrk", "-t1", "-c", str(conns), "-d", f"{duration}s", "--timeout", "5s",
                                         "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{g.port}{path}"]
        pid = g.server_pid()
        c0 = cpu_seconds([pid])
        out = subprocess.run(cmd, capture_output=True, text=True, env=env).stdout
        cpu = cpu_seconds([pid]) - c0
        s = json.loads(next(l for l in out.splitlines() if l.startswith("BENCH_JSON "))[11:])
        n = s["requests"]
        errors = sum(s["errors"].values())
        return {"rps": n / (s["duration_us"] / 1e6), "requests": n, "errors": errors,
                "cpu_ms_per_1k": cpu * 1e6 / n if n else None, "p99_ms": s["latency_us"]["p99"] / 1000}

    def warm(self, g):
        self.wrk(g, "small", 64, 2)
        self.wrk(g, "stream", 16, 1)

    def measure(self, binary: Path, label: str, what: set, tracing: bool) -> dict:
        res = {}
        g = self.start(binary, label, tracing=tracing)
        try:
            path, headers = g.request("small")
            small = self.bodies["small"].read_bytes()
            if "rss" in what:
                time.sleep(0.5)
                res["rss_start_kb"] = rss_kb([g.server_pid()])
            self.warm(g)
            if "rss" in what:
                time.sleep(1.0)
                res["rss_idle_kb"] = rss_kb([g.server_pid()])
                r = asyncio.run(clients.hold(g.port, path, headers, small, 1000, "idle",
                                             lambda: max(rss_kb([g.server_pid()]) for _ in range(3))))
                res["rss_1k_idle_kb"] = r["sample"]
                res["rss_1k_idle_failed"] = r["failed"]
                time.sleep(0.5)
            if "syscalls" in what:
                n = self.args.requests
                sequential(g.port, path, headers, small, 20)
                c = strace_counts(g.server_pid(), lambda: sequential(g.port, path, headers, small, n))
                res["syscalls_per_req"] = round(sum(c.values()) / n, 2)
                res["syscalls"] = {k: round(v / n, 2) for k, v in sorted(c.items(), key=lambda kv: -kv[1])}
            if "big" in what:
                big = self.bodies["big"].read_bytes()
                sequential(g.port, path, headers, big, 3)
                n = 20
                c = strace_counts(g.server_pid(), lambda: sequential(g.port, path, headers, big, n))
                res["big_syscalls_per_req"] = round(sum(c.values()) / n, 1)
                res["big_syscalls"] = {k: round(v / n, 1) for k, v in sorted(c.items(), key=lambda kv: -kv[1])}
                w = self.wrk(g, "big", 8, self.args.duration)
                res["big_rps"] = round(w["rps"], 1)
                res["big_cpu_ms_per_req"] = round(w["cpu_ms_per_1k"] / 1000, 3)
            if "stream" in what:
                spath, sheaders = g.request("stream")
                sbody = self.bodies["stream"].read_bytes()
                sequential(g.port, spath, sheaders, sbody, 5)
                n = 50
                c = strace_counts(g.server_pid(), lambda: sequential(g.port, spath, sheaders, sbody, n))
                res["stream_syscalls_per_req"] = round(sum(c.values()) / n, 1)
                res["stream_syscalls"] = {k: round(v / n, 1) for k, v in sorted(c.items(), key=lambda kv: -kv[1])}
            if "cpu" in what:
                w = self.wrk(g, "small", 64, self.args.duration)
                res["rps_c64"] = round(w["rps"])
                res["cpu_ms_per_1k"] = round(w["cpu_ms_per_1k"], 2)
                res["errors"] = w["errors"]
        finally:
            g.stop()
        return res

    def under_callgrind(self, binary: Path, label: str, tracing: bool, out: Path) -> Gateway:
        """The gateway started under callgrind (counting nothing until told), ready for requests."""
        g = Gateway(binary, label, tracing=tracing, callgrind=out)
        g.start(self.workdir, self.server_cpus, 1, self.upstream)
        if not g.wait_ready():
            log = g.procs[0].log_text()[-2000:]
            g.stop()
            raise RuntimeError(f"{label} did not start under valgrind: " + log)
        return g

    def allocs(self, binary: Path, label: str, tracing: bool) -> dict:
        """Allocations per small request, counted by callgrind: calls into malloc and its kin and operator new
        from outside the allocator, over N requests one after another and over wrk's requests (16 connections),
        each after a warm-up. (heaptrack cannot count them: tcmalloc's operator new never calls malloc.)"""
        g = self.under_callgrind(binary, label, tracing, self.workdir / f"callgrind-allocs-{label}.out")
        try:
            path, headers = g.request("small")
            small = self.bodies["small"].read_bytes()
            # A warm-up long enough for the span records of a first export batch (512 spans) to come back for
            # reuse, as they do under steady load.
            sequential(g.port, path, headers, small, 400)
            callgrind_control(g, "-i", "on")
            sequential(g.port, path, headers, small, self.args.requests)
            callgrind_control(g, "-i", "off")
            callgrind_control(g, "-d")
            seq_files = set(self.workdir.glob(f"callgrind-allocs-{label}.out*"))
            self.wrk(g, "small", 16, 3)
            callgrind_control(g, "-z")
            callgrind_control(g, "-i", "on")
            w = self.wrk(g, "small", 16, self.args.duration)
            callgrind_control(g, "-i", "off")
            callgrind_control(g, "-d")
            wrk_files = set(self.workdir.glob(f"callgrind-allocs-{label}.out*")) - seq_files
        finally:
            g.stop()
        seq, conc = Counter(), Counter()
        for f in seq_files:
            seq.update(allocation_calls(f))
        for f in wrk_files:
            conc.update(allocation_calls(f))
        for f in seq_files | wrk_files:
            f.unlink()
        n = self.args.requests
        top = {re.sub(r"\(.*", "", k.replace("(anonymous namespace)::", ""))[:80]: round(v / n, 2)
               for k, v in seq.most_common(8)}
        return {"allocs_per_req": round(sum(seq.values()) / n, 2),
                "allocs_per_req_c16": round(sum(conc.values()) / w["requests"], 2) if w["requests"] else None,
                "allocating_functions": top}

    def instructions(self, binary: Path, label: str, tracing: bool) -> dict:
        """User-space instructions per small request: callgrind counts only while wrk runs, after a warm-up."""
        g = self.under_callgrind(binary, label, tracing, self.workdir / f"callgrind-{label}.out")
        try:
            self.wrk(g, "small", 16, 3)
            callgrind_control(g, "-i", "on")
            w = self.wrk(g, "small", 16, self.args.duration * 2)
            callgrind_control(g, "-i", "off")
            callgrind_control(g, "-d")
        finally:
            g.stop()
        total = 0
        for f in self.workdir.glob(f"callgrind-{label}.out*"):
            text = subprocess.run(["callgrind_annotate", str(f)], capture_output=True, text=True).stdout
            m = re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text)
            total += int(m.group(1).replace(",", "")) if m else 0
            f.unlink()
        return {"instructions_per_req": round(total / w["requests"]) if w["requests"] else None}

    def stop(self):
        self.upstream.stop()
        if not self.args.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", action="append", required=True, help="gateway binary (repeat to compare)")
    ap.add_argument("--what", default="syscalls,cpu,rss",
                    help="syscalls,big,stream,cpu,rss,allocs,instructions")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--requests", type=int, default=200, help="sequential requests under strace")
    ap.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    ap.add_argument("--tracing", choices=("off", "on", "both"), default="off",
                    help="run the gateways with tracing off, on (OTLP/HTTP protobuf export), or both ways")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    what = set(args.what.split(","))
    bins = [Path(b).resolve() for b in args.bin]
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.tracing]
    plan = []  # (binary, label, tracing)
    for i, b in enumerate(bins):
        for t in modes:
            plan.append((b, f"{i}:{b.parent.parent.name}/{b.parent.name}" + ("+tracing" if t else ""), t))
    probe = Probe(args)
    runs = {l: [] for _, l, _ in plan}
    try:
        for r in range(args.rounds):
            order = list(plan)
            if r % 2:
                order.reverse()
            for b, l, t in order:
                name = l.split(":")[0] + ("-tracing" if t else "")  # its work directory and output files
                res = probe.measure(b, name, what, t) if what - {"allocs", "instructions"} else {}
                if "allocs" in what:
                    res.update(probe.allocs(b, name, t))
                if "instructions" in what:
                    res.update(probe.instructions(b, name, t))
                runs[l].append(res)
                print(json.dumps({"round": r, "bin": l, **res}), flush=True)
    finally:
        probe.stop()
    print("\nmedians:")
    medians = {}
    for _, l, _ in plan:
        keys = [k for k, v in runs[l][0].items() if isinstance(v, (int, float))]
        medians[l] = {k: statistics.median(x[k] for x in runs[l]) for k in keys}
        print(l, json.dumps(medians[l]))
    if args.tracing == "both":
        print("\ntracing on / tracing off:")
        for _, l, t in plan:
            if not t:
                on, off = medians[l + "+tracing"], medians[l]
                print(l, json.dumps({k: round(on[k] / off[k], 3) for k in off if k in on and off[k]}))


if __name__ == "__main__":
    main()
