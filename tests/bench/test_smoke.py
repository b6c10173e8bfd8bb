"""A short `make bench` end to end (bench/run.py in quick mode, four of the five targets, small counts): the
harness starts the upstream, nginx and both gateway targets, measures every scenario and the paired tracing
runs, writes the report and the JSON, and stops what it started. Portkey is left out (it is installed into
bench/ by `make bench` itself). Needs SWITCHYARD_BIN, nginx and wrk (scripts/install-deps.sh)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGETS = ["direct", "nginx", "switchyard", "switchyard-otel"]


@unittest.skipUnless(os.environ.get("SWITCHYARD_BIN"), "SWITCHYARD_BIN is not set")
class QuickBenchRun(unittest.TestCase):
    def test_a_quick_run_writes_the_report(self):
        with tempfile.TemporaryDirectory() as out:
            env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
            env.update(BENCH_QUICK="1", BENCH_DURATION="1", BENCH_PAIRS="1", BENCH_TTFB_REQUESTS="30",
                       BENCH_TTFB_SECONDS="1", BENCH_HOLD_CONNECTIONS="50", BENCH_SATURATION_CONNECTIONS="128",
                       BENCH_TARGETS=",".join(TARGETS), BENCH_OUT=out)
            run = subprocess.run([sys.executable, str(REPO / "bench" / "run.py")], env=env, cwd=REPO,
                                 capture_output=True, text=True, timeout=420)
            self.assertEqual(run.returncode, 0, run.stdout[-3000:] + run.stderr[-3000:])
            reports = sorted(Path(out).glob("*-quick.json"))
            self.assertEqual(len(reports), 1, list(Path(out).iterdir()))
            res = json.loads(reports[0].read_text())
            md = reports[0].with_suffix(".md").read_text()
            self.assertEqual((Path(out) / "latest-quick.md").read_text(), md)

        self.assertEqual(list(res["targets"]), TARGETS)
        for scenario in ("small_c1", "small_c64", "small_c256", "saturation", "paced_half", "stream_c64",
                         "body_1mb", "stream_ttfb", "idle_keepalive", "streams_held"):
            for target in TARGETS:
                self.assertIn(target, res["scenarios"][scenario], scenario)
        for scenario in ("small_c64", "saturation", "stream_c64", "body_1mb"):
            for target in TARGETS:
                m = res["scenarios"][scenario][target]["median"]
                self.assertGreater(m["rps"], 0, (scenario, target))
                self.assertEqual(m["errors"], 0, (scenario, target))
        verdicts = {b["budget"]: b for b in res["budget"]}
        self.assertGreater(verdicts["RPS at 64 connections vs nginx"]["value"], 0)
        self.assertIn("tracing on vs off, RPS at 64 connections (paired runs)", verdicts)
        self.assertGreater(res["otlp_receiver"]["exports"], 0, "the tracing-on target exported nothing")
        self.assertIn("## Budget", md)
        self.assertIn("## Tracing on vs off, paired runs", md)
        self.assertIn("| switchyard-otel |", md)


if __name__ == "__main__":
    unittest.main()
