"""Processes of a benchmark run: start them (pinned to CPUs), find their children, read their RSS and CPU time
from /proc, and stop every one of them at the end, whatever happens."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (bound, noted, closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def taskset(cpus):
    """The command prefix that pins a process (and its threads and children) to `cpus`; none when unpinned."""
    return ["taskset", "-c", ",".join(map(str, cpus))] if cpus else []


class Proc:
    """One started process (its own session, so that a stuck one can be killed with its children)."""

    def __init__(self, name, cmd, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                      env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid
        self.pids = [self.pid]  # the process and its children (nginx workers), filled in by find_children()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def find_children(self):
        self.pids = [self.pid] + children_of(self.pid)
        return self.pids

    def log_text(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL to its process group after `timeout` seconds."""
        if self.alive():
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._log.close()


def children_of(pid: int) -> list[int]:
    """The direct children of `pid` (nginx workers), from /proc/*/stat."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return sorted(kids)


def rss_kb(pids) -> int:
    """The sum of VmRSS over `pids` in kB (for nginx: master and workers; shared pages count once per process)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def cpu_seconds(pids) -> float:
    """User + system CPU time of `pids` (all their threads) in seconds."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except OSError:
            pass
    return ticks / CLK_TCK


def wait_http(url: str, timeout: float, proc: Proc | None = None, headers=None) -> bool:
    """Polls `url` (GET) until it answers anything below 500; False after `timeout` or if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            return False
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=1) as r:
                if r.status < 500:
                    return True
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
