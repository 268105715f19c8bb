"""The error analysis of ``benchmarks/transcribe_errors.py`` on hand-made notes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from mirkit.data.datasets import NoteTable


@pytest.fixture(scope="module")
def errors() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "transcribe_errors.py"
    spec = importlib.util.spec_from_file_location("transcribe_errors", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["transcribe_errors"] = module
    spec.loader.exec_module(module)
    return module


def _table(rows: list[tuple[float, float, int, str]]) -> NoteTable:
    on, off, pitch, cls = zip(*rows, strict=True) if rows else ((), (), (), ())
    return NoteTable(np.array(on, float), np.array(off, float), np.array(pitch, np.int16),
                     np.full(len(on), 80, np.int16), np.array(cls, str))


def test_unison_groups_join_only_sounding_same_key_onsets_within_tolerance(errors):
    onset = np.array([0.00, 0.03, 0.00, 0.50, 0.56, 1.00, 1.04])
    offset = np.array([0.40, 0.40, 0.40, 0.90, 0.90, 1.02, 1.50])
    pitch = np.array([60, 60, 62, 60, 60, 64, 64])
    g = errors.unison_groups(onset, offset, pitch)
    assert g[0] == g[1]                      # same key, 30 ms apart, sounding together
    assert g[2] not in (g[0], g[3])          # another key
    assert g[3] != g[4]                      # 60 ms apart: beyond the tolerance
    assert g[5] != g[6]                      # the first note ended before the second began
    assert errors.extra_mask(g).tolist() == [False, True, False, False, False, False, False]


def test_misses_and_false_notes_are_classified(errors):
    ref = _table([(0.0, 1.0, 60, "violin"), (0.01, 1.0, 60, "flute"),    # a doubling
                  (2.0, 3.0, 62, "violin"), (2.5, 3.0, 62, "violin"),    # repeat, merged
                  (4.0, 5.0, 64, "violin"),                                # onset 100 ms off
                  (6.0, 7.0, 65, "violin"),                                # never detected
                  (8.0, 9.0, 67, "violin")])
    est = _table([(0.0, 1.0, 60, "violin"), (2.0, 3.0, 62, "violin"),
                  (4.1, 5.0, 64, "violin"), (8.0, 9.0, 67, "flute"),
                  (8.5, 9.0, 67, "violin"),                                # fragment
                  (8.0, 9.0, 55, "violin"),                                # octave error
                  (10.0, 11.0, 70, "violin")])                             # other
    row = errors.analyse_track(ref, est, ["violin", "flute", "drums"])
    assert (row["reference"], row["decoded"], row["matched"]) == (7, 7, 3)
    assert row["in doubling"] == 2 and row["extra"] == 1
    assert row["misses"] == {"doubling partner": 1, "merged into a held note": 1,
                             "onset off by 50-150 ms": 1, "not detected": 1}
    assert row["false"] == {"onset off by 50-150 ms": 1, "fragment of a reference note": 1,
                            "octave error": 1, "other": 1}
    assert row["confusions"] == {"violin>violin": 2, "violin>flute": 1}


def test_oracle_rows_fix_labels_then_doublings(errors):
    ref = _table([(0.0, 1.0, 60, "violin"), (0.0, 1.0, 60, "flute"),
                  (1.0, 2.0, 62, "violin"), (1.0, 2.0, 62, "flute")])
    est = _table([(0.0, 1.0, 60, "flute"), (1.0, 2.0, 62, "viola")])
    row = errors.analyse_track(ref, est, ["violin", "viola", "flute"])
    activity, inst = row["decoded scores"]
    assert 0 < activity < 1 and inst < 0.5
    oracle_act, oracle_inst = row["oracle class"]
    assert oracle_inst == pytest.approx(2 * 2 / (4 + 2))          # 2 right of 4 ref, 2 est
    assert oracle_act > activity
    assert row["oracle class + doublings"] == (pytest.approx(1.0), pytest.approx(1.0))
    lines = errors.report([row], ["violin", "viola", "flute"])
    assert "| viola | 0 | 0.000 | — | 0.000 | 0 | — | — |" in lines
    assert any(line.startswith("| recall cap") and line.endswith("0.500 |") for line in lines)


def test_doubling_probabilities_read_the_roll_at_the_doubled_key(errors):
    classes = ["violin", "flute", "oboe", "drums"]
    fps = 10.0
    roll = np.zeros((4, 88, 30), np.float32)
    roll[0, 60 - 21, :] = 0.9                  # violin heard
    roll[1, 60 - 21, :] = 0.1                  # flute, its unison partner, barely
    roll[2, 60 - 21, :] = 0.3                  # oboe, not playing
    roll[3, 60 - 21, :] = 1.0                  # drums: never "another class"
    ref = _table([(0.0, 2.0, 60, "violin"), (0.02, 2.0, 60, "flute"),
                  (0.0, 2.0, 64, "violin")])
    row = errors.analyse_track(ref, _table([(0.0, 2.0, 60, "violin")]), classes,
                               roll=roll, fps=fps, lowest_pitch=21)
    assert row["doubling probabilities"] == [[pytest.approx(0.9), pytest.approx(0.1),
                                              pytest.approx(0.3)]]
    lines = errors.report([row], classes)
    assert "| median over 1 doublings | 0.900 | 0.100 | 0.300 |" in lines
    assert "| share above 0.2 | 1.000 | 0.000 | 1.000 |" in lines


def test_groups_of_tracks(errors):
    info = {"accompaniment": ["bass-12", "double+0"], "soundfont": "TimGM6mb.sf2",
            "source": "music21:oneills1850/1-100#3"}
    assert errors.group_of(info, "doubling") == "unison"
    assert errors.group_of({**info, "accompaniment": ["double-12"]}, "doubling") == \
        "octave down"
    assert errors.group_of({"source": "music21:bach/bwv66.6"}, "doubling") == "none"
    assert errors.group_of(info, "soundfont") == "TimGM6mb.sf2"
    assert errors.group_of(info, "collection") == "oneills1850"
    a = {"reference": 10, "decoded": 8, "matched": 6, "misses": {"doubling partner": 4},
         "decoded scores": (0.5, 0.4)}
    b = {"reference": 10, "decoded": 10, "matched": 10, "misses": {},
         "decoded scores": (1.0, 1.0)}
    lines = errors.group_report([a, b, b], ["unison", "none", "none"], "doubling")
    assert lines[2].startswith("| none | 2 | 1.000 | 1.000 | 1.000 | 0.0 % |")
    assert lines[3].startswith("| unison | 1 | 0.750 | 0.600 | 0.667 | 40.0 % |")
    assert lines[3].endswith("| 0.500 | 0.400 |")
