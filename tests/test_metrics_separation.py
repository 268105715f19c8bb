"""mirkit.metrics.separation against museval 0.4.1, the oracle for BSS Eval v4."""

from __future__ import annotations

import json
import sys
import types
import warnings

import numpy as np
import pytest
import scipy.signal

from mirkit.errors import InputError, ParameterError
from mirkit.metrics import separation as sep

# `import museval` imports stempeg, which raises at import time when ffmpeg/ffprobe are not
# installed. museval's metric code (museval.evaluate, museval.metrics, TrackStore) never
# calls stempeg, so an empty stand-in module is enough; setdefault keeps a real stempeg if
# one was already imported.
sys.modules.setdefault("stempeg", types.ModuleType("stempeg"))
museval = pytest.importorskip("museval")

TOL_DB = 0.01  # required agreement with museval on every frame


def _harmonic(rng: np.random.Generator, n: int, sr: int, f0: float) -> np.ndarray:
    t = np.arange(n) / sr
    tone = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k
               for k in range(1, 7) if f0 * k < sr / 2)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 0.8 * t + rng.uniform(0, 2 * np.pi))
    return np.asarray(tone * envelope)


def make_track(rng: np.random.Generator, *, nsrc: int, seconds: float, sr: int,
               nchan: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """References: harmonic tones and band-passed noise, panned, with a -60 dB noise floor
    (pure sums of sinusoids make BSS Eval's least-squares systems rank-deficient, and then
    museval's own results are rounding noise) and a short silent stretch. Estimates: each
    reference, filtered, plus leakage from the others and noise."""
    n = int(seconds * sr)
    refs = np.zeros((nsrc, n, nchan))
    pan = np.linspace(1.0, 0.5, nchan)
    for j in range(nsrc):
        if j % 2 == 0:
            mono = _harmonic(rng, n, sr, 110.0 * (1.5 ** j))
        else:
            b, a = scipy.signal.butter(3, [100 / (sr / 2), 0.3 + 0.1 * (j % 3)], btype="band")
            mono = scipy.signal.lfilter(b, a, rng.standard_normal(n))
        refs[j] = mono[:, None] * pan[None, ::(-1) ** j] + 1e-3 * rng.standard_normal((n, nchan))
    quiet = slice(int(0.2 * sr), int(0.45 * sr))  # shorter than a frame: not a NaN frame
    refs[nsrc - 1, quiet] = 0.0
    ests = np.empty_like(refs)
    for j in range(nsrc):
        leak = 0.15 * (refs.sum(axis=0) - refs[j])
        coloured = scipy.signal.lfilter([0.3, -0.2, 0.1], [1.0, -0.5], refs[j], axis=0)
        ests[j] = 0.9 * refs[j] + coloured + leak + 0.03 * rng.standard_normal((n, nchan))
    return refs, ests


def museval_v4(refs: np.ndarray, ests: np.ndarray, window: int, hop: int) -> dict[str, np.ndarray]:
    sdr, isr, sir, sar = museval.evaluate(refs, ests, win=window, hop=hop, mode="v4")
    return {"SDR": sdr, "ISR": isr, "SIR": sir, "SAR": sar}


def assert_matches(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> float:
    """Same shapes, NaN and inf at the same places, finite values within TOL_DB."""
    worst = 0.0
    for metric in sep.METRICS:
        a, b = ours[metric], theirs[metric]
        assert a.shape == b.shape, metric
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{metric} NaN")
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b), err_msg=f"{metric} inf")
        assert (a[np.isinf(a)] == b[np.isinf(b)]).all(), metric
        finite = np.isfinite(b)
        if finite.any():
            err = float(np.abs(a[finite] - b[finite]).max())
            assert err <= TOL_DB, f"{metric}: max |delta| {err:.3g} dB"
            worst = max(worst, err)
    return worst


# ------------------------------------------------------------------------------------------
# BSS Eval v4 against museval


@pytest.mark.parametrize(
    ("nsrc", "sr", "seconds", "win_s", "hop_s"),
    [
        (2, 44100, 3.5, 1.0, 1.0),    # the SiSEC setting, full rate, with a partial last frame
        (3, 8000, 3.0, 0.5, 0.25),    # overlapping frames
        (4, 8000, 2.0, 1.0, 0.75),    # four sources
        (2, 8000, 1.5, 2.0, 1.0),     # window longer than the track: one whole-track frame
    ],
)
def test_bss_eval_v4_matches_museval(rng, nsrc, sr, seconds, win_s, hop_s):
    refs, ests = make_track(rng, nsrc=nsrc, seconds=seconds, sr=sr)
    window, hop = int(win_s * sr), int(hop_s * sr)
    ours = sep.bss_eval_v4(refs, ests, window=window, hop=hop)
    theirs = museval_v4(refs, ests, window, hop)
    assert ours["SDR"].shape == (nsrc, sep.n_frames(refs.shape[1], window=window, hop=hop))
    assert not np.isnan(theirs["SDR"]).any()
    assert_matches(ours, theirs)


def test_silent_frames_are_nan_for_every_source_like_museval(rng):
    sr = 8000
    refs, ests = make_track(rng, nsrc=3, seconds=5.0, sr=sr)
    refs[0, 1 * sr:2 * sr] = 0.0                 # frame 1: one reference silent
    ests[2, 2 * sr - 100:3 * sr + 10] = 0.0      # frame 2: one estimate silent
    # frame 3: an estimate whose channels cancel exactly; museval sums the channels before
    # testing for silence, so this counts as silent too
    ests[1, 3 * sr:4 * sr, 1] = -ests[1, 3 * sr:4 * sr, 0]
    ours = sep.bss_eval_v4(refs, ests, window=sr, hop=sr)
    theirs = museval_v4(refs, ests, sr, sr)
    assert_matches(ours, theirs)
    for metric in sep.METRICS:
        np.testing.assert_array_equal(np.isnan(ours[metric]).all(axis=0),
                                      [False, True, True, True, False])
        assert not np.isnan(ours[metric][:, [0, 4]]).any()


def test_one_source_mono_gives_infinite_sir_like_museval(rng):
    sr = 8000
    refs, ests = make_track(rng, nsrc=2, seconds=2.0, sr=sr, nchan=1)
    ours = sep.bss_eval_v4(refs[:1], ests[:1], window=sr // 2, hop=sr // 2)
    theirs = museval_v4(refs[:1], ests[:1], sr // 2, sr // 2)
    assert_matches(ours, theirs)
    assert np.isposinf(ours["SIR"]).all()  # no other source, hence no interference


def test_torch_path_equals_numpy_path(rng):
    pytest.importorskip("torch")
    refs, ests = make_track(rng, nsrc=2, seconds=1.5, sr=8000)
    a = sep.bss_eval_v4(refs, ests, window=4000, hop=2000)
    b = sep.bss_eval_v4(refs, ests, window=4000, hop=2000, device="cpu")
    for metric in sep.METRICS:
        np.testing.assert_allclose(b[metric], a[metric], rtol=0, atol=1e-8)


def test_float32_input_and_short_filters(rng):
    refs, ests = make_track(rng, nsrc=2, seconds=1.0, sr=8000)
    a = sep.bss_eval_v4(refs.astype(np.float32), ests.astype(np.float32), window=4000,
                        hop=4000, filter_length=64)
    b = museval.metrics.bss_eval(refs.astype(np.float32), ests.astype(np.float32),
                                 window=4000, hop=4000, filters_len=64)
    assert_matches(a, dict(zip(sep.METRICS, b[:4], strict=True)))


# ------------------------------------------------------------------------------------------
# input validation


@pytest.mark.parametrize(
    ("refs_shape", "ests_shape", "pattern"),
    [
        ((2, 100, 2), (2, 90, 2), r"\(2, 100, 2\).*\(2, 90, 2\).*10 samples shorter.*zero-pad"),
        ((2, 100, 2), (2, 103, 2), r"3 samples longer.*trim them to 100 samples"),
        ((2, 100, 2), (3, 100, 2), r"same number of sources"),
        ((0, 100, 2), (0, 100, 2), r"at least one source"),
        ((2, 0, 2), (2, 0, 2), r"empty"),
        ((2, 100), (2, 100), r"expected \(nsrc, nsamples, nchan\)"),
    ],
)
def test_validate_shapes(rng, refs_shape, ests_shape, pattern):
    with pytest.raises(InputError, match=pattern):
        sep.validate(rng.standard_normal(refs_shape), rng.standard_normal(ests_shape))


def test_validate_values(rng):
    refs = rng.standard_normal((3, 200, 2))
    ests = rng.standard_normal((3, 200, 2))
    bad = ests.copy()
    bad[1, 5, 0] = np.nan
    with pytest.raises(InputError, match=r"estimates contain NaN values .*source 1"):
        sep.validate(refs, bad)
    bad = refs.copy()
    bad[2, 7, 1] = -np.inf
    with pytest.raises(InputError, match=r"references contain infinite values .*source 2"):
        sep.bss_eval_v4(bad, ests)
    bad = refs.copy()
    bad[2] = 0.0
    with pytest.raises(InputError, match=r"reference source 2 is silent"):
        sep.si_sdr(bad, ests)
    with pytest.raises(ValueError, match="non-silent"):  # museval refuses it as well
        museval.evaluate(bad, ests, win=100, hop=100)
    bad = ests.copy()
    bad[0] = 0.0
    with pytest.raises(InputError, match=r"estimate source 0 is silent"):
        sep.validate(refs, bad)
    with pytest.raises(InputError, match="dtype complex"):
        sep.validate(refs.astype(complex), ests)


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"hop": -5}, {"hop": 1.5},
                                    {"filter_length": 0}])
def test_bad_framing_is_a_parameter_error(rng, kwargs):
    refs = rng.standard_normal((2, 300, 1))
    with pytest.raises(ParameterError, match="positive whole number of samples"):
        sep.bss_eval_v4(refs, refs, **kwargs)


def test_n_frames_and_seconds_to_samples():
    assert sep.n_frames(44100 * 3 + 10, window=44100, hop=44100) == 3   # tail not scored
    assert sep.n_frames(100, window=40, hop=30) == 3                    # 0-40, 30-70, 60-100
    assert sep.n_frames(100, window=100, hop=30) == 1
    assert sep.seconds_to_samples(0.25, 44100) == 11025
    with pytest.raises(ParameterError, match="at least one sample"):
        sep.seconds_to_samples(0.0, 44100)


# ------------------------------------------------------------------------------------------
# SI-SDR, SDR improvement, aggregation, evaluate, JSON


def test_si_sdr_hand_computed(rng):
    refs = rng.standard_normal((2, 1000, 2))
    noise = rng.standard_normal((2, 1000, 2))
    for j in range(2):  # make the noise orthogonal to its reference (channels flattened)
        s, e = refs[j].ravel(), noise[j].ravel()
        noise[j] = (e - (e @ s) / (s @ s) * s).reshape(1000, 2)
    noise[1] *= 0.1
    ests = 2.0 * refs + noise
    expected = [10 * np.log10(np.sum((2 * refs[j]) ** 2) / np.sum(noise[j] ** 2))
                for j in range(2)]
    np.testing.assert_allclose(sep.si_sdr(refs, ests), expected, rtol=1e-12)
    # by hand: |s|^2 = 2000 (ones, stereo), noise +-0.1 alternating: orthogonal, energy 20,
    # so the target is 2 s and SI-SDR = 10 log10(4 * 2000 / 20) = 10 log10(400)
    ones = np.ones((1, 1000, 2))
    alternating = 0.1 * (-1.0) ** np.arange(1000)[None, :, None] * ones
    assert sep.si_sdr(ones, 2 * ones + alternating)[0] == pytest.approx(26.0206, abs=1e-4)
    np.testing.assert_allclose(sep.si_sdr(refs, -3 * ests), expected, rtol=1e-12)


def test_sdr_improvement_sign(rng):
    sr = 8000
    refs, ests = make_track(rng, nsrc=2, seconds=3.0, sr=sr)
    mixture = refs.sum(axis=0)
    good = sep.sdr_improvement(refs, ests, mixture, window=sr, hop=sr)
    assert (good > 0).all()
    np.testing.assert_allclose(sep.sdr_improvement(refs, np.stack([mixture] * 2), mixture,
                                                   window=sr, hop=sr), 0.0)
    swapped = sep.sdr_improvement(refs, refs[::-1], mixture, window=sr, hop=sr)
    assert (swapped < 0).all()
    # it is the difference of the median framewise SDRs of bss_eval_v4
    full = sep.bss_eval_v4(refs, ests, window=sr, hop=sr)["SDR"]
    mix = sep.bss_eval_v4(refs, np.stack([mixture] * 2), window=sr, hop=sr)["SDR"]
    np.testing.assert_allclose(good, np.median(full, axis=1) - np.median(mix, axis=1))
    with pytest.raises(InputError, match=r"mixture has shape \(10, 2\)"):
        sep.sdr_improvement(refs, ests, mixture[:10])


def test_aggregate_ignores_nan_and_inf():
    framewise = {"SDR": np.array([[1.0, np.nan, 3.0, 10.0], [np.nan] * 4]),
                 "SIR": np.array([[np.inf, 1.0, 2.0, 3.0], [5.0, 5.0, np.inf, np.nan]])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the all-NaN source must not warn
        med = sep.aggregate(framewise)
    np.testing.assert_array_equal(med["SDR"], [3.0, np.nan])
    np.testing.assert_array_equal(med["SIR"], [2.0, 5.0])  # museval stores inf as NaN
    np.testing.assert_array_equal(sep.aggregate(framewise, inf_as_nan=False)["SIR"],
                                  [2.5, 5.0])
    np.testing.assert_allclose(sep.aggregate(framewise, how="mean")["SDR"], [14 / 3, np.nan])
    with pytest.raises(ParameterError, match="'mode'"):
        sep.aggregate(framewise, how="mode")


def test_evaluate_report(rng):
    sr = 8000
    refs, ests = make_track(rng, nsrc=2, seconds=3.0, sr=sr)
    out = sep.evaluate(refs, ests, sr=sr, mixture=refs.sum(axis=0),
                       source_names=["vocals", "drums"])
    metrics = ["SDR", "ISR", "SIR", "SAR", "SI-SDR", "SDR improvement"]
    assert list(out) == [f"{name} {m}" for name in ("vocals", "drums") for m in metrics]
    theirs = museval_v4(refs, ests, sr, sr)
    for j, name in enumerate(["vocals", "drums"]):
        for metric in sep.METRICS:
            assert out[f"{name} {metric}"] == pytest.approx(np.median(theirs[metric][j]),
                                                            abs=TOL_DB)
        assert out[f"{name} SI-SDR"] == sep.si_sdr(refs, ests)[j]
        assert out[f"{name} SDR improvement"] == pytest.approx(
            sep.sdr_improvement(refs, ests, refs.sum(axis=0), window=sr, hop=sr)[j], abs=1e-9)
    assert list(sep.evaluate(refs, ests, sr=sr))[0] == "source 0 SDR"
    with pytest.raises(ParameterError, match="3 source names"):
        sep.evaluate(refs, ests, sr=sr, source_names=["a", "b", "c"])


def test_museval_json_equals_museval_trackstore():
    simplejson = pytest.importorskip("simplejson")
    framewise = {
        "SDR": np.array([[1.234567891, np.nan, -np.inf], [2.0, 3.000004999, 4.5]]),
        "ISR": np.array([[5.0, np.nan, 1.0], [np.inf, 0.1, 0.2]]),
        "SIR": np.array([[np.inf, np.nan, 1.0], [1.0, 2.0, 3.0]]),
        "SAR": np.array([[-1.0, np.nan, 1.0], [1.0, 2.0, 33.333333333]]),
    }
    ours = sep.museval_json(framewise, source_names=["vocals", "bass"], sr=44100,
                            window=44100, hop=22050)
    store = museval.TrackStore(track_name="track", win=1.0, hop=0.5)
    for j, name in enumerate(["vocals", "bass"]):
        store.add_target(target_name=name, values={m: v[j].tolist() for m, v in framewise.items()})
    theirs = simplejson.loads(store.json, allow_nan=True)
    # museval writes with simplejson; Python's json round-trips ours the same way
    ours = json.loads(json.dumps(ours))
    assert list(ours) == list(theirs) == ["targets", "museval_version"]
    assert ours["museval_version"] == theirs["museval_version"]
    for t_ours, t_theirs in zip(ours["targets"], theirs["targets"], strict=True):
        assert t_ours["name"] == t_theirs["name"]
        for f_ours, f_theirs in zip(t_ours["frames"], t_theirs["frames"], strict=True):
            assert list(f_ours) == list(f_theirs) == ["time", "duration", "metrics"]
            assert (f_ours["time"], f_ours["duration"]) == (f_theirs["time"],
                                                            f_theirs["duration"])
            assert list(f_ours["metrics"]) == list(f_theirs["metrics"])
            for m, v in f_theirs["metrics"].items():
                v_ours = f_ours["metrics"][m]
                assert (np.isnan(v) and np.isnan(v_ours)) or v_ours == float(v), (m, v, v_ours)
    with pytest.raises(ParameterError, match="1 source names"):
        sep.museval_json(framewise, source_names=["x"], sr=44100, window=44100, hop=44100)
    with pytest.raises(ParameterError, match=r"lack \['ISR'\]"):
        sep.museval_json({m: v for m, v in framewise.items() if m != "ISR"},
                         source_names=["vocals", "bass"], sr=44100, window=44100, hop=44100)
