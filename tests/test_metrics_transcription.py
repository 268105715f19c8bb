"""Transcription metrics: equality with mir_eval, instrument-aware counts, frames, loaders."""

from __future__ import annotations

import warnings
from pathlib import Path

import mir_eval
import numpy as np
import pretty_midi
import pytest

from mirkit.errors import InputError, ParameterError
from mirkit.metrics import transcription as tr

# Hand-made notes: (onset, offset) in seconds and MIDI pitch. The estimate has a good note,
# a late onset inside 50 ms, a pitch 40 cents off (inside 50), a pitch 60 cents off, a
# short offset, a missed note and an extra one.
REF_IV = np.array([[0.0, 0.5], [0.5, 1.0], [1.0, 1.5], [1.5, 2.0], [2.0, 3.0], [3.0, 3.5]])
REF_P = np.array([60.0, 62.0, 64.0, 65.0, 67.0, 72.0])
REF_V = np.array([100.0, 90.0, 80.0, 70.0, 60.0, 50.0])
EST_IV = np.array([[0.0, 0.5], [0.54, 1.0], [1.0, 1.5], [1.5, 2.0], [2.0, 2.5], [3.6, 3.9]])
EST_P = np.array([60.0, 62.0, 64.4, 65.6, 67.0, 50.0])
EST_V = np.array([101.0, 60.0, 79.0, 70.0, 20.0, 50.0])


def hz(p: np.ndarray) -> np.ndarray:
    return tr.midi_to_hz(p)


def random_notes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    onsets = np.sort(rng.uniform(0.0, 5.0, n))
    intervals = np.column_stack([onsets, onsets + rng.uniform(0.05, 1.0, n)])
    return intervals, rng.integers(40, 90, n).astype(float) + rng.normal(0, 0.2, n)


def jitter(rng: np.random.Generator, iv: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, ...]:
    keep = rng.random(p.size) < 0.8
    iv = iv[keep] + rng.normal(0.0, 0.03, (int(keep.sum()), 2))
    iv[:, 1] = np.maximum(iv[:, 1], iv[:, 0] + 0.01)
    return np.clip(iv, 0.0, None), p[keep] + rng.normal(0.0, 0.3, int(keep.sum()))


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------------- conversions


def test_midi_to_hz_matches_pretty_midi():
    pitches = np.array([0.0, 21.0, 60.0, 69.0, 60.5, 127.0])
    expected = [pretty_midi.note_number_to_hz(p) for p in pitches]
    np.testing.assert_allclose(tr.midi_to_hz(pitches), expected, rtol=1e-14)
    assert tr.midi_to_hz(69) == 440.0 and tr.midi_to_hz(81) == 880.0


# ------------------------------------------------------------------------- note metrics


def test_evaluate_equals_mir_eval_exactly_on_hand_made_notes(no_warnings):
    scores = tr.evaluate(REF_IV, REF_P, EST_IV, EST_P)
    expected = mir_eval.transcription.evaluate(REF_IV, hz(REF_P), EST_IV, hz(EST_P))
    assert len(expected) == 14
    for key, value in expected.items():
        assert scores[key] == value, key
    # Hand count: notes 0, 1, 2 and 4 match on onset and pitch; note 4's offset is 0.5 s
    # early (tolerance 0.2 s), so three notes match with offsets.
    assert scores["Precision_no_offset"] == 4 / 6
    assert scores["Precision"] == 3 / 6
    assert scores["Onset_Recall"] == 5 / 6  # pitch ignored: only the 3.6 s onset misses
    assert scores["Reference notes"] == 6.0 and scores["Estimated notes"] == 6.0


def test_velocity_keys_equal_mir_eval_transcription_velocity(no_warnings):
    scores = tr.evaluate(REF_IV, REF_P, EST_IV, EST_P, ref_velocities=REF_V, est_velocities=EST_V)
    expected = mir_eval.transcription_velocity.evaluate(
        REF_IV, hz(REF_P), REF_V, EST_IV, hz(EST_P), EST_V
    )
    for key, value in expected.items():
        assert scores[f"Velocity {key}"] == value, key
    # The 60-velocity estimate of a 90-velocity note fails the velocity check.
    assert scores["Velocity Precision_no_offset"] < scores["Precision_no_offset"]


def test_random_notes_equal_mir_eval(rng, no_warnings):
    for _ in range(5):
        ref_iv, ref_p = random_notes(rng, 40)
        est_iv, est_p = jitter(rng, ref_iv, ref_p)
        ref_v, est_v = rng.integers(1, 128, ref_p.size), rng.integers(1, 128, est_p.size)
        scores = tr.evaluate(ref_iv, ref_p, est_iv, est_p, ref_velocities=ref_v,
                             est_velocities=est_v)
        expected = mir_eval.transcription.evaluate(ref_iv, hz(ref_p), est_iv, hz(est_p))
        assert {k: scores[k] for k in expected} == dict(expected)
        vel = mir_eval.transcription_velocity.evaluate(
            ref_iv, hz(ref_p), ref_v, est_iv, hz(est_p), est_v
        )
        assert {k: scores[f"Velocity {k}"] for k in vel} == dict(vel)


def test_options_reach_mir_eval():
    loose = tr.precision_recall_f1_overlap(REF_IV, REF_P, EST_IV, EST_P, offset_ratio=None,
                                           onset_tolerance=0.7, pitch_tolerance=100.0)
    expected = mir_eval.transcription.precision_recall_f1_overlap(
        REF_IV, hz(REF_P), EST_IV, hz(EST_P), offset_ratio=None, onset_tolerance=0.7,
        pitch_tolerance=100.0,
    )
    assert loose == expected
    assert loose[0] == 5 / 6  # the 60-cent note now matches too
    onset = tr.onset_precision_recall_f1(REF_IV, EST_IV, onset_tolerance=0.7)
    assert onset == mir_eval.transcription.onset_precision_recall_f1(
        REF_IV, EST_IV, onset_tolerance=0.7)
    offset = tr.offset_precision_recall_f1(REF_IV, EST_IV, offset_ratio=0.5)
    assert offset == mir_eval.transcription.offset_precision_recall_f1(
        REF_IV, EST_IV, offset_ratio=0.5)


def test_empty_estimate_is_reported_as_zero_with_counts(no_warnings):
    scores = tr.evaluate(REF_IV, REF_P, np.zeros((0, 2)), [], ref_instruments=["a"] * 6,
                         est_instruments=[], ref_velocities=REF_V, est_velocities=[])
    assert scores["Estimated notes"] == 0.0 and scores["Reference notes"] == 6.0
    for key in ("Precision", "Recall", "F-measure", "Onset_F-measure", "Velocity F-measure",
                "Frame Precision", "Frame Recall", "Instrument F-measure",
                "Activity Precision", "Instrument F-measure [a]"):
        assert scores[key] == 0.0, key
    assert scores["Frame Miss Error"] == 1.0
    assert not any(np.isnan(v) for v in scores.values())


@pytest.mark.parametrize("function", [
    lambda iv, p: tr.evaluate(iv, p, REF_IV, REF_P),
    lambda iv, p: tr.precision_recall_f1_overlap(iv, p, REF_IV, REF_P),
    lambda iv, p: tr.onset_precision_recall_f1(iv, REF_IV),
    lambda iv, p: tr.multipitch_from_notes(iv, p, REF_IV, REF_P),
])
def test_empty_reference_is_an_input_error(function):
    with pytest.raises(InputError, match="reference has no notes"):
        function(np.zeros((0, 2)), np.zeros(0))


# ------------------------------------------------------------------------- instruments

# Reference: piano C4, violin E4 (together), piano G4. The estimate gets C4 right, plays E4
# on the piano (right pitch, wrong instrument) and G4 with a 0.5 s early offset.
INST_REF = (np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 2.0]]), [60, 64, 67], ["piano", "violin",
                                                                            "piano"])
INST_EST = (np.array([[0.0, 1.0], [0.0, 1.0], [1.02, 1.5]]), [60, 64, 67], ["piano", "piano",
                                                                             "piano"])


def test_wrong_instrument_is_a_miss_and_a_false_alarm():
    (ri, rp, rl), (ei, ep, el) = INST_REF, INST_EST
    p, r, f, per = tr.instrument_precision_recall_f1(ri, rp, rl, ei, ep, el, offset_ratio=None)
    assert (p, r) == (2 / 3, 2 / 3) and f == pytest.approx(2 / 3, abs=1e-15)
    # piano: TP 2, 2 reference and 3 estimated notes; violin: TP 0, 1 reference note.
    assert per == {"piano": 4 / 5, "violin": 0.0}
    agnostic = tr.precision_recall_f1_overlap(ri, rp, ei, ep, offset_ratio=None)
    assert agnostic[2] == 1.0
    p, r, f, per = tr.instrument_precision_recall_f1(ri, rp, rl, ei, ep, el)  # with offsets
    assert (p, r, per) == (1 / 3, 1 / 3, {"piano": 2 / 5, "violin": 0.0})


def test_evaluate_reports_instrument_and_activity_keys():
    (ri, rp, rl), (ei, ep, el) = INST_REF, INST_EST
    scores = tr.evaluate(ri, rp, ei, ep, ref_instruments=rl, est_instruments=el,
                         hop_seconds=0.1)
    assert scores["Instrument F-measure_no_offset"] == pytest.approx(2 / 3)
    assert scores["Instrument F-measure [piano]"] == 2 / 5
    assert scores["Instrument F-measure_no_offset [piano]"] == 4 / 5
    assert scores["Instrument F-measure [violin]"] == 0.0
    # Activity at 0.1 s hops: piano reference frames 0-19, estimate 0-9 and 11-14 (frame 10,
    # at 1.0 s, falls in the 20 ms gap); violin 0-9 in the reference only.
    # TP 14, FP 0, FN 6 + 10.
    assert scores["Activity Precision"] == 1.0
    assert scores["Activity Recall"] == 14 / 30
    assert scores["Activity F-measure [piano]"] == 28 / 34
    assert scores["Activity F-measure [violin]"] == 0.0
    keys = list(scores)
    assert keys.index("Frame Precision") < keys.index("Instrument Precision") < keys.index(
        "Activity Precision") < keys.index("Reference notes")


def test_integer_and_string_labels_are_the_same_class():
    ri, rp, _ = INST_REF
    p, r, f, per = tr.instrument_precision_recall_f1(ri, rp, np.array([0, 40, 0]), ri, rp,
                                                     ["0", "40", "0"])
    assert (p, r, f) == (1.0, 1.0, 1.0) and per == {"0": 1.0, "40": 1.0}


def test_one_instrument_class_equals_plain_matching(rng):
    ref_iv, ref_p = random_notes(rng, 30)
    est_iv, est_p = jitter(rng, ref_iv, ref_p)
    p, r, f, _ = tr.instrument_precision_recall_f1(ref_iv, ref_p, ["x"] * ref_p.size, est_iv,
                                                   est_p, ["x"] * est_p.size)
    plain = tr.precision_recall_f1_overlap(ref_iv, ref_p, est_iv, est_p)
    assert (p, r) == plain[:2] and f == pytest.approx(plain[2], abs=1e-12)


def test_activity_from_matrices_micro_and_per_instrument():
    ref = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=bool)
    est = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 1]], dtype=bool)  # one frame shorter
    p, r, f, per = tr.activity_precision_recall_f1(ref, est, instruments=["a", "b", "c"])
    # TP: a 1, c 2; FP: a 1; FN: a 1, c 1 (the padded frame).
    assert (p, r, f) == (3 / 4, 3 / 5, 6 / 9)
    assert per == {"a": 2 / 4, "c": 4 / 5}  # b is silent in both: no entry


def test_activity_from_notes_samples_each_label():
    act = tr.activity_from_notes([[0.0, 0.3], [0.25, 0.4]], ["x", "y"], labels=["y", "x", "z"],
                                 hop_seconds=0.1, n_frames=5)
    expected = np.array([[0, 0, 0, 1, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(act, expected)


# ------------------------------------------------------------------------- frames


def roll_from_ms(notes_ms: list[tuple[int, int, int]], n_frames: int, hop_ms: int = 10,
                 lowest: int = 21, n_pitches: int = 88) -> np.ndarray:
    """A pianoroll built with exact integer times: frame k sounds when on <= k*hop < off."""
    roll = np.zeros((n_pitches, n_frames), dtype=bool)
    for on, off, pitch in notes_ms:
        for k in range(n_frames):
            if on <= k * hop_ms < off:
                roll[pitch - lowest, k] = True
    return roll


def mir_eval_multipitch(ref_roll, est_roll, hop, lowest=21):
    times = np.arange(ref_roll.shape[1]) * hop
    freqs = [
        [hz(lowest + np.flatnonzero(roll[:, k])) for k in range(roll.shape[1])]
        for roll in (ref_roll, est_roll)
    ]
    return mir_eval.multipitch.evaluate(times, freqs[0], times, freqs[1])


def test_multipitch_from_rolls_equals_mir_eval(rng, no_warnings):
    ref = rng.random((88, 300)) < 0.05
    est = ref ^ (rng.random((88, 300)) < 0.02)
    assert tr.multipitch_from_rolls(ref, est, hop_seconds=0.01) == dict(
        mir_eval_multipitch(ref, est, 0.01))
    # A shorter estimate is padded with silence; 0/1 integer rolls are accepted.
    short = est[:, :250].astype(np.int8)
    padded = np.pad(est[:, :250], ((0, 0), (0, 50)))
    assert tr.multipitch_from_rolls(ref, short, hop_seconds=0.01) == dict(
        mir_eval_multipitch(ref, padded, 0.01))


def test_multipitch_from_rolls_lowest_midi(rng):
    ref = rng.random((12, 50)) < 0.3
    est = rng.random((12, 50)) < 0.3
    scores = tr.multipitch_from_rolls(ref, est, hop_seconds=0.02, lowest_midi=48)
    assert scores == dict(mir_eval_multipitch(ref, est, 0.02, lowest=48))


def test_notes_are_sampled_on_a_shared_grid(no_warnings):
    # Times that are not exact in binary (0.07 / 0.01 = 7.000000000000001).
    ref_ms = [(30, 70, 60), (0, 50, 64), (20, 130, 64)]
    est_ms = [(30, 80, 60), (10, 40, 67), (100, 140, 64)]
    to_s = lambda ms: (np.array([[on, off] for on, off, _ in ms]) / 1000,  # noqa: E731
                       np.array([p for _, _, p in ms], dtype=float))
    roll = tr.notes_to_roll(to_s(ref_ms)[0], [0, 1, 1], n_rows=2, hop_seconds=0.01,
                            n_frames=15)
    np.testing.assert_array_equal(roll[0], roll_from_ms([(30, 70, 21)], 15)[0])
    np.testing.assert_array_equal(roll[1], roll_from_ms([(0, 50, 21), (20, 130, 21)], 15)[0])
    # The grid runs to the latest offset of either side (140 ms: 14 frames).
    scores = tr.multipitch_from_notes(*to_s(ref_ms), *to_s(est_ms))
    expected = mir_eval_multipitch(roll_from_ms(ref_ms, 14), roll_from_ms(est_ms, 14), 0.01)
    assert scores == dict(expected)
    full = tr.evaluate(*to_s(ref_ms), *to_s(est_ms))
    assert {k: full[f"Frame {k}"] for k in expected} == dict(expected)


def test_multipitch_estimate_without_sound_reports_zero(no_warnings):
    ref = np.zeros((88, 10), dtype=bool)
    ref[39, 2:5] = True
    scores = tr.multipitch_from_rolls(ref, np.zeros((88, 10), dtype=bool), hop_seconds=0.01)
    assert scores["Precision"] == 0.0 and scores["Miss Error"] == 1.0


# ------------------------------------------------------------------------- errors

N = REF_P.size


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"ref_intervals": REF_IV[:, 0]}, r"shape \(6,\): expected \(n_notes, 2\)"),
    ({"ref_intervals": REF_IV.T}, r"shape \(2, 6\)"),
    ({"est_intervals": [[0.0, np.nan]] + EST_IV[1:].tolist()}, "estimate note 0 has a non-finite"),
    ({"ref_intervals": REF_IV - 0.5}, "reference note 0 has a negative time"),
    ({"ref_intervals": REF_IV * 1000 + 30000}, "look like milliseconds"),
    ({"est_intervals": EST_IV[:, ::-1]}, r"estimate note 0 has offset 0 s <= onset 0.5 s"),
    ({"ref_intervals": [["a", "b"]]}, "reference intervals must be numbers"),
    ({"ref_pitches": REF_P[:3]}, r"reference pitches have shape \(3,\): expected \(6,\)"),
    ({"ref_pitches": hz(REF_P)}, "look like Hz|if these are Hz"),
    ({"est_pitches": -EST_P}, "below MIDI 0"),
    ({"est_pitches": [np.inf] * N}, "non-finite pitch"),
    ({"ref_velocities": REF_V}, "velocities were given for the reference only"),
    ({"ref_velocities": REF_V, "est_velocities": EST_V + 100}, "velocity 201"),
    ({"ref_velocities": REF_V / 127, "est_velocities": EST_V}, "look normalised"),
    ({"est_instruments": ["a"] * N}, "instruments were given for the estimate only"),
    ({"ref_instruments": ["a"] * 2, "est_instruments": ["a"] * N}, r"shape \(2,\)"),
    ({"ref_instruments": [0.5] * N, "est_instruments": ["a"] * N}, "of type float"),
    ({"ref_instruments": [True] * N, "est_instruments": ["a"] * N}, "of type bool"),
])
def test_validation_errors_name_the_problem(kwargs, match):
    args = {"ref_intervals": REF_IV, "ref_pitches": REF_P, "est_intervals": EST_IV,
            "est_pitches": EST_P} | kwargs
    with pytest.raises(InputError, match=match):
        tr.validate(**args)
    with pytest.raises(InputError, match=match):
        tr.evaluate(**args)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"hop_seconds": 0}, "hop_seconds=0 must be a positive"),
    ({"hop_seconds": 10}, "over a second"),
    ({"hop_seconds": "0.01"}, "must be a positive"),
])
def test_bad_hop_is_a_parameter_error(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        tr.evaluate(REF_IV, REF_P, EST_IV, EST_P, **kwargs)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"onset_tolerance": 50}, "over a second"),
    ({"onset_tolerance": -0.05}, "onset_tolerance=-0.05"),
    ({"pitch_tolerance": True}, "pitch_tolerance=True"),
    ({"offset_ratio": 0.0}, "offset_ratio=0.0"),
])
def test_bad_match_options_are_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        tr.precision_recall_f1_overlap(REF_IV, REF_P, EST_IV, EST_P, **kwargs)


def test_other_option_errors():
    with pytest.raises(ParameterError, match="offset_ratio=None"):
        tr.offset_precision_recall_f1(REF_IV, EST_IV, offset_ratio=None)
    with pytest.raises(ParameterError, match="velocity_tolerance"):
        tr.velocity_precision_recall_f1_overlap(REF_IV, REF_P, REF_V, EST_IV, EST_P, EST_V,
                                                velocity_tolerance=0)
    with pytest.raises(ParameterError, match="lowest_midi"):
        tr.multipitch_from_rolls(np.ones((2, 2), bool), np.ones((2, 2), bool),
                                 hop_seconds=0.01, lowest_midi=60.0)


def test_pitch_outside_multipitch_range_is_refused():
    with pytest.raises(InputError, match=r"MIDI 10 .*mir_eval.multipitch accepts"):
        tr.multipitch_from_notes(REF_IV, REF_P, EST_IV, np.r_[EST_P[:5], 10.0])
    with pytest.raises(InputError, match="the reference has a sounding pitch of MIDI 120"):
        tr.evaluate(REF_IV, np.r_[REF_P[:5], 120.0], EST_IV, EST_P)
    # Note metrics alone accept the whole MIDI range.
    assert tr.precision_recall_f1_overlap(REF_IV, np.r_[REF_P[:5], 120.0], EST_IV, EST_P)


@pytest.mark.parametrize(("ref", "est", "kwargs", "match"), [
    (np.zeros((88, 4, 1)), np.zeros((88, 4)), {}, r"shape \(88, 4, 1\)"),
    (np.full((88, 4), 0.7), np.zeros((88, 4)), {}, "threshold activations first"),
    (np.ones((88, 4)), np.ones((87, 4)), {}, "88 pitch rows and the estimate 87"),
    (np.ones((500, 88)), np.ones((500, 88)), {}, "transpose a \\(frames, pitches\\) roll"),
    (np.zeros((88, 4)), np.ones((88, 4)), {}, "reference has no sounding frame"),
    (np.ones((10, 4)), np.ones((10, 4)), {"lowest_midi": 0},
     r"MIDI 0 \(8.18 Hz\), outside the 20-5000"),
])
def test_roll_errors(ref, est, kwargs, match):
    with pytest.raises(InputError, match=match):
        tr.multipitch_from_rolls(ref, est, hop_seconds=0.01, **kwargs)


def test_activity_errors():
    ok = np.ones((2, 3), dtype=bool)
    with pytest.raises(InputError, match="estimate activity matrix has 3 rows but 2"):
        tr.activity_precision_recall_f1(ok, np.ones((3, 3), bool), instruments=["a", "b"])
    with pytest.raises(InputError, match="no active cell"):
        tr.activity_precision_recall_f1(~ok, ok, instruments=["a", "b"])
    with pytest.raises(InputError, match=r"labels \['z'\] are not among"):
        tr.activity_from_notes([[0, 1]], ["z"], labels=["a"], n_frames=3)


# ------------------------------------------------------------------------- loaders


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_csv_with_header_any_order(tmp_path):
    path = write(tmp_path, "n.csv", "pitch,onset,offset,instrument,velocity\n"
                 "60,0.0,0.5,piano,100\n# comment\n\n64.5, 0.5, 1.25, violin, 80\n")
    notes = tr.read_notes(path)
    np.testing.assert_array_equal(notes.intervals, [[0.0, 0.5], [0.5, 1.25]])
    np.testing.assert_array_equal(notes.pitches, [60.0, 64.5])
    np.testing.assert_array_equal(notes.velocities, [100.0, 80.0])
    assert notes.instruments is not None and notes.instruments.tolist() == ["piano", "violin"]
    assert len(notes) == 2


def test_read_synth_notes_class_column(tmp_path):
    # the notes.csv of a `mirkit synth` track names its instrument column "class"
    path = write(tmp_path, "notes.csv", "onset,offset,pitch,velocity,class\n"
                 "0.0,0.5,38,90,drums\n0.1,0.6,61,80,viola\n")
    notes = tr.read_notes(path)
    assert notes.instruments is not None and notes.instruments.tolist() == ["drums", "viola"]
    both = write(tmp_path, "both.csv", "onset,offset,pitch,class,instrument\n0,1,60,a,b\n")
    with pytest.raises(InputError, match="each once"):
        tr.read_notes(both)


@pytest.mark.parametrize(("text", "velocities", "instruments"), [
    ("0\t0.5\t60\n0.5\t1\t62\n", None, None),
    ("0\t0.5\t60\t90\n0.5\t1\t62\t80\n", [90.0, 80.0], None),
    ("0,0.5,60,piano\n0.5,1,62,drums\n", None, ["piano", "drums"]),
    ("0;0.5;60;90;piano\n0.5;1;62;80;0\n", [90.0, 80.0], ["piano", "0"]),
    ("0  0.5  60\n0.5 1 62\n", None, None),
])
def test_read_headerless_tables(tmp_path, text, velocities, instruments):
    notes = tr.read_notes(write(tmp_path, "n.tsv", text))
    np.testing.assert_array_equal(notes.intervals, [[0.0, 0.5], [0.5, 1.0]])
    np.testing.assert_array_equal(notes.pitches, [60.0, 62.0])
    if velocities is None:
        assert notes.velocities is None
    else:
        np.testing.assert_array_equal(notes.velocities, velocities)
    if instruments is None:
        assert notes.instruments is None
    else:
        assert notes.instruments is not None and notes.instruments.tolist() == instruments


@pytest.mark.parametrize("text", ["", "# nothing\n\n", "onset,offset,pitch\n"])
def test_read_empty_tables(tmp_path, text):
    notes = tr.read_notes(write(tmp_path, "n.csv", text))
    assert notes.intervals.shape == (0, 2) and notes.pitches.shape == (0,)


@pytest.mark.parametrize(("text", "match"), [
    ("0,0.5,60\n0.5,abc,62\n", r"n.csv' line 2: offset 'abc' is not a number"),
    ("0,0.5,60\n\n0.5,0.5,62\n", r"line 3: offset 0.5 s <= onset 0.5 s"),
    ("-0.1,0.5,60\n", "line 1: negative time"),
    ("0,0.5,440\n", r"pitch 440 is outside \[0, 127\]; pitches are MIDI numbers, not Hz"),
    ("0,0.5,60,200\n", r"line 1: velocity 200 is outside"),
    ("0,0.5,60\n0.5,1\n", r"line 2: 2 fields, expected 3"),
    ("0,500,60\n500,35000,62\n", "line 2: time 35000 s .* look like milliseconds"),
    ("0,0.5,60,1,2,3\n", "6 columns; a note table has 3 to 5"),
    ("start,end,pitch\n0,1,60\n", r"line 1: header .* unknown: \['start', 'end'\]"),
    ("onset,offset,pitch,pitch\n", "each once"),
    ("0,0.5,nan\n", "pitch 'nan' is not finite"),
])
def test_read_table_errors_name_file_and_line(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        tr.read_notes(write(tmp_path, "n.csv", text))


def test_read_notes_path_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        tr.read_notes(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="extension '.json', which is not a note file"):
        tr.read_notes(write(tmp_path, "n.json", "{}"))
    with pytest.raises(InputError, match="not a readable MIDI file"):
        tr.read_notes(write(tmp_path, "bad.mid", "not midi at all"))
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"onset,offset,pitch,instrument\n0,1,60,\xe9\n")
    with pytest.raises(InputError, match="cannot read .* as UTF-8"):
        tr.read_notes(path)


def make_midi(path: Path, *, zero_length: bool = False) -> None:
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(velocity=100, pitch=60, start=0.0, end=0.5),
                    pretty_midi.Note(velocity=90, pitch=64, start=1.0, end=1.5)]
    violin = pretty_midi.Instrument(program=40)
    violin.notes.append(pretty_midi.Note(velocity=70, pitch=67, start=0.5, end=2.0))
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes.append(pretty_midi.Note(velocity=110, pitch=36, start=0.0,
                                        end=0.0 if zero_length else 0.1))
    midi.instruments += [piano, violin, drums]
    midi.write(str(path))


def test_read_midi_labels_programs_and_drums(tmp_path):
    make_midi(tmp_path / "a.mid")
    notes = tr.read_notes(tmp_path / "a.mid")
    np.testing.assert_allclose(notes.intervals, [[0, 0.1], [0, 0.5], [0.5, 2], [1, 1.5]],
                               atol=1e-3)
    np.testing.assert_array_equal(notes.pitches, [36, 60, 67, 64])
    np.testing.assert_array_equal(notes.velocities, [110, 100, 70, 90])
    assert notes.instruments is not None
    assert notes.instruments.tolist() == ["drums", "program:0", "program:40", "program:0"]


def test_read_midi_drops_zero_length_notes(tmp_path):
    make_midi(tmp_path / "z.midi", zero_length=True)
    notes = tr.read_notes(tmp_path / "z.midi")
    assert notes.pitches.tolist() == [60, 67, 64]  # the drum hit had no duration
    assert (notes.intervals[:, 1] > notes.intervals[:, 0]).all()


def test_evaluate_note_lists_uses_fields_both_sides_have(tmp_path):
    make_midi(tmp_path / "ref.mid")
    ref = tr.read_notes(tmp_path / "ref.mid")
    rows = "\n".join(f"{on},{off},{p:g}" for (on, off), p in zip(ref.intervals, ref.pitches,
                                                                     strict=True))
    est = tr.read_notes(write(tmp_path, "est.csv", rows + "\n"))
    scores = tr.evaluate_note_lists(ref, est)
    assert scores["F-measure"] == 1.0 and scores["Frame Accuracy"] == 1.0
    assert not any(k.startswith(("Instrument", "Activity", "Velocity")) for k in scores)
    both = tr.evaluate_note_lists(ref, ref)
    assert both["Instrument F-measure"] == 1.0 and both["Velocity F-measure"] == 1.0
    assert both["Activity F-measure [drums]"] == 1.0
