"""``mirkit evaluate TASK --reference REF --estimate EST``: metrics for every task."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mirkit.cli.app import app
from mirkit.cli.options import RunOptions, command

evaluate_app = typer.Typer(
    help="Metrics for every task, exact and fast. REF and EST are files or folders paired by "
         "name; results go to stdout (--format) and optionally to --report FILE.",
    no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

# options shared by the evaluate subcommands, defined once
Reference = Annotated[Path, typer.Option(
    "--reference", "-r", help="Reference file or folder.", show_default=False)]
Estimate = Annotated[Path, typer.Option(
    "--estimate", "-e", help="Estimate file or folder (paired with the references by name).",
    show_default=False)]
Report = Annotated[Path | None, typer.Option(
    "--report", help="Also save every result row to this .json or .csv file.")]

_COMMON = ("existing", "jobs", "shard")
_HELPS = {"jobs": "Items evaluated in parallel.",
          "skip_existing": "Leave an existing --report file as it is (the rows still go to "
                           "stdout).",
          "overwrite": "Replace an existing --report file."}
_SEPARATION_HELPS = {
    **_HELPS,
    "skip_existing": "Leave existing output files (--report, --json-dir) as they are.",
    "overwrite": "Replace existing output files (--report, --json-dir)."}


def _check_seconds(value: float, flag: str, *, example: float) -> None:
    """A duration option must be a positive, finite number of seconds (usage error)."""
    if not 0 < value < float("inf"):
        from mirkit.errors import ParameterError

        raise ParameterError(f"{flag} {value}: give a positive number of seconds "
                             f"(e.g. {example:g})")


@command(evaluate_app, "separation", common=(*_COMMON, "device"), helps=_SEPARATION_HELPS)
def separation_cmd(
    run: RunOptions, reference: Reference, estimate: Estimate, report: Report = None,
    window: Annotated[float, typer.Option(help="BSS-eval frame length in seconds.")] = 1.0,
    hop: Annotated[float, typer.Option(help="BSS-eval frame hop in seconds.")] = 1.0,
    json_dir: Annotated[Path | None, typer.Option(
        "--json-dir", help="Write museval-compatible per-track JSON files here.")] = None,
) -> int:
    """BSS-eval v4 (SDR, ISR, SIR, SAR as museval), SI-SDR and SDR improvement.

    REF and EST are folders of tracks, TRACK/TARGET.wav (MUSDB) or TRACK_TARGET.wav. A
    reference 'mixture' file enables SDRi. One row per track and target, then the median and
    mean over tracks per target (median over frames, then over tracks: the SiSEC convention).

    Example: mirkit evaluate separation -r musdb/test -e separated/ --report scores.csv
    """
    from mirkit.io.audio import AUDIO_EXTENSIONS
    from mirkit.io.pairing import pair_tracks
    from mirkit.tasks.evaluate import aggregate_rows, separation_item

    _check_seconds(window, "--window", example=1.0)
    _check_seconds(hop, "--hop", example=1.0)
    pairs, problems = pair_tracks(reference, estimate, extensions=AUDIO_EXTENSIONS)
    device = None if run.device in ("auto", "cpu") else run.device
    if device is not None:
        from mirkit.engine.device import resolve_device

        device = str(resolve_device(device))

    def work(pair: Any) -> dict[str, Any]:
        return separation_item(pair, window_seconds=window, hop_seconds=hop, device=device,
                               json_dir=json_dir, existing=run.existing)

    return run.process(work, items=pairs, problems=problems, label=lambda p: p[0].name,
                       columns=("target", "SDR", "ISR", "SIR", "SAR", "SI-SDR", "SDRi",
                                "note"),
                       what="tracks", report=report,
                       aggregate=lambda rows: aggregate_rows(rows, group_by=("target",)))


@command(evaluate_app, "transcription", common=_COMMON, helps=_HELPS)
def transcription_cmd(
    run: RunOptions, reference: Reference, estimate: Estimate, report: Report = None,
    hop: Annotated[float, typer.Option(
        help="Frame hop in seconds for multi-pitch and instrument-activity metrics.")] = 0.01,
    instruments: Annotated[bool, typer.Option(
        "--instruments/--ignore-instruments",
        help="Score instrument-aware metrics when both sides label instruments.")] = True,
    metrics: Annotated[str | None, typer.Option(
        "--metrics", metavar="LIST",
        help="Only these metric columns, comma-separated, e.g. 'F-measure_no_offset,Frame "
             "Accuracy' or 'Instrument F-measure \\[piano]'.")] = None,
) -> int:
    """Note P/R/F1, multi-pitch frame and instrument-aware metrics (mir_eval conventions).

    Onset-only, onset+offset and velocity note metrics; multi-pitch frame metrics; notes that
    must also match in instrument; per-instrument frame activity F1.

    Files: MIDI, or CSV/TSV note lists onset,offset,pitch[,velocity][,instrument] (seconds,
    MIDI pitch). One row per item, then median and mean over items.

    Example: mirkit evaluate transcription -r ref_midi/ -e transcribed/ --format table
    """
    from mirkit.io.pairing import pair_files
    from mirkit.tasks.evaluate import NOTE_EXTENSIONS, aggregate_rows, transcription_item

    keep = _metric_filter(metrics)
    _check_seconds(hop, "--hop", example=0.01)
    pairs, problems = pair_files(reference, estimate, extensions=NOTE_EXTENSIONS)
    return run.process(lambda p: keep(transcription_item(p, hop_seconds=hop,
                                                         instruments=instruments)),
                       items=pairs, problems=problems, label=lambda p: p.name,
                       what="items", report=report, aggregate=aggregate_rows)


def _metric_filter(metrics: str | None) -> Any:
    """A row filter keeping the named metric columns (exact names)."""
    if metrics is None:
        return lambda row: row
    from mirkit.errors import ParameterError

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if not names:
        raise ParameterError("--metrics: give at least one metric name")
    known = _transcription_metric_names()
    unknown = [n for n in names if n not in known and not _per_label(n, known)]
    if unknown:        # checked before any item is read
        raise ParameterError(f"--metrics: unknown metric(s) {', '.join(unknown)}; known: "
                             f"{', '.join(known)} (and 'NAME [LABEL]' per instrument)")

    def keep(row: dict[str, Any]) -> dict[str, Any]:
        metric_keys = [k for k in row if isinstance(row[k], float)]
        missing = [n for n in names if n not in metric_keys]
        if missing:    # a known metric this item cannot give (no velocities, labels, ...)
            from mirkit.errors import InputError

            raise InputError(f"--metrics: this item has no {', '.join(missing)} (velocity "
                             "metrics need velocities and instrument metrics labels on both "
                             "sides)")
        return {k: v for k, v in row.items() if k not in metric_keys or k in names}

    return keep


def _transcription_metric_names() -> list[str]:
    """Every metric name ``evaluate transcription`` can report (per-label keys aside)."""
    import numpy as np

    from mirkit.metrics.transcription import evaluate

    one = np.array([[0.0, 1.0]])
    keys = evaluate(one, [60.0], one, [60.0], ref_velocities=[80], est_velocities=[80],
                    ref_instruments=["x"], est_instruments=["x"])
    return [k for k in keys if "[" not in k]


def _per_label(name: str, known: list[str]) -> bool:
    """``name`` is ``'<metric> [LABEL]'`` of a metric that has per-label values."""
    base, sep, label = name.partition(" [")
    return bool(sep) and label.endswith("]") and len(label) > 1 and base in known


@command(evaluate_app, "tagging", common=("existing",), helps=_HELPS)
def tagging_cmd(
    run: RunOptions,
    reference: Annotated[Path, typer.Option(
        "--reference", "-r", show_default=False,
        help="Labels CSV: item,tag1,tag2,... with 0/1 (empty cell = unknown, OpenMIC-style), "
             "or long item,tag,value.")],
    estimate: Annotated[Path, typer.Option(
        "--estimate", "-e", show_default=False,
        help="Scores CSV in the same layout, keyed by the same item ids.")],
    report: Report = None,
    threshold: Annotated[float, typer.Option(
        help="Score at or above which a tag counts as predicted.")] = 0.5,
) -> int:
    """ROC-AUC and PR-AUC per tag, macro and micro; F1, precision and recall at a threshold.

    One row per tag, then the macro row (mean over tags with a known positive and negative)
    and the micro row (all known entries pooled).

    Example: mirkit evaluate tagging -r labels.csv -e scores.csv --format table
    """
    from mirkit.io.pairing import pair_files
    from mirkit.tasks.evaluate import TABLE_EXTENSIONS, TAG_METRICS, tagging_item

    pairs, problems = pair_files(reference, estimate, extensions=TABLE_EXTENSIONS)
    console = run.console
    return run.process(lambda p: tagging_item(p, threshold=threshold, warn=console.note),
                       items=pairs, problems=problems, label=lambda p: p.name,
                       columns=("tag", *TAG_METRICS, "tags"), what="files", report=report)


@command(evaluate_app, "assessment", common=("existing",), helps=_HELPS)
def assessment_cmd(
    run: RunOptions,
    reference: Annotated[Path, typer.Option(
        "--reference", "-r", show_default=False,
        help="Reference ratings CSV: item,criterion1,criterion2,...")],
    estimate: Annotated[Path, typer.Option(
        "--estimate", "-e", show_default=False,
        help="Predicted ratings CSV with the same items and criteria.")],
    report: Report = None,
) -> int:
    """R², Pearson r, Spearman rho, MAE and RMSE between predicted and reference ratings.

    One row per criterion, then the mean over criteria.

    Example: mirkit evaluate assessment -r jury.csv -e predicted.csv
    """
    from mirkit.io.pairing import pair_files
    from mirkit.tasks.evaluate import ASSESSMENT_METRICS, TABLE_EXTENSIONS, assessment_item

    pairs, problems = pair_files(reference, estimate, extensions=TABLE_EXTENSIONS)
    return run.process(assessment_item, items=pairs, problems=problems,
                       label=lambda p: p.name, what="files", report=report,
                       columns=("criterion", *ASSESSMENT_METRICS, "items"))


@command(evaluate_app, "generation", common=("existing",), helps=_HELPS)
def generation_cmd(
    run: RunOptions,
    reference: Annotated[Path, typer.Option(
        "--reference", "-r", show_default=False,
        help="Folder (or file) of reference pieces: MIDI, MusicXML, ABC or kern.")],
    estimate: Annotated[Path, typer.Option(
        "--estimate", "-e", show_default=False, help="Folder (or file) of generated pieces.")],
    report: Report = None,
    feature: Annotated[list[str] | None, typer.Option(
        "--feature", help="MGEval feature to compare (repeatable); default: all whole-piece "
                          "features (per-bar ones need --num-bar).")] = None,
    distance: Annotated[str, typer.Option(
        help="Distance between feature vectors: euclidean, emd or kl.")] = "euclidean",
    part: Annotated[int | None, typer.Option(
        help="Part (track) index to analyse; default: all non-drum parts merged.")] = None,
    num_bar: Annotated[int | None, typer.Option(
        "--num-bar", help="Bars per piece for the per-bar features.")] = None,
    bleu: Annotated[bool, typer.Option(
        "--bleu/--no-bleu", help="Also corpus BLEU-1..4 of the pitch and duration streams "
                                 "(monophonic pieces).")] = False,
) -> int:
    """MGEval (Yang & Lerch 2018) between a generated and a reference set, and BLEU streams.

    Per feature: mean and std over each set, and KL divergence and overlapping area of the
    intra-set vs inter-set distance distributions (Gaussian KDE), for each set.

    Example: mirkit evaluate generation -r heldout/ -e generated/ --bleu --format table
    """
    from mirkit.errors import ParameterError
    from mirkit.io.pairing import Pair
    from mirkit.metrics.generation import BAR_FEATURES
    from mirkit.tasks.evaluate import MGEVAL_COLUMNS, generation_item

    for path, opt in ((reference, "--reference"), (estimate, "--estimate")):
        if not path.exists():
            raise ParameterError(f"{opt} '{path}' does not exist")
    per_bar = [f for f in feature or () if f in BAR_FEATURES]
    if per_bar and num_bar is None:
        raise ParameterError(f"--feature {per_bar[0]} is per bar: give --num-bar N (bars per "
                             f"piece) so that every piece has as many bars")
    if num_bar is not None and num_bar < 1:
        raise ParameterError(f"--num-bar {num_bar}: give a whole number >= 1")
    item = Pair(f"{estimate.name} vs {reference.name}", reference, estimate)
    console = run.console
    return run.process(
        lambda p: generation_item(p, features=feature, distance=distance, part=part,
                                  num_bar=num_bar, bleu=bleu, warn=console.note),
        items=[item], label=lambda p: p.name, columns=MGEVAL_COLUMNS, what="sets",
        report=report)


@command(evaluate_app, "disentanglement", common=("existing",), helps=_HELPS)
def disentanglement_cmd(
    run: RunOptions, estimate: Annotated[Path, typer.Option(
        "--estimate", "-e", help=".npz with latent codes (key z) and, unless --reference is "
                                 "given, factors (key factors, attributes or a).",
        show_default=False)],
    reference: Annotated[Path | None, typer.Option(
        "--reference", "-r", help=".npz holding the factors/attributes, if not in the "
                                  "estimate file.")] = None,
    report: Report = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", "-m", help="Metric id to compute (repeatable); default: all that apply. "
                               "Ids: mig_histogram, modularity_histogram, explicitness, sap_svc, "
                               "mig_knn, dmig, xmig, dlig, sap_discrete, sap_continuous, "
                               "modularity_knn, interpretability_arvae.")] = None,
    continuous: Annotated[bool, typer.Option(
        "--continuous", help="Attributes are continuous (default: discrete factors).")] = False,
    reg_dim: Annotated[str | None, typer.Option(
        "--reg-dim", help="Comma-separated latent dimension regularising each attribute.")
    ] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", help="Use only the first N items.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the kNN estimators and SVMs.")] = 0,
) -> int:
    """MIG, SAP, Modularity and friends, each variant named (dMelodies, Latte, AR-VAE).

    dMelodies benchmark variants (MIG, Modularity, explicitness, SAP with histogram
    discretisation), Latte's kNN-estimator MIG/DMIG/XMIG/DLIG, SAP and Modularity, and the
    AR-VAE interpretability score.

    Example: mirkit evaluate disentanglement -e latents.npz --format table
    """
    from mirkit.errors import ParameterError
    from mirkit.metrics import disentanglement as dis
    from mirkit.tasks.evaluate import load_latents, metric_rows

    if limit is not None and limit < 2:
        raise ParameterError(f"--limit {limit}: need at least 2 items")

    def work(path: Path) -> dict[str, Any]:
        z, a = load_latents(path, reference)
        if limit is not None:
            z, a = z[:limit], a[:limit]
        dims = None
        if reg_dim is not None:
            try:
                dims = [int(x) for x in reg_dim.split(",")]
            except ValueError:
                raise ParameterError(f"--reg-dim {reg_dim!r}: give integers like 0,1,2") from None
        scores = dis.evaluate(z, a, discrete=not continuous, reg_dim=dims, metrics=metric,
                              random_state=seed)
        return {"rows": metric_rows(scores, items=int(z.shape[0]))}

    return run.process(work, items=[estimate], columns=("metric", "value", "items"),
                       what="files", report=report)

