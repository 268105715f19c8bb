"""``transcribe``: multi-instrument transcription of audio (library API of ``mirkit transcribe``).

Pipeline (one model, loaded once, any number of inputs)::

    audio file --iter_audio_blocks (16 kHz mono)--> LogCQT --> U-Net --> probabilities
      --> notes (decode_notes) --> NAME.mid, NAME.notes.csv, NAME.activity.csv
                                   [NAME.roll.npz] [NAME.png]

Streaming and memory
    Audio is read in blocks and both stages run through the one chunking engine
    (:func:`mirkit.engine.chunking.stream_frames`, overlap-discard): the log-CQT in windows
    of ``chunk`` frames plus :attr:`~mirkit.features.spectral.CQT.context` samples of
    context at each side, the U-Net in windows of ``chunk`` frames plus
    :func:`context_frames` frames at each side, with chunk starts on multiples of the
    model's ``frame_multiple``. The engine pads the signal's ends with zeros, i.e. silence
    (the log-CQT of silence is exactly 0), so the result is the transcription of the input
    with silence before and after it, *whatever the chunk size*: chunked and whole-signal
    runs agree to float rounding. Inside the stream only what the outputs need is kept:
    the instrument activity ``(K, T)`` and pitch roll ``(88, T)`` as float32 (about 45 MB
    per hour), and, for note decoding, only the roll/onset cells at or above a threshold
    (sparse; a few MB per hour of music; for the ``pitch-first`` decoder, the cells where the
    pooled pitch roll or onset crosses a threshold, with every class's probability). Notes
    are decoded from those cells, which gives exactly what
    :func:`~mirkit.models.note_decoding.decode_notes` gives on the full probability
    arrays. Full ``(K, 88, T)`` rolls are kept in memory only on request
    (``keep_rolls=True``, 12 KB per frame = 1.35 GB per hour for 17 classes); the
    ``NAME.roll.npz`` file is streamed to disk as float16 without holding it in memory.

Files of one input (``{track}`` = the input's name without extension; ``--filename``)
    ``{track}.mid``          one track per instrument class found, its GM program, drums on
                             channel 10 (:func:`~mirkit.models.note_decoding.notes_to_score`)
    ``{track}.notes.csv``    onset,offset,pitch,velocity,instrument,confidence
    ``{track}.activity.csv`` time,<class>,...: activity probability per frame, or the maximum
                             over windows of ``resolution`` seconds
    ``{track}.roll.npz``     (``save_roll``) float16 ``roll`` and ``onset`` (K, 88, T; no
                             ``onset`` without onset decoding or an onset head),
                             ``pitch`` (88, T), ``instrument`` (K, T); ``times`` (T,)
                             seconds, ``classes`` (K,), ``pitches`` (88,) MIDI, ``sr``, ``hop``
    ``{track}.png``          (``plot``) the notes as a pianoroll coloured by instrument

All files of one input are written to temporary files and renamed together when every one
of them is complete (:class:`mirkit.io.atomic.AtomicGroup`); an existing output follows the
``existing`` policy (error, skip, overwrite).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ModelError, ParameterError
from mirkit.features.pianoroll import LOWEST_PITCH, N_PITCHES
from mirkit.io.batch import ExistingPolicy, claim_outputs, output_path
from mirkit.models.note_decoding import (
    DECODERS,
    DEFAULT_CLASS_WINDOW_SECONDS,
    DEFAULT_DRUM_NOTE_SECONDS,
    DEFAULT_FRAME_THRESHOLD,
    DEFAULT_MIN_NOTE_SECONDS,
    DEFAULT_ONSET_THRESHOLD,
    check_class_share,
    check_class_window,
    check_reonset_threshold,
    check_threshold,
)

if TYPE_CHECKING:
    import torch

    from mirkit.io.batch import BatchSummary
    from mirkit.models.note_decoding import DecodedNotes
    from mirkit.models.registry import LoadedModel

__all__ = [
    "DEFAULT_CHUNK_SECONDS",
    "DEFAULT_MODEL",
    "OUTPUT_KINDS",
    "Transcriber",
    "TranscriptionResult",
    "context_frames",
    "check_resolution",
    "output_paths",
    "plot_notes",
    "transcribe",
    "transcribe_audio",
]

#: Model used when none is named (its card: docs/models/transcribe.md).
DEFAULT_MODEL = "transcribe-unet"
#: Length of the part of each inference window that is kept, seconds (rounded to a multiple
#: of the model's frame multiple; 1024 frames at 16 kHz / 512).
DEFAULT_CHUNK_SECONDS = 32.768
#: Decoding defaults of :mod:`mirkit.models.note_decoding`, in milliseconds.
DEFAULT_MIN_NOTE_MS = 1000.0 * DEFAULT_MIN_NOTE_SECONDS
DEFAULT_DRUM_NOTE_MS = 1000.0 * DEFAULT_DRUM_NOTE_SECONDS
#: ``{ext}`` of each output file, by kind.
OUTPUT_KINDS: dict[str, str] = {"midi": "mid", "notes": "notes.csv",
                                "activity": "activity.csv", "roll": "roll.npz", "plot": "png"}
#: Audio read per step, seconds of input.
_READ_SECONDS = 30.0
#: Compression level of ``NAME.roll.npz`` (zlib; 1 is fast and shrinks near-zero
#: probabilities well).
_NPZ_LEVEL = 1
#: Bytes copied per step when assembling ``NAME.roll.npz``.
_COPY_BYTES = 1 << 24


# --------------------------------------------------------------------------- settings


def _milliseconds(flag: str, value: float, *, positive: bool) -> float:
    ok = (isinstance(value, int | float | np.floating) and not isinstance(value, bool)
          and math.isfinite(float(value)))
    if not ok or float(value) < 0 or (positive and float(value) == 0):
        raise ParameterError(f"{flag} {value!r} must be a finite number of milliseconds "
                             f"{'> 0' if positive else '>= 0'}")
    return float(value)


@dataclass(frozen=True)
class _Settings:
    """Validated decoding and chunking options (messages name the CLI flags)."""

    frame_threshold: float
    onset_threshold: float
    min_note_ms: float
    drum_note_ms: float
    use_onsets: bool
    chunk_seconds: float
    batch_size: int
    decoder: str
    min_class_share: float = 0.0
    class_window_seconds: float = DEFAULT_CLASS_WINDOW_SECONDS
    reonset_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ParameterError(f"--decoder {self.decoder!r} must be one of "
                                 f"{', '.join(DECODERS)}")
        check_class_share(self.min_class_share, "--min-class-share")
        check_class_window(self.class_window_seconds, "--class-window")
        check_threshold(self.frame_threshold, "--frame-threshold")
        check_threshold(self.onset_threshold, "--onset-threshold")
        check_reonset_threshold(self.reonset_threshold, self.onset_threshold,
                                "--reonset-threshold")
        _milliseconds("--min-note-ms", self.min_note_ms, positive=False)
        _milliseconds("--drum-note-ms", self.drum_note_ms, positive=True)
        c = self.chunk_seconds
        if isinstance(c, bool) or not isinstance(c, int | float) or not (
                math.isfinite(c) and c > 0):
            raise ParameterError(f"--chunk-seconds {c!r} must be a positive number of seconds")
        b = self.batch_size
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise ParameterError(f"--batch-size {b!r} must be a whole number >= 1")


def check_resolution(resolution: float | None, fps: float) -> float | None:
    """``resolution`` (seconds per row of ``NAME.activity.csv``, or None) if it is at least
    one frame period at ``fps`` frames per second, else :class:`ParameterError`."""
    if resolution is None:
        return None
    ok = (isinstance(resolution, int | float) and not isinstance(resolution, bool)
          and math.isfinite(resolution) and resolution > 0)
    if not ok or resolution < 1.0 / fps - 1e-9:
        raise ParameterError(f"--resolution {resolution!r} must be a number of seconds of at "
                             f"least one frame ({1.0 / fps:.6g} s); leave it out for one row "
                             "per frame")
    return float(resolution)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class TranscriptionResult:
    """The transcription of one input.

    Attributes
    ----------
    notes : DecodedNotes
        The notes (onset, offset in seconds, pitch, velocity, instrument, confidence).
    instrument : np.ndarray, shape (K, T), float32
        Activity probability of each class per frame.
    pitch : np.ndarray, shape (88, T), float32
        Probability that a key sounds (any pitched class of ``classes``), per frame.
    roll, onset : np.ndarray, shape (K, 88, T), float32, or None
        Frame and onset probabilities per class and key; kept only with
        ``keep_rolls=True`` (``onset`` is also None for a model without an onset head).
    classes : tuple of str
        The K class names (the class axis).
    sr, hop : int
        Frame ``t`` is centred at ``t * hop / sr`` seconds.
    n_samples : int
        Length of the input at ``sr``; ``T = 1 + n_samples // hop``.
    model : str
        Name of the model.
    """

    notes: DecodedNotes
    instrument: NDArray[np.float32]
    pitch: NDArray[np.float32]
    roll: NDArray[np.float32] | None
    onset: NDArray[np.float32] | None
    classes: tuple[str, ...]
    sr: int
    hop: int
    n_samples: int
    model: str

    @property
    def duration(self) -> float:
        """Length of the input, seconds."""
        return self.n_samples / self.sr

    @property
    def n_frames(self) -> int:
        return int(self.instrument.shape[1])

    @property
    def times(self) -> NDArray[np.float64]:
        """Centre of each frame, seconds, shape (T,)."""
        return np.arange(self.n_frames, dtype=np.float64) * self.hop / self.sr

    @property
    def instruments_found(self) -> tuple[str, ...]:
        """Classes that have at least one note, in class order."""
        present = set(self.notes.instrument.tolist())
        return tuple(c for c in self.classes if c in present)


# --------------------------------------------------------------------------- model side


def context_frames(model: Any) -> int:
    """Frames of context at each side of a U-Net window, a multiple of ``frame_multiple``.

    A frame's output depends on input frames within at most ``6 * (2**depth - 1) + 1``
    frames (two 3x3 convolutions per encoder and decoder block, one 2x2 stride-2
    down- and up-sampling per level, the 3x3 onset head); measured reach at depth 4 is 73.
    """
    m = int(model.frame_multiple)
    reach = 6 * (m - 1) + 2
    return -(-reach // m) * m


def _model_classes(loaded: LoadedModel) -> tuple[str, ...]:
    from mirkit.data.instruments import CLASSES

    n = int(loaded.module.n_classes)
    names = loaded.card.get("classes") if isinstance(loaded.card, dict) else None
    if isinstance(names, list | tuple) and len(names) == n:
        return tuple(str(c) for c in names)
    if n == len(CLASSES):
        return CLASSES
    raise ModelError(f"model {loaded.name!r} has {n} classes but its card names none; add "
                     "a 'classes' list to the card")


class _ActiveCells:
    """The roll/onset cells that note decoding can see, i.e. at or above a threshold.

    :func:`decode_notes` reads a frame probability only where it is at or above
    ``frame_threshold`` or where the onset is at or above ``onset_threshold`` (a note's start
    frame), and an onset probability only where it is at or above ``onset_threshold``.
    Everything else may be zero without changing a single note, so only those cells are
    kept: 14 bytes each (row = class x 88 + key, frame, frame and onset probability).
    """

    def __init__(self, *, frame_threshold: float, onset_threshold: float) -> None:
        self.ft, self.ot = frame_threshold, onset_threshold
        # per chunk: rows (sorted, as np.nonzero gives them), frames, roll, onset values
        self.parts: list[tuple[NDArray[np.uint16], NDArray[np.uint32], NDArray[np.float32],
                               NDArray[np.float32] | None]] = []

    def add(self, start: int, roll: NDArray[np.float32],
            onset: NDArray[np.float32] | None) -> None:
        """Keep the cells of one chunk: ``roll``/``onset`` (K, 88, n) from frame ``start``."""
        mask = roll >= self.ft
        if onset is not None:
            mask |= onset >= self.ot
        c, k, t = np.nonzero(mask)
        if len(c):
            self.parts.append(((c * roll.shape[1] + k).astype(np.uint16),
                               (t + start).astype(np.uint32), roll[mask],
                               None if onset is None else onset[mask]))

    @property
    def count(self) -> int:
        return sum(len(p[0]) for p in self.parts)

    def rolls_by_class(self, n_classes: int, n_keys: int, n_frames: int
                       ) -> Iterator[tuple[int, NDArray[np.float32], NDArray[np.float32] | None]]:
        """``(class index, roll (1, keys, T), onset or None)`` for each class with cells,
        the other cells zero; one class's arrays exist at a time."""
        edges = np.arange(n_classes + 1) * n_keys
        bounds = [np.searchsorted(rows, edges) for rows, *_ in self.parts]
        for c in range(n_classes):
            spans = [(part, int(b[c]), int(b[c + 1])) for part, b in zip(self.parts, bounds,
                                                                          strict=True)
                     if b[c + 1] > b[c]]
            if not spans:
                continue
            roll = np.zeros((1, n_keys, n_frames), dtype=np.float32)
            has_onset = spans[0][0][3] is not None
            onset = np.zeros_like(roll) if has_onset else None
            for (rows, frames, r, o), lo, hi in spans:
                key = rows[lo:hi].astype(np.intp) - c * n_keys
                roll[0, key, frames[lo:hi]] = r[lo:hi]
                if onset is not None and o is not None:
                    onset[0, key, frames[lo:hi]] = o[lo:hi]
            yield c, roll, onset


class _PooledCells:
    """What the ``pitch-first`` decoder can see of the pitched classes, kept sparse.

    The decoder reads the pooled (max over pitched classes) frame probability where it is
    at or above ``frame_threshold`` or the pooled onset at or above ``onset_threshold``, the
    pooled onset where it is at or above ``onset_threshold``, and every class's frame
    probability over the frames of each note -- frames that are all such cells (a note
    covers its start, active frames and the starts it runs through, rule 3). So those
    cells are kept, each with the probabilities of all pitched classes: the notes equal
    decoding the full arrays.
    """

    def __init__(self, pitched: Sequence[int], *, frame_threshold: float,
                 onset_threshold: float) -> None:
        self.pitched = list(pitched)
        self.ft, self.ot = frame_threshold, onset_threshold
        # per chunk: keys, frames, pooled roll, pooled onset, class values (cells, classes)
        self.parts: list[tuple[NDArray[np.uint8], NDArray[np.uint32], NDArray[np.float32],
                               NDArray[np.float32] | None, NDArray[np.float32]]] = []

    def add(self, start: int, roll: NDArray[np.float32],
            onset: NDArray[np.float32] | None) -> None:
        """Keep the cells of one chunk: ``roll``/``onset`` (K, 88, n) from frame ``start``."""
        if not self.pitched:
            return
        rows = roll[self.pitched]
        pooled = rows.max(axis=0)
        mask = pooled >= self.ft
        pooled_onset = None
        if onset is not None:
            pooled_onset = onset[self.pitched].max(axis=0)
            mask |= pooled_onset >= self.ot
        k, t = np.nonzero(mask)
        if len(k):
            self.parts.append((k.astype(np.uint8), (t + start).astype(np.uint32), pooled[mask],
                               None if pooled_onset is None else pooled_onset[mask],
                               np.ascontiguousarray(rows[:, k, t].T)))

    def pooled(self, n_frames: int) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """Pooled roll and onset ``(1, 88, T)``, zero outside the kept cells."""
        roll = np.zeros((1, N_PITCHES, n_frames), dtype=np.float32)
        onset = None
        if self.parts and self.parts[0][3] is not None:
            onset = np.zeros_like(roll)
        for keys, frames, r, o, _ in self.parts:
            roll[0, keys, frames] = r
            if onset is not None and o is not None:
                onset[0, keys, frames] = o
        return roll, onset

    def labels(self, keys: NDArray[np.integer[Any]], start: NDArray[np.intp],
               end: NDArray[np.intp], n_frames: int, *, min_class_share: float = 0.0,
               window_frames: float = math.inf) -> NDArray[np.intp]:
        """Index into ``pitched`` of each note's class (``key``, frames ``start .. end-1``;
        rules 9 and 10 of :mod:`mirkit.models.note_decoding`)."""
        from mirkit.models.note_decoding import label_by_mean

        if not self.parts or not len(keys):
            return np.zeros(len(keys), dtype=np.intp)
        code = np.concatenate([p[0].astype(np.int64) * n_frames + p[1] for p in self.parts])
        values = np.concatenate([p[4] for p in self.parts])
        order = np.argsort(code, kind="stable")
        code = code[order]
        keys64 = np.asarray(keys, dtype=np.int64)
        lo = np.searchsorted(code, keys64 * n_frames + start)
        hi = np.searchsorted(code, keys64 * n_frames + end)
        sums = np.stack([values[order[a:b]].astype(np.float64).sum(axis=0)
                         for a, b in zip(lo, hi, strict=True)])
        return label_by_mean(sums, end - start, start, min_class_share=min_class_share,
                             window_frames=window_frames)


class _NpzSpill:
    """Stream probability arrays to ``NAME.roll.npz`` without holding them in memory.

    Chunks along time are appended (as float16) to anonymous temporary files in the output
    folder; :meth:`write` assembles the ``.npz`` (a zip of ``.npy`` files) from them. Arrays
    are stored in Fortran order, so time-chunks are contiguous: ``np.load`` gives the usual
    shapes, e.g. ``roll`` (K, 88, T).
    """

    NAMES = ("roll", "onset", "pitch", "instrument")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, IO[bytes]] = {}
        self.lead: dict[str, tuple[int, ...]] = {}
        self.frames = 0

    def add(self, arrays: dict[str, NDArray[np.float32] | None]) -> None:
        n = 0
        for name in self.NAMES:
            arr = arrays.get(name)
            if arr is None:
                continue
            if name not in self.files:
                try:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    self.files[name] = tempfile.TemporaryFile(dir=self.folder,
                                                              prefix=".mirkit-", suffix=".part")
                except OSError as exc:
                    raise InputError(f"cannot write in the output folder '{self.folder}': "
                                     f"{exc.strerror or exc}") from exc
                self.lead[name] = tuple(arr.shape[:-1])
            self.files[name].write(arr.astype(np.float16).tobytes(order="F"))
            n = arr.shape[-1]
        self.frames += n

    def write(self, path: Path, extra: dict[str, NDArray[Any]]) -> None:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=_NPZ_LEVEL) as zf:
            for name, fh in self.files.items():
                header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float16)),
                          "fortran_order": True, "shape": (*self.lead[name], self.frames)}
                fh.seek(0)
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array_header_2_0(out, header)
                    while block := fh.read(_COPY_BYTES):
                        out.write(block)
            for name, arr in extra.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, np.asarray(arr), allow_pickle=False)

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()
        self.files.clear()


class Transcriber:
    """A transcription model loaded once, with its decoding settings.

    Parameters
    ----------
    model : str, path or LoadedModel
        A registered model name (default :data:`DEFAULT_MODEL`), a checkpoint written by
        mirkit's trainer, or a model already loaded with
        :func:`mirkit.models.registry.load_model`.
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    instruments : sequence of str or str, optional
        Keep only these classes (names or a comma-separated list, see
        :func:`mirkit.data.instruments.parse_classes`); every output then has only them
        (the pitch roll is pooled over the kept pitched classes).
    frame_threshold, onset_threshold : float in (0, 1), optional
        Probability at or above which a frame is active / an onset starts a note.
    min_note_ms : float >= 0, optional
        Pitched notes shorter than this are dropped.

    decoder : {'per-instrument', 'pitch-first'}, optional
        Decode each class separately, or the pitch roll first and then give each note the
        class most active over it (:mod:`mirkit.models.note_decoding`, rule 9).
    min_class_share : float in [0, 1), optional
        ``pitch-first``: rule out, for each note, the classes that won less than this share
        of the note length within ``class_window_seconds`` around it (rule 10; 0: off).
    class_window_seconds : float > 0, optional
        The window of the class vote (``math.inf``: the whole input).
    reonset_threshold : float in [onset_threshold, 1), optional
        Onset probability a repeated note needs where the key is already sounding (rule 3
        of :mod:`mirkit.models.note_decoding`; None: the onset threshold, no extra rule).

        These seven default to the model card's ``decoding`` entry (values chosen on the
        validation split when the model was shipped), else to
        :mod:`mirkit.models.note_decoding`'s defaults (0.5, 0.5, 50 ms, per-instrument, 0,
        20 s, None). A card's re-onset threshold below an onset threshold given here is
        raised to it.
    drum_note_ms : float > 0
        Length of every drum note.
    use_onsets : bool
        Start notes at onset peaks (default; needs a model with an onset head) or at rising
        edges of the frame activity.
    chunk_seconds : float > 0
        Audio per inference window (plus context), rounded to whole frame multiples; the
        result does not depend on it, memory and speed do.
    batch_size : int >= 1
        Windows per model call.
    threads : int >= 1, optional
        CPU threads torch uses while transcribing (default: torch's own choice).

    Raises
    ------
    ParameterError
        A bad option value (checked before the model is loaded), unknown instruments.
    ModelError
        The model is unknown, its weights are missing, or it is not a transcription model.
    """

    def __init__(self, model: str | os.PathLike[str] | LoadedModel = DEFAULT_MODEL, *,
                 device: str = "auto", instruments: Sequence[str] | str | None = None,
                 frame_threshold: float | None = None,
                 onset_threshold: float | None = None,
                 min_note_ms: float | None = None,
                 drum_note_ms: float = DEFAULT_DRUM_NOTE_MS,
                 use_onsets: bool = True, chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                 batch_size: int = 1, threads: int | None = None,
                 decoder: str | None = None, min_class_share: float | None = None,
                 class_window_seconds: float | None = None,
                 reonset_threshold: float | None = None) -> None:
        from mirkit.data.instruments import parse_classes
        from mirkit.engine.runner import as_device
        from mirkit.models.registry import LoadedModel, load_model

        given: dict[str, Any] = {"frame_threshold": frame_threshold,
                                 "onset_threshold": onset_threshold,
                                 "min_note_ms": min_note_ms, "decoder": decoder,
                                 "min_class_share": min_class_share,
                                 "class_window_seconds": class_window_seconds,
                                 "reonset_threshold": reonset_threshold}
        fallback: dict[str, Any] = {"frame_threshold": DEFAULT_FRAME_THRESHOLD,
                    "onset_threshold": DEFAULT_ONSET_THRESHOLD,
                    "min_note_ms": DEFAULT_MIN_NOTE_MS, "decoder": DECODERS[0],
                    "min_class_share": 0.0,
                    "class_window_seconds": DEFAULT_CLASS_WINDOW_SECONDS,
                    "reonset_threshold": None}

        def settings(defaults: Mapping[str, Any], *, final: bool) -> _Settings:
            chosen = {k: defaults[k] if v is None else v for k, v in given.items()}
            reonset = chosen["reonset_threshold"]
            if reonset is not None and reonset_threshold is None:
                # a card's value never undercuts an onset threshold given here
                try:
                    reonset = max(float(reonset), float(chosen["onset_threshold"]))
                except (TypeError, ValueError):
                    pass                                # _Settings names the bad value
            elif reonset is not None and not final and onset_threshold is None:
                # the onset threshold it must reach comes from the card, read later
                check_threshold(reonset, "--reonset-threshold")
                reonset = None
            return _Settings(chosen["frame_threshold"], chosen["onset_threshold"],
                             chosen["min_note_ms"], drum_note_ms, bool(use_onsets),
                             chunk_seconds, batch_size, chosen["decoder"],
                             chosen["min_class_share"], chosen["class_window_seconds"],
                             reonset)

        self.settings = settings(fallback, final=False)  # checks options before loading
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ParameterError(f"--threads {threads!r} must be a whole number >= 1")
        self.threads = threads
        wanted = None
        if instruments is not None:
            wanted = parse_classes(instruments if isinstance(instruments, str)
                                   else ",".join(instruments))
        self.device = as_device(device)
        if isinstance(model, LoadedModel):
            loaded = model
            loaded.module.to(self.device).eval()
        else:
            loaded = load_model(model, device=self.device, task="transcribe")
            if hasattr(loaded.module, "fuse_batchnorm"):    # ours alone: fold BN for speed
                loaded.module.fuse_batchnorm()
        self.loaded = loaded
        decoding = loaded.card.get("decoding") if isinstance(loaded.card, Mapping) else None
        if not isinstance(decoding, Mapping):
            decoding = {}
        self.settings = settings({k: decoding.get(k, v) for k, v in fallback.items()},
                                 final=True)
        module = loaded.module
        if not all(hasattr(module, a) for a in ("frontend", "frame_multiple", "n_classes")):
            raise ModelError(f"model {loaded.name!r} ({loaded.arch}) is not a transcription "
                             "U-Net")
        all_classes = _model_classes(loaded)
        if wanted is None:
            wanted = all_classes
        missing = [c for c in wanted if c not in all_classes]
        if missing:
            raise ParameterError(f"--instruments: model {loaded.name!r} has no class "
                                 f"{', '.join(missing)}; it knows {', '.join(all_classes)}")
        # inference and decoding see every class, so that --instruments only filters the
        # output: the notes of a kept class are those of the unrestricted run
        self._all_classes: tuple[str, ...] = tuple(all_classes)
        self.classes: tuple[str, ...] = tuple(c for c in all_classes if c in wanted)
        self._kept = [all_classes.index(c) for c in self.classes]
        self.restricted = len(self.classes) < len(all_classes)
        drums = {all_classes[i] for i in getattr(module, "config", {}).get("drum_classes", [])}
        self._all_drums = tuple(c for c in all_classes if c in drums)
        self.drum_classes = tuple(c for c in self.classes if c in drums)
        self.has_onsets = getattr(module, "onset_head", None) is not None
        self.use_onsets = self.settings.use_onsets and self.has_onsets
        self.sr = int(module.config["sr"])
        self.hop = int(module.config["hop"])
        self.frontend = module.frontend().to(self.device).eval()
        self.multiple = int(module.frame_multiple)
        self.context = context_frames(module)
        self.audio_context = -(-int(self.frontend.cqt.context) // self.hop) * self.hop
        fps = self.sr / self.hop
        chunk = round(self.settings.chunk_seconds * fps / self.multiple) * self.multiple
        self.chunk_frames = max(self.multiple, chunk)

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def fps(self) -> float:
        return self.sr / self.hop

    # ------------------------------------------------------------------ inference
    def _model_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """U-Net windows ``(batch, bins, T)`` -> probabilities ``(batch, C, T)`` (float32).

        Channels: roll ``K*88``, onset ``K*88`` (when used), pitch ``88``, instrument ``K``.
        """
        import torch

        from mirkit.models.transcription import pool_logits

        module = self.loaded.module
        # the pitch roll of the kept pitched classes (all classes' when unrestricted)
        pitched = [self._all_classes.index(c) for c in self.classes
                   if c not in self.drum_classes]
        pitched_t = torch.tensor(pitched, dtype=torch.long, device=self.device)
        pool = module.pool
        use_onsets, restricted = self.use_onsets, self.restricted

        def fn(features: torch.Tensor) -> torch.Tensor:
            out = module(features)
            roll = out["roll"].float()
            parts = [torch.sigmoid(roll).flatten(1, 2)]
            if use_onsets:
                parts.append(torch.sigmoid(out["onset"].float()).flatten(1, 2))
            if not restricted:
                parts.append(torch.sigmoid(out["pitch"].float()))
            elif pitched:
                parts.append(torch.sigmoid(pool_logits(roll.index_select(1, pitched_t), 1,
                                                       pool=pool)))
            else:
                parts.append(roll.new_zeros((roll.shape[0], roll.shape[2], roll.shape[3])))
            parts.append(torch.sigmoid(out["instrument"].float()))
            return torch.cat(parts, dim=1)

        return fn

    def _feature_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        import torch

        frontend, device = self.frontend, self.device

        def fn(audio: torch.Tensor) -> torch.Tensor:
            # the CQT stays in float32 under AMP: log magnitudes need the precision
            with torch.autocast(device_type=device.type, enabled=False) \
                    if device.type == "cuda" else contextlib.nullcontext():
                return frontend(audio.float())

        return fn

    def _stream(self, samples: Iterable[NDArray[np.float32]], n_hint: int | None
                ) -> Iterator[tuple[int, dict[str, NDArray[np.float32] | None]]]:
        """Probabilities of a mono 16 kHz sample stream, chunk by chunk: (first frame, arrays).

        ``roll``, ``onset`` and ``instrument`` hold every class of the model; ``pitch`` is
        pooled over the kept pitched classes.

        ``n_hint`` (the length in samples, when known) only shortens the windows of inputs
        shorter than one chunk; the result does not depend on it.
        """
        from mirkit.engine.chunking import stream_frames
        from mirkit.engine.runner import inference_context

        chunk = self.chunk_frames
        if n_hint is not None:
            chunk = min(chunk, -(-(1 + n_hint // self.hop) // self.multiple) * self.multiple)
        k, keys = len(self._all_classes), N_PITCHES
        with inference_context(self.device, threads=self.threads) as dev:
            features = stream_frames(self._feature_fn(), _counted(samples), chunk=chunk *
                                     self.hop, context=self.audio_context, hop=self.hop,
                                     batch_size=1, device=dev)
            probs = stream_frames(self._model_fn(), features, chunk=chunk,
                                  context=self.context, hop=1,
                                  batch_size=self.settings.batch_size, device=dev)
            start = 0
            for piece in probs:
                p = piece.numpy()
                n = p.shape[-1]
                at = 0
                roll = p[at:at + k * keys].reshape(k, keys, n)
                at += k * keys
                onset = None
                if self.use_onsets:
                    onset = p[at:at + k * keys].reshape(k, keys, n)
                    at += k * keys
                pitch = p[at:at + keys]
                instrument = p[at + keys:at + keys + k]
                yield start, {"roll": roll, "onset": onset, "pitch": pitch,
                              "instrument": instrument}
                start += n

    def _samples(self, audio: str | os.PathLike[str] | ArrayLike, sr: int | None
                 ) -> tuple[Iterable[NDArray[np.float32]], int | None]:
        """A mono stream at the model rate and its length in samples when known."""
        from mirkit.io.audio import audio_info, convert_channels, iter_audio_blocks, resample

        if isinstance(audio, str | os.PathLike):
            path = Path(audio)
            blocks = iter_audio_blocks(path, block_seconds=_READ_SECONDS, sr=self.sr,
                                       channels="mono")
            info = audio_info(path)
            hint = round(info.frames * self.sr / info.samplerate)
            return (b.audio[0] for b in blocks), hint
        if sr is None:
            raise ParameterError("transcribing an array needs its sample rate: pass sr=")
        mono = convert_channels(audio, "mono", name="audio")[0]
        if mono.shape[0] == 0:
            raise InputError("the audio array has no samples: nothing to transcribe")
        if not np.all(np.isfinite(mono)):
            raise InputError("the audio array contains NaN or inf samples")
        mono = resample(mono, int(sr), self.sr)
        return [mono], int(mono.shape[0])

    def transcribe(self, audio: str | os.PathLike[str] | ArrayLike, *, sr: int | None = None,
                   keep_rolls: bool = False,
                   on_chunk: Callable[[dict[str, NDArray[np.float32] | None]], None]
                   | None = None) -> TranscriptionResult:
        """Transcribe one audio file or array.

        Parameters
        ----------
        audio : path or array_like, shape (channels, samples) or (samples,)
            An audio file (any format :mod:`mirkit.io.audio` reads; streamed), or samples.
            Audio is mixed to mono and resampled to the model's rate (16 kHz).
        sr : int, optional
            Sample rate of an array input, Hz.
        keep_rolls : bool
            Also return the full ``roll`` and ``onset`` probabilities (K, 88, T) float32
            (12 KB per frame for 17 classes: mind long inputs).
        on_chunk : callable, optional
            Called with each chunk's probabilities (``roll``, ``onset``, ``pitch``,
            ``instrument``, time last) as they are computed.

        Returns
        -------
        TranscriptionResult

        Raises
        ------
        InputError
            The file is missing, empty, not audio or damaged; the array is empty.
        """
        from mirkit.data.datasets import NoteTable
        from mirkit.models.note_decoding import DecodedNotes

        samples, hint = self._samples(audio, sr)
        pitch_first = self.settings.decoder == "pitch-first"
        every = self._all_classes                  # decoded over all, then filtered
        kept = self._kept
        drums = [i for i, c in enumerate(every) if c in self._all_drums]
        separate = drums if pitch_first else list(range(len(every)))
        cells = _ActiveCells(frame_threshold=self.settings.frame_threshold,
                             onset_threshold=self.settings.onset_threshold)
        pooled = _PooledCells([i for i in range(len(every)) if i not in drums]
                              if pitch_first else [],
                              frame_threshold=self.settings.frame_threshold,
                              onset_threshold=self.settings.onset_threshold)
        instrument: list[NDArray[np.float32]] = []
        pitch: list[NDArray[np.float32]] = []
        rolls: list[NDArray[np.float32]] = []
        onsets: list[NDArray[np.float32]] = []
        counter = _Count()
        for start, arrays in self._stream(_tally(samples, counter), hint):
            roll, onset = _required(arrays["roll"]), arrays["onset"]
            if len(separate) == len(every):
                cells.add(start, roll, onset)
            elif separate:
                cells.add(start, roll[separate], None if onset is None else onset[separate])
            pooled.add(start, roll, onset)
            if self.restricted:
                arrays = {"roll": roll[kept], "onset": None if onset is None else onset[kept],
                          "pitch": arrays["pitch"],
                          "instrument": _required(arrays["instrument"])[kept]}
            instrument.append(np.array(arrays["instrument"], dtype=np.float32))
            pitch.append(np.array(arrays["pitch"], dtype=np.float32))
            if keep_rolls:
                rolls.append(np.array(arrays["roll"], dtype=np.float32))
                if arrays["onset"] is not None:
                    onsets.append(np.array(arrays["onset"], dtype=np.float32))
            if on_chunk is not None:
                on_chunk(arrays)
        n_frames = 1 + counter.n // self.hop
        notes = (self._decode(cells, separate, pooled, n_frames) if counter.n
                 else DecodedNotes.empty())
        if self.restricted and len(notes):
            keep = np.isin(notes.notes.class_, self.classes)
            table = notes.notes
            notes = DecodedNotes(NoteTable(table.onset[keep], table.offset[keep],
                                           table.pitch[keep], table.velocity[keep],
                                           table.class_[keep]), notes.confidence[keep])
        return TranscriptionResult(
            notes=notes, instrument=np.concatenate(instrument, axis=-1),
            pitch=np.concatenate(pitch, axis=-1),
            roll=np.concatenate(rolls, axis=-1) if keep_rolls else None,
            onset=np.concatenate(onsets, axis=-1) if keep_rolls and onsets else None,
            classes=self.classes, sr=self.sr, hop=self.hop, n_samples=counter.n,
            model=self.name)

    def _decode(self, cells: _ActiveCells, separate: Sequence[int], pooled: _PooledCells,
                n_frames: int) -> DecodedNotes:
        from mirkit.data.datasets import NoteTable
        from mirkit.models.note_decoding import DecodedNotes, decode_notes, note_frames

        s = self.settings

        def decode(roll: NDArray[np.float32], onset: NDArray[np.float32] | None,
                   name: str) -> DecodedNotes:
            return decode_notes(roll, onset if self.use_onsets else None, sr=self.sr,
                                hop=self.hop, classes=(name,),
                                frame_threshold=s.frame_threshold,
                                onset_threshold=s.onset_threshold,
                                min_note_seconds=s.min_note_ms / 1000.0,
                                use_onsets=self.use_onsets, drum_classes=self._all_drums,
                                drum_note_seconds=s.drum_note_ms / 1000.0,
                                reonset_threshold=s.reonset_threshold)

        found: list[tuple[NDArray[np.intp], DecodedNotes]] = []
        for i, roll, onset in cells.rolls_by_class(len(separate), N_PITCHES, n_frames):
            c = separate[i]
            notes = decode(roll, onset, self._all_classes[c])
            if len(notes):
                found.append((np.full(len(notes), c, dtype=np.intp), notes))
        if pooled.parts:
            roll, onset = pooled.pooled(n_frames)
            notes = decode(roll, onset, "pitched")
            if len(notes):
                start, end = note_frames(notes.notes.onset, notes.notes.offset, self.fps)
                which = np.asarray(pooled.pitched, dtype=np.intp)[
                    pooled.labels(notes.notes.pitch - LOWEST_PITCH, start, end, n_frames,
                                  min_class_share=s.min_class_share,
                                  window_frames=s.class_window_seconds * self.fps)]
                names = np.asarray(self._all_classes, dtype=str)[which]
                table = notes.notes
                found.append((which, DecodedNotes(
                    NoteTable(table.onset, table.offset, table.pitch, table.velocity, names),
                    notes.confidence)))
        if not found:
            return DecodedNotes.empty()
        # the order of decode_notes on all classes at once: onset, class axis, pitch
        cls = np.concatenate([c for c, _ in found])
        cols = {k: np.concatenate([n[k] for _, n in found]) for k in
                ("onset", "offset", "pitch", "velocity", "instrument", "confidence")}
        order = np.lexsort((cols["pitch"], cls, cols["onset"]))
        table = NoteTable(cols["onset"][order], cols["offset"][order], cols["pitch"][order],
                          cols["velocity"][order], cols["instrument"][order])
        return DecodedNotes(table, cols["confidence"][order])

    # ------------------------------------------------------------------ files
    def transcribe_file(self, path: str | os.PathLike[str], *, output: str | os.PathLike[str],
                        filename: str = "{track}.{ext}",
                        existing: ExistingPolicy = ExistingPolicy.ERROR,
                        resolution: float | None = None, save_roll: bool = False,
                        plot: bool = False,
                        written: dict[Path, str] | None = None) -> dict[str, Any]:
        """Transcribe one audio file and write its files (see the module docstring).

        Parameters
        ----------
        path : path
            The audio file.
        output : path
            Output folder (created when missing).
        filename : str
            Template with ``{track}`` (input name without extension), ``{parent}`` (name
            of the input's folder) and ``{ext}`` (``mid``, ``notes.csv``, ...).
        existing : ExistingPolicy
            What to do when an output exists: error (default), skip, overwrite.
        resolution : float, optional
            Seconds per row of ``NAME.activity.csv`` (maximum of the frames in each window);
            ``None``: one row per frame.
        save_roll, plot : bool
            Also write ``NAME.roll.npz`` / ``NAME.png``.
        written : dict, optional
            Outputs written earlier in the same batch -> their input; an input whose output
            would replace one of them fails instead (two inputs of the same name).

        Returns
        -------
        dict
            The result row: ``notes``, ``instruments``, ``duration`` (s), ``frames``,
            ``seconds`` (wall), ``midi`` (its path).

        Raises
        ------
        InputError, OutputExistsError
            A bad input, an output that cannot be written or exists (``existing=error``).
        SkipItem
            ``existing=skip`` and every output exists.
        """
        from mirkit.io.atomic import AtomicGroup
        from mirkit.io.symbolic import write_midi
        from mirkit.models.note_decoding import (
            activity_table,
            notes_to_score,
            write_activity_csv,
            write_notes_csv,
        )

        t0 = time.perf_counter()
        src = Path(path)
        res = check_resolution(resolution, self.fps)
        paths = output_paths(src, output, filename, save_roll=save_roll, plot=plot)
        if written is not None:
            for p in paths.values():
                other = written.get(p.resolve())
                if other is not None and other != str(src):
                    raise InputError(f"its output '{p}' was already written for '{other}' "
                                     "in this run: use a --filename template that tells "
                                     "them apart, e.g. '{parent}/{track}.{ext}'")
        claim_outputs(paths.values(), existing)
        spill = _NpzSpill(paths["roll"].parent) if save_roll else None
        group = AtomicGroup()
        try:
            result = self.transcribe(src, on_chunk=spill.add if spill is not None else None)
            with group:
                write_midi(notes_to_score(result.notes), group.path(paths["midi"]))
                write_notes_csv(group.path(paths["notes"]), result.notes)
                times, matrix = activity_table(result.instrument, sr=self.sr, hop=self.hop,
                                               resolution=res, classes=self.classes)
                write_activity_csv(group.path(paths["activity"]), times, matrix, self.classes)
                if spill is not None:
                    spill.write(group.path(paths["roll"]), {
                        "times": result.times, "classes": np.asarray(self.classes, dtype=str),
                        "pitches": np.arange(LOWEST_PITCH, LOWEST_PITCH + N_PITCHES,
                                             dtype=np.int16),
                        "sr": np.asarray(self.sr), "hop": np.asarray(self.hop)})
                if plot:
                    plot_notes(group.path(paths["plot"]), result.notes,
                               duration=result.duration, classes=self.classes,
                               title=src.name)
        except OSError as exc:
            group.discard()
            raise InputError(f"cannot write the outputs of '{src}' in '{paths['midi'].parent}'"
                             f": {exc.strerror or exc}; check free space and permissions"
                             ) from exc
        finally:
            if spill is not None:
                spill.close()
        if written is not None:
            for p in paths.values():
                written[p.resolve()] = str(src)
        return {"notes": len(result.notes), "instruments": ",".join(result.instruments_found),
                "duration": round(result.duration, 3), "frames": result.n_frames,
                "seconds": round(time.perf_counter() - t0, 3), "midi": str(paths["midi"])}


@dataclass
class _Count:
    n: int = 0


def _required(x: NDArray[np.float32] | None) -> NDArray[np.float32]:
    if x is None:  # pragma: no cover - the stream always has a roll
        raise RuntimeError("the probability stream lost its roll")
    return x


def _tally(samples: Iterable[NDArray[np.float32]], count: _Count
           ) -> Iterator[NDArray[np.float32]]:
    for x in samples:
        count.n += int(x.shape[-1])
        yield x


def _counted(samples: Iterable[NDArray[np.float32]]) -> Iterator[NDArray[np.float32]]:
    """The samples plus one trailing zero, so that the engine's ``ceil((n + 1) / hop)``
    frames are the centred transform's ``1 + n // hop`` (the zero is silence, as the
    padding beyond the end is)."""
    yield from samples
    yield np.zeros(1, dtype=np.float32)




# --------------------------------------------------------------------------- outputs


def output_paths(path: str | os.PathLike[str], output: str | os.PathLike[str],
                 filename: str = "{track}.{ext}", *, save_roll: bool = False,
                 plot: bool = False) -> dict[str, Path]:
    """The files of one input, by kind (keys of :data:`OUTPUT_KINDS` that are asked for).

    Raises
    ------
    ParameterError
        An unknown template field, or a template that gives two kinds the same path
        (it lacks ``{ext}``).
    """
    src = Path(path)
    kinds = [k for k in OUTPUT_KINDS if (k != "roll" or save_roll) and (k != "plot" or plot)]
    fields = {"track": src.stem, "parent": src.resolve().parent.name}
    paths = {k: output_path(output, filename, **fields, ext=OUTPUT_KINDS[k]) for k in kinds}
    if len(set(paths.values())) < len(paths):
        raise ParameterError(f"--filename {filename!r} gives every output the same name; "
                             "include {ext}, e.g. '{track}.{ext}'")
    return paths


def _note_name(pitch: int) -> str:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


def plot_notes(path: str | os.PathLike[str], notes: DecodedNotes, *, duration: float,
               classes: Sequence[str], title: str = "") -> Path:
    """Draw the notes as a pianoroll coloured by instrument and save a PNG.

    x: time in seconds (0 to ``duration``); y: pitch, labelled with note names at every C
    (``C4`` = MIDI 60); one colour per class of ``classes`` with notes, in the legend.
    Uses matplotlib's Agg canvas (no display, no global backend change).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    width = float(min(40.0, max(10.0, duration / 6.0)))
    fig = Figure(figsize=(width, 6.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = _colour_map(len(classes))
    handles = []
    for i, name in enumerate(classes):
        sel = notes.instrument == name
        if not np.any(sel):
            continue
        on, off, pitch = notes.onset[sel], notes.offset[sel], notes.pitch[sel]
        widths = np.maximum(off - on, 0.01)
        ax.barh(pitch, widths, left=on, height=0.8, color=cmap[i], edgecolor="none",
                align="center")
        handles.append(Patch(color=cmap[i], label=name))
    lo, hi = LOWEST_PITCH, LOWEST_PITCH + N_PITCHES - 1
    if len(notes):
        lo = max(0, int(notes.pitch.min()) - 2)
        hi = min(127, int(notes.pitch.max()) + 2)
    ax.set_xlim(0.0, max(duration, 1e-3))
    ax.set_ylim(lo - 0.5, hi + 0.5)
    ticks = [p for p in range(lo, hi + 1) if p % 12 == 0] or [lo]
    ax.set_yticks(ticks, [_note_name(p) for p in ticks])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize="small", title="instrument")
    else:
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center")
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target, format="png")
    return target


def _colour_map(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


# --------------------------------------------------------------------------- functions


def transcribe_audio(audio: str | os.PathLike[str] | ArrayLike, *, sr: int | None = None,
                     model: str | os.PathLike[str] | LoadedModel = DEFAULT_MODEL,
                     device: str = "auto", keep_rolls: bool = False,
                     **options: Any) -> TranscriptionResult:
    """Transcribe one audio file or array (loads the model; use :class:`Transcriber` to
    transcribe many).

    Example
    -------
    >>> res = transcribe_audio("song.flac", model="transcribe-unet")   # doctest: +SKIP
    >>> res.notes.onset[:3], res.instruments_found                     # doctest: +SKIP

    Parameters are those of :meth:`Transcriber.transcribe` (``audio``, ``sr``,
    ``keep_rolls``) and :class:`Transcriber` (``model``, ``device`` and the ``options``:
    ``instruments``, ``frame_threshold``, ``onset_threshold``, ``min_note_ms``,
    ``decoder``, ``min_class_share``, ``class_window_seconds``, ``reonset_threshold``,
    ``drum_note_ms``,
    ``use_onsets``, ``chunk_seconds``, ``batch_size``, ``threads``).
    """
    t = Transcriber(model, device=device, **options)
    return t.transcribe(audio, sr=sr, keep_rolls=keep_rolls)


def transcribe(inputs: Sequence[str | os.PathLike[str]], *, output: str | os.PathLike[str],
               filename: str = "{track}.{ext}",
               model: str | os.PathLike[str] | LoadedModel = DEFAULT_MODEL,
               device: str = "auto", existing: ExistingPolicy = ExistingPolicy.ERROR,
               resolution: float | None = None, save_roll: bool = False, plot: bool = False,
               **options: Any) -> BatchSummary:
    """Transcribe audio files into ``output`` (the library version of ``mirkit transcribe``).

    ``inputs`` are files, folders (searched for audio), globs or ``-``; the model is loaded
    once; a bad input is recorded as failed and the others go on. The other parameters are
    those of
    :meth:`Transcriber.transcribe_file` and :class:`Transcriber` (``model``, ``device`` and
    the decoding and chunking ``options``).

    Returns
    -------
    BatchSummary
        One :class:`~mirkit.io.batch.ItemResult` per input (status, row fields, error);
        ``exit_code`` is 1 when an input failed.
    """
    from mirkit.io.audio import AUDIO_EXTENSIONS
    from mirkit.io.batch import expand_inputs, run_batch

    t = Transcriber(model, device=device, **options)
    check_resolution(resolution, t.fps)
    files, found = expand_inputs([os.fspath(p) for p in inputs], extensions=AUDIO_EXTENSIONS)
    written: dict[Path, str] = {}
    return run_batch(files, lambda p: t.transcribe_file(
        p, output=output, filename=filename, existing=existing, resolution=resolution,
        save_roll=save_roll, plot=plot, written=written), problems=found)
