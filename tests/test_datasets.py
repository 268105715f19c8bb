"""Multitrack dataset loaders, each on a tiny folder fabricated in its exact layout."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import yaml

from mirkit.data.datasets import (
    MUSDB_VALIDATION_TRACKS,
    FolderDataset,
    MaestroDataset,
    MedleyDbDataset,
    MusdbDataset,
    NoteTable,
    SlakhDataset,
    SynthDataset,
    medleydb_class,
    open_dataset,
)
from mirkit.data.instruments import CLASS_INDEX, CLASSES
from mirkit.errors import InputError, ParameterError
from mirkit.features.pianoroll import n_frames, notes_to_labels
from mirkit.io.symbolic import PartInfo, Score, write_midi

SR = 8000                      # audio rate of every fabricated file
LABEL_SR, HOP = 16000, 512     # label grid: 31.25 frames per second
FLAC_TOL = 1e-4                # PCM_16 rounding of flac files
KEY = 21                       # MIDI number of pianoroll row 0


def sine(freq: float, seconds: float, *, amp: float = 0.3, begin: float = 0.0) -> np.ndarray:
    """Mono sine, silent before ``begin`` seconds; shape (1, n)."""
    t = np.arange(round(seconds * SR)) / SR
    y = amp * np.sin(2 * np.pi * freq * t) * (t >= begin)
    return y[np.newaxis].astype(np.float32)


def write(path: Path, audio: np.ndarray) -> np.ndarray:
    """Write (channels, n) audio; wav as FLOAT (exact), flac as PCM_16. Returns what was read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = "FLOAT" if path.suffix == ".wav" else "PCM_16"
    sf.write(path, audio.T, SR, subtype=subtype)
    back, _ = sf.read(path, dtype="float32", always_2d=True)
    return back.T


def midi(path: Path, notes: list[tuple[float, float, int]], *, program: int = 0,
         is_drum: bool = False) -> None:
    """A one-part MIDI file of (onset s, offset s, pitch) notes at 120 qpm."""
    on, off, pitch = zip(*notes, strict=True)
    score = Score.from_notes(list(pitch), onset=list(on), offset=list(off),
                             parts=[PartInfo(program=program, is_drum=is_drum)])
    write_midi(score, path)


def dump_yaml(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# --------------------------------------------------------------------------- synth


def make_synth(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Three 2-second tracks (train/valid/test); returns track 000001's stems as read."""
    tracks, first = [], {}
    for k, split in enumerate(("train", "valid", "test"), start=1):
        tid = f"{k:06d}"
        folder = root / "tracks" / tid
        violin = write(folder / "stems" / "violin.flac", sine(440, 2.0, begin=0.5))
        bassoon = write(folder / "stems" / "bassoon.flac",
                        (0.1 * rng.standard_normal((1, 2 * SR))).astype(np.float32))
        write(folder / "mixture.flac", violin + bassoon)
        notes = NoteTable(np.array([0.5, 0.2]), np.array([1.0, 0.4]), np.array([69, 46]),
                          np.array([90, 70]), np.array(["violin", "bassoon"]))
        notes.write_csv(folder / "notes.csv")
        labels = notes_to_labels(notes.onset, notes.offset, notes.pitch, notes.class_.tolist(),
                                 classes=CLASSES, frames=n_frames(2 * LABEL_SR, HOP),
                                 sr=LABEL_SR, hop=HOP)
        labels.pianoroll[CLASS_INDEX["violin"], 0, 0] = True  # marks the stored copy
        payload: dict[str, Any] = labels.to_npz_dict()
        np.savez(folder / "labels.npz", **payload)
        tracks.append({"id": tid, "source": "music21:bach/bwv66.6", "piece": "bach/bwv66.6",
                       "seed": k, "soundfont": "FluidR3_GM.sf2",
                       "programs": {"violin": 40, "bassoon": 70}, "split": split,
                       "duration": 2.0, "classes": ["violin", "bassoon"], "transpose": 0,
                       "tempo_scale": 1.0})
        if k == 1:
            first = {"violin": violin, "bassoon": bassoon}
    (root / "dataset.json").write_text(json.dumps(
        {"version": 1, "generator": "mirkit synth", "sr": SR, "label_sr": LABEL_SR,
         "label_hop": HOP, "classes": list(CLASSES), "config": {}, "tracks": tracks}))
    return first


@pytest.fixture
def synth(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "synth"
    return root, make_synth(root, rng)


def test_synth_tracks_splits_and_stems(synth: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = synth
    ds = open_dataset(root)
    assert isinstance(ds, SynthDataset)
    assert ds.tracks() == ["000001", "000002", "000003"]
    assert ds.splits() == ["train", "valid", "test"]
    assert ds.tracks("train") == ["000001"]
    assert ds.tracks("validation") == ["000002"]          # alias of "valid"
    assert ds.split_of("000003") == "test"
    assert ds.stem_names("000001") == ["violin", "bassoon"]
    assert ds.stem_paths("000001")["violin"] == root / "tracks/000001/stems/violin.flac"
    assert ds.mixture_path("000001") == root / "tracks/000001/mixture.flac"
    assert ds.duration("000001") == pytest.approx(2.0)
    assert (ds.label_sr, ds.label_hop) == (LABEL_SR, HOP)
    assert ds.track_info("000001")["programs"] == {"violin": 40, "bassoon": 70}
    with pytest.raises(ParameterError, match="no split 'omitted'.*train, valid, test"):
        ds.tracks("omitted")
    with pytest.raises(InputError, match="no track '999999'"):
        ds.stem_names("999999")


def test_synth_excerpt_places_the_sine_and_labels(
        synth: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, stems = synth
    ds = open_dataset(root)
    ex = ds.excerpt("000001", start=0.25, duration=0.5)
    assert ex.sr == SR and ex.start == 0.25 and ex.track == "000001"
    assert ex.mixture.shape == (1, 4000) and ex.mixture.dtype == np.float32
    assert {k: v.shape for k, v in ex.stems.items()} == {"violin": (1, 4000),
                                                          "bassoon": (1, 4000)}
    violin = ex.stems["violin"][0]
    # the violin starts at 0.5 s, i.e. 0.25 s = 2000 samples into the excerpt
    assert np.abs(violin[:2000]).max() == 0
    assert np.flatnonzero(np.abs(violin) > 0.01)[0] in range(2000, 2004)
    np.testing.assert_allclose(violin, stems["violin"][0, 2000:6000], atol=FLAC_TOL)
    np.testing.assert_allclose(ex.mixture, ex.stems["violin"] + ex.stems["bassoon"],
                               atol=3 * FLAC_TOL)
    lab = ex.labels
    assert lab is not None and lab.pianoroll.shape == (len(CLASSES), 88, 16)
    v, b = CLASS_INDEX["violin"], CLASS_INDEX["bassoon"]
    # violin A4 0.5-1.0 s -> 0.25-0.75 s in the excerpt: frames 8.. (round(7.8125)), onset 8
    assert np.flatnonzero(lab.pianoroll[v, 69 - KEY]).tolist() == list(range(8, 16))
    assert np.flatnonzero(lab.onsets[v, 69 - KEY]).tolist() == [8]
    # bassoon 0.2-0.4 s began before the excerpt: it sounds in frames 0-4 without an onset
    assert np.flatnonzero(lab.activity[b]).tolist() == [0, 1, 2, 3, 4]
    assert not lab.onsets[b].any()


def test_synth_excerpt_pads_resamples_and_downmixes(
        synth: tuple[Path, dict[str, np.ndarray]]) -> None:
    ds = open_dataset(synth[0])
    tail = ds.excerpt("000001", start=1.75, duration=0.5)
    assert tail.mixture.shape == (1, 4000)
    assert np.abs(tail.mixture[:, 2000:]).max() == 0 and np.abs(tail.mixture[:, :2000]).max() > 0
    assert tail.labels is not None and tail.labels.activity.shape == (len(CLASSES), 16)
    fast = ds.excerpt("000001", start=0.5, duration=0.25, sr=16000, channels="stereo")
    assert fast.sr == 16000 and fast.mixture.shape == (2, 4000)
    assert fast.stems["violin"].shape == (2, 4000)


def test_synth_labels_come_from_the_npz_when_the_grid_matches(
        synth: tuple[Path, dict[str, np.ndarray]]) -> None:
    ds = open_dataset(synth[0])
    v = CLASS_INDEX["violin"]
    stored = ds.labels("000001")
    assert stored is not None and stored.pianoroll.shape == (len(CLASSES), 88, 63)
    assert stored.pianoroll[v, 0, 0]                          # the marker of labels.npz
    fine = ds.labels("000001", hop=256)
    assert fine is not None and fine.pianoroll.shape[-1] == n_frames(2 * LABEL_SR, 256)
    assert not fine.pianoroll[v, 0, 0]
    assert np.flatnonzero(fine.onsets[v, 69 - KEY]).tolist() == [31]   # round(0.5 * 62.5)
    two = ds.labels("000001", classes=("violin", "bassoon"))
    assert two is not None and two.classes == ("violin", "bassoon")
    assert np.flatnonzero(two.activity[1]).tolist() == [6, 7, 8, 9, 10, 11]


def test_random_excerpt_draws_from_the_split(synth: tuple[Path, dict[str, np.ndarray]],
                                             rng: np.random.Generator) -> None:
    ds = open_dataset(synth[0])
    starts = []
    for _ in range(12):
        ex = ds.random_excerpt(rng, duration=0.5, split="valid")
        assert ex.track == "000002" and ex.mixture.shape == (1, 4000)
        assert 0 <= ex.start <= 1.5 and float(ex.start * SR).is_integer()
        starts.append(ex.start)
    assert len(set(starts)) > 1
    seen = {ds.random_excerpt(rng, duration=0.1).track for _ in range(30)}
    assert seen == {"000001", "000002", "000003"}
    long = ds.random_excerpt(rng, duration=3.0, split="test")
    assert long.start == 0.0 and long.mixture.shape == (1, 3 * SR)
    assert np.abs(long.mixture[:, 2 * SR:]).max() == 0


def test_synth_bad_layouts(synth: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = synth
    ds = open_dataset(root)
    with pytest.raises(InputError, match=r"start 2\.500 s is at or past the end"):
        ds.excerpt("000001", start=2.5, duration=0.5)
    with pytest.raises(ParameterError, match="duration -1"):
        ds.excerpt("000001", start=0.0, duration=-1)
    (root / "tracks/000002/stems/bassoon.flac").unlink()
    with pytest.raises(InputError, match=r"synth track '000002' has no stems/bassoon\.flac"):
        ds.excerpt("000002", start=0.0, duration=0.1)
    (root / "tracks/000003/notes.csv").unlink()
    with pytest.raises(InputError, match="synth track '000003' has no notes.csv"):
        ds.notes("000003")
    (root / "tracks/000003/mixture.flac").unlink()
    with pytest.raises(InputError, match="synth track '000003' has no mixture.flac"):
        ds.duration("000003")
    (root / "dataset.json").unlink()
    with pytest.raises(InputError, match="has no dataset.json"):
        SynthDataset(root)


# --------------------------------------------------------------------------- notes


def test_note_table_csv_round_trip_and_errors(tmp_path: Path) -> None:
    notes = NoteTable(np.array([0.125, 0.5]), np.array([0.25, 1.0]), np.array([60, 36]),
                      np.array([100, 64]), np.array(["piano", "drums"]))
    back = NoteTable.from_csv(notes.write_csv(tmp_path / "n.csv"))
    assert back.onset.tolist() == [0.125, 0.5] and back["class"].tolist() == ["piano", "drums"]
    assert back.pitch.dtype == np.int16 and back.velocity.tolist() == [100, 64]
    (tmp_path / "short.csv").write_text("class,pitch,offset,onset\npiano,60,1.0,0.5\n")
    short = NoteTable.from_csv(tmp_path / "short.csv")        # any column order, velocity 80
    assert (short.onset[0], short.velocity[0]) == (0.5, 80)
    (tmp_path / "bad.csv").write_text("onset,offset,pitch,class\n0.1,x,60,piano\n")
    with pytest.raises(InputError, match="line 2"):
        NoteTable.from_csv(tmp_path / "bad.csv")
    (tmp_path / "nocls.csv").write_text("onset,offset,pitch\n0.1,0.2,60\n")
    with pytest.raises(InputError, match="no column class"):
        NoteTable.from_csv(tmp_path / "nocls.csv")
    with pytest.raises(InputError, match="offset"):
        NoteTable(np.array([1.0]), np.array([0.5]), np.array([60]), np.array([80]),
                  np.array(["piano"]))


# --------------------------------------------------------------------------- MUSDB18


@pytest.fixture
def musdb(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "musdb18hq"
    mixes = {}
    for sub, name in (("train", "Actions - One Minute Smile"), ("train", "Zed - Song"),
                      ("test", "Test - Song")):
        parts = [write(root / sub / name / f"{s}.wav",
                       (0.1 * rng.standard_normal((2, SR // 2))).astype(np.float32))
                 for s in ("vocals", "drums", "bass", "other")]
        mixes[name] = write(root / sub / name / "mixture.wav", np.sum(parts, axis=0))
    return root, mixes


def test_musdb_folders(musdb: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, mixes = musdb
    ds = open_dataset(root)
    assert isinstance(ds, MusdbDataset)
    assert "Actions - One Minute Smile" in MUSDB_VALIDATION_TRACKS
    assert len(MUSDB_VALIDATION_TRACKS) == 14
    assert ds.splits() == ["train", "valid", "test"]
    assert ds.tracks("train") == ["Zed - Song"]
    assert ds.tracks("valid") == ["Actions - One Minute Smile"]
    assert ds.tracks("test") == ["Test - Song"]
    assert ds.stem_names("Zed - Song") == ["vocals", "drums", "bass", "other"]
    assert ds.notes("Zed - Song") is None and ds.labels("Zed - Song") is None
    ex = ds.excerpt("Zed - Song", start=0.1, duration=0.2)
    assert ex.labels is None and ex.mixture.shape == (2, 1600)
    np.testing.assert_array_equal(ex.mixture, mixes["Zed - Song"][:, 800:2400])
    np.testing.assert_allclose(sum(ex.stems.values()), ex.mixture, atol=1e-6)
    (root / "test/Test - Song/bass.wav").unlink()
    with pytest.raises(InputError, match="MUSDB18 track 'Test - Song' has no bass.wav"):
        ds.stem_paths("Test - Song")


FAKE_FFMPEG = '''#!{python}
"""Stands in for ffmpeg/ffprobe: a '.stem.mp4' here is an npz of streams (5, ch, n)."""
import json, os, sys
import numpy as np, soundfile as sf
args = sys.argv[1:]
with open(args[args.index("-i") + 1] if "-i" in args else args[-1], "rb") as f:
    data = np.load(f)
    streams, sr = data["streams"], int(data["sr"])
if os.path.basename(sys.argv[0]) == "ffprobe":
    k = int(args[args.index("-select_streams") + 1].split(":")[1])
    print(json.dumps({{"streams": [{{"sample_rate": str(sr), "channels": streams.shape[1],
                                     "duration": str(streams.shape[2] / sr)}}]}}))
else:
    k = int(args[args.index("-map") + 1].split(":")[2])
    a = round(float(args[args.index("-ss") + 1]) * sr)
    b = a + round(float(args[args.index("-t") + 1]) * sr)
    with open(os.environ["FAKE_FFMPEG_LOG"], "a") as log:
        log.write(f"{{k}} {{a}} {{b}}\\n")
    sf.write(args[-1], streams[k][:, a:b].T, sr, subtype="FLOAT", format="WAV")
'''


def test_musdb_stem_mp4_needs_ffmpeg_and_decodes_spans(
        tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "musdb18"
    (root / "test").mkdir(parents=True)
    streams = (0.1 * rng.standard_normal((5, 2, SR // 2))).astype(np.float32)
    with (root / "test" / "Al - Song.stem.mp4").open("wb") as f:
        np.savez(f, streams=streams, sr=np.array(SR))
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    ds = open_dataset(root)
    assert isinstance(ds, MusdbDataset) and ds.tracks("test") == ["Al - Song"]
    assert set(ds.stem_paths("Al - Song").values()) == {root / "test/Al - Song.stem.mp4"}
    with pytest.raises(InputError, match="ffprobe is not on PATH: install ffmpeg.*musdbconvert"):
        ds.duration("Al - Song")

    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("ffmpeg", "ffprobe"):
        exe = tools / name
        exe.write_text(FAKE_FFMPEG.format(python=sys.executable))
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_FFMPEG_LOG", str(log))
    ds = open_dataset(root)
    assert ds.duration("Al - Song") == pytest.approx(0.5)
    ex = ds.excerpt("Al - Song", start=0.1, duration=0.2)
    np.testing.assert_array_equal(ex.mixture, streams[0][:, 800:2400])
    np.testing.assert_array_equal(ex.stems["vocals"], streams[4][:, 800:2400])
    np.testing.assert_array_equal(ex.stems["drums"], streams[1][:, 800:2400])
    calls = sorted(log.read_text().split("\n")[:-1])
    assert calls == [f"{k} 800 2400" for k in range(5)]     # only the span, once per stream


# --------------------------------------------------------------------------- Slakh2100


def make_slakh_track(folder: Path, rng: np.random.Generator, *, full: bool = True
                     ) -> dict[str, np.ndarray]:
    """Stems S00 piano, S01 e-piano, S02 drums, S03 synth lead, S04 unrendered violin."""
    spec = {"S00": (0, False, sine(220, 1.0, amp=0.2), [(0.0, 0.5, 57)]),
            "S01": (4, False, sine(330, 1.0, amp=0.2, begin=0.25), [(0.25, 0.75, 64)]),
            "S02": (0, True, (0.05 * rng.standard_normal((1, SR))).astype(np.float32),
                    [(0.5, 0.6, 36)]),
            "S03": (81, False, sine(660, 1.0, amp=0.1), [(0.0, 1.0, 76)]),
            "S04": (40, False, None, [(0.0, 1.0, 70)])}
    if not full:
        spec = {"S00": spec["S00"]}
    stems_meta, audio = {}, {}
    for sid, (program, drum, y, notes) in spec.items():
        stems_meta[sid] = {"audio_rendered": y is not None, "inst_class": "x", "is_drum": drum,
                           "midi_program_name": "x", "midi_saved": True, "plugin_name": "x",
                           "program_num": program}
        if y is not None:
            audio[sid] = write(folder / "stems" / f"{sid}.flac", y)
        (folder / "MIDI").mkdir(parents=True, exist_ok=True)
        midi(folder / "MIDI" / f"{sid}.mid", notes, program=program, is_drum=drum)
    write(folder / "mix.flac", np.sum(list(audio.values()), axis=0))
    dump_yaml(folder / "metadata.yaml", {"UUID": "x", "audio_dir": "stems", "midi_dir": "MIDI",
                                         "normalized": True, "stems": stems_meta})
    return audio


@pytest.fixture
def slakh(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "slakh2100"
    audio = make_slakh_track(root / "train" / "Track00001", rng)
    make_slakh_track(root / "validation" / "Track00002", rng, full=False)
    return root, audio


def test_slakh_classes_sums_and_notes(slakh: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, audio = slakh
    ds = open_dataset(root)
    assert isinstance(ds, SlakhDataset)
    assert ds.splits() == ["train", "valid"] and ds.tracks("validation") == ["Track00002"]
    t = "Track00001"
    assert ds.stem_names(t) == ["piano", "drums", "other"]
    assert [p.name for p in ds.stem_files(t)["piano"]] == ["S00.flac", "S01.flac"]
    with pytest.raises(InputError, match="stem 'piano'.*sum of 2 files.*stem_files"):
        ds.stem_paths(t)
    assert ds.stem_paths("Track00002") == {"piano": root / "validation/Track00002/stems/S00.flac"}
    ex = ds.excerpt(t, start=0.0, duration=1.0)
    np.testing.assert_allclose(ex.stems["piano"], audio["S00"] + audio["S01"], atol=1e-6)
    np.testing.assert_allclose(ex.stems["other"], audio["S03"], atol=1e-6)
    np.testing.assert_allclose(ex.mixture, sum(ex.stems.values()), atol=4 * FLAC_TOL)
    notes = ds.notes(t)
    assert notes is not None and sorted(notes.class_.tolist()) == ["drums", "other", "piano",
                                                                   "piano"]
    assert 70 not in notes.pitch.tolist()          # the unrendered violin stem is left out
    lab = ds.labels(t)
    assert lab is not None and lab.pianoroll.shape == (len(CLASSES), 88, 32)
    p, d = CLASS_INDEX["piano"], CLASS_INDEX["drums"]
    assert np.flatnonzero(lab.onsets[p, 64 - KEY]).tolist() == [8]     # round(0.25 * 31.25)
    assert np.flatnonzero(lab.activity[d]).tolist() == [16, 17, 18]    # 0.5-0.6 s
    assert not lab.pianoroll[:, 76 - KEY].any()    # "other" is not on the class axis
    assert not lab.activity[CLASS_INDEX["violin"]].any()


def test_slakh_bad_layouts(slakh: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = slakh
    track = root / "train" / "Track00001"
    (track / "MIDI" / "S02.mid").unlink()
    ds = SlakhDataset(root)
    with pytest.raises(InputError, match=r"Slakh track 'Track00001' has no MIDI/S02\.mid"):
        ds.notes("Track00001")
    (track / "stems" / "S01.flac").unlink()
    with pytest.raises(InputError, match=r"Slakh track 'Track00001' has no stems/S01\.flac"):
        ds.stem_names("Track00001")
    (root / "validation/Track00002/mix.flac").unlink()
    with pytest.raises(InputError, match="Slakh track 'Track00002' has no mix.flac"):
        ds.duration("Track00002")
    (track / "metadata.yaml").unlink()
    with pytest.raises(InputError, match="Slakh track 'Track00001' has no metadata.yaml"):
        open_dataset(root)


# --------------------------------------------------------------------------- MAESTRO


@pytest.fixture
def maestro(tmp_path: Path) -> Path:
    root = tmp_path / "maestro-v3.0.0"
    rows = []
    for split, year, begin in (("train", "2018", 0.3), ("validation", "2017", 0.0)):
        base = f"{year}/MIDI-Unprocessed_{split}"
        write(root / f"{base}.wav", np.repeat(sine(261.63, 1.0, begin=begin), 2, axis=0))
        midi(root / f"{base}.midi", [(begin, begin + 0.5, 60)])
        rows.append({"canonical_composer": "C", "canonical_title": "T", "split": split,
                     "year": year, "midi_filename": f"{base}.midi",
                     "audio_filename": f"{base}.wav", "duration": 1.0})
    with (root / "maestro-v3.0.0.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_maestro(maestro: Path) -> None:
    ds = open_dataset(maestro)
    assert isinstance(ds, MaestroDataset)
    t = "2018/MIDI-Unprocessed_train"
    assert ds.tracks("train") == [t] and ds.splits() == ["train", "valid"]
    assert ds.stem_names(t) == ["piano"]
    assert ds.mixture_path(t) == ds.stem_paths(t)["piano"] == maestro / f"{t}.wav"
    assert ds.track_info(t)["canonical_composer"] == "C"
    ex = ds.excerpt(t, start=0.1, duration=0.5)
    np.testing.assert_array_equal(ex.mixture, ex.stems["piano"])
    assert ex.mixture.shape == (2, 4000)
    onset = np.flatnonzero(np.abs(ex.mixture[0]) > 1e-3)[0]
    assert onset in range(1600, 1604)                # the note starts 0.2 s into the excerpt
    notes = ds.notes(t)
    assert notes is not None and notes.class_.tolist() == ["piano"]
    lab = ds.labels(t)
    assert lab is not None
    assert np.flatnonzero(lab.onsets[CLASS_INDEX["piano"], 60 - KEY]).tolist() == [9]
    (maestro / f"{t}.midi").unlink()
    assert ds.notes(t) is notes                      # read once, then cached
    with pytest.raises(InputError, match="MAESTRO track .* has no MIDI file"):
        MaestroDataset(maestro).labels(t)
    (maestro / "2017/MIDI-Unprocessed_validation.wav").unlink()
    with pytest.raises(InputError, match="MAESTRO track .* has no audio file"):
        ds.excerpt("2017/MIDI-Unprocessed_validation", start=0, duration=0.1)
    (maestro / "maestro-v3.0.0.csv").write_text("split,midi_filename\ntrain,a.midi\n")
    with pytest.raises(InputError, match="no column audio_filename"):
        MaestroDataset(maestro)


# --------------------------------------------------------------------------- MedleyDB


@pytest.fixture
def medleydb(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "medleydb"
    name = "Artist_Song"
    folder = root / name
    labels = {"S01": "drum set", "S02": "male singer", "S03": "violin section",
              "S04": "synthesizer", "S05": "distorted electric guitar",
              "S06": "clean electric guitar"}
    audio, stems = {}, {}
    for k, (sid, label) in enumerate(labels.items()):
        fname = f"{name}_STEM_{sid[1:]}.wav"
        audio[sid] = write(folder / f"{name}_STEMS" / fname, sine(200 + 100 * k, 0.5, amp=0.1))
        stems[sid] = {"component": "", "filename": fname, "instrument": label}
    write(folder / f"{name}_MIX.wav", np.sum(list(audio.values()), axis=0))
    dump_yaml(folder / f"{name}_METADATA.yaml",
              {"artist": "Artist", "title": "Song", "mix_filename": f"{name}_MIX.wav",
               "stem_dir": f"{name}_STEMS", "raw_dir": f"{name}_RAW", "stems": stems})
    return root, audio


def test_medleydb(medleydb: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, audio = medleydb
    ds = open_dataset(root)
    assert isinstance(ds, MedleyDbDataset)
    assert ds.tracks() == ["Artist_Song"] and ds.splits() == []
    assert ds.stem_names("Artist_Song") == ["electric_guitar", "violin", "voice", "drums",
                                            "synthesizer"]
    ex = ds.excerpt("Artist_Song", start=0.0, duration=0.5)
    np.testing.assert_allclose(ex.stems["electric_guitar"], audio["S05"] + audio["S06"],
                               atol=1e-7)
    np.testing.assert_array_equal(ex.stems["voice"], audio["S02"])
    assert ds.notes("Artist_Song") is None and ex.labels is None
    assert medleydb_class("Tenor  Saxophone") == "saxophone"
    assert medleydb_class("fx/processed sound") == "fx_processed_sound"
    with pytest.raises(ParameterError, match="has no splits"):
        ds.tracks("train")


def test_medleydb_bad_layouts(medleydb: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = medleydb
    folder = root / "Artist_Song"
    ds = MedleyDbDataset(root)
    (folder / "Artist_Song_STEMS" / "Artist_Song_STEM_04.wav").unlink()
    with pytest.raises(InputError, match="no stem file 'Artist_Song_STEM_04.wav' .stem S04"):
        ds.stem_names("Artist_Song")
    ds = MedleyDbDataset(root)
    (folder / "Artist_Song_MIX.wav").unlink()
    with pytest.raises(InputError, match="has no mix file 'Artist_Song_MIX.wav'"):
        ds.duration("Artist_Song")
    (root / "Other_Track" / "Other_Track_STEMS").mkdir(parents=True)
    with pytest.raises(InputError,
                       match="MedleyDB track 'Other_Track' has no Other_Track_METADATA.yaml"):
        MedleyDbDataset(root)


# --------------------------------------------------------------------------- plain folders


def test_folder_layout_sums_stems_and_reads_notes(tmp_path: Path,
                                                  rng: np.random.Generator) -> None:
    root = tmp_path / "plain"
    a = write(root / "song1" / "stems" / "a.wav", sine(440, 1.0, begin=0.5))
    b = write(root / "song1" / "stems" / "b.flac", sine(110, 1.0, amp=0.2))
    NoteTable(np.array([0.5]), np.array([1.0]), np.array([69]), np.array([80]),
              np.array(["flute"])).write_csv(root / "song1" / "notes.csv")
    x = write(root / "song2" / "x.wav", sine(550, 1.0))
    write(root / "song2" / "mixture.wav",
          (0.1 * rng.standard_normal((2, SR))).astype(np.float32))
    ds = open_dataset(root)
    assert isinstance(ds, FolderDataset)
    assert ds.tracks() == ["song1", "song2"] and ds.splits() == []
    assert ds.stem_names("song1") == ["a", "b"] and ds.mixture_path("song1") is None
    ex = ds.excerpt("song1", start=0.25, duration=0.5)
    np.testing.assert_array_equal(ex.mixture, ex.stems["a"] + ex.stems["b"])
    np.testing.assert_array_equal(ex.stems["a"], a[:, 2000:6000])
    np.testing.assert_array_equal(ex.stems["b"], b[:, 2000:6000])
    assert ex.labels is not None
    assert np.flatnonzero(ex.labels.onsets[CLASS_INDEX["flute"], 69 - KEY]).tolist() == [8]
    # a mono stem next to a stereo mixture is duplicated to two channels
    ex2 = ds.excerpt("song2", start=0.0, duration=0.5)
    assert ex2.mixture.shape == ex2.stems["x"].shape == (2, 4000)
    np.testing.assert_array_equal(ex2.stems["x"], np.repeat(x[:, :4000], 2, axis=0))
    assert ds.excerpt("song2", start=0.0, duration=0.5, channels="mono").mixture.shape == (1,
                                                                                            4000)
    assert ds.notes("song2") is None and ex2.labels is None
    write(root / "song2" / "x.flac", sine(550, 1.0))
    with pytest.raises(InputError, match="several files for stem 'x'"):
        FolderDataset(root).stem_names("song2")


def test_folder_layout_with_split_folders(tmp_path: Path) -> None:
    root = tmp_path / "splits"
    write(root / "train" / "s1" / "mixture.wav", sine(440, 0.5))
    write(root / "train" / "s1" / "guitar.wav", sine(440, 0.5))
    write(root / "validation" / "s2" / "guitar.wav", sine(220, 0.5))
    ds = open_dataset(root)
    assert isinstance(ds, FolderDataset)
    assert ds.splits() == ["train", "valid"]
    assert ds.tracks("valid") == ["validation/s2"] and ds.tracks("train") == ["train/s1"]
    assert ds.duration("validation/s2") == pytest.approx(0.5)


# --------------------------------------------------------------------------- detection


def test_open_dataset_detection_and_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        open_dataset(tmp_path / "missing")
    with pytest.raises(ParameterError, match="unknown dataset kind 'musdb19'"):
        open_dataset(tmp_path, kind="musdb19")
    junk = tmp_path / "junk"
    (junk / "docs").mkdir(parents=True)
    (junk / "docs" / "readme.txt").write_text("hi")
    with pytest.raises(InputError, match=r"tried synth \(no dataset.json\); maestro \(no "
                                         r"maestro-v\*\.csv\); slakh .*; musdb .*; medleydb "
                                         r".*; folder \(no <track>/ subfolder"):
        open_dataset(junk)
    (junk / "dataset.json").write_text(json.dumps({"generator": "other tool"}))
    with pytest.raises(InputError, match="dataset.json does not say generator 'mirkit synth'"):
        open_dataset(junk)
    with pytest.raises(InputError, match="MUSDB18 folder .* has no train/ or test/ folder"):
        open_dataset(junk, kind="musdb")
    with pytest.raises(InputError, match="has no maestro-v"):
        open_dataset(junk, kind="maestro")
    with pytest.raises(InputError, match="no TrackNNNNN folders"):
        open_dataset(junk, kind="slakh")
    with pytest.raises(InputError, match="has no <Track>/<Track>_METADATA.yaml"):
        open_dataset(junk, kind="medleydb")
    with pytest.raises(InputError, match="holds no track folders"):
        open_dataset(junk, kind="folder")


def test_babyslakh_flat_layout_and_explicit_kind(tmp_path: Path,
                                                 rng: np.random.Generator) -> None:
    root = tmp_path / "babyslakh_16k"
    make_slakh_track(root / "Track00011", rng, full=False)
    ds = open_dataset(root)
    assert isinstance(ds, SlakhDataset)
    assert ds.tracks() == ["Track00011"] and ds.splits() == []
    assert isinstance(open_dataset(root, kind="folder"), FolderDataset)   # kind overrides
    assert repr(ds).startswith("SlakhDataset(") and len(ds) == 1


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                    reason="needs ffmpeg and ffprobe (apt-get install ffmpeg)")
def test_real_stem_mp4_excerpts_are_aligned(tmp_path: Path) -> None:
    """A real AAC .stem.mp4 (MUSDB stream order) decodes each stream at the right offset."""
    import subprocess

    from scipy.signal import lfilter

    from mirkit.data.datasets import MUSDB_STEM_STREAMS, open_dataset

    sr = 44100
    rng = np.random.default_rng(3)
    order = sorted(MUSDB_STEM_STREAMS, key=MUSDB_STEM_STREAMS.__getitem__)
    signals = {k: lfilter([1.0], [1.0, -0.95], 0.05 * rng.standard_normal((sr * 4, 2)), axis=0)
               for k in order if k != "mixture"}
    signals["mixture"] = sum(signals.values())
    cmd = ["ffmpeg", "-y", "-loglevel", "error"]
    for k in order:
        sf.write(tmp_path / f"{k}.wav", signals[k], sr)
        cmd += ["-i", str(tmp_path / f"{k}.wav")]
    for i in range(len(order)):
        cmd += ["-map", str(i)]
    (tmp_path / "musdb" / "test").mkdir(parents=True)
    cmd += ["-c:a", "aac", "-b:a", "256k", str(tmp_path / "musdb" / "test" / "Song.stem.mp4")]
    subprocess.run(cmd, check=True)
    ds = open_dataset(tmp_path / "musdb")
    ex = ds.excerpt("test/Song" if "test/Song" in ds.tracks() else ds.tracks()[0],
                    start=1.5, duration=1.0)
    for name in ("vocals", "drums", "bass"):
        ref = signals[name][int(1.5 * sr):int(2.5 * sr)].T
        est = ex.stems[name][:, :ref.shape[1]]
        corr = np.correlate(est[0, 2000:6000], ref[0, 1700:6300], "valid")
        assert int(np.argmax(corr)) == 300, name                    # no lag
        snr = 10 * np.log10((ref ** 2).sum() / ((ref - est) ** 2).sum())
        assert snr > 10, (name, snr)                                 # AAC, but the right stream
