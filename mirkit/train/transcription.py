"""Training recipe of the transcription family (``mirkit train transcribe``).

Data: any multitrack dataset with notes (:func:`mirkit.data.datasets.open_dataset`: a
``mirkit synth`` folder, Slakh, MAESTRO, ...), split by piece. Each training item is a fresh
excerpt of ``clip_seconds`` drawn from the ``train`` split and augmented on the waveform:

- **remix**: every stem gets a gain uniform in ``[-stem_gain_db, +stem_gain_db]`` dB and is
  dropped with probability ``drop_stem_prob`` (at least one stays); the labels of a
  dropped class are cleared and the pitch roll rebuilt from the remaining pitched classes;
- **level**: the mixture is scaled to a peak uniform in ``level_db`` dBFS, so the model sees
  quiet and loud recordings (its compression uses a fixed reference);
- **noise**: with probability ``noise_prob``, white or pink noise at an SNR uniform in
  ``snr_db``;
- **timbre EQ** (off by default): with probability ``eq_prob`` each kept stem goes through a
  random smooth equaliser (:func:`random_eq`: a spectral tilt of up to ``eq_tilt_db`` dB
  per octave plus three bell bands of up to ``eq_db`` dB), its RMS kept, so the model sees
  other renderings of each instrument's spectral envelope than its soundfonts give. It
  draws from its own random stream, so turning it on changes nothing else in an item.

Item ``i`` of the (virtually endless) training set depends only on ``(seed, i)``, so the
trainer's exact resume holds (see :mod:`mirkit.train.trainer`). The model computes its
log-CQT on the fly (the model's :meth:`~mirkit.models.transcription.TranscriptionUNet.frontend`,
a torch op, so on the GPU when training there). Per-bin feature statistics are measured on
``stats_items`` training excerpts before the first step and stored in the model.

Validation: ``val_items`` fixed excerpts of the ``valid`` split (no augmentation); the metrics
are frame-level F1 of the pitch roll, of the instrument-aware pianoroll, of instrument
activity and of onsets at threshold 0.5 and at the best of a few thresholds, the multi-pitch
frame accuracy, and ``score``, the mean of the four best F1 values, which picks ``best.pt``.

Configuration (one JSON/YAML mapping, every key optional)::

    model: {base_channels: 16, depth: 4, ...}     # TranscriptionUNet arguments
    data:  {clip_seconds: 10, drop_stem_prob: 0.15, ...}   # DataOptions
    loss:  {ablation: multitask, onset: 1.0, reduction: frame}   # or {weights: {...}}
    train: {max_steps: 4000, batch_size: 8, ...}  # TrainConfig
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mirkit.errors import InputError, ParameterError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from mirkit.data.datasets import MultitrackDataset

#: Top-level sections of a transcription training config.
SECTIONS = ("model", "data", "loss", "train")
#: Model of ``mirkit train transcribe`` when the config names none: the shipped size.
DEFAULT_MODEL: dict[str, Any] = {"base_channels": 16, "depth": 4}
#: Trainer defaults of the recipe (the config's ``train`` section overrides them).
DEFAULT_TRAIN: dict[str, Any] = {
    "max_steps": 8000, "batch_size": 8, "optimizer": "adamw", "lr": 1e-3,
    "weight_decay": 1e-4, "schedule": "cosine", "warmup_steps": 200, "grad_clip": 3.0,
    "eval_every": 250, "checkpoint_every": 250, "log_every": 25, "num_workers": 1,
    "early_stopping": {"metric": "score", "mode": "max", "patience": None},
}
#: Loss reduction of the recipe (see :func:`mirkit.models.transcription.losses`).
DEFAULT_REDUCTION = "frame"
#: Number of training items the sampler permutes; each index is its own random excerpt.
VIRTUAL_ITEMS = 1_000_000
#: Threshold of the validation metrics, and the thresholds ``score`` takes the best of.
VAL_THRESHOLD = 0.5
SWEEP_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """The ``data`` section (defaults in brackets).

    Attributes
    ----------
    clip_seconds : float
        Length of a training excerpt [10.0, the paper's].
    stem_gain_db : float
        Per-stem gain range, +- dB [6.0].
    drop_stem_prob : float
        Probability of dropping each stem [0.15].
    level_db : (float, float)
        Range of the mixture peak, dBFS [(-30, -1)].
    noise_prob : float
        Probability of adding noise [0.3].
    snr_db : (float, float)
        Range of its signal-to-noise ratio, dB [(15, 50)].
    eq_prob : float
        Probability of a random timbre EQ on each kept stem [0.0: off].
    eq_db : float
        Largest gain, +- dB, of each of its three bell bands [6.0].
    eq_tilt_db : float
        Largest spectral tilt, +- dB per octave [1.5].
    stats_items : int
        Training excerpts measured for the feature statistics [64].
    val_items : int
        Validation excerpts [64].
    train_split, val_split : str
        Split names ["train", "valid"].
    """

    clip_seconds: float = 10.0
    stem_gain_db: float = 6.0
    drop_stem_prob: float = 0.15
    level_db: tuple[float, float] = (-30.0, -1.0)
    noise_prob: float = 0.3
    snr_db: tuple[float, float] = (15.0, 50.0)
    eq_prob: float = 0.0
    eq_db: float = 6.0
    eq_tilt_db: float = 1.5
    stats_items: int = 64
    val_items: int = 64
    train_split: str = "train"
    val_split: str = "valid"

    def __post_init__(self) -> None:
        def bad(name: str, value: Any, want: str) -> ParameterError:
            return ParameterError(f"data.{name} = {value!r}: {want}")

        if not (isinstance(self.clip_seconds, int | float) and 0.5 <= self.clip_seconds <= 600):
            raise bad("clip_seconds", self.clip_seconds, "give 0.5 to 600 seconds")
        if not (isinstance(self.stem_gain_db, int | float) and 0 <= self.stem_gain_db <= 40):
            raise bad("stem_gain_db", self.stem_gain_db, "give 0 to 40 dB")
        for name, top in (("eq_db", 24.0), ("eq_tilt_db", 6.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, int | float) and 0 <= v <= top):
                raise bad(name, v, f"give 0 to {top:g} dB" + (" per octave" if "tilt" in name
                                                                   else ""))
        for name in ("drop_stem_prob", "noise_prob", "eq_prob"):
            p = getattr(self, name)
            if not (isinstance(p, int | float) and 0 <= p <= 1):
                raise bad(name, p, "give a probability in [0, 1]")
        for name in ("level_db", "snr_db"):
            pair = getattr(self, name)
            if (not isinstance(pair, list | tuple) or len(pair) != 2
                    or not all(isinstance(v, int | float) and math.isfinite(v) for v in pair)
                    or pair[0] > pair[1]):
                raise bad(name, pair, "give [low, high] dB with low <= high")
            object.__setattr__(self, name, (float(pair[0]), float(pair[1])))
        if self.level_db[1] > 0:
            raise bad("level_db", list(self.level_db), "peaks above 0 dBFS would clip")
        for name in ("stats_items", "val_items"):
            n = getattr(self, name)
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise bad(name, n, "give a whole number >= 1")

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
        out["level_db"], out["snr_db"] = list(self.level_db), list(self.snr_db)
        return out


def _number(value: Any, where: str) -> float:
    """A config value that must be a real number (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ParameterError(f"{where} {value!r} is not a number")
    return float(value)


def _check_model(model: Mapping[str, Any]) -> None:
    """Build the model once so that a bad ``model`` section is a usage error up front."""
    import inspect

    from mirkit.models.transcription import TranscriptionUNet

    known = [n for n in inspect.signature(TranscriptionUNet).parameters]
    unknown = sorted(set(model) - set(known))
    if unknown:
        raise ParameterError(f"unknown model option(s) {', '.join(unknown)}; known: "
                             f"{', '.join(known)}")
    try:
        TranscriptionUNet(**model)
    except ParameterError as exc:
        raise ParameterError(f"model: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"model: a value has the wrong type ({exc}); see "
                             "docs/training.md for each option") from None


def val_metric_names(*, onset_head: bool = True) -> tuple[str, ...]:
    """The validation metrics :func:`make_eval_fn` returns (early stopping picks one)."""
    heads = ("pitch", "roll", "activity", *(("onset",) if onset_head else ()))
    names = [m for h in heads for m in (f"{h}_f1", f"{h}_best_f1")]
    return (*names, "pitch_acc", "score", "loss")


@dataclasses.dataclass(frozen=True)
class RecipeConfig:
    """A whole transcription training config, its four sections checked."""

    model: dict[str, Any]
    data: DataOptions
    loss_weights: dict[str, float]
    reduction: str
    loss: dict[str, Any]
    train: dict[str, Any]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> RecipeConfig:
        from mirkit.models import transcription_constants as C
        from mirkit.train.trainer import TrainConfig

        values = dict(mapping or {})
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise ParameterError(f"unknown config section(s) {', '.join(unknown)}; a "
                                 f"transcription config has {', '.join(SECTIONS)}")
        for section in SECTIONS:
            if values.get(section) is not None and not isinstance(values[section], Mapping):
                raise ParameterError(f"config section {section!r} must be a mapping")
        model = {**DEFAULT_MODEL, **dict(values.get("model") or {})}
        loss = dict(values.get("loss") or {})
        bad_loss = sorted(set(loss) - {"ablation", "onset", "weights", "reduction"})
        if bad_loss:
            raise ParameterError(f"unknown loss option(s) {', '.join(bad_loss)}; known: "
                                 f"ablation, onset, weights, reduction")
        reduction = loss.get("reduction", DEFAULT_REDUCTION)
        if reduction not in ("mean", "frame"):
            raise ParameterError(f"loss.reduction {reduction!r} is not one of mean, frame")
        if "weights" in loss and ("ablation" in loss or "onset" in loss):
            raise ParameterError("loss: give either weights or ablation/onset, not both")
        terms = (*C.LOSS_LABELS, *C.EXTRA_LOSS_TERMS)
        if "weights" in loss:
            if not isinstance(loss["weights"], Mapping):
                raise ParameterError(f"loss.weights must map terms ({', '.join(terms)}) to "
                                     "numbers")
            weights = {str(k): _number(v, f"loss.weights.{k}")
                       for k, v in loss["weights"].items()}
            unknown_terms = sorted(set(weights) - set(terms))
            if unknown_terms:
                raise ParameterError(f"unknown loss term(s) {', '.join(unknown_terms)} in "
                                     f"loss.weights; known: {', '.join(terms)}")
            if any(v < 0 for v in weights.values()):
                raise ParameterError(f"loss.weights must be >= 0, got {weights}")
        else:
            weights = C.ablation_weights(str(loss.get("ablation", "multitask")),
                                         onset=_number(loss.get("onset", 1.0), "loss.onset"))
        _check_model(model)
        train = {**DEFAULT_TRAIN, **dict(values.get("train") or {})}
        checked = TrainConfig.from_mapping(train)        # check it now, with its messages
        es = checked.early_stopping
        if es is not None:
            metrics = val_metric_names(onset_head=bool(model.get("onset_head", True)))
            if es.metric not in metrics:
                raise ParameterError(f"train.early_stopping.metric {es.metric!r} is not a "
                                     f"validation metric of this recipe: {', '.join(metrics)}")
        return cls(model=model, data=DataOptions.from_mapping(values.get("data")),
                   loss_weights=weights, reduction=reduction, loss=loss, train=train)

    @classmethod
    def from_file(cls, path: str | Path | None) -> RecipeConfig:
        if path is None:
            return cls.from_mapping({})
        from mirkit.train.trainer import read_config_file

        return cls.from_mapping(read_config_file(path))

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "data": self.data.to_dict(), "loss": self.loss,
                "loss_weights": self.loss_weights, "reduction": self.reduction,
                "train": self.train}


# --------------------------------------------------------------------------- items


def _db(value: float) -> float:
    return float(10.0 ** (value / 20.0))


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White (half the time) or pink noise of unit RMS, ``n`` samples."""
    white = rng.standard_normal(n)
    if rng.random() < 0.5:
        return white / max(float(np.sqrt(np.mean(white ** 2))), 1e-12)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    pink = np.fft.irfft(spec / np.sqrt(f), n)
    return pink / max(float(np.sqrt(np.mean(pink ** 2))), 1e-12)


#: Frequency range (Hz) of the centres of :func:`random_eq`'s bell bands.
EQ_BAND_HZ = (100.0, 6000.0)
#: Reference frequency (Hz) of its tilt, and the lowest frequency the curve follows.
EQ_PIVOT_HZ, EQ_FLOOR_HZ = 1000.0, 40.0


def eq_curve_db(rng: np.random.Generator, freqs: np.ndarray, *, max_db: float,
                tilt_db: float) -> np.ndarray:
    """A random smooth gain curve (dB) at ``freqs`` (Hz): a tilt uniform in ``+-tilt_db``
    dB per octave about :data:`EQ_PIVOT_HZ` plus three Gaussian bells on the octave axis
    (centre log-uniform over :data:`EQ_BAND_HZ`, width 0.3 to 1.5 octaves, gain uniform in
    ``+-max_db``). Below :data:`EQ_FLOOR_HZ` the curve is flat."""
    octave = np.log2(np.maximum(np.asarray(freqs, dtype=np.float64), EQ_FLOOR_HZ) / EQ_PIVOT_HZ)
    curve = rng.uniform(-tilt_db, tilt_db) * octave
    lo, hi = (math.log2(f / EQ_PIVOT_HZ) for f in EQ_BAND_HZ)
    for _ in range(3):
        centre, width = rng.uniform(lo, hi), rng.uniform(0.3, 1.5)
        curve = curve + rng.uniform(-max_db, max_db) * np.exp(-0.5 * ((octave - centre)
                                                                       / width) ** 2)
    return curve


def random_eq(rng: np.random.Generator, audio: np.ndarray, sr: int, *, max_db: float,
              tilt_db: float) -> np.ndarray:
    """``audio`` (1-D) through a random :func:`eq_curve_db` equaliser applied in the
    frequency domain, scaled back to its RMS (silence stays silence)."""
    x = np.asarray(audio, dtype=np.float64)
    if len(x) < 2:
        return x.copy()
    spec = np.fft.rfft(x)
    gain = 10.0 ** (eq_curve_db(rng, np.fft.rfftfreq(len(x), 1.0 / sr), max_db=max_db,
                                tilt_db=tilt_db) / 20.0)
    y = np.fft.irfft(spec * gain, len(x))
    before, after = float(np.sqrt(np.mean(x ** 2))), float(np.sqrt(np.mean(y ** 2)))
    return y * (before / after) if after > 0 else y


class TranscriptionItems:
    """Map-style training or validation items: ``{"audio", "pianoroll", "onsets",
    "pitch_roll", "activity"}`` (float32 audio ``(n,)``, bool label arrays).

    Parameters
    ----------
    dataset : MultitrackDataset
    split : str
    options : DataOptions
    seed : int
    augment : bool
        Training items (random excerpt and augmentation per index, ``len`` =
        :data:`VIRTUAL_ITEMS`) or validation items (``count`` fixed excerpts, no
        augmentation).
    count : int, optional
        Number of items when ``augment`` is False.
    sr, hop : int
        The model's audio rate and label hop.
    classes : sequence of str
    drum_classes : sequence of str
    """

    def __init__(self, dataset: MultitrackDataset, split: str, options: DataOptions, *,
                 seed: int, augment: bool, count: int | None = None, sr: int, hop: int,
                 classes: Sequence[str], drum_classes: Sequence[str]) -> None:
        self.dataset, self.split, self.options = dataset, split, options
        self.seed, self.augment = int(seed), augment
        self.sr, self.hop = int(sr), int(hop)
        self.classes = tuple(classes)
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.pitched = np.array([c not in set(drum_classes) for c in self.classes])
        self.tracks = dataset.tracks(split)
        if not self.tracks:
            raise InputError(f"dataset '{dataset.root}' has no tracks in split {split!r}")
        self.count = VIRTUAL_ITEMS if augment else int(count or options.val_items)

    def __len__(self) -> int:
        return self.count

    def _rng(self, index: int, stream: int | None = None) -> np.random.Generator:
        """The random stream of item ``index``: stream 1 (training) or 2 (validation) by
        default; the timbre EQ draws from stream 3, so that it leaves the others alone."""
        if stream is None:
            stream = 1 if self.augment else 2
        return np.random.default_rng([self.seed, stream, int(index)])

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        rng = self._rng(index)
        ex = self.dataset.random_excerpt(rng, duration=self.options.clip_seconds,
                                         split=self.split, sr=self.sr, channels="mono",
                                         label_sr=self.sr, label_hop=self.hop,
                                         classes=self.classes)
        if ex.labels is None:
            raise InputError(f"track {ex.track!r} of '{self.dataset.root}' has no notes: "
                             f"transcription training needs note labels")
        pianoroll = ex.labels.pianoroll.copy()
        onsets = ex.labels.onsets.copy()
        activity = ex.labels.activity.copy()
        if self.augment:
            audio = self._remix(ex, rng, index, pianoroll, onsets, activity)
        else:
            audio = ex.mixture[0].astype(np.float64)
        pitch_roll = pianoroll[self.pitched].any(axis=0)
        return {"audio": audio.astype(np.float32), "pianoroll": pianoroll, "onsets": onsets,
                "pitch_roll": pitch_roll, "activity": activity}

    def _remix(self, ex: Any, rng: np.random.Generator, index: int,
               pianoroll: np.ndarray, onsets: np.ndarray, activity: np.ndarray
               ) -> np.ndarray:
        opt = self.options
        names = list(ex.stems)
        keep = rng.random(len(names)) >= opt.drop_stem_prob
        if names and not keep.any():
            keep[int(rng.integers(len(names)))] = True
        audio = np.zeros(ex.n_samples, dtype=np.float64)
        eq_rng = self._rng(index, stream=3) if opt.eq_prob > 0 else None
        for name, kept in zip(names, keep, strict=True):
            gain = _db(rng.uniform(-opt.stem_gain_db, opt.stem_gain_db))
            if kept:
                stem = ex.stems[name][0]
                if eq_rng is not None and eq_rng.random() < opt.eq_prob:
                    stem = random_eq(eq_rng, stem, self.sr, max_db=opt.eq_db,
                                     tilt_db=opt.eq_tilt_db)
                audio += gain * stem
            elif name in self.index:
                k = self.index[name]
                pianoroll[k] = False
                onsets[k] = False
                activity[k] = False
        if not names:
            audio = ex.mixture[0].astype(np.float64)
        if rng.random() < opt.noise_prob:
            rms = float(np.sqrt(np.mean(audio ** 2)))
            if rms > 0:
                snr = rng.uniform(*opt.snr_db)
                audio = audio + _noise(rng, len(audio)) * rms / _db(snr)
        peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
        if peak > 0:
            audio *= _db(rng.uniform(*opt.level_db)) / peak
        return audio


# --------------------------------------------------------------------------- loss / eval

_LABEL_KEYS = ("pianoroll", "onsets", "pitch_roll", "activity")


class _Frontend:
    """The model's feature module, built once per device."""

    def __init__(self) -> None:
        self.module: Any = None

    def __call__(self, model: nn.Module, audio: torch.Tensor) -> torch.Tensor:
        from mirkit.train.trainer import unwrap

        if self.module is None:
            self.module = unwrap(model).frontend().to(audio.device)  # type: ignore[operator]
        return self.module(audio)


def make_loss_fn(weights: Mapping[str, float], reduction: str = DEFAULT_REDUCTION) -> Any:
    """``loss_fn(model, batch)`` for the trainer: features, logits, the weighted BCE terms."""
    from mirkit.models.transcription import losses

    frontend = _Frontend()

    def loss_fn(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Any]:
        import torch

        with torch.no_grad():
            features = frontend(model, batch["audio"].float())
        out = model(features)
        labels = {k: batch[k] for k in _LABEL_KEYS}
        terms = losses(out, labels, weights=weights, reduction=reduction)  # type: ignore[arg-type]
        result = {"loss": terms.pop("total")}
        result.update(terms)
        return result

    return loss_fn


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 1.0


def frame_metrics(outputs: Mapping[str, Any], labels: Mapping[str, Any], *,
                  threshold: float = VAL_THRESHOLD,
                  sweep: Sequence[float] = SWEEP_THRESHOLDS) -> dict[str, float]:
    """Frame-level validation metrics from logits and bool labels (counts pooled over all).

    Returns ``pitch_f1``, ``pitch_acc`` (TP / (TP + FP + FN), the multi-pitch accuracy),
    ``roll_f1``, ``activity_f1`` and ``onset_f1`` at ``threshold``; ``<head>_best_f1``, the
    best F1 over the ``sweep`` thresholds (a model early in training is under-confident,
    and decoding thresholds are chosen on validation data anyway); and ``score``, the mean
    of the four best F1 values.
    """
    import torch

    result: dict[str, float] = {}
    best: list[float] = []
    for name, out_key, label_key in (("pitch", "pitch", "pitch_roll"),
                                     ("roll", "roll", "pianoroll"),
                                     ("activity", "instrument", "activity"),
                                     ("onset", "onset", "onsets")):
        if out_key not in outputs:
            continue
        logits = outputs[out_key]
        ref = torch.as_tensor(labels[label_key], device=logits.device).bool()
        n_ref = float(ref.sum())
        f1s = {}
        for t in sorted({threshold, *sweep}):
            pred = logits > math.log(t / (1 - t))
            tp = float((pred & ref).sum())
            fp = float(pred.sum()) - tp
            fn = n_ref - tp
            f1s[t] = _f1(tp, fp, fn)
            if t == threshold:
                result[f"{name}_f1"] = f1s[t]
                if name == "pitch":
                    result["pitch_acc"] = tp / (tp + fp + fn) if tp + fp + fn > 0 else 1.0
        result[f"{name}_best_f1"] = max(f1s.values())
        best.append(result[f"{name}_best_f1"])
    result["score"] = float(np.mean(best))
    return result


def make_eval_fn(weights: Mapping[str, float], reduction: str = DEFAULT_REDUCTION, *,
                 batch_size: int = 8) -> Any:
    """``eval_fn(model, items)`` for the trainer: :func:`frame_metrics` plus the loss."""
    from mirkit.models.transcription import losses

    frontend = _Frontend()

    def eval_fn(model: nn.Module, items: Any) -> dict[str, float]:
        import torch

        device = next(model.parameters()).device
        outs: dict[str, list[torch.Tensor]] = {}
        labs: dict[str, list[torch.Tensor]] = {}
        loss_sum, n_items = 0.0, 0
        for start in range(0, len(items), batch_size):
            batch = [items[i] for i in range(start, min(start + batch_size, len(items)))]
            audio = torch.as_tensor(np.stack([b["audio"] for b in batch])).to(device)
            out = model(frontend(model, audio))
            lab = {k: torch.as_tensor(np.stack([b[k] for b in batch])).to(device)
                   for k in _LABEL_KEYS}
            loss_sum += float(losses(out, lab, weights=weights,
                                     reduction=reduction)["total"]) * len(batch)  # type: ignore[arg-type]
            n_items += len(batch)
            for k, v in out.items():
                outs.setdefault(k, []).append(v)
            for k, v in lab.items():
                labs.setdefault(k, []).append(v)
        metrics = frame_metrics({k: torch.cat(v) for k, v in outs.items()},
                                {k: torch.cat(v) for k, v in labs.items()})
        metrics["loss"] = loss_sum / max(n_items, 1)
        return metrics

    return eval_fn


class _Cached:
    """Validation items decoded once and kept (they are read at every evaluation)."""

    def __init__(self, items: TranscriptionItems) -> None:
        self.items = [items[i] for i in range(len(items))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]


def feature_stats(model: nn.Module, items: TranscriptionItems, count: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and standard deviation of the model's features over ``count`` items."""
    import torch

    frontend = model.frontend()  # type: ignore[operator]
    n_bins = int(model.n_input_bins)  # type: ignore[arg-type]
    total = torch.zeros(n_bins, dtype=torch.float64)
    sq = torch.zeros(n_bins, dtype=torch.float64)
    frames = 0
    with torch.no_grad():
        for i in range(count):
            f = frontend(torch.as_tensor(items[i]["audio"])[None])[0].double()
            total += f.sum(1)
            sq += (f ** 2).sum(1)
            frames += f.shape[1]
    if frames == 0:
        raise InputError("no frames to measure the feature statistics on")
    mean = total / frames
    std = torch.sqrt(torch.clamp(sq / frames - mean ** 2, min=1e-8))
    return mean.numpy(), np.maximum(std.numpy(), 1e-3)


# --------------------------------------------------------------------------- entry point


def train(data: str | Path, output: str | Path, *, config: RecipeConfig | None = None,
          resume: bool = False, max_seconds: float | None = None,
          overrides: Mapping[str, Any] | None = None, command: str | None = None,
          quiet: bool = False) -> Any:
    """Train a transcription U-Net on ``data``; checkpoints and metrics go to ``output``.

    Parameters
    ----------
    data : path
        A multitrack dataset with notes and ``train``/``valid`` splits.
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
    from mirkit.data.datasets import open_dataset
    from mirkit.data.instruments import BY_NAME, CLASSES
    from mirkit.models import transcription_constants as C
    from mirkit.models.transcription import TranscriptionUNet
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
    try:
        dataset = open_dataset(data)
    except InputError as exc:                # no run without data: a usage error (exit 2)
        raise ParameterError(f"--data: {exc}") from None
    model_cfg = dict(cfg.model)
    probe = TranscriptionUNet(**model_cfg)
    sr, hop = int(probe.config["sr"]), int(probe.config["hop"])
    if probe.n_classes != len(CLASSES):
        raise ParameterError(f"model.n_classes {probe.n_classes}: transcription training uses "
                             f"the synth vocabulary of {len(CLASSES)} classes")
    classes = list(CLASSES)
    drums = [c for c in classes if BY_NAME[c].is_drum]
    opt = cfg.data
    common: dict[str, Any] = {"options": opt, "seed": train_cfg.seed, "sr": sr, "hop": hop,
              "classes": classes, "drum_classes": drums}
    train_items = TranscriptionItems(dataset, opt.train_split, augment=True, **common)
    val_items = _Cached(TranscriptionItems(dataset, opt.val_split, augment=False,
                                           count=opt.val_items, **common))
    mean, std = feature_stats(probe, TranscriptionItems(
        dataset, opt.train_split, augment=False, count=opt.stats_items, **common),
        opt.stats_items)

    def build() -> TranscriptionUNet:
        model = TranscriptionUNet(**model_cfg)
        model.set_feature_stats(mean, std)
        return model

    card = {"task": C.TASK, "data": {"root": str(Path(data).resolve()),
                                     "kind": type(dataset).__name__,
                                     "train_tracks": len(train_items.tracks),
                                     "valid_tracks": len(dataset.tracks(opt.val_split)),
                                     "valid_items": len(val_items.items)},
            "recipe": recorded}
    if command:
        card["command"] = command
    trainer = Trainer(build, train_items, val_items,
                      loss_fn=make_loss_fn(cfg.loss_weights, cfg.reduction),
                      eval_fn=make_eval_fn(cfg.loss_weights, cfg.reduction), config=train_cfg,
                      output_dir=out, resume=resume, arch=C.ARCH_NAME,
                      model_config=build().config, card=card, quiet=quiet)
    write_run_config(saved, recorded, is_main=trainer.is_main)
    return trainer.fit(max_seconds=max_seconds)

