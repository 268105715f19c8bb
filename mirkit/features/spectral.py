"""Spectral features as torch operations (CPU or GPU): the constant-Q transform.

:class:`CQT` computes CQT magnitudes with precomputed complex kernels applied by strided
``conv1d``. Long low-frequency kernels would make a single-rate filter bank slow (A0 at
16 kHz needs about 10,000 taps), so the transform is multi-resolution, like librosa's
recursive CQT: the signal is halved in rate repeatedly with a zero-phase Kaiser-windowed
half-band low-pass, and each bin is computed at the lowest rate that still holds its band
with a safe margin. The kernel of every bin then has a few dozen to a few hundred taps.

Conventions:

- Frames are those of a centred transform: a signal of ``n`` samples has ``1 + n // hop``
  frames (:func:`mirkit.features.pianoroll.n_frames`), frame ``k`` centred at sample
  ``k * hop``; the signal is zero outside ``[0, n)``.
- Bin ``k`` has centre frequency ``fmin * 2 ** (k / bins_per_octave)`` and a Hann-windowed
  complex exponential of length ``Q * sr / f_k`` with ``Q = filter_scale / alpha`` and
  ``alpha = (2**(2/bpo) - 1) / (2**(2/bpo) + 1)``, as in ``librosa.cqt``; kernels are
  L1-normalised and the response scaled by ``sqrt(length)`` (librosa's ``scale=True``),
  so a full-scale sinusoid of amplitude ``A`` at a bin centre gives ``A * sqrt(length) / 2``.
- The transform is linear and shift-equivariant in steps of ``hop``: frames more than
  :attr:`CQT.context` samples from a chunk's edges equal those of the whole signal, when
  chunks start at multiples of ``hop`` (that is what the chunking engine relies on).

:func:`log_compress` gives the log scalings used as model input, :class:`LogCQT` composes
both, and :func:`semitone_layout` gives the bin layout with several bins per semitone
centred on the piano keys.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn import functional as F

from mirkit.errors import InputError, ParameterError

#: librosa's equivalent noise bandwidth of the Hann window, in FFT bins.
HANN_BANDWIDTH = 1.50018310546875
#: Bins are computed at a reduced rate only when their band edge lies below this fraction of
#: that rate's Nyquist frequency; the half-band filters are designed so aliases land above it.
PASSBAND_FRACTION = 0.55
#: Stop-band attenuation of the half-band decimation filters, in dB.
STOPBAND_DB = 100.0

Compression = Literal["db", "log1p"]


def semitone_layout(bins_per_semitone: int = 1, *, lowest_midi: int = 21,
                    n_semitones: int = 88) -> tuple[float, int, int]:
    """CQT layout with ``bins_per_semitone`` bins per key, centred on the keys.

    Returns ``(fmin, n_bins, bins_per_octave)``. With an odd count the middle bin of each
    key sits on the key's frequency; with an even count the bins lie symmetrically around
    it. ``semitone_layout(1)`` is the piano layout ``(27.5, 88, 12)``.
    """
    if bins_per_semitone < 1:
        raise ParameterError(f"bins_per_semitone {bins_per_semitone} must be >= 1")
    if n_semitones < 1:
        raise ParameterError(f"n_semitones {n_semitones} must be >= 1")
    bpo = 12 * bins_per_semitone
    f_key = 440.0 * 2.0 ** ((lowest_midi - 69) / 12.0)
    fmin = f_key * 2.0 ** (-(bins_per_semitone - 1) / 2.0 / bpo)
    return fmin, n_semitones * bins_per_semitone, bpo


def _cqt_q(bins_per_octave: int, filter_scale: float) -> float:
    """Quality factor of the CQT bands (librosa's, with ``filter_scale``)."""
    r2 = 2.0 ** (2.0 / bins_per_octave)
    return filter_scale * (r2 + 1.0) / (r2 - 1.0)


def cqt_max_bins(sr: int, fmin: float, bins_per_octave: int, *,
                 filter_scale: float = 1.0) -> int:
    """The most bins a :class:`CQT` from ``fmin`` can have: the top band edge must lie at or
    below the Nyquist frequency (0 when even the first bin's band crosses it)."""
    if sr <= 0 or fmin <= 0 or bins_per_octave < 1 or filter_scale <= 0:
        raise ParameterError(f"cqt_max_bins needs sr, fmin, bins_per_octave and filter_scale "
                             f"> 0, got {sr}, {fmin}, {bins_per_octave}, {filter_scale}")
    q = _cqt_q(bins_per_octave, filter_scale)
    top = sr / 2.0 / (1.0 + 0.5 * HANN_BANDWIDTH / q)      # highest admissible centre
    if top < fmin:
        return 0
    n = int(math.floor(bins_per_octave * math.log2(top / fmin) + 1e-9)) + 1
    while n > 0 and fmin * 2.0 ** ((n - 1) / bins_per_octave) > top:   # float guard
        n -= 1
    return n


def _halfband_filter(passband_fraction: float, stopband_db: float) -> NDArray[np.float64]:
    """Zero-phase low-pass for decimation by 2 (odd length, unit DC gain).

    Passband up to ``passband_fraction`` of the *output* Nyquist (``f / 4`` of the input
    rate), stopband from the mirror image of that edge, so that whatever is left of the
    transition band aliases above the passband.
    """
    width = (1.0 - passband_fraction) / 2.0                  # cycles per input sample
    n_taps = int(math.ceil((stopband_db - 7.95) / (2.285 * 2.0 * math.pi * width))) + 1
    n_taps += 1 - n_taps % 2
    beta = 0.1102 * (stopband_db - 8.7) if stopband_db > 50 else (
        0.5842 * (stopband_db - 21) ** 0.4 + 0.07886 * (stopband_db - 21))
    m = np.arange(n_taps) - (n_taps - 1) / 2.0
    h = 0.5 * np.sinc(0.5 * m) * np.kaiser(n_taps, beta)
    return h / h.sum()


class CQT(nn.Module):
    """Constant-Q transform magnitudes, shape ``(..., samples) -> (..., n_bins, frames)``.

    Parameters
    ----------
    sr : int
        Sample rate of the input, Hz.
    hop : int
        Hop between frames, samples (at ``sr``).
    fmin : float
        Centre frequency of the lowest bin, Hz.
    n_bins : int
    bins_per_octave : int
    filter_scale : float
        Kernel length factor (librosa's ``filter_scale``; > 1 sharpens the bands).
    max_level : int or None
        Most halvings of the rate (``None``: as many as ``hop`` and the bands allow;
        ``0``: every bin at the full rate, the slow plain filter bank).

    Input ``(samples,)``, ``(batch, samples)`` or ``(batch, channels, samples)``, any
    float dtype; output float magnitudes on the input's device, same leading axes.
    """

    lowpass: torch.Tensor

    def __init__(self, *, sr: int = 16000, hop: int = 512, fmin: float = 27.5,
                 n_bins: int = 88, bins_per_octave: int = 12, filter_scale: float = 1.0,
                 max_level: int | None = None) -> None:
        super().__init__()
        if sr <= 0 or hop <= 0:
            raise ParameterError(f"CQT needs sr > 0 and hop > 0, got sr={sr}, hop={hop}")
        if n_bins < 1 or bins_per_octave < 1:
            raise ParameterError(f"CQT needs n_bins >= 1 and bins_per_octave >= 1, got "
                                 f"{n_bins} and {bins_per_octave}")
        if fmin <= 0 or filter_scale <= 0:
            raise ParameterError(f"CQT needs fmin > 0 and filter_scale > 0, got "
                                 f"fmin={fmin}, filter_scale={filter_scale}")
        self.sr, self.hop, self.fmin = int(sr), int(hop), float(fmin)
        self.n_bins, self.bins_per_octave = int(n_bins), int(bins_per_octave)
        self.filter_scale = float(filter_scale)
        self.q = _cqt_q(bins_per_octave, self.filter_scale)
        self.freqs = fmin * 2.0 ** (np.arange(n_bins) / bins_per_octave)
        lengths = self.q * sr / self.freqs                    # at the full rate
        cutoff = self.freqs * (1.0 + 0.5 * HANN_BANDWIDTH / self.q)
        if self.n_bins > cqt_max_bins(sr, fmin, bins_per_octave, filter_scale=filter_scale):
            raise ParameterError(
                f"the top CQT bin ({self.freqs[-1]:.1f} Hz, band edge {cutoff[-1]:.1f} "
                f"Hz) lies above the Nyquist frequency {sr / 2:g} Hz; use fewer bins, "
                f"a lower fmin or a higher sample rate")
        hop_levels = (hop & -hop).bit_length() - 1            # factors of two in hop
        top = hop_levels if max_level is None else min(max(0, int(max_level)), hop_levels)
        # level of each bin: the most halvings that keep its band in the passband
        level = np.zeros(n_bins, dtype=np.int64)
        for lvl in range(1, top + 1):
            level[cutoff <= PASSBAND_FRACTION * sr / 2.0 ** (lvl + 1)] = lvl
        self.bin_level = level
        self.n_levels = int(level.max()) + 1
        lowpass = _halfband_filter(PASSBAND_FRACTION, STOPBAND_DB)
        self.lowpass_half = (len(lowpass) - 1) // 2
        self.register_buffer("lowpass", torch.tensor(lowpass, dtype=torch.float32)
                             .view(1, 1, -1), persistent=False)
        # one kernel bank per level (real and imaginary parts interleaved per bin)
        self._levels: list[tuple[int, int, int]] = []         # (level, first bin, half)
        context = 0
        for lvl in range(self.n_levels):
            idx = np.flatnonzero(level == lvl)
            if len(idx) == 0:
                continue
            rate = sr / 2.0 ** lvl
            lens = lengths[idx] / 2.0 ** lvl
            half = int(math.ceil(lens.max() / 2.0))
            u = np.arange(-half, half + 1, dtype=np.float64)
            bank = np.zeros((2 * len(idx), 1, 2 * half + 1), dtype=np.float64)
            for j, (f, ln) in enumerate(zip(self.freqs[idx], lens, strict=True)):
                win = np.where(np.abs(u) < ln / 2.0, np.cos(np.pi * u / ln) ** 2, 0.0)
                win *= math.sqrt(lengths[idx[j]]) / win.sum()
                # correlation with exp(+i w u): conv1d correlates, so conjugate here
                bank[2 * j, 0] = win * np.cos(2.0 * np.pi * f * u / rate)
                bank[2 * j + 1, 0] = -win * np.sin(2.0 * np.pi * f * u / rate)
            self.register_buffer(f"kernel{lvl}", torch.tensor(bank, dtype=torch.float32),
                                 persistent=False)
            self._levels.append((lvl, int(idx[0]), half))
            context = max(context, self.lowpass_half * (2 ** lvl - 1) + half * 2 ** lvl)
        #: One-sided reach of a frame into the signal, samples: chunks overlapping by at
        #: least this much (and starting at multiples of ``hop``) give the same frames.
        self.context = int(context)

    def extra_repr(self) -> str:
        return (f"sr={self.sr}, hop={self.hop}, fmin={self.fmin:.3f}, n_bins={self.n_bins}, "
                f"bins_per_octave={self.bins_per_octave}, filter_scale={self.filter_scale}, "
                f"levels={self.n_levels}")

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() < 1 or audio.dim() > 3:
            raise InputError(f"CQT input must be (samples,), (batch, samples) or (batch, "
                             f"channels, samples); got shape {tuple(audio.shape)}")
        n = int(audio.shape[-1])
        if n == 0:
            raise InputError("CQT of an empty signal (0 samples)")
        lead = audio.shape[:-1]
        dtype = audio.dtype if audio.is_floating_point() else torch.float32
        x = audio.to(dtype).reshape(-1, 1, n)
        frames = 1 + n // self.hop
        out: list[tuple[int, torch.Tensor]] = []
        lowpass = self.lowpass.to(dtype)
        current = 0
        for lvl, first, half in self._levels:
            while current < lvl:                               # halve the rate
                x = F.conv1d(F.pad(x, (self.lowpass_half, self.lowpass_half)), lowpass,
                             stride=2)
                current += 1
            hop = self.hop >> lvl
            kernel = self.get_buffer(f"kernel{lvl}").to(dtype)
            resp = F.conv1d(F.pad(x, (half, half + hop)), kernel, stride=hop)
            resp = resp[..., :frames].reshape(x.shape[0], -1, 2, frames)
            out.append((first, torch.sqrt(resp.square().sum(dim=2))))
        mag = torch.cat([m for _, m in sorted(out, key=lambda item: item[0])], dim=1)
        return mag.reshape(*lead, self.n_bins, frames)

    @property
    def frequencies(self) -> NDArray[np.float64]:
        """Centre frequency of each bin, Hz."""
        return self.freqs.copy()


def log_compress(mag: torch.Tensor, *, mode: Compression = "db", ref: float | str = 1.0,
                 top_db: float = 80.0, amin: float = 1e-5, gain: float = 1.0) -> torch.Tensor:
    """Log-scaled magnitudes, same shape as ``mag`` (``(..., n_bins, frames)``).

    Parameters
    ----------
    mag : torch.Tensor
        Non-negative magnitudes, e.g. :class:`CQT` output.
    mode : {"db", "log1p"}
        ``"db"``: the paper's normalisation ``dB / top_db + 1`` with
        ``dB = 20 log10(max(mag, amin) / ref)`` floored at ``-top_db``; with ``ref="max"``
        (per item: the maximum over the last two axes) this is
        ``librosa.amplitude_to_db(mag, ref=np.max, top_db=top_db) / top_db + 1``, in
        ``[0, 1]``. ``"log1p"``: ``log(1 + gain * mag)``.
    ref : float or "max"
        dB reference. A fixed number keeps the result independent of the rest of the
        signal, so chunked and whole-signal features agree; ``"max"`` normalises the level
        of each item (the paper's choice, for whole clips).
    top_db : float
        Dynamic range kept below ``ref``, dB (> 0).
    amin : float
        Magnitude floor before the logarithm (> 0).
    gain : float
        Scale inside ``log1p`` (> 0).
    """
    if mode == "db":
        if top_db <= 0 or amin <= 0:
            raise ParameterError(f"log_compress needs top_db > 0 and amin > 0, got "
                                 f"top_db={top_db}, amin={amin}")
        db = 20.0 * torch.log10(torch.clamp(mag, min=amin))
        if ref == "max":
            if mag.dim() < 2:
                raise InputError(f"ref='max' needs (..., bins, frames) input, got shape "
                                 f"{tuple(mag.shape)}")
            db = db - torch.amax(db, dim=(-2, -1), keepdim=True)
        elif isinstance(ref, str):
            raise ParameterError(f"ref {ref!r} must be a positive number or 'max'")
        else:
            if not ref > 0:
                raise ParameterError(f"ref {ref} must be a positive number or 'max'")
            db = db - 20.0 * math.log10(max(float(ref), amin))
        return torch.clamp(db, min=-top_db) / top_db + 1.0
    if mode == "log1p":
        if gain <= 0:
            raise ParameterError(f"log1p gain {gain} must be > 0")
        return torch.log1p(gain * mag)
    raise ParameterError(f"compression mode {mode!r} is not one of 'db', 'log1p'")


class LogCQT(nn.Module):
    """:class:`CQT` followed by :func:`log_compress`: ``(..., samples) -> (..., bins, frames)``.

    ``cqt`` holds the :class:`CQT` keyword arguments, ``compression`` those of
    :func:`log_compress` (``mode``, ``ref``, ``top_db``, ``amin``, ``gain``).
    """

    def __init__(self, *, cqt: dict[str, float | int | None] | None = None,
                 compression: dict[str, float | str] | None = None) -> None:
        super().__init__()
        self.cqt = CQT(**(cqt or {}))  # type: ignore[arg-type]
        self.compression = dict(compression or {})
        unknown = set(self.compression) - {"mode", "ref", "top_db", "amin", "gain"}
        if unknown:
            raise ParameterError(f"unknown compression option(s) {', '.join(sorted(unknown))}; "
                                 f"known: mode, ref, top_db, amin, gain")

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return log_compress(self.cqt(audio), **self.compression)  # type: ignore[arg-type]
