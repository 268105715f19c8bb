"""Evaluation tasks behind ``mirkit evaluate``: load, pair, score, aggregate.

Each ``*_item`` function scores one reference/estimate pair and returns result fields (with
a ``rows`` list when one item gives several rows, e.g. one per separated target). The
metric definitions live in :mod:`mirkit.metrics`; this module only reads files and pairs
them, and raises :class:`~mirkit.errors.InputError` naming the item when they do not fit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mirkit.errors import InputError, ParameterError
from mirkit.io.batch import ExistingPolicy, claim_outputs
from mirkit.io.pairing import Pair, Track

NOTE_EXTENSIONS = frozenset({".mid", ".midi", ".csv", ".tsv", ".txt"})
SCORE_EXTENSIONS = frozenset({".mid", ".midi", ".xml", ".musicxml", ".mxl", ".abc", ".krn"})
STATS = ("median", "mean")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def aggregate_rows(rows: Sequence[dict[str, Any]], *, group_by: Sequence[str] = (),
                   stats: Sequence[str] = STATS) -> list[dict[str, Any]]:
    """Median and mean of every numeric column over items, per group.

    A column enters the aggregate only when every item of the group has a finite value
    for it, so an aggregate never silently covers a subset of the items; columns left out
    are named in the row's ``note``. ``items`` counts the rows of the group.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(g) for g in group_by), []).append(row)
    out = []
    for key, members in groups.items():
        cols: list[str] = []
        for r in members:
            cols += [c for c, v in r.items() if c not in cols and c not in group_by
                     and c not in ("input", "status", "items") and _is_number(v)]
        for stat in stats:
            agg: dict[str, Any] = {"input": f"({stat})", **dict(zip(group_by, key, strict=True)),
                                   "items": len(members)}
            missing = []
            for c in cols:
                vals = np.array([float(r[c]) if _is_number(r.get(c)) else np.nan
                                 for r in members])
                if np.all(np.isfinite(vals)):
                    agg[c] = float(np.median(vals) if stat == "median" else np.mean(vals))
                else:
                    missing.append(c)
            if missing:
                agg["note"] = f"left out (undefined for some items): {', '.join(missing)}"
            out.append(agg)
    return out


# --------------------------------------------------------------------------------------
# separation
# --------------------------------------------------------------------------------------

def _load_stack(paths: Sequence[Path], item: str, role: str) -> tuple[np.ndarray, int]:
    """Audio files of one track stacked to (nsrc, nsamples, nchan); same rate and length."""
    from mirkit.io.audio import load_audio

    arrays, rates = [], []
    for p in paths:
        y, sr = load_audio(p)
        arrays.append(y)
        rates.append(sr)
    if len(set(rates)) > 1:
        desc = ", ".join(f"{p.name} {r} Hz" for p, r in zip(paths, rates, strict=True))
        raise InputError(f"track '{item}': {role} files differ in sample rate ({desc})")
    lengths = {a.shape[1] for a in arrays}
    if len(lengths) > 1:
        desc = ", ".join(f"{p.name} {a.shape[1]}" for p, a in zip(paths, arrays, strict=True))
        raise InputError(f"track '{item}': {role} files differ in length (samples: {desc})")
    chans = {a.shape[0] for a in arrays}
    if len(chans) > 1:
        raise InputError(f"track '{item}': {role} files differ in channel count {sorted(chans)}")
    return np.stack([a.T for a in arrays]).astype(np.float64), rates[0]


def _undefined_separation_note(row: dict[str, Any], sdr_frames: NDArray[np.float64]) -> str:
    """Why a target's metrics are undefined (NaN), or "" when every metric has a value."""
    undefined = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if not undefined:
        return ""
    reasons = []
    if np.isnan(sdr_frames).all():
        reasons.append("no frame scored, since in every BSS-eval frame some reference or "
                       "estimate is silent")
    elif not np.isfinite(sdr_frames).any():
        reasons.append("infinite in every scored frame (the estimate equals the reference)")
    if "SI-SDR" in undefined:
        reasons.append("SI-SDR: the reference is silent or the estimate equals it")
    return f"{', '.join(undefined)} undefined: {'; '.join(reasons) or 'no finite value'}"


def separation_item(pair: tuple[Track, Track], *, window_seconds: float, hop_seconds: float,
                    device: str | None, json_dir: Path | None,
                    existing: ExistingPolicy) -> dict[str, Any]:
    """BSS-eval v4 (museval-exact), SI-SDR and SDR improvement for one track."""
    from mirkit.io.atomic import atomic_write
    from mirkit.metrics import separation as sep

    ref, est = pair
    names = sorted(ref.targets)
    json_path = None
    if json_dir is not None:
        json_path = json_dir / f"{ref.name}.json"
        claim_outputs([json_path], existing)
    refs, sr = _load_stack([ref.targets[n] for n in names], ref.name, "reference")
    ests, est_sr = _load_stack([est.targets[n] for n in names], ref.name, "estimate")
    if est_sr != sr:
        raise InputError(f"track '{ref.name}': estimates are at {est_sr} Hz but references at "
                         f"{sr} Hz; resample the estimates")
    if ests.shape != refs.shape:
        diff = ests.shape[1] - refs.shape[1]
        raise InputError(
            f"track '{ref.name}': estimates are {abs(diff)} samples "
            f"{'longer' if diff > 0 else 'shorter'} than references"
            if diff else f"track '{ref.name}': estimate shape {ests.shape[1:]} differs from "
                         f"reference {refs.shape[1:]} (samples, channels)")
    try:
        sep.validate(refs, ests)
    except InputError as exc:
        raise InputError(f"track '{ref.name}': {exc}") from None
    window = sep.seconds_to_samples(window_seconds, sr)
    hop = sep.seconds_to_samples(hop_seconds, sr)
    frames = sep.bss_eval_v4(refs, ests, window=window, hop=hop, device=device)
    medians = sep.aggregate(frames, how="median")
    sisdr = sep.si_sdr(refs, ests)
    sdri = None
    if ref.mixture is not None:
        mix, mix_sr = _load_stack([ref.mixture], ref.name, "mixture")
        if mix_sr != sr or mix.shape[1:] != refs.shape[1:]:
            raise InputError(f"track '{ref.name}': the mixture's rate or shape differs from the "
                             f"references'")
        sdri = sep.sdr_improvement(refs, ests, mix[0], window=window, hop=hop)
    rows = []
    for i, name in enumerate(names):
        row: dict[str, Any] = {"target": name}
        for metric in ("SDR", "ISR", "SIR", "SAR"):
            row[metric] = float(medians[metric][i])
        row["SI-SDR"] = float(sisdr[i])
        if sdri is not None:
            row["SDRi"] = float(sdri[i])
        note = _undefined_separation_note(row, frames["SDR"][i])
        if note:
            row["note"] = note
        rows.append(row)
    if json_path is not None:
        doc = sep.museval_json(frames, source_names=names, sr=sr, window=window, hop=hop)
        with atomic_write(json_path) as tmp:
            tmp.write_text(json.dumps(doc, indent=2, allow_nan=True))
    return {"rows": rows}


# --------------------------------------------------------------------------------------
# transcription
# --------------------------------------------------------------------------------------

def transcription_item(pair: Pair, *, hop_seconds: float, instruments: bool) -> dict[str, Any]:
    """Note, multi-pitch and (when both sides carry labels) instrument-aware metrics."""
    from mirkit.metrics import transcription as tr

    ref = tr.read_notes(pair.reference)
    est = tr.read_notes(pair.estimate)
    if not instruments:
        ref = tr.NoteList(ref.intervals, ref.pitches, ref.velocities, None)
        est = tr.NoteList(est.intervals, est.pitches, est.velocities, None)
    try:
        scores = tr.evaluate_note_lists(ref, est, hop_seconds=hop_seconds)
    except InputError as exc:
        raise InputError(f"'{pair.name}': {exc}") from None
    return scores


# --------------------------------------------------------------------------------------
# single-pair tasks: rows of (metric, value)
# --------------------------------------------------------------------------------------

def metric_rows(scores: dict[str, float], **extra: Any) -> list[dict[str, Any]]:
    """``{name: value}`` as rows ``{"metric": name, "value": value}``."""
    return [{**extra, "metric": k, "value": (float(v) if _is_number(v) else v)}
            for k, v in scores.items()]


def finite_or_error(scores: dict[str, float], item: str) -> dict[str, float]:
    """Refuse NaN in an item's summary numbers (never a silent NaN in an aggregate)."""
    bad = [k for k, v in scores.items() if _is_number(v) and not math.isfinite(float(v))]
    if bad:
        raise InputError(f"'{item}': metric(s) {', '.join(bad)} are undefined for this input")
    return scores


# --------------------------------------------------------------------------------------
# disentanglement
# --------------------------------------------------------------------------------------

FACTOR_KEYS = ("factors", "attributes", "a")


def npz_array(path: Path, keys: Sequence[str]) -> np.ndarray:
    """The first of ``keys`` present in an ``.npz`` file (InputError listing what it has)."""
    try:
        with np.load(path, allow_pickle=False) as zf:
            for key in keys:
                if key in zf.files:
                    return np.asarray(zf[key])
            raise InputError(f"'{path}' has none of the arrays {', '.join(keys)} "
                             f"(it has: {', '.join(zf.files) or 'nothing'})")
    except (OSError, ValueError) as exc:
        raise InputError(f"'{path}' is not a readable .npz file: {exc}") from None


def load_latents(estimate: Path, reference: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Latent codes ``z`` from ``estimate`` and factors from ``reference`` (or ``estimate``)."""
    from mirkit.metrics.disentanglement import read_latents_npz

    if reference is None:
        return read_latents_npz(estimate)
    z = npz_array(estimate, ("z",))
    a = npz_array(reference, FACTOR_KEYS)
    if len(z) != len(a):
        raise InputError(f"'{estimate}' has {len(z)} latent codes but '{reference}' has "
                         f"{len(a)} factor rows")
    return z, a


# --------------------------------------------------------------------------------------
# tagging and assessment: one pair of tables, one row per tag / criterion
# --------------------------------------------------------------------------------------

TABLE_EXTENSIONS = frozenset({".csv", ".tsv", ".txt"})
TAG_METRICS = ("ROC-AUC", "PR-AUC", "F1", "Precision", "Recall")


def tagging_item(pair: Pair, *, threshold: float, warn: Any = None) -> dict[str, Any]:
    """Per-tag ROC-AUC, PR-AUC, F1/precision/recall, then the macro and micro rows.

    ``pair.reference`` holds the 0/1 labels (empty cells: unknown), ``pair.estimate`` the
    scores. Tags without a known positive or negative are named through ``warn`` and left
    out of the macro means.
    """
    import warnings

    from mirkit.metrics import tagging as tg

    labels = tg.read_labels_csv(pair.reference)
    scores = tg.read_scores_csv(pair.estimate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tg.ExcludedTagsWarning)
        result = tg.evaluate_tables(scores, labels, threshold=threshold)
    if result.excluded_tags and warn is not None:
        warn(f"{len(result.excluded_tags)} tag(s) without a known positive or negative were "
             f"left out of the macro averages: {', '.join(result.excluded_tags)}")
    rows = [{"tag": tag, **values} for tag, values in result.per_tag.items()]
    for avg in ("macro", "micro"):
        rows.append({"tag": f"({avg})", "status": "aggregate",
                     **{m: result.summary[f"{m} {avg}"] for m in TAG_METRICS},
                     "tags": int(result.summary["Tags evaluated"])})
    return {"rows": rows}


ASSESSMENT_METRICS = ("R2", "Pearson r", "Spearman rho", "MAE", "RMSE")


def assessment_item(pair: Pair) -> dict[str, Any]:
    """R², Pearson r, Spearman rho, MAE and RMSE per criterion, then their mean."""
    from mirkit.metrics import assessment as am

    ref = am.read_ratings_csv(pair.reference)
    pred = am.read_ratings_csv(pair.estimate)
    scores = am.evaluate_tables(ref, pred)
    items = int(scores["Items"])
    crits = [k[len("R2 ["):-1] for k in scores if k.startswith("R2 [")]
    rows = []
    for c in crits:
        row = {"criterion": c, **{m: scores.get(f"{m} [{c}]") for m in ASSESSMENT_METRICS},
               "items": items}
        if row["Pearson r"] is None:
            row["note"] = "predictions all equal: correlations undefined"
        rows.append(row)
    mean = {"criterion": "(mean)", "status": "aggregate",
            **{m: scores.get(m) for m in ASSESSMENT_METRICS}, "items": items}
    if "Constant predictions" in scores:
        mean["note"] = "correlations left out: some criteria have constant predictions"
    rows.append(mean)
    return {"rows": rows}


# --------------------------------------------------------------------------------------
# generation: two sets of scores
# --------------------------------------------------------------------------------------

MGEVAL_COLUMNS = ("feature", "mean (generated)", "std (generated)", "mean (reference)",
                  "std (reference)", "KL (generated)", "OA (generated)", "KL (reference)",
                  "OA (reference)", "value", "note")


def read_score_set(root: Path, role: str, *, part: int | None = None) -> dict[str, Any]:
    """Every score file under ``root`` (or ``root`` itself), keyed by relative name.

    With ``part``, every score must have that part; the error names the file that lacks it.
    """
    from mirkit.io.batch import scan_folder
    from mirkit.io.symbolic import read_score

    files = [root] if root.is_file() else scan_folder(root, SCORE_EXTENSIONS)
    if not files:
        raise InputError(f"{role} '{root}' holds no score files "
                         f"({', '.join(sorted(SCORE_EXTENSIONS))})")
    base = root.parent if root.is_file() else root
    scores = {}
    for p in files:
        score = read_score(p)
        if len(score) < 2:
            raise InputError(f"'{p}' has {len(score)} note(s); MGEval's interval features need "
                             f"at least 2 per piece")
        if part is not None and not 0 <= part < len(score.parts):
            raise ParameterError(f"--part {part}: '{p}' has part"
                                 f"{'s 0..' if len(score.parts) > 1 else ' '}"
                                 f"{len(score.parts) - 1}")
        scores[p.relative_to(base).with_suffix("").as_posix()] = score
    return scores


def generation_item(pair: Pair, *, features: Sequence[str] | None, distance: str,
                    part: int | None, num_bar: int | None, bleu: bool,
                    warn: Any = None) -> dict[str, Any]:
    """MGEval (intra/inter-set distances, KDE, KL and overlap) and BLEU streams.

    ``pair.reference`` and ``pair.estimate`` are folders (or files) of scores. For BLEU each
    generated piece is compared with the reference of the same name when every generated
    piece has one, otherwise with all references. A feature whose distances within a set
    are all equal (e.g. note count when every piece has 16 notes) has no KDE: its KL and
    overlap are left empty, its row says why, and ``warn`` names it.
    """
    from mirkit.metrics import generation as gen

    refs = read_score_set(pair.reference, "--reference", part=part)
    gens = read_score_set(pair.estimate, "--estimate", part=part)
    results = gen.mgeval(list(gens.values()), list(refs.values()), features=features,
                         distance=distance, part=part, num_bar=num_bar,  # type: ignore[arg-type]
                         on_degenerate="nan")
    rows: list[dict[str, Any]] = []
    for name, r in results.items():
        row: dict[str, Any] = {"feature": name}
        if np.ndim(r.set1_mean) == 0:
            row |= {"mean (generated)": float(r.set1_mean), "std (generated)": float(r.set1_std),
                    "mean (reference)": float(r.set2_mean), "std (reference)": float(r.set2_std)}
        stats = {"KL (generated)": r.set1_kl, "OA (generated)": r.set1_oa,
                 "KL (reference)": r.set2_kl, "OA (reference)": r.set2_oa}
        undefined = [k for k, v in stats.items() if not math.isfinite(v)]
        row |= {k: (None if k in undefined else float(v)) for k, v in stats.items()}
        if undefined:
            row["note"] = "distances all equal within a set: no KDE, KL/OA undefined"
            if warn is not None:
                warn(f"feature '{name}': {', '.join(undefined)} undefined (all distances "
                     f"within a set are equal)")
        rows.append(row)
    if bleu:
        names = list(gens)
        if all(n in refs for n in names):
            references: list[Any] = [refs[n] for n in names]
        else:
            references = [list(refs.values())] * len(names)
        try:
            for n in range(1, 5):                # corpus BLEU-1 .. BLEU-4 of each stream
                scores = gen.bleu_streams(references, list(gens.values()), part=part, max_n=n)
                for key, value in scores.items():
                    rows.append({"feature": key.replace("BLEU", f"BLEU-{n}"),
                                 "value": float(value)})
        except InputError:
            _name_unstreamable_piece(gens, refs, part)
            raise
    return {"rows": rows, "generated": len(gens), "reference": len(refs)}


def _name_unstreamable_piece(gens: dict[str, Any], refs: dict[str, Any],
                             part: int | None) -> None:
    """After BLEU failed (its error counts samples by index): raise the same error naming
    the first file whose melody cannot be tokenised, if one is found."""
    from mirkit.metrics import generation as gen

    for role, scores in (("--estimate", gens), ("--reference", refs)):
        for name, score in scores.items():
            try:
                gen.melody_tokens(score, part=part)
            except InputError as exc:
                raise InputError(f"{role} piece '{name}': {exc}") from None
