"""Helpers shared by the benchmark scripts: run a command, take its wall time and peak RSS."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = ["Run", "machine", "median", "run_measured", "versions"]


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float


def run_measured(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``args`` in a child process; wall seconds and the child's peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(args, check=True, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: run each measurement in a fresh helper
    return Run(seconds, max(peak, before) / 1024)


def measured_in_child(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Like :func:`run_measured`, but through a fresh Python so the peak belongs to this command only."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([time.perf_counter() - t, peak]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    seconds, rss_kb = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    return Run(float(seconds), float(rss_kb) / 1024)


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, "
        f"Python {platform.python_version()}, load average {load} at the end"
    )


def versions(*packages: str) -> str:
    return ", ".join(f"{p} {metadata.version(p)}" for p in packages)


def write_result(name: str, text: str) -> Path:
    path = Path(__file__).resolve().parent / "results" / f"{name}.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path
