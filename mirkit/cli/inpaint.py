"""``mirkit inpaint``: fill missing measures of monophonic tunes (MusicXML, MIDI, ABC)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mirkit.cli.app import app
from mirkit.cli.options import RunOptions, command

COLUMNS = ("tune", "part", "meter", "measures", "method", "sample", "notes", "musicxml",
           "midi", "seconds")
SAMPLING = "Sampling"


@command(app, "inpaint", common=("inputs", "output", "filename", "existing", "device",
                                 "threads", "shard"),
         helps={"inputs": "Tunes: ABC, MusicXML (xml, musicxml, mxl), MIDI or kern files, "
                          "folders (searched recursively) or glob patterns; '-' reads "
                          "newline-separated paths from standard input.",
                "filename": "Output name template inside --output. Fields: {track} (input "
                            "name without extension), {parent} (the input's folder name), "
                            "{sample} (1..K), {ext} (musicxml, mid). With --samples > 1 and "
                            "no {sample}, the number goes before the extension: NAME.2.mid."})
def inpaint_cmd(
    run: RunOptions,
    measures: Annotated[str, typer.Option(
        "--measures", "-m", metavar="FIRST-LAST",
        help="Measures to fill, e.g. 5-8 (numbered from 1, the first bar of the tune, a "
             "pickup bar included; both ends included), or one measure, e.g. 5.",
        show_default=False)],
    model: Annotated[str, typer.Option(
        "--model", metavar="NAME|PATH",
        help="Registered model name (`mirkit models list --task inpaint`) or a checkpoint "
             "of `mirkit train inpaint`.")] = "inpaint-folk",
    method: Annotated[str, typer.Option(
        "--method", metavar="NAME",
        help="latent-rnn (MeasureVAE + LatentRNN, the paper's model), anticipation (the "
             "Anticipation-RNN baseline) or repeat (copy the nearest context measure).")
    ] = "latent-rnn",
    part: Annotated[int | None, typer.Option(
        "--part", metavar="K",
        help="Part to use (0-based) in files with several parts (needed when more than one "
             "part has notes); a polyphonic part gives its top line.", show_default=False)
    ] = None,
    tune: Annotated[int, typer.Option(
        "--tune", metavar="K", help="Tune of an ABC file holding several (1-based).")] = 1,
    samples: Annotated[int, typer.Option(
        "--samples", "-k", metavar="K", rich_help_panel=SAMPLING,
        help="Inpaintings per tune, written as NAME.1.musicxml ... NAME.K.musicxml.")] = 1,
    temperature: Annotated[float, typer.Option(
        "--temperature", "-t", metavar="T", rich_help_panel=SAMPLING,
        help="Sampling temperature: tokens drawn from softmax(logits / T); 0 takes the most "
             "likely token (then latent-rnn samples are all alike).")] = 1.0,
    seed: Annotated[int, typer.Option(
        "--seed", metavar="S", rich_help_panel=SAMPLING,
        help="Random seed: the same seed gives the same output on the same device.")] = 0,
) -> int:
    """Fill missing measures of monophonic tunes with the MeasureVAE + LatentRNN model.

    For each input writes, in --output, NAME.musicxml and NAME.mid: the whole tune with the
    measures of --measures replaced (one pair per sample with --samples). The filled
    measures are marked: coloured notes and the text "inpainted" in MusicXML, marker events
    "inpainted: start" / "inpainted: end" in MIDI. One row per input and sample on stdout
    with the generated notes of the filled measures ("E5 q, F#5 e, rest e, ..." : w h q e s
    for whole to sixteenth, '.' dotted, '3' triplet). The model handles the meters and the
    largest gap named by `mirkit models info`; other meters, longer gaps and files with
    several parts (without --part) are errors.

    Examples:

      mirkit inpaint tune.abc --measures 5-8 -o out/

      mirkit inpaint tune.musicxml -m 9-12 --samples 4 --temperature 0.8 --seed 7 -o out/

      mirkit inpaint quartet.mid --part 0 -m 3-4 -o out/ --format json
    """
    from mirkit.errors import ParameterError
    from mirkit.tasks.inpaint import INPUT_EXTENSIONS, Inpainter

    if tune < 1:
        raise ParameterError(f"--tune {tune}: give a tune number >= 1 (the first is 1)")
    if part is not None and part < 0:
        raise ParameterError(f"--part {part}: give a part index >= 0 (the first is 0)")
    inpainter = Inpainter(model, device=run.device, method=method, temperature=temperature,
                          samples=samples, seed=seed, threads=run.threads)
    inpainter.check_measures(measures)
    written: dict[Any, str] = {}

    def work(path: Any) -> dict[str, Any]:
        return inpainter.inpaint_file(path, measures=measures, output=run.output,
                                      filename=run.filename, existing=run.existing, part=part,
                                      tune=tune, written=written)

    return run.process(work, extensions=INPUT_EXTENSIONS, columns=COLUMNS, what="tunes")
