"""Token encodings of monophonic melodies: InpaintNet's measure tokens and Genchel's streams.

Measure tokens (Pati et al., ISMIR 2019, generalised to more meters)
    Each bar is a fixed row of ticks (:class:`Grid`). Simple meters (2/4, 3/4, 4/4, and 2/2
    counted as four quarter beats) have quarter-note beats with 6 ticks at
    {0, 1/4, 1/3, 1/2, 2/3, 3/4} of the beat (sixteenths and eighth-note triplets): 24
    tokens per 4/4 bar, 18 per 3/4. Compound meters (6/8, 9/8, 12/8) have dotted-quarter
    beats with 6 ticks at {0, 1/6, ..., 5/6} (sixteenths): 12 tokens per 6/8 bar. Token ids
    (:class:`MeasureVocab`) are fixed: 0 ``START``, 1 ``END``, 2 ``rest``, 3 ``__`` (hold),
    then MIDI pitches ``low..high`` (default 55-84, InpaintNet's range).

    A note onset gets its pitch id and the following ticks of the note ``__``; a rest (a gap
    between notes, the time before the first note and after the last one up to the melody's
    end) gets ``rest`` at its first tick and ``__`` after it. A note or rest running over a
    bar line continues with ``__`` in the next bar: a bar starts with a pitch or ``rest``
    token only when something starts there. Tick positions need not be evenly spaced; a
    note that starts or ends between ticks cannot be encoded (InputError).

Melody streams (Genchel, Pati & Lerch, 2019)
    One event per note or rest: pitch token ``MIDI - 21`` (A0 = 0 .. C8 = 87) or
    :data:`REST` = 88; a duration tag (index into :data:`DURATION_TICKS`, lengths in ticks of
    96 per 4/4 bar, i.e. 24 per quarter); the bar position of the onset (quarters into the
    bar times 24, 0..95); the chord sounding at the onset (root 0..11 or
    :data:`NO_CHORD` = 12, and a 12-dim pitch-class vector, all zero for no chord); and the
    next chord (the next chord *different* from the current one, the current one at the end
    of the tune). A note or rest whose length is not a tag is split into several events, the
    largest tag first such that the rest stays expressible (a 30-tick note -> 24 + 6); the
    continuation events repeat the pitch and are flagged in :attr:`Events.tie`, which
    :func:`events_to_melody` uses to merge them back (without it they become separate
    notes). Any length of at least 2 ticks is expressible; 1 tick, or a length off the
    24-per-quarter grid, is not (InputError). Bars longer than four quarters (9/8, 12/8)
    have positions beyond 95 and are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.data.melodies import Chord, Melody
from mirkit.errors import InputError, ParameterError

__all__ = [
    "BARPOS_DIM",
    "CHORD_PC_DIM",
    "CHORD_ROOT_DIM",
    "DURATION_TICKS",
    "DUR_DIM",
    "END",
    "EVENT_TICKS_PER_QUARTER",
    "HOLD",
    "NO_CHORD",
    "PITCH_DIM",
    "PITCH_OFFSET",
    "REST",
    "REST_TOKEN",
    "SPECIAL_TOKENS",
    "START",
    "Events",
    "Grid",
    "MeasureVocab",
    "chord_context",
    "check_grid",
    "duration_tags",
    "events_to_melody",
    "grid",
    "measures_to_melody",
    "melody_to_events",
    "melody_to_measures",
    "off_grid",
    "pad_measures",
    "transpose_measures",
]

# --------------------------------------------------------------------------- constants

#: Measure token ids of the special tokens; pitches follow from 4.
START, END, REST_TOKEN, HOLD = 0, 1, 2, 3
SPECIAL_TOKENS: tuple[str, ...] = ("START", "END", "rest", "__")
#: Tick offsets within a beat: simple meters (16ths + triplet 8ths), compound (16ths).
SIMPLE_TICKS: tuple[Fraction, ...] = tuple(Fraction(x) for x in
                                           ("0", "1/4", "1/3", "1/2", "2/3", "3/4"))
COMPOUND_TICKS: tuple[Fraction, ...] = tuple(Fraction(k, 6) for k in range(6))
#: Meters with a token grid: meter -> (beats per bar, beat length in quarters, ticks).
GRID_METERS: dict[tuple[int, int], tuple[int, Fraction, tuple[Fraction, ...]]] = {
    (2, 4): (2, Fraction(1), SIMPLE_TICKS),
    (3, 4): (3, Fraction(1), SIMPLE_TICKS),
    (4, 4): (4, Fraction(1), SIMPLE_TICKS),
    (2, 2): (4, Fraction(1), SIMPLE_TICKS),
    (6, 8): (2, Fraction(3, 2), COMPOUND_TICKS),
    (9, 8): (3, Fraction(3, 2), COMPOUND_TICKS),
    (12, 8): (4, Fraction(3, 2), COMPOUND_TICKS),
}
#: Default pitch range of :class:`MeasureVocab` (InpaintNet's).
VOCAB_LOW, VOCAB_HIGH = 55, 84

#: Stream resolution: ticks per quarter note (96 per 4/4 bar).
EVENT_TICKS_PER_QUARTER = 24
#: Pitch token = MIDI - PITCH_OFFSET; REST after the 88 piano keys.
PITCH_OFFSET = 21
REST = 88
PITCH_DIM = 89
#: Duration tags: length in ticks of each index (32nd triplet .. dotted whole).
DURATION_TICKS: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 64, 72, 96,
                                   128, 144)
DUR_DIM = len(DURATION_TICKS)
BARPOS_DIM = 96
NO_CHORD = 12
CHORD_ROOT_DIM = 13
CHORD_PC_DIM = 12
#: Positions of meters without a token grid must lie on this grid (quarters): the stream
#: resolution's smallest step (2 ticks of 24).
FALLBACK_STEP = Fraction(1, 12)

_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_TAG_INDEX = {t: i for i, t in enumerate(DURATION_TICKS)}


def _meter_tuple(meter: tuple[int, int] | str | Any) -> tuple[int, int]:
    try:
        if isinstance(meter, str):
            a, b = meter.split("/")
            return int(a), int(b)
        a2, b2 = meter
        return int(a2), int(b2)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"meter {meter!r} must be 'N/D' or (N, D), e.g. (4, 4)") from exc


# --------------------------------------------------------------------------- grid


@dataclass(frozen=True)
class Grid:
    """The tick grid of one meter.

    Attributes
    ----------
    meter : (int, int)
    beats_per_bar : int
    beat_length : Fraction
        Quarter notes per beat (1 simple, 3/2 compound).
    tick_offsets : tuple of Fraction
        Tick positions as fractions of a beat, ascending, starting at 0.
    """

    meter: tuple[int, int]
    beats_per_bar: int
    beat_length: Fraction
    tick_offsets: tuple[Fraction, ...]

    @property
    def ticks_per_beat(self) -> int:
        return len(self.tick_offsets)

    @property
    def ticks_per_bar(self) -> int:
        """Tokens per bar: 24 for 4/4 and 2/2, 18 for 3/4, 12 for 2/4 and 6/8."""
        return self.beats_per_bar * self.ticks_per_beat

    @property
    def bar_length(self) -> Fraction:
        """Quarter notes per bar."""
        return self.beats_per_bar * self.beat_length

    @property
    def positions(self) -> tuple[Fraction, ...]:
        """Position of each tick of a bar in quarter notes from the bar line, shape (T,)."""
        return tuple(b * self.beat_length + o * self.beat_length
                     for b in range(self.beats_per_bar) for o in self.tick_offsets)

    def tick_of(self, position: Fraction) -> int | None:
        """Index of the tick at ``position`` (quarters into the bar), or None if none is."""
        beat, rest = divmod(Fraction(position), self.beat_length)
        if not 0 <= beat < self.beats_per_bar:
            return None
        frac = rest / self.beat_length
        try:
            return int(beat) * self.ticks_per_beat + self.tick_offsets.index(frac)
        except ValueError:
            return None

    def global_tick(self, beat: Fraction) -> int | None:
        """Row-major tick index of ``beat`` (quarters from the start), or None off the grid."""
        bar, pos = divmod(Fraction(beat), self.bar_length)
        k = self.tick_of(pos)
        return None if k is None else int(bar) * self.ticks_per_bar + k


def grid(meter: tuple[int, int] | str) -> Grid:
    """The token grid of ``meter`` (2/4, 3/4, 4/4, 2/2, 6/8, 9/8, 12/8).

    Raises
    ------
    ParameterError
        Any other meter.
    """
    m = _meter_tuple(meter)
    if m not in GRID_METERS:
        ok = ", ".join(f"{a}/{b}" for a, b in GRID_METERS)
        raise ParameterError(f"meter {m[0]}/{m[1]} has no token grid; supported meters: {ok}")
    beats, length, ticks = GRID_METERS[m]
    return Grid(m, beats, length, ticks)


def off_grid(m: Melody) -> str | None:
    """Why ``m`` cannot be tokenised on its meter's grid, or None when it can.

    Every onset and offset must fall on a tick of :func:`grid` (for meters without a token
    grid: on multiples of 1/12 quarter, the stream resolution).
    """
    g = grid(m.meter) if m.meter in GRID_METERS else None
    bar = m.bar_length
    for on, dur, _ in m.notes:
        for what, t in (("onset", on), ("offset", on + dur)):
            if g is not None:
                ok = g.tick_of(t % bar) is not None
            else:
                ok = (t / FALLBACK_STEP).denominator == 1
            if not ok:
                b, pos = divmod(t, bar)
                return (f"note {what} at beat {t} (bar {int(b)}, {pos} quarters in) is off the "
                        f"{m.meter[0]}/{m.meter[1]} grid")
    return None


def check_grid(m: Melody) -> None:
    """Raise InputError when :func:`off_grid` finds a problem."""
    problem = off_grid(m)
    if problem is not None:
        raise InputError(f"melody {m.id!r}: {problem}")


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class MeasureVocab:
    """Fixed measure-token vocabulary: 0 START, 1 END, 2 rest, 3 __, then pitches low..high.

    Pitch ``p`` has id ``4 + p - low``; its token name is the sharp spelling with octave
    (MIDI 60 = ``C4``).
    """

    low: int = VOCAB_LOW
    high: int = VOCAB_HIGH

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= 127:
            raise ParameterError(f"vocabulary pitch range {self.low}-{self.high}: need "
                                 "0 <= low <= high <= 127")

    @property
    def size(self) -> int:
        return len(SPECIAL_TOKENS) + self.high - self.low + 1

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every token name, in id order."""
        return tuple(self.token(i) for i in range(self.size))

    def pitch_id(self, pitch: int) -> int:
        """Token id of a MIDI pitch; InputError outside ``low..high``."""
        if not self.low <= pitch <= self.high:
            raise InputError(f"MIDI pitch {pitch} is outside the vocabulary range "
                             f"{self.low}-{self.high}; transpose the melody or widen the range")
        return len(SPECIAL_TOKENS) + int(pitch) - self.low

    def pitch_of(self, token_id: int) -> int | None:
        """MIDI pitch of a token id, None for the special tokens."""
        self._check_id(token_id)
        return None if token_id < len(SPECIAL_TOKENS) else self.low + token_id - 4

    def token(self, token_id: int) -> str:
        """Name of a token id: 'START', 'END', 'rest', '__' or a note name such as 'C4'."""
        self._check_id(token_id)
        if token_id < len(SPECIAL_TOKENS):
            return SPECIAL_TOKENS[token_id]
        p = self.low + token_id - 4
        return f"{_NOTE_NAMES[p % 12]}{p // 12 - 1}"

    def id(self, token: str | int) -> int:
        """Id of a token name, or of a MIDI pitch given as an int."""
        if isinstance(token, int | np.integer):
            return self.pitch_id(int(token))
        if token in SPECIAL_TOKENS:
            return SPECIAL_TOKENS.index(token)
        for k in range(len(SPECIAL_TOKENS), self.size):
            if self.token(k) == token:
                return k
        raise ParameterError(f"unknown measure token {token!r}; use START, END, rest, __ or a "
                             f"note name {self.token(4)}..{self.token(self.size - 1)}")

    def _check_id(self, token_id: int) -> None:
        if not 0 <= token_id < self.size:
            raise InputError(f"token id {token_id} is outside the vocabulary (0..{self.size - 1})")


# --------------------------------------------------------------------------- measures


def melody_to_measures(m: Melody, vocab: MeasureVocab) -> NDArray[np.int64]:
    """Measure tokens of a melody.

    Returns
    -------
    np.ndarray, shape (m.n_bars, grid(m.meter).ticks_per_bar), int64
        Token ids (see the module docstring).

    Raises
    ------
    ParameterError
        The meter has no grid.
    InputError
        An onset or offset off the grid, or a pitch outside the vocabulary.
    """
    g = grid(m.meter)
    n_bars = m.n_bars
    flat = np.full(n_bars * g.ticks_per_bar, HOLD, dtype=np.int64)
    if not len(flat):
        return flat.reshape(0, g.ticks_per_bar)

    def tick(beat: Fraction, what: str) -> int:
        k = g.global_tick(beat)
        if k is None:
            b, pos = divmod(beat, g.bar_length)
            raise InputError(f"melody {m.id!r}: {what} at beat {beat} (bar {int(b)}, {pos} "
                             f"quarters in) is off the {m.meter[0]}/{m.meter[1]} token grid")
        return k

    t = Fraction(0)
    for on, dur, p in m.notes:
        if on > t:
            flat[tick(t, "rest")] = REST_TOKEN
        flat[tick(on, "note onset")] = vocab.pitch_id(p)
        tick(on + dur, "note offset")
        t = on + dur
    if t < n_bars * g.bar_length:
        flat[tick(t, "rest")] = REST_TOKEN
    return flat.reshape(n_bars, g.ticks_per_bar)


def measures_to_melody(
    tokens: ArrayLike,
    meter: tuple[int, int] | str,
    vocab: MeasureVocab,
    *,
    id: str = "measures",
    title: str = "",
    chords: Sequence[Chord] = (),
) -> Melody:
    """The melody of measure tokens (inverse of :func:`melody_to_measures`).

    Parameters
    ----------
    tokens : array_like of int, shape (n_bars, ticks_per_bar)
        Token ids. Leading rows made only of START and trailing rows made only of END
        (padding, see :func:`pad_measures`) are dropped; the first remaining row is bar 0.
        A START or END inside the tune is read as ``rest``, and so is a ``__`` with nothing
        to hold (model output may contain both).
    meter : (int, int) or str
    vocab : MeasureVocab
    id, title : str
        Stored in the melody.
    chords : sequence of Chord
        Stored as they are.

    Returns
    -------
    Melody
        ``end`` = number of rows kept times the bar length, so the round trip keeps silent
        bars.
    """
    g = grid(meter)
    arr = np.asarray(tokens)
    if arr.ndim != 2 or arr.shape[1] != g.ticks_per_bar:
        raise InputError(f"measure tokens of shape {arr.shape}: a {g.meter[0]}/{g.meter[1]} bar "
                         f"has {g.ticks_per_bar} ticks, so the shape must be (n_bars, "
                         f"{g.ticks_per_bar})")
    if arr.size and (arr.min() < 0 or arr.max() >= vocab.size):
        raise InputError(f"measure tokens hold ids {int(arr.min())}..{int(arr.max())}; the "
                         f"vocabulary has 0..{vocab.size - 1}")
    rows = [r for r in arr.astype(np.int64)]
    while rows and np.all(rows[0] == START):
        rows.pop(0)
    while rows and np.all(rows[-1] == END):
        rows.pop()
    positions = g.positions
    bar = g.bar_length
    notes: list[tuple[Fraction, Fraction, int]] = []
    current: tuple[Fraction, int] | None = None
    for b, row in enumerate(rows):
        for k, tok in enumerate(row.tolist()):
            if tok == HOLD:
                continue
            t = b * bar + positions[k]
            if current is not None:
                notes.append((current[0], t - current[0], current[1]))
                current = None
            if tok >= len(SPECIAL_TOKENS):
                current = (t, vocab.low + tok - len(SPECIAL_TOKENS))
    end = len(rows) * bar
    if current is not None:
        notes.append((current[0], end - current[0], current[1]))
    return Melody(id=id, title=title, source="", meter=g.meter, notes=tuple(notes),
                  chords=tuple(chords), end=end)


def transpose_measures(tokens: ArrayLike, semitones: int, vocab: MeasureVocab
                       ) -> NDArray[np.int64]:
    """Measure tokens moved by ``semitones`` (pitch ids shift; special tokens stay).

    The same as tokenising the transposed melody, without re-reading its notes (for
    augmentation over :func:`mirkit.data.melodies.transpositions`).

    Raises
    ------
    InputError
        A pitch would leave the vocabulary range.
    """
    arr = np.array(tokens, dtype=np.int64)
    pitched = arr >= len(SPECIAL_TOKENS)
    if pitched.any():
        low = int(arr[pitched].min()) - len(SPECIAL_TOKENS) + vocab.low + int(semitones)
        high = int(arr[pitched].max()) - len(SPECIAL_TOKENS) + vocab.low + int(semitones)
        if low < vocab.low or high > vocab.high:
            raise InputError(f"transposing by {semitones} semitones moves the pitches to "
                             f"{low}-{high}, outside the vocabulary range "
                             f"{vocab.low}-{vocab.high}")
    arr[pitched] += int(semitones)
    return arr


def pad_measures(tokens: ArrayLike, before: int, after: int) -> NDArray[np.int64]:
    """``before`` rows of START above and ``after`` rows of END below the measure tokens.

    Returns
    -------
    np.ndarray, shape (before + n_bars + after, ticks_per_bar), int64
    """
    arr = np.asarray(tokens, dtype=np.int64)
    if arr.ndim != 2:
        raise ParameterError(f"measure tokens must be 2-D (n_bars, ticks), not {arr.shape}")
    if before < 0 or after < 0:
        raise ParameterError(f"padding {before}, {after}: both must be >= 0")
    width = arr.shape[1]
    return np.concatenate([np.full((before, width), START, np.int64), arr,
                           np.full((after, width), END, np.int64)])


# --------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class Events:
    """Per-event streams of a melody (Genchel et al.); every array has length n.

    Attributes
    ----------
    pitch : np.ndarray, shape (n,), int64
        MIDI - 21, or REST (88).
    duration : np.ndarray, shape (n,), int64
        Index into :data:`DURATION_TICKS`.
    barpos : np.ndarray, shape (n,), int64
        Onset position in the bar, 24 per quarter (0..95).
    chord_root : np.ndarray, shape (n,), int64
        Root of the chord at the onset, 0..11, NO_CHORD (12) for none.
    chord_pcs : np.ndarray, shape (n, 12), int64
        Binary pitch-class vector of that chord (zeros for none).
    next_root : np.ndarray, shape (n,), int64
    next_pcs : np.ndarray, shape (n, 12), int64
        The next different chord (the current one when none follows).
    onset : np.ndarray, shape (n,), int64
        Onset from the start of the melody, 24 per quarter (an addition to the spec).
    tie : np.ndarray, shape (n,), bool
        True for an event that continues the previous event's note (a length split into
        several tags); :func:`events_to_melody` merges these (an addition to the spec).
    """

    pitch: NDArray[np.int64]
    duration: NDArray[np.int64]
    barpos: NDArray[np.int64]
    chord_root: NDArray[np.int64]
    chord_pcs: NDArray[np.int64]
    next_root: NDArray[np.int64]
    next_pcs: NDArray[np.int64]
    onset: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    tie: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.pitch)


def duration_tags(ticks: int) -> list[int]:
    """Tag indices whose lengths sum to ``ticks`` (24 per quarter), largest first.

    Each step takes the largest tag that leaves an expressible remainder (0 or >= 2 ticks).

    Raises
    ------
    InputError
        ``ticks`` < 2 (1 tick, half a 32nd triplet, has no tag).
    """
    n = int(ticks)
    if n < 2:
        raise InputError(f"a length of {n} tick(s) at {EVENT_TICKS_PER_QUARTER} per quarter has "
                         f"no duration tag (the shortest is {DURATION_TICKS[0]})")
    out: list[int] = []
    while n:
        for i in range(DUR_DIM - 1, -1, -1):
            t = DURATION_TICKS[i]
            if t <= n and n - t != 1:
                out.append(i)
                n -= t
                break
    return out


def _pcs_vector(chord: Chord | None) -> NDArray[np.int64]:
    v = np.zeros(CHORD_PC_DIM, np.int64)
    if chord is not None:
        v[list(chord.pcs)] = 1
    return v


def chord_context(chords: Sequence[Chord], beat: Fraction | int | float
                  ) -> tuple[int, NDArray[np.int64], int, NDArray[np.int64]]:
    """(root, pcs, next root, next pcs) of the chord sounding at ``beat`` in ``chords``.

    For step-by-step generation over a chord progression; the same values as the chord
    streams of :func:`melody_to_events`. ``chords`` must be sorted by onset.
    """
    b = Fraction(beat) if not isinstance(beat, float) else Fraction(beat).limit_denominator(3840)
    k = -1
    for i, c in enumerate(chords):
        if c.onset > b:
            break
        k = i
    current = chords[k] if k >= 0 else None
    nxt = current
    for c in chords[k + 1:]:
        if current is None or not current.same_harmony(c):
            nxt = c
            break
    root = current.root if current is not None else NO_CHORD
    nroot = nxt.root if nxt is not None else NO_CHORD
    return root, _pcs_vector(current), nroot, _pcs_vector(nxt)


def melody_to_events(m: Melody) -> Events:
    """The pitch, duration, bar-position and chord streams of a melody.

    Rests before the first note, between notes and up to :attr:`Melody.end` are events.

    Raises
    ------
    InputError
        A bar longer than four quarters, a note outside MIDI 21-108, or a length or onset
        off the 24-per-quarter grid or of 1 tick.
    """
    q = EVENT_TICKS_PER_QUARTER
    bar_ticks = m.bar_length * q
    if bar_ticks > BARPOS_DIM:
        raise InputError(f"melody {m.id!r}: a {m.meter[0]}/{m.meter[1]} bar has {bar_ticks} "
                         f"positions at {q} per quarter, more than the {BARPOS_DIM} bar "
                         "positions of the streams")
    spans: list[tuple[Fraction, Fraction, int | None]] = []
    t = Fraction(0)
    for on, dur, p in m.notes:
        if on > t:
            spans.append((t, on - t, None))
        spans.append((on, dur, p))
        t = on + dur
    if m.end is not None and m.end > t:
        spans.append((t, m.end - t, None))
    pitch: list[int] = []
    dur_idx: list[int] = []
    onsets: list[int] = []
    tie: list[bool] = []
    for on, length, sp in spans:
        on_t, len_t = on * q, length * q
        if on_t.denominator != 1 or len_t.denominator != 1:
            raise InputError(f"melody {m.id!r}: the event at beat {on} lasting {length} is off "
                             f"the grid of {q} ticks per quarter")
        if sp is not None and not PITCH_OFFSET <= sp < PITCH_OFFSET + REST:
            raise InputError(f"melody {m.id!r}: MIDI pitch {sp} is outside the stream range "
                             f"{PITCH_OFFSET}-{PITCH_OFFSET + REST - 1}")
        try:
            tags = duration_tags(int(len_t))
        except InputError as exc:
            raise InputError(f"melody {m.id!r}, event at beat {on}: {exc}") from exc
        pos = int(on_t)
        for j, tag in enumerate(tags):
            pitch.append(REST if sp is None else sp - PITCH_OFFSET)
            dur_idx.append(tag)
            onsets.append(pos)
            tie.append(j > 0 and sp is not None)
            pos += DURATION_TICKS[tag]
    n = len(pitch)
    roots = np.full(n, NO_CHORD, np.int64)
    pcs = np.zeros((n, CHORD_PC_DIM), np.int64)
    nroots = np.full(n, NO_CHORD, np.int64)
    npcs = np.zeros((n, CHORD_PC_DIM), np.int64)
    for i, o in enumerate(onsets):
        roots[i], pcs[i], nroots[i], npcs[i] = chord_context(m.chords, Fraction(o, q))
    onset_arr = np.array(onsets, np.int64)
    return Events(
        pitch=np.array(pitch, np.int64), duration=np.array(dur_idx, np.int64),
        barpos=(onset_arr % int(bar_ticks)).astype(np.int64) if n else onset_arr,
        chord_root=roots, chord_pcs=pcs, next_root=nroots, next_pcs=npcs,
        onset=onset_arr, tie=np.array(tie, bool))


def events_to_melody(
    pitch: ArrayLike,
    duration: ArrayLike,
    meter: tuple[int, int] | str,
    chords: Sequence[Chord] = (),
    *,
    tie: ArrayLike | None = None,
    id: str = "events",
    title: str = "",
) -> Melody:
    """The melody of pitch and duration streams (inverse of :func:`melody_to_events`).

    Parameters
    ----------
    pitch : array_like of int, shape (n,)
        0..87 (MIDI - 21) or REST (88).
    duration : array_like of int, shape (n,)
        Tag indices 0..18.
    meter : (int, int) or str
    chords : sequence of Chord
        Stored as they are (sorted by onset).
    tie : array_like of bool, shape (n,), optional
        Merge an event into the previous note when True and both have the same pitch
        (:attr:`Events.tie`). Without it every pitch event is its own note.
    id, title : str

    Returns
    -------
    Melody
        ``end`` = the total duration of the events (trailing rests are kept).
    """
    p = np.asarray(pitch, dtype=np.int64).reshape(-1)
    d = np.asarray(duration, dtype=np.int64).reshape(-1)
    if p.shape != d.shape:
        raise ParameterError(f"pitch ({p.size}) and duration ({d.size}) streams must have the "
                             "same length")
    ties = (np.zeros(p.size, bool) if tie is None
            else np.asarray(tie, dtype=bool).reshape(-1))
    if ties.shape != p.shape:
        raise ParameterError(f"tie ({ties.size}) and pitch ({p.size}) streams must have the "
                             "same length")
    if p.size and (p.min() < 0 or p.max() > REST):
        raise InputError(f"pitch tokens {int(p.min())}..{int(p.max())} are outside 0..{REST}")
    if d.size and (d.min() < 0 or d.max() >= DUR_DIM):
        raise InputError(f"duration tags {int(d.min())}..{int(d.max())} are outside "
                         f"0..{DUR_DIM - 1}")
    q = EVENT_TICKS_PER_QUARTER
    notes: list[list[Any]] = []
    t = 0
    for pi, di, ti in zip(p.tolist(), d.tolist(), ties.tolist(), strict=True):
        length = DURATION_TICKS[di]
        if pi != REST:
            if (ti and notes and notes[-1][2] == pi + PITCH_OFFSET
                    and notes[-1][0] + notes[-1][1] == t):
                notes[-1][1] += length
            else:
                notes.append([t, length, pi + PITCH_OFFSET])
        t += length
    return Melody(id=id, title=title, source="", meter=_meter_tuple(meter),
                  notes=tuple((Fraction(a, q), Fraction(b, q), c) for a, b, c in notes),
                  chords=tuple(sorted(chords, key=lambda c: c.onset)), end=Fraction(t, q))
