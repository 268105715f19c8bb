"""Tests of mirkit.metrics.generation: corpus BLEU, melody token streams and MGEval."""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np
import pretty_midi
import pytest
from scipy import integrate, stats

from mirkit.errors import InputError, ParameterError
from mirkit.io.symbolic import PartInfo, Score
from mirkit.metrics import generation as gen

# --------------------------------------------------------------------------- helpers

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def melody(pitches: Any, starts: Any, ends: Any, **kw: Any) -> Score:
    """A one-part score from pitches and beat positions."""
    return Score.from_notes(pitches, onset_beats=starts, offset_beats=ends, **kw)


def scale_score() -> Score:
    """C-major scale, eight eighth notes at 120 qpm in 4/4 (one bar)."""
    on = np.arange(8) * 0.5
    return melody(C_MAJOR, on, on + 0.5)


def random_melody(rng: np.random.Generator, n_min: int = 6, n_max: int = 16) -> Score:
    n = int(rng.integers(n_min, n_max + 1))
    durations = rng.choice([0.25, 0.5, 1.0, 1.5], size=n)
    gaps = rng.choice([0.0, 0.0, 0.0, 0.5], size=n)
    starts = np.cumsum(np.concatenate([[0.0], (durations + gaps)[:-1]]))
    pitches = np.clip(60 + np.cumsum(rng.integers(-4, 5, size=n)), 40, 90)
    return melody(pitches, starts, starts + durations)


def pm_instrument(pitches: Any, starts: Any, ends: Any, velocity: int = 80,
                  is_drum: bool = False) -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(program=0, is_drum=is_drum)
    for p, s, e in zip(pitches, starts, ends, strict=True):
        inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=int(p), start=float(s),
                                           end=float(e)))
    return inst


# --------------------------------------------------------------------------- BLEU


def test_bleu_perfect_match_is_one() -> None:
    refs: list[list[list[Any]]] = [[[1, 2, 3, 4, 5]], [["a", "b", "c", "d", "e", "f"]]]
    hyps: list[list[Any]] = [[1, 2, 3, 4, 5], ["a", "b", "c", "d", "e", "f"]]
    assert gen.corpus_bleu(refs, hyps) == pytest.approx(1.0, abs=1e-15)
    assert gen.bleu_scores(refs, hyps) == pytest.approx(
        {"BLEU-1": 1.0, "BLEU-2": 1.0, "BLEU-3": 1.0, "BLEU-4": 1.0})


def test_bleu_hand_computed_with_brevity_penalty() -> None:
    # p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3 (product 1/12); c = 6 < r = 7
    hyp = [1, 2, 3, 4, 5, 6]
    ref = [1, 2, 3, 4, 7, 6, 8]
    expected = math.exp(1 - 7 / 6) * (1 / 12) ** 0.25
    assert gen.corpus_bleu([[ref]], [hyp]) == pytest.approx(expected, rel=1e-14)
    scores = gen.bleu_scores([[ref]], [hyp])
    assert scores["BLEU-1"] == pytest.approx(math.exp(-1 / 6) * 5 / 6, rel=1e-14)
    assert scores["BLEU-2"] == pytest.approx(math.exp(-1 / 6) * (5 / 6 * 3 / 5) ** 0.5,
                                             rel=1e-14)
    # explicit weights: only bigrams count
    assert gen.corpus_bleu([[ref]], [hyp], weights=[0.0, 1.0]) == pytest.approx(
        math.exp(-1 / 6) * 3 / 5, rel=1e-14)


def test_bleu_clips_counts_and_uses_closest_reference_length() -> None:
    # a repeated token counts only as often as the reference holds it; c = 4 > r = 2
    assert gen.corpus_bleu([[[7, 3]]], [[7, 7, 7, 7]], max_n=1) == pytest.approx(0.25)
    # lengths 4 and 6 are equally close to 5: the shorter wins, so no brevity penalty
    refs = [[[1, 2, 3, 4], [1, 2, 3, 4, 5, 6]]]
    assert gen.corpus_bleu(refs, [[1, 2, 3, 4, 5]], max_n=1) == pytest.approx(1.0)


def test_bleu_without_4gram_match_is_zero_unless_smoothed() -> None:
    hyp = [1, 2, 3, 1, 2, 3]
    ref = [1, 2, 3, 9, 2, 3]
    assert gen.corpus_bleu([[ref]], [hyp]) == 0.0
    assert gen.corpus_bleu([[ref]], [hyp], max_n=3) > 0.0
    # epsilon smoothing: p1 = 5/6, p2 = 3/5, p3 = 1/4 (clipped), p4 = 0.1/3; c = r = 6
    p = [5 / 6, 3 / 5, 1 / 4, 0.1 / 3]
    assert gen.corpus_bleu([[ref]], [hyp], smoothing="epsilon") == pytest.approx(
        math.prod(p) ** 0.25, rel=1e-14)
    # no unigram match at all: 0 whatever the smoothing
    assert gen.corpus_bleu([[[5, 6]]], [[1, 2]], smoothing="add-one") == 0.0


def test_bleu_matches_nltk_on_random_corpora(rng: np.random.Generator) -> None:
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    smooth = nltk_bleu.SmoothingFunction()
    methods: dict[gen.Smoothing | None, Any] = {
        None: None, "epsilon": smooth.method1, "add-one": smooth.method2}
    positive = 0
    for _ in range(60):
        n_items = int(rng.integers(1, 6))
        vocab = int(rng.integers(2, 6))
        hyps = [rng.integers(0, vocab, size=int(rng.integers(0, 14))).tolist()
                for _ in range(n_items)]
        refs = [[rng.integers(0, vocab, size=int(rng.integers(1, 14))).tolist()
                 for _ in range(int(rng.integers(1, 4)))] for _ in range(n_items)]
        for max_n in (1, 2, 3, 4):
            weights = (1.0 / max_n,) * max_n
            for name, method in methods.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    expected = nltk_bleu.corpus_bleu(refs, hyps, weights=weights,
                                                     smoothing_function=method)
                got = gen.corpus_bleu(refs, hyps, max_n=max_n, smoothing=name)
                assert got == pytest.approx(float(expected), abs=1e-12, rel=1e-12)
                positive += got > 0
        w = tuple(rng.dirichlet(np.ones(4)).tolist())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = nltk_bleu.corpus_bleu(refs, hyps, weights=w)
        got = gen.corpus_bleu(refs, hyps, weights=w)
        if got == 0.0:
            # a zero precision: nltk multiplies by sys.float_info.min ** weight instead of 0
            assert float(expected) <= sys.float_info.min ** min(w)
        else:
            assert got == pytest.approx(float(expected), rel=1e-12)
    assert positive > 200  # most comparisons are of non-zero scores


def test_bleu_input_errors() -> None:
    with pytest.raises(InputError, match="2 hypotheses but 1 reference lists"):
        gen.corpus_bleu([[[1, 2]]], [[1, 2], [3]])
    with pytest.raises(InputError, match="wrap a single reference"):
        gen.corpus_bleu([[1, 2, 3]], [[1, 2, 3]])  # type: ignore[list-item]
    with pytest.raises(InputError, match="split into tokens"):
        gen.corpus_bleu([[["a", "b"]]], ["ab"])
    with pytest.raises(InputError, match="no references"):
        gen.corpus_bleu([[]], [[1]])
    with pytest.raises(InputError, match="corpus is empty"):
        gen.corpus_bleu([], [])
    with pytest.raises(ParameterError, match="3 weights for max_n=4"):
        gen.corpus_bleu([[[1]]], [[1]], max_n=4, weights=[0.3, 0.3, 0.4])
    with pytest.raises(ParameterError, match="unknown BLEU smoothing"):
        gen.corpus_bleu([[[1]]], [[1]], smoothing="method7")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- token streams


def test_melody_tokens_with_rests() -> None:
    # rest from beat 0 to 1, C quarter, eighth rest, D eighth, E dotted quarter
    s = melody([60, 62, 64], [1.0, 2.5, 3.0], [2.0, 3.0, 4.5])
    pitch, dur = gen.melody_tokens(s)
    assert pitch == [gen.REST_TOKEN, 60, gen.REST_TOKEN, 62, 64]
    assert dur == [24, 24, 12, 12, 36]
    assert gen.melody_tokens(s, rests=False) == ([60, 62, 64], [24, 12, 36])
    assert gen.melody_tokens(s, ticks_per_quarter=4, rests=False)[1] == [4, 2, 6]


def test_melody_tokens_reject_polyphony() -> None:
    chord = melody([60, 64], [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(InputError, match="monophonic"):
        gen.melody_tokens(chord)


def test_bleu_streams_equals_bleu_of_token_streams(rng: np.random.Generator) -> None:
    refs = [random_melody(rng) for _ in range(4)]
    gens = [random_melody(rng) for _ in range(4)]
    out = gen.bleu_streams(refs, gens)
    assert list(out) == ["BLEU pitch", "BLEU duration"]
    ref_tok = [gen.melody_tokens(r) for r in refs]
    gen_tok = [gen.melody_tokens(g) for g in gens]
    assert out["BLEU pitch"] == gen.corpus_bleu([[r[0]] for r in ref_tok],
                                                [g[0] for g in gen_tok])
    assert out["BLEU duration"] == gen.corpus_bleu([[r[1]] for r in ref_tok],
                                                   [g[1] for g in gen_tok])
    assert gen.bleu_streams(refs, refs) == {"BLEU pitch": 1.0, "BLEU duration": 1.0}
    # one reference per melody or a list of them
    assert gen.bleu_streams([[r] for r in refs], gens) == out
    with pytest.raises(InputError, match="2 generated melodies but 4 references"):
        gen.bleu_streams(refs, gens[:2])


# --------------------------------------------------------------------------- features


def test_features_of_c_major_scale() -> None:
    f = gen.extract_features(scale_score())
    assert list(f) == list(gen.FEATURES)
    assert f["total_used_pitch"] == 8
    assert f["total_used_note"] == 8
    assert f["pitch_range"] == 12
    assert f["avg_pitch_shift"] == pytest.approx(12 / 7)
    assert f["avg_IOI"] == pytest.approx(0.25)
    hist = np.zeros(12)
    hist[[0, 2, 4, 5, 7, 9, 11]] = [2, 1, 1, 1, 1, 1, 1]
    np.testing.assert_allclose(f["total_pitch_class_histogram"], hist / 8)
    np.testing.assert_allclose(f["bar_pitch_class_histogram"], [hist / 8])
    np.testing.assert_array_equal(f["bar_used_pitch"], [[8]])
    np.testing.assert_array_equal(f["bar_used_note"], [[8]])
    eighth = np.eye(12)[3]
    np.testing.assert_array_equal(f["note_length_hist"], eighth)
    nltm = np.zeros((12, 12))
    nltm[3, 3] = 7
    np.testing.assert_array_equal(f["note_length_transition_matrix"], nltm)
    pctm = np.zeros((12, 12))
    for a, b in zip(C_MAJOR[:-1], C_MAJOR[1:], strict=True):
        pctm[a % 12, b % 12] += 1
    np.testing.assert_array_equal(f["pitch_class_transition_matrix"], pctm)
    assert all(v.dtype == np.float64 for v in f.values())


def test_pitch_class_transition_matrix_equals_pretty_midi(rng: np.random.Generator) -> None:
    n = 40
    starts = np.round(np.cumsum(rng.choice([0.0, 0.25, 0.5, 0.27], size=n)), 2)
    ends = starts + rng.choice([0.02, 0.25, 0.5, 0.23, 0.3], size=n)
    pitches = rng.integers(48, 84, size=n)
    inst = pm_instrument(pitches, starts, ends)
    s = Score.from_notes(pitches, onset=starts, offset=ends)
    expected = inst.get_pitch_class_transition_matrix()
    assert expected.sum() >= n // 2 and np.trace(expected) > 0  # self transitions too
    np.testing.assert_array_equal(gen.pitch_class_transition_matrix(s), expected)
    rows = expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(gen.pitch_class_transition_matrix(s, normalize=1),
                               expected / np.where(rows == 0, 1, rows))
    np.testing.assert_allclose(gen.pitch_class_transition_matrix(s, normalize=2),
                               expected / expected.sum())


def test_pitch_class_transition_matrix_sums_parts_and_skips_drums(rng: np.random.Generator) -> None:
    pm = pretty_midi.PrettyMIDI()
    cols = []
    for k, drum in enumerate([False, False, True]):
        starts = np.cumsum(rng.choice([0.25, 0.5], size=10))
        ends = starts + rng.choice([0.25, 0.5], size=10)
        pitches = rng.integers(40, 80, size=10)
        pm.instruments.append(pm_instrument(pitches, starts, ends, is_drum=drum))
        cols.append((pitches, starts, ends, np.full(10, k)))
    p, on, off, part = (np.concatenate(c) for c in zip(*cols, strict=True))
    s = Score.from_notes(p, onset=on, offset=off, part=part,
                         parts=[PartInfo(), PartInfo(), PartInfo(is_drum=True)])
    np.testing.assert_array_equal(gen.pitch_class_transition_matrix(s),
                                  pm.get_pitch_class_transition_matrix())
    np.testing.assert_array_equal(gen.pitch_class_transition_matrix(s, part=1),
                                  pm.instruments[1].get_pitch_class_transition_matrix())
    assert gen.total_used_note(s) == 20
    assert gen.total_used_note(s, part=2) == 10


def test_piano_roll_features_equal_pretty_midi_roll(rng: np.random.Generator) -> None:
    n = 30
    starts = rng.uniform(0, 5, size=n).round(3)
    ends = starts + rng.uniform(0.004, 0.7, size=n).round(3)
    pitches = rng.integers(30, 100, size=n)
    velocity = rng.integers(1, 128, size=n)
    inst = pretty_midi.Instrument(program=0)
    for p, a, b, v in zip(pitches, starts, ends, velocity, strict=True):
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=float(a),
                                           end=float(b)))
    roll = inst.get_piano_roll(fs=100)
    s = Score.from_notes(pitches, onset=starts, offset=ends, velocity=velocity)
    used = np.nonzero(roll.sum(axis=1) > 0)[0]
    assert gen.total_used_pitch(s) == used.size
    assert gen.pitch_range(s) == used.max() - used.min()
    pc = np.bincount(np.arange(128) % 12, weights=roll.sum(axis=1), minlength=12)
    np.testing.assert_allclose(gen.total_pitch_class_histogram(s), pc / pc.sum(), rtol=1e-12)


def test_per_bar_features_follow_time_signature_and_tempo() -> None:
    # bar 1: C quarter, D quarter, C half; bar 2: four E quarters; the tempo halves at bar 2
    p = [60, 62, 60, 64, 64, 64, 64]
    on = [0, 1, 2, 4, 5, 6, 7]
    off = [1, 2, 4, 5, 6, 7, 8]
    for tempos in ([(0.0, 120.0)], [(0.0, 120.0), (4.0, 60.0)]):
        s = melody(p, on, off, tempos=tempos)
        np.testing.assert_array_equal(gen.bar_used_pitch(s), [[2], [1]])
        np.testing.assert_array_equal(gen.bar_used_note(s), [[3], [4]])
        expected = np.zeros((2, 12))
        expected[0, [0, 2]] = [0.75, 0.25]
        expected[1, 4] = 1.0
        np.testing.assert_allclose(gen.bar_pitch_class_histogram(s), expected)
    s = melody(p, on, off)
    np.testing.assert_array_equal(gen.bar_used_note(s, num_bar=3), [[3], [4], [0]])
    np.testing.assert_array_equal(gen.bar_used_note(s, num_bar=1), [[3]])
    assert gen.bar_pitch_class_histogram(s, num_bar=3)[2].sum() == 0
    # 3/4: bars of three quarters; a quarter is 32 units of bar/96, the "half triplet" class
    waltz = melody([60, 62, 64, 65, 67, 69], np.arange(6), np.arange(1, 7),
                   time_signatures=[(0, 3, 4)])
    np.testing.assert_array_equal(gen.bar_used_note(waltz), [[3], [3]])
    np.testing.assert_array_equal(gen.note_length_hist(waltz), np.eye(12)[9])
    # a change from 4/4 to 3/4 after one bar
    mixed = melody([60] * 7, np.arange(7), np.arange(1, 8),
                   time_signatures=[(0, 4, 4), (4, 3, 4)])
    np.testing.assert_array_equal(gen.bar_used_note(mixed), [[4], [3]])


def test_default_bar_count_rounds_to_nearest_bar() -> None:
    five = melody([60] * 5, np.arange(5), np.arange(1, 6))  # 1.25 bars -> 1 (last note dropped)
    np.testing.assert_array_equal(gen.bar_used_note(five), [[4]])
    six = melody([60] * 6, np.arange(6), np.arange(1, 7))  # 1.5 bars -> 2
    np.testing.assert_array_equal(gen.bar_used_note(six), [[4], [2]])
    tiny = melody([60], [0.0], [1.0])  # a quarter of a bar still makes one bar
    np.testing.assert_array_equal(gen.bar_used_pitch(tiny), [[1]])


def test_note_lengths_with_pause_events() -> None:
    # C quarter, quarter rest, D quarter, E eighth, eighth rest, F quarter
    s = melody([60, 62, 64, 65], [0, 2, 3, 4], [1, 3, 3.5, 5])
    counts = np.zeros(12)
    counts[[2, 3]] = [3, 1]
    np.testing.assert_array_equal(gen.note_length_hist(s, normalize=False), counts)
    with_rests = np.zeros(24)
    with_rests[[2, 3, 14, 15]] = [3, 1, 1, 1]
    np.testing.assert_array_equal(gen.note_length_hist(s, normalize=False, pause_event=True),
                                  with_rests)
    np.testing.assert_allclose(gen.note_length_hist(s, pause_event=True), with_rests / 6)
    tm = np.zeros((24, 24))
    for a, b in [(2, 14), (14, 2), (2, 3), (3, 15), (15, 2)]:
        tm[a, b] += 1
    np.testing.assert_array_equal(gen.note_length_transition_matrix(s, pause_event=True), tm)
    tm12 = np.zeros((12, 12))
    tm12[2, 2], tm12[2, 3], tm12[3, 2] = 1, 1, 1
    np.testing.assert_array_equal(gen.note_length_transition_matrix(s), tm12)
    np.testing.assert_allclose(gen.note_length_transition_matrix(s, normalize=1).sum(axis=1),
                               [0, 0, 1, 1] + [0] * 8)
    # a silence far from every class (1.2 units) is no rest; one rest before a chord
    legato = melody([60, 62], [0, 1], [0.95, 2])
    assert gen.note_length_hist(legato, pause_event=True, normalize=False)[12:].sum() == 0
    chord = melody([60, 64, 67], [0, 2, 2], [1, 3, 3])
    hist = gen.note_length_hist(chord, pause_event=True, normalize=False)
    assert hist[14] == 1 and hist[2] == 3


def test_note_length_classes_dotted_and_triplets() -> None:
    triplets = melody([60] * 6, np.arange(6) / 3, np.arange(1, 7) / 3)  # 8 units each
    np.testing.assert_array_equal(gen.note_length_hist(triplets), np.eye(12)[11])
    dotted = melody([60, 62, 64], [0, 1.5, 2], [1.5, 2, 4])  # 36, 12 and 48 units
    np.testing.assert_array_equal(gen.note_length_hist(dotted, normalize=False),
                                  np.eye(12)[[6, 3, 1]].sum(axis=0))
    # 20 units lies between 18 (dotted 8th) and 24 (quarter): the nearer wins
    assert gen.note_length_hist(melody([60], [0], [20 / 24]))[7] == 1.0


def test_scalar_features_on_chords_and_order() -> None:
    s = melody([60, 67, 64, 72], [0, 0, 1, 2], [1, 1, 2, 3])
    assert gen.avg_IOI(s) == pytest.approx((0 + 0.5 + 0.5) / 3)
    # score order is onset then pitch: 60, 67, 64, 72
    assert gen.avg_pitch_shift(s) == pytest.approx((7 + 3 + 8) / 3)


def test_feature_errors() -> None:
    empty = Score.from_notes(np.array([], dtype=int), onset_beats=[], offset_beats=[])
    with pytest.raises(InputError, match="total_used_pitch needs at least 1 note"):
        gen.total_used_pitch(empty)
    one = melody([60], [0.0], [1.0])
    with pytest.raises(InputError, match="avg_pitch_shift needs at least 2 notes"):
        gen.avg_pitch_shift(one)
    blip = Score.from_notes([60], onset=[0.0], offset=[0.005])
    with pytest.raises(InputError, match="piano roll is empty"):
        gen.pitch_range(blip)
    drums = Score.from_notes([36, 38], onset_beats=[0, 1], offset_beats=[1, 2],
                             parts=[PartInfo(is_drum=True)])
    with pytest.raises(InputError, match="non-drum parts hold 0"):
        gen.total_used_note(drums)
    assert gen.total_used_note(drums, part=0) == 2
    with pytest.raises(ParameterError, match="part 3 does not exist"):
        gen.total_used_note(drums, part=3)
    with pytest.raises(ParameterError, match="normalize 3"):
        gen.pitch_class_transition_matrix(scale_score(), normalize=3)
    with pytest.raises(ParameterError, match="num_bar 0"):
        gen.bar_used_note(scale_score(), num_bar=0)
    with pytest.raises(ParameterError, match="unknown MGEval feature"):
        gen.extract_features(scale_score(), ["pitch_count"])
    with pytest.raises(ParameterError, match="note_length_hist has no option 'normalise'"):
        gen.extract_features(scale_score(), options={"note_length_hist": {"normalise": 1}})
    with pytest.raises(InputError, match="needs a mirkit Score"):
        gen.total_used_note([60, 62])  # type: ignore[arg-type]


def test_extract_features_options_and_names() -> None:
    s = melody([60, 62], [0, 2], [1, 3])
    f = gen.extract_features(s, ["note_length_hist", "bar_used_note"], num_bar=2,
                             options={"note_length_hist": {"pause_event": True}})
    assert list(f) == ["note_length_hist", "bar_used_note"]
    assert f["note_length_hist"].shape == (24,)
    np.testing.assert_array_equal(f["bar_used_note"], [[2], [0]])


# --------------------------------------------------------------------------- distances


def test_intra_and_inter_set_distances(rng: np.random.Generator) -> None:
    a = rng.random((5, 3, 4))
    b = rng.random((7, 3, 4))
    intra = gen.intra_set_distances(a)
    inter = gen.inter_set_distances(a, b)
    assert intra.shape == (5 * 4,) and inter.shape == (5 * 7,)
    loop_intra = [np.linalg.norm(a[i] - a[j]) for i in range(5) for j in range(5) if j != i]
    loop_inter = [np.linalg.norm(a[i] - b[j]) for i in range(5) for j in range(7)]
    np.testing.assert_allclose(intra, loop_intra, rtol=1e-12)
    np.testing.assert_allclose(inter, loop_inter, rtol=1e-12)
    emd = [stats.wasserstein_distance(a[i].ravel(), b[j].ravel())
           for i in range(5) for j in range(7)]
    np.testing.assert_allclose(gen.inter_set_distances(a, b, distance="emd"), emd, rtol=1e-10)
    b[0, 0, 0] = 0.0  # a zero in the second vector is floored at 1e-8 as MGEval does
    floored = np.where(b == 0, 1e-8, b)
    kl = [stats.entropy(a[i].ravel(), floored[j].ravel()) for i in range(5) for j in range(7)]
    np.testing.assert_allclose(gen.inter_set_distances(a, b, distance="kl"), kl, rtol=1e-10)
    with pytest.raises(ParameterError, match="unknown distance 'cosine'"):
        gen.intra_set_distances(a, distance="cosine")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="non-negative"):
        gen.intra_set_distances(a - 1, distance="kl")


def test_kl_and_overlap_equal_direct_scipy(rng: np.random.Generator) -> None:
    intra = rng.gamma(2.0, 1.0, size=40)
    inter = rng.gamma(3.0, 1.2, size=56)
    ka, kb = stats.gaussian_kde(intra), stats.gaussian_kde(inter)
    kl = stats.entropy(ka(np.linspace(intra.min(), intra.max(), 1000)),
                       kb(np.linspace(inter.min(), inter.max(), 1000)))
    lo, hi = min(intra.min(), inter.min()), max(intra.max(), inter.max())
    oa = integrate.quad(lambda x: min(ka(x)[0], kb(x)[0]), lo, hi)[0]
    assert gen.kl_divergence(intra, inter) == pytest.approx(kl, rel=1e-12)
    assert gen.overlap_area(intra, inter) == pytest.approx(oa, rel=1e-9)
    # the quadrature agrees with a dense trapezoid rule on the same densities
    x = np.linspace(lo, hi, 20001)
    assert gen.overlap_area(intra, inter) == pytest.approx(
        integrate.trapezoid(np.minimum(ka(x), kb(x)), x), abs=1e-4)
    assert 0.0 < gen.overlap_area(intra, inter) < 1.0


def test_overlap_of_identical_and_disjoint_distributions(rng: np.random.Generator) -> None:
    x = rng.normal(size=2000)
    assert gen.overlap_area(x, x) == pytest.approx(1.0, abs=0.02)
    assert gen.kl_divergence(x, x) == pytest.approx(0.0, abs=1e-12)
    assert gen.overlap_area(x, x + 100.0) < 1e-6


def test_degenerate_distances_raise_or_give_nan_on_request() -> None:
    constant = np.full(6, 0.5)
    with pytest.raises(gen.DegenerateDistributionError, match="all 6 distances equal 0.5"):
        gen.overlap_area(constant, np.arange(6.0))
    same = np.ones((4, 3))  # every intra-set distance is 0
    other = np.arange(12.0).reshape(4, 3) ** 1.5
    with pytest.raises(InputError, match="feature 'x', set 1 intra vs inter.*singular"):
        gen.mgeval_compare(same, other, feature="x")
    r = gen.mgeval_compare(same, other, feature="x", on_degenerate="nan")
    assert math.isnan(r.set1_kl) and math.isnan(r.set1_oa)
    assert math.isfinite(r.set2_kl) and math.isfinite(r.set2_oa)
    # two samples per set: both intra-set distances are the same pair
    with pytest.raises(InputError, match="two samples per set"):
        gen.mgeval_compare(other[:2], other[2:])


def test_mgeval_compare_matches_its_parts(rng: np.random.Generator) -> None:
    a = rng.random((6, 12))
    b = rng.random((5, 12)) + 0.2
    r = gen.mgeval_compare(a, b, feature="h")
    assert r.set1_intra.shape == (30,) and r.set2_intra.shape == (20,) and r.inter.shape == (30,)
    np.testing.assert_allclose(r.set1_mean, a.mean(axis=0))
    np.testing.assert_allclose(r.set2_std, b.std(axis=0))
    assert r.set1_kl == gen.kl_divergence(r.set1_intra, r.inter)
    assert r.set2_oa == gen.overlap_area(r.set2_intra, r.inter)
    with pytest.raises(InputError, match=r"shapes differ between the sets: \(12,\) vs \(11,\)"):
        gen.mgeval_compare(a, b[:, :11])
    with pytest.raises(InputError, match="set 2 has 1 sample; MGEval needs at least 2"):
        gen.mgeval_compare(a, b[:1])


# --------------------------------------------------------------------------- procedure


def test_mgeval_and_evaluate_on_random_melodies(rng: np.random.Generator) -> None:
    generated = [random_melody(rng) for _ in range(5)]
    reference = [random_melody(rng) for _ in range(6)]
    results = gen.mgeval(generated, reference)
    assert list(results) == [n for n in gen.FEATURES if n not in gen.BAR_FEATURES]
    for name, r in results.items():
        assert r.set1_intra.shape == (20,) and r.set2_intra.shape == (30,)
        assert r.inter.shape == (30,)
        f1 = np.stack([gen.extract_features(s, [name])[name] for s in generated])
        np.testing.assert_allclose(r.set1_intra, gen.intra_set_distances(f1))
        assert 0.0 <= r.set1_oa <= 1.0 + 1e-9 and r.set2_kl >= 0.0
    out = gen.evaluate(generated, reference)
    first = list(out)[:8]
    assert first == [
        "total_used_pitch mean (generated)", "total_used_pitch std (generated)",
        "total_used_pitch mean (reference)", "total_used_pitch std (reference)",
        "total_used_pitch KL (generated)", "total_used_pitch OA (generated)",
        "total_used_pitch KL (reference)", "total_used_pitch OA (reference)",
    ]
    assert "note_length_hist KL (generated)" in out
    assert "note_length_hist mean (generated)" not in out  # only scalar features get means
    assert out["pitch_range OA (generated)"] == results["pitch_range"].set1_oa
    assert out["avg_IOI mean (reference)"] == pytest.approx(
        np.mean([gen.avg_IOI(s) for s in reference]))
    assert len(out) == 5 * 8 + 4 * 4
    assert all(isinstance(v, float) and math.isfinite(v) for v in out.values())


def test_mgeval_bar_features_need_equal_bar_counts(rng: np.random.Generator) -> None:
    generated = [random_melody(rng, 4, 6) for _ in range(4)]
    reference = [random_melody(rng, 10, 16) for _ in range(4)]
    with pytest.raises(InputError, match="pass num_bar"):
        gen.mgeval(generated, reference, features=["bar_used_note"])
    r = gen.mgeval(generated, reference, num_bar=2, on_degenerate="nan", distance="emd")
    assert list(r) == list(gen.FEATURES)
    assert r["bar_pitch_class_histogram"].set1_mean.shape == (2, 12)


def test_evaluate_with_bleu_and_errors(rng: np.random.Generator) -> None:
    generated = [random_melody(rng) for _ in range(4)]
    reference = [random_melody(rng) for _ in range(4)]
    out = gen.evaluate(generated, reference, features=["avg_IOI"], bleu=True)
    assert list(out)[-2:] == ["BLEU pitch", "BLEU duration"]
    assert out["BLEU pitch"] == gen.bleu_streams(reference, generated)["BLEU pitch"]
    with pytest.raises(InputError, match="the generated set holds 1 score; MGEval needs"):
        gen.evaluate(generated[:1], reference)
    with pytest.raises(InputError, match="reference item 1 is a list"):
        gen.evaluate(generated, [reference[0], [1, 2]])  # type: ignore[list-item]
    with pytest.raises(InputError, match="bleu=True pairs"):
        gen.evaluate(generated, reference[:3], bleu=True)
    bad = [*generated[:2], melody([60], [0.0], [1.0])]
    with pytest.raises(InputError, match="set 1 sample 2: avg_pitch_shift needs at least 2"):
        gen.evaluate(bad, reference, features=["avg_pitch_shift"])
    with pytest.raises(ParameterError, match="on_degenerate 'skip'"):
        gen.evaluate(generated, reference, on_degenerate="skip")  # type: ignore[arg-type]
