"""Every shared CLI option, defined once, and the decorator that gives commands them.

A command module writes only what is its own::

    @command(app, "make-dmelodies", common=("output", "filename", "existing", "format"),
             defaults={"filename": "dMelodies_dataset.npz"})
    def make_dmelodies_cmd(run: RunOptions, limit: Annotated[int | None, ...] = None) -> int:
        ...

The decorator appends the chosen common options to the command's signature (so typer shows
and parses them), builds a :class:`RunOptions` from them, and maps errors to the CLI
contract: a :class:`~mirkit.errors.MirkitError` becomes one ``mirkit: error: ...`` line on
stderr and its exit code (1 for a bad input, 2 for a usage or model error); ``--debug``
adds the traceback. The command returns its exit code (0 or 1).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import os
import sys
import traceback
import typing
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from mirkit.errors import MirkitError, OutputExistsError, ParameterError
from mirkit.io.batch import (
    ExistingPolicy,
    InputProblem,
    ItemResult,
    SkipItem,
    Status,
    claim_outputs,
    expand_inputs,
    parse_shard,
    run_batch,
    take_shard,
)
from mirkit.io.report import (
    Console,
    OutputFormat,
    Reporter,
    check_report_path,
    check_writable_folder,
    save_rows,
)

PANEL = "Common options"


@dataclass
class RunOptions:
    """The common options of one invocation, parsed and checked."""

    inputs: list[str]
    output: Path
    filename: str
    existing: ExistingPolicy
    fmt: OutputFormat | None
    quiet: bool
    debug: bool
    device: str
    shard: tuple[int, int] | None
    jobs: int
    threads: int | None = None

    @property
    def console(self) -> Console:
        return Console(quiet=self.quiet)

    def reporter(self, columns: Sequence[str] = ()) -> Reporter:
        return Reporter(self.fmt, columns=columns)

    def process(self, work: Callable[[Any], dict[str, Any] | None], *,
                extensions: Collection[str] = (), columns: Sequence[str] = (),
                what: str = "inputs", items: Sequence[Any] | None = None,
                problems: Sequence[InputProblem] = (), label: Callable[[Any], str] = str,
                aggregate: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
                report: Path | None = None) -> int:
        """Run ``work`` on every input: the whole batch contract in one call.

        By default the items are the input files: ``inputs`` expanded (files, folders,
        globs, ``-``) with ``extensions``. A caller that pairs its own items (evaluation)
        passes ``items`` and ``problems`` instead. This ``--shard`` is kept, items run
        ``--jobs`` at a time, result rows stream to stdout, each failed item prints one
        error line and the end a summary on stderr.

        A work result with a ``rows`` list reports one row per entry (e.g. one per
        separated target); ``aggregate`` turns the rows of all finished items into extra
        rows (status ``aggregate``) printed last; ``report`` also saves every row to a
        ``.json`` or ``.csv`` file (atomically, under the overwrite policy).

        Returns
        -------
        int
            The exit code: 0 when no item failed, else 1.
        """
        if items is None:
            if not self.inputs:
                raise ParameterError(f"no {what} given: name files, folders or globs, or '-' "
                                     f"to read paths from standard input")
            items, problems = expand_inputs(self.inputs, extensions=extensions)
            if not items and not problems:       # '-' with nothing on standard input
                raise ParameterError(f"no {what} given: standard input held no paths")
        if report is not None:
            # a report that cannot be written is refused before any work is done
            check_report_path(report)
            try:
                claim_outputs([report], self.existing)
                check_writable_folder(report.parent, what="--report")
            except SkipItem:                 # the inputs still run, each under the policy
                self.console.note(f"report '{report}' exists and is left as it is "
                                  f"(--skip-existing); the rows go to stdout only")
                report = None
            except OutputExistsError as exc:
                raise ParameterError(f"--report: {exc}") from None
        items = take_shard(items, self.shard)
        if self.shard is not None and self.shard[0] != 1:
            problems = ()            # unpaired/missing inputs are reported by shard 1 only
        cols = ("input", "status", *columns, "error")
        reporter = self.reporter(cols)
        console = self.console
        done_rows: list[dict[str, Any]] = []

        with console.progress(len(items), what) as bar:
            def on_result(res: ItemResult) -> None:
                if res.status is Status.FAILED:
                    console.error(f"{res.input}: {res.error}")
                sub = res.fields.pop("rows", None)
                rows = ([{"input": res.input, "status": str(res.status), **r} for r in sub]
                        if sub is not None else [res.row()])
                for row in rows:
                    reporter.add(row)
                if res.status is Status.DONE:
                    done_rows.extend(rows)
                bar.advance()

            summary = run_batch(items, work, label=label, jobs=self.jobs,
                                on_result=on_result, problems=problems, debug=self.debug)
        if aggregate is not None and done_rows:
            left_out = len(summary.results) - summary.count(Status.DONE)
            for row in aggregate(done_rows):
                if left_out:
                    row["note"] = (f"over {summary.count(Status.DONE)} of "
                                   f"{len(summary.results)} items "
                                   f"({summary.count(Status.SKIPPED)} skipped, "
                                   f"{summary.count(Status.FAILED)} failed)"
                                   + (f"; {row['note']}" if row.get("note") else ""))
                reporter.add({"status": "aggregate", **row})
        reporter.close()
        if report is not None:
            try:
                save_rows(report, reporter.rows, columns=cols)
            except (MirkitError, OSError):
                console.note(summary.line())     # the work is done: say so, then fail
                raise
            console.note(f"results saved to {report}")
        console.note(summary.line())
        return summary.exit_code


# name -> (annotation, default). Help texts say what the option does for every command;
# a command narrows a help text or a default through `helps=` / `defaults=`.
_COMMON: dict[str, tuple[Any, Any]] = {
    "inputs": (Annotated[list[str] | None, typer.Argument(
        help="Input files, folders (searched recursively) or glob patterns; '-' reads "
             "newline-separated paths from standard input.", show_default=False)], None),
    "output": (Annotated[Path, typer.Option(
        "--output", "-o", help="Folder to write results into (created when missing).",
        rich_help_panel=PANEL)], Path(".")),
    "filename": (Annotated[str, typer.Option(
        "--filename", help="Output file name template inside --output.",
        rich_help_panel=PANEL)], "{track}.{ext}"),
    "skip_existing": (Annotated[bool, typer.Option(
        "--skip-existing", help="Leave an input whose outputs all exist already.",
        rich_help_panel=PANEL)], False),
    "overwrite": (Annotated[bool, typer.Option(
        "--overwrite", help="Replace existing outputs (default: an existing output is an "
                            "error for that input).", rich_help_panel=PANEL)], False),
    "fmt": (Annotated[OutputFormat | None, typer.Option(
        "--format", help="How results are printed on stdout (default: table on a terminal, "
                         "jsonl when piped).", show_default=False, rich_help_panel=PANEL,
        case_sensitive=False)], None),
    "quiet": (Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bars, notes or summary on stderr (errors still "
                              "print).", rich_help_panel=PANEL)], False),
    "debug": (Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks with errors.", rich_help_panel=PANEL)], False),
    "device": (Annotated[str, typer.Option(
        "--device", "-d", help="Compute device: auto, cpu, cuda, cuda:N or mps.",
        rich_help_panel=PANEL)], "auto"),
    "shard": (Annotated[str | None, typer.Option(
        "--shard", metavar="K/N", help="Process only every N-th input starting at the K-th "
                                       "(K counts from 1), for array jobs.",
        rich_help_panel=PANEL)], None),
    "jobs": (Annotated[int, typer.Option(
        "--jobs", "-j", help="Inputs processed in parallel on the CPU side.",
        rich_help_panel=PANEL)], 1),
    "threads": (Annotated[int | None, typer.Option(
        "--threads", metavar="N", help="CPU threads for torch (default: torch's choice, one "
                                       "per core).", show_default=False,
        rich_help_panel=PANEL)], None),
}

# groups a command can ask for by name
_GROUPS = {"existing": ("skip_existing", "overwrite")}
_ALWAYS = ("fmt", "quiet", "debug")


def _with_help(annotation: Any, help_text: str) -> Any:
    base, info = annotation.__origin__, copy.copy(annotation.__metadata__[0])
    info.help = help_text
    return Annotated[base, info]


def _debug(shared: dict[str, Any]) -> bool:
    """``--debug`` or ``MIRKIT_DEBUG=1``: tracebacks, those of failed inputs included."""
    return bool(shared.get("debug")) or os.environ.get("MIRKIT_DEBUG") == "1"


def command(app: typer.Typer, name: str, *, common: Sequence[str] = (),
            defaults: dict[str, Any] | None = None, helps: dict[str, str] | None = None,
            help: str | None = None) -> Callable[[Callable[..., int | None]], Callable[..., None]]:
    """Register ``fn(run: RunOptions, **own_options) -> exit code`` as a subcommand.

    Parameters
    ----------
    common : sequence of str
        Shared options the command takes: ``inputs``, ``output``, ``filename``,
        ``existing`` (``--skip-existing`` and ``--overwrite``), ``device``, ``shard``,
        ``jobs``, ``threads``. ``--format``, ``--quiet`` and ``--debug`` are always added.
    defaults, helps : dict, optional
        Per-command default values and help texts of shared options.
    """
    defaults = defaults or {}
    helps = helps or {}
    names: list[str] = []
    for item in (*common, *_ALWAYS):
        names.extend(_GROUPS.get(item, (item,)))
    unknown = [n for n in names if n not in _COMMON]
    if unknown:
        raise ValueError(f"unknown common option(s) {unknown}")

    def decorate(fn: Callable[..., int | None]) -> Callable[..., None]:
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in sig.parameters.values() if p.name != "run"]
        added = []
        for n in names:
            annotation, default = _COMMON[n]
            if n in helps:
                annotation = _with_help(annotation, helps[n])
            added.append(inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY,
                                           annotation=annotation,
                                           default=defaults.get(n, default)))
        # typer needs positional arguments (inputs) before options
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added
        params.sort(key=lambda p: p.name != "inputs")

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            shared = {n: kwargs.pop(n) for n in names}
            debug = _debug(shared)
            console = Console(quiet=bool(shared.get("quiet")))
            try:
                with _warnings_as_notes(console, debug=debug):
                    run = _run_options(shared, defaults)
                    code = fn(run=run, **kwargs)
            except MirkitError as exc:
                if debug:
                    traceback.print_exc(file=sys.stderr)
                console.error(str(exc))
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                console.error("interrupted")
                raise typer.Exit(130) from None
            except BrokenPipeError:
                # stdout closed early (e.g. `| head`): stop quietly, as Unix tools do
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                raise typer.Exit(1) from None
            except Exception as exc:
                if debug:
                    raise
                console.error(f"internal error {type(exc).__name__}: {exc} "
                              f"(run with --debug for the traceback)")
                raise typer.Exit(1) from None
            raise typer.Exit(code or 0)

        del wrapper.__wrapped__
        wrapper.__signature__ = sig.replace(parameters=params,  # type: ignore[attr-defined]
                                            return_annotation=None)
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name, help=help or inspect.getdoc(fn))(wrapper)
        return wrapper

    return decorate


@contextlib.contextmanager
def _warnings_as_notes(console: Console, *, debug: bool) -> Iterator[None]:
    """Show each distinct library warning once, as one ``mirkit: warning: ...`` line.

    Silenced by ``--quiet``; ``--debug`` keeps Python's usual multi-line form.
    """
    if debug:
        yield
        return
    seen: set[str] = set()

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
        if text not in seen:
            seen.add(text)
            console.note(f"warning: {text}")

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def _run_options(shared: dict[str, Any], defaults: dict[str, Any]) -> RunOptions:
    if shared.get("skip_existing") and shared.get("overwrite"):
        raise ParameterError("--skip-existing and --overwrite contradict each other; "
                             "give one of them")
    existing = (ExistingPolicy.SKIP if shared.get("skip_existing") else
                ExistingPolicy.OVERWRITE if shared.get("overwrite") else ExistingPolicy.ERROR)
    device = shared.get("device", "auto")
    if "device" in shared:
        from mirkit.engine.device import check_device_spec

        device = check_device_spec(device)
    jobs = int(shared.get("jobs", 1))
    if jobs < 1:
        raise ParameterError(f"--jobs {jobs}: must be at least 1")
    threads = shared.get("threads")
    if threads is not None and threads < 1:
        raise ParameterError(f"--threads {threads}: must be at least 1")
    shard = parse_shard(shared["shard"]) if shared.get("shard") else None
    return RunOptions(
        inputs=list(shared.get("inputs") or []),
        output=Path(shared.get("output", defaults.get("output", "."))),
        filename=str(shared.get("filename", defaults.get("filename", "{track}.{ext}"))),
        existing=existing,
        fmt=shared.get("fmt"),
        quiet=bool(shared.get("quiet")),
        debug=_debug(shared),
        device=device,
        shard=shard,
        jobs=jobs,
        threads=threads,
    )
