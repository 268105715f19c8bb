"""Benchmark: the whole dMelodies dataset with `mirkit make-dmelodies`.

Targets (issue 2): <= 30 s wall and <= 2 GB peak RSS for all 1,354,752 items on 2 cores.

Anchor, measured in the same run: the original generator's approach, a music21 score built
per item and then encoded tick by tick, timed on a sample of items and extrapolated to the
whole dataset. Prints wall time, peak memory of the mirkit process, and the speed ratio.

    python benchmarks/make_dmelodies.py [--sample 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def music21_items_per_second(sample: int) -> float:
    """Items per second when each melody is a music21 score encoded tick by tick."""
    import music21

    from mirkit.data import dmelodies as dm

    rng = np.random.default_rng(0)
    indices = rng.integers(0, dm.NUM_ITEMS, size=sample)
    start = time.perf_counter()
    for i in indices.tolist():
        grid = dm.melody(i)
        part = music21.stream.Part()
        for p in grid.tolist():
            ev = music21.note.Rest() if p < 0 else music21.note.Note(p)
            ev.quarterLength = 0.5
            part.append(ev)
        score = music21.stream.Score([part])
        names = []
        for item in score.flatten().notesAndRests:
            names.append(item.pitch.nameWithOctave if isinstance(item, music21.note.Note)
                         else "rest")
    return sample / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=300, help="items for the music21 anchor")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "mirkit", "make-dmelodies", "-o", tmp, "-q",
               "--format", "json"]
        start = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if res.returncode != 0:
            sys.exit(f"make-dmelodies failed: {res.stderr}")
        size = (Path(tmp) / "dMelodies_dataset.npz").stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB

    rate = music21_items_per_second(args.sample)
    anchor_s = 1_354_752 / rate
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"mirkit make-dmelodies, all 1,354,752 items: {wall:.1f} s wall (process start "
          f"included), peak RSS {peak_mb:.0f} MB, npz {size / 1e6:.1f} MB")
    print(f"anchor (music21 score per item, {args.sample} sampled): {rate:.0f} items/s -> "
          f"{anchor_s / 3600:.2f} h for the dataset")
    print(f"ratio: mirkit is {anchor_s / wall:.0f}x faster; targets <= 30 s: "
          f"{'met' if wall <= 30 else 'MISSED'}, <= 2048 MB: "
          f"{'met' if peak_mb <= 2048 else 'MISSED'}")


if __name__ == "__main__":
    main()
