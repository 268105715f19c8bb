"""``mirkit train TASK``: the training recipes, one per trainable task.

Each recipe module has ``RecipeConfig`` (``from_file``) and ``train(data, output, *, config,
resume, max_seconds, overrides, command, quiet)``; this module maps task names to them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from mirkit.errors import ParameterError

#: Trainable tasks and the module of each recipe.
RECIPES: dict[str, str] = {
    "transcribe": "mirkit.train.transcription",
    "inpaint": "mirkit.train.inpaint",
    "melody": "mirkit.train.melody",
}


def recipe(task: str) -> Any:
    """The recipe module of ``task`` (a :class:`ParameterError` naming the known tasks)."""
    if task not in RECIPES:
        raise ParameterError(f"task {task!r} cannot be trained (yet); trainable tasks: "
                             f"{', '.join(RECIPES)}")
    return importlib.import_module(RECIPES[task])


def train(task: str, data: str | Path, output: str | Path, *, config: str | Path | None = None,
          resume: bool = False, max_seconds: float | None = None,
          overrides: dict[str, Any] | None = None, command: str | None = None,
          quiet: bool = False) -> Any:
    """Train ``task``'s model on ``data`` into ``output`` (see the recipe's ``train``)."""
    module = recipe(task)
    data_path = Path(data)
    if not data_path.is_dir():
        from mirkit.errors import ParameterError

        raise ParameterError(f"--data '{data_path}' is not a folder: give a dataset folder (e.g. "
                         f"the output of mirkit synth)")
    cfg = module.RecipeConfig.from_file(config)
    return module.train(data_path, output, config=cfg, resume=resume, max_seconds=max_seconds,
                        overrides=overrides, command=command, quiet=quiet)
