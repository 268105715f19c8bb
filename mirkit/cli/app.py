"""The ``mirkit`` command: one Typer app, one module per subcommand.

Subcommand modules import only typer and :mod:`mirkit.cli.options` at import time; heavy
libraries load inside the command, so ``mirkit --help`` answers at once.
"""

from __future__ import annotations

from typing import Annotated, Any

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
    from mirkit.cli import (  # noqa: F401
        evaluate,
        generate_melody,
        inpaint,
        make_dmelodies,
        models,
        synth,
        train,
        transcribe,
    )


_register()


def _click_exceptions() -> Any:
    try:  # typer >= 0.20 vendors click
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer on top of click
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _command_path(command: Any, args: list[str]) -> str:
    """``mirkit SUB ...``: the (sub)command the arguments name, for the ``--help`` hint."""
    path, current = ["mirkit"], command
    for arg in args:
        if arg.startswith("-"):
            continue
        sub = getattr(current, "commands", {}).get(arg)
        if sub is None:
            break
        path.append(arg)
        current = sub
    return " ".join(path)


def main(args: list[str] | None = None) -> None:
    """Console-script entry point.

    Usage errors (unknown option or command, missing or malformed value) print one line,
    ``mirkit: error: ...`` with a pointer to ``--help``, and exit with code 2.
    """
    import sys

    ex = _click_exceptions()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="mirkit", standalone_mode=False)
    except ex.NoArgsIsHelpError:
        sys.exit(2)                      # the help text has been printed
    except ex.UsageError as exc:
        # click leaves ctx unset for some parse errors (an option missing its value)
        where = (exc.ctx.command_path if exc.ctx is not None
                 else _command_path(command, sys.argv[1:] if args is None else args))
        sys.stderr.write(f"mirkit: error: {exc.format_message()} (see '{where} --help')\n")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("mirkit: error: interrupted\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
