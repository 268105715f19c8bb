"""Speed and memory of ``mirkit transcribe``, side by side with basic-pitch (ONNX).

Targets (issue 5): faster than basic-pitch's ONNX model on the same machine, and at most
1.5 GB of memory for a 1-hour file.

The input is made from a synth dataset: its test mixtures joined end to end, resampled to
44.1 kHz stereo 16-bit WAV (what users feed), cut to ``--minutes`` (default 60) and to
``--short-minutes`` (default 5) for the side-by-side run. Every run is a fresh process (the
whole command: start, imports, model load, decoding, writing), timed by wall clock, with its
peak resident memory from ``getrusage`` of the child.

Rows: mirkit on the short file and on the long file; basic-pitch (``predict()`` on its
ONNX model, in a process that imports it from ``--basic-pitch-path``) on the short file.

    pip install --target .bench/basic-pitch --no-deps basic-pitch onnxruntime \\
        "resampy<0.4.3" "setuptools<81"
    python benchmarks/transcribe_speed.py --data data/synth
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_SR = 44100

_BP_SNIPPET = """
import sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
from basic_pitch import ICASSP_2022_MODEL_PATH
from basic_pitch.inference import Model, predict
_, midi, notes = predict(sys.argv[2], Model(ICASSP_2022_MODEL_PATH))
midi.write(sys.argv[3])
print(len(notes))
"""


def make_input(data: Path, seconds: float, path: Path) -> float:
    """Join test mixtures into ``seconds`` of 44.1 kHz stereo 16-bit WAV; returns its length."""
    import soundfile as sf
    import soxr

    from mirkit.data.datasets import open_dataset

    ds = open_dataset(data)
    tracks = ds.tracks("test")
    if not tracks:
        raise SystemExit(f"{data} has no test tracks")
    written = 0
    target = int(seconds * OUT_SR)
    with sf.SoundFile(path, "w", samplerate=OUT_SR, channels=2, subtype="PCM_16") as out:
        k = 0
        while written < target:
            mix_path = ds.mixture_path(tracks[k % len(tracks)])
            k += 1
            if mix_path is None:
                continue
            audio, sr = sf.read(mix_path, dtype="float32", always_2d=True)
            mono = audio.mean(axis=1)
            up = soxr.resample(mono, sr, OUT_SR) if sr != OUT_SR else mono
            up = up[: target - written]
            out.write(np.stack([up, up], axis=1))
            written += len(up)
    return written / OUT_SR


_MEASURE = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
res = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t0
if res.returncode:
    sys.stderr.write(res.stderr[-2000:])
    raise SystemExit(res.returncode)
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command, measured by a fresh parent process
    (``ru_maxrss`` of its only child), so earlier runs cannot leak into the figure."""
    res = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True,
                         text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    wall, kb = res.stdout.split()[-2:]
    return float(wall), float(kb) / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--model", default="transcribe-unet")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--short-minutes", type=float, default=5.0)
    parser.add_argument("--basic-pitch-path", type=Path, default=ROOT / ".bench" / "basic-pitch")
    parser.add_argument("--no-basic-pitch", action="store_true")
    args = parser.parse_args(argv)

    mirkit = [sys.executable, "-m", "mirkit"]
    env = {**os.environ}
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        short, long = tmp / "short.wav", tmp / "long.wav"
        short_s = make_input(args.data, args.short_minutes * 60, short)
        long_s = make_input(args.data, args.minutes * 60, long)
        if not args.no_basic_pitch:
            wall, peak = run([sys.executable, "-c", _BP_SNIPPET, str(args.basic_pitch_path),
                              str(short), str(tmp / "bp.mid")], env)
            rows.append(("basic-pitch 0.4.0 (ONNX)", short_s, wall, peak))
        for path, secs, out in ((short, short_s, "o1"), (long, long_s, "o2")):
            wall, peak = run([*mirkit, "transcribe", str(path), "-o", str(tmp / out),
                              "--model", args.model, "--device", "cpu", "-q",
                              "--format", "json"], env)
            rows.append((f"mirkit transcribe ({args.model})", secs, wall, peak))
    print("| system | audio | wall | × real time | peak RSS |")
    print("|---|---|---|---|---|")
    for name, secs, wall, peak in rows:
        print(f"| {name} | {secs / 60:.1f} min | {wall:.1f} s | {secs / wall:.1f}× | "
              f"{peak:.0f} MB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
