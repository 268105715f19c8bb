"""Source separation metrics: BSS Eval v4 (museval-compatible), SI-SDR and SDR improvement.

Conventions
-----------
Every signal set is an array shaped ``(nsrc, nsamples, nchan)``: the first axis goes over
sources, the second over samples, the third over channels (1 for mono, 2 for stereo), as
in museval. References and estimates must have the same shape, be real and finite, and
share one sample rate; they are converted to float64. A mixture is shaped
``(nsamples, nchan)``.

Windows and hops of the framewise metrics are counted in **samples**; use
:func:`seconds_to_samples` (or :func:`evaluate`, which takes seconds) to convert. The
framing is museval's: frame ``t`` covers samples ``[t * hop, t * hop + window)`` and there
are ``(nsamples - window + hop) // hop`` frames, so a tail shorter than a full frame is not
scored; when ``window >= nsamples`` there is one frame covering the whole signal.

A source counts as *silent* over a stretch when the sum of its channels is exactly zero at
every sample of it (museval's test; it also calls a stereo signal whose channels cancel
exactly silent). A whole-track silent reference or estimate is an :class:`InputError`.
A frame in which *any* reference or estimate is silent gets NaN for every metric of every
source, as in museval.

Metrics
-------
* :func:`bss_eval_v4`: framewise SDR, ISR, SIR and SAR in dB of BSS Eval version 4
  (``bss_eval_images`` with time-invariant distortion filters), numerically matching
  ``museval.evaluate(references, estimates, win=window, hop=hop, mode="v4")``
  (museval 0.4.1) to within 0.01 dB on every frame. The distortion filters, of
  ``filter_length`` taps, are fitted once by least squares on the whole signals; each frame
  then convolves its own stretch of the references with them:

  - ``s``: the reference image, ``P_j``: the reference filtered by its own filters,
    ``P``: all references filtered by the estimate's filters (projection on all sources),
    ``e``: the estimate, all zero-padded by ``filter_length - 1`` samples;
  - SDR = 10 log10(|s|^2 / |e - s|^2),  ISR = 10 log10(|s|^2 / |P_j - s|^2),
    SIR = 10 log10(|P_j|^2 / |P - P_j|^2),  SAR = 10 log10(|P|^2 / |e - P|^2),
    energies summed over the frame and all channels; a zero denominator gives +inf (so
    a single source has SIR = +inf on every frame, as in museval). SDR does not depend on
    the filters.

* :func:`si_sdr`: scale-invariant SDR of each source over the whole signal, its channels
  concatenated into one vector (no mean removal):
  ``a = <e, s> / <s, s>``, SI-SDR = 10 log10(|a s|^2 / |a s - e|^2).
* :func:`sdr_improvement`: median-over-frames SDR of the estimates minus that of the mixture
  used as the estimate of every source.
* :func:`aggregate`: per-source median (or mean) over frames, NaN frames ignored (the
  SiSEC / MUSDB18 convention); infinite values count as NaN by default, because museval
  stores them as NaN before it aggregates.
* :func:`evaluate`: all of the above for one track as an ordered ``{"vocals SDR": ...}``
  dict; :func:`museval_json` writes framewise results in the layout of museval's per-track
  JSON files.

References
----------
.. Antoine Liutkus, Fabian-Robert Stöter and Nobutaka Ito, "The 2018 Signal Separation
   Evaluation Campaign", LVA/ICA 2018.
.. Emmanuel Vincent, Rémi Gribonval and Cédric Févotte, "Performance measurement in blind
   audio source separation", IEEE TASLP 14(4), 2006.
.. Jonathan Le Roux, Scott Wisdom, Hakan Erdogan and John R. Hershey, "SDR - half-baked or
   well done?", ICASSP 2019.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.fft
import scipy.linalg
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError

#: Window and hop of museval / SiSEC 2018, in samples at 44.1 kHz (one second).
DEFAULT_WINDOW = 44100
DEFAULT_HOP = 44100
#: Taps of the distortion filters (museval's ``filters_len``).
FILTER_LENGTH = 512
#: The framewise metrics, in the order :func:`bss_eval_v4` returns them.
METRICS = ("SDR", "ISR", "SIR", "SAR")
#: museval version whose results and JSON layout this module reproduces.
MUSEVAL_VERSION = "0.4.1"
#: Decimal places museval keeps in its JSON files, and its order of the metrics there.
JSON_DECIMALS = 5
_JSON_ORDER = ("SDR", "SIR", "SAR", "ISR")

# Block length of the lag-limited cross-correlations and the working-set size of the
# framewise stage; they bound memory and do not change results beyond rounding.
_XCORR_FFT = 16384
_WORKSET_BYTES = 64 * 2**20
_EPS = float(np.finfo(np.float64).eps)

Float64Array = NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# validation and framing


def validate(references: ArrayLike, estimates: ArrayLike) -> None:
    """Check that references and estimates can be scored; raise :class:`InputError` if not.

    Parameters
    ----------
    references, estimates : array_like, shape (nsrc, nsamples, nchan), real
        True source images and their estimates, at the same sample rate.

    Raises
    ------
    InputError
        On a shape mismatch (both shapes, and by how many samples the lengths differ), no
        source, no samples or channels, NaN or infinite values (which array, which source),
        or a silent reference or estimate (which source).
    """
    _checked(references, estimates)


def _as_sources(x: ArrayLike, what: str) -> Float64Array:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{what} have dtype {arr.dtype}; expected real (float) samples")
    if arr.ndim != 3:
        raise InputError(
            f"{what} have shape {arr.shape} ({arr.ndim} axes); expected (nsrc, nsamples, "
            f"nchan), e.g. x[..., None] for mono sources")
    return np.asarray(arr, dtype=np.float64)


def _checked(references: ArrayLike, estimates: ArrayLike) -> tuple[Float64Array, Float64Array]:
    """Validate and return both as float64 arrays shaped (nsrc, nsamples, nchan)."""
    ref = _as_sources(references, "references")
    est = _as_sources(estimates, "estimates")
    if ref.shape != est.shape:
        msg = f"references have shape {ref.shape} but estimates have shape {est.shape}"
        if ref.shape[0] == est.shape[0] and ref.shape[2] == est.shape[2]:
            diff = est.shape[1] - ref.shape[1]
            msg += (f": the estimates are {abs(diff)} samples "
                    f"{'longer' if diff > 0 else 'shorter'} than the references; "
                    f"{'trim' if diff > 0 else 'zero-pad'} them to {ref.shape[1]} samples "
                    "(museval.evaluate pads or truncates the same way)")
        else:
            msg += "; they need the same number of sources, samples and channels"
        raise InputError(msg)
    nsrc, nsamples, nchan = ref.shape
    if nsrc < 1:
        raise InputError(f"references and estimates have shape {ref.shape}: at least one "
                         "source is needed")
    if nsamples == 0 or nchan == 0:
        raise InputError(f"references and estimates are empty (shape {ref.shape}); expected "
                         "(nsrc, nsamples, nchan) with samples and channels")
    for what, arr in (("references", ref), ("estimates", est)):
        _check_finite(arr, what)
    for what, arr in (("reference", ref), ("estimate", est)):
        silent = np.flatnonzero(~_loud_sources(arr))
        if silent.size:
            raise InputError(
                f"{what} source {int(silent[0])} is silent over the whole track (all zeros, or "
                "channels that cancel exactly): "
                "BSS Eval is undefined for it (museval refuses it too); leave that source "
                "out of both references and estimates")
    return ref, est


def _check_finite(arr: Float64Array, what: str) -> None:
    if np.isfinite(arr.sum()):  # a NaN or inf would propagate into the sum
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        src = int(np.flatnonzero(bad.any(axis=(1, 2)))[0])
        kind = "NaN" if np.isnan(arr[src]).any() else "infinite"
        raise InputError(f"{what} contain {kind} values ({int(bad.sum())} in all, first in "
                         f"source {src}); metrics need finite samples")


def _channel_sum(x: Any) -> Any:
    """Sum over the channel axis (2) of (nsrc, ..., nchan, ...) signals. The channels are
    added in order, as ``np.sum`` adds an axis of up to 7 elements, so exactly the same
    samples sum to zero as in museval."""
    total = x[:, :, 0] + 0.0
    for c in range(1, x.shape[2]):
        total = total + x[:, :, c]
    return total


def _loud_sources(x: Float64Array, chunk: int = 2**16) -> NDArray[np.bool_]:
    """Per source of (nsrc, nsamples, nchan): is its channel sum nonzero somewhere?

    museval's test for a silent source (so channels that cancel exactly count as silent).
    Scans in chunks and stops as soon as every source has made a sound.
    """
    loud = np.zeros(x.shape[0], dtype=bool)
    for lo in range(0, x.shape[1], chunk):
        loud |= (_channel_sum(x[:, lo:lo + chunk]) != 0).any(axis=1)
        if loud.all():
            break
    return loud


def seconds_to_samples(seconds: float, sr: int) -> int:
    """A duration in seconds as a whole number of samples at ``sr`` Hz (rounded).

    museval truncates instead (``int(seconds * sr)``); both agree whenever ``seconds * sr``
    is a whole number up to rounding error, as for every usual window and hop.
    """
    if not sr > 0:
        raise ParameterError(f"sample rate {sr} Hz: it must be positive")
    if not math.isfinite(seconds):
        raise ParameterError(f"{seconds} s: a window or hop must be a finite number of seconds")
    n = int(round(seconds * sr))
    if n < 1:
        raise ParameterError(f"{seconds} s at {sr} Hz is {seconds * sr:g} samples; it must be "
                             "at least one sample")
    return n


def n_frames(nsamples: int, *, window: int, hop: int) -> int:
    """Number of frames museval scores in a signal of ``nsamples`` samples."""
    if window < nsamples:
        return (nsamples - window + hop) // hop
    return 1


def _check_framing(window: int, hop: int, filter_length: int = FILTER_LENGTH) -> None:
    for name, value in (("window", window), ("hop", hop), ("filter_length", filter_length)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ParameterError(
                f"{name}={value!r}: it must be a positive whole number of samples "
                "(use seconds_to_samples() to convert from seconds)")


# --------------------------------------------------------------------------------------------
# array backends: numpy/scipy (default) or torch on a given device, both in float64


class _NumpyOps:
    """The few array operations the metric needs, on numpy/scipy."""

    def asarray(self, x: NDArray[Any]) -> Any:
        return x

    def numpy(self, x: Any) -> NDArray[Any]:
        return np.asarray(x)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return np.zeros(shape)

    def rfft(self, x: Any, n: int, axis: int = -1) -> Any:
        return scipy.fft.rfft(x, n=n, axis=axis, workers=-1)

    def irfft(self, x: Any, n: int, axis: int = -1) -> Any:
        return scipy.fft.irfft(x, n=n, axis=axis, workers=-1)

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        return x.transpose(axes)

    def einsum(self, spec: str, *xs: Any) -> Any:
        return np.einsum(spec, *xs)

    def frames(self, x: Any, width: int, step: int, first: int, stop: int, axis: int) -> Any:
        """Frames ``first .. stop-1`` along ``axis`` (``width`` long, ``step`` apart),
        as a view with the frame index at ``axis`` and the samples on a new last axis."""
        index = [slice(None)] * x.ndim
        index[axis] = slice(first * step, (stop - 1) * step + width)
        view = np.lib.stride_tricks.sliding_window_view(x[tuple(index)], width, axis=axis)
        index[axis] = slice(None, None, step)
        return view[tuple(index)]

    def cholesky_solve(self, a: Float64Array, b: Float64Array) -> Float64Array:
        """Solve ``a x = b`` for a symmetric positive definite ``a`` (overwritten)."""
        # a is symmetric: its transpose is a Fortran-ordered alias LAPACK can work in place
        factor = scipy.linalg.cho_factor(a.T, overwrite_a=True, check_finite=False)
        return np.asarray(scipy.linalg.cho_solve(factor, b, check_finite=False))

    def lu_solve(self, a: Float64Array, b: Float64Array) -> Float64Array:
        """Solve ``a x = b`` by LU as numpy.linalg.solve does; LinAlgError if singular."""
        return np.asarray(np.linalg.solve(a, b), dtype=np.float64)


class _TorchOps(_NumpyOps):
    """The same operations on a torch device, in float64."""

    def __init__(self, device: str) -> None:
        import torch

        from mirkit.engine.device import resolve_device

        self.torch = torch
        self.device = resolve_device(device)
        if self.device.type == "mps":
            raise ParameterError(f"device {device!r}: Apple MPS has no float64, which BSS Eval "
                                 "needs to match museval; use cpu or cuda")

    def asarray(self, x: NDArray[Any]) -> Any:
        return self.torch.as_tensor(np.ascontiguousarray(x), device=self.device)

    def numpy(self, x: Any) -> NDArray[Any]:
        return np.asarray(x.detach().cpu().numpy())

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def rfft(self, x: Any, n: int, axis: int = -1) -> Any:
        return self.torch.fft.rfft(x, n=n, dim=axis)

    def irfft(self, x: Any, n: int, axis: int = -1) -> Any:
        return self.torch.fft.irfft(x, n=n, dim=axis)

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        return x.permute(axes)

    def einsum(self, spec: str, *xs: Any) -> Any:
        return self.torch.einsum(spec, *xs)

    def frames(self, x: Any, width: int, step: int, first: int, stop: int, axis: int) -> Any:
        seg = x.narrow(axis, first * step, (stop - 1 - first) * step + width)
        return seg.unfold(axis, width, step)

    def cholesky_solve(self, a: Float64Array, b: Float64Array) -> Float64Array:
        factor, info = self.torch.linalg.cholesky_ex(self.asarray(a))
        if int(info) != 0:
            raise np.linalg.LinAlgError("matrix not positive definite")
        return self.numpy(self.torch.cholesky_solve(self.asarray(b), factor))

    def lu_solve(self, a: Float64Array, b: Float64Array) -> Float64Array:
        try:
            x = self.torch.linalg.solve(self.asarray(a), self.asarray(b))
        except RuntimeError as err:  # torch.linalg.LinAlgError derives from RuntimeError
            raise np.linalg.LinAlgError(str(err)) from err
        return self.numpy(x)


def _ops(device: str | None) -> _NumpyOps:
    return _NumpyOps() if device is None else _TorchOps(device)


# --------------------------------------------------------------------------------------------
# BSS Eval v4


def _lagged_xcorr(ops: _NumpyOps, xs: Sequence[Any], nx: int, max_lag: int) -> Float64Array:
    """Cross-correlations at small lags of the channels of several signal sets.

    ``xs`` are arrays shaped (nsrc, nsamples, nchan); their channels, in order, are the
    rows ``z[q]`` of one (Q, nsamples) stack, of which the first ``nx`` are correlated with
    all: ``r[p, q, max_lag + d] = sum_n z[p, n] z[q, n + d]`` for ``p < nx``.

    The signals are cut into blocks; each block of ``z[p]`` is correlated with the block of
    ``z[q]`` widened by ``max_lag`` samples on both sides, and the products of the block
    spectra are summed before one inverse FFT. Exact up to rounding for ``|d| <= max_lag``,
    at a cost linear in the length, and with memory bounded by the blocks held at once.
    """
    n = xs[0].shape[1]
    nfft = max(_XCORR_FFT, int(scipy.fft.next_fast_len(4 * max_lag + 2, real=True)))
    block = nfft - 2 * max_lag
    nblocks = -(-n // block)
    nrows = sum(x.shape[0] * x.shape[2] for x in xs)
    batch = max(1, _WORKSET_BYTES // ((nrows + nx) * (nfft // 2 + 1) * 16 * 2))
    acc: Any = None
    for b0 in range(0, nblocks, batch):
        b1 = min(nblocks, b0 + batch)
        # every signal from max_lag before the first block to max_lag after the last one
        wide = _segment(ops, xs, b0 * block - max_lag, b1 * block + max_lag)
        narrow = wide[:nx, max_lag:max_lag + (b1 - b0) * block].reshape(nx, b1 - b0, block)
        xf = ops.rfft(narrow, nfft)                                           # (P, nb, K)
        yf = ops.rfft(ops.frames(wide, nfft, block, 0, b1 - b0, axis=1), nfft)  # (Q, nb, K)
        prod = ops.permute(xf.conj(), (2, 0, 1)) @ ops.permute(yf, (2, 1, 0))  # (K, P, Q)
        acc = prod if acc is None else acc + prod
    r = ops.numpy(ops.irfft(acc, nfft, axis=0)[:2 * max_lag + 1])
    return np.ascontiguousarray(r.transpose(1, 2, 0))


def _segment(ops: _NumpyOps, xs: Sequence[Any], lo: int, hi: int) -> Any:
    """Samples ``lo .. hi-1`` of every channel of the (nsrc, nsamples, nchan) arrays ``xs``,
    stacked as rows (source-major, then channel), zero outside the signals."""
    n = xs[0].shape[1]
    out = ops.zeros((sum(x.shape[0] * x.shape[2] for x in xs), hi - lo))
    a, b = max(0, lo), min(n, hi)
    row = 0
    for x in xs:
        nsrc, _, nchan = x.shape
        dest = out[row:row + nsrc * nchan].reshape(nsrc, nchan, hi - lo)
        dest[:, :, a - lo:b - lo] = ops.permute(x[:, a:b], (0, 2, 1))
        row += nsrc * nchan
    return out


def _gram(r: Float64Array, taps: int) -> Float64Array:
    """Gram matrix of the delayed references from their correlations ``r`` (P, P, 2L-1).

    Row ``(p, k)`` and column ``(q, l)`` (source-channel ``p`` delayed by ``k`` samples)
    hold ``r[p, q, L-1 + k - l]``; the ordering is museval's (source, channel, delay).
    """
    nsig = r.shape[0]
    # Toeplitz blocks as a strided view: window m of the reversed lags starts at lag L-1-m
    blocks = np.lib.stride_tricks.sliding_window_view(r[:, :, ::-1], taps, axis=-1)
    blocks = blocks[:, :, ::-1, :]                          # (P, P, k, l) = r[L-1 + k - l]
    return np.ascontiguousarray(blocks.transpose(0, 2, 1, 3)).reshape(nsig * taps, nsig * taps)


def _solve_filters(ops: _NumpyOps, r_ref: Float64Array, rhs: Float64Array,
                   taps: int) -> Float64Array:
    """Least-squares filters: the solution of (G + eps I) x = D, as in museval.

    By Cholesky (G is a Gram matrix); should rounding make it indefinite, by LU as museval
    does, and if G is exactly singular, ``lstsq(G, D)``, museval's own fallback.
    """
    def regularised() -> Float64Array:
        gram = _gram(r_ref, taps)
        gram.flat[::gram.shape[0] + 1] += _EPS
        return gram

    try:
        return ops.cholesky_solve(regularised(), rhs)
    except np.linalg.LinAlgError:
        pass
    try:
        return ops.lu_solve(regularised(), rhs)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(_gram(r_ref, taps), rhs)[0], dtype=np.float64)


def _distortion_filters(
    ops: _NumpyOps, ref: Any, est: Any, taps: int
) -> tuple[Float64Array, Float64Array]:
    """Time-invariant distortion filters of BSS Eval v4, fitted on the whole signals.

    ``ref`` and ``est`` are (nsrc, nsamples, nchan). Returns ``h_all`` shaped
    (nsrc*nchan, taps, nsrc*nchan): tap ``k`` from reference channel ``p`` to estimate
    channel ``q`` of the projection of each estimate on all references, and ``h_own``
    shaped (nsrc, nchan, taps, nchan): each estimate projected on its own reference only.
    """
    nsrc, _, nchan = ref.shape
    nsig = nsrc * nchan
    r = _lagged_xcorr(ops, (ref, est), nsig, taps - 1)
    r_ref = r[:, :nsig]                                       # (P, P, 2L-1)
    # d[(p, k), q] = <reference p delayed by k, estimate channel q>
    rhs = np.ascontiguousarray(r[:, nsig:, taps - 1:].transpose(0, 2, 1))
    rhs = rhs.reshape(nsig * taps, nsig)
    h_all = _solve_filters(ops, r_ref, rhs, taps)
    h_own = np.empty((nsrc, nchan * taps, nchan))
    for j in range(nsrc):
        mine = slice(j * nchan, (j + 1) * nchan)
        h_own[j] = _solve_filters(ops, r_ref[mine, mine],
                                  rhs[j * nchan * taps:(j + 1) * nchan * taps, mine], taps)
    return h_all.reshape(nsig, taps, nsig), h_own.reshape(nsrc, nchan, taps, nchan)


def _frame_chunks(nframes: int, per_frame_bytes: int) -> Iterator[tuple[int, int]]:
    step = max(1, _WORKSET_BYTES // max(1, per_frame_bytes))
    for t0 in range(0, nframes, step):
        yield t0, min(nframes, t0 + step)


def _db(num: Float64Array, den: Float64Array) -> Float64Array:
    """``10 log10(num / den)`` with museval's rule: a zero denominator gives +inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Float64Array = np.where(den == 0, np.inf, 10 * np.log10(num / den))
    return out


def _framewise_sdr(ops: _NumpyOps, ref: Any, est: Any, nframes: int, frame_len: int,
                   hop: int) -> tuple[Float64Array, Float64Array, NDArray[np.bool_]]:
    """Per source and frame: reference energy |s|^2 and error energy |e - s|^2 (time
    domain), and the frames in which some reference or estimate is silent.

    ``ref`` and ``est`` are (nsrc, nsamples, nchan) on the backend.
    """
    nsrc = ref.shape[0]
    energy = np.empty((nsrc, nframes))
    error = np.empty((nsrc, nframes))
    silent = np.empty(nframes, dtype=bool)
    per_frame = 4 * nsrc * ref.shape[2] * frame_len * 8
    for t0, t1 in _frame_chunks(nframes, per_frame):
        s = ops.frames(ref, frame_len, hop, t0, t1, axis=1)   # (nsrc, T, nchan, W)
        e = ops.frames(est, frame_len, hop, t0, t1, axis=1)
        diff = e - s
        energy[:, t0:t1] = ops.numpy(ops.einsum("itcw,itcw->it", s, s))
        error[:, t0:t1] = ops.numpy(ops.einsum("itcw,itcw->it", diff, diff))
        quiet = [~(_channel_sum(x) != 0).any(-1) for x in (s, e)]  # (nsrc, T) each
        silent[t0:t1] = ops.numpy((quiet[0] | quiet[1]).any(0))
    return energy, error, silent


def _parseval_weights(nfft: int) -> Float64Array:
    """Weights turning a one-sided rfft spectrum into the signal energy (Parseval)."""
    w = np.full(nfft // 2 + 1, 2.0 / nfft)
    w[0] = 1.0 / nfft
    if nfft % 2 == 0:
        w[-1] = 1.0 / nfft
    return w


def bss_eval_v4(
    references: ArrayLike,
    estimates: ArrayLike,
    *,
    window: int = DEFAULT_WINDOW,
    hop: int = DEFAULT_HOP,
    filter_length: int = FILTER_LENGTH,
    device: str | None = None,
) -> dict[str, Float64Array]:
    """Framewise BSS Eval v4 metrics, as museval 0.4.1 computes them.

    Equivalent to ``museval.evaluate(references, estimates, win=window, hop=hop,
    mode="v4")`` (``museval.metrics.bss_eval`` with ``framewise_filters=False`` and
    ``bsseval_sources_version=False``), to within 0.01 dB, and much faster: the
    correlations at lags below ``filter_length`` come from block FFTs in one pass, each
    least-squares system is factorised once (Cholesky) for all estimate channels, and the
    frames are scored in batches in the frequency domain (Parseval's theorem), with no
    inverse transforms.

    The agreement assumes the references span their delayed copies robustly, as recorded
    audio with any noise floor does. For references that are exactly rank-deficient at
    this filter length (pure sums of a few sinusoids, digital silence over whole frequency
    bands), the least-squares systems are singular to working precision and museval's
    ISR, SIR and SAR are themselves rounding noise; SDR is unaffected.

    Parameters
    ----------
    references, estimates : array_like, shape (nsrc, nsamples, nchan), float
        True source images and their estimates (same sample rate).
    window, hop : int
        Frame length and hop in samples (museval's ``win`` and ``hop``; one second at
        44.1 kHz by default). ``window >= nsamples`` scores the whole signal as one frame.
    filter_length : int
        Taps of the distortion filters (512 in BSS Eval).
    device : str or None
        None computes with numpy/scipy on the CPU. Otherwise a torch device (``"cpu"``,
        ``"cuda"``, ``"cuda:1"``, ``"auto"``) on which the FFTs and solves run in float64.

    Returns
    -------
    dict[str, np.ndarray]
        ``"SDR"``, ``"ISR"``, ``"SIR"``, ``"SAR"``, each shaped (nsrc, nframes), in dB,
        ``nframes = n_frames(nsamples, window=window, hop=hop)``. Frames in which any
        reference or estimate is silent are NaN; a zero error energy gives +inf.

    Raises
    ------
    InputError
        See :func:`validate`.
    ParameterError
        For a non-positive window, hop or filter length, or an unusable device.
    """
    _check_framing(window, hop, filter_length)
    ops = _ops(device)
    ref_np, est_np = _checked(references, estimates)
    window, hop, taps = int(window), int(hop), int(filter_length)
    nsrc, nsamples, nchan = ref_np.shape
    nsig = nsrc * nchan
    nframes = n_frames(nsamples, window=window, hop=hop)
    frame_len = min(window, nsamples)
    ref, est = ops.asarray(ref_np), ops.asarray(est_np)     # (nsrc, nsamples, nchan)

    energy, error, nan_frames = _framewise_sdr(ops, ref, est, nframes, frame_len, hop)
    h_all, h_own = _distortion_filters(ops, ref, est, taps)

    # frame spectra long enough for the full (linear) convolution with the filters
    nfft = int(scipy.fft.next_fast_len(frame_len + taps - 1, real=True))
    weights = ops.asarray(_parseval_weights(nfft))
    spec_all = ops.rfft(ops.asarray(np.ascontiguousarray(h_all.transpose(0, 2, 1))), nfft)
    spec_own = ops.rfft(ops.asarray(np.ascontiguousarray(h_own.transpose(0, 1, 3, 2))), nfft)
    # spec_all: (ref channel p, est channel q, K); spec_own: (nsrc, ref ch, est ch, K)

    def power(z: Any) -> Any:
        """Energy of spectra z (nsrc, T, nchan, K) per source and frame (Parseval)."""
        return ops.numpy(((z.real * z.real + z.imag * z.imag) @ weights).sum(-1))

    names = ("proj_own", "spat", "interf", "proj_all", "artif")
    acc = {name: np.zeros((nsrc, nframes)) for name in names}
    per_frame = 7 * nsig * (nfft // 2 + 1) * 16
    for t0, t1 in _frame_chunks(nframes, per_frame):
        nt = t1 - t0
        s_spec = ops.rfft(ops.frames(ref, frame_len, hop, t0, t1, axis=1), nfft)
        e_spec = ops.rfft(ops.frames(est, frame_len, hop, t0, t1, axis=1), nfft)
        # both (nsrc, T, nchan, K); projection of each estimate on all references
        p_all: Any = 0
        for p in range(nsig):
            p_all = p_all + s_spec[p // nchan, :, p % nchan, None, :] * spec_all[p]
        p_all = p_all.reshape(nt, nsrc, nchan, -1)                  # (T, nsrc, nchan, K)
        p_all = ops.permute(p_all, (1, 0, 2, 3))                   # (nsrc, T, nchan, K)
        # projection of each estimate on its own reference
        p_own: Any = 0
        for c in range(nchan):
            p_own = p_own + s_spec[:, :, c, None, :] * spec_own[:, None, c]
        acc["proj_own"][:, t0:t1] = power(p_own)
        acc["spat"][:, t0:t1] = power(p_own - s_spec)
        if nsrc > 1:  # with one source museval's interference is exactly zero
            acc["interf"][:, t0:t1] = power(p_all - p_own)
        acc["proj_all"][:, t0:t1] = power(p_all)
        acc["artif"][:, t0:t1] = power(e_spec - p_all)

    result = {
        "SDR": _db(energy, error),
        "ISR": _db(energy, acc["spat"]),
        "SIR": _db(acc["proj_own"], acc["interf"]),
        "SAR": _db(acc["proj_all"], acc["artif"]),
    }
    for values in result.values():
        values[:, nan_frames] = np.nan
    return result


# --------------------------------------------------------------------------------------------
# scale-invariant SDR, SDR improvement, aggregation


def si_sdr(references: ArrayLike, estimates: ArrayLike) -> Float64Array:
    """Scale-invariant SDR of each source over the whole signal, in dB.

    With ``s`` the reference and ``e`` the estimate of one source, each flattened over
    samples and channels into one vector (no mean removal, no framing):
    ``a = <e, s> / <s, s>``, SI-SDR = 10 log10(|a s|^2 / |a s - e|^2) (Le Roux et al.,
    2019). An estimate exactly proportional to its reference gives +inf.

    Parameters
    ----------
    references, estimates : array_like, shape (nsrc, nsamples, nchan), float

    Returns
    -------
    np.ndarray, shape (nsrc,)
    """
    ref, est = _checked(references, estimates)
    nsrc = ref.shape[0]
    s = ref.reshape(nsrc, -1)
    e = est.reshape(nsrc, -1)
    scale = np.einsum("ij,ij->i", e, s) / np.einsum("ij,ij->i", s, s)
    target = scale[:, None] * s
    noise = target - e
    return _db(np.einsum("ij,ij->i", target, target), np.einsum("ij,ij->i", noise, noise))


def _mixture_estimates(mixture: ArrayLike, shape: tuple[int, ...]) -> Float64Array:
    mix = np.asarray(mixture)
    if mix.dtype.kind not in "biuf":
        raise InputError(f"mixture has dtype {mix.dtype}; expected real (float) samples")
    mix = np.asarray(mix, dtype=np.float64)
    if mix.shape != tuple(shape[1:]):
        raise InputError(f"mixture has shape {mix.shape} but the references have shape "
                         f"{shape}; expected a mixture shaped {tuple(shape[1:])} (nsamples, "
                         "nchan)")
    _check_finite(mix[None], "mixture")
    if not _loud_sources(mix[None])[0]:
        raise InputError("the mixture is silent (all zeros); SDR improvement is undefined")
    return np.broadcast_to(mix, shape)


def sdr_improvement(
    references: ArrayLike,
    estimates: ArrayLike,
    mixture: ArrayLike,
    *,
    window: int = DEFAULT_WINDOW,
    hop: int = DEFAULT_HOP,
) -> Float64Array:
    """SDR improvement of each source over the mixture, in dB.

    The median over frames of the BSS Eval v4 SDR of the estimates, minus the same median
    when the mixture itself is the estimate of every source; each median skips the frames
    that are NaN or infinite in its own run, as :func:`aggregate` does. The v4 SDR does not
    involve the distortion filters, so this needs no filter fitting.

    Parameters
    ----------
    references, estimates : array_like, shape (nsrc, nsamples, nchan), float
    mixture : array_like, shape (nsamples, nchan), float
    window, hop : int
        Framing in samples, as in :func:`bss_eval_v4`.

    Returns
    -------
    np.ndarray, shape (nsrc,)
    """
    _check_framing(window, hop)
    ref, est = _checked(references, estimates)
    return _improvement(ref, _sdr_only(ref, est, window, hop), mixture, window, hop)


def _improvement(ref: Float64Array, sdr: Float64Array, mixture: ArrayLike, window: int,
                 hop: int) -> Float64Array:
    """Median framewise SDR ``sdr`` of the estimates minus that of the mixture."""
    mix = _mixture_estimates(mixture, ref.shape)
    baseline = _sdr_only(ref, mix, window, hop)
    return aggregate({"SDR": sdr})["SDR"] - aggregate({"SDR": baseline})["SDR"]


def _sdr_only(ref: Float64Array, est: Float64Array, window: int, hop: int) -> Float64Array:
    """Framewise v4 SDR alone (it needs no distortion filters), NaN on silent frames."""
    nsamples = ref.shape[1]
    nframes = n_frames(nsamples, window=window, hop=hop)
    energy, error, silent = _framewise_sdr(_NumpyOps(), ref, est, nframes,
                                           min(window, nsamples), hop)
    sdr = _db(energy, error)
    sdr[:, silent] = np.nan
    return sdr


def _reduce_frames(values: Float64Array, *, how: str = "median") -> Float64Array:
    """nanmedian / nanmean along the last axis; all-NaN rows give NaN without a warning."""
    out = np.full(values.shape[:-1], np.nan)
    for idx in np.ndindex(values.shape[:-1]):
        row = values[idx]
        row = row[~np.isnan(row)]
        if row.size:
            with np.errstate(invalid="ignore"):  # mean of +inf and -inf
                out[idx] = np.median(row) if how == "median" else np.mean(row)
    return out


def aggregate(
    framewise: Mapping[str, ArrayLike], *, how: str = "median", inf_as_nan: bool = True
) -> dict[str, Float64Array]:
    """One value per source and metric from framewise metrics.

    Parameters
    ----------
    framewise : mapping of str to array_like, each shaped (nsrc, nframes)
        E.g. the output of :func:`bss_eval_v4`.
    how : {"median", "mean"}
        Median over frames (the SiSEC 2018 / MUSDB18 convention) or mean. NaN frames are
        ignored; a source with no scored frame gets NaN.
    inf_as_nan : bool
        Treat infinite values as NaN first, as museval does when it stores frames (its
        ``TrackStore`` writes inf as NaN, so published medians skip those frames).

    Returns
    -------
    dict[str, np.ndarray]
        The same keys, each shaped (nsrc,).
    """
    if how not in ("median", "mean"):
        raise ParameterError(f"how={how!r}: use 'median' or 'mean'")
    out = {}
    for name, values in framewise.items():
        arr = np.array(values, dtype=np.float64, ndmin=2)
        if inf_as_nan:
            arr[np.isinf(arr)] = np.nan
        out[name] = _reduce_frames(arr, how=how)
    return out


# --------------------------------------------------------------------------------------------
# one-track report and museval JSON


def _source_names(source_names: Sequence[str] | None, nsrc: int) -> list[str]:
    if source_names is None:
        return [f"source {j}" for j in range(nsrc)]
    names = [str(name) for name in source_names]
    if len(names) != nsrc:
        raise ParameterError(f"{len(names)} source names {names} for {nsrc} sources; give one "
                             "name per source")
    return names


def evaluate(
    references: ArrayLike,
    estimates: ArrayLike,
    *,
    sr: int,
    window_seconds: float = 1.0,
    hop_seconds: float = 1.0,
    mixture: ArrayLike | None = None,
    source_names: Sequence[str] | None = None,
    device: str | None = None,
) -> dict[str, float]:
    """All separation metrics of one track, as an ordered ``{display name: value}`` dict.

    For each source, in order: ``"<name> SDR"``, ``"<name> ISR"``, ``"<name> SIR"``,
    ``"<name> SAR"`` (BSS Eval v4 medians over frames, NaN frames and infinite values
    ignored, as museval aggregates), ``"<name> SI-SDR"`` (whole signal) and, when a
    mixture is given, ``"<name> SDR improvement"``.

    Parameters
    ----------
    references, estimates : array_like, shape (nsrc, nsamples, nchan), float
    sr : int
        Sample rate in Hz, shared by all signals.
    window_seconds, hop_seconds : float
        Framing in seconds (SiSEC 2018: one second each).
    mixture : array_like, shape (nsamples, nchan), optional
    source_names : sequence of str, optional
        One per source; default ``"source 0"``, ``"source 1"``, ...
    device : str, optional
        Torch device for :func:`bss_eval_v4`; None uses numpy.
    """
    window = seconds_to_samples(window_seconds, sr)
    hop = seconds_to_samples(hop_seconds, sr)
    ref, est = _checked(references, estimates)
    names = _source_names(source_names, ref.shape[0])
    framewise = bss_eval_v4(ref, est, window=window, hop=hop, device=device)
    medians = aggregate(framewise)
    si = si_sdr(ref, est)
    improvement = None
    if mixture is not None:
        improvement = _improvement(ref, framewise["SDR"], mixture, window, hop)
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        for metric in METRICS:
            out[f"{name} {metric}"] = float(medians[metric][j])
        out[f"{name} SI-SDR"] = float(si[j])
        if improvement is not None:
            out[f"{name} SDR improvement"] = float(improvement[j])
    return out


def _json_value(x: float) -> float:
    """museval's quantisation: 5 decimals, infinities stored as NaN."""
    if math.isinf(x) or math.isnan(x):
        return math.nan
    return round(float(x), JSON_DECIMALS)


def museval_json(
    framewise: Mapping[str, ArrayLike],
    *,
    source_names: Sequence[str],
    sr: int,
    window: int,
    hop: int,
) -> dict[str, Any]:
    """Framewise metrics in the layout of the per-track JSON files museval writes.

    ``{"targets": [{"name": ..., "frames": [{"time": t, "duration": d, "metrics":
    {"SDR": .., "SIR": .., "SAR": .., "ISR": ..}}, ...]}, ...], "museval_version": "0.4.1"}``
    with ``time = t * hop / sr`` and ``duration = window / sr`` in seconds, values rounded
    to 5 decimals and infinities written as NaN (museval's ``TrackStore``). Python's
    ``json.dumps`` writes NaN as ``NaN``, as museval's files contain.

    Parameters
    ----------
    framewise : mapping with keys "SDR", "ISR", "SIR", "SAR", each shaped (nsrc, nframes)
    source_names : sequence of str
        Target names, one per source (e.g. "vocals").
    sr : int
        Sample rate in Hz.
    window, hop : int
        Framing in samples used to compute ``framewise``.
    """
    _check_framing(window, hop)
    if not sr > 0:
        raise ParameterError(f"sample rate {sr} Hz: it must be positive")
    missing = [m for m in METRICS if m not in framewise]
    if missing:
        raise ParameterError(f"framewise metrics lack {missing}; expected the keys "
                             f"{list(METRICS)}")
    arrays = {m: np.array(framewise[m], dtype=np.float64, ndmin=2) for m in METRICS}
    shape = arrays["SDR"].shape
    if any(a.shape != shape for a in arrays.values()):
        raise ParameterError("framewise metrics have different shapes "
                         f"{ {m: a.shape for m, a in arrays.items()} }")
    names = _source_names(source_names, shape[0])
    hop_s, win_s = hop / sr, window / sr
    targets = []
    for j, name in enumerate(names):
        frames = [
            {
                "time": t * hop_s,
                "duration": win_s,
                "metrics": {m: _json_value(arrays[m][j, t]) for m in _JSON_ORDER},
            }
            for t in range(shape[1])
        ]
        targets.append({"name": name, "frames": frames})
    return {"targets": targets, "museval_version": MUSEVAL_VERSION}
