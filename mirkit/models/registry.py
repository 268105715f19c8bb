"""The model registry: model names -> architecture, constructor config, weights and card.

Table-driven, in three parts:

- **Architectures**: factories ``build(**config) -> nn.Module`` registered by the model
  family modules with :func:`register_architecture`.
- **Shipped models**: rows of ``mirkit/pretrained/models.json`` (data, not code). Each names
  its architecture, constructor config, weights file (inside ``mirkit/pretrained/``), the
  file's sha256 and its model card (``<name>.json`` beside it: training data, exact training
  command, seed, metrics, date). Weights are verified against the sha256 before loading.
- **Test models** (``*-test``): tiny configs with seeded random weights, declared by family
  modules with :func:`register_test_model`, so CLI tests run fast without weight files.

Family modules are listed in :data:`FAMILY_MODULES`; each defines ``register()``, which the
registry calls once, on first use, to register its architectures and test models.

Checkpoints describe themselves (``{"arch", "config", "state_dict", "card"}``, see
:mod:`mirkit.models.checkpoint`), so ``--model PATH`` loads any checkpoint our trainer wrote.
Nothing is downloaded: a missing weights file is a :class:`~mirkit.errors.ModelError` that
names the path and the command that makes it.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirkit.errors import ModelError, ParameterError

#: Modules that define model families; each has a ``register()`` function.
FAMILY_MODULES: tuple[str, ...] = ("mirkit.models.transcription", "mirkit.models.inpaint",
                                   "mirkit.models.melody")
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
TABLE_FILE = PRETRAINED_DIR / "models.json"

ARCHITECTURES: dict[str, Callable[..., Any]] = {}
_TEST_MODELS: dict[str, ModelEntry] = {}
_registered = False


@dataclass(frozen=True)
class ModelEntry:
    """One registered model.

    Attributes
    ----------
    name : str
        What ``--model`` accepts.
    arch : str
        Architecture name (a key of :data:`ARCHITECTURES`).
    config : dict
        Constructor keyword arguments.
    task : str
        The subcommand family it serves (``transcribe``, ``separate``, ...).
    weights : str or None
        Weights file name inside ``mirkit/pretrained`` (None for test models).
    sha256 : str or None
        Expected sha256 of the weights file.
    seed : int or None
        Seed of the random weights of a test model.
    description : str
    """

    name: str
    arch: str
    config: dict[str, Any] = field(default_factory=dict)
    task: str = ""
    weights: str | None = None
    sha256: str | None = None
    seed: int | None = None
    description: str = ""

    @property
    def is_test(self) -> bool:
        return self.weights is None

    @property
    def weights_path(self) -> Path | None:
        return PRETRAINED_DIR / self.weights if self.weights else None

    @property
    def card_path(self) -> Path | None:
        return PRETRAINED_DIR / f"{self.name}.json" if self.weights else None


@dataclass
class LoadedModel:
    """A model ready for inference (eval mode, on its device) and where it came from."""

    module: Any
    name: str
    arch: str
    config: dict[str, Any]
    card: dict[str, Any]


def register_architecture(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``factory(**config) -> nn.Module`` under ``name``."""
    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in ARCHITECTURES and ARCHITECTURES[name] is not factory:
            raise ValueError(f"architecture {name!r} is registered twice")
        ARCHITECTURES[name] = factory
        return factory
    return decorate


def register_test_model(name: str, *, arch: str, config: dict[str, Any], task: str,
                        seed: int = 0, description: str = "") -> None:
    """Declare a tiny random-weight model (the name must end in ``-test``)."""
    if not name.endswith("-test"):
        raise ValueError(f"test model names end in '-test', got {name!r}")
    _TEST_MODELS[name] = ModelEntry(name=name, arch=arch, config=dict(config), task=task,
                                    seed=seed, description=description or
                                    f"tiny {arch} with random weights (seed {seed}) for tests")


def _ensure_registered() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    for module in FAMILY_MODULES:
        importlib.import_module(module).register()


def _shipped() -> dict[str, ModelEntry]:
    if not TABLE_FILE.is_file():
        return {}
    try:
        rows = json.loads(TABLE_FILE.read_text(encoding="utf-8"))["models"]
        return {r["name"]: ModelEntry(name=r["name"], arch=r["arch"], config=r["config"],
                                      task=r["task"], weights=r["weights"], sha256=r["sha256"],
                                      description=r.get("description", ""))
                for r in rows}
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the model table '{TABLE_FILE}' is malformed: {exc}") from exc


def list_models(task: str | None = None) -> list[ModelEntry]:
    """Every registered model (shipped ones first), optionally only those of ``task``."""
    _ensure_registered()
    entries = [*_shipped().values(), *_TEST_MODELS.values()]
    return [e for e in entries if task is None or e.task == task]


def get_entry(name: str) -> ModelEntry:
    """The entry of a model name; an unknown name is a ModelError suggesting close ones."""
    _ensure_registered()
    table = {**_shipped(), **_TEST_MODELS}
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name, list(table), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ModelError(f"unknown model {name!r}{hint} (`mirkit models list` shows them; "
                     f"--model also takes a checkpoint file path)")


def model_card(name: str) -> dict[str, Any]:
    """The card of a model: training data, command, seed, metrics, date (test models: none)."""
    entry = get_entry(name)
    if entry.card_path is None:
        return {"name": entry.name, "description": entry.description, "weights": "random",
                "seed": entry.seed}
    if not entry.card_path.is_file():
        raise ModelError(f"model {name!r} has no card at '{entry.card_path}'")
    return json.loads(entry.card_path.read_text(encoding="utf-8"))


def build(arch: str, config: dict[str, Any]) -> Any:
    """Construct an architecture (ModelError for an unknown name or bad config)."""
    _ensure_registered()
    factory = ARCHITECTURES.get(arch)
    if factory is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelError(f"unknown architecture {arch!r}; known: {known}")
    try:
        return factory(**config)
    except TypeError as exc:
        raise ModelError(f"architecture {arch!r} does not take this config: {exc}") from exc


def _looks_like_path(spec: str) -> bool:
    return os.sep in spec or "/" in spec or spec.endswith((".pt", ".pth", ".ckpt")) or Path(
        spec).exists()


def load_model(spec: str | os.PathLike[str], *, device: Any = None,
               task: str | None = None) -> LoadedModel:
    """Load ``--model NAME|PATH`` for inference (eval mode, on ``device``).

    Parameters
    ----------
    spec : str or path
        A registered model name, or a checkpoint file written by mirkit's trainer.
    device : torch.device or str, optional
        Where to put it (CPU by default).
    task : str, optional
        Refuse a model made for another task (e.g. a separation model given to
        ``transcribe``) with a clear error.
    """
    import torch

    from mirkit.models.checkpoint import file_sha256, load_checkpoint

    text = os.fspath(spec)
    if _looks_like_path(text):
        path = Path(text)
        if not path.is_file():
            raise ModelError(f"model file '{path}' does not exist")
        ckpt = load_checkpoint(path)
        arch, config, card = ckpt["arch"], dict(ckpt["config"]), dict(ckpt.get("card") or {})
        name, state = path.name, ckpt["state_dict"]
        entry_task = card.get("task")
    else:
        entry = get_entry(text)
        arch, config, name, entry_task = entry.arch, dict(entry.config), entry.name, entry.task
        state = None
        if entry.is_test:
            card = model_card(name)
        else:
            path = entry.weights_path  # type: ignore[assignment]
            if path is None or not path.is_file():
                raise ModelError(f"weights of model {name!r} are missing at '{path}'; reinstall "
                                 f"mirkit or retrain with the command in its card "
                                 f"(mirkit models info {name})")
            digest = file_sha256(path)
            if entry.sha256 and digest != entry.sha256:
                raise ModelError(f"weights '{path}' of model {name!r} are corrupt: sha256 "
                                 f"{digest[:12]}… differs from the registered "
                                 f"{entry.sha256[:12]}…; reinstall mirkit")
            ckpt = load_checkpoint(path)
            state, card = ckpt["state_dict"], model_card(name)
    if task is not None and entry_task and entry_task != task:
        raise ModelError(f"model {name!r} is a {entry_task} model, not a {task} model")
    if state is None:                          # a test model: seeded random weights
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(get_entry(name).seed or 0))
            module = build(arch, config)
    else:
        module = build(arch, config)
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ModelError(f"weights of {name!r} do not fit architecture {arch!r}: "
                             f"{first}") from exc
    module.eval()
    if device is not None:
        module.to(device)
    return LoadedModel(module=module, name=name, arch=arch, config=config, card=card)


#: Storage types of shipped weights (:func:`export_model`); loading always casts the
#: floating-point tensors to the model's own type.
EXPORT_DTYPES = ("float32", "float16")


def export_model(checkpoint: str | os.PathLike[str], name: str, *, description: str = "",
                 card_extra: dict[str, Any] | None = None,
                 into: str | os.PathLike[str] | None = None,
                 dtype: str = "float32") -> ModelEntry:
    """Turn a trainer checkpoint into a shipped model: weights, card and table row.

    Writes ``into/NAME.pt`` (the checkpoint without its training state), ``into/NAME.json``
    (the checkpoint's card, updated with ``card_extra``, e.g. measured test metrics) and
    adds or replaces the row of ``NAME`` in ``into/models.json`` with the file's sha256.
    ``into`` defaults to the package's ``pretrained`` folder. Every file is written
    atomically. ``dtype="float16"`` stores the floating-point weights in half precision
    (half the file; they are loaded back as float32, so measure the shipped file); the card
    records it as ``weights_dtype``.
    """
    import torch

    from mirkit.io.atomic import atomic_write
    from mirkit.models.checkpoint import file_sha256, load_checkpoint, save_checkpoint

    if not name or name.endswith("-test") or "/" in name or name != name.strip():
        raise ModelError(f"model name {name!r} is not valid: a plain name not ending in -test")
    if dtype not in EXPORT_DTYPES:
        raise ParameterError(f"dtype {dtype!r} is not one of {', '.join(EXPORT_DTYPES)}")
    folder = Path(into) if into is not None else PRETRAINED_DIR
    ckpt = load_checkpoint(checkpoint)
    card = {**dict(ckpt.get("card") or {}), **dict(card_extra or {}), "name": name,
            "weights_dtype": dtype}
    task = str(card.get("task") or "")
    weights = folder / f"{name}.pt"
    state = dict(ckpt["state_dict"])
    if dtype == "float16":
        state = {k: v.half() if torch.is_floating_point(v) else v for k, v in state.items()}
    save_checkpoint(weights, arch=ckpt["arch"], config=ckpt["config"], state_dict=state,
                    card=card)
    entry = ModelEntry(name=name, arch=ckpt["arch"], config=dict(ckpt["config"]), task=task,
                       weights=weights.name, sha256=file_sha256(weights),
                       description=description or str(card.get("description", "")))
    with atomic_write(folder / f"{name}.json") as tmp:
        tmp.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    table = folder / "models.json"
    rows: list[dict[str, Any]] = []
    if table.is_file():
        rows = [r for r in json.loads(table.read_text(encoding="utf-8"))["models"]
                if r.get("name") != name]
    rows.append({"name": entry.name, "arch": entry.arch, "config": entry.config,
                 "task": entry.task, "weights": entry.weights, "sha256": entry.sha256,
                 "description": entry.description})
    rows.sort(key=lambda r: r["name"])
    with atomic_write(table) as tmp:
        tmp.write_text(json.dumps({"models": rows}, indent=2) + "\n", encoding="utf-8")
    return entry
