"""Result formats on stdout and messages on stderr."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from mirkit.io.report import Console, OutputFormat, Reporter, default_format


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


ROWS = [{"input": "a.wav", "status": "done", "n": np.int64(3), "f": np.float32(0.5),
         "path": Path("x/y"), "list": [1, 2]},
        {"input": "b.wav", "status": "failed", "error": "bad, \"quoted\""}]


def test_default_format_depends_on_terminal() -> None:
    assert default_format(_Tty()) is OutputFormat.TABLE
    assert default_format(io.StringIO()) is OutputFormat.JSONL


def test_jsonl_streams_one_object_per_row() -> None:
    out = io.StringIO()
    rep = Reporter(OutputFormat.JSONL, stream=out)
    rep.add(ROWS[0])
    assert json.loads(out.getvalue()) == {"input": "a.wav", "status": "done", "n": 3, "f": 0.5,
                                          "path": "x/y", "list": [1, 2]}
    rep.add(ROWS[1])
    rep.close()
    assert len(out.getvalue().splitlines()) == 2


def test_json_is_one_array_at_close() -> None:
    out = io.StringIO()
    rep = Reporter(OutputFormat.JSON, stream=out)
    for r in ROWS:
        rep.add(r)
    assert out.getvalue() == ""
    rep.close()
    data = json.loads(out.getvalue())
    assert [d["input"] for d in data] == ["a.wav", "b.wav"]


def test_csv_header_from_columns_and_quoting() -> None:
    out = io.StringIO()
    rep = Reporter(OutputFormat.CSV, columns=["input", "status", "n", "list", "error"],
                   stream=out)
    for r in ROWS:
        rep.add(r)
    rep.close()
    text = out.getvalue()
    # every key of every row appears: declared first, others after, error last
    assert text.splitlines()[0] == "input,status,n,list,f,path,error"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0] == {"input": "a.wav", "status": "done", "n": "3", "list": "[1,2]",
                       "f": "0.5", "path": "x/y", "error": ""}
    assert rows[1]["error"] == 'bad, "quoted"'


def test_csv_with_no_rows_still_has_its_header() -> None:
    out = io.StringIO()
    rep = Reporter(OutputFormat.CSV, columns=["input", "status", "error"], stream=out)
    rep.close()
    assert out.getvalue() == "input,status,error\n"


def test_broken_stdout_drops_rows_and_keeps_going() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

        def fileno(self) -> int:
            raise ValueError("no descriptor")

    rep = Reporter(OutputFormat.JSONL, stream=Closed())
    rep.add({"a": 1})
    rep.add({"a": 2})
    rep.close()
    assert rep.broken and len(rep.rows) == 2


def test_table_lists_every_column() -> None:
    out = io.StringIO()
    rep = Reporter(OutputFormat.TABLE, columns=["input", "status"], stream=out)
    for r in ROWS:
        rep.add(r)
    rep.close()
    text = out.getvalue()
    header = text.splitlines()[0]
    for col in ("input", "status", "n", "path", "error"):
        assert col in header
    assert "a.wav" in text and 'bad, "quoted"' in text


def test_console_quiet_and_errors() -> None:
    err = io.StringIO()
    con = Console(quiet=True, stream=err)
    con.note("hidden")
    con.error("shown")
    assert err.getvalue() == "mirkit: error: shown\n"
    assert not con.interactive
    assert Console(stream=_Tty()).interactive
