"""The torch CQT against librosa.cqt, its frame convention, chunking and log compression."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from mirkit.errors import InputError, ParameterError
from mirkit.features.pianoroll import n_frames
from mirkit.features.spectral import CQT, LogCQT, cqt_max_bins, log_compress, semitone_layout

SR, HOP = 16000, 512


def librosa_cqt(y: np.ndarray, **kw: float) -> np.ndarray:
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.abs(librosa.cqt(y, sr=SR, hop_length=HOP, fmin=kw.get("fmin", 27.5),
                                  n_bins=int(kw.get("n_bins", 88)),
                                  bins_per_octave=int(kw.get("bins_per_octave", 12))))


def tone(midi: float, seconds: float, *, amp: float = 0.5, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * t + phase)).astype(
        np.float32)


@pytest.fixture(scope="module")
def cqt() -> CQT:
    return CQT()


def interior(cq: CQT) -> slice:
    """Frames whose kernels lie wholly inside the signal (librosa pads differently)."""
    edge = math.ceil(cq.context / HOP) + 1
    return slice(edge, -edge)


def test_white_noise_agrees_with_librosa(cqt: CQT, rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(8 * SR)).astype(np.float32)
    ours = cqt(torch.from_numpy(y)).numpy()
    ref = librosa_cqt(y)
    assert ours.shape == ref.shape
    sl = interior(cqt)
    a, b = ours[:, sl], ref[:, sl]
    # measured: bin energies within 1.7 %, median relative error 1.3 %, log corr 0.998
    energy_ratio = (a ** 2).mean(axis=1) / (b ** 2).mean(axis=1)
    assert np.all(np.abs(energy_ratio - 1) < 0.03), energy_ratio
    assert np.median(np.abs(a - b) / b) < 0.025
    assert np.corrcoef(np.log(a).ravel(), np.log(b).ravel())[0, 1] > 0.995


def test_tones_in_noise_agree_with_librosa(cqt: CQT, rng: np.random.Generator) -> None:
    y = (0.05 * rng.standard_normal(8 * SR)).astype(np.float32)
    for midi in range(21, 109, 5):
        y += tone(midi, 8, amp=0.2, phase=rng.uniform(0, 2 * np.pi))
    ours = cqt(torch.from_numpy(y)).numpy()
    ref = librosa_cqt(y)
    sl = interior(cqt)
    a, b = ours[:, sl], ref[:, sl]
    # relative to each frame's strongest bin (elementwise ratios are meaningless in the
    # nulls between tones, where librosa's own sparsity=0.01 changes values 4x): 1.2 %
    assert np.max(np.abs(a - b) / b.max(axis=0, keepdims=True)) < 0.025
    # the paper's input scaling, dB(ref=max)/80 + 1: mean difference 0.005 (0.4 dB)
    da = log_compress(torch.from_numpy(a), ref="max").numpy()
    db = log_compress(torch.from_numpy(b), ref="max").numpy()
    assert np.mean(np.abs(da - db)) < 0.01
    assert np.corrcoef(np.log(a).ravel(), np.log(b).ravel())[0, 1] > 0.99


@pytest.mark.parametrize("midi", [21, 28, 40, 55, 60, 69, 77, 90, 101, 108])
def test_pure_tone_peaks_at_its_key(cqt: CQT, midi: int) -> None:
    mag = cqt(torch.from_numpy(tone(midi, 2.0))).numpy()
    assert int(np.argmax(mag[:, interior(cqt)].mean(axis=1))) == midi - 21


@pytest.mark.parametrize("midi", [21, 45, 69, 100])
def test_three_bins_per_semitone_centre_on_the_key(midi: int) -> None:
    fmin, n_bins, bpo = semitone_layout(3)
    cq = CQT(fmin=fmin, n_bins=n_bins, bins_per_octave=bpo)
    assert (n_bins, bpo) == (264, 36)
    assert cq.frequencies[3 * (midi - 21) + 1] == pytest.approx(440 * 2 ** ((midi - 69) / 12))
    mag = cq(torch.from_numpy(tone(midi, 6.0))).numpy()
    assert int(np.argmax(mag[:, interior(cq)].mean(axis=1))) == 3 * (midi - 21) + 1


def test_sinusoid_amplitude_scaling(cqt: CQT) -> None:
    # amplitude A at a bin centre gives A * sqrt(length) / 2 (librosa's scale=True)
    mag = cqt(torch.from_numpy(tone(69, 2.0, amp=0.5))).numpy()
    length = cqt.q * SR / 440.0
    assert mag[48, interior(cqt)].mean() == pytest.approx(0.5 * math.sqrt(length) / 2, rel=2e-3)


@pytest.mark.parametrize("n", [1, 511, 512, 513, 8000, 12345])
def test_frame_count_is_the_centred_convention(cqt: CQT, n: int) -> None:
    out = cqt(torch.zeros(n))
    assert out.shape == (88, n_frames(n, HOP))


def test_frames_are_centred_on_multiples_of_hop(cqt: CQT) -> None:
    y = torch.zeros(SR * 2)
    y[20 * HOP] = 1.0                                  # a click at frame 20's centre
    mag = cqt(y)
    assert int(torch.argmax(mag[-1])) == 20            # short top-bin kernel
    assert int(torch.argmax(mag[0])) == 20             # long A0 kernel, 8 halvings


def test_batch_and_channel_axes(cqt: CQT, rng: np.random.Generator) -> None:
    x = torch.from_numpy(rng.standard_normal((2, 3, 4000)).astype(np.float32))
    out = cqt(x)
    assert out.shape == (2, 3, 88, n_frames(4000, HOP))
    torch.testing.assert_close(out[1, 2], cqt(x[1, 2]))
    torch.testing.assert_close(cqt(x[0]), out[0])
    with pytest.raises(InputError, match="shape"):
        cqt(torch.zeros(1, 1, 1, 100))
    with pytest.raises(InputError, match="empty"):
        cqt(torch.zeros(2, 0))


def test_chunks_with_context_equal_the_whole(cqt: CQT, rng: np.random.Generator) -> None:
    y = torch.from_numpy(rng.standard_normal(10 * SR).astype(np.float32))
    whole = cqt(y)
    ctx = math.ceil(cqt.context / HOP) * HOP
    cut = 150 * HOP
    left = cqt(y[:cut + ctx])[:, :cut // HOP]
    right = cqt(y[cut - ctx:])[:, ctx // HOP:]
    joined = torch.cat([left, right], dim=1)
    assert joined.shape == whole.shape
    err = (joined - whole).abs() / whole.amax(dim=1, keepdim=True)
    assert float(err.max()) < 1e-4


def test_multiresolution_equals_the_plain_filter_bank(cqt: CQT,
                                                      rng: np.random.Generator) -> None:
    y = torch.from_numpy(rng.standard_normal(6 * SR))        # float64: isolates the design
    fast = cqt(y)
    plain = CQT(max_level=0)(y)
    assert fast.dtype == torch.float64
    assert cqt.n_levels == 8 and CQT(max_level=0).n_levels == 1
    sl = interior(cqt)
    err = (fast - plain)[:, sl].abs() / plain[:, sl].amax(dim=1, keepdim=True)
    assert float(err.max()) < 1e-3                  # the anti-alias filters reject 100 dB


def test_bad_layouts_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="Nyquist"):
        CQT(sr=8000, n_bins=88)
    with pytest.raises(ParameterError, match="hop"):
        CQT(hop=0)
    with pytest.raises(ParameterError, match="bins_per_semitone"):
        semitone_layout(0)


def test_log_compress_db_matches_librosa(rng: np.random.Generator) -> None:
    import librosa

    mag = rng.random((2, 88, 50)).astype(np.float32) ** 8 * 30
    out = log_compress(torch.from_numpy(mag), ref="max").numpy()
    for i in range(2):
        ref = librosa.amplitude_to_db(mag[i], ref=np.max, top_db=80.0) / 80.0 + 1.0
        np.testing.assert_allclose(out[i], ref, atol=1e-5)
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
    fixed = log_compress(torch.from_numpy(mag), ref=1.0, top_db=80.0).numpy()
    expected = np.maximum(20 * np.log10(np.maximum(mag, 1e-5)), -80.0) / 80.0 + 1.0
    np.testing.assert_allclose(fixed, expected, atol=1e-5)
    np.testing.assert_allclose(log_compress(torch.from_numpy(mag), mode="log1p",
                                            gain=2.0).numpy(), np.log1p(2 * mag), rtol=1e-6)
    with pytest.raises(ParameterError, match="mode"):
        log_compress(torch.from_numpy(mag), mode="cube")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="ref"):
        log_compress(torch.from_numpy(mag), ref="min")


def test_log_cqt_composes_both(cqt: CQT, rng: np.random.Generator) -> None:
    y = torch.from_numpy(rng.standard_normal(SR).astype(np.float32))
    feat = LogCQT(compression={"mode": "log1p"})(y)
    torch.testing.assert_close(feat, torch.log1p(cqt(y)))
    with pytest.raises(ParameterError, match="unknown compression"):
        LogCQT(compression={"floor": 1.0})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(cqt: CQT, rng: np.random.Generator) -> None:
    y = torch.from_numpy(rng.standard_normal((2, 5 * SR)).astype(np.float32))
    on_gpu = CQT().cuda()(y.cuda())
    assert on_gpu.device.type == "cuda"
    err = (on_gpu.cpu() - cqt(y)).abs() / cqt(y).amax(dim=-1, keepdim=True)
    assert float(err.max()) < 1e-4


@pytest.mark.parametrize(("sr", "fmin", "bpo"), [(16000, 27.5, 12), (16000, 13.75, 12),
                                                 (22050, 32.7, 36), (8000, 100.0, 24)])
def test_cqt_max_bins_is_the_nyquist_limit(sr: int, fmin: float, bpo: int) -> None:
    n = cqt_max_bins(sr, fmin, bpo)
    CQT(sr=sr, fmin=fmin, n_bins=n, bins_per_octave=bpo)          # fits
    with pytest.raises(ParameterError, match="Nyquist"):
        CQT(sr=sr, fmin=fmin, n_bins=n + 1, bins_per_octave=bpo)


def test_cqt_max_bins_edge_cases() -> None:
    assert cqt_max_bins(16000, 27.5, 12) == 98                    # A0 up to A#8
    assert cqt_max_bins(16000, 7900.0, 12) == 0
    with pytest.raises(ParameterError):
        cqt_max_bins(16000, 0.0, 12)
