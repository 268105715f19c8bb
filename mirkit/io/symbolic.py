"""Symbolic music I/O: one small note table for MIDI, MusicXML, ABC and Humdrum kern.

Every reader returns a :class:`Score`: a NumPy structured array of notes (one row per note,
sorted by onset, then pitch, then part) with onsets and offsets both in seconds and in
quarter-note beats, plus the parts, the tempo map and the time signatures. Later stages
(rendering, generation, assessment, dataset export) build on this one representation.

Readers
    * MIDI (``.mid``, ``.midi``) through pretty_midi. Each instrument track (pretty_midi's
      program/channel/track triple) is a part; drum tracks (channel 10) are flagged. Beat
      positions are exact: they are the file's ticks divided by its resolution.
    * MusicXML (``.xml``, ``.musicxml``, ``.mxl``), ABC (``.abc``) and kern (``.krn``)
      through music21. Tied notes are merged into one note, chords are expanded into their
      notes, grace notes are skipped, and repeats are *not* expanded (the notes are read in
      written order). Velocities come from an explicit note velocity when the file has one,
      else from the latest dynamic mark (``volumeScalar * 127``), else 80. Tempo comes from
      metronome marks (120 quarter notes per minute when there are none); time signatures
      from the first part. An ABC file holding several tunes (a "book") yields one tune,
      chosen with ``index``.

Writers
    * :func:`write_midi` encodes the Standard MIDI File bytes directly (no third-party code):
      a conductor track with the tempo map and time signatures, then one track per part.
    * :func:`write_musicxml` builds a music21 score quantised to a beat grid.

Both write atomically and create missing parent folders. All third-party errors surface as
:class:`~mirkit.errors.InputError` naming the file.

Known limits (of the libraries underneath)
    * MIDI tempi are whole microseconds per quarter, so 90 qpm is stored as 666 667 us and
      reads back as 89.99996 qpm. pretty_midi does not report the title (track 0's name),
      drops tracks without notes, and lets one note-off end every open note of that pitch.
    * music21 re-derives a MusicXML instrument from its name when the program is a piano
      one, so programs 1-7 read back as 0. music21 refuses ABC tunes that state neither
      ``M:`` nor ``L:``; the reader adds ABC's default ``L:1/8`` for them.
    * Unpitched percussion notes in MusicXML take their instrument's General MIDI drum key;
      those without one are skipped.
"""

from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError
from mirkit.io.atomic import atomic_write

__all__ = [
    "DEFAULT_QPM",
    "DEFAULT_VELOCITY",
    "NOTE_DTYPE",
    "SYMBOLIC_EXTENSIONS",
    "PartInfo",
    "Score",
    "list_tunes",
    "read_score",
    "write_midi",
    "write_musicxml",
]

#: File extensions the readers accept (lower case, with the dot).
SYMBOLIC_EXTENSIONS: frozenset[str] = frozenset(
    {".mid", ".midi", ".xml", ".musicxml", ".mxl", ".abc", ".krn"}
)

#: Tempo, in quarter notes per minute, when a file gives none.
DEFAULT_QPM = 120.0
#: Velocity given to notes whose file states neither a velocity nor a dynamic.
DEFAULT_VELOCITY = 80
#: Time signature when a file gives none (also MIDI's default).
DEFAULT_TIME_SIGNATURE = (4, 4)
#: Ticks per quarter note in files :func:`write_midi` makes (divisible by 2^6, 3 and 5).
DEFAULT_TICKS_PER_BEAT = 960
#: Grid of :func:`write_musicxml`: each position snaps to the nearest multiple of 1/d for a d
#: here (sixteenths and eighth-note triplets).
DEFAULT_GRID = (4, 3)
#: Drum channel (0-based; "channel 10" in the General MIDI spec).
DRUM_CHANNEL = 9
#: Microseconds per minute, to turn quarter notes per minute into a MIDI tempo.
_US_PER_MINUTE = 60_000_000
#: Slack when comparing beat positions (float noise from tick or fraction arithmetic).
_BEAT_EPS = 1e-9

#: One row per note. Onsets/offsets in seconds and in quarter-note beats from the start.
NOTE_DTYPE = np.dtype(
    [
        ("onset", np.float64),
        ("offset", np.float64),
        ("onset_beats", np.float64),
        ("offset_beats", np.float64),
        ("pitch", np.int16),
        ("velocity", np.int16),
        ("part", np.int16),
    ]
)

_FORMAT_BY_EXTENSION = {
    ".mid": "midi", ".midi": "midi",
    ".xml": "musicxml", ".musicxml": "musicxml", ".mxl": "musicxml",
    ".abc": "abc",
    ".krn": "humdrum",
}
_FORMAT_ALIASES = {
    "midi": "midi", "mid": "midi",
    "musicxml": "musicxml", "xml": "musicxml", "mxl": "musicxml",
    "abc": "abc",
    "kern": "humdrum", "krn": "humdrum", "humdrum": "humdrum",
}


@dataclass(frozen=True)
class PartInfo:
    """One part (instrument track) of a :class:`Score`.

    Attributes
    ----------
    name : str
        Part or track name as the file gives it ('' when it has none).
    program : int
        General MIDI program, 0-127 (0 when the file names none).
    is_drum : bool
        True for a percussion part (MIDI channel 10).
    """

    name: str = ""
    program: int = 0
    is_drum: bool = False

    def __post_init__(self) -> None:
        if not 0 <= int(self.program) <= 127:
            raise ParameterError(f"MIDI program {self.program} is out of range; use 0-127")


# --------------------------------------------------------------------------- tempo map


def _normalise_tempos(tempos: list[tuple[float, float]] | None) -> list[tuple[float, float]]:
    """Sort, check and complete a tempo map: (beat, quarter notes per minute), one at beat 0."""
    by_beat: dict[float, float] = {}
    for beat, qpm in sorted(tempos or [], key=lambda t: float(t[0])):  # last one wins at a beat
        beat, qpm = float(beat), float(qpm)
        if not (math.isfinite(beat) and beat >= 0):
            raise ParameterError(f"tempo change at beat {beat}: beats must be finite and >= 0")
        if not (math.isfinite(qpm) and qpm > 0):
            raise ParameterError(f"tempo {qpm} qpm at beat {beat}: a tempo must be > 0")
        by_beat[beat] = qpm
    if 0.0 not in by_beat:
        by_beat[0.0] = DEFAULT_QPM
    out: list[tuple[float, float]] = []
    for beat in sorted(by_beat):
        if not out or out[-1][1] != by_beat[beat]:  # drop changes that change nothing
            out.append((beat, by_beat[beat]))
    return out


def _normalise_time_signatures(
    sigs: list[tuple[float, int, int]] | None,
) -> list[tuple[float, int, int]]:
    """Sort, check and complete time signatures: (beat, numerator, denominator), one at 0."""
    by_beat: dict[float, tuple[int, int]] = {}
    for beat, num, den in sorted(sigs or [], key=lambda t: float(t[0])):
        beat, num, den = float(beat), int(num), int(den)
        if not (math.isfinite(beat) and beat >= 0):
            raise ParameterError(f"time signature at beat {beat}: beats must be finite and >= 0")
        if num < 1 or den < 1 or den & (den - 1):
            raise ParameterError(
                f"time signature {num}/{den} at beat {beat}: the numerator must be >= 1 and "
                "the denominator a power of two"
            )
        by_beat[beat] = (num, den)
    if 0.0 not in by_beat:
        by_beat[0.0] = DEFAULT_TIME_SIGNATURE
    out: list[tuple[float, int, int]] = []
    for beat in sorted(by_beat):
        if not out or out[-1][1:] != by_beat[beat]:
            out.append((beat, *by_beat[beat]))
    return out


def _tempo_table(
    tempos: list[tuple[float, float]],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Arrays (start beat, seconds per beat, start second) of a normalised tempo map."""
    beats = np.array([t[0] for t in tempos], dtype=np.float64)
    spb = 60.0 / np.array([t[1] for t in tempos], dtype=np.float64)
    starts = np.zeros_like(beats)
    np.cumsum(np.diff(beats) * spb[:-1], out=starts[1:])
    return beats, spb, starts


def _beats_to_seconds(x: ArrayLike, tempos: list[tuple[float, float]]) -> NDArray[np.float64]:
    beats, spb, starts = _tempo_table(tempos)
    x = np.asarray(x, dtype=np.float64)
    i = np.maximum(np.searchsorted(beats, x, side="right") - 1, 0)
    return starts[i] + (x - beats[i]) * spb[i]


def _seconds_to_beats(t: ArrayLike, tempos: list[tuple[float, float]]) -> NDArray[np.float64]:
    beats, spb, starts = _tempo_table(tempos)
    t = np.asarray(t, dtype=np.float64)
    i = np.maximum(np.searchsorted(starts, t, side="right") - 1, 0)
    return beats[i] + (t - starts[i]) / spb[i]


# --------------------------------------------------------------------------- Score


@dataclass(eq=False)
class Score:
    """A piece as a flat note table plus parts, tempo map and time signatures.

    Construct it with :meth:`from_notes` (which fills seconds from beats or the reverse) or
    read it with :func:`read_score`. The constructor itself checks the table, sorts it by
    onset, then pitch, then part, and completes the tempo map and time signatures.

    Attributes
    ----------
    notes : np.ndarray, shape (n_notes,), dtype NOTE_DTYPE
        ``onset``/``offset`` in seconds, ``onset_beats``/``offset_beats`` in quarter-note
        beats from the start (float64); ``pitch`` (MIDI 0-127), ``velocity`` (1-127) and
        ``part`` (index into ``parts``) as int16.
    parts : list of PartInfo
        One entry per part; a part may have no notes.
    tempos : list of (float, float)
        (beat, quarter notes per minute), sorted, the first at beat 0 (120 by default). The
        tempo is constant from one change to the next.
    time_signatures : list of (float, int, int)
        (beat, numerator, denominator), sorted, the first at beat 0 (4/4 by default).
    title : str or None
        Title when the file has one.
    """

    notes: NDArray[Any]
    parts: list[PartInfo] = field(default_factory=list)
    tempos: list[tuple[float, float]] = field(default_factory=list)
    time_signatures: list[tuple[float, int, int]] = field(default_factory=list)
    title: str | None = None

    def __post_init__(self) -> None:
        notes = np.asarray(self.notes)
        if notes.dtype != NOTE_DTYPE or notes.ndim != 1:
            raise ParameterError(
                f"Score.notes must be a 1-D array of NOTE_DTYPE, not {notes.dtype} with shape "
                f"{notes.shape}; build it with Score.from_notes"
            )
        self.parts = list(self.parts)
        self.tempos = _normalise_tempos(self.tempos)
        self.time_signatures = _normalise_time_signatures(self.time_signatures)
        if len(notes):
            _check_notes(notes, len(self.parts))
            order = np.lexsort((notes["part"], notes["pitch"], notes["onset"]))
            if np.any(order[1:] < order[:-1]):
                notes = notes[order]
        self.notes = notes

    @classmethod
    def from_notes(
        cls,
        pitch: ArrayLike,
        *,
        onset_beats: ArrayLike | None = None,
        offset_beats: ArrayLike | None = None,
        onset: ArrayLike | None = None,
        offset: ArrayLike | None = None,
        velocity: ArrayLike = DEFAULT_VELOCITY,
        part: ArrayLike = 0,
        parts: list[PartInfo] | None = None,
        tempos: list[tuple[float, float]] | None = None,
        time_signatures: list[tuple[float, int, int]] | None = None,
        title: str | None = None,
    ) -> Score:
        """Build a Score from note columns, filling one time base from the other.

        Parameters
        ----------
        pitch : array_like of int, shape (n,)
            MIDI pitches 0-127.
        onset_beats, offset_beats : array_like of float, shape (n,), optional
            Quarter-note beats from the start. Give these *or* ``onset``/``offset``.
        onset, offset : array_like of float, shape (n,), optional
            Seconds from the start; converted to beats through the tempo map.
        velocity : array_like of int, shape (n,) or scalar
            1-127 (default 80).
        part : array_like of int, shape (n,) or scalar
            Index into ``parts`` (default 0).
        parts : list of PartInfo, optional
            Defaults to one unnamed piano part per index used.
        tempos, time_signatures : list, optional
            See :class:`Score`; defaults 120 qpm and 4/4.
        title : str, optional

        Returns
        -------
        Score
        """
        by_beats = onset_beats is not None or offset_beats is not None
        by_seconds = onset is not None or offset is not None
        if by_beats == by_seconds:
            raise ParameterError(
                "give either onset_beats and offset_beats, or onset and offset (seconds)"
            )
        first, second = (onset_beats, offset_beats) if by_beats else (onset, offset)
        if first is None or second is None:
            raise ParameterError("give both the onsets and the offsets of the notes")
        broadcast = np.broadcast_arrays(
            np.asarray(pitch), np.asarray(first, dtype=np.float64),
            np.asarray(second, dtype=np.float64), np.asarray(velocity), np.asarray(part),
        )
        if broadcast[0].ndim > 1:
            raise ParameterError(f"note columns must be 1-D, got shape {broadcast[0].shape}")
        cols = [np.atleast_1d(c) for c in broadcast]
        tempos = _normalise_tempos(tempos)
        notes = np.empty(cols[0].shape[0], dtype=NOTE_DTYPE)
        limits = np.iinfo(np.int16)
        for name, col in (("pitch", cols[0]), ("velocity", cols[3]), ("part", cols[4])):
            bad = (col != np.round(col)) | (col < limits.min) | (col > limits.max)
            if np.any(bad):
                raise ParameterError(f"note {name} {col[bad][0]} is not a valid whole number")
            notes[name] = col
        if by_beats:
            notes["onset_beats"], notes["offset_beats"] = cols[1], cols[2]
            notes["onset"] = _beats_to_seconds(cols[1], tempos)
            notes["offset"] = _beats_to_seconds(cols[2], tempos)
        else:
            notes["onset"], notes["offset"] = cols[1], cols[2]
            notes["onset_beats"] = _seconds_to_beats(cols[1], tempos)
            notes["offset_beats"] = _seconds_to_beats(cols[2], tempos)
        if parts is None:
            n_parts = max(int(notes["part"].max()) + 1, 1) if len(notes) else 1
            parts = [PartInfo() for _ in range(n_parts)]
        return cls(notes, parts, tempos, time_signatures or [], title)

    # ---- conversions -------------------------------------------------------------------

    def beats_to_seconds(self, beats: ArrayLike) -> NDArray[np.float64]:
        """Seconds at quarter-note positions ``beats`` (any shape) under the tempo map."""
        return _beats_to_seconds(beats, self.tempos)

    def seconds_to_beats(self, seconds: ArrayLike) -> NDArray[np.float64]:
        """Quarter-note positions at times ``seconds`` (any shape) under the tempo map."""
        return _seconds_to_beats(seconds, self.tempos)

    # ---- views -------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.notes.shape[0])

    @property
    def duration(self) -> float:
        """Seconds from the start to the last note offset (0.0 for no notes)."""
        return float(self.notes["offset"].max()) if len(self) else 0.0

    def part_notes(self, part: int) -> NDArray[Any]:
        """The rows of part ``part`` (a copy), in score order."""
        if not 0 <= part < len(self.parts):
            raise ParameterError(
                f"part {part} does not exist; this score has parts 0..{len(self.parts) - 1}"
            )
        return self.notes[self.notes["part"] == part]

    def is_monophonic(self, part: int | None = None) -> bool:
        """True when no two notes of ``part`` (of the whole score if None) sound together.

        A note may start exactly where the previous one ends.
        """
        notes = self.notes if part is None else self.part_notes(part)
        on, off = notes["onset_beats"], notes["offset_beats"]
        return bool(np.all(on[1:] >= off[:-1] - _BEAT_EPS))


def _check_notes(notes: NDArray[Any], n_parts: int) -> None:
    """Raise ParameterError naming the first problem of a note table."""
    for name in ("onset", "offset", "onset_beats", "offset_beats"):
        if not np.all(np.isfinite(notes[name])):
            raise ParameterError(f"note {name}s must be finite")
    if np.any(notes["onset_beats"] < 0) or np.any(notes["onset"] < 0):
        raise ParameterError(f"note onsets must be >= 0, got {notes['onset_beats'].min()} beats")
    if np.any(notes["offset_beats"] < notes["onset_beats"]):
        i = int(np.argmax(notes["offset_beats"] < notes["onset_beats"]))
        raise ParameterError(
            f"a note ends before it starts (beats {notes['onset_beats'][i]} to "
            f"{notes['offset_beats'][i]})"
        )
    for name, lo, hi in (("pitch", 0, 127), ("velocity", 1, 127), ("part", 0, n_parts - 1)):
        col = notes[name]
        if col.min() < lo or col.max() > hi:
            bad = col[(col < lo) | (col > hi)][0]
            raise ParameterError(f"note {name} {bad} is out of range; use {lo}-{hi}")


# --------------------------------------------------------------------------- reading


def _describe(exc: BaseException) -> str:
    """One line for a third-party exception: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _resolve_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        key = fmt.lower().lstrip(".")
        if key not in _FORMAT_ALIASES:
            raise ParameterError(
                f"unknown symbolic format {fmt!r}; use one of {', '.join(sorted(_FORMAT_ALIASES))}"
            )
        return _FORMAT_ALIASES[key]
    suffix = path.suffix.lower()
    if suffix not in _FORMAT_BY_EXTENSION:
        raise InputError(
            f"cannot read '{path}': unsupported extension '{suffix}'; supported are "
            f"{', '.join(sorted(SYMBOLIC_EXTENSIONS))} (or pass format=...)"
        )
    return _FORMAT_BY_EXTENSION[suffix]


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"cannot read '{path}': no such file")
    if path.is_dir():
        raise InputError(f"cannot read '{path}': it is a directory, not a score file")
    if path.stat().st_size == 0:
        raise InputError(f"cannot read '{path}': the file is empty")


def read_score(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    index: int = 0,
    allow_empty: bool = False,
) -> Score:
    """Read a MIDI, MusicXML/MXL, ABC or kern file into a :class:`Score`.

    Parameters
    ----------
    path : str or PathLike
        The file; its extension picks the reader unless ``format`` is given.
    format : {'midi', 'musicxml', 'abc', 'kern'}, optional
        Force a reader (aliases: mid, xml, mxl, krn, humdrum).
    index : int
        Which tune of an ABC book (0-based, in file order). Other files hold one score, so
        only 0 is valid for them.
    allow_empty : bool
        Return a Score without notes instead of raising when the file has none.

    Returns
    -------
    Score

    Raises
    ------
    InputError
        Missing, empty, unsupported, malformed or note-less file, or ``index`` out of range.
    """
    path = Path(path)
    _check_readable(path)
    fmt = _resolve_format(path, format)
    if index < 0:
        raise InputError(f"cannot read '{path}': tune index {index} is negative")
    try:
        if fmt == "midi":
            if index != 0:
                raise InputError(f"cannot read '{path}': a MIDI file holds one score, "
                                 f"index {index} is out of range")
            score = _read_midi(path)
        else:
            score = _read_music21(path, fmt, index)
    except ParameterError as exc:  # a note table the file itself made invalid
        raise InputError(f"cannot read '{path}': {exc}") from exc
    if not len(score) and not allow_empty:
        raise InputError(
            f"'{path}' holds no notes (read_score(..., allow_empty=True) accepts empty scores)"
        )
    return score


def _read_midi(path: Path) -> Score:
    import pretty_midi

    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido/pretty_midi raise many types on corrupt data
        raise InputError(
            f"cannot read MIDI file '{path}': {_describe(exc)}; it is corrupt or not a "
            "Standard MIDI File"
        ) from exc
    resolution = float(pm.resolution)
    times, qpms = pm.get_tempo_changes()
    # pretty_midi keeps tempi as seconds-per-tick; snap back to the file's whole microseconds.
    tempos = [
        (pm.time_to_tick(t) / resolution, _US_PER_MINUTE / round(_US_PER_MINUTE / q))
        for t, q in zip(times, qpms, strict=True)
    ]
    tempos = _normalise_tempos(tempos)
    sigs = [
        (pm.time_to_tick(ts.time) / resolution, ts.numerator, ts.denominator)
        for ts in pm.time_signature_changes
    ]
    parts: list[PartInfo] = []
    columns: list[NDArray[np.float64]] = []
    for k, inst in enumerate(pm.instruments):
        parts.append(PartInfo(name=inst.name.strip(), program=int(inst.program),
                              is_drum=bool(inst.is_drum)))
        if inst.notes:
            rows = np.array([(n.start, n.end, n.pitch, n.velocity) for n in inst.notes],
                            dtype=np.float64)
            columns.append(np.column_stack([rows, np.full(len(rows), k)]))
    table = np.concatenate(columns) if columns else np.empty((0, 5))
    # Beats are whole ticks: recover them from pretty_midi's seconds and round to the tick.
    beats = np.rint(_seconds_to_beats(table[:, :2], tempos) * resolution) / resolution
    notes = np.empty(len(table), dtype=NOTE_DTYPE)
    notes["onset_beats"], notes["offset_beats"] = beats[:, 0], beats[:, 1]
    seconds = _beats_to_seconds(beats, tempos)
    notes["onset"], notes["offset"] = seconds[:, 0], seconds[:, 1]
    notes["pitch"], notes["velocity"], notes["part"] = table[:, 2], table[:, 3], table[:, 4]
    return Score(notes, parts, tempos, sigs, None)


_ABC_TUNE_START = re.compile(r"^X:", re.MULTILINE)
_ABC_FIELD = re.compile(r"^([A-Za-z]):(.*)$", re.MULTILINE)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split_abc(text: str) -> tuple[str, list[str]]:
    """(file header, tunes) of an ABC text; a text without ``X:`` lines is one tune."""
    starts = [m.start() for m in _ABC_TUNE_START.finditer(text)]
    if not starts:
        return "", [text]
    ends = [*starts[1:], len(text)]
    return text[: starts[0]], [text[a:b] for a, b in zip(starts, ends, strict=True)]


def _abc_title(tune: str) -> str:
    for key, value in _ABC_FIELD.findall(tune):
        if key == "T":
            return value.strip()
    return ""


def list_tunes(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """The tunes of an ABC file as (index, title), without parsing the music.

    ``index`` is what :func:`read_score` takes; the title is the first ``T:`` field ('' if
    none).
    """
    path = Path(path)
    _check_readable(path)
    if _resolve_format(path, None) != "abc":
        raise InputError(f"cannot list tunes of '{path}': only ABC files hold several tunes")
    _, tunes = _split_abc(_read_text(path))
    return [(i, _abc_title(t)) for i, t in enumerate(tunes)]


def _abc_tune_text(path: Path, index: int) -> str:
    header, tunes = _split_abc(_read_text(path))
    if index >= len(tunes):
        raise InputError(
            f"cannot read tune {index} of '{path}': the file holds {len(tunes)} tune"
            f"{'s' if len(tunes) != 1 else ''} (index 0..{len(tunes) - 1})"
        )
    tune = header + tunes[index]
    fields = {key for key, _ in _ABC_FIELD.findall(tune.split("\nK:")[0])}
    if "L" not in fields and "M" not in fields:
        # ABC's default unit note length is 1/8 without a meter; music21 needs it stated.
        tune = re.sub(r"^(X:[^\n]*\n)", r"\1L:1/8\n", tune, count=1, flags=re.MULTILINE)
    return tune


def _read_music21(path: Path, fmt: str, index: int) -> Score:
    from music21 import converter, stream

    try:
        if fmt == "abc":
            parsed = converter.parseData(_abc_tune_text(path, index), format="abc")
        else:
            parsed = converter.parseFile(path, format=fmt, forceSource=True, storePickle=False)
    except InputError:
        raise
    except Exception as exc:  # music21 and xml raise many types on malformed files
        kind = {"abc": "ABC", "humdrum": "kern", "musicxml": "MusicXML"}[fmt]
        raise InputError(f"cannot parse {kind} file '{path}': {_describe(exc)}") from exc
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not 0 <= index < len(scores):
            raise InputError(f"cannot read score {index} of '{path}': it holds {len(scores)}")
        parsed = scores[index]
    elif fmt != "abc" and index != 0:
        raise InputError(f"cannot read '{path}': it holds one score, index {index} is out of "
                         "range")
    try:
        return _score_from_music21(parsed)
    except (InputError, ParameterError):
        raise
    except Exception as exc:
        raise InputError(f"cannot convert '{path}' to notes: {_describe(exc)}") from exc


def _with_pickup(sigs: list[tuple[float, int, int]], measures: list[Any]
                 ) -> list[tuple[float, int, int]]:
    """Encode an anacrusis as a short first bar: a 1-beat pickup in 4/4 -> 1/4, then 4/4.

    That is how MIDI files commonly mark a pickup, and every bar-aware consumer (drum
    patterns, per-bar features, the MusicXML writer) then finds the downbeats.
    """
    if len(measures) < 2 or not sigs or sigs[0][0] > _BEAT_EPS:
        return sigs
    length = float(measures[0].duration.quarterLength)
    bar = float(measures[0].barDuration.quarterLength)
    if not 0 < length < bar - _BEAT_EPS:
        return sigs
    _, num, den = sigs[0]
    for d in sorted({den, 8, 16, 32, 64}):
        n = length * d / 4
        if abs(n - round(n)) < 1e-9:
            rest = [sig for sig in sigs[1:] if sig[0] > length + _BEAT_EPS]
            return [(0.0, int(round(n)), d), (length, num, den), *rest]
    return sigs


def _score_from_music21(s: Any) -> Score:
    """Flatten a parsed music21 Score/Part into a :class:`Score` (see module docstring)."""
    from music21 import chord, dynamics, instrument, meter, note, stream, tempo

    s.stripTies(inPlace=True)
    parts_m21 = list(s.parts) if isinstance(s, stream.Score) else []
    if not parts_m21:
        parts_m21 = [s]
    parts: list[PartInfo] = []
    rows: list[tuple[float, float, int, int, int]] = []  # on, off, pitch, velocity, part
    tempo_at: dict[float, float] = {}
    sigs: list[tuple[float, int, int]] = []
    for k, part in enumerate(parts_m21):
        flat = part.flatten()
        inst = part.getInstrument(returnDefault=True) or instrument.Instrument()
        program = inst.midiProgram if inst.midiProgram is not None else 0
        is_drum = inst.midiChannel == DRUM_CHANNEL or isinstance(
            inst, instrument.UnpitchedPercussion)
        name = (getattr(part, "partName", None) or inst.partName or inst.instrumentName or "")
        parts.append(PartInfo(name=str(name).strip(), program=int(program), is_drum=is_drum))
        for mark in flat.getElementsByClass(tempo.MetronomeMark):
            qpm = mark.getQuarterBPM()
            if qpm:
                tempo_at.setdefault(float(flat.elementOffset(mark)), float(qpm))
        if k == 0:
            sigs = [(float(flat.elementOffset(ts)), ts.numerator, ts.denominator)
                    for ts in flat.getElementsByClass(meter.TimeSignature)]
            sigs = _with_pickup(sigs, list(part.getElementsByClass(stream.Measure)))
        dyn = [(float(flat.elementOffset(d)), d.volumeScalar)
               for d in flat.getElementsByClass(dynamics.Dynamic) if d.volumeScalar]
        dyn_beats = np.array([d[0] for d in dyn])
        for el in flat.notes:
            if el.duration.isGrace:
                continue
            on = float(flat.elementOffset(el))
            off = on + float(el.quarterLength)
            for member in (el.notes if isinstance(el, chord.ChordBase) else (el,)):
                if isinstance(member, note.Note):
                    midi = member.pitch.midi
                elif isinstance(member, note.Unpitched):
                    stored = member.storedInstrument or inst
                    midi = getattr(stored, "percMapPitch", None)
                    if midi is None:
                        continue
                else:
                    continue
                vel = member.volume.velocity or el.volume.velocity
                if not vel and dyn:
                    i = int(np.searchsorted(dyn_beats, on + _BEAT_EPS)) - 1
                    vel = round(dyn[i][1] * 127) if i >= 0 else None
                rows.append((on, off, min(max(int(midi), 0), 127),
                             min(max(int(vel or DEFAULT_VELOCITY), 1), 127), k))
    tempos = _normalise_tempos(list(tempo_at.items()))
    table = np.array(rows, dtype=np.float64).reshape(-1, 5)
    notes = np.empty(len(table), dtype=NOTE_DTYPE)
    notes["onset_beats"], notes["offset_beats"] = table[:, 0], table[:, 1]
    seconds = _beats_to_seconds(table[:, :2], tempos)
    notes["onset"], notes["offset"] = seconds[:, 0], seconds[:, 1]
    notes["pitch"], notes["velocity"], notes["part"] = table[:, 2], table[:, 3], table[:, 4]
    title = s.metadata.bestTitle if s.metadata is not None else None
    return Score(notes, parts, tempos, sigs, title or None)


# --------------------------------------------------------------------------- MIDI writing


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity (7 bits per byte, high bit = more follows)."""
    if value < 0x80:
        return bytes((value,))
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def _track(events: list[tuple[int, bytes]]) -> bytes:
    """An MTrk chunk from (absolute tick, event bytes), already in order."""
    body = bytearray()
    last = 0
    for tick, data in events:
        body += _vlq(tick - last)
        body += data
        last = tick
    body += b"\x00\xff\x2f\x00"  # end of track
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _meta_text(kind: int, text: str) -> bytes:
    data = text.encode("latin-1", errors="replace")  # mido/pretty_midi decode latin-1
    return bytes((0xFF, kind)) + _vlq(len(data)) + data


def _midi_bytes(score: Score, ticks_per_beat: int) -> bytes:
    tpq = ticks_per_beat
    conductor: list[tuple[int, bytes]] = []
    if score.title:
        conductor.append((0, _meta_text(0x03, score.title)))
    for beat, num, den in score.time_signatures:
        conductor.append((round(beat * tpq), bytes(
            (0xFF, 0x58, 0x04, num & 0xFF, den.bit_length() - 1, 24, 8))))
    for beat, qpm in score.tempos:
        us = min(max(round(_US_PER_MINUTE / qpm), 1), 0xFFFFFF)
        conductor.append((round(beat * tpq), b"\xff\x51\x03" + us.to_bytes(3, "big")))
    conductor.sort(key=lambda e: e[0])
    tracks = [_track(conductor)]

    notes = score.notes
    on_ticks = np.rint(notes["onset_beats"] * tpq).astype(np.int64)
    off_ticks = np.maximum(np.rint(notes["offset_beats"] * tpq).astype(np.int64), on_ticks + 1)
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    n_melodic = 0
    for k, info in enumerate(score.parts):
        port = 0
        if info.is_drum:
            channel = DRUM_CHANNEL
        else:
            channel = melodic[n_melodic % len(melodic)]
            port = n_melodic // len(melodic)     # a 16th melodic part: the next port
            n_melodic += 1
        events: list[tuple[int, bytes]] = []
        if info.name:
            events.append((0, _meta_text(0x03, info.name)))
        if port:
            events.append((0, bytes((0xFF, 0x21, 0x01, port & 0x7F))))
        events.append((0, bytes((0xC0 | channel, info.program))))
        sel = notes["part"] == k
        n = int(sel.sum())
        if n:
            ticks = np.concatenate([off_ticks[sel], on_ticks[sel]])
            is_on = np.repeat(np.array([0, 1], dtype=np.int64), n)
            order = np.lexsort((is_on, ticks))  # at a tick, note-offs before note-ons
            pitch = np.concatenate([notes["pitch"][sel], notes["pitch"][sel]])
            vel = np.concatenate([np.zeros(n, np.int16), notes["velocity"][sel]])
            status_on, status_off = 0x90 | channel, 0x80 | channel
            for t, o, p, v in zip(ticks[order].tolist(), is_on[order].tolist(),
                                  pitch[order].tolist(), vel[order].tolist(), strict=True):
                events.append((t, bytes((status_on, p, v) if o else (status_off, p, 64))))
        tracks.append(_track(events))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), tpq)
    return header + b"".join(tracks)


def write_midi(
    score: Score,
    path: str | os.PathLike[str],
    *,
    ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT,
) -> Path:
    """Write ``score`` as a Standard MIDI File (format 1), atomically.

    Track 0 holds the title, tempo map and time signatures; then one track per part with its
    name, program and channel (drums on channel 10, other parts on the remaining 15 in
    turn; from the 16th melodic part on, the channels are reused on MIDI port 1, 2, ...,
    named by a port meta event, so that no two parts share a channel of one port).
    Positions come from the beat columns, rounded to ``ticks_per_beat``; a note
    shorter than one tick lasts one tick. A part without notes is written as an empty track,
    which pretty_midi does not report as an instrument when reading it back.

    Returns
    -------
    Path
        ``path``.
    """
    if not 1 <= ticks_per_beat <= 0x7FFF:
        raise ParameterError(f"ticks_per_beat {ticks_per_beat} is out of range; use 1-32767")
    data = _midi_bytes(score, ticks_per_beat)
    target = Path(path)
    with atomic_write(target) as tmp:
        tmp.write_bytes(data)
    return target


# --------------------------------------------------------------------------- MusicXML


def _snap(beats: float, grid: tuple[int, ...]) -> Fraction:
    """Nearest grid position (multiples of 1/d for d in ``grid``), as an exact fraction."""
    candidates = [Fraction(round(beats * d), d) for d in grid]
    return min(candidates, key=lambda f: abs(float(f) - beats))


def _final_bar_end(score: Score, grid: tuple[int, ...]) -> Fraction:
    """Beat at which the bar holding the score's last offset ends (a whole bar)."""
    step = Fraction(1, max(grid))
    ends = [max(_snap(float(r["offset_beats"]), grid), _snap(float(r["onset_beats"]), grid) + step)
            for r in score.notes]
    end = max(ends, default=Fraction(0))
    sig_beat, num, den = 0.0, 4, 4
    for beat, n, d in score.time_signatures:
        if _snap(beat, grid) <= end:
            sig_beat, num, den = beat, n, d
    start = _snap(sig_beat, grid)
    bar = Fraction(4 * num, den)
    bars = -(-(end - start) // bar)              # ceiling division
    return start + max(bars, 1) * bar


def write_musicxml(
    score: Score,
    path: str | os.PathLike[str],
    *,
    grid: tuple[int, ...] = DEFAULT_GRID,
) -> Path:
    """Write ``score`` as MusicXML (compressed when ``path`` ends in ``.mxl``), atomically.

    Onsets and offsets (in beats) snap to the nearest multiple of 1/d for a d in ``grid``
    (default sixteenths and eighth-note triplets); a note that would vanish keeps one grid
    step. Notes of a part with the same snapped onset and offset become one chord; other
    overlaps become voices (music21 does that). Each part gets its name, an instrument for
    its program (MIDI channel 10 for drums), the time signatures and, in the first part,
    metronome marks for the tempo map. Velocities are written per note.

    Returns
    -------
    Path
        ``path``.
    """
    from music21 import chord, instrument, metadata, meter, note, stream, tempo

    if not grid or any(int(d) < 1 for d in grid):
        raise ParameterError(f"grid {grid} must hold positive subdivisions of a beat")
    step = Fraction(1, max(grid))
    target = Path(path)
    sc = stream.Score()
    if score.title:
        sc.metadata = metadata.Metadata()
        sc.metadata.title = score.title
    final_bar_end = _final_bar_end(score, grid)
    for k, info in enumerate(score.parts or [PartInfo()]):
        part = stream.Part()
        part.partName = info.name or f"Part {k + 1}"
        try:
            inst = instrument.instrumentFromMidiProgram(info.program)
        except Exception:  # music21 lacks a class for some programs
            inst = instrument.Instrument()
        inst.midiProgram = info.program
        inst.partName = part.partName
        if info.is_drum:
            inst.midiChannel = DRUM_CHANNEL
        part.insert(0, inst)
        for beat, num, den in score.time_signatures:
            part.insert(_snap(beat, grid), meter.TimeSignature(f"{num}/{den}"))
        if k == 0:
            for beat, qpm in score.tempos:
                part.insert(_snap(beat, grid),
                            tempo.MetronomeMark(number=round(qpm, 3), referent=1.0))
        groups: dict[tuple[Fraction, Fraction], list[tuple[int, int]]] = {}
        for row in score.notes[score.notes["part"] == k]:
            on = _snap(float(row["onset_beats"]), grid)
            off = max(_snap(float(row["offset_beats"]), grid), on + step)
            groups.setdefault((on, off), []).append((int(row["pitch"]), int(row["velocity"])))
        for (on, off), members in groups.items():
            made = []
            for pitch, vel in members:
                n = note.Note(pitch, quarterLength=off - on)
                n.volume.velocity = vel
                made.append(n)
            element = made[0] if len(made) == 1 else chord.Chord(made, quarterLength=off - on)
            part.insert(on, element)
        part_end = max((off for _, off in groups), default=Fraction(0))
        if part_end < final_bar_end:           # complete the last bar with a rest
            part.insert(part_end, note.Rest(quarterLength=final_bar_end - part_end))
        sc.insert(0, part)
    return save_music21_musicxml(sc, target)


def save_music21_musicxml(sc: Any, target: Path) -> Path:
    """Write a music21 score to ``target`` as MusicXML, atomically; music21's notation
    errors become one-line :class:`InputError`."""
    try:
        with atomic_write(target) as tmp:
            sc.write("musicxml", fp=tmp)
    except (InputError, OSError):
        raise
    except Exception as exc:  # music21 notation errors
        raise InputError(f"cannot write MusicXML '{target}': {_describe(exc)}") from exc
    return target
