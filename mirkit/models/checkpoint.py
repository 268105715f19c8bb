"""Self-describing checkpoints: write atomically, read with ``torch.load(weights_only=True)``.

A mirkit checkpoint is a plain dict (no pickled classes)::

    {"arch": str,              # registry name of the architecture factory
     "config": dict,           # keyword arguments of that factory
     "state_dict": dict,       # parameter and buffer tensors of the model
     "card": dict,             # model card: data, command, seed, metrics, date
     "train_state": dict}      # optional: what the trainer needs to resume exactly

Every value is a tensor, dict, list, tuple, str, int, float, bool or None, so the file
loads with ``weights_only=True`` and loading never runs code from the file.
:func:`save_checkpoint` checks this before writing, so a file that could not be read back is
never written.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mirkit.errors import ModelError

#: Keys every checkpoint has, and the type each value must have.
REQUIRED_KEYS: dict[str, type] = {"arch": str, "config": dict, "state_dict": dict, "card": dict}


def _check_plain(value: Any, where: str) -> None:
    """Raise :class:`ModelError` unless ``value`` is made of types ``weights_only`` accepts."""
    import torch

    # exact types: subclasses (numpy.float64 is a float, StrEnum a str) pickle as classes
    if value is None or type(value) in (str, bool, int, float) or isinstance(value,
                                                                             torch.Tensor):
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            if type(key) not in (str, int):
                raise ModelError(f"cannot save checkpoint: key {key!r} in {where} is a "
                                 f"{type(key).__name__}; use str or int keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    raise ModelError(f"cannot save checkpoint: {where} is a {type(value).__module__}."
                     f"{type(value).__qualname__}; only tensors, dicts, lists, str, int, "
                     f"float, bool and None can be stored (convert it, e.g. with float())")


def save_checkpoint(path: str | os.PathLike[str], *, arch: str, config: Mapping[str, Any],
                    state_dict: Mapping[str, Any], card: Mapping[str, Any],
                    train_state: Mapping[str, Any] | None = None) -> Path:
    """Write a checkpoint to ``path`` atomically (temporary file, fsync, rename).

    Parameters
    ----------
    path : path-like
        Target file, conventionally ``*.pt``; its folder is created if needed.
    arch : str
        Architecture name, the key of the model factory in the registry.
    config : mapping
        Keyword arguments that rebuild the model: ``factory(**config)``.
    state_dict : mapping of str to torch.Tensor
        The model's ``state_dict()`` (of the bare model, not a DDP wrapper).
    card : mapping
        Model card (training data, command, seed, metrics, date).
    train_state : mapping, optional
        Trainer state for ``--resume``; left out for shipped weights.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ModelError
        When a value is not storable without pickling classes (the message names it).
    """
    import torch

    from mirkit.io.atomic import atomic_write

    if not isinstance(arch, str) or not arch:
        raise ModelError(f"cannot save checkpoint '{path}': arch {arch!r} must be a "
                         f"non-empty str")
    payload: dict[str, Any] = {"arch": arch, "config": dict(config),
                               "state_dict": state_dict, "card": dict(card)}
    if train_state is not None:
        payload["train_state"] = dict(train_state)
    for key, value in payload.items():
        _check_plain(value, key)
    target = Path(path)
    with atomic_write(target) as tmp, open(tmp, "wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    return target


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[:limit - 3] + "..."


def load_checkpoint(path: str | os.PathLike[str], *, map_location: Any = "cpu"
                    ) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Uses ``torch.load(..., weights_only=True)``: no code from the file runs.

    Parameters
    ----------
    path : path-like
        The ``.pt`` file.
    map_location : str or torch.device
        Where tensors are placed (default ``"cpu"``).

    Returns
    -------
    dict
        With keys ``arch``, ``config``, ``state_dict``, ``card`` and, for training
        checkpoints, ``train_state``.

    Raises
    ------
    ModelError
        The file is missing, unreadable, corrupt or truncated, holds pickled classes, or is
        not a dict with the keys above (one line naming the file and the problem).
    """
    import pickle
    import zipfile

    import torch

    p = Path(path)
    if not p.exists():
        raise ModelError(f"checkpoint '{p}' does not exist; check the path, or train one "
                         f"with `mirkit train`")
    if p.is_dir():
        raise ModelError(f"checkpoint '{p}' is a directory; give the .pt file "
                         f"(e.g. '{p / 'last.pt'}')")
    if not zipfile.is_zipfile(p):           # torch.save writes a zip archive
        raise ModelError(f"'{p}' is not a readable checkpoint (corrupt or truncated file?): "
                         f"it is not a torch zip archive")
    try:
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"a pickled {found.group(1)}" if found else _first_line(exc)
        raise ModelError(f"'{p}' is not a mirkit checkpoint: it holds Python objects that "
                         f"are not loaded for safety ({what}); only tensors and plain "
                         f"values are allowed") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile,
            KeyError, AttributeError, TypeError) as exc:
        raise ModelError(f"'{p}' is not a readable checkpoint (corrupt or truncated file?): "
                         f"{_first_line(exc)}") from None
    if not isinstance(obj, dict):
        raise ModelError(f"'{p}' is not a mirkit checkpoint: it holds a "
                         f"{type(obj).__name__}, not a dict")
    for key, kind in REQUIRED_KEYS.items():
        if key not in obj:
            raise ModelError(f"'{p}' is not a mirkit checkpoint: missing key '{key}'")
        if not isinstance(obj[key], kind):
            raise ModelError(f"'{p}' is not a mirkit checkpoint: '{key}' is a "
                             f"{type(obj[key]).__name__}, expected {kind.__name__}")
    if "train_state" in obj and not isinstance(obj["train_state"], dict):
        raise ModelError(f"'{p}' is not a mirkit checkpoint: 'train_state' is a "
                         f"{type(obj['train_state']).__name__}, expected dict")
    return obj
