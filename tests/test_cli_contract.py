"""The CLI contract, through a small command built with the shared decorator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from mirkit.cli.options import RunOptions, command
from mirkit.errors import InputError, ModelError
from mirkit.io.atomic import atomic_write
from mirkit.io.batch import claim_outputs, output_path

app = typer.Typer()


@app.callback()
def _root() -> None:
    """Test app."""


@command(app, "shout", common=("inputs", "output", "filename", "existing", "device", "shard",
                               "jobs"), defaults={"filename": "{track}.out"})
def shout_cmd(run: RunOptions,
              upper: Annotated[bool, typer.Option("--upper", help="Upper-case.")] = False,
              model: Annotated[str, typer.Option("--model")] = "ok") -> int:
    """Copy text files, optionally upper-cased."""
    if model != "ok":
        raise ModelError(f"unknown model {model!r}")

    def work(path: Path) -> dict[str, Any]:
        out = output_path(run.output, run.filename, track=path.stem, ext="out")
        claim_outputs([out], run.existing)
        text = path.read_text()
        if "bad" in text:
            raise InputError(f"'{path}' contains the word bad")
        with atomic_write(out) as tmp:
            tmp.write_text(text.upper() if upper else text)
        return {"output": str(out), "chars": len(text), "device": run.device}

    return run.process(work, extensions={".txt"}, columns=("output", "chars", "device"))


runner = CliRunner()


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name, text in [("a.txt", "alpha"), ("b.txt", "bad beta"), ("c.txt", "gamma"),
                       ("skip.dat", "x")]:
        (d / name).write_text(text)
    return d


def _rows(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_batch_keeps_going_and_exits_1(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["shout", str(inputs), "-o", str(out), "--upper"])
    assert res.exit_code == 1
    rows = _rows(res.stdout)
    assert [(r["input"].split("/")[-1], r["status"]) for r in rows] == [
        ("a.txt", "done"), ("b.txt", "failed"), ("c.txt", "done")]
    assert (out / "a.out").read_text() == "ALPHA"
    assert not (out / "b.out").exists()
    assert "contains the word bad" in res.stderr
    assert "2 done, 0 skipped, 1 failed" in res.stderr


def test_all_done_exits_0_and_refuses_to_overwrite(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["shout", str(inputs / "a.txt"), str(inputs / "c.txt"), "-o", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    (out / "a.out").write_text("keep me")
    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert (out / "a.out").read_text() == "keep me"
    assert "exists; pass --overwrite" in res.stderr
    res = runner.invoke(app, [*args, "--skip-existing"])
    assert res.exit_code == 0
    assert [r["status"] for r in _rows(res.stdout)] == ["skipped", "skipped"]
    res = runner.invoke(app, [*args, "--overwrite"])
    assert res.exit_code == 0 and (out / "a.out").read_text() == "alpha"


def test_filename_template_and_unknown_field(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), "-o", str(out),
                              "--filename", "{track}/result.{ext}"])
    assert res.exit_code == 0 and (out / "a" / "result.out").exists()
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), "-o", str(out),
                              "--filename", "{name}.txt"])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "mirkit: error: --filename '{name}.txt' uses unknown field(s) name; "
        "available: {track}, {ext}"]
    for template in (str(tmp_path / "abs_{track}.{ext}"), "../up_{track}.{ext}",
                     "{track}/../../x.{ext}"):
        res = runner.invoke(app, ["shout", str(inputs / "a.txt"), "-o", str(out / "new"),
                                  "--filename", template])
        assert res.exit_code == 2 and "leaves the output folder" in res.stderr, template
        assert not (out / "new").exists() and not list(tmp_path.glob("*_a.out"))


def test_stdin_list_shard_and_jobs(inputs: Path, tmp_path: Path) -> None:
    files = [inputs / "a.txt", inputs / "c.txt", inputs / "b.txt"]
    stdin = "".join(f"{f}\n" for f in files)
    res = runner.invoke(app, ["shout", "-", "-o", str(tmp_path / "o"), "--shard", "1/2",
                              "--jobs", "2"], input=stdin)
    assert res.exit_code == 1                      # a.txt done, b.txt (bad) failed
    assert [Path(r["input"]).name for r in _rows(res.stdout)] == ["a.txt", "b.txt"]
    res = runner.invoke(app, ["shout", "-", "-o", str(tmp_path / "o2"), "--shard", "2/2"],
                        input=stdin)
    assert res.exit_code == 0 and [Path(r["input"]).name for r in _rows(res.stdout)] == [
        "c.txt"]


def test_missing_input_is_a_failed_item(inputs: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), str(inputs / "nope.txt"),
                              str(inputs / "c.txt"), str(tmp_path / "*.zz"),
                              "-o", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "nope.txt' does not exist; check the path" in res.stderr
    assert (tmp_path / "o" / "a.out").exists() and (tmp_path / "o" / "c.out").exists()
    # rows keep the order of the arguments, failed ones included, with --jobs too
    names = ["a.txt", "nope.txt", "c.txt", "*.zz"]
    assert [Path(r["input"]).name for r in _rows(res.stdout)] == names
    res = runner.invoke(app, ["shout", str(inputs / "nope.txt"), str(inputs / "a.txt"),
                              str(inputs / "c.txt"), "-o", str(tmp_path / "o2"), "--jobs", "2"])
    assert [Path(r["input"]).name for r in _rows(res.stdout)] == ["nope.txt", "a.txt",
                                                                  "c.txt"]


def test_empty_standard_input_is_a_usage_error(tmp_path: Path) -> None:
    for text in ("", "\n  \n"):
        res = runner.invoke(app, ["shout", "-", "-o", str(tmp_path / "o")], input=text)
        assert res.exit_code == 2 and res.stdout == ""
        assert res.stderr.strip().splitlines() == [
            "mirkit: error: no inputs given: standard input held no paths"]


@pytest.mark.parametrize("fmt", ["json", "csv", "table", "jsonl"])
def test_formats(inputs: Path, tmp_path: Path, fmt: str) -> None:
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), "-o", str(tmp_path / "o"),
                              "--format", fmt, "-q"])
    assert res.exit_code == 0
    if fmt == "json":
        assert json.loads(res.stdout)[0]["chars"] == 5
    elif fmt == "csv":
        lines = res.stdout.splitlines()
        assert lines[0] == "input,status,output,chars,device,error"
        assert lines[1].endswith(",done," + str(tmp_path / "o" / "a.out") + ",5,auto,")
    elif fmt == "table":
        assert "chars" in res.stdout.splitlines()[0] and not res.stdout.startswith("{")
    else:
        assert _rows(res.stdout)[0]["status"] == "done"
    assert res.stderr == ""                        # --quiet: no summary


@pytest.mark.parametrize("args,message", [
    (["--skip-existing", "--overwrite"], "contradict each other"),
    (["--device", "tpu"], "--device 'tpu' is not one of"),
    (["--shard", "0/3"], "K counts from 1"),
    (["--jobs", "0"], "--jobs 0: must be at least 1"),
    (["--model", "zzz"], "unknown model 'zzz'"),
])
def test_usage_errors_exit_2_with_one_line(inputs: Path, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), *args])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirkit: error: ") and message in lines[0]


def test_no_inputs_is_a_usage_error() -> None:
    res = runner.invoke(app, ["shout"])
    assert res.exit_code == 2 and "no inputs given" in res.stderr


def test_debug_shows_traceback(inputs: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), "--model", "zzz", "--debug"])
    assert res.exit_code == 2
    assert "Traceback" in res.stderr and "mirkit: error: unknown model" in res.stderr
    # a failed input too: the traceback, then its one error line
    res = runner.invoke(app, ["shout", str(inputs / "b.txt"), "-o", str(tmp_path / "o"),
                              "--debug"])
    assert res.exit_code == 1
    assert "Traceback" in res.stderr and "contains the word bad" in res.stderr
    res = runner.invoke(app, ["shout", str(inputs / "b.txt"), "-o", str(tmp_path / "o2")])
    assert "Traceback" not in res.stderr
    res = runner.invoke(app, ["shout", str(inputs / "b.txt"), "-o", str(tmp_path / "o3")],
                        env={"MIRKIT_DEBUG": "1"})              # the variable does the same
    assert res.exit_code == 1 and "Traceback" in res.stderr


def test_usage_error_points_at_the_subcommand_help(capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    from mirkit.cli.app import main

    for args, where in ((["transcribe", "x.wav", "--frame-threshold"], "mirkit transcribe"),
                        (["evaluate", "transcription", "--report"],
                         "mirkit evaluate transcription")):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(f"(see '{where} --help')"), err


def test_unknown_option_is_usage_error(inputs: Path) -> None:
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), "--frobnicate"])
    assert res.exit_code == 2


def test_device_spec_accepted(inputs: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["shout", str(inputs / "a.txt"), "-o", str(tmp_path / "o"),
                              "--device", "CUDA:1"])
    assert res.exit_code == 0 and _rows(res.stdout)[0]["device"] == "cuda:1"


def test_resolve_device() -> None:
    import torch

    from mirkit.engine.device import resolve_device
    from mirkit.errors import ParameterError

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="no CUDA GPU is usable"):
            resolve_device("cuda:0")
