"""Training recipe of the inpainting family (``mirkit train inpaint``).

One model (:class:`~mirkit.models.inpaint.InpaintNet`) holds three networks, trained in
three **stages**, each one run of ``mirkit train inpaint`` whose checkpoint the next stage
starts from (``init``); the finished checkpoint holds all three, plus the vocabulary range,
the meters, the window and the largest gap::

    stage: vae           # MeasureVAE: reconstruct single measures
    stage: latent-rnn    # LatentRNN, the VAE frozen (init: the vae run's best.pt)
    stage: anticipation  # Anticipation-RNN baseline, the rest frozen (init: the latent-rnn run)

Data: ABC, MusicXML, kern and MIDI tunes under ``--data`` plus the music21 folk collections
named in ``data.corpora`` (:func:`mirkit.data.melodies.load_melodies`), kept when their meter
is one of the model's (``model.meters``, 4/4 and 2/2 by default, which share the 24-token
bar) and converted to measure tokens (:func:`mirkit.features.tokens.melody_to_measures`).
Tunes that cannot be represented (off the tick grid, a range wider than the vocabulary,
fewer bars than ``max_gap + 2``) are skipped and counted. Tunes are split by id
(:func:`mirkit.data.melodies.split_of`, 80/10/10), so every transposition and window of a
tune stays in its split.

The stochastic training procedure (the paper's): each training item is a window of
``model.window`` (16) measures of a tune drawn with probability proportional to its number
of bars, transposed by a shift drawn uniformly from those that keep it inside the vocabulary
range (55-84, the paper's augmentation). Per batch, a gap length ``gap`` is drawn uniformly
from ``[data.min_gap, data.max_gap]`` (2-6) and a past-context length uniformly from
``[1, window - gap - 1]``; the future context is the rest of the window (>= 1 measure). Each
item places the gap uniformly among its tune's bars, so the gap is always music; context
reaching past the tune's ends is START / END padding measures. Item ``i`` depends only on
``(seed, i)`` and the batch's gap and past come from its first item, so the trainer's exact
resume holds.

Losses: ``vae``: token cross-entropy of every measure of the batch's windows plus
``beta`` x KL (the paper's 0.001), the decoder fed its own previous tokens instead of the
true ones for the whole batch with probability ``1 - teacher_forcing``. ``latent-rnn``:
token cross-entropy of the gap's measures decoded by the frozen decoder from the predicted
latents; the LatentRNN's input is the true previous latent with probability
``teacher_forcing`` (one draw per batch, the paper's), otherwise its own output (the
decoded measure re-encoded, as in the paper); the decoder feeds back its own arg-max tokens
(the paper's, ``decoder_teacher_forcing`` 0) or, with probability
``decoder_teacher_forcing`` per batch, the true ones; the context latents are drawn from the
frozen encoder's posterior (``context_noise`` scales the draw).
``anticipation``: token cross-entropy of the gap (teacher forced).

Validation (``nll`` picks ``best.pt``): fixed windows of the ``valid`` split (untransposed,
``val_windows`` per tune and gap length of ``val_gaps``). ``vae``: the reconstruction of
up to ``val_measures`` measures from the posterior mean: teacher-forced ``nll`` and ``acc``,
and ``free_acc`` (decoded without the true tokens). Other stages: :func:`gap_metrics`, the
objective test of ``benchmarks/inpaint_eval.py``: ``nll`` and ``acc``, the cross-entropy per
token (nats) and accuracy of the model's own arg-max inpainting (the paper's test), and
``tf_nll``, ``tf_acc``, the teacher-forced likelihood of the gap.

Configuration (one JSON/YAML mapping)::

    stage: vae                         # vae | latent-rnn | anticipation
    init: runs/inpaint-vae/best.pt     # required by latent-rnn and anticipation
    model: {vocab: {low: 55, high: 84}, meters: [[4, 4], [2, 2]], window: 16, max_gap: 6,
            vae: {...}, latent_rnn: {...}, anticipation: {...}}   # see models.inpaint
    data:  {corpora: [oneills, ryans], cache: runs/melody-cache, min_gap: 2, ...}
    train: {max_steps: 3000, batch_size: 16, ...}                # TrainConfig

With ``init``, the model config is the init checkpoint's; the ``model`` section may change
only the network this stage trains.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mirkit.errors import InputError, ModelError, ParameterError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from mirkit.data.melodies import Melody
    from mirkit.models.inpaint import InpaintNet

#: Top-level keys of an inpainting training config.
SECTIONS = ("stage", "init", "model", "data", "train")
#: Training stages, and the network of :class:`~mirkit.models.inpaint.InpaintNet` each trains.
STAGES: dict[str, str] = {"vae": "vae", "latent-rnn": "latent_rnn",
                          "anticipation": "anticipation"}
#: Trainer defaults of the recipe, per stage (the config's ``train`` section overrides them).
_COMMON_TRAIN: dict[str, Any] = {
    "optimizer": "adam", "lr": 1e-3, "grad_clip": 5.0, "schedule": "cosine",
    "warmup_steps": 100, "eval_every": 250, "checkpoint_every": 250, "log_every": 25,
    "num_workers": 0, "early_stopping": {"metric": "nll", "mode": "min", "patience": None},
}
DEFAULT_TRAIN: dict[str, dict[str, Any]] = {
    "vae": {**_COMMON_TRAIN, "max_steps": 3000, "batch_size": 16},
    "latent-rnn": {**_COMMON_TRAIN, "max_steps": 3000, "batch_size": 32},
    "anticipation": {**_COMMON_TRAIN, "max_steps": 3000, "batch_size": 32},
}
#: Number of training items the sampler permutes; each index is its own random window.
VIRTUAL_ITEMS = 1_000_000
#: Gap lengths of the objective test (the paper's range, and the benchmark's).
EVAL_GAPS = (2, 4, 6)


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """The ``data`` section (defaults in brackets).

    Attributes
    ----------
    corpora : list of str
        music21 collections added to ``--data`` (``essen``, ``oneills``, ``airds``,
        ``ryans``) [none].
    cache : str or None
        Folder for :func:`~mirkit.data.melodies.load_melodies`'s parse cache (relative to
        the working directory) [none].
    transpose : bool
        Transpose each item by a random shift inside the vocabulary range [True].
    min_gap, max_gap : int
        Range of the gap length drawn per batch [2; the model's max_gap].
    teacher_forcing : float
        Probability per batch of feeding true tokens (vae) / true latents (latent-rnn)
        [0.5].
    decoder_teacher_forcing : float
        Stage latent-rnn: probability per batch that the frozen decoder is fed the true
        previous tokens; otherwise it feeds back its own arg-max tokens, as in the paper
        [0.0].
    beta : float
        Weight of the KL term of the VAE loss [0.001].
    context_noise : float
        Scale of the posterior draw of the context latents in stage latent-rnn [1.0].
    val_windows : int
        Validation windows per tune and gap length [3].
    val_gaps : list of int
        Gap lengths of the validation windows [2, 4, 6].
    val_measures : int
        Most measures the vae stage validates on [2000].
    train_split, val_split : str
        ["train", "valid"].
    """

    corpora: tuple[str, ...] = ()
    cache: str | None = None
    transpose: bool = True
    min_gap: int = 2
    max_gap: int | None = None
    teacher_forcing: float = 0.5
    decoder_teacher_forcing: float = 0.0
    beta: float = 0.001
    context_noise: float = 1.0
    val_windows: int = 3
    val_gaps: tuple[int, ...] = EVAL_GAPS
    val_measures: int = 2000
    train_split: str = "train"
    val_split: str = "valid"

    def __post_init__(self) -> None:
        from mirkit.data.synth import CORPORA

        def bad(name: str, value: Any, want: str) -> ParameterError:
            return ParameterError(f"data.{name} = {value!r}: {want}")

        corpora = self.corpora
        if isinstance(corpora, str) or not isinstance(corpora, Sequence):
            raise bad("corpora", corpora, f"give a list of names from {', '.join(CORPORA)}")
        unknown = [c for c in corpora if c not in CORPORA]
        if unknown:
            raise bad("corpora", list(corpora), f"unknown {', '.join(map(str, unknown))}; "
                                                f"choose from {', '.join(CORPORA)}")
        object.__setattr__(self, "corpora", tuple(corpora))
        if self.cache is not None and not isinstance(self.cache, str):
            raise bad("cache", self.cache, "give a folder path or null")
        if not isinstance(self.transpose, bool):
            raise bad("transpose", self.transpose, "give true or false")
        for name in ("min_gap", "val_windows", "val_measures"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(name, v, "give a whole number >= 1")
        if self.max_gap is not None and (isinstance(self.max_gap, bool)
                                         or not isinstance(self.max_gap, int)
                                         or self.max_gap < self.min_gap):
            raise bad("max_gap", self.max_gap, f"give a whole number >= min_gap "
                                               f"({self.min_gap}) or null")
        for name, high in (("teacher_forcing", 1.0), ("decoder_teacher_forcing", 1.0),
                           ("beta", 1e6), ("context_noise", 10.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= high:
                raise bad(name, v, f"give a number in [0, {high:g}]")
            object.__setattr__(self, name, float(v))
        gaps = self.val_gaps
        if (isinstance(gaps, str) or not isinstance(gaps, Sequence) or not gaps
                or not all(isinstance(g, int) and not isinstance(g, bool) and g >= 1
                           for g in gaps)):
            raise bad("val_gaps", gaps, "give a list of gap lengths, e.g. [2, 4, 6]")
        object.__setattr__(self, "val_gaps", tuple(int(g) for g in gaps))
        for name in ("train_split", "val_split"):
            if getattr(self, name) not in ("train", "valid", "test"):
                raise bad(name, getattr(self, name), "give train, valid or test")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> DataOptions:
        values = dict(mapping or {})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(f"unknown data option(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(known)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["corpora"], out["val_gaps"] = list(self.corpora), list(self.val_gaps)
        return out


@dataclasses.dataclass(frozen=True)
class RecipeConfig:
    """A whole inpainting training config, checked.

    ``model`` holds only the keys the config gives (the defaults, or the init checkpoint's
    config, fill the rest when training starts).
    """

    stage: str
    init: str | None
    model: dict[str, Any]
    data: DataOptions
    train: dict[str, Any]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> RecipeConfig:
        from mirkit.models.inpaint import normalise_config
        from mirkit.train.trainer import TrainConfig

        values = dict(mapping or {})
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise ParameterError(f"unknown config key(s) {', '.join(unknown)}; an inpaint "
                                 f"config has {', '.join(SECTIONS)}")
        stage = values.get("stage", "vae")
        if stage not in STAGES:
            raise ParameterError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
        init = values.get("init")
        if init is not None and not isinstance(init, str):
            raise ParameterError(f"init {init!r}: give the path of a checkpoint")
        if stage != "vae" and init is None:
            raise ParameterError(f"stage {stage} needs 'init: PATH', the checkpoint of the "
                                 f"previous stage (e.g. runs/inpaint-vae/best.pt)")
        for section in ("model", "data", "train"):
            if values.get(section) is not None and not isinstance(values[section], Mapping):
                raise ParameterError(f"config section {section!r} must be a mapping")
        model = copy.deepcopy(dict(values.get("model") or {}))
        normalise_config(model)                      # check it now, with its messages
        train = {**DEFAULT_TRAIN[stage], **dict(values.get("train") or {})}
        TrainConfig.from_mapping(train)
        return cls(stage=stage, init=init, model=model,
                   data=DataOptions.from_mapping(values.get("data")), train=train)

    @classmethod
    def from_file(cls, path: str | Path | None) -> RecipeConfig:
        if path is None:
            return cls.from_mapping({})
        from mirkit.train.trainer import read_config_file

        try:
            return cls.from_mapping(read_config_file(path))
        except ParameterError as exc:
            raise ParameterError(f"'{path}': {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "init": self.init, "model": self.model,
                "data": self.data.to_dict(), "train": self.train}


# --------------------------------------------------------------------------- corpus


@dataclasses.dataclass(frozen=True)
class TuneTokens:
    """Measure tokens of one tune, in a key inside the vocabulary range.

    Attributes
    ----------
    id : str
    tokens : np.ndarray, shape (n_bars, ticks_per_bar), int64
    shifts : tuple of int
        Transpositions of ``tokens`` that stay inside the vocabulary range (0 included).
    """

    id: str
    tokens: NDArray[np.int64]
    shifts: tuple[int, ...]

    @property
    def n_bars(self) -> int:
        return int(self.tokens.shape[0])

    def transposed(self, shift: int) -> NDArray[np.int64]:
        """The tokens ``shift`` semitones higher (pitch ids only)."""
        from mirkit.features.tokens import SPECIAL_TOKENS

        if shift == 0:
            return self.tokens
        t = self.tokens
        return np.where(t >= len(SPECIAL_TOKENS), t + shift, t).astype(np.int64)


@dataclasses.dataclass
class Corpus:
    """Tokenised tunes by split and what was left out.

    Attributes
    ----------
    tunes : dict of str -> list of TuneTokens
    skipped : Counter
        Reasons of the tunes left out (the loader's rejections included).
    meters : Counter
        Meters of the kept tunes.
    """

    tunes: dict[str, list[TuneTokens]]
    skipped: Counter[str]
    meters: Counter[str]


def tune_tokens(melody: Melody, *, low: int, high: int) -> TuneTokens:
    """:class:`TuneTokens` of ``melody`` in the key closest to the written one that fits
    ``[low, high]``; :class:`InputError` when none does or it is off the grid."""
    from mirkit.data.melodies import transpositions
    from mirkit.features.tokens import MeasureVocab, melody_to_measures

    shifts = transpositions(melody, low, high)
    if not shifts:
        lo, hi = melody.pitch_range()
        raise InputError(f"melody {melody.id!r}: its range {lo}-{hi} is wider than the "
                         f"vocabulary range {low}-{high}")
    base = min(shifts, key=abs)
    tokens = melody_to_measures(melody.transpose(base), MeasureVocab(low, high))
    return TuneTokens(id=melody.id, tokens=tokens, shifts=tuple(s - base for s in shifts))


def load_corpus(data: str | Path | None, options: DataOptions, model_config: Mapping[str, Any],
                *, splits: Sequence[str] = ("train", "valid", "test")) -> Corpus:
    """Read, filter and tokenise every tune of ``data`` (and ``options.corpora``).

    Raises
    ------
    InputError
        Nothing readable.
    """
    from mirkit.data.melodies import load_melodies, split_of

    low, high = model_config["vocab"]["low"], model_config["vocab"]["high"]
    meters = [tuple(m) for m in model_config["meters"]]
    sources = ([str(data)] if data is not None else []) + list(options.corpora)
    melodies = load_melodies(sources, meters=meters, cache=options.cache)
    skipped: Counter[str] = melodies.counts()
    tunes: dict[str, list[TuneTokens]] = {s: [] for s in splits}
    kept: Counter[str] = Counter()
    min_bars = int(model_config["max_gap"]) + 2
    for m in melodies:
        split = split_of(m.id)
        if split not in tunes:
            continue
        try:
            tune = tune_tokens(m, low=low, high=high)
        except (InputError, ParameterError) as exc:
            skipped["range" if "range" in str(exc) else "off-grid"] += 1
            continue
        if tune.n_bars < min_bars:
            skipped["too short"] += 1
            continue
        tunes[split].append(tune)
        kept[f"{m.meter[0]}/{m.meter[1]}"] += 1
    return Corpus(tunes=tunes, skipped=skipped, meters=kept)


# --------------------------------------------------------------------------- windows


def window_at(tokens: NDArray[np.int64], start: int, gap: int, past: int, window: int
              ) -> NDArray[np.int64]:
    """The ``window`` measures around a gap at bars ``start .. start+gap-1`` with ``past``
    measures before it; START / END padding measures outside the tune.

    Returns
    -------
    np.ndarray, shape (window, ticks_per_bar), int64
    """
    from mirkit.features.tokens import pad_measures

    first = start - past
    before = max(0, -first)
    after = max(0, first + window - tokens.shape[0])
    padded = pad_measures(tokens, before, after)
    return padded[first + before:first + before + window]


class WindowItems:
    """Map-style training items: a random tune, key and gap placement per index.

    Item ``i`` depends only on ``(seed, i)``: ``{"tokens": (n_bars, T) int64, "gap",
    "past", "u"}``; :func:`collate` turns a list of them into a batch of windows.
    """

    def __init__(self, tunes: Sequence[TuneTokens], *, seed: int, window: int, min_gap: int,
                 max_gap: int, transpose: bool) -> None:
        if not tunes:
            raise InputError("the training split holds no tune; give more data")
        self.tunes, self.seed, self.window = list(tunes), int(seed), int(window)
        self.min_gap, self.max_gap, self.transpose = int(min_gap), int(max_gap), transpose
        sizes = np.array([t.n_bars for t in self.tunes], dtype=np.float64)
        self.cumulative = np.cumsum(sizes / sizes.sum())

    def __len__(self) -> int:
        return VIRTUAL_ITEMS

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < VIRTUAL_ITEMS:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, 1, int(index)])
        k = min(int(np.searchsorted(self.cumulative, rng.random(), side="right")),
                len(self.tunes) - 1)
        tune = self.tunes[k]
        shift = int(rng.choice(tune.shifts)) if self.transpose else 0
        gap = int(rng.integers(self.min_gap, self.max_gap + 1))
        past = int(rng.integers(1, self.window - gap))
        return {"tokens": tune.transposed(shift), "gap": gap, "past": past,
                "u": float(rng.random()), "window": self.window}


def collate(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A batch ``{"windows": (B, window, T) int64 tensor, "past": int, "gap": int}``: the
    first item's gap and past for all, each item's gap placed at ``u`` of its tune."""
    import torch

    gap, past, window = int(items[0]["gap"]), int(items[0]["past"]), int(items[0]["window"])
    rows = []
    for it in items:
        tokens = it["tokens"]
        g = min(gap, tokens.shape[0])
        start = min(int(it["u"] * (tokens.shape[0] - g + 1)), tokens.shape[0] - g)
        rows.append(window_at(tokens, start, gap, past, window))
    return {"windows": torch.as_tensor(np.stack(rows)), "past": past, "gap": gap}


@dataclasses.dataclass(frozen=True)
class EvalWindow:
    """One fixed test or validation window: tune ``id``, gap bars ``start .. start+gap-1``,
    ``past`` context measures, the ``tokens`` ``(window, T)``."""

    id: str
    start: int
    gap: int
    past: int
    tokens: NDArray[np.int64]


def eval_windows(tunes: Sequence[TuneTokens], *, gaps: Sequence[int], per_tune: int,
                 window: int, seed: int) -> list[EvalWindow]:
    """Deterministic windows: for each tune and gap length, ``per_tune`` gap placements and
    past lengths drawn like the training ones from ``(seed, tune index, gap)``; untransposed.
    """
    out = []
    for i, tune in enumerate(tunes):
        for gap in gaps:
            if gap > window - 2 or gap > tune.n_bars:
                continue
            rng = np.random.default_rng([int(seed), 3, i, int(gap)])
            for _ in range(per_tune):
                start = int(rng.integers(0, tune.n_bars - gap + 1))
                past = int(rng.integers(1, window - gap))
                out.append(EvalWindow(tune.id, start, gap, past,
                                      window_at(tune.tokens, start, gap, past, window)))
    return out


def _groups(windows: Sequence[EvalWindow], batch_size: int
            ) -> list[tuple[int, int, list[int]]]:
    """Batches of window indices that share ``past`` and ``gap``."""
    by_key: dict[tuple[int, int], list[int]] = {}
    for i, w in enumerate(windows):
        by_key.setdefault((w.past, w.gap), []).append(i)
    out = []
    for (past, gap), ws in sorted(by_key.items()):
        for i in range(0, len(ws), batch_size):
            out.append((past, gap, ws[i:i + batch_size]))
    return out


#: Scoring modes of :func:`gap_metrics`.
GAP_MODES = ("inpaint", "likelihood")


def gap_scores(model: InpaintNet, windows: Sequence[EvalWindow], method: str, *,
               mode: str = "inpaint", eps: float | None = None, batch_size: int = 64,
               device: torch.device | str | None = None) -> dict[str, NDArray[np.float64]]:
    """Per-window scores of :func:`gap_metrics`: arrays ``nll`` (summed over the gap's
    tokens, nats), ``correct`` and ``tokens``, in the order of ``windows`` (for paired
    comparisons and bootstraps over tunes)."""
    import torch

    from mirkit.models.inpaint import repeat_log_probs, repeat_nearest

    if mode not in GAP_MODES:
        raise ParameterError(f"mode {mode!r} is not one of {', '.join(GAP_MODES)}")
    if method == "repeat" and eps is None:
        raise ParameterError("the repeat baseline needs eps (chosen on validation windows)")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    out = {k: np.zeros(len(windows)) for k in ("nll", "correct", "tokens")}
    with torch.no_grad():
        for past, gap, rows in _groups(windows, batch_size):
            x = torch.as_tensor(np.stack([windows[i].tokens for i in rows])).to(dev)
            truth = x[:, past:past + gap]
            if method == "repeat":
                lp = repeat_log_probs(x, past, gap, vocab_size=model.vocab_size,
                                      eps=float(eps))  # type: ignore[arg-type]
                chosen = repeat_nearest(x, past, gap)
            elif mode == "inpaint":
                lp, chosen = model.inpaint_logits(method, x, past, gap)
            else:
                lp = model.gap_logits(method, x, past, gap)
                chosen = lp.argmax(-1)
            nll = -lp.gather(-1, truth[..., None])[..., 0].double().flatten(1).sum(1)
            correct = (chosen == truth).flatten(1).sum(1)
            out["nll"][rows] = nll.cpu().numpy()
            out["correct"][rows] = correct.cpu().numpy()
            out["tokens"][rows] = truth[0].numel()
    return out


def gap_metrics(model: InpaintNet, windows: Sequence[EvalWindow], method: str, *,
                mode: str = "inpaint", eps: float | None = None, batch_size: int = 64,
                device: torch.device | str | None = None) -> dict[str, float]:
    """The objective test: cross-entropy per token (nats) and token accuracy of the gap.

    ``mode="inpaint"`` (the paper's test, as its testers compute it): each model fills the
    gap from the context alone, feeding back its own arg-max choices
    (:meth:`~mirkit.models.inpaint.InpaintNet.inpaint_logits`); ``nll`` is the
    cross-entropy of the probabilities it gave along the way against the true tokens and
    ``acc`` the share of inpainted tokens that are right.
    ``mode="likelihood"``: the model's chain-rule likelihood of the true tokens given the
    context and the true earlier tokens of the gap (teacher forced); ``acc`` counts the
    arg-max of each factor.
    ``repeat`` (both modes): ``1 - eps`` on the copied token plus ``eps`` spread uniformly.

    Returns
    -------
    dict
        ``nll``, ``acc`` and ``tokens`` (the number scored).
    """
    scores = gap_scores(model, windows, method, mode=mode, eps=eps, batch_size=batch_size,
                        device=device)
    count = float(scores["tokens"].sum())
    if count == 0:
        raise InputError("no windows to evaluate: the split holds no usable tune")
    return {"nll": float(scores["nll"].sum()) / count,
            "acc": float(scores["correct"].sum()) / count, "tokens": count}


def repeat_accuracy(windows: Sequence[EvalWindow]) -> float:
    """Share of gap tokens the repeat baseline copies right."""
    from mirkit.models.inpaint import nearest_context

    correct = total = 0
    for w in windows:
        copied = w.tokens[nearest_context(w.past, w.gap, w.tokens.shape[0])]
        truth = w.tokens[w.past:w.past + w.gap]
        correct += int((copied == truth).sum())
        total += truth.size
    return correct / max(total, 1)


def repeat_eps(windows: Sequence[EvalWindow], vocab_size: int) -> float:
    """The ``eps`` of the repeat baseline that maximises its likelihood on ``windows``.

    With accuracy ``a``, the copied token gets ``1 - eps + eps / V`` and the others
    ``eps / V``; the likelihood peaks where ``1 - eps + eps / V = a``, i.e.
    ``eps = (1 - a) V / (V - 1)`` (kept inside ``[1e-4, 1 - 1e-4]``).
    """
    a = repeat_accuracy(windows)
    eps = (1.0 - a) * vocab_size / (vocab_size - 1)
    return float(min(max(eps, 1e-4), 1.0 - 1e-4))


# --------------------------------------------------------------------------- loss / eval


def make_loss_fn(stage: str, options: DataOptions) -> Any:
    """``loss_fn(model, batch)`` for the trainer (see the module docstring)."""
    from torch.nn import functional as F

    from mirkit.models.inpaint import kl_divergence

    def loss_fn(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Any]:
        out = model(batch["windows"], int(batch["past"]), int(batch["gap"]), stage=stage,
                    teacher_forcing=options.teacher_forcing, noise=options.context_noise,
                    decoder_teacher_forcing=options.decoder_teacher_forcing)
        logits = out["logits"]
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                             out["targets"].reshape(-1))
        if stage != "vae":
            return {"loss": ce}
        kl = kl_divergence(out["mean"].float(), out["logvar"].float())
        return {"loss": ce + options.beta * kl, "ce": ce, "kl": kl}

    return loss_fn


def vae_measures(windows: Sequence[EvalWindow], limit: int) -> NDArray[np.int64]:
    """Distinct music measures (no padding) of ``windows``, at most ``limit``, in order."""
    from mirkit.features.tokens import END, START

    seen: set[bytes] = set()
    rows = []
    for w in windows:
        for row in w.tokens:
            if np.all((row == START) | (row == END)):
                continue
            key = row.tobytes()
            if key not in seen:
                seen.add(key)
                rows.append(row)
            if len(rows) >= limit:
                return np.stack(rows)
    if not rows:
        raise InputError("no validation measures: the validation split holds no usable tune")
    return np.stack(rows)


def vae_metrics(model: InpaintNet, measures: NDArray[np.int64], *, batch_size: int = 256
                ) -> dict[str, float]:
    """Reconstruction from the posterior mean: teacher-forced ``nll`` (nats per token) and
    ``acc``, ``free_acc`` of the arg-max decoding, and the mean ``kl``."""
    import torch

    from mirkit.models.inpaint import kl_divergence, token_scores

    dev = next(model.parameters()).device
    nll, correct, free, count, kl = 0.0, 0, 0, 0, 0.0
    with torch.no_grad():
        for i in range(0, len(measures), batch_size):
            x = torch.as_tensor(measures[i:i + batch_size]).to(dev)
            mean, logvar = model.vae.encode(x)
            logits, _ = model.vae.decode(mean, x)
            n, c, k = token_scores(torch.log_softmax(logits.float(), -1), x)
            _, tokens = model.vae.decode(mean, teacher_forcing=False)
            nll, correct, count = nll + n, correct + c, count + k
            free += int((tokens == x).sum())
            kl += float(kl_divergence(mean, logvar)) * len(x)
    return {"nll": nll / count, "acc": correct / count, "free_acc": free / count,
            "kl": kl / len(measures)}


def make_eval_fn(stage: str, windows: Sequence[EvalWindow], options: DataOptions) -> Any:
    """``eval_fn(model, _)`` for the trainer: :func:`vae_metrics` or :func:`gap_metrics`."""
    measures = vae_measures(windows, options.val_measures) if stage == "vae" else None

    def eval_fn(model: nn.Module, _: Any) -> dict[str, float]:
        if measures is not None:
            return vae_metrics(model, measures)  # type: ignore[arg-type]
        out = gap_metrics(model, windows, stage, mode="inpaint")  # type: ignore[arg-type]
        tf = gap_metrics(model, windows, stage, mode="likelihood")  # type: ignore[arg-type]
        return {"nll": out["nll"], "acc": out["acc"], "tf_nll": tf["nll"], "tf_acc": tf["acc"]}

    return eval_fn


# --------------------------------------------------------------------------- stages


def _init_checkpoint(path: str, stage: str) -> dict[str, Any]:
    from mirkit.models.checkpoint import load_checkpoint
    from mirkit.models.inpaint import ARCH_NAME, PARTS

    ckpt = load_checkpoint(path)
    if ckpt["arch"] != ARCH_NAME:
        raise ModelError(f"init '{path}' holds a {ckpt['arch']!r} model, not an {ARCH_NAME!r} "
                         f"one")
    trained = ckpt["state_dict"].get("trained")
    done = ([p for p, t in zip(PARTS, trained.tolist(), strict=True) if t]
            if trained is not None else [])
    if stage in ("latent-rnn",) and "vae" not in done:
        raise ModelError(f"init '{path}' has no trained MeasureVAE; train stage vae first and "
                         f"start stage {stage} from its checkpoint")
    return ckpt


def stage_model_config(cfg: RecipeConfig, init: Mapping[str, Any] | None) -> dict[str, Any]:
    """The model config of a stage: the config's ``model`` over the defaults, or over the
    init checkpoint's config where only the stage's own network may differ."""
    from mirkit.models.inpaint import normalise_config

    if init is None:
        return normalise_config(cfg.model)
    base = normalise_config(init["config"])
    own = STAGES[cfg.stage]
    merged = copy.deepcopy(base)
    for key, value in cfg.model.items():
        if key == own:
            merged[key] = {**base[key], **dict(value)}
        elif normalise_config({key: value})[key] != base[key]:
            raise ParameterError(f"model.{key} differs from the init checkpoint's; stage "
                                 f"{cfg.stage} may change only model.{own} (leave the rest out)")
    return normalise_config(merged)


def _stage_card(cfg: RecipeConfig, init: Mapping[str, Any] | None, data: Path | None,
                corpus: Corpus, command: str | None) -> dict[str, Any]:
    from mirkit.models.inpaint import TASK

    stages: list[dict[str, Any]] = []
    if init is not None:
        old = dict(init.get("card") or {})
        stages = [dict(s) for s in old.get("stages", [])]
        if stages and "training" in old:
            stages[-1]["training"] = old["training"]
    entry: dict[str, Any] = {
        "stage": cfg.stage, "init": cfg.init, "recipe": cfg.to_dict(),
        "data": {"root": str(data.resolve()) if data is not None else None,
                 "corpora": list(cfg.data.corpora),
                 "tunes": {s: len(t) for s, t in corpus.tunes.items()},
                 "meters": dict(corpus.meters), "skipped": dict(corpus.skipped)}}
    if command:
        entry["command"] = command
    stages.append(entry)
    return {"task": TASK, "description": "MeasureVAE + LatentRNN score inpainting "
                                         "(Pati et al., ISMIR 2019) with an Anticipation-RNN "
                                         "and a repeat baseline", "stages": stages}


def train(data: str | Path | None, output: str | Path, *, config: RecipeConfig | None = None,
          resume: bool = False, max_seconds: float | None = None,
          overrides: Mapping[str, Any] | None = None, command: str | None = None,
          quiet: bool = False) -> Any:
    """Train one stage of an inpainting model on ``data``; checkpoints go to ``output``.

    Parameters
    ----------
    data : path or None
        A folder of tunes (None: only ``data.corpora``).
    output : path
        Run folder: ``config.json``, ``metrics.csv``, ``last.pt``, ``best.pt``.
    config : RecipeConfig, optional
    resume : bool
        Continue the run in ``output`` (its ``config.json`` must match).
    max_seconds : float, optional
        Pause cleanly after this many seconds (resume later).
    overrides : mapping, optional
        TrainConfig keys that override the config's ``train`` section (e.g. ``device``).
    command : str, optional
        The command line, recorded in the model card.

    Returns
    -------
    mirkit.train.trainer.TrainResult
    """
    from mirkit.models.inpaint import ARCH_NAME, PARTS, InpaintNet
    from mirkit.train.trainer import (
        TrainConfig,
        Trainer,
        check_run_config,
        write_run_config,
    )

    cfg = config or RecipeConfig.from_mapping({})
    train_cfg = TrainConfig.from_mapping({**cfg.train, **dict(overrides or {})})
    out = Path(output)
    recorded = cfg.to_dict()
    saved = check_run_config(out, recorded, resume=resume)
    init = _init_checkpoint(cfg.init, cfg.stage) if cfg.init is not None else None
    model_cfg = stage_model_config(cfg, init)
    opt = cfg.data
    max_gap = opt.max_gap if opt.max_gap is not None else model_cfg["max_gap"]
    if max_gap > model_cfg["max_gap"]:
        raise ParameterError(f"data.max_gap {max_gap} exceeds model.max_gap "
                             f"{model_cfg['max_gap']}")
    data_path = Path(data) if data is not None else None
    corpus = load_corpus(data_path, opt, model_cfg, splits=(opt.train_split, opt.val_split))
    for split in (opt.train_split, opt.val_split):
        if not corpus.tunes[split]:
            raise InputError(f"the {split} split holds no usable tune of meter(s) "
                             f"{', '.join(f'{a}/{b}' for a, b in model_cfg['meters'])} "
                             f"(skipped: {dict(corpus.skipped)}); give more data")
    window = int(model_cfg["window"])
    items = WindowItems(corpus.tunes[opt.train_split], seed=train_cfg.seed, window=window,
                        min_gap=min(opt.min_gap, max_gap), max_gap=max_gap,
                        transpose=opt.transpose)
    val = eval_windows(corpus.tunes[opt.val_split], gaps=opt.val_gaps,
                       per_tune=opt.val_windows, window=window, seed=train_cfg.seed)
    own = STAGES[cfg.stage]
    init_state = init["state_dict"] if init is not None else None
    resized = init is not None and model_cfg[own] != normalise_part(init["config"], own)

    def build() -> InpaintNet:
        model = InpaintNet(**model_cfg)
        if init_state is not None:
            if resized:            # the stage's own network starts afresh at its new size
                model.load_state_dict({k: v for k, v in init_state.items()
                                       if not k.startswith(f"{own}.")}, strict=False)
            else:
                model.load_state_dict(init_state)
        model.mark_trained(own)
        model.freeze(*[p for p in PARTS if p != own])
        return model

    card = _stage_card(cfg, init, data_path, corpus, command)
    trainer = Trainer(build, items, val, loss_fn=make_loss_fn(cfg.stage, opt),
                      eval_fn=make_eval_fn(cfg.stage, val, opt), config=train_cfg,
                      output_dir=out, resume=resume, arch=ARCH_NAME, model_config=model_cfg,
                      card=card, collate_fn=collate, quiet=quiet)
    write_run_config(saved, recorded, is_main=trainer.is_main)
    return trainer.fit(max_seconds=max_seconds)


def normalise_part(config: Mapping[str, Any], part: str) -> dict[str, Any]:
    """One network's section of a normalised model config."""
    from mirkit.models.inpaint import normalise_config

    return dict(normalise_config(config)[part])


__all__ = ["DEFAULT_TRAIN", "EVAL_GAPS", "GAP_MODES", "STAGES", "Corpus", "DataOptions",
           "EvalWindow", "RecipeConfig", "TuneTokens", "WindowItems", "collate",
           "eval_windows", "gap_metrics", "gap_scores", "load_corpus", "make_eval_fn",
           "make_loss_fn", "repeat_accuracy", "repeat_eps", "stage_model_config", "train",
           "tune_tokens", "vae_metrics", "window_at"]
