"""Benchmark: how fast `mirkit --help` and `mirkit --version` answer (target: < 1 s).

Anchor, measured in the same run: a bare `python -c pass`, i.e. interpreter start-up alone.
Reports the median of several runs of each.

    python benchmarks/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    base = median_seconds([sys.executable, "-c", "pass"], args.runs)
    for flag in ("--version", "--help"):
        t = median_seconds([sys.executable, "-m", "mirkit", flag], args.runs)
        print(f"mirkit {flag}: {t * 1000:.0f} ms (bare interpreter {base * 1000:.0f} ms, "
              f"ratio {t / base:.1f}x); target < 1000 ms: {'met' if t < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
