"""Accuracy of ``mirkit transcribe`` on a synth test split, side by side with basic-pitch.

For every track of the split, the mixture is transcribed by a mirkit model (default
``transcribe-unet``) and, unless ``--no-basic-pitch``, by Spotify's basic-pitch (its ONNX
model); both are scored against the track's ``notes.csv`` with
:func:`mirkit.metrics.transcription.evaluate`, the function ``mirkit evaluate transcription``
runs (mir_eval definitions). Rows are means over tracks.

- Pitched notes: drum notes are left out of the reference and of mirkit's estimate for the
  note and frame metrics (basic-pitch has no drums); ``Activity F1`` is mirkit's instrument
  activity over every class, drums included.
- ``multi`` rows: the tracks with two or more pitched instruments.

basic-pitch is installed only for this benchmark, into its own folder (never into the
project's environment)::

    pip install --target .bench/basic-pitch --no-deps basic-pitch onnxruntime \\
        "resampy<0.4.3" "setuptools<81"
    python benchmarks/transcribe_vs_basic_pitch.py --data data/synth --split test

Options: ``--limit N`` tracks, ``--model NAME|PATH``, ``--json FILE`` (per-track rows and
means), ``--basic-pitch-path DIR`` (default ``.bench/basic-pitch``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Metric columns: (row label, key of mirkit.metrics.transcription.evaluate).
COLUMNS = (("Note F1", "F-measure_no_offset"), ("Note F1 (offsets)", "F-measure"),
           ("Frame acc.", "Frame Accuracy"), ("Frame F1", "Frame F-measure"),
           ("Instr. note F1", "Instrument F-measure_no_offset"))


def _pitched(onset: np.ndarray, offset: np.ndarray, pitch: np.ndarray, labels: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = labels != "drums"
    intervals = np.stack([onset[keep], offset[keep]], axis=1).reshape(-1, 2)
    return intervals, pitch[keep].astype(np.float64), labels[keep]


def _score(ref: Any, est_intervals: np.ndarray, est_pitches: np.ndarray,
           est_labels: np.ndarray | None) -> dict[str, float]:
    from mirkit.metrics.transcription import evaluate

    r_int, r_pitch, r_lab = _pitched(ref.onset, ref.offset, ref.pitch, ref.class_)
    scores = evaluate(r_int, r_pitch, est_intervals, est_pitches,
                      ref_instruments=r_lab if est_labels is not None else None,
                      est_instruments=est_labels)
    out = {k: float(v) for k, v in scores.items() if "[" not in k}
    p, r = out["Frame Precision"], out["Frame Recall"]
    out["Frame F-measure"] = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return out


def _mirkit_rows(transcriber: Any, path: Path, ref: Any) -> tuple[dict[str, float], float]:
    from mirkit.metrics.transcription import evaluate

    t0 = time.perf_counter()
    result = transcriber.transcribe(path)
    seconds = time.perf_counter() - t0
    notes = result.notes.notes
    e_int, e_pitch, e_lab = _pitched(notes.onset, notes.offset, notes.pitch,
                                     np.asarray(notes.class_, dtype=str))
    row = _score(ref, e_int, e_pitch, e_lab)
    # instrument activity over every class (drums included), from the notes
    all_ref = np.stack([ref.onset, ref.offset], axis=1).reshape(-1, 2)
    all_est = np.stack([notes.onset, notes.offset], axis=1).reshape(-1, 2)
    full = evaluate(all_ref, ref.pitch.astype(np.float64), all_est,
                    notes.pitch.astype(np.float64), ref_instruments=ref.class_,
                    est_instruments=np.asarray(notes.class_, dtype=str))
    row["Activity F-measure"] = float(full["Activity F-measure"])
    return row, seconds


def _basic_pitch_rows(model: Any, path: Path, ref: Any) -> tuple[dict[str, float], float]:
    from basic_pitch.inference import predict

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, events = predict(str(path), model)
    seconds = time.perf_counter() - t0
    if events:
        e_int = np.array([[e[0], e[1]] for e in events], dtype=np.float64)
        e_pitch = np.array([e[2] for e in events], dtype=np.float64)
    else:
        e_int, e_pitch = np.zeros((0, 2)), np.zeros(0)
    return _score(ref, e_int, e_pitch, None), seconds


def _mean(rows: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in rows if key in r]
    return float(np.mean(values)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="a mirkit synth folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", default="transcribe-unet")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-basic-pitch", action="store_true")
    parser.add_argument("--basic-pitch-path", type=Path, default=ROOT / ".bench" / "basic-pitch")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from mirkit.data.datasets import open_dataset
    from mirkit.tasks.transcribe import Transcriber

    torch.set_num_threads(2)
    ds = open_dataset(args.data)
    tracks = ds.tracks(args.split)[: args.limit]
    transcriber = Transcriber(args.model, device=args.device)
    bp_model = None
    if not args.no_basic_pitch:
        sys.path.insert(0, str(args.basic_pitch_path))
        try:
            from basic_pitch import ICASSP_2022_MODEL_PATH
            from basic_pitch.inference import Model
        except ImportError as exc:
            parser.error(f"basic-pitch is not importable from {args.basic_pitch_path} ({exc}); "
                         f"install it there (see this script's docstring) or pass "
                         f"--no-basic-pitch")
        bp_model = Model(ICASSP_2022_MODEL_PATH)

    per_track: list[dict[str, Any]] = []
    audio_seconds = 0.0
    time_mirkit = time_bp = 0.0
    for n, track in enumerate(tracks, 1):
        path = ds.mixture_path(track)
        ref = ds.notes(track)
        if path is None or ref is None:
            continue
        info = ds.track_info(track) if hasattr(ds, "track_info") else {}
        pitched = [c for c in info.get("classes", []) if c != "drums"]
        audio_seconds += ds.duration(track)
        row: dict[str, Any] = {"track": track, "pitched_instruments": len(pitched)}
        scores, secs = _mirkit_rows(transcriber, path, ref)
        time_mirkit += secs
        row["mirkit"] = scores
        if bp_model is not None:
            scores, secs = _basic_pitch_rows(bp_model, path, ref)
            time_bp += secs
            row["basic-pitch"] = scores
        per_track.append(row)
        if n % 25 == 0:
            print(f"{n}/{len(tracks)} tracks", file=sys.stderr, flush=True)

    systems = ["mirkit"] + (["basic-pitch"] if bp_model is not None else [])
    summary: dict[str, Any] = {"tracks": len(per_track), "audio_seconds": audio_seconds,
                               "model": transcriber.name, "split": args.split, "rows": {}}
    header = ["system", "tracks"] + [c for c, _ in COLUMNS] + ["Activity F1", "x real time"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for subset, keep in (("all", lambda r: True),
                         ("multi", lambda r: r["pitched_instruments"] >= 2)):
        chosen = [r for r in per_track if keep(r)]
        for system in systems:
            rows = [r[system] for r in chosen]
            means = {label: _mean(rows, key) for label, key in COLUMNS}
            means["Activity F1"] = _mean(rows, "Activity F-measure")
            secs = time_mirkit if system == "mirkit" else time_bp
            rt = audio_seconds / secs if secs > 0 and subset == "all" else float("nan")
            summary["rows"][f"{system}/{subset}"] = {**means, "tracks": len(chosen),
                                                     "realtime": rt}
            cells = [f"{system} ({subset})", str(len(chosen))] + [
                f"{means[c]:.3f}" if np.isfinite(means[c]) else "—" for c in header[2:-1]]
            cells.append(f"{rt:.0f}×" if np.isfinite(rt) else "—")
            print("| " + " | ".join(cells) + " |")
    if args.json is not None:
        args.json.write_text(json.dumps({"summary": summary, "tracks": per_track}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
