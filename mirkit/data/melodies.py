"""Monophonic melodies with chord symbols: the corpus layer of melody inpainting and generation.

A :class:`Melody` is one tune as exact fractions: notes ``(onset, duration, MIDI pitch)`` in
quarter-note beats, one meter, and the chord symbols of a lead sheet (:class:`Chord`). It is
what :mod:`mirkit.features.tokens` turns into measure tokens (InpaintNet) and pitch/duration
event streams (Genchel et al.), and what the inpainting and melody-generation recipes train on.

Time axis
    Bar lines fall at multiples of :attr:`Melody.bar_length`. A tune that starts with an
    anacrusis (pickup) is shifted right so that its first, incomplete bar is bar 0, padded
    with rest at its start; the amount is :attr:`Melody.shift`. Rests are gaps between notes.

Loading (:func:`load_melodies`)
    ABC files (every tune of a book), MusicXML, kern and MIDI files, and the music21 folk
    collections of :data:`mirkit.data.synth.CORPORA` (``essen``, ``oneills``, ``airds``,
    ``ryans``; pieces of the project holdout list are skipped). Ids are
    ``<folder>/<file stem>#k`` for files (``nottingham-dev/jigs#12``) and
    ``<corpus folder>/<name>#k`` for corpus pieces (``oneills1850/0001-0050#5``), ``#k``
    only for books of several tunes. Parsing with music21 takes tens of milliseconds per
    tune, so ``cache`` keeps parsed tunes on disk. Per tune:

    * one part: the only part with notes, or the one chosen with ``part``; a chord in the
      part gives its highest note, overlapping notes give the top line (a note that starts
      while a higher one sounds is dropped; a sounding note is cut where a new note of equal
      or higher pitch starts);
    * tied notes are merged into one note (also across bar lines), grace notes and
      unpitched notes are dropped;
    * repeats are **not** expanded: notes are read in written order;
    * bars as written: the measures of music21 files are laid out on the bar grid one after
      the other. A short measure with a plain right bar line followed by a full measure is
      a pickup and ends at a bar line (the first one is the anacrusis ``shift``); any other
      short measure (a section end such as ``d2:|`` or a first ending, the last measure)
      continues the current bar when it fits (``d2:|`` + ``e|`` make one bar), else starts
      the next bar; a full measure always starts at a bar line (after a first ending shorter
      than the second, ``[1 ... :|`` then ``[2 ...``, that leaves a rest). Gaps inserted
      inside a tune are counted in :attr:`MelodySet.realigned`;
    * chord symbols: in ABC, the quoted symbols as written (``"Am"``, Nottingham's
      ``"D/f+"`` and ``"Gd"``), parsed with :func:`parse_chord` and placed where music21
      puts a marker symbol (music21 itself drops or rewrites symbols it cannot read);
      of several symbols on one note the last wins; quoted text with a placement prefix
      (``^ _ < > @``) or a space, and one-word text that does not look like a chord
      (fingerings, ``"D.C."``, ``"Fine"``), is an annotation, not a chord. In MusicXML the
      figures of music21's ``ChordSymbol`` objects. "No chord" marks are ignored.

    Tunes that cannot be used are skipped and counted with a reason (see
    :data:`REJECT_REASONS`): a meter change, no notes, several parts, an onset or offset off
    the token grid of the meter, an unknown chord symbol, a measure longer than its meter,
    a meter not asked for, or a file that does not parse.

Splits
    :func:`split_of` hashes the tune id (SHA-256) to train/valid/test 80/10/10, the rule of
    :func:`mirkit.data.synth.split_of`. Transposed copies and bar windows keep their tune's
    id, so they stay in its split.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirkit.errors import InputError, MirkitError, ParameterError

if TYPE_CHECKING:
    from mirkit.io.symbolic import Score

__all__ = [
    "CHORD_QUALITIES",
    "REJECT_REASONS",
    "Chord",
    "Melody",
    "MelodySet",
    "load_melodies",
    "melody_from_score",
    "parse_chord",
    "split_of",
    "transpositions",
]

#: Semitone intervals above the root of each accepted chord quality (the text after the
#: root letter and accidental, before an optional ``/bass``).
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "maj": (0, 4, 7), "M": (0, 4, 7),
    "m": (0, 3, 7), "min": (0, 3, 7), "-": (0, 3, 7),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "M7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "min7": (0, 3, 7, 10),
    "dim": (0, 3, 6), "o": (0, 3, 6), "d": (0, 3, 6),
    "dim7": (0, 3, 6, 9), "o7": (0, 3, 6, 9),
    "m7b5": (0, 3, 6, 10), "ø": (0, 3, 6, 10), "ø7": (0, 3, 6, 10),
    "aug": (0, 4, 8), "+": (0, 4, 8),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "sus": (0, 5, 7),
    "6": (0, 4, 7, 9), "m6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 14), "m9": (0, 3, 7, 10, 14), "maj9": (0, 4, 7, 11, 14),
    "7sus4": (0, 5, 7, 10), "add9": (0, 4, 7, 14),
    "7b9": (0, 4, 7, 10, 13),
}

#: Why :func:`load_melodies` skips a tune (the keys of :meth:`MelodySet.counts`).
REJECT_REASONS: dict[str, str] = {
    "unreadable": "the file or tune does not parse",
    "no notes": "no pitched notes in the chosen part",
    "several parts": "more than one part with notes and no `part` chosen",
    "no such part": "the `part` index is out of range",
    "meter change": "more than one time signature",
    "meter": "a meter not in `meters`",
    "irregular bar": "a measure longer than its meter",
    "off-grid": "an onset or offset off the token grid of the meter",
    "chord symbol": "a chord symbol parse_chord does not accept",
}

#: Pitch-class names used when transposing chord symbols.
_PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"": 0, "#": 1, "b": -1, "+": 1, "-": -1}
# root, accidental, quality, optional bass (letter + accidental; lower case and Nottingham's
# "+" for sharp accepted there).
_CHORD_RE = re.compile(r"^([A-G])([#b]?)(.*?)(?:/([A-Ga-g])([#b+-]?))?$")
#: Largest denominator kept when a float beat position becomes a fraction.
_MAX_DENOMINATOR = 3840
#: Version of the cache files written by :func:`load_melodies` (bump when parsing changes).
CACHE_VERSION = 5


def _frac(x: Any) -> Fraction:
    """An exact fraction of a beat position (floats snap to denominators <= 3840)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, str):
        return Fraction(x)
    f = float(x)
    if not math.isfinite(f):
        raise ParameterError(f"beat position {x!r} is not finite")
    return Fraction(f).limit_denominator(_MAX_DENOMINATOR)


# --------------------------------------------------------------------------- chords


def _accepted_forms() -> str:
    quals = ", ".join(repr(q) for q in CHORD_QUALITIES)
    return (f"a root A-G with optional '#' or 'b', then one of {quals}, then optionally "
            "'/bass' (e.g. 'Am', 'D7', 'F#m7', 'Bb/D')")


def parse_chord(symbol: str) -> tuple[int, tuple[int, ...]]:
    """Root pitch class and sorted pitch-class set of a chord symbol.

    Parameters
    ----------
    symbol : str
        ``<root><quality>[/<bass>]``: root ``A``-``G`` with an optional ``#`` or ``b``; a
        quality from :data:`CHORD_QUALITIES` (``""``, ``m``, ``min``, ``maj``, ``7``,
        ``maj7``, ``M7``, ``m7``, ``min7``, ``dim``, ``dim7``, ``o``, ``o7``, ``m7b5``,
        ``ø``, ``aug``, ``+``, ``sus2``, ``sus4``, ``6``, ``m6``, ``9``, ``m9``, ``maj9``,
        ``7sus4``, ``add9``, plus ``M``, ``-``, ``sus``, ``7b9`` and the Nottingham
        database's ``d`` for diminished); an optional bass note (upper or lower case, with
        ``#``/``b`` or Nottingham's ``+``/``-``), which is added to the set. Surrounding
        white space and one pair of parentheses (an optional chord) are ignored.

    Returns
    -------
    root : int
        Pitch class 0-11 (C = 0).
    pcs : tuple of int
        Sorted distinct pitch classes, root included.

    Raises
    ------
    ParameterError
        Any other text, with the accepted forms in one line.
    """
    text = str(symbol).strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    m = _CHORD_RE.match(text)
    if m is None or m.group(3) not in CHORD_QUALITIES:
        raise ParameterError(f"unknown chord symbol {symbol!r}; use {_accepted_forms()}")
    root = (_LETTER_PC[m.group(1)] + _ACCIDENTAL[m.group(2)]) % 12
    pcs = {(root + iv) % 12 for iv in CHORD_QUALITIES[m.group(3)]}
    if m.group(4):
        pcs.add((_LETTER_PC[m.group(4).upper()] + _ACCIDENTAL[m.group(5)]) % 12)
    return root, tuple(sorted(pcs))


def _transpose_symbol(symbol: str, semitones: int) -> str:
    """The chord symbol moved by ``semitones`` (roots spelled C C# D Eb E F F# G Ab A Bb B)."""
    text = symbol.strip()
    paren = text.startswith("(") and text.endswith(")")
    if paren:
        text = text[1:-1].strip()
    m = _CHORD_RE.match(text)
    if m is None:
        return symbol
    root = (_LETTER_PC[m.group(1)] + _ACCIDENTAL[m.group(2)] + semitones) % 12
    out = _PC_NAMES[root] + m.group(3)
    if m.group(4):
        bass = (_LETTER_PC[m.group(4).upper()] + _ACCIDENTAL[m.group(5)] + semitones) % 12
        out += "/" + _PC_NAMES[bass]
    return f"({out})" if paren else out


@dataclass(frozen=True)
class Chord:
    """One chord symbol of a lead sheet.

    Attributes
    ----------
    onset : Fraction
        Quarter-note beats on the melody's time axis (see :class:`Melody`).
    symbol : str
        As written: ``"Am"``, ``"D7"``, ``"F#m7"``, ``"Bb/D"``, ...
    root : int
        Pitch class 0-11, C = 0.
    pcs : tuple of int
        Sorted distinct pitch classes of the chord, root included.
    """

    onset: Fraction
    symbol: str
    root: int
    pcs: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "onset", _frac(self.onset))
        object.__setattr__(self, "pcs", tuple(sorted({int(p) for p in self.pcs})))
        if self.onset < 0:
            raise ParameterError(f"chord {self.symbol!r} at beat {self.onset}: onsets must be "
                                 ">= 0")
        if not 0 <= int(self.root) <= 11 or any(not 0 <= p <= 11 for p in self.pcs):
            raise ParameterError(f"chord {self.symbol!r}: root {self.root} and pitch classes "
                                 f"{self.pcs} must lie in 0..11")
        if self.root not in self.pcs:
            raise ParameterError(f"chord {self.symbol!r}: the root {self.root} must be one of "
                                 f"its pitch classes {self.pcs}")

    @classmethod
    def from_symbol(cls, onset: Fraction | int | float | str, symbol: str) -> Chord:
        """A chord from its written symbol (parsed with :func:`parse_chord`)."""
        root, pcs = parse_chord(symbol)
        return cls(_frac(onset), str(symbol).strip(), root, pcs)

    def transpose(self, semitones: int) -> Chord:
        """The chord ``semitones`` higher (root, pitch classes and symbol)."""
        s = int(semitones)
        return Chord(self.onset, _transpose_symbol(self.symbol, s), (self.root + s) % 12,
                     tuple(sorted((p + s) % 12 for p in self.pcs)))

    def same_harmony(self, other: Chord | None) -> bool:
        """True when ``other`` has the same root and pitch classes (the symbol may differ)."""
        return other is not None and other.root == self.root and other.pcs == self.pcs


# --------------------------------------------------------------------------- melody


Note = tuple[Fraction, Fraction, int]


@dataclass(frozen=True)
class Melody:
    """One monophonic tune on an exact beat grid.

    Attributes
    ----------
    id : str
        Unique and stable, e.g. ``"nottingham-dev/jigs#12"``, ``"oneills1850/1#5"``. Kept by
        :meth:`transpose` and :meth:`bars`, so derived melodies share the tune's split.
    title : str
        Title ('' when unknown).
    source : str
        File path or ``music21:<corpus path>``, plus ``#k`` for tune ``k`` of an ABC book.
    meter : (int, int)
        (numerator, denominator): exactly one meter per melody.
    notes : tuple of (Fraction, Fraction, int)
        (onset, duration, MIDI pitch) in quarter-note beats; sorted by onset; no overlaps
        (monophonic); rests are gaps. Bar lines are at multiples of :attr:`bar_length`:
        an anacrusis is shifted right so the first (incomplete) bar is bar 0.
    chords : tuple of Chord
        Sorted by onset, at most one per onset; chord k lasts until chord k+1.
    shift : Fraction
        Beats added to the source's times (anacrusis padding).
    end : Fraction or None
        Where the melody ends, in beats, when it ends later than its last note (trailing
        rest, e.g. a window whose last bar is silent); None = at the end of the last note.
        An addition to the shared interface: :attr:`n_bars` counts it.

    Values given as ints, floats or strings are converted to fractions (floats snap to the
    nearest fraction with a denominator <= 3840, which keeps triplets exact).
    """

    id: str
    title: str
    source: str
    meter: tuple[int, int]
    notes: tuple[Note, ...]
    chords: tuple[Chord, ...] = ()
    shift: Fraction = Fraction(0)
    end: Fraction | None = None

    def __post_init__(self) -> None:
        try:
            num, den = (int(v) for v in self.meter)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"meter {self.meter!r} of melody {self.id!r} must be "
                                 "(numerator, denominator)") from exc
        if num < 1 or den < 1 or den & (den - 1):
            raise ParameterError(f"meter {num}/{den} of melody {self.id!r}: the numerator must "
                                 "be >= 1 and the denominator a power of two")
        object.__setattr__(self, "meter", (num, den))
        notes = tuple((_frac(on), _frac(dur), int(p)) for on, dur, p in self.notes)
        prev_end = Fraction(0)
        for k, (on, dur, p) in enumerate(notes):
            if on < prev_end:
                what = "negative" if k == 0 else f"before the end {prev_end} of the previous note"
                raise ParameterError(f"melody {self.id!r}: note {k} starts at beat {on}, {what}; "
                                     "notes must be sorted and must not overlap")
            if dur <= 0:
                raise ParameterError(f"melody {self.id!r}: note {k} at beat {on} lasts {dur} "
                                     "beats; durations must be > 0")
            if not 0 <= p <= 127:
                raise ParameterError(f"melody {self.id!r}: note {k} has MIDI pitch {p}; use "
                                     "0-127")
            prev_end = on + dur
        object.__setattr__(self, "notes", notes)
        chords = tuple(self.chords)
        for a, b in zip(chords, chords[1:], strict=False):
            if b.onset <= a.onset:
                raise ParameterError(f"melody {self.id!r}: chords {a.symbol!r} at {a.onset} and "
                                     f"{b.symbol!r} at {b.onset} are not in strictly increasing "
                                     "onset order")
        object.__setattr__(self, "chords", chords)
        object.__setattr__(self, "shift", _frac(self.shift))
        if self.end is not None:
            end = _frac(self.end)
            if end < prev_end:
                raise ParameterError(f"melody {self.id!r}: end {end} lies before the end "
                                     f"{prev_end} of its last note")
            object.__setattr__(self, "end", end)

    # ------------------------------------------------------------------ properties

    @property
    def bar_length(self) -> Fraction:
        """Length of one bar in quarter-note beats: ``numerator * 4 / denominator``."""
        return Fraction(4 * self.meter[0], self.meter[1])

    @property
    def last_offset(self) -> Fraction:
        """End of the melody: :attr:`end` if set, else the end of the last note (0 if none)."""
        last = self.notes[-1][0] + self.notes[-1][1] if self.notes else Fraction(0)
        return max(last, self.end) if self.end is not None else last

    @property
    def n_bars(self) -> int:
        """Number of bars: ``ceil(last_offset / bar_length)``."""
        return math.ceil(self.last_offset / self.bar_length)

    @property
    def pitches(self) -> tuple[int, ...]:
        """MIDI pitches of the notes, in order."""
        return tuple(p for _, _, p in self.notes)

    # ------------------------------------------------------------------ transforms

    def transpose(self, semitones: int) -> Melody:
        """The melody ``semitones`` higher: notes, chord roots, pitch classes and symbols.

        Raises
        ------
        ParameterError
            A pitch would leave MIDI 0-127.
        """
        s = int(semitones)
        if s == 0:
            return self
        if self.notes:
            low, high = self.pitch_range()
            if low + s < 0 or high + s > 127:
                raise ParameterError(f"transposing melody {self.id!r} by {s} semitones moves "
                                     f"its range {low}-{high} outside MIDI 0-127")
        return replace(self, notes=tuple((on, d, p + s) for on, d, p in self.notes),
                       chords=tuple(c.transpose(s) for c in self.chords))

    def pitch_range(self) -> tuple[int, int]:
        """(lowest, highest) MIDI pitch. Raises InputError for a melody without notes."""
        if not self.notes:
            raise InputError(f"melody {self.id!r} has no notes, so it has no pitch range")
        ps = self.pitches
        return min(ps), max(ps)

    def chord_at(self, beat: Fraction | int | float) -> Chord | None:
        """The chord sounding at ``beat`` (the last one starting at or before it), or None."""
        b = _frac(beat)
        found: Chord | None = None
        for c in self.chords:
            if c.onset > b:
                break
            found = c
        return found

    def to_score(self) -> Score:
        """A one-part :class:`~mirkit.io.symbolic.Score`: the notes, the meter, 120 qpm.

        The time axis is the melody's (an anacrusis starts after a rest); chords are not
        part of a Score.
        """
        from mirkit.io.symbolic import DEFAULT_QPM, PartInfo, Score

        on = [float(n[0]) for n in self.notes]
        off = [float(n[0] + n[1]) for n in self.notes]
        return Score.from_notes(
            [n[2] for n in self.notes], onset_beats=on, offset_beats=off,
            parts=[PartInfo(name=self.title)], tempos=[(0.0, DEFAULT_QPM)],
            time_signatures=[(0.0, self.meter[0], self.meter[1])], title=self.title or None)

    def bars(self, start: int, stop: int) -> Melody:
        """The sub-melody of bars ``[start, stop)``, starting at beat 0.

        A note sounding across a window edge is clipped to the window (a note held into the
        window starts at its first beat). The chord sounding at the window start is placed at
        beat 0. ``end`` is the window's length, so the result has ``stop - start`` bars even
        when its last bars are silent. ``shift`` is 0 unless ``start`` is 0.
        """
        if not 0 <= start < stop:
            raise ParameterError(f"bar window [{start}, {stop}) of melody {self.id!r}: need "
                                 "0 <= start < stop")
        bar = self.bar_length
        a, b = start * bar, stop * bar
        notes = []
        for on, d, p in self.notes:
            lo, hi = max(on, a), min(on + d, b)
            if lo < hi:
                notes.append((lo - a, hi - lo, p))
        chords = []
        current = self.chord_at(a)
        if current is not None:
            chords.append(replace(current, onset=Fraction(0)))
        chords.extend(replace(c, onset=c.onset - a) for c in self.chords if a < c.onset < b)
        return replace(self, notes=tuple(notes), chords=tuple(chords),
                       shift=self.shift if start == 0 else Fraction(0), end=b - a)

    # ------------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (fractions as ``"n/d"`` strings); :meth:`from_dict` inverts it."""
        return {
            "id": self.id, "title": self.title, "source": self.source,
            "meter": list(self.meter),
            "notes": [[str(on), str(d), p] for on, d, p in self.notes],
            "chords": [[str(c.onset), c.symbol, c.root, list(c.pcs)] for c in self.chords],
            "shift": str(self.shift), "end": None if self.end is None else str(self.end),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Melody:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                id=str(d["id"]), title=str(d.get("title", "")), source=str(d.get("source", "")),
                meter=(int(d["meter"][0]), int(d["meter"][1])),
                notes=tuple((Fraction(on), Fraction(du), int(p)) for on, du, p in d["notes"]),
                chords=tuple(Chord(Fraction(on), str(sym), int(r), tuple(pcs))
                             for on, sym, r, pcs in d.get("chords", ())),
                shift=Fraction(d.get("shift", "0")),
                end=None if d.get("end") is None else Fraction(d["end"]))
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            if isinstance(exc, MirkitError):
                raise
            raise InputError(f"not a serialised melody: {exc!r}") from exc


def transpositions(m: Melody, low: int, high: int) -> list[int]:
    """Every semitone shift (ascending, 0 included when it fits) keeping ``m`` in [low, high].

    Empty when the melody's range is wider than ``high - low``. InpaintNet's augmentation:
    each tune transposed to every interval inside the vocabulary range (55-84).
    """
    if low > high:
        raise ParameterError(f"pitch range [{low}, {high}] is empty; need low <= high")
    lo, hi = m.pitch_range()
    return list(range(low - lo, high - hi + 1))


def split_of(melody_id: str) -> str:
    """``"train"``, ``"valid"`` or ``"test"``: SHA-256 of the tune id, 80/10/10."""
    from mirkit.data.synth import split_of as _split

    return _split(melody_id)


# --------------------------------------------------------------------------- extraction


def _top_line(raw: Iterable[tuple[Fraction, Fraction, int]]) -> list[Note]:
    """The top line of possibly overlapping notes (see the module docstring)."""
    by_onset: dict[Fraction, tuple[Fraction, int]] = {}
    for on, dur, p in raw:
        if dur <= 0:
            continue
        best = by_onset.get(on)
        if best is None or p > best[1] or (p == best[1] and dur > best[0]):
            by_onset[on] = (dur, p)
    out: list[Note] = []
    for on in sorted(by_onset):
        dur, p = by_onset[on]
        if out:
            pon, pdur, pp = out[-1]
            if on < pon + pdur:                 # overlaps the sounding note
                if p < pp:
                    continue                     # hidden under a higher note
                out[-1] = (pon, on - pon, pp)    # cut where the new note starts
        out.append((on, dur, p))
    return out


class RejectedTune(InputError):
    """A tune :func:`load_melodies` skips; ``reason`` is a key of :data:`REJECT_REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _meter_of(sigs: Sequence[tuple[Fraction, int, int]], where: str
              ) -> tuple[tuple[int, int], Fraction | None]:
    """(meter, pickup length or None) from time signatures (beat, num, den).

    A first signature that lasts exactly one bar shorter than the next (how MIDI files and
    :func:`mirkit.io.symbolic.read_score` mark an anacrusis: 1/4 then 4/4) is a pickup.
    Several distinct meters otherwise -> RejectedTune("meter change").
    """
    if not sigs:
        return (4, 4), None
    sigs = sorted(sigs, key=lambda s: s[0])
    pickup = None
    if len(sigs) >= 2 and sigs[0][0] == 0:
        first = Fraction(4 * sigs[0][1], sigs[0][2])
        nxt = Fraction(4 * sigs[1][1], sigs[1][2])
        if sigs[1][0] == first and first < nxt:
            pickup = first
            sigs = sigs[1:]
    meters = {(n, d) for _, n, d in sigs}
    if len(meters) > 1:
        listed = ", ".join(f"{n}/{d}" for n, d in sorted(meters))
        raise RejectedTune("meter change", f"{where}: several meters ({listed})")
    (meter,) = meters
    return meter, pickup


def melody_from_score(
    score: Score,
    *,
    id: str = "score",
    source: str = "",
    part: int | None = None,
    chords: Sequence[Chord] = (),
) -> Melody:
    """The monophonic melody of one part of a :class:`~mirkit.io.symbolic.Score`.

    Parameters
    ----------
    score : Score
        E.g. from :func:`mirkit.io.symbolic.read_score` (MIDI) or :meth:`Melody.to_score`.
    id, source : str
        Stored in the melody.
    part : int, optional
        Part index; default: the only part with notes.
    chords : sequence of Chord
        Chord symbols on the score's time axis (a Score has none of its own); they are
        shifted with the notes.

    The meter comes from the time signatures; a short first signature followed by a longer
    one (1/4 then 4/4) is an anacrusis, shifted so it ends at the first bar line. Beats snap
    to fractions with denominators <= 3840 (exact for MIDI ticks of 960 per quarter).

    Raises
    ------
    InputError
        (a :class:`RejectedTune`) several parts and no ``part``, no notes, several meters.
    """
    where = source or id
    notes = score.notes
    used = sorted({int(p) for p in notes["part"]})
    if part is None:
        if len(used) > 1:
            raise RejectedTune("several parts", f"{where}: {len(used)} parts hold notes; choose "
                                                "one with part=")
        sel = notes
    else:
        if not 0 <= part < max(len(score.parts), 1):
            raise RejectedTune("no such part", f"{where}: part {part} does not exist (it has "
                                               f"{len(score.parts)})")
        sel = notes[notes["part"] == part]
    raw = [(_frac(r["onset_beats"]), _frac(r["offset_beats"]) - _frac(r["onset_beats"]),
            int(r["pitch"])) for r in sel]
    line = _top_line(raw)
    if not line:
        raise RejectedTune("no notes", f"{where}: no notes")
    sigs = [(_frac(b), n, d) for b, n, d in score.time_signatures]
    meter, pickup = _meter_of(sigs, where)
    bar = Fraction(4 * meter[0], meter[1])
    shift = bar - pickup if pickup is not None else Fraction(0)
    return Melody(id=id, title=score.title or "", source=source, meter=meter,
                  notes=tuple((on + shift, d, p) for on, d, p in line),
                  chords=_dedup_chords([replace(c, onset=c.onset + shift) for c in chords]),
                  shift=shift)


def _dedup_chords(chords: Iterable[Chord]) -> tuple[Chord, ...]:
    """Sorted by onset; of chords at one onset the last one written wins."""
    by_onset: dict[Fraction, Chord] = {}
    for c in chords:
        by_onset[c.onset] = c
    return tuple(by_onset[k] for k in sorted(by_onset))


def _layout_measures(lengths: Sequence[Fraction], bar: Fraction,
                     section_end: Sequence[bool] | None = None) -> tuple[list[Fraction], int]:
    """Start of each measure on the bar grid, and how many gaps it took inside the tune.

    A short measure is a *pickup* when its right bar line is a plain one and a full measure
    follows: it is placed to end at a bar line. Any other short measure (a section end such
    as a first ending, the last measure) continues the current bar when it fits, else starts
    the next bar. A full measure always starts at a bar line. See the module docstring
    ("bars as written"). Raises RejectedTune for a measure longer than ``bar``.
    """
    ends = list(section_end) if section_end is not None else [False] * len(lengths)
    starts: list[Fraction] = []
    pos = Fraction(0)
    moved = 0
    for k, d in enumerate(lengths):
        r = pos % bar
        if d > bar:
            raise RejectedTune("irregular bar", f"measure {k + 1} lasts {d} beats, more than a "
                                                f"bar of {bar}")
        if d == bar:
            if r:
                pos += bar - r
                moved += 1
        elif d > 0:
            following = next((x for x in lengths[k + 1:] if x > 0), None)
            pickup = not ends[k] and following is not None and following >= bar
            if r + d > bar:                     # does not fit: next bar line
                pos += bar - r
                moved += 1
                r = Fraction(0)
            if pickup and r + d < bar:          # end at the bar line
                pos += bar - r - d
                moved += 1 if k else 0          # (the first one is the anacrusis shift)
        starts.append(pos)
        pos += d
    return starts, moved


def _m21_figure(figure: str) -> str:
    """A music21 figure in lead-sheet spelling: its '-' flats become 'b' (``B-7`` -> ``Bb7``)."""
    return re.sub(r"(^|/)([A-G])-", r"\1\2b", figure.strip())


#: Text after which an ABC annotation is not a chord symbol (placement prefixes).
_ABC_ANNOTATION_PREFIX = ("^", "_", "<", ">", "@")
_ABC_QUOTED = re.compile(r'"([^"\n]*)"')
#: A run of quoted strings with only spaces between them (``"G""Em"G3``).
_ABC_QUOTED_RUN = re.compile(r'"[^"\n]*"(?:\s*"[^"\n]*")*')
#: A one-word ABC annotation shaped like a chord symbol: a root, then the start of a
#: quality (a digit, m, M, dim, aug, sus, add, +, -, /, (, ø, o or a alone or before a digit,
#: d at the end). "Fa7", "Am(add9)" and "C7#11" are chords parse_chord refuses; "Coda",
#: "Fine", "End", "D.C." are text.
_CHORD_LIKE = re.compile(r"^\(?[A-G][#b]?(?:$|[0-9]|m|M|dim|aug|sus|add|[+\-/(ø]"
                         r"|o(?:$|[0-9])|a(?:$|[0-9])|d$)")
#: What each accepted ABC chord symbol becomes for music21 (which drops or rewrites
#: symbols it cannot read, e.g. Nottingham's ``Gd`` or ``D/f+``).
_ABC_CHORD_MARKER = "C"


def _abc_chord_markers(tune: str, where: str) -> tuple[str, list[str]]:
    """(tune text with every chord symbol replaced by a marker, the written symbols).

    Quoted strings in the tune body (after ``K:``) are chord symbols unless they start with
    an annotation prefix (``^ _ < > @``; kept) or hold a space (free text; removed). Of several
    chord symbols in a row (``"G""Em"G3``) the last one is kept. A one-word string that
    :func:`parse_chord` refuses raises RejectedTune("chord symbol") when it looks like a
    chord (:data:`_CHORD_LIKE`: ``"Fa7"``, ``"C7#11"``) and is removed otherwise
    (fingerings ``"4"``, ``"D.C."``, ``"Fine"``, ``"Coda"``, ``"tr"``).
    """
    lines = tune.split("\n")
    body = False
    figures: list[str] = []
    for i, line in enumerate(lines):
        if not body:
            body = line.startswith("K:")
            continue
        if line.startswith("%") or re.match(r"^[A-Za-z]:", line):
            continue
        code, _, comment = line.partition("%")

        def swap(match: re.Match[str]) -> str:
            kept: list[str] = []
            chord: str | None = None
            for text in _ABC_QUOTED.findall(match.group(0)):
                word = text.strip()
                if text.startswith(_ABC_ANNOTATION_PREFIX):
                    kept.append(f'"{text}"')   # placed text: music21 makes no chord of it
                    continue
                if " " in word or not word:
                    continue                   # free text ("Da Capo"): dropped
                try:
                    parse_chord(word)
                except ParameterError as exc:
                    if _CHORD_LIKE.match(word):
                        raise RejectedTune("chord symbol", f"{where}: {exc}") from exc
                    continue                   # fingering, "D.C.", "Fine": dropped
                chord = word                   # of several chords on one note the last wins
            if chord is not None:
                figures.append(chord)
                kept.append(f'"{_ABC_CHORD_MARKER}"')
            return "".join(kept)

        code = _ABC_QUOTED_RUN.sub(swap, code)
        lines[i] = code + ("%" + comment if "%" in line else "")
    return "\n".join(lines), figures


def _is_section_end(measure: Any) -> bool:
    """True when a music21 measure ends with a repeat, double or final bar line."""
    bl = getattr(measure, "rightBarline", None)
    if bl is None:
        return False
    return type(bl).__name__ == "Repeat" or getattr(bl, "type", "regular") not in (
        "regular", "dashed", "dotted", "tick", "short", "none")


def _melody_from_music21(
    parsed: Any, *, id: str, source: str, part: int | None,
    figures: Sequence[str] | None = None,
) -> tuple[Melody, int]:
    """(melody, interior realignments) of a parsed music21 Score/Part.

    ``figures``: the written chord symbols of an ABC tune whose symbols were replaced by
    markers (:func:`_abc_chord_markers`), in written order; the k-th ChordSymbol of the
    part gets the k-th figure. Without it the ChordSymbols' own figures are used.
    """
    from music21 import chord as m21chord
    from music21 import harmony, meter, note, stream

    where = source or id
    parts = list(parsed.parts) if isinstance(parsed, stream.Score) else []
    if not parts:
        parts = [parsed]
    if part is not None:
        if not 0 <= part < len(parts):
            raise RejectedTune("no such part", f"{where}: part {part} does not exist (it has "
                                               f"{len(parts)})")
        chosen = parts[part]
    else:
        with_notes = [p for p in parts if any(
            not isinstance(n, harmony.Harmony) for n in p.recurse().notes)]
        if len(with_notes) > 1:
            raise RejectedTune("several parts", f"{where}: {len(with_notes)} parts hold notes; "
                                                "choose one with part=")
        if not with_notes:
            raise RejectedTune("no notes", f"{where}: no notes")
        chosen = with_notes[0]
    flat = chosen.flatten()
    sigs = [(_frac(flat.elementOffset(ts)), int(ts.numerator), int(ts.denominator))
            for ts in flat.getElementsByClass(meter.TimeSignature)]
    by_beat: dict[Fraction, tuple[Fraction, int, int]] = {}
    for s in sigs:                              # of signatures at one beat the last one wins
        by_beat[s[0]] = s
    meter_, _ = _meter_of(list(by_beat.values()), where)
    bar = Fraction(4 * meter_[0], meter_[1])
    measures: list[Any] = list(chosen.getElementsByClass(stream.Measure))
    if not measures:
        measures = [chosen]
        starts, moved = [Fraction(0)], 0
    else:
        lengths = [_frac(m.duration.quarterLength) for m in measures]
        starts, moved = _layout_measures(lengths, bar, [_is_section_end(m) for m in measures])
    chosen.stripTies(inPlace=True)          # after measuring: a merged note lengthens its bar
    raw: list[tuple[Fraction, Fraction, int]] = []
    symbols: list[tuple[Fraction, str]] = []
    for m, start in zip(measures, starts, strict=True):
        mflat = m.flatten()
        for el in mflat.notes:
            on = start + _frac(mflat.elementOffset(el))
            if isinstance(el, harmony.Harmony):
                if isinstance(el, harmony.ChordSymbol) and not isinstance(el, harmony.NoChord):
                    symbols.append((on, _m21_figure(str(el.figure))))
                continue
            if el.duration.isGrace:
                continue
            dur = _frac(el.quarterLength)
            if isinstance(el, m21chord.Chord):
                midis = [p.midi for p in el.pitches]
                if midis:
                    raw.append((on, dur, max(midis)))
            elif isinstance(el, note.Note):
                raw.append((on, dur, int(el.pitch.midi)))
    line = _top_line(raw)
    if not line:
        raise RejectedTune("no notes", f"{where}: no notes")
    if figures is not None:
        if len(figures) != len(symbols):
            raise RejectedTune("chord symbol", f"{where}: {len(figures)} chord symbols written "
                                               f"but music21 placed {len(symbols)}")
        symbols = [(on, fig) for (on, _), fig in zip(symbols, figures, strict=True)]
    chords = []
    for on, fig in symbols:
        try:
            chords.append(Chord.from_symbol(on, fig))
        except ParameterError as exc:
            raise RejectedTune("chord symbol", f"{where}: {exc}") from exc
    shift = starts[0] if starts else Fraction(0)
    title = parsed.metadata.bestTitle if parsed.metadata is not None else None
    return Melody(id=id, title=str(title or ""), source=source, meter=meter_,
                  notes=tuple(line), chords=_dedup_chords(chords), shift=shift), moved


# --------------------------------------------------------------------------- loading


class MelodySet(list[Melody]):
    """The melodies :func:`load_melodies` read (a list), plus what it skipped.

    Attributes
    ----------
    rejected : list of (source, reason, message)
        One entry per skipped tune; ``reason`` is a key of :data:`REJECT_REASONS`.
    held_out : list of str
        Sources of pieces skipped because they are on the holdout list.
    realigned : int
        Measures moved to a bar line inside tunes (see "bars as written").
    seconds : float
        Wall time of the call.
    """

    def __init__(self, items: Iterable[Melody] = ()) -> None:
        super().__init__(items)
        self.rejected: list[tuple[str, str, str]] = []
        self.held_out: list[str] = []
        self.realigned = 0
        self.seconds = 0.0

    def counts(self) -> Counter[str]:
        """Number of rejected tunes per reason."""
        return Counter(reason for _, reason, _ in self.rejected)

    def meters(self) -> Counter[str]:
        """Number of loaded melodies per meter (``"6/8"`` etc.)."""
        return Counter(f"{m.meter[0]}/{m.meter[1]}" for m in self)


def _parse_meters(meters: Iterable[tuple[int, int] | str] | None) -> set[tuple[int, int]] | None:
    if meters is None:
        return None
    out: set[tuple[int, int]] = set()
    for m in meters:
        try:
            if isinstance(m, str):
                a, b = m.split("/")
                out.add((int(a), int(b)))
            else:
                a2, b2 = m
                out.add((int(a2), int(b2)))
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"meter {m!r} must be 'N/D' or (N, D), e.g. '4/4'") from exc
    return out


def _cache_file(cache: Path, path: Path, part: int | None) -> Path:
    key = hashlib.sha256(f"{path.resolve()}|{part}".encode()).hexdigest()[:24]
    return cache / f"{key}.json"


def _file_stamp(path: Path) -> list[int]:
    st = path.stat()
    return [int(st.st_mtime_ns), int(st.st_size)]


def _read_cache(file: Path, path: Path, stamp: list[int]) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if (data.get("version") != CACHE_VERSION or data.get("path") != str(path.resolve())
            or data.get("stamp") != stamp):
        return {}
    tunes = data.get("tunes")
    return tunes if isinstance(tunes, dict) else {}


def _write_cache(file: Path, path: Path, stamp: list[int], tunes: dict[str, Any]) -> None:
    from mirkit.io.atomic import atomic_write

    file.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": CACHE_VERSION, "path": str(path.resolve()), "stamp": stamp,
               "tunes": tunes}
    with atomic_write(file) as tmp:
        tmp.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")


def _parse_piece(path: Path, index: int, *, id: str, source: str, part: int | None
                 ) -> tuple[Melody, int]:
    """Parse tune ``index`` of ``path`` (any symbolic format) into a melody."""
    from mirkit.io.symbolic import _abc_tune_text, _resolve_format, read_score

    try:
        fmt = _resolve_format(path, None)
    except MirkitError as exc:
        raise RejectedTune("unreadable", str(exc)) from exc
    if fmt == "midi":
        try:
            score = read_score(path, index=index)
        except InputError as exc:
            reason = "no notes" if "holds no notes" in str(exc) else "unreadable"
            raise RejectedTune(reason, str(exc)) from exc
        return melody_from_score(score, id=id, source=source, part=part), 0
    from music21 import converter, stream

    figures: list[str] | None = None
    try:
        if fmt == "abc":
            text = _abc_tune_text(path, index)
            if not re.search(r"^V:", text, re.MULTILINE):     # one voice: map the symbols
                text, figures = _abc_chord_markers(text, source)
            parsed = converter.parseData(text, format="abc")
        else:
            parsed = converter.parseFile(path, format=fmt, forceSource=True, storePickle=False)
        if isinstance(parsed, stream.Opus):
            scores = list(parsed.scores)
            if not 0 <= index < len(scores):
                raise InputError(f"cannot read score {index} of '{path}': it holds "
                                 f"{len(scores)}")
            parsed = scores[index]
    except RejectedTune:
        raise
    except Exception as exc:  # music21 raises many types on malformed input
        raise RejectedTune("unreadable", f"{source}: {type(exc).__name__}: {exc}") from exc
    try:
        return _melody_from_music21(parsed, id=id, source=source, part=part, figures=figures)
    except RejectedTune:
        raise
    except Exception as exc:
        raise RejectedTune("unreadable", f"{source}: {type(exc).__name__}: {exc}") from exc


def _grid_problem(m: Melody) -> str | None:
    from mirkit.features.tokens import off_grid

    return off_grid(m)


def load_melodies(
    paths_or_corpora: Sequence[str | os.PathLike[str]],
    *,
    meters: Iterable[tuple[int, int] | str] | None = None,
    part: int | None = None,
    require_grid: bool = True,
    cache: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    holdout: frozenset[str] | None = None,
    limit: int | None = None,
) -> MelodySet:
    """Read monophonic melodies from files, folders and music21 folk collections.

    Parameters
    ----------
    paths_or_corpora : sequence of str or PathLike
        Files (ABC books give every tune), folders (searched recursively), globs, and names
        of :data:`mirkit.data.synth.CORPORA` (``essen``, ``oneills``, ``airds``, ``ryans``).
    meters : iterable of (int, int) or 'N/D', optional
        Keep only these meters (exact: ``2/2`` is not ``4/4``); default all.
    part : int, optional
        Part index for pieces with several parts; default: the only part with notes.
    require_grid : bool
        Skip tunes with an onset or offset off the token grid of their meter
        (:func:`mirkit.features.tokens.off_grid`) [True].
    cache : path, optional
        A folder for parsed tunes: one JSON file per source file, keyed by its resolved path,
        modification time and size (and ``part``), holding each tune's melody or rejection.
        A second call with the same files parses nothing. Filters (``meters``,
        ``require_grid``) are applied after the cache, so one cache serves every filter.
    progress : callable, optional
        Called as ``progress(done, total)`` after each tune.
    holdout : frozenset of str, optional
        Holdout keys (:func:`mirkit.data.synth.holdout_names`, the default).
    limit : int, optional
        Stop after this many tunes were looked at (quick checks).

    Returns
    -------
    MelodySet
        The melodies in input order, with ``rejected``, ``held_out`` and ``realigned``.

    Raises
    ------
    ParameterError
        An unknown collection name or a bad meter.
    InputError
        Nothing readable was named.
    """
    from mirkit.data.synth import CORPORA, collect_pieces

    t0 = time.perf_counter()
    wanted = _parse_meters(meters)
    corpora = [str(s) for s in paths_or_corpora if str(s) in CORPORA]
    sources = [s for s in paths_or_corpora if str(s) not in CORPORA]
    pieces = collect_pieces(sources, corpora, holdout=holdout)
    out = MelodySet()
    out.held_out = [ref.source for ref in pieces.held_out]
    for src, msg in pieces.problems:
        out.rejected.append((src, "unreadable", msg))
    if not pieces.pieces and not pieces.held_out:
        detail = "; ".join(msg for _, msg in pieces.problems[:3])
        raise InputError(f"no symbolic files found in {[str(s) for s in paths_or_corpora]}"
                         + (f": {detail}" if detail else ""))
    refs = pieces.pieces if limit is None else pieces.pieces[: max(int(limit), 0)]
    cache_dir = Path(cache) if cache is not None else None
    file_state: dict[str, tuple[Path, list[int], dict[str, Any], bool]] = {}

    def flush(key: str) -> None:
        path, stamp, tunes, dirty = file_state[key]
        if dirty and cache_dir is not None:
            _write_cache(_cache_file(cache_dir, path, part), path, stamp, tunes)
            file_state[key] = (path, stamp, tunes, False)

    current: str | None = None
    for done, ref in enumerate(refs, 1):
        path = Path(ref.path)
        key = str(path)
        if key != current:
            if current is not None:
                flush(current)
            current = key
            if key not in file_state:
                stamp = _file_stamp(path)
                tunes = (_read_cache(_cache_file(cache_dir, path, part), path, stamp)
                         if cache_dir is not None else {})
                file_state[key] = (path, stamp, tunes, False)
        fpath, stamp, tunes, dirty = file_state[key]
        source = ref.source[len("file:"):] if ref.source.startswith("file:") else ref.source
        mid = ref.piece if ref.source.startswith("music21:") else f"{path.parent.name}/{ref.piece}"
        entry = tunes.get(str(ref.index))
        if entry is None or entry.get("id") != mid:
            try:
                melody, moved = _parse_piece(path, ref.index, id=mid, source=source, part=part)
                entry = {"id": mid, "melody": melody.to_dict(), "moved": moved}
            except RejectedTune as exc:
                entry = {"id": mid, "reason": exc.reason, "message": str(exc)}
            tunes[str(ref.index)] = entry
            file_state[key] = (fpath, stamp, tunes, True)
        if "reason" in entry:
            out.rejected.append((source, str(entry["reason"]), str(entry["message"])))
        else:
            melody = Melody.from_dict(entry["melody"])
            if wanted is not None and melody.meter not in wanted:
                out.rejected.append((source, "meter", f"{source}: meter "
                                     f"{melody.meter[0]}/{melody.meter[1]} not asked for"))
            else:
                problem = _grid_problem(melody) if require_grid else None
                if problem is not None:
                    out.rejected.append((source, "off-grid", f"{source}: {problem}"))
                else:
                    out.append(melody)
                    out.realigned += int(entry.get("moved", 0))
        if progress is not None:
            progress(done, len(refs))
    if current is not None:
        flush(current)
    out.seconds = time.perf_counter() - t0
    return out

