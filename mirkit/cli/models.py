"""``mirkit models list|info``: the model registry as users see it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mirkit.cli.app import app
from mirkit.cli.options import RunOptions, command

models_app = typer.Typer(help="Registered models: what each is, its weights and its card.",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")


@command(models_app, "list")
def list_cmd(
    run: RunOptions,
    task: Annotated[str | None, typer.Option(
        "--task", help="Only models of this subcommand (e.g. transcribe).")] = None,
) -> int:
    """List registered models: name, task, architecture, weights and description."""
    from mirkit.errors import ParameterError
    from mirkit.models.registry import list_models

    tasks = sorted({e.task for e in list_models()})
    if task is not None and task not in tasks:
        raise ParameterError(f"--task {task!r}: no model has this task; choose from "
                             f"{', '.join(tasks)}")
    reporter = run.reporter(("name", "task", "arch", "weights", "description"))
    for e in list_models(task):
        size = (f"{e.weights_path.stat().st_size / 1e6:.1f} MB"
                if e.weights_path is not None and e.weights_path.is_file() else
                "random (test)" if e.is_test else "missing")
        reporter.add({"name": e.name, "task": e.task, "arch": e.arch, "weights": size,
                      "description": e.description})
    reporter.close()
    return 0


@command(models_app, "info")
def info_cmd(run: RunOptions, name: Annotated[str, typer.Argument(
        help="Model name (see `mirkit models list`).", show_default=False)]) -> int:
    """Show a model's entry and card: data, training command, seed, metrics, date."""
    from mirkit.models.registry import get_entry, model_card

    entry = get_entry(name)
    reporter = run.reporter(("key", "value"))
    fields = {"name": entry.name, "task": entry.task, "arch": entry.arch,
              "config": entry.config, "weights": entry.weights or "random (test model)",
              "sha256": entry.sha256, "description": entry.description}
    for key, value in {**fields, **{f"card.{k}": v for k, v in model_card(name).items()}}.items():
        if value is not None:
            reporter.add({"key": key, "value": value})
    reporter.close()
    return 0


@command(models_app, "export", common=("existing",),
         helps={"skip_existing": "Leave a model of that name in the table as it is.",
                "overwrite": "Replace a model of that name in the table (weights, card, row)."})
def export_cmd(
    run: RunOptions,
    checkpoint: Annotated[Path, typer.Argument(
        help="A checkpoint written by mirkit train (e.g. runs/x/best.pt).", show_default=False)],
    name: Annotated[str, typer.Option(
        "--name", help="Model name to register (what --model will accept).",
        show_default=False)],
    description: Annotated[str, typer.Option(
        "--description", help="One line for `mirkit models list`.")] = "",
    card: Annotated[Path | None, typer.Option(
        "--card", metavar="JSON", help="A JSON object merged into the card (e.g. measured "
                                       "test metrics).")] = None,
    into: Annotated[Path | None, typer.Option(
        "--into", metavar="DIR", help="Folder of the model table (default: the installed "
                                      "package's pretrained folder).")] = None,
    dtype: Annotated[str, typer.Option(
        "--dtype", metavar="float32|float16",
        help="Storage type of the weights: float16 halves the file (loaded as float32; "
             "measure the shipped file).")] = "float32",
) -> int:
    """Ship a trained checkpoint: weights without training state, card and table row."""
    import json

    from mirkit.errors import ParameterError
    from mirkit.io.batch import SkipItem, claim_outputs
    from mirkit.models.registry import PRETRAINED_DIR, export_model

    folder = into if into is not None else PRETRAINED_DIR
    try:
        claim_outputs([folder / f"{name}.pt", folder / f"{name}.json"], run.existing)
    except SkipItem:
        run.console.note(f"model '{name}' exists in '{folder}'; nothing to do "
                         f"(--skip-existing)")
        return 0
    extra = None
    if card is not None:
        try:
            extra = json.loads(card.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ParameterError(f"--card '{card}' is not a readable JSON file: "
                                 f"{str(exc).splitlines()[0]}") from None
        if not isinstance(extra, dict):
            raise ParameterError(f"--card '{card}' must hold a JSON object ({{...}})")
    entry = export_model(checkpoint, name, description=description, card_extra=extra,
                         into=into, dtype=dtype)
    reporter = run.reporter(("name", "task", "arch", "weights", "sha256"))
    reporter.add({"name": entry.name, "task": entry.task, "arch": entry.arch,
                  "weights": entry.weights, "sha256": entry.sha256})
    reporter.close()
    return 0
