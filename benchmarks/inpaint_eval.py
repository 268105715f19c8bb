"""The inpainting objective test: LatentRNN vs the Anticipation-RNN and repeat baselines.

After Pati, Lerch & Hadjeres (ISMIR 2019): on held-out tunes, hide ``gap`` measures of a
window of the model's size (16) and score each method on the hidden measures' tokens, in two
modes (:func:`mirkit.train.inpaint.gap_metrics`):

- **inpaint** (the paper's test, as its testers compute it): each model fills the gap from
  the context alone, feeding back its own arg-max choices (the LatentRNN re-encodes each
  decoded measure). ``nll`` is the cross-entropy, nats per token, of the probabilities it
  gave along the way against the true tokens; ``acc`` is the share of inpainted tokens that
  are right.
- **likelihood**: the model's chain-rule likelihood of the true tokens, each given the
  context and the true earlier tokens of the gap (teacher forced); ``acc`` counts the
  arg-max of each factor.

The repeat baseline (each gap measure copies the nearest context measure) is the same in
both modes: ``1 - eps`` on the copied token plus ``eps`` spread uniformly over the
vocabulary; ``eps`` maximises its likelihood on the validation split (closed form from its
validation accuracy, :func:`mirkit.train.inpaint.repeat_eps`).

Per mode, the LatentRNN's difference from each baseline (all gaps pooled) comes with a 95 %
interval from a paired bootstrap over test tunes (2,000 resamples).

Windows: every tune of the ``test`` split (split by tune id, as in training), untransposed;
for each gap length of ``--gaps`` (2, 4, 6), ``--per-tune`` placements of the gap and
past-context lengths drawn like the training ones from ``--seed`` (deterministic). All
methods see the same windows.

Run::

    python benchmarks/inpaint_eval.py --model inpaint-folk --data ../shared/data/nottingham-dev
    python benchmarks/inpaint_eval.py --model runs/inpaint-arnn/best.pt --data DIR \\
        --corpora oneills ryans --json results.json

``--corpora`` defaults to those in the model card, so the test split is drawn from the data
the model was trained on. Prints one markdown table per mode (and the anchor: each model's
NLL divided by the repeat baseline's, measured in the same run), peak memory and timing;
``--json`` also saves the numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

METHODS = ("latent-rnn", "anticipation", "repeat")
MODES = ("inpaint", "likelihood")


def _card_corpora(card: dict[str, Any]) -> list[str]:
    for stage in reversed(card.get("stages", [])):
        corpora = stage.get("data", {}).get("corpora")
        if corpora:
            return list(corpora)
    return []


def evaluate(model: str, data: str | None, *, corpora: list[str] | None, gaps: list[int],
             per_tune: int, seed: int, cache: str | None, device: str,
             limit: int | None = None) -> dict[str, Any]:
    """Every method on the same test windows; see the module docstring."""
    import torch

    from mirkit.models.registry import load_model
    from mirkit.train.inpaint import (
        DataOptions,
        eval_windows,
        gap_scores,
        load_corpus,
        repeat_accuracy,
        repeat_eps,
    )

    loaded = load_model(model, device=device, task="inpaint")
    net = loaded.module
    cfg = net.config
    chosen = _card_corpora(loaded.card) if corpora is None else corpora
    t0 = time.perf_counter()
    corpus = load_corpus(data, DataOptions(corpora=tuple(chosen), cache=cache), cfg,
                         splits=("valid", "test"))
    load_seconds = time.perf_counter() - t0
    valid, test = corpus.tunes["valid"], corpus.tunes["test"]
    if limit is not None:
        valid, test = valid[:limit], test[:limit]
    window = int(cfg["window"])
    val_windows = eval_windows(valid, gaps=gaps, per_tune=per_tune, window=window, seed=seed)
    eps = repeat_eps(val_windows, net.vocab_size)
    rows = []
    timings: dict[str, float] = {}
    per_window: dict[tuple[str, str], list[dict[str, Any]]] = {}
    tune_ids: list[str] = []
    for gap in gaps:
        ws = eval_windows(test, gaps=[gap], per_tune=per_tune, window=window, seed=seed)
        tune_ids += [w.id for w in ws]
        for mode in MODES:
            for method in METHODS:
                t = time.perf_counter()
                with torch.no_grad():
                    m = gap_scores(net, ws, method, mode=mode,
                                   eps=eps if method == "repeat" else None)
                key = f"{method} ({mode})"
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - t
                per_window.setdefault((mode, method), []).append(m)
                n = float(m["tokens"].sum())
                rows.append({"gap": gap, "mode": mode, "method": method, "windows": len(ws),
                             "tokens": int(n), "nll": float(m["nll"].sum()) / n,
                             "acc": float(m["correct"].sum()) / n})
    comparisons = paired_bootstrap(per_window, tune_ids, seed=seed)
    return {
        "model": loaded.name, "data": data, "corpora": chosen, "gaps": gaps,
        "per_tune": per_tune, "seed": seed,
        "test_tunes": len(test), "valid_tunes": len(valid),
        "eps": eps, "eps_rule": "maximum likelihood on the valid split: "
                                "eps = (1 - acc) V / (V - 1)",
        "valid_repeat_acc": repeat_accuracy(val_windows),
        "rows": rows, "comparisons": comparisons,
        "seconds": {"load": load_seconds, **timings},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch_threads": torch.get_num_threads(),
    }


def paired_bootstrap(per_window: dict[tuple[str, str], list[dict[str, Any]]],
                     tune_ids: list[str], *, seed: int, n_boot: int = 2000
                     ) -> list[dict[str, Any]]:
    """LatentRNN minus each baseline, all gaps pooled, per mode: the difference in NLL per
    token and in accuracy, with a 95 % interval from a paired bootstrap over test *tunes*
    (every window of a resampled tune comes along, so correlated windows are not counted as
    independent)."""
    import numpy as np

    ids = sorted(set(tune_ids))
    position = {t: i for i, t in enumerate(ids)}
    of = np.array([position[t] for t in tune_ids])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(n_boot, len(ids)))
    weights = np.stack([np.bincount(d, minlength=len(ids)) for d in draws])   # (boot, tunes)

    def per_tune(method: str, mode: str, key: str) -> Any:
        values = np.concatenate([m[key] for m in per_window[(mode, method)]])
        return np.bincount(of, weights=values, minlength=len(ids))

    out = []
    for mode in MODES:
        tokens = per_tune("latent-rnn", mode, "tokens")
        for base in ("anticipation", "repeat"):
            row: dict[str, Any] = {"mode": mode, "baseline": base}
            for metric, key in (("nll", "nll"), ("acc", "correct")):
                diff = per_tune("latent-rnn", mode, key) - per_tune(base, mode, key)
                point = float(diff.sum() / tokens.sum())
                boot = (weights @ diff) / (weights @ tokens)
                low, high = np.percentile(boot, [2.5, 97.5])
                row[metric] = {"diff": point, "ci95": [float(low), float(high)]}
            out.append(row)
    return out


def markdown(result: dict[str, Any], mode: str = "inpaint") -> str:
    """The table of ``mode``: one row per gap, NLL and accuracy of each method, the best in
    bold."""
    lines = ["| gap | windows | tokens | " + " | ".join(
        f"{m} NLL | {m} acc" for m in METHODS) + " |",
        "|---|---|---|" + "---|---|" * len(METHODS)]
    for gap in result["gaps"]:
        rows = {r["method"]: r for r in result["rows"]
                if r["gap"] == gap and r.get("mode", "likelihood") == mode}
        if not rows:
            continue
        best_nll = min(r["nll"] for r in rows.values())
        best_acc = max(r["acc"] for r in rows.values())
        cells = []
        for m in METHODS:
            r = rows[m]
            nll = f"{r['nll']:.3f}"
            acc = f"{100 * r['acc']:.1f} %"
            cells.append(f"**{nll}**" if r["nll"] == best_nll else nll)
            cells.append(f"**{acc}**" if r["acc"] == best_acc else acc)
        first = rows[METHODS[0]]
        lines.append(f"| {gap} | {first['windows']} | {first['tokens']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="inpaint-folk", help="name or checkpoint")
    parser.add_argument("--data", default=None, help="folder of tunes (e.g. nottingham-dev)")
    parser.add_argument("--corpora", nargs="*", default=None,
                        help="music21 collections (default: the model card's)")
    parser.add_argument("--gaps", type=int, nargs="+", default=[2, 4, 6])
    parser.add_argument("--per-tune", type=int, default=4,
                        help="windows per test tune and gap length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="melody parse cache folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--limit", type=int, default=None, help="at most this many tunes")
    parser.add_argument("--json", type=Path, default=None, help="also save the results")
    args = parser.parse_args(argv)
    if args.data is None and not args.corpora:
        parser.error("give --data DIR and/or --corpora")
    result = evaluate(args.model, args.data, corpora=args.corpora, gaps=args.gaps,
                      per_tune=args.per_tune, seed=args.seed, cache=args.cache,
                      device=args.device, limit=args.limit)
    print(f"model {result['model']}: {result['test_tunes']} test tunes, "
          f"{args.per_tune} windows per tune and gap; repeat eps {result['eps']:.3f} "
          f"(valid split, {result['valid_tunes']} tunes)")
    for mode in MODES:
        print(f"\n{mode} mode:\n")
        print(markdown(result, mode))
        print()
        for gap in result["gaps"]:
            by = {r["method"]: r for r in result["rows"]
                  if r["gap"] == gap and r["mode"] == mode}
            anchor = by["repeat"]["nll"]
            print(f"gap {gap}: NLL / repeat NLL (the anchor): latent-rnn "
                  f"{by['latent-rnn']['nll'] / anchor:.3f}, anticipation "
                  f"{by['anticipation']['nll'] / anchor:.3f}")
        for c in result["comparisons"]:
            if c["mode"] != mode:
                continue
            nll, acc = c["nll"], c["acc"]
            print(f"latent-rnn minus {c['baseline']} (all gaps, 95 % bootstrap over tunes): "
                  f"NLL {nll['diff']:+.3f} [{nll['ci95'][0]:+.3f}, {nll['ci95'][1]:+.3f}], "
                  f"accuracy {100 * acc['diff']:+.2f} [{100 * acc['ci95'][0]:+.2f}, "
                  f"{100 * acc['ci95'][1]:+.2f}] points")
    secs = result["seconds"]
    print(f"\nseconds: load {secs['load']:.1f}, "
          + ", ".join(f"{k} {v:.1f}" for k, v in secs.items() if k != "load")
          + f"; peak RSS {result['peak_rss_mb']:.0f} MB")
    if args.json is not None:
        from mirkit.io.atomic import atomic_write

        with atomic_write(args.json) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
