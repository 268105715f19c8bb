"""Melody corpus layer: chords, the Melody type, extraction from scores and ABC, loading."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from mirkit.data import melodies as mel
from mirkit.data.melodies import (
    Chord,
    Melody,
    load_melodies,
    melody_from_score,
    parse_chord,
    split_of,
    transpositions,
)
from mirkit.errors import InputError, ParameterError
from mirkit.io.symbolic import Score, read_score, write_midi

# Fabricated tunes (ABC). Expected notes are (onset, duration, MIDI) on the shifted axis.
JIG = """X:1
T:Pickup Jig
M:6/8
L:1/8
K:G
D|"G"G2B {c}d2B|"D7"A3 F3-|"G"F3 G3|]
"""
JIG_NOTES = ((F(5, 2), F(1, 2), 62), (F(3), F(1), 67), (F(4), F(1, 2), 71), (F(9, 2), F(1), 74),
             (F(11, 2), F(1, 2), 71), (F(6), F(3, 2), 69), (F(15, 2), F(3), 66),
             (F(21, 2), F(3, 2), 67))
ENDINGS = """X:2
T:Endings
M:4/4
L:1/4
K:C
C|"F/a+"D E F G|[1 A B c:|[2 "(Gd)"A B c d|]
"""
CHANGE = """X:3
T:Changer
M:4/4
L:1/4
K:C
C D E F|M:3/4
G A B|]
"""
QUINT = """X:4
T:Quintuplet
M:4/4
L:1/8
K:C
(5cdefg c2 d2|c8|]
"""
BADCHORD = """X:5
T:Bad chord
M:4/4
L:1/4
K:C
"4"C "D.C."D "C7#11"E F|G A B c|]
"""
WALTZ = """X:6
T:Waltz
M:3/4
L:1/4
K:C
"C"[CEG] [DF] E|z "G7/b"G2|]
"""
ANNOTATED = """X:7
T:Annotations
M:2/4
L:1/4
K:C
"4"C "Coda""D.C."D|"^Segno"E "G""Em"F|]
"""


def _book(tmp_path: Path, *tunes: str, name: str = "book.abc") -> Path:
    folder = tmp_path / "tunes"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("\n".join(tunes), encoding="utf-8")
    return path


def _melody(notes, meter=(4, 4), chords=(), **kw) -> Melody:
    return Melody(id="t", title="t", source="", meter=meter, notes=tuple(notes),
                  chords=tuple(chords), **kw)


# --------------------------------------------------------------------------- chords


@pytest.mark.parametrize(("symbol", "root", "pcs"), [
    ("C", 0, (0, 4, 7)),
    ("Am", 9, (0, 4, 9)),
    ("D7", 2, (0, 2, 6, 9)),
    ("F#m7", 6, (1, 4, 6, 9)),
    ("Bb/D", 10, (2, 5, 10)),
    ("Ebmaj7", 3, (2, 3, 7, 10)),
    ("Bdim7", 11, (2, 5, 8, 11)),
    ("Bm7b5", 11, (2, 5, 9, 11)),
    ("Caug", 0, (0, 4, 8)),
    ("Gsus4", 7, (0, 2, 7)),
    ("Dm6", 2, (2, 5, 9, 11)),
    ("C9", 0, (0, 2, 4, 7, 10)),
    ("Cadd9", 0, (0, 2, 4, 7)),
    ("G/b", 7, (2, 7, 11)),            # lower-case bass
    ("D/f+", 2, (2, 6, 9)),            # Nottingham: f+ = F#
    ("A7/c+", 9, (1, 4, 7, 9)),
    ("Gd", 7, (1, 7, 10)),             # Nottingham: d = diminished
    ("(E7)", 4, (2, 4, 8, 11)),        # optional chord in parentheses
    ("C/E", 0, (0, 4, 7)),             # bass already in the chord
    ("Am/G", 9, (0, 4, 7, 9)),         # bass added to the set
])
def test_parse_chord(symbol: str, root: int, pcs: tuple[int, ...]) -> None:
    assert parse_chord(symbol) == (root, pcs)


@pytest.mark.parametrize("symbol", ["H7", "Cxyz", "", "c", "C/H", "Am7/", "N.C.", "C maj"])
def test_parse_chord_rejects_unknown_symbols(symbol: str) -> None:
    with pytest.raises(ParameterError, match="unknown chord symbol .*use a root A-G"):
        parse_chord(symbol)


def test_chord_transpose_and_validation() -> None:
    c = Chord.from_symbol(2, "Bb/D").transpose(2)
    assert (c.onset, c.symbol, c.root, c.pcs) == (F(2), "C/E", 0, (0, 4, 7))
    assert Chord.from_symbol(0, "D/f+").transpose(-1).symbol == "C#/F"
    assert Chord.from_symbol(0, "(A7)").transpose(3).symbol == "(C7)"
    with pytest.raises(ParameterError, match="root 3 must be one of"):
        Chord(F(0), "X", 3, (0, 4, 7))
    with pytest.raises(ParameterError, match="onsets must be >= 0"):
        Chord(F(-1), "C", 0, (0, 4, 7))


# --------------------------------------------------------------------------- Melody


def test_melody_properties_and_chord_at() -> None:
    chords = (Chord.from_symbol(F(5, 2), "G"), Chord.from_symbol(3, "D7"))
    m = _melody(((F(5, 2), F(1, 2), 62), (3, 3, 66)), meter=(6, 8), chords=chords,
                shift=F(5, 2))
    assert m.bar_length == 3 and m.n_bars == 2 and m.pitch_range() == (62, 66)
    assert m.notes[1] == (F(3), F(3), 66) and isinstance(m.notes[1][0], F)
    assert m.chord_at(0) is None
    assert m.chord_at(F(5, 2)).symbol == "G" and m.chord_at(F(29, 10)).symbol == "G"
    assert m.chord_at(100).symbol == "D7"
    assert _melody((), end=F(8)).n_bars == 2 and _melody(()).n_bars == 0
    assert _melody([(0.5, 1 / 3, 60)]).notes == ((F(1, 2), F(1, 3), 60),)   # float snap


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"notes": ((0, 2, 60), (1, 1, 62))}, "before the end 2 of the previous note"),
    ({"notes": ((-1, 1, 60),)}, "negative"),
    ({"notes": ((0, 0, 60),)}, "durations must be > 0"),
    ({"notes": ((0, 1, 128),)}, "MIDI pitch 128"),
    ({"notes": (), "meter": (3, 5)}, "power of two"),
    ({"notes": ((0, 1, 60),), "end": F(1, 2)}, "lies before the end"),
    ({"notes": (), "chords": (Chord.from_symbol(1, "C"), Chord.from_symbol(1, "D"))},
     "strictly increasing"),
])
def test_melody_rejects_bad_values(kwargs: dict, message: str) -> None:
    kwargs = {"meter": (4, 4), **kwargs}
    with pytest.raises(ParameterError, match=message):
        Melody(id="x", title="", source="", **kwargs)


def test_transpose_and_transpositions() -> None:
    m = _melody(((0, 1, 60), (1, 1, 67)), chords=(Chord.from_symbol(0, "F#m7/C#"),))
    up = m.transpose(3)
    assert up.pitches == (63, 70) and up.id == m.id
    assert (up.chords[0].symbol, up.chords[0].root, up.chords[0].pcs) == (
        "Am7/E", 9, (0, 4, 7, 9))
    assert up.transpose(-3) == m
    assert transpositions(m, 55, 84) == list(range(-5, 18))
    assert transpositions(m, 60, 67) == [0]
    assert transpositions(m, 60, 66) == []
    with pytest.raises(ParameterError, match="outside MIDI 0-127"):
        m.transpose(61)
    with pytest.raises(ParameterError, match="empty"):
        transpositions(m, 70, 60)
    with pytest.raises(InputError, match="no notes"):
        transpositions(_melody(()), 0, 127)


def test_bars_window_clips_notes_and_carries_the_chord() -> None:
    chords = (Chord.from_symbol(0, "C"), Chord.from_symbol(6, "G"))
    m = _melody(((0, 3, 60), (3, 2, 62), (5, 1, 64), (6, 1, 65)), chords=chords, shift=F(1))
    w = m.bars(1, 3)
    assert w.notes == ((F(0), F(1), 62), (F(1), F(1), 64), (F(2), F(1), 65))
    assert [(c.onset, c.symbol) for c in w.chords] == [(F(0), "C"), (F(2), "G")]
    assert w.end == 8 and w.n_bars == 2 and w.shift == 0 and w.id == m.id
    silent = m.bars(2, 4)                      # past the last note
    assert silent.n_bars == 2 and silent.notes == () and silent.chords[0].symbol == "G"
    assert m.bars(0, 1).shift == 1
    with pytest.raises(ParameterError, match="0 <= start < stop"):
        m.bars(2, 2)


def test_dict_round_trip() -> None:
    m = _melody(((F(1, 3), F(2, 3), 60),), meter=(3, 4),
                chords=(Chord.from_symbol(F(1, 3), "Bb/D"),), shift=F(2), end=F(6))
    assert Melody.from_dict(m.to_dict()) == m
    with pytest.raises(InputError, match="not a serialised melody"):
        Melody.from_dict({"id": "x"})


def test_split_of_is_deterministic_and_near_80_10_10() -> None:
    from mirkit.data.synth import split_of as synth_split

    ids = [f"nottingham-dev/jigs#{k}" for k in range(3000)]
    splits = [split_of(i) for i in ids]
    assert splits == [split_of(i) for i in ids] == [synth_split(i) for i in ids]
    shares = Counter(splits)
    assert abs(shares["train"] / 3000 - 0.8) < 0.03
    assert abs(shares["valid"] / 3000 - 0.1) < 0.02
    assert abs(shares["test"] / 3000 - 0.1) < 0.02


# --------------------------------------------------------------------------- from scores


def test_melody_from_score_pickup_top_line_and_parts() -> None:
    # part 0: pickup (1/4 then 4/4), a chord (C+E) and an overlapping lower note
    score = Score.from_notes(
        [67, 60, 64, 55, 72, 48],
        onset_beats=[0, 1, 1, 1.5, 3, 0], offset_beats=[1, 2, 2, 2.5, 5, 4],
        part=[0, 0, 0, 0, 0, 1], time_signatures=[(0, 1, 4), (1, 4, 4)])
    with pytest.raises(InputError, match="2 parts hold notes; choose one with part="):
        melody_from_score(score)
    m = melody_from_score(score, part=0, chords=[Chord.from_symbol(1, "C")])
    assert m.meter == (4, 4) and m.shift == 3
    # 64 (top of the chord) 1..2, then 55 starts under it (dropped), 72 at 3
    assert m.notes == ((F(3), F(1), 67), (F(4), F(1), 64), (F(6), F(2), 72))
    assert m.chords[0].onset == 4
    low = melody_from_score(score, part=1)     # the pickup signature holds for every part
    assert low.notes == ((F(3), F(4), 48),) and low.shift == 3
    with pytest.raises(InputError, match="part 5 does not exist"):
        melody_from_score(score, part=5)
    changing = Score.from_notes([60, 62], onset_beats=[0, 4], offset_beats=[1, 5],
                                time_signatures=[(0, 4, 4), (4, 3, 4)])
    with pytest.raises(InputError, match="several meters"):
        melody_from_score(changing)


def test_cut_where_a_higher_note_starts() -> None:
    score = Score.from_notes([60, 64], onset_beats=[0, 1], offset_beats=[4, 2])
    assert melody_from_score(score).notes == ((F(0), F(1), 60), (F(1), F(1), 64))


def test_midi_round_trip_of_a_melody(tmp_path: Path) -> None:
    m = _melody(((F(3), F(1, 3), 60), (F(10, 3), F(2, 3), 62), (F(4), F(5, 2), 64)), shift=F(3))
    path = write_midi(m.to_score(), tmp_path / "m.mid")
    back = melody_from_score(read_score(path))
    assert back.notes == m.notes and back.meter == m.meter


# --------------------------------------------------------------------------- loading


def test_load_abc_book(tmp_path: Path) -> None:
    path = _book(tmp_path, JIG, ENDINGS, CHANGE, QUINT, BADCHORD, WALTZ, ANNOTATED)
    cache = tmp_path / "cache"              # parse once: the filters below reuse the cache
    ms = load_melodies([path], cache=cache)
    assert [m.id for m in ms] == ["tunes/book#0", "tunes/book#1", "tunes/book#5",
                                  "tunes/book#6"]
    jig, endings, waltz, annotated = ms
    assert jig.notes == JIG_NOTES                 # pickup, tie over the bar line, grace gone
    assert jig.shift == F(5, 2) and jig.meter == (6, 8) and jig.title == "Pickup Jig"
    assert jig.source == f"{path}#0"
    assert [(c.onset, c.symbol) for c in jig.chords] == [(F(3), "G"), (F(6), "D7"), (F(9), "G")]
    # the second ending (a full bar) starts at the bar line after the shorter first ending
    assert [n[0] for n in endings.notes] == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15]
    assert [(c.onset, c.symbol, c.root, c.pcs) for c in endings.chords] == [
        (F(4), "F/a+", 5, (0, 5, 9, 10)), (F(12), "(Gd)", 7, (1, 7, 10))]
    assert ms.realigned == 1
    assert waltz.notes == ((F(0), F(1), 67), (F(1), F(1), 65), (F(2), F(1), 64),
                           (F(4), F(2), 67))      # chords in the part -> highest note
    assert waltz.chords[1].symbol == "G7/b" and waltz.chords[1].onset == 4
    # fingerings, "Coda", "D.C." are not chords, "^Segno" is placed text; "G""Em": last wins
    assert [(c.onset, c.symbol) for c in annotated.chords] == [(F(3), "Em")]
    assert annotated.pitches == (60, 62, 64, 65)
    reasons = {src.rsplit("#", 1)[1]: reason for src, reason, _ in ms.rejected}
    assert reasons == {"2": "meter change", "3": "off-grid", "4": "chord symbol"}
    assert ms.meters() == Counter({"6/8": 1, "4/4": 1, "3/4": 1, "2/4": 1})
    only = load_melodies([path], meters=["3/4", (6, 8)], cache=cache)
    assert [m.id for m in only] == ["tunes/book#0", "tunes/book#5"]
    assert only.counts()["meter"] == 3            # Endings, the quintuplet tune, 2/4
    loose = load_melodies([path], require_grid=False, cache=cache)
    assert "tunes/book#3" in [m.id for m in loose]


def test_load_cache_is_used_and_invalidated(tmp_path: Path, monkeypatch) -> None:
    path = _book(tmp_path, JIG, WALTZ)
    cache = tmp_path / "cache"
    calls: list[int] = []
    first = load_melodies([path], cache=cache, progress=lambda d, n: calls.append(d))
    assert calls == [1, 2] and len(list(cache.glob("*.json"))) == 1

    def boom(*args, **kwargs):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(mel, "_parse_piece", boom)
    again = load_melodies([path], cache=cache)
    assert list(again) == list(first)
    path.write_text(JIG + "\n" + WALTZ.replace("G2", "A2"), encoding="utf-8")   # changed file
    with pytest.raises(AssertionError, match="parsed although cached"):
        load_melodies([path], cache=cache)


def test_load_midi_off_grid_and_holdout(tmp_path: Path) -> None:
    folder = tmp_path / "midi"
    good = Score.from_notes([60, 62], onset_beats=[0, 1], offset_beats=[1, 2.5],
                            time_signatures=[(0, 3, 4)])
    off = Score.from_notes([60], onset_beats=[0.1], offset_beats=[1])
    write_midi(good, folder / "good.mid")
    write_midi(off, folder / "off.mid")
    write_midi(good, folder / "secret.mid")
    ms = load_melodies([folder], holdout=frozenset({"secret"}))
    assert [m.id for m in ms] == ["midi/good"]
    assert ms[0].meter == (3, 4) and ms[0].notes[1] == (F(1), F(3, 2), 62)
    assert [r[1] for r in ms.rejected] == ["off-grid"]
    assert len(ms.held_out) == 1 and ms.held_out[0].endswith("secret.mid")


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no symbolic files found"):
        load_melodies([tmp_path])
    path = _book(tmp_path, JIG)
    with pytest.raises(ParameterError, match="'N/D' or \\(N, D\\)"):
        load_melodies([path], meters=["four"])
    with pytest.raises(InputError, match="no symbolic files found"):
        load_melodies(["oneils"])                  # neither a file nor a collection name


def test_top_line_helper_matches_a_brute_force_skyline(rng: np.random.Generator) -> None:
    for _ in range(20):
        raw = [(F(int(rng.integers(0, 16)), 2), F(int(rng.integers(1, 6)), 2),
                int(rng.integers(60, 64))) for _ in range(8)]
        line = mel._top_line(raw)
        for a, b in zip(line, line[1:], strict=False):
            assert a[0] + a[1] <= b[0]                     # monophonic and sorted
        for on, _, p in line:                              # each onset is the highest there
            assert p == max(q for o, _, q in raw if o == on)
