"""Batch machinery shared by every subcommand (the CLI contract, as a library).

- :func:`expand_inputs`: files, folders (searched recursively for supported extensions),
  globs, and ``-`` (newline-separated paths on standard input), in the order given.
- :func:`parse_shard` / :func:`take_shard`: ``--shard K/N`` keeps every N-th input from the
  K-th (K counts from 1), so N array jobs split a batch without overlap.
- :func:`output_path`: ``-o DIR`` plus a ``--filename`` template such as
  ``{track}/{target}.{ext}``.
- :class:`ExistingPolicy` / :func:`claim_outputs`: an existing output is an error for that
  input unless ``--skip-existing`` or ``--overwrite`` was given.
- :func:`run_batch`: runs one function per input, keeps going when an input fails, and
  returns a :class:`BatchSummary` whose ``exit_code`` is 0 (all done) or 1 (some failed).

Writes go through :mod:`mirkit.io.atomic`, so nothing is left half-written.
"""

from __future__ import annotations

import concurrent.futures as cf
import enum
import glob
import os
import string
import sys
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from mirkit.errors import MirkitError, ModelError, OutputExistsError, ParameterError

T = TypeVar("T")

_GLOB_CHARS = frozenset("*?[")


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputProblem:
    """An input argument that named nothing usable; ``position``: how many of the found
    items come before it in the order of the arguments (results keep that order)."""

    spec: str
    message: str
    position: int = 0


def _has_extension(path: Path, extensions: Collection[str]) -> bool:
    name = path.name.lower()
    return any(name.endswith(ext) for ext in extensions)


def scan_folder(folder: Path, extensions: Collection[str]) -> list[Path]:
    """Files under ``folder`` (recursively) with one of ``extensions``, sorted; hidden skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            p = Path(root) / name
            if not name.startswith(".") and _has_extension(p, extensions):
                found.append(p)
    return found


def expand_inputs(specs: Sequence[str], *, extensions: Collection[str],
                  stdin: TextIO | None = None) -> tuple[list[Path], list[InputProblem]]:
    """Turn command-line input arguments into a list of files.

    Parameters
    ----------
    specs : sequence of str
        Files, folders, glob patterns, or ``-`` for a list of paths on standard input (one
        per line; blank lines ignored).
    extensions : collection of str
        Lower-case suffixes (with the dot) that folder and glob searches keep. A file named
        explicitly is kept whatever its suffix: its reader decides whether it can read it.
    stdin : text stream, optional
        Where ``-`` reads from (``sys.stdin`` by default).

    Returns
    -------
    (paths, problems)
        Paths in the order given (folders and globs sorted), without duplicates, and one
        :class:`InputProblem` per argument that named nothing: each becomes a failed item.
    """
    paths: list[Path] = []
    problems: list[InputProblem] = []
    seen: set[Path] = set()
    exts = sorted(extensions)

    def add(p: Path) -> None:
        key = p.resolve() if p.exists() else p.absolute()
        if key not in seen:
            seen.add(key)
            paths.append(p)

    queue: list[str] = list(specs)
    used_stdin = False
    while queue:
        spec = queue.pop(0)
        if spec == "-":
            if used_stdin:
                continue
            used_stdin = True
            stream = stdin if stdin is not None else sys.stdin
            lines = [ln.rstrip("\r\n") for ln in stream]
            queue = [ln for ln in lines if ln.strip() and ln != "-"] + queue
            continue
        p = Path(spec).expanduser()
        if p.is_dir():
            found = scan_folder(p, extensions)
            if not found:
                problems.append(InputProblem(
                    spec, f"folder '{spec}' holds no supported files ({', '.join(exts)})",
                    len(paths)))
            for f in found:
                add(f)
        elif p.exists():
            add(p)
        elif _GLOB_CHARS & set(spec):
            matches = sorted(glob.glob(os.path.expanduser(spec), recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()
                     and _has_extension(Path(m), extensions)]
            if not files:
                problems.append(InputProblem(spec, f"pattern '{spec}' matches no supported "
                                                   f"files ({', '.join(exts)})", len(paths)))
            for f in files:
                add(f)
        else:
            problems.append(InputProblem(spec, f"'{spec}' does not exist; check the path",
                                         len(paths)))
    return paths, problems


# --------------------------------------------------------------------------------------
# Shards
# --------------------------------------------------------------------------------------

def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``K/N`` (1 <= K <= N) into ``(K, N)``.

    Examples
    --------
    >>> parse_shard("2/8")
    (2, 8)
    """
    parts = text.split("/")
    try:
        k, n = (int(x) for x in parts)
    except ValueError:
        raise ParameterError(
            f"--shard {text!r} is not of the form K/N, e.g. 1/4 (K counts from 1)") from None
    if n < 1 or not 1 <= k <= n:
        raise ParameterError(f"--shard {text!r}: need 1 <= K <= N (K counts from 1, so an "
                             f"array job with ids 0..N-1 passes $((ID+1))/N)")
    return k, n


def take_shard(items: Sequence[T], shard: tuple[int, int] | None) -> list[T]:
    """Keep every N-th item starting at the K-th (``None`` keeps all)."""
    if shard is None:
        return list(items)
    k, n = shard
    return list(items[k - 1::n])


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------

class ExistingPolicy(enum.StrEnum):
    """What to do when an output file exists already."""

    ERROR = "error"
    SKIP = "skip"
    OVERWRITE = "overwrite"


class SkipItem(Exception):
    """Raised by an item's work function to record the item as skipped (not failed)."""


def output_path(output_dir: str | os.PathLike[str], template: str, **fields: Any) -> Path:
    """Fill a ``--filename`` template and place it under the output folder.

    Parameters
    ----------
    output_dir : path
        The ``-o/--output`` folder.
    template : str
        A :class:`str.format` template, e.g. ``{track}/{target}.{ext}``.
    **fields
        The values the template may use; an unknown field is a :class:`ParameterError`
        listing the known ones.
    """
    try:
        parsed = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template)
                  if f is not None]
    except ValueError as exc:
        raise ParameterError(f"--filename {template!r} is not a valid template: {exc}") from None
    for key, spec, conv in parsed:
        # plain {name} or {name:spec} only: no attribute or index look-ups, conversions
        # or nested fields, which would write Python internals into file names
        if not key.isidentifier() or conv or "{" in (spec or ""):
            shown = "{" + key + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise ParameterError(
                f"--filename {template!r}: {shown} is not a plain field; write {{name}} or "
                f"{{name:format}} with a name from "
                + (", ".join("{" + k + "}" for k in fields) if fields else "none (this file "
                   "name takes no fields)"))
    names = [f for f, _, _ in parsed]
    unknown = sorted(set(names) - set(fields))
    if unknown:
        raise ParameterError(
            f"--filename {template!r} uses unknown field(s) {', '.join(unknown)}; "
            + (f"available: {', '.join('{' + k + '}' for k in fields)}" if fields
               else "this file name takes no fields"))
    try:
        name = template.format(**fields)
    except (ValueError, IndexError) as exc:
        raise ParameterError(f"--filename {template!r} is not a valid template: {exc}") from None
    if not name or name.endswith(("/", os.sep)):
        raise ParameterError(f"--filename {template!r} gives an empty file name")
    rel = Path(name)
    if rel.is_absolute() or rel.drive or ".." in rel.parts:
        raise ParameterError(f"--filename {template!r} gives '{name}', which leaves the "
                             f"output folder; name files inside it and choose the folder "
                             f"with -o")
    return Path(output_dir) / rel


def claim_outputs(paths: Iterable[Path], policy: ExistingPolicy) -> None:
    """Check the outputs of one input against the overwrite policy.

    Raises
    ------
    OutputExistsError
        With ``ExistingPolicy.ERROR`` when any of ``paths`` exists.
    SkipItem
        With ``ExistingPolicy.SKIP`` when all of ``paths`` exist already (if only some do,
        the item is redone so that its set of outputs is complete).
    """
    paths = list(paths)
    existing = [p for p in paths if p.exists()]
    if not existing or policy is ExistingPolicy.OVERWRITE:
        return
    if policy is ExistingPolicy.SKIP and len(existing) == len(paths):
        raise SkipItem(f"output exists: {existing[0]}")
    if policy is ExistingPolicy.SKIP:
        return
    raise OutputExistsError(
        f"output '{existing[0]}' exists; pass --overwrite to replace it or --skip-existing "
        f"to leave it")


# --------------------------------------------------------------------------------------
# Running a batch
# --------------------------------------------------------------------------------------

class Status(enum.StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class ItemResult:
    """The outcome of one input."""

    input: str
    status: Status
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def row(self) -> dict[str, Any]:
        """The result as a flat row: ``input``, ``status``, the fields, then ``error``."""
        row: dict[str, Any] = {"input": self.input, "status": str(self.status)}
        row.update(self.fields)
        if self.error is not None:
            row["error"] = self.error
        return row


@dataclass
class BatchSummary:
    """All item results of a batch, in input order."""

    results: list[ItemResult]
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(r.status is status for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when no item failed, else 1."""
        return 1 if self.count(Status.FAILED) else 0

    def line(self) -> str:
        """One-line summary, e.g. ``3 done, 1 skipped, 1 failed in 2.4 s``."""
        return (f"{self.count(Status.DONE)} done, {self.count(Status.SKIPPED)} skipped, "
                f"{self.count(Status.FAILED)} failed in {self.seconds:.1f} s")


def run_batch(items: Sequence[T], work: Callable[[T], dict[str, Any] | None], *,
              label: Callable[[T], str] = str, jobs: int = 1,
              on_result: Callable[[ItemResult], None] | None = None,
              problems: Sequence[InputProblem] = (), debug: bool = False) -> BatchSummary:
    """Run ``work`` on every item, keeping going when one fails.

    Parameters
    ----------
    items : sequence
        The inputs.
    work : callable
        ``work(item) -> dict | None``: the result fields of a finished item. It raises
        :class:`SkipItem` to skip, a :class:`~mirkit.errors.MirkitError` to fail the item.
        A :class:`~mirkit.errors.ParameterError` or :class:`~mirkit.errors.ModelError`
        (a problem with the whole run, not the item) is re-raised and ends the batch.
    label : callable
        How an item is named in results and messages.
    jobs : int
        Items processed at once (threads; 1 runs them in order in this thread).
    on_result : callable, optional
        Called with each :class:`ItemResult` in input order as soon as it is known.
    problems : sequence of InputProblem
        Input arguments that named nothing; each is recorded as a failed item where its
        ``position`` puts it among the items (first when 0).
    debug : bool
        Print tracebacks of unexpected errors to stderr.
    """
    if jobs < 1:
        raise ParameterError(f"--jobs {jobs}: must be at least 1")
    start = time.perf_counter()
    results: list[ItemResult] = []

    def record(res: ItemResult) -> None:
        results.append(res)
        if on_result is not None:
            on_result(res)

    pending = sorted(problems, key=lambda p: p.position)     # stable: argument order

    def problems_up_to(position: int) -> None:
        while pending and pending[0].position <= position:
            prob = pending.pop(0)
            record(ItemResult(prob.spec, Status.FAILED, error=prob.message))

    if jobs == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            problems_up_to(i)
            record(_run_one(work, item, label, debug))
    else:
        with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
            for i, res in enumerate(pool.map(lambda it: _run_one(work, it, label, debug),
                                             items)):
                problems_up_to(i)
                record(res)
    problems_up_to(len(problems) + len(items))
    return BatchSummary(results, time.perf_counter() - start)


def _run_one(work: Callable[[T], dict[str, Any] | None], item: T, label: Callable[[T], str],
             debug: bool) -> ItemResult:
    """Run one item; errors about the whole run (bad option, bad model) propagate."""
    try:
        fields = work(item) or {}
        return ItemResult(label(item), Status.DONE, fields)
    except (ParameterError, ModelError):
        raise
    except SkipItem as exc:
        return ItemResult(label(item), Status.SKIPPED, fields={"reason": str(exc)})
    except MirkitError as exc:
        if debug:
            traceback.print_exc(file=sys.stderr)
        return ItemResult(label(item), Status.FAILED, error=str(exc))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc(file=sys.stderr)
        return ItemResult(label(item), Status.FAILED,
                          error=f"internal error {type(exc).__name__}: {exc} "
                                f"(run with --debug for the traceback)")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
