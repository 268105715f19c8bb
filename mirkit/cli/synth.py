"""``mirkit synth``: render symbolic music into a multitrack dataset (stems, mixture, labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mirkit.cli.app import app
from mirkit.cli.options import RunOptions, command

COLUMNS = ("id", "source", "status", "split", "duration", "classes", "soundfont", "seconds")
AUG = "Augmentation (all seeded)"
RENDER = "Rendering"


def _tempo_range(text: str) -> tuple[float, float]:
    from mirkit.errors import ParameterError

    try:
        lo, hi = (float(x) for x in text.replace(":", ",").split(","))
    except ValueError:
        raise ParameterError(f"--tempo-range {text!r}: write LOW,HIGH, e.g. 0.85,1.15") from None
    return lo, hi


@command(app, "synth", common=("inputs", "output", "existing", "jobs"),
         defaults={"output": Path("synth-dataset")},
         helps={"inputs": "MIDI, MusicXML, ABC or kern files, folders (searched recursively) "
                          "or globs; '-' reads paths from standard input. Every tune of an "
                          "ABC file is a piece.",
                "output": "Dataset folder: dataset.json and tracks/<id>/.",
                "skip_existing": "Keep complete track folders of an earlier run with the "
                                 "same settings and render the rest (resume or extend).",
                "overwrite": "Render into a folder that holds a dataset, replacing it.",
                "jobs": "Worker processes; the output does not depend on it."})
def synth_cmd(
    run: RunOptions,
    corpus: Annotated[list[str] | None, typer.Option(
        "--corpus", "-c", metavar="NAME",
        help="music21 collection to render: bach-chorales, essen, oneills, airds, ryans. "
             "Repeatable.")] = None,
    hours: Annotated[float | None, typer.Option(
        "--hours", metavar="H",
        help="Stop when the rendered audio reaches H hours (pieces are rendered again with "
             "new seeds when one pass is not enough).")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", metavar="N", help="Stop after N tracks.")] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Global seed.")] = 0,
    max_seconds: Annotated[float | None, typer.Option(
        "--max-seconds", metavar="S",
        help="Cut longer pieces into excerpts of at most S seconds, at bar lines "
             "(excerpts share their piece's split).")] = None,
    instruments: Annotated[str | None, typer.Option(
        "--instruments", metavar="LIST",
        help="Comma-separated pitched classes parts may become (default: all pitched "
             "classes).")] = None,
    drums_prob: Annotated[float | None, typer.Option(
        "--drums-prob", metavar="P",
        help="Probability of adding a generated drum part (default: 0.5).")] = None,
    accompany: Annotated[bool | None, typer.Option(
        "--accompany/--no-accompany",
        help="Give one-part pieces a bass line and/or a doubling in another instrument "
             "(default: on).", show_default=False)] = None,
    soundfont: Annotated[list[Path] | None, typer.Option(
        "--soundfont", metavar="PATH", rich_help_panel=RENDER,
        help="Soundfont to draw from (repeatable) (default: FluidR3_GM, TimGM6mb and "
             "MuseScore_General where installed).")] = None,
    sample_rate: Annotated[int | None, typer.Option(
        "--sample-rate", "--sr", metavar="HZ", rich_help_panel=RENDER,
        help="Audio sample rate (default: 44100).")] = None,
    backend: Annotated[str | None, typer.Option(
        "--backend", metavar="NAME", rich_help_panel=RENDER,
        help="auto, lib (libfluidsynth, one pass per track) or cli (the fluidsynth program, "
             "one run per stem) (default: auto).")] = None,
    no_augment: Annotated[bool, typer.Option(
        "--no-augment", rich_help_panel=AUG,
        help="Turn every augmentation below off.")] = False,
    transpose: Annotated[int | None, typer.Option(
        "--transpose", metavar="N", rich_help_panel=AUG,
        help="Transpose by a whole number of semitones uniform in [-N, N], kept inside the "
             "class ranges (default: 3).")] = None,
    tempo_range: Annotated[str | None, typer.Option(
        "--tempo-range", metavar="LOW,HIGH", rich_help_panel=AUG,
        help="Range of the uniform tempo factor (default: 0.85,1.15).")] = None,
    velocity_sd: Annotated[float | None, typer.Option(
        "--velocity-sd", metavar="SD", rich_help_panel=AUG,
        help="Gaussian velocity humanisation (default: 8).")] = None,
    jitter_ms: Annotated[float | None, typer.Option(
        "--jitter-ms", metavar="MS", rich_help_panel=AUG,
        help="Gaussian onset/offset jitter in milliseconds (default: 10).")] = None,
    gain_db: Annotated[float | None, typer.Option(
        "--gain-db", metavar="DB", rich_help_panel=AUG,
        help="Per-stem gain uniform in [-DB, DB] (default: 6).")] = None,
    reverb_prob: Annotated[float | None, typer.Option(
        "--reverb-prob", metavar="P", rich_help_panel=AUG,
        help="Probability of FluidSynth reverb per track (default: 0.3).")] = None,
    chorus_prob: Annotated[float | None, typer.Option(
        "--chorus-prob", metavar="P", rich_help_panel=AUG,
        help="Probability of FluidSynth chorus per track (default: 0.2).")] = None,
    eq_prob: Annotated[float | None, typer.Option(
        "--eq-prob", metavar="P", rich_help_panel=AUG,
        help="Probability of a random peaking/shelving EQ per stem (default: 0.5).")] = None,
) -> int:
    """Render symbolic music into a multitrack dataset: stems, mixture, notes and labels.

    Each piece gets instrument classes by range (seeded), optional drums and accompaniment,
    augmentations, one FluidSynth stem per class and frame labels from the same notes.
    Writes OUTPUT/dataset.json and OUTPUT/tracks/<id>/{mixture.flac, stems/<class>.flac,
    notes.csv, labels.npz}. Splits (train/valid/test 80/10/10) follow the piece. Pieces on
    the package's holdout list are always skipped. Same sources and seed give the same
    bytes.

    Examples:

      mirkit synth --corpus bach-chorales --limit 20 -o data/chorales

      mirkit synth --corpus essen --corpus oneills --hours 10 --jobs 2 -o data/folk

      mirkit synth my_midis/ --instruments piano,bass,violin --drums-prob 0 -o data/mine
    """
    from mirkit.data.instruments import parse_classes
    from mirkit.data.synth import SynthConfig
    from mirkit.tasks.synth import synth

    options: dict[str, Any] = {
        "sample_rate": sample_rate, "backend": backend, "drums_prob": drums_prob,
        "accompany": accompany, "transpose": transpose, "velocity_sd": velocity_sd,
        "jitter_ms": jitter_ms, "gain_db": gain_db, "reverb_prob": reverb_prob,
        "chorus_prob": chorus_prob, "eq_prob": eq_prob, "max_seconds": max_seconds,
    }
    settings = {k: v for k, v in options.items() if v is not None}
    if instruments is not None:
        settings["instruments"] = parse_classes(instruments)
    if tempo_range is not None:
        settings["tempo_range"] = _tempo_range(tempo_range)
    if soundfont:
        settings["soundfonts"] = tuple(str(p) for p in soundfont)
    if no_augment:
        settings["augment"] = False
    config = SynthConfig(**settings)

    reporter = run.reporter(COLUMNS)
    console = run.console

    def on_track(row: dict[str, Any]) -> None:
        if row.get("status") == "failed":
            console.error(f"{row.get('source')}: {row.get('error')}")
        reporter.add(row)

    try:
        summary = synth(run.inputs, corpora=corpus or [], output=run.output, hours=hours,
                        limit=limit, seed=seed, jobs=run.jobs, config=config,
                        existing=run.existing, on_track=on_track)
    finally:
        reporter.close()
    parts = [f"{summary['tracks']} tracks, {summary['audio_hours']:.3f} h of audio "
             f"({summary['rendered']} rendered, {summary['kept']} kept) in "
             f"{summary['wall_seconds']:.1f} s ({summary['realtime']:.1f}x real time)"]
    if summary["failed"]:
        parts.append(f"{summary['failed']} failed")
    if summary["held_out"]:
        parts.append(f"{summary['held_out']} held-out pieces skipped")
    console.note("; ".join(parts) + f"; manifest {summary['manifest']}")
    return int(summary["exit_code"])
