"""Choose a transcription model's decoding thresholds on a *validation* split.

Runs the model once per track (keeping the roll and onset probabilities), then decodes the
notes with every ``--decoder`` for every pair of ``--frame`` and ``--onset`` thresholds
(``off`` in ``--onset``: decode without the onset head), every ``--reonset`` (the
threshold a repeated note of a held key needs, rule 3; ``off``: the onset threshold) and
every ``--class-share``
(``pitch-first``'s class vote, rule 10 of :mod:`mirkit.models.note_decoding`; 0: off), and
scores them against the track's ``notes.csv`` with
:func:`mirkit.metrics.transcription.evaluate` (pitched notes, drums left out on both sides,
as in ``transcribe_vs_basic_pitch.py``; the activity F1 counts every class, drums
included). Prints one row per setting, best note F1 first; the chosen setting goes into the
model card (``decoding``), never tuned on the test split.

``--concat N`` joins ``N`` tracks of different pieces (their first excerpts, in track
order) into one input, so the instruments change every piece: this is how the class vote's
``--class-window`` (a grid too, in seconds; ``inf`` = the whole input) is checked on long
inputs whose instrumentation changes.

    python benchmarks/transcribe_thresholds.py --data data/synth --model runs/unet/best.pt
    python benchmarks/transcribe_thresholds.py --data data/synth --decoder pitch-first \
        --frame 0.2 --onset 0.06 --reonset 0.2 --class-share 0,0.2 \
        --class-window 10,20,30,60,inf --concat 4
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mirkit.models.note_decoding import DEFAULT_CLASS_WINDOW_SECONDS


def _grid(text: str) -> list[float]:
    """Comma-separated thresholds; ``off`` (onset grid) decodes without the onset head."""
    return [0.0 if v.strip() == "off" else float(v) for v in text.split(",")]


def _groups(ds: Any, split: str, limit: int, concat: int) -> list[list[str]]:
    """Tracks to score, ``concat`` per input: all tracks (``concat`` 1) or the first
    excerpt of each piece (the piece id is the part of the track name before ``-``)."""
    tracks = [t for t in ds.tracks(split)
              if ds.mixture_path(t) is not None and ds.notes(t) is not None]
    if concat > 1:
        firsts: dict[str, str] = {}
        for t in tracks:
            firsts.setdefault(t.split("-")[0], t)
        tracks = list(firsts.values())
    tracks = tracks[: limit * concat]
    return [tracks[i:i + concat] for i in range(0, len(tracks) - concat + 1, concat)]


def _join(ds: Any, group: list[str], sr: int) -> tuple[np.ndarray, Any]:
    """The mono audio of ``group`` end to end at ``sr`` and its notes, shifted to match."""
    from mirkit.data.datasets import NoteTable
    from mirkit.io.audio import load_audio

    audio, tables, start = [], [], 0.0
    for track in group:
        x, _ = load_audio(ds.mixture_path(track), sr=sr, channels="mono")
        ref = ds.notes(track)
        tables.append(NoteTable(ref.onset + start, ref.offset + start, ref.pitch,
                                ref.velocity, ref.class_))
        audio.append(x[0])
        start += x.shape[1] / sr
    return np.concatenate(audio), NoteTable.concat(tables)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--model", default="transcribe-unet")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--limit", type=int, default=60, help="inputs to score")
    parser.add_argument("--frame", type=_grid, default=_grid("0.3,0.4,0.5,0.6"))
    parser.add_argument("--onset", type=_grid, default=_grid("0.2,0.3,0.4,0.5,0.6"))
    parser.add_argument("--reonset", type=_grid, default=_grid("off"),
                        help="comma-separated re-onset thresholds (off: the onset threshold)")
    parser.add_argument("--class-share", type=_grid, default=_grid("0"),
                        help="comma-separated min_class_share values (pitch-first)")
    parser.add_argument("--class-window", type=_grid,
                        default=[DEFAULT_CLASS_WINDOW_SECONDS],
                        help="comma-separated class vote windows, seconds (inf: whole input)")
    parser.add_argument("--concat", type=int, default=1,
                        help="join this many tracks of different pieces into one input")
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
    if args.concat < 1:
        parser.error(f"--concat {args.concat} must be >= 1")
    skipped = sorted({ro for ro in args.reonset for ot in args.onset if ro and ro <= ot})
    if skipped:
        print(f"note: --reonset {', '.join(map(str, skipped))} not above some --onset "
              "values: those pairs are skipped (the re-onset threshold must exceed the "
              "onset threshold to change anything)", file=sys.stderr)
    ds = open_dataset(args.data)
    groups = _groups(ds, args.split, args.limit, args.concat)
    transcriber = Transcriber(args.model, device="cpu")
    decoders = args.decoder.split(",")
    scores: dict[tuple[str, float, float, float, float, float], list[tuple[float, ...]]] = {}
    for n, group in enumerate(groups, 1):
        audio, ref = _join(ds, group, transcriber.sr)
        res = transcriber.transcribe(audio, sr=transcriber.sr, keep_rolls=True)
        assert res.roll is not None and res.onset is not None      # keep_rolls
        keep = np.asarray(ref.class_) != "drums"
        r_int = np.stack([ref.onset[keep], ref.offset[keep]], axis=1).reshape(-1, 2)
        r_pitch = ref.pitch[keep].astype(np.float64)
        r_lab = np.asarray(ref.class_)[keep]
        for dec, ft, ot, share, window, ro in itertools.product(
                decoders, args.frame, args.onset, args.class_share, args.class_window,
                args.reonset):
            if (share and dec != "pitch-first") or (
                    not share and window != args.class_window[0]):
                continue                  # the vote (and its window) is pitch-first's
            if ro and (not ot or ro <= ot):
                continue                  # a re-onset threshold above the onset one only
            notes = decode_notes(res.roll, res.onset, sr=res.sr, hop=res.hop,
                                 classes=res.classes, frame_threshold=ft,
                                 onset_threshold=ot or 0.5, use_onsets=ot > 0,
                                 drum_classes=transcriber.drum_classes, decoder=dec,
                                 min_class_share=share,
                                 class_window_seconds=window,
                                 reonset_threshold=ro or None).notes
            lab = np.asarray(notes.class_, dtype=str)
            e = lab != "drums"
            s = evaluate(r_int, r_pitch,
                         np.stack([notes.onset[e], notes.offset[e]], axis=1).reshape(-1, 2),
                         notes.pitch[e].astype(np.float64), ref_instruments=r_lab,
                         est_instruments=lab[e])
            full = evaluate(np.stack([ref.onset, ref.offset], axis=1).reshape(-1, 2),
                            ref.pitch.astype(np.float64),
                            np.stack([notes.onset, notes.offset], axis=1).reshape(-1, 2),
                            notes.pitch.astype(np.float64), ref_instruments=ref.class_,
                            est_instruments=lab)
            scores.setdefault((dec, ft, ot, ro, share, window), []).append(
                (s["F-measure_no_offset"], s["Frame Accuracy"],
                 s["Instrument F-measure_no_offset"], full["Activity F-measure"]))
        if n % 20 == 0:
            print(f"{n}/{len(groups)}", file=sys.stderr, flush=True)
    rows = sorted((tuple(float(m) for m in np.mean(vals, axis=0)) + key
                   for key, vals in scores.items()), reverse=True)
    print(f"{len(groups)} inputs of {args.concat} track(s) each", file=sys.stderr)
    print("| decoder | frame threshold | onset threshold | re-onset threshold | class share "
          "| class window | note F1 | frame accuracy | instrument note F1 | activity F1 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for f1, acc, inst, act, dec, ft, ot, ro, share, window in rows:
        print(f"| {dec} | {ft} | {ot or 'off (no onsets)'} | {ro or 'off'} | {share or 'off'} "
              f"| {window if share else '-'} | {f1:.4f} | {acc:.4f} | {inst:.4f} "
              f"| {act:.4f} |")
    if args.json is not None:
        args.json.write_text(json.dumps([{"decoder": dec, "frame_threshold": ft,
                                          "onset_threshold": ot,
                                          "reonset_threshold": ro or None,
                                          "min_class_share": share,
                                          "class_window_seconds": window,
                                          "concat": args.concat,
                                          "note_f1": f1, "frame_accuracy": acc,
                                          "instrument_note_f1": inst, "activity_f1": act}
                                         for f1, acc, inst, act, dec, ft, ot, ro, share,
                                         window in rows],
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
