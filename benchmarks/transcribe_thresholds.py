"""Choose a transcription model's decoding thresholds on a *validation* split.

Runs the model once per track (keeping the roll and onset probabilities), then decodes the
notes with every ``--decoder`` for every pair of ``--frame`` and ``--onset`` thresholds
(``off`` in ``--onset``: decode without the onset head) and scores them against the
track's ``notes.csv`` with :func:`mirkit.metrics.transcription.evaluate` (pitched notes,
drums left out on both sides, as in ``transcribe_vs_basic_pitch.py``). Prints one row per
setting, best note F1 first; the chosen pair goes into the model card (``decoding``), never
tuned on the test split.

    python benchmarks/transcribe_thresholds.py --data data/synth --model runs/unet/best.pt
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np


def _grid(text: str) -> list[float]:
    """Comma-separated thresholds; ``off`` (onset grid) decodes without the onset head."""
    return [0.0 if v.strip() == "off" else float(v) for v in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--model", default="transcribe-unet")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--frame", type=_grid, default=_grid("0.3,0.4,0.5,0.6"))
    parser.add_argument("--onset", type=_grid, default=_grid("0.2,0.3,0.4,0.5,0.6"))
    parser.add_argument("--decoder", default="per-instrument",
                        help="comma-separated decoders to try (per-instrument, pitch-first)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from mirkit.data.datasets import open_dataset
    from mirkit.metrics.transcription import evaluate
    from mirkit.models.note_decoding import decode_notes
    from mirkit.tasks.transcribe import Transcriber

    torch.set_num_threads(2)
    ds = open_dataset(args.data)
    tracks = ds.tracks(args.split)[: args.limit]
    transcriber = Transcriber(args.model, device="cpu")
    decoders = args.decoder.split(",")
    scores: dict[tuple[str, float, float], list[tuple[float, float, float]]] = {}
    for n, track in enumerate(tracks, 1):
        path, ref = ds.mixture_path(track), ds.notes(track)
        if path is None or ref is None:
            continue
        res = transcriber.transcribe(path, keep_rolls=True)
        assert res.roll is not None and res.onset is not None      # keep_rolls
        keep = np.asarray(ref.class_) != "drums"
        r_int = np.stack([ref.onset[keep], ref.offset[keep]], axis=1).reshape(-1, 2)
        r_pitch = ref.pitch[keep].astype(np.float64)
        r_lab = np.asarray(ref.class_)[keep]
        for dec, ft, ot in itertools.product(decoders, args.frame, args.onset):
            notes = decode_notes(res.roll, res.onset, sr=res.sr, hop=res.hop,
                                 classes=res.classes, frame_threshold=ft,
                                 onset_threshold=ot or 0.5, use_onsets=ot > 0,
                                 drum_classes=transcriber.drum_classes, decoder=dec).notes
            lab = np.asarray(notes.class_, dtype=str)
            e = lab != "drums"
            s = evaluate(r_int, r_pitch,
                         np.stack([notes.onset[e], notes.offset[e]], axis=1).reshape(-1, 2),
                         notes.pitch[e].astype(np.float64), ref_instruments=r_lab,
                         est_instruments=lab[e])
            scores.setdefault((dec, ft, ot), []).append(
                (s["F-measure_no_offset"], s["Frame Accuracy"],
                 s["Instrument F-measure_no_offset"]))
        if n % 20 == 0:
            print(f"{n}/{len(tracks)}", file=sys.stderr, flush=True)
    rows = sorted(((float(np.mean([v[0] for v in vals])), float(np.mean([v[1] for v in vals])),
                    float(np.mean([v[2] for v in vals])), dec, ft, ot)
                   for (dec, ft, ot), vals in scores.items()), reverse=True)
    print("| decoder | frame threshold | onset threshold | note F1 | frame accuracy "
          "| instrument note F1 |")
    print("|---|---|---|---|---|---|")
    for f1, acc, inst, dec, ft, ot in rows:
        print(f"| {dec} | {ft} | {ot or 'off (no onsets)'} | {f1:.4f} | {acc:.4f} "
              f"| {inst:.4f} |")
    if args.json is not None:
        args.json.write_text(json.dumps([{"decoder": dec, "frame_threshold": ft,
                                          "onset_threshold": ot, "note_f1": f1,
                                          "frame_accuracy": acc, "instrument_note_f1": inst}
                                         for f1, acc, inst, dec, ft, ot in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
