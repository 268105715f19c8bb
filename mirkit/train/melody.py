"""Training recipe of the melody-generation family (``mirkit train melody``).

Data: lead sheets with chord symbols (ABC tunes with quoted chords, MusicXML with chord
symbols, ...) in a folder, read with :func:`mirkit.data.melodies.load_melodies` and turned
into event streams with :func:`mirkit.features.tokens.melody_to_events`; tunes the token
representation cannot hold (durations no tag sum can express, a meter outside ``meters``)
are skipped and counted. Tunes are split by id (:func:`mirkit.data.melodies.split_of`,
80/10/10), so every transposition of a tune stays in its split.

One run trains **both** networks of :class:`~mirkit.models.melody.MelodyRNN` jointly: the
loss is the sum of the Pitch-RNN's and the Duration-RNN's mean NLL on the same batches.
The two networks share no parameters, so this is the same as training them separately on
identical batches; one checkpoint then holds the pair.

Training items (virtually endless, item ``i`` depends only on ``(seed, i)``, so the
trainer's exact resume holds): a tune drawn with probability proportional to its number of
events, a window of ``seq_len`` consecutive events starting uniformly at random (shorter
tunes are padded, the padding ignored by the loss), transposed by a shift drawn uniformly
from the shifts in ``-6 .. +5`` that keep every note inside ``[pitch_low, pitch_high]``
(``transpose: true``; the reference transposes to all 12 keys). Each window reads the
tokens of the event before it (BOS at the start of a tune), see :mod:`mirkit.models.melody`.

Validation: every tune of the ``valid`` split, whole, untransposed. The metrics are the mean
NLL per event of each stream (``nll_pitch``, ``nll_duration``), their sum ``nll`` (which
picks ``best.pt``) and the accuracy of the most likely token (``acc_pitch``,
``acc_duration``).

Configuration (one JSON/YAML mapping, every key optional)::

    model: {conditioning: [inter, chord, next-chord, bar-pos], hidden: 256, layers: 2,
            dropout: 0.2, batch_norm: true}
    data:  {seq_len: 64, transpose: true, pitch_low: 21, pitch_high: 108, meters: null}
    train: {max_steps: 1500, batch_size: 64, optimizer: adam, amsgrad: true, lr: 0.001, ...}

``train.amsgrad`` (default true, the reference's Adam variant) is this recipe's key; the
other ``train`` keys are :class:`~mirkit.train.trainer.TrainConfig`'s.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mirkit.errors import InputError, MirkitError, ParameterError

if TYPE_CHECKING:
    from torch import nn

    from mirkit.data.melodies import Melody

#: Top-level sections of a melody training config.
SECTIONS = ("model", "data", "train")
#: Model of ``mirkit train melody`` when the config names none: every conditioning input.
DEFAULT_MODEL: dict[str, Any] = {"conditioning": ["inter", "chord", "next-chord", "bar-pos"],
                                 "hidden": 256, "layers": 2, "dropout": 0.2,
                                 "batch_norm": True}
#: Trainer defaults of the recipe (the config's ``train`` section overrides them).
DEFAULT_TRAIN: dict[str, Any] = {
    "max_steps": 1500, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "amsgrad": True,
    "eval_every": 100, "checkpoint_every": 100, "log_every": 25, "num_workers": 0,
    "early_stopping": {"metric": "nll", "mode": "min", "patience": None},
}
#: Keys of the ``train`` section that the recipe handles itself (not TrainConfig's).
RECIPE_TRAIN_KEYS = ("amsgrad",)
#: Transpositions of the augmentation: the 12 keys around the written one.
SHIFTS = tuple(range(-6, 6))
#: Number of training items the sampler permutes; each index is its own random window.
VIRTUAL_ITEMS = 1_000_000
#: Target value the NLL ignores (padding).
IGNORE = -100
#: Stream names of the token arrays.
STREAMS = ("pitch", "duration")


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """The ``data`` section (defaults in brackets).

    Attributes
    ----------
    seq_len : int
        Events per training window [64].
    transpose : bool
        Transpose each window to a random key (shifts -6..+5 within the pitch range) [True].
    pitch_low, pitch_high : int
        MIDI range a transposed tune must stay inside [21, 108: the token range].
    meters : list of str or None
        Keep only tunes in these meters (``["4/4", "6/8"]``); None: every meter the token
        module supports [None].
    train_split, val_split : str
        ["train", "valid"].
    """

    seq_len: int = 64
    transpose: bool = True
    pitch_low: int = 21
    pitch_high: int = 108
    meters: tuple[str, ...] | None = None
    train_split: str = "train"
    val_split: str = "valid"
    cache: str | None = None

    def __post_init__(self) -> None:
        from mirkit.features import tokens as T
        from mirkit.models.melody import meter_name, meter_tuple

        def bad(name: str, value: Any, want: str) -> ParameterError:
            return ParameterError(f"data.{name} = {value!r}: {want}")

        if isinstance(self.seq_len, bool) or not isinstance(self.seq_len, int) or not (
                2 <= self.seq_len <= 4096):
            raise bad("seq_len", self.seq_len, "give a whole number of events, 2 to 4096")
        if not isinstance(self.transpose, bool):
            raise bad("transpose", self.transpose, "give true or false")
        low, high = T.PITCH_OFFSET, T.PITCH_OFFSET + T.REST - 1
        for name in ("pitch_low", "pitch_high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise bad(name, v, f"give a MIDI pitch in {low}..{high} (the token range)")
        if self.pitch_low > self.pitch_high:
            raise bad("pitch_low", self.pitch_low, f"must not exceed pitch_high "
                                                   f"{self.pitch_high}")
        if self.meters is not None:
            if isinstance(self.meters, str) or not isinstance(self.meters, Sequence) or not (
                    self.meters):
                raise bad("meters", self.meters, "give a list of meters like [4/4, 6/8], or "
                                                 "null for all")
            names = []
            for m in self.meters:
                meter = meter_tuple(m)
                T.grid(meter)                       # a ParameterError for unsupported ones
                names.append(meter_name(meter))
            object.__setattr__(self, "meters", tuple(dict.fromkeys(names)))
        for name in ("train_split", "val_split"):
            if getattr(self, name) not in ("train", "valid", "test"):
                raise bad(name, getattr(self, name), "give train, valid or test")
        if self.cache is not None and not isinstance(self.cache, str):
            raise bad("cache", self.cache, "give a folder path or null")

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
        out["meters"] = None if self.meters is None else list(self.meters)
        return out


@dataclasses.dataclass(frozen=True)
class RecipeConfig:
    """A whole melody training config, its three sections checked."""

    model: dict[str, Any]
    data: DataOptions
    train: dict[str, Any]
    amsgrad: bool

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> RecipeConfig:
        from mirkit.models.melody import MelodyRNN, parse_conditioning
        from mirkit.train.trainer import TrainConfig

        values = dict(mapping or {})
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise ParameterError(f"unknown config section(s) {', '.join(unknown)}; a "
                                 f"melody config has {', '.join(SECTIONS)}")
        for section in SECTIONS:
            if values.get(section) is not None and not isinstance(values[section], Mapping):
                raise ParameterError(f"config section {section!r} must be a mapping")
        model = {**DEFAULT_MODEL, **dict(values.get("model") or {})}
        if "meters" in model:
            raise ParameterError("model.meters is set by the recipe from the training data; "
                                 "choose meters with data.meters")
        model["conditioning"] = list(parse_conditioning(model.get("conditioning")))
        try:
            MelodyRNN(**model)                       # check it now, with its messages
        except TypeError as exc:
            raise ParameterError(f"model section: {exc}; known keys: conditioning, hidden, "
                                 f"layers, dropout, batch_norm") from None
        train = {**DEFAULT_TRAIN, **dict(values.get("train") or {})}
        amsgrad = train.pop("amsgrad", True)
        if not isinstance(amsgrad, bool):
            raise ParameterError(f"train.amsgrad = {amsgrad!r}: give true or false")
        TrainConfig.from_mapping(train)              # check it now, with its messages
        if amsgrad and train.get("optimizer", "adamw") not in ("adam", "adamw"):
            raise ParameterError(f"train.amsgrad needs optimizer adam or adamw, not "
                                 f"{train.get('optimizer')!r}; set amsgrad: false")
        return cls(model=model, data=DataOptions.from_mapping(values.get("data")),
                   train=train, amsgrad=amsgrad)

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
        return {"model": self.model, "data": self.data.to_dict(),
                "train": {**self.train, "amsgrad": self.amsgrad}}


# --------------------------------------------------------------------------- corpus


@dataclasses.dataclass(frozen=True)
class TuneEvents:
    """The event arrays of one tune (see :class:`mirkit.features.tokens.Events`).

    ``pitch``, ``duration``, ``barpos``, ``chord_root``, ``next_root``: int64 ``(n,)``;
    ``chord_pcs``, ``next_pcs``: float32 ``(n, 12)``; ``shifts``: the transpositions
    allowed by the pitch range.
    """

    id: str
    pitch: NDArray[np.int64]
    duration: NDArray[np.int64]
    barpos: NDArray[np.int64]
    chord_root: NDArray[np.int64]
    chord_pcs: NDArray[np.float32]
    next_root: NDArray[np.int64]
    next_pcs: NDArray[np.float32]
    shifts: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.pitch)

    def transposed(self, shift: int) -> dict[str, NDArray[Any]]:
        """The arrays moved by ``shift`` semitones (rests, "no chord" unchanged)."""
        from mirkit.features import tokens as T

        pitch = np.where(self.pitch == T.REST, self.pitch, self.pitch + shift)
        out: dict[str, NDArray[Any]] = {"pitch": pitch, "duration": self.duration,
                                        "barpos": self.barpos}
        for root, pcs in (("chord_root", "chord_pcs"), ("next_root", "next_pcs")):
            r = getattr(self, root)
            out[root] = np.where(r >= 12, r, (r + shift) % 12)
            out[pcs] = np.roll(getattr(self, pcs), shift, axis=-1)
        return out


@dataclasses.dataclass
class Corpus:
    """The tunes of a dataset folder by split, and what was left out.

    Attributes
    ----------
    melodies : dict of str -> list of Melody
        Per split, the tunes that tokenise.
    events : dict of str -> list of TuneEvents
        Their event arrays, in the same order.
    skipped : Counter
        Reasons of the tunes left out (loader rejections included when it reports them).
    meters : list of str
        Meters of the training split, sorted by frequency.
    """

    melodies: dict[str, list[Melody]]
    events: dict[str, list[TuneEvents]]
    skipped: Counter[str]
    meters: list[str]


def tune_events(melody: Melody, *, pitch_low: int = 21, pitch_high: int = 108) -> TuneEvents:
    """:func:`~mirkit.features.tokens.melody_to_events` of ``melody`` as :class:`TuneEvents`."""
    from mirkit.data.melodies import transpositions
    from mirkit.features import tokens as T

    ev = T.melody_to_events(melody)
    shifts = (tuple(s for s in transpositions(melody, pitch_low, pitch_high) if s in SHIFTS)
              if melody.notes else (0,))
    if not shifts:
        raise InputError(f"melody {melody.id!r}: no transposition within -6..+5 keeps it "
                         f"inside pitch_low..pitch_high = {pitch_low}..{pitch_high}")
    return TuneEvents(
        id=melody.id,
        pitch=np.asarray(ev.pitch, dtype=np.int64),
        duration=np.asarray(ev.duration, dtype=np.int64),
        barpos=np.asarray(ev.barpos, dtype=np.int64),
        chord_root=np.asarray(ev.chord_root, dtype=np.int64),
        chord_pcs=np.asarray(ev.chord_pcs, dtype=np.float32).reshape(-1, 12),
        next_root=np.asarray(ev.next_root, dtype=np.int64),
        next_pcs=np.asarray(ev.next_pcs, dtype=np.float32).reshape(-1, 12),
        shifts=shifts)


def load_corpus(data: str | Path, options: DataOptions | None = None, *,
                splits: Sequence[str] = ("train", "valid", "test"),
                cache: str | Path | None = None) -> Corpus:
    """Read every tune under ``data``, tokenise it and sort it into its split.

    Tunes the event streams cannot hold, or that no transposition fits into the pitch range,
    are counted in :attr:`Corpus.skipped`. ``cache`` is
    :func:`~mirkit.data.melodies.load_melodies`'s parse cache (a folder; default
    ``options.cache``).

    Raises
    ------
    InputError
        Nothing readable under ``data``.
    """
    from mirkit.data.melodies import load_melodies, split_of
    from mirkit.models.melody import meter_name

    opt = options or DataOptions()
    melodies = load_melodies([str(data)], meters=opt.meters,
                             cache=cache if cache is not None else opt.cache)
    skipped: Counter[str] = melodies.counts()
    by_split: dict[str, list[Melody]] = {s: [] for s in splits}
    events: dict[str, list[TuneEvents]] = {s: [] for s in splits}
    meter_count: Counter[str] = Counter()
    for m in melodies:
        split = split_of(m.id)
        if split not in by_split:
            continue
        try:
            ev = tune_events(m, pitch_low=opt.pitch_low, pitch_high=opt.pitch_high)
        except (InputError, ParameterError) as exc:
            skipped[_reason(exc)] += 1
            continue
        if len(ev) == 0:
            skipped["no events"] += 1
            continue
        by_split[split].append(m)
        events[split].append(ev)
        if split == opt.train_split:
            meter_count[meter_name(m.meter)] += 1
    return Corpus(melodies=by_split, events=events, skipped=skipped,
                  meters=[m for m, _ in meter_count.most_common()])


#: Skip reasons of tunes the event streams cannot hold, by a phrase of the error message.
_EVENT_PROBLEMS = (("bar positions", "bar longer than four quarters"),
                   ("pitch_low..pitch_high", "outside the pitch range"),
                   ("outside the stream range", "pitch outside MIDI 21-108"),
                   ("tick", "length off the event grid"),
                   ("grid", "length off the event grid"))


def _reason(exc: MirkitError) -> str:
    """A short reason for the skip counter."""
    text = str(exc)
    for phrase, reason in _EVENT_PROBLEMS:
        if phrase in text:
            return reason
    return "not representable as events"


# --------------------------------------------------------------------------- items


def _window(arrays: Mapping[str, NDArray[Any]], start: int, length: int, *,
            bos: tuple[int, int]) -> dict[str, NDArray[Any]]:
    """Inputs and targets of events ``start .. start+length-1`` (padded past the end)."""
    n = len(arrays["pitch"])
    stop = min(n, start + length)
    k = stop - start
    item: dict[str, NDArray[Any]] = {}
    for name, b in zip(STREAMS, bos, strict=True):
        seq = arrays[name]
        inp = np.full(length, b, dtype=np.int64)
        inp[1:k] = seq[start:stop - 1]
        if start > 0:
            inp[0] = seq[start - 1]
        out = np.full(length, IGNORE, dtype=np.int64)
        out[:k] = seq[start:stop]
        item[f"{name}_in"], item[f"{name}_out"] = inp, out
    for name in ("barpos", "chord_root", "next_root"):
        col = np.zeros(length, dtype=np.int64)
        col[:k] = arrays[name][start:stop]
        item[name] = col
    for name in ("chord_pcs", "next_pcs"):
        pcs = np.zeros((length, 12), dtype=np.float32)
        pcs[:k] = arrays[name][start:stop]
        item[name] = pcs
    return item


class MelodyItems:
    """Map-style training items: random windows of random tunes in random keys.

    Item ``i`` depends only on ``(seed, i)``; ``len`` is :data:`VIRTUAL_ITEMS`. Each item
    is a dict of the model's inputs (:data:`mirkit.models.melody.INPUT_KEYS`) plus the
    targets ``pitch_out`` and ``duration_out`` (:data:`IGNORE` on padding), all of length
    ``seq_len``.
    """

    def __init__(self, tunes: Sequence[TuneEvents], *, seq_len: int, seed: int,
                 transpose: bool, bos: tuple[int, int]) -> None:
        if not tunes:
            raise InputError("the training split holds no tune; give more data")
        self.tunes, self.seq_len, self.seed = list(tunes), int(seq_len), int(seed)
        self.transpose, self.bos = transpose, bos
        sizes = np.array([len(t) for t in self.tunes], dtype=np.float64)
        self.weights = sizes / sizes.sum()

    def __len__(self) -> int:
        return VIRTUAL_ITEMS

    def __getitem__(self, index: int) -> dict[str, NDArray[Any]]:
        if not 0 <= index < VIRTUAL_ITEMS:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, 1, int(index)])
        tune = self.tunes[int(rng.choice(len(self.tunes), p=self.weights))]
        start = int(rng.integers(0, max(1, len(tune) - self.seq_len + 1)))
        shift = int(rng.choice(tune.shifts)) if self.transpose else 0
        return _window(tune.transposed(shift), start, self.seq_len, bos=self.bos)


def tune_batches(tunes: Sequence[TuneEvents], *, bos: tuple[int, int], batch_size: int = 16
                 ) -> list[dict[str, NDArray[Any]]]:
    """Whole tunes, untransposed, padded into batches of similar lengths (for validation)."""
    order = sorted(range(len(tunes)), key=lambda i: len(tunes[i]))
    batches = []
    for first in range(0, len(order), batch_size):
        group = [tunes[i] for i in order[first:first + batch_size]]
        length = max(len(t) for t in group)
        items = [_window(t.transposed(0), 0, length, bos=bos) for t in group]
        batches.append({k: np.stack([it[k] for it in items]) for k in items[0]})
    return batches


# --------------------------------------------------------------------------- loss / eval


def stream_nll(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Any]:
    """Summed and counted NLL and correct predictions of both streams on one batch.

    Returns tensors ``{"nll_pitch", "nll_duration", "correct_pitch", "correct_duration",
    "events"}`` (sums over the non-padding events).
    """
    import torch.nn.functional as F

    from mirkit.models.melody import INPUT_KEYS

    pitch, duration, _ = model({k: batch[k] for k in INPUT_KEYS})
    out: dict[str, Any] = {}
    for name, logp in (("pitch", pitch), ("duration", duration)):
        target = batch[f"{name}_out"].reshape(-1)
        flat = logp.reshape(-1, logp.shape[-1]).float()
        out[f"nll_{name}"] = F.nll_loss(flat, target, ignore_index=IGNORE, reduction="sum")
        valid = target != IGNORE
        out[f"correct_{name}"] = (flat.argmax(-1)[valid] == target[valid]).sum()
    out["events"] = (batch["pitch_out"] != IGNORE).sum().clamp(min=1)
    return out


def loss_fn(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Any]:
    """``loss_fn(model, batch)`` for the trainer: mean pitch NLL + mean duration NLL."""
    sums = stream_nll(model, batch)
    n = sums["events"]
    lp, ld = sums["nll_pitch"] / n, sums["nll_duration"] / n
    return {"loss": lp + ld, "nll_pitch": lp.detach(), "nll_duration": ld.detach()}


def evaluate_tunes(model: nn.Module, batches: Sequence[Mapping[str, NDArray[Any]]]
                   ) -> dict[str, float]:
    """Mean NLL per event and accuracy of both streams over whole tunes.

    Returns
    -------
    dict
        ``nll`` (= ``nll_pitch + nll_duration``), ``nll_pitch``, ``nll_duration``,
        ``acc_pitch``, ``acc_duration``, ``events``.
    """
    import torch

    device = next(model.parameters()).device
    totals: dict[str, float] = {}
    with torch.no_grad():
        for batch in batches:
            tensors = {k: torch.as_tensor(v).to(device) for k, v in batch.items()}
            for key, value in stream_nll(model, tensors).items():
                totals[key] = totals.get(key, 0.0) + float(value)
    n = max(totals.get("events", 0.0), 1.0)
    result = {"nll_pitch": totals.get("nll_pitch", 0.0) / n,
              "nll_duration": totals.get("nll_duration", 0.0) / n}
    result = {"nll": result["nll_pitch"] + result["nll_duration"], **result,
              "acc_pitch": totals.get("correct_pitch", 0.0) / n,
              "acc_duration": totals.get("correct_duration", 0.0) / n,
              "events": totals.get("events", 0.0)}
    return result


# --------------------------------------------------------------------------- entry point


def train(data: str | Path, output: str | Path, *, config: RecipeConfig | None = None,
          resume: bool = False, max_seconds: float | None = None,
          overrides: Mapping[str, Any] | None = None, command: str | None = None,
          quiet: bool = False) -> Any:
    """Train a Pitch-RNN/Duration-RNN pair on the lead sheets in ``data``.

    Parameters
    ----------
    data : path
        A folder of ABC/MusicXML/MIDI lead sheets with chord symbols (searched
        recursively), split by tune into train/valid/test.
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
    from mirkit.models.melody import ARCH_NAME, TASK, MelodyRNN, conditioning_label
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
    opt = cfg.data
    corpus = load_corpus(data, opt, splits=(opt.train_split, opt.val_split))
    train_tunes, val_tunes = corpus.events[opt.train_split], corpus.events[opt.val_split]
    for split, tunes in ((opt.train_split, train_tunes), (opt.val_split, val_tunes)):
        if not tunes:
            raise InputError(f"'{data}' has no usable tune in split {split!r} "
                             f"({_skip_note(corpus.skipped)}); give more lead sheets")
    model_cfg = {**cfg.model, "meters": corpus.meters}
    probe = MelodyRNN(**model_cfg)
    bos = (probe.pitch_bos, probe.duration_bos)
    train_items = MelodyItems(train_tunes, seq_len=opt.seq_len, seed=train_cfg.seed,
                              transpose=opt.transpose, bos=bos)
    val_batches = tune_batches(val_tunes, bos=bos)

    card: dict[str, Any] = {
        "task": TASK, "conditioning": conditioning_label(probe.conditioning),
        "data": {"root": str(Path(data).resolve()),
                 "train_tunes": len(train_tunes), "valid_tunes": len(val_tunes),
                 "train_events": int(sum(len(t) for t in train_tunes)),
                 "valid_events": int(sum(len(t) for t in val_tunes)),
                 "meters": corpus.meters, "skipped": dict(corpus.skipped)},
        "recipe": recorded}
    if command:
        card["command"] = command
    trainer = Trainer(lambda: MelodyRNN(**model_cfg), train_items, val_batches,
                      loss_fn=loss_fn, eval_fn=evaluate_tunes, config=train_cfg, output_dir=out,
                      resume=resume, arch=ARCH_NAME, model_config=probe.config, card=card,
                      quiet=quiet)
    if cfg.amsgrad:
        for group in trainer.optimizer.param_groups:
            group["amsgrad"] = True
    write_run_config(saved, recorded, is_main=trainer.is_main)
    return trainer.fit(max_seconds=max_seconds)


def _skip_note(skipped: Counter[str]) -> str:
    if not skipped:
        return "no tune was read"
    return "skipped: " + ", ".join(f"{n} {r}" for r, n in skipped.most_common(4))
