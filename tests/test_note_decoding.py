"""Note decoding (probabilities -> notes) and the transcription output files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from mirkit.data.datasets import NoteTable
from mirkit.data.instruments import BY_NAME, CLASS_INDEX, CLASSES
from mirkit.errors import InputError, ParameterError
from mirkit.features.pianoroll import LOWEST_PITCH, notes_to_labels
from mirkit.io.symbolic import write_midi
from mirkit.models.note_decoding import (
    NOTES_CSV_COLUMNS,
    DecodedNotes,
    activity_table,
    decode_notes,
    label_by_mean,
    notes_to_score,
    read_notes_csv,
    velocity_from_probability,
    write_activity_csv,
    write_notes_csv,
)

SR, HOP = 16000, 512
FPS = SR / HOP                       # 31.25 frames per second, 32 ms per frame
FRAME = 1.0 / FPS
N_FRAMES = 320                       # ~10 s
DRUM_SECONDS = 0.1


# --------------------------------------------------------------------------- helpers


def _random_notes(rng: np.random.Generator, *, min_len: int = 3) -> dict[str, np.ndarray]:
    """Structured random notes: 4 classes (drums included), 4 keys each, sequences per key.

    Pitched notes span whole frames ``s .. e-1`` (``e - s >= min_len`` frames, >= 0.096 s)
    with times jittered by < 0.4 frame; consecutive notes of a key either touch (gap 0: a
    re-articulation) or leave a gap. Drum hits sit exactly on frames, 0.1 s long, at least
    4 frames apart. Keys are drawn independently, so notes of different keys overlap.
    """
    rows: list[tuple[float, float, int, str, int, int]] = []   # on, off, pitch, class, s, e
    for name in ("piano", "bass", "violin", "drums"):
        info = BY_NAME[name]
        keys = rng.choice(np.arange(info.low, info.high + 1), size=4, replace=False)
        for pitch in keys.tolist():
            s = int(rng.integers(0, 12))
            while True:
                if name == "drums":
                    e = s + 3
                    if e >= N_FRAMES:
                        break
                    rows.append((s / FPS, s / FPS + DRUM_SECONDS, pitch, name, s, e))
                    s += int(rng.integers(4, 12))
                    continue
                e = s + int(rng.integers(min_len, 16))
                if e >= N_FRAMES:
                    break
                u = rng.uniform(0.0 if s == 0 else -0.4, 0.4)
                v = rng.uniform(-0.4, 0.4)
                rows.append(((s + u) / FPS, (e + v) / FPS, pitch, name, s, e))
                s = e + int(rng.choice([0, 0, 1, 3, 8]))
    cols = list(zip(*rows, strict=True))
    return {"onset": np.array(cols[0]), "offset": np.array(cols[1]),
            "pitch": np.array(cols[2]), "class": np.array(cols[3]),
            "start": np.array(cols[4]), "end": np.array(cols[5])}


def _labels(notes: dict[str, np.ndarray], frames: int = N_FRAMES
            ) -> tuple[np.ndarray, np.ndarray]:
    lab = notes_to_labels(notes["onset"], notes["offset"], notes["pitch"],
                          list(notes["class"]), classes=CLASSES, frames=frames, sr=SR, hop=HOP)
    return lab.pianoroll.astype(np.float32), lab.onsets.astype(np.float32)


def _sorted(onset: np.ndarray, pitch: np.ndarray, cls: np.ndarray) -> np.ndarray:
    return np.lexsort((onset, pitch, np.array([CLASS_INDEX[c] for c in cls])))


def _assert_same_notes(dec: DecodedNotes, ref: dict[str, np.ndarray]) -> None:
    """Class and pitch exact; onsets/offsets within one frame (in fact on the label grid)."""
    assert len(dec) == len(ref["onset"])
    i = _sorted(ref["onset"], ref["pitch"], ref["class"])
    j = _sorted(dec.onset, dec.pitch, dec.instrument)
    np.testing.assert_array_equal(dec.instrument[j], ref["class"][i])
    np.testing.assert_array_equal(dec.pitch[j], ref["pitch"][i])
    assert np.all(np.abs(dec.onset[j] - ref["onset"][i]) <= FRAME)
    np.testing.assert_allclose(dec.onset[j], ref["start"][i] / FPS, atol=1e-12)
    drums = ref["class"][i] == "drums"
    np.testing.assert_allclose(dec.onset[j][drums], ref["onset"][i][drums], atol=1e-12)
    np.testing.assert_allclose(dec.offset[j][drums], ref["onset"][i][drums] + DRUM_SECONDS,
                               atol=1e-12)
    pitched = ~drums
    assert np.all(np.abs(dec.offset[j][pitched] - ref["offset"][i][pitched]) <= FRAME)
    np.testing.assert_allclose(dec.offset[j][pitched], ref["end"][i][pitched] / FPS,
                               atol=1e-12)


def _one_key(frames: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Empty roll and onset arrays over CLASSES (class piano = index 0 used by the tests)."""
    shape = (len(CLASSES), 88, frames)
    return np.zeros(shape, dtype=np.float64), np.zeros(shape, dtype=np.float64)


PIANO, KEY = CLASS_INDEX["piano"], 60 - LOWEST_PITCH


def _table(onset: list[float], offset: list[float], pitch: list[int], velocity: list[int],
           cls: list[str]) -> NoteTable:
    return NoteTable(np.array(onset, dtype=np.float64), np.array(offset, dtype=np.float64),
                     np.array(pitch, dtype=np.int16), np.array(velocity, dtype=np.int16),
                     np.array(cls, dtype=str))


# --------------------------------------------------------------------------- decoding


def test_round_trip_notes_labels_decode(rng: np.random.Generator) -> None:
    notes = _random_notes(rng)
    # the fixture holds what the test is about: re-articulations and cross-key overlaps
    same = [(c, p) for c, p in zip(notes["class"], notes["pitch"], strict=True)]
    touching = sum(1 for a in range(len(same)) for b in range(len(same))
                   if same[a] == same[b] and notes["end"][a] == notes["start"][b]
                   and notes["class"][a] != "drums")
    assert touching >= 3
    piano = np.flatnonzero(notes["class"] == "piano")
    assert any(notes["start"][b] < notes["end"][a] and notes["start"][a] < notes["end"][b]
               and notes["pitch"][a] != notes["pitch"][b] for a in piano for b in piano)

    roll, onset = _labels(notes)
    dec = decode_notes(roll, onset, sr=SR, hop=HOP, drum_note_seconds=DRUM_SECONDS)
    _assert_same_notes(dec, notes)
    np.testing.assert_array_equal(dec.velocity, 127)          # onset probability 1
    np.testing.assert_allclose(dec.confidence, 1.0)
    assert np.all(np.diff(dec.onset) >= 0)                    # sorted by onset


def test_noisy_probabilities_decode_the_same_notes(rng: np.random.Generator) -> None:
    notes = _random_notes(rng)
    roll, onset = _labels(notes)
    noisy_roll = np.clip(roll * 0.8 + rng.uniform(0.0, 0.3, roll.shape), 0, 1)
    noisy_onset = np.clip(onset * 0.8 + rng.uniform(0.0, 0.3, onset.shape), 0, 1)
    dec = decode_notes(noisy_roll, noisy_onset, sr=SR, hop=HOP, drum_note_seconds=DRUM_SECONDS)
    _assert_same_notes(dec, notes)
    assert np.all((dec.confidence > 0.75) & (dec.confidence <= 1.0))


def test_smeared_onsets_give_one_note_at_the_peak(rng: np.random.Generator) -> None:
    # a model's onset bump spreads over neighbouring frames: 0.6, 0.9, 0.6
    notes = _random_notes(rng, min_len=4)
    roll, onset = _labels(notes)
    smeared = onset * 0.9
    smeared[..., 1:] = np.maximum(smeared[..., 1:], onset[..., :-1] * 0.6)
    smeared[..., :-1] = np.maximum(smeared[..., :-1], onset[..., 1:] * 0.6)
    dec = decode_notes(roll * 0.9, smeared, sr=SR, hop=HOP, drum_note_seconds=DRUM_SECONDS)
    _assert_same_notes(dec, notes)


def test_onset_plateau_gives_one_note_at_its_first_frame() -> None:
    roll, onset = _one_key()
    roll[PIANO, KEY, 10:30] = 0.9
    onset[PIANO, KEY, 10:14] = [0.8, 0.95, 0.95, 0.7]   # saturated for two frames
    dec = decode_notes(roll, onset, sr=SR, hop=HOP)
    np.testing.assert_allclose(np.c_[dec.onset, dec.offset], [[11 / FPS, 30 / FPS]])


def test_rearticulations_split_by_onsets_merged_without() -> None:
    roll, onset = _one_key()
    roll[PIANO, KEY, 10:40] = 1.0            # three touching notes of one key
    onset[PIANO, KEY, [10, 20, 30]] = 1.0
    dec = decode_notes(roll, onset, sr=SR, hop=HOP)
    np.testing.assert_allclose(dec.onset, np.array([10, 20, 30]) / FPS)
    np.testing.assert_allclose(dec.offset, np.array([20, 30, 40]) / FPS)
    # documented: without onsets, a key's touching frames are one note
    merged = decode_notes(roll, None, sr=SR, hop=HOP, use_onsets=False)
    np.testing.assert_allclose(np.c_[merged.onset, merged.offset], [[10 / FPS, 40 / FPS]])
    assert merged.pitch.tolist() == [60] and merged.instrument.tolist() == ["piano"]


def test_min_note_seconds_drops_blips() -> None:
    roll, onset = _one_key()
    roll[PIANO, KEY, 5] = onset[PIANO, KEY, 5] = 1.0          # 1 frame = 32 ms
    roll[PIANO, KEY, 20:22] = onset[PIANO, KEY, 20] = 1.0      # 2 frames = 64 ms
    roll[PIANO, KEY, 40:50] = onset[PIANO, KEY, 40] = 1.0      # 10 frames
    starts = lambda **kw: np.rint(decode_notes(roll, onset, sr=SR, hop=HOP,  # noqa: E731
                                               **kw).onset * FPS).tolist()
    assert starts() == [20, 40]
    assert starts(min_note_seconds=0.0) == [5, 20, 40]
    assert starts(min_note_seconds=0.1) == [40]
    assert starts(min_note_seconds=2 / FPS) == [20, 40]        # exactly 2 frames is kept


def test_onset_gating_and_onset_frame_counts() -> None:
    roll, onset = _one_key()
    roll[PIANO, KEY, 11:20] = 0.9
    roll[PIANO, KEY, 10] = 0.2                # onset frame below the frame threshold
    onset[PIANO, KEY, 10] = 0.7
    roll[PIANO, KEY, 30:45] = 0.9             # frames without any onset
    dec = decode_notes(roll, onset, sr=SR, hop=HOP)
    np.testing.assert_allclose(np.c_[dec.onset, dec.offset], [[10 / FPS, 20 / FPS]])
    frames_only = decode_notes(roll, onset, sr=SR, hop=HOP, use_onsets=False)
    np.testing.assert_allclose(np.c_[frames_only.onset, frames_only.offset],
                               [[11 / FPS, 20 / FPS], [30 / FPS, 45 / FPS]])
    # a stronger onset inside the second region starts a note there
    onset[PIANO, KEY, 33] = 0.6
    assert np.rint(decode_notes(roll, onset, sr=SR, hop=HOP).onset * FPS).tolist() == [10, 33]


def test_gap_merge_frames_bridges_dropouts() -> None:
    roll, onset = _one_key()
    roll[PIANO, KEY, 10:30] = 0.9
    roll[PIANO, KEY, 18:20] = 0.1             # a 2-frame dropout
    onset[PIANO, KEY, 10] = 0.9
    short = decode_notes(roll, onset, sr=SR, hop=HOP)
    np.testing.assert_allclose(short.offset, [18 / FPS])
    assert decode_notes(roll, onset, sr=SR, hop=HOP, gap_merge_frames=1).offset.tolist() \
        == short.offset.tolist()
    bridged = decode_notes(roll, onset, sr=SR, hop=HOP, gap_merge_frames=2)
    np.testing.assert_allclose(np.c_[bridged.onset, bridged.offset], [[10 / FPS, 30 / FPS]])
    # an onset inside the bridged gap still re-articulates (the bridged frame 18 counts as
    # active, so the first note lasts up to that onset)
    onset[PIANO, KEY, 19] = 0.9
    split = decode_notes(roll, onset, sr=SR, hop=HOP, gap_merge_frames=2)
    np.testing.assert_allclose(split.onset, [10 / FPS, 19 / FPS])
    np.testing.assert_allclose(split.offset, [19 / FPS, 30 / FPS])


def test_velocity_and_confidence() -> None:
    roll, onset = _one_key()
    roll[PIANO, KEY, 10:20] = 0.7
    onset[PIANO, KEY, 9:12] = [0.55, 0.9, 0.6]   # peak at 10
    dec = decode_notes(roll, onset, sr=SR, hop=HOP)
    assert dec.onset.tolist() == [10 / FPS]
    assert dec.velocity.tolist() == [round(40 + 87 * 0.9)]
    np.testing.assert_allclose(dec.confidence, [(0.7 + 0.9) / 2])
    frames_only = decode_notes(roll, onset, sr=SR, hop=HOP, use_onsets=False)
    assert frames_only.velocity.tolist() == [round(40 + 87 * 0.7)]
    np.testing.assert_allclose(frames_only.confidence, [0.7])
    np.testing.assert_array_equal(velocity_from_probability([0.0, 0.5, 1.0]), [40, 84, 127])


def test_drums_fixed_length_clipped_at_next_hit() -> None:
    roll, onset = _one_key()
    drums, kick = CLASS_INDEX["drums"], 36 - LOWEST_PITCH
    onset[drums, kick, [5, 7, 30]] = 0.8          # 5 and 7 are 64 ms apart
    roll[drums, kick, 5] = 0.6                    # frame activity is ignored for drums
    dec = decode_notes(roll, onset, sr=SR, hop=HOP, min_note_seconds=0.5)
    assert dec.instrument.tolist() == ["drums"] * 3 and dec.pitch.tolist() == [36] * 3
    np.testing.assert_allclose(dec.onset, np.array([5, 7, 30]) / FPS)
    np.testing.assert_allclose(dec.offset, [7 / FPS, 7 / FPS + 0.1, 30 / FPS + 0.1])
    np.testing.assert_allclose(dec.confidence, [(0.6 + 0.8) / 2, 0.4, 0.4])


def test_pitch_first_one_note_per_pitch_labelled_by_the_most_active_class() -> None:
    roll, onset = _one_key()
    violin, flute, drums = CLASS_INDEX["violin"], CLASS_INDEX["flute"], CLASS_INDEX["drums"]
    # piano and violin both see the same note, violin more over its frames
    roll[PIANO, KEY, 10:30] = [0.9] * 4 + [0.3] * 16        # mean 0.42
    roll[violin, KEY, 10:30] = 0.6
    onset[PIANO, KEY, 10] = 0.8
    onset[violin, KEY, 11] = 0.7                   # one smeared onset over classes
    # a flute note on another key, weak everywhere but the only class there
    roll[flute, KEY + 7, 40:50] = 0.55
    onset[flute, KEY + 7, 40] = 0.6
    onset[drums, 36 - LOWEST_PITCH, 5] = 0.9       # drums decoded on their own
    per = decode_notes(roll, onset, sr=SR, hop=HOP)
    assert sorted(per.instrument.tolist()) == ["drums", "flute", "piano", "violin"]
    first = decode_notes(roll, onset, sr=SR, hop=HOP, decoder="pitch-first")
    assert first.instrument.tolist() == ["drums", "violin", "flute"]
    assert first.pitch.tolist() == [36, 60, 67]
    np.testing.assert_allclose(first.onset, np.array([5, 10, 40]) / FPS)
    np.testing.assert_allclose(first.offset[1:], np.array([30, 50]) / FPS)
    # velocity and confidence come from the pooled (max) probabilities
    pooled_mean = (4 * 0.9 + 16 * 0.6) / 20
    np.testing.assert_allclose(first.confidence[1], (pooled_mean + 0.8) / 2)
    assert first.velocity[1] == round(40 + 87 * 0.8)
    # a tie goes to the first class in axis order; without onsets the same labels
    roll[violin, KEY, 10:30] = roll[PIANO, KEY, 10:30]
    tie = decode_notes(roll, onset, sr=SR, hop=HOP, decoder="pitch-first", use_onsets=False)
    assert tie.instrument.tolist() == ["piano", "flute"]      # drums need onsets here
    assert CLASS_INDEX["piano"] < CLASS_INDEX["violin"]
    with pytest.raises(ParameterError, match=r"decoder 'pitch' must be one of "
                                             r"per-instrument, pitch-first"):
        decode_notes(roll, onset, sr=SR, hop=HOP, decoder="pitch")


def test_class_vote_relabels_stray_notes_within_its_window() -> None:
    # notes 0..5 at frames 0, 10, ..., 50; notes 6, 7 far away at frames 1000, 1010
    starts = np.array([0, 10, 20, 30, 40, 50, 1000, 1010])
    lengths = np.array([10, 10, 10, 10, 10, 10, 10, 20])
    means = np.full((8, 3), 0.05)
    means[:6, 0] = 0.8                                  # class 0 plays the first phrase
    means[2, 1] = 0.85                                  # ... but one note leans to class 1
    means[6:, 2] = 0.7                                  # class 2 plays far away
    means[6, 0] = 0.75                                  # ... one note leans to class 0
    sums = means * lengths[:, None]
    plain = label_by_mean(sums, lengths)
    assert plain.tolist() == [0, 0, 1, 0, 0, 0, 0, 2]
    # the whole input: class 0 holds 60/100 of the votes, class 1 10, class 2 20
    assert label_by_mean(sums, lengths, starts, min_class_share=0.15).tolist() == \
        [0, 0, 0, 0, 0, 0, 0, 2]
    assert label_by_mean(sums, lengths, starts, min_class_share=0.05).tolist() == \
        plain.tolist()
    # a 100-frame window: the far notes see only each other (10 votes for 0, 20 for 2)
    assert label_by_mean(sums, lengths, starts, min_class_share=0.4,
                         window_frames=100).tolist() == [0, 0, 0, 0, 0, 0, 2, 2]
    # the class with the most votes always stays, even above the share
    assert label_by_mean(sums, lengths, starts, min_class_share=0.99).tolist() == \
        [0] * 8
    with pytest.raises(ParameterError, match="needs the notes' start frames"):
        label_by_mean(sums, lengths, min_class_share=0.2)
    assert label_by_mean(np.zeros((0, 3)), np.zeros(0, int), np.zeros(0, int),
                         min_class_share=0.2).shape == (0,)


def test_pitch_first_class_vote_in_decode_notes() -> None:
    roll, onset = _one_key(400)
    violin, viola = CLASS_INDEX["violin"], CLASS_INDEX["viola"]
    for i, a in enumerate(range(0, 300, 30)):          # ten violin notes on two keys
        key = KEY + (i % 2) * 2
        roll[violin, key, a:a + 20] = 0.7
        onset[violin, key, a] = 0.8
    roll[viola, KEY, 120:140] = 0.75                   # the fifth note leans to viola
    onset[viola, KEY, 120] = 0.6
    plain = decode_notes(roll, onset, sr=SR, hop=HOP, decoder="pitch-first")
    assert plain.instrument.tolist().count("viola") == 1 and len(plain) == 10
    vote = decode_notes(roll, onset, sr=SR, hop=HOP, decoder="pitch-first",
                        min_class_share=0.2)
    assert set(vote.instrument.tolist()) == {"violin"}
    for col in ("onset", "offset", "pitch", "velocity", "confidence"):
        np.testing.assert_array_equal(vote[col], plain[col])
    # a window of 1 s (31 frames) around the viola note holds it and two violin notes
    near = decode_notes(roll, onset, sr=SR, hop=HOP, decoder="pitch-first",
                        min_class_share=0.2, class_window_seconds=1.0)
    assert near.instrument.tolist() == plain.instrument.tolist()
    # per-instrument decoding has no vote
    per = decode_notes(roll, onset, sr=SR, hop=HOP, min_class_share=0.2)
    assert "viola" in per.instrument.tolist()


def test_reonset_threshold_needs_stronger_rearticulations() -> None:
    roll, onset = _one_key(170)
    roll[PIANO, KEY, 0:60] = 0.8                       # one held key, struck three times
    onset[PIANO, KEY, [0, 20, 40]] = [0.9, 0.3, 0.7]
    roll[PIANO, KEY, 70:90] = 0.8                      # a weak onset after silence
    onset[PIANO, KEY, 70] = 0.3
    roll[PIANO, KEY, 100:140] = 0.8                    # a weak one on a one-frame dip
    roll[PIANO, KEY, 120] = 0.1
    onset[PIANO, KEY, [100, 120]] = [0.9, 0.3]
    roll[PIANO, KEY, 145:155] = 0.8                    # a weak one where silence begins
    onset[PIANO, KEY, [145, 155]] = [0.9, 0.3]

    def frames(**kw: object) -> list[tuple[int, int]]:
        dec = decode_notes(roll, onset, sr=SR, hop=HOP, onset_threshold=0.25, **kw)
        return [(round(a * FPS), round(b * FPS)) for a, b in
                zip(dec.onset, dec.offset, strict=True)]

    # (the start at 155 makes a one-frame note, shorter than the 50-ms minimum)
    every = [(0, 20), (20, 40), (40, 60), (70, 90), (100, 120), (120, 140), (145, 155)]
    assert frames() == every
    assert frames(reonset_threshold=0.25) == every       # equal to the onset threshold: off
    assert frames(reonset_threshold=0.5) == [(0, 40), (40, 60), (70, 90), (100, 140),
                                             (145, 155)]   # never stretched into silence
    assert frames(reonset_threshold=0.8) == [(0, 60), (70, 90), (100, 140),
                                             (145, 155)]   # chained
    assert frames(reonset_threshold=0.5, decoder="pitch-first") == frames(
        reonset_threshold=0.5)
    merged = decode_notes(roll, onset, sr=SR, hop=HOP, onset_threshold=0.25,
                          reonset_threshold=0.8)
    np.testing.assert_allclose(merged.confidence[0], 0.5 * (0.8 + 0.9))
    # without onsets there are no re-articulations to judge
    plain = decode_notes(roll, onset, sr=SR, hop=HOP, use_onsets=False)
    same = decode_notes(roll, onset, sr=SR, hop=HOP, use_onsets=False, reonset_threshold=0.9)
    assert len(plain) == 5
    for col in NOTES_CSV_COLUMNS:
        np.testing.assert_array_equal(same[col], plain[col])
    with pytest.raises(ParameterError, match=r"reonset_threshold 0\.2 must lie in "
                                             r"\[0\.25, 1\) \(at least the onset threshold"):
        frames(reonset_threshold=0.2)
    with pytest.raises(ParameterError, match=r"reonset_threshold 1\.0 must lie in"):
        frames(reonset_threshold=1.0)


def test_custom_class_axis_and_input_types() -> None:
    roll = np.zeros((2, 88, 30), dtype=bool)
    roll[1, 0, 3:9] = True
    onset = np.zeros_like(roll)
    onset[1, 0, 3] = True
    dec = decode_notes(roll, onset, sr=SR, hop=HOP, classes=("x", "y"), lowest_pitch=30)
    assert dec.instrument.tolist() == ["y"] and dec.pitch.tolist() == [30]


def test_empty_inputs_give_empty_results() -> None:
    for frames in (0, 25):
        roll, onset = _one_key(frames)
        dec = decode_notes(roll, onset, sr=SR, hop=HOP)
        assert len(dec) == 0 and dec.onset.shape == (0,) and dec.confidence.shape == (0,)
    empty = notes_to_score(DecodedNotes.empty())
    assert len(empty.notes) == 0 and empty.parts == []       # no track without notes


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"frame_threshold": 0.0}, r"frame_threshold 0\.0 must lie strictly between 0 and 1"),
    ({"frame_threshold": 1.0}, r"frame_threshold 1\.0 must lie"),
    ({"onset_threshold": 1.5}, r"onset_threshold 1\.5 must lie"),
    ({"onset_threshold": float("nan")}, r"onset_threshold nan must lie"),
    ({"min_note_seconds": -0.1}, r"min_note_seconds -0\.1 must be a finite number >= 0"),
    ({"drum_note_seconds": 0.0}, r"drum_note_seconds 0\.0 must be a finite number > 0"),
    ({"gap_merge_frames": -1}, r"gap_merge_frames -1 must be a whole number >= 0"),
    ({"gap_merge_frames": 1.5}, r"gap_merge_frames 1\.5 must be a whole number"),
    ({"lowest_pitch": 41}, r"lowest_pitch 41 must be a MIDI number in 0\.\.40"),
    ({"min_class_share": 1.0}, r"min_class_share 1\.0 must lie in \[0, 1\)"),
    ({"min_class_share": True}, r"min_class_share True must lie in \[0, 1\)"),
    ({"class_window_seconds": 0.0}, r"class_window_seconds 0\.0 must be a positive number of "
                                    r"seconds \(inf: the whole input\)"),
    ({"class_window_seconds": float("nan")}, r"class_window_seconds nan must be a positive"),
    ({"class_window_seconds": -float("inf")}, r"class_window_seconds -inf must be a positive"),
    ({"class_window_seconds": True}, r"class_window_seconds True must be a positive"),
    ({"sr": 0}, r"sr 0 must be a positive whole number \(Hz\)"),
    ({"classes": ("piano", "bass")}, r"expected \(classes, 88, frames\) = \(2, 88, n_frames\)"),
])
def test_decode_parameter_errors(kwargs: dict, match: str) -> None:
    roll, onset = _one_key(10)
    args = {"sr": SR, "hop": HOP, **kwargs}
    with pytest.raises(ParameterError, match=match):
        decode_notes(roll, onset, **args)


def test_decode_shape_and_value_errors() -> None:
    roll, onset = _one_key(10)
    with pytest.raises(ParameterError, match=r"roll_prob has shape \(17, 87, 10\); expected "
                                             r"\(classes, 88, frames\) = \(17, 88, n_frames\)"):
        decode_notes(roll[:, :87], onset[:, :87], sr=SR, hop=HOP)
    with pytest.raises(ParameterError, match=r"roll_prob has shape \(88, 10\); expected"):
        decode_notes(roll[0], onset[0], sr=SR, hop=HOP)
    with pytest.raises(ParameterError, match=r"onset_prob has shape \(17, 88, 9\) but "
                                             r"roll_prob \(17, 88, 10\)"):
        decode_notes(roll, onset[..., :9], sr=SR, hop=HOP)
    with pytest.raises(ParameterError, match=r"use_onsets=True needs onset_prob"):
        decode_notes(roll, None, sr=SR, hop=HOP)
    bad = roll.copy()
    bad[0, 0, 0] = 3.0
    with pytest.raises(ParameterError, match=r"values from 0\.0 to 3\.0; expected probabilities"):
        decode_notes(bad, onset, sr=SR, hop=HOP)
    bad[0, 0, 0] = np.nan
    with pytest.raises(ParameterError, match=r"expected probabilities in \[0, 1\]"):
        decode_notes(roll, bad, sr=SR, hop=HOP)


# --------------------------------------------------------------------------- outputs


def _decoded(rng: np.random.Generator) -> DecodedNotes:
    notes = _random_notes(rng)
    roll, onset = _labels(notes)
    roll = roll * rng.uniform(0.6, 1.0, roll.shape)
    onset = onset * rng.uniform(0.6, 1.0, onset.shape)
    return decode_notes(roll, onset, sr=SR, hop=HOP)


def test_midi_round_trip_programs_drums_and_times(rng: np.random.Generator,
                                                  tmp_path: Path) -> None:
    import pretty_midi

    dec = _decoded(rng)
    score = notes_to_score(dec)
    assert [p.name for p in score.parts] == ["piano", "bass", "violin", "drums"]
    path = write_midi(score, tmp_path / "song.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    by_name = {inst.name: inst for inst in pm.instruments}
    assert sorted(by_name) == ["bass", "drums", "piano", "violin"]
    for name, inst in by_name.items():
        assert inst.program == BY_NAME[name].programs[0]
        assert inst.is_drum == (name == "drums")
        sel = dec.instrument == name
        want = sorted(zip(dec.onset[sel], dec.offset[sel], dec.pitch[sel].tolist(),
                          dec.velocity[sel].tolist(), strict=True))
        got = sorted((n.start, n.end, n.pitch, n.velocity) for n in inst.notes)
        assert len(got) == len(want)
        np.testing.assert_allclose([g[:2] for g in got], [w[:2] for w in want], atol=1e-3)
        assert [g[2:] for g in got] == [w[2:] for w in want]
    assert pm.get_tempo_changes()[1].tolist() == [120.0]


def test_notes_to_score_accepts_note_tables_and_rejects_unknown_classes() -> None:
    table = _table([0.0, 0.5], [0.5, 1.0], [60, 38], [0, 90], ["cello", "drums"])
    score = notes_to_score(table)
    assert [(p.name, p.program, p.is_drum) for p in score.parts] == [
        ("cello", 42, False), ("drums", 0, True)]
    assert score.notes["velocity"].tolist() == [1, 90]          # velocity 0 becomes 1
    np.testing.assert_allclose(score.notes["onset_beats"], [0.0, 1.0])   # 120 qpm
    with pytest.raises(ParameterError, match=r"instrument class 'kazoo' has no General MIDI"):
        notes_to_score(_table([0.0], [1.0], [60], [80], ["kazoo"]))


def test_notes_csv_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    dec = _decoded(rng)
    path = write_notes_csv(tmp_path / "out" / "song.notes.csv", dec)
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == NOTES_CSV_COLUMNS
    assert len(rows) == len(dec) + 1
    back = read_notes_csv(path)
    for column in NOTES_CSV_COLUMNS:
        if column == "instrument":
            assert back[column].tolist() == dec[column].tolist()
        else:
            np.testing.assert_allclose(back[column], dec[column], atol=1e-4)
    assert [p.name for p in path.parent.iterdir()] == ["song.notes.csv"]   # no temp left
    empty = write_notes_csv(tmp_path / "empty.notes.csv", DecodedNotes.empty())
    assert empty.read_text().strip() == ",".join(NOTES_CSV_COLUMNS)
    assert len(read_notes_csv(empty)) == 0


def test_read_notes_csv_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("onset,offset,pitch,velocity,class\n0,1,60,80,piano\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) instrument, confidence"):
        read_notes_csv(path)
    path.write_text(",".join(NOTES_CSV_COLUMNS) + "\n0,1,sixty,80,piano,0.5\n")
    with pytest.raises(InputError, match=r"line 2: .* is not onset,offset"):
        read_notes_csv(path)
    with pytest.raises(InputError, match=r"cannot read note file"):
        read_notes_csv(tmp_path / "missing.csv")


def test_decoded_notes_columns_and_select(rng: np.random.Generator) -> None:
    dec = _decoded(rng)
    sub = dec.select(np.isin(dec.instrument, ["bass"]))
    assert set(sub.instrument.tolist()) == {"bass"} and len(sub) == int(np.sum(
        dec.instrument == "bass"))
    np.testing.assert_array_equal(sub.confidence, dec.confidence[dec.instrument == "bass"])
    with pytest.raises(ParameterError, match=r"unknown note column 'class'"):
        dec["class"]
    with pytest.raises(InputError, match=r"2 confidences for 1 notes"):
        DecodedNotes(_table([0.0], [1.0], [60], [80], ["piano"]), np.array([0.5, 0.5]))
    with pytest.raises(InputError, match=r"confidence 1\.5 is outside \[0, 1\]"):
        DecodedNotes(_table([0.0], [1.0], [60], [80], ["piano"]), np.array([1.5]))


def test_activity_table_per_frame_and_windows(tmp_path: Path) -> None:
    sr, hop = 100, 10                    # 10 frames per second: frame k at k / 10 s
    probs = np.array([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                      [1.0, 1.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.2]])
    times, matrix = activity_table(probs, sr=sr, hop=hop, classes=("a", "b"))
    np.testing.assert_allclose(times, np.arange(9) / 10)
    np.testing.assert_array_equal(matrix, probs.T)
    # 0.25 s windows: frames {0,1,2} (0-0.2 s), {3,4}, {5,6,7}, {8}
    times, matrix = activity_table(probs, sr=sr, hop=hop, resolution=0.25, classes=("a", "b"),
                                   reduce="mean")
    np.testing.assert_allclose(times, [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(matrix, [[0.1, 1.0], [0.35, 0.0], [0.6, 0.5], [0.8, 0.2]])
    times, matrix = activity_table(probs, sr=sr, hop=hop, resolution=0.25, classes=("a", "b"))
    np.testing.assert_allclose(matrix, [[0.2, 1.0], [0.4, 0.0], [0.7, 0.5], [0.8, 0.2]])
    with pytest.raises(ParameterError, match="reduce"):
        activity_table(probs, sr=sr, hop=hop, resolution=0.25, classes=("a", "b"),
                       reduce="median")
    # one window per frame when the resolution is the frame period
    times, matrix = activity_table(probs, sr=sr, hop=hop, resolution=0.1, classes=("a", "b"))
    np.testing.assert_array_equal(matrix, probs.T)

    path = write_activity_csv(tmp_path / "song.activity.csv", times, matrix, ("a", "b"))
    assert path.read_text().splitlines()[0] == "time,a,b"
    back = np.loadtxt(path, delimiter=",", skiprows=1)
    np.testing.assert_allclose(back, np.column_stack([times, matrix]), atol=1e-4)

    t0, m0 = activity_table(np.zeros((len(CLASSES), 0)), sr=SR, hop=HOP, resolution=1.0)
    assert t0.shape == (0,) and m0.shape == (0, len(CLASSES))
    empty = write_activity_csv(tmp_path / "empty.csv", t0, m0, CLASSES)
    assert empty.read_text() == ",".join(("time", *CLASSES)) + "\n"


def test_activity_errors(tmp_path: Path) -> None:
    probs = np.zeros((len(CLASSES), 20))
    with pytest.raises(ParameterError, match=r"resolution 0\.01 s is finer than the frame "
                                             r"period 0\.032 s"):
        activity_table(probs, sr=SR, hop=HOP, resolution=0.01)
    with pytest.raises(ParameterError, match=r"resolution -1 must be a finite number > 0"):
        activity_table(probs, sr=SR, hop=HOP, resolution=-1)
    with pytest.raises(ParameterError, match=r"instrument_prob has shape \(3, 20\); expected "
                                             r"\(classes, frames\) = \(17, n_frames\)"):
        activity_table(probs[:3], sr=SR, hop=HOP)
    with pytest.raises(ParameterError, match=r"instrument_prob holds values from"):
        activity_table(probs - 1, sr=SR, hop=HOP)
    with pytest.raises(ParameterError, match=r"activity matrix has shape \(20, 17\); expected "
                                             r"\(times, classes\) = \(20, 2\)"):
        write_activity_csv(tmp_path / "x.csv", np.arange(20), probs.T, ("a", "b"))


def test_evaluate_reads_the_notes_csv_transcribe_writes(tmp_path: Path) -> None:
    """NAME.notes.csv (with its confidence column) is a valid input of evaluate transcription."""
    from mirkit.metrics.transcription import read_notes

    prob = np.zeros((len(CLASSES), 88, 40), dtype=np.float32)
    prob[0, 60 - 21, 5:20] = 1.0
    onsets = np.zeros_like(prob)
    onsets[0, 60 - 21, 5] = 1.0
    decoded = decode_notes(prob, onsets, sr=16000, hop=512)
    path = tmp_path / "x.notes.csv"
    write_notes_csv(path, decoded)
    notes = read_notes(path)
    assert len(notes) == 1 and notes.pitches[0] == 60 and notes.instruments[0] == "piano"
