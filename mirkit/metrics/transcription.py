"""Note, multi-pitch and instrument-aware transcription metrics.

mir_eval is the engine for note matching and frame scores; this module adds MIDI-pitch
input, strict validation, frame sampling of note lists, instrument-aware matching and
file loaders.

Conventions
-----------
Notes
    ``intervals`` : array, shape (n_notes, 2), float seconds: onset and offset per note.
    Every note needs ``0 <= onset < offset``; times beyond :data:`MAX_TIME_SECONDS` are
    refused as probable milliseconds.
    ``pitches`` : array, shape (n_notes,), MIDI note numbers in ``[0, 127]`` (floats are
    allowed for detuned notes). They are converted to Hz with A4 = 440 Hz
    (:func:`midi_to_hz`) before they reach mir_eval.
    ``velocities`` : array, shape (n_notes,), MIDI velocities in ``[0, 127]``, optional.
    ``instruments`` : sequence of n_notes labels, strings or integers, optional. Labels
    are compared as strings (``str(label)``), so ``0`` and ``"0"`` are the same class.
    The MIDI loader writes ``"program:N"`` (General MIDI program N, 0-based) and
    ``"drums"``.
Options
    Match criteria are mir_eval's defaults: onset within 50 ms, pitch within 50 cents,
    offset (when used) within 20 % of the reference duration or 50 ms, whichever is
    larger, and for velocity, within 0.1 after mir_eval's rescaling. Options that change
    them are keyword-only.
Frames
    Note lists are sampled on one grid shared by reference and estimate: frame ``k`` is
    time ``k * hop_seconds`` (default 10 ms) and the grid runs until the latest offset of
    either list. A note sounds in frame ``k`` when ``onset <= k * hop < offset`` (to within
    1e-9 of a frame), so a note shorter than one hop can fall between two frames. A pitch
    sounding twice in the same frame (overlapping notes) counts once, as in a pianoroll.
    Pianorolls for :func:`multipitch_from_rolls` and activity matrices for
    :func:`activity_precision_recall_f1` are boolean arrays shaped (rows, frames); when
    reference and estimate differ in length, the shorter one is padded with silent frames.
    mir_eval.multipitch accepts 20-5000 Hz only (MIDI 15.49-111.08): sounding pitches
    outside it are refused with an :class:`~mirkit.errors.InputError`.
Empty and degenerate inputs
    An empty *reference* (no notes, or no active frame) is an InputError: recall is 0/0.
    An empty *estimate* is a valid result: precision is reported as 0 (mir_eval's
    convention for 0/0), recall and F-measure as 0, and :func:`evaluate` reports the note
    counts (``"Reference notes"``, ``"Estimated notes"``) so the case stays visible.
    Per-instrument F-measures are ``2 TP / (n_ref + n_est)`` of that instrument, defined
    for every label that occurs in either list; an instrument silent in both activity
    matrices has no per-instrument key (it adds nothing to the micro sums either).

Metrics
-------
* :func:`precision_recall_f1_overlap`: note P/R/F and average overlap ratio on onset,
  pitch and (unless ``offset_ratio=None``) offset.
* :func:`onset_precision_recall_f1`, :func:`offset_precision_recall_f1`: onsets (or
  offsets) alone, pitch ignored.
* :func:`velocity_precision_recall_f1_overlap`: notes that also match in velocity
  (mir_eval.transcription_velocity).
* :func:`multipitch_from_notes`, :func:`multipitch_from_rolls`: mir_eval.multipitch frame
  metrics (precision, recall, accuracy, substitution/miss/false-alarm/total error and their
  chroma variants).
* :func:`instrument_precision_recall_f1`: notes match only within the same instrument
  label; TP/FP/FN are summed over labels ("multi-instrument F1"), with per-label F1.
* :func:`activity_precision_recall_f1`: frame-level instrument activity, micro and per
  instrument; :func:`activity_from_notes` builds the matrices from notes.
* :func:`evaluate`: everything that applies to the given inputs.

Loaders
-------
:func:`read_notes` reads MIDI (pretty_midi) and CSV/TSV note tables into a
:class:`NoteList`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError

__all__ = [
    "DEFAULT_HOP_SECONDS",
    "MAX_TIME_SECONDS",
    "MIDI_EXTENSIONS",
    "MULTIPITCH_MAX_HZ",
    "MULTIPITCH_MIN_HZ",
    "NOTE_TABLE_COLUMNS",
    "OFFSET_MIN_TOLERANCE",
    "OFFSET_RATIO",
    "ONSET_TOLERANCE",
    "PITCH_TOLERANCE_CENTS",
    "TEXT_EXTENSIONS",
    "VELOCITY_TOLERANCE",
    "NoteList",
    "activity_from_notes",
    "activity_precision_recall_f1",
    "evaluate",
    "evaluate_note_lists",
    "instrument_precision_recall_f1",
    "midi_to_hz",
    "multipitch_from_notes",
    "multipitch_from_rolls",
    "notes_to_roll",
    "offset_precision_recall_f1",
    "onset_precision_recall_f1",
    "precision_recall_f1_overlap",
    "read_notes",
    "validate",
    "velocity_precision_recall_f1_overlap",
]

PathLike: TypeAlias = str | os.PathLike[str]
Labels: TypeAlias = Sequence[str] | Sequence[int] | NDArray[Any]

#: Onset tolerance in seconds (mir_eval and MIREX default).
ONSET_TOLERANCE = 0.05
#: Pitch tolerance in cents (a quarter tone).
PITCH_TOLERANCE_CENTS = 50.0
#: Offset tolerance as a fraction of the reference note's duration.
OFFSET_RATIO = 0.2
#: Smallest offset tolerance in seconds.
OFFSET_MIN_TOLERANCE = 0.05
#: Velocity tolerance after mir_eval's rescaling of velocities to [0, 1].
VELOCITY_TOLERANCE = 0.1
#: Frame hop in seconds for the multi-pitch and activity grids.
DEFAULT_HOP_SECONDS = 0.01
#: Latest accepted time in seconds (mir_eval.multipitch's limit); later means milliseconds.
MAX_TIME_SECONDS = 30000.0
#: Frequency range mir_eval.multipitch accepts, in Hz.
MULTIPITCH_MIN_HZ = 20.0
MULTIPITCH_MAX_HZ = 5000.0
#: MIDI pitch and velocity range.
MIDI_MIN = 0
MIDI_MAX = 127
#: Tuning reference: MIDI note 69 (A4) in Hz.
A4_HZ = 440.0
A4_MIDI = 69.0
#: Instrument labels the MIDI loader writes.
DRUMS_LABEL = "drums"
PROGRAM_LABEL = "program:{}"
#: Note file suffixes :func:`read_notes` reads.
MIDI_EXTENSIONS: frozenset[str] = frozenset({".mid", ".midi"})
TEXT_EXTENSIONS: frozenset[str] = frozenset({".csv", ".tsv", ".txt"})
#: Column names of a note table, in positional order.
NOTE_TABLE_COLUMNS = ("onset", "offset", "pitch", "velocity", "instrument")

# Slack, in frames, when deciding whether a frame time falls inside a note.
_FRAME_EPS = 1e-9


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


class _Notes(NamedTuple):
    """One side of a comparison after validation (pitches still in MIDI)."""

    intervals: NDArray[np.float64]
    pitches: NDArray[np.float64]
    velocities: NDArray[np.float64] | None
    instruments: NDArray[np.str_] | None


def midi_to_hz(pitches: ArrayLike) -> NDArray[np.float64]:
    """Convert MIDI note numbers to Hz (A4 = MIDI 69 = 440 Hz).

    Parameters
    ----------
    pitches : array_like, shape (n,)
        MIDI note numbers, possibly fractional.

    Returns
    -------
    np.ndarray, shape (n,), float64
        Frequencies in Hz.
    """
    midi = np.asarray(pitches, dtype=np.float64)
    return A4_HZ * 2.0 ** ((midi - A4_MIDI) / 12.0)


def _float_array(value: object, what: str) -> NDArray[np.float64]:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numbers: {exc}") from exc


def _check_intervals(value: object, side: str) -> NDArray[np.float64]:
    arr = _float_array(value, f"{side} intervals")
    if arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(
            f"{side} intervals have shape {arr.shape}: expected (n_notes, 2) onset/offset "
            "pairs in seconds (transpose a (2, n_notes) array)"
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{side} note {i} has a non-finite time {arr[i].tolist()}")
    if (arr < 0).any():
        i = int(np.argmax((arr < 0).any(axis=1)))
        raise InputError(f"{side} note {i} has a negative time {arr[i].tolist()} s")
    if (arr > MAX_TIME_SECONDS).any():
        i = int(np.argmax((arr > MAX_TIME_SECONDS).any(axis=1)))
        raise InputError(
            f"{side} note {i} has time {arr[i].tolist()}, beyond {MAX_TIME_SECONDS:g} s: "
            "times look like milliseconds; divide them by 1000"
        )
    short = arr[:, 1] <= arr[:, 0]
    if short.any():
        i = int(np.argmax(short))
        raise InputError(
            f"{side} note {i} has offset {arr[i, 1]:g} s <= onset {arr[i, 0]:g} s: every note "
            "needs a positive duration (are the columns swapped?)"
        )
    return arr


def _check_per_note(value: object, n: int, side: str, what: str) -> NDArray[np.float64]:
    arr = _float_array(value, f"{side} {what}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(
            f"{side} {what} have shape {arr.shape}: expected ({n},), one per note"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{side} note {i} has a non-finite {what[:-1]} {arr[i]}")
    return arr


def _check_pitches(value: object, n: int, side: str) -> NDArray[np.float64]:
    arr = _check_per_note(value, n, side, "pitches")
    if (arr > MIDI_MAX).any():
        i = int(np.argmax(arr > MIDI_MAX))
        raise InputError(
            f"{side} note {i} has pitch {arr[i]:g}, above MIDI {MIDI_MAX}: pitches are MIDI "
            "note numbers; if these are Hz, convert them with 69 + 12*log2(f/440)"
        )
    if (arr < MIDI_MIN).any():
        i = int(np.argmax(arr < MIDI_MIN))
        raise InputError(
            f"{side} note {i} has pitch {arr[i]:g}, below MIDI {MIDI_MIN}: pitches are MIDI "
            f"note numbers in [{MIDI_MIN}, {MIDI_MAX}]"
        )
    return arr


def _check_velocities(value: object, n: int, side: str) -> NDArray[np.float64]:
    arr = _check_per_note(value, n, side, "velocities")
    if ((arr < MIDI_MIN) | (arr > MIDI_MAX)).any():
        i = int(np.argmax((arr < MIDI_MIN) | (arr > MIDI_MAX)))
        raise InputError(
            f"{side} note {i} has velocity {arr[i]:g}: MIDI velocities lie in "
            f"[{MIDI_MIN}, {MIDI_MAX}]"
        )
    if n and arr.max() <= 1.0 and (arr != np.round(arr)).any():
        raise InputError(
            f"{side} velocities all lie in [0, 1] and are fractional: they look normalised; "
            f"pass MIDI velocities (multiply by {MIDI_MAX})"
        )
    return arr


def _check_labels(value: object, n: int, side: str) -> NDArray[np.str_]:
    arr = np.asarray(value, dtype=object)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(
            f"{side} instruments have shape {arr.shape}: expected ({n},), one label per note"
        )
    labels = arr.tolist()
    for i, label in enumerate(labels):
        if isinstance(label, bool | np.bool_) or not isinstance(
            label, str | int | np.integer
        ):
            raise InputError(
                f"{side} note {i} has instrument label {label!r} of type "
                f"{type(label).__name__}: labels are strings or integers"
            )
    return np.array([str(label) for label in labels], dtype=np.str_).reshape(n)


def _check_pair(what: str, ref: object, est: object) -> None:
    if (ref is None) != (est is None):
        given = "reference" if est is None else "estimate"
        raise InputError(
            f"{what} were given for the {given} only: pass them for both sides or neither"
        )


def _check_side(
    intervals: object,
    pitches: object,
    velocities: object,
    instruments: object,
    side: str,
) -> _Notes:
    iv = _check_intervals(intervals, side)
    n = iv.shape[0]
    return _Notes(
        iv,
        _check_pitches(pitches, n, side),
        None if velocities is None else _check_velocities(velocities, n, side),
        None if instruments is None else _check_labels(instruments, n, side),
    )


def _checked(
    ref_intervals: ArrayLike,
    ref_pitches: ArrayLike,
    est_intervals: ArrayLike,
    est_pitches: ArrayLike,
    *,
    ref_velocities: ArrayLike | None = None,
    est_velocities: ArrayLike | None = None,
    ref_instruments: Labels | None = None,
    est_instruments: Labels | None = None,
) -> tuple[_Notes, _Notes]:
    _check_pair("velocities", ref_velocities, est_velocities)
    _check_pair("instruments", ref_instruments, est_instruments)
    ref = _check_side(ref_intervals, ref_pitches, ref_velocities, ref_instruments, "reference")
    if ref.intervals.shape[0] == 0:
        raise InputError(
            "the reference has no notes: recall and F-measure are undefined; check that "
            "the right reference file (or track) was given"
        )
    est = _check_side(est_intervals, est_pitches, est_velocities, est_instruments, "estimate")
    return ref, est


def validate(
    ref_intervals: ArrayLike,
    ref_pitches: ArrayLike,
    est_intervals: ArrayLike,
    est_pitches: ArrayLike,
    *,
    ref_velocities: ArrayLike | None = None,
    est_velocities: ArrayLike | None = None,
    ref_instruments: Labels | None = None,
    est_instruments: Labels | None = None,
) -> None:
    """Check two note lists and raise :class:`~mirkit.errors.InputError` if they are unfit.

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2)
        Onset and offset of each note in seconds.
    ref_pitches, est_pitches : array_like, shape (n,) and (m,)
        MIDI note numbers in [0, 127].
    ref_velocities, est_velocities : array_like, shape (n,) and (m,), optional
        MIDI velocities in [0, 127]; both or neither.
    ref_instruments, est_instruments : sequence of str or int, optional
        Instrument label per note; both or neither.

    Raises
    ------
    InputError
        Wrong shapes, non-finite or negative times, zero or negative durations, times
        that look like milliseconds, pitches outside MIDI (e.g. Hz), velocities outside
        [0, 127] or normalised to [0, 1], labels of other types, options given for one
        side only, or an empty reference.
    """
    _checked(
        ref_intervals,
        ref_pitches,
        est_intervals,
        est_pitches,
        ref_velocities=ref_velocities,
        est_velocities=est_velocities,
        ref_instruments=ref_instruments,
        est_instruments=est_instruments,
    )


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not (
        isinstance(value, int | float) and math.isfinite(value) and value > 0
    ):
        raise ParameterError(f"{name}={value!r} must be a positive finite number")


def _check_options(
    *,
    onset_tolerance: float = ONSET_TOLERANCE,
    pitch_tolerance: float = PITCH_TOLERANCE_CENTS,
    offset_ratio: float | None = None,
    offset_min_tolerance: float = OFFSET_MIN_TOLERANCE,
) -> None:
    """Raise :class:`~mirkit.errors.ParameterError` for a bad matching option."""
    _check_positive("onset_tolerance", onset_tolerance)
    _check_positive("pitch_tolerance", pitch_tolerance)
    _check_positive("offset_min_tolerance", offset_min_tolerance)
    if offset_ratio is not None:
        _check_positive("offset_ratio", offset_ratio)
    if onset_tolerance > 1.0:
        raise ParameterError(
            f"onset_tolerance={onset_tolerance:g} s is over a second: tolerances are in "
            "seconds (50 ms is 0.05)"
        )


def _check_hop(hop_seconds: float) -> float:
    _check_positive("hop_seconds", hop_seconds)
    if hop_seconds > 1.0:
        raise ParameterError(
            f"hop_seconds={hop_seconds:g} is over a second: the hop is in seconds "
            f"({DEFAULT_HOP_SECONDS * 1000:g} ms is {DEFAULT_HOP_SECONDS})"
        )
    return float(hop_seconds)


# --------------------------------------------------------------------------------------
# Note-level metrics (mir_eval.transcription and transcription_velocity)
# --------------------------------------------------------------------------------------


def precision_recall_f1_overlap(
    ref_intervals: ArrayLike,
    ref_pitches: ArrayLike,
    est_intervals: ArrayLike,
    est_pitches: ArrayLike,
    *,
    offset_ratio: float | None = OFFSET_RATIO,
    onset_tolerance: float = ONSET_TOLERANCE,
    pitch_tolerance: float = PITCH_TOLERANCE_CENTS,
    offset_min_tolerance: float = OFFSET_MIN_TOLERANCE,
) -> tuple[float, float, float, float]:
    """Note precision, recall, F-measure and average overlap ratio.

    A note is correct when its onset is within ``onset_tolerance`` seconds and its pitch
    within ``pitch_tolerance`` cents of a reference note and, unless ``offset_ratio`` is
    None, its offset within ``max(offset_ratio * ref_duration, offset_min_tolerance)``.
    The matching is mir_eval's optimal bipartite one.

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2), seconds
    ref_pitches, est_pitches : array_like, shape (n,) and (m,), MIDI note numbers

    Returns
    -------
    precision, recall, f_measure, avg_overlap_ratio : float
        All 0 when the estimate is empty.
    """
    _check_options(
        onset_tolerance=onset_tolerance,
        pitch_tolerance=pitch_tolerance,
        offset_ratio=offset_ratio,
        offset_min_tolerance=offset_min_tolerance,
    )
    ref, est = _checked(ref_intervals, ref_pitches, est_intervals, est_pitches)
    if est.intervals.shape[0] == 0:
        return 0.0, 0.0, 0.0, 0.0
    from mir_eval.transcription import precision_recall_f1_overlap as engine

    p, r, f, o = engine(
        ref.intervals,
        midi_to_hz(ref.pitches),
        est.intervals,
        midi_to_hz(est.pitches),
        onset_tolerance=onset_tolerance,
        pitch_tolerance=pitch_tolerance,
        offset_ratio=offset_ratio,
        offset_min_tolerance=offset_min_tolerance,
    )
    return float(p), float(r), float(f), float(o)


def onset_precision_recall_f1(
    ref_intervals: ArrayLike,
    est_intervals: ArrayLike,
    *,
    onset_tolerance: float = ONSET_TOLERANCE,
) -> tuple[float, float, float]:
    """Precision, recall and F-measure of note onsets alone (pitch ignored).

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2), seconds

    Returns
    -------
    precision, recall, f_measure : float
        All 0 when the estimate is empty.
    """
    _check_options(onset_tolerance=onset_tolerance)
    ref_iv, est_iv = _checked_intervals(ref_intervals, est_intervals)
    if est_iv.shape[0] == 0:
        return 0.0, 0.0, 0.0
    from mir_eval.transcription import onset_precision_recall_f1 as engine

    p, r, f = engine(ref_iv, est_iv, onset_tolerance=onset_tolerance)
    return float(p), float(r), float(f)


def offset_precision_recall_f1(
    ref_intervals: ArrayLike,
    est_intervals: ArrayLike,
    *,
    offset_ratio: float = OFFSET_RATIO,
    offset_min_tolerance: float = OFFSET_MIN_TOLERANCE,
) -> tuple[float, float, float]:
    """Precision, recall and F-measure of note offsets alone (onset and pitch ignored).

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2), seconds

    Returns
    -------
    precision, recall, f_measure : float
        All 0 when the estimate is empty.
    """
    _check_options(offset_ratio=offset_ratio, offset_min_tolerance=offset_min_tolerance)
    if offset_ratio is None:
        raise ParameterError("offset_ratio=None: offset metrics need an offset ratio")
    ref_iv, est_iv = _checked_intervals(ref_intervals, est_intervals)
    if est_iv.shape[0] == 0:
        return 0.0, 0.0, 0.0
    from mir_eval.transcription import offset_precision_recall_f1 as engine

    p, r, f = engine(
        ref_iv, est_iv, offset_ratio=offset_ratio, offset_min_tolerance=offset_min_tolerance
    )
    return float(p), float(r), float(f)


def _checked_intervals(
    ref_intervals: ArrayLike, est_intervals: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ref_iv = _check_intervals(ref_intervals, "reference")
    if ref_iv.shape[0] == 0:
        raise InputError("the reference has no notes: recall and F-measure are undefined")
    return ref_iv, _check_intervals(est_intervals, "estimate")


def velocity_precision_recall_f1_overlap(
    ref_intervals: ArrayLike,
    ref_pitches: ArrayLike,
    ref_velocities: ArrayLike,
    est_intervals: ArrayLike,
    est_pitches: ArrayLike,
    est_velocities: ArrayLike,
    *,
    offset_ratio: float | None = OFFSET_RATIO,
    onset_tolerance: float = ONSET_TOLERANCE,
    pitch_tolerance: float = PITCH_TOLERANCE_CENTS,
    offset_min_tolerance: float = OFFSET_MIN_TOLERANCE,
    velocity_tolerance: float = VELOCITY_TOLERANCE,
) -> tuple[float, float, float, float]:
    """Note metrics that also require the velocity to match (Hawthorne et al. 2018).

    mir_eval rescales reference velocities to [0, 1], fits the estimated velocities of the
    notes matched on onset/pitch/offset to them by least squares, and keeps a match only
    when the rescaled velocities differ by less than ``velocity_tolerance``.

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2), seconds
    ref_pitches, est_pitches : array_like, shape (n,) and (m,), MIDI note numbers
    ref_velocities, est_velocities : array_like, shape (n,) and (m,), MIDI velocities

    Returns
    -------
    precision, recall, f_measure, avg_overlap_ratio : float
        All 0 when the estimate is empty.
    """
    _check_options(
        onset_tolerance=onset_tolerance,
        pitch_tolerance=pitch_tolerance,
        offset_ratio=offset_ratio,
        offset_min_tolerance=offset_min_tolerance,
    )
    _check_positive("velocity_tolerance", velocity_tolerance)
    ref, est = _checked(
        ref_intervals,
        ref_pitches,
        est_intervals,
        est_pitches,
        ref_velocities=ref_velocities,
        est_velocities=est_velocities,
    )
    if est.intervals.shape[0] == 0:
        return 0.0, 0.0, 0.0, 0.0
    from mir_eval.transcription_velocity import precision_recall_f1_overlap as engine

    p, r, f, o = engine(
        ref.intervals,
        midi_to_hz(ref.pitches),
        ref.velocities,
        est.intervals,
        midi_to_hz(est.pitches),
        est.velocities,
        onset_tolerance=onset_tolerance,
        pitch_tolerance=pitch_tolerance,
        offset_ratio=offset_ratio,
        offset_min_tolerance=offset_min_tolerance,
        velocity_tolerance=velocity_tolerance,
    )
    return float(p), float(r), float(f), float(o)


# --------------------------------------------------------------------------------------
# Instrument-aware note metrics
# --------------------------------------------------------------------------------------


def _label_order(*label_arrays: NDArray[np.str_]) -> list[str]:
    """Every label that occurs, sorted (the order of per-instrument keys)."""
    return sorted({str(x) for labels in label_arrays for x in labels.tolist()})


def instrument_precision_recall_f1(
    ref_intervals: ArrayLike,
    ref_pitches: ArrayLike,
    ref_instruments: Labels,
    est_intervals: ArrayLike,
    est_pitches: ArrayLike,
    est_instruments: Labels,
    *,
    offset_ratio: float | None = OFFSET_RATIO,
    onset_tolerance: float = ONSET_TOLERANCE,
    pitch_tolerance: float = PITCH_TOLERANCE_CENTS,
    offset_min_tolerance: float = OFFSET_MIN_TOLERANCE,
) -> tuple[float, float, float, dict[str, float]]:
    """Instrument-aware note metrics ("multi-instrument F1").

    Notes are matched separately within each instrument label (mir_eval matching, same
    criteria as :func:`precision_recall_f1_overlap`), so a note with the right onset and
    pitch but the wrong instrument is a miss *and* a false alarm. True positives are summed
    over labels: ``P = TP / n_est``, ``R = TP / n_ref``, ``F = 2 TP / (n_ref + n_est)``.

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2), seconds
    ref_pitches, est_pitches : array_like, shape (n,) and (m,), MIDI note numbers
    ref_instruments, est_instruments : sequence of str or int, lengths n and m

    Returns
    -------
    precision, recall, f_measure : float
        Over all labels (precision 0 when the estimate is empty).
    per_instrument : dict[str, float]
        F-measure ``2 TP_c / (n_ref_c + n_est_c)`` for every label ``c`` occurring in
        either list, labels sorted as strings.
    """
    _check_options(
        onset_tolerance=onset_tolerance,
        pitch_tolerance=pitch_tolerance,
        offset_ratio=offset_ratio,
        offset_min_tolerance=offset_min_tolerance,
    )
    ref, est = _checked(
        ref_intervals,
        ref_pitches,
        est_intervals,
        est_pitches,
        ref_instruments=ref_instruments,
        est_instruments=est_instruments,
    )
    if ref.instruments is None or est.instruments is None:  # pragma: no cover - typing
        raise InputError("instrument labels are required for both sides")
    from mir_eval.transcription import match_notes

    ref_hz, est_hz = midi_to_hz(ref.pitches), midi_to_hz(est.pitches)
    per_instrument: dict[str, float] = {}
    total_tp = 0
    for label in _label_order(ref.instruments, est.instruments):
        r_idx = np.flatnonzero(ref.instruments == label)
        e_idx = np.flatnonzero(est.instruments == label)
        tp = 0
        if r_idx.size and e_idx.size:
            tp = len(
                match_notes(
                    ref.intervals[r_idx],
                    ref_hz[r_idx],
                    est.intervals[e_idx],
                    est_hz[e_idx],
                    onset_tolerance=onset_tolerance,
                    pitch_tolerance=pitch_tolerance,
                    offset_ratio=offset_ratio,
                    offset_min_tolerance=offset_min_tolerance,
                )
            )
        total_tp += tp
        per_instrument[label] = 2.0 * tp / (r_idx.size + e_idx.size)
    n_ref, n_est = ref.intervals.shape[0], est.intervals.shape[0]
    precision = total_tp / n_est if n_est else 0.0
    return precision, total_tp / n_ref, 2.0 * total_tp / (n_ref + n_est), per_instrument


# --------------------------------------------------------------------------------------
# Frames: pianorolls, multi-pitch and instrument activity
# --------------------------------------------------------------------------------------


def _frame_index(times: NDArray[np.float64], hop: float) -> NDArray[np.int64]:
    """First frame ``k`` with ``k * hop >= t`` (with a tiny slack against rounding)."""
    return np.ceil(times / hop - _FRAME_EPS).astype(np.int64)


def _n_frames(*intervals: NDArray[np.float64], hop: float) -> int:
    ends = [float(iv[:, 1].max()) for iv in intervals if iv.shape[0]]
    return int(_frame_index(np.array([max(ends, default=0.0)]), hop)[0])


def notes_to_roll(
    intervals: ArrayLike,
    rows: ArrayLike,
    *,
    n_rows: int,
    hop_seconds: float,
    n_frames: int,
) -> NDArray[np.bool_]:
    """Sample notes onto a frame grid.

    Parameters
    ----------
    intervals : array_like, shape (n_notes, 2), seconds
        Validated note intervals.
    rows : array_like of int, shape (n_notes,)
        Row of the roll each note sounds in (a pitch or an instrument index).
    n_rows : int
        Number of rows of the result.
    hop_seconds : float
        Frame hop; frame ``k`` is time ``k * hop_seconds``.
    n_frames : int
        Number of frames of the result; notes beyond it are cut.

    Returns
    -------
    np.ndarray, shape (n_rows, n_frames), bool
        True where a note of that row sounds (``onset <= k * hop < offset``).
    """
    iv = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    row = np.asarray(rows, dtype=np.int64).reshape(-1)
    start = np.minimum(_frame_index(iv[:, 0], hop_seconds), n_frames)
    stop = np.minimum(_frame_index(iv[:, 1], hop_seconds), n_frames)
    # A +1 at each start and a -1 at each stop; a running sum counts sounding notes.
    delta = np.zeros((n_rows, n_frames + 1), dtype=np.int64)
    np.add.at(delta, (row, start), 1)
    np.add.at(delta, (row, stop), -1)
    return np.cumsum(delta[:, :n_frames], axis=1) > 0


def _roll_to_frequencies(
    roll: NDArray[np.bool_], row_hz: NDArray[np.float64]
) -> list[NDArray[np.float64]]:
    """mir_eval.multipitch's ragged format: the frequencies sounding in each frame."""
    frame, row = np.nonzero(roll.T)
    counts = np.bincount(frame, minlength=roll.shape[1])
    return list(np.split(row_hz[row], np.cumsum(counts)[:-1]))


def _check_multipitch_range(hz: NDArray[np.float64], side: str) -> None:
    bad = (hz < MULTIPITCH_MIN_HZ) | (hz > MULTIPITCH_MAX_HZ)
    if bad.any():
        f = float(hz[np.argmax(bad)])
        lo, hi = (A4_MIDI + 12.0 * math.log2(x / A4_HZ) for x in (MULTIPITCH_MIN_HZ,
                                                                    MULTIPITCH_MAX_HZ))
        raise InputError(
            f"{side} has a sounding pitch of MIDI {A4_MIDI + 12.0 * math.log2(f / A4_HZ):g} "
            f"({f:.2f} Hz), outside the {MULTIPITCH_MIN_HZ:g}-{MULTIPITCH_MAX_HZ:g} Hz that "
            f"mir_eval.multipitch accepts (MIDI {lo:.2f}-{hi:.2f}); leave such notes out of "
            "frame-level evaluation"
        )


def _multipitch(
    ref_roll: NDArray[np.bool_],
    ref_hz: NDArray[np.float64],
    est_roll: NDArray[np.bool_],
    est_hz: NDArray[np.float64],
    hop: float,
) -> dict[str, float]:
    """mir_eval.multipitch.evaluate on two rolls of equal length with Hz per row."""
    if not ref_roll.any():
        raise InputError(
            "the reference has no sounding frame: frame recall is undefined; check the "
            "reference and the hop"
        )
    _check_multipitch_range(ref_hz[ref_roll.any(axis=1)], "the reference")
    _check_multipitch_range(est_hz[est_roll.any(axis=1)], "the estimate")
    from mir_eval.multipitch import evaluate as engine

    times = np.arange(ref_roll.shape[1], dtype=np.float64) * hop
    with warnings.catch_warnings():
        # An estimate with no sounding frame is a documented result (precision 0).
        warnings.filterwarnings("ignore", message="Estimate frequencies are all empty")
        scores = engine(
            times,
            _roll_to_frequencies(ref_roll, ref_hz),
            times,
            _roll_to_frequencies(est_roll, est_hz),
        )
    return {name: float(value) for name, value in scores.items()}


def multipitch_from_notes(
    ref_intervals: ArrayLike,
    ref_pitches: ArrayLike,
    est_intervals: ArrayLike,
    est_pitches: ArrayLike,
    *,
    hop_seconds: float = DEFAULT_HOP_SECONDS,
) -> dict[str, float]:
    """mir_eval.multipitch frame metrics of two note lists sampled on a common grid.

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2), seconds
    ref_pitches, est_pitches : array_like, shape (n,) and (m,), MIDI note numbers
    hop_seconds : float
        Frame hop in seconds (see the module's Conventions for the grid).

    Returns
    -------
    dict[str, float]
        mir_eval.multipitch's keys, in its order: ``Precision``, ``Recall``,
        ``Accuracy``, ``Substitution Error``, ``Miss Error``, ``False Alarm Error``,
        ``Total Error`` and the same seven prefixed with ``Chroma``.
    """
    hop = _check_hop(hop_seconds)
    ref, est = _checked(ref_intervals, ref_pitches, est_intervals, est_pitches)
    n_frames = _n_frames(ref.intervals, est.intervals, hop=hop)
    # One roll row per distinct pitch value, shared by both sides.
    pitch_values, rows = np.unique(np.concatenate([ref.pitches, est.pitches]),
                                   return_inverse=True)
    n_ref = ref.pitches.shape[0]
    rolls = [
        notes_to_roll(notes.intervals, r, n_rows=pitch_values.size, hop_seconds=hop,
                      n_frames=n_frames)
        for notes, r in ((ref, rows[:n_ref]), (est, rows[n_ref:]))
    ]
    hz = midi_to_hz(pitch_values)
    return _multipitch(rolls[0], hz, rolls[1], hz, hop)


def _check_roll(value: object, side: str, what: str) -> NDArray[np.bool_]:
    arr = np.asarray(value)
    if arr.ndim != 2:
        raise InputError(f"{side} {what} has shape {arr.shape}: expected (rows, frames)")
    if arr.dtype != np.bool_:
        if not (np.issubdtype(arr.dtype, np.number) and np.isin(arr, (0, 1)).all()):
            raise InputError(
                f"{side} {what} has values other than 0 and 1 (dtype {arr.dtype}): pass a "
                "boolean array; threshold activations first"
            )
        arr = arr.astype(np.bool_)
    return arr


def _pad_frames(
    ref: NDArray[np.bool_], est: NDArray[np.bool_]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    n = max(ref.shape[1], est.shape[1])
    return (
        np.pad(ref, ((0, 0), (0, n - ref.shape[1]))),
        np.pad(est, ((0, 0), (0, n - est.shape[1]))),
    )


def multipitch_from_rolls(
    ref_roll: ArrayLike,
    est_roll: ArrayLike,
    *,
    hop_seconds: float,
    lowest_midi: int = 21,
) -> dict[str, float]:
    """mir_eval.multipitch frame metrics of two pianorolls.

    Parameters
    ----------
    ref_roll, est_roll : array_like of bool, shape (n_pitches, n_frames)
        Row ``i`` is MIDI pitch ``lowest_midi + i``; column ``k`` is time
        ``k * hop_seconds``. 0/1 integers are accepted. A shorter roll is padded with
        silent frames.
    hop_seconds : float
        Frame hop in seconds.
    lowest_midi : int
        MIDI pitch of row 0 (21, A0, for an 88-key roll).

    Returns
    -------
    dict[str, float]
        As :func:`multipitch_from_notes`.
    """
    hop = _check_hop(hop_seconds)
    ref = _check_roll(ref_roll, "reference", "pianoroll")
    est = _check_roll(est_roll, "estimate", "pianoroll")
    if ref.shape[0] != est.shape[0]:
        raise InputError(
            f"the reference pianoroll has {ref.shape[0]} pitch rows and the estimate "
            f"{est.shape[0]}: both need the same pitch layout (rolls are (pitches, frames))"
        )
    if isinstance(lowest_midi, bool) or not isinstance(lowest_midi, int | np.integer):
        raise ParameterError(f"lowest_midi={lowest_midi!r} must be an integer MIDI pitch")
    if lowest_midi < MIDI_MIN or lowest_midi + ref.shape[0] - 1 > MIDI_MAX:
        raise InputError(
            f"a roll of {ref.shape[0]} rows from lowest_midi={lowest_midi} spans MIDI "
            f"{lowest_midi}-{lowest_midi + ref.shape[0] - 1}, outside [{MIDI_MIN}, {MIDI_MAX}]:"
            " rolls are (pitches, frames); transpose a (frames, pitches) roll"
        )
    ref, est = _pad_frames(ref, est)
    hz = midi_to_hz(np.arange(ref.shape[0]) + lowest_midi)
    return _multipitch(ref, hz, est, hz, hop)


def activity_from_notes(
    intervals: ArrayLike,
    instruments: Labels,
    *,
    labels: Sequence[str],
    hop_seconds: float = DEFAULT_HOP_SECONDS,
    n_frames: int,
) -> NDArray[np.bool_]:
    """Instrument activity matrix: an instrument is active while any of its notes sounds.

    Parameters
    ----------
    intervals : array_like, shape (n_notes, 2), seconds
    instruments : sequence of str or int, length n_notes
    labels : sequence of str
        Row order of the result; every label in ``instruments`` must be among them.
    hop_seconds : float
        Frame hop in seconds.
    n_frames : int
        Number of frames of the result.

    Returns
    -------
    np.ndarray, shape (len(labels), n_frames), bool
    """
    hop = _check_hop(hop_seconds)
    iv = _check_intervals(intervals, "notes")
    names = _check_labels(instruments, iv.shape[0], "notes")
    index = {label: i for i, label in enumerate(labels)}
    missing = sorted(set(names.tolist()) - index.keys())
    if missing:
        raise InputError(f"instrument labels {missing} are not among labels={list(labels)}")
    rows = np.array([index[name] for name in names.tolist()], dtype=np.int64)
    return notes_to_roll(iv, rows, n_rows=len(labels), hop_seconds=hop, n_frames=n_frames)


def activity_precision_recall_f1(
    ref_activity: ArrayLike,
    est_activity: ArrayLike,
    *,
    instruments: Sequence[str],
) -> tuple[float, float, float, dict[str, float]]:
    """Frame-level instrument activity: micro P/R/F and per-instrument F-measure.

    Parameters
    ----------
    ref_activity, est_activity : array_like of bool, shape (n_instruments, n_frames)
        True where the instrument plays; a shorter matrix is padded with silent frames.
    instruments : sequence of str, length n_instruments
        Row names.

    Returns
    -------
    precision, recall, f_measure : float
        Over all (instrument, frame) cells; precision 0 when the estimate is silent.
    per_instrument : dict[str, float]
        ``2 TP / (2 TP + FP + FN)`` per instrument active in either matrix; instruments
        silent in both have no entry (their F-measure is 0/0).

    Raises
    ------
    InputError
        Mismatched rows, non-boolean values, or a reference with no active cell.
    """
    ref = _check_roll(ref_activity, "reference", "activity matrix")
    est = _check_roll(est_activity, "estimate", "activity matrix")
    names = [str(x) for x in instruments]
    for side, arr in (("reference", ref), ("estimate", est)):
        if arr.shape[0] != len(names):
            raise InputError(
                f"the {side} activity matrix has {arr.shape[0]} rows but {len(names)} "
                "instruments are named: matrices are (instruments, frames)"
            )
    ref, est = _pad_frames(ref, est)
    if not ref.any():
        raise InputError(
            "the reference activity matrix has no active cell: recall is undefined"
        )
    tp = (ref & est).sum(axis=1)
    n_ref, n_est = ref.sum(axis=1), est.sum(axis=1)
    per_instrument = {
        name: 2.0 * float(tp[i]) / float(n_ref[i] + n_est[i])
        for i, name in enumerate(names)
        if n_ref[i] + n_est[i]
    }
    total_tp, total_ref, total_est = int(tp.sum()), int(n_ref.sum()), int(n_est.sum())
    precision = total_tp / total_est if total_est else 0.0
    return (
        precision,
        total_tp / total_ref,
        2.0 * total_tp / (total_ref + total_est),
        per_instrument,
    )


# --------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------

_NOTE_KEYS = ("Precision", "Recall", "F-measure", "Average_Overlap_Ratio")


def _named(keys: Sequence[str], values: Sequence[float], *, prefix: str = "",
           suffix: str = "") -> dict[str, float]:
    return {f"{prefix}{key}{suffix}": float(value) for key, value in zip(keys, values,
                                                                          strict=True)}


def evaluate(
    ref_intervals: ArrayLike,
    ref_pitches: ArrayLike,
    est_intervals: ArrayLike,
    est_pitches: ArrayLike,
    *,
    ref_velocities: ArrayLike | None = None,
    est_velocities: ArrayLike | None = None,
    ref_instruments: Labels | None = None,
    est_instruments: Labels | None = None,
    hop_seconds: float = DEFAULT_HOP_SECONDS,
) -> dict[str, float]:
    """Every transcription metric that applies to the given notes.

    Parameters
    ----------
    ref_intervals, est_intervals : array_like, shape (n, 2) and (m, 2), seconds
    ref_pitches, est_pitches : array_like, shape (n,) and (m,), MIDI note numbers
    ref_velocities, est_velocities : array_like, shape (n,) and (m,), optional
        MIDI velocities; both or neither. Adds the ``Velocity ...`` keys.
    ref_instruments, est_instruments : sequence of str or int, optional
        Instrument label per note; both or neither. Adds the ``Instrument ...`` and
        ``Activity ...`` keys.
    hop_seconds : float
        Frame hop for the ``Frame ...`` and ``Activity ...`` keys.

    Returns
    -------
    dict[str, float]
        In this order (mir_eval.transcription.evaluate's keys keep their names and values):

        * ``Precision``, ``Recall``, ``F-measure``, ``Average_Overlap_Ratio``: onset, pitch
          and offset; then the same four with ``_no_offset`` (onset and pitch).
        * ``Onset_Precision``, ``Onset_Recall``, ``Onset_F-measure`` and the ``Offset_``
          three: onsets or offsets alone.
        * With velocities: ``Velocity `` + the eight note keys above.
        * ``Frame `` + the 14 mir_eval.multipitch keys (e.g. ``Frame Accuracy``,
          ``Frame Chroma Total Error``).
        * With instruments: ``Instrument Precision/Recall/F-measure`` (+ ``_no_offset``),
          then ``Instrument F-measure [LABEL]`` and ``Instrument F-measure_no_offset
          [LABEL]`` per label; ``Activity Precision/Recall/F-measure`` and
          ``Activity F-measure [LABEL]`` per label.
        * ``Reference notes`` and ``Estimated notes``: the note counts.
    """
    ref, est = _checked(
        ref_intervals,
        ref_pitches,
        est_intervals,
        est_pitches,
        ref_velocities=ref_velocities,
        est_velocities=est_velocities,
        ref_instruments=ref_instruments,
        est_instruments=est_instruments,
    )
    hop = _check_hop(hop_seconds)
    notes = (ref.intervals, ref.pitches, est.intervals, est.pitches)
    scores: dict[str, float] = {}
    scores |= _named(_NOTE_KEYS, precision_recall_f1_overlap(*notes))
    scores |= _named(_NOTE_KEYS, precision_recall_f1_overlap(*notes, offset_ratio=None),
                     suffix="_no_offset")
    scores |= _named(_NOTE_KEYS[:3], onset_precision_recall_f1(ref.intervals, est.intervals),
                     prefix="Onset_")
    scores |= _named(_NOTE_KEYS[:3], offset_precision_recall_f1(ref.intervals, est.intervals),
                     prefix="Offset_")
    if ref.velocities is not None and est.velocities is not None:
        with_velocity = (ref.intervals, ref.pitches, ref.velocities,
                         est.intervals, est.pitches, est.velocities)
        scores |= _named(_NOTE_KEYS, velocity_precision_recall_f1_overlap(*with_velocity),
                         prefix="Velocity ")
        scores |= _named(
            _NOTE_KEYS,
            velocity_precision_recall_f1_overlap(*with_velocity, offset_ratio=None),
            prefix="Velocity ",
            suffix="_no_offset",
        )
    frame = multipitch_from_notes(*notes, hop_seconds=hop)
    scores |= {f"Frame {key}": value for key, value in frame.items()}
    if ref.instruments is not None and est.instruments is not None:
        scores |= _instrument_scores(ref, ref.instruments, est, est.instruments, hop)
    scores["Reference notes"] = float(ref.intervals.shape[0])
    scores["Estimated notes"] = float(est.intervals.shape[0])
    return scores


def _instrument_scores(
    ref: _Notes, ref_labels: NDArray[np.str_], est: _Notes, est_labels: NDArray[np.str_],
    hop: float,
) -> dict[str, float]:
    """The ``Instrument ...`` and ``Activity ...`` keys of :func:`evaluate`."""
    per_label: dict[str, float] = {}
    scores: dict[str, float] = {}
    for offset_ratio, suffix in ((OFFSET_RATIO, ""), (None, "_no_offset")):
        p, r, f, per = instrument_precision_recall_f1(
            ref.intervals, ref.pitches, ref_labels,
            est.intervals, est.pitches, est_labels,
            offset_ratio=offset_ratio,
        )
        scores |= _named(_NOTE_KEYS[:3], (p, r, f), prefix="Instrument ", suffix=suffix)
        per_label |= {f"Instrument F-measure{suffix} [{k}]": v for k, v in per.items()}
    scores |= per_label
    labels = _label_order(ref_labels, est_labels)
    n_frames = _n_frames(ref.intervals, est.intervals, hop=hop)
    ref_act, est_act = (
        activity_from_notes(intervals, names, labels=labels, hop_seconds=hop,
                            n_frames=n_frames)
        for intervals, names in ((ref.intervals, ref_labels), (est.intervals, est_labels))
    )
    p, r, f, per = activity_precision_recall_f1(ref_act, est_act, instruments=labels)
    scores |= _named(_NOTE_KEYS[:3], (p, r, f), prefix="Activity ")
    scores |= {f"Activity F-measure [{k}]": v for k, v in per.items()}
    return scores


# --------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteList:
    """Notes read from a file.

    Attributes
    ----------
    intervals : np.ndarray, shape (n_notes, 2), float64
        Onset and offset in seconds.
    pitches : np.ndarray, shape (n_notes,), float64
        MIDI note numbers.
    velocities : np.ndarray, shape (n_notes,), float64, or None
        MIDI velocities, when the file has them.
    instruments : np.ndarray, shape (n_notes,), str, or None
        Instrument labels, when the file has them.
    """

    intervals: NDArray[np.float64]
    pitches: NDArray[np.float64]
    velocities: NDArray[np.float64] | None = None
    instruments: NDArray[np.str_] | None = None

    def __len__(self) -> int:
        return int(self.intervals.shape[0])


def evaluate_note_lists(
    reference: NoteList, estimate: NoteList, *, hop_seconds: float = DEFAULT_HOP_SECONDS
) -> dict[str, float]:
    """:func:`evaluate` on two :class:`NoteList`.

    Velocity metrics are computed when both lists carry velocities and instrument metrics
    when both carry instruments (a MIDI file always does; a CSV file only with those
    columns).
    """
    both_vel = reference.velocities is not None and estimate.velocities is not None
    both_inst = reference.instruments is not None and estimate.instruments is not None
    return evaluate(
        reference.intervals,
        reference.pitches,
        estimate.intervals,
        estimate.pitches,
        ref_velocities=reference.velocities if both_vel else None,
        est_velocities=estimate.velocities if both_vel else None,
        ref_instruments=reference.instruments if both_inst else None,
        est_instruments=estimate.instruments if both_inst else None,
        hop_seconds=hop_seconds,
    )


def read_notes(path: PathLike) -> NoteList:
    """Read notes from a MIDI file or a CSV/TSV note table.

    MIDI (``.mid``, ``.midi``) is read with pretty_midi: every note of every track, with
    its velocity and the label ``"program:N"`` (``"drums"`` for drum tracks); pitch bends
    and control changes are ignored. Notes are sorted by onset, pitch and label.
    pretty_midi itself drops zero-length notes (note-on and note-off on the same tick), so
    every note read has a positive duration.

    A note table (``.csv``, ``.tsv``, ``.txt``) has one note a row with the columns
    ``onset,offset,pitch[,velocity][,instrument]`` (seconds, MIDI numbers, MIDI velocity,
    any label). The delimiter (tab, comma, semicolon or blanks) is taken from the first
    row. A header row naming the columns is optional; with one, the columns may come in
    any order and ``velocity`` or ``instrument`` may be left out (``class``, the column name
    of ``mirkit synth``'s notes.csv, counts as ``instrument``). Without one, a fourth
    column holds velocities when all of it is numeric, else instruments (name the columns
    in a header to give numeric instrument labels without velocities). Blank lines and
    lines starting with ``#`` are skipped; the notes keep the file's order.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    NoteList
        Possibly empty.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown extension, a row that does not parse (the
        message names the file and line), negative times, offset <= onset, pitch or
        velocity outside [0, 127].
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"'{p}' does not exist or is not a file: check the path")
    suffix = p.suffix.lower()
    if suffix in MIDI_EXTENSIONS:
        return _read_midi(p)
    if suffix in TEXT_EXTENSIONS:
        return _read_note_table(p)
    raise InputError(
        f"'{p}' has extension '{p.suffix}', which is not a note file: use one of "
        + " ".join(sorted(MIDI_EXTENSIONS | TEXT_EXTENSIONS))
    )


def _read_midi(p: Path) -> NoteList:
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(p))
    except Exception as exc:  # pretty_midi/mido raise many types for corrupt files
        raise InputError(f"'{p}' is not a readable MIDI file: {exc}") from exc
    rows: list[tuple[float, float, int, int, str]] = []
    for inst in midi.instruments:
        label = DRUMS_LABEL if inst.is_drum else PROGRAM_LABEL.format(inst.program)
        rows.extend((n.start, n.end, n.pitch, n.velocity, label) for n in inst.notes)
    rows.sort(key=lambda r: (r[0], r[2], r[4]))
    return NoteList(
        np.array([r[:2] for r in rows], dtype=np.float64).reshape(-1, 2),
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.float64),
        np.array([r[4] for r in rows], dtype=np.str_),
    )


def _split(line: str, delimiter: str | None) -> list[str]:
    return [field.strip() for field in line.split(delimiter)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_note_table(p: Path) -> NoteList:
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM (Excel CSV) is not data
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read '{p}' as UTF-8 text: {exc}") from exc
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return NoteList(np.zeros((0, 2)), np.zeros(0))
    first = lines[0][1]
    delimiter = next((d for d in ("\t", ",", ";") if d in first), None)
    fields = _split(first, delimiter)
    if not _is_number(fields[0]):
        columns = _header_columns(p, lines[0][0], fields)
        lines = lines[1:]
    else:
        columns = list(NOTE_TABLE_COLUMNS[: min(len(fields), 3)])
        if len(fields) == 4:
            fourth = (_split(line, delimiter)[3:4] for _, line in lines)
            numeric = all(_is_number(f[0]) for f in fourth if f)
            columns.append("velocity" if numeric else "instrument")
        elif len(fields) == 5:
            columns += ["velocity", "instrument"]
        elif len(fields) != 3:
            raise InputError(
                f"'{p}' line {lines[0][0]}: {len(fields)} columns; a note table has 3 to 5 "
                "(onset, offset, pitch[, velocity][, instrument])"
            )
    return _parse_note_rows(p, lines, columns, delimiter)


def _header_columns(p: Path, number: int, fields: list[str]) -> list[str]:
    # "class" is the instrument column of a `mirkit synth` track's notes.csv
    columns = ["instrument" if f.lower() == "class" else f.lower() for f in fields]
    unknown = [c for c in columns if c not in NOTE_TABLE_COLUMNS]
    missing = [c for c in NOTE_TABLE_COLUMNS[:3] if c not in columns]
    # other columns (e.g. the confidence of `mirkit transcribe`'s notes.csv) are ignored
    if missing or len(set(columns)) != len(columns):
        raise InputError(
            f"'{p}' line {number}: header {fields} must name onset, offset and pitch (and "
            "optionally velocity and instrument), each once"
            + (f"; unknown: {unknown}" if unknown else "")
        )
    return columns


def _parse_note_rows(
    p: Path, lines: list[tuple[int, str]], columns: list[str], delimiter: str | None
) -> NoteList:
    values: dict[str, list[Any]] = {c: [] for c in columns if c in NOTE_TABLE_COLUMNS}
    for number, line in lines:
        fields = _split(line, delimiter)
        where = f"'{p}' line {number}"
        if len(fields) != len(columns):
            raise InputError(
                f"{where}: {len(fields)} fields, expected {len(columns)} ({', '.join(columns)})"
            )
        row = {c: f for c, f in zip(columns, fields, strict=True) if c in NOTE_TABLE_COLUMNS}
        for name, field in row.items():
            if name == "instrument":
                values[name].append(field)
                continue
            try:
                value = float(field)
            except ValueError:
                raise InputError(f"{where}: {name} {field!r} is not a number") from None
            if not math.isfinite(value):
                raise InputError(f"{where}: {name} {field!r} is not finite")
            values[name].append(value)
        _check_row(where, values, list(values))
    intervals = np.column_stack([values["onset"], values["offset"]]).astype(np.float64)
    return NoteList(
        intervals.reshape(-1, 2),
        np.asarray(values["pitch"], dtype=np.float64),
        np.asarray(values["velocity"], dtype=np.float64) if "velocity" in values else None,
        np.asarray(values["instrument"], dtype=np.str_) if "instrument" in values else None,
    )


def _check_row(where: str, values: dict[str, list[Any]], columns: list[str]) -> None:
    """Check the row just appended to ``values``."""
    onset, offset, pitch = values["onset"][-1], values["offset"][-1], values["pitch"][-1]
    if onset < 0 or offset < 0:
        raise InputError(f"{where}: negative time (onset {onset:g}, offset {offset:g} s)")
    if max(onset, offset) > MAX_TIME_SECONDS:
        raise InputError(
            f"{where}: time {max(onset, offset):g} s is beyond {MAX_TIME_SECONDS:g} s: times "
            "look like milliseconds; write seconds"
        )
    if offset <= onset:
        raise InputError(
            f"{where}: offset {offset:g} s <= onset {onset:g} s: every note needs a positive "
            "duration (columns are onset, offset, pitch)"
        )
    if not MIDI_MIN <= pitch <= MIDI_MAX:
        hint = "; pitches are MIDI numbers, not Hz" if pitch > MIDI_MAX else ""
        raise InputError(f"{where}: pitch {pitch:g} is outside [{MIDI_MIN}, {MIDI_MAX}]{hint}")
    if "velocity" in columns and not MIDI_MIN <= values["velocity"][-1] <= MIDI_MAX:
        raise InputError(
            f"{where}: velocity {values['velocity'][-1]:g} is outside [{MIDI_MIN}, {MIDI_MAX}]"
        )
