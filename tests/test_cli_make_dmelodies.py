"""`mirkit make-dmelodies` and the `mirkit` entry point, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mirkit.data import dmelodies as dm

MIRKIT = [sys.executable, "-m", "mirkit"]


def mirkit(*args: str, cwd: Path | None = None, stdin: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MIRKIT, *args], capture_output=True, text=True, cwd=cwd,
                          input=stdin, timeout=300)


def test_version_and_help() -> None:
    from mirkit import __version__

    res = mirkit("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"mirkit {__version__}"
    res = mirkit("--help")
    assert res.returncode == 0 and "make-dmelodies" in res.stdout
    assert mirkit().returncode in (0, 2)          # no command: help, no crash
    assert mirkit("no-such-command").returncode == 2


def test_cli_import_is_lazy() -> None:
    code = ("import sys, mirkit.cli.app; "
            "heavy = [m for m in ('torch', 'librosa', 'music21', 'pretty_midi', 'numpy', "
            "'scipy', 'soundfile') if m in sys.modules]; print(heavy)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


def test_writes_a_valid_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    res = mirkit("make-dmelodies", "-o", str(tmp_path), "--indices", "10-19,1354751")
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)                 # piped: jsonl
    assert row["status"] == "done" and row["items"] == 11 and row["npz"] == "written"
    path = tmp_path / "dMelodies_dataset.npz"
    with np.load(path, allow_pickle=True) as z:
        np.testing.assert_array_equal(z["score_array"][-1], dm.tokens(dm.NUM_ITEMS - 1))
        np.testing.assert_array_equal(z["item_indices"][:3], [10, 11, 12])
    before = path.read_bytes()

    res = mirkit("make-dmelodies", "-o", str(tmp_path), "--limit", "3")
    assert res.returncode == 1
    assert res.stderr.splitlines()[0] == (
        f"mirkit: error: output '{path}' exists; pass --overwrite to replace it or "
        f"--skip-existing to leave it")
    row = json.loads(res.stdout)                 # a failed row, then the summary line
    assert (row["status"], row["npz"], row["failed"]) == ("failed", "failed", 1)
    assert row["error"].startswith(f"output '{path}' exists")
    assert res.stderr.splitlines()[-1].endswith("1 output(s) failed")
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["dMelodies_dataset.npz"]   # no temp files left

    res = mirkit("make-dmelodies", "-o", str(tmp_path), "--limit", "3", "--skip-existing")
    assert res.returncode == 0 and json.loads(res.stdout)["npz"] == "skipped"
    assert path.read_bytes() == before

    res = mirkit("make-dmelodies", "-o", str(tmp_path), "--limit", "3", "--overwrite", "-q")
    assert res.returncode == 0 and res.stderr == ""
    with np.load(path, allow_pickle=True) as z:
        assert z["score_array"].shape == (3, 16)


def test_export_midi_equals_melody(tmp_path: Path) -> None:
    import pretty_midi

    indices = [0, 7, 6272, 740096, dm.NUM_ITEMS - 1]
    res = mirkit("make-dmelodies", "-o", str(tmp_path), "--no-npz", "--export", "midi",
                 "--indices", ",".join(map(str, indices)), "--jobs", "2")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["midi_written"] == 5
    files = sorted((tmp_path / "midi").iterdir())
    assert len(files) == 5
    for i in indices:
        from mirkit.tasks.make_dmelodies import item_stem

        pm = pretty_midi.PrettyMIDI(str(tmp_path / "midi" / f"{item_stem(i)}.mid"))
        notes = sorted(pm.instruments[0].notes, key=lambda n: n.start)
        grid = np.full(16, dm.REST_PITCH)
        for n in notes:
            tick = round(n.start / 0.25)           # 120 quarters/min: an eighth is 0.25 s
            assert abs(n.end - n.start - 0.25) < 1e-3
            grid[tick] = n.pitch
        np.testing.assert_array_equal(grid, dm.melody(i))


def test_export_musicxml_reads_back(tmp_path: Path) -> None:
    from mirkit.io.symbolic import read_score
    from mirkit.tasks.make_dmelodies import item_stem

    res = mirkit("make-dmelodies", "-o", str(tmp_path), "--no-npz",
                 f"--export=musicxml={tmp_path / 'xml'}", "--indices", "4,1354751")
    assert res.returncode == 0, res.stderr
    for i in (4, dm.NUM_ITEMS - 1):
        score = read_score(tmp_path / "xml" / f"{item_stem(i)}.musicxml")
        grid = np.full(16, dm.REST_PITCH)
        ticks = np.round(score.notes["onset_beats"] * 2).astype(int)
        grid[ticks] = score.notes["pitch"]
        np.testing.assert_array_equal(grid, dm.melody(i))
        np.testing.assert_allclose(score.notes["offset_beats"] - score.notes["onset_beats"], 0.5)


def test_export_refuses_existing_files_but_keeps_going(tmp_path: Path) -> None:
    from mirkit.tasks.make_dmelodies import item_stem

    (tmp_path / "midi").mkdir()
    (tmp_path / "midi" / f"{item_stem(1)}.mid").write_bytes(b"mine")
    res = mirkit("make-dmelodies", "-o", str(tmp_path), "--no-npz", "--export", "midi",
                 "--limit", "3")
    assert res.returncode == 1
    row = json.loads(res.stdout)
    assert (row["midi_written"], row["midi_failed"]) == (2, 1)
    assert (tmp_path / "midi" / f"{item_stem(1)}.mid").read_bytes() == b"mine"
    assert "midi:1: output" in res.stderr


def test_list_rows_and_formats(tmp_path: Path) -> None:
    res = mirkit("make-dmelodies", "--no-npz", "--list", "--indices", "0,1354751",
                 "--format", "csv")
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert lines[0].startswith("index,tonic,octave,scale,rhythm_bar1")
    assert lines[2].startswith("1354751,B,6,blues,27,27,down,down,down,down,")
    assert not list(tmp_path.iterdir())
    res = mirkit("make-dmelodies", "--no-npz", "--list", "--limit", "2", "--shard", "2/3",
                 "--format", "json")
    assert [r["index"] for r in json.loads(res.stdout)] == [1, 4]


@pytest.mark.parametrize("args,message", [
    (["--indices", "5-2"], "range '5-2' is empty"),
    (["--indices", "1354752"], "goes past the last index 1354751"),
    (["--limit", "0"], "--limit 0: must be at least 1"),
    (["--export", "wav"], "format must be one of midi, musicxml"),
    (["--no-npz"], "does nothing"),
    (["--shard", "3/2"], "--shard"),
    (["--indices", "0-3", "--filename", "../x.npz"], "leaves the output folder"),
    (["--indices", "0-3", "--filename", "/tmp/x.npz"], "leaves the output folder"),
    (["--indices", "0-3", "--filename", ""], "gives an empty file name"),
    (["--indices", "0-3", "--filename", "{a}.npz"], "this file name takes no fields"),
])
def test_bad_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    res = mirkit("make-dmelodies", "-o", str(tmp_path), *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert not list(tmp_path.iterdir())


def test_usage_errors_are_one_line() -> None:
    for args, text in ((["evaluate", "separation"], "Missing option '--reference'"),
                       (["make-dmelodies", "--frob"], "No such option: --frob"),
                       (["make-dmelodies", "--limit", "x"], "Invalid value for '--limit'"),
                       (["nope"], "No such command 'nope'")):
        res = mirkit(*args)
        assert res.returncode == 2
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mirkit: error: ") and text in lines[0]
        assert "--help')" in lines[0]


def test_empty_shard_is_not_an_error(tmp_path: Path) -> None:
    res = mirkit("make-dmelodies", "-o", str(tmp_path / "x"), "--indices", "0-1",
                 "--shard", "3/3")
    assert res.returncode == 0 and json.loads(res.stdout)["items"] == 0
    assert not (tmp_path / "x").exists()


def test_outputs_are_readable_by_others_and_bars_are_complete(tmp_path: Path) -> None:
    import music21

    res = subprocess.run(["sh", "-c", "umask 022 && exec \"$@\"", "sh", *MIRKIT,
                          "make-dmelodies", "-o", str(tmp_path), "--indices", "0",
                          "--export", "musicxml"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "dMelodies_dataset.npz").stat().st_mode & 0o777 == 0o644
    xml = next((tmp_path / "musicxml").iterdir())
    assert music21.converter.parse(xml).highestTime == 8.0     # two whole 4/4 bars


def test_output_folder_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    res = mirkit("make-dmelodies", "-o", str(tmp_path / "afile"), "--limit", "2")
    assert res.returncode == 1
    assert "is a file, not a folder" in res.stderr and "internal error" not in res.stderr
