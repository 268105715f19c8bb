"""A tiny classifier and its data for the trainer tests, and the torchrun worker script.

Run under ``torchrun --nproc_per_node=2 tests/_ddp_worker.py RUN_DIR RANK_DIR SETTINGS_JSON``:
each process trains with :data:`DDP_SETTINGS` (or the JSON given) into ``RUN_DIR`` (rank 0
writes there) and saves its own final parameters to ``RANK_DIR/rank{R}.pt``, so the test can
check that both ranks hold the same model and compare it with a one-process run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

N_FEATURES, N_CLASSES = 8, 3
MODEL_CONFIG: dict[str, Any] = {"n_in": N_FEATURES, "hidden": 16, "n_out": N_CLASSES,
                                "dropout": 0.1}


class TinyNet(nn.Module):
    """Linear -> tanh -> dropout -> linear: logits of ``N_CLASSES`` classes."""

    def __init__(self, n_in: int, hidden: int, n_out: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def make_data(n: int, *, seed: int) -> TensorDataset:
    """``n`` points, 8 features, labels = argmax of a fixed linear map (learnable)."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(N_FEATURES, N_CLASSES, generator=torch.Generator().manual_seed(7))
    x = torch.randn(n, N_FEATURES, generator=g)
    return TensorDataset(x, (x @ weights).argmax(dim=1))


def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def eval_fn(model: nn.Module, data: Any) -> dict[str, float]:
    """Mean cross-entropy and accuracy over ``data`` (a dataset of ``(x, y)`` pairs)."""
    x = torch.stack([data[i][0] for i in range(len(data))])
    y = torch.stack([data[i][1] for i in range(len(data))])
    logits = model(x)
    return {"loss": float(nn.functional.cross_entropy(logits, y)),
            "accuracy": float((logits.argmax(dim=1) == y).float().mean())}


#: Settings of the DDP test: the per-process batch is ``batch_size``; no dropout, so that
#: a one-process run with twice the batch follows the same trajectory.
DDP_SETTINGS: dict[str, Any] = {
    "config": {"seed": 3, "max_steps": 20, "batch_size": 8, "optimizer": "adam", "lr": 0.02,
               "grad_clip": 1.0, "eval_every": 5, "checkpoint_every": 10, "log_every": 5,
               "keep_checkpoints": 0, "device": "cpu",
               "early_stopping": {"metric": "loss", "mode": "min", "patience": None}},
    "model": {**MODEL_CONFIG, "dropout": 0.0},
    "n_train": 96, "n_val": 30,
}


def build_trainer(run_dir: Path, settings: dict[str, Any], **overrides: Any) -> Any:
    """The trainer of :data:`DDP_SETTINGS`-like ``settings`` (config keys in ``overrides``)."""
    from mirkit.train.trainer import TrainConfig, Trainer

    model_cfg = settings["model"]
    return Trainer(lambda: TinyNet(**model_cfg), make_data(settings["n_train"], seed=1),
                   make_data(settings["n_val"], seed=2), loss_fn=loss_fn, eval_fn=eval_fn,
                   config=TrainConfig.from_mapping(settings["config"], **overrides),
                   output_dir=run_dir, arch="tiny-mlp", model_config=model_cfg, quiet=True)


def main(argv: list[str]) -> None:
    import torch.distributed as dist

    from mirkit.train.trainer import unwrap

    run_dir, rank_dir = Path(argv[0]), Path(argv[1])
    settings = json.loads(argv[2]) if len(argv) > 2 else DDP_SETTINGS
    trainer = build_trainer(run_dir, settings)
    if not dist.is_initialized() or trainer.world_size != 2:
        raise SystemExit(f"expected 2 processes, got {trainer.world_size}")
    result = trainer.fit()
    rank_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"rank": trainer.rank, "step": result.step,
                "state_dict": unwrap(trainer.model).state_dict()},
               rank_dir / f"rank{trainer.rank}.pt")


if __name__ == "__main__":
    main(sys.argv[1:])
