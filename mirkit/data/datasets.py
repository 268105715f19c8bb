"""Multitrack dataset loaders behind one interface.

Every loader is a :class:`MultitrackDataset`: a set of tracks, each with named stems, a
mixture (a file, or the sum of the stems), optional notes and, from those, frame labels.
Training code only uses this interface, so it runs unchanged on mirkit's synthetic data and
on the public datasets. :func:`open_dataset` detects the layout of a folder.

Layouts
-------
``synth`` (:class:`SynthDataset`) -- written by ``mirkit synth``::

    DIR/dataset.json                  {"generator": "mirkit synth <version>", "label_sr",
                                       "label_hop",
                                       "tracks": [{"id", "split", "classes", ...}, ...]}
    DIR/tracks/<id>/mixture.flac
    DIR/tracks/<id>/stems/<class>.flac
    DIR/tracks/<id>/notes.csv         onset,offset,pitch,velocity,class
    DIR/tracks/<id>/labels.npz        FrameLabels at label_sr / label_hop

``musdb`` (:class:`MusdbDataset`) -- MUSDB18-HQ folders ``{train,test}/<track>/{mixture,
vocals,drums,bass,other}.wav``, or MUSDB18 ``{train,test}/<track>.stem.mp4`` (decoded with
``ffmpeg``, see below). No notes.

``slakh`` (:class:`SlakhDataset`) -- Slakh2100 (flac or wav, also the flat babyslakh)::

    [<split>/]TrackNNNNN/{mix.flac, stems/SNN.flac, MIDI/SNN.mid, metadata.yaml}

``maestro`` (:class:`MaestroDataset`) -- ``maestro-v*.csv`` plus the wav and MIDI files it
names; one ``piano`` stem, which is the recording itself.

``medleydb`` (:class:`MedleyDbDataset`) -- ``<Track>/<Track>_METADATA.yaml`` naming the mix
(``mix_filename``), the stem folder (``stem_dir``) and the stems. No notes, no splits.

``folder`` (:class:`FolderDataset`) -- ``[<split>/]<track>/mixture.<ext>`` plus
``<track>/<stem>.<ext>`` or ``<track>/stems/<stem>.<ext>`` (any extension of
:data:`~mirkit.io.audio.AUDIO_EXTENSIONS`), and an optional ``<track>/notes.csv``.

Conventions
-----------
- Split names are canonical: ``train``, ``valid``, ``test`` (plus Slakh's ``omitted``).
  The names a dataset uses itself (``validation``, ``val``, ``dev``) are mapped to ``valid``
  (:data:`SPLIT_ALIASES`) and are accepted wherever a split is asked for, so one training
  command works on every dataset. Splits are disjoint.
- MUSDB18: ``valid`` is the official validation subset, the 14 train tracks of
  :data:`MUSDB_VALIDATION_TRACKS` (from ``musdb/configs/mus.yaml``); ``train`` is the other
  86 train tracks, ``test`` the 50 test tracks.
- Stem names are mirkit instrument classes where the dataset says which instrument a stem
  is (Slakh via :func:`~mirkit.data.instruments.class_of_program`, MedleyDB via
  :data:`MEDLEYDB_CLASSES`); Slakh programs outside the vocabulary become :data:`OTHER`,
  other MedleyDB labels keep their slugified name. Several files of one name are *summed*
  into that stem: :meth:`MultitrackDataset.stem_files` lists them, and
  :meth:`MultitrackDataset.stem_paths` (one path per stem) refuses such tracks.
- Times are seconds. An excerpt is ``round(duration * sr)`` samples from ``start``; every
  stem, the mixture and the labels cover that same span, zero-padded past the end of a file.
  Stems are mixed to a common channel count: with ``channels=None`` mono files are
  duplicated to the largest count among the track's files.
- Labels follow :mod:`mirkit.features.pianoroll`. The labels of an excerpt are those of its
  own time base (frame ``k`` centred at ``start + k * hop / sr``): a note that began before
  the excerpt sounds from frame 0 but has no onset in it. Notes whose class is not on the
  class axis (e.g. Slakh's ``other``) are left out of the labels.
- Slakh: stems with ``audio_rendered: false`` have no audio and are left out, with their
  notes; stems with ``midi_saved: false`` have audio but no notes. MAESTRO notes are the
  key presses of the MIDI file (the sustain pedal does not lengthen them).

MUSDB18 ``.stem.mp4`` files are decoded with ``ffmpeg`` (and measured with ``ffprobe``)
when they are on ``PATH``: each read decodes only the excerpt's span of one stream to a
temporary wav. Without them reading raises an :class:`~mirkit.errors.InputError` that says
to install ffmpeg or to convert the dataset to wav with ``musdbconvert`` (musdb's tool).

A bad layout raises :class:`~mirkit.errors.InputError` naming the missing file or folder;
a bad argument (unknown split, negative duration) raises
:class:`~mirkit.errors.ParameterError`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import numpy as np
from numpy.typing import NDArray

from mirkit.data.instruments import CLASSES, class_of_program
from mirkit.errors import InputError, ParameterError
from mirkit.features.pianoroll import FrameLabels, n_frames, notes_to_labels
from mirkit.io.atomic import atomic_write
from mirkit.io.audio import AUDIO_EXTENSIONS, AudioInfo, ChannelSpec, audio_info, load_audio
from mirkit.io.audio import convert_channels as _convert_channels

__all__ = [
    "DATASET_KINDS",
    "DEFAULT_LABEL_HOP",
    "DEFAULT_LABEL_SR",
    "MEDLEYDB_CLASSES",
    "MUSDB_SOURCES",
    "MUSDB_STEM_STREAMS",
    "MUSDB_VALIDATION_TRACKS",
    "OTHER",
    "SPLITS",
    "SPLIT_ALIASES",
    "Excerpt",
    "FolderDataset",
    "MaestroDataset",
    "MedleyDbDataset",
    "MultitrackDataset",
    "MusdbDataset",
    "NoteTable",
    "read_note_csv",
    "SlakhDataset",
    "SynthDataset",
    "canonical_split",
    "medleydb_class",
    "open_dataset",
]

# --------------------------------------------------------------------------- constants

#: Canonical split names, in display order.
SPLITS: tuple[str, ...] = ("train", "valid", "test")
#: Other names datasets use for a canonical split.
SPLIT_ALIASES: dict[str, str] = {"validation": "valid", "val": "valid", "dev": "valid"}
#: Frame rate of labels when a dataset states none (the rate ``mirkit synth`` writes).
DEFAULT_LABEL_SR = 16000
#: Hop of labels, in samples at :data:`DEFAULT_LABEL_SR`, when a dataset states none.
DEFAULT_LABEL_HOP = 512
#: Stem name of Slakh stems whose program is outside the class vocabulary.
OTHER = "other"

#: MUSDB18 sources in their usual order (the stems of every MUSDB track).
MUSDB_SOURCES: tuple[str, ...] = ("vocals", "drums", "bass", "other")
#: Audio stream index of each part in a MUSDB18 ``.stem.mp4`` file.
MUSDB_STEM_STREAMS: dict[str, int] = {"mixture": 0, "drums": 1, "bass": 2, "other": 3,
                                      "vocals": 4}
#: MUSDB18's official validation subset: 14 tracks of its train folder
#: (``validation_tracks`` of ``musdb/configs/mus.yaml``).
MUSDB_VALIDATION_TRACKS: frozenset[str] = frozenset({
    "Actions - One Minute Smile",
    "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies",
    "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint",
    "Alexander Ross - Goodbye Bolero",
    "Fergessen - Nos Palpitants",
    "Leaf - Summerghost",
    "Skelpolu - Human Mistakes",
    "Young Griffo - Pennies",
    "ANiMAL - Rockshow",
    "James May - On The Line",
    "Meaxic - Take A Step",
    "Traffic Experiment - Sirens",
})

#: MedleyDB instrument labels that name a mirkit class. Other labels keep their slug.
MEDLEYDB_CLASSES: dict[str, str] = {
    "piano": "piano", "electric piano": "piano", "tack piano": "piano",
    "acoustic guitar": "acoustic_guitar",
    "clean electric guitar": "electric_guitar", "distorted electric guitar": "electric_guitar",
    "electric bass": "bass", "double bass": "bass",
    "violin": "violin", "violin section": "violin",
    "viola": "viola", "viola section": "viola",
    "cello": "cello", "cello section": "cello",
    "flute": "flute", "flute section": "flute",
    "clarinet": "clarinet", "clarinet section": "clarinet",
    "oboe": "oboe", "bassoon": "bassoon",
    "soprano saxophone": "saxophone", "alto saxophone": "saxophone",
    "tenor saxophone": "saxophone", "baritone saxophone": "saxophone",
    "trumpet": "trumpet", "trumpet section": "trumpet",
    "french horn": "horn", "french horn section": "horn",
    "trombone": "trombone", "trombone section": "trombone",
    "male singer": "voice", "female singer": "voice", "vocalists": "voice", "choir": "voice",
    "drum set": "drums", "drum machine": "drums",
}

_SLAKH_SPLITS: dict[str, str] = {"train": "train", "validation": "valid", "test": "test",
                                 "omitted": "omitted"}
_SLAKH_TRACK = re.compile(r"^Track\d+$")
_MAESTRO_CSV = re.compile(r"^maestro-v(\d+)\.(\d+)\.(\d+)\.csv$")
_STEM_MP4 = ".stem.mp4"
_SYNTH_GENERATOR = "mirkit synth"
_NOTE_COLUMNS: tuple[str, ...] = ("onset", "offset", "pitch", "velocity", "class")
_DEFAULT_VELOCITY = 80


# --------------------------------------------------------------------------- small helpers


def canonical_split(name: str) -> str:
    """Canonical name of a split: ``"Validation"`` -> ``"valid"``, ``"train"`` -> ``"train"``."""
    key = str(name).strip().lower()
    return SPLIT_ALIASES.get(key, key)


def _slug(label: str) -> str:
    """``"Distorted Electric Guitar"`` -> ``"distorted_electric_guitar"``."""
    return re.sub(r"[^0-9a-z]+", "_", label.strip().lower()).strip("_") or "unknown"


def medleydb_class(label: str) -> str:
    """Stem name of a MedleyDB instrument label: a mirkit class, else the slugified label.

    Examples
    --------
    >>> medleydb_class("drum set"), medleydb_class("Tenor Saxophone"), medleydb_class("fx/processed sound")
    ('drums', 'saxophone', 'fx_processed_sound')
    """  # noqa: E501
    key = " ".join(label.strip().lower().split())
    return MEDLEYDB_CLASSES.get(key, _slug(key))


def _class_order(names: Iterable[str]) -> list[str]:
    """Unique names, mirkit classes first in :data:`CLASSES` order, then the rest sorted."""
    unique = set(names)
    known = [c for c in CLASSES if c in unique]
    return known + sorted(unique.difference(known))


def _audio_files(folder: Path) -> list[Path]:
    """Non-hidden audio files directly inside ``folder``, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in AUDIO_EXTENSIONS)


def _find_audio(folder: Path, stem: str) -> Path | None:
    """The one audio file ``folder/stem.<ext>``; None if none; InputError if several."""
    found = [p for p in _audio_files(folder) if p.stem == stem]
    if len(found) > 1:
        raise InputError(f"'{folder}' holds several files named '{stem}' "
                         f"({', '.join(p.name for p in found)}): keep one of them")
    return found[0] if found else None


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _load_yaml(path: Path, what: str) -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is installed with mirkit's deps
        raise InputError(f"reading {what} needs PyYAML: pip install pyyaml") from exc
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what} '{path}': {exc.strerror or exc}") from exc
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot parse {what} '{path}': {first}") from exc


def _fit_length(audio: NDArray[np.float32], n: int) -> NDArray[np.float32]:
    """``audio`` (channels, m) cut or zero-padded at the end to ``n`` samples."""
    m = audio.shape[1]
    if m == n:
        return audio
    if m > n:
        return np.ascontiguousarray(audio[:, :n])
    out = np.zeros((audio.shape[0], n), dtype=np.float32)
    out[:, :m] = audio
    return out


def _channels_out(stored: int, channels: ChannelSpec) -> int:
    if channels is None:
        return stored
    if channels == "mono":
        return 1
    if channels == "stereo":
        return 2
    return int(channels)


def _check_span(start: float, duration: float) -> tuple[float, float]:
    for what, value in (("start", start), ("duration", duration)):
        if not isinstance(value, int | float | np.floating | np.integer) or isinstance(
                value, bool) or not math.isfinite(float(value)):
            raise ParameterError(f"{what} {value!r} s is not valid: give a finite number of "
                                 "seconds")
    if start < 0:
        raise ParameterError(f"start {start!r} s is negative: give 0 or more seconds")
    if duration <= 0:
        raise ParameterError(f"duration {duration!r} s is not valid: give more than 0 s")
    return float(start), float(duration)


# --------------------------------------------------------------------------- notes


@dataclass(frozen=True, eq=False)
class NoteTable:
    """Notes of one track as parallel columns.

    Attributes
    ----------
    onset, offset : NDArray[np.float64], shape (n,)
        Seconds from the start of the track, ``offset >= onset >= 0``.
    pitch : NDArray[np.int16], shape (n,)
        MIDI note numbers 0-127 (GM drum keys for drums).
    velocity : NDArray[np.int16], shape (n,)
        MIDI velocities 0-127.
    class_ : NDArray[np.str_], shape (n,)
        Instrument class (stem name) of each note; ``table["class"]`` also reads it.
    """

    onset: NDArray[np.float64]
    offset: NDArray[np.float64]
    pitch: NDArray[np.int16]
    velocity: NDArray[np.int16]
    class_: NDArray[np.str_]

    def __post_init__(self) -> None:
        onset = np.asarray(self.onset, dtype=np.float64).ravel()
        offset = np.asarray(self.offset, dtype=np.float64).ravel()
        pitch_f = np.asarray(self.pitch, dtype=np.float64).ravel()
        velocity_f = np.asarray(self.velocity, dtype=np.float64).ravel()
        cls = np.asarray(self.class_, dtype=str).ravel()
        n = len(onset)
        if not (len(offset) == len(pitch_f) == len(velocity_f) == len(cls) == n):
            raise InputError(f"note columns differ in length: {n} onsets, {len(offset)} "
                             f"offsets, {len(pitch_f)} pitches, {len(velocity_f)} velocities, "
                             f"{len(cls)} classes")
        if n:
            if not (np.all(np.isfinite(onset)) and np.all(np.isfinite(offset))):
                raise InputError("note times must be finite numbers of seconds")
            if onset.min() < 0 or np.any(offset < onset):
                raise InputError("notes need 0 <= onset <= offset (seconds)")
            for name, col in (("pitch", pitch_f), ("velocity", velocity_f)):
                if np.any(col != np.round(col)) or col.min() < 0 or col.max() > 127:
                    bad = col[(col != np.round(col)) | (col < 0) | (col > 127)][0]
                    raise InputError(f"note {name} {bad} is not a whole number in 0-127")
        object.__setattr__(self, "onset", onset)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "pitch", pitch_f.astype(np.int16))
        object.__setattr__(self, "velocity", velocity_f.astype(np.int16))
        object.__setattr__(self, "class_", cls)

    def __len__(self) -> int:
        return int(self.onset.shape[0])

    def __getitem__(self, column: str) -> NDArray[Any]:
        """A column by its CSV name (``"onset"``, ..., ``"class"``)."""
        if column not in _NOTE_COLUMNS:
            raise ParameterError(f"unknown note column {column!r}; use one of "
                                 f"{', '.join(_NOTE_COLUMNS)}")
        return getattr(self, "class_" if column == "class" else column)

    @classmethod
    def empty(cls) -> NoteTable:
        """A table without notes."""
        return cls(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int16),
                   np.zeros(0, dtype=np.int16), np.zeros(0, dtype=str))

    @classmethod
    def concat(cls, tables: Iterable[NoteTable]) -> NoteTable:
        """All notes of ``tables``, sorted by onset (stable)."""
        parts = list(tables)
        if not parts:
            return cls.empty()
        onset = np.concatenate([t.onset for t in parts])
        order = np.argsort(onset, kind="stable")
        return cls(onset[order], np.concatenate([t.offset for t in parts])[order],
                   np.concatenate([t.pitch for t in parts])[order],
                   np.concatenate([t.velocity for t in parts])[order],
                   np.concatenate([t.class_.astype(object) for t in parts])[order].astype(str))

    @classmethod
    def from_csv(cls, path: str | Path) -> NoteTable:
        """Read a CSV with header ``onset,offset,pitch,velocity,class``.

        Columns may come in any order and extra columns are ignored; ``velocity`` may be
        missing (then 80). Times are seconds.

        Raises
        ------
        InputError
            Missing file or column, or a row whose values are not numbers.
        """
        cols = read_note_csv(path, columns=_NOTE_COLUMNS, text=("class",),
                             defaults={"velocity": _DEFAULT_VELOCITY})
        try:
            return cls(cols["onset"], cols["offset"], cols["pitch"], cols["velocity"],
                       cols["class"])
        except InputError as exc:
            raise InputError(f"note file '{path}': {exc}") from exc

    def write_csv(self, path: str | Path) -> Path:
        """Write the table as CSV (header ``onset,offset,pitch,velocity,class``), atomically."""
        target = Path(path)
        with atomic_write(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(_NOTE_COLUMNS)
            for row in zip(self.onset.tolist(), self.offset.tolist(), self.pitch.tolist(),
                           self.velocity.tolist(), self.class_.tolist(), strict=True):
                writer.writerow([repr(row[0]), repr(row[1]), *row[2:]])
        return target


def read_note_csv(path: str | os.PathLike[str], *, columns: Sequence[str],
                  text: Sequence[str] = (), defaults: dict[str, float] | None = None
                  ) -> dict[str, NDArray[Any]]:
    """Columns of a header-named note CSV (any column order; extra columns ignored).

    ``text`` columns stay strings, the others become float64; a column in ``defaults`` may
    be missing and is then filled with its default. A BOM and blank lines are fine. Shared
    by :meth:`NoteTable.from_csv` and the transcription output reader.

    Raises
    ------
    InputError
        An unreadable file, a missing column, or a row that does not parse (file and line).
    """
    p = Path(path)
    defaults = defaults or {}
    try:
        content = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"cannot read note file '{p}': it does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read note file '{p}': {exc.strerror or exc}") from exc
    rows = [r for r in csv.reader(content.splitlines()) if any(cell.strip() for cell in r)]
    header = [h.strip().lower() for h in rows[0]] if rows else []
    missing = [c for c in columns if c not in header and c not in defaults]
    if missing:
        names = ", ".join(missing)
        raise InputError(f"note file '{p}' lacks column(s) {names}: its header has no column "
                         f"{names}; it must name {','.join(columns)}")
    where = {c: header.index(c) for c in columns if c in header}
    values: dict[str, list[Any]] = {c: [] for c in columns}
    for line, row in enumerate(rows[1:], start=2):
        try:
            for c in columns:
                cell = row[where[c]].strip() if c in where else ""
                if c in text:
                    values[c].append(cell)
                else:
                    values[c].append(float(cell) if cell or c not in defaults else defaults[c])
        except (ValueError, IndexError) as exc:
            raise InputError(f"note file '{p}' line {line}: {row!r} is not "
                             f"{','.join(columns)} with numbers") from exc
    return {c: (np.array(v, dtype=str) if c in text else np.array(v, dtype=np.float64))
            for c, v in values.items()}


def _notes_from_midi(path: Path, note_class: str) -> NoteTable:
    """All notes of a MIDI file, each of class ``note_class``."""
    from mirkit.io.symbolic import read_score

    score = read_score(path, allow_empty=True)
    notes = score.notes
    return NoteTable(notes["onset"], notes["offset"], notes["pitch"], notes["velocity"],
                     np.full(len(notes), note_class, dtype=object).astype(str))


def _span_labels(notes: NoteTable, *, start: float, duration: float, sr: int, hop: int,
                 classes: Sequence[str]) -> FrameLabels:
    """Labels of ``notes`` over ``[start, start + duration)`` in that span's own time base."""
    axis = tuple(classes)
    frames = n_frames(round(duration * sr), hop)
    fps = sr / hop
    on, off = notes.onset - start, notes.offset - start
    # Notes wholly outside the span cannot reach a frame (see notes_to_labels' rounding).
    keep = np.isin(notes.class_, np.array(axis, dtype=str)) & (off * fps >= -1) & (
        on * fps <= frames + 1)
    carried = np.rint(on * fps) < 0            # began before the span: no onset in it
    made = [notes_to_labels(on[sel], off[sel], notes.pitch[sel], notes.class_[sel].tolist(),
                            classes=axis, frames=frames, sr=sr, hop=hop)
            for sel in (keep & ~carried, keep & carried)]
    fresh, held = made
    return FrameLabels(pianoroll=fresh.pianoroll | held.pianoroll, onsets=fresh.onsets,
                       pitch_roll=fresh.pitch_roll | held.pitch_roll,
                       activity=fresh.activity | held.activity, classes=axis, sr=int(sr),
                       hop=int(hop))


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Stream:
    """Audio stream ``index`` of a multi-stream container (a MUSDB18 ``.stem.mp4``)."""

    path: Path
    index: int


_Source: TypeAlias = Path | _Stream


@dataclass(frozen=True)
class _Layout:
    """Where a track's audio lives: stem name -> files summed into it, and the mixture."""

    stems: dict[str, tuple[_Source, ...]]
    mixture: _Source | None


@dataclass(frozen=True)
class _Probe:
    samplerate: int
    channels: int
    duration: float


def _ffmpeg_missing(path: Path, tool: str) -> InputError:
    return InputError(
        f"'{path}' is a MUSDB18 .stem.mp4 file and {tool} is not on PATH: install ffmpeg "
        "(e.g. apt-get install ffmpeg), or convert the dataset to wav folders with musdb's "
        "tool (pip install musdb; musdbconvert IN_DIR OUT_DIR)"
    )


def _probe_stream(stream: _Stream) -> _Probe:
    exe = shutil.which("ffprobe")
    if exe is None:
        raise _ffmpeg_missing(stream.path, "ffprobe")
    cmd = [exe, "-v", "error", "-select_streams", f"a:{stream.index}", "-show_entries",
           "stream=sample_rate,channels,duration:format=duration", "-of", "json",
           str(stream.path)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        info = json.loads(done.stdout) if done.returncode == 0 else {}
        entry = info["streams"][0]
        seconds = entry.get("duration") or info.get("format", {}).get("duration")
        return _Probe(int(entry["sample_rate"]), int(entry["channels"]), float(seconds))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        detail = (done.stderr or "").strip().splitlines()
        raise InputError(f"ffprobe cannot read audio stream {stream.index} of "
                         f"'{stream.path}'{': ' + detail[-1] if detail else ''}: the file is "
                         "damaged or not a MUSDB18 .stem.mp4") from exc


def _decode_stream(stream: _Stream, *, start: float, duration: float, sr: int,
                   channels: ChannelSpec) -> NDArray[np.float32] | None:
    """Decode ``[start, start + duration)`` of one stream with ffmpeg (None: nothing there)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise _ffmpeg_missing(stream.path, "ffmpeg")
    with tempfile.TemporaryDirectory(prefix="mirkit-stem-") as tmp:
        out = Path(tmp) / "stream.wav"
        cmd = [exe, "-nostdin", "-v", "error", "-ss", f"{start:.6f}", "-t", f"{duration:.6f}",
               "-i", str(stream.path), "-map", f"0:a:{stream.index}", "-c:a", "pcm_f32le",
               "-f", "wav", "-y", str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            detail = (done.stderr or "").strip().splitlines()
            raise InputError(f"ffmpeg cannot decode audio stream {stream.index} of "
                             f"'{stream.path}'{': ' + detail[-1] if detail else ''}")
        if not out.is_file() or audio_info(out).frames == 0:
            return None
        audio, _ = load_audio(out, sr=sr, channels=channels)
    return audio


# --------------------------------------------------------------------------- the interface


@dataclass(frozen=True, eq=False)
class Excerpt:
    """A span of one track: mixture, stems and labels, all over the same samples.

    Attributes
    ----------
    mixture : NDArray[np.float32], shape (channels, n)
    stems : dict of str to NDArray[np.float32], shape (channels, n)
        In :meth:`MultitrackDataset.stem_names` order.
    sr : int
        Sample rate of the audio in Hz.
    start : float
        Seconds from the start of the track to the first sample.
    labels : FrameLabels or None
        Labels of the span (frame ``k`` centred at ``start + k * hop / labels.sr``); None
        when the dataset has no notes.
    track : str
        Track id.
    """

    mixture: NDArray[np.float32]
    stems: dict[str, NDArray[np.float32]]
    sr: int
    start: float
    labels: FrameLabels | None
    track: str

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.mixture.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sr


class MultitrackDataset(ABC):
    """A multitrack dataset: tracks with stems, a mixture, splits and optional notes.

    Subclasses find the tracks (:meth:`_scan`), say where each track's audio lives
    (:meth:`_layout`) and read notes (:meth:`_read_notes`); everything else is shared.

    Parameters
    ----------
    root : str or Path
        The dataset folder.
    label_sr, label_hop : int, optional
        Default label frame grid of :meth:`labels` and :meth:`excerpt` (a synth dataset
        takes its own from ``dataset.json``).
    """

    #: Short name of the layout (the ``kind`` of :func:`open_dataset`).
    name: ClassVar[str] = ""
    #: Human name used in messages.
    title: ClassVar[str] = ""

    def __init__(self, root: str | Path, *, label_sr: int | None = None,
                 label_hop: int | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            what = "does not exist" if not self.root.exists() else "is not a folder"
            raise InputError(f"{self.title} dataset '{self.root}' {what}: give the dataset's "
                             "root folder")
        self.label_sr = DEFAULT_LABEL_SR
        self.label_hop = DEFAULT_LABEL_HOP
        self._layouts: dict[str, _Layout] = {}
        self._notes: dict[str, NoteTable | None] = {}
        self._probes: dict[_Source, _Probe] = {}
        self._splits: dict[str, str | None] = self._scan()
        if label_sr is not None:
            self.label_sr = int(label_sr)
        if label_hop is not None:
            self.label_hop = int(label_hop)
        if not self._splits:
            raise InputError(f"{self.title} dataset '{self.root}' holds no tracks")

    # ---- layout-specific parts -----------------------------------------------------------

    @abstractmethod
    def _scan(self) -> dict[str, str | None]:
        """Track id -> canonical split (None where the dataset has none), in track order."""

    @abstractmethod
    def _layout(self, track: str) -> _Layout:
        """Where the audio of ``track`` lives; InputError naming what is missing."""

    def _read_notes(self, track: str) -> NoteTable | None:
        """The notes of ``track``, or None where the layout has none."""
        return None

    @classmethod
    @abstractmethod
    def detect(cls, root: Path) -> str | None:
        """None when ``root`` looks like this layout, else what is missing (for messages)."""

    # ---- tracks and splits ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._splits)

    def __repr__(self) -> str:
        splits = "/".join(self.splits()) or "none"
        return f"{type(self).__name__}('{self.root}', {len(self)} tracks, splits {splits})"

    def tracks(self, split: str | None = None) -> list[str]:
        """Track ids, all of them or those of ``split`` (aliases such as ``validation`` too).

        Raises
        ------
        ParameterError
            The dataset has no split of that name.
        """
        if split is None:
            return list(self._splits)
        wanted = canonical_split(split)
        available = self.splits()
        if wanted not in available:
            have = (f"its splits are {', '.join(available)}" if available
                    else "it has no splits; pass split=None")
            raise ParameterError(f"{self.title} dataset '{self.root}' has no split {split!r}: "
                                 f"{have}")
        return [t for t, s in self._splits.items() if s == wanted]

    def splits(self) -> list[str]:
        """Canonical names of the splits that hold tracks (train, valid, test first)."""
        present = {s for s in self._splits.values() if s is not None}
        return [s for s in SPLITS if s in present] + sorted(present.difference(SPLITS))

    def split_of(self, track: str) -> str | None:
        """The split of ``track`` (None where the dataset has no splits)."""
        self._check_track(track)
        return self._splits[track]

    def _check_track(self, track: str) -> None:
        if track not in self._splits:
            some = ", ".join(repr(t) for t in list(self._splits)[:3])
            raise InputError(f"{self.title} dataset '{self.root}' has no track {track!r} "
                             f"(it has {len(self)}, e.g. {some})")

    def _get_layout(self, track: str) -> _Layout:
        self._check_track(track)
        if track not in self._layouts:
            layout = self._layout(track)
            if not layout.stems and layout.mixture is None:
                raise InputError(f"{self.title} track {track!r} has no audio files")
            self._layouts[track] = layout
        return self._layouts[track]

    # ---- files ---------------------------------------------------------------------------

    def stem_names(self, track: str) -> list[str]:
        """Names of the stems of ``track``, in the order of :attr:`Excerpt.stems`."""
        return list(self._get_layout(track).stems)

    def stem_files(self, track: str) -> dict[str, list[Path]]:
        """Stem name -> the files summed into that stem (usually one)."""
        return {name: [s.path if isinstance(s, _Stream) else s for s in sources]
                for name, sources in self._get_layout(track).stems.items()}

    def stem_paths(self, track: str) -> dict[str, Path]:
        """Stem name -> its audio file.

        A MUSDB18 ``.stem.mp4`` track maps every stem to the one mp4 file (its streams).

        Raises
        ------
        InputError
            A stem of ``track`` is the sum of several files: use :meth:`stem_files`.
        """
        files = self.stem_files(track)
        several = {name: paths for name, paths in files.items() if len(paths) > 1}
        if several:
            name, paths = next(iter(several.items()))
            raise InputError(f"stem '{name}' of {self.title} track {track!r} is the sum of "
                             f"{len(paths)} files ({', '.join(p.name for p in paths)}): use "
                             "stem_files() for the file list, or excerpt() for the summed audio")
        return {name: paths[0] for name, paths in files.items()}

    def mixture_path(self, track: str) -> Path | None:
        """The mixture file of ``track``; None when the mixture is the sum of the stems."""
        mixture = self._get_layout(track).mixture
        return mixture.path if isinstance(mixture, _Stream) else mixture

    def _probe(self, source: _Source) -> _Probe:
        if source not in self._probes:
            if isinstance(source, _Stream):
                self._probes[source] = _probe_stream(source)
            else:
                info: AudioInfo = audio_info(source)
                self._probes[source] = _Probe(info.samplerate, info.channels, info.duration)
        return self._probes[source]

    def _main_source(self, track: str) -> _Source:
        layout = self._get_layout(track)
        if layout.mixture is not None:
            return layout.mixture
        return next(iter(layout.stems.values()))[0]

    def duration(self, track: str) -> float:
        """Length of ``track`` in seconds, from file headers (no decoding).

        The mixture's length, or the longest stem's where there is no mixture file.
        """
        layout = self._get_layout(track)
        if layout.mixture is not None:
            return self._probe(layout.mixture).duration
        return max(self._probe(s).duration for sources in layout.stems.values()
                   for s in sources)

    def samplerate(self, track: str) -> int:
        """Native sample rate of ``track`` (its mixture, else its first stem) in Hz."""
        return self._probe(self._main_source(track)).samplerate

    # ---- notes and labels ----------------------------------------------------------------

    def notes(self, track: str) -> NoteTable | None:
        """The notes of ``track`` (None where the layout has no notes); read once, cached."""
        self._check_track(track)
        if track not in self._notes:
            self._notes[track] = self._read_notes(track)
        return self._notes[track]

    def labels(self, track: str, *, sr: int | None = None, hop: int | None = None,
               classes: Sequence[str] = CLASSES) -> FrameLabels | None:
        """Frame labels of the whole track, computed from its notes.

        Parameters
        ----------
        sr, hop : int, optional
            Frame grid (default :attr:`label_sr`, :attr:`label_hop`): ``n_frames`` of the
            track's length at ``sr``.
        classes : sequence of str
            The class axis; notes of other classes are left out.

        Returns
        -------
        FrameLabels or None
            None when the dataset has no notes.
        """
        notes = self.notes(track)
        if notes is None:
            return None
        sr, hop = self._label_grid(sr, hop)
        return _span_labels(notes, start=0.0, duration=self.duration(track), sr=sr, hop=hop,
                            classes=classes)

    def _label_grid(self, sr: int | None, hop: int | None) -> tuple[int, int]:
        out_sr = self.label_sr if sr is None else sr
        out_hop = self.label_hop if hop is None else hop
        for what, value in (("label sample rate", out_sr), ("label hop", out_hop)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
                raise ParameterError(f"{what} {value!r} is not valid: give a positive whole "
                                     "number")
        return int(out_sr), int(out_hop)

    # ---- audio ---------------------------------------------------------------------------

    def _read_source(self, source: _Source, *, start: float, duration: float, sr: int,
                     channels: ChannelSpec, n: int) -> NDArray[np.float32]:
        probe = self._probe(source)
        if round(start * probe.samplerate) < round(probe.duration * probe.samplerate):
            if isinstance(source, _Stream):
                audio = _decode_stream(source, start=start, duration=duration, sr=sr,
                                       channels=channels)
            else:
                audio, _ = load_audio(source, sr=sr, channels=channels, offset=start,
                                      duration=duration)
            if audio is not None:
                return _fit_length(audio, n)
        return np.zeros((_channels_out(probe.channels, channels), n), dtype=np.float32)

    def excerpt(self, track: str, *, start: float, duration: float, sr: int | None = None,
                channels: ChannelSpec = None, label_sr: int | None = None,
                label_hop: int | None = None, classes: Sequence[str] = CLASSES) -> Excerpt:
        """Read ``duration`` seconds of ``track`` from ``start``: mixture, stems and labels.

        Only that span of each file is decoded. The audio has ``round(duration * sr)``
        samples, zero-padded where a file ends earlier; stems made of several files are
        summed; without a mixture file the mixture is the sum of the stems.

        Parameters
        ----------
        track : str
        start, duration : float
            Seconds; ``start`` must lie before the end of the track.
        sr : int, optional
            Output rate in Hz (default: the track's own, :meth:`samplerate`).
        channels : None, "mono", "stereo" or int
            Channel policy of :func:`~mirkit.io.audio.load_audio`; with None, mono files are
            duplicated to the track's largest channel count.
        label_sr, label_hop, classes
            Frame grid and class axis of the labels (see :meth:`labels`).

        Raises
        ------
        InputError
            A missing or unreadable file, or ``start`` at or past the end of the track.
        ParameterError
            A bad ``start``, ``duration``, ``sr``, ``channels`` or label grid.
        """
        start, duration = _check_span(start, duration)
        layout = self._get_layout(track)
        lsr, lhop = self._label_grid(label_sr, label_hop)
        length = self.duration(track)
        if start >= length:
            raise InputError(f"start {start:.3f} s is at or past the end of {self.title} track "
                             f"{track!r} ({length:.3f} s long): use a start below {length:.3f} s")
        out_sr = self.samplerate(track) if sr is None else sr
        if isinstance(out_sr, bool) or not isinstance(out_sr, int | np.integer) or out_sr <= 0:
            raise ParameterError(f"sample rate {out_sr!r} Hz is not valid: give a positive "
                                 "whole number of Hz, e.g. 44100")
        out_sr = int(out_sr)
        n = round(duration * out_sr)
        if n == 0:
            raise ParameterError(f"duration {duration!r} s is shorter than one sample at "
                                 f"{out_sr} Hz: give a longer duration")
        read: dict[_Source, NDArray[np.float32]] = {}   # a file serving twice is read once

        def get(source: _Source) -> NDArray[np.float32]:
            if source not in read:
                read[source] = self._read_source(source, start=start, duration=duration,
                                                 sr=out_sr, channels=channels, n=n)
            return read[source]

        sources = [s for group in layout.stems.values() for s in group]
        if layout.mixture is not None:
            sources.append(layout.mixture)
        for source in sources:
            get(source)
        width = max(a.shape[0] for a in read.values())
        for source, audio in read.items():
            if audio.shape[0] != width:   # only with channels=None: mono next to stereo
                read[source] = _convert_channels(audio, width, name=str(
                    source.path if isinstance(source, _Stream) else source))
        stems: dict[str, NDArray[np.float32]] = {}
        for name, group in layout.stems.items():
            total = read[group[0]].copy()
            for source in group[1:]:
                total += read[source]
            stems[name] = total
        if layout.mixture is not None:
            mixture = read[layout.mixture].copy()
        else:
            mixture = np.sum(list(stems.values()), axis=0, dtype=np.float32)
        notes = self.notes(track)
        labels = None if notes is None else _span_labels(
            notes, start=start, duration=duration, sr=lsr, hop=lhop, classes=classes)
        return Excerpt(mixture=mixture, stems=stems, sr=out_sr, start=start, labels=labels,
                       track=track)

    def random_excerpt(self, rng: np.random.Generator, *, duration: float,
                       split: str | None = None, sr: int | None = None,
                       channels: ChannelSpec = None, label_sr: int | None = None,
                       label_hop: int | None = None,
                       classes: Sequence[str] = CLASSES) -> Excerpt:
        """An excerpt of a track drawn uniformly from ``split``, at a uniform start.

        The start is a whole sample at the track's own rate, uniform over
        ``[0, track duration - duration]`` (0 for tracks shorter than ``duration``, which
        are zero-padded). Other arguments as :meth:`excerpt`.
        """
        _check_span(0.0, duration)
        names = self.tracks(split)
        if not names:   # pragma: no cover - tracks() refuses splits without tracks
            raise InputError(f"{self.title} dataset '{self.root}' has no tracks in {split!r}")
        track = names[int(rng.integers(len(names)))]
        native = self.samplerate(track)
        last = math.floor((self.duration(track) - duration) * native)
        start = int(rng.integers(last + 1)) / native if last > 0 else 0.0
        return self.excerpt(track, start=start, duration=duration, sr=sr, channels=channels,
                            label_sr=label_sr, label_hop=label_hop, classes=classes)


# --------------------------------------------------------------------------- synth


class SynthDataset(MultitrackDataset):
    """mirkit's own layout, written by ``mirkit synth`` (see the module docstring).

    Labels come from ``labels.npz`` when its rate, hop, classes and length match what is
    asked for, else they are computed from ``notes.csv``.
    """

    name = "synth"
    title = "synth"
    INDEX = "dataset.json"

    @classmethod
    def detect(cls, root: Path) -> str | None:
        index = root / cls.INDEX
        if not index.is_file():
            return f"no {cls.INDEX}"
        try:
            meta = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"{cls.INDEX} is not readable JSON ({exc})"
        generator = meta.get("generator") if isinstance(meta, dict) else None
        # "mirkit synth" optionally followed by the version that wrote it
        if not isinstance(generator, str) or generator.split(" ")[:2] != _SYNTH_GENERATOR.split():
            return f"{cls.INDEX} does not say generator '{_SYNTH_GENERATOR}'"
        return None

    def _scan(self) -> dict[str, str | None]:
        index = self.root / self.INDEX
        if not index.is_file():
            raise InputError(f"synth dataset '{self.root}' has no {self.INDEX}: make one with "
                             "`mirkit synth`, or pass the folder that holds it")
        try:
            meta = json.loads(index.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read '{index}': {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise InputError(f"'{index}' is not valid JSON ({exc}): regenerate the dataset"
                             ) from exc
        entries = meta.get("tracks") if isinstance(meta, dict) else None
        if not isinstance(entries, list):
            raise InputError(f"'{index}' has no \"tracks\" list: regenerate the dataset")
        if meta.get("version", 1) != 1:
            raise InputError(f"'{index}' is version {meta.get('version')!r}; this mirkit "
                             "reads version 1: update mirkit or regenerate the dataset")
        self.meta: dict[str, Any] = meta
        try:
            self.label_sr = int(meta.get("label_sr", DEFAULT_LABEL_SR))
            self.label_hop = int(meta.get("label_hop", DEFAULT_LABEL_HOP))
        except (TypeError, ValueError) as exc:
            raise InputError(f"'{index}': label_sr {meta.get('label_sr')!r} and label_hop "
                             f"{meta.get('label_hop')!r} must be whole numbers") from exc
        self._entries: dict[str, dict[str, Any]] = {}
        splits: dict[str, str | None] = {}
        for k, entry in enumerate(entries):
            if not isinstance(entry, dict) or "id" not in entry:
                raise InputError(f"'{index}': track {k} has no \"id\"")
            track = str(entry["id"])
            self._entries[track] = entry
            split = entry.get("split")
            splits[track] = None if split is None else canonical_split(split)
        return splits

    def track_info(self, track: str) -> dict[str, Any]:
        """The track's entry of ``dataset.json`` (source, seed, programs, split, ...)."""
        self._check_track(track)
        return dict(self._entries[track])

    def _folder(self, track: str) -> Path:
        folder = self.root / "tracks" / track
        if not folder.is_dir():
            raise InputError(f"synth track {track!r} has no folder '{folder}': regenerate the "
                             "dataset or remove the track from dataset.json")
        return folder

    def _layout(self, track: str) -> _Layout:
        folder = self._folder(track)
        mixture = _find_audio(folder, "mixture")
        if mixture is None:
            raise InputError(f"synth track {track!r} has no mixture.flac in '{folder}'")
        stem_dir = folder / "stems"
        if not stem_dir.is_dir():
            raise InputError(f"synth track {track!r} has no stems/ folder in '{folder}'")
        names = self._entries[track].get("classes")
        stems: dict[str, tuple[_Source, ...]] = {}
        if isinstance(names, list):
            for name in map(str, names):
                path = _find_audio(stem_dir, name)
                if path is None:
                    raise InputError(f"synth track {track!r} has no stems/{name}.flac (its "
                                     f"classes in dataset.json name it) in '{folder}'")
                stems[name] = (path,)
        else:
            stems = {p.stem: (p,) for p in _audio_files(stem_dir)}
        return _Layout(stems=stems, mixture=mixture)

    def _read_notes(self, track: str) -> NoteTable | None:
        path = self._folder(track) / "notes.csv"
        if not path.is_file():
            raise InputError(f"synth track {track!r} has no notes.csv in '{path.parent}'")
        return NoteTable.from_csv(path)

    def labels(self, track: str, *, sr: int | None = None, hop: int | None = None,
               classes: Sequence[str] = CLASSES) -> FrameLabels | None:
        """As :meth:`MultitrackDataset.labels`, read from ``labels.npz`` when it matches."""
        self._check_track(track)
        out_sr, out_hop = self._label_grid(sr, hop)
        path = self._folder(track) / "labels.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    stored = FrameLabels.from_npz(data)
            except (OSError, ValueError, KeyError) as exc:
                raise InputError(f"cannot read '{path}' ({exc}): regenerate the dataset"
                                 ) from exc
            frames = n_frames(round(self.duration(track) * out_sr), out_hop)
            if (stored.sr, stored.hop, stored.classes) == (out_sr, out_hop, tuple(classes)) \
                    and stored.pianoroll.shape[-1] == frames:
                return stored
        return super().labels(track, sr=out_sr, hop=out_hop, classes=classes)


# --------------------------------------------------------------------------- MUSDB18


class MusdbDataset(MultitrackDataset):
    """MUSDB18-HQ wav folders or MUSDB18 ``.stem.mp4`` files (see the module docstring).

    Splits: ``train`` (86 tracks), ``valid`` (:data:`MUSDB_VALIDATION_TRACKS`, 14 tracks of
    the train folder) and ``test`` (50). Stems: :data:`MUSDB_SOURCES`. No notes.
    """

    name = "musdb"
    title = "MUSDB18"
    FOLDERS: ClassVar[tuple[str, ...]] = ("train", "test")

    @classmethod
    def detect(cls, root: Path) -> str | None:
        for sub in cls.FOLDERS:
            folder = root / sub
            if not folder.is_dir():
                continue
            if any(p.name.endswith(_STEM_MP4) for p in folder.iterdir()):
                return None
            for track in _subdirs(folder):
                names = {p.stem for p in _audio_files(track)}
                if "mixture" in names and names.intersection(MUSDB_SOURCES):
                    return None
        return ("no train/ or test/ folder holding <track>/mixture.wav with "
                f"{'/'.join(MUSDB_SOURCES)} files or <track>.stem.mp4 files")

    def _scan(self) -> dict[str, str | None]:
        if not any((self.root / sub).is_dir() for sub in self.FOLDERS):
            raise InputError(f"MUSDB18 folder '{self.root}' has no train/ or test/ folder")
        self._where: dict[str, Path] = {}
        splits: dict[str, str | None] = {}
        for sub in self.FOLDERS:
            folder = self.root / sub
            if not folder.is_dir():
                continue
            found: dict[str, Path] = {}
            for p in sorted(folder.iterdir()):
                if p.is_file() and p.name.endswith(_STEM_MP4):
                    found.setdefault(p.name[: -len(_STEM_MP4)], p)
            for p in _subdirs(folder):
                found[p.name] = p              # a wav folder wins over an mp4 of one name
            for track in sorted(found):
                self._where[track] = found[track]
                if sub == "test":
                    splits[track] = "test"
                else:
                    splits[track] = "valid" if track in MUSDB_VALIDATION_TRACKS else "train"
        return splits

    def _layout(self, track: str) -> _Layout:
        where = self._where[track]
        if where.is_file():
            streams = {name: _Stream(where, MUSDB_STEM_STREAMS[name]) for name in MUSDB_SOURCES}
            return _Layout(stems={name: (s,) for name, s in streams.items()},
                           mixture=_Stream(where, MUSDB_STEM_STREAMS["mixture"]))
        found: dict[str, Path] = {}
        for name in ("mixture", *MUSDB_SOURCES):
            path = _find_audio(where, name)
            if path is None:
                raise InputError(f"MUSDB18 track {track!r} has no {name}.wav in '{where}'")
            found[name] = path
        return _Layout(stems={name: (found[name],) for name in MUSDB_SOURCES},
                       mixture=found["mixture"])


# --------------------------------------------------------------------------- Slakh2100


class SlakhDataset(MultitrackDataset):
    """Slakh2100 (flac or wav; split folders, or flat like babyslakh).

    Stems are mirkit classes (:func:`~mirkit.data.instruments.class_of_program` of each
    stem's ``program_num`` and ``is_drum``; :data:`OTHER` for programs outside the
    vocabulary), several stems of one class summed. Notes come from ``MIDI/SNN.mid`` with
    the class of their stem. Splits: ``train``, ``valid`` (folder ``validation``), ``test``
    and ``omitted``.
    """

    name = "slakh"
    title = "Slakh"
    METADATA = "metadata.yaml"

    @classmethod
    def _track_dirs(cls, root: Path) -> list[tuple[Path, str | None]]:
        found: list[tuple[Path, str | None]] = []
        for folder, split in _SLAKH_SPLITS.items():
            if (root / folder).is_dir():
                found += [(p, split) for p in _subdirs(root / folder)
                          if _SLAKH_TRACK.match(p.name)]
        found += [(p, None) for p in _subdirs(root) if _SLAKH_TRACK.match(p.name)]
        return found

    @classmethod
    def detect(cls, root: Path) -> str | None:
        if cls._track_dirs(root):
            return None
        return ("no TrackNNNNN folders in train/, validation/, test/, omitted/ or the folder "
                "itself")

    def _scan(self) -> dict[str, str | None]:
        found = self._track_dirs(self.root)
        if not found:
            raise InputError(f"Slakh folder '{self.root}' has no TrackNNNNN folders in "
                             "train/, validation/, test/, omitted/ or itself")
        self._dirs: dict[str, Path] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        splits: dict[str, str | None] = {}
        for folder, split in found:
            track = folder.name
            if track in self._dirs:
                raise InputError(f"Slakh track {track!r} appears twice: '{self._dirs[track]}' "
                                 f"and '{folder}'; keep one")
            if not (folder / self.METADATA).is_file():
                raise InputError(f"Slakh track {track!r} has no {self.METADATA} (expected "
                                 f"'{folder / self.METADATA}')")
            self._dirs[track] = folder
            splits[track] = split
        return splits

    def metadata(self, track: str) -> dict[str, Any]:
        """The parsed ``metadata.yaml`` of ``track`` (cached)."""
        self._check_track(track)
        if track not in self._meta:
            path = self._dirs[track] / self.METADATA
            meta = _load_yaml(path, f"Slakh track {track!r} metadata")
            if not isinstance(meta, dict) or not isinstance(meta.get("stems"), dict):
                raise InputError(f"Slakh track {track!r}: '{path}' has no 'stems' mapping")
            self._meta[track] = meta
        return self._meta[track]

    def _stems_info(self, track: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(stem id, class, info) of every stem in id order."""
        out = []
        for sid, info in sorted(self.metadata(track)["stems"].items()):
            if not isinstance(info, dict) or "program_num" not in info:
                raise InputError(f"Slakh track {track!r}: stem {sid} in {self.METADATA} has "
                                 "no program_num")
            try:
                cls = class_of_program(int(info["program_num"]),
                                       is_drum=bool(info.get("is_drum", False)))
            except (ValueError, TypeError) as exc:
                raise InputError(f"Slakh track {track!r}: stem {sid} has program_num "
                                 f"{info['program_num']!r}, not a GM program 0-127") from exc
            out.append((str(sid), cls or OTHER, info))
        return out

    def _layout(self, track: str) -> _Layout:
        folder = self._dirs[track]
        meta = self.metadata(track)
        mixture = _find_audio(folder, "mix")
        if mixture is None:
            raise InputError(f"Slakh track {track!r} has no mix.flac in '{folder}'")
        audio_dir = folder / str(meta.get("audio_dir") or "stems")
        groups: dict[str, list[_Source]] = {}
        for sid, cls, info in self._stems_info(track):
            if not info.get("audio_rendered", True):
                continue
            path = _find_audio(audio_dir, sid)
            if path is None:
                raise InputError(f"Slakh track {track!r} has no {audio_dir.name}/{sid}.flac "
                                 f"({self.METADATA} says it was rendered) in '{folder}'")
            groups.setdefault(cls, []).append(path)
        return _Layout(stems={c: tuple(groups[c]) for c in _class_order(groups)},
                       mixture=mixture)

    def _read_notes(self, track: str) -> NoteTable | None:
        folder = self._dirs[track]
        midi_dir = folder / str(self.metadata(track).get("midi_dir") or "MIDI")
        tables = []
        for sid, cls, info in self._stems_info(track):
            if not info.get("audio_rendered", True) or not info.get("midi_saved", True):
                continue
            path = midi_dir / f"{sid}.mid"
            if not path.is_file():
                raise InputError(f"Slakh track {track!r} has no {midi_dir.name}/{sid}.mid in "
                                 f"'{folder}'")
            tables.append(_notes_from_midi(path, cls))
        return NoteTable.concat(tables)


# --------------------------------------------------------------------------- MAESTRO


class MaestroDataset(MultitrackDataset):
    """MAESTRO: ``maestro-v*.csv`` (the newest version present) and its wav/MIDI files.

    Track ids are the audio file paths of the CSV without extension. One stem, ``piano``,
    which is the recording itself (also the mixture); notes from the MIDI file, class
    ``piano``. Splits ``train``, ``valid`` (CSV ``validation``), ``test``.
    """

    name = "maestro"
    title = "MAESTRO"
    REQUIRED: ClassVar[tuple[str, ...]] = ("split", "midi_filename", "audio_filename")

    @staticmethod
    def _csv(root: Path) -> Path | None:
        found = []
        for p in root.iterdir():
            m = _MAESTRO_CSV.match(p.name)
            if m and p.is_file():
                found.append((tuple(int(g) for g in m.groups()), p))
        return max(found)[1] if found else None

    @classmethod
    def detect(cls, root: Path) -> str | None:
        return None if cls._csv(root) else "no maestro-v*.csv"

    def _scan(self) -> dict[str, str | None]:
        path = self._csv(self.root)
        if path is None:
            raise InputError(f"MAESTRO folder '{self.root}' has no maestro-v*.csv (e.g. "
                             "maestro-v3.0.0.csv)")
        try:
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                missing = [c for c in self.REQUIRED if c not in (reader.fieldnames or [])]
                if missing:
                    raise InputError(f"'{path}' has no column {', '.join(missing)}: is it a "
                                     "MAESTRO metadata file?")
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"cannot read '{path}': {exc}") from exc
        self._rows: dict[str, dict[str, str]] = {}
        splits: dict[str, str | None] = {}
        for line, row in enumerate(rows, start=2):
            empty = [c for c in self.REQUIRED if not row.get(c)]
            if empty:
                raise InputError(f"'{path}' line {line} has no {', '.join(empty)}")
            track = str(Path(row["audio_filename"]).with_suffix("").as_posix())
            self._rows[track] = row
            splits[track] = canonical_split(row["split"])
        return splits

    def track_info(self, track: str) -> dict[str, str]:
        """The track's CSV row (composer, title, year, file names, duration)."""
        self._check_track(track)
        return dict(self._rows[track])

    def _layout(self, track: str) -> _Layout:
        path = self.root / self._rows[track]["audio_filename"]
        if not path.is_file():
            raise InputError(f"MAESTRO track {track!r} has no audio file '{path}'")
        return _Layout(stems={"piano": (path,)}, mixture=path)

    def _read_notes(self, track: str) -> NoteTable | None:
        path = self.root / self._rows[track]["midi_filename"]
        if not path.is_file():
            raise InputError(f"MAESTRO track {track!r} has no MIDI file '{path}'")
        return _notes_from_midi(path, "piano")


# --------------------------------------------------------------------------- MedleyDB


class MedleyDbDataset(MultitrackDataset):
    """MedleyDB-style tracks: ``<Track>/<Track>_METADATA.yaml`` and ``<Track>_STEMS/``.

    Stem names: :func:`medleydb_class` of each stem's ``instrument`` (the first one when it
    is a list), several stems of one name summed. No notes, no splits.
    """

    name = "medleydb"
    title = "MedleyDB"

    @staticmethod
    def _metadata_path(folder: Path) -> Path:
        return folder / f"{folder.name}_METADATA.yaml"

    @classmethod
    def detect(cls, root: Path) -> str | None:
        if any(cls._metadata_path(d).is_file() for d in _subdirs(root)):
            return None
        return "no <Track>/<Track>_METADATA.yaml"

    def _scan(self) -> dict[str, str | None]:
        self._dirs: dict[str, Path] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        for folder in _subdirs(self.root):
            if self._metadata_path(folder).is_file():
                self._dirs[folder.name] = folder
            elif (folder / f"{folder.name}_STEMS").is_dir() or _find_audio(
                    folder, f"{folder.name}_MIX") is not None:
                raise InputError(f"MedleyDB track {folder.name!r} has no "
                                 f"{self._metadata_path(folder).name} in '{folder}'")
        if not self._dirs:
            raise InputError(f"MedleyDB folder '{self.root}' has no "
                             "<Track>/<Track>_METADATA.yaml")
        return dict.fromkeys(self._dirs)

    def metadata(self, track: str) -> dict[str, Any]:
        """The parsed ``<Track>_METADATA.yaml`` (cached)."""
        self._check_track(track)
        if track not in self._meta:
            path = self._metadata_path(self._dirs[track])
            meta = _load_yaml(path, f"MedleyDB track {track!r} metadata")
            if not isinstance(meta, dict):
                raise InputError(f"MedleyDB track {track!r}: '{path}' is not a mapping")
            for key in ("mix_filename", "stem_dir", "stems"):
                if not meta.get(key):
                    raise InputError(f"MedleyDB track {track!r}: '{path}' has no {key!r}")
            if not isinstance(meta["stems"], dict):
                raise InputError(f"MedleyDB track {track!r}: 'stems' in '{path}' is not a "
                                 "mapping")
            self._meta[track] = meta
        return self._meta[track]

    def _layout(self, track: str) -> _Layout:
        folder = self._dirs[track]
        meta = self.metadata(track)
        mixture = folder / str(meta["mix_filename"])
        if not mixture.is_file():
            raise InputError(f"MedleyDB track {track!r} has no mix file {mixture.name!r} "
                             f"(its mix_filename) in '{folder}'")
        stem_dir = folder / str(meta["stem_dir"])
        if not stem_dir.is_dir():
            raise InputError(f"MedleyDB track {track!r} has no stem folder {stem_dir.name!r} "
                             f"(its stem_dir) in '{folder}'")
        groups: dict[str, list[_Source]] = {}
        for sid, info in sorted(meta["stems"].items()):
            if not isinstance(info, dict) or not info.get("filename"):
                raise InputError(f"MedleyDB track {track!r}: stem {sid} has no filename")
            path = stem_dir / str(info["filename"])
            if not path.is_file():
                raise InputError(f"MedleyDB track {track!r} has no stem file {path.name!r} "
                                 f"(stem {sid}) in '{stem_dir}'")
            label = info.get("instrument") or "unknown"
            if isinstance(label, list):
                label = label[0] if label else "unknown"
            groups.setdefault(medleydb_class(str(label)), []).append(path)
        return _Layout(stems={c: tuple(groups[c]) for c in _class_order(groups)},
                       mixture=mixture)


# --------------------------------------------------------------------------- plain folders


class FolderDataset(MultitrackDataset):
    """Plain folders: ``[<split>/]<track>/`` with ``mixture.<ext>`` and stem files.

    Stems are the audio files in ``<track>/stems/`` when that folder exists, else the audio
    files of ``<track>/`` other than the mixture; the stem name is the file name without
    extension. Without a mixture file the mixture is the sum of the stems. Notes come from
    an optional ``<track>/notes.csv``. When every subfolder of the root is a split name
    (``train``, ``valid``/``validation``, ``test``), track ids are ``<split>/<track>``.
    """

    name = "folder"
    title = "folder"

    @staticmethod
    def _is_track(folder: Path) -> bool:
        return bool(_audio_files(folder) or _audio_files(folder / "stems"))

    @classmethod
    def _track_dirs(cls, root: Path) -> list[tuple[Path, str | None]]:
        subs = _subdirs(root)
        if subs and all(canonical_split(d.name) in SPLITS for d in subs):
            return [(t, canonical_split(d.name)) for d in subs for t in _subdirs(d)
                    if cls._is_track(t)]
        return [(t, None) for t in subs if cls._is_track(t)]

    @classmethod
    def detect(cls, root: Path) -> str | None:
        if cls._track_dirs(root):
            return None
        return "no <track>/ subfolder with audio files"

    def _scan(self) -> dict[str, str | None]:
        found = self._track_dirs(self.root)
        if not found:
            raise InputError(f"'{self.root}' holds no track folders: expected "
                             "<track>/mixture.wav plus <stem>.wav files or a stems/ folder")
        self._dirs = {t.relative_to(self.root).as_posix(): t for t, _ in found}
        return {t.relative_to(self.root).as_posix(): split for t, split in found}

    def _layout(self, track: str) -> _Layout:
        folder = self._dirs[track]
        mixture = _find_audio(folder, "mixture")
        stem_dir = folder / "stems"
        files = (_audio_files(stem_dir) if stem_dir.is_dir()
                 else [p for p in _audio_files(folder) if p.stem != "mixture"])
        stems: dict[str, tuple[_Source, ...]] = {}
        for p in files:
            if p.stem in stems:
                raise InputError(f"folder track {track!r} has several files for stem "
                                 f"'{p.stem}' in '{p.parent}': keep one")
            stems[p.stem] = (p,)
        if not stems and mixture is None:
            raise InputError(f"folder track {track!r} has neither mixture.<ext> nor stem "
                             f"files in '{folder}'")
        return _Layout(stems=stems, mixture=mixture)

    def _read_notes(self, track: str) -> NoteTable | None:
        path = self._dirs[track] / "notes.csv"
        return NoteTable.from_csv(path) if path.is_file() else None


# --------------------------------------------------------------------------- detection

#: Layout name -> loader class, in the order :func:`open_dataset` tries them.
DATASET_KINDS: dict[str, type[MultitrackDataset]] = {
    cls.name: cls
    for cls in (SynthDataset, MaestroDataset, SlakhDataset, MusdbDataset, MedleyDbDataset,
                FolderDataset)
}


def open_dataset(path: str | Path, kind: str = "auto", *, label_sr: int | None = None,
                 label_hop: int | None = None) -> MultitrackDataset:
    """Open a multitrack dataset folder, detecting its layout.

    Parameters
    ----------
    path : str or Path
        The dataset's root folder.
    kind : str
        ``"auto"`` (detect) or one of :data:`DATASET_KINDS`: ``synth``, ``maestro``,
        ``slakh``, ``musdb``, ``medleydb``, ``folder``. Detection tries them in that order:
        ``dataset.json`` from ``mirkit synth``; a ``maestro-v*.csv``; ``TrackNNNNN``
        folders; ``train/``/``test/`` with MUSDB sources or ``.stem.mp4`` files;
        ``<Track>/<Track>_METADATA.yaml``; any ``<track>/`` folder with audio files.
    label_sr, label_hop : int, optional
        Default label grid (see :class:`MultitrackDataset`).

    Raises
    ------
    InputError
        The folder is missing, matches no layout (the message says what each layout
        lacked), or is a broken instance of its layout.
    ParameterError
        Unknown ``kind``.
    """
    root = Path(path)
    if kind != "auto" and kind not in DATASET_KINDS:
        raise ParameterError(f"unknown dataset kind {kind!r}; use auto or one of "
                             f"{', '.join(DATASET_KINDS)}")
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise InputError(f"dataset '{root}' {what}: give the dataset's root folder")
    if kind != "auto":
        return DATASET_KINDS[kind](root, label_sr=label_sr, label_hop=label_hop)
    tried = []
    for name, cls in DATASET_KINDS.items():
        reason = cls.detect(root)
        if reason is None:
            return cls(root, label_sr=label_sr, label_hop=label_hop)
        tried.append(f"{name} ({reason})")
    raise InputError(f"'{root}' is no dataset layout mirkit knows; tried " + "; ".join(tried)
                     + ". Arrange it as one of these (see mirkit.data.datasets) or pass kind=")

