"""Compute-device choice: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

:func:`check_device_spec` validates the text without importing torch (for option parsing);
:func:`resolve_device` turns it into a ``torch.device``, checking that it exists.
"""

from __future__ import annotations

import re
from typing import Any

from mirkit.errors import ParameterError

_SPEC = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device_spec(spec: str) -> str:
    """Return ``spec`` normalised (lower case) or raise :class:`ParameterError`."""
    norm = spec.strip().lower()
    if not _SPEC.match(norm):
        raise ParameterError(
            f"--device {spec!r} is not one of auto, cpu, cuda, cuda:N (N = GPU number), mps")
    return norm


def resolve_device(spec: str = "auto") -> Any:
    """The ``torch.device`` for ``spec``.

    ``auto`` picks the first CUDA GPU when one is usable, then Apple's MPS, then the CPU.
    Asking for a device that is not there is a :class:`ParameterError` that says what is.
    """
    import torch

    norm = check_device_spec(spec)
    has_cuda = torch.cuda.is_available()
    has_mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if norm == "auto":
        return torch.device("cuda" if has_cuda else "mps" if has_mps else "cpu")
    if norm.startswith("cuda"):
        if not has_cuda:
            raise ParameterError(f"--device {spec}: no CUDA GPU is usable here (torch "
                                 f"{torch.__version__}); use --device cpu or auto")
        index = int(norm.split(":")[1]) if ":" in norm else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise ParameterError(f"--device {spec}: only {count} CUDA GPU(s), numbered "
                                 f"0..{count - 1}")
        return torch.device("cuda", index)
    if norm == "mps" and not has_mps:
        raise ParameterError(f"--device {spec}: Apple MPS is not available here; use cpu or auto")
    return torch.device(norm)
