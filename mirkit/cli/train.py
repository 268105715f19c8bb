"""``mirkit train TASK --data DIR [--config FILE] --output DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mirkit.cli.app import app
from mirkit.cli.options import RunOptions, command


@command(app, "train", common=("device", "threads"))
def train_cmd(
    run: RunOptions,
    task: Annotated[str, typer.Argument(
        help="What to train: transcribe, inpaint or melody.", show_default=False)],
    data: Annotated[Path, typer.Option(
        "--data", metavar="DIR", help="Dataset folder (audio: e.g. made by mirkit synth; "
                                      "inpaint/melody: tunes as ABC, MusicXML or MIDI), split "
                                      "by piece into train/valid/test.", show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="DIR", help="Run folder: config.json, metrics.csv, "
                                              "last.pt, best.pt.", show_default=False)],
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", metavar="FILE", help="JSON or YAML config (sections model, data, "
                                               "train, ...: see docs/training.md); defaults "
                                               "otherwise.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run in --output from its last.pt.")] = False,
    max_seconds: Annotated[float | None, typer.Option(
        "--max-seconds", metavar="S", help="Pause cleanly after S seconds; continue later "
                                           "with --resume.")] = None,
    max_steps: Annotated[int | None, typer.Option(
        "--max-steps", metavar="N", help="Override the config's train.max_steps.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Override the config's train.seed.")] = None,
) -> int:
    """Train a model with mirkit's trainer; the checkpoints load with --model PATH.

    Examples:

      mirkit synth --corpus bach-chorales --corpus oneills --hours 20 --sr 16000 -o data/synth

      mirkit train transcribe --data data/synth -o runs/unet

      mirkit train transcribe --data data/synth -o runs/unet --resume --max-seconds 3600

      mirkit train melody --data tunes/ -o runs/melody --config examples/train/melody-all.yaml

      mirkit train inpaint --data tunes/ -o runs/vae --config examples/train/inpaint-folk-vae.yaml
    """
    import os
    import shlex
    import sys

    from mirkit.errors import ParameterError
    from mirkit.tasks.train import train

    if max_seconds is not None and not max_seconds > 0:
        raise ParameterError(f"--max-seconds {max_seconds}: give a positive number of seconds")
    if run.threads is not None:
        import torch

        torch.set_num_threads(run.threads)
        _warn_oversubscription(run.threads)
    overrides: dict[str, object] = {"device": run.device}
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    if seed is not None:
        overrides["seed"] = seed
    line = "mirkit " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    result = train(task, data, output, config=config, resume=resume, max_seconds=max_seconds,
                   overrides=overrides, command=line, quiet=run.quiet)
    if int(os.environ.get("RANK", "0")) != 0:      # under torchrun, rank 0 reports
        return 0
    reporter = run.reporter(("task", "step", "best_step", "best", "stopped_early", "last",
                             "best_checkpoint"))
    reporter.add({"task": task, "step": result.step, "best_step": result.best_step,
                  "best": result.best_metric, "stopped_early": result.stopped_early,
                  "last": str(result.last) if result.last else None,
                  "best_checkpoint": str(result.best) if result.best else None})
    reporter.close()
    return 0


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _warn_oversubscription(threads: int) -> None:
    """One warning when ``threads`` per process, times the processes torchrun starts on
    this machine, exceed the cores: the threads then wait on each other and a run is
    slower than with fewer."""
    import os
    import warnings

    try:
        procs = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        procs = 1
    cores = available_cores()
    if threads * procs > cores:
        who = f"{threads} threads x {procs} processes" if procs > 1 else f"{threads} threads"
        warnings.warn(f"--threads: {who} on {cores} available CPU cores; threads beyond the "
                      "cores slow training down, give at most "
                      f"{max(1, cores // procs)}", stacklevel=2)
