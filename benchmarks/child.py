"""One child process of the benchmark: its wall time, peak memory and JSON result.

Every stage (ours and the peers') runs in a fresh process so that its peak memory is
its own; the driver starts it here and reads the JSON the child prints last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.plan import HERE, ROOT

#: extra environment of every child (ours and peers alike), set from the command line
CHILD_ENV: dict[str, str] = {}


class _GroupMemory:
    """Samples the resident memory and CPU time of every process in a process group.

    Besides the group's summed peak it keeps each process's own peak and its last CPU
    reading, so a stage that starts workers (Dask's, or validation's two processes) can
    report the largest one and the CPU seconds spent outside its own process."""

    def __init__(self, pgid: int, interval: float = 0.1) -> None:
        self.pgid = pgid
        self.peak_mb = 0.0
        self.leader_peak_mb = 0.0  # the group's leader alone: the stage's own process
        #: per process of the group other than its leader: peak MB and last CPU seconds
        self.others_peak_mb: dict[int, float] = {}
        self.others_cpu: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        tick = os.sysconf("SC_CLK_TCK")
        while not self._done.wait(interval):
            total = 0
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/stat", "rb") as fh:
                        fields = fh.read().rsplit(b")", 1)[1].split()
                except OSError:
                    continue
                # proc(5) field k is fields[k - 3]: pgrp 5, utime 14, stime 15, rss 24
                if int(fields[2]) != self.pgid:
                    continue
                rss = int(fields[21]) * page
                total += rss
                mb = rss / 2**20
                if int(pid) == self.pgid:
                    self.leader_peak_mb = max(self.leader_peak_mb, mb)
                else:
                    self.others_peak_mb[int(pid)] = max(self.others_peak_mb.get(int(pid), 0.0), mb)
                    self.others_cpu[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def processes(self) -> dict[str, Any]:
        """The stage's own process's sampled peak (wait4's counts its children too), and
        the processes it started: how many, the largest one's peak, their CPU seconds
        (as last sampled, so up to one interval short of the truth)."""
        return {
            "leader_peak_rss_mb": self.leader_peak_mb,
            "other_processes": len(self.others_peak_mb),
            "largest_other_peak_rss_mb": max(self.others_peak_mb.values(), default=0.0),
            "others_cpu_seconds": sum(self.others_cpu.values()),
        }


def run_child(cmd: list[str], log: Path, timeout: float | None) -> dict:
    """Run `cmd`; wall seconds, peak memory, and the JSON of its last line.

    Peak memory is the larger of the child's own peak RSS (wait4) and the peak of the
    summed RSS of its whole process group, sampled every 0.1 s, so worker processes
    the child starts (validation runs in two) are counted too; the largest of those
    processes and their CPU seconds are reported on their own (a Dask worker's peak).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path = log.with_suffix(".out")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}", **CHILD_ENV}
    with open(out_path, "w") as out, open(log, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, cwd=ROOT, env=env, start_new_session=True
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            os.killpg(proc.pid, signal.SIGKILL)  # the child's own process group only

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        group = _GroupMemory(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        group.stop()
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
    res: dict[str, Any] = {
        "seconds": wall,
        "peak_rss_mb": max(usage.ru_maxrss / 1024, group.peak_mb),
        "own_peak_rss_mb": usage.ru_maxrss / 1024,
        "group_peak_rss_mb": group.peak_mb,
        **group.processes(),
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "load_average_1min_after": os.getloadavg()[0],
    }
    if killed.is_set():
        res["error"] = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0:
        tail = log.read_text().strip().splitlines()[-3:]
        res["error"] = f"exit {proc.returncode}: " + " | ".join(tail)
    else:
        lines = out_path.read_text().strip().splitlines()
        res["result"] = json.loads(lines[-1]) if lines else {}
    return res


def run_reported(label: str, cmd: list[str], log: Path, timeout: float | None) -> dict:
    """`run_child`, with a progress line: the label, then seconds, peak MB and any error."""
    print(f"  {label:<12}", end="", flush=True)
    res = run_child(cmd, log, timeout)
    note = f"  ERROR {res['error']}" if "error" in res else ""
    print(f"{res['seconds']:8.1f} s {res['peak_rss_mb']:8.0f} MB{note}", flush=True)
    return res
