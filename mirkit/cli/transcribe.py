"""``mirkit transcribe``: audio to notes per instrument (MIDI, CSV, activity, pianoroll)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mirkit.cli.app import app
from mirkit.cli.options import RunOptions, command
from mirkit.errors import ParameterError

COLUMNS = ("notes", "instruments", "duration", "frames", "seconds", "midi")
DECODE = "Note decoding"
OUTPUTS = "Outputs"
SPEED = "Speed and memory"


@command(app, "transcribe", common=("inputs", "output", "filename", "existing", "device",
                                    "threads", "shard"),
         helps={"inputs": "Audio files (wav, flac, ogg, mp3, aiff), folders (searched "
                          "recursively) or glob patterns; '-' reads newline-separated paths "
                          "from standard input.",
                "filename": "Output name template inside --output. Fields: {track} (input "
                            "name without extension), {parent} (the input's folder name), "
                            "{ext} (mid, notes.csv, activity.csv, roll.npz, png).",
                "skip_existing": "Leave an input whose outputs all exist already.",
                "overwrite": "Replace existing outputs (default: an existing output is an "
                             "error for that input)."})
def transcribe_cmd(
    run: RunOptions,
    model: Annotated[str, typer.Option(
        "--model", metavar="NAME|PATH",
        help="Registered model name (`mirkit models list --task transcribe`) or a "
             "checkpoint file.")] = "transcribe-unet",
    instruments: Annotated[str | None, typer.Option(
        "--instruments", metavar="LIST",
        help="Comma-separated classes to keep, e.g. piano,bass,drums (default: all the "
             "model's classes).")] = None,
    frame_threshold: Annotated[float | None, typer.Option(
        "--frame-threshold", metavar="P", rich_help_panel=DECODE,
        help="Frame probability at or above which a key sounds, in (0, 1) (default: the "
             "model card's, else 0.5).")
    ] = None,
    onset_threshold: Annotated[float | None, typer.Option(
        "--onset-threshold", metavar="P", rich_help_panel=DECODE,
        help="Onset probability at or above which a note starts, in (0, 1) (default: the "
             "model card's, else 0.5).")
    ] = None,
    reonset_threshold: Annotated[float | None, typer.Option(
        "--reonset-threshold", metavar="P", rich_help_panel=DECODE,
        help="Onset probability a repeated note needs where its key is already sounding, "
             "in [onset threshold, 1) (default: the model card's, else the onset "
             "threshold).")
    ] = None,
    min_note_ms: Annotated[float | None, typer.Option(
        "--min-note-ms", metavar="MS", rich_help_panel=DECODE,
        help="Drop pitched notes shorter than this (default: the model card's, else 50).")
    ] = None,
    drum_note_ms: Annotated[float | None, typer.Option(
        "--drum-note-ms", metavar="MS", rich_help_panel=DECODE,
        help="Length given to every drum note (default: 100).")] = None,
    decoder: Annotated[str | None, typer.Option(
        "--decoder", metavar="NAME", rich_help_panel=DECODE,
        help="per-instrument: decode each class's roll; pitch-first: decode the pitch roll, "
             "then give each note the class most active over it (default: the model "
             "card's choice, else per-instrument).")] = None,
    min_class_share: Annotated[float | None, typer.Option(
        "--min-class-share", metavar="P", rich_help_panel=DECODE,
        help="pitch-first: a note may only take a class that won at least this share of "
             "the note length within --class-window around it, in [0, 1); 0 turns the "
             "vote off (default: the model card's, else 0).")] = None,
    class_window: Annotated[float | None, typer.Option(
        "--class-window", metavar="SECONDS", rich_help_panel=DECODE,
        help="Window of the class vote of --min-class-share; inf: the whole input "
             "(default: the model card's, else 20).")] = None,
    onsets: Annotated[bool, typer.Option(
        "--onsets/--no-onsets", rich_help_panel=DECODE,
        help="Start notes at onset peaks (needs a model with an onset head) or at rising "
             "edges of the frame activity.")] = True,
    resolution: Annotated[float | None, typer.Option(
        "--resolution", metavar="SECONDS", rich_help_panel=OUTPUTS,
        help="Rows of NAME.activity.csv: the maximum over windows of this many seconds "
             "(default: one row per frame, 32 ms).")] = None,
    save_roll: Annotated[bool, typer.Option(
        "--save-roll", rich_help_panel=OUTPUTS,
        help="Also write NAME.roll.npz: roll, onset, pitch and instrument probabilities "
             "(float16), times, classes, pitches.")] = False,
    plot: Annotated[bool, typer.Option(
        "--plot", rich_help_panel=OUTPUTS,
        help="Also write NAME.png: the notes as a pianoroll coloured by instrument.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", metavar="FILE", rich_help_panel=OUTPUTS,
        help="Also save every result row to this .json or .csv file.")] = None,
    chunk_seconds: Annotated[float | None, typer.Option(
        "--chunk-seconds", metavar="S", rich_help_panel=SPEED,
        help="Audio per inference window; results do not depend on it (up to float "
             "rounding), memory and speed do "
             "(default: 32.768, i.e. 1024 frames).")] = None,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", metavar="N", rich_help_panel=SPEED,
        help="Windows per model call (raise it on a GPU).")] = 1,
) -> int:
    """Transcribe audio into notes per instrument: MIDI, note list and instrument activity.

    For each input writes, in --output: NAME.mid (one track per instrument class with its
    General MIDI program, drums on channel 10), NAME.notes.csv (onset, offset, pitch,
    velocity, instrument, confidence), NAME.activity.csv (activity probability per class
    per frame, or per --resolution window) and, on request, NAME.roll.npz (--save-roll) and
    NAME.png (--plot). Long files are streamed in chunks with bounded memory. One row per
    input on stdout: notes, instruments found, duration (s), frames, wall seconds.

    Examples:

      mirkit transcribe song.flac -o out/

      mirkit transcribe recordings/ -o midi/ --instruments piano,bass --plot

      find . -name '*.wav' | mirkit transcribe - -o out/ --skip-existing --format csv
    """
    from mirkit.io.audio import AUDIO_EXTENSIONS
    from mirkit.tasks.transcribe import Transcriber, check_resolution

    if not onsets:
        moot = [flag for flag, value in (("--onset-threshold", onset_threshold),
                                         ("--reonset-threshold", reonset_threshold))
                if value is not None]
        if moot:
            raise ParameterError(f"{' and '.join(moot)} {'has' if len(moot) == 1 else 'have'}"
                                 f" no effect with --no-onsets (notes start at rising edges of "
                                 f"the frame activity): drop {'it' if len(moot) == 1 else 'them'}"
                                 f" or the --no-onsets")
    given: dict[str, Any] = {"frame_threshold": frame_threshold,
                             "onset_threshold": onset_threshold, "min_note_ms": min_note_ms,
                             "drum_note_ms": drum_note_ms, "chunk_seconds": chunk_seconds}
    transcriber = Transcriber(model, device=run.device, instruments=instruments,
                              use_onsets=onsets, batch_size=batch_size, threads=run.threads,
                              decoder=decoder, min_class_share=min_class_share,
                              class_window_seconds=class_window,
                              reonset_threshold=reonset_threshold,
                              **{k: v for k, v in given.items() if v is not None})
    check_resolution(resolution, transcriber.fps)
    if onsets and not transcriber.has_onsets:
        run.console.note(f"model {transcriber.name!r} has no onset head: notes start at "
                         "rising edges of the frame activity (--no-onsets)")
    written: dict[Path, str] = {}

    def work(path: Path) -> dict[str, Any]:
        return transcriber.transcribe_file(path, output=run.output, filename=run.filename,
                                           existing=run.existing, resolution=resolution,
                                           save_roll=save_roll, plot=plot, written=written)

    return run.process(work, extensions=AUDIO_EXTENSIONS, columns=COLUMNS, what="files",
                       report=report)
