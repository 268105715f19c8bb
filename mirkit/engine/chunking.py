"""The one chunked-inference engine: overlap-discard for frame models, overlap-add for
waveform and mask models, over a whole signal or a stream of audio blocks.

Long inputs are cut into windows along their **last axis** (time), the windows are run
through the model ``fn`` in batches on the compute device, and the results are moved to
the storage device (CPU by default) window batch by window batch, so memory on the compute
device does not grow with the length of the input. The streaming versions take an iterable
of blocks (tensors, arrays or :class:`mirkit.io.audio.AudioBlock` from
:func:`mirkit.io.audio.iter_audio_blocks`) and hold only one window of input plus the batch
of windows being assembled (sizes reported in :class:`ChunkStats`), so an hour of audio is
processed in bounded memory; they give the same result as the whole-signal versions.

Overlap-discard (frame models: transcription, tagging per frame)
    ``fn`` maps ``(batch, ..., window)`` input units (samples, or frames of a feature) to
    ``(batch, ..., window // hop)`` output frames, output frame ``j`` anchored at input unit
    ``j * hop`` of its window. Windows of ``chunk + 2 * context`` units start every
    ``chunk`` units; the ``context // hop`` frames at each side of a window are discarded and
    the rest concatenated. The signal's ends are zero-padded by ``context`` (lazily), so the
    result equals ``fn`` on the whole zero-padded signal, cropped by ``context // hop``
    frames, for any ``fn`` that is shift-equivariant in steps of ``hop`` (convolutions with a
    total stride of ``hop`` and zero padding) and whose output frame ``j`` depends only on the
    input within ``context`` units of its span ``[j * hop, (j + 1) * hop)``.

Overlap-add (waveform and mask models: separation, enhancement)
    ``fn`` maps ``(batch, ..., chunk)`` samples to ``(batch, ..., [extra dims], chunk)``
    samples. Windows of ``chunk`` samples start every ``chunk - round(overlap * chunk)``
    samples from sample 0 (the last one zero-padded past the end); each output is weighted by
    a strictly positive window (triangle or Hann) and the sum is divided by the summed weights
    (a partition of unity). Accumulation is in float64 (float32 on MPS), so a pointwise model
    (the identity included) gives exactly its whole-signal output. For a model whose output at
    a sample depends on the input within ``r`` samples, the output differs from the
    whole-signal one only within ``r`` samples of an interior window edge, where the window
    that has the edge nearby gets little weight: with ``round(overlap * chunk) >= 2 * r`` the
    other window there is exact and the error is that of the edge window scaled by its share
    of the weight (a few per cent of it; ``tests/test_engine.py`` measures it). The last ``r``
    samples may differ too when the last window runs past the end: the model sees explicit
    zeros there, where a whole-signal run of a multi-layer network zero-pads each layer's
    activations instead.

``fn`` is called under ``torch.inference_mode()``; use
:func:`mirkit.engine.runner.inference_context` around the call for AMP and thread settings.
Outputs in float16/bfloat16 (AMP) are stored as float32.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from mirkit.engine.runner import DeviceLike, as_device
from mirkit.errors import InputError, ModelError, ParameterError
from mirkit.io.audio import AudioBlock

__all__ = [
    "WINDOWS",
    "Block",
    "ChunkStats",
    "overlap_add",
    "overlap_discard",
    "stream_frames",
    "stream_overlap_add",
]

#: A model as the engine sees it: a batch of windows in, a batch of outputs out.
ModelFn: TypeAlias = Callable[[Tensor], Tensor]

#: What a stream may yield: a tensor or array shaped (..., n), or an AudioBlock.
Block: TypeAlias = Tensor | NDArray[np.floating] | AudioBlock

#: Overlap-add weighting windows.
WINDOWS: tuple[str, ...] = ("triangle", "hann")

_REDUCED = (torch.float16, torch.bfloat16)


@dataclass
class ChunkStats:
    """What a chunked run held in memory and did; pass one as ``stats=`` to fill it in.

    All sizes are counts along the time axis (input units for the buffers, output samples for
    the accumulator); multiply by the product of the other dimensions for element counts.
    None of them depends on the length of the input.

    Attributes
    ----------
    buffer : int
        Length of the input buffer (one window: ``chunk + 2 * context`` for overlap-discard,
        ``chunk`` for overlap-add). Blocks are copied into it piece by piece, never joined.
    batch : int
        Largest batch of windows handed to ``fn``: windows times window length.
    carry : int
        Length of the overlap-add accumulator kept between windows (``chunk``; 0 for
        overlap-discard, which yields each batch's frames at once).
    windows : int
        Windows run through ``fn``.
    batches : int
        Calls of ``fn``.
    received : int
        Input units consumed.
    """

    buffer: int = 0
    batch: int = 0
    carry: int = 0
    windows: int = 0
    batches: int = 0
    received: int = 0


# --------------------------------------------------------------------------- validation


def _whole(value: object, name: str, *, minimum: int, hint: str = "") -> int:
    if (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and int(value) >= minimum):
        return int(value)
    raise ParameterError(
        f"{name}={value!r} is not valid: give a whole number, {minimum} or more{hint}"
    )


def _multiple(value: int, name: str, hop: int) -> None:
    if value % hop:
        lower, upper = value // hop * hop, (value // hop + 1) * hop
        choice = f"{name}={upper}" if lower == 0 else f"{name}={lower} or {upper}"
        raise ParameterError(
            f"{name}={value} is not a multiple of hop={hop}, so windows would not line up "
            f"with output frames: use {choice}"
        )


def _frame_options(chunk: object, context: object, hop: object, batch_size: object,
                   n_frames: object) -> tuple[int, int, int, int, int | None]:
    hop_ = _whole(hop, "hop", minimum=1, hint=" (input units per output frame)")
    chunk_ = _whole(chunk, "chunk", minimum=1, hint=" (input units kept per window)")
    context_ = _whole(context, "context", minimum=0,
                      hint=" (input units of context at each side of a window)")
    _multiple(chunk_, "chunk", hop_)
    _multiple(context_, "context", hop_)
    batch = _whole(batch_size, "batch_size", minimum=1)
    frames = None if n_frames is None else _whole(n_frames, "n_frames", minimum=1)
    return chunk_, context_, hop_, batch, frames


def _ola_options(chunk: object, overlap: object, batch_size: object,
                 window: object) -> tuple[int, int, int]:
    """Return (chunk, step between windows, batch size)."""
    chunk_ = _whole(chunk, "chunk", minimum=1, hint=" (samples per window)")
    if not (isinstance(overlap, numbers.Real) and not isinstance(overlap, bool)
            and 0.0 <= float(overlap) < 1.0):
        raise ParameterError(
            f"overlap={overlap!r} is not valid: give the fraction of a window shared with the "
            "next one, 0 or more and below 1 (e.g. 0.25)"
        )
    step = chunk_ - round(float(overlap) * chunk_)
    if step < 1:
        raise ParameterError(
            f"overlap={overlap!r} of chunk={chunk_} samples leaves no step between windows: "
            "lower the overlap or raise the chunk"
        )
    if window not in WINDOWS:
        raise ParameterError(f"window={window!r} is not valid: use one of " + ", ".join(WINDOWS))
    return chunk_, step, _whole(batch_size, "batch_size", minimum=1)


def _as_time_tensor(block: object, received: int, what: str) -> Tensor:
    """``block`` as a tensor whose last axis is time; AudioBlocks must be consecutive."""
    if isinstance(block, AudioBlock):
        if block.start != received:
            raise InputError(
                f"{what} starts at sample {block.start}, but {received} samples came before "
                "it: blocks must be consecutive (pass every block of the stream, in order)"
            )
        block = block.audio
    if isinstance(block, np.ndarray):
        block = torch.from_numpy(np.ascontiguousarray(block))
    if not isinstance(block, Tensor):
        raise InputError(
            f"{what} is a {type(block).__name__}: expected a torch.Tensor, a numpy array or an "
            "AudioBlock shaped (..., samples)"
        )
    if block.ndim == 0:
        raise InputError(f"{what} is a scalar: expected a time axis, shape (..., samples)")
    return block


def _tensors(blocks: Iterable[Block]) -> Iterator[Tensor]:
    received = 0
    for index, block in enumerate(blocks):
        x = _as_time_tensor(block, received, f"block {index} of the stream")
        received += x.shape[-1]
        yield x


# --------------------------------------------------------------------------- the machinery


class _Cutter:
    """Cut windows ``[first + k * step, first + k * step + length)`` out of a stream.

    Input arrives in pieces through :meth:`push`; positions before the stream's start
    (``first < 0``) and after its end (:meth:`flush`) are zeros. The only storage is one
    window-long buffer, which :meth:`push` and :meth:`flush` return when a window is
    complete; it is valid until the next call.
    """

    def __init__(self, *, first: int, step: int, length: int, stats: ChunkStats) -> None:
        self.step, self.length, self.stats = step, length, stats
        self.filled = -first
        self.buf: Tensor | None = None
        self.received = 0

    def push(self, x: Tensor) -> Iterator[Tensor]:
        if self.buf is None:
            with _state():
                self.buf = x.new_zeros((*x.shape[:-1], self.length))
            self.stats.buffer = max(self.stats.buffer, self.length)
        elif x.shape[:-1] != self.buf.shape[:-1]:
            raise InputError(
                f"a block shaped {tuple(x.shape)} follows blocks shaped "
                f"{(*self.buf.shape[:-1], '...')}: every block needs the same leading "
                "dimensions (e.g. channels)"
            )
        self.received += x.shape[-1]
        self.stats.received += x.shape[-1]
        while x.shape[-1]:
            take = min(self.length - self.filled, x.shape[-1])
            self.buf[..., self.filled:self.filled + take] = x[..., :take]
            self.filled += take
            x = x[..., take:]
            if self.filled == self.length:
                yield self.buf
                self.advance()

    def flush(self) -> Tensor:
        """The current window with zeros past the end of the stream; :meth:`advance` next."""
        if self.buf is None:
            raise InputError("the stream yielded no blocks: there is no signal to process")
        self.buf[..., self.filled:] = 0
        return self.buf

    def advance(self) -> None:
        """Move on to the next window (its start is ``step`` units later)."""
        if self.buf is None:  # pragma: no cover - push/flush allocate first
            return
        _shift(self.buf, self.step)
        self.filled = max(0, self.filled - self.step)


def _windows(blocks: Iterable[Block], cutter: _Cutter,
             count: Callable[[int | None], int | None]) -> Iterator[tuple[Tensor, int | None]]:
    """Every window the stream needs, with the stream's length once it is known.

    ``count(length)`` is how many windows are needed for a stream of ``length`` units;
    ``count(None)`` is that number when it is known before the end (else ``None``). Complete
    windows come while the blocks arrive, zero-padded ones after the last block.
    """
    done = 0
    limit = count(None)
    for x in _tensors(blocks):
        for window in cutter.push(x):
            if limit is not None and done >= limit:
                return
            yield window, None
            done += 1
    length = cutter.received
    total = count(length)
    while total is not None and done < total:
        yield cutter.flush(), length
        cutter.advance()
        done += 1


class _Batch:
    """Collect windows on the storage side and run ``fn`` on them on the compute device."""

    def __init__(self, fn: ModelFn, *, size: int, device: DeviceLike | None,
                 stats: ChunkStats) -> None:
        self.fn, self.size, self.stats = fn, size, stats
        self.device = None if device is None else as_device(device)
        self.slots: Tensor | None = None
        self.count = 0

    def add(self, window: Tensor) -> bool:
        """Copy ``window`` in; return whether the batch is now full."""
        if self.slots is None:
            with _state():
                self.slots = window.new_empty((self.size, *window.shape))
        self.slots[self.count] = window
        self.count += 1
        return self.count == self.size

    def run(self) -> Tensor:
        """``fn`` on the collected windows: shape (n, ...) on whatever device ``fn`` returns."""
        if self.slots is None:  # pragma: no cover - callers only run non-empty batches
            raise RuntimeError("empty batch")
        n, x = self.count, self.slots[:self.count]
        self.slots, self.count = None, 0
        if self.device is None:
            self.device = _model_device(self.fn) or x.device
        self.stats.batch = max(self.stats.batch, n * x.shape[-1])
        self.stats.windows += n
        self.stats.batches += 1
        with torch.inference_mode():
            y = self.fn(x.to(self.device))
        if not isinstance(y, Tensor) or y.ndim < 2 or y.shape[0] != n:
            got = f"shape {tuple(y.shape)}" if isinstance(y, Tensor) else type(y).__name__
            raise ModelError(
                f"the model returned {got} for a batch of {n} windows shaped "
                f"{tuple(x.shape)}: it must return a tensor shaped (batch, ..., time)"
            )
        return y


def _state() -> torch.inference_mode:
    """Allocate the engine's buffers as normal tensors, even inside inference mode, so a
    stream started in ``inference_mode`` and resumed outside it can still update them."""
    return torch.inference_mode(False)


def _shift(buf: Tensor, step: int) -> None:
    """Move ``buf``'s time axis ``step`` places left, in place, zero-filling the end."""
    keep = buf.shape[-1] - step
    if keep > 0:
        buf[..., :keep] = buf[..., step:].clone()
    buf[..., max(keep, 0):] = 0


def _model_device(fn: ModelFn) -> torch.device | None:
    """Device of ``fn``'s first parameter when ``fn`` is a module that has one."""
    if isinstance(fn, nn.Module):
        for param in fn.parameters():
            return param.device
    return None


def _store(y: Tensor, storage: torch.device) -> Tensor:
    """A copy of ``y`` on ``storage``, reduced-precision floats widened to float32."""
    dtype = torch.float32 if y.dtype in _REDUCED else y.dtype
    return y.to(device=storage, dtype=dtype, copy=True)


def _storage(storage_device: DeviceLike | None) -> torch.device:
    return torch.device("cpu") if storage_device is None else as_device(storage_device)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --------------------------------------------------------------------------- overlap-discard


def stream_frames(
    fn: ModelFn,
    blocks: Iterable[Block],
    *,
    chunk: int,
    context: int,
    hop: int = 1,
    batch_size: int = 8,
    n_frames: int | None = None,
    device: DeviceLike | None = None,
    storage_device: DeviceLike | None = None,
    stats: ChunkStats | None = None,
) -> Iterator[Tensor]:
    """Run a frame model over a stream of blocks by overlap-discard, yielding frames as they
    are ready.

    Parameters
    ----------
    fn : callable
        The model: ``(batch, ..., chunk + 2 * context)`` input units to
        ``(batch, *out, T)`` frames with ``T >= (chunk + context) // hop`` (usually
        ``(chunk + 2 * context) // hop``); frame ``j`` is anchored at unit ``j * hop`` of
        its window (its start or its centre, consistently). Frames past
        ``(chunk + context) // hop`` are ignored.
    blocks : iterable of torch.Tensor, numpy arrays or AudioBlock
        Consecutive pieces of the signal, each shaped ``(..., n)`` with the same leading
        dimensions and any ``n >= 0`` (e.g. :func:`mirkit.io.audio.iter_audio_blocks`).
        It is consumed lazily.
    chunk : int
        Input units (samples, or frames of a feature) whose frames each window keeps; a
        multiple of ``hop``.
    context : int
        Input units of context at each side of a window, whose frames are discarded; a
        multiple of ``hop``, at least the model's receptive field beyond a frame's span.
    hop : int, optional
        Input units per output frame (1 when the input is already frames).
    batch_size : int, optional
        Windows per call of ``fn``.
    n_frames : int or None, optional
        Frames to produce; ``None`` gives ``ceil(samples / hop)``. More frames than the
        signal has are computed on zeros; fewer stop consuming ``blocks`` early.
    device : str, torch.device or None, optional
        Compute device; ``None`` uses the device of ``fn``'s parameters (when ``fn`` is a
        module) or else that of the blocks.
    storage_device : str, torch.device or None, optional
        Where the yielded frames go; CPU by default.
    stats : ChunkStats or None, optional
        Filled in with the buffer sizes and counts of the run.

    Yields
    ------
    torch.Tensor, shape (*out, frames)
        Consecutive runs of output frames (one per batch of windows) on ``storage_device``;
        concatenated along the last axis they equal :func:`overlap_discard` of the joined
        blocks.

    Raises
    ------
    ParameterError
        ``chunk``, ``context``, ``hop``, ``batch_size`` or ``n_frames`` is not valid (checked
        at the call).
    InputError
        A block is not a tensor/array/AudioBlock, its leading dimensions change, AudioBlocks
        are not consecutive, or ``n_frames`` is given and the stream is empty.
    ModelError
        ``fn`` returns something other than ``(batch, ..., T)`` with enough frames.
    """
    chunk, context, hop, batch_size, n_frames = _frame_options(
        chunk, context, hop, batch_size, n_frames)
    return _frame_stream(fn, blocks, chunk=chunk, context=context, hop=hop,
                         batch_size=batch_size, n_frames=n_frames, device=device,
                         storage=_storage(storage_device),
                         stats=ChunkStats() if stats is None else stats)


def _frame_stream(fn: ModelFn, blocks: Iterable[Block], *, chunk: int, context: int, hop: int,
                  batch_size: int, n_frames: int | None, device: DeviceLike | None,
                  storage: torch.device, stats: ChunkStats) -> Iterator[Tensor]:
    side, keep = context // hop, chunk // hop
    cutter = _Cutter(first=-context, step=chunk, length=chunk + 2 * context, stats=stats)
    batch = _Batch(fn, size=batch_size, device=device, stats=stats)

    def frames(length: int | None) -> int | None:
        return n_frames if n_frames is not None or length is None else _ceil_div(length, hop)

    def count(length: int | None) -> int | None:
        wanted = frames(length)
        return None if wanted is None else _ceil_div(wanted, keep)

    done = 0

    def crop(total: int | None) -> Tensor:
        # Complete windows cut before the end of the stream are wanted whole, so an unknown
        # total (None) means "keep everything".
        nonlocal done
        out = batch.run()
        if out.shape[-1] < side + keep:
            raise ModelError(
                f"the model returned {out.shape[-1]} frames for windows of {chunk + 2 * context} "
                f"units; with hop={hop} it must return {(chunk + 2 * context) // hop} (at least "
                f"{side + keep}): check hop"
            )
        y = out[..., side:side + keep].movedim(0, -2).flatten(-2)
        if total is not None:
            y = y[..., :total - done]
        done += y.shape[-1]
        return _store(y, storage)

    for window, length in _windows(blocks, cutter, count):
        if batch.add(window):
            yield crop(frames(length))
    if batch.count:
        yield crop(frames(cutter.received))


def overlap_discard(
    fn: ModelFn,
    signal: Tensor | NDArray[np.floating],
    *,
    chunk: int,
    context: int,
    hop: int = 1,
    batch_size: int = 8,
    n_frames: int | None = None,
    device: DeviceLike | None = None,
    storage_device: DeviceLike | None = None,
    stats: ChunkStats | None = None,
) -> Tensor:
    """Run a frame model over a whole signal in overlapping windows, discarding their edges.

    Parameters
    ----------
    fn : callable
        The model, as in :func:`stream_frames`.
    signal : torch.Tensor or numpy array, shape (..., samples)
        The input; time is the last axis, in units of samples (or frames of a feature,
        with ``hop=1``). It may stay on the CPU while ``fn`` runs on a GPU.
    chunk, context, hop, batch_size, n_frames, device, storage_device, stats
        As in :func:`stream_frames`.

    Returns
    -------
    torch.Tensor, shape (*out, n_frames)
        ``n_frames`` (default ``ceil(samples / hop)``) output frames on ``storage_device``.
        Equal (to float rounding) to ``fn`` on the signal zero-padded by ``context`` at the
        start (and at least ``context`` at the end), cropped to frames
        ``[context // hop, context // hop + n_frames)``, when ``fn`` meets the conditions in
        the module docstring.

    Raises
    ------
    ParameterError
        As :func:`stream_frames`.
    InputError
        ``signal`` is not a tensor or array, or has no samples and ``n_frames`` is not given.
    ModelError
        As :func:`stream_frames`.
    """
    chunk, context, hop, batch_size, n_frames = _frame_options(
        chunk, context, hop, batch_size, n_frames)
    x = _as_time_tensor(signal, 0, "signal")
    total = _ceil_div(_nonempty(x), hop) if n_frames is None else n_frames
    return _join(_frame_stream(fn, [x], chunk=chunk, context=context, hop=hop,
                               batch_size=batch_size, n_frames=total, device=device,
                               storage=_storage(storage_device),
                               stats=ChunkStats() if stats is None else stats), total)


def _nonempty(x: Tensor) -> int:
    """The length of ``x``'s time axis, which must not be 0."""
    if x.shape[-1] == 0:
        raise InputError(f"signal has shape {tuple(x.shape)}, i.e. no samples along its last "
                         "(time) axis: pass a non-empty signal")
    return int(x.shape[-1])


def _join(pieces: Iterator[Tensor], total: int) -> Tensor:
    """Concatenate a stream's pieces along time into one preallocated tensor."""
    out: Tensor | None = None
    done = 0
    for piece in pieces:
        if out is None:
            out = piece.new_empty((*piece.shape[:-1], total))
        out[..., done:done + piece.shape[-1]] = piece
        done += piece.shape[-1]
    if out is None or done != total:  # pragma: no cover - the streams always fill it
        raise RuntimeError(f"the chunked run produced {done} of {total} time steps")
    return out


# --------------------------------------------------------------------------- overlap-add


def _weights(kind: str, length: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """A strictly positive window of ``length`` samples, peaking at 1 in the middle."""
    pos = (torch.arange(length, device=device, dtype=dtype) + 0.5) / length
    if kind == "hann":
        return torch.sin(math.pi * pos) ** 2
    return 1.0 - (2.0 * pos - 1.0).abs()


def stream_overlap_add(
    fn: ModelFn,
    blocks: Iterable[Block],
    *,
    chunk: int,
    overlap: float = 0.25,
    batch_size: int = 4,
    window: Literal["triangle", "hann"] = "triangle",
    device: DeviceLike | None = None,
    storage_device: DeviceLike | None = None,
    stats: ChunkStats | None = None,
) -> Iterator[Tensor]:
    """Run a waveform/mask model over a stream of blocks by weighted overlap-add, yielding
    finished output samples as they are ready.

    Parameters
    ----------
    fn : callable
        The model: ``(batch, ..., chunk)`` samples to ``(batch, *out, chunk)`` samples,
        e.g. ``(batch, channels, chunk)`` to ``(batch, sources, channels, chunk)``.
    blocks : iterable of torch.Tensor, numpy arrays or AudioBlock
        Consecutive pieces of the signal shaped ``(..., n)``, as in :func:`stream_frames`.
    chunk : int
        Samples per window (the length the model expects).
    overlap : float, optional
        Fraction of a window shared with the next, in ``[0, 1)``; windows start every
        ``chunk - round(overlap * chunk)`` samples.
    batch_size : int, optional
        Windows per call of ``fn``.
    window : {"triangle", "hann"}, optional
        Weighting of each window's output, strictly positive (evaluated at sample centres),
        so every sample has weight and ``overlap=0`` is plain concatenation.
    device, storage_device, stats
        As in :func:`stream_frames`.

    Yields
    ------
    torch.Tensor, shape (*out, n)
        Consecutive runs of finished output samples (float32, or float64 for a float64
        model) on ``storage_device``; concatenated they equal :func:`overlap_add` of the
        joined blocks and have as many samples as the input.

    Raises
    ------
    ParameterError
        ``chunk``, ``overlap``, ``batch_size`` or ``window`` is not valid (checked at the call).
    InputError
        As :func:`stream_frames`.
    ModelError
        ``fn`` does not return ``(batch, ..., chunk)``.
    """
    chunk, step, batch_size = _ola_options(chunk, overlap, batch_size, window)
    return _ola_stream(fn, blocks, chunk=chunk, step=step, batch_size=batch_size,
                       window=str(window), device=device, storage=_storage(storage_device),
                       stats=ChunkStats() if stats is None else stats)


def _ola_stream(fn: ModelFn, blocks: Iterable[Block], *, chunk: int, step: int, batch_size: int,
                window: str, device: DeviceLike | None, storage: torch.device,
                stats: ChunkStats) -> Iterator[Tensor]:
    shared = chunk - step
    cutter = _Cutter(first=0, step=step, length=chunk, stats=stats)
    batch = _Batch(fn, size=batch_size, device=device, stats=stats)

    def count(length: int | None) -> int | None:
        # Window k is needed iff it is the first or window k - 1 ends before the signal does.
        if length is None:
            return None
        return 0 if length == 0 else max(1, _ceil_div(length - shared, step))

    acc: Tensor | None = None   # weighted outputs for samples [pos, pos + chunk)
    wsum: Tensor | None = None  # summed weights for the same samples
    weight: Tensor | None = None
    pos = 0
    result_dtype = torch.float32

    def finish(n: int) -> Tensor:
        """Samples [pos, pos + n), normalised, on the storage device."""
        if acc is None or wsum is None:  # pragma: no cover - set by the first batch
            raise RuntimeError("no window was added")
        return (acc[..., :n] / wsum[:n]).to(device=storage, dtype=result_dtype)

    def add(length: int | None) -> Tensor | None:
        nonlocal acc, wsum, weight, pos, result_dtype
        out = batch.run()
        if out.shape[-1] != chunk:
            raise ModelError(
                f"the model returned {out.shape[-1]} samples for windows of {chunk}: "
                "overlap-add needs a model whose output has the length of its input "
                "window (use overlap_discard for frame models)"
            )
        if acc is None or wsum is None or weight is None:
            wide = torch.float32 if out.device.type == "mps" else torch.float64
            result_dtype = torch.float64 if out.dtype == torch.float64 else torch.float32
            with _state():
                weight = _weights(window, chunk, out.device, wide)
                acc = out.new_zeros(out.shape[1:], dtype=wide)
                wsum = weight.new_zeros(chunk)
            stats.carry = max(stats.carry, chunk)
        pieces = []
        for y in out:
            acc += y.to(acc.dtype) * weight
            wsum += weight
            n = step if length is None else min(step, length - pos)
            if n > 0:
                pieces.append(finish(n))
            _shift(acc, step)
            _shift(wsum, step)
            pos += step
        return torch.cat(pieces, -1) if pieces else None

    for win, length in _windows(blocks, cutter, count):
        if batch.add(win) and (piece := add(length)) is not None:
            yield piece
    length = cutter.received
    if batch.count and (piece := add(length)) is not None:
        yield piece
    if length > pos:
        yield finish(length - pos)


def overlap_add(
    fn: ModelFn,
    signal: Tensor | NDArray[np.floating],
    *,
    chunk: int,
    overlap: float = 0.25,
    batch_size: int = 4,
    window: Literal["triangle", "hann"] = "triangle",
    device: DeviceLike | None = None,
    storage_device: DeviceLike | None = None,
    stats: ChunkStats | None = None,
) -> Tensor:
    """Run a waveform/mask model over a whole signal by weighted overlap-add.

    Parameters
    ----------
    fn : callable
        The model, as in :func:`stream_overlap_add`.
    signal : torch.Tensor or numpy array, shape (..., samples)
        The input, time on the last axis; it may stay on the CPU while ``fn`` runs on a GPU.
    chunk, overlap, batch_size, window, device, storage_device, stats
        As in :func:`stream_overlap_add`.

    Returns
    -------
    torch.Tensor, shape (*out, samples)
        The output on ``storage_device``, float32 (float64 for a float64 model). A pointwise
        model (e.g. the identity) gives exactly its whole-signal output; see the module
        docstring for models with a receptive field.

    Raises
    ------
    ParameterError
        As :func:`stream_overlap_add`.
    InputError
        ``signal`` is not a tensor or array, or has no samples.
    ModelError
        As :func:`stream_overlap_add`.
    """
    chunk, step, batch_size = _ola_options(chunk, overlap, batch_size, window)
    x = _as_time_tensor(signal, 0, "signal")
    total = _nonempty(x)
    return _join(_ola_stream(fn, [x], chunk=chunk, step=step, batch_size=batch_size,
                             window=str(window), device=device,
                             storage=_storage(storage_device),
                             stats=ChunkStats() if stats is None else stats), total)
