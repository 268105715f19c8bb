"""Note creation for frame-level transcription models, and the files of ``mirkit transcribe``.

:func:`decode_notes` turns a model's pianoroll and onset probabilities (class x 88 keys x
frames, already passed through the sigmoid) into notes; :func:`notes_to_score`,
:func:`write_notes_csv` and :func:`write_activity_csv` (with :func:`activity_table`) write
``NAME.mid``, ``NAME.notes.csv`` and ``NAME.activity.csv``. Nothing here needs torch.

Frame convention (:mod:`mirkit.features.pianoroll`): frame ``k`` is centred at
``k / fps`` seconds with ``fps = sr / hop``; a note occupying frames ``s .. e-1`` has onset
``s / fps`` and offset ``e / fps``. Decoding is the inverse of
:func:`~mirkit.features.pianoroll.notes_to_labels`: notes -> labels -> :func:`decode_notes`
gives back the notes with onsets and offsets within half a frame (the rounding of the label
grid), provided each note is at least ``min_note_seconds`` long and two notes of one key do
not overlap.

Decoding rules (per class and key; thresholds compare with ``>=``)
    1. *Active frames*: ``roll_prob >= frame_threshold``. Holes of at most
       ``gap_merge_frames`` inactive frames with active frames on both sides are filled
       (a short dropout does not end a note; default 0: nothing is filled).
    2. *Starts*, with ``use_onsets=True``: the frames where ``onset_prob >= onset_threshold``
       form runs of consecutive frames; each run gives one start, at its largest onset
       probability (the first such frame on a tie). So an onset smeared over neighbouring
       frames makes one note. With ``use_onsets=False`` the starts are the rising edges of
       the active frames and ``onset_prob`` is not used at all (it may be ``None``).
    3. *Ends* (pitched classes): a note starting at frame ``s`` covers frame ``s`` (even when
       ``s`` itself is not active: the onset counts) and then every following active frame;
       it ends at ``e``, the first frame after ``s`` that is inactive or that is the next
       start of the same key (a re-articulation), or at the last frame + 1. Active frames
       that follow no start make no note when onsets are used (onset gating). Without
       onsets, repeated notes of one key whose frames touch merge into one note.
       *Re-articulations* need ``reonset_threshold`` (default: ``onset_threshold``, i.e.
       no extra rule): a start whose onset probability is below it and that the note
       before it on the same key reaches (every frame between them active, and the start's
       own frame active too or a one-frame dip before more active frames) is dropped, and
       that note goes on through it. Starts after an inactive frame only need
       ``onset_threshold``. A model is surer of a note that rises out of silence than of a
       repeated one inside a held pitch, where vibrato, bowing and the other parts'
       onsets make weak false peaks.
    4. *Minimum length*: pitched notes with ``(e - s) / fps < min_note_seconds`` are dropped.
    5. *Drums* (classes in ``drum_classes``): each start gives a note of fixed length,
       ``offset = min(s / fps + drum_note_seconds, next start of that key / fps)``;
       the frame activity after the start and ``min_note_seconds`` are ignored.
    6. *Velocity*: ``round(40 + 87 * p)`` clipped to 1..127 (:func:`velocity_from_probability`),
       with ``p`` the onset probability at ``s``, or the frame probability at ``s`` when
       ``use_onsets=False``.
    7. *Confidence* in [0, 1]: pitched notes, the mean frame probability over frames
       ``s .. e-1``; drums, the frame probability at ``s``. With onsets, that value is
       averaged with the onset probability at ``s``.
    8. Pitch: ``lowest_pitch + key`` (drums keep their General MIDI drum key). The result is
       sorted by onset, then class (axis order), then pitch.
    9. *Decoder*. ``per-instrument`` applies rules 1-8 to every (class, key) row, so one
       sounding pitch may give notes in several classes. ``pitch-first`` first pools the
       pitched classes (the maximum over them, for the frame and the onset probabilities:
       the model's pitch roll), applies rules 1-8 to the 88 pooled rows, then gives each
       note the one pitched class whose frame probability, averaged over the note's frames
       ``s .. e-1``, is largest (the first class in axis order on a tie). Drum classes are
       decoded per class in both. ``pitch-first`` makes one note per sounding pitch, which
       is what the pitch metrics count; on mirkit's validation split it scores higher note
       F1 and frame accuracy at the same instrument-aware F1 (``docs/models/transcribe.md``).
   10. *Class vote* (``pitch-first``, ``min_class_share > 0``). The instruments of a piece
       do not change from note to note, while the model's choice among similar timbres
       wavers. So the labels of rule 9 are taken as votes, each note voting its length
       (frames) for its class; for each note, the classes that hold less than
       ``min_class_share`` of the votes of the notes starting within
       ``class_window_seconds`` around it (half before, half after; the class with the most
       votes always stays) are ruled out, and the note takes the largest mean among the
       classes left. Notes keep their pitch, times and confidence; only labels change.

The result is a :class:`DecodedNotes`: a :class:`mirkit.data.datasets.NoteTable` (onset,
offset, pitch, velocity, class — the table every dataset and metric in mirkit shares) plus
a ``confidence`` column. ``NAME.notes.csv`` names the class column ``instrument``.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.data.datasets import NoteTable, read_note_csv
from mirkit.data.instruments import BY_NAME, CLASS_INDEX, CLASSES
from mirkit.errors import InputError, ParameterError
from mirkit.features.pianoroll import LOWEST_PITCH, N_PITCHES
from mirkit.io.atomic import atomic_write
from mirkit.io.symbolic import PartInfo, Score

__all__ = [
    "ACTIVITY_TIME_COLUMN",
    "DECODERS",
    "DEFAULT_CLASS_WINDOW_SECONDS",
    "DEFAULT_DRUM_NOTE_SECONDS",
    "DEFAULT_FRAME_THRESHOLD",
    "DEFAULT_MIN_NOTE_SECONDS",
    "DEFAULT_ONSET_THRESHOLD",
    "NOTES_CSV_COLUMNS",
    "SCORE_QPM",
    "DecodedNotes",
    "activity_table",
    "check_class_share",
    "check_class_window",
    "check_decoder",
    "check_reonset_threshold",
    "check_threshold",
    "decode_notes",
    "label_by_mean",
    "note_frames",
    "notes_to_score",
    "read_notes_csv",
    "velocity_from_probability",
    "write_activity_csv",
    "write_notes_csv",
]

#: Default probability thresholds of the frame (roll) and onset outputs.
DEFAULT_FRAME_THRESHOLD = 0.5
DEFAULT_ONSET_THRESHOLD = 0.5
#: Pitched notes shorter than this (seconds) are dropped.
DEFAULT_MIN_NOTE_SECONDS = 0.05
#: Length given to every drum note (seconds).
DEFAULT_DRUM_NOTE_SECONDS = 0.1
#: Note decoders (module docstring, rule 9); the first is the default.
DECODERS: tuple[str, ...] = ("per-instrument", "pitch-first")
#: Window (seconds) of the class vote of rule 10 (``min_class_share``).
DEFAULT_CLASS_WINDOW_SECONDS = 20.0
#: Velocity mapping ``VELOCITY_FLOOR + VELOCITY_SPAN * p``: p = 0 -> 40, p = 1 -> 127.
VELOCITY_FLOOR = 40.0
VELOCITY_SPAN = 87.0
#: Tempo of the scores :func:`notes_to_score` makes (the note times are seconds).
SCORE_QPM = 120.0
#: Header of ``NAME.notes.csv``.
NOTES_CSV_COLUMNS: tuple[str, ...] = ("onset", "offset", "pitch", "velocity", "instrument",
                                      "confidence")
#: First column of ``NAME.activity.csv`` (the other columns are the class names).
ACTIVITY_TIME_COLUMN = "time"
#: Decimals written for times (seconds) and for probabilities / confidences.
_TIME_DECIMALS = 6
_PROB_DECIMALS = 4
#: Slack for float comparisons of durations and bin boundaries.
_EPS = 1e-9


# --------------------------------------------------------------------------- result type


@dataclass(frozen=True, eq=False)
class DecodedNotes:
    """Decoded notes: a :class:`~mirkit.data.datasets.NoteTable` plus a confidence per note.

    Attributes
    ----------
    notes : NoteTable
        ``onset``, ``offset`` (seconds), ``pitch`` (MIDI), ``velocity`` (1-127) and
        ``class_`` (instrument class name) columns, shape (n,) each.
    confidence : np.ndarray, shape (n,), float64
        Values in [0, 1] (see rule 7 of the module docstring).

    The columns are also available as attributes (``onset`` ... ``instrument``,
    ``confidence``) and by their CSV names (``table["instrument"]``).
    """

    notes: NoteTable
    confidence: NDArray[np.float64]

    def __post_init__(self) -> None:
        conf = np.asarray(self.confidence, dtype=np.float64).ravel()
        if len(conf) != len(self.notes):
            raise InputError(f"{len(conf)} confidences for {len(self.notes)} notes: give one "
                             "per note")
        if len(conf) and not (conf.min() >= 0.0 and conf.max() <= 1.0):
            bad = conf[~((conf >= 0.0) & (conf <= 1.0))][0]
            raise InputError(f"note confidence {bad} is outside [0, 1]")
        object.__setattr__(self, "confidence", conf)

    @classmethod
    def empty(cls) -> DecodedNotes:
        """No notes."""
        return cls(NoteTable.empty(), np.zeros(0))

    def __len__(self) -> int:
        return len(self.notes)

    @property
    def onset(self) -> NDArray[np.float64]:
        return self.notes.onset

    @property
    def offset(self) -> NDArray[np.float64]:
        return self.notes.offset

    @property
    def pitch(self) -> NDArray[np.int16]:
        return self.notes.pitch

    @property
    def velocity(self) -> NDArray[np.int16]:
        return self.notes.velocity

    @property
    def instrument(self) -> NDArray[np.str_]:
        return self.notes.class_

    def __getitem__(self, column: str) -> NDArray[Any]:
        """A column by its ``NAME.notes.csv`` name (``"onset"`` ... ``"confidence"``)."""
        if column not in NOTES_CSV_COLUMNS:
            raise ParameterError(f"unknown note column {column!r}; use one of "
                                 f"{', '.join(NOTES_CSV_COLUMNS)}")
        return self.confidence if column == "confidence" else getattr(self, column)

    def select(self, keep: ArrayLike) -> DecodedNotes:
        """The notes where ``keep`` (boolean mask or indices, shape (n,)) selects them.

        Example: ``notes.select(np.isin(notes.instrument, ["piano", "bass"]))``.
        """
        idx = np.asarray(keep)
        if idx.dtype == bool and idx.shape != (len(self),):
            raise ParameterError(f"mask of shape {idx.shape} for {len(self)} notes")
        t = self.notes
        return DecodedNotes(NoteTable(t.onset[idx], t.offset[idx], t.pitch[idx],
                                      t.velocity[idx], t.class_[idx]), self.confidence[idx])


def velocity_from_probability(p: ArrayLike) -> NDArray[np.int16]:
    """MIDI velocity of a note from its onset probability: ``round(40 + 87 p)``, in 1..127."""
    v = np.rint(VELOCITY_FLOOR + VELOCITY_SPAN * np.asarray(p, dtype=np.float64))
    return np.clip(v, 1, 127).astype(np.int16)


# --------------------------------------------------------------------------- validation


def check_threshold(value: object, flag: str) -> float:
    """``value`` as a float if it lies strictly in (0, 1) (a probability threshold), else
    :class:`ParameterError` naming ``flag``."""
    if not isinstance(value, int | float | np.floating | np.integer) or isinstance(value, bool) \
            or not 0.0 < float(value) < 1.0:
        raise ParameterError(f"{flag} {value!r} must lie strictly between 0 and 1 "
                             "(a probability threshold, e.g. 0.5)")
    return float(value)


def _check_nonnegative(name: str, value: float, *, positive: bool = False) -> float:
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(
        value, bool) and math.isfinite(float(value))
    if not ok or float(value) < 0 or (positive and float(value) == 0):
        raise ParameterError(f"{name} {value!r} must be a finite number "
                             f"{'> 0' if positive else '>= 0'}")
    return float(value)


def _check_rate(sr: int, hop: int) -> float:
    for name, value in (("sr", sr), ("hop", hop)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            raise ParameterError(f"{name} {value!r} must be a positive whole number "
                                 f"({'Hz' if name == 'sr' else 'samples'})")
    return int(sr) / int(hop)


def _check_probs(name: str, value: ArrayLike, ndim: int, expected: str
                 ) -> NDArray[Any]:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise ParameterError(f"{name} has shape {arr.shape}; expected {expected}")
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(f"{name} has dtype {arr.dtype}; expected probabilities (floats)")
    if arr.size and arr.dtype != bool:
        lo, hi = arr.min(), arr.max()
        if not (lo >= 0 and hi <= 1):  # NaN fails both comparisons
            raise ParameterError(f"{name} holds values from {lo} to {hi}; expected "
                                 "probabilities in [0, 1] (apply a sigmoid to logits)")
    return arr


# --------------------------------------------------------------------------- decoding


def _runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(start, stop) indices of the runs of True in a 1-D mask (stop exclusive)."""
    edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _fill_gaps(active: NDArray[np.bool_], max_gap: int) -> NDArray[np.bool_]:
    """``active`` with holes of at most ``max_gap`` frames between active runs filled."""
    if max_gap <= 0:
        return active
    starts, stops = _runs(active)
    if len(starts) < 2:
        return active
    gap = starts[1:] - stops[:-1]
    small = np.flatnonzero(gap <= max_gap)
    if not len(small):
        return active
    out = active.copy()
    for i in small:
        out[stops[i]:starts[i + 1]] = True
    return out


def _peak_starts(o: NDArray[np.float64], threshold: float) -> NDArray[np.intp]:
    """One frame per run of ``o >= threshold``: the run's (first) maximum."""
    above = o >= threshold
    starts, _ = _runs(above)
    if not len(starts):
        return starts
    run_max = np.maximum.reduceat(o, starts)  # frames between runs are below threshold
    idx = np.flatnonzero(above)
    run_of = np.searchsorted(starts, idx, side="right") - 1
    at_max = o[idx] == run_max[run_of]
    _, first = np.unique(run_of[at_max], return_index=True)
    return idx[at_max][first]


@dataclass(frozen=True)
class _Options:
    frame_threshold: float
    onset_threshold: float
    reonset_threshold: float
    min_frames: float
    gap_merge_frames: int
    use_onsets: bool
    fps: float
    drum_note_seconds: float


def _decode_row(f: NDArray[np.float64], o: NDArray[np.float64] | None, is_drum: bool,
                opt: _Options) -> tuple[NDArray[np.float64], ...]:
    """Decode one (class, key) row: (onset s, offset s, start prob, confidence) arrays."""
    n = len(f)
    active = _fill_gaps(f >= opt.frame_threshold, opt.gap_merge_frames)
    if opt.use_onsets and o is not None:
        s = _peak_starts(o, opt.onset_threshold)
        start_p = o[s]
    else:
        s, e_runs = _runs(active)
        start_p = f[s]
    if not len(s):
        empty = np.zeros(0)
        return empty, empty, empty, empty
    nxt = np.append(s[1:], n)
    if is_drum:
        onset = s / opt.fps
        offset = np.minimum(onset + opt.drum_note_seconds, nxt / opt.fps)
        conf = f[s]
    else:
        if opt.use_onsets and o is not None:
            # first inactive frame after the start (n when the row stays active)
            inactive = np.append(np.flatnonzero(~active), n)
            reach = inactive[np.searchsorted(inactive, s + 1)]
            if opt.reonset_threshold > opt.onset_threshold:
                s, reach, start_p = _drop_weak_rearticulations(s, reach, start_p, opt)
                nxt = np.append(s[1:], n)
            e = np.minimum(reach, nxt)
        else:
            e = e_runs
        keep = (e - s) >= opt.min_frames - _EPS
        s, e, start_p = s[keep], e[keep], start_p[keep]
        csum = np.concatenate(([0.0], np.cumsum(f)))
        conf = (csum[e] - csum[s]) / (e - s)
        onset, offset = s / opt.fps, e / opt.fps
    if opt.use_onsets and o is not None:
        conf = 0.5 * (conf + start_p)
    return onset, offset, start_p, np.clip(conf, 0.0, 1.0)


def _drop_weak_rearticulations(s: NDArray[np.intp], reach: NDArray[np.intp],
                               start_p: NDArray[np.float64], opt: _Options
                               ) -> tuple[NDArray[np.intp], NDArray[np.intp],
                                          NDArray[np.float64]]:
    """Rule 3's re-articulation test: drop the starts below ``reonset_threshold`` that
    the kept note before them reaches (``reach``: the first inactive frame after each
    start); the kept note then goes on to the dropped start's ``reach``. A start on the
    first inactive frame after the note counts as reached only when the frame after it
    is active (a one-frame dip), so a merge never stretches a note into silence."""
    keep = np.ones(len(s), dtype=bool)
    last = -1                                 # the last kept start
    for j in range(len(s)):
        reached = last >= 0 and (reach[last] > s[j]
                                 or (reach[last] == s[j] and reach[j] > s[j] + 1))
        if reached and start_p[j] < opt.reonset_threshold:
            keep[j] = False
            reach[last] = max(reach[last], reach[j])
        else:
            last = j
    return s[keep], reach[keep], start_p[keep]


def check_class_share(value: object, flag: str = "min_class_share") -> float:
    """``value`` as a float if it lies in [0, 1) (rule 10's share), else ParameterError."""
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(
        value, bool) and 0.0 <= float(value) < 1.0
    if not ok:
        raise ParameterError(f"{flag} {value!r} must lie in [0, 1) (a share of the note "
                             "length, e.g. 0.15; 0 turns it off)")
    return float(value)  # type: ignore[arg-type]


def check_reonset_threshold(value: object, onset_threshold: float,
                            flag: str = "reonset_threshold") -> float:
    """``value`` as a float (``onset_threshold`` when None) if it lies in
    ``[onset_threshold, 1)`` (rule 3's re-articulation threshold), else ParameterError."""
    if value is None:
        return float(onset_threshold)
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(
        value, bool) and float(onset_threshold) <= float(value) < 1.0
    if not ok:
        raise ParameterError(f"{flag} {value!r} must lie in [{onset_threshold:g}, 1) (at "
                             "least the onset threshold, below 1)")
    return float(value)  # type: ignore[arg-type]


def check_class_window(value: object, flag: str = "class_window_seconds") -> float:
    """``value`` as a float if it is a positive number of seconds or ``inf`` (rule 10's
    window; ``inf``: the whole input), else :class:`ParameterError` naming ``flag``."""
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(
        value, bool) and float(value) > 0                       # False for nan
    if not ok:
        raise ParameterError(f"{flag} {value!r} must be a positive number of seconds "
                             "(inf: the whole input)")
    return float(value)  # type: ignore[arg-type]


def check_decoder(decoder: object) -> str:
    """``decoder`` if it names one of :data:`DECODERS`, else :class:`ParameterError`."""
    if decoder not in DECODERS:
        raise ParameterError(f"decoder {decoder!r} must be one of {', '.join(DECODERS)}")
    return str(decoder)


def note_frames(onset: NDArray[np.float64], offset: NDArray[np.float64], fps: float
               ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """First and one-past-last frame of notes decoded at ``fps`` (times are ``frame / fps``)."""
    start = np.rint(onset * fps).astype(np.intp)
    return start, np.maximum(np.rint(offset * fps).astype(np.intp), start + 1)


def label_by_mean(sums: NDArray[np.float64], lengths: NDArray[np.integer[Any]],
                  starts: NDArray[np.integer[Any]] | None = None, *,
                  min_class_share: float = 0.0, window_frames: float = math.inf
                  ) -> NDArray[np.intp]:
    """Class per note for the ``pitch-first`` decoder (rules 9 and 10).

    ``sums`` (notes, classes) holds each class's frame probabilities summed over the
    note's frames, ``lengths`` (notes,) the frame counts: the class with the largest mean
    wins, the first on a tie.

    With ``min_class_share > 0`` (rule 10) that first labelling is a vote: each note gives
    its length to its class. A note whose ``starts`` frame is ``t`` counts the votes of the
    notes starting in ``[t - window_frames / 2, t + window_frames / 2]`` (itself included);
    the classes holding less than ``min_class_share`` of them (except the one holding the
    most) are ruled out for that note, which takes the largest mean among the rest.
    """
    if not len(sums):
        return np.zeros(0, dtype=np.intp)
    length = np.maximum(np.asarray(lengths, dtype=np.float64), 1.0)
    means = sums / length[:, None]
    first = np.argmax(means, axis=1).astype(np.intp)
    if min_class_share <= 0:
        return first
    if starts is None:
        raise ParameterError("min_class_share > 0 needs the notes' start frames")
    t = np.asarray(starts, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    votes = np.zeros((len(t), means.shape[1]))
    votes[np.arange(len(t)), first] = length
    cum = np.vstack([np.zeros((1, means.shape[1])), np.cumsum(votes[order], axis=0)])
    half = 0.5 * float(window_frames)
    lo = np.searchsorted(t[order], t - half, side="left")
    hi = np.searchsorted(t[order], t + half, side="right")
    near = cum[hi] - cum[lo]                       # (notes, classes) votes in each window
    allowed = near >= min_class_share * near.sum(axis=1, keepdims=True)
    allowed[np.arange(len(t)), np.argmax(near, axis=1)] = True
    return np.argmax(np.where(allowed, means, -np.inf), axis=1).astype(np.intp)


def decode_notes(roll_prob: ArrayLike, onset_prob: ArrayLike | None, *, sr: int, hop: int,
                 classes: Sequence[str] = CLASSES,
                 frame_threshold: float = DEFAULT_FRAME_THRESHOLD,
                 onset_threshold: float = DEFAULT_ONSET_THRESHOLD,
                 min_note_seconds: float = DEFAULT_MIN_NOTE_SECONDS,
                 gap_merge_frames: int = 0, use_onsets: bool = True,
                 lowest_pitch: int = LOWEST_PITCH, drum_classes: Sequence[str] = ("drums",),
                 drum_note_seconds: float = DEFAULT_DRUM_NOTE_SECONDS,
                 decoder: str = "per-instrument", min_class_share: float = 0.0,
                 class_window_seconds: float = DEFAULT_CLASS_WINDOW_SECONDS,
                 reonset_threshold: float | None = None) -> DecodedNotes:
    """Notes from pianoroll and onset probabilities (rules in the module docstring).

    Parameters
    ----------
    roll_prob : array_like, shape (n_classes, 88, n_frames), float in [0, 1] (or bool)
        Frame probabilities (the sigmoid of the model's ``roll`` logits for one item).
    onset_prob : array_like, shape (n_classes, 88, n_frames), or None
        Onset probabilities (sigmoid of ``onset``). Needed when ``use_onsets`` is true;
        ignored otherwise.
    sr, hop : int
        Sample rate (Hz) and hop (samples) of the frames: ``fps = sr / hop``.
    classes : sequence of str
        Names of the class axis (default :data:`mirkit.data.instruments.CLASSES`).
    frame_threshold, onset_threshold : float in (0, 1)
    min_note_seconds : float >= 0
        Shorter pitched notes are dropped.
    gap_merge_frames : int >= 0
        Inactive holes of at most this many frames inside a note are bridged.
    use_onsets : bool
        Start notes at onset peaks (default) or at rising edges of the frame activity.
    lowest_pitch : int
        MIDI pitch of key 0 (21, A0).
    drum_classes : sequence of str
        Classes decoded as drums (names not in ``classes`` are ignored).
    drum_note_seconds : float > 0
        Length of every drum note.
    decoder : {'per-instrument', 'pitch-first'}
        Decode every class separately, or the pooled pitched classes and then label each
        note with a class (rule 9).
    min_class_share : float in [0, 1)
        ``pitch-first`` only: rule out, for a note, the classes that won less than this
        share of the pitched note length starting within ``class_window_seconds`` around it
        (rule 10; 0, the default, turns it off).
    class_window_seconds : float > 0
        The window of rule 10 (default 20 s; ``math.inf``: the whole input).
    reonset_threshold : float in [onset_threshold, 1), optional
        Onset probability a re-articulation of a held pitched key needs (rule 3; default
        ``onset_threshold``: no extra rule). Used only with onsets.

    Returns
    -------
    DecodedNotes
        Empty when there are no frames or nothing crosses the thresholds.

    Raises
    ------
    ParameterError
        A threshold outside (0, 1), a bad shape, probabilities outside [0, 1], or a bad
        option value.
    """
    fps = _check_rate(sr, hop)
    decoder = check_decoder(decoder)
    frame_threshold = check_threshold(frame_threshold, "frame_threshold")
    onset_threshold = check_threshold(onset_threshold, "onset_threshold")
    min_note_seconds = _check_nonnegative("min_note_seconds", min_note_seconds)
    drum_note_seconds = _check_nonnegative("drum_note_seconds", drum_note_seconds,
                                           positive=True)
    if isinstance(gap_merge_frames, bool) or not isinstance(gap_merge_frames, int | np.integer) \
            or gap_merge_frames < 0:
        raise ParameterError(f"gap_merge_frames {gap_merge_frames!r} must be a whole number "
                             ">= 0 (frames)")
    if isinstance(lowest_pitch, bool) or not isinstance(lowest_pitch, int | np.integer) \
            or not 0 <= lowest_pitch <= 127 - (N_PITCHES - 1):
        raise ParameterError(f"lowest_pitch {lowest_pitch!r} must be a MIDI number in "
                             f"0..{127 - (N_PITCHES - 1)} so that all 88 keys fit in 0..127")
    classes = tuple(classes)
    expected = f"(classes, 88, frames) = ({len(classes)}, {N_PITCHES}, n_frames)"
    roll = _check_probs("roll_prob", roll_prob, 3, expected)
    onset: NDArray[Any] | None = None
    if use_onsets:
        if onset_prob is None:
            raise ParameterError("use_onsets=True needs onset_prob; pass the onset "
                                 "probabilities or use_onsets=False")
        onset = _check_probs("onset_prob", onset_prob, 3, expected)
        if onset.shape != roll.shape:
            raise ParameterError(f"onset_prob has shape {onset.shape} but roll_prob "
                                 f"{roll.shape}; expected both {expected}")
    if roll.shape[0] != len(classes) or roll.shape[1] != N_PITCHES:
        raise ParameterError(f"roll_prob has shape {roll.shape}; expected {expected} "
                             "(pass classes= naming the model's class axis)")
    min_class_share = check_class_share(min_class_share)
    class_window_seconds = check_class_window(class_window_seconds)
    reonset_threshold = check_reonset_threshold(reonset_threshold, onset_threshold)
    opt = _Options(frame_threshold, onset_threshold, reonset_threshold, min_note_seconds * fps,
                   int(gap_merge_frames), bool(use_onsets), fps, drum_note_seconds)

    cols: dict[str, list[NDArray[Any]]] = {k: [] for k in
                                           ("on", "off", "p", "conf", "pitch", "cls")}
    pitched = [c for c, name in enumerate(classes) if name not in drum_classes]
    per_class = list(range(len(classes)))
    if decoder == "pitch-first":
        per_class = [c for c in per_class if c not in pitched]
        if pitched:
            pooled = np.max(roll[pitched], axis=0)
            pooled_onset = np.max(onset[pitched], axis=0) if onset is not None else None
            gate = pooled_onset >= onset_threshold if pooled_onset is not None \
                else pooled >= frame_threshold
            sums: list[NDArray[np.float64]] = []
            bounds: list[NDArray[np.intp]] = []
            for key in np.flatnonzero(gate.any(axis=1)):
                f = np.asarray(pooled[key], dtype=np.float64)
                o = None if pooled_onset is None else np.asarray(pooled_onset[key],
                                                                 dtype=np.float64)
                on, off, p, conf = _decode_row(f, o, False, opt)
                if len(on):
                    start, end = note_frames(on, off, fps)
                    rows = np.asarray(roll[pitched, key], dtype=np.float64)
                    sums.extend(rows[:, a:b].sum(axis=1) for a, b in zip(start, end,
                                                                          strict=True))
                    bounds.append(np.stack([start, end]))
                    for k, v in (("on", on), ("off", off), ("p", p), ("conf", conf)):
                        cols[k].append(v)
                    cols["pitch"].append(np.full(len(on), lowest_pitch + key, dtype=np.int64))
            if sums:
                start, end = np.concatenate(bounds, axis=1)
                label = label_by_mean(np.stack(sums), end - start, start,
                                      min_class_share=min_class_share,
                                      window_frames=class_window_seconds * fps)
                cols["cls"].append(np.asarray(pitched, dtype=np.int64)[label])
    for c in per_class:
        name = classes[c]
        is_drum = name in drum_classes
        gate = onset[c] >= onset_threshold if onset is not None else roll[c] >= frame_threshold
        for key in np.flatnonzero(gate.any(axis=1)):
            f = np.asarray(roll[c, key], dtype=np.float64)
            o = np.asarray(onset[c, key], dtype=np.float64) if onset is not None else None
            on, off, p, conf = _decode_row(f, o, is_drum, opt)
            if len(on):
                for k, v in (("on", on), ("off", off), ("p", p), ("conf", conf)):
                    cols[k].append(v)
                cols["pitch"].append(np.full(len(on), lowest_pitch + key, dtype=np.int64))
                cols["cls"].append(np.full(len(on), c, dtype=np.int64))
    if not cols["on"]:
        return DecodedNotes.empty()
    on, off, p, conf, pitch, cls = (np.concatenate(cols[k]) for k in
                                    ("on", "off", "p", "conf", "pitch", "cls"))
    order = np.lexsort((pitch, cls, on))
    names = np.asarray(classes, dtype=str)
    table = NoteTable(on[order], off[order], pitch[order],
                      velocity_from_probability(p[order]), names[cls[order]])
    return DecodedNotes(table, conf[order])


# --------------------------------------------------------------------------- outputs


def _class_info(name: str) -> tuple[int, bool]:
    info = BY_NAME.get(str(name))
    if info is None:
        raise ParameterError(f"instrument class {name!r} has no General MIDI program; known "
                             f"classes: {', '.join(CLASSES)}")
    return info.programs[0], info.is_drum


def notes_to_score(notes: DecodedNotes | NoteTable) -> Score:
    """A :class:`mirkit.io.symbolic.Score` with one part per instrument class present.

    Parts come in :data:`~mirkit.data.instruments.CLASSES` order, each named after its
    class with the first General MIDI program of the class pool; the drum class becomes a
    drum part (channel 10). The tempo is :data:`SCORE_QPM` (120) in 4/4, so the beat
    columns are ``seconds * 2``; the note times in seconds are kept exactly. Velocities
    below 1 become 1 (MIDI note-ons need >= 1).

    Raises
    ------
    ParameterError
        A class outside the vocabulary (it has no program).
    """
    table = notes.notes if isinstance(notes, DecodedNotes) else notes
    present = sorted({str(c) for c in table.class_.tolist()},
                     key=lambda c: (CLASS_INDEX.get(c, len(CLASSES)), c))
    parts = []
    for name in present:
        program, is_drum = _class_info(name)
        parts.append(PartInfo(name=name, program=program, is_drum=is_drum))
    part_of = {name: i for i, name in enumerate(present)}
    part = np.array([part_of[str(c)] for c in table.class_.tolist()], dtype=np.int64)
    return Score.from_notes(table.pitch, onset=table.onset, offset=table.offset,
                            velocity=np.maximum(table.velocity, 1), part=part,
                            parts=parts, tempos=[(0.0, SCORE_QPM)])


def write_notes_csv(path: str | os.PathLike[str], notes: DecodedNotes) -> Path:
    """Write ``NAME.notes.csv`` atomically.

    Header :data:`NOTES_CSV_COLUMNS` (``onset,offset,pitch,velocity,instrument,confidence``);
    times in seconds with 6 decimals, confidence with 4, one row per note in the table's
    order. Returns ``path``.
    """
    target = Path(path)
    with atomic_write(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(NOTES_CSV_COLUMNS)
        for on, off, pitch, vel, inst, conf in zip(
                notes.onset.tolist(), notes.offset.tolist(), notes.pitch.tolist(),
                notes.velocity.tolist(), notes.instrument.tolist(), notes.confidence.tolist(),
                strict=True):
            writer.writerow([f"{on:.{_TIME_DECIMALS}f}", f"{off:.{_TIME_DECIMALS}f}", pitch,
                             vel, inst, f"{conf:.{_PROB_DECIMALS}f}"])
    return target


def read_notes_csv(path: str | os.PathLike[str]) -> DecodedNotes:
    """Read a file written by :func:`write_notes_csv` (columns in any order).

    Raises
    ------
    InputError
        A missing file, a missing column or a row that does not parse.
    """
    cols = read_note_csv(path, columns=NOTES_CSV_COLUMNS, text=("instrument",))
    try:
        table = NoteTable(cols["onset"], cols["offset"], cols["pitch"], cols["velocity"],
                          cols["instrument"])
        return DecodedNotes(table, cols["confidence"])
    except InputError as exc:
        raise InputError(f"note file '{path}': {exc}") from exc


def activity_table(instrument_prob: ArrayLike, *, sr: int, hop: int,
                   resolution: float | None = None, classes: Sequence[str] = CLASSES,
                   reduce: str = "max") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Instrument activity per frame, or pooled over windows of ``resolution`` seconds.

    Parameters
    ----------
    instrument_prob : array_like, shape (n_classes, n_frames), float in [0, 1]
        Activity probability of each class per frame (sigmoid of the ``instrument`` output).
    sr, hop : int
        Frame rate ``sr / hop``; frame ``k`` is at ``k * hop / sr`` seconds.
    resolution : float, optional
        Window length in seconds, at least one frame period. Frame ``k`` belongs to window
        ``floor(k * hop / sr / resolution)``; each row pools the frames of its window
        (the last window may hold fewer frames). ``None``: one row per frame.
    classes : sequence of str
        Names of the class axis.
    reduce : {"max", "mean"}
        How a window pools its frames: ``max`` (default; the instrument plays somewhere in
        the window, as window-level instrument labels are defined) or ``mean``.

    Returns
    -------
    times : np.ndarray, shape (n_rows,), float64
        Seconds: the frame time, or the start of the window.
    matrix : np.ndarray, shape (n_rows, n_classes), float64
        Probabilities, one column per class.
    """
    fps = _check_rate(sr, hop)
    classes = tuple(classes)
    probs = _check_probs("instrument_prob", instrument_prob, 2,
                         f"(classes, frames) = ({len(classes)}, n_frames)")
    if probs.shape[0] != len(classes):
        raise ParameterError(f"instrument_prob has shape {probs.shape}; expected (classes, "
                             f"frames) = ({len(classes)}, n_frames)")
    if reduce not in ("max", "mean"):
        raise ParameterError(f"reduce {reduce!r} is not one of 'max', 'mean'")
    matrix = np.asarray(probs, dtype=np.float64).T
    n = matrix.shape[0]
    if resolution is None:
        return np.arange(n) / fps, np.ascontiguousarray(matrix)
    res = _check_nonnegative("resolution", resolution, positive=True)
    if res < 1.0 / fps - _EPS:
        raise ParameterError(f"resolution {resolution!r} s is finer than the frame period "
                             f"{1.0 / fps:.6g} s; give at least that, or no resolution for "
                             "one row per frame")
    if n == 0:
        return np.zeros(0), np.zeros((0, len(classes)))
    window = np.floor(np.arange(n) * int(hop) / (int(sr) * res) + _EPS).astype(np.int64)
    starts = np.flatnonzero(np.diff(window, prepend=-1))
    counts = np.diff(np.append(starts, n))
    if reduce == "max":
        pooled = np.maximum.reduceat(matrix, starts, axis=0)
    else:
        pooled = np.add.reduceat(matrix, starts, axis=0) / counts[:, None]
    times = np.asarray(window[starts] * res, dtype=np.float64)
    return times, pooled


def write_activity_csv(path: str | os.PathLike[str], times: ArrayLike, matrix: ArrayLike,
                       classes: Sequence[str]) -> Path:
    """Write ``NAME.activity.csv`` atomically: header ``time,<class>,...``, one row per time.

    ``times`` shape (n,), seconds (6 decimals); ``matrix`` shape (n, n_classes),
    probabilities (4 decimals). Returns ``path``.
    """
    t = np.asarray(times, dtype=np.float64).ravel()
    m = np.asarray(matrix, dtype=np.float64)
    classes = tuple(str(c) for c in classes)
    if m.ndim != 2 or m.shape != (len(t), len(classes)):
        raise ParameterError(f"activity matrix has shape {m.shape}; expected (times, classes) "
                             f"= ({len(t)}, {len(classes)})")
    if any("," in c or '"' in c for c in classes):
        raise ParameterError(f"class names {classes} must not contain commas or quotes")
    target = Path(path)
    header = ",".join((ACTIVITY_TIME_COLUMN, *classes))
    fmt = [f"%.{_TIME_DECIMALS}f"] + [f"%.{_PROB_DECIMALS}f"] * len(classes)
    with atomic_write(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        fh.write(header + "\n")
        if len(t):
            np.savetxt(fh, np.column_stack([t, m]), fmt=fmt, delimiter=",")
    return target

