"""Benchmark: mirkit's BSS Eval v4 against museval 0.4.1 on the same synthetic track.

Anchor, measured in the same run: ``museval.evaluate(refs, ests, win=44100, hop=44100,
mode="v4")``. The workload is seeded and synthetic: 4 stereo targets of 60 s at 44.1 kHz
(harmonic tones and band-passed noise with a -60 dB noise floor; estimates are the
references filtered, plus leakage and noise). Prints both wall times, their ratio (target:
mirkit at least 10x faster), the largest |difference| over all frames and metrics (target:
at most 0.01 dB), and mirkit's peak memory (tracemalloc peak of numpy allocations, and the
growth of the process's peak RSS during its run).

    python benchmarks/evaluate_separation.py [--seconds 60] [--sources 4] [--device cuda]
                                              [--skip-museval]

museval needs a few minutes of CPU here; ``--skip-museval`` times mirkit alone.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import types

import numpy as np
import scipy.signal

from mirkit.metrics.separation import METRICS, bss_eval_v4


def make_track(seconds: float, nsrc: int, sr: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    refs = np.empty((nsrc, n, 2))
    for j in range(nsrc):
        if j % 2 == 0:
            f0 = 110.0 * 1.5 ** j
            mono = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 9))
            mono *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6))
        else:
            b, a = scipy.signal.butter(3, [100 / (sr / 2), 0.2 + 0.1 * j], btype="band")
            mono = scipy.signal.lfilter(b, a, rng.standard_normal(n))
        refs[j] = mono[:, None] * [1.0, 0.6] + 1e-3 * rng.standard_normal((n, 2))
        # silent stretches: the first covers the frame [5 s, 6 s) (NaN in both), the others
        # are shorter than a frame
        gap = 1.4 if j == 0 else 0.4
        refs[j, int((4.8 + 3 * j) * sr):int((4.8 + gap + 3 * j) * sr)] = 0.0
    ests = np.empty_like(refs)
    for j in range(nsrc):
        leak = 0.15 * (refs.sum(axis=0) - refs[j])
        coloured = scipy.signal.lfilter([0.3, -0.2, 0.1], [1.0, -0.5], refs[j], axis=0)
        ests[j] = 0.9 * refs[j] + coloured + leak + 0.03 * rng.standard_normal((n, 2))
    return refs, ests


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--sources", type=int, default=4)
    ap.add_argument("--sr", type=int, default=44100)
    ap.add_argument("--device", default=None, help="torch device; default numpy on the CPU")
    ap.add_argument("--skip-museval", action="store_true")
    args = ap.parse_args()
    sr = args.sr
    refs, ests = make_track(args.seconds, args.sources, sr, seed=2018)
    print(f"workload: {args.sources} stereo targets x {args.seconds:g} s at {sr} Hz, "
          f"window = hop = {sr} samples")

    rss_before = rss_bytes()
    start = time.perf_counter()
    ours = bss_eval_v4(refs, ests, window=sr, hop=sr, device=args.device)
    t_ours = time.perf_counter() - start
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    tracemalloc.start()
    bss_eval_v4(refs, ests, window=sr, hop=sr, device=args.device)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"mirkit bss_eval_v4: {t_ours:.2f} s; peak memory {traced_peak / 2**20:.0f} MiB "
          f"(tracemalloc), peak RSS growth {max(0, rss_peak - rss_before) / 2**20:.0f} MiB "
          f"(inputs: {(refs.nbytes + ests.nbytes) / 2**20:.0f} MiB)")
    if args.skip_museval:
        return

    # museval imports stempeg, which needs ffmpeg at import time; its metrics never use it
    sys.modules.setdefault("stempeg", types.ModuleType("stempeg"))
    import museval

    start = time.perf_counter()
    theirs = museval.evaluate(refs, ests, win=sr, hop=sr, mode="v4")
    t_museval = time.perf_counter() - start
    worst = 0.0
    same_nan = True
    nan_frames = int(np.isnan(theirs[0]).all(axis=0).sum())
    for metric, values in zip(METRICS, theirs, strict=True):
        same_nan &= bool((np.isnan(values) == np.isnan(ours[metric])).all())
        finite = np.isfinite(values)
        worst = max(worst, float(np.abs(values[finite] - ours[metric][finite]).max()))
    ratio = t_museval / t_ours
    print(f"museval.evaluate v4: {t_museval:.2f} s")
    print(f"ratio: mirkit is {ratio:.1f}x faster (target >= 10x: "
          f"{'met' if ratio >= 10 else 'MISSED'})")
    print(f"max |delta| over {theirs[0].size} frames x 4 metrics: {worst:.2e} dB "
          f"(target <= 0.01 dB: {'met' if worst <= 0.01 else 'MISSED'}); "
          f"NaN frames ({nan_frames} in museval) identical: {same_nan}")


if __name__ == "__main__":
    main()
