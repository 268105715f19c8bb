"""Frame-level labels from notes: pianoroll (class x pitch x frame), pitch roll, activity.

Conventions (shared by the synth datasets, the loaders and the frame-level models):

- Frames follow a centred STFT/CQT at hop ``hop`` samples and rate ``sr``: frame ``k`` is
  centred at ``k * hop / sr`` seconds, and a signal of ``n`` samples has
  ``1 + n // hop`` frames (:func:`n_frames`).
- A note sounds from frame ``round(onset * fps)`` up to, not including,
  ``max(onset_frame + 1, round(offset * fps))``, with ``fps = sr / hop``: every note covers
  at least one frame. Its onset frame is ``round(onset * fps)``.
- Pitch axis: the 88 piano keys, MIDI 21 (A0) to 108 (C8); notes outside are left out of
  the rolls (they still count for class activity).
- Class axis: :data:`mirkit.data.instruments.CLASSES` order (or the ``classes`` given).
  Drum notes sit in the pianoroll at their GM drum key but are left out of the pitch roll,
  which is the maximum over the pitched classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError

LOWEST_PITCH = 21
N_PITCHES = 88


def n_frames(n_samples: int, hop: int) -> int:
    """Frames of a centred transform of ``n_samples`` samples: ``1 + n_samples // hop``."""
    if hop <= 0:
        raise ParameterError(f"hop {hop} must be a positive number of samples")
    return 1 + int(n_samples) // int(hop)


@dataclass(frozen=True)
class FrameLabels:
    """Frame-level targets of one track.

    Attributes
    ----------
    pianoroll : np.ndarray, shape (n_classes, 88, n_frames), bool
    onsets : np.ndarray, shape (n_classes, 88, n_frames), bool
        True at each note's onset frame.
    pitch_roll : np.ndarray, shape (88, n_frames), bool
        Any pitched class sounding that key.
    activity : np.ndarray, shape (n_classes, n_frames), bool
        Any note of the class sounding (drums included).
    classes : tuple of str
    sr, hop : int
    """

    pianoroll: NDArray[np.bool_]
    onsets: NDArray[np.bool_]
    pitch_roll: NDArray[np.bool_]
    activity: NDArray[np.bool_]
    classes: tuple[str, ...]
    sr: int
    hop: int

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        """Arrays for ``np.savez`` (the ``labels.npz`` of a synth track)."""
        return {"pianoroll": self.pianoroll, "onsets": self.onsets,
                "pitch_roll": self.pitch_roll, "activity": self.activity,
                "classes": np.array(self.classes), "sr": np.array(self.sr),
                "hop": np.array(self.hop), "lowest_pitch": np.array(LOWEST_PITCH)}

    @classmethod
    def from_npz(cls, data: dict[str, np.ndarray] | np.lib.npyio.NpzFile) -> FrameLabels:
        """Inverse of :meth:`to_npz_dict`."""
        return cls(pianoroll=np.asarray(data["pianoroll"], dtype=bool),
                   onsets=np.asarray(data["onsets"], dtype=bool),
                   pitch_roll=np.asarray(data["pitch_roll"], dtype=bool),
                   activity=np.asarray(data["activity"], dtype=bool),
                   classes=tuple(str(c) for c in data["classes"]),
                   sr=int(data["sr"]), hop=int(data["hop"]))


def notes_to_labels(onsets: ArrayLike, offsets: ArrayLike, pitches: ArrayLike,
                    note_classes: Sequence[str], *, classes: Sequence[str], frames: int,
                    sr: int, hop: int, drum_classes: Sequence[str] = ("drums",)) -> FrameLabels:
    """Frame labels of a note list (see the module docstring for the conventions).

    Parameters
    ----------
    onsets, offsets : array_like, shape (n,), seconds
    pitches : array_like, shape (n,), MIDI numbers
    note_classes : sequence of str, length n
        Class of each note; every one must be in ``classes``.
    classes : sequence of str
        The class axis.
    frames : int
        Number of frames (e.g. :func:`n_frames` of the audio length); notes past the end
        are cut there.
    sr, hop : int
        Sample rate and hop of the frames.
    """
    on = np.asarray(onsets, dtype=np.float64).ravel()
    off = np.asarray(offsets, dtype=np.float64).ravel()
    pitch = np.rint(np.asarray(pitches, dtype=np.float64).ravel()).astype(np.int64)
    if not (len(on) == len(off) == len(pitch) == len(note_classes)):
        raise InputError(f"note columns differ in length: {len(on)} onsets, {len(off)} offsets, "
                         f"{len(pitch)} pitches, {len(note_classes)} classes")
    if len(on) and (np.any(~np.isfinite(on)) or np.any(~np.isfinite(off)) or np.any(off < on)):
        raise InputError("notes need finite times with offset >= onset")
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({c for c in note_classes if c not in index})
    if unknown:
        raise InputError(f"note class(es) {', '.join(unknown)} not in the class axis "
                         f"({', '.join(classes)})")
    if frames < 0:
        raise ParameterError(f"frames {frames} must be >= 0")
    fps = sr / hop
    n_cls = len(classes)
    cls_idx = np.array([index[c] for c in note_classes], dtype=np.int64)
    start = np.rint(on * fps).astype(np.int64)
    stop = np.maximum(start + 1, np.rint(off * fps).astype(np.int64))
    start, stop = np.clip(start, 0, frames), np.clip(stop, 0, frames)

    activity = np.zeros((n_cls, frames + 1), dtype=np.int32)
    np.add.at(activity, (cls_idx, start), 1)
    np.add.at(activity, (cls_idx, stop), -1)
    activity_b = np.cumsum(activity, axis=1)[:, :frames] > 0

    keys = pitch - LOWEST_PITCH
    on_keys = (keys >= 0) & (keys < N_PITCHES)
    # integrate only the (class, key) rows that hold notes: most of the grid is empty
    row_id = cls_idx[on_keys] * N_PITCHES + keys[on_keys]
    rows, inverse = np.unique(row_id, return_inverse=True)
    diff = np.zeros((len(rows), frames + 1), dtype=np.int32)
    np.add.at(diff, (inverse, start[on_keys]), 1)
    np.add.at(diff, (inverse, stop[on_keys]), -1)
    flat_roll = np.zeros((n_cls * N_PITCHES, frames), dtype=bool)
    flat_roll[rows] = np.cumsum(diff, axis=1)[:, :frames] > 0
    pianoroll = flat_roll.reshape(n_cls, N_PITCHES, frames)
    onset_roll = np.zeros((n_cls, N_PITCHES, frames), dtype=bool)
    sel = on_keys & (start < frames) & (stop > start)
    onset_roll[cls_idx[sel], keys[sel], start[sel]] = True

    pitched = np.array([c not in drum_classes for c in classes], dtype=bool)
    pitch_roll = (pianoroll[pitched].any(axis=0) if pitched.any()
                  else np.zeros((N_PITCHES, frames), dtype=bool))
    return FrameLabels(pianoroll=pianoroll, onsets=onset_roll, pitch_roll=pitch_roll,
                       activity=activity_b, classes=tuple(classes), sr=int(sr), hop=int(hop))
