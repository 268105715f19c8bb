"""Audio file I/O: header inspection, loading, streaming, resampling and saving.

Every later stage (separation, transcription, tagging) reads and writes audio through this
module, so the conventions below hold everywhere in mirkit:

- Audio arrays are ``float32`` and shaped ``(channels, samples)``; a 1-D array is accepted
  as input where noted and means one channel.
- Sample values are nominally in ``[-1, 1]`` (full scale). Integer files are scaled into
  that range on reading; :func:`save_audio` applies an explicit clipping policy on writing.
- Times (``offset``, ``duration``, ``block_seconds``, :attr:`AudioInfo.duration`) are in
  seconds; sample rates are whole numbers of Hz; positions such as :attr:`AudioBlock.start`
  are sample indices at the rate of the array they describe.
- Resampling is band-limited with soxr at quality :data:`RESAMPLE_QUALITY`.
- Every failure is a :class:`~mirkit.errors.InputError` (a bad file or array) or a
  :class:`~mirkit.errors.ParameterError` (a bad option value) with a one-line message that
  names the file or value and what to do; no soundfile exception escapes.
- A damaged file is refused, never read in part: a WAV or AIFF file whose header announces
  more audio than the file holds (a cut-off copy) is an InputError, as is a FLAC or MP3
  stream that stops decoding. Streamed WAVs whose header gives no length (0xFFFFFFFF) are
  read to their end.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import soundfile as sf
import soxr
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError
from mirkit.io.atomic import atomic_write

__all__ = [
    "AUDIO_EXTENSIONS",
    "CLIP_MODES",
    "RESAMPLE_QUALITY",
    "WRITE_SUBTYPES",
    "AudioBlock",
    "AudioInfo",
    "ChannelSpec",
    "audio_info",
    "convert_channels",
    "iter_audio_blocks",
    "load_audio",
    "resample",
    "save_audio",
]

PathLike: TypeAlias = str | os.PathLike[str]

#: How a caller asks for channels: ``None`` (as stored), ``"mono"``, ``"stereo"`` or a count.
ChannelSpec: TypeAlias = Literal["mono", "stereo"] | int | None

#: Lower-case file suffixes that :func:`load_audio` and friends read (via libsndfile).
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc"}
)

#: soxr quality recipe used for every resampling ("HQ": 20-bit, band-limited).
RESAMPLE_QUALITY = "HQ"

#: Subtypes :func:`save_audio` writes, per (lower-case) suffix.
WRITE_SUBTYPES: dict[str, tuple[str, ...]] = {
    ".wav": ("PCM_16", "PCM_24", "FLOAT"),
    ".flac": ("PCM_16", "PCM_24"),
}

#: Clipping policies of :func:`save_audio`.
CLIP_MODES: tuple[str, ...] = ("clip", "rescale", "error", "none")

_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}

#: libsndfile formats whose seek is not sample-accurate. libsndfile 1.2's MPEG decoder
#: restarts after a seek and returns a few thousand wrong (mostly zero) samples, so for
#: these we decode from the start and drop frames instead of seeking.
_INEXACT_SEEK_FORMATS = frozenset({"MP3"})
# libsndfile's header log of a WAV/AIFF whose audio chunk is shorter than its header says:
# "data : 96000 (should be 4956)" (WAV, RF64, W64) or "SSND : 96008 (should be 4954)"
_SHORT_CHUNK = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# sizes that streaming writers put in a header when the length is not known yet: no claim
_UNKNOWN_SIZE = 0x7FFFF000

#: Frames per libsndfile read call (bounds the scratch buffer, not the result).
_READ_BLOCK_FRAMES = 1 << 16


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file's header says, without decoding any samples.

    Attributes
    ----------
    path : Path
        The file.
    samplerate : int
        Sample rate in Hz.
    channels : int
        Number of channels.
    frames : int
        Number of samples per channel.
    duration : float
        Length in seconds (``frames / samplerate``).
    format : str
        libsndfile container name, e.g. ``"WAV"``, ``"FLAC"``, ``"MP3"``.
    subtype : str
        libsndfile sample encoding, e.g. ``"PCM_16"``, ``"FLOAT"``, ``"VORBIS"``.
    """

    path: Path
    samplerate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str


@dataclass(frozen=True, eq=False)
class AudioBlock:
    """One consecutive piece of a file yielded by :func:`iter_audio_blocks`.

    Attributes
    ----------
    start : int
        Index of the block's first sample in the whole output signal, at rate ``sr``.
    audio : NDArray[np.float32], shape (channels, n)
        The samples, ``n >= 1``.
    sr : int
        Sample rate of ``audio`` in Hz.
    """

    start: int
    audio: NDArray[np.float32]
    sr: int


# --------------------------------------------------------------------------- validation


def _check_rate(value: object, what: str) -> int:
    """Return ``value`` as a positive whole number of Hz, or raise ParameterError."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        hz = float(value)
        if math.isfinite(hz) and hz > 0 and hz.is_integer():
            return int(hz)
    raise ParameterError(
        f"{what} {value!r} Hz is not valid: give a positive whole number of Hz, e.g. 44100"
    )


def _check_seconds(value: object, what: str, *, allow_zero: bool) -> float:
    """Return ``value`` as a finite non-negative (or positive) float, or raise ParameterError."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
        if math.isfinite(seconds) and (seconds > 0 or (allow_zero and seconds == 0)):
            return seconds
    bound = "zero or more" if allow_zero else "more than zero"
    raise ParameterError(
        f"{what} {value!r} s is not valid: give a finite number of seconds, {bound}"
    )


def _check_channel_spec(channels: object) -> None:
    valid = (
        channels is None
        or channels in ("mono", "stereo")
        or (isinstance(channels, numbers.Integral) and not isinstance(channels, bool)
            and int(channels) >= 1)
    )
    if not valid:
        raise ParameterError(
            f"channels={channels!r} is not valid: use None (as stored), 'mono', 'stereo' "
            "or a positive number of channels"
        )


def _output_channels(stored: int, channels: ChannelSpec, name: str) -> int:
    """Channel count that ``channels`` makes of ``stored`` channels; raise if impossible."""
    _check_channel_spec(channels)
    if channels is None:
        return stored
    if channels == "mono":
        return 1
    if channels == "stereo":
        if stored > 2:
            raise InputError(
                f"'{name}' has {stored} channels and channels='stereo' only accepts mono or "
                f"stereo: use channels='mono' to downmix or channels={stored} to keep them"
            )
        return 2
    wanted = int(channels)
    if stored not in (1, wanted):
        raise InputError(
            f"'{name}' has {stored} channels, not {wanted}: use channels='mono' to downmix "
            "or channels=None to keep them as stored"
        )
    return wanted


def _as_2d(audio: ArrayLike, name: str) -> NDArray[np.float32]:
    """Return ``audio`` as a float32 ``(channels, samples)`` array (1-D means one channel)."""
    arr = np.asarray(audio)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise InputError(
            f"{name} has shape {arr.shape}: expected (channels, samples) or (samples,)"
        )
    if arr.shape[0] == 0:
        raise InputError(f"{name} has shape {arr.shape}, i.e. no channels: pass at least one")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{name} has dtype {arr.dtype}: expected float samples in [-1, 1]")
    return arr.astype(np.float32, copy=False)


def _check_finite(audio: NDArray[np.float32], name: str, sr: int, start: int,
                  *, where: str) -> None:
    """Raise InputError if ``audio`` (channels, n) holds NaN or inf.

    ``start`` is the index (at ``sr``) of ``audio``'s first sample, used to report the time
    of the first bad sample; ``where`` says what was checked, for the message.
    """
    finite = np.isfinite(audio)
    if finite.all():
        return
    count = int(finite.size - np.count_nonzero(finite))
    first = int(np.argmin(finite.all(axis=0)))
    raise InputError(
        f"{name} contains {count} NaN/inf samples{where}, the first at "
        f"{(start + first) / sr:.3f} s: the data is damaged; repair or re-export it"
    )


def _check_path(path: PathLike) -> Path:
    """Return ``path`` as a Path after the checks that need no decoding."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"'{p}' does not exist: check the path and spelling")
    if p.is_dir():
        raise InputError(f"'{p}' is a directory, not an audio file: pass the files inside it")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(
            f"cannot read '{p}': {exc.strerror or exc}; check its permissions"
        ) from exc
    if size == 0:
        raise InputError(f"'{p}' is empty (0 bytes): re-export or re-copy the file")
    if p.suffix.lower() not in AUDIO_EXTENSIONS:
        # a file named explicitly is tried whatever its name: libsndfile knows the formats
        # by their headers, so only a file it cannot identify is refused
        try:
            sf.info(str(p))
        except (sf.SoundFileError, RuntimeError, OSError):
            what = f"extension '{p.suffix}'" if p.suffix else "no extension"
            raise InputError(
                f"'{p}' has {what} and is not audio that can be read: convert it to one of "
                + " ".join(sorted(AUDIO_EXTENSIONS))
            ) from None
    return p


def _soundfile_message(exc: BaseException) -> str:
    """One line describing a soundfile/libsndfile failure."""
    detail = getattr(exc, "error_string", None) or str(exc)
    return " ".join(str(detail).split()).rstrip(".")


# --------------------------------------------------------------------------- reading


@contextlib.contextmanager
def _open(p: Path) -> Iterator[sf.SoundFile]:
    """Open ``p`` for reading, translating libsndfile errors and checking the header."""
    try:
        f = sf.SoundFile(p)
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        raise InputError(
            f"cannot read '{p}' ({_soundfile_message(exc)}): it is corrupt or not an audio "
            "file; check that it plays, or re-export it"
        ) from exc
    with f:
        if f.samplerate <= 0:
            raise InputError(f"sample rate {f.samplerate} Hz in '{p}': the file header is "
                             "corrupt; re-export the file")
        if f.channels <= 0:
            raise InputError(f"{f.channels} channels in '{p}': the file header is corrupt; "
                             "re-export the file")
        _check_complete(f, p)
        yield f


def _check_complete(f: sf.SoundFile, p: Path) -> None:
    """Refuse a WAV/AIFF file cut short (its header announces more audio than it holds):
    libsndfile would read the part that is there without a word."""
    try:
        log = str(f.extra_info)
    except (sf.SoundFileError, RuntimeError):
        return
    for chunk, said, held in _SHORT_CHUNK.findall(log):
        claimed, actual = int(said), int(held)
        if 0 < claimed < _UNKNOWN_SIZE and claimed > actual:
            raise InputError(
                f"'{p}' is truncated: its header announces {claimed} bytes of audio "
                f"('{chunk}' chunk) but the file holds {actual}; copy or re-export it again"
            )


def _read_raw(f: sf.SoundFile, buf: NDArray[np.float32], p: Path) -> int:
    """Read up to ``len(buf)`` frames into ``buf`` (frames, channels); return frames read.

    ``SoundFile.read`` seeks back to the current position after every call, which makes
    libsndfile's MPEG decoder restart and emit wrong samples; calling libsndfile's
    ``sf_readf_float`` directly reads strictly sequentially.
    """
    ffi, lib = sf._ffi, sf._snd
    n = int(lib.sf_readf_float(f._file, ffi.from_buffer(buf), buf.shape[0]))
    if lib.sf_error(f._file):
        detail = ffi.string(lib.sf_strerror(f._file)).decode(errors="replace")
        raise InputError(f"cannot decode '{p}' ({detail}): the file is damaged; re-export it")
    return n


def _read(f: sf.SoundFile, frames: int, p: Path) -> NDArray[np.float32]:
    """Read up to ``frames`` frames from the current position as (channels, n) float32.

    Fewer frames come back only at the end of the data.
    """
    out = np.empty((f.channels, frames), dtype=np.float32)
    scratch = np.empty((min(frames, _READ_BLOCK_FRAMES), f.channels), dtype=np.float32)
    done = 0
    while done < frames:
        n = _read_raw(f, scratch[: frames - done], p)
        if n <= 0:
            break
        out[:, done:done + n] = scratch[:n].T
        done += n
    return out if done == frames else np.ascontiguousarray(out[:, :done])


def _seek(f: sf.SoundFile, frame: int, p: Path) -> None:
    """Position ``f`` (just opened) at ``frame``, sample-accurately."""
    if frame == 0:
        return
    if f.format not in _INEXACT_SEEK_FORMATS:
        f.seek(frame)
        return
    scratch = np.empty((min(frame, _READ_BLOCK_FRAMES), f.channels), dtype=np.float32)
    left = frame
    while left > 0:
        n = _read_raw(f, scratch[:left], p)
        if n <= 0:
            break
        left -= n


def audio_info(path: PathLike) -> AudioInfo:
    """Read an audio file's header (no samples are decoded).

    Parameters
    ----------
    path : str or os.PathLike
        An audio file with a suffix in :data:`AUDIO_EXTENSIONS`.

    Returns
    -------
    AudioInfo
        Sample rate (Hz), channels, frames (samples per channel), duration (s), format
        and subtype. ``frames`` may be 0 for an empty file; :func:`load_audio` refuses those.

    Raises
    ------
    InputError
        The file is missing, a directory, empty, of an unsupported type, or not readable
        audio (corrupt or truncated header).
    """
    p = _check_path(path)
    with _open(p) as f:
        return AudioInfo(path=p, samplerate=int(f.samplerate), channels=int(f.channels),
                         frames=int(f.frames), duration=f.frames / f.samplerate,
                         format=str(f.format), subtype=str(f.subtype))


def _no_frames(p: Path) -> InputError:
    return InputError(f"'{p}' contains no audio frames (0 samples): the file is empty or "
                      "truncated; re-export it")


_Resampler: TypeAlias = Callable[[NDArray[np.float32]], NDArray[np.float32]]


def _apply(audio: NDArray[np.float32], channels: ChannelSpec, name: str,
           resampler: _Resampler) -> NDArray[np.float32]:
    """Channel conversion plus resampling, in the cheaper order.

    Channels are reduced before resampling and duplicated after it, so the resampler only
    ever sees ``min(stored, out)`` channels. ``resampler`` maps a (channels, n) array to
    its resampled version.
    """
    if _output_channels(audio.shape[0], channels, name) <= audio.shape[0]:
        return resampler(convert_channels(audio, channels, name=name))
    return convert_channels(resampler(audio), channels, name=name)


def load_audio(
    path: PathLike,
    *,
    sr: int | None = None,
    channels: ChannelSpec = None,
    offset: float = 0.0,
    duration: float | None = None,
) -> tuple[NDArray[np.float32], int]:
    """Load an audio file (or a span of it) as float32 ``(channels, samples)``.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file with a suffix in :data:`AUDIO_EXTENSIONS`.
    sr : int or None, optional
        Output sample rate in Hz. ``None`` keeps the file's rate; otherwise the audio is
        resampled with soxr (band-limited, quality :data:`RESAMPLE_QUALITY`).
    channels : None, "mono", "stereo" or int, optional
        Channel policy, see :func:`convert_channels`. ``None`` keeps the channels as stored.
    offset : float, optional
        Start of the span to read, in seconds from the start of the file. Only the span is
        decoded (the file is seeked; MP3, whose seek is inexact, is decoded up to ``offset``
        and the samples dropped). Must lie before the end of the file.
    duration : float or None, optional
        Length of the span in seconds; ``None`` reads to the end. A span running past the
        end of the file stops at the end.

    Returns
    -------
    audio : NDArray[np.float32], shape (channels, samples)
        The samples, nominally in [-1, 1].
    sr : int
        Sample rate of ``audio`` in Hz.

    Raises
    ------
    InputError
        The file is missing, a directory, empty, has zero frames, is of an unsupported type,
        is corrupt or not audio, holds NaN/inf samples, ``offset`` is at or past its end, or
        its channel count does not fit ``channels``.
    ParameterError
        ``sr``, ``channels``, ``offset`` or ``duration`` is not a valid value.
    """
    target = None if sr is None else _check_rate(sr, "sample rate")
    _check_channel_spec(channels)
    start_s = _check_seconds(offset, "offset", allow_zero=True)
    span_s = None if duration is None else _check_seconds(duration, "duration", allow_zero=False)
    p = _check_path(path)
    with _open(p) as f:
        native, total = int(f.samplerate), int(f.frames)
        if total == 0:
            raise _no_frames(p)
        _output_channels(f.channels, channels, str(p))
        start = round(start_s * native)
        if start >= total:
            raise InputError(
                f"offset {start_s:.3f} s is beyond the end of '{p}' ({total / native:.3f} s "
                f"long): use an offset below {total / native:.3f} s"
            )
        count = total - start
        if span_s is not None:
            wanted = round(span_s * native)
            if wanted == 0:
                raise ParameterError(
                    f"duration {span_s!r} s is shorter than one sample at {native} Hz in "
                    f"'{p}': give a longer duration"
                )
            count = min(count, wanted)
        _seek(f, start, p)
        audio = _read(f, count, p)
    if audio.shape[1] == 0:
        raise _no_frames(p)
    _check_finite(audio, f"'{p}'", native, start, where="")
    out_sr = native if target is None else target
    audio = _apply(audio, channels, str(p), lambda x: resample(x, native, out_sr))
    return audio, out_sr


def iter_audio_blocks(
    path: PathLike,
    *,
    block_seconds: float = 30.0,
    sr: int | None = None,
    channels: ChannelSpec = None,
) -> Iterator[AudioBlock]:
    """Stream an audio file as consecutive blocks with bounded memory.

    The file is read ``block_seconds`` at a time and resampled with a streaming soxr
    resampler, so it is never held in memory as a whole. Concatenating the blocks' audio
    gives what ``load_audio(path, sr=sr, channels=channels)`` returns: exactly when no
    resampling happens, and to float rounding (about 1e-6) when it does, with the same
    length.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file with a suffix in :data:`AUDIO_EXTENSIONS`.
    block_seconds : float, optional
        Amount of the file read per step, in seconds of input (30 s by default).
    sr : int or None, optional
        Output sample rate in Hz; ``None`` keeps the file's rate.
    channels : None, "mono", "stereo" or int, optional
        Channel policy, see :func:`convert_channels`.

    Yields
    ------
    AudioBlock
        ``start`` (first sample index at the output rate), ``audio`` shaped
        (channels, n) float32 with ``n >= 1``, and ``sr``. Block lengths vary slightly when
        resampling (the resampler's delay); the last block may be shorter.

    Raises
    ------
    InputError
        As :func:`load_audio` (raised by this call for header problems and by iteration for
        NaN/inf samples, reported for the block that holds them).
    ParameterError
        ``block_seconds``, ``sr`` or ``channels`` is not a valid value.
    """
    seconds = _check_seconds(block_seconds, "block_seconds", allow_zero=False)
    target = None if sr is None else _check_rate(sr, "sample rate")
    _check_channel_spec(channels)
    info = audio_info(path)
    if info.frames == 0:
        raise _no_frames(info.path)
    _output_channels(info.channels, channels, str(info.path))
    block = max(1, round(seconds * info.samplerate))
    return _stream(info, block, target, channels)


def _stream(info: AudioInfo, block: int, target: int | None,
            channels: ChannelSpec) -> Iterator[AudioBlock]:
    p, native, name = info.path, info.samplerate, str(info.path)
    out_sr = native if target is None else target
    out_ch = _output_channels(info.channels, channels, name)
    fed = min(out_ch, info.channels)  # channels the resampler sees, see _apply
    stream = None
    if out_sr != native:
        stream = soxr.ResampleStream(native, out_sr, fed, dtype="float32",
                                     quality=RESAMPLE_QUALITY)

    def step(x: NDArray[np.float32], last: bool) -> NDArray[np.float32]:
        if stream is None:
            return x
        y = stream.resample_chunk(np.ascontiguousarray(x.T), last=last)
        return np.ascontiguousarray(np.asarray(y, dtype=np.float32).T)

    position, emitted = 0, 0
    with _open(p) as f:
        while True:
            audio = _read(f, block, p)
            n = audio.shape[1]
            if n == 0:
                break
            _check_finite(audio, f"'{p}'", native, position,
                          where=f" in the block starting at {position / native:.3f} s")
            position += n
            out = _apply(audio, channels, name, lambda x: step(x, False))
            if out.shape[1]:
                yield AudioBlock(start=emitted, audio=out, sr=out_sr)
                emitted += out.shape[1]
    if stream is not None:
        # Flush the resampler's delay line; only duplication is left to do on its output.
        tail = step(np.zeros((fed, 0), dtype=np.float32), True)
        if out_ch > fed:
            tail = convert_channels(tail, channels, name=name)
        if tail.shape[1]:
            yield AudioBlock(start=emitted, audio=tail, sr=out_sr)


# --------------------------------------------------------------------------- arrays


def convert_channels(audio: ArrayLike, channels: ChannelSpec, *,
                     name: str = "audio") -> NDArray[np.float32]:
    """Apply a channel policy to an array.

    Parameters
    ----------
    audio : array_like, shape (channels, samples) or (samples,)
        Samples; a 1-D array is one channel.
    channels : None, "mono", "stereo" or int
        ``None``: keep the channels. ``"mono"``: average all channels into one.
        ``"stereo"``: mono is duplicated to two channels, stereo kept, more than two
        channels refused. An int ``N``: exactly ``N`` channels; mono is duplicated to
        ``N``, any other count that is not ``N`` is refused.
    name : str, optional
        What to call the audio in error messages (e.g. the file name).

    Returns
    -------
    NDArray[np.float32], shape (out_channels, samples)
        The converted audio (may share memory with ``audio`` when nothing changes).

    Raises
    ------
    InputError
        ``audio`` is not 1-D/2-D, has no channels, or its channel count does not fit.
    ParameterError
        ``channels`` is not a valid policy.
    """
    _check_channel_spec(channels)
    arr = _as_2d(audio, f"'{name}'")
    stored = arr.shape[0]
    out_ch = _output_channels(stored, channels, name)
    if channels == "mono":
        mono: NDArray[np.float32] = arr.mean(axis=0, keepdims=True, dtype=np.float32)
        return mono
    if out_ch == stored:
        return arr
    return np.repeat(arr, out_ch, axis=0)


def resample(audio: ArrayLike, orig_sr: int, target_sr: int) -> NDArray[np.float32]:
    """Resample audio with soxr (band-limited, quality :data:`RESAMPLE_QUALITY`).

    Parameters
    ----------
    audio : array_like, shape (channels, samples) or (samples,)
        Samples at ``orig_sr``.
    orig_sr, target_sr : int
        Input and output sample rates in Hz.

    Returns
    -------
    NDArray[np.float32], same number of dimensions as ``audio``
        ``round(samples * target_sr / orig_sr)`` samples per channel at ``target_sr``.
        When the rates are equal, ``audio`` is returned unchanged (as float32).

    Raises
    ------
    ParameterError
        A rate is not a positive whole number of Hz.
    InputError
        ``audio`` is not 1-D or 2-D.
    """
    orig = _check_rate(orig_sr, "original sample rate")
    target = _check_rate(target_sr, "target sample rate")
    one_d = np.ndim(audio) == 1
    arr = _as_2d(audio, "audio")
    if orig != target:
        if arr.shape[1] == 0:
            arr = np.zeros((arr.shape[0], 0), dtype=np.float32)
        else:
            y = soxr.resample(np.ascontiguousarray(arr.T), orig, target,
                              quality=RESAMPLE_QUALITY)
            arr = np.ascontiguousarray(np.asarray(y, dtype=np.float32).T)
    return arr[0] if one_d else arr


# --------------------------------------------------------------------------- writing


def save_audio(
    path: PathLike,
    audio: ArrayLike,
    sr: int,
    *,
    subtype: str = "PCM_16",
    clip: str = "clip",
) -> Path:
    """Write audio to a .wav or .flac file atomically.

    The file is written to a temporary file beside ``path`` and renamed into place, so a
    reader never sees a partial file; the parent folder is created.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; its suffix picks the format: ``.wav`` or ``.flac``.
    audio : array_like, shape (channels, samples) or (samples,)
        Float samples, nominally in [-1, 1]; written as float32.
    sr : int
        Sample rate in Hz.
    subtype : str, optional
        ``"PCM_16"`` (default), ``"PCM_24"`` or ``"FLOAT"`` (``.wav`` only).
    clip : {"clip", "rescale", "error", "none"}, optional
        What to do with samples beyond [-1, 1], which integer subtypes cannot hold:
        ``"clip"`` hard-clips them to [-1, 1]; ``"rescale"`` scales the whole signal down so
        its peak is 1, only if the peak exceeds 1; ``"error"`` raises InputError naming the
        peak; ``"none"`` writes the values unchanged and is only valid with ``"FLOAT"``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        Unsupported suffix, subtype (e.g. FLOAT for FLAC), clip mode or sample rate.
    InputError
        ``audio`` has a bad shape or dtype, no samples, NaN/inf, a peak above 1 with
        ``clip="error"``; or the file cannot be written.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in WRITE_SUBTYPES:
        raise ParameterError(
            f"cannot write '{p}': save_audio writes "
            + " or ".join(WRITE_SUBTYPES) + "; change the file's extension"
        )
    kind = subtype.upper() if isinstance(subtype, str) else subtype
    if kind not in WRITE_SUBTYPES[suffix]:
        raise ParameterError(
            f"subtype {subtype!r} cannot be written to '{p}': use one of "
            + ", ".join(WRITE_SUBTYPES[suffix])
            + ("" if suffix == ".wav" else ", or write a .wav file for FLOAT")
        )
    if clip not in CLIP_MODES:
        raise ParameterError(f"clip={clip!r} is not valid: use one of " + ", ".join(CLIP_MODES))
    if clip == "none" and kind != "FLOAT":
        raise ParameterError(
            f"clip='none' cannot be used with subtype {kind}, which cannot hold samples "
            "beyond [-1, 1]: use clip='clip', 'rescale' or 'error', or subtype='FLOAT'"
        )
    rate = _check_rate(sr, "sample rate")
    label = f"audio for '{p}'"
    raw = np.asarray(audio)
    if not np.issubdtype(raw.dtype, np.floating):
        raise InputError(
            f"{label} has dtype {raw.dtype}: convert it to float samples in [-1, 1] first"
        )
    arr = _as_2d(raw, label)
    if arr.shape[1] == 0:
        raise InputError(f"{label} has no samples (shape {arr.shape}): nothing to write")
    if arr.shape[0] > arr.shape[1]:
        raise InputError(
            f"{label} has shape {arr.shape}, more channels than samples: arrays are "
            "(channels, samples); pass audio.T"
        )
    _check_finite(arr, label, rate, 0, where="")
    peak = float(np.max(np.abs(arr)))
    if peak > 1.0:
        if clip == "clip":
            arr = np.clip(arr, -1.0, 1.0)
        elif clip == "rescale":
            arr = arr / np.float32(peak)
        elif clip == "error":
            raise InputError(
                f"{label} peaks at {peak:.4g}, beyond full scale 1.0: scale it down, or use "
                "clip='clip' or clip='rescale'"
            )
    data = np.ascontiguousarray(arr.T, dtype=np.float32)
    try:
        with atomic_write(p) as tmp:
            sf.write(tmp, data, rate, format=_WRITE_FORMATS[suffix], subtype=kind)
    except (sf.SoundFileError, RuntimeError) as exc:
        raise InputError(
            f"cannot write '{p}' ({_soundfile_message(exc)}): check the channel count and "
            "sample rate suit the format"
        ) from exc
    except OSError as exc:
        raise InputError(
            f"cannot write '{p}': {exc.strerror or exc}; choose a writable folder"
        ) from exc
    return p
