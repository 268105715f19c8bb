"""The batch machinery: inputs, shards, output templates, overwrite policy, keep-going runs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from mirkit.errors import InputError, ModelError, OutputExistsError, ParameterError
from mirkit.io.atomic import AtomicGroup, atomic_write
from mirkit.io.batch import (
    ExistingPolicy,
    SkipItem,
    Status,
    claim_outputs,
    expand_inputs,
    output_path,
    parse_shard,
    run_batch,
    take_shard,
)

EXTS = {".wav", ".flac"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ["a.wav", "b.flac", "notes.txt", "sub/c.wav", "sub/deep/d.WAV", ".hidden.wav",
                "sub/.git/e.wav", "empty/x.txt"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    return tmp_path


def test_expand_folder_recursive_sorted_and_filtered(tree: Path) -> None:
    paths, problems = expand_inputs([str(tree)], extensions=EXTS)
    assert [p.relative_to(tree).as_posix() for p in paths] == [
        "a.wav", "b.flac", "sub/c.wav", "sub/deep/d.WAV"]
    assert problems == []


def test_expand_keeps_order_dedupes_and_explicit_files(tree: Path) -> None:
    specs = [str(tree / "sub/c.wav"), str(tree / "notes.txt"), str(tree / "a.wav"),
             str(tree / "sub/c.wav")]
    paths, problems = expand_inputs(specs, extensions=EXTS)
    assert [p.name for p in paths] == ["c.wav", "notes.txt", "a.wav"]
    assert not problems


def test_expand_glob_and_problems(tree: Path) -> None:
    paths, problems = expand_inputs(
        [str(tree / "*.wav"), str(tree / "missing.wav"), str(tree / "*.mp3"),
         str(tree / "empty")], extensions=EXTS)
    assert [p.name for p in paths] == ["a.wav"]
    msgs = [p.message for p in problems]
    assert "does not exist" in msgs[0]
    assert "matches no supported files" in msgs[1]
    assert "holds no supported files" in msgs[2]


def test_expand_stdin(tree: Path) -> None:
    stdin = io.StringIO(f"{tree / 'b.flac'}\n\n{tree / 'a.wav'}\r\n")
    paths, problems = expand_inputs(["-", str(tree / "a.wav")], extensions=EXTS, stdin=stdin)
    assert [p.name for p in paths] == ["b.flac", "a.wav"]
    assert not problems


@pytest.mark.parametrize("text,expected", [("1/1", (1, 1)), ("3/4", (3, 4))])
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "2", "1/2/3"])
def test_parse_shard_errors(text: str) -> None:
    with pytest.raises(ParameterError, match="--shard"):
        parse_shard(text)


def test_shards_partition_the_items() -> None:
    items = list(range(23))
    shards = [take_shard(items, (k, 5)) for k in range(1, 6)]
    assert sorted(sum(shards, [])) == items
    assert shards[1] == [1, 6, 11, 16, 21]
    assert take_shard(items, None) == items


def test_output_path_template(tmp_path: Path) -> None:
    p = output_path(tmp_path, "{track}/{target}.{ext}", track="song", target="vocals", ext="wav")
    assert p == tmp_path / "song" / "vocals.wav"
    with pytest.raises(ParameterError, match=r"unknown field\(s\) stem; available: \{track\}"):
        output_path(tmp_path, "{stem}.wav", track="song")
    with pytest.raises(ParameterError, match="not a valid template"):
        output_path(tmp_path, "{track", track="song")
    with pytest.raises(ParameterError, match="empty file name"):
        output_path(tmp_path, "{track}/", track="song")
    for bad in ("{track.upper}", "{track[0]}", "{track!r}", "{}", "{track:{track}}"):
        with pytest.raises(ParameterError, match="is not a plain field"):
            output_path(tmp_path, bad + ".wav", track="song")
    assert output_path(tmp_path, "{n:03d}.wav", n=7) == tmp_path / "007.wav"


def test_claim_outputs_policies(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    claim_outputs([a, b], ExistingPolicy.ERROR)          # nothing exists: fine
    a.write_text("old")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        claim_outputs([a, b], ExistingPolicy.ERROR)
    claim_outputs([a, b], ExistingPolicy.SKIP)           # incomplete set: redo
    b.write_text("old")
    with pytest.raises(SkipItem):
        claim_outputs([a, b], ExistingPolicy.SKIP)
    claim_outputs([a, b], ExistingPolicy.OVERWRITE)


def test_run_batch_keeps_going_and_counts() -> None:
    def work(x: int) -> dict[str, int]:
        if x == 2:
            raise InputError(f"item {x} is bad")
        if x == 3:
            raise SkipItem("exists")
        if x == 4:
            raise ZeroDivisionError("boom")
        return {"double": 2 * x}

    seen = []
    summary = run_batch([1, 2, 3, 4, 5], work, label=lambda x: f"i{x}", on_result=seen.append)
    assert [r.status for r in summary.results] == [
        Status.DONE, Status.FAILED, Status.SKIPPED, Status.FAILED, Status.DONE]
    assert summary.results[0].row() == {"input": "i1", "status": "done", "double": 2}
    assert summary.results[1].error == "item 2 is bad"
    assert "internal error ZeroDivisionError: boom" in (summary.results[3].error or "")
    assert summary.exit_code == 1
    assert seen == summary.results
    assert summary.line().startswith("2 done, 1 skipped, 2 failed")


def test_run_batch_parallel_keeps_input_order() -> None:
    import time

    def work(x: int) -> dict[str, int]:
        time.sleep(0.01 * (5 - x))
        return {"x": x}

    summary = run_batch(list(range(5)), work, jobs=3)
    assert [r.fields["x"] for r in summary.results] == list(range(5))
    assert summary.exit_code == 0


@pytest.mark.parametrize("exc", [ParameterError("bad option"), ModelError("no model")])
def test_run_batch_stops_on_run_level_errors(exc: Exception) -> None:
    def work(x: int) -> None:
        raise exc

    with pytest.raises(type(exc)):
        run_batch([1, 2], work)


def test_run_batch_records_input_problems() -> None:
    from mirkit.io.batch import InputProblem

    summary = run_batch([], lambda x: None, problems=[InputProblem("x.wav", "'x.wav' does "
                                                                            "not exist")])
    assert summary.exit_code == 1 and summary.results[0].input == "x.wav"


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("previous")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == ["out.txt"]
    with atomic_write(target) as tmp:
        assert tmp.suffix == ".txt" and tmp.parent == tmp_path
        tmp.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(InputError, match="is a directory"), atomic_write(tmp_path):
        pass


def test_atomic_group_is_all_or_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "x" / "a.txt", tmp_path / "x" / "b.txt"
    with pytest.raises(ValueError), AtomicGroup() as group:
        group.path(a).write_text("a")
        group.path(b).write_text("b")
        raise ValueError("second step failed")
    assert sorted(os.listdir(tmp_path / "x")) == []
    with AtomicGroup() as group:
        group.path(a).write_text("a")
        group.path(b).write_text("b")
    assert a.read_text() == "a" and b.read_text() == "b"


def test_atomic_outputs_get_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


def test_atomic_write_under_a_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="'.*afile' is a file, not a folder"), \
            atomic_write(tmp_path / "afile" / "out.npz"):
        pass
