"""dMelodies: hand-checked melodies, factor round trips, tokens, re-estimation, split, npz."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mirkit.data import dmelodies as dm
from mirkit.errors import InputError, ParameterError

R = -1  # rest

# index -> (factors, expected pitch grid), worked out by hand from the dataset definition
HAND_CHECKED = {
    # C4 major, rhythm 0 (11111100) both bars, all up
    0: ([0, 0, 0, 0, 0, 0, 0, 0, 0],
        [60, 64, 67, 65, 69, 72, R, R, 67, 71, 74, 60, 64, 67, R, R]),
    # the last item: B6 blues, rhythm 27 (00111111), all down; root 95, reaches C#8 = 109
    dm.NUM_ITEMS - 1: ([11, 2, 2, 27, 27, 1, 1, 1, 1],
                       [R, R, 101, 98, 95, 107, 104, 100, R, R, 109, 105, 101, 101, 98, 95]),
    # tonic A (9): A4 major
    9 * 112896: ([9, 0, 0, 0, 0, 0, 0, 0, 0],
                 [69, 73, 76, 74, 78, 81, R, R, 76, 80, 83, 69, 73, 76, R, R]),
    # octave 5
    37632: ([0, 1, 0, 0, 0, 0, 0, 0, 0],
            [72, 76, 79, 77, 81, 84, R, R, 79, 83, 86, 72, 76, 79, R, R]),
    # harmonic minor
    12544: ([0, 0, 1, 0, 0, 0, 0, 0, 0],
            [60, 63, 67, 65, 68, 72, R, R, 67, 71, 74, 60, 63, 67, R, R]),
    # rhythm bar 1 = 14 (11001111)
    14 * 448: ([0, 0, 0, 14, 0, 0, 0, 0, 0],
               [60, 64, R, R, 67, 65, 69, 72, 67, 71, 74, 60, 64, 67, R, R]),
    # rhythm bar 2 = 10 (11011110)
    10 * 16: ([0, 0, 0, 0, 10, 0, 0, 0, 0],
              [60, 64, 67, 65, 69, 72, R, R, 67, 71, R, 74, 60, 64, 67, R]),
    # chord 1 down
    8: ([0, 0, 0, 0, 0, 1, 0, 0, 0],
        [67, 64, 60, 65, 69, 72, R, R, 67, 71, 74, 60, 64, 67, R, R]),
    # chord 2 down
    4: ([0, 0, 0, 0, 0, 0, 1, 0, 0],
        [60, 64, 67, 72, 69, 65, R, R, 67, 71, 74, 60, 64, 67, R, R]),
    # chord 3 down
    2: ([0, 0, 0, 0, 0, 0, 0, 1, 0],
        [60, 64, 67, 65, 69, 72, R, R, 74, 71, 67, 60, 64, 67, R, R]),
    # chord 4 down
    1: ([0, 0, 0, 0, 0, 0, 0, 0, 1],
        [60, 64, 67, 65, 69, 72, R, R, 67, 71, 74, 67, 64, 60, R, R]),
    # F#5 blues (root 78)
    6 * 112896 + 37632 + 2 * 12544: ([6, 1, 2, 0, 0, 0, 0, 0, 0],
                                     [78, 81, 84, 83, 87, 90, R, R, 84, 88, 92, 78, 81, 84,
                                      R, R]),
}

# The vocabulary order, written out independently: '__', 'rest', then pitch names in order of
# first appearance over items 0, 1, 2, ... (C4 major, C4 minor, C4 blues, C5 ..., C#4 ...).
EXPECTED_VOCABULARY = (
    "__ rest C4 E4 G4 F4 A4 C5 B4 D5 E-4 G#4 F#4 B-4 E5 G5 F5 A5 C6 B5 D6 E-5 G#5 F#5 B-5 "
    "E6 G6 F6 A6 C7 B6 D7 E-6 G#6 F#6 B-6 C#4 C#5 C#6 C#7 E-7 D4 E7 F7 F#7 G7 G#7 A7 B-7 "
    "B7 C8 C#8").split()


def test_sizes_and_strides() -> None:
    assert dm.NUM_ITEMS == 1_354_752
    strides = [int(np.prod(dm.FACTOR_SIZES[i + 1:])) for i in range(9)]
    assert strides == [112896, 37632, 12544, 448, 16, 8, 4, 2, 1]


@pytest.mark.parametrize("index", sorted(HAND_CHECKED))
def test_hand_checked_melodies(index: int) -> None:
    factors, grid = HAND_CHECKED[index]
    assert dm.index_to_factors(index).tolist() == factors
    assert dm.factors_to_index(np.array(factors)) == index
    assert dm.melody(index).tolist() == grid


def test_hand_checked_cover_every_factor_value_change() -> None:
    f = np.array([v[0] for v in HAND_CHECKED.values()])
    assert all(len(set(f[:, k])) > 1 for k in range(9))


def test_rhythm_table_is_combinations_order() -> None:
    combos = list(itertools.combinations(range(8), 6))
    assert len(dm.RHYTHMS) == 28
    for i, c in enumerate(combos):
        assert np.flatnonzero(dm.RHYTHMS[i]).tolist() == list(c)
    assert "".join(map(str, dm.RHYTHMS[0])) == "11111100"
    assert "".join(map(str, dm.RHYTHMS[27])) == "00111111"


def test_index_factor_round_trip_random(rng: np.random.Generator) -> None:
    idx = rng.integers(0, dm.NUM_ITEMS, size=5000)
    f = dm.index_to_factors(idx)
    assert f.shape == (5000, 9)
    assert np.all(f >= 0) and np.all(f < np.array(dm.FACTOR_SIZES))
    np.testing.assert_array_equal(dm.factors_to_index(f), idx)


def test_enumeration_order_is_itertools_product() -> None:
    first = list(itertools.islice(itertools.product(*map(range, dm.FACTOR_SIZES)), 2000))
    np.testing.assert_array_equal(dm.index_to_factors(np.arange(2000)), np.array(first))


@pytest.mark.parametrize("bad", [-1, dm.NUM_ITEMS, 2**40])
def test_index_out_of_range(bad: int) -> None:
    with pytest.raises(ParameterError, match="out of range"):
        dm.index_to_factors(bad)


def test_factors_out_of_range() -> None:
    with pytest.raises(ParameterError, match="'rhythm_bar1' = 28 is out of range"):
        dm.factors_to_index([0, 0, 0, 28, 0, 0, 0, 0, 0])
    with pytest.raises(ParameterError, match=r"shape \(\.\.\., 9\)"):
        dm.factors_to_index([0, 0, 0])


def test_vocabulary_is_fixed_and_matches_first_appearance() -> None:
    assert list(dm.VOCABULARY) == EXPECTED_VOCABULARY
    assert dm.VOCABULARY_SIZE == 52
    assert dm.NOTE2INDEX["__"] == 0 and dm.NOTE2INDEX["rest"] == 1
    # first appearance, recomputed by brute force over the first item of each block
    seen: list[str] = []
    for i in range(0, dm.NUM_ITEMS, 12544):
        for p in dm.note_pitches(i).tolist():
            name = dm.note_name(p)
            if name not in seen:
                seen.append(name)
    assert seen == EXPECTED_VOCABULARY[2:]


def test_pitch_range_covers_50_names() -> None:
    data = dm.generate()
    used = np.unique(data.score_array)
    assert used.tolist() == list(range(1, 52))          # rest + 50 pitches; hold never used
    pitches = dm.note_pitches(np.arange(0, dm.NUM_ITEMS, 97))
    assert pitches.min() == 60 and dm.note_pitches(dm.NUM_ITEMS - 1).max() == 109


def test_note_name_spelling() -> None:
    assert [dm.note_name(m) for m in (60, 61, 63, 66, 68, 70, 109)] == [
        "C4", "C#4", "E-4", "F#4", "G#4", "B-4", "C#8"]


def test_tokens_and_decode() -> None:
    tok = dm.tokens(0)
    assert tok.dtype == np.int32
    names = [dm.VOCABULARY[t] for t in tok]
    assert names == ["C4", "E4", "G4", "F4", "A4", "C5", "rest", "rest",
                     "G4", "B4", "D5", "C4", "E4", "G4", "rest", "rest"]
    events = dm.decode_tokens(tok)
    assert events[0] == ("C4", 0, 1) and events[6] == ("rest", 6, 1)
    assert len(events) == 16
    # hold tokens extend the previous event; a leading hold is a rest
    seq = [0, 2, 0, 0, 1, 3] + [1] * 10
    assert dm.decode_tokens(seq)[:4] == [("rest", 0, 1), ("C4", 1, 3), ("rest", 4, 1),
                                         ("E4", 5, 1)]


def test_generate_matches_per_item_functions(rng: np.random.Generator) -> None:
    idx = rng.integers(0, dm.NUM_ITEMS, size=300)
    data = dm.generate(idx)
    for row, i in enumerate(idx.tolist()):
        np.testing.assert_array_equal(data.score_array[row], dm.tokens(i))
        np.testing.assert_array_equal(data.latent_array[row], dm.index_to_factors(i))


def _estimate_one(seq: list[int], names: list[str]) -> list[int]:
    """Scalar re-statement of the original loader's attribute re-estimation."""
    rest, hold = names.index("rest"), names.index("__")
    seq = [hold if t >= len(names) or t < 0 else t for t in seq]
    pcs = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

    def midi(name: str) -> int:
        acc = {"": 0, "#": 1, "-": -1}[name[1:-1]]
        return pcs[name[0]] + acc + 12 * (int(name[-1]) + 1)

    notes = [midi(names[t]) for t in seq if t not in (rest, hold)]
    out = [-1] * 9
    for bar in range(2):
        mask = [0 if t in (rest, hold) else 1 for t in seq[bar * 8:bar * 8 + 8]]
        for r in range(28):
            if mask == dm.RHYTHMS[r].tolist():
                out[3 + bar] = r
    if len(notes) < 3:
        return out
    root = min(notes[:3])
    out[0] = root % 12
    out[1] = {4: 0, 5: 1, 6: 2}.get(root // 12 - 1, -1)
    diffs = {(n - root) % 12 for n in notes}
    for s in range(3):
        if diffs <= set(dm.SCALE_STEPS[s].tolist()):
            out[2] = s
            break
    if len(notes) == 12:
        for c in range(4):
            a, b, d = notes[3 * c:3 * c + 3]
            tot = np.sign(b - a) + np.sign(d - b)
            out[5 + c] = 0 if tot > 0 else 1 if tot < 0 else -1
    return out


def test_estimate_factors_recovers_random_items(rng: np.random.Generator) -> None:
    idx = rng.integers(0, dm.NUM_ITEMS, size=20000)
    np.testing.assert_array_equal(dm.estimate_factors(dm.tokens(idx)), dm.index_to_factors(idx))


def test_estimate_factors_matches_scalar_rules_on_noisy_sequences(
        rng: np.random.Generator) -> None:
    base = dm.tokens(rng.integers(0, dm.NUM_ITEMS, size=400))
    noisy = base.copy()
    # corrupt: random tokens (including holds and out-of-vocabulary ids) at random places
    mask = rng.random(noisy.shape) < 0.15
    noisy[mask] = rng.integers(0, 60, size=mask.sum())
    seqs = np.concatenate([base, noisy, rng.integers(0, 56, size=(200, 16))])
    got = dm.estimate_factors(seqs)
    names = list(dm.VOCABULARY)
    for row, seq in enumerate(seqs.tolist()):
        assert got[row].tolist() == _estimate_one(seq, names), seq


def test_estimate_factors_edge_cases() -> None:
    rest_only = np.full(16, dm.REST_INDEX)
    assert dm.estimate_factors(rest_only).tolist() == [-1] * 9
    two_notes = rest_only.copy()
    two_notes[:2] = [2, 3]
    assert dm.estimate_factors(two_notes).tolist() == [-1] * 9
    # drop one note of item 0: bar-1 rhythm and every direction become unreadable
    seq = dm.tokens(0).copy()
    seq[1] = dm.REST_INDEX
    est = dm.estimate_factors(seq).tolist()
    assert est[:3] == [0, 0, 0] and est[3] == -1 and est[4] == 0 and est[5:] == [-1] * 4
    # a flat chord (equal notes) has no direction
    seq = dm.tokens(0).copy()
    seq[:3] = 2
    assert dm.estimate_factors(seq)[5] == -1
    with pytest.raises(InputError, match="shape"):
        dm.estimate_factors(np.zeros((3, 15), dtype=int))


def test_estimate_factors_with_another_vocabulary() -> None:
    # the original file may number '__' and 'rest' the other way round
    names = list(dm.VOCABULARY)
    names[0], names[1] = names[1], names[0]
    perm = {0: 1, 1: 0}
    seqs = dm.tokens(np.arange(500))
    swapped = np.vectorize(lambda t: perm.get(t, t))(seqs)
    np.testing.assert_array_equal(dm.estimate_factors(swapped, index2note=dict(enumerate(names))),
                                  dm.index_to_factors(np.arange(500)))


def test_split_reproduces_the_original_loader() -> None:
    # the original: np.random.seed(seed); rows = np.c_[score, latents]; np.random.shuffle(rows)
    n = 2000
    data = dm.generate(np.arange(n))
    for seed in (0, 1, 2):
        rows = np.c_[data.score_array, data.latent_array]
        np.random.seed(seed)  # noqa: NPY002  (the original's legacy calls are the oracle)
        np.random.shuffle(rows)  # noqa: NPY002
        pos = dm.split_positions(n, seed=seed)
        got = np.concatenate([pos["train"], pos["val"], pos["test"]])
        np.testing.assert_array_equal(np.c_[data.score_array, data.latent_array][got], rows)
        # the cut is at int((0.7 + 0.2) * n) and 0.7 + 0.2 == 0.8999999999999999 in floating
        # point, so for n = 2000 the test set has 201 rows, as in the original loader
        assert len(pos["train"]) == 1400 and len(pos["val"]) == 399 and len(pos["test"]) == 201


def test_split_sizes_full() -> None:
    pos = dm.split_positions(dm.NUM_ITEMS, seed=0)
    assert [len(pos[k]) for k in ("train", "val", "test")] == [948326, 270950, 135476]
    assert len(np.unique(np.concatenate(list(pos.values())))) == dm.NUM_ITEMS


def test_npz_has_the_original_layout(tmp_path) -> None:
    path = tmp_path / "d.npz"
    data = dm.generate(np.arange(100, 164))
    dm.save_npz(path, data)
    with np.load(path, allow_pickle=True) as z:
        assert set(z.files) == {"score_array", "latent_array", "note2index_dict",
                                "index2note_dict", "latent_dicts", "metadata", "item_indices"}
        assert z["score_array"].shape == (64, 16) and z["score_array"].dtype == np.int32
        assert z["latent_array"].shape == (64, 9) and z["latent_array"].dtype == np.int32
        n2i = z["note2index_dict"].item()
        i2n = z["index2note_dict"].item()
        assert len(n2i) == 52 and all(i2n[v] == k for k, v in n2i.items())
        ld = z["latent_dicts"].item()
        assert list(ld) == list(dm.FACTOR_NAMES)
        assert ld["tonic"][1] == "C#" and ld["octave"][2] == 6 and ld["scale"][2] == "blues"
        assert ld["rhythm_bar2"][27] == [0, 0, 1, 1, 1, 1, 1, 1]
        assert ld["arp_chord4"] == {0: "up", 1: "down"}
        meta = z["metadata"].item()
        assert meta["latents_names"] == dm.FACTOR_NAMES
        assert meta["title"] == "dMelodies dataset"
    back, vocab = dm.load_npz(path)
    np.testing.assert_array_equal(back.indices, np.arange(100, 164))
    np.testing.assert_array_equal(back.score_array, data.score_array)
    assert vocab == dm.INDEX2NOTE


def test_npz_is_deterministic(tmp_path) -> None:
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    dm.save_npz(a, dm.generate(np.arange(1000)))
    dm.save_npz(b, dm.generate(np.arange(1000)))
    assert a.read_bytes() == b.read_bytes()


def test_load_npz_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        dm.load_npz(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(InputError, match="is not a dMelodies .npz"):
        dm.load_npz(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(InputError, match="is not a dMelodies .npz"):
        dm.load_npz(other)


def test_torch_dataset_split(tmp_path) -> None:
    from mirkit.data.dmelodies_torch import DMelodiesDataset

    path = tmp_path / "d.npz"
    dm.save_npz(path, dm.generate(np.arange(3000)))
    train = DMelodiesDataset(path, split="train", seed=1)
    test = DMelodiesDataset(path, split="test", seed=1)
    assert len(train) == 2100 and len(test) == 301   # int(0.8999999999999999 * 3000) = 2699
    tok, fac = train[5]
    assert tok.shape == (16,) and fac.shape == (9,)
    i = int(train.item_indices[5])
    assert tok.tolist() == dm.tokens(i).tolist() and fac.tolist() == dm.index_to_factors(i).tolist()
    assert not set(train.item_indices.tolist()) & set(test.item_indices.tolist())
    with pytest.raises(ParameterError, match="split"):
        DMelodiesDataset(path, split="dev")  # type: ignore[arg-type]
