"""The shared instrument-class vocabulary."""

from __future__ import annotations

import pytest

from mirkit.data import instruments as ins
from mirkit.errors import ParameterError

REQUIRED = {"piano", "acoustic_guitar", "electric_guitar", "bass", "violin", "viola", "cello",
            "flute", "clarinet", "oboe", "bassoon", "saxophone", "trumpet", "horn", "trombone",
            "voice", "drums"}


def test_vocabulary_covers_the_required_classes_in_a_fixed_order() -> None:
    assert REQUIRED <= set(ins.CLASSES)
    assert ins.CLASSES[0] == "piano" and ins.CLASSES[-1] == "drums"
    assert [ins.CLASS_INDEX[c] for c in ins.CLASSES] == list(range(len(ins.CLASSES)))


def test_pools_map_back_to_their_class() -> None:
    for c in ins.CLASSES:
        spec = ins.BY_NAME[c]
        assert spec.low < spec.high and spec.programs
        for p in spec.programs:
            assert ins.class_of_program(p, is_drum=spec.is_drum) == c


@pytest.mark.parametrize("program,expected", [(0, "piano"), (38, "bass"), (43, "bass"),
                                              (66, "saxophone"), (48, None), (118, None)])
def test_class_of_program(program: int, expected: str | None) -> None:
    assert ins.class_of_program(program) == expected


def test_parse_classes() -> None:
    assert ins.parse_classes("Violin, acoustic-guitar,violin") == ("violin", "acoustic_guitar")
    assert ins.parse_classes(None) == ins.CLASSES
    with pytest.raises(ParameterError, match="unknown instrument class.*kazoo.*choose from"):
        ins.parse_classes("violin,kazoo")
    with pytest.raises(ParameterError, match="out of range"):
        ins.class_of_program(128)


def test_classes_for_range() -> None:
    soprano = ins.classes_for_range(60, 79)
    assert {"violin", "flute", "voice", "clarinet"} <= set(soprano)
    assert "bass" not in soprano and "drums" not in soprano
    assert ins.classes_for_range(30, 60) == ("piano", "bass")
