"""mirkit: a music information retrieval toolkit behind one ``mirkit`` command line.

Heavy dependencies (torch, librosa, music21) are imported lazily: ``import mirkit`` is cheap and
the public task functions are resolved on first use.
"""

from __future__ import annotations

from typing import Any

from mirkit._version import __version__
from mirkit.errors import InputError, MirkitError, ModelError, OutputExistsError, ParameterError

__all__ = [
    "__version__",
    "MirkitError",
    "InputError",
    "OutputExistsError",
    "ParameterError",
    "ModelError",
    "make_dmelodies",
    "synth",
    "train",
    "transcribe",
    "transcribe_audio",
]

# public name -> module that defines it (imported on first attribute access)
_LAZY = {
    "make_dmelodies": "mirkit.tasks.make_dmelodies",
    "synth": "mirkit.tasks.synth",
    "train": "mirkit.tasks.train",
    "transcribe": "mirkit.tasks.transcribe",
    "transcribe_audio": "mirkit.tasks.transcribe",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mirkit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
