"""`mirkit transcribe` and `mirkit.tasks.transcribe`: outputs, streaming, options, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from mirkit.cli.app import app
from mirkit.data.datasets import NoteTable
from mirkit.data.instruments import BY_NAME, CLASSES
from mirkit.models.note_decoding import (
    NOTES_CSV_COLUMNS,
    DecodedNotes,
    decode_notes,
    read_notes_csv,
)
from mirkit.tasks.transcribe import Transcriber, TranscriptionResult, transcribe

TEST_MODEL = "transcribe-unet-test"
SR = 22050                                   # not the model's 16 kHz: inputs are resampled
runner = CliRunner()


def cli(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, ["transcribe", *args], input=stdin)


def rows(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def signal(rng: np.random.Generator, seconds: float, sr: int = SR) -> np.ndarray:
    """Stereo test audio: a gated tone, a bass note, clicks and a little noise."""
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.4 * np.sin(2 * np.pi * 440.0 * t) * ((t % 0.8) < 0.4)
    bass = 0.3 * np.sin(2 * np.pi * 98.0 * t) * (t > 0.6)
    clicks = np.zeros_like(t)
    clicks[(np.arange(0, seconds, 0.5) * sr).astype(int)] = 0.9
    x = tone + bass + clicks + 0.02 * rng.standard_normal(len(t))
    return np.stack([x, 0.7 * x + 0.05 * rng.standard_normal(len(t))]).astype(np.float32)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(20201026)
    sf.write(d / "song.wav", signal(rng, 3.0).T, SR)
    sf.write(d / "other.flac", signal(rng, 1.7).T, SR)
    return d


@pytest.fixture(scope="module")
def thresholds(audio_dir: Path) -> dict[str, float]:
    """Thresholds at the top of the random test model's (narrow) probability range, so that
    it produces notes of several classes."""
    t = Transcriber(TEST_MODEL, device="cpu")
    res = t.transcribe(audio_dir / "song.wav", keep_rolls=True)
    assert res.roll is not None and res.onset is not None

    def class_quantile(p: np.ndarray, rank: int) -> float:
        """The ``rank``-th highest of the classes' 99 % quantiles."""
        return float(np.sort(np.quantile(p.reshape(len(p), -1), 0.99, axis=1))[-rank])

    return {"frame": class_quantile(res.roll, 8), "onset": class_quantile(res.onset, 3)}


def sensitive_model(harmonics: list[float] | None = None) -> Any:
    """The test model with inputs scaled up and output biases at 0: probabilities spread
    around 0.5 and depend strongly on the input, so numerical checks can fail. With
    ``harmonics``, the same model grown to a harmonic-stacked input whose new channels get
    random weights (so that they matter)."""
    import dataclasses

    import torch

    from mirkit.models.registry import load_model
    from mirkit.models.transcription import TranscriptionUNet

    loaded = load_model(TEST_MODEL)
    if harmonics is not None:
        module = TranscriptionUNet(**{**loaded.config, "harmonics": harmonics})
        module.grow_from(loaded.module.state_dict(), loaded.config)
        with torch.no_grad():
            torch.manual_seed(0)
            module.enc[0].conv1.weight.add_(0.3 * torch.randn_like(module.enc[0].conv1.weight))
        loaded = dataclasses.replace(loaded, module=module.eval(), config=module.config)
    n = loaded.module.n_input_bins
    loaded.module.set_feature_stats(np.full(n, 0.5), np.full(n, 0.05))
    with torch.no_grad():
        loaded.module.roll_head.bias.zero_()
        loaded.module.onset_head[-1].bias.zero_()
    return loaded


def decode_args(th: dict[str, float]) -> list[str]:
    return ["--frame-threshold", repr(th["frame"]), "--onset-threshold", repr(th["onset"]),
            "--min-note-ms", "0"]


# ------------------------------------------------------------------ outputs


def test_outputs_exist_parse_and_agree(audio_dir: Path, tmp_path: Path,
                                       thresholds: dict[str, float]) -> None:
    import pretty_midi
    from matplotlib.image import imread

    out = tmp_path / "out"
    res = cli(str(audio_dir / "song.wav"), "-o", str(out), "--model", TEST_MODEL,
              *decode_args(thresholds), "--save-roll", "--plot", "--resolution", "0.5",
              "--device", "cpu")
    assert res.exit_code == 0, res.stderr
    (row,) = rows(res.stdout)
    assert row["status"] == "done" and row["duration"] == 3.0
    n_frames = 1 + 48000 // 512                                # 3 s at 16 kHz, centred frames
    assert row["frames"] == n_frames
    assert sorted(os.listdir(out)) == ["song.activity.csv", "song.mid", "song.notes.csv",
                                       "song.png", "song.roll.npz"]

    # the files hold what the library computes
    t = Transcriber(TEST_MODEL, device="cpu", frame_threshold=thresholds["frame"],
                    onset_threshold=thresholds["onset"], min_note_ms=0)
    api = t.transcribe(audio_dir / "song.wav")
    assert len(api.instruments_found) >= 2 and row["notes"] == len(api.notes) > 10
    assert row["instruments"] == ",".join(api.instruments_found)
    notes = read_notes_csv(out / "song.notes.csv")
    assert (out / "song.notes.csv").read_text().splitlines()[0] == ",".join(NOTES_CSV_COLUMNS)
    np.testing.assert_allclose(notes.onset, api.notes.onset, atol=1e-6)
    np.testing.assert_array_equal(notes.pitch, api.notes.pitch)
    np.testing.assert_array_equal(notes.instrument, api.notes.instrument)

    midi = pretty_midi.PrettyMIDI(str(out / "song.mid"))
    assert [i.name for i in midi.instruments] == list(api.instruments_found)
    for inst in midi.instruments:
        assert inst.program == BY_NAME[inst.name].programs[0]
        assert inst.is_drum == (inst.name == "drums")
        sel = api.notes.instrument == inst.name
        got = sorted((round(n.start, 3), n.pitch) for n in inst.notes)
        want = sorted(zip(np.round(api.notes.onset[sel], 3).tolist(),
                          api.notes.pitch[sel].tolist(), strict=True))
        assert got == want

    lines = (out / "song.activity.csv").read_text().splitlines()
    assert lines[0] == "time," + ",".join(CLASSES)
    assert len(lines) - 1 == 6                                # 3 s in windows of 0.5 s
    assert [float(x.split(",")[0]) for x in lines[1:]] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    first = np.array([float(v) for v in lines[1].split(",")[1:]])
    frames_in_first = int(np.sum(np.arange(n_frames) * 512 / 16000 < 0.5))
    np.testing.assert_allclose(first, api.instrument[:, :frames_in_first].max(axis=1),
                               atol=6e-5)

    with np.load(out / "song.roll.npz") as z:
        assert z["roll"].shape == z["onset"].shape == (len(CLASSES), 88, n_frames)
        assert z["pitch"].shape == (88, n_frames)
        assert z["instrument"].shape == (len(CLASSES), n_frames)
        assert z["roll"].dtype == np.float16
        assert list(z["classes"]) == list(CLASSES)
        assert z["pitches"].tolist() == list(range(21, 109))
        np.testing.assert_allclose(z["times"], np.arange(n_frames) * 0.032)
        np.testing.assert_allclose(z["instrument"], api.instrument, atol=1e-4)
        assert int(z["sr"]) == 16000 and int(z["hop"]) == 512

    image = imread(out / "song.png")
    assert image.ndim == 3 and image.shape[0] >= 400 and image.shape[1] >= 800
    assert image.std() > 0.01                                  # something is drawn


def test_activity_per_frame_by_default(audio_dir: Path, tmp_path: Path) -> None:
    res = cli(str(audio_dir / "other.flac"), "-o", str(tmp_path), "--model", TEST_MODEL)
    assert res.exit_code == 0, res.stderr
    lines = (tmp_path / "other.activity.csv").read_text().splitlines()
    n = int(1.7 * SR)
    assert len(lines) - 1 == 1 + round(n * 16000 / SR) // 512
    assert sorted(os.listdir(tmp_path)) == ["other.activity.csv", "other.mid",
                                            "other.notes.csv"]


# ------------------------------------------------------------------ streaming


def _reference(t: Transcriber, audio: np.ndarray) -> dict[str, np.ndarray]:
    """Whole-signal probabilities without any chunking: the log-CQT of the signal with
    silence around it, then the U-Net on the whole feature sequence with silence around it."""
    import torch

    from mirkit.io.audio import convert_channels, resample

    x = resample(convert_channels(audio, "mono")[0], SR, 16000)
    n_frames = 1 + len(x) // 512
    pad = t.audio_context
    with torch.no_grad():
        feats = t.frontend(torch.from_numpy(np.pad(x, (pad, pad + 512)))[None])
        feats = feats[..., pad // 512:pad // 512 + n_frames]
        c = t.context
        out = t.loaded.module(torch.nn.functional.pad(feats, (c, c)))
    return {k: torch.sigmoid(v[0, ..., c:c + n_frames]).numpy() for k, v in out.items()}


@pytest.mark.parametrize("harmonics", [None, [0.5, 1, 2, 3]])
def test_chunked_equals_whole_signal(rng: np.random.Generator,
                                     harmonics: list[float] | None) -> None:
    audio = signal(rng, 2.5)
    whole = Transcriber(sensitive_model(harmonics), device="cpu", chunk_seconds=1000.0,
                        min_note_ms=0)
    small = Transcriber(sensitive_model(harmonics), device="cpu", chunk_seconds=0.5,
                        batch_size=3, min_note_ms=0)
    assert small.chunk_frames == 16                                 # several windows
    a = whole.transcribe(audio, sr=SR, keep_rolls=True)
    b = small.transcribe(audio, sr=SR, keep_rolls=True)
    ref = _reference(whole, audio)
    assert a.n_frames > 4 * small.chunk_frames
    for key in ("roll", "onset", "pitch", "instrument"):
        got_a, got_b = getattr(a, key), getattr(b, key)
        assert got_a.shape == got_b.shape == ref[key].shape
        np.testing.assert_allclose(got_b, got_a, atol=1e-5, rtol=0, err_msg=key)
        np.testing.assert_allclose(got_a, ref[key], atol=1e-5, rtol=0, err_msg=key)
    assert len(a.notes) > 0
    for col in NOTES_CSV_COLUMNS[:-1]:
        np.testing.assert_array_equal(a.notes[col], b.notes[col])
    np.testing.assert_allclose(a.notes.confidence, b.notes.confidence, atol=1e-5)

    # away from the ends (context of the CQT and the U-Net), the plain model on the plain
    # signal agrees too: the padding above only decides what lies beyond the signal
    import torch

    from mirkit.io.audio import convert_channels, resample

    x = resample(convert_channels(audio, "mono")[0], SR, 16000)
    with torch.no_grad():
        plain = torch.sigmoid(whole.loaded.module(whole.frontend(torch.from_numpy(x)[None]))
                              ["roll"][0]).numpy()
    edge = whole.context + whole.audio_context // 512
    np.testing.assert_allclose(plain[..., edge:-edge], a.roll[..., edge:-edge], atol=1e-5)


@pytest.mark.parametrize("depth", [2, 4])                # the test model's, the default's
def test_context_covers_the_receptive_field(depth: int) -> None:
    import torch

    from mirkit.models.transcription import TranscriptionUNet
    from mirkit.tasks.transcribe import context_frames

    torch.manual_seed(depth)
    model = TranscriptionUNet(base_channels=2, depth=depth).eval()
    m, n, first = model.frame_multiple, 256, 128
    x = torch.rand(1, 88, n).repeat(m + 1, 1, 1)
    for j in range(m):                          # one impulse per phase of the sampling grid
        x[j + 1, :, first + j] += 1.0
    with torch.no_grad():
        out = model(x)
    reach = 0
    for j in range(m):
        changed = torch.zeros(n, dtype=torch.bool)
        for value in out.values():
            changed |= (value[j + 1] - value[0]).abs().reshape(-1, n).amax(0) > 0
        idx = torch.nonzero(changed).flatten()
        reach = max(reach, first + j - int(idx.min()), int(idx.max()) - first - j)
    assert reach > m                                   # the measurement sees something
    assert reach <= context_frames(model) and context_frames(model) % m == 0


def test_sparse_decoding_equals_decoding_the_full_rolls(audio_dir: Path) -> None:
    cases = [(None, 0.55, True, "per-instrument"), (None, 0.55, False, "per-instrument"),
             (["drums", "oboe", "piano"], 0.45, True, "per-instrument"),
             (None, 0.55, True, "pitch-first"), (None, 0.55, False, "pitch-first"),
             (["drums", "oboe", "piano"], 0.45, True, "pitch-first")]
    # the class vote (rule 10) over a window shorter than the input, and over all of it
    cases += [(None, 0.55, True, "pitch-first", 0.3, 0.5),
              (None, 0.55, False, "pitch-first", 0.2, float("inf"))]
    # re-articulations held to a higher threshold (rule 3), both decoders
    cases += [(None, 0.55, True, "pitch-first", 0.0, 30.0, 0.8),
              (None, 0.55, True, "per-instrument", 0.0, 30.0, 0.8)]
    relabelled = merged = 0
    for instruments, th, use_onsets, decoder, *vote in cases:
        ft = ot = th
        share, window, reonset = (vote + [None])[:3] if vote else (0.0, 30.0, None)
        t = Transcriber(sensitive_model(), device="cpu", frame_threshold=ft, onset_threshold=ot,
                        min_note_ms=60, use_onsets=use_onsets, chunk_seconds=1.0,
                        instruments=instruments, decoder=decoder, min_class_share=share,
                        class_window_seconds=window, reonset_threshold=reonset)
        res = t.transcribe(audio_dir / "song.wav", keep_rolls=True)
        # --instruments filters the notes decoded from every class
        every = res if instruments is None else Transcriber(
            sensitive_model(), device="cpu", chunk_seconds=1.0).transcribe(
            audio_dir / "song.wav", keep_rolls=True)
        full = decode_notes(every.roll, every.onset if use_onsets else None, sr=16000,
                            hop=512, classes=every.classes, frame_threshold=ft,
                            onset_threshold=ot, min_note_seconds=0.06, use_onsets=use_onsets,
                            decoder=decoder, min_class_share=share,
                            class_window_seconds=window, reonset_threshold=reonset)
        if instruments is not None:
            kept = np.isin(full.instrument, instruments)
            full = DecodedNotes(NoteTable(full.notes.onset[kept], full.notes.offset[kept],
                                          full.notes.pitch[kept], full.notes.velocity[kept],
                                          full.notes.class_[kept]), full.confidence[kept])
            np.testing.assert_array_equal(res.roll, every.roll[[CLASSES.index(c) for c in
                                                                res.classes]])
        if share or reonset:
            plain = decode_notes(res.roll, res.onset if use_onsets else None, sr=16000,
                                 hop=512, classes=res.classes, frame_threshold=ft,
                                 onset_threshold=ot, min_note_seconds=0.06,
                                 use_onsets=use_onsets, decoder=decoder)
            if share:
                relabelled += int((plain.instrument != full.instrument).sum())
            else:
                merged += len(plain) - len(full)
        found = set(full.instrument.tolist())
        few = share or (instruments is not None and decoder == "pitch-first")
        assert len(full) > 5 and len(found) >= (1 if few else 2), (instruments, use_onsets,
                                                                   decoder, found)
        assert instruments is None or "drums" in found
        for col in NOTES_CSV_COLUMNS:
            np.testing.assert_array_equal(res.notes[col], full[col], err_msg=col)
    assert relabelled > 0                               # the vote cases test something
    assert merged > 0                                   # and so do the re-onset cases


def test_library_api_on_arrays_and_batches(audio_dir: Path, tmp_path: Path,
                                           rng: np.random.Generator) -> None:
    from mirkit.errors import ParameterError
    from mirkit.tasks.transcribe import transcribe_audio

    mono = signal(rng, 1.0)[0]
    res = transcribe_audio(mono, sr=SR, model=TEST_MODEL, device="cpu")
    assert isinstance(res, TranscriptionResult)
    assert res.instrument.shape == (17, 1 + round(SR * 16000 / SR) // 512)
    assert res.instrument.dtype == np.float32 and res.roll is None
    assert res.duration == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="needs its sample rate"):
        transcribe_audio(mono, model=TEST_MODEL, device="cpu")

    summary = transcribe([audio_dir, tmp_path / "missing.wav"], output=tmp_path / "o",
                         model=TEST_MODEL, device="cpu")
    assert summary.exit_code == 1
    assert [(Path(r.input).name, str(r.status)) for r in summary.results] == [
        ("other.flac", "done"), ("song.wav", "done"), ("missing.wav", "failed")]
    assert (tmp_path / "o" / "song.mid").is_file()


# ------------------------------------------------------------------ options


def test_instruments_restrict_every_output(audio_dir: Path, tmp_path: Path,
                                           thresholds: dict[str, float]) -> None:
    full = Transcriber(TEST_MODEL, device="cpu", frame_threshold=thresholds["frame"],
                       onset_threshold=thresholds["onset"], min_note_ms=0)
    everything = full.transcribe(audio_dir / "song.wav", keep_rolls=True)
    found = everything.instruments_found
    keep = [found[-1], next(c for c in CLASSES if c not in found)]     # one with notes
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path), "--model", TEST_MODEL,
              *decode_args(thresholds), "--instruments", f"{keep[1]}, {keep[0].upper()}",
              "--save-roll")
    assert res.exit_code == 0, res.stderr
    in_order = [c for c in CLASSES if c in keep]
    header = (tmp_path / "song.activity.csv").read_text().splitlines()[0]
    assert header == "time," + ",".join(in_order)
    notes = read_notes_csv(tmp_path / "song.notes.csv")
    assert set(notes.instrument.tolist()) == {keep[0]}
    sel = everything.notes.instrument == keep[0]
    np.testing.assert_array_equal(notes.pitch, everything.notes.pitch[sel])
    with np.load(tmp_path / "song.roll.npz") as z:
        assert z["roll"].shape[0] == 2 and list(z["classes"]) == in_order
        # the pitch roll is pooled over the kept pitched classes only
        pitched = [i for i, c in enumerate(CLASSES) if c in keep and c != "drums"]
        expected = everything.roll[pitched].max(axis=0)
        np.testing.assert_allclose(z["pitch"], expected, atol=1e-4)
    assert not np.allclose(everything.pitch, everything.roll[pitched].max(axis=0))

    # pitch-first labels each note of the pooled roll: restricting only drops the notes
    # of the other classes, it never hands them to a kept class
    kwargs = {"frame_threshold": 0.55, "onset_threshold": 0.55, "min_note_ms": 60,
              "decoder": "pitch-first", "chunk_seconds": 1.0}
    model = sensitive_model()
    pf = Transcriber(model, device="cpu", **kwargs).transcribe(audio_dir / "song.wav")
    labels = pf.notes.instrument
    kept = sorted(set(labels.tolist()) - {"drums"})[:1]
    assert len(set(labels.tolist())) >= 2                      # some notes must go
    only = Transcriber(model, device="cpu", instruments=kept, **kwargs).transcribe(
        audio_dir / "song.wav")
    sel = np.isin(labels, kept)
    for col in NOTES_CSV_COLUMNS:
        np.testing.assert_array_equal(only.notes[col], pf.notes[col][sel], err_msg=col)

    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path / "x"), "--model", TEST_MODEL,
              "--instruments", "piano,kazoo")
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "mirkit: error: unknown instrument class(es) kazoo; choose from " + ", ".join(CLASSES)]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--frame-threshold", "1", "--frame-threshold 1.0 must lie strictly between 0 and 1"),
    ("--frame-threshold", "0", "--frame-threshold 0.0 must lie strictly between 0 and 1"),
    ("--onset-threshold", "-0.2", "--onset-threshold -0.2 must lie strictly between 0 and 1"),
    ("--onset-threshold", "nan", "--onset-threshold nan must lie strictly between 0 and 1"),
    ("--min-note-ms", "-5", "--min-note-ms -5.0 must be a finite number of milliseconds >= 0"),
    ("--drum-note-ms", "0", "--drum-note-ms 0.0 must be a finite number of milliseconds > 0"),
    ("--chunk-seconds", "0", "--chunk-seconds 0.0 must be a positive number of seconds"),
    ("--batch-size", "0", "--batch-size 0 must be a whole number >= 1"),
    ("--decoder", "max", "--decoder 'max' must be one of per-instrument, pitch-first"),
    ("--min-class-share", "1", "--min-class-share 1.0 must lie in [0, 1)"),
    ("--min-class-share", "-0.1", "--min-class-share -0.1 must lie in [0, 1)"),
    ("--class-window", "0", "--class-window 0.0 must be a positive number of seconds"),
    ("--class-window", "nan", "--class-window nan must be a positive number of seconds"),
    ("--reonset-threshold", "0.3", "--reonset-threshold 0.3 must lie in [0.5, 1) (at least "
                                   "the onset threshold, below 1)"),
    ("--reonset-threshold", "1", "--reonset-threshold 1.0 must lie strictly between 0 and 1"),
    ("--threads", "0", "--threads 0: must be at least 1"),
    ("--resolution", "0.01", "--resolution 0.01 must be a number of seconds of at least one "
                             "frame (0.032 s)"),
])
def test_bad_option_values_are_usage_errors(audio_dir: Path, tmp_path: Path, option: str,
                                            value: str, message: str) -> None:
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path / "o"), "--model", TEST_MODEL,
              option, value)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mirkit: error: {message}"), lines
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("options", "message"), [
    (["--onset-threshold", "0.3"], "--onset-threshold has no effect with --no-onsets"),
    (["--reonset-threshold", "0.6"], "--reonset-threshold has no effect with --no-onsets"),
    (["--onset-threshold", "0.3", "--reonset-threshold", "0.6"],
     "--onset-threshold and --reonset-threshold have no effect with --no-onsets"),
])
def test_onset_thresholds_with_no_onsets_are_usage_errors(audio_dir: Path, tmp_path: Path,
                                                          options: list[str],
                                                          message: str) -> None:
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path / "o"), "--model", TEST_MODEL,
              "--no-onsets", *options)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mirkit: error: {message}"), lines
    assert not (tmp_path / "o").exists()
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path / "o"), "--model", TEST_MODEL,
              "--no-onsets", "--frame-threshold", "0.4")
    assert res.exit_code == 0, res.stderr


def test_filename_template(audio_dir: Path, tmp_path: Path) -> None:
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path), "--model", TEST_MODEL,
              "--filename", "{parent}/{track}-notes.{ext}")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / audio_dir.name / "song-notes.mid").is_file()
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path), "--model", TEST_MODEL,
              "--filename", "{track}.out")
    assert res.exit_code == 2 and "include {ext}" in res.stderr


# ------------------------------------------------------------------ existing outputs


def test_refuses_skips_and_overwrites(audio_dir: Path, tmp_path: Path) -> None:
    args = [str(audio_dir / "song.wav"), "-o", str(tmp_path), "--model", TEST_MODEL]
    assert cli(*args).exit_code == 0
    (tmp_path / "song.notes.csv").write_text("keep me")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    res = cli(*args, "--plot")
    assert res.exit_code == 1
    assert (f"mirkit: error: {audio_dir / 'song.wav'}: output '{tmp_path / 'song.mid'}' "
            "exists; pass --overwrite to replace it or --skip-existing to leave it"
            ) in res.stderr.splitlines()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before   # no png, no temp

    res = cli(*args, "--skip-existing")
    assert res.exit_code == 0 and rows(res.stdout)[0]["status"] == "skipped"
    assert (tmp_path / "song.notes.csv").read_text() == "keep me"

    res = cli(*args, "--skip-existing", "--plot")         # song.png missing: redo the input
    assert res.exit_code == 0 and rows(res.stdout)[0]["status"] == "done"
    assert (tmp_path / "song.png").is_file()
    assert (tmp_path / "song.notes.csv").read_text().startswith("onset,offset")

    (tmp_path / "song.notes.csv").write_text("old")
    res = cli(*args, "--overwrite")
    assert res.exit_code == 0
    assert (tmp_path / "song.notes.csv").read_text().startswith("onset,offset")

    assert cli(*args, "--overwrite", "--skip-existing").exit_code == 2



def test_skip_existing_with_an_existing_report_still_runs_new_inputs(audio_dir: Path,
                                                                     tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    first = [str(audio_dir / "song.wav"), "-o", str(tmp_path), "--model", TEST_MODEL,
             "--report", str(report)]
    assert cli(*first).exit_code == 0
    before = report.read_text()
    res = cli(*first, str(audio_dir / "other.flac"), "--skip-existing")
    assert res.exit_code == 0
    assert [r["status"] for r in rows(res.stdout)] == ["skipped", "done"]
    assert (tmp_path / "other.mid").is_file() and report.read_text() == before
    assert "left as it is" in res.stderr

def test_a_failing_input_leaves_nothing(audio_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import mirkit.tasks.transcribe as task
    from mirkit.errors import InputError

    def broken(*args: Any, **kwargs: Any) -> None:
        raise InputError("the disk is full")

    monkeypatch.setattr(task, "plot_notes", broken)
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path), "--model", TEST_MODEL,
              "--plot", "--save-roll")
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == (
        f"mirkit: error: {audio_dir / 'song.wav'}: the disk is full")
    assert os.listdir(tmp_path) == []                        # no outputs, no temporary files


def test_two_inputs_with_one_name_do_not_overwrite_each_other(audio_dir: Path,
                                                               tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "take.flac").write_bytes((audio_dir / "other.flac").read_bytes())
    out = tmp_path / "out"
    res = cli(str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out), "--model",
              TEST_MODEL, "--overwrite")
    assert res.exit_code == 1
    assert [r["status"] for r in rows(res.stdout)] == ["done", "failed"]
    assert "was already written for" in res.stderr and "{parent}" in res.stderr
    res = cli(str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out), "--model",
              TEST_MODEL, "--filename", "{parent}/{track}.{ext}")
    assert res.exit_code == 0, res.stderr
    assert (out / "a" / "take.mid").is_file() and (out / "b" / "take.mid").is_file()


# ------------------------------------------------------------------ inputs and errors


def test_bad_inputs_fail_one_line_each(audio_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "text.wav").write_text("not audio at all")
    (bad / "zero.wav").write_bytes(b"")
    sf.write(bad / "no_frames.wav", np.zeros(0, dtype=np.float32), 16000)
    (bad / "notes.txt").write_text("hello")
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    inputs = [bad / "text.wav", bad / "zero.wav", bad / "no_frames.wav", bad / "notes.txt",
              tmp_path / "missing.wav", empty, audio_dir / "other.flac"]
    res = cli(*map(str, inputs), "-o", str(out), "--model", TEST_MODEL)
    assert res.exit_code == 1
    status = {Path(r["input"]).name: r["status"] for r in rows(res.stdout)}
    assert status == {"text.wav": "failed", "zero.wav": "failed", "no_frames.wav": "failed",
                      "notes.txt": "failed", "missing.wav": "failed", "empty": "failed",
                      "other.flac": "done"}
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("mirkit: error:")]
    assert len(errors) == 6
    expect = {"text.wav": "not an audio file", "zero.wav": "is empty (0 bytes)",
              "no_frames.wav": "no_frames.wav", "notes.txt": "is not audio that can be read",
              "missing.wav": "does not exist", "empty": "holds no supported files"}
    by_input = {str(p): p.name for p in inputs}
    for ln in errors:                       # one line per failed input, in argument order
        assert ln.split(": ")[2] in by_input, ln
    assert [by_input[ln.split(": ")[2]] for ln in errors] == list(expect)
    for name, words in expect.items():
        line = next(ln for ln in errors if ln.split(": ")[2].endswith(name))
        assert words in line, line
    assert "Traceback" not in res.stderr
    assert sorted(os.listdir(out)) == ["other.activity.csv", "other.mid", "other.notes.csv"]


def test_stdin_list_and_shards(audio_dir: Path, tmp_path: Path) -> None:
    files = [audio_dir / "song.wav", audio_dir / "other.flac"]
    stdin = "".join(f"{f}\n" for f in files)
    res = cli("-", "-o", str(tmp_path), "--model", TEST_MODEL, "--shard", "2/2",
              "--format", "csv", stdin=stdin)
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("input,status,notes,instruments,duration,frames,seconds,midi")
    assert len(lines) == 2 and lines[1].startswith(f"{audio_dir / 'other.flac'},done,")
    assert sorted(os.listdir(tmp_path)) == ["other.activity.csv", "other.mid",
                                            "other.notes.csv"]


def test_unknown_or_missing_model_is_a_usage_error(audio_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from mirkit.models import registry

    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path / "o"), "--model",
              "does-not-exist")
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "mirkit: error: unknown model 'does-not-exist' (`mirkit models list` shows them; "
        "--model also takes a checkpoint file path)"]

    # the default model, registered but with its weights missing
    table = tmp_path / "models.json"
    table.write_text(json.dumps({"models": [{
        "name": "transcribe-unet", "arch": "transcription-unet", "config": {},
        "task": "transcribe", "weights": "transcribe-unet.pt", "sha256": "0" * 64}]}))
    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path)
    monkeypatch.setattr(registry, "TABLE_FILE", table)
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path / "o"))
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"mirkit: error: weights of model 'transcribe-unet' are missing at "
                           f"'{tmp_path / 'transcribe-unet.pt'}'")
    assert not (tmp_path / "o").exists()


def test_checkpoint_without_onset_head(audio_dir: Path, tmp_path: Path) -> None:
    import torch

    from mirkit.models.checkpoint import save_checkpoint
    from mirkit.models.transcription import TranscriptionUNet

    torch.manual_seed(3)
    config = {"base_channels": 4, "depth": 1, "onset_head": False}
    model = TranscriptionUNet(**config)
    path = tmp_path / "no-onsets.pt"
    save_checkpoint(path, arch="transcription-unet", config=config,
                    state_dict=model.state_dict(), card={"task": "transcribe"})
    res = cli(str(audio_dir / "other.flac"), "-o", str(tmp_path / "o"), "--model", str(path),
              "--frame-threshold", "0.02", "--save-roll")
    assert res.exit_code == 0, res.stderr
    assert "has no onset head" in res.stderr
    with np.load(tmp_path / "o" / "other.roll.npz") as z:
        assert "onset" not in z.files and z["roll"].shape[:2] == (17, 88)


def test_help_does_not_import_torch() -> None:
    code = ("import sys\nfrom mirkit.cli.app import main\ntry:\n    main(['transcribe', "
            "'--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print([m for m in ('torch', 'matplotlib', 'numpy') if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert "--frame-threshold" in res.stdout and "--instruments" in res.stdout
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_decoding_defaults_come_from_the_model_card(tmp_path: Path) -> None:
    import torch

    from mirkit.models.checkpoint import save_checkpoint
    from mirkit.models.transcription import TranscriptionUNet
    from mirkit.tasks.transcribe import Transcriber

    config = {"base_channels": 4, "depth": 2}
    path = tmp_path / "tuned.pt"
    torch.manual_seed(0)
    save_checkpoint(path, arch="transcription-unet", config=config,
                    state_dict=TranscriptionUNet(**config).state_dict(),
                    card={"task": "transcribe",
                          "decoding": {"frame_threshold": 0.3, "onset_threshold": 0.15}})
    t = Transcriber(str(path), device="cpu")
    assert (t.settings.frame_threshold, t.settings.onset_threshold) == (0.3, 0.15)
    assert t.settings.min_note_ms == 50.0                  # not in the card: the default
    t = Transcriber(str(path), device="cpu", onset_threshold=0.6, min_note_ms=20)
    assert (t.settings.frame_threshold, t.settings.onset_threshold) == (0.3, 0.6)
    assert t.settings.min_note_ms == 20
    assert t.settings.decoder == "per-instrument"          # not in the card: the default
    t = Transcriber("transcribe-unet-test", device="cpu")  # no decoding entry
    assert (t.settings.frame_threshold, t.settings.onset_threshold) == (0.5, 0.5)
    save_checkpoint(path, arch="transcription-unet", config=config,
                    state_dict=TranscriptionUNet(**config).state_dict(),
                    card={"task": "transcribe", "decoding": {"decoder": "pitch-first"}})
    assert Transcriber(str(path), device="cpu").settings.decoder == "pitch-first"
    assert Transcriber(str(path), device="cpu").settings.min_class_share == 0.0
    save_checkpoint(path, arch="transcription-unet", config=config,
                    state_dict=TranscriptionUNet(**config).state_dict(),
                    card={"task": "transcribe", "decoding": {
                        "decoder": "pitch-first", "min_class_share": 0.15,
                        "class_window_seconds": 20.0}})
    t = Transcriber(str(path), device="cpu")
    assert (t.settings.min_class_share, t.settings.class_window_seconds) == (0.15, 20.0)
    from mirkit.errors import ParameterError

    t = Transcriber(str(path), device="cpu", min_class_share=0.0)
    assert (t.settings.min_class_share, t.settings.class_window_seconds) == (0.0, 20.0)
    assert t.settings.reonset_threshold is None               # not in the card: off

    save_checkpoint(path, arch="transcription-unet", config=config,
                    state_dict=TranscriptionUNet(**config).state_dict(),
                    card={"task": "transcribe", "decoding": {
                        "onset_threshold": 0.1, "reonset_threshold": 0.2}})
    assert Transcriber(str(path), device="cpu").settings.reonset_threshold == 0.2
    # a card's re-onset threshold never undercuts an onset threshold given by the caller
    t = Transcriber(str(path), device="cpu", onset_threshold=0.3)
    assert (t.settings.onset_threshold, t.settings.reonset_threshold) == (0.3, 0.3)
    # checked against the card's onset threshold (0.1), not the generic default (0.5)
    t = Transcriber(str(path), device="cpu", reonset_threshold=0.15)
    assert (t.settings.onset_threshold, t.settings.reonset_threshold) == (0.1, 0.15)
    with pytest.raises(ParameterError, match=r"--reonset-threshold 0\.05 must lie in \[0\.1,"):
        Transcriber(str(path), device="cpu", reonset_threshold=0.05)
    with pytest.raises(ParameterError, match=r"--reonset-threshold 0\.3 must lie in \[0\.5,"):
        Transcriber("transcribe-unet-test", device="cpu", reonset_threshold=0.3)  # no card
    with pytest.raises(ParameterError, match=r"--reonset-threshold 0\.2 must lie in \[0\.3"):
        Transcriber(str(path), device="cpu", onset_threshold=0.3, reonset_threshold=0.2)
    assert Transcriber(str(path), device="cpu",
                       decoder="per-instrument").settings.decoder == "per-instrument"
    with pytest.raises(ParameterError, match="--decoder 'maximum' must be one of"):
        Transcriber(str(path), device="cpu", decoder="maximum")


def test_threads_option(audio_dir: Path, tmp_path: Path) -> None:
    import torch

    before = torch.get_num_threads()
    res = cli(str(audio_dir / "song.wav"), "-o", str(tmp_path / "o"), "--model", TEST_MODEL,
              "--threads", "1")
    assert res.exit_code == 0, res.stderr
    assert torch.get_num_threads() == before              # restored after the run
