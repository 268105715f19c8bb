"""Pairing of reference and estimate files and multitrack folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirkit.errors import ParameterError
from mirkit.io.pairing import multitrack_folder, pair_files, pair_tracks

EXTS = {".mid", ".csv"}
AUDIO = {".wav", ".flac"}


def touch(root: Path, *rels: str) -> None:
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def test_two_folders_pair_by_relative_name(tmp_path: Path) -> None:
    ref, est = tmp_path / "ref", tmp_path / "est"
    touch(ref, "a.mid", "sub/b.mid", "only_ref.mid", "x.txt")
    touch(est, "a.csv", "sub/b.mid", "only_est.csv")
    pairs, problems = pair_files(ref, est, extensions=EXTS)
    assert [(p.name, p.estimate.name) for p in pairs] == [("a", "a.csv"), ("sub/b", "b.mid")]
    msgs = sorted(p.message for p in problems)
    assert msgs == [f"estimate item 'only_est' has no reference in '{ref}'",
                    f"no estimate for reference item 'only_ref' in '{est}'"]


def test_ambiguous_names_are_problems(tmp_path: Path) -> None:
    ref, est = tmp_path / "ref", tmp_path / "est"
    touch(ref, "a.mid")
    touch(est, "a.mid", "a.csv")
    pairs, problems = pair_files(ref, est, extensions=EXTS)
    assert not pairs
    # one failed item for the name, not also "no estimate for reference item 'a'"
    assert [(p.spec, p.message) for p in problems] == [
        ("a", "estimate item 'a' matches several files: a.csv, a.mid")]


def test_problems_are_placed_in_name_order(tmp_path: Path) -> None:
    ref, est = tmp_path / "ref", tmp_path / "est"
    touch(ref, "a.mid", "b.mid", "d.mid", "e.mid")
    touch(est, "a.csv", "c.csv", "d.csv")
    pairs, problems = pair_files(ref, est, extensions=EXTS)
    assert [p.name for p in pairs] == ["a", "d"]
    # rows: a, b (no estimate), c (no reference), d, e (no estimate)
    assert [(p.spec, p.position) for p in problems] == [("b", 1), ("c", 1), ("e", 2)]
    touch(ref, "t1/vocals.wav", "t2/vocals.wav", "t3/vocals.wav")
    touch(est, "t1/vocals.wav", "t3/vocals.wav")
    tracks, missing = pair_tracks(ref, est, extensions=AUDIO)
    assert [r.name for r, _ in tracks] == ["t1", "t3"]
    assert [(p.spec, p.position) for p in missing] == [("t2", 1)]


def test_file_pairs(tmp_path: Path) -> None:
    touch(tmp_path, "r/song.mid", "e/song.csv", "e/other.csv", "song_est.mid")
    pairs, problems = pair_files(tmp_path / "r/song.mid", tmp_path / "song_est.mid",
                                 extensions=EXTS)
    assert pairs[0].name == "song" and not problems
    pairs, problems = pair_files(tmp_path / "r/song.mid", tmp_path / "e", extensions=EXTS)
    assert pairs[0].estimate.name == "song.csv"
    with pytest.raises(ParameterError, match="is a folder but --estimate"):
        pair_files(tmp_path / "r", tmp_path / "song_est.mid", extensions=EXTS)
    with pytest.raises(ParameterError, match="--estimate '.*nope' does not exist"):
        pair_files(tmp_path / "r", tmp_path / "nope", extensions=EXTS)


def test_multitrack_layouts(tmp_path: Path) -> None:
    touch(tmp_path / "nested", "Song A/vocals.wav", "Song A/drums.wav", "Song A/mixture.wav",
          "Song B/vocals.flac")
    tracks = multitrack_folder(tmp_path / "nested", extensions=AUDIO)
    assert list(tracks) == ["Song A", "Song B"]
    assert sorted(tracks["Song A"].targets) == ["drums", "vocals"]
    assert tracks["Song A"].mixture is not None and tracks["Song B"].mixture is None
    touch(tmp_path / "flat", "my_song_vocals.wav", "my_song_bass.wav")
    flat = multitrack_folder(tmp_path / "flat", extensions=AUDIO)
    assert list(flat) == ["my_song"] and sorted(flat["my_song"].targets) == ["bass", "vocals"]
    touch(tmp_path / "bad", "nounderscore.wav")
    with pytest.raises(ParameterError, match="cannot tell track and target"):
        multitrack_folder(tmp_path / "bad", extensions=AUDIO)


def test_pair_tracks_reports_missing_targets(tmp_path: Path) -> None:
    ref, est = tmp_path / "ref", tmp_path / "est"
    touch(ref, "t1/vocals.wav", "t1/drums.wav", "t2/vocals.wav", "t3/vocals.wav")
    touch(est, "t1/vocals.wav", "t1/drums.wav", "t1/other.wav", "t2/drums.wav", "t4/vocals.wav")
    pairs, problems = pair_tracks(ref, est, extensions=AUDIO)
    assert [r.name for r, _ in pairs] == ["t1"]
    msgs = [p.message for p in problems]
    assert "estimate of track 't2' lacks target(s) vocals" in msgs
    assert f"no estimate for track 't3' in '{est}'" in msgs
    assert f"estimate track 't4' has no reference in '{ref}'" in msgs
