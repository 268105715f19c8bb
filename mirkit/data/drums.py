"""A seeded drum-pattern generator that follows a piece's time signatures.

``mirkit synth`` adds a drum part to a track with this module so that the ``drums`` class
exists in synthetic multitrack data (for separation and tagging). The generator works in
quarter-note beats; the caller turns beats into seconds with the piece's tempo map, so the
drums follow every tempo change.

Grooves, per bar of the time signature in force (a signature change that does not fall on
a bar line starts a new bar there):

- *Simple* meters (n/2, n/4, and n/8 when n is not a multiple of 3): ``n`` beats of
  ``4/den`` quarters, a time-keeping cymbal on every half beat.
  4 beats: kick on 1 and 3, snare on 2 and 4; 3 beats: kick on 1, snare on 2 and 3
  (waltz) or on 3 only; 2 beats: kick on 1, snare on 2; other counts: kick on 1, snare on
  every second beat.
- *Compound* meters (6/8, 9/8, 12/8, 3/8, ...): ``n/3`` dotted-quarter beats, the
  cymbal on every eighth; 2 beats: kick on 1, snare on 2; 4 beats: kick on 1 and 3,
  snare on 2 and 4; others: kick on 1, snare on every second beat.
- Per piece (seeded): the time-keeping cymbal (closed hi-hat 42, ride 51 or pedal hi-hat
  44) and the fill period (``fill_every`` bars, by default 4 or 8).
- Per bar (seeded): an extra kick on the half beat before the last backbeat
  (probability 0.3), an open hi-hat (46) instead of the last cymbal stroke (0.2).
- Fills: the last bar of every ``fill_every`` bars replaces its second half (its last
  ``ceil(beats / 2)`` beats) by sixteenth-note snare strokes (38 and 40 alternating,
  rising velocity) with a kick (35) on the first; the next bar starts with a crash (49).
  The first bar starts with a crash too.
- Velocities: kick 100, snare 96, cymbal 72 (+14 on beats, -8 off the beat), fills
  rising 70 -> 112, each with Gaussian variation (standard deviation ``velocity_sd``,
  default 6), clipped to 1..127.

Every note lasts :data:`NOTE_BEATS` (a sixteenth); drum sounds ring out on their own.
Onsets are on the sixteenth grid (multiples of 0.25 quarter notes) from the start of
each bar; outside fills, on the half-beat grid (eighths in 4/4 and 6/8).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mirkit.errors import ParameterError

#: General MIDI drum keys the generator uses.
KICK, KICK_2 = 36, 35
SNARE, SNARE_2 = 38, 40
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
CRASH, RIDE = 49, 51
#: All keys the generator may use.
DRUM_KEYS: tuple[int, ...] = (KICK_2, KICK, SNARE, SNARE_2, CLOSED_HAT, PEDAL_HAT, OPEN_HAT,
                              CRASH, RIDE)

#: Length of every drum note, in quarter notes (a sixteenth).
NOTE_BEATS = 0.25
#: Time-keeping cymbals and their probabilities (per piece).
CYMBALS: tuple[tuple[int, float], ...] = ((CLOSED_HAT, 0.6), (RIDE, 0.25), (PEDAL_HAT, 0.15))
#: Fill periods in bars (one drawn per piece when ``fill_every`` is not given).
FILL_PERIODS: tuple[int, ...] = (4, 8)
#: Probability of an extra kick before the last backbeat, and of an open hi-hat, per bar.
EXTRA_KICK_PROB = 0.3
OPEN_HAT_PROB = 0.2

_BASE_VELOCITY = {"kick": 100, "snare": 96, "cymbal": 72, "crash": 100}
_EPS = 1e-9


@dataclass(frozen=True)
class DrumPart:
    """Generated drum notes (sorted by onset, then key) and the choices behind them.

    Attributes
    ----------
    onset_beats, offset_beats : np.ndarray, shape (n,), float64
        Quarter-note beats from the start of the piece.
    pitch : np.ndarray, shape (n,), int16
        General MIDI drum keys (see :data:`DRUM_KEYS`).
    velocity : np.ndarray, shape (n,), int16
        1..127.
    cymbal : int
        The time-keeping cymbal key of the piece.
    fill_every : int
        Bars per fill.
    fill_bars : tuple of int
        Indices (from 0) of the bars holding a fill.
    """

    onset_beats: NDArray[np.float64]
    offset_beats: NDArray[np.float64]
    pitch: NDArray[np.int16]
    velocity: NDArray[np.int16]
    cymbal: int
    fill_every: int
    fill_bars: tuple[int, ...]

    def __len__(self) -> int:
        return int(self.pitch.shape[0])


def bars(time_signatures: Sequence[tuple[float, int, int]], end_beat: float
         ) -> list[tuple[float, float, int, int]]:
    """The bars from beat 0 up to ``end_beat``: (start, length, numerator, denominator).

    A pickup is a first bar shorter than the next (see :mod:`mirkit.io.symbolic`, which
    encodes an anacrusis as a short first time signature); :func:`drum_pattern` leaves it
    silent.

    Start and length are in quarter notes. ``time_signatures`` is a sorted list of
    (beat, numerator, denominator) as in :class:`mirkit.io.symbolic.Score` (4/4 when empty
    or not starting at 0). A bar cut short by a signature change ends at the change.
    """
    sigs = sorted((float(b), int(n), int(d)) for b, n, d in time_signatures)
    if not sigs or sigs[0][0] > 0:
        sigs.insert(0, (0.0, 4, 4))
    out: list[tuple[float, float, int, int]] = []
    for i, (start, num, den) in enumerate(sigs):
        if num < 1 or den < 1:
            raise ParameterError(f"time signature {num}/{den} at beat {start} is not valid")
        stop = sigs[i + 1][0] if i + 1 < len(sigs) else math.inf
        bar_len = num * 4.0 / den
        pos = start
        while pos < min(stop, end_beat) - _EPS:
            out.append((pos, min(bar_len, stop - pos), num, den))
            pos += bar_len
    return out


def meter(num: int, den: int) -> tuple[int, float, float]:
    """(beats per bar, beat length, half-beat step) of a time signature, in quarter notes.

    Compound meters (``den >= 8`` and ``num`` a multiple of 3: 3/8, 6/8, 9/8, 12/8) count
    dotted beats subdivided in three; the step is then the eighth note.

    Examples
    --------
    >>> meter(4, 4), meter(6, 8), meter(2, 2)
    ((4, 1.0, 0.5), (2, 1.5, 0.5), (2, 2.0, 1.0))
    """
    if den >= 8 and num % 3 == 0:                       # compound: dotted beats
        unit = 4.0 / den
        return num // 3, 3 * unit, unit
    beat = 4.0 / den
    return num, beat, beat / 2


def beat_starts(time_signatures: Sequence[tuple[float, int, int]], end_beat: float
                ) -> NDArray[np.float64]:
    """Start of every metrical beat (see :func:`meter`) before ``end_beat``, in quarters."""
    out: list[float] = []
    for start, length, num, den in bars(time_signatures, end_beat):
        _, beat, _ = meter(num, den)
        k = 0
        while k * beat < length - _EPS and start + k * beat < end_beat - _EPS:
            out.append(start + k * beat)
            k += 1
    return np.array(out, dtype=np.float64)


def _backbeats(n_beats: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """(kick beats, snare beats), 0-based, for a bar of ``n_beats``."""
    if n_beats == 4:
        return [0, 2], [1, 3]
    if n_beats == 3:
        return [0], ([1, 2] if rng.random() < 0.5 else [2])
    if n_beats == 2:
        return [0], [1]
    if n_beats == 1:
        return [0], []
    return [0], list(range(1, n_beats, 2))


def drum_pattern(
    time_signatures: Sequence[tuple[float, int, int]],
    end_beat: float,
    rng: np.random.Generator,
    *,
    fill_every: int | None = None,
    velocity_sd: float = 6.0,
) -> DrumPart:
    """Generate a drum part from beat 0 to ``end_beat`` (see the module docstring).

    Parameters
    ----------
    time_signatures : sequence of (beat, numerator, denominator)
        Where each signature starts, in quarter notes.
    end_beat : float
        Notes start before this beat (the end of the piece, in quarter notes).
    rng : np.random.Generator
        Source of every random choice.
    fill_every : int, optional
        Bars per fill (>= 2); drawn from :data:`FILL_PERIODS` when not given.
    velocity_sd : float
        Standard deviation of the Gaussian velocity variation (0 for none).

    Returns
    -------
    DrumPart
    """
    if not math.isfinite(end_beat) or end_beat < 0:
        raise ParameterError(f"end_beat {end_beat} must be a finite number of beats >= 0")
    if fill_every is not None and fill_every < 2:
        raise ParameterError(f"fill_every {fill_every} must be at least 2 bars")
    if velocity_sd < 0:
        raise ParameterError(f"velocity_sd {velocity_sd} must be >= 0")
    keys, probs = zip(*CYMBALS, strict=True)
    cymbal = int(keys[int(rng.choice(len(keys), p=np.array(probs) / sum(probs)))])
    period = int(fill_every if fill_every is not None
                 else FILL_PERIODS[int(rng.integers(len(FILL_PERIODS)))])

    onsets: list[float] = []
    pitches: list[int] = []
    base: list[float] = []

    def hit(pos: float, key: int, vel: float) -> None:
        if pos < end_beat - _EPS:
            onsets.append(pos)
            pitches.append(key)
            base.append(vel)

    fill_bars: list[int] = []
    crash_next = True
    all_bars = bars(time_signatures, end_beat)
    for index, (start, length, num, den) in enumerate(all_bars):
        if index == 0 and len(all_bars) > 1 and length < all_bars[1][1] - _EPS:
            continue              # a pickup (anacrusis): the drums come in on the downbeat
        n_beats, beat, step = meter(num, den)
        full = abs(length - num * 4.0 / den) < _EPS
        is_fill = full and n_beats >= 2 and (index + 1) % period == 0
        fill_from = start + (n_beats - math.ceil(n_beats / 2)) * beat if is_fill else math.inf
        if is_fill:
            fill_bars.append(index)
        if crash_next:
            hit(start, CRASH, _BASE_VELOCITY["crash"])
        crash_next = is_fill
        kicks, snares = _backbeats(n_beats, rng)
        for b in kicks:
            if start + b * beat < fill_from - _EPS:
                hit(start + b * beat, KICK, _BASE_VELOCITY["kick"])
        for b in snares:
            if start + b * beat < fill_from - _EPS:
                hit(start + b * beat, SNARE, _BASE_VELOCITY["snare"])
        if snares and n_beats >= 2 and rng.random() < EXTRA_KICK_PROB:
            pos = start + snares[-1] * beat - step
            if pos > start + _EPS and pos < fill_from - _EPS:
                hit(pos, KICK, _BASE_VELOCITY["kick"] - 12)
        strokes = [start + k * step for k in range(int(round(length / step)))
                   if start + k * step < min(fill_from, start + length) - _EPS]
        open_last = bool(strokes) and rng.random() < OPEN_HAT_PROB and not is_fill
        for k, pos in enumerate(strokes):
            on_beat = abs((pos - start) / beat - round((pos - start) / beat)) < _EPS
            vel = _BASE_VELOCITY["cymbal"] + (14 if on_beat else -8)
            key = OPEN_HAT if open_last and k == len(strokes) - 1 else cymbal
            hit(pos, key, vel)
        if is_fill:
            n_fill = int(round((start + length - fill_from) / 0.25))
            for k in range(n_fill):
                pos = fill_from + 0.25 * k
                hit(pos, SNARE if k % 2 == 0 else SNARE_2, 70 + 42 * k / max(n_fill - 1, 1))
            hit(fill_from, KICK_2, _BASE_VELOCITY["kick"])

    on = np.array(onsets, dtype=np.float64)
    key_arr = np.array(pitches, dtype=np.int16)
    velocities = np.array(base, dtype=np.float64)
    if velocity_sd > 0 and len(velocities):
        velocities = velocities + rng.normal(0.0, velocity_sd, size=len(velocities))
    vel_arr = np.clip(np.rint(velocities), 1, 127).astype(np.int16)
    order = np.lexsort((key_arr, on))
    on, key_arr, vel_arr = on[order], key_arr[order], vel_arr[order]
    return DrumPart(onset_beats=on, offset_beats=on + NOTE_BEATS, pitch=key_arr,
                    velocity=vel_arr, cymbal=cymbal, fill_every=period,
                    fill_bars=tuple(fill_bars))
