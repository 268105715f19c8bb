"""The one training loop every model family uses.

:class:`TrainConfig` holds the options (from a dict, JSON or YAML file); :class:`Trainer`
runs a plain step-based loop over them::

    trainer = Trainer(model_fn, train_data, val_data, loss_fn=loss_fn, eval_fn=eval_fn,
                      config=TrainConfig.from_mapping({"max_steps": 2000}),
                      output_dir="runs/x", arch="transcribe-unet", model_config=cfg)
    result = trainer.fit()

What it does, in order, each step: draw the step's batch (a seeded, endlessly re-shuffled
order of the training items, sliced per rank), ``loss_fn(model, batch)``, backward (AMP on
CUDA), gradient clipping, optimiser and schedule step; every ``log_every`` steps the mean
training loss goes to ``metrics.csv``; every ``eval_every`` steps ``eval_fn(model, val_data)``
is evaluated, logged, and drives ``best.pt`` and early stopping; every ``checkpoint_every``
steps, and at the end, ``last.pt`` is written.

Resuming (``resume=True``) continues from ``last.pt`` exactly: the batch of step *k* depends
only on the seed and *k*, and the checkpoint holds the optimiser, schedule, AMP scaler and
every random generator (of every rank), so an interrupted and resumed run ends with the same
parameters as a straight one. (Randomness inside DataLoader *worker* processes is seeded per
run, not per step; datasets that augment should derive their randomness from the item index.)

Under ``torchrun`` (``WORLD_SIZE`` > 1) the trainer joins the process group (NCCL on CUDA,
gloo on CPU), wraps the model in ``DistributedDataParallel``, gives each rank its slice of
every global batch (``batch_size`` is per process), evaluates each rank on its share of the
validation items and averages the metrics (weighted by share size), and writes files from
rank 0 only. Resuming needs the same global batch (``batch_size`` × processes).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mirkit.errors import MirkitError, ModelError, ParameterError

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Columns of ``metrics.csv``.
METRICS_COLUMNS = ("step", "split", "metric", "value", "seconds")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "step", "onecycle")
#: onecycle: the learning rate rises from ``lr / ONECYCLE_DIV`` and ends at
#: ``lr / ONECYCLE_FINAL_DIV`` (torch's OneCycleLR defaults).
ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4
#: onecycle without ``warmup_steps``: the share of steps spent rising (OneCycleLR's default).
ONECYCLE_PCT_START = 0.3


# --------------------------------------------------------------------------- config


def _fail(name: str, value: Any, want: str) -> ParameterError:
    return ParameterError(f"train config: {name}={value!r} is not valid; {want}")


def _as_int(name: str, value: Any, *, low: int, none_ok: bool = False) -> int | None:
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise _fail(name, value, f"give an integer >= {low}"
                    + (" or null" if none_ok else ""))
    return int(value)


def _as_float(name: str, value: Any, *, low: float, high: float = math.inf,
              low_open: bool = False, high_open: bool = False, none_ok: bool = False
              ) -> float | None:
    if value is None and none_ok:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)       # numeric strings too: YAML reads 1e-3 as a string
    except (TypeError, ValueError):
        number = math.nan
    bad_low = number <= low if low_open else number < low
    bad_high = number >= high if high_open else number > high
    if not math.isfinite(number) or bad_low or bad_high:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise _fail(name, value, f"give a number in {lo}{low:g}, {high:g}{hi}"
                    + (" or null" if none_ok else ""))
    return number


def _as_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise _fail(name, value, f"choose one of {', '.join(choices)}")
    return value.lower()


def _unknown_keys(where: str, given: Mapping[str, Any], known: list[str]) -> None:
    unknown = [k for k in given if k not in known]
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"known keys: {', '.join(known)}")


@dataclasses.dataclass(frozen=True)
class EarlyStopping:
    """Which validation metric is "best", and when to stop.

    Attributes
    ----------
    metric : str
        A key of the dict ``eval_fn`` returns.
    mode : {"min", "max"}
        Whether smaller or larger is better.
    patience : int or None
        Stop after this many evaluations in a row without improvement; ``None`` only
        tracks the best (for ``best.pt``) and never stops.
    min_delta : float
        An improvement must exceed this.
    """

    metric: str
    mode: Literal["min", "max"] = "min"
    patience: int | None = 5
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise _fail("early_stopping.metric", self.metric, "give a metric name")
        object.__setattr__(self, "mode",
                           _as_choice("early_stopping.mode", self.mode, ("min", "max")))
        object.__setattr__(self, "patience", _as_int("early_stopping.patience",
                                                     self.patience, low=1, none_ok=True))
        object.__setattr__(self, "min_delta",
                           _as_float("early_stopping.min_delta", self.min_delta, low=0.0))

    def improved(self, value: float, best: float | None) -> bool:
        """Whether ``value`` beats ``best`` by more than ``min_delta``."""
        if best is None:
            return True
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta


def check_run_config(output: str | os.PathLike[str], recorded: Mapping[str, Any], *,
                     resume: bool) -> Path:
    """``output/config.json``, after checking that a resumed run was made with ``recorded``.

    Recipes write the config they train with (:func:`write_run_config`) into the run folder;
    ``--resume`` with another config is a :class:`ParameterError` (one line), so a run never
    continues under settings it did not start with.
    """
    saved = Path(output) / "config.json"
    if resume and saved.is_file():
        earlier = json.loads(saved.read_text(encoding="utf-8"))
        if earlier != json.loads(json.dumps(recorded)):
            raise ParameterError(f"'{saved}' holds another config than this one: resume with "
                                 f"the same --config, or train into a new --output")
    return saved


def write_run_config(saved: Path, recorded: Mapping[str, Any], *, is_main: bool) -> None:
    """Write ``config.json`` (atomically) unless it exists; only the main process writes."""
    from mirkit.io.atomic import atomic_write

    if is_main and not saved.is_file():
        with atomic_write(saved) as tmp:
            tmp.write_text(json.dumps(recorded, indent=2) + "\n", encoding="utf-8")


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping of options in a ``.json``, ``.yaml`` or ``.yml`` file (empty file: ``{}``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"train config '{p}' cannot be read: "
                             f"{exc.strerror or exc}") from None
    suffix = p.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ParameterError(f"train config '{p}': use a .json, .yaml or .yml file")
    if suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ParameterError(f"train config '{p}' is not valid JSON: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ParameterError(f"train config '{p}' is not valid YAML: {first}"
                                 ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(f"train config '{p}' must hold a mapping of options, not "
                             f"a {type(data).__name__}")
    return data


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options of a training run; every field has a default.

    Build it with :meth:`from_mapping` (unknown keys are a :class:`ParameterError` that
    lists the known ones) or :meth:`from_file` (JSON or YAML). Values are checked on
    construction.

    Attributes
    ----------
    seed : int
        Seeds torch, NumPy, Python ``random``, the data order and DataLoader workers.
    max_steps : int
        Optimiser steps to train (the run ends earlier only by early stopping).
    batch_size : int
        Items per step *per process*; the global batch is this times the process count.
    optimizer : {"adam", "adamw", "sgd"}
    lr, weight_decay : float
    betas : (float, float)
        Adam/AdamW moments.
    momentum : float
        SGD momentum.
    schedule : {"constant", "cosine", "step", "onecycle"}
        Learning-rate factor over the steps: constant; cosine decay to 0 at ``max_steps``;
        multiplied by ``gamma`` every ``step_size`` steps; one-cycle (rise from
        ``lr/25`` over ``warmup_steps``, or 30 % of the steps when 0, then cosine to
        ``lr/1e4``).
    warmup_steps : int
        Linear warm-up from ``lr/warmup_steps`` to ``lr`` (constant, cosine, step).
    step_size : int
    gamma : float
    grad_clip : float or None
        Clip the global gradient 2-norm to this.
    amp : "auto", True or False
        Mixed precision; ``auto`` turns it on on CUDA. It is CUDA-only.
    amp_dtype : {"float16", "bfloat16"}
        float16 uses a gradient scaler; bfloat16 needs none.
    eval_every, checkpoint_every, log_every : int
        In steps.
    keep_checkpoints : int
        Also keep this many ``step-NNNNNNNN.pt`` copies of the latest checkpoints (hard
        links of ``last.pt``); ``best.pt`` is kept regardless.
    early_stopping : EarlyStopping or None
        Mapping ``{"metric", "mode", "patience", "min_delta"}`` in files.
    num_workers : int
        DataLoader worker processes.
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (under torchrun on CUDA each
        process takes the GPU of its ``LOCAL_RANK``).
    find_unused_parameters : bool
        Passed to DistributedDataParallel (models whose loss skips some parameters).
    init_from : str or None
        A checkpoint whose weights start a new run (a fine-tune): same architecture and
        model config; the optimiser, schedule and step count start afresh. Ignored once
        the run has a ``last.pt`` to resume from.
    """

    seed: int = 0
    max_steps: int = 1000
    batch_size: int = 16
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9
    schedule: str = "constant"
    warmup_steps: int = 0
    step_size: int = 1000
    gamma: float = 0.1
    grad_clip: float | None = None
    amp: bool | Literal["auto"] = "auto"
    amp_dtype: str = "float16"
    eval_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 1
    early_stopping: EarlyStopping | None = None
    log_every: int = 50
    num_workers: int = 0
    device: str = "auto"
    find_unused_parameters: bool = False
    init_from: str | None = None

    def __post_init__(self) -> None:
        from mirkit.engine.device import check_device_spec

        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name, low in (("seed", 0), ("max_steps", 1), ("batch_size", 1),
                          ("warmup_steps", 0), ("step_size", 1), ("eval_every", 1),
                          ("checkpoint_every", 1), ("keep_checkpoints", 0),
                          ("log_every", 1), ("num_workers", 0)):
            put(name, _as_int(name, getattr(self, name), low=low))
        put("optimizer", _as_choice("optimizer", self.optimizer, OPTIMIZERS))
        put("schedule", _as_choice("schedule", self.schedule, SCHEDULES))
        put("amp_dtype", _as_choice("amp_dtype", self.amp_dtype, ("float16", "bfloat16")))
        put("lr", _as_float("lr", self.lr, low=0.0, low_open=True))
        put("weight_decay", _as_float("weight_decay", self.weight_decay, low=0.0))
        put("momentum", _as_float("momentum", self.momentum, low=0.0, high=1.0,
                                  high_open=True))
        put("gamma", _as_float("gamma", self.gamma, low=0.0, high=1.0, low_open=True))
        put("grad_clip", _as_float("grad_clip", self.grad_clip, low=0.0, low_open=True,
                                   none_ok=True))
        betas = self.betas
        if not isinstance(betas, (list, tuple)) or len(betas) != 2:
            raise _fail("betas", betas, "give two numbers in [0, 1), e.g. [0.9, 0.999]")
        put("betas", tuple(_as_float("betas", b, low=0.0, high=1.0, high_open=True)
                           for b in betas))
        if self.amp != "auto" and not isinstance(self.amp, bool):
            raise _fail("amp", self.amp, "give auto, true or false")
        for name in ("find_unused_parameters",):
            if not isinstance(getattr(self, name), bool):
                raise _fail(name, getattr(self, name), "give true or false")
        if self.init_from is not None and (not isinstance(self.init_from, str)
                                           or not self.init_from.strip()):
            raise _fail("init_from", self.init_from, "give a checkpoint path")
        if not isinstance(self.device, str):
            raise _fail("device", self.device, "give auto, cpu, cuda, cuda:N or mps")
        try:
            put("device", check_device_spec(self.device))
        except ParameterError:
            raise _fail("device", self.device, "give auto, cpu, cuda, cuda:N or mps") from None
        es = self.early_stopping
        if isinstance(es, Mapping):
            _unknown_keys("train config: early_stopping", es,
                          [f.name for f in dataclasses.fields(EarlyStopping)])
            if "metric" not in es:
                raise _fail("early_stopping", dict(es), "it needs a 'metric' key")
            put("early_stopping", EarlyStopping(**es))
        elif es is not None and not isinstance(es, EarlyStopping):
            raise _fail("early_stopping", es,
                        "give a mapping {metric, mode, patience, min_delta} or null")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None = None, /, **overrides: Any
                     ) -> TrainConfig:
        """A config from ``mapping`` (and keyword ``overrides``), defaults elsewhere."""
        values = {**(mapping or {}), **overrides}
        if not all(isinstance(k, str) for k in values):
            raise ParameterError("train config: keys must be strings")
        _unknown_keys("train config", values, [f.name for f in dataclasses.fields(cls)])
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """A config from a ``.json``, ``.yaml`` or ``.yml`` file holding one mapping."""
        data = read_config_file(path)
        try:
            return cls.from_mapping(data)
        except ParameterError as exc:
            raise ParameterError(f"'{path}': {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (lists, not tuples), as JSON and checkpoints store them."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out


# --------------------------------------------------------------------------- data order


class StepBatchSampler:
    """Dataset indices of every step's batch: an endless, seeded re-shuffle, per rank.

    The items are drawn in the order of ``permutation(epoch 0)``, ``permutation(epoch 1)``,
    ..., each permutation seeded by ``(seed, epoch)``; step ``s`` takes the global positions
    ``s*G .. s*G+G-1`` (``G = batch_size * world_size``), and rank ``r`` the ``r``-th slice
    of ``batch_size`` of them. A batch therefore depends only on the seed and the step,
    which is what makes resuming exact, and the union over ranks equals the batch one
    process with ``batch_size = G`` would draw.

    Iterating yields the batches of steps ``start_step .. stop_step - 1``.
    """

    def __init__(self, n_items: int, *, batch_size: int, seed: int, start_step: int,
                 stop_step: int, rank: int = 0, world_size: int = 1) -> None:
        if n_items < 1:
            raise ParameterError("the training dataset is empty; it needs at least one item")
        self.n_items, self.batch_size, self.seed = n_items, batch_size, seed
        self.start_step, self.stop_step = start_step, stop_step
        self.rank, self.world_size = rank, world_size
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return max(0, self.stop_step - self.start_step)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.stop_step):
            yield self.indices(step)

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = np.random.default_rng([self.seed, epoch]).permutation(
                self.n_items)
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        """The dataset indices this rank uses at ``step`` (0-based)."""
        first = (step * self.world_size + self.rank) * self.batch_size
        out = []
        for pos in range(first, first + self.batch_size):
            epoch, i = divmod(pos, self.n_items)
            out.append(int(self._permutation(epoch)[i]))
        return out


def _seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed NumPy and ``random`` from the worker's torch seed."""
    import torch

    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)  # noqa: NPY002  (the global generator user code draws from)
    random.seed(seed)


def _chain_steps(card: Mapping[str, Any]) -> int:
    """Training steps of the runs a card's ``init_from`` chain names (0 without one; a
    link without a step count adds nothing)."""
    total, link = 0, card.get("init_from")
    while isinstance(link, Mapping):
        steps = link.get("steps")
        total += steps if isinstance(steps, int) and not isinstance(steps, bool) else 0
        link = link.get("init_from")
    return total


def _derived_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint32)[0])


def seed_everything(seed: int) -> None:
    """Seed Python ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (the global generator, on purpose)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- RNG states


def rng_state() -> dict[str, Any]:
    """Every global random generator's state, as tensors and plain values (no pickling)."""
    import torch

    np_state: Any = np.random.get_state()  # noqa: NPY002
    py_version, py_internal, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": (list(torch.cuda.get_rng_state_all()) if torch.cuda.is_initialized()
                 else []),
        "numpy": {"name": str(np_state[0]),
                  "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]),
                  "cached_gaussian": float(np_state[4])},
        "python": {"version": int(py_version),
                   "internal": torch.tensor(py_internal, dtype=torch.int64),
                   "gauss_next": py_gauss},
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    import torch

    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    npy = state["numpy"]
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32),  # noqa: NPY002
                         npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["internal"].tolist()),
                     py["gauss_next"]))


# --------------------------------------------------------------------------- schedule


def lr_factor(step: int, config: TrainConfig) -> float:
    """The learning rate of optimiser step ``step`` (0-based) divided by ``config.lr``."""
    total, warm = config.max_steps, config.warmup_steps
    if config.schedule == "onecycle":
        rise = warm if warm > 0 else max(1, round(ONECYCLE_PCT_START * total))
        start, end = 1.0 / ONECYCLE_DIV, 1.0 / ONECYCLE_FINAL_DIV
        if step < rise:
            t = step / rise
            return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * t))
        t = min(1.0, (step - rise) / max(1, total - rise))
        return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * t))
    if step < warm:
        return (step + 1) / warm
    if config.schedule == "cosine":
        t = min(1.0, (step - warm) / max(1, total - warm))
        return 0.5 * (1.0 + math.cos(math.pi * t))
    if config.schedule == "step":
        return float(config.gamma ** ((step - warm) // config.step_size))
    return 1.0


# --------------------------------------------------------------------------- helpers


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside a DistributedDataParallel wrapper (or the model itself)."""
    from torch.nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _to_device(batch: Any, device: torch.device) -> Any:
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):          # namedtuple
        return type(batch)(*(_to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


@dataclasses.dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns.

    Attributes
    ----------
    step : int
        Optimiser steps done (in total, over resumed runs).
    stopped_early : bool
    best_metric : float or None
        Best value of the early-stopping metric (``None`` without one).
    best_step : int or None
    metrics : dict of str to float
        Latest validation metrics (empty when never evaluated).
    last, best : Path or None
        The checkpoints written (``None`` on ranks other than 0, or when absent).
    """

    step: int
    stopped_early: bool
    best_metric: float | None
    best_step: int | None
    metrics: dict[str, float]
    last: Path | None
    best: Path | None


LossOutput = Any      # a scalar tensor, or a mapping with "loss" and other scalar terms
LossFn = Callable[[Any, Any], LossOutput]
EvalFn = Callable[[Any, Any], Mapping[str, float]]


# --------------------------------------------------------------------------- trainer


class Trainer:
    """Train a model with one plain loop (see the module docstring).

    Parameters
    ----------
    model : nn.Module or callable
        The model, or a zero-argument factory that builds it (preferred: it is then built
        after seeding, so its initial weights follow ``config.seed``).
    train_data : torch Dataset
        Map-style (``len`` and integer indexing); items are collated by the default
        ``collate_fn`` unless ``collate_fn`` is given.
    val_data : any
        Passed to ``eval_fn``. Under torchrun a map-style dataset is split between ranks
        (``Subset``) and the metrics averaged, weighted by share size.
    loss_fn : callable
        ``loss_fn(model, batch)`` with the batch on the device; returns a scalar tensor, or
        a mapping with key ``"loss"`` (optimised) and other scalar terms (logged). ``model``
        may be a DDP wrapper: call it, and use :func:`unwrap` to reach attributes.
    eval_fn : callable, optional
        ``eval_fn(model, val_data) -> dict[str, float]``, called with the bare model in eval
        mode under ``torch.no_grad()``.
    config : TrainConfig or mapping
    output_dir : path-like
        Receives ``metrics.csv``, ``last.pt``, ``best.pt`` and ``step-*.pt``.
    resume : bool
        Continue from ``output_dir/last.pt`` (from step 0 when there is none). Without it an
        ``output_dir`` that already holds a run is a :class:`ParameterError`.
    arch : str, optional
        Architecture name stored in the checkpoints (default: the model's class name).
    model_config : mapping, optional
        The factory's keyword arguments, stored as the checkpoint's ``config``.
    card : mapping, optional
        Model card; the trainer adds ``card["training"]`` (steps, seed, metrics, date).
    collate_fn : callable, optional
        For the training DataLoader.
    log : callable, optional
        Receives one line per evaluation and notes (default: stderr unless ``quiet``).
    quiet : bool
        No progress bar and, with the default ``log``, no lines.
    """

    def __init__(self, model: nn.Module | Callable[[], nn.Module], train_data: Any,
                 val_data: Any = None, *, loss_fn: LossFn, eval_fn: EvalFn | None = None,
                 config: TrainConfig | Mapping[str, Any] | None = None,
                 output_dir: str | os.PathLike[str], resume: bool = False,
                 arch: str | None = None, model_config: Mapping[str, Any] | None = None,
                 card: Mapping[str, Any] | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None,
                 log: Callable[[str], None] | None = None, quiet: bool = False) -> None:
        import torch
        from torch import nn

        from mirkit.engine.device import resolve_device
        from mirkit.io.report import Console

        self.config = (config if isinstance(config, TrainConfig)
                       else TrainConfig.from_mapping(config or {}))
        cfg = self.config
        self.output_dir = Path(output_dir)
        self.train_data, self.val_data = train_data, val_data
        self.loss_fn, self.eval_fn = loss_fn, eval_fn
        self.collate_fn = collate_fn
        self.console = Console(quiet=quiet)
        self._log = log if log is not None else self._note
        if not (hasattr(train_data, "__len__") and hasattr(train_data, "__getitem__")):
            raise ParameterError("train_data must be a map-style dataset (len() and "
                                 "indexing); wrap iterable data in a Dataset")
        if cfg.early_stopping is not None and eval_fn is None:
            raise ParameterError(f"early_stopping on {cfg.early_stopping.metric!r} needs "
                                 f"an eval_fn (and validation data)")

        # distributed setup: torchrun sets WORLD_SIZE, RANK and LOCAL_RANK
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self._owns_group = False
        device = resolve_device(cfg.device)
        if self.world_size > 1 and device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        self.device = device
        if self.distributed:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
                self._owns_group = True
            self.world_size, self.rank = dist.get_world_size(), dist.get_rank()

        use_amp = device.type == "cuda" if cfg.amp == "auto" else cfg.amp
        if use_amp and device.type != "cuda":
            raise ParameterError(f"amp=true needs a CUDA device, but training runs on "
                                 f"{device}; use amp: auto or false")
        self.amp = bool(use_amp)
        self.amp_dtype = torch.float16 if cfg.amp_dtype == "float16" else torch.bfloat16

        # the model: built after seeding, so its initial weights follow the seed
        seed_everything(cfg.seed)
        bare = model if isinstance(model, nn.Module) else model()
        if not isinstance(bare, nn.Module):
            raise ParameterError(f"the model factory returned a {type(bare).__name__}, "
                                 f"not a torch.nn.Module")
        self.arch = arch or type(bare).__name__
        self.model_config = dict(model_config or {})
        self.card = dict(card or {})
        bare.to(device)
        self.model: nn.Module = bare
        self.optimizer = self._make_optimizer(bare)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, cfg))
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.amp and self.amp_dtype == torch.float16)

        # run state (saved in train_state)
        self.step = 0
        self.best_metric: float | None = None
        self.best_step: int | None = None
        self.bad_evals = 0
        self.stopped_early = False
        self.metrics: dict[str, float] = {}
        self._elapsed = 0.0
        self._window: dict[str, Any] = {}       # loss terms summed since the last log
        self._window_steps = 0
        self._pending_rng: dict[str, Any] | None = None
        self._started = time.perf_counter()
        self._last_lr = cfg.lr

        checkpoint = self._prepare_output(resume)
        if checkpoint is not None:
            try:
                self._restore(checkpoint)
            except (KeyError, TypeError, ValueError) as exc:
                if isinstance(exc, MirkitError):
                    raise
                raise ModelError(f"'{self.output_dir / 'last.pt'}' has an incomplete or "
                                 f"foreign train_state ({type(exc).__name__}: {exc}); it "
                                 f"cannot be resumed") from None
        elif cfg.init_from is not None:
            self._initialise(cfg.init_from)
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.model = DistributedDataParallel(
                bare, device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=cfg.find_unused_parameters)
        # training-time randomness differs per rank; a resume restores it in fit()
        seed_everything(_derived_seed(cfg.seed, self.rank))

    # ------------------------------------------------------------------ setup

    def _note(self, message: str) -> None:
        """The default ``log``: a line on stderr, looked up now, so that while the progress
        bar shows, rich's stand-in for stderr prints the line above the bar."""
        from mirkit.io.report import Console

        Console(quiet=self.console.quiet).note(message)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the process that writes files and logs."""
        return self.rank == 0

    def _make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        import torch

        cfg = self.config
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ParameterError(f"the model {type(model).__name__} has no trainable "
                                 f"parameters")
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
        kind = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        return kind(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)

    def _on_main(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on rank 0 and hand its result (or its exception) to every rank."""
        if not self.distributed:
            return fn()
        import torch.distributed as dist

        box: list[Any] = [None]
        if self.is_main:
            try:
                box[0] = ("ok", fn())
            except Exception as exc:        # re-raised on every rank, not only on rank 0
                box[0] = ("error", exc)
        dist.broadcast_object_list(box, src=0)
        status, value = box[0]
        if status == "error":
            raise value
        return value

    def _prepare_output(self, resume: bool) -> dict[str, Any] | None:
        """Check ``output_dir`` and read ``last.pt`` when resuming (rank 0, shared)."""
        last, metrics = self.output_dir / "last.pt", self.output_dir / "metrics.csv"

        def prepare() -> dict[str, Any] | None:
            from mirkit.models.checkpoint import load_checkpoint

            if self.output_dir.exists() and not self.output_dir.is_dir():
                raise ParameterError(f"output '{self.output_dir}' is a file; give a folder")
            if not resume:
                existing = [p.name for p in (last, metrics) if p.exists()]
                if existing:
                    raise ParameterError(
                        f"'{self.output_dir}' already holds a training run "
                        f"({', '.join(existing)}); resume it or choose another output folder")
                self.output_dir.mkdir(parents=True, exist_ok=True)
                return None
            self.output_dir.mkdir(parents=True, exist_ok=True)
            checkpoint = load_checkpoint(last) if last.exists() else None
            if checkpoint is not None and "train_state" not in checkpoint:
                raise ModelError(f"'{last}' has no train_state, so it cannot be resumed")
            step = 0 if checkpoint is None else int(checkpoint["train_state"]["step"])
            self._truncate_metrics(metrics, step)
            return checkpoint

        checkpoint = self._on_main(prepare)
        if resume and checkpoint is None and self.is_main:
            self._log(f"no checkpoint in '{self.output_dir}': training from step 0")
        return checkpoint

    @staticmethod
    def _truncate_metrics(path: Path, step: int) -> None:
        """Drop rows logged after ``step`` (an interrupted run got past its checkpoint)."""
        if not path.exists():
            return
        from mirkit.io.atomic import atomic_write

        with open(path, encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.DictReader(fh)
                    if r.get("step", "").isdigit() and int(r["step"]) <= step]
        with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=METRICS_COLUMNS, lineterminator="\n",
                                    extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        ts = checkpoint["train_state"]
        cfg = self.config
        saved = ts.get("config", {})
        if (saved.get("seed") != cfg.seed
                or saved.get("batch_size", 0) * ts.get("world_size", 1)
                != cfg.batch_size * self.world_size):
            raise ParameterError(
                f"cannot resume '{self.output_dir / 'last.pt'}' with seed {cfg.seed} and "
                f"global batch {cfg.batch_size * self.world_size}: it was trained with seed "
                f"{saved.get('seed')} and global batch "
                f"{saved.get('batch_size', 0) * ts.get('world_size', 1)} (the data order "
                f"would change); use the same seed and batch_size x processes")
        changed = [f"{k} {saved[k]!r} -> {v!r}" for k, v in cfg.to_dict().items()
                   if k in saved and saved[k] != v]
        if changed and self.is_main:
            self._log(f"resuming with changed settings: {'; '.join(changed)}")
        self._load_weights(checkpoint, f"cannot resume '{self.output_dir / 'last.pt'}':")
        self.optimizer.load_state_dict(ts["optimizer"])
        self.scheduler.load_state_dict(ts["scheduler"])
        if ts.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(ts["scaler"])
        self.step = int(ts["step"])
        saved_card = checkpoint.get("card") or {}
        if "init_from" in saved_card:               # a resumed fine-tune keeps its source
            self.card["init_from"] = saved_card["init_from"]
        self.best_metric, self.best_step = ts["best_metric"], ts["best_step"]
        self.bad_evals, self.stopped_early = int(ts["bad_evals"]), bool(ts["stopped_early"])
        self.metrics = dict(ts.get("metrics", {}))
        self._elapsed = float(ts.get("elapsed", 0.0))
        states, windows = ts["rng_states"], ts["loss_windows"]
        mine = self.rank if len(states) == self.world_size else 0
        if len(states) != self.world_size and self.is_main:
            self._log(f"resuming {len(states)}-process state on {self.world_size} "
                      f"processes: the data order is kept, other randomness is not exact")
        self._pending_rng = states[mine]
        window = windows[mine] if len(windows) == self.world_size else {}
        self._window = {k: float(v) for k, v in window.get("sums", {}).items()}
        self._window_steps = int(window.get("steps", 0))

    def _load_weights(self, checkpoint: Mapping[str, Any], what: str) -> None:
        """Load ``checkpoint``'s weights into the model; ``what`` starts the error line."""
        if checkpoint["arch"] != self.arch:
            raise ModelError(f"{what} it holds a {checkpoint['arch']!r} model, not "
                             f"{self.arch!r}")
        try:
            self.model.load_state_dict(checkpoint["state_dict"])
        except RuntimeError as exc:
            raise ModelError(f"{what} its weights do not fit the model "
                             f"({str(exc).splitlines()[0]})") from None

    def _initialise(self, path: str) -> None:
        """Start from the weights of checkpoint ``path`` (``init_from``): a fine-tune."""
        from mirkit.models.checkpoint import file_sha256, load_checkpoint

        source = Path(path)
        checkpoint = load_checkpoint(source)
        theirs = dict(checkpoint.get("config") or {})
        if checkpoint["arch"] == self.arch and self.model_config and theirs != self.model_config:
            # a model may know how to start from a smaller relative (``grow_from``)
            grow = getattr(unwrap(self.model), "grow_from", None)
            if grow is None:
                raise ModelError(f"init_from '{source}' was built with another model config "
                                 f"than this run's: give the same model section")
            try:
                grow(checkpoint["state_dict"], theirs)
            except (ParameterError, RuntimeError) as exc:
                raise ModelError(f"init_from '{source}' was built with another model config "
                                 f"than this run's, and this model cannot grow from it "
                                 f"({str(exc).splitlines()[0]})") from None
        else:
            self._load_weights(checkpoint, f"init_from '{source}':")
        card = checkpoint.get("card") or {}
        steps = card.get("training", {}).get("steps")
        origin: dict[str, Any] = {"path": str(source), "sha256": file_sha256(source),
                                  "steps": steps}
        if "init_from" in card:                     # a fine-tune of a fine-tune: the chain
            origin["init_from"] = card["init_from"]
        self.card["init_from"] = origin
        if self.is_main:
            self._log(f"starting from the weights of '{source}'"
                      + (f" ({steps} steps)" if steps is not None else ""))

    # ------------------------------------------------------------------ loop

    def _loader(self, stop: int) -> Any:
        import torch
        from torch.utils.data import DataLoader

        cfg = self.config
        sampler = StepBatchSampler(len(self.train_data), batch_size=cfg.batch_size,
                                   seed=cfg.seed, start_step=self.step,
                                   stop_step=stop, rank=self.rank,
                                   world_size=self.world_size)
        generator = torch.Generator().manual_seed(
            _derived_seed(cfg.seed, self.rank, self.step))
        kwargs: dict[str, Any] = {}
        if self.collate_fn is not None:
            kwargs["collate_fn"] = self.collate_fn
        return DataLoader(self.train_data, batch_sampler=sampler,
                          num_workers=cfg.num_workers, worker_init_fn=_seed_worker,
                          generator=generator, pin_memory=self.device.type == "cuda",
                          **kwargs)

    def fit(self, *, stop_at: int | None = None, max_seconds: float | None = None
            ) -> TrainResult:
        """Train to ``max_steps`` (or an early stop); return a :class:`TrainResult`.

        Parameters
        ----------
        stop_at : int, optional
            Pause after this step: write ``last.pt`` and return; ``resume=True`` goes on
            from there exactly (the schedule still spans ``max_steps``).
        max_seconds : float, optional
            Pause after the step during which this many seconds of this call have passed
            (to spread a long run over time-limited jobs).
        """
        cfg = self.config
        try:
            if self.stopped_early or self.step >= cfg.max_steps:
                if self.is_main:
                    self._log(f"nothing to do: the run in '{self.output_dir}' already "
                              f"{'stopped early' if self.stopped_early else 'reached'} "
                              f"at step {self.step}")
                return self._result()
            stop = cfg.max_steps if stop_at is None else min(cfg.max_steps, stop_at)
            loader = self._loader(stop)
            if self._pending_rng is not None:
                set_rng_state(self._pending_rng)
                self._pending_rng = None
            deadline = None if max_seconds is None else time.perf_counter() + max_seconds
            self._run(loader, stop, deadline)
            if self.distributed:
                import torch.distributed as dist

                dist.barrier()
            return self._result()
        finally:
            if self._owns_group:
                import gc

                import torch.distributed as dist

                # Drop the DDP wrapper (its reducer holds the process group) and destroy the
                # group while the interpreter is fully alive: a gloo group torn down during
                # interpreter exit can abort the process after a successful run.
                self.model = unwrap(self.model)
                gc.collect()
                dist.destroy_process_group()
                self._owns_group = False

    def _out_of_time(self, deadline: float | None) -> bool:
        """Whether ``deadline`` has passed (on any rank, so that all ranks agree)."""
        if deadline is None:
            return False
        late = time.perf_counter() >= deadline
        if not self.distributed:
            return late
        import torch
        import torch.distributed as dist

        flag = torch.tensor([float(late)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def _run(self, loader: Any, stop: int, deadline: float | None) -> None:
        """The loop: step, log, evaluate, checkpoint, until ``stop`` or an early stop."""
        cfg = self.config
        self._started = time.perf_counter() - self._elapsed
        with self.console.progress(stop - self.step, "training") as bar:
            for batch in loader:
                self._train_step(batch)
                self.step += 1
                bar.advance(1)
                if self.step % cfg.log_every == 0:
                    self._log_training()
                if self.eval_fn is not None and self.step % cfg.eval_every == 0:
                    self._evaluate()
                finished = self.stopped_early or self.step >= cfg.max_steps
                paused = not finished and (self.step >= stop or self._out_of_time(deadline))
                on_schedule = self.step % cfg.checkpoint_every == 0
                if on_schedule or finished or paused:
                    self._checkpoint(numbered=on_schedule)
                if paused and self.is_main:
                    self._log(f"step {self.step}/{cfg.max_steps}: paused; continue with "
                              f"resume from '{self.output_dir / 'last.pt'}'")
                if finished or paused:
                    break

    def _train_step(self, batch: Any) -> None:
        import torch

        cfg = self.config
        self.model.train()
        batch = _to_device(batch, self.device)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            out = self.loss_fn(self.model, batch)
        terms = dict(out) if isinstance(out, Mapping) else {"loss": out}
        if "loss" not in terms or not isinstance(terms["loss"], torch.Tensor):
            raise ParameterError("loss_fn must return a scalar tensor or a mapping with a "
                                 "tensor under 'loss'")
        loss = terms["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss.float()).backward()
        if cfg.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(unwrap(self.model).parameters(), cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self._last_lr = float(self.optimizer.param_groups[0]["lr"])
        self.scheduler.step()
        for name, value in terms.items():       # summed on the device: no sync per step
            term = value.detach().float() if isinstance(value, torch.Tensor) else value
            self._window[name] = self._window.get(name, 0.0) + term
        self._window_steps += 1

    # ------------------------------------------------------------------ logging

    def _mean_over_ranks(self, values: dict[str, float], weight: float = 1.0
                         ) -> dict[str, float]:
        """Average ``values`` over ranks, weighted by ``weight`` (keys must agree)."""
        if not self.distributed:
            return values
        import torch
        import torch.distributed as dist

        names = list(values)
        every: list[Any] = [None] * self.world_size
        dist.all_gather_object(every, names)
        if any(other != names for other in every):
            raise ParameterError(f"ranks report different metric names ({every}); eval_fn "
                                 f"must return the same keys, in the same order, on every rank")
        buf = torch.tensor([weight * values[k] for k in names] + [weight],
                           dtype=torch.float64, device=self.device)
        dist.all_reduce(buf)
        total = float(buf[-1])
        return {k: float(buf[i]) / total for i, k in enumerate(names)}

    def _seconds(self) -> float:
        """Wall seconds of training so far, over resumed runs too."""
        return time.perf_counter() - self._started

    def _write_rows(self, split: str, values: Mapping[str, float]) -> None:
        if not self.is_main:
            return
        path = self.output_dir / "metrics.csv"
        new = not path.exists() or path.stat().st_size == 0
        seconds = round(self._seconds(), 3)
        with open(path, "a", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            if new:
                writer.writerow(METRICS_COLUMNS)
            for name, value in values.items():
                writer.writerow([self.step, split, name, repr(float(value)), seconds])

    def _log_training(self) -> None:
        n = max(1, self._window_steps)
        means = self._mean_over_ranks({k: float(v) / n for k, v in self._window.items()})
        self._window, self._window_steps = {}, 0
        if not math.isfinite(means["loss"]):
            raise ParameterError(f"the training loss became {means['loss']} before step "
                                 f"{self.step}; lower lr, set grad_clip, or check the data")
        means["lr"] = self._last_lr       # the rate the latest step used
        self._write_rows("train", means)

    def _evaluate(self) -> None:
        import torch
        from torch.utils.data import Subset

        data, weight = self.val_data, 1.0
        if self.distributed and hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            data = Subset(data, range(self.rank, len(data), self.world_size))
            weight = float(len(data))
        bare = unwrap(self.model)
        bare.eval()
        try:
            with torch.no_grad():
                raw = self.eval_fn(bare, data) if self.eval_fn is not None else {}
        finally:
            bare.train()
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
            raise ParameterError(f"eval_fn must return a dict of metric name to number, "
                                 f"not {type(raw).__name__}")
        try:
            values = {k: float(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise ParameterError(f"eval_fn returned a non-number among {dict(raw)!r}; "
                                 f"return dict[str, float]") from None
        self.metrics = self._mean_over_ranks(values, weight)
        self._write_rows("val", self.metrics)
        summary = ", ".join(f"{k} {v:.4g}" for k, v in self.metrics.items())
        es = self.config.early_stopping
        note = ""
        if es is not None:
            if es.metric not in self.metrics:
                raise ParameterError(f"early_stopping metric {es.metric!r} is not among the "
                                     f"metrics eval_fn returns: {', '.join(self.metrics)}")
            value = self.metrics[es.metric]
            if es.improved(value, self.best_metric):
                self.best_metric, self.best_step, self.bad_evals = value, self.step, 0
                self._checkpoint(best_only=True)
                note = " (best)"
            else:
                self.bad_evals += 1
                if es.patience is not None and self.bad_evals >= es.patience:
                    self.stopped_early = True
                    note = (f" (no better {es.metric} in {self.bad_evals} evaluations: "
                            f"stopping; best {self.best_metric:.4g} at step {self.best_step})")
        if self.is_main:
            self._log(f"step {self.step}/{self.config.max_steps}: {summary}{note}")

    # ------------------------------------------------------------------ checkpoints

    def _train_state(self) -> dict[str, Any]:
        """Everything a resume needs; collective under DDP (gathers every rank's RNG)."""
        n = self._window_steps
        mine = ({"rng": rng_state(),
                 "window": {"sums": {k: float(v) for k, v in self._window.items()},
                            "steps": n}})
        if self.distributed:
            import torch.distributed as dist

            gathered: list[Any] = [None] * self.world_size
            dist.all_gather_object(gathered, mine)
        else:
            gathered = [mine]
        return {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng_states": [g["rng"] for g in gathered],
            "loss_windows": [g["window"] for g in gathered],
            "world_size": self.world_size,
            "best_metric": self.best_metric,
            "best_step": self.best_step,
            "bad_evals": self.bad_evals,
            "stopped_early": self.stopped_early,
            "metrics": dict(self.metrics),
            "elapsed": float(self._seconds()),
            "config": self.config.to_dict(),
        }

    def _card(self) -> dict[str, Any]:
        """The model card: the given one, the ``init_from`` chain and ``training``
        (``steps`` of this run; ``total_steps`` with those of the runs it started from)."""
        es = self.config.early_stopping
        training: dict[str, Any] = {
            "steps": self.step, "total_steps": self.step + _chain_steps(self.card),
            "seed": self.config.seed, "processes": self.world_size,
            "metrics": dict(self.metrics),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")}
        if es is not None and self.best_metric is not None:
            training["best"] = {"metric": es.metric, "value": self.best_metric,
                                "step": self.best_step}
        return {**self.card, "training": training}

    def _checkpoint(self, *, numbered: bool = False, best_only: bool = False) -> None:
        from mirkit.models.checkpoint import save_checkpoint

        train_state = self._train_state()
        if not self.is_main:
            return
        save_checkpoint(self.output_dir / ("best.pt" if best_only else "last.pt"),
                        arch=self.arch, config=self.model_config,
                        state_dict=unwrap(self.model).state_dict(), card=self._card(),
                        train_state=train_state)
        if numbered and self.config.keep_checkpoints > 0:
            self._keep_numbered()

    def _keep_numbered(self) -> None:
        """Hard-link ``last.pt`` as ``step-NNNNNNNN.pt``; delete all but the newest N."""
        import shutil

        from mirkit.io.atomic import atomic_write

        last = self.output_dir / "last.pt"
        target = self.output_dir / f"step-{self.step:08d}.pt"
        with atomic_write(target) as tmp:
            tmp.unlink()
            try:
                os.link(last, tmp)
            except OSError:
                shutil.copyfile(last, tmp)
        numbered = sorted(self.output_dir.glob("step-*.pt"))
        for old in numbered[:-self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)

    def _result(self) -> TrainResult:
        last, best = self.output_dir / "last.pt", self.output_dir / "best.pt"
        return TrainResult(step=self.step, stopped_early=self.stopped_early,
                           best_metric=self.best_metric, best_step=self.best_step,
                           metrics=dict(self.metrics),
                           last=last if self.is_main and last.exists() else None,
                           best=best if self.is_main and best.exists() else None)
