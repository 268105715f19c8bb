"""Benchmark: `mirkit synth` throughput in audio seconds per wall second per core.

Target (issue 4): >= 50x real time per core with FluidR3, and a 10-hour dataset within an
hour on 2 cores (>= 10x real time for the whole machine).

Renders the first N pieces (default 40 Bach chorales) with FluidR3 only, all augmentations
at their defaults, into a temporary folder, in a child process per configuration (so its
peak memory is its own):

- ``lib`` backend, ``--jobs 1``: the figure per core, for the whole run (start-up, imports
  and the soundfont load included) and in steady state (time inside the jobs of tracks
  2..N);
- ``lib`` backend, ``--jobs 2`` (or ``--jobs``): the whole machine;
- ``cli`` backend, ``--jobs 1``: one ``fluidsynth`` run per stem (the brief's command).

The figure depends on the pieces: the cost grows with the number of stems (one FLAC file
and, with reverb or chorus, one effects unit each). The first 10 pieces of the seeded order
hold bwv248.42-4, a 12-part Christmas Oratorio movement with 12 stems that takes about 40 %
of their time, so 10 pieces under-represent a real dataset; the default of 40 weighs it as a
dataset would. Folk tunes (2-4 stems) run faster.

Anchor, measured in the same run: one plain ``fluidsynth -ni -q -g 0.5 -r 44100 -O float
-T wav -F out.wav FluidR3_GM.sf2 piece.mid`` per piece, of the whole score as one MIDI file
(no stems, no labels, no FLAC, default reverb and chorus), timed around the program.

    python benchmarks/synth_throughput.py [--pieces 40] [--corpus bach-chorales|oneills] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLUIDR3 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

_CHILD = r"""
import json, resource, sys, time
from mirkit.data.synth import SynthConfig
from mirkit.tasks.synth import synth
args = json.loads(sys.argv[1])
cfg = SynthConfig(soundfonts=(args["soundfont"],), backend=args["backend"])
t0 = time.perf_counter(); c0 = resource.getrusage(resource.RUSAGE_SELF)
rows = []
s = synth(corpora=[args["corpus"]], output=args["output"], limit=args["pieces"],
          seed=0, jobs=args["jobs"], config=cfg, on_track=rows.append)
done = [r for r in rows if r["status"] == "done"][1:]   # the first pays one-time imports
s["steady_audio"] = sum(r["duration"] for r in done)
s["steady_seconds"] = sum(r["seconds"] for r in done)
small = [r for r in done if len(r["classes"]) <= 5]
s["small_n"] = len(small)
s["small_audio"] = sum(r["duration"] for r in small)
s["small_seconds"] = sum(r["seconds"] for r in small)
wall = time.perf_counter() - t0
c1 = resource.getrusage(resource.RUSAGE_SELF); ch = resource.getrusage(resource.RUSAGE_CHILDREN)
s["cpu_seconds"] = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime) \
    + ch.ru_utime + ch.ru_stime
s["wall"] = wall
s["peak_mb"] = max(c1.ru_maxrss, ch.ru_maxrss) / 1024
print(json.dumps(s))
"""


def run_synth(corpus: str, pieces: int, jobs: int, backend: str, output: Path) -> dict:
    arg = json.dumps({"corpus": corpus, "pieces": pieces, "jobs": jobs, "backend": backend,
                      "soundfont": FLUIDR3, "output": str(output)})
    res = subprocess.run([sys.executable, "-c", _CHILD, arg], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"synth ({backend}, jobs {jobs}) failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def anchor(manifest: Path, folder: Path) -> tuple[float, float]:
    """(audio seconds, wall seconds) of one plain fluidsynth render per piece."""
    import soundfile as sf

    from mirkit.io.symbolic import read_score, write_midi

    data = json.loads(manifest.read_text())
    audio = wall = 0.0
    for k, track in enumerate(data["tracks"]):
        src = track["source"].removeprefix("music21:")
        src, _, tune = src.partition("#")          # "book.abc#k": tune k of a tune book
        from music21 import corpus

        found = corpus.getWork(src)
        path = found[0] if isinstance(found, list) else found
        mid, wav = folder / f"{k}.mid", folder / f"{k}.wav"
        write_midi(read_score(path, index=int(tune) if tune else 0), mid)
        cmd = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", "44100", "-O", "float", "-T",
               "wav", "-F", str(wav), FLUIDR3, str(mid)]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall += time.perf_counter() - start
        audio += sf.info(str(wav)).duration
    return audio, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=40)
    ap.add_argument("--corpus", default="bach-chorales")
    ap.add_argument("--jobs", type=int, default=2, help="workers of the whole-machine run")
    ap.add_argument("--no-cli", action="store_true", help="skip the cli-backend run")
    args = ap.parse_args()
    if shutil.which("fluidsynth") is None or not Path(FLUIDR3).is_file():
        sys.exit("needs the fluidsynth program and FluidR3_GM.sf2 "
                 "(sudo apt-get install fluidsynth fluid-soundfont-gm)")

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    runs = [("lib", 1), ("lib", args.jobs)] + ([] if args.no_cli else [("cli", 1)])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, jobs in runs:
            out = Path(tmp) / f"{backend}-{jobs}"
            s = run_synth(args.corpus, args.pieces, jobs, backend, out)
            results[(backend, jobs)] = s
            per_core = s["audio_seconds"] / s["wall"] / jobs
            print(f"mirkit synth {args.corpus} x{s['tracks']} ({s['audio_seconds']:.1f} s of "
                  f"audio), {backend} backend, --jobs {jobs}: {s['wall']:.2f} s wall, "
                  f"{s['audio_seconds'] / s['wall']:.1f}x real time = {per_core:.1f}x per "
                  f"core ({s['audio_seconds'] / s['cpu_seconds']:.1f}x per CPU second), "
                  f"peak RSS {s['peak_mb']:.0f} MB")
            if jobs == 1:
                print(f"    steady state (tracks 2..{s['tracks']}, time inside the jobs: "
                      f"parse, arrange, render, write): "
                      f"{s['steady_audio'] / s['steady_seconds']:.1f}x real time per core; "
                      f"the {s['small_n']} of them with <= 5 stems: "
                      f"{s['small_audio'] / max(s['small_seconds'], 1e-9):.1f}x")
        audio, wall = anchor(Path(tmp) / "lib-1" / "dataset.json", Path(tmp))
    base = results[("lib", 1)]
    mine = base["audio_seconds"] / base["wall"]
    anchor_rt = audio / wall
    print(f"anchor: plain fluidsynth, whole score as one MIDI, {audio:.1f} s of audio in "
          f"{wall:.2f} s = {anchor_rt:.1f}x real time (1 core)")
    whole = results[("lib", args.jobs)]
    print(f"ratio: mirkit synth (stems + mixture + labels, 1 core) / anchor = "
          f"{mine / anchor_rt:.2f}; target >= 50x per core: "
          f"{'met' if mine >= 50 else 'MISSED'}; 10 h in 1 h on {args.jobs} cores needs "
          f">= 10x: {whole['audio_seconds'] / whole['wall']:.1f}x")


if __name__ == "__main__":
    main()
