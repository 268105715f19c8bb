"""The ``mirkit`` command: one Typer app, one module per subcommand.

Subcommand modules import only typer and :mod:`mirkit.cli.options` at import time; heavy
libraries load inside the command, so ``mirkit --help`` answers at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mirkit._version import __version__

app = typer.Typer(
    name="mirkit",
    help="mirkit: music information retrieval from one command line.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mirkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """mirkit: music information retrieval from one command line.

    Every subcommand takes files, folders, globs or '-' (paths on stdin), never overwrites
    silently, prints results as table/json/jsonl/csv on stdout, and exits 0 (all done),
    1 (some inputs failed) or 2 (usage error).
    """


def _register() -> None:
    # Importing a command module registers its subcommand(s) on `app`.
    from mirkit.cli import evaluate, make_dmelodies  # noqa: F401


_register()


def main() -> None:
    """Console-script entry point."""
    app()
