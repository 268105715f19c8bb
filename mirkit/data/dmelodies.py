"""The dMelodies disentanglement dataset, regenerated exactly and fast.

dMelodies (Pati, Gururani & Lerch, ISMIR 2020) holds 1,354,752 two-bar monophonic melodies in
4/4, each the arpeggios of a I-IV-V-I cadence, made from nine independent latent factors:

===  ===============  =======  ===========================================================
col  name             values   meaning
===  ===============  =======  ===========================================================
0    ``tonic``        12       C, C#, D, D#, E, F, F#, G, G#, A, A#, B
1    ``octave``       3        octave number of the root: 4, 5, 6 (C4 = MIDI 60)
2    ``scale``        3        major, minor (harmonic), blues (the original's 9-step table)
3    ``rhythm_bar1``  28       which 6 of the 8 eighth-note slots of bar 1 hold notes
4    ``rhythm_bar2``  28       the same for bar 2
5-8  ``arp_chord1-4`` 2 each  0 = up, 1 = down: order of the three notes of chord k
===  ===============  =======  ===========================================================

Item ``i`` is row ``i`` of the Cartesian product of the factor values in that order, the
last factor varying fastest (``numpy.ravel_multi_index`` order). Rhythms are the 6-subsets of
``range(8)`` in ``itertools.combinations`` order. The melody's root is
``12 * (octave + 1) + tonic``; chord ``k`` takes scale degrees I=(0,2,4), IV=(3,5,7),
V=(4,6,8), I=(0,2,4) of the scale table, reversed when its factor says "down". Bar 1 plays
notes 0-5 (chords I, IV), bar 2 notes 6-11 (V, I), every note an eighth; slots without a
note are eighth rests.

Tokens
------
A melody is 16 tokens, one per eighth-note tick. Each tick holds the name of the note that
starts there (music21 spelling: ``C#4``, ``E-4``, ``B-5``) or ``rest``. The hold token ``__``
exists in the vocabulary but never occurs in dMelodies (every event lasts one tick).

The original generator's vocabulary numbered ``__`` and ``rest`` in the iteration order of a
Python ``set`` (which depends on the interpreter's hash seed). mirkit fixes it: ``__`` is 0,
``rest`` is 1, and the 50 pitch names follow in order of first appearance when the items are
encoded in index order (the original's rule for the pitch names). See :data:`VOCABULARY`.

Everything here is vectorised over item indices: the whole dataset is built in about a
second without creating a Python object per item.
"""

from __future__ import annotations

import itertools
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError

# --------------------------------------------------------------------------------------
# Constants of the dataset definition
# --------------------------------------------------------------------------------------

FACTOR_NAMES: tuple[str, ...] = (
    "tonic", "octave", "scale", "rhythm_bar1", "rhythm_bar2",
    "arp_chord1", "arp_chord2", "arp_chord3", "arp_chord4",
)
FACTOR_SIZES: tuple[int, ...] = (12, 3, 3, 28, 28, 2, 2, 2, 2)
NUM_ITEMS: int = int(np.prod(FACTOR_SIZES))  # 1,354,752

TONICS: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
OCTAVES: tuple[int, ...] = (4, 5, 6)
SCALES: tuple[str, ...] = ("major", "minor", "blues")
ARP_DIRECTIONS: tuple[str, ...] = ("up", "down")

#: Semitone offsets of the 9 scale degrees used, per scale (rows in SCALES order).
SCALE_STEPS: NDArray[np.int64] = np.array([
    [0, 2, 4, 5, 7, 9, 11, 12, 14],   # major
    [0, 2, 3, 5, 7, 8, 11, 12, 14],   # minor (harmonic)
    [0, 2, 3, 5, 6, 9, 10, 12, 14],   # blues, as the original defines it
])
#: Scale-degree indices of the four chords I, IV, V, I (rows) in "up" order.
CHORD_DEGREES: NDArray[np.int64] = np.array([[0, 2, 4], [3, 5, 7], [4, 6, 8], [0, 2, 4]])

TICKS_PER_BEAT: int = 2          # eighth-note grid
TICKS_PER_BAR: int = 8           # 4/4
NUM_BARS: int = 2
SEQUENCE_LENGTH: int = TICKS_PER_BAR * NUM_BARS   # 16
NOTES_PER_BAR: int = 6
NUM_NOTES: int = NOTES_PER_BAR * NUM_BARS          # 12
TEMPO_QPM: float = 120.0         # music21's default, used by the original's MIDI export

#: The 28 rhythms: 8-slot onset masks, in itertools.combinations(range(8), 6) order.
RHYTHMS: NDArray[np.int8] = np.zeros((28, TICKS_PER_BAR), dtype=np.int8)
for _i, _slots in enumerate(itertools.combinations(range(TICKS_PER_BAR), NOTES_PER_BAR)):
    RHYTHMS[_i, list(_slots)] = 1
#: For each rhythm, the 6 slots that hold notes, ascending.
RHYTHM_ONSETS: NDArray[np.int64] = np.array(
    list(itertools.combinations(range(TICKS_PER_BAR), NOTES_PER_BAR)))

HOLD_TOKEN = "__"
REST_TOKEN = "rest"
HOLD_INDEX = 0
REST_INDEX = 1
#: Marks a rest in pitch grids returned by :func:`melody` / :func:`melodies`.
REST_PITCH = -1

_PITCH_CLASS_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")

DATASET_TITLE = "dMelodies dataset"
DATASET_DESCRIPTION = (
    "dMelodies dataset. Algorithmically generated 2-bar melodies. Each datapoint is a 2-bar "
    "melody which plays arpeggios on the standard I-IV-V-I cadence chord pattern. The dataset "
    "has 9 independent latent factors of variation: root, octave, scale, rhythm bar 1, rhythm "
    "bar 2, arpeggiation direction for each of the 4 chords. All possible values of the "
    "latent factors are present."
)
DATASET_AUTHORS = "ashis.pati@gatech.edu, siddharth.gururani@gatech.edu, alexander.lerch@gatech.edu"
DATASET_VERSION = 1
DATASET_DATE = "July 26, 2020"   # release of dataset version 1; fixed so output bytes are stable


def note_name(midi: int) -> str:
    """Name a MIDI pitch as music21 does by default (``61 -> 'C#4'``, ``63 -> 'E-4'``)."""
    return f"{_PITCH_CLASS_NAMES[midi % 12]}{midi // 12 - 1}"


# --------------------------------------------------------------------------------------
# Index <-> factors
# --------------------------------------------------------------------------------------

def _as_index_array(indices: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(indices)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ParameterError(f"dMelodies indices must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= NUM_ITEMS):
        bad = int(arr[(arr < 0) | (arr >= NUM_ITEMS)].flat[0])
        raise ParameterError(
            f"dMelodies index {bad} is out of range: valid indices are 0..{NUM_ITEMS - 1}")
    return arr


def index_to_factors(indices: ArrayLike) -> NDArray[np.int64]:
    """Factor indices of items.

    Parameters
    ----------
    indices : int or array_like of int, shape (...)
        Item indices in ``0 .. NUM_ITEMS-1``.

    Returns
    -------
    np.ndarray, shape (..., 9), int64
        Factor value indices in :data:`FACTOR_NAMES` order.

    Examples
    --------
    >>> index_to_factors(NUM_ITEMS - 1).tolist()
    [11, 2, 2, 27, 27, 1, 1, 1, 1]
    """
    arr = _as_index_array(indices)
    return np.stack(np.unravel_index(arr, FACTOR_SIZES), axis=-1).astype(np.int64)


def factors_to_index(factors: ArrayLike) -> NDArray[np.int64] | int:
    """Item index of factor combinations (inverse of :func:`index_to_factors`).

    Parameters
    ----------
    factors : array_like of int, shape (..., 9)

    Returns
    -------
    int or np.ndarray, shape (...)
    """
    arr = np.asarray(factors)
    if arr.ndim == 0 or arr.shape[-1] != len(FACTOR_SIZES):
        raise ParameterError(
            f"factors must have shape (..., 9) in the order {', '.join(FACTOR_NAMES)}; "
            f"got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ParameterError(f"factors must be integers, got dtype {arr.dtype}")
    sizes = np.asarray(FACTOR_SIZES)
    bad = (arr < 0) | (arr >= sizes)
    if np.any(bad):
        where = np.argwhere(bad)[0]
        col = int(where[-1])
        raise ParameterError(
            f"factor '{FACTOR_NAMES[col]}' = {int(arr[tuple(where)])} is out of range "
            f"0..{FACTOR_SIZES[col] - 1}")
    out = np.ravel_multi_index(tuple(np.moveaxis(arr.astype(np.int64), -1, 0)), FACTOR_SIZES)
    return int(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.int64)


# --------------------------------------------------------------------------------------
# Melodies
# --------------------------------------------------------------------------------------

def note_pitches(indices: ArrayLike) -> NDArray[np.int64]:
    """The 12 MIDI pitches of each melody, in playing order.

    Returns
    -------
    np.ndarray, shape (..., 12), int64
    """
    return _pitches_of(index_to_factors(indices))


def _pitches_of(f: NDArray[np.int64]) -> NDArray[np.int64]:
    root = 12 * (np.asarray(OCTAVES)[f[..., 1]] + 1) + f[..., 0]           # (...)
    steps = SCALE_STEPS[f[..., 2]]                                           # (..., 9)
    down = f[..., 5:9].astype(bool)                                          # (..., 4)
    degrees = np.where(down[..., None], CHORD_DEGREES[:, ::-1], CHORD_DEGREES)  # (..., 4, 3)
    flat = degrees.reshape(*degrees.shape[:-2], NUM_NOTES)
    return root[..., None] + np.take_along_axis(steps, flat, axis=-1)


def onset_ticks(indices: ArrayLike) -> NDArray[np.int64]:
    """The tick (0..15, eighth notes) at which each of the 12 notes starts.

    Returns
    -------
    np.ndarray, shape (..., 12), int64
    """
    return _onsets_of(index_to_factors(indices))


def _onsets_of(f: NDArray[np.int64]) -> NDArray[np.int64]:
    bar1 = RHYTHM_ONSETS[f[..., 3]]
    bar2 = RHYTHM_ONSETS[f[..., 4]] + TICKS_PER_BAR
    return np.concatenate([bar1, bar2], axis=-1)


def melodies(indices: ArrayLike) -> NDArray[np.int64]:
    """Pitch grids of items: the MIDI pitch that starts on each eighth-note tick.

    Parameters
    ----------
    indices : int or array_like of int, shape (...)

    Returns
    -------
    np.ndarray, shape (..., 16), int64
        MIDI pitch per tick, :data:`REST_PITCH` (-1) where the tick is a rest. Every note
        lasts exactly one tick (an eighth note, 0.5 quarter).
    """
    return _grid_of(index_to_factors(indices))


def _grid_of(f: NDArray[np.int64]) -> NDArray[np.int64]:
    pitches, ticks = _pitches_of(f), _onsets_of(f)
    grid = np.full(pitches.shape[:-1] + (SEQUENCE_LENGTH,), REST_PITCH, dtype=np.int64)
    np.put_along_axis(grid, ticks, pitches, axis=-1)
    return grid


def melody(index: int) -> NDArray[np.int64]:
    """The pitch grid of one item: shape (16,), MIDI pitch per eighth note, -1 for rests.

    Examples
    --------
    >>> melody(0).tolist()
    [60, 64, 67, 65, 69, 72, -1, -1, 67, 71, 74, 60, 64, 67, -1, -1]
    """
    if not isinstance(index, (int, np.integer)):
        raise ParameterError(f"melody() takes one integer index, got {type(index).__name__}")
    return melodies(int(index))


# --------------------------------------------------------------------------------------
# Vocabulary and tokens
# --------------------------------------------------------------------------------------

def _build_vocabulary() -> tuple[str, ...]:
    # Pitch names in order of first appearance when items are encoded in index order.
    # Every (tonic, octave, scale) block first shows its pitches at its item with all other
    # factors 0, so the blocks' first items suffice.
    firsts = np.arange(0, NUM_ITEMS, NUM_ITEMS // (12 * 3 * 3))
    seen: dict[int, None] = {}
    for p in note_pitches(firsts).ravel().tolist():
        seen.setdefault(p, None)
    return (HOLD_TOKEN, REST_TOKEN, *(note_name(p) for p in seen))


#: The token vocabulary, index -> name (52 entries).
VOCABULARY: tuple[str, ...] = _build_vocabulary()
VOCABULARY_SIZE: int = len(VOCABULARY)
NOTE2INDEX: dict[str, int] = {name: i for i, name in enumerate(VOCABULARY)}
INDEX2NOTE: dict[int, str] = dict(enumerate(VOCABULARY))

# MIDI pitch -> token index (-1 where the pitch is not in the vocabulary)
_PITCH_TO_TOKEN = np.full(128, -1, dtype=np.int64)
for _tok, _name in enumerate(VOCABULARY[2:], start=2):
    _midi = _PITCH_CLASS_NAMES.index(_name[:-1]) + 12 * (int(_name[-1]) + 1)
    _PITCH_TO_TOKEN[_midi] = _tok


def tokens(indices: ArrayLike) -> NDArray[np.int32]:
    """Token sequences of items (the rows of ``score_array``).

    Returns
    -------
    np.ndarray, shape (..., 16), int32
        Token indices into :data:`VOCABULARY`.
    """
    return _tokens_of(index_to_factors(indices))


def _tokens_of(f: NDArray[np.int64]) -> NDArray[np.int32]:
    grid = _grid_of(f)
    out = np.where(grid == REST_PITCH, REST_INDEX, _PITCH_TO_TOKEN[np.maximum(grid, 0)])
    return out.astype(np.int32)


def _vocab_midi_table(index2note: dict[int, str] | Sequence[str] | None) -> tuple[
        NDArray[np.int64], int, int]:
    """Token index -> MIDI (-1 = rest, -2 = hold), plus the rest and hold token indices."""
    if index2note is None:
        names = list(VOCABULARY)
    elif isinstance(index2note, dict):
        size = max(int(k) for k in index2note) + 1
        names = [str(index2note.get(i, "")) for i in range(size)]
    else:
        names = [str(n) for n in index2note]
    table = np.full(len(names), -2, dtype=np.int64)
    rest = hold = -1
    letters = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    for i, name in enumerate(names):
        if name == REST_TOKEN:
            table[i], rest = -1, i
        elif name == HOLD_TOKEN:
            hold = i
        elif name and name[0] in letters:
            acc = name[1:-1]
            shift = {"": 0, "#": 1, "-": -1, "##": 2, "--": -2}.get(acc)
            if shift is None or not name[-1].isdigit():
                raise InputError(f"vocabulary entry {i} = {name!r} is not a note name")
            table[i] = letters[name[0]] + shift + 12 * (int(name[-1]) + 1)
        else:
            raise InputError(f"vocabulary entry {i} = {name!r} is not a note name, "
                             f"'{REST_TOKEN}' or '{HOLD_TOKEN}'")
    if rest < 0 or hold < 0:
        raise InputError(f"the vocabulary must contain '{REST_TOKEN}' and '{HOLD_TOKEN}'")
    return table, rest, hold


def decode_tokens(sequence: ArrayLike, *, index2note: dict[int, str] | Sequence[str] | None = None
                  ) -> list[tuple[str, int, int]]:
    """Events of one token sequence, as the original decoder reads it.

    Every token other than the hold token starts an event that lasts until the next such
    token; ``rest`` (and hold tokens at the very start) are rests. One tick is an eighth note.

    Parameters
    ----------
    sequence : array_like of int, shape (16,)
    index2note : mapping or sequence, optional
        The vocabulary; mirkit's :data:`VOCABULARY` by default (pass the ``index2note_dict``
        of another file to decode it).

    Returns
    -------
    list of (name, onset_tick, duration_ticks)
        ``name`` is a note name or ``'rest'``.
    """
    seq = np.asarray(sequence).ravel()
    table, rest_idx, hold_idx = _vocab_midi_table(index2note)
    names = list(VOCABULARY) if index2note is None else None
    events: list[tuple[str, int, int]] = []
    for tick, tok in enumerate(seq.tolist()):
        is_hold = tok == hold_idx or tok < 0 or tok >= len(table)
        if is_hold and events:
            name, onset, dur = events[-1]
            events[-1] = (name, onset, dur + 1)
            continue
        if is_hold or tok == rest_idx:
            events.append((REST_TOKEN, tick, 1))
        else:
            name = names[tok] if names is not None else note_name(int(table[tok]))
            events.append((name, tick, 1))
    return events


def estimate_factors(token_sequences: ArrayLike, *,
                     index2note: dict[int, str] | Sequence[str] | None = None
                     ) -> NDArray[np.int64]:
    """Re-estimate the nine factors from token sequences (controllability evaluation).

    Follows the original loader's rules: tokens outside the vocabulary count as holds; the
    notes are the tokens that are neither rest nor hold; the root is the lowest of the first
    three notes and gives tonic and octave (octave -1 unless 4, 5 or 6); the scale is the
    first of major, minor, blues whose pitch classes (relative to the root) contain every
    note; each bar's rhythm is its onset mask looked up among the 28; each chord's direction
    needs exactly 12 notes, and is the sign of the sum of the signs of its two intervals
    (0 gives -1). Where a factor cannot be read it is -1; fewer than 3 notes gives -1 for all.

    Parameters
    ----------
    token_sequences : array_like of int, shape (..., 16)
    index2note : mapping or sequence, optional
        The vocabulary of the tokens; mirkit's :data:`VOCABULARY` by default.

    Returns
    -------
    np.ndarray, shape (..., 9), int64
    """
    seqs = np.asarray(token_sequences)
    if seqs.shape[-1:] != (SEQUENCE_LENGTH,):
        raise InputError(f"token sequences must have shape (..., {SEQUENCE_LENGTH}); "
                         f"got {seqs.shape}")
    lead = seqs.shape[:-1]
    seqs = seqs.reshape(-1, SEQUENCE_LENGTH).astype(np.int64)
    n = seqs.shape[0]
    table, _, _ = _vocab_midi_table(index2note)
    valid = (seqs >= 0) & (seqs < len(table))
    midi = np.where(valid, table[np.clip(seqs, 0, len(table) - 1)], -2)   # -1 rest, -2 hold
    is_note = midi >= 0
    count = is_note.sum(axis=1)

    # notes packed to the left in playing order; padding = large sentinel
    order = np.argsort(~is_note, axis=1, kind="stable")
    packed = np.take_along_axis(midi, order, axis=1)
    packed = np.where(np.arange(SEQUENCE_LENGTH) < count[:, None], packed, 10_000)

    out = np.full((n, len(FACTOR_NAMES)), -1, dtype=np.int64)
    enough = count >= 3
    first3 = packed[:, :3]
    root = first3[np.arange(n), np.argmin(first3, axis=1)]
    octave = root // 12 - 1
    out[:, 0] = np.where(enough, root % 12, -1)
    oct_idx = np.searchsorted(np.asarray(OCTAVES), octave)
    oct_ok = np.isin(octave, OCTAVES)
    out[:, 1] = np.where(enough & oct_ok, np.clip(oct_idx, 0, len(OCTAVES) - 1), -1)

    rel = np.where(packed < 10_000, (packed - root[:, None]) % 12, -1)
    scale = np.full(n, -1, dtype=np.int64)
    for s in range(len(SCALES) - 1, -1, -1):     # first match wins -> assign in reverse
        allowed = np.zeros(12, dtype=bool)
        allowed[SCALE_STEPS[s] % 12] = True
        fits = np.all((rel < 0) | allowed[np.clip(rel, 0, 11)], axis=1)
        scale = np.where(fits, s, scale)
    out[:, 2] = np.where(enough, scale, -1)

    # rhythm: onset mask per bar -> rhythm index via the mask's bit pattern
    lookup = np.full(1 << TICKS_PER_BAR, -1, dtype=np.int64)
    weights = 1 << np.arange(TICKS_PER_BAR)
    lookup[RHYTHMS.astype(np.int64) @ weights] = np.arange(len(RHYTHMS))
    for bar in range(NUM_BARS):
        mask = is_note[:, bar * TICKS_PER_BAR:(bar + 1) * TICKS_PER_BAR].astype(np.int64)
        out[:, 3 + bar] = np.where(enough, lookup[mask @ weights], -1)

    twelve = count == NUM_NOTES
    chords = packed[:, :NUM_NOTES].reshape(n, 4, 3)
    s = np.sign(np.diff(chords, axis=2)).sum(axis=2)
    arp = np.where(s > 0, 0, np.where(s < 0, 1, -1))
    out[:, 5:9] = np.where(twelve[:, None], arp, -1)
    return out.reshape(*lead, len(FACTOR_NAMES))


# --------------------------------------------------------------------------------------
# The dataset as arrays, the .npz file, and the benchmark split
# --------------------------------------------------------------------------------------

def latent_dicts() -> dict[str, dict[int, Any]]:
    """Factor index -> human value, per factor (the npz ``latent_dicts`` entry)."""
    rhythm = {i: [int(v) for v in RHYTHMS[i]] for i in range(len(RHYTHMS))}
    arp = dict(enumerate(ARP_DIRECTIONS))
    return {
        "tonic": dict(enumerate(TONICS)),
        "octave": dict(enumerate(OCTAVES)),
        "scale": dict(enumerate(SCALES)),
        "rhythm_bar1": dict(rhythm),
        "rhythm_bar2": dict(rhythm),
        "arp_chord1": dict(arp),
        "arp_chord2": dict(arp),
        "arp_chord3": dict(arp),
        "arp_chord4": dict(arp),
    }


def metadata() -> dict[str, Any]:
    """The npz ``metadata`` entry."""
    from mirkit import __version__

    return {
        "title": DATASET_TITLE,
        "description": DATASET_DESCRIPTION,
        "version": DATASET_VERSION,
        "authors": DATASET_AUTHORS,
        "data": DATASET_DATE,
        "latents_names": FACTOR_NAMES,
        "generator": f"mirkit {__version__} make-dmelodies",
        "vocabulary": "'__'=0, 'rest'=1, then pitch names in order of first appearance",
    }


@dataclass(frozen=True)
class DMelodiesArrays:
    """Items of the dataset as arrays.

    Attributes
    ----------
    indices : np.ndarray, shape (n,), int64
        Global item indices.
    score_array : np.ndarray, shape (n, 16), int32
        Token sequences.
    latent_array : np.ndarray, shape (n, 9), int32
        Factor value indices.
    """

    indices: NDArray[np.int64]
    score_array: NDArray[np.int32]
    latent_array: NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def generate(indices: ArrayLike | None = None) -> DMelodiesArrays:
    """Build the token and factor arrays for some or all items.

    Parameters
    ----------
    indices : array_like of int, shape (n,), optional
        Items to build; all 1,354,752 in order when omitted.
    """
    idx = np.arange(NUM_ITEMS, dtype=np.int64) if indices is None else _as_index_array(indices)
    if idx.ndim != 1:
        raise ParameterError(f"indices must be one-dimensional, got shape {idx.shape}")
    factors = index_to_factors(idx)              # unravelled once for tokens and latents
    return DMelodiesArrays(indices=idx, score_array=_tokens_of(factors),
                           latent_array=factors.astype(np.int32))


def save_npz(path: Any, data: DMelodiesArrays, *, compress: bool = False) -> None:
    """Write items to an ``.npz`` readable by the original dMelodies loaders.

    Keys: ``score_array``, ``latent_array``, ``note2index_dict``, ``index2note_dict``,
    ``latent_dicts``, ``metadata`` (dicts pickled as 0-d object arrays: load with
    ``allow_pickle=True`` and ``.item()``). A slice (anything but all items in order) also
    stores ``item_indices``, the global index of each row. Written atomically.
    """
    from mirkit.io.atomic import atomic_write

    full = len(data) == NUM_ITEMS and bool(np.all(data.indices == np.arange(NUM_ITEMS)))
    arrays: dict[str, Any] = {
        "score_array": data.score_array,
        "latent_array": data.latent_array,
        "note2index_dict": np.array(dict(NOTE2INDEX), dtype=object),
        "index2note_dict": np.array(dict(INDEX2NOTE), dtype=object),
        "latent_dicts": np.array(latent_dicts(), dtype=object),
        "metadata": np.array(metadata(), dtype=object),
    }
    if not full:
        arrays["item_indices"] = data.indices
    writer = np.savez_compressed if compress else np.savez
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        writer(fh, **arrays)


def load_npz(path: Any) -> tuple[DMelodiesArrays, dict[int, str]]:
    """Read a dMelodies ``.npz`` (mirkit's or the original's).

    Returns
    -------
    (arrays, index2note)
        The items and the file's vocabulary (index -> name).
    """
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise InputError(f"dMelodies file '{p}' does not exist; make it with "
                         f"`mirkit make-dmelodies -o {p.parent}`")
    if not zipfile.is_zipfile(p):
        raise InputError(f"'{p}' is not a dMelodies .npz file (not a zip archive)")
    try:
        with np.load(p, allow_pickle=True) as z:
            score = np.asarray(z["score_array"], dtype=np.int32)
            latent = np.asarray(z["latent_array"], dtype=np.int32)
            index2note = {int(k): str(v) for k, v in z["index2note_dict"].item().items()}
            item_idx = (np.asarray(z["item_indices"], dtype=np.int64) if "item_indices" in z
                        else np.arange(len(score), dtype=np.int64))
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        raise InputError(f"'{p}' is not a dMelodies .npz file: {exc}") from exc
    if score.ndim != 2 or score.shape[1] != SEQUENCE_LENGTH or latent.shape != (
            len(score), len(FACTOR_NAMES)) or len(item_idx) != len(score):
        raise InputError(f"'{p}': unexpected shapes score_array {score.shape}, latent_array "
                         f"{latent.shape}; expected (N, 16) and (N, 9)")
    return DMelodiesArrays(item_idx, score, latent), index2note


#: Fractions of the benchmark split (train, validation); the test set is the rest.
BENCHMARK_SPLIT: tuple[float, float] = (0.70, 0.20)


def split_positions(n: int, *, seed: int = 0, split: tuple[float, float] = BENCHMARK_SPLIT
                    ) -> dict[str, NDArray[np.int64]]:
    """Row positions of the train / validation / test sets of the dMelodies benchmarks.

    Reproduces the original torch loader: seed NumPy's legacy generator with ``seed``,
    shuffle the rows, then cut contiguous slices at ``int(a*n)`` and ``int((a+b)*n)``.

    Returns
    -------
    dict with keys ``train``, ``val``, ``test``: arrays of row positions.
    """
    a, b = split
    if not (0 < a and 0 <= b and a + b < 1):
        raise ParameterError(f"split fractions {split} must be positive and sum to less than 1")
    perm = np.arange(n, dtype=np.int64)
    np.random.RandomState(seed).shuffle(perm)
    i, j = int(a * n), int((a + b) * n)
    return {"train": perm[:i], "val": perm[i:j], "test": perm[j:]}
