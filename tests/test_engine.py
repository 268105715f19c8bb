"""The inference engine: chunked output equals whole-signal output, streaming equals
chunked, memory stays bounded, bad options are refused."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mirkit.engine.chunking import (
    ChunkStats,
    overlap_add,
    overlap_discard,
    stream_frames,
    stream_overlap_add,
)
from mirkit.engine.runner import inference_context, move
from mirkit.errors import InputError, ModelError, ParameterError
from mirkit.io.audio import AudioBlock, iter_audio_blocks, load_audio, save_audio

HOP = 4
#: FrameNet's output frame j depends on samples [4j - 14, 4j + 18): 14 beyond its span.
REACH = 14
CONTEXT = 16
#: Chunked vs whole-signal tolerance for models within the context (max abs difference).
TOL = 1e-5

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class FrameNet(nn.Module):
    """Random conv stack, total stride HOP: (batch, [channels,] samples) -> (batch, 3, frames)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(channels, 6, 5, padding=2), nn.Tanh(),            # +-2 samples
            nn.Conv1d(6, 8, HOP, stride=HOP), nn.ReLU(),                # frames of HOP samples
            nn.Conv1d(8, 8, 3, padding=2, dilation=2), nn.Tanh(),       # +-2 frames
            nn.Conv1d(8, 3, 3, padding=1),                              # +-1 frame
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x if x.ndim == 3 else x[:, None])


def frame_net(channels: int) -> FrameNet:
    torch.manual_seed(0)
    return FrameNet(channels).eval()


def whole_frames(fn: Callable[[Tensor], Tensor], x: Tensor, *, context: int = CONTEXT,
                 hop: int = HOP, n_frames: int | None = None) -> Tensor:
    """``fn`` on the whole zero-padded signal, cropped as overlap_discard promises."""
    n = math.ceil(x.shape[-1] / hop) if n_frames is None else n_frames
    padded = F.pad(x, (context, n * hop - x.shape[-1] + context))
    with torch.inference_mode():
        y = fn(padded[None])[0]
    return y[..., context // hop:context // hop + n]


def signal(rng: np.random.Generator, *shape: int) -> Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def max_err(a: Tensor, b: Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a.double() - b.double()).abs().max())


def split(x: Tensor, rng: np.random.Generator, *, largest: int = 300) -> list[Tensor]:
    """``x`` cut along time into blocks of random (mostly odd) sizes, some empty."""
    sizes, total = [], 0
    while total < x.shape[-1]:
        size = int(rng.choice([0, 1, 7, 33, int(rng.integers(1, largest))]))
        sizes.append(min(size, x.shape[-1] - total))
        total += sizes[-1]
    return list(torch.split(x, sizes, dim=-1))


# --------------------------------------------------------------------------- overlap-discard


@pytest.mark.parametrize("channels", [None, 1, 3])
@pytest.mark.parametrize("chunk", [HOP, 64, 100, 256, 4096])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_overlap_discard_equals_whole(rng, channels, chunk, batch_size):
    x = signal(rng, 1001) if channels is None else signal(rng, channels, 1001)
    net = frame_net(channels or 1)
    stats = ChunkStats()
    got = overlap_discard(net, x, chunk=chunk, context=CONTEXT, hop=HOP,
                          batch_size=batch_size, stats=stats)
    want = whole_frames(net, x)
    assert got.shape == (3, 251)  # ceil(1001 / 4)
    assert max_err(got, want) <= TOL
    assert stats.windows == math.ceil(251 / (chunk // HOP))
    assert stats.batches == math.ceil(stats.windows / batch_size)


def test_overlap_discard_keeps_leading_dims(rng):
    net = frame_net(3)
    x = signal(rng, 2, 3, 517)   # (items, channels, samples)

    def fn(w: Tensor) -> Tensor:  # (batch, 2, 3, W) -> (batch, 2, 3, W // 4)
        return net(w.flatten(0, 1)).unflatten(0, (w.shape[0], 2))

    got = overlap_discard(fn, x, chunk=48, context=CONTEXT, hop=HOP, batch_size=2)
    assert got.shape == (2, 3, 130)
    for item in range(2):
        assert max_err(got[item], whole_frames(net, x[item])) <= TOL


def test_too_little_context_is_visible(rng):
    """The equality above is not trivial: with context below the reach it breaks."""
    net, x = frame_net(1), signal(rng, 1001)
    got = overlap_discard(net, x, chunk=64, context=4, hop=HOP)
    assert max_err(got, whole_frames(net, x)) > 1e-3


@pytest.mark.parametrize("n_frames", [1, 100, 251, 300])
def test_overlap_discard_n_frames(rng, n_frames):
    net, x = frame_net(1), signal(rng, 1001)
    got = overlap_discard(net, x, chunk=64, context=CONTEXT, hop=HOP, n_frames=n_frames)
    assert max_err(got, whole_frames(net, x, n_frames=n_frames)) <= TOL


def test_overlap_discard_feature_input_hop_1(rng):
    """A frame-rate model over a (bins, frames) feature: time unit = frames, hop 1."""
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv1d(12, 5, 7, padding=3), nn.ReLU(),
                        nn.Conv1d(5, 2, 3, padding=1)).eval()   # reach 4 frames
    feature = signal(rng, 12, 333)
    got = overlap_discard(net, feature, chunk=50, context=4, hop=1, batch_size=3)
    assert got.shape == (2, 333)
    assert max_err(got, whole_frames(net, feature, context=4, hop=1)) <= TOL


def test_overlap_discard_centred_frames(rng):
    """An STFT front end (centred frames, one extra frame per window) chunks exactly."""
    window = torch.hann_window(16)

    def spec(w: Tensor) -> Tensor:  # (batch, W) -> (batch, 9, W // 4 + 1)
        return torch.stft(w, 16, HOP, window=window, center=True, return_complex=True).abs()

    x = signal(rng, 999)
    got = overlap_discard(spec, x, chunk=40, context=CONTEXT, hop=HOP, batch_size=3)
    assert got.shape == (9, 250)
    assert max_err(got, whole_frames(spec, x)) <= TOL


def test_reduced_precision_outputs_are_stored_as_float32(rng):
    x = signal(rng, 100)
    got = overlap_discard(lambda w: w[:, None, ::HOP].half(), x, chunk=8, context=0, hop=HOP)
    assert got.dtype == torch.float32
    assert max_err(got[0], x[::HOP]) <= 1e-2


# --------------------------------------------------------------------------- streaming


def test_stream_frames_odd_blocks_equal_whole(rng):
    net, x = frame_net(2), signal(rng, 2, 3001)
    pieces = split(x, rng)
    mixed: list[object] = []
    for i, piece in enumerate(pieces):   # tensors, numpy arrays and AudioBlocks
        start = sum(p.shape[-1] for p in pieces[:i])
        mixed.append([piece, piece.numpy(), AudioBlock(start=start, audio=piece.numpy(),
                                                       sr=8000)][i % 3])
    got = torch.cat(list(stream_frames(net, mixed, chunk=100, context=CONTEXT, hop=HOP,
                                       batch_size=3)), -1)
    assert max_err(got, whole_frames(net, x)) <= TOL
    chunked = overlap_discard(net, x, chunk=100, context=CONTEXT, hop=HOP, batch_size=3)
    assert max_err(got, chunked) <= 1e-6


def test_stream_frames_n_frames_stops_early(rng):
    net, x = frame_net(1), signal(rng, 5000)
    consumed = []

    def blocks() -> Iterator[Tensor]:
        for block in torch.split(x, 97):
            consumed.append(block.shape[-1])
            yield block

    got = torch.cat(list(stream_frames(net, blocks(), chunk=64, context=CONTEXT, hop=HOP,
                                       n_frames=40)), -1)
    assert max_err(got, whole_frames(net, x, n_frames=40)) <= TOL
    assert sum(consumed) < 5000 // 4


def test_stream_frames_from_iter_audio_blocks(tmp_path, rng):
    path = save_audio(tmp_path / "a.wav", 0.3 * signal(rng, 2, 4003).numpy(), 8000,
                      subtype="FLOAT")
    net = frame_net(2)
    audio, _ = load_audio(path)
    blocks = iter_audio_blocks(path, block_seconds=0.0123)
    got = torch.cat(list(stream_frames(net, blocks, chunk=200, context=CONTEXT, hop=HOP)), -1)
    want = overlap_discard(net, audio, chunk=200, context=CONTEXT, hop=HOP)
    assert got.shape == (3, 1001)
    assert max_err(got, want) <= 1e-6


def test_stream_started_in_inference_mode_resumes_outside_it(rng):
    """The engine's buffers are normal tensors, so a stream may cross inference_mode."""
    net, x = frame_net(2), signal(rng, 2, 2000)
    same = nn.Conv1d(2, 2, 5, padding=2).eval()
    for make, whole in [
        (lambda b: stream_frames(net, b, chunk=64, context=CONTEXT, hop=HOP, batch_size=2,
                                 device="cpu", storage_device="cpu"),
         overlap_discard(net, x, chunk=64, context=CONTEXT, hop=HOP, batch_size=2)),
        (lambda b: stream_overlap_add(same, b, chunk=64, batch_size=2),
         overlap_add(same, x, chunk=64, batch_size=2)),
    ]:
        with inference_context("cpu"):
            stream = make(iter(torch.split(x.clone(), 100, -1)))
            first = next(stream)
        got = torch.cat([first, *stream], -1)
        assert max_err(got, whole) <= 1e-6


# --------------------------------------------------------------------------- overlap-add


def sources(w: Tensor) -> Tensor:
    """A two-"source" identity-like model: (batch, channels, W) -> (batch, 2, channels, W)."""
    return torch.stack([w, -0.5 * w], 1)


@pytest.mark.parametrize("window", ["triangle", "hann"])
@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 0.75])
@pytest.mark.parametrize("chunk", [64, 101, 4096])
def test_overlap_add_identity_is_exact(rng, window, overlap, chunk):
    x = signal(rng, 2, 1001)
    for batch_size in (1, 3):
        got = overlap_add(sources, x, chunk=chunk, overlap=overlap, window=window,
                          batch_size=batch_size)
        assert torch.equal(got, sources(x[None])[0])
    mono = signal(rng, 777)
    assert torch.equal(overlap_add(lambda w: w, mono, chunk=chunk, overlap=overlap,
                                   window=window), mono)


def test_overlap_add_pointwise_model_equals_whole(rng):
    def fn(w: Tensor) -> Tensor:
        return torch.tanh(3 * w) + w * w

    x = signal(rng, 2, 5000)
    got = overlap_add(fn, x, chunk=512, overlap=0.25)
    assert max_err(got, fn(x)) <= 1e-6


def test_overlap_add_conv_model_error_is_confined_to_window_edges(rng):
    """A model with reach r = 8 samples: exact away from interior window edges and the
    zero-padded end; near an edge the error is the edge window's, scaled down by its small
    share of the weight."""
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv1d(2, 4, 9, padding=4), nn.Tanh(),
                        nn.Conv1d(4, 2, 9, padding=4)).eval()
    reach, chunk, overlap, length = 8, 256, 0.25, 3000
    step = chunk - round(overlap * chunk)
    x = signal(rng, 2, length)
    got = overlap_add(net, x, chunk=chunk, overlap=overlap)
    with torch.inference_mode():
        want = net(x[None])[0]
    edges = np.zeros(length, dtype=bool)
    for start in range(step, length, step):              # interior left edges
        edges[start:start + reach] = True
    for end in range(chunk, length, step):               # interior right edges
        edges[end - reach:end] = True
    tail = np.zeros(length, dtype=bool)
    tail[length - reach:] = True                         # the last window's zero padding
    err = (got - want).abs().amax(0).numpy()
    # The error of single windows near their edges, before the weighting shrinks it.
    with torch.inference_mode():
        raw = max(float((net(x[None, :, s:s + chunk])[0] - want[:, s:s + chunk]).abs().max())
                  for s in range(step, length - chunk, step))
    print(f"overlap-add conv error: interior edges max {err[edges].max():.3g} (single window "
          f"{raw:.3g}), end {err[tail].max():.3g}, elsewhere {err[~edges & ~tail].max():.3g}, "
          f"mean before the end {err[~tail].mean():.3g} (|output| mean "
          f"{want.abs().mean():.3g})")
    assert float(err[~edges & ~tail].max()) <= TOL
    assert 0 < float(err[edges].max()) <= 0.2 * raw
    assert float(err[~tail].mean()) <= 5e-3 * float(want.abs().mean())


def test_stream_overlap_add_equals_whole(rng):
    x = signal(rng, 2, 3001)
    pieces = split(x, rng)
    starts = np.cumsum([0] + [p.shape[-1] for p in pieces])[:-1]
    blocks = [AudioBlock(start=int(s), audio=p.numpy(), sr=44100)
              for s, p in zip(starts, pieces, strict=True)]
    got = torch.cat(list(stream_overlap_add(sources, blocks, chunk=100, overlap=0.3,
                                            batch_size=3, window="hann")), -1)
    assert torch.equal(got, sources(x[None])[0])

    torch.manual_seed(3)
    net = nn.Conv1d(2, 2, 5, padding=2).eval()
    streamed = torch.cat(list(stream_overlap_add(net, pieces, chunk=100, overlap=0.3)), -1)
    assert max_err(streamed, overlap_add(net, x, chunk=100, overlap=0.3)) <= 1e-6


# --------------------------------------------------------------------------- memory


def test_streaming_keeps_bounded_buffers(rng):
    """2^23 samples stream through buffers whose size does not depend on the length."""
    chunk, context, batch_size, block = 1 << 14, 64, 8, 1 << 16

    def run(length: int) -> tuple[ChunkStats, int, float, float, int]:
        consumed, total_in = [0], [0.0]
        gen = torch.Generator().manual_seed(0)

        def blocks() -> Iterator[Tensor]:
            for _ in range(length // block):
                x = torch.randn(block, generator=gen)
                consumed[0] += 1
                total_in[0] += float(x.double().sum())
                yield x

        stats = ChunkStats()
        frames, total_out, first = 0, 0.0, -1
        for piece in stream_frames(lambda w: F.avg_pool1d(w[:, None], HOP), blocks(),
                                   chunk=chunk, context=context, hop=HOP,
                                   batch_size=batch_size, stats=stats):
            first = consumed[0] if first < 0 else first
            assert piece.shape[-1] <= batch_size * chunk // HOP
            frames += piece.shape[-1]
            total_out += float(piece.double().sum())
        return stats, frames, total_in[0], total_out * HOP, first

    long, frames, total_in, total_out, first = run(1 << 23)
    assert frames == (1 << 23) // HOP and long.received == 1 << 23
    assert total_out == pytest.approx(total_in, abs=1e-2)
    assert long.buffer == chunk + 2 * context
    assert long.batch == batch_size * (chunk + 2 * context)
    assert long.carry == 0
    # Output comes while the input is read: the first batch needs only its own windows.
    assert first <= math.ceil((batch_size * chunk + context) / block)
    short = run(1 << 18)[0]
    assert (short.buffer, short.batch) == (long.buffer, long.batch)

    ola = ChunkStats()
    count = 0
    for piece in stream_overlap_add(lambda w: w, (torch.zeros(2, 4099) for _ in range(64)),
                                    chunk=chunk, overlap=0.25, stats=ola):
        count += piece.shape[-1]
    assert count == 64 * 4099
    assert (ola.buffer, ola.carry, ola.batch) == (chunk, chunk, 4 * chunk)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("options", "match"), [
    ({"chunk": 0}, r"chunk=0 is not valid"),
    ({"chunk": 1.5}, r"chunk=1\.5 is not valid"),
    ({"chunk": 102}, r"chunk=102 is not a multiple of hop=4, .*: use chunk=100 or 104"),
    ({"chunk": 2}, r"chunk=2 is not a multiple of hop=4, .*: use chunk=4$"),
    ({"context": 6}, r"context=6 is not a multiple of hop=4"),
    ({"context": -4}, r"context=-4 is not valid"),
    ({"hop": 0}, r"hop=0 is not valid"),
    ({"hop": True}, r"hop=True is not valid"),
    ({"batch_size": 0}, r"batch_size=0 is not valid"),
    ({"n_frames": 0}, r"n_frames=0 is not valid"),
])
def test_frame_option_errors(options, match):
    kwargs = {"chunk": 64, "context": CONTEXT, "hop": HOP, **options}
    with pytest.raises(ParameterError, match=match):
        overlap_discard(frame_net(1), torch.zeros(100), **kwargs)
    with pytest.raises(ParameterError, match=match):
        stream_frames(frame_net(1), [], **kwargs)   # refused at the call, not on iteration


@pytest.mark.parametrize(("options", "match"), [
    ({"chunk": -1}, r"chunk=-1 is not valid"),
    ({"overlap": 1.0}, r"overlap=1\.0 is not valid"),
    ({"overlap": -0.1}, r"overlap=-0\.1 is not valid"),
    ({"overlap": "half"}, r"overlap='half' is not valid"),
    ({"chunk": 4, "overlap": 0.9}, r"overlap=0\.9 of chunk=4 samples leaves no step"),
    ({"window": "box"}, r"window='box' is not valid: use one of triangle, hann"),
    ({"batch_size": -2}, r"batch_size=-2 is not valid"),
])
def test_overlap_add_option_errors(options, match):
    kwargs = {"chunk": 64, **options}
    with pytest.raises(ParameterError, match=match):
        overlap_add(lambda w: w, torch.zeros(100), **kwargs)
    with pytest.raises(ParameterError, match=match):
        stream_overlap_add(lambda w: w, [], **kwargs)


def test_model_errors():
    x = torch.zeros(100)
    with pytest.raises(ModelError, match=r"returned 2 frames .* must return 24 .*check hop"):
        overlap_discard(lambda w: w[:, None, :2], x, chunk=64, context=CONTEXT, hop=HOP)
    with pytest.raises(ModelError, match=r"returned list for a batch of 2 windows shaped \(2, 9"):
        overlap_discard(lambda w: [w], x, chunk=64, context=CONTEXT, hop=HOP)
    with pytest.raises(ModelError, match=r"returned 32 samples for windows of 64"):
        overlap_add(lambda w: w[..., ::2], x, chunk=64)


def test_input_errors():
    net = frame_net(1)
    with pytest.raises(InputError, match=r"no samples along its last \(time\) axis"):
        overlap_discard(net, torch.zeros(1, 0), chunk=64, context=CONTEXT, hop=HOP)
    with pytest.raises(InputError, match=r"no samples along its last \(time\) axis"):
        overlap_add(lambda w: w, torch.zeros(0), chunk=64)
    with pytest.raises(InputError, match=r"signal is a list"):
        overlap_add(lambda w: w, [1.0, 2.0], chunk=64)
    with pytest.raises(InputError, match=r"a block shaped \(2, 10\) follows blocks shaped"):
        list(stream_overlap_add(lambda w: w, [torch.zeros(1, 10), torch.zeros(2, 10)],
                                chunk=8))
    blocks = [AudioBlock(start=0, audio=np.zeros((1, 10), np.float32), sr=8000),
              AudioBlock(start=20, audio=np.zeros((1, 10), np.float32), sr=8000)]
    with pytest.raises(InputError, match=r"block 1 of the stream starts at sample 20, but 10"):
        list(stream_frames(net, blocks, chunk=8, context=CONTEXT, hop=HOP))
    with pytest.raises(InputError, match=r"the stream yielded no blocks"):
        list(stream_frames(net, [], chunk=8, context=CONTEXT, hop=HOP, n_frames=3))
    assert list(stream_frames(net, [], chunk=8, context=CONTEXT, hop=HOP)) == []
    assert list(stream_overlap_add(lambda w: w, [torch.zeros(0)], chunk=8)) == []


# --------------------------------------------------------------------------- runner


def test_inference_context_cpu():
    before = torch.get_num_threads()
    with inference_context("cpu", threads=1) as device:
        assert device == torch.device("cpu")
        assert torch.is_inference_mode_enabled()
        assert torch.get_num_threads() == 1
        assert not torch.is_autocast_enabled("cuda")
    assert torch.get_num_threads() == before
    assert not torch.is_inference_mode_enabled()


def test_inference_context_errors():
    with pytest.raises(ParameterError, match=r"amp=True needs a CUDA device, not cpu"):
        with inference_context("cpu", amp=True):
            pass
    with pytest.raises(ParameterError, match=r"threads=0 is not valid"):
        with inference_context("cpu", threads=0):
            pass
    with pytest.raises(ParameterError, match=r"--device 'gpu7' is not one of"):
        with inference_context("gpu7"):
            pass
    with pytest.raises(ParameterError, match=r"device=3 is not valid"):
        move(nn.Linear(1, 1), 3)


def test_move_sets_device_and_eval_mode():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).train()
    assert move(net, "cpu") is net
    assert not net.training
    assert next(net.parameters()).device == torch.device("cpu")
    assert move(net.train(), torch.device("cpu"), eval_mode=False).training


# --------------------------------------------------------------------------- CUDA


@requires_cuda
def test_cuda_compute_with_cpu_storage(rng):
    """Model on the GPU, signal and results on the CPU; GPU memory does not grow with length."""
    net = move(frame_net(2), "cuda")
    x = signal(rng, 2, 40_001)
    with (inference_context("cuda", amp=False),
          torch.backends.cudnn.flags(enabled=True, allow_tf32=False)):
        got = overlap_discard(net, x, chunk=1024, context=CONTEXT, hop=HOP)
        want = whole_frames(net, x.cuda()).cpu()
    assert got.device == torch.device("cpu")
    assert max_err(got, want) <= 1e-4
    with inference_context("cuda") as device:            # AMP on: bf16/fp16 inside
        half = overlap_discard(net, x, chunk=1024, context=CONTEXT, hop=HOP, device=device)
    assert half.dtype == torch.float32 and max_err(half, want) <= 0.1

    def peak(length: int) -> int:
        torch.cuda.reset_peak_memory_stats()
        blocks = (torch.randn(2, 1 << 16) for _ in range(length >> 16))
        with inference_context("cuda", amp=False):
            for _ in stream_frames(net, blocks, chunk=1 << 14, context=CONTEXT, hop=HOP):
                pass
        return torch.cuda.max_memory_allocated()

    long = peak(1 << 24)
    assert long <= peak(1 << 20) * 1.1
    assert long < (1 << 24) * 2 * 4 // 8   # an eighth of the float32 signal
