"""``mirkit models list|info``: the model registry as users see it."""

from __future__ import annotations

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
    from mirkit.models.registry import list_models

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
