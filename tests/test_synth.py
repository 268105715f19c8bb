"""`mirkit synth`: drum patterns, class assignment, augmentations, rendering, the dataset layout.

Rendering tests use FluidSynth and a General MIDI soundfont (TimGM6mb when installed, it
loads fastest) at 16 kHz on a 4-bar, two-part piece the tests write; they skip only when
the fluidsynth program or every soundfont is missing.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from mirkit.data import drums as drumgen
from mirkit.data import synth as engine
from mirkit.data.instruments import BY_NAME, CLASSES, PITCHED
from mirkit.errors import OutputExistsError, ParameterError
from mirkit.features.pianoroll import FrameLabels, n_frames, notes_to_labels
from mirkit.io.batch import ExistingPolicy
from mirkit.io.symbolic import PartInfo, Score, read_score, write_midi
from mirkit.tasks.synth import synth

SR = 16000
MELODY = (77, 79, 81, 84)        # of flute and bassoon, fits only flute (bassoon stops at 75)
BASS = (40, 43, 45, 48)          # fits only bassoon (flute starts at 60)
DUO = ("flute", "bassoon")


def _soundfont() -> str | None:
    fonts = engine.find_soundfonts()
    small = [f for f in fonts if f.name == "TimGM6mb.sf2"]
    return str((small or fonts)[0]) if fonts else None


SOUNDFONT = _soundfont()
needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or SOUNDFONT is None,
    reason="needs the fluidsynth program and a General MIDI soundfont "
           "(sudo apt-get install fluidsynth fluid-soundfont-gm timgm6mb-soundfont)")


def write_piece(path: Path, *, one_part: bool = False, melody_bars: tuple[int, ...] = (0, 2),
                bass_bars: tuple[int, ...] = (1, 3)) -> Path:
    """A 4-bar 4/4 piece at 120 qpm (8 s): melody in some bars, bass in others."""
    pitch, on, part = [], [], []
    for bar in melody_bars:
        for k, p in enumerate(MELODY):
            pitch.append(p)
            on.append(bar * 4 + k)
            part.append(0)
    if not one_part:
        for bar in bass_bars:
            for k, p in enumerate(BASS):
                pitch.append(p)
                on.append(bar * 4 + k)
                part.append(1)
    parts = [PartInfo("melody", 73)] + ([] if one_part else [PartInfo("bass", 70)])
    onsets = np.array(on, dtype=float)
    score = Score.from_notes(pitch, onset_beats=onsets, offset_beats=onsets + 1.0, velocity=90,
                             part=part, parts=parts, tempos=[(0.0, 120.0)],
                             time_signatures=[(0.0, 4, 4)])
    return write_midi(score, path)


def quiet(**changes: Any) -> engine.SynthConfig:
    """Test settings: 16 kHz, one small soundfont, flute and bassoon, no drums, no effects,
    no timing noise."""
    base: dict[str, Any] = dict(
        sample_rate=SR, instruments=DUO, soundfonts=(SOUNDFONT,) if SOUNDFONT else (),
        drums_prob=0.0, velocity_sd=0.0, jitter_ms=0.0, gain_db=0.0, reverb_prob=0.0,
        chorus_prob=0.0, eq_prob=0.0, transpose=0, tempo_range=(1.0, 1.0))
    base.update(changes)
    return engine.SynthConfig(**base)


def read_notes(folder: Path) -> list[dict[str, str]]:
    with open(folder / "notes.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def file_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def piece(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_piece(tmp_path_factory.mktemp("piece") / "tiny.mid")


@pytest.fixture(scope="module")
def rendered(piece: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One track with every augmentation on (defaults) and drums: the layout checks."""
    if SOUNDFONT is None or shutil.which("fluidsynth") is None:
        pytest.skip("needs the fluidsynth program and a General MIDI soundfont")
    out = tmp_path_factory.mktemp("ds")
    cfg = engine.SynthConfig(sample_rate=SR, soundfonts=(SOUNDFONT,), drums_prob=1.0,
                             reverb_prob=1.0, chorus_prob=1.0, eq_prob=1.0, instruments=DUO)
    summary = synth([piece], output=out, seed=3, config=cfg)
    assert summary["tracks"] == 1 and summary["exit_code"] == 0
    return out


# --------------------------------------------------------------------------- drums


def test_drum_pattern_4_4_lies_on_the_grid() -> None:
    d = drumgen.drum_pattern([(0.0, 4, 4)], 32.0, np.random.default_rng(0), fill_every=4)
    on, key = d.onset_beats, d.pitch
    assert set(key.tolist()) <= set(drumgen.DRUM_KEYS)
    assert np.all((d.velocity >= 1) & (d.velocity <= 127))
    assert np.allclose(on * 4, np.round(on * 4))                 # sixteenth grid
    assert d.fill_bars == (3, 7)
    bar, pos = np.divmod(on, 4.0)
    in_fill = np.isin(bar, d.fill_bars) & (pos >= 2.0)
    assert np.allclose(on[~in_fill] * 2, np.round(on[~in_fill] * 2))   # eighths outside fills
    assert np.all(np.isin(np.arange(8) * 4.0, on[key == drumgen.KICK]))  # kick on every 1
    snares = on[(key == drumgen.SNARE) & ~in_fill]
    assert set(np.round(snares % 4, 6)) == {1.0, 3.0}            # backbeats 2 and 4
    assert set(on[key == drumgen.CRASH].tolist()) == {0.0, 16.0}   # start, after the fill
    fill = on[in_fill & np.isin(key, (drumgen.SNARE, drumgen.SNARE_2))]
    assert len(fill) == 2 * 8 and np.allclose(np.diff(fill[:8]), 0.25)
    cymbal = on[key == d.cymbal]
    assert len(cymbal) == 8 * 6 + 2 * 4 - np.count_nonzero(key == drumgen.OPEN_HAT)


def test_drum_pattern_6_8_and_meter_changes() -> None:
    d = drumgen.drum_pattern([(0.0, 6, 8)], 12.0, np.random.default_rng(1), fill_every=8)
    on, key = d.onset_beats, d.pitch
    assert d.fill_bars == ()
    assert np.allclose(on * 2, np.round(on * 2))                 # eighth grid
    assert set(np.round(on[key == drumgen.KICK] % 3.0, 6)) <= {0.0, 1.0}   # + extra kick
    assert np.all(np.isin(np.arange(4) * 3.0, on[key == drumgen.KICK]))
    assert np.allclose(on[key == drumgen.SNARE] % 3.0, 1.5)       # the second dotted beat
    strokes = on[np.isin(key, (d.cymbal, drumgen.OPEN_HAT))]
    assert len(strokes) == 4 * 6                                 # every eighth
    # 4/4 then 3/4 from beat 8: bars at 0, 4, 8, 11; beats of 3/4 are quarters
    assert [b[0] for b in drumgen.bars([(0.0, 4, 4), (8.0, 3, 4)], 14.0)] == [0, 4, 8, 11]
    assert drumgen.beat_starts([(0.0, 6, 8)], 6.0).tolist() == [0.0, 1.5, 3.0, 4.5]
    again = drumgen.drum_pattern([(0.0, 6, 8)], 12.0, np.random.default_rng(1), fill_every=8)
    assert np.array_equal(again.onset_beats, on) and np.array_equal(again.velocity, d.velocity)


# --------------------------------------------------------------------------- pure parts


def test_split_is_a_function_of_the_piece() -> None:
    ids = [f"folk/tune{i}" for i in range(3000)]
    splits = [engine.split_of(i) for i in ids]
    assert splits == [engine.split_of(i) for i in ids]
    shares = {s: splits.count(s) / len(ids) for s in ("train", "valid", "test")}
    assert abs(shares["train"] - 0.8) < 0.03 and abs(shares["test"] - 0.1) < 0.02


def test_assign_classes_by_range() -> None:
    rng = np.random.default_rng(0)
    got = engine.assign_classes([(60, 79), (40, 62), (0, 127), (100, 115)], rng)
    (c0, s0), (c1, s1), none, (c3, s3) = got  # type: ignore[misc]
    assert none is None
    for (cls, shift), (lo, hi) in zip(((c0, s0), (c1, s1), (c3, s3)),
                                      ((60, 79), (40, 62), (100, 115)), strict=True):
        assert BY_NAME[cls].low <= lo + shift and hi + shift <= BY_NAME[cls].high
    assert (s0, s1) == (0, 0) and s3 == -12 and c0 != c1
    only = engine.assign_classes([(60, 70), (62, 72)], rng, allowed=("flute",))
    assert only == [("flute", 0), ("flute", 0)]


def test_eq_biquads_have_the_stated_gain() -> None:
    from scipy.signal import freqz

    sr = 44100
    for band, freq in ((engine.EQBand("peak", 1000.0, 6.0, 1.0), 1000.0),
                       (engine.EQBand("lowshelf", 200.0, -9.0, 0.7071), 1.0),
                       (engine.EQBand("highshelf", 4000.0, 5.0, 0.7071), sr / 2 - 1)):
        b, a = engine.eq_coefficients(band, sr)
        _, h = freqz(b, a, worN=[freq], fs=sr)
        assert 20 * np.log10(abs(h[0])) == pytest.approx(band.gain_db, abs=0.05)


def test_arrangement_transposition_stays_in_range(piece: Path) -> None:
    score = read_score(piece)
    seen = set()
    for seed in range(12):
        arr = engine.arrange(score, seed=seed, config=quiet(transpose=3),
                             soundfonts=["x.sf2"])
        t = arr.info["transpose"]
        seen.add(t)
        assert -3 <= t <= 3
        for k, st in enumerate(arr.stems):
            p = arr.notes["pitch"][arr.notes["stem"] == k]
            assert BY_NAME[st.cls].low <= p.min() and p.max() <= BY_NAME[st.cls].high
        flute = arr.notes["pitch"][arr.notes["stem"] == [s.cls for s in arr.stems].index("flute")]
        assert sorted(set(flute.tolist())) == [p + t for p in MELODY]
    assert len(seen) > 1
    # flute tops out at 96: a melody reaching 96 can only go down
    high = Score.from_notes([90, 96], onset_beats=[0, 1], offset_beats=[1, 2],
                            parts=[PartInfo("m", 73)])
    for seed in range(8):
        arr = engine.arrange(high, seed=seed, config=quiet(transpose=3, instruments=("flute",),
                                                           accompany=False), soundfonts=["x"])
        assert arr.info["transpose"] <= 0 and arr.notes["pitch"].max() <= 96


def test_tempo_scale_changes_times(piece: Path) -> None:
    score = read_score(piece)
    plain = engine.arrange(score, seed=0, config=quiet(), soundfonts=["x"])
    fast = engine.arrange(score, seed=0, config=quiet(tempo_range=(1.25, 1.25)),
                          soundfonts=["x"])
    assert plain.end == pytest.approx(8.0) and fast.info["tempo_scale"] == 1.25
    np.testing.assert_allclose(fast.notes["onset"], plain.notes["onset"] / 1.25)
    np.testing.assert_allclose(fast.notes["offset"], plain.notes["offset"] / 1.25)


def test_velocity_and_jitter_augmentation(piece: Path) -> None:
    score = read_score(piece)
    plain = engine.arrange(score, seed=5, config=quiet(), soundfonts=["x"])
    noisy = engine.arrange(score, seed=5, config=quiet(velocity_sd=8.0, jitter_ms=10.0),
                           soundfonts=["x"])
    assert [s.cls for s in noisy.stems] == [s.cls for s in plain.stems]    # own streams
    assert len(noisy.notes) == len(plain.notes)
    assert np.all(noisy.notes["offset"] > noisy.notes["onset"])
    assert np.all((noisy.notes["velocity"] >= 1) & (noisy.notes["velocity"] <= 127))
    a = np.sort(plain.notes, order=["stem", "onset"])
    b = np.sort(noisy.notes, order=["stem", "onset"])
    shift = b["onset"] - a["onset"]
    assert 0.003 < shift.std() < 0.02 and np.any(b["velocity"] != a["velocity"])


def test_one_part_pieces_get_accompaniment(tmp_path: Path) -> None:
    score = read_score(write_piece(tmp_path / "solo.mid", one_part=True,
                                   melody_bars=(0, 1, 2, 3)))
    counts = set()
    for seed in range(10):
        arr = engine.arrange(score, seed=seed, config=quiet(instruments=PITCHED),
                             soundfonts=["x"])
        acc = arr.info["accompaniment"]
        assert 1 <= len(acc) <= 2 and len(arr.stems) == 1 + len(acc)    # distinct classes
        counts.add(len(arr.stems))
        if any(a.startswith("bass") for a in acc):
            octave = int(next(a for a in acc if a.startswith("bass")).split("-")[1])
            low = arr.notes["pitch"].min()
            assert low == min(MELODY) - octave                   # the beat's lowest note
        off = engine.arrange(score, seed=seed, config=quiet(accompany=False), soundfonts=["x"])
        assert len(off.stems) == 1 and off.info["accompaniment"] == []
    assert counts >= {2, 3}


def test_excerpts_cut_at_bar_lines(piece: Path) -> None:
    arr = engine.arrange(read_score(piece), seed=0, config=quiet(), soundfonts=["x"])
    parts = engine.split_excerpts(arr, 5.0)
    assert [(a, b) for a, b, _ in parts] == [(0.0, 4.0), (4.0, arr.end)]
    for a, b, ex in parts:
        assert ex.notes["onset"].min() >= 0 and ex.end <= b - a + 1e-9
    assert sum(len(ex.notes) for _, _, ex in parts) == len(arr.notes)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ParameterError, match="drums-prob 2"):
        engine.SynthConfig(drums_prob=2)
    with pytest.raises(ParameterError, match="no pitched class"):
        engine.SynthConfig(instruments=("drums",))
    with pytest.raises(ParameterError, match="tempo range"):
        engine.SynthConfig(tempo_range=(1.2, 0.9))
    with pytest.raises(ParameterError, match="unknown corpus 'nope'"):
        engine.collect_pieces([], ["nope"])



def test_listing_problems_follow_the_arguments(tmp_path: Path) -> None:
    good = tmp_path / "good.abc"
    good.write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|\n")
    (tmp_path / "empty.abc").write_text("")
    args = [tmp_path / "missing1.mid", tmp_path / "empty.abc", good, tmp_path / "missing2.mid"]
    found = engine.collect_pieces([str(a) for a in args], [])
    assert [src for src, _ in found.problems] == [
        f"file:{args[0]}", f"file:{args[1]}", f"file:{args[3]}"]
    assert len(found.pieces) == 1

def test_holdout_list_and_corpus_collections() -> None:
    keys = engine.holdout_names()
    assert {"bach/bwv255.mxl", "bwv255.mxl", "bwv255"} <= keys
    found = engine.collect_pieces([], ["bach-chorales"])
    sources = {p.source for p in found.pieces}
    assert "music21:bach/bwv66.6" in sources and "music21:bach/bwv255" not in sources
    assert "music21:bach/bwv255" in {p.source for p in found.held_out}
    assert len(found.held_out) == 12 and len(found.pieces) == 398
    essen = engine.collect_pieces([], ["essen"])
    assert len(essen.pieces) == 8462                              # without test*.abc
    assert not any("/test" in p.path.rsplit("essenFolksong", 1)[1] for p in essen.pieces)
    first = essen.pieces[0]
    assert first.source.startswith("music21:essenFolksong/") and "#" in first.piece
    order = [p.piece for _, p in engine.iter_pieces(essen.pieces[:50], seed=1, passes=2)]
    assert len(order) == 100 and set(order[:50]) == set(order[50:]) and order[:50] != order[50:]


# --------------------------------------------------------------------------- rendering


@needs_fluidsynth
def test_layout_and_manifest(rendered: Path, piece: Path) -> None:
    manifest = json.loads((rendered / "dataset.json").read_text())
    assert manifest["version"] == 1 and manifest["generator"].startswith("mirkit synth ")
    assert (manifest["sr"], manifest["label_sr"], manifest["label_hop"]) == (SR, 16000, 512)
    assert manifest["classes"] == list(CLASSES) and manifest["complete"] is True
    cfg = manifest["config"]
    for key in ("transpose", "tempo_range", "velocity_sd", "jitter_ms", "gain_db",
                "reverb_prob", "chorus_prob", "eq_prob", "drums_prob", "seed", "sources"):
        assert key in cfg
    (track,) = manifest["tracks"]
    assert track["id"] == "000001" and track["source"] == f"file:{piece}"
    assert track["piece"] == "tiny" and track["split"] == engine.split_of("tiny")
    assert track["soundfont"] == Path(SOUNDFONT or "").name
    assert track["classes"] == ["flute", "bassoon", "drums"]
    assert set(track["programs"]) == set(track["classes"])
    assert track["programs"]["flute"] in BY_NAME["flute"].programs
    assert track["reverb"] is True and track["chorus"] is True and track["drums"]
    assert isinstance(track["transpose"], int) and 0.85 <= track["tempo_scale"] <= 1.15
    assert set(track["eq"]) == set(track["classes"])
    folder = rendered / "tracks" / "000001"
    assert json.loads((folder / "track.json").read_text()) == track
    assert sorted(p.name for p in (folder / "stems").iterdir()) == sorted(
        f"{c}.flac" for c in track["classes"])
    info = sf.info(str(folder / "mixture.flac"))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_24",
                                                                           SR, 2)
    assert track["duration"] == pytest.approx(info.frames / SR)


@needs_fluidsynth
def test_stems_sum_to_the_mixture(rendered: Path) -> None:
    folder = rendered / "tracks" / "000001"
    mix, _ = sf.read(str(folder / "mixture.flac"), dtype="float64")
    stems = [sf.read(str(p), dtype="float64")[0] for p in sorted((folder / "stems").iterdir())]
    assert all(s.shape == mix.shape for s in stems)
    assert np.abs(np.sum(stems, axis=0) - mix).max() < 1e-4       # exactly 0 in fact
    assert 0.001 < np.abs(mix).max() <= 0.9 + 1e-6
    assert all(np.abs(s).max() > 1e-3 for s in stems)


@needs_fluidsynth
def test_notes_csv_matches_labels(rendered: Path) -> None:
    folder = rendered / "tracks" / "000001"
    rows = read_notes(folder)
    assert list(rows[0]) == ["onset", "offset", "pitch", "velocity", "class"]
    with np.load(folder / "labels.npz") as z:
        labels = FrameLabels.from_npz(z)
    samples = sf.info(str(folder / "mixture.flac")).frames
    frames = n_frames(round(samples * 16000 / SR), 512)
    again = notes_to_labels([float(r["onset"]) for r in rows], [float(r["offset"]) for r in rows],
                            [int(r["pitch"]) for r in rows], [r["class"] for r in rows],
                            classes=CLASSES, frames=frames, sr=16000, hop=512)
    assert labels.pianoroll.shape == (len(CLASSES), 88, frames)
    for name in ("pianoroll", "onsets", "pitch_roll", "activity"):
        assert np.array_equal(getattr(labels, name), getattr(again, name)), name
    assert labels.classes == CLASSES and (labels.sr, labels.hop) == (16000, 512)
    kinds = {r["class"] for r in rows}
    assert kinds == {"flute", "bassoon", "drums"}
    assert all(float(r["offset"]) > float(r["onset"]) for r in rows)


@needs_fluidsynth
def test_stems_sound_where_their_notes_are(piece: Path, tmp_path: Path) -> None:
    synth([piece], output=tmp_path, seed=0, config=quiet(augment=False))
    folder = tmp_path / "tracks" / "000001"
    rows = read_notes(folder)

    def energy(cls: str, a: float, b: float) -> float:
        x, sr = sf.read(str(folder / "stems" / f"{cls}.flac"), dtype="float64")
        seg = x[int(a * sr):int(b * sr)]
        return float(np.mean(seg ** 2))

    for cls, on_bars, off_window in (("flute", (0, 2), (3.4, 3.95)),
                                     ("bassoon", (1, 3), (0.05, 1.95))):
        assert {r["class"] for r in rows if float(r["onset"]) // 2 in on_bars} >= {cls}
        loud = min(energy(cls, 2 * b + 0.1, 2 * b + 1.9) for b in on_bars)
        assert loud > 1e3 * max(energy(cls, *off_window), 1e-12), cls


@needs_fluidsynth
def test_rendered_transposition_and_tempo(piece: Path, tmp_path: Path) -> None:
    cfg = quiet(transpose=3, tempo_range=(0.8, 0.8))
    seed = next(s for s in range(1, 100) if engine.arrange(
        read_score(piece), seed=engine.job_seed(s, 1), config=cfg,
        soundfonts=["x"]).info["transpose"] != 0)
    synth([piece], output=tmp_path, seed=seed, config=cfg)
    track = json.loads((tmp_path / "dataset.json").read_text())["tracks"][0]
    rows = read_notes(tmp_path / "tracks" / "000001")
    t = track["transpose"]
    assert t != 0 and track["tempo_scale"] == 0.8
    flute = sorted({int(r["pitch"]) for r in rows if r["class"] == "flute"})
    assert flute == [p + t for p in MELODY]
    assert max(float(r["offset"]) for r in rows) == pytest.approx(8.0 / 0.8, abs=1e-6)
    assert 10.0 < track["duration"] < 10.0 + engine.MAX_TAIL_SECONDS


@needs_fluidsynth
def test_same_seed_same_bytes_and_jobs_do_not_matter(piece: Path, tmp_path: Path) -> None:
    other = write_piece(tmp_path / "other.mid", melody_bars=(0, 1), bass_bars=(2, 3))
    cfg = engine.SynthConfig(sample_rate=SR, soundfonts=(SOUNDFONT or "",))   # all defaults
    runs = {}
    for name, seed, jobs in (("a", 7, 1), ("b", 7, 1), ("c", 7, 2), ("d", 8, 1)):
        synth([piece, other], output=tmp_path / name, seed=seed, jobs=jobs, config=cfg)
        runs[name] = file_bytes(tmp_path / name)
    assert len(runs["a"]) >= 2 * 5 + 1
    assert runs["a"] == runs["b"] == runs["c"]
    assert runs["a"]["tracks/000001/mixture.flac"] != runs["d"]["tracks/000001/mixture.flac"]


@needs_fluidsynth
def test_repeated_renders_share_the_split_and_limit_counts_tracks(piece: Path,
                                                                 tmp_path: Path) -> None:
    summary = synth([piece], output=tmp_path, seed=1, limit=3, config=quiet())
    tracks = json.loads((tmp_path / "dataset.json").read_text())["tracks"]
    assert summary["tracks"] == 3 and [t["id"] for t in tracks] == ["000001", "000002", "000003"]
    assert {t["piece"] for t in tracks} == {"tiny"} and len({t["split"] for t in tracks}) == 1
    assert [t["render"] for t in tracks] == [0, 1, 2] and len({t["seed"] for t in tracks}) == 3
    ex = synth([piece], output=tmp_path / "ex", seed=1, config=quiet(max_seconds=5.0))
    tracks = json.loads((tmp_path / "ex" / "dataset.json").read_text())["tracks"]
    assert ex["tracks"] == 2 and [t["id"] for t in tracks] == ["000001-01", "000001-02"]
    assert tracks[0]["split"] == tracks[1]["split"] == engine.split_of("tiny")
    assert [t["excerpt"]["start"] for t in tracks] == [0.0, 4.0]


@needs_fluidsynth
def test_limit_renders_only_what_it_keeps_and_skip_existing_keeps_it(piece: Path,
                                                                    tmp_path: Path) -> None:
    args: dict[str, Any] = dict(output=tmp_path, seed=1, limit=1, config=quiet(max_seconds=5.0))
    first = synth([piece], **args)
    assert first["rendered"] == 1 and first["tracks"] == 1
    assert [p.name for p in (tmp_path / "tracks").iterdir()] == ["000001-01"]
    before = file_bytes(tmp_path)
    rows: list[dict[str, Any]] = []
    again = synth([piece], existing=ExistingPolicy.SKIP, on_track=rows.append, **args)
    assert (again["kept"], again["rendered"]) == (1, 0)
    assert [r["status"] for r in rows] == ["skipped"] and file_bytes(tmp_path) == before
    rows.clear()
    more = synth([piece], existing=ExistingPolicy.SKIP, on_track=rows.append,
                 **{**args, "limit": 2})
    assert (more["kept"], more["rendered"]) == (1, 1)
    assert [(r["id"], r["status"]) for r in rows] == [("000001-01", "skipped"),
                                                      ("000001-02", "done")]
    fresh = tmp_path / "fresh"
    synth([piece], **{**args, "limit": 2, "output": fresh})
    assert file_bytes(tmp_path / "tracks") == file_bytes(fresh / "tracks")


@needs_fluidsynth
def test_holdout_pieces_are_skipped(piece: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "holdout.txt"
    listing.write_text("# test\nbach/bwv255.mxl\ntiny.mid\n")
    monkeypatch.setattr(engine, "HOLDOUT_PATH", listing)
    other = write_piece(tmp_path / "other.mid")
    summary = synth([piece, other], output=tmp_path / "out", config=quiet())
    manifest = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert summary["held_out"] == 1 and summary["tracks"] == 1
    assert manifest["held_out"] == [f"file:{piece}"]
    assert [t["piece"] for t in manifest["tracks"]] == ["other"]


@needs_fluidsynth
def test_existing_output_resume_and_failures(piece: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"this is not a MIDI file")
    rows: list[dict[str, Any]] = []
    out = tmp_path / "out"
    args: dict[str, Any] = dict(output=out, seed=2, limit=3, config=quiet())
    first = synth([broken, piece], on_track=rows.append, **args)
    assert first["failed"] == 1 and first["exit_code"] == 1 and first["tracks"] == 3
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and "broken.mid" in failed[0]["error"]
    ids = [r["id"] for r in rows if r["status"] == "done"]   # the failed job has a number too
    assert len(ids) == 3 and ids[-1] == "000004"
    statuses = [r["status"] for r in rows]
    before = file_bytes(out)

    with pytest.raises(OutputExistsError, match="dataset.json' exists"):
        synth([broken, piece], **args)
    with pytest.raises(ParameterError, match="other settings"):
        synth([piece], existing=ExistingPolicy.SKIP, **args)

    # an interrupted run: the last track's folder is incomplete
    (out / "tracks" / "000004" / "track.json").unlink()
    rows.clear()
    again = synth([broken, piece], existing=ExistingPolicy.SKIP, on_track=rows.append, **args)
    assert [r.get("id") for r in rows if r["status"] != "failed"] == ids
    assert [r["status"] for r in rows] == [
        {"done": "skipped"}.get(s, s) for s in statuses[:-1]] + ["done"]
    assert again["rendered"] == 1 and again["kept"] == 2
    assert file_bytes(out) == before


@needs_fluidsynth
def test_cli_backend_renders_the_same_layout(piece: Path, tmp_path: Path) -> None:
    cfg = quiet(backend="cli", drums_prob=1.0, reverb_prob=1.0, chorus_prob=1.0)
    synth([piece], output=tmp_path, config=cfg)
    synth([piece], output=tmp_path / "again", config=cfg)       # the program is deterministic
    again = file_bytes(tmp_path / "again")
    assert {k: v for k, v in file_bytes(tmp_path).items() if not k.startswith("again")} == again
    folder = tmp_path / "tracks" / "000001"
    track = json.loads((folder / "track.json").read_text())
    mix, _ = sf.read(str(folder / "mixture.flac"), dtype="float64")
    stems = [sf.read(str(folder / "stems" / f"{c}.flac"), dtype="float64")[0]
             for c in track["classes"]]
    assert track["classes"] == ["flute", "bassoon", "drums"]
    assert np.abs(np.sum(stems, axis=0) - mix).max() < 1e-4 and np.abs(mix).max() > 1e-3


@needs_fluidsynth
def test_one_chorale_from_the_corpus(tmp_path: Path) -> None:
    summary = synth(corpora=["bach-chorales"], output=tmp_path, limit=1, seed=0,
                    config=quiet(max_seconds=8.0, instruments=PITCHED))
    track = json.loads((tmp_path / "dataset.json").read_text())["tracks"][0]
    assert summary["tracks"] == 1 and track["source"].startswith("music21:bach/bwv")
    assert track["piece"] == track["source"].removeprefix("music21:")
    assert 2 <= len(track["classes"]) <= 4 and track["duration"] <= 8.0 + 8.0


# --------------------------------------------------------------------------- CLI


def mirkit(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mirkit", *args], capture_output=True,
                          text=True, timeout=300, input=stdin)


def test_cli_usage_errors(tmp_path: Path) -> None:
    res = mirkit("synth", "-o", str(tmp_path / "x"))
    assert res.returncode == 2 and "nothing to render" in res.stderr
    res = mirkit("synth", "--corpus", "nope", "-o", str(tmp_path / "x"))
    assert res.returncode == 2 and "unknown corpus 'nope'" in res.stderr
    res = mirkit("synth", "x.mid", "--drums-prob", "2", "-o", str(tmp_path / "x"))
    assert res.returncode == 2 and "drums-prob 2" in res.stderr
    res = mirkit("synth", "x.mid", "--instruments", "tuba", "-o", str(tmp_path / "x"))
    assert res.returncode == 2 and "tuba" in res.stderr
    for text in ("", "\n \n"):                       # '-' naming nothing: no inputs
        res = mirkit("synth", "-", "-o", str(tmp_path / "x"), stdin=text)
        assert res.returncode == 2 and res.stdout == ""
        assert res.stderr.strip().splitlines() == [
            "mirkit: error: no inputs given: standard input held no paths"]
    assert not (tmp_path / "x").exists()


@needs_fluidsynth
def test_cli_rows_refusal_and_skip_existing(piece: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd garbage")
    out = tmp_path / "ds"
    common = [str(piece), str(broken), "-o", str(out), "--sr", str(SR), "--no-augment",
              "--instruments", ",".join(DUO),
              "--drums-prob", "0", "--soundfont", str(SOUNDFONT), "--format", "jsonl"]
    res = mirkit("synth", *common)
    assert res.returncode == 1, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    done = [r for r in rows if r["status"] == "done"]
    assert len(done) == 1 and done[0]["id"] in ("000001", "000002")
    assert set(done[0]) >= {"id", "source", "split", "duration", "classes", "soundfont",
                            "seconds"}
    assert [r["status"] for r in rows].count("failed") == 1
    assert "broken.mid" in res.stderr and "1 tracks" in res.stderr
    before = file_bytes(out)

    res = mirkit("synth", *common)
    assert res.returncode == 1 and "exists; pass --overwrite" in res.stderr
    assert res.stdout == "" and file_bytes(out) == before

    res = mirkit("synth", *common, "--skip-existing")
    assert res.returncode == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["status"] for r in rows if r.get("id")] == ["skipped"]
    assert file_bytes(out) == before

    res = mirkit("synth", *common, "--overwrite", "--jobs", "2")    # worker processes
    assert res.returncode == 1 and file_bytes(out) == before


@needs_fluidsynth
def test_loader_reads_what_synth_writes(rendered: Path) -> None:
    """The synth layout and the SynthDataset loader agree (excerpts, stems, labels)."""
    from mirkit.data.datasets import SynthDataset, open_dataset

    ds = open_dataset(rendered)
    assert isinstance(ds, SynthDataset)
    manifest = json.loads((rendered / "dataset.json").read_text())
    assert sorted(ds.tracks()) == sorted(t["id"] for t in manifest["tracks"])
    track = ds.tracks()[0]
    info = next(t for t in manifest["tracks"] if t["id"] == track)
    assert sorted(ds.stem_names(track)) == sorted(info["classes"])
    ex = ds.excerpt(track, start=1.0, duration=2.0, label_sr=16000, label_hop=512)
    assert ex.mixture.shape[1] == round(2.0 * ex.sr)
    assert np.abs(sum(ex.stems.values()) - ex.mixture).max() < 1e-4
    assert ex.labels is not None and ex.labels.pianoroll.shape[2] == n_frames(32000, 512)
    stored = ds.labels(track, sr=16000, hop=512)
    with np.load(rendered / "tracks" / track / "labels.npz") as z:
        np.testing.assert_array_equal(stored.pianoroll, z["pianoroll"])


def test_class_draw_follows_tessitura() -> None:
    rng = np.random.default_rng(0)
    alto = [engine.assign_classes([(55, 67)], rng)[0] for _ in range(400)]
    names = [a[0] for a in alto if a is not None]
    assert len(names) == 400
    # bass (28-67) fits this range but sits far below it; viola/clarinet/voice suit it
    assert names.count("bass") < 0.08 * len(names)
    # classes centred near the part (voice, 62) beat those far above it (violin, 79)
    assert names.count("voice") > 3 * names.count("violin")
    low = [engine.assign_classes([(33, 50)], rng)[0] for _ in range(200)]
    assert max({n[0] for n in low if n}, key=[n[0] for n in low if n].count) in {
        "bass", "bassoon", "cello", "horn"}


@pytest.mark.parametrize("sigs,downbeat,bar", [([(0.0, 1, 4), (1.0, 4, 4)], 1.0, 4.0),
                                               ([(0.0, 1, 8), (0.5, 6, 8)], 0.5, 3.0)])
def test_drums_wait_for_the_downbeat_after_a_pickup(sigs: list[tuple[float, int, int]],
                                                    downbeat: float, bar: float) -> None:
    part = drumgen.drum_pattern(sigs, downbeat + 2 * bar, np.random.default_rng(0))
    onsets = np.asarray(part.onset_beats)
    assert onsets.min() == pytest.approx(downbeat)          # silent through the pickup
    kicks = onsets[np.isin(np.asarray(part.pitch), [35, 36])]
    assert downbeat in kicks and downbeat + bar in kicks    # kick on each downbeat


def test_abc_pickup_becomes_a_short_first_bar(tmp_path: Path) -> None:
    path = tmp_path / "jig.abc"
    path.write_text("X:1\nT:jig\nM:6/8\nL:1/8\nK:D\nA|dfa afd|e3 e2|]\n")
    assert read_score(path).time_signatures == [(0.0, 1, 8), (0.5, 6, 8)]
