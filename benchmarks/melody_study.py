"""The conditioning study of Genchel, Pati & Lerch (2019) on our data, for melody models.

For each model given (a ``mirkit train melody`` run folder -- its ``best.pt`` --, a
checkpoint or a registered name), on the tunes of ``--data`` split by tune id:

* **validation NLL** per event of the pitch and of the duration stream (whole ``valid``
  tunes, untransposed: the metric that picks ``best.pt``);
* one melody generated over the chord progression (meter, bars, chord symbols at their
  positions) of every held-out ``test`` tune, seeded (tune ``i`` uses seed ``--seed + i``);
* **BLEU** (corpus BLEU-4, :func:`mirkit.metrics.generation.bleu_streams`) of the pitch and
  of the duration stream, each generated melody against the tune it was generated over;
* **MGEval** (:func:`mirkit.metrics.generation.mgeval`, the 9 whole-piece features) of the
  generated set against the test tunes: ``OA`` is the mean over features of the overlapping
  area of the test set's intra-set distances with the generated-to-test distances (1: the
  generated set is as close to the test tunes as they are to each other), ``KL`` the mean
  KL divergence of the same pair of distributions;
* the **share of generated notes that are chord tones** (pooled over all melodies).

Anchor, measured in the same run: the ``valid`` tunes used as if generated (BLEU against
the test tunes, paired in order and cycled; MGEval valid vs test; their chord-tone share).
The last column gives each model's MGEval OA as a ratio to the anchor's.

Evaluate trained models::

    python benchmarks/melody_study.py --data ../shared/data/nottingham-dev \\
        runs/melody-none runs/melody-inter runs/melody-chord runs/melody-chord-next \\
        runs/melody-all --json study.json

Train the five configurations first (each resumes when its folder holds a run)::

    python benchmarks/melody_study.py --data ../shared/data/nottingham-dev --train \\
        examples/train/melody-{none,inter,chord,chord-next,all}.yaml --runs runs/
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = ("model", "conditioning", "NLL pitch", "NLL duration", "BLEU pitch",
           "BLEU duration", "MGEval OA", "MGEval KL", "chord tones", "OA / anchor")


def _checkpoint(spec: str) -> str:
    path = Path(spec)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return str(path / name)
        raise SystemExit(f"melody_study: '{path}' holds no best.pt or last.pt")
    return spec


def _train(configs: list[Path], runs: Path, data: Path, *, max_steps: int | None
           ) -> list[str]:
    """Train (or resume) one run per config into ``runs/<config stem>``; their folders."""
    from mirkit.tasks.train import train

    out = []
    for cfg in configs:
        folder = runs / cfg.stem
        overrides: dict[str, Any] = {}
        if max_steps is not None:
            overrides["max_steps"] = max_steps
        resume = (folder / "last.pt").is_file()
        print(f"training {cfg} -> {folder}" + (" (resuming)" if resume else ""),
              file=sys.stderr)
        command = (f"mirkit train melody --data {data} --config {cfg} -o {folder}"
                   + (f" --max-steps {max_steps}" if max_steps is not None else ""))
        train("melody", data, folder, config=cfg, resume=resume, overrides=overrides,
              command=command)
        out.append(str(folder))
    return out


def _bleu_mgeval(generated: list[Any], references: list[Any]) -> dict[str, Any]:
    from scipy.integrate import IntegrationWarning

    from mirkit.metrics.generation import bleu_streams, mgeval

    gen_scores = [g.to_score() for g in generated]
    ref_scores = [r.to_score() for r in references]
    out: dict[str, Any] = dict(bleu_streams(ref_scores, gen_scores))
    with warnings.catch_warnings():            # quad's round-off notes on the KDE overlaps
        warnings.simplefilter("ignore", IntegrationWarning)
        results = mgeval(gen_scores, ref_scores, on_degenerate="nan")
    oa = [r.set2_oa for r in results.values()]
    kl = [r.set2_kl for r in results.values()]
    out["MGEval OA"] = float(np.nanmean(oa)) if not all(map(math.isnan, oa)) else math.nan
    out["MGEval KL"] = float(np.nanmean(kl)) if not all(map(math.isnan, kl)) else math.nan
    out["MGEval OA per feature"] = {name: r.set2_oa for name, r in results.items()}
    return out


def _share(melodies: list[Any]) -> float:
    from mirkit.tasks.generate_melody import chord_tone_counts

    hits = counted = 0
    for m in melodies:
        h, c = chord_tone_counts(m)
        hits, counted = hits + h, counted + c
    return hits / counted if counted else math.nan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="run folders, checkpoints or model names")
    parser.add_argument("--data", required=True, type=Path, help="lead-sheet folder")
    parser.add_argument("--train", nargs="+", type=Path, default=None, metavar="CONFIG",
                        help="train these configs first (into --runs/<config name>)")
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=None,
                        help="parse cache folder of load_melodies (speeds up reruns)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N test tunes (quick checks)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from mirkit.models.melody import conditioning_label
    from mirkit.models.registry import load_model
    from mirkit.tasks.generate_melody import generate, progression_from_melody
    from mirkit.train.melody import DataOptions, evaluate_tunes, load_corpus, tune_batches

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    models = list(args.models)
    if args.train:
        models += _train(args.train, args.runs, args.data, max_steps=args.max_steps)
    if not models:
        parser.error("give models to evaluate, or --train CONFIG ...")
    corpus = load_corpus(args.data, DataOptions(), cache=args.cache)
    valid, test = corpus.melodies["valid"], [m for m in corpus.melodies["test"] if m.chords]
    if args.limit is not None:
        test = test[: args.limit]
    print(f"{len(corpus.melodies['train'])} train, {len(valid)} valid, {len(test)} test tunes "
          f"with chords ({dict(corpus.skipped)} skipped)", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    anchor_gen = [valid[i % len(valid)] for i in range(len(test))]
    anchor = {"model": "anchor: valid tunes", "conditioning": "-",
              "NLL pitch": math.nan, "NLL duration": math.nan,
              **_bleu_mgeval(anchor_gen, test), "chord tones": _share(valid),
              "test chord tones": _share(test)}
    rows.append(anchor)
    for spec in models:
        loaded = load_model(_checkpoint(spec), task="generate-melody")
        model = loaded.module
        bos = (model.pitch_bos, model.duration_bos)
        nll = evaluate_tunes(model, tune_batches(corpus.events["valid"], bos=bos))
        t1 = time.perf_counter()
        generated = []
        for i, tune in enumerate(test):
            progression = progression_from_melody(tune)
            generated.append(generate(model, progression, seed=args.seed + i,
                                      temperature=args.temperature, id=f"gen/{tune.id}"))
        row = {"model": spec, "conditioning": conditioning_label(model.conditioning),
               "NLL pitch": nll["nll_pitch"], "NLL duration": nll["nll_duration"],
               **_bleu_mgeval(generated, test), "chord tones": _share(generated),
               "generation seconds": time.perf_counter() - t1}
        rows.append(row)
        print(f"{spec}: done", file=sys.stderr)
    for row in rows:
        row["OA / anchor"] = row["MGEval OA"] / anchor["MGEval OA"]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        cells = [row[c] if isinstance(row[c], str) else f"{row[c]:.3f}" for c in COLUMNS]
        print("| " + " | ".join(cells) + " |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{len(test)} test tunes; chord tones of the test tunes themselves: "
          f"{anchor['test chord tones']:.3f}; {time.perf_counter() - t0:.0f} s, peak memory "
          f"{peak:.0f} MB")
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows, "test_tunes": len(test),
                                         "seed": args.seed, "temperature": args.temperature},
                                        indent=2, default=float) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
