"""Evaluation of generated symbolic music: corpus BLEU on token streams and MGEval.

Two families of measures, as used to evaluate melody generators:

* **BLEU** (Papineni et al., 2002) between generated and reference token sequences, as
  Genchel, Pati & Lerch (2019) apply it to the pitch stream and, separately, the duration
  stream of generated melodies (each generated over the chords of one reference song).
* **MGEval** (Yang & Lerch, "On the evaluation of generative models in music", 2018): twelve
  musically informed features per sample, intra-set and inter-set distances between samples,
  and the KL divergence and overlapping area of the kernel density estimates of those
  distance collections.

Conventions
-----------
Scores are :class:`mirkit.io.symbolic.Score` objects. Every feature takes ``part=None``
(the notes of all parts that are not drum parts, merged into one stream) or ``part=k`` (only
part ``k``, drum or not). Notes are taken in score order: by onset, then pitch.

Time bases: the piano-roll features use seconds sampled at ``fs = 100`` frames per second,
as pretty_midi builds the roll (a note covers frames ``int(start * fs)`` to
``int(end * fs)``, excluded, and adds its velocity there); the pitch-class transition matrix
and the inter-onset interval use seconds; bar and note-length features use quarter-note
beats, so they do not depend on the tempo. Bars follow the score's time signatures (4/4 when
it has none); a time-signature change starts a new bar. ``num_bar=None`` counts the bars up
to the last note offset, rounded to the nearest whole bar (half a bar rounds up), at least 1;
an explicit ``num_bar`` ignores notes in later bars and leaves missing bars at zero.

Note-length classes are in units of one bar / 96 of the time signature in force at the
note's onset, in the original order (index: units): 0 full 96, 1 half 48, 2 quarter 24,
3 eighth 12, 4 sixteenth 6, 5 dotted half 72, 6 dotted quarter 36, 7 dotted eighth 18,
8 dotted sixteenth 9, 9 half triplet 32, 10 quarter triplet 16, 11 eighth triplet 8. A length
goes to the nearest class (the first in this order on a tie). Outside 4/4 the names are
relative to the bar: in 3/4 a quarter note is 32 units, a "half triplet".

With ``pause_event=True`` the classes double to 24: 12-23 are rests of the same lengths. A
rest is counted before a note when the latest offset of all earlier notes lies before its
onset and the silence is within 3 units of a class; a silence before the first note is not a
rest. Only the first note of a chord can be preceded by a rest.

Metrics
-------
corpus_bleu
    Corpus-level BLEU-n: clipped n-gram precisions p_1..p_n summed over the corpus
    (numerators and denominators separately), their weighted geometric mean (uniform weights
    1/n by default) times the brevity penalty ``exp(1 - r / c)`` when the total hypothesis
    length c does not exceed r, the sum of the reference lengths closest to each hypothesis
    length (the shorter one on a tie). This is ``nltk.translate.bleu_score.corpus_bleu`` with
    its defaults, except that a zero precision of positive weight yields exactly 0 (nltk
    yields about ``1e-77``, a log of ``sys.float_info.min``).
bleu_streams
    BLEU of the pitch stream and of the duration stream of monophonic melodies (see
    :func:`melody_tokens` for the tokens).
MGEval features (:data:`FEATURES`)
    total_used_pitch, bar_used_pitch, total_used_note, bar_used_note,
    total_pitch_class_histogram, bar_pitch_class_histogram, pitch_class_transition_matrix,
    pitch_range, avg_pitch_shift, avg_IOI, note_length_hist, note_length_transition_matrix.
mgeval_compare, mgeval
    For each feature: mean and standard deviation of the feature over each set; intra-set
    distances (each sample to every other sample of its set: n (n - 1) values, each pair
    twice), inter-set distances (each sample of set 1 to every sample of set 2: n1 n2 values);
    KL(intra || inter), each Gaussian KDE (Scott's bandwidth) evaluated on a 1000-point grid
    from the minimum to the maximum of *its own* distances, then ``scipy.stats.entropy``
    (which normalises both vectors); and the overlapping area, the integral of
    ``min(pdf_intra, pdf_inter)`` from the smaller minimum to the larger maximum of the two
    collections (``scipy.integrate.quad``). Both for set 1 intra vs inter and for set 2 intra
    vs inter.

Differences from the original MGEval code (Python 2, pretty_midi + python-midi)
    * Features read the Score rather than a MIDI track, so one ``part`` choice serves all of
      them (the original mixes ``instruments[0]``, one python-midi track and all instruments).
    * Bar lengths come from the time signatures for every per-bar and note-length feature
      (the original indexes the time-signature event with ``track_num`` and so gets the bar
      length wrong whenever a file states its meter), and the per-bar pitch-class histogram
      places bars through the score's tempo map instead of a fixed ``bpm`` argument (the
      same for 120 qpm).
    * ``note_length_transition_matrix(pause_event=True)`` counts transitions along the
      sequence of notes and rests defined above; the original's rest branch mixes up the
      previous and current classes.
    * Both sets keep all their samples (the original truncates both to the smaller size).
    * Where the original returns NaN (no notes, a mean over no intervals, a zero KDE
      variance) this module raises :class:`~mirkit.errors.InputError`; a matrix without
      transitions normalised by its total stays all zeros.

Degenerate distance collections
    A Gaussian KDE of distances that are all equal is singular. It happens for instance with
    two samples per set (both intra-set distances are the same pair) or when every sample has
    the same pitch count. By default :class:`DegenerateDistributionError` (an
    :class:`~mirkit.errors.InputError`) names the feature, the collection and the value;
    ``on_degenerate="nan"`` returns NaN for that feature's KL divergence and overlapping area
    instead, by request only.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError
from mirkit.io.symbolic import Score

__all__ = [
    "BAR_FEATURES",
    "FEATURES",
    "NOTE_LENGTH_CLASSES",
    "REST_TOKEN",
    "SCALAR_FEATURES",
    "DegenerateDistributionError",
    "MGEvalResult",
    "avg_IOI",
    "avg_pitch_shift",
    "bar_pitch_class_histogram",
    "bar_used_note",
    "bar_used_pitch",
    "bleu_scores",
    "bleu_streams",
    "corpus_bleu",
    "evaluate",
    "extract_features",
    "inter_set_distances",
    "intra_set_distances",
    "kl_divergence",
    "melody_tokens",
    "mgeval",
    "mgeval_compare",
    "note_length_hist",
    "note_length_transition_matrix",
    "overlap_area",
    "pitch_class_transition_matrix",
    "pitch_range",
    "total_pitch_class_histogram",
    "total_used_note",
    "total_used_pitch",
    "validate",
    "validate_bleu",
    "validate_feature_sets",
]

# --------------------------------------------------------------------------- constants

#: Highest n-gram order of the default BLEU (BLEU-4).
BLEU_MAX_N = 4
#: Epsilon count of the "epsilon" smoothing (nltk's ``SmoothingFunction().method1``).
BLEU_EPSILON = 0.1
#: Duration-token resolution of :func:`melody_tokens`: 24 ticks per quarter note, i.e. the
#: 96 ticks per 4/4 bar of Genchel et al.'s duration tags.
BLEU_TICKS_PER_QUARTER = 24
#: Pitch token of a rest in :func:`melody_tokens` (MIDI pitches are 0-127).
REST_TOKEN = -1

#: Piano-roll frame rate of MGEval, frames per second.
MGEVAL_FS = 100
#: pretty_midi's default window for a pitch-class transition, seconds.
PC_TRANSITION_TIME_THRESH = 0.05
#: Note-length unit: one bar divided by this.
UNITS_PER_BAR = 96
#: Note-length classes (name, length in bar / 96 units), in MGEval's order.
NOTE_LENGTH_CLASSES: tuple[tuple[str, int], ...] = (
    ("full", 96), ("half", 48), ("quarter", 24), ("8th", 12), ("16th", 6),
    ("dotted half", 72), ("dotted quarter", 36), ("dotted 8th", 18), ("dotted 16th", 9),
    ("half triplet", 32), ("quarter triplet", 16), ("8th triplet", 8),
)
_CLASS_UNITS = np.array([units for _, units in NOTE_LENGTH_CLASSES], dtype=np.float64)
_N_CLASSES = len(NOTE_LENGTH_CLASSES)
#: A silence counts as a rest only when it is closer than this (in units) to a class.
REST_TOLERANCE_UNITS = 3.0
#: Grid size of the KDE evaluation in the KL divergence.
KDE_NUM_SAMPLE = 1000
#: Value that replaces zeros of the second vector in the "kl" sample distance.
KL_DISTANCE_FLOOR = 1e-8
#: Slack when comparing beat positions.
_BEAT_EPS = 1e-9

Token = Hashable
Distance = Literal["euclidean", "emd", "kl"]
OnDegenerate = Literal["raise", "nan"]
Smoothing = Literal["epsilon", "add-one"]


class DegenerateDistributionError(InputError):
    """A distance collection whose values are all equal: its Gaussian KDE is singular."""


# --------------------------------------------------------------------------- BLEU


def _is_token_sequence(x: object) -> bool:
    if isinstance(x, np.ndarray):
        return x.ndim == 1
    return isinstance(x, Sequence) and not isinstance(x, str | bytes)


def _tokens(x: Any) -> list[Token]:
    return x.tolist() if isinstance(x, np.ndarray) else list(x)


def validate_bleu(references: Sequence[Sequence[Sequence[Token]]],
                  hypotheses: Sequence[Sequence[Token]]) -> None:
    """Check a BLEU corpus: one non-empty list of reference token sequences per hypothesis.

    Raises
    ------
    InputError
        Different numbers of hypotheses and reference lists, an empty corpus, a hypothesis
        without references, or a sequence that is a string or not a sequence.
    """
    if not _is_token_sequence(hypotheses) or not _is_token_sequence(references):
        raise InputError("references and hypotheses must be lists (of reference lists and of "
                         "token sequences)")
    if len(references) != len(hypotheses):
        raise InputError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists; "
                         "give one list of references per hypothesis")
    if len(hypotheses) == 0:
        raise InputError("the corpus is empty: give at least one hypothesis")
    for i, (refs, hyp) in enumerate(zip(references, hypotheses, strict=True)):
        if not _is_token_sequence(hyp):
            raise InputError(f"hypothesis {i} is a {type(hyp).__name__}, not a sequence of "
                             "tokens (a string must be split into tokens first)")
        if not _is_token_sequence(refs) or len(refs) == 0:
            raise InputError(f"hypothesis {i} has no references; give a list of reference "
                             "token sequences for it")
        for j, ref in enumerate(refs):
            if not _is_token_sequence(ref):
                raise InputError(
                    f"reference {j} of hypothesis {i} is a {type(ref).__name__}, not a token "
                    "sequence; wrap a single reference as [reference]"
                )


def _ngram_counts(seq: list[Token], n: int) -> Counter[tuple[Token, ...]]:
    if len(seq) < n:
        return Counter()
    return Counter(zip(*(seq[k:] for k in range(n)), strict=False))


def _bleu_counts(
    references: Sequence[Sequence[Sequence[Token]]],
    hypotheses: Sequence[Sequence[Token]],
    max_n: int,
) -> tuple[list[int], list[int], int, int]:
    """Clipped n-gram matches and n-gram totals per order, hypothesis and reference lengths."""
    matches, totals = [0] * max_n, [0] * max_n
    hyp_length = ref_length = 0
    for refs_raw, hyp_raw in zip(references, hypotheses, strict=True):
        hyp = _tokens(hyp_raw)
        refs = [_tokens(r) for r in refs_raw]
        for n in range(1, max_n + 1):
            counts = _ngram_counts(hyp, n)
            ref_counts = [_ngram_counts(r, n) for r in refs]
            matches[n - 1] += sum(min(c, max(rc[g] for rc in ref_counts))
                                  for g, c in counts.items())
            totals[n - 1] += max(1, sum(counts.values()))
        hyp_length += len(hyp)
        ref_length += min((len(r) for r in refs), key=lambda m: (abs(m - len(hyp)), m))
    return matches, totals, hyp_length, ref_length


def _bleu_weights(max_n: int | None, weights: Sequence[float] | None) -> tuple[int, list[float]]:
    if max_n is None:
        max_n = len(weights) if weights is not None else BLEU_MAX_N
    if int(max_n) != max_n or max_n < 1:
        raise ParameterError(f"max_n {max_n} must be a whole number >= 1")
    max_n = int(max_n)
    if weights is None:
        return max_n, [1.0 / max_n] * max_n
    w = [float(x) for x in weights]
    if len(w) != max_n:
        raise ParameterError(f"{len(w)} weights for max_n={max_n}; give one weight per n-gram "
                             "order (or leave max_n out)")
    if not all(math.isfinite(x) and x >= 0 for x in w) or sum(w) == 0:
        raise ParameterError(f"weights {w} must be finite, >= 0 and not all 0")
    return max_n, w


def _bleu_from_counts(matches: list[int], totals: list[int], hyp_length: int, ref_length: int,
                      weights: list[float], smoothing: Smoothing | None) -> float:
    n = len(weights)
    if matches[0] == 0:  # no unigram match: 0 whatever the smoothing (as nltk)
        return 0.0
    precisions: list[float] = []
    for k in range(n):
        num, den = matches[k], totals[k]
        if smoothing == "epsilon" and num == 0:
            precisions.append(BLEU_EPSILON / den)
        elif smoothing == "add-one" and k > 0:
            precisions.append((num + 1) / (den + 1))
        else:
            precisions.append(num / den)
    if any(p == 0 and w > 0 for p, w in zip(precisions, weights, strict=True)):
        return 0.0
    if hyp_length > ref_length:
        bp = 1.0
    elif hyp_length == 0:
        return 0.0
    else:
        bp = math.exp(1 - ref_length / hyp_length)
    return bp * math.exp(math.fsum(w * math.log(p)
                                   for w, p in zip(weights, precisions, strict=True) if p > 0))


def _check_smoothing(smoothing: str | None) -> None:
    if smoothing not in (None, "epsilon", "add-one"):
        raise ParameterError(f"unknown BLEU smoothing {smoothing!r}; use None, 'epsilon' "
                             "(nltk method1) or 'add-one' (nltk method2)")


def corpus_bleu(
    references: Sequence[Sequence[Sequence[Token]]],
    hypotheses: Sequence[Sequence[Token]],
    *,
    max_n: int | None = None,
    weights: Sequence[float] | None = None,
    smoothing: Smoothing | None = None,
) -> float:
    """Corpus-level BLEU of ``hypotheses`` against their ``references``.

    Parameters
    ----------
    references : list of list of sequence of hashable, length n_hypotheses
        For each hypothesis, one or more reference token sequences.
    hypotheses : list of sequence of hashable
        Token sequences (lists, tuples or 1-D arrays of any hashable tokens).
    max_n : int, optional
        Highest n-gram order; ``len(weights)`` when weights are given, else 4.
    weights : sequence of float, optional
        Weight of each order 1..max_n in the geometric mean (default uniform ``1/max_n``).
    smoothing : {None, 'epsilon', 'add-one'}
        None: a zero precision of positive weight makes the score 0. 'epsilon': a zero match
        count becomes 0.1 (nltk ``method1``). 'add-one': orders >= 2 add 1 to matches and
        totals (nltk ``method2``). Without any unigram match the score is 0 in all cases.

    Returns
    -------
    float
        BLEU in [0, 1].
    """
    validate_bleu(references, hypotheses)
    _check_smoothing(smoothing)
    n, w = _bleu_weights(max_n, weights)
    return _bleu_from_counts(*_bleu_counts(references, hypotheses, n), w, smoothing)


def bleu_scores(
    references: Sequence[Sequence[Sequence[Token]]],
    hypotheses: Sequence[Sequence[Token]],
    *,
    max_n: int = BLEU_MAX_N,
    smoothing: Smoothing | None = None,
) -> dict[str, float]:
    """BLEU-1 .. BLEU-``max_n`` (uniform weights), counting the n-grams once.

    Returns
    -------
    dict
        ``{"BLEU-1": ..., ..., "BLEU-<max_n>": ...}``.
    """
    validate_bleu(references, hypotheses)
    _check_smoothing(smoothing)
    max_n, _ = _bleu_weights(max_n, None)
    matches, totals, hyp_length, ref_length = _bleu_counts(references, hypotheses, max_n)
    return {
        f"BLEU-{n}": _bleu_from_counts(matches[:n], totals[:n], hyp_length, ref_length,
                                       [1.0 / n] * n, smoothing)
        for n in range(1, max_n + 1)
    }


def melody_tokens(
    score: Score,
    *,
    part: int | None = None,
    ticks_per_quarter: int = BLEU_TICKS_PER_QUARTER,
    rests: bool = True,
) -> tuple[list[int], list[int]]:
    """Pitch and duration token streams of a monophonic melody (Genchel et al.'s events).

    The melody is a sequence of events, notes and rests, in onset order. Positions are first
    rounded to ``ticks_per_quarter`` ticks per quarter note (default 24, i.e. 96 per 4/4
    bar, the resolution of the paper's duration tags). Each note gives the pitch token = its
    MIDI pitch and the duration token = its length in ticks. With ``rests=True`` (the paper
    encodes rests as events) every silence of at least one tick before a note, including one
    from beat 0 to the first note, gives the pitch token :data:`REST_TOKEN` and its length in
    ticks. The paper's pitch numbering (MIDI - 21, rest 88) and its duration-tag indices are
    one-to-one relabellings of these tokens, so BLEU is the same with either.

    Returns
    -------
    pitch_tokens, duration_tokens : list of int
        Equal lengths, one entry per event.

    Raises
    ------
    InputError
        Notes that overlap or start together (not a monophonic line): choose one part.
    """
    notes = _select_notes(score, part, need=0, what="melody_tokens")
    if int(ticks_per_quarter) != ticks_per_quarter or ticks_per_quarter < 1:
        raise ParameterError(f"ticks_per_quarter {ticks_per_quarter} must be a whole number "
                             ">= 1")
    on = np.rint(notes["onset_beats"] * ticks_per_quarter).astype(np.int64)
    off = np.rint(notes["offset_beats"] * ticks_per_quarter).astype(np.int64)
    overlap = np.nonzero(on[1:] < off[:-1])[0]
    if overlap.size:
        i = int(overlap[0]) + 1
        raise InputError(
            f"note {i} (pitch {int(notes['pitch'][i])}, beat "
            f"{float(notes['onset_beats'][i]):g}) starts before the previous note ends: BLEU "
            "streams need a monophonic melody; choose one monophonic part (part=k; on the "
            "command line --part K)"
        )
    pitches: list[int] = []
    durations: list[int] = []
    cursor = 0
    for p, a, b in zip(notes["pitch"].tolist(), on.tolist(), off.tolist(), strict=True):
        if rests and a > cursor:
            pitches.append(REST_TOKEN)
            durations.append(a - cursor)
        pitches.append(p)
        durations.append(b - a)
        cursor = b
    return pitches, durations


def bleu_streams(
    references: Sequence[Score | Sequence[Score]],
    generated: Sequence[Score],
    *,
    part: int | None = None,
    max_n: int | None = None,
    weights: Sequence[float] | None = None,
    smoothing: Smoothing | None = None,
    ticks_per_quarter: int = BLEU_TICKS_PER_QUARTER,
    rests: bool = True,
) -> dict[str, float]:
    """Corpus BLEU of the pitch stream and of the duration stream of generated melodies.

    Parameters
    ----------
    references : list of Score or of list of Score, length n
        The reference melody (or melodies) of each generated one, e.g. the song whose chords
        it was generated over.
    generated : list of Score, length n
    part, ticks_per_quarter, rests
        Passed to :func:`melody_tokens`.
    max_n, weights, smoothing
        Passed to :func:`corpus_bleu` (default BLEU-4, uniform weights, no smoothing).

    Returns
    -------
    dict
        ``{"BLEU pitch": ..., "BLEU duration": ...}``.
    """
    if not isinstance(generated, Sequence) or not isinstance(references, Sequence):
        raise InputError("references and generated must be lists of Scores")
    if len(references) != len(generated):
        raise InputError(f"{len(generated)} generated melodies but {len(references)} "
                         "references; give one reference (or list of them) per melody")
    ref_lists = [list(r) if isinstance(r, Sequence) else [r] for r in references]
    kw: dict[str, Any] = {"part": part, "ticks_per_quarter": ticks_per_quarter, "rests": rests}
    gen_tok = [_score_context("generated", i, melody_tokens, s, **kw)
               for i, s in enumerate(generated)]
    ref_tok = [[_score_context("reference", i, melody_tokens, s, **kw) for s in refs]
               for i, refs in enumerate(ref_lists)]
    out: dict[str, float] = {}
    for k, name in enumerate(("pitch", "duration")):
        out[f"BLEU {name}"] = corpus_bleu(
            [[r[k] for r in refs] for refs in ref_tok], [g[k] for g in gen_tok],
            max_n=max_n, weights=weights, smoothing=smoothing,
        )
    return out


# --------------------------------------------------------------------------- notes, bars


def _select_notes(score: Score, part: int | None, *, need: int, what: str) -> NDArray[Any]:
    """The notes a feature reads: non-drum parts merged (part=None) or one part."""
    if not isinstance(score, Score):
        raise InputError(f"{what} needs a mirkit Score, got {type(score).__name__}; read files "
                         "with mirkit.io.symbolic.read_score")
    notes = score.notes
    if part is None:
        drum = np.array([p.is_drum for p in score.parts] or [False], dtype=bool)
        if len(notes) and drum.any():
            notes = notes[~drum[notes["part"]]]
        where = "the score's non-drum parts hold"
    else:
        if int(part) != part or not 0 <= part < len(score.parts):
            raise ParameterError(f"part {part} does not exist; this score has parts "
                                 f"0..{len(score.parts) - 1}")
        notes = notes[notes["part"] == part]
        where = f"part {part} holds"
    if len(notes) < need:
        raise InputError(f"{what} needs at least {need} note{'s' if need > 1 else ''} but "
                         f"{where} {len(notes)}")
    return notes


def _check_num_bar(num_bar: int | None) -> None:
    if num_bar is not None and (int(num_bar) != num_bar or num_bar < 1):
        raise ParameterError(f"num_bar {num_bar} must be a whole number >= 1 (or None)")


def _bar_starts(sigs: list[tuple[float, int, int]], *, until: float,
                at_least: int) -> NDArray[np.float64]:
    """Bar lines in beats from 0, at least ``at_least`` of them and one beyond ``until``."""
    starts: list[float] = []
    for i, (beat, num, den) in enumerate(sigs):
        stop = sigs[i + 1][0] if i + 1 < len(sigs) else math.inf
        length = num * 4.0 / den
        k = 0
        s = beat
        while s < stop - _BEAT_EPS:
            starts.append(s)
            if len(starts) >= at_least and s > until:
                return np.array(starts)
            k += 1
            s = beat + k * length
    return np.array(starts)  # not reached: the last signature runs forever


def _bar_lines(score: Score, notes: NDArray[Any], num_bar: int | None) -> NDArray[np.float64]:
    """``num_bar + 1`` bar boundaries in beats (see the module docstring for num_bar=None)."""
    _check_num_bar(num_bar)
    end = float(notes["offset_beats"].max())
    starts = _bar_starts(score.time_signatures, until=end, at_least=(num_bar or 0) + 1)
    if num_bar is None:
        k = int(np.searchsorted(starts, end, side="right")) - 1
        position = k + (end - starts[k]) / (starts[k + 1] - starts[k])
        num_bar = max(1, math.floor(position + 0.5))
    return starts[: num_bar + 1]


def _bar_index(lines: NDArray[np.float64], beats: NDArray[np.float64]) -> NDArray[np.intp]:
    """Bar of each position; -1 or len(lines) - 1 and above fall outside."""
    return np.searchsorted(lines, beats + _BEAT_EPS, side="right") - 1


def _onset_bars(score: Score, part: int | None, num_bar: int | None,
                what: str) -> tuple[NDArray[Any], NDArray[np.intp], int]:
    """The notes starting within the first ``n`` bars, their bar indices, and ``n``."""
    notes = _select_notes(score, part, need=1, what=what)
    lines = _bar_lines(score, notes, num_bar)
    n = len(lines) - 1
    bars = _bar_index(lines, notes["onset_beats"])
    keep = (bars >= 0) & (bars < n)
    return notes[keep], bars[keep], n


def _bar_length_at(score: Score, beats: NDArray[np.float64]) -> NDArray[np.float64]:
    """Nominal bar length (beats) of the time signature in force at each position."""
    sigs = np.array(score.time_signatures, dtype=np.float64)
    i = np.maximum(np.searchsorted(sigs[:, 0], beats + _BEAT_EPS, side="right") - 1, 0)
    return sigs[i, 1] * 4.0 / sigs[i, 2]


def _frames(notes: NDArray[Any], fs: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """First and end (excluded) piano-roll frames of each note, as pretty_midi computes them."""
    if not (math.isfinite(fs) and fs > 0):
        raise ParameterError(f"fs {fs} must be a positive frame rate (frames per second)")
    start = np.floor(notes["onset"] * fs).astype(np.int64)
    stop = np.floor(notes["offset"] * fs).astype(np.int64)
    return start, stop


def _pitch_weights(notes: NDArray[Any], fs: float) -> NDArray[np.float64]:
    """Row sums of the piano roll: velocity times frames, per MIDI pitch, shape (128,)."""
    start, stop = _frames(notes, fs)
    w = notes["velocity"].astype(np.float64) * np.maximum(stop - start, 0)
    return np.bincount(notes["pitch"].astype(np.intp), weights=w,
                       minlength=128).astype(np.float64)


def _active_pitches(notes: NDArray[Any], fs: float, what: str) -> NDArray[np.intp]:
    active = np.nonzero(_pitch_weights(notes, fs) > 0)[0]
    if active.size == 0:
        raise InputError(f"{what}: no note lasts a whole piano-roll frame (1/{fs:g} s), so "
                         "the piano roll is empty")
    return active


def _normalise_matrix(m: NDArray[np.float64], normalize: int) -> NDArray[np.float64]:
    if normalize == 0:
        return m
    if normalize == 1:
        sums = m.sum(axis=1, keepdims=True)
        return m / np.where(sums == 0, 1.0, sums)
    if normalize == 2:
        total = m.sum()
        return m / total if total else m
    raise ParameterError(f"normalize {normalize!r} must be 0 (counts), 1 (rows sum to 1) or 2 "
                         "(matrix sums to 1)")


def _length_events(score: Score, notes: NDArray[Any], pause_event: bool) -> NDArray[np.intp]:
    """Note-length classes (0-11) and, with pause_event, rest classes (12-23) in order."""
    on, off = notes["onset_beats"], notes["offset_beats"]
    bar = _bar_length_at(score, on)
    note_cls = np.argmin(np.abs(_CLASS_UNITS - ((off - on) / bar * UNITS_PER_BAR)[:, None]),
                         axis=1)
    if not pause_event:
        return note_cls
    events: list[int] = []
    latest_off = -math.inf
    for i in range(len(notes)):
        if i > 0 and on[i] > on[i - 1] + _BEAT_EPS:
            dist = np.abs(_CLASS_UNITS - (on[i] - latest_off) / bar[i] * UNITS_PER_BAR)
            k = int(np.argmin(dist))
            if dist[k] < REST_TOLERANCE_UNITS:
                events.append(k + _N_CLASSES)
        events.append(int(note_cls[i]))
        latest_off = max(latest_off, float(off[i]))
    return np.array(events, dtype=np.intp)


# --------------------------------------------------------------------------- MGEval features


def total_used_pitch(score: Score, *, part: int | None = None, fs: float = MGEVAL_FS) -> int:
    """Pitch count: number of MIDI pitches sounding in at least one piano-roll frame."""
    notes = _select_notes(score, part, need=1, what="total_used_pitch")
    return int(np.count_nonzero(_pitch_weights(notes, fs)))


def bar_used_pitch(score: Score, *, part: int | None = None,
                   num_bar: int | None = None) -> NDArray[np.float64]:
    """Pitch count per bar: distinct pitches of the notes starting in each bar.

    Returns
    -------
    np.ndarray, shape (num_bar, 1), float64
    """
    notes, bars, n = _onset_bars(score, part, num_bar, "bar_used_pitch")
    pairs = np.unique(np.stack([bars, notes["pitch"].astype(np.intp)]), axis=1)
    return np.bincount(pairs[0], minlength=n).astype(np.float64).reshape(n, 1)


def total_used_note(score: Score, *, part: int | None = None) -> int:
    """Note count: number of notes."""
    return len(_select_notes(score, part, need=1, what="total_used_note"))


def bar_used_note(score: Score, *, part: int | None = None,
                  num_bar: int | None = None) -> NDArray[np.float64]:
    """Note count per bar: notes starting in each bar.

    Returns
    -------
    np.ndarray, shape (num_bar, 1), float64
    """
    _, bars, n = _onset_bars(score, part, num_bar, "bar_used_note")
    return np.bincount(bars, minlength=n).astype(np.float64).reshape(n, 1)


def total_pitch_class_histogram(score: Score, *, part: int | None = None,
                                fs: float = MGEVAL_FS) -> NDArray[np.float64]:
    """Pitch-class histogram weighted by piano-roll frames times velocity, summing to 1.

    Returns
    -------
    np.ndarray, shape (12,), float64
    """
    notes = _select_notes(score, part, need=1, what="total_pitch_class_histogram")
    _active_pitches(notes, fs, "total_pitch_class_histogram")
    out = np.bincount(np.arange(128) % 12, weights=_pitch_weights(notes, fs), minlength=12)
    return out / out.sum()


def bar_pitch_class_histogram(score: Score, *, part: int | None = None,
                              num_bar: int | None = None,
                              fs: float = MGEVAL_FS) -> NDArray[np.float64]:
    """Pitch-class histogram per bar (frames times velocity), each non-empty row summing to 1.

    Bar ``k`` covers the piano-roll frames from ``round(t_k * fs)`` to ``round(t_k+1 * fs)``,
    ``t_k`` being its bar line in seconds under the tempo map; an empty bar is all zeros.

    Returns
    -------
    np.ndarray, shape (num_bar, 12), float64
    """
    notes = _select_notes(score, part, need=1, what="bar_pitch_class_histogram")
    lines = _bar_lines(score, notes, num_bar)
    bounds = np.rint(score.beats_to_seconds(lines) * fs).astype(np.int64)
    start, stop = _frames(notes, fs)
    vel = notes["velocity"].astype(np.float64)
    pc = notes["pitch"].astype(np.intp) % 12
    overlap = (np.minimum(stop[None, :], bounds[1:, None])
               - np.maximum(start[None, :], bounds[:-1, None]))  # (bars, notes)
    weight = np.maximum(overlap, 0) * vel[None, :]
    out = np.zeros((len(lines) - 1, 12))
    for k in range(12):
        out[:, k] = weight[:, pc == k].sum(axis=1)
    sums = out.sum(axis=1, keepdims=True)
    return out / np.where(sums == 0, 1.0, sums)


def pitch_class_transition_matrix(score: Score, *, part: int | None = None, normalize: int = 0,
                                  time_thresh: float = PC_TRANSITION_TIME_THRESH,
                                  ) -> NDArray[np.float64]:
    """pretty_midi's pitch-class transition matrix, summed over the selected parts.

    Within each part with at least two notes, every ordered pair (a, b) of notes, a = b
    included, whose ``|end_a - start_b| < time_thresh`` seconds adds 1 at
    ``[pitch_a % 12, pitch_b % 12]`` (``pretty_midi.PrettyMIDI.get_pitch_class_transition_
    matrix``). ``normalize``: 0 counts, 1 each non-zero row sums to 1, 2 the matrix sums to 1
    (all zeros stay zeros).

    Returns
    -------
    np.ndarray, shape (12, 12), float64
    """
    notes = _select_notes(score, part, need=1, what="pitch_class_transition_matrix")
    if not (math.isfinite(time_thresh) and time_thresh > 0):
        raise ParameterError(f"time_thresh {time_thresh} s must be > 0")
    m = np.zeros((12, 12))
    for k in np.unique(notes["part"]):
        sel = notes[notes["part"] == k]
        if len(sel) <= 1:
            continue
        src, dst = np.nonzero(np.abs(np.subtract.outer(sel["offset"], sel["onset"]))
                              < time_thresh)
        pc = sel["pitch"].astype(np.intp) % 12
        np.add.at(m, (pc[src], pc[dst]), 1.0)
    return _normalise_matrix(m, normalize)


def pitch_range(score: Score, *, part: int | None = None, fs: float = MGEVAL_FS) -> int:
    """Highest minus lowest pitch sounding in the piano roll, in semitones."""
    notes = _select_notes(score, part, need=1, what="pitch_range")
    active = _active_pitches(notes, fs, "pitch_range")
    return int(active[-1] - active[0])


def avg_pitch_shift(score: Score, *, part: int | None = None) -> float:
    """Mean absolute interval between consecutive notes (score order), in semitones."""
    notes = _select_notes(score, part, need=2, what="avg_pitch_shift")
    return float(np.mean(np.abs(np.diff(notes["pitch"].astype(np.float64)))))


def avg_IOI(score: Score, *, part: int | None = None) -> float:
    """Mean inter-onset interval in seconds (onsets sorted, chords giving 0 intervals)."""
    notes = _select_notes(score, part, need=2, what="avg_IOI")
    return float(np.mean(np.diff(np.sort(notes["onset"]))))


def note_length_hist(score: Score, *, part: int | None = None, normalize: bool = True,
                     pause_event: bool = False) -> NDArray[np.float64]:
    """Histogram of note-length classes (and rest classes with ``pause_event``).

    Returns
    -------
    np.ndarray, shape (12,) or (24,), float64
        Counts, or fractions summing to 1 with ``normalize=True`` (the default).
    """
    notes = _select_notes(score, part, need=1, what="note_length_hist")
    events = _length_events(score, notes, pause_event)
    size = _N_CLASSES * (2 if pause_event else 1)
    hist: NDArray[np.float64] = np.bincount(events, minlength=size).astype(np.float64)
    return hist / hist.sum() if normalize else hist


def note_length_transition_matrix(score: Score, *, part: int | None = None, normalize: int = 0,
                                  pause_event: bool = False) -> NDArray[np.float64]:
    """Counts of consecutive (previous, next) note-length classes (rest classes included
    with ``pause_event``); ``normalize`` as in :func:`pitch_class_transition_matrix`.

    Returns
    -------
    np.ndarray, shape (12, 12) or (24, 24), float64
    """
    notes = _select_notes(score, part, need=1, what="note_length_transition_matrix")
    events = _length_events(score, notes, pause_event)
    size = _N_CLASSES * (2 if pause_event else 1)
    m = np.zeros((size, size))
    np.add.at(m, (events[:-1], events[1:]), 1.0)
    return _normalise_matrix(m, normalize)


#: MGEval feature name -> function(score, *, part=None, **options), in MGEval's order.
FEATURES: dict[str, Callable[..., Any]] = {
    "total_used_pitch": total_used_pitch,
    "bar_used_pitch": bar_used_pitch,
    "total_used_note": total_used_note,
    "bar_used_note": bar_used_note,
    "total_pitch_class_histogram": total_pitch_class_histogram,
    "bar_pitch_class_histogram": bar_pitch_class_histogram,
    "pitch_class_transition_matrix": pitch_class_transition_matrix,
    "pitch_range": pitch_range,
    "avg_pitch_shift": avg_pitch_shift,
    "avg_IOI": avg_IOI,
    "note_length_hist": note_length_hist,
    "note_length_transition_matrix": note_length_transition_matrix,
}
#: Features whose shape depends on the number of bars (they take ``num_bar``).
BAR_FEATURES: tuple[str, ...] = ("bar_used_pitch", "bar_used_note", "bar_pitch_class_histogram")
#: Features that are one number per sample.
SCALAR_FEATURES: tuple[str, ...] = (
    "total_used_pitch", "total_used_note", "pitch_range", "avg_pitch_shift", "avg_IOI")


def _check_feature_names(names: Sequence[str] | None) -> list[str]:
    if names is None:
        return list(FEATURES)
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ParameterError(f"unknown MGEval feature(s) {', '.join(map(repr, unknown))}; "
                             f"choose from {', '.join(FEATURES)}")
    if not names:
        raise ParameterError("no features chosen; leave names out for all of them")
    return list(dict.fromkeys(names))


def _check_options(options: Mapping[str, Mapping[str, Any]] | None) -> None:
    for name, kw in (options or {}).items():
        if name not in FEATURES:
            raise ParameterError(f"options given for unknown feature {name!r}; choose from "
                                 f"{', '.join(FEATURES)}")
        params = inspect.signature(FEATURES[name]).parameters
        allowed = [p for p, v in params.items()
                   if v.kind is inspect.Parameter.KEYWORD_ONLY and p not in ("part", "num_bar")]
        bad = [k for k in kw if k not in allowed]
        if bad:
            raise ParameterError(f"{name} has no option {', '.join(map(repr, bad))}; its options "
                                 f"are {', '.join(allowed) or 'none'}")


def extract_features(
    score: Score,
    names: Sequence[str] | None = None,
    *,
    part: int | None = None,
    num_bar: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """MGEval features of one score.

    Parameters
    ----------
    score : Score
    names : list of str, optional
        Feature names (keys of :data:`FEATURES`); default all twelve.
    part : int, optional
        See the module docstring (default: all non-drum parts).
    num_bar : int, optional
        Number of bars of the per-bar features (default: from the score's length).
    options : dict, optional
        Per-feature keyword options, e.g. ``{"note_length_hist": {"pause_event": True}}``.

    Returns
    -------
    dict of str -> np.ndarray (float64)
        In the order of ``names``; scalar features as 0-d arrays.
    """
    chosen = _check_feature_names(names)
    _check_options(options)
    out: dict[str, NDArray[np.float64]] = {}
    for name in chosen:
        kw = dict((options or {}).get(name, {}))
        if name in BAR_FEATURES:
            kw["num_bar"] = num_bar
        out[name] = np.asarray(FEATURES[name](score, part=part, **kw), dtype=np.float64)
    return out


# --------------------------------------------------------------------------- distances, KDE


def _as_feature_set(features: ArrayLike, what: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be an array of equally shaped features: {exc}") from exc
    if arr.ndim == 0:
        raise InputError(f"{what} must hold one feature per sample along axis 0, got a scalar")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{what} holds NaN or infinite feature values")
    return arr.reshape(arr.shape[0], -1)


def _pairwise(a: NDArray[np.float64], b: NDArray[np.float64],
              distance: str) -> NDArray[np.float64]:
    """Distance from each row of ``a`` to each row of ``b``, shape (len(a), len(b))."""
    from scipy.spatial.distance import cdist

    if distance == "euclidean":
        return np.asarray(cdist(a, b, "euclidean"))
    if distance == "emd":
        # 1-D Wasserstein distance between the values of two vectors taken as equally weighted
        # samples: for samples of equal size, the mean absolute difference of sorted values.
        return np.asarray(cdist(np.sort(a, axis=1), np.sort(b, axis=1), "cityblock")) / a.shape[1]
    if distance == "kl":
        if np.any(a < 0) or np.any(b < 0):
            raise InputError("the 'kl' distance needs non-negative features (histograms)")
        if np.any(a.sum(axis=1) == 0):
            raise InputError("the 'kl' distance needs features that are not all zero")
        p = a / a.sum(axis=1, keepdims=True)
        q = np.where(b == 0, KL_DISTANCE_FLOOR, b)
        q = q / q.sum(axis=1, keepdims=True)
        plogp = np.sum(p * np.log(np.where(p > 0, p, 1.0)), axis=1)
        return np.asarray(plogp[:, None] - p @ np.log(q).T)
    raise ParameterError(f"unknown distance {distance!r}; use 'euclidean', 'emd' or 'kl'")


def intra_set_distances(features: ArrayLike, *,
                        distance: Distance = "euclidean") -> NDArray[np.float64]:
    """Distances from each sample to every other sample of its set (leave one out).

    Parameters
    ----------
    features : array_like, shape (n, ...)
        One feature (any shape) per sample.
    distance : {'euclidean', 'emd', 'kl'}
        Euclidean norm of the flattened difference; 1-D Wasserstein distance between the
        flattened vectors' values (``scipy.stats.wasserstein_distance``); or
        ``scipy.stats.entropy(x, y)`` with zeros of ``y`` replaced by 1e-8 (MGEval's modes).

    Returns
    -------
    np.ndarray, shape (n * (n - 1),), float64
        Sample 0 to samples 1..n-1, then sample 1 to samples 0, 2..n-1, and so on.
    """
    f = _as_feature_set(features, "features")
    if f.shape[0] < 2:
        raise InputError(f"intra-set distances need at least 2 samples, got {f.shape[0]}")
    d = _pairwise(f, f, distance)
    return d[~np.eye(len(f), dtype=bool)]


def inter_set_distances(set1_features: ArrayLike, set2_features: ArrayLike, *,
                        distance: Distance = "euclidean") -> NDArray[np.float64]:
    """Distances from each sample of set 1 to each sample of set 2, shape (n1 * n2,).

    Row-major: sample 0 of set 1 to every sample of set 2 first. ``distance`` as in
    :func:`intra_set_distances`.
    """
    validate_feature_sets(set1_features, set2_features, min_samples=1)
    a = _as_feature_set(set1_features, "set 1 features")
    b = _as_feature_set(set2_features, "set 2 features")
    return _pairwise(a, b, distance).ravel()


def _kde(values: ArrayLike, what: str) -> tuple[Any, NDArray[np.float64]]:
    from scipy import stats

    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2:
        raise InputError(f"{what}: a kernel density estimate needs at least 2 values, got "
                         f"{v.size}")
    if not np.all(np.isfinite(v)):
        raise InputError(f"{what} holds NaN or infinite values")
    if np.ptp(v) == 0:
        raise DegenerateDistributionError(
            f"{what}: all {v.size} distances equal {v[0]:g}, so their Gaussian KDE is singular "
            "(zero variance); use more or more varied samples (two samples per set always give "
            "equal intra-set distances), drop this feature, or pass on_degenerate='nan'"
        )
    try:
        return stats.gaussian_kde(v), v
    except np.linalg.LinAlgError as exc:
        raise DegenerateDistributionError(
            f"{what}: the Gaussian KDE of these distances is singular ({exc}); pass "
            "on_degenerate='nan' or drop this feature") from exc


def kl_divergence(intra: ArrayLike, inter: ArrayLike, *,
                  num_sample: int = KDE_NUM_SAMPLE) -> float:
    """MGEval's KL(intra || inter) between the KDEs of two distance collections.

    Each KDE (``scipy.stats.gaussian_kde``, Scott's bandwidth) is evaluated on ``num_sample``
    points spaced evenly from the minimum to the maximum of its own values; the two density
    vectors go to ``scipy.stats.entropy(p_intra, p_inter)``. May be ``inf`` when the second
    density underflows to 0.

    Raises
    ------
    DegenerateDistributionError
        A collection whose values are all equal.
    """
    from scipy import stats

    if int(num_sample) != num_sample or num_sample < 2:
        raise ParameterError(f"num_sample {num_sample} must be a whole number >= 2")
    kde_a, a = _kde(intra, "intra-set distances")
    kde_b, b = _kde(inter, "inter-set distances")
    p = kde_a(np.linspace(a.min(), a.max(), int(num_sample)))
    q = kde_b(np.linspace(b.min(), b.max(), int(num_sample)))
    return float(stats.entropy(p, q))


def overlap_area(intra: ArrayLike, inter: ArrayLike) -> float:
    """Area under ``min(pdf_intra, pdf_inter)`` of the two KDEs, from the smaller minimum to
    the larger maximum of the two collections (``scipy.integrate.quad``), in [0, 1].

    Raises
    ------
    DegenerateDistributionError
        A collection whose values are all equal.
    """
    from scipy import integrate

    kde_a, a = _kde(intra, "intra-set distances")
    kde_b, b = _kde(inter, "inter-set distances")
    pdf_a, pdf_b = _scalar_pdf(kde_a), _scalar_pdf(kde_b)
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    area, _ = integrate.quad(lambda x: min(pdf_a(x), pdf_b(x)), lo, hi)
    return float(area)


def _scalar_pdf(kde: Any) -> Callable[[float], float]:
    """A 1-D ``gaussian_kde`` as a fast scalar function (same sum of Gaussians).

    ``gaussian_kde.__call__`` costs a triangular solve per point, which dominates the many
    single-point calls of ``quad``; the values agree to rounding.
    """
    data = np.asarray(kde.dataset, dtype=np.float64)[0]
    h = math.sqrt(float(kde.covariance[0, 0]))
    weights = np.asarray(kde.weights, dtype=np.float64) / (h * math.sqrt(2 * math.pi))

    def pdf(x: float) -> float:
        z = (x - data) / h
        return float(weights @ np.exp(-0.5 * z * z))

    return pdf


# --------------------------------------------------------------------------- procedure


@dataclass(frozen=True)
class MGEvalResult:
    """The MGEval comparison of one feature between two sets.

    Attributes
    ----------
    feature : str
    set1_mean, set1_std, set2_mean, set2_std : np.ndarray
        Mean and (population) standard deviation over each set, of the feature's shape.
    set1_intra, set2_intra : np.ndarray, shape (n1 (n1 - 1),) and (n2 (n2 - 1),)
    inter : np.ndarray, shape (n1 n2,)
    set1_kl, set1_oa, set2_kl, set2_oa : float
        KL(intra || inter) and overlapping area for each set's intra-set distances against
        the inter-set distances; NaN only when ``on_degenerate='nan'`` was asked for.
    """

    feature: str
    set1_mean: NDArray[np.float64]
    set1_std: NDArray[np.float64]
    set2_mean: NDArray[np.float64]
    set2_std: NDArray[np.float64]
    set1_intra: NDArray[np.float64]
    set2_intra: NDArray[np.float64]
    inter: NDArray[np.float64]
    set1_kl: float
    set1_oa: float
    set2_kl: float
    set2_oa: float


def validate_feature_sets(set1_features: ArrayLike, set2_features: ArrayLike, *,
                          min_samples: int = 2) -> None:
    """Check two feature sets: numeric, finite, ``min_samples`` or more each, equal shapes.

    Raises
    ------
    InputError
        With the sizes or shapes that do not fit.
    """
    shapes = []
    for what, f in (("set 1", set1_features), ("set 2", set2_features)):
        try:
            arr = np.asarray(f, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{what} features must be equally shaped numbers (for per-bar "
                             f"features pass num_bar so every sample has as many bars): "
                             f"{exc}") from exc
        if arr.ndim == 0 or arr.shape[0] < min_samples:
            n = 0 if arr.ndim == 0 else arr.shape[0]
            raise InputError(f"{what} has {n} sample{'s' if n != 1 else ''}; MGEval needs at "
                             f"least {min_samples} per set")
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{what} features hold NaN or infinite values")
        shapes.append(arr.shape[1:])
    if shapes[0] != shapes[1]:
        raise InputError(f"feature shapes differ between the sets: {shapes[0]} vs {shapes[1]} "
                         "(for per-bar features pass the same num_bar to both)")


def _check_on_degenerate(on_degenerate: str) -> None:
    if on_degenerate not in ("raise", "nan"):
        raise ParameterError(f"on_degenerate {on_degenerate!r} must be 'raise' or 'nan'")


def _kl_oa(intra: NDArray[np.float64], inter: NDArray[np.float64], *, feature: str, which: str,
           num_sample: int, on_degenerate: str) -> tuple[float, float]:
    try:
        return (kl_divergence(intra, inter, num_sample=num_sample),
                overlap_area(intra, inter))
    except DegenerateDistributionError as exc:
        if on_degenerate == "nan":
            return math.nan, math.nan
        raise DegenerateDistributionError(f"feature {feature!r}, {which}: {exc}") from exc


def mgeval_compare(
    set1_features: ArrayLike,
    set2_features: ArrayLike,
    *,
    feature: str = "feature",
    distance: Distance = "euclidean",
    num_sample: int = KDE_NUM_SAMPLE,
    on_degenerate: OnDegenerate = "raise",
) -> MGEvalResult:
    """MGEval's comparison of two sets of one feature.

    Parameters
    ----------
    set1_features, set2_features : array_like, shape (n1, ...) and (n2, ...)
        One feature per sample (set 1 is usually the generated set), n1, n2 >= 2.
    feature : str
        Name used in the result and in error messages.
    distance : {'euclidean', 'emd', 'kl'}
        Sample distance (see :func:`intra_set_distances`).
    num_sample : int
        Grid size of the KL divergence.
    on_degenerate : {'raise', 'nan'}
        What a collection of equal distances gives: :class:`DegenerateDistributionError`, or
        NaN for that KL divergence and overlapping area.

    Returns
    -------
    MGEvalResult
    """
    validate_feature_sets(set1_features, set2_features)
    _check_on_degenerate(on_degenerate)
    a = np.asarray(set1_features, dtype=np.float64)
    b = np.asarray(set2_features, dtype=np.float64)
    intra1 = intra_set_distances(a, distance=distance)
    intra2 = intra_set_distances(b, distance=distance)
    inter = inter_set_distances(a, b, distance=distance)
    kw: dict[str, Any] = {"feature": feature, "num_sample": num_sample,
                          "on_degenerate": on_degenerate}
    kl1, oa1 = _kl_oa(intra1, inter, which="set 1 intra vs inter", **kw)
    kl2, oa2 = _kl_oa(intra2, inter, which="set 2 intra vs inter", **kw)
    return MGEvalResult(
        feature=feature,
        set1_mean=a.mean(axis=0), set1_std=a.std(axis=0),
        set2_mean=b.mean(axis=0), set2_std=b.std(axis=0),
        set1_intra=intra1, set2_intra=intra2, inter=inter,
        set1_kl=kl1, set1_oa=oa1, set2_kl=kl2, set2_oa=oa2,
    )


def validate(generated: Sequence[Score], reference: Sequence[Score]) -> None:
    """Check two sets of scores for MGEval: lists of :class:`Score`, at least 2 each.

    Raises
    ------
    InputError
        A set that is not a list of Scores or holds fewer than 2.
    """
    for what, scores in (("generated", generated), ("reference", reference)):
        if not isinstance(scores, Sequence) or isinstance(scores, str | bytes):
            raise InputError(f"the {what} set must be a list of Scores, got "
                             f"{type(scores).__name__}")
        if len(scores) < 2:
            raise InputError(f"the {what} set holds {len(scores)} score"
                             f"{'s' if len(scores) != 1 else ''}; MGEval needs at least 2 per "
                             "set (3 or more for a non-degenerate intra-set distribution)")
        for i, s in enumerate(scores):
            if not isinstance(s, Score):
                raise InputError(f"{what} item {i} is a {type(s).__name__}, not a Score; read "
                                 "files with mirkit.io.symbolic.read_score")


def _score_context(what: str, i: int, fn: Callable[..., Any], score: Score,
                   **kw: Any) -> Any:
    """Call ``fn(score, **kw)`` and name the sample in an InputError."""
    try:
        return fn(score, **kw)
    except InputError as exc:
        raise InputError(f"{what} sample {i}: {exc}") from exc


def _default_features(features: Sequence[str] | None, num_bar: int | None) -> list[str]:
    if features is None:
        return [n for n in FEATURES if num_bar is not None or n not in BAR_FEATURES]
    return _check_feature_names(features)


def mgeval(
    set1: Sequence[Score],
    set2: Sequence[Score],
    *,
    features: Sequence[str] | None = None,
    distance: Distance = "euclidean",
    part: int | None = None,
    num_bar: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    num_sample: int = KDE_NUM_SAMPLE,
    on_degenerate: OnDegenerate = "raise",
) -> dict[str, MGEvalResult]:
    """Extract MGEval features of two sets of scores and compare them feature by feature.

    Parameters
    ----------
    set1, set2 : list of Score
        At least 2 each (set 1 is usually the generated set, set 2 the reference).
    features : list of str, optional
        Default: every feature, the per-bar ones only when ``num_bar`` is given (as MGEval's
        command line; per-bar features of pieces with different lengths cannot be compared).
    distance, num_sample, on_degenerate
        See :func:`mgeval_compare`.
    part, num_bar, options
        See :func:`extract_features`.

    Returns
    -------
    dict of str -> MGEvalResult
        In feature order.
    """
    validate(set1, set2)
    chosen = _default_features(features, num_bar)
    _check_options(options)
    _check_on_degenerate(on_degenerate)
    kw: dict[str, Any] = {"names": chosen, "part": part, "num_bar": num_bar, "options": options}
    f1 = [_score_context("set 1", i, extract_features, s, **kw) for i, s in enumerate(set1)]
    f2 = [_score_context("set 2", i, extract_features, s, **kw) for i, s in enumerate(set2)]
    out: dict[str, MGEvalResult] = {}
    for name in chosen:
        a, b = [f[name] for f in f1], [f[name] for f in f2]
        shapes = {x.shape for x in a + b}
        if len(shapes) > 1:
            raise InputError(f"feature {name!r} has different shapes across samples "
                             f"{sorted(shapes)}; pass num_bar so every sample has as many bars")
        out[name] = mgeval_compare(np.stack(a), np.stack(b), feature=name, distance=distance,
                                   num_sample=num_sample, on_degenerate=on_degenerate)
    return out


def evaluate(
    generated: Sequence[Score],
    reference: Sequence[Score],
    *,
    features: Sequence[str] | None = None,
    distance: Distance = "euclidean",
    part: int | None = None,
    num_bar: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    num_sample: int = KDE_NUM_SAMPLE,
    on_degenerate: OnDegenerate = "raise",
    bleu: bool = False,
) -> dict[str, float]:
    """MGEval of a generated set against a reference set (and optionally BLEU streams).

    Parameters
    ----------
    generated, reference : list of Score
        At least 2 each; with ``bleu=True`` as many of each, ``generated[i]`` paired with
        ``reference[i]``.
    bleu : bool
        Add ``"BLEU pitch"`` and ``"BLEU duration"`` (:func:`bleu_streams`, BLEU-4).
    features, distance, part, num_bar, options, num_sample, on_degenerate
        See :func:`mgeval`.

    Returns
    -------
    dict of str -> float
        Per feature, in order: for scalar features ``"<f> mean (generated)"``,
        ``"<f> std (generated)"``, ``"<f> mean (reference)"``, ``"<f> std (reference)"``;
        for every feature ``"<f> KL (generated)"`` (KL(generated intra || inter)),
        ``"<f> OA (generated)"``, ``"<f> KL (reference)"``, ``"<f> OA (reference)"``. Then
        the BLEU entries when asked for.
    """
    validate(generated, reference)
    if bleu and len(generated) != len(reference):
        raise InputError(f"bleu=True pairs generated[i] with reference[i], but there are "
                         f"{len(generated)} generated and {len(reference)} reference scores")
    results = mgeval(generated, reference, features=features, distance=distance, part=part,
                     num_bar=num_bar, options=options, num_sample=num_sample,
                     on_degenerate=on_degenerate)
    out: dict[str, float] = {}
    for name, r in results.items():
        if r.set1_mean.size == 1 and name in SCALAR_FEATURES:
            out[f"{name} mean (generated)"] = float(r.set1_mean)
            out[f"{name} std (generated)"] = float(r.set1_std)
            out[f"{name} mean (reference)"] = float(r.set2_mean)
            out[f"{name} std (reference)"] = float(r.set2_std)
        out[f"{name} KL (generated)"] = r.set1_kl
        out[f"{name} OA (generated)"] = r.set1_oa
        out[f"{name} KL (reference)"] = r.set2_kl
        out[f"{name} OA (reference)"] = r.set2_oa
    if bleu:
        out.update(bleu_streams(list(reference), generated, part=part))
    return out
