"""Tests for mirkit.io.audio: reading, channel policy, resampling, streaming and saving.

Every test writes its own tiny files to ``tmp_path`` (with soundfile directly, so reading
is checked independently of :func:`save_audio`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from mirkit.errors import InputError, ParameterError
from mirkit.io import audio as audio_mod
from mirkit.io.audio import (
    AUDIO_EXTENSIONS,
    AudioBlock,
    AudioInfo,
    ChannelSpec,
    audio_info,
    convert_channels,
    iter_audio_blocks,
    load_audio,
    resample,
    save_audio,
)

SR = 44100


def tone(freq: float, seconds: float, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    """A float32 sine, shape (samples,)."""
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path: Path, audio: np.ndarray, sr: int = SR, **kwargs: str) -> Path:
    """Write (channels, samples) audio with soundfile itself; return the path."""
    sf.write(path, np.atleast_2d(audio).T, sr, **kwargs)
    return path


def peak_hz(x: np.ndarray, sr: int) -> float:
    """Frequency (Hz) of the largest magnitude-spectrum bin of a 1-D signal."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spectrum)])


def expect_input_error(match: str, func, *args, **kwargs) -> InputError:
    """Call ``func``; check it raises InputError matching ``match`` and no soundfile error."""
    with pytest.raises(InputError, match=match) as excinfo:
        func(*args, **kwargs)
    assert not isinstance(excinfo.value, sf.SoundFileError)
    assert "\n" not in str(excinfo.value)
    return excinfo.value


@pytest.fixture
def stereo_wav(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, np.ndarray]:
    """1 s of two different tones plus a little noise, 44.1 kHz FLOAT wav."""
    x = np.stack([tone(440, 1.0), tone(660, 1.0, amp=0.3)])
    x += 0.01 * rng.standard_normal(x.shape).astype(np.float32)
    return write(tmp_path / "stereo.wav", x, subtype="FLOAT"), x


# --------------------------------------------------------------------------- formats


def test_audio_extensions_are_the_supported_lower_case_suffixes() -> None:
    assert AUDIO_EXTENSIONS == {
        ".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc",
    }
    assert all(ext == ext.lower() and ext.startswith(".") for ext in AUDIO_EXTENSIONS)


# (suffix, libsndfile format, subtype, lossless?)
FORMATS = [
    (".wav", "WAV", "PCM_16", True),
    (".wave", "WAV", "PCM_24", True),
    (".flac", "FLAC", "PCM_16", True),
    (".ogg", "OGG", "VORBIS", False),
    (".oga", "OGG", "VORBIS", False),
    (".mp3", "MP3", "MPEG_LAYER_III", False),
    (".aif", "AIFF", "PCM_16", True),
    (".aiff", "AIFF", "PCM_24", True),
    (".aifc", "AIFF", "FLOAT", True),
]


def test_every_extension_is_covered_by_a_round_trip() -> None:
    assert {suffix for suffix, *_ in FORMATS} == AUDIO_EXTENSIONS


@pytest.mark.parametrize(("suffix", "fmt", "subtype", "lossless"), FORMATS)
def test_each_supported_extension_reads(tmp_path: Path, suffix: str, fmt: str, subtype: str,
                                        lossless: bool) -> None:
    x = np.stack([tone(440, 0.5), tone(1000, 0.5, amp=0.3)])
    path = write(tmp_path / f"x{suffix}", x, format=fmt, subtype=subtype)
    if suffix == ".aifc":
        assert path.read_bytes()[8:12] == b"AIFC"  # really the compressed-AIFF container
    info = audio_info(path)
    assert (info.format, info.subtype) == (fmt, subtype)
    assert (info.samplerate, info.channels, info.frames) == (SR, 2, x.shape[1])
    audio, sr = load_audio(path)
    assert sr == SR and audio.dtype == np.float32 and audio.shape == x.shape
    if lossless:
        np.testing.assert_allclose(audio, x, atol=2.0**-14)
    else:
        assert np.max(np.abs(audio - x)) < 0.05
        assert peak_hz(audio[0], sr) == pytest.approx(440, abs=3)
        assert peak_hz(audio[1], sr) == pytest.approx(1000, abs=3)


def test_upper_case_suffix_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "LOUD.WAV", tone(440, 0.1), format="WAV")
    assert load_audio(path)[0].shape == (1, 4410)


def test_audio_info_reports_the_header(tmp_path: Path) -> None:
    path = write(tmp_path / "a.flac", np.zeros((3, 8000), np.float32), sr=16000,
                 subtype="PCM_24")
    info = audio_info(str(path))
    assert info == AudioInfo(path=path, samplerate=16000, channels=3, frames=8000,
                             duration=0.5, format="FLAC", subtype="PCM_24")
    with pytest.raises(AttributeError):
        info.frames = 1  # type: ignore[misc]


def test_audio_info_does_not_decode_samples(tmp_path: Path) -> None:
    x = tone(440, 0.1)
    x[5] = np.nan  # only decoding could notice this
    path = write(tmp_path / "nan.wav", x, subtype="FLOAT")
    assert audio_info(path).frames == len(x)
    expect_input_error("NaN", load_audio, path)


@pytest.mark.parametrize(("suffix", "subtype"), [(".wav", "PCM_16"), (".wav", "FLOAT"),
                                                 (".flac", "PCM_24")])
def test_load_audio_equals_soundfile_exactly(stereo_wav, tmp_path: Path, suffix: str,
                                             subtype: str) -> None:
    _, x = stereo_wav
    path = write(tmp_path / f"ref{suffix}", np.clip(x, -1, 1), subtype=subtype)
    reference, _ = sf.read(path, dtype="float32", always_2d=True)
    audio, _ = load_audio(path)
    np.testing.assert_array_equal(audio, reference.T)
    assert audio.flags.c_contiguous


# --------------------------------------------------------------------------- read errors


def test_missing_file(tmp_path: Path) -> None:
    expect_input_error(r"'.*nope\.wav' does not exist", load_audio, tmp_path / "nope.wav")


@pytest.mark.parametrize("func", [audio_info, load_audio, iter_audio_blocks])
def test_directory_is_refused(tmp_path: Path, func) -> None:
    folder = tmp_path / "songs.wav"
    folder.mkdir()
    expect_input_error("songs.wav' is a directory", func, folder)


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").touch()
    expect_input_error(r"empty\.wav' is empty \(0 bytes\)", load_audio, tmp_path / "empty.wav")


@pytest.mark.parametrize("func", [load_audio, iter_audio_blocks])
def test_file_with_zero_frames(tmp_path: Path, func) -> None:
    path = write(tmp_path / "silent.wav", np.zeros((1, 0), np.float32))
    assert audio_info(path).frames == 0
    expect_input_error(r"silent\.wav' contains no audio frames", func, path)


@pytest.mark.parametrize("func", [audio_info, load_audio, iter_audio_blocks])
def test_random_bytes_are_not_audio(tmp_path: Path, rng: np.random.Generator, func) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    expect_input_error(r"cannot read '.*x\.wav' .*corrupt or not an audio file", func, path)


def test_truncated_header(tmp_path: Path) -> None:
    real = write(tmp_path / "real.wav", tone(440, 0.1))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(real.read_bytes()[:20])
    err = expect_input_error(r"cannot read '.*cut\.wav'.*corrupt", load_audio, cut)
    assert isinstance(err.__cause__, sf.SoundFileError)  # translated, with the cause kept


@pytest.mark.parametrize("suffix", [".wav", ".aiff"])
@pytest.mark.parametrize("func", [audio_info, load_audio, iter_audio_blocks])
def test_audio_cut_short_is_refused_not_read_in_part(tmp_path: Path, suffix: str,
                                                      func) -> None:
    real = write(tmp_path / f"real{suffix}", tone(440, 0.5))
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(real.read_bytes()[:5000])       # header intact, most samples gone
    assert 0 < sf.info(cut).frames < sf.info(real).frames     # libsndfile reads the rest
    expect_input_error(rf"cut\{suffix}' is truncated: its header announces \d+ bytes of "
                       r"audio .* the file holds \d+", func, cut)


def test_streamed_wav_with_unknown_length_is_read(tmp_path: Path) -> None:
    """Writers to a pipe put 0xFFFFFFFF (or sox's 0x7FFFF000) in the size fields."""
    data = bytearray(write(tmp_path / "real.wav", tone(440, 0.5)).read_bytes())
    at = data.find(b"data")
    for size in (0xFFFFFFFF, 0x7FFFF000):
        data[4:8] = data[at + 4:at + 8] = size.to_bytes(4, "little")
        path = tmp_path / "streamed.wav"
        path.write_bytes(bytes(data))
        np.testing.assert_array_equal(load_audio(path)[0], load_audio(tmp_path / "real.wav")[0])


@pytest.mark.parametrize("name", ["notes.txt", "song.opus", "noext"])
def test_unknown_extension_is_read_by_content(tmp_path: Path, name: str) -> None:
    real = write(tmp_path / "real.wav", tone(440, 0.1))
    path = tmp_path / name
    path.write_bytes(real.read_bytes())             # audio under any name is read
    np.testing.assert_array_equal(load_audio(path)[0], load_audio(real)[0])
    path.write_text("onset,offset,pitch\n0,1,60\n")  # what is not audio is refused
    err = expect_input_error("is not audio that can be read", load_audio, path)
    assert name in str(err)
    assert all(ext in str(err) for ext in AUDIO_EXTENSIONS)


def test_zero_sample_rate_header_is_reported(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # libsndfile itself refuses such headers; this checks our own guard behind it.
    class ZeroRate(sf.SoundFile):
        @property
        def samplerate(self) -> int:
            return 0

    path = write(tmp_path / "a.wav", tone(440, 0.1))
    monkeypatch.setattr(audio_mod.sf, "SoundFile", ZeroRate)
    expect_input_error(r"sample rate 0 Hz in '.*a\.wav': the file header is corrupt",
                       load_audio, path)


def test_nan_and_inf_are_counted_and_located(tmp_path: Path) -> None:
    x = np.zeros((2, SR), np.float32)
    x[1, 11025] = np.nan  # first bad sample at 0.25 s
    x[0, 22050] = np.inf
    x[1, 30000] = -np.inf
    path = write(tmp_path / "bad.wav", x, subtype="FLOAT")
    expect_input_error(r"bad\.wav' contains 3 NaN/inf samples, the first at 0\.250 s",
                       load_audio, path)
    # the time is absolute in the file, also when reading from an offset
    expect_input_error(r"contains 2 NaN/inf samples, the first at 0\.500 s",
                       load_audio, path, offset=0.4)
    # a span without bad samples loads
    assert load_audio(path, duration=0.2)[0].shape == (2, 8820)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(("option", "value", "match"), [
    ("sr", 0, "sample rate 0 Hz"),
    ("sr", -16000, "sample rate -16000 Hz"),
    ("sr", 22050.5, "sample rate 22050.5 Hz"),
    ("sr", True, "sample rate True Hz"),
    ("channels", "left", "channels='left' is not valid"),
    ("channels", 0, "channels=0 is not valid"),
    ("channels", True, "channels=True is not valid"),
    ("offset", -1.0, "offset -1.0 s is not valid"),
    ("offset", math.nan, "offset nan s is not valid"),
    ("duration", 0.0, "duration 0.0 s is not valid"),
    ("duration", math.inf, "duration inf s is not valid"),
])
def test_bad_option_values_are_parameter_errors(stereo_wav, option: str, value: Any,
                                                match: str) -> None:
    path, _ = stereo_wav
    with pytest.raises(ParameterError, match=match):
        load_audio(path, **{option: value})


def test_duration_shorter_than_a_sample(stereo_wav) -> None:
    path, _ = stereo_wav
    with pytest.raises(ParameterError, match="shorter than one sample at 44100 Hz"):
        load_audio(path, duration=1e-6)


def test_bad_options_are_reported_before_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        load_audio(tmp_path / "missing.wav", sr=0)


# --------------------------------------------------------------------------- channels


def test_mono_file_channel_policies(tmp_path: Path) -> None:
    x = tone(440, 0.2)
    path = write(tmp_path / "mono.wav", x, subtype="FLOAT")
    policies: list[tuple[ChannelSpec, int]] = [(None, 1), ("mono", 1), ("stereo", 2), (1, 1),
                                               (4, 4)]
    for channels, count in policies:
        audio, _ = load_audio(path, channels=channels)
        assert audio.shape == (count, len(x)), channels
        np.testing.assert_array_equal(audio, np.tile(x, (count, 1)))


def test_stereo_file_channel_policies(stereo_wav) -> None:
    path, x = stereo_wav
    np.testing.assert_array_equal(load_audio(path)[0], x)
    np.testing.assert_array_equal(load_audio(path, channels="stereo")[0], x)
    np.testing.assert_array_equal(load_audio(path, channels=2)[0], x)
    mono, _ = load_audio(path, channels="mono")
    np.testing.assert_allclose(mono, (x[:1] + x[1:]) / 2, atol=1e-7)
    expect_input_error(r"stereo\.wav' has 2 channels, not 1: use channels='mono'",
                       load_audio, path, channels=1)
    expect_input_error("has 2 channels, not 3", load_audio, path, channels=3)


def test_multichannel_file_channel_policies(tmp_path: Path, rng: np.random.Generator) -> None:
    x = (0.3 * rng.standard_normal((3, 1000))).astype(np.float32)
    path = write(tmp_path / "three.wav", x, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path)[0], x)
    np.testing.assert_array_equal(load_audio(path, channels=3)[0], x)
    np.testing.assert_allclose(load_audio(path, channels="mono")[0], x.mean(0, keepdims=True),
                               atol=1e-7)
    expect_input_error(
        r"three\.wav' has 3 channels and channels='stereo' only accepts mono or stereo: "
        r"use channels='mono' to downmix or channels=3",
        load_audio, path, channels="stereo")
    # the channel check comes from the header, so streaming refuses at call time
    expect_input_error("has 3 channels", iter_audio_blocks, path, channels="stereo")


def test_convert_channels_on_arrays(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 50)).astype(np.float64)
    mono = convert_channels(x, "mono")
    assert mono.dtype == np.float32 and mono.shape == (1, 50)
    np.testing.assert_allclose(mono[0], x.mean(0), rtol=0, atol=1e-6)
    one_d = convert_channels(x[0], None)
    assert one_d.shape == (1, 50)
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(convert_channels(x32[0], 3), np.tile(x32[0], (3, 1)))
    np.testing.assert_array_equal(convert_channels(x, "stereo"), x32)
    with pytest.raises(InputError, match="'vocals' has 2 channels, not 5"):
        convert_channels(x, 5, name="vocals")
    with pytest.raises(InputError, match=r"shape \(2, 3, 4\)"):
        convert_channels(np.zeros((2, 3, 4)), None)
    with pytest.raises(InputError, match="no channels"):
        convert_channels(np.zeros((0, 4)), "mono")
    with pytest.raises(ParameterError, match="channels='both'"):
        convert_channels(x, "both")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- resampling


def test_resample_keeps_frequency_and_length() -> None:
    n = SR + 123
    x = tone(440, n / SR)
    y = resample(x, SR, 16000)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == round(n * 16000 / SR)
    assert peak_hz(y, 16000) == pytest.approx(440, abs=2)
    # away from the edges it is the same sine sampled at the new rate
    ideal = tone(440, len(y) / 16000, sr=16000)
    np.testing.assert_allclose(y[500:-500], ideal[500:-500], atol=1e-3)


def test_resample_up_and_per_channel() -> None:
    x = np.stack([tone(440, 0.5, sr=16000), tone(1000, 0.5, sr=16000)])
    y = resample(x, 16000, 48000)
    assert y.shape == (2, 24000)
    for channel, freq in zip(y, (440, 1000), strict=True):
        ideal = tone(freq, 0.5, sr=48000)
        np.testing.assert_allclose(channel[1000:-1000], ideal[1000:-1000], atol=1e-3)


def test_resample_is_band_limited() -> None:
    x = tone(10000, 0.5)  # above the 8 kHz Nyquist frequency of 16 kHz
    y = resample(x, SR, 16000)
    assert np.sqrt(np.mean(y[200:-200] ** 2)) < 1e-3 * np.sqrt(np.mean(x**2))


def test_resample_identity_and_empty(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 100)).astype(np.float32)
    np.testing.assert_array_equal(resample(x, 22050, 22050), x)
    assert resample(np.zeros((2, 0), np.float32), SR, 16000).shape == (2, 0)


@pytest.mark.parametrize(("orig", "target"), [(0, 16000), (SR, -16000), (SR, 0.5)])
def test_resample_rejects_bad_rates(orig: int, target: int) -> None:
    with pytest.raises(ParameterError, match="Hz is not valid"):
        resample(np.zeros(10, np.float32), orig, target)


def test_load_audio_resamples_like_resample(stereo_wav) -> None:
    path, x = stereo_wav
    audio, sr = load_audio(path, sr=16000)
    assert sr == 16000 and audio.shape == (2, 16000)
    np.testing.assert_array_equal(audio, resample(x, SR, 16000))
    same, sr_same = load_audio(path, sr=SR)
    assert sr_same == SR
    np.testing.assert_array_equal(same, x)


# --------------------------------------------------------------------------- offset


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_offset_and_duration_read_the_span(tmp_path: Path, rng: np.random.Generator,
                                           suffix: str) -> None:
    x = (0.3 * rng.standard_normal((2, SR))).astype(np.float32)
    path = write(tmp_path / f"n{suffix}", x, subtype="PCM_24")
    full, _ = load_audio(path)
    part, _ = load_audio(path, offset=0.25, duration=0.1)
    np.testing.assert_array_equal(part, full[:, 11025:11025 + 4410])
    tail, _ = load_audio(path, offset=0.9)
    np.testing.assert_array_equal(tail, full[:, 39690:])
    past_end, _ = load_audio(path, offset=0.9, duration=5.0)  # stops at the end
    np.testing.assert_array_equal(past_end, full[:, 39690:])


def test_offset_decodes_only_the_span(stereo_wav, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = stereo_wav
    frames_read: list[int] = []
    real = audio_mod._read_raw

    def counting(f, buf, p):
        n = real(f, buf, p)
        frames_read.append(n)
        return n

    monkeypatch.setattr(audio_mod, "_read_raw", counting)
    audio, _ = load_audio(path, offset=0.5, duration=0.01)
    assert audio.shape == (2, 441)
    assert sum(frames_read) == 441  # seeked, not decoded from the start


def test_mp3_offset_is_sample_accurate(tmp_path: Path) -> None:
    # libsndfile's MPEG seek restarts the decoder; load_audio must not show that.
    path = write(tmp_path / "t.mp3", tone(440, 1.0), format="MP3")
    full, _ = load_audio(path)
    part, _ = load_audio(path, offset=0.3, duration=0.4)
    np.testing.assert_array_equal(part, full[:, 13230:13230 + 17640])


@pytest.mark.parametrize("offset", [1.0, 1.5])
def test_offset_at_or_beyond_the_end(stereo_wav, offset: float) -> None:
    path, _ = stereo_wav
    expect_input_error(rf"offset {offset:.3f} s is beyond the end of '.*stereo\.wav' "
                       r"\(1\.000 s long\)", load_audio, path, offset=offset)


# --------------------------------------------------------------------------- streaming


def collect(blocks: list[AudioBlock]) -> np.ndarray:
    return np.concatenate([b.audio for b in blocks], axis=1)


@pytest.mark.parametrize("block_seconds", [0.1, 0.37, 1.0, 30.0])
def test_streaming_equals_whole_file_exactly(stereo_wav, block_seconds: float) -> None:
    path, _ = stereo_wav
    whole, sr = load_audio(path)
    blocks = list(iter_audio_blocks(path, block_seconds=block_seconds))
    frames = round(block_seconds * SR)
    assert len(blocks) == math.ceil(whole.shape[1] / frames)
    assert all(b.audio.shape[1] == frames for b in blocks[:-1])
    assert all(b.sr == sr and b.audio.dtype == np.float32 for b in blocks)
    np.testing.assert_array_equal(collect(blocks), whole)


@pytest.mark.parametrize("block_seconds", [0.05, 0.37, 2.0])
@pytest.mark.parametrize(("sr", "channels"), [(16000, None), (48000, "mono"),
                                              (22050, "stereo"), (None, "mono")])
def test_streaming_equals_whole_file_when_converting(stereo_wav, block_seconds: float,
                                                     sr: int | None, channels) -> None:
    path, _ = stereo_wav
    whole, out_sr = load_audio(path, sr=sr, channels=channels)
    blocks = list(iter_audio_blocks(path, block_seconds=block_seconds, sr=sr,
                                    channels=channels))
    starts = np.cumsum([0] + [b.audio.shape[1] for b in blocks])
    assert [b.start for b in blocks] == starts[:-1].tolist()
    assert all(b.audio.shape[1] > 0 and b.sr == out_sr for b in blocks)
    streamed = collect(blocks)
    assert streamed.shape == whole.shape  # the resampler was flushed
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-5)


def test_streaming_duplicates_mono_after_resampling(tmp_path: Path) -> None:
    x = tone(440, 0.7)
    path = write(tmp_path / "m.flac", x, subtype="PCM_24")
    whole, _ = load_audio(path, sr=16000, channels=3)
    streamed = collect(list(iter_audio_blocks(path, block_seconds=0.3, sr=16000, channels=3)))
    assert whole.shape == streamed.shape == (3, round(len(x) * 16000 / SR))
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(streamed[0], streamed[2])


def test_streaming_mp3_matches_whole_file(tmp_path: Path) -> None:
    # soundfile's read() seeks after every call, which corrupts libsndfile's MPEG decoding
    path = write(tmp_path / "t.mp3", tone(440, 1.0), format="MP3")
    whole, _ = load_audio(path)
    np.testing.assert_array_equal(collect(list(iter_audio_blocks(path, block_seconds=0.1))),
                                  whole)


def test_streaming_reads_block_by_block(stereo_wav, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = stereo_wav
    requested: list[int] = []
    real = audio_mod._read

    def spy(f, frames, p):
        requested.append(frames)
        return real(f, frames, p)

    monkeypatch.setattr(audio_mod, "_read", spy)
    blocks = iter_audio_blocks(path, block_seconds=0.25, sr=16000)
    first = next(blocks)
    assert requested == [11025]  # only the first block was read so far
    assert first.start == 0
    rest = list(blocks)
    assert set(requested) == {11025} and len(requested) == 5  # 4 blocks + the empty read
    assert sum(b.audio.shape[1] for b in [first, *rest]) == 16000


def test_streaming_reports_nan_in_its_block(tmp_path: Path) -> None:
    x = tone(440, 1.0)
    x[round(0.75 * SR)] = np.nan
    path = write(tmp_path / "bad.wav", x, subtype="FLOAT")
    blocks = iter_audio_blocks(path, block_seconds=0.5)
    assert next(blocks).audio.shape == (1, 22050)  # the clean first block comes through
    with pytest.raises(InputError, match=r"bad\.wav' contains 1 NaN/inf samples in the block "
                                         r"starting at 0\.500 s, the first at 0\.750 s"):
        next(blocks)


def test_streaming_checks_arguments_at_call_time(stereo_wav, tmp_path: Path) -> None:
    path, _ = stereo_wav
    expect_input_error("does not exist", iter_audio_blocks, tmp_path / "gone.wav")
    with pytest.raises(ParameterError, match="block_seconds 0 s is not valid"):
        iter_audio_blocks(path, block_seconds=0)
    with pytest.raises(ParameterError, match="sample rate -1 Hz"):
        iter_audio_blocks(path, sr=-1)


# --------------------------------------------------------------------------- saving


@pytest.mark.parametrize(("suffix", "subtype", "atol"), [
    (".wav", "PCM_16", 2.0**-14),
    (".wav", "PCM_24", 2.0**-22),
    (".wav", "FLOAT", 0.0),
    (".flac", "PCM_16", 2.0**-14),
    (".flac", "PCM_24", 2.0**-22),
])
def test_save_round_trip(tmp_path: Path, rng: np.random.Generator, suffix: str,
                         subtype: str, atol: float) -> None:
    x = np.clip(0.4 * rng.standard_normal((2, 3000)), -1, 1).astype(np.float32)
    x[:, :2] = [[1.0, -1.0], [-1.0, 1.0]]  # full scale survives
    out = save_audio(tmp_path / "deep" / "er" / f"y{suffix}", x, 22050, subtype=subtype)
    assert out == tmp_path / "deep" / "er" / f"y{suffix}" and out.is_file()
    info = audio_info(out)
    assert (info.subtype, info.samplerate, info.channels) == (subtype, 22050, 2)
    back, sr = load_audio(out)
    assert sr == 22050
    np.testing.assert_allclose(back, x, rtol=0, atol=atol)
    if atol:
        assert np.max(np.abs(back - x)) > 0  # really quantised: the tolerance is needed
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temp files left


def test_save_one_dimensional_and_float64(tmp_path: Path) -> None:
    x = tone(440, 0.1).astype(np.float64)
    out = save_audio(tmp_path / "m.wav", x, SR, subtype="FLOAT")
    back, _ = load_audio(out)
    assert back.shape == (1, len(x))
    np.testing.assert_array_equal(back[0], x.astype(np.float32))


def test_save_overwrites_atomically(tmp_path: Path) -> None:
    path = tmp_path / "o.wav"
    save_audio(path, np.full(100, 0.5), 8000, subtype="FLOAT")
    save_audio(path, np.full(50, -0.25), 8000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path)[0], np.full((1, 50), -0.25, np.float32))


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "keep.flac"
    save_audio(path, np.full(100, 0.5), 8000)
    before = path.read_bytes()
    nine = np.zeros((9, 100), np.float32)  # FLAC holds at most 8 channels
    expect_input_error(r"cannot write '.*keep\.flac'", save_audio, path, nine, 8000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.flac"]


LOUD = np.array([[0.5, 2.0, -4.0, 0.25]], np.float32)


def test_clip_policy_clip(tmp_path: Path) -> None:
    out = save_audio(tmp_path / "c.wav", LOUD, 8000, subtype="FLOAT", clip="clip")
    np.testing.assert_array_equal(load_audio(out)[0], [[0.5, 1.0, -1.0, 0.25]])
    out16 = save_audio(tmp_path / "c16.wav", LOUD, 8000)  # default: clip
    np.testing.assert_allclose(load_audio(out16)[0], [[0.5, 1.0, -1.0, 0.25]], atol=2.0**-14)


def test_clip_policy_rescale(tmp_path: Path) -> None:
    out = save_audio(tmp_path / "r.wav", LOUD, 8000, subtype="FLOAT", clip="rescale")
    np.testing.assert_allclose(load_audio(out)[0], LOUD / 4, rtol=1e-7)
    quiet = LOUD / 8
    out = save_audio(tmp_path / "q.wav", quiet, 8000, subtype="FLOAT", clip="rescale")
    np.testing.assert_array_equal(load_audio(out)[0], quiet)  # peak <= 1: left alone


def test_clip_policy_error(tmp_path: Path) -> None:
    expect_input_error(r"audio for '.*e\.wav' peaks at 4, beyond full scale",
                       save_audio, tmp_path / "e.wav", LOUD, 8000, clip="error")
    assert not (tmp_path / "e.wav").exists()
    ok = save_audio(tmp_path / "ok.wav", LOUD / 4, 8000, clip="error")  # exactly 1.0 is fine
    assert audio_info(ok).frames == 4


def test_clip_policy_none_only_for_float(tmp_path: Path) -> None:
    out = save_audio(tmp_path / "n.wav", LOUD, 8000, subtype="FLOAT", clip="none")
    np.testing.assert_array_equal(load_audio(out)[0], LOUD)
    with pytest.raises(ParameterError, match="clip='none' cannot be used with subtype PCM_24"):
        save_audio(tmp_path / "n24.wav", LOUD, 8000, subtype="PCM_24", clip="none")


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("x.flac", {"subtype": "FLOAT"}, r"subtype 'FLOAT' cannot be written to '.*x\.flac'"),
    ("x.wav", {"subtype": "PCM_8"}, "subtype 'PCM_8' cannot be written"),
    ("x.wav", {"clip": "soft"}, "clip='soft' is not valid"),
    ("x.mp3", {}, r"cannot write '.*x\.mp3': save_audio writes \.wav or \.flac"),
    ("x", {}, "save_audio writes"),
    ("x.wav", {"sr": 0}, "sample rate 0 Hz is not valid"),
])
def test_save_rejects_bad_options(tmp_path: Path, name: str, kwargs: dict, match: str) -> None:
    sr = kwargs.pop("sr", 8000)
    with pytest.raises(ParameterError, match=match):
        save_audio(tmp_path / name, np.zeros(10, np.float32), sr, **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("audio", "match"), [
    (np.array([0.0, np.nan, np.inf, 0.0]), r"contains 2 NaN/inf samples, the first at 0\.000"),
    (np.zeros(10, np.int16), "dtype int16: convert it to float"),
    (np.zeros((2, 3, 4)), r"shape \(2, 3, 4\)"),
    (np.zeros((2, 0)), "no samples"),
    (np.zeros((SR, 2)), r"more channels than samples.*pass audio\.T"),
])
def test_save_rejects_bad_arrays(tmp_path: Path, audio: np.ndarray, match: str) -> None:
    expect_input_error(match, save_audio, tmp_path / "b.wav", audio, 8000, subtype="FLOAT")
    assert list(tmp_path.iterdir()) == []


def test_save_to_a_directory_path(tmp_path: Path) -> None:
    (tmp_path / "d.wav").mkdir()
    expect_input_error("is a directory", save_audio, tmp_path / "d.wav", np.zeros(10), 8000)
