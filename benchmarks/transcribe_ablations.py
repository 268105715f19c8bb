"""Frame-level comparison of transcription runs (the paper's Table 2 shape) on a test split.

For each run folder (or checkpoint) given, the model scores ``--items`` fixed excerpts of the
``valid`` split and of the ``test`` split (the same excerpts for every model, no
augmentation). For each head — pitch roll, instrument-aware pianoroll, instrument activity,
onsets — the threshold is chosen on the validation excerpts (best F1 over 0.05–0.9) and the
test F1 is reported at that threshold, with the multi-pitch frame accuracy of the pitch roll.
``--score-split train`` scores excerpts of the training pieces instead (without the training
augmentation): the gap to the test row is what the model learnt of those pieces alone. A
shipped model's name works in place of a run.

    python benchmarks/transcribe_ablations.py --data data/synth \\
        runs/ablation-multitask runs/ablation-roll-only runs/ablation-pitch-only \\
        runs/ablation-instrument-only
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

HEADS = (("pitch", "pitch", "pitch_roll"), ("roll", "roll", "pianoroll"),
         ("activity", "instrument", "activity"), ("onset", "onset", "onsets"))
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _outputs(model: Any, items: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    import torch

    frontend = model.frontend()
    outs: dict[str, list[Any]] = {}
    with torch.inference_mode():
        for start in range(0, len(items), 8):
            batch = items[start:start + 8]
            out = model(frontend(torch.as_tensor(np.stack([b["audio"] for b in batch]))))
            for k, v in out.items():
                outs.setdefault(k, []).append(v)
    labels = {key: torch.as_tensor(np.stack([b[key] for b in items]))
              for _, _, key in HEADS}
    return {k: torch.cat(v) for k, v in outs.items()}, labels


def _counts(logits: Any, ref: Any, threshold: float) -> tuple[float, float, float]:
    pred = logits > math.log(threshold / (1 - threshold))
    tp = float((pred & ref).sum())
    return tp, float(pred.sum()) - tp, float(ref.sum()) - tp


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--items", type=int, default=128)
    parser.add_argument("--score-split", default="test", choices=("test", "train"),
                        help="split scored with the thresholds chosen on valid (test; train "
                             "measures the gap to the pieces trained on)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from mirkit.data.datasets import open_dataset
    from mirkit.data.instruments import BY_NAME, CLASSES
    from mirkit.models.registry import load_model
    from mirkit.train.transcription import DataOptions, TranscriptionItems

    torch.set_num_threads(2)
    ds = open_dataset(args.data)
    drums = [c for c in CLASSES if BY_NAME[c].is_drum]
    sets = {}
    for split in ("valid", args.score_split):
        it = TranscriptionItems(ds, split, DataOptions(), seed=12345, augment=False,
                                count=args.items, sr=16000, hop=512, classes=CLASSES,
                                drum_classes=drums)
        sets[split] = [it[i] for i in range(len(it))]
    rows = []
    print("| run | loss terms | pitch F1 | frame acc. | roll F1 | activity F1 | onset F1 |")
    print("|---|---|---|---|---|---|---|")
    for run in args.runs:
        path = str(run / "last.pt" if run.is_dir() else run)       # a file or a model name
        loaded = load_model(path, task="transcribe")
        weights = (loaded.card.get("recipe") or {}).get("loss_weights", {})
        terms = "+".join(k for k, v in weights.items() if v) or "?"
        val_out, val_lab = _outputs(loaded.module, sets["valid"])
        test_out, test_lab = _outputs(loaded.module, sets[args.score_split])
        row: dict[str, Any] = {"run": str(run), "terms": terms}
        for name, out_key, label_key in HEADS:
            if out_key not in val_out:
                continue
            vref, tref = val_lab[label_key].bool(), test_lab[label_key].bool()
            best = max(THRESHOLDS, key=lambda t: _f1(*_counts(val_out[out_key], vref, t)))
            tp, fp, fn = _counts(test_out[out_key], tref, best)
            row[f"{name}_f1"] = _f1(tp, fp, fn)
            row[f"{name}_threshold"] = best
            if name == "pitch":
                row["pitch_acc"] = tp / (tp + fp + fn) if tp + fp + fn else 1.0
        rows.append(row)
        cells = [f"{row.get(k, float('nan')):.3f}" for k in
                 ("pitch_f1", "pitch_acc", "roll_f1", "activity_f1", "onset_f1")]
        print(f"| {run.name} | {terms} | " + " | ".join(cells) + " |")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
