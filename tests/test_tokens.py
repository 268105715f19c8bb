"""Measure tokens (InpaintNet) and melody streams (Genchel et al.): layouts and round trips."""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from mirkit.data.melodies import Chord, Melody, melody_from_score
from mirkit.errors import InputError, ParameterError
from mirkit.features import tokens as tk
from mirkit.features.tokens import (
    DURATION_TICKS,
    END,
    HOLD,
    NO_CHORD,
    REST,
    REST_TOKEN,
    START,
    MeasureVocab,
    chord_context,
    duration_tags,
    events_to_melody,
    grid,
    measures_to_melody,
    melody_to_events,
    melody_to_measures,
    off_grid,
    pad_measures,
)
from mirkit.io.symbolic import read_score, write_midi

VOCAB = MeasureVocab()
H, R = HOLD, REST_TOKEN

# A 4/4 example: quarter C4, eighth-triplet D4 E4 F4, quarter rest, G4 held over the bar
# line, sixteenth A4, rest to the end of bar 1.
EXAMPLE = ((F(0), F(1), 60), (F(1), F(1, 3), 62), (F(4, 3), F(1, 3), 64),
           (F(5, 3), F(1, 3), 65), (F(3), F(2), 67), (F(5), F(1, 4), 69))
EXAMPLE_TOKENS = np.array([
    [9, H, H, H, H, H, 11, H, 13, H, 14, H, R, H, H, H, H, H, 16, H, H, H, H, H],
    [H, H, H, H, H, H, 18, R, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H],
])


def _melody(notes, meter=(4, 4), chords=(), **kw) -> Melody:
    return Melody(id="t", title="", source="", meter=meter, notes=tuple(notes),
                  chords=tuple(chords), **kw)


def _random_melody(rng: np.random.Generator, meter: tuple[int, int], bars: int) -> Melody:
    """An on-grid melody: random boundaries on the tick grid, each segment a note or rest."""
    g = grid(meter)
    pos = [b * g.bar_length + p for b in range(bars) for p in g.positions]
    cuts = sorted({0, *rng.choice(len(pos), size=len(pos) // 3, replace=False).tolist()})
    bounds = [pos[c] for c in cuts] + [bars * g.bar_length]
    notes = [(a, b - a, int(rng.integers(55, 85)))
             for a, b in zip(bounds, bounds[1:], strict=False) if rng.random() < 0.7]
    return _melody(notes, meter=meter, end=bars * g.bar_length)


# --------------------------------------------------------------------------- grid + vocab


@pytest.mark.parametrize(("meter", "ticks", "beat"), [
    ((4, 4), 24, 1), ((3, 4), 18, 1), ((2, 4), 12, 1), ((2, 2), 24, 1),
    ((6, 8), 12, F(3, 2)), ((9, 8), 18, F(3, 2)), ((12, 8), 24, F(3, 2)), ("3/4", 18, 1),
])
def test_grid_layouts(meter, ticks: int, beat) -> None:
    g = grid(meter)
    assert g.ticks_per_bar == ticks and g.beat_length == beat and g.ticks_per_beat == 6
    assert len(g.positions) == ticks and g.positions[-1] < g.bar_length


def test_grid_positions() -> None:
    assert grid((4, 4)).positions[:7] == (0, F(1, 4), F(1, 3), F(1, 2), F(2, 3), F(3, 4), 1)
    assert grid((6, 8)).positions[:7] == tuple(F(k, 4) for k in range(7))
    assert grid((4, 4)).tick_of(F(7, 3)) == 14 and grid((4, 4)).tick_of(F(1, 6)) is None
    assert grid((3, 4)).global_tick(F(3)) == 18


@pytest.mark.parametrize("meter", [(5, 4), (3, 2), (7, 8), (6, 4), "3/8"])
def test_grid_rejects_other_meters(meter) -> None:
    with pytest.raises(ParameterError, match="has no token grid; supported meters: 2/4"):
        grid(meter)


def test_vocab() -> None:
    assert VOCAB.size == 34
    assert VOCAB.tokens[:5] == ("START", "END", "rest", "__", "G3")
    assert VOCAB.id("C4") == VOCAB.id(60) == 9 and VOCAB.pitch_of(9) == 60
    assert VOCAB.pitch_of(REST_TOKEN) is None and VOCAB.token(33) == "C6"
    assert VOCAB.id("__") == HOLD and VOCAB.id("START") == START
    with pytest.raises(InputError, match="outside the vocabulary range 55-84"):
        VOCAB.id(54)
    with pytest.raises(InputError, match="token id 34 is outside"):
        VOCAB.token(34)
    with pytest.raises(ParameterError, match="unknown measure token 'X9'"):
        VOCAB.id("X9")
    with pytest.raises(ParameterError, match="need 0 <= low <= high"):
        MeasureVocab(60, 50)


# --------------------------------------------------------------------------- measures


def test_measure_tokens_by_hand() -> None:
    m = _melody(EXAMPLE)
    tokens = melody_to_measures(m, VOCAB)
    assert tokens.dtype == np.int64
    np.testing.assert_array_equal(tokens, EXAMPLE_TOKENS)
    back = measures_to_melody(tokens, (4, 4), VOCAB)
    assert back.notes == EXAMPLE and back.end == 8


def test_anacrusis_and_rest_over_the_bar_line() -> None:
    # a 6/8 pickup of one eighth (shifted by 5/2) and a rest from 4 to 7 crossing bar line 6
    m = _melody(((F(5, 2), F(1, 2), 62), (F(3), F(1), 67), (F(7), F(2), 69)), meter=(6, 8),
                shift=F(5, 2))
    t = melody_to_measures(m, VOCAB)
    assert t.shape == (3, 12)
    assert t[0].tolist() == [R] + [H] * 9 + [VOCAB.id(62), H]
    assert t[1].tolist() == [VOCAB.id(67), H, H, H, R] + [H] * 7
    assert t[2].tolist() == [H, H, H, H, VOCAB.id(69)] + [H] * 7
    assert measures_to_melody(t, (6, 8), VOCAB).notes == m.notes


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (2, 4), (2, 2), (6, 8), (9, 8), (12, 8)])
def test_measure_round_trip_random(rng: np.random.Generator, meter) -> None:
    for _ in range(5):
        m = _random_melody(rng, meter, bars=4)
        t = melody_to_measures(m, VOCAB)
        assert t.shape == (4, grid(meter).ticks_per_bar)
        back = measures_to_melody(t, meter, VOCAB)
        assert back.notes == m.notes and back.end == m.end
        np.testing.assert_array_equal(melody_to_measures(back, VOCAB), t)
        assert off_grid(m) is None


def test_measure_errors() -> None:
    with pytest.raises(InputError, match="note onset at beat 1/5 .* off the 4/4 token grid"):
        melody_to_measures(_melody(((F(1, 5), F(4, 5), 60),)), VOCAB)
    with pytest.raises(InputError, match="note offset at beat 1/6"):
        melody_to_measures(_melody(((0, F(1, 6), 60),)), VOCAB)
    with pytest.raises(InputError, match="MIDI pitch 90 is outside the vocabulary"):
        melody_to_measures(_melody(((0, 1, 90),)), VOCAB)
    with pytest.raises(ParameterError, match="5/4 has no token grid"):
        melody_to_measures(_melody(((0, 1, 60),), meter=(5, 4)), VOCAB)
    with pytest.raises(InputError, match="the shape must be \\(n_bars, 24\\)"):
        measures_to_melody(np.zeros((2, 12), int), (4, 4), VOCAB)
    with pytest.raises(InputError, match="vocabulary has 0..33"):
        measures_to_melody(np.full((1, 24), 40), (4, 4), VOCAB)
    assert "off the 5/4 grid" in off_grid(_melody(((F(1, 5), 1, 60),), meter=(5, 4)))
    assert off_grid(_melody(((F(1, 12), 1, 60),), meter=(5, 4))) is None   # 1/12 fallback
    with pytest.raises(InputError, match="melody 't': note offset"):
        tk.check_grid(_melody(((0, F(1, 5), 60),)))


def test_padding_and_special_tokens_inside() -> None:
    padded = pad_measures(EXAMPLE_TOKENS, 2, 3)
    assert padded.shape == (7, 24)
    assert (padded[:2] == START).all() and (padded[-3:] == END).all()
    np.testing.assert_array_equal(padded[2:4], EXAMPLE_TOKENS)
    assert measures_to_melody(padded, (4, 4), VOCAB).notes == EXAMPLE
    odd = EXAMPLE_TOKENS.copy()
    odd[0, 6] = END                      # a model may emit END inside: read as rest
    odd[1, 0] = START
    m = measures_to_melody(odd, (4, 4), VOCAB)
    assert m.notes[:1] == EXAMPLE[:1] and (F(1), F(1, 3), 62) not in m.notes
    lone = np.full((1, 24), HOLD)        # nothing to hold: silence
    assert measures_to_melody(lone, (4, 4), VOCAB).notes == ()
    with pytest.raises(ParameterError, match="both must be >= 0"):
        pad_measures(EXAMPLE_TOKENS, -1, 0)


def test_transpose_measures_matches_tokenising_the_transposed_melody() -> None:
    m = _melody(EXAMPLE)
    for s in (-5, 0, 15):
        np.testing.assert_array_equal(tk.transpose_measures(EXAMPLE_TOKENS, s, VOCAB),
                                      melody_to_measures(m.transpose(s), VOCAB))
    with pytest.raises(InputError, match="to 76-85, outside the vocabulary range 55-84"):
        tk.transpose_measures(EXAMPLE_TOKENS, 16, VOCAB)


def test_tokens_melody_midi_round_trip(tmp_path: Path) -> None:
    m = measures_to_melody(EXAMPLE_TOKENS, (4, 4), VOCAB)
    path = write_midi(m.to_score(), tmp_path / "x.mid")
    back = melody_from_score(read_score(path))
    assert back.notes == EXAMPLE and back.meter == (4, 4)
    np.testing.assert_array_equal(melody_to_measures(back, VOCAB), EXAMPLE_TOKENS)


# --------------------------------------------------------------------------- streams


def test_duration_tags() -> None:
    assert DURATION_TICKS[10] == 24 and len(DURATION_TICKS) == tk.DUR_DIM == 19
    assert duration_tags(24) == [10]
    assert duration_tags(30) == [10, 4]               # 24 + 6
    assert duration_tags(7) == [3, 0]                 # 5 + 2 (6 would leave 1 tick)
    for n in range(2, 400):
        tags = duration_tags(n)
        assert sum(DURATION_TICKS[i] for i in tags) == n
        assert tags == sorted(tags, reverse=True)
    with pytest.raises(InputError, match="1 tick\\(s\\) .* has no duration tag"):
        duration_tags(1)


def test_events_by_hand() -> None:
    chords = [Chord.from_symbol(0, "C"), Chord.from_symbol(2, "C"),
              Chord.from_symbol(4, "G7"), Chord.from_symbol(6, "C")]
    m = _melody(((0, 1, 60), (1, F(5, 4), 64), (3, 1, 67), (4, F(1, 2), 65), (6, 1, 72)),
                chords=chords)
    ev = melody_to_events(m)
    assert ev.pitch.tolist() == [39, 43, 43, REST, 46, 44, REST, 51]
    assert ev.duration.tolist() == [10, 10, 4, 9, 10, 7, 12, 10]
    assert ev.barpos.tolist() == [0, 24, 48, 54, 72, 0, 12, 48]
    assert ev.onset.tolist() == [0, 24, 48, 54, 72, 96, 108, 144]
    assert ev.tie.tolist() == [False, False, True, False, False, False, False, False]
    assert ev.chord_root.tolist() == [0, 0, 0, 0, 0, 7, 7, 0]
    # the next *different* chord: the repeated C at beat 2 is skipped; the last C has none
    assert ev.next_root.tolist() == [7, 7, 7, 7, 7, 0, 0, 0]
    assert ev.chord_pcs[5].tolist() == [0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1]
    assert ev.next_pcs[0].tolist() == ev.chord_pcs[5].tolist()
    assert ev.chord_pcs.shape == (8, 12) and len(ev) == 8
    merged = events_to_melody(ev.pitch, ev.duration, (4, 4), chords, tie=ev.tie)
    assert merged.notes == m.notes and merged.chords == m.chords and merged.end == 7
    split = events_to_melody(ev.pitch, ev.duration, "4/4")
    assert split.notes[1:3] == ((F(1), F(1), 64), (F(2), F(1, 4), 64))


def test_no_chord_before_the_first_chord() -> None:
    m = _melody(((0, 1, 60), (1, 1, 62)), chords=[Chord.from_symbol(1, "Am")])
    ev = melody_to_events(m)
    assert ev.chord_root.tolist() == [NO_CHORD, 9] and ev.next_root.tolist() == [9, 9]
    assert ev.chord_pcs[0].sum() == 0 and ev.next_pcs[0].sum() == 3
    root, pcs, nroot, npcs = chord_context((), 0)
    assert (root, nroot, pcs.sum(), npcs.sum()) == (NO_CHORD, NO_CHORD, 0, 0)


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (2, 4), (6, 8), (2, 2)])
def test_events_round_trip_random(rng: np.random.Generator, meter) -> None:
    for _ in range(5):
        m = _random_melody(rng, meter, bars=3)
        ev = melody_to_events(m)
        assert (ev.barpos < tk.BARPOS_DIM).all() and (ev.duration < tk.DUR_DIM).all()
        back = events_to_melody(ev.pitch, ev.duration, meter, tie=ev.tie)
        assert back.notes == m.notes and back.end == m.end


def test_event_errors() -> None:
    with pytest.raises(InputError, match="144 positions .* more than the 96 bar positions"):
        melody_to_events(_melody(((0, 1, 60),), meter=(12, 8)))
    with pytest.raises(InputError, match="MIDI pitch 20 is outside the stream range 21-108"):
        melody_to_events(_melody(((0, 1, 20),)))
    with pytest.raises(InputError, match="off the grid of 24 ticks per quarter"):
        melody_to_events(_melody(((F(1, 5), 1, 60),)))
    with pytest.raises(InputError, match="has no duration tag"):
        melody_to_events(_melody(((0, F(1, 24), 60),)))
    with pytest.raises(ParameterError, match="same length"):
        events_to_melody([1, 2], [3], (4, 4))
    with pytest.raises(InputError, match="pitch tokens .* outside 0..88"):
        events_to_melody([89], [3], (4, 4))
    with pytest.raises(InputError, match="duration tags .* outside 0..18"):
        events_to_melody([1], [19], (4, 4))
