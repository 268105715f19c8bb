"""Result rows to standard output in ``table``, ``json``, ``jsonl`` or ``csv``.

``jsonl`` and ``csv`` stream one line per row as results arrive (good in pipelines and for
long batches); ``table`` and ``json`` print once at the end. The default is ``table`` when
standard output is a terminal and ``jsonl`` otherwise. Values that are lists or dicts are
written as JSON inside CSV cells and tables. Messages for people (progress, warnings, the
end summary) go to standard error through :class:`Console`.
"""

from __future__ import annotations

import csv
import enum
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


def default_format(stream: TextIO | None = None) -> OutputFormat:
    """``table`` on a terminal, ``jsonl`` when piped or redirected."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return OutputFormat.TABLE if isatty is not None and isatty() else OutputFormat.JSONL


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return _jsonable(value.item())          # numpy scalars
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return value


def _cell(value: Any, *, precise: bool = False) -> str:
    """Text of a value: 6 significant digits for tables, full precision (``precise``) in CSV."""
    value = _jsonable(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if precise else f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class Reporter:
    """Collects result rows and writes them in one format.

    Parameters
    ----------
    fmt : OutputFormat or None
        ``None`` picks :func:`default_format` for ``stream``.
    columns : sequence of str
        Column order for ``csv`` and ``table``. Keys a row has beyond these are appended
        (for ``table``) or dropped (``csv``, whose header is written first); missing
        values are empty.
    stream : text stream
        Standard output by default.
    """

    def __init__(self, fmt: OutputFormat | None = None, *, columns: Sequence[str] = (),
                 stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.fmt = OutputFormat(fmt) if fmt is not None else default_format(self.stream)
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = []
        self._csv: Any = None

    def add(self, row: dict[str, Any]) -> None:
        """Record one row (written at once for ``jsonl`` and ``csv``)."""
        row = {k: _jsonable(v) for k, v in row.items()}
        self.rows.append(row)
        if self.fmt is OutputFormat.JSONL:
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.stream.flush()
        elif self.fmt is OutputFormat.CSV:
            if self._csv is None:
                cols = self.columns or list(row)
                self._csv = csv.DictWriter(self.stream, fieldnames=cols, extrasaction="ignore",
                                           lineterminator="\n")
                self._csv.writeheader()
            self._csv.writerow({k: _cell(v, precise=True) for k, v in row.items()})
            self.stream.flush()

    def close(self) -> None:
        """Write what is buffered (``table`` and ``json``)."""
        if self.fmt is OutputFormat.JSON:
            json.dump(self.rows, self.stream, indent=2, ensure_ascii=False)
            self.stream.write("\n")
        elif self.fmt is OutputFormat.TABLE and self.rows:
            from rich.console import Console as RichConsole
            from rich.table import Table

            cols = list(self.columns)
            for row in self.rows:
                cols += [k for k in row if k not in cols]
            cols = [c for c in cols if any(c in r for r in self.rows)]
            if "error" in cols:                      # the long message reads best last
                cols = [c for c in cols if c != "error"] + ["error"]
            table = Table(show_edge=False, header_style="bold")
            for c in cols:
                table.add_column(c, overflow="fold")
            for row in self.rows:
                table.add_row(*(_cell(row.get(c)) for c in cols))
            isatty = getattr(self.stream, "isatty", None)
            width = None if isatty is not None and isatty() else 10_000  # files: no folding
            RichConsole(file=self.stream, soft_wrap=False, width=width).print(table)
        self.stream.flush()


REPORT_SUFFIXES = (".json", ".csv")


def check_report_path(path: Path) -> None:
    """A report file must end in .json or .csv (checked before any work is done)."""
    from mirkit.errors import ParameterError

    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise ParameterError(f"--report '{path}': the file name must end in .json or .csv")


def save_rows(path: Path, rows: Sequence[dict[str, Any]], *, columns: Sequence[str] = ()
              ) -> None:
    """Write result rows to ``path`` (``.json``: an array; ``.csv``: a table), atomically.

    CSV columns are ``columns`` first, then any other keys in order of appearance; columns
    empty in every row are left out.
    """
    from mirkit.io.atomic import atomic_write

    check_report_path(path)
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        if path.suffix.lower() == ".json":
            json.dump([{k: _jsonable(v) for k, v in r.items()} for r in rows], fh, indent=2,
                      ensure_ascii=False)
            fh.write("\n")
            return
        cols = list(columns)
        for row in rows:
            cols += [k for k in row if k not in cols]
        cols = [c for c in cols if any(row.get(c) not in (None, "") for row in rows)]
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v, precise=True) for k, v in row.items()})


class Console:
    """Messages for people on standard error.

    Errors always print. Notes and the end summary print unless ``quiet``. Progress bars
    appear only when standard error is a terminal and ``quiet`` is off.
    """

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr

    @property
    def interactive(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty()) and not self.quiet

    def error(self, message: str) -> None:
        self.stream.write(f"mirkit: error: {message}\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        if not self.quiet:
            self.stream.write(f"mirkit: {message}\n")
            self.stream.flush()

    def progress(self, total: int | None, description: str) -> _Progress:
        """A progress bar (a no-op unless :attr:`interactive`)."""
        return _Progress(total, description, self if self.interactive else None)


class _Progress:
    """Context manager with ``advance(n)``; draws a rich bar only on a terminal."""

    def __init__(self, total: int | None, description: str, console: Console | None) -> None:
        self._total, self._description, self._console = total, description, console
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self._console is not None:
            from rich.console import Console as RichConsole
            from rich.progress import Progress

            self._bar = Progress(console=RichConsole(file=self._console.stream),
                                 transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self._description, total=self._total)
        return self

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
