"""``mirkit generate-melody``: melodies over a chord progression (MIDI and MusicXML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mirkit.cli.app import app
from mirkit.cli.options import RunOptions, command

COLUMNS = ("seed", "bars", "notes", "chord_tones", "midi", "musicxml", "seconds", "melody")
CHORDS = "Chords"
SAMPLING = "Sampling"
OUTPUTS = "Outputs"


@command(app, "generate-melody", common=("output", "filename", "existing", "device",
                                         "threads", "shard"),
         defaults={"filename": "{stem}-{sample}.{ext}"},
         helps={"filename": "Output name template inside --output. Fields: {stem} ('melody', "
                            "or the --chords-from file name), {sample} (1..K), {seed}, {ext} "
                            "(mid, musicxml).",
                "shard": "Generate only every N-th sample starting at the K-th (K counts "
                         "from 1), for array jobs; sample k keeps seed S + k - 1, so the "
                         "shards together give the files of one unsharded run.",
                "skip_existing": "Leave a sample whose files both exist already.",
                "overwrite": "Replace existing files (default: an existing file is an error "
                             "for that sample)."})
def generate_melody_cmd(
    run: RunOptions,
    chords: Annotated[str | None, typer.Option(
        "--chords", metavar="TEXT", rich_help_panel=CHORDS,
        help="Chord progression: bars separated by '|', chords of one bar by spaces (they "
             "split the bar evenly), '%' repeats the bar before, e.g. 'C | G | Am F | %'.")
    ] = None,
    chords_from: Annotated[Path | None, typer.Option(
        "--chords-from", metavar="FILE", rich_help_panel=CHORDS,
        help="Take meter, bars and chord symbols from a lead sheet (ABC with quoted chords, "
             "MusicXML with harmonies).")] = None,
    tune: Annotated[int | None, typer.Option(
        "--tune", metavar="N", rich_help_panel=CHORDS, show_default=False,
        help="With --chords-from: the N-th readable tune of the file (default 1).")] = None,
    bars: Annotated[int | None, typer.Option(
        "--bars", metavar="N", rich_help_panel=CHORDS,
        help="Bars to fill; the progression is repeated or cut to N bars (default: its own "
             "length).")] = None,
    meter: Annotated[str | None, typer.Option(
        "--meter", metavar="N/D", rich_help_panel=CHORDS,
        help="Time signature of --chords: 4/4, 3/4, 2/4, 2/2 or 6/8, as far as the model was "
             "trained on it (default 4/4; --chords-from uses the file's).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", metavar="NAME|PATH",
        help="Registered model (`mirkit models list --task generate-melody`) or a checkpoint "
             "of `mirkit train melody` (default: melody-nottingham).")] = None,
    conditioning: Annotated[str | None, typer.Option(
        "--conditioning", metavar="LIST",
        help="Use the shipped model conditioned on exactly these inputs: a comma-separated "
             "subset of inter, chord, next-chord, bar-pos, or none or all. With --model: "
             "check that the model has them.")] = None,
    samples: Annotated[int, typer.Option(
        "--samples", "-n", metavar="K", rich_help_panel=SAMPLING,
        help="Melodies to generate; sample k uses seed S + k - 1.")] = 1,
    seed: Annotated[int, typer.Option(
        "--seed", metavar="S", rich_help_panel=SAMPLING,
        help="Seed of the first sample: the same seed gives the same melody.")] = 0,
    temperature: Annotated[float, typer.Option(
        "--temperature", metavar="T", rich_help_panel=SAMPLING,
        help="Sampling temperature: below 1 safer, above 1 wilder, 0 always the most likely "
             "token.")] = 1.0,
    accompaniment: Annotated[bool, typer.Option(
        "--accompaniment", rich_help_panel=OUTPUTS,
        help="Add a block-chord track (MIDI) and part (MusicXML).")] = False,
) -> int:
    """Generate melodies over a chord progression with a Pitch-RNN and a Duration-RNN.

    For each sample writes, in --output, NAME.mid (the melody; with --accompaniment also a
    chord track) and NAME.musicxml (the lead sheet with its chord symbols). One row per
    sample on stdout: seed, bars, notes, the share of notes that are chord tones, the files
    and the melody as note names with durations in quarter notes ('r' = rest, '|' = bar
    line). Generation is seeded: the same model, chords, seed and temperature give the same
    files.

    Examples:

      mirkit generate-melody --chords "C | G | Am | F" -o out/

      mirkit generate-melody --chords "Am | Dm G | C | E7" --bars 16 --samples 4 --seed 7 -o out/

      mirkit generate-melody --chords "D | A7 | D" --meter 6/8 --accompaniment -o out/

      mirkit generate-melody --chords-from tune.abc --conditioning none -o out/
    """
    from mirkit.errors import InputError, ParameterError
    from mirkit.tasks.generate_melody import (
        MelodyGenerator,
        parse_progression,
        progression_from_file,
    )

    if (chords is None) == (chords_from is None):
        raise ParameterError("give the chords with either --chords 'C | G | Am | F' or "
                             "--chords-from FILE (not both)")
    if chords_from is not None and not chords_from.is_file():
        raise ParameterError(f"--chords-from '{chords_from}' "
                             + ("is a folder" if chords_from.is_dir() else "does not exist")
                             + "; give a score file (ABC, MusicXML, MIDI)")
    if tune is not None and chords_from is None:
        raise ParameterError(f"--tune {tune} picks a tune of --chords-from FILE; with --chords "
                             "leave it out")
    if samples < 1:
        raise ParameterError(f"--samples {samples}: give a whole number >= 1")
    if seed < 0:
        raise ParameterError(f"--seed {seed}: give a whole number >= 0")
    if run.threads is not None:
        import torch

        torch.set_num_threads(run.threads)
    generator = MelodyGenerator(model, conditioning=conditioning, device=run.device,
                                temperature=temperature)
    if chords_from is not None:
        try:
            progression, tune_melody = progression_from_file(chords_from, tune=tune or 1,
                                                             bars=bars)
        except InputError as exc:            # the one input of the run: a usage error
            raise ParameterError(f"--chords-from: {exc}") from None
        from mirkit.tasks.generate_melody import check_meter

        if meter is not None and check_meter(meter) != progression.meter:
            raise ParameterError(f"--meter {meter} differs from the {progression.meter[0]}/"
                                 f"{progression.meter[1]} of '{chords_from}'; leave --meter "
                                 f"out with --chords-from")
        stem = chords_from.stem
        run.console.note(f"chords of {tune_melody.title or tune_melody.id!r}: "
                         f"{progression.text()}")
    else:
        progression = parse_progression(chords or "", meter=meter or "4/4", bars=bars)
        stem = "melody"
    generator.check_progression(progression)
    from mirkit.tasks.generate_melody import check_sample_names

    check_sample_names(run.output, run.filename, stem=stem, samples=samples, seed=seed)

    def work(k: int) -> dict[str, Any]:
        return generator.sample_file(progression, sample=k, seed=seed + k - 1,
                                     output=run.output, filename=run.filename, stem=stem,
                                     existing=run.existing, accompaniment=accompaniment)

    return run.process(work, items=list(range(1, samples + 1)), columns=COLUMNS,
                       what="samples", label=lambda k: f"sample {k}")
