"""Inference settings shared by every model family: device, no-grad mode, AMP and threads.

A task runs its model like this::

    model = move(model, device)
    with inference_context(device, threads=jobs) as dev:
        frames = overlap_discard(model, audio, chunk=..., context=..., device=dev)

:func:`inference_context` switches autograd off (``torch.inference_mode``), turns on mixed
precision on CUDA (bfloat16 where the GPU supports it, float16 otherwise) and sets the CPU
thread count for its duration; everything is restored on exit.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from typing import TypeAlias, TypeVar

import torch
from torch import nn

from mirkit.engine.device import resolve_device
from mirkit.errors import ParameterError

__all__ = ["DeviceLike", "as_device", "inference_context", "move"]

#: A device as the CLI spells it (``"auto"``, ``"cpu"``, ``"cuda:1"``, ...) or a ``torch.device``.
DeviceLike: TypeAlias = str | torch.device

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def as_device(device: DeviceLike) -> torch.device:
    """The ``torch.device`` for ``device``.

    Parameters
    ----------
    device : str or torch.device
        A ``torch.device`` (returned as is) or a spec that
        :func:`mirkit.engine.device.resolve_device` understands (``"auto"`` picks CUDA when
        present).

    Raises
    ------
    ParameterError
        The spec is malformed or names a device that is not there.
    """
    if isinstance(device, torch.device):
        return device
    if isinstance(device, str):
        resolved: torch.device = resolve_device(device)
        return resolved
    raise ParameterError(
        f"device={device!r} is not valid: give 'auto', 'cpu', 'cuda', 'cuda:N', 'mps' "
        "or a torch.device"
    )


@contextlib.contextmanager
def inference_context(
    device: DeviceLike,
    *,
    amp: bool | None = None,
    threads: int | None = None,
) -> Iterator[torch.device]:
    """Run the enclosed code as inference on ``device``.

    Parameters
    ----------
    device : str or torch.device
        The compute device (see :func:`as_device`).
    amp : bool or None, optional
        Mixed precision (``torch.autocast``, bfloat16 where supported, else float16).
        ``None`` means on for CUDA and off elsewhere; ``True`` requires a CUDA device.
    threads : int or None, optional
        CPU threads for torch's intra-op parallelism during the block (restored on exit);
        ``None`` leaves the current setting.

    Yields
    ------
    torch.device
        The resolved compute device.

    Raises
    ------
    ParameterError
        ``device`` is not valid, ``amp=True`` without CUDA, or ``threads`` is not a whole
        number of at least 1.
    """
    dev = as_device(device)
    use_amp = dev.type == "cuda" if amp is None else bool(amp)
    if use_amp and dev.type != "cuda":
        raise ParameterError(
            f"amp=True needs a CUDA device, not {dev}: use amp=None (automatic) or amp=False"
        )
    if threads is not None and (not isinstance(threads, numbers.Integral)
                                or isinstance(threads, bool) or threads < 1):
        raise ParameterError(
            f"threads={threads!r} is not valid: give a whole number of CPU threads, 1 or more"
        )
    with contextlib.ExitStack() as stack:
        if threads is not None:
            stack.callback(torch.set_num_threads, torch.get_num_threads())
            torch.set_num_threads(int(threads))
        stack.enter_context(torch.inference_mode())
        if use_amp:
            with torch.cuda.device(dev):
                half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            stack.enter_context(torch.autocast(device_type="cuda", dtype=half))
        yield dev


def move(module: ModuleT, device: DeviceLike, *, eval_mode: bool = True) -> ModuleT:
    """Move ``module``'s parameters and buffers to ``device`` (in place) for inference.

    Parameters
    ----------
    module : torch.nn.Module
        The model.
    device : str or torch.device
        Target device (see :func:`as_device`).
    eval_mode : bool, optional
        Also switch the module to evaluation mode (dropout off, batch-norm running
        statistics), which inference needs; on by default.

    Returns
    -------
    torch.nn.Module
        ``module`` itself.
    """
    module.to(as_device(device))
    if eval_mode:
        module.eval()
    return module
