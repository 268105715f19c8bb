"""Result rows to standard output in ``table``, ``json``, ``jsonl`` or ``csv``.

``jsonl`` streams one line per row as results arrive (good in pipelines and for long
batches); ``csv``, ``json`` and ``table`` print once at the end. The default is ``table`` when
standard output is a terminal and ``jsonl`` otherwise. Values that are lists or dicts are
written as JSON inside CSV cells and tables. Messages for people (progress, warnings, the
end summary) go to standard error through :class:`Console`.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import math
import os
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


def _columns(rows: Sequence[dict[str, Any]], declared: Sequence[str], *,
             keep_declared: bool) -> list[str]:
    """Declared columns, then other keys in order of appearance, ``error`` last.

    ``keep_declared`` keeps declared columns that no row fills (a stable CSV schema);
    otherwise (tables) columns empty in every row are dropped.
    """
    cols = list(declared)
    for row in rows:
        cols += [k for k in row if k not in cols]
    if not keep_declared:
        cols = [c for c in cols if any(row.get(c) not in (None, "") for row in rows)]
    if "error" in cols:                      # the long message reads best last
        cols = [c for c in cols if c != "error"] + ["error"]
    return cols


def _write_csv(fh: TextIO, rows: Sequence[dict[str, Any]], declared: Sequence[str]) -> None:
    writer = csv.DictWriter(fh, fieldnames=_columns(rows, declared, keep_declared=True),
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v, precise=True) for k, v in row.items()})


class Reporter:
    """Collects result rows and writes them in one format.

    ``jsonl`` streams a line per row; ``csv``, ``json`` and ``table`` print at
    :meth:`close`, because their header (or array) needs every row: a CSV header lists the
    declared ``columns`` (even when empty, so the schema is stable), then any other key the
    rows have, then ``error``. If standard output goes away (``| head``), rows are dropped
    quietly and the run goes on, so files it writes (outputs, ``--report``) are complete.

    Parameters
    ----------
    fmt : OutputFormat or None
        ``None`` picks :func:`default_format` for ``stream``.
    columns : sequence of str
        Column order for ``csv`` and ``table``.
    stream : text stream
        Standard output by default.
    """

    def __init__(self, fmt: OutputFormat | None = None, *, columns: Sequence[str] = (),
                 stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.fmt = OutputFormat(fmt) if fmt is not None else default_format(self.stream)
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = []
        self.broken = False

    def _write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            self.broken = True
            # stdout's reader is gone: point the descriptor at /dev/null so that the
            # interpreter's final flush does not fail either
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.stream.fileno())
            except (OSError, ValueError, AttributeError):
                pass

    def add(self, row: dict[str, Any]) -> None:
        """Record one row (written at once for ``jsonl``)."""
        row = {k: _jsonable(v) for k, v in row.items()}
        self.rows.append(row)
        if self.fmt is OutputFormat.JSONL:
            self._write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Write what is buffered (``csv``, ``json``, ``table``)."""
        if self.fmt is OutputFormat.JSON:
            self._write(json.dumps(self.rows, indent=2, ensure_ascii=False) + "\n")
        elif self.fmt is OutputFormat.CSV:
            buf = io.StringIO()
            _write_csv(buf, self.rows, self.columns)
            self._write(buf.getvalue())
        elif self.fmt is OutputFormat.TABLE and self.rows:
            from rich.console import Console as RichConsole
            from rich.table import Table
            from rich.text import Text

            cols = _columns(self.rows, self.columns, keep_declared=False)
            table = Table(show_edge=False, header_style="bold")
            for c in cols:       # Text: brackets such as "F1 [piano]" are not rich markup
                table.add_column(Text(c), overflow="fold")
            for row in self.rows:
                table.add_row(*(Text(_cell(row.get(c))) for c in cols))
            isatty = getattr(self.stream, "isatty", None)
            width = None if isatty is not None and isatty() else 10_000  # files: no folding
            buf = io.StringIO()
            RichConsole(file=buf, soft_wrap=False, width=width,
                        force_terminal=bool(isatty and isatty())).print(table)
            self._write(buf.getvalue())


REPORT_SUFFIXES = (".json", ".csv")


def check_report_path(path: Path) -> None:
    """A report file must end in .json or .csv and must not be a folder (checked before any
    work is done)."""
    from mirkit.errors import ParameterError

    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise ParameterError(f"--report '{path}': the file name must end in .json or .csv")
    if path.is_dir():
        raise ParameterError(f"--report '{path}' is a folder; give a file path ending in .json "
                             "or .csv")


def check_writable_folder(folder: Path, *, what: str) -> None:
    """Refuse (ParameterError) a folder that exists but cannot be written, or a path whose
    nearest existing ancestor is not a writable folder: checked before any work is done."""
    from mirkit.errors import ParameterError

    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ParameterError(f"{what}: '{probe}' is not a folder, so '{folder}' cannot be "
                             f"made there; choose another path")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ParameterError(f"{what}: folder '{probe}' is not writable; choose a writable "
                             f"folder")


def save_rows(path: Path, rows: Sequence[dict[str, Any]], *, columns: Sequence[str] = ()
              ) -> None:
    """Write result rows to ``path`` (``.json``: an array; ``.csv``: a table), atomically.

    CSV columns are ``columns`` first (all of them, so the schema is stable), then any other
    keys in order of appearance, then ``error``; zero rows still give the header.
    """
    from mirkit.io.atomic import atomic_write

    check_report_path(path)
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        if path.suffix.lower() == ".json":
            json.dump([{k: _jsonable(v) for k, v in r.items()} for r in rows], fh, indent=2,
                      ensure_ascii=False)
            fh.write("\n")
            return
        _write_csv(fh, rows, columns)


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
