"""Where a transcription model's errors are, on a synth split (validation by default).

For every track the mixture is transcribed with the model's card decoding and the notes
are matched to the track's ``notes.csv`` the way note F1 (onsets) matches them: mir_eval's
optimal matching, onset within 50 ms, pitch within 50 cents, offsets ignored. Pitched notes
only for the note tables (drum notes left out on both sides, as in
``transcribe_vs_basic_pitch.py``); activity over every class, drums included.

Printed (markdown), all counts pooled over the tracks unless a row says "mean over tracks":

1. **Notes.** Reference, decoded and matched notes; pooled precision and recall.
   *Unison doublings*: reference notes that sound together with a note of the same pitch
   in another part, their onsets within the 50-ms tolerance (the synth engine doubles a
   tune at the unison); all but the first of such a group are *extra*: a decoder that
   makes one note per sounding key can match only one note of the group, so its recall is
   capped at ``1 - extra / reference`` (the cap row: mean over tracks).
2. **Misses**, as a share of the reference notes, in this order of precedence: the
   *doubling partner* of a matched note; *merged* into a decoded note of the same key that
   began earlier and still sounds at the missed onset; *onset off* (a decoded note of the
   same key starts within 50-150 ms); *not detected* (no decoded note of that key overlaps
   it); *other*.
3. **False notes**, as a share of the decoded notes, in this order of precedence: *onset
   off* (a reference note of the same key starts within 50-150 ms); a *fragment* of a
   reference note of the same key (starts inside it, later); an *octave error* (a
   reference note 12 semitones away starts within the tolerance); *other*.
4. **What the instrument labels cost.** Activity F1 and instrument-aware note F1 (means
   over tracks) as decoded; with every matched note given its reference note's class (an
   oracle for the class choice, notes unchanged); and with the doubling partners of
   matched notes added as well (an oracle for the class choice and for the doublings).
5. **Do the doublings reach the roll?** For unison doublings of two classes, the mean
   roll probability over the note of the stronger and the weaker of the two classes, and
   of the likeliest other class: medians and the shares above 0.2.
6. **Per class.** Activity precision, recall and F1 over (class, 10-ms frame) cells
   (pooled), the matched notes of the class, how many of them got the right class and
   where the others went.

``--by doubling|soundfont|collection`` adds one row per group of tracks (from the tracks'
``track.json``): note precision, recall and F1 (pooled), the main kinds of misses, and
activity and instrument-aware note F1 (means over tracks). ``doubling`` is the doubling
the synth engine gave a one-part tune (unison, octave up, octave down; ``none`` for tunes
without one and for pieces of several parts); ``collection`` is the corpus collection.

    python benchmarks/transcribe_errors.py --data data/synth --limit 60
    python benchmarks/transcribe_errors.py --data data/synth --model runs/x/best.pt \\
        --split test --json errors.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: mir_eval's onset tolerance (seconds), the one note F1 uses.
TOLERANCE = 0.05
#: A decoded note starting this close (but not within TOLERANCE) is an "onset off" miss.
NEAR = 0.15
#: Activity frame hop (seconds), as in mirkit.metrics.transcription.
HOP = 0.01
MISS_KINDS = ("doubling partner", "merged into a held note", "onset off by 50-150 ms",
              "not detected", "other")
FALSE_KINDS = ("onset off by 50-150 ms", "fragment of a reference note", "octave error",
               "other")


def unison_groups(onset: NDArray[np.float64], offset: NDArray[np.float64],
                  pitch: NDArray[Any], tolerance: float = TOLERANCE) -> NDArray[np.int64]:
    """Group id per note: notes of one key sounding together whose onsets lie within
    ``tolerance`` of the group's first onset share an id (a unison doubling); every other
    note is a group of its own. Ids are 0, 1, ... in no particular order."""
    n = len(onset)
    group = np.arange(n, dtype=np.int64)
    order = np.lexsort((onset, np.asarray(pitch)))
    lead = -1
    for i in order:
        if (lead >= 0 and pitch[i] == pitch[lead] and onset[i] - onset[lead] <= tolerance
                and onset[i] < offset[lead]):
            group[i] = group[lead]
        else:
            lead = int(i)
    return group


def extra_mask(group: NDArray[np.int64]) -> NDArray[np.bool_]:
    """True for every note of a group but its first (by index): the notes a decoder with
    one note per sounding key cannot match."""
    seen: set[int] = set()
    extra = np.zeros(len(group), dtype=bool)
    for i, g in enumerate(group.tolist()):
        extra[i] = g in seen
        seen.add(g)
    return extra


def match(ref_on: NDArray[np.float64], ref_off: NDArray[np.float64], ref_pitch: NDArray[Any],
          est_on: NDArray[np.float64], est_off: NDArray[np.float64], est_pitch: NDArray[Any]
          ) -> dict[int, int]:
    """Reference index -> decoded index, note F1's (onset, pitch) matching."""
    if len(ref_on) == 0 or len(est_on) == 0:
        return {}
    from mir_eval.transcription import match_notes

    from mirkit.metrics.transcription import midi_to_hz

    pairs = match_notes(np.stack([ref_on, ref_off], axis=1), midi_to_hz(ref_pitch),
                        np.stack([est_on, est_off], axis=1), midi_to_hz(est_pitch),
                        onset_tolerance=TOLERANCE, offset_ratio=None)
    return {int(r): int(e) for r, e in pairs}


def classify_misses(ref_on: NDArray[np.float64], ref_pitch: NDArray[Any],
                    ref_off: NDArray[np.float64], group: NDArray[np.int64],
                    est_on: NDArray[np.float64], est_off: NDArray[np.float64],
                    est_pitch: NDArray[Any], matched: dict[int, int]) -> list[str]:
    """The kind (one of :data:`MISS_KINDS`) of every unmatched reference note, in index
    order."""
    matched_groups = {int(group[r]) for r in matched}
    kinds = []
    for i in range(len(ref_on)):
        if i in matched:
            continue
        same = est_pitch == ref_pitch[i]
        if int(group[i]) in matched_groups:
            kinds.append(MISS_KINDS[0])
        elif np.any(same & (est_on < ref_on[i] - TOLERANCE) & (est_off > ref_on[i])):
            kinds.append(MISS_KINDS[1])
        elif np.any(same & (np.abs(est_on - ref_on[i]) <= NEAR)):
            kinds.append(MISS_KINDS[2])
        elif not np.any(same & (est_on < ref_off[i]) & (est_off > ref_on[i])):
            kinds.append(MISS_KINDS[3])
        else:
            kinds.append(MISS_KINDS[4])
    return kinds


def classify_false(est_on: NDArray[np.float64], est_pitch: NDArray[Any],
                   ref_on: NDArray[np.float64], ref_off: NDArray[np.float64],
                   ref_pitch: NDArray[Any], matched_est: set[int]) -> list[str]:
    """The kind (one of :data:`FALSE_KINDS`) of every unmatched decoded note."""
    kinds = []
    for j in range(len(est_on)):
        if j in matched_est:
            continue
        same = ref_pitch == est_pitch[j]
        if np.any(same & (np.abs(ref_on - est_on[j]) <= NEAR)):
            kinds.append(FALSE_KINDS[0])
        elif np.any(same & (ref_on < est_on[j]) & (ref_off > est_on[j])):
            kinds.append(FALSE_KINDS[1])
        elif np.any((np.abs(ref_pitch.astype(np.int64) - int(est_pitch[j])) == 12)
                    & (np.abs(ref_on - est_on[j]) <= TOLERANCE)):
            kinds.append(FALSE_KINDS[2])
        else:
            kinds.append(FALSE_KINDS[3])
    return kinds


def oracle_labels(est_labels: NDArray[np.str_], ref_labels: NDArray[np.str_],
                  matched: dict[int, int]) -> NDArray[np.str_]:
    """The decoded labels with every matched note given its reference note's class."""
    out = np.asarray(est_labels, dtype=object).copy()
    for r, e in matched.items():
        out[e] = ref_labels[r]
    return out.astype(str)


def _activity(on: NDArray[np.float64], off: NDArray[np.float64], labels: NDArray[np.str_],
              classes: list[str], n_frames: int) -> NDArray[np.bool_]:
    from mirkit.metrics.transcription import activity_from_notes

    iv = np.stack([on, off], axis=1).reshape(-1, 2)
    return activity_from_notes(iv, labels, labels=classes, hop_seconds=HOP,
                               n_frames=n_frames)


def _scores(ref: Any, on: NDArray[np.float64], off: NDArray[np.float64],
            pitch: NDArray[Any], labels: NDArray[np.str_]) -> tuple[float, float]:
    """(activity F1 over every class, instrument-aware note F1 over pitched notes)."""
    from mirkit.metrics.transcription import evaluate

    r_lab = np.asarray(ref.class_, dtype=str)
    full = evaluate(np.stack([ref.onset, ref.offset], axis=1).reshape(-1, 2),
                    ref.pitch.astype(np.float64), np.stack([on, off], axis=1).reshape(-1, 2),
                    pitch.astype(np.float64), ref_instruments=r_lab, est_instruments=labels)
    rk, ek = r_lab != "drums", labels != "drums"
    pitched = evaluate(np.stack([ref.onset[rk], ref.offset[rk]], axis=1).reshape(-1, 2),
                       ref.pitch[rk].astype(np.float64),
                       np.stack([on[ek], off[ek]], axis=1).reshape(-1, 2),
                       pitch[ek].astype(np.float64), ref_instruments=r_lab[rk],
                       est_instruments=labels[ek])
    return float(full["Activity F-measure"]), float(pitched["Instrument F-measure_no_offset"])


def doubling_probabilities(on: NDArray[np.float64], off: NDArray[np.float64],
                           pitch: NDArray[Any], labels: NDArray[np.str_],
                           group: NDArray[np.int64], roll: NDArray[Any], fps: float,
                           classes: list[str], lowest_pitch: int) -> list[list[float]]:
    """For every unison doubling of two notes of two classes: the mean roll probability,
    over the frames both sound, of the stronger and of the weaker of the two classes at
    their key, and of the likeliest other pitched class (drums left out)."""
    index = {c: i for i, c in enumerate(classes)}
    pitched = [i for i, c in enumerate(classes) if c != "drums"]
    out = []
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        if len(members) != 2 or labels[members[0]] == labels[members[1]]:
            continue
        a, b = members
        first = int(np.floor(max(on[a], on[b]) * fps)) + 1
        last = int(np.floor(min(off[a], off[b]) * fps))
        key = int(pitch[a]) - lowest_pitch
        if last <= first or not 0 <= key < roll.shape[1]:
            continue
        means = roll[:, key, first:last].mean(axis=1)
        pa, pb = float(means[index[labels[a]]]), float(means[index[labels[b]]])
        rest = [float(means[i]) for i in pitched if i not in (index[labels[a]],
                                                              index[labels[b]])]
        out.append([max(pa, pb), min(pa, pb), max(rest, default=0.0)])
    return out


def analyse_track(ref: Any, notes: Any, classes: list[str], *, roll: Any = None,
                  fps: float = 0.0, lowest_pitch: int = 21) -> dict[str, Any]:
    """Every count and score of one track (reference and decoded NoteTables); with the
    model's ``roll`` probabilities (classes x keys x frames at ``fps``), also the
    probabilities at its unison doublings (:func:`doubling_probabilities`)."""
    r_lab = np.asarray(ref.class_, dtype=str)
    e_lab = np.asarray(notes.class_, dtype=str)
    rk, ek = np.flatnonzero(r_lab != "drums"), np.flatnonzero(e_lab != "drums")
    r_on, r_off, r_p = ref.onset[rk], ref.offset[rk], ref.pitch[rk].astype(np.int64)
    e_on, e_off, e_p = notes.onset[ek], notes.offset[ek], notes.pitch[ek].astype(np.int64)
    group = unison_groups(r_on, r_off, r_p)
    extra = extra_mask(group)
    matched = match(r_on, r_off, r_p, e_on, e_off, e_p)
    misses = classify_misses(r_on, r_p, r_off, group, e_on, e_off, e_p, matched)
    false = classify_false(e_on, e_p, r_on, r_off, r_p, set(matched.values()))
    in_doubling = np.bincount(group, minlength=len(group))[group] > 1 if len(group) else extra

    # labels of all decoded notes (drums too), oracle for the matched pitched ones
    full_match = {int(rk[r]): int(ek[e]) for r, e in matched.items()}
    labels_oracle = oracle_labels(e_lab, r_lab, full_match)
    # doubling partners: a missed reference note whose group has a matched note gets a
    # copy of that decoded note, with its own class
    leader_est = {int(group[r]): e for r, e in matched.items()}
    add = [(i, leader_est[int(group[i])]) for i in range(len(rk))
           if i not in matched and int(group[i]) in leader_est]
    d_on = np.concatenate([notes.onset, [e_on[e] for _, e in add]])
    d_off = np.concatenate([notes.offset, [e_off[e] for _, e in add]])
    d_p = np.concatenate([notes.pitch, [e_p[e] for _, e in add]])
    d_lab = np.concatenate([labels_oracle, np.array([r_lab[rk[i]] for i, _ in add],
                                                    dtype=str)]).astype(str)

    row: dict[str, Any] = {
        "reference": len(rk), "decoded": len(ek), "matched": len(matched),
        "in doubling": int(in_doubling.sum()), "extra": int(extra.sum()),
        "misses": dict(Counter(misses)), "false": dict(Counter(false)),
    }
    if len(ref.onset):
        row["decoded scores"] = _scores(ref, notes.onset, notes.offset, notes.pitch, e_lab)
        row["oracle class"] = _scores(ref, notes.onset, notes.offset, notes.pitch,
                                      labels_oracle)
        row["oracle class + doublings"] = _scores(ref, d_on, d_off, d_p, d_lab)
    # per-class activity cells and class confusions of the matched notes
    n_frames = int(np.ceil(max([*ref.offset, *notes.offset, 0.0]) / HOP)) + 1
    ref_act = _activity(ref.onset, ref.offset, r_lab, classes, n_frames)
    est_act = _activity(notes.onset, notes.offset, e_lab, classes, n_frames)
    row["cells"] = {c: [int((ref_act[k] & est_act[k]).sum()), int(ref_act[k].sum()),
                        int(est_act[k].sum())] for k, c in enumerate(classes)}
    row["confusions"] = dict(Counter(f"{r_lab[rk[r]]}>{e_lab[ek[e]]}"
                                     for r, e in matched.items()))
    if roll is not None:
        row["doubling probabilities"] = doubling_probabilities(
            r_on, r_off, r_p, r_lab[rk], group, np.asarray(roll), fps, classes, lowest_pitch)
    return row


GROUPINGS = ("doubling", "soundfont", "collection")
_DOUBLINGS = {"double+0": "unison", "double+12": "octave up", "double-12": "octave down"}


def group_of(info: dict[str, Any], by: str) -> str:
    """The group of a track (its ``track.json`` entry) under grouping ``by``."""
    if by == "doubling":
        found = [_DOUBLINGS.get(a, a) for a in info.get("accompaniment", [])
                 if str(a).startswith("double")]
        return found[0] if found else "none"
    if by == "soundfont":
        return str(info.get("soundfont", "?"))
    source = str(info.get("source", "?"))
    return source.split(":", 1)[-1].split("/", 1)[0]


def group_report(rows: list[dict[str, Any]], groups: list[str], by: str) -> list[str]:
    """One markdown row per group: pooled note P/R/F1, miss shares, mean activity and
    instrument-aware note F1."""
    kinds = MISS_KINDS[:2] + MISS_KINDS[3:4]
    out = [f"| {by} | tracks | note precision | note recall | note F1 | "
           + " | ".join(f"missed: {k}" for k in kinds)
           + " | activity F1 | instrument-aware note F1 |",
           "|---|---|---|---|---|" + "---|" * len(kinds) + "---|---|"]
    for name in sorted(set(groups)):
        mine = [r for r, g in zip(rows, groups, strict=True) if g == name]
        ref = sum(r["reference"] for r in mine)
        dec = sum(r["decoded"] for r in mine)
        hit = sum(r["matched"] for r in mine)
        p, rec = (hit / dec if dec else 0.0), (hit / ref if ref else 0.0)
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        scored = np.array([r["decoded scores"] for r in mine if "decoded scores" in r])
        act, inst = scored.mean(axis=0) if len(scored) else (float("nan"), float("nan"))
        out.append(f"| {name} | {len(mine)} | {p:.3f} | {rec:.3f} | {f1:.3f} | "
                   + " | ".join(_pct(sum(r["misses"].get(k, 0) for r in mine), ref)
                                for k in kinds)
                   + f" | {act:.3f} | {inst:.3f} |")
    return out


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "—"


def report(rows: list[dict[str, Any]], classes: list[str]) -> list[str]:
    """The markdown tables for the per-track rows of :func:`analyse_track`."""
    out: list[str] = []
    n_ref = sum(r["reference"] for r in rows)
    n_est = sum(r["decoded"] for r in rows)
    n_match = sum(r["matched"] for r in rows)
    n_double = sum(r["in doubling"] for r in rows)
    n_extra = sum(r["extra"] for r in rows)
    caps = [1.0 - r["extra"] / r["reference"] for r in rows if r["reference"]]
    out += ["| pitched notes | count | share |", "|---|---|---|",
            f"| reference | {n_ref} | |",
            f"| decoded | {n_est} | |",
            f"| matched (onset and pitch) | {n_match} | precision {_pct(n_match, n_est)}, "
            f"recall {_pct(n_match, n_ref)} |",
            f"| reference notes in unison doublings | {n_double} | {_pct(n_double, n_ref)} |",
            f"| extra notes of the doublings | {n_extra} | {_pct(n_extra, n_ref)} |",
            f"| recall cap of one note per key (mean over tracks) | | "
            f"{float(np.mean(caps)) if caps else float('nan'):.3f} |", ""]
    misses: Counter[str] = Counter()
    false: Counter[str] = Counter()
    for r in rows:
        misses.update(r["misses"])
        false.update(r["false"])
    out += ["| missed reference notes | count | share of the reference |", "|---|---|---|"]
    out += [f"| {k} | {misses[k]} | {_pct(misses[k], n_ref)} |" for k in MISS_KINDS]
    out += [f"| all | {sum(misses.values())} | {_pct(sum(misses.values()), n_ref)} |", ""]
    out += ["| false notes | count | share of the decoded |", "|---|---|---|"]
    out += [f"| {k} | {false[k]} | {_pct(false[k], n_est)} |" for k in FALSE_KINDS]
    out += [f"| all | {sum(false.values())} | {_pct(sum(false.values()), n_est)} |", ""]
    out += ["| class labels (means over tracks) | activity F1 | instrument-aware note F1 |",
            "|---|---|---|"]
    for key, name in (("decoded scores", "as decoded"),
                      ("oracle class", "each matched note given its reference class"),
                      ("oracle class + doublings",
                       "the same, and the doubling partners of matched notes added")):
        vals = np.array([r[key] for r in rows if key in r])
        if len(vals):
            out.append(f"| {name} | {vals[:, 0].mean():.3f} | {vals[:, 1].mean():.3f} |")
    out.append("")
    probs = np.array([p for r in rows for p in r.get("doubling probabilities", [])])
    if len(probs):
        med = np.median(probs, axis=0)
        out += ["| unison doublings of two classes (mean roll probability over the note) "
                "| stronger class | weaker class | likeliest other class |", "|---|---|---|---|",
                f"| median over {len(probs)} doublings | {med[0]:.3f} | {med[1]:.3f} "
                f"| {med[2]:.3f} |",
                f"| share above 0.2 | {(probs[:, 0] > 0.2).mean():.3f} "
                f"| {(probs[:, 1] > 0.2).mean():.3f} | {(probs[:, 2] > 0.2).mean():.3f} |",
                ""]
    conf: Counter[str] = Counter()
    for r in rows:
        conf.update(r["confusions"])
    out += ["| class | reference (s) | activity P | activity R | activity F1 "
            "| matched notes | right class | most often taken for |",
            "|---|---|---|---|---|---|---|---|"]
    for c in classes:
        tp = sum(r["cells"][c][0] for r in rows)
        nr = sum(r["cells"][c][1] for r in rows)
        ne = sum(r["cells"][c][2] for r in rows)
        if not nr and not ne:
            continue
        mine = {k.split(">")[1]: v for k, v in conf.items() if k.split(">")[0] == c}
        total = sum(mine.values())
        wrong = sorted(((v, k) for k, v in mine.items() if k != c), reverse=True)[:3]
        taken = ", ".join(f"{k} {_pct(v, total)}" for v, k in wrong) or "—"
        p = f"{tp / ne:.3f}" if ne else "—"
        rec = f"{tp / nr:.3f}" if nr else "—"
        out.append(f"| {c} | {nr * HOP:.0f} | {p} | {rec} | {2 * tp / (nr + ne):.3f} "
                   f"| {total} | {_pct(mine.get(c, 0), total)} | {taken} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="a mirkit synth folder")
    parser.add_argument("--model", default="transcribe-unet")
    parser.add_argument("--split", default="valid", choices=("train", "valid", "test"))
    parser.add_argument("--limit", type=int, default=None, help="first N tracks")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--by", choices=GROUPINGS, action="append", default=[],
                        help="also a table by this grouping of the tracks (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="per-track rows")
    parser.add_argument("--rows", type=Path, default=None,
                        help="report the per-track rows of an earlier --json instead of "
                             "transcribing (the same --data)")
    args = parser.parse_args(argv)

    import torch

    from mirkit.data.datasets import open_dataset
    from mirkit.features.pianoroll import LOWEST_PITCH
    from mirkit.tasks.transcribe import Transcriber

    torch.set_num_threads(args.threads)
    ds = open_dataset(args.data)
    info: Any = getattr(ds, "track_info", None)
    if args.by and info is None:
        parser.error(f"--by needs a synth dataset (track.json per track); {args.data} is not")
    if args.rows is not None:
        saved = json.loads(args.rows.read_text())
        name, rows = saved["model"], saved["tracks"]
        classes = list(rows[0]["cells"]) if rows else []
        args.split = saved["split"]
    else:
        tracks = [t for t in ds.tracks(args.split)
                  if ds.mixture_path(t) is not None and ds.notes(t) is not None][: args.limit]
        if not tracks:
            parser.error(f"no track with audio and notes in split {args.split!r} of "
                         f"{args.data}")
        transcriber = Transcriber(args.model, device="cpu")
        name, classes = transcriber.name, list(transcriber.classes)
        rows = []
        for n, track in enumerate(tracks, 1):
            path, ref = ds.mixture_path(track), ds.notes(track)
            assert path is not None and ref is not None          # kept above
            result = transcriber.transcribe(path, keep_rolls=True)
            row = analyse_track(ref, result.notes.notes, classes, roll=result.roll,
                                fps=result.sr / result.hop, lowest_pitch=LOWEST_PITCH)
            rows.append({"track": track, **row})
            if n % 20 == 0:
                print(f"{n}/{len(tracks)} tracks", file=sys.stderr, flush=True)
    print(f"{name}, split {args.split}, {len(rows)} tracks\n")
    print("\n".join(report(rows, classes)))
    for by in args.by:
        groups = [group_of(info(r["track"]), by) for r in rows]
        print()
        print("\n".join(group_report(rows, groups, by)))
    if args.json is not None:
        args.json.write_text(json.dumps({"model": name, "split": args.split,
                                         "tracks": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
