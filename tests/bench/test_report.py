"""Unit tests of the benchmark's budget verdicts (bench/benchlib/report.py): what docs/performance.md and every
report mark met, not met or inconclusive comes from here."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from benchlib import report  # noqa: E402

MB = 1024


def load(rps, p99=0.5):
    return {"median": {"rps": rps, "p50_ms": 0.2, "p90_ms": 0.3, "p99_ms": p99, "cpu_ms_per_1k": 40.0,
                       "rss_peak_kb": 20 * MB, "errors": 0}}


def results(gw=8500.0, gw_otel=8000.0, nginx=10000.0, portkey=100.0, direct_paced=(0.30, 0.31, 0.32),
            gw_paced=0.5, ttfb=(0.10, 0.25), idle_mb=15.0, streams_mb=48.0, paired=(0.95, 0.93)):
    """A run's results as run.py writes them, with only what budget() reads."""
    targets = {"direct": 60000.0, "nginx": nginx, "switchyard": gw, "switchyard-otel": gw_otel,
               "portkey": portkey}
    res = {"scenarios": {}, "memory": {}}
    for sc in ("small_c64", "small_c256", "saturation"):
        res["scenarios"][sc] = {t: load(v) for t, v in targets.items() if v is not None}
    paced = {"direct": {"median": {"p99_ms": sorted(direct_paced)[len(direct_paced) // 2]},
                        "rounds": [{"p99_ms": v} for v in direct_paced]},
             "switchyard": {"median": {"p99_ms": gw_paced}},
             "switchyard-otel": {"median": {"p99_ms": gw_paced + 0.1}}}
    res["scenarios"]["paced_half"] = paced
    res["scenarios"]["stream_ttfb"] = {"direct": {"median": {"first_event_p50_ms": ttfb[0]}},
                                       "switchyard": {"median": {"first_event_p50_ms": ttfb[1]}}}
    res["scenarios"]["idle_keepalive"] = {"switchyard": {"median": {"rss_kb": 20 * MB}}}
    res["scenarios"]["streams_held"] = {"switchyard": {"median": {"rss_kb": streams_mb * MB}}}
    res["memory"]["switchyard"] = {"idle_kb": idle_mb * MB}
    if paired:
        res["paired"] = {"tracing_saturation": {"ratio_median": paired[0]},
                         "tracing_c64": {"ratio_median": paired[1]}}
    return res


def rows(res):
    """The budget rows by name, without a trailing parenthesis (which says how a tracing row was measured)."""
    return {(r["budget"].rsplit(" (", 1)[0] if r["budget"].endswith(")") else r["budget"]): r
            for r in report.budget(res)}


class BudgetVerdicts(unittest.TestCase):
    def test_every_row_met(self):
        got = rows(results())
        self.assertEqual(len(got), 10)
        for name, r in got.items():
            self.assertIs(r["met"], True, name)
        self.assertAlmostEqual(got["RPS at 64 connections vs nginx"]["value"], 0.85)
        self.assertAlmostEqual(got["RPS at 64 connections vs nginx"]["tracing_on_value"], 0.80)
        self.assertAlmostEqual(got["max RPS vs Portkey"]["value"], 85.0)
        self.assertAlmostEqual(got["added p99 latency vs direct at half of max RPS"]["value"], 0.19)
        self.assertAlmostEqual(got["streaming TTFB added vs direct"]["value"], 0.15)
        self.assertAlmostEqual(got["RSS idle"]["value"], 15.0)

    def test_misses_are_not_met(self):
        got = rows(results(gw=7000.0, gw_paced=0.9, ttfb=(0.1, 0.4), streams_mb=200.0, paired=(0.81, 0.82)))
        for name in ("RPS at 64 connections vs nginx", "max RPS (saturation) vs nginx",
                     "added p99 latency vs direct at half of max RPS", "streaming TTFB added vs direct",
                     "RSS holding 1,000 concurrent streams", "tracing on vs off, max RPS",
                     "tracing on vs off, RPS at 64 connections"):
            self.assertIs(got[name]["met"], False, name)
        self.assertIs(got["RSS idle"]["met"], True)

    def test_limits_are_inclusive(self):
        got = rows(results(gw=8000.0, paired=(0.9, 0.9)))
        self.assertIs(got["RPS at 64 connections vs nginx"]["met"], True)
        self.assertIs(got["tracing on vs off, max RPS"]["met"], True)

    def test_paced_p99_is_inconclusive_when_direct_moves_more_than_the_limit(self):
        r = rows(results(direct_paced=(0.3, 2.0, 0.4), gw_paced=0.2))["added p99 latency vs direct at half of max RPS"]
        self.assertIsNone(r["met"])
        self.assertIn("inconclusive", r["note"])
        self.assertIn("0.30–2.00", r["note"])

    def test_tracing_rows_fall_back_to_the_interleaved_scenarios_without_pairs(self):
        got = {r["budget"]: r for r in report.budget(results(paired=None))}
        r = got["tracing on vs off, max RPS (saturation; interleaved scenarios)"]
        self.assertAlmostEqual(r["value"], 8000.0 / 8500.0)
        self.assertIs(r["met"], True)
        self.assertIn("tracing on vs off, RPS at 64 connections (paired runs)",
                      {x["budget"] for x in report.budget(results())})

    def test_a_target_missing_from_the_run_gives_no_verdict(self):
        r = rows(results(portkey=None))["max RPS vs Portkey"]
        self.assertIsNone(r["value"])
        self.assertIsNone(r["met"])


if __name__ == "__main__":
    unittest.main()
