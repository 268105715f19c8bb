"""The generic trainer: config, loop, metrics.csv, checkpoints, resume, early stopping, DDP."""

from __future__ import annotations

import csv
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _ddp_worker import (
    DDP_SETTINGS,
    MODEL_CONFIG,
    TinyNet,
    build_trainer,
    eval_fn,
    loss_fn,
    make_data,
)

from mirkit.errors import ModelError, ParameterError
from mirkit.models.checkpoint import load_checkpoint, save_checkpoint
from mirkit.train.trainer import (
    StepBatchSampler,
    TrainConfig,
    Trainer,
    lr_factor,
    unwrap,
)

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent

BASE = {"seed": 5, "max_steps": 30, "batch_size": 8, "optimizer": "adam", "lr": 0.02,
        "eval_every": 5, "checkpoint_every": 10, "log_every": 4, "keep_checkpoints": 0,
        "device": "cpu"}


def make_trainer(out: Path, *, loss: Any = loss_fn, evaluate: Any = eval_fn,
                 resume: bool = False, **config: Any) -> Trainer:
    return Trainer(lambda: TinyNet(**MODEL_CONFIG), make_data(96, seed=1), make_data(30, seed=2),
                   loss_fn=loss, eval_fn=evaluate, config={**BASE, **config}, output_dir=out,
                   resume=resume, arch="tiny-mlp", model_config=MODEL_CONFIG,
                   card={"data": "synthetic"}, quiet=True)


def read_metrics(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in unwrap(model).state_dict().items()}


def max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


# ----------------------------------------------------------------------------- training


def test_loss_decreases_and_metrics_csv(tmp_path: Path) -> None:
    result = make_trainer(tmp_path, max_steps=60, eval_every=10).fit()
    assert result.step == 60 and not result.stopped_early
    rows = read_metrics(tmp_path / "metrics.csv")
    lines = (tmp_path / "metrics.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "step,split,metric,value,seconds"
    assert sum(line.startswith("step,") for line in lines) == 1          # header once
    val_loss = [float(r["value"]) for r in rows if r["split"] == "val" and r["metric"] == "loss"]
    train_loss = [float(r["value"]) for r in rows
                  if r["split"] == "train" and r["metric"] == "loss"]
    assert val_loss[-1] < 0.6 * val_loss[0]
    assert train_loss[-1] < 0.6 * train_loss[0]
    assert result.metrics["accuracy"] > 0.8
    # train rows every log_every steps, val rows every eval_every steps, nothing else
    assert sorted({int(r["step"]) for r in rows if r["split"] == "train"}) == list(
        range(4, 61, 4))
    assert [int(r["step"]) for r in rows if r["split"] == "val" and r["metric"] == "loss"] == (
        list(range(10, 61, 10)))
    assert {r["metric"] for r in rows if r["split"] == "train"} == {"loss", "lr"}
    assert {r["metric"] for r in rows if r["split"] == "val"} == {"loss", "accuracy"}
    seconds = [float(r["seconds"]) for r in rows]
    assert seconds == sorted(seconds) and seconds[0] >= 0
    assert [int(r["step"]) for r in rows] == sorted(int(r["step"]) for r in rows)


def test_checkpoints_are_self_describing_and_weights_only(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, max_steps=40, keep_checkpoints=2,
                           early_stopping={"metric": "accuracy", "mode": "max",
                                           "patience": None})
    result = trainer.fit()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.pt", "last.pt", "metrics.csv", "step-00000030.pt",
                     "step-00000040.pt"]
    for name in ("last.pt", "best.pt"):
        raw = torch.load(tmp_path / name, weights_only=True)       # no pickled classes
        assert set(raw) == {"arch", "config", "state_dict", "card", "train_state"}
        assert raw["arch"] == "tiny-mlp" and raw["config"] == MODEL_CONFIG
        assert raw["card"]["data"] == "synthetic" and raw["card"]["training"]["seed"] == 5
        ts = raw["train_state"]
        assert {"step", "optimizer", "scheduler", "scaler", "rng_states", "best_metric",
                "bad_evals", "config"} <= set(ts)
        assert set(ts["rng_states"][0]) == {"torch", "numpy", "python", "cuda"}
        assert ts["config"] == trainer.config.to_dict() and ts["config"]["seed"] == 5
    last, best = load_checkpoint(tmp_path / "last.pt"), load_checkpoint(tmp_path / "best.pt")
    assert last["train_state"]["step"] == 40
    assert best["train_state"]["step"] == result.best_step
    assert best["card"]["training"]["best"] == {"metric": "accuracy",
                                                "value": result.best_metric,
                                                "step": result.best_step}
    # the checkpoint rebuilds the trained model from its own description
    rebuilt = TinyNet(**last["config"])
    rebuilt.load_state_dict(last["state_dict"])
    assert max_diff(params(rebuilt), params(trainer.model)) == 0.0
    numbered = load_checkpoint(tmp_path / "step-00000040.pt")
    assert max_diff(numbered["state_dict"], last["state_dict"]) == 0.0


def noisy_loss(model: torch.nn.Module, batch: Any) -> torch.Tensor:
    """Draws from NumPy's and Python's global generators (and dropout from torch's)."""
    x, y = batch
    noise = torch.from_numpy(np.random.standard_normal(x.shape).astype(np.float32))  # noqa: NPY002
    scale = 0.5 + random.random()
    return scale * torch.nn.functional.cross_entropy(model(x + 0.1 * noise), y)


class Crash(Exception):
    pass


@pytest.mark.parametrize("interrupt", ["max_steps", "stop_at", "crash"])
def test_resume_equals_uninterrupted_run(tmp_path: Path, interrupt: str) -> None:
    """Interrupt after k steps, resume to N = 30: parameters and metrics.csv match a
    straight run. Interruptions: a run with max_steps = 13 (so with a schedule that does
    not depend on max_steps: constant after warm-up), ``fit(stop_at=13)`` (cosine), and a
    crash at step 18, after the step-10 checkpoint (cosine; rows of steps 11-17 in
    metrics.csv must be dropped on resume)."""
    schedule = "constant" if interrupt == "max_steps" else "cosine"
    settings: dict[str, Any] = {"max_steps": 30, "schedule": schedule, "warmup_steps": 4,
                                "grad_clip": 0.5, "optimizer": "adamw", "weight_decay": 0.01}
    straight = make_trainer(tmp_path / "straight", loss=noisy_loss, **settings)
    straight.fit()

    run = tmp_path / "interrupted"
    if interrupt == "max_steps":
        make_trainer(run, loss=noisy_loss, **{**settings, "max_steps": 13}).fit()
        assert load_checkpoint(run / "last.pt")["train_state"]["step"] == 13
    elif interrupt == "stop_at":
        assert make_trainer(run, loss=noisy_loss, **settings).fit(stop_at=13).step == 13
        assert load_checkpoint(run / "last.pt")["train_state"]["step"] == 13
    else:
        calls = 0

        def crashing(model: torch.nn.Module, batch: Any) -> torch.Tensor:
            nonlocal calls
            calls += 1
            if calls == 18:
                raise Crash
            return noisy_loss(model, batch)

        with pytest.raises(Crash):
            make_trainer(run, loss=crashing, **settings).fit()
        assert load_checkpoint(run / "last.pt")["train_state"]["step"] == 10
        assert max(int(r["step"]) for r in read_metrics(run / "metrics.csv")) == 16
    resumed = make_trainer(run, loss=noisy_loss, resume=True, **settings)
    assert resumed.step in (13, 10)
    result = resumed.fit()
    assert result.step == 30

    diff = max_diff(params(resumed.model), params(straight.model))
    assert diff <= 1e-6, diff
    a, b = read_metrics(tmp_path / "straight" / "metrics.csv"), read_metrics(run / "metrics.csv")
    keys = [(r["step"], r["split"], r["metric"]) for r in b]
    assert len(keys) == len(set(keys))                      # every row once
    assert keys == [(r["step"], r["split"], r["metric"]) for r in a]
    assert np.allclose([float(r["value"]) for r in a], [float(r["value"]) for r in b],
                       rtol=0, atol=1e-6)
    ta = load_checkpoint(tmp_path / "straight" / "last.pt")["train_state"]
    tb = load_checkpoint(run / "last.pt")["train_state"]
    assert ta["scheduler"]["last_epoch"] == tb["scheduler"]["last_epoch"] == 30


def test_max_seconds_pauses_and_resume_finishes(tmp_path: Path) -> None:
    assert make_trainer(tmp_path, max_steps=10).fit(max_seconds=0).step == 1
    assert load_checkpoint(tmp_path / "last.pt")["train_state"]["step"] == 1
    assert make_trainer(tmp_path, max_steps=10, resume=True).fit().step == 10


def test_data_loader_workers_do_not_change_the_run(tmp_path: Path) -> None:
    with_workers = make_trainer(tmp_path / "a", max_steps=12, num_workers=2)
    with_workers.fit()
    in_process = make_trainer(tmp_path / "b", max_steps=12)
    in_process.fit()
    assert max_diff(params(with_workers.model), params(in_process.model)) == 0.0


def test_resume_without_checkpoint_starts_at_zero_and_finished_run_is_a_no_op(
        tmp_path: Path) -> None:
    lines: list[str] = []
    first = Trainer(lambda: TinyNet(**MODEL_CONFIG), make_data(40, seed=1), None,
                    loss_fn=loss_fn, config={**BASE, "max_steps": 6}, output_dir=tmp_path,
                    resume=True, log=lines.append)
    assert first.step == 0 and "training from step 0" in lines[0]
    assert first.fit().step == 6
    again = Trainer(lambda: TinyNet(**MODEL_CONFIG), make_data(40, seed=1), None,
                    loss_fn=loss_fn, config={**BASE, "max_steps": 6}, output_dir=tmp_path,
                    resume=True, log=lines.append)
    before = params(again.model)
    assert again.fit().step == 6 and "nothing to do" in lines[-1]
    assert max_diff(before, params(again.model)) == 0.0


@pytest.mark.parametrize(("mode", "sign"), [("max", 1.0), ("min", -1.0)])
def test_early_stopping_stops_at_the_expected_evaluation(tmp_path: Path, mode: str,
                                                         sign: float) -> None:
    # evaluation:   1    2    3    4    5     6     7 ...
    script = iter([0.1, 0.5, 0.4, 0.6, 0.55, 0.6, 0.9, 0.95, 0.99])
    lines: list[str] = []

    def scripted(model: torch.nn.Module, data: Any) -> dict[str, float]:
        return {"score": sign * next(script)}

    trainer = Trainer(lambda: TinyNet(**MODEL_CONFIG), make_data(40, seed=1), None,
                      loss_fn=loss_fn, eval_fn=scripted,
                      config={**BASE, "max_steps": 100,
                              "early_stopping": {"metric": "score", "mode": mode,
                                                 "patience": 2}},
                      output_dir=tmp_path, log=lines.append)
    result = trainer.fit()
    # best at evaluation 4 (step 20); 5 and 6 are no better (0.6 ties): stop at step 30
    assert result.stopped_early and result.step == 30
    assert result.best_step == 20 and result.best_metric == sign * 0.6
    assert "stopping" in lines[-1] and lines[-1].startswith("step 30/100")
    assert load_checkpoint(tmp_path / "best.pt")["train_state"]["step"] == 20
    ts = load_checkpoint(tmp_path / "last.pt")["train_state"]
    assert ts["stopped_early"] and ts["bad_evals"] == 2 and ts["step"] == 30


def test_early_stopping_patience_ends_training_before_max_steps(tmp_path: Path) -> None:
    values = iter([3.0, 2.0, 2.5, 2.4, 1.0])

    def scripted(model: torch.nn.Module, data: Any) -> dict[str, float]:
        return {"loss": next(values)}

    result = make_trainer(tmp_path, evaluate=scripted, max_steps=100,
                          early_stopping={"metric": "loss", "mode": "min",
                                          "patience": 2}).fit()
    assert result.stopped_early and result.step == 20 and result.best_step == 10
    assert max(int(r["step"]) for r in read_metrics(tmp_path / "metrics.csv")) == 20


@pytest.mark.parametrize("clip", [None, 0.05])
def test_grad_clipping(tmp_path: Path, clip: float | None) -> None:
    trainer = make_trainer(tmp_path, max_steps=10, lr=0.5, grad_clip=clip)
    norms: list[float] = []

    def record(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]
                 if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g) for g in grads]))))

    trainer.optimizer.register_step_pre_hook(record)
    trainer.fit()
    assert len(norms) == 10
    if clip is None:
        assert min(norms) > 0.05                  # so the clipped case has work to do
    else:
        assert max(norms) <= clip * (1 + 1e-5)


def test_schedules_follow_the_config(tmp_path: Path) -> None:
    cfg = TrainConfig.from_mapping(max_steps=100, warmup_steps=10, schedule="cosine")
    assert lr_factor(0, cfg) == pytest.approx(0.1) and lr_factor(9, cfg) == 1.0
    assert lr_factor(55, cfg) == pytest.approx(0.5) and lr_factor(100, cfg) == pytest.approx(0)
    step = TrainConfig.from_mapping(max_steps=100, schedule="step", step_size=30, gamma=0.5)
    assert [lr_factor(s, step) for s in (0, 29, 30, 60, 99)] == [1, 1, 0.5, 0.25, 0.125]
    one = TrainConfig.from_mapping(max_steps=100, schedule="onecycle", warmup_steps=20)
    assert lr_factor(0, one) == pytest.approx(1 / 25) and lr_factor(20, one) == 1.0
    assert lr_factor(100, one) == pytest.approx(1e-4)
    # the optimiser really uses it: the lr logged at step s is lr * factor(s)
    make_trainer(tmp_path, max_steps=20, schedule="cosine", warmup_steps=5).fit()
    logged = {int(r["step"]): float(r["value"]) for r in read_metrics(tmp_path / "metrics.csv")
              if r["metric"] == "lr"}
    expect = TrainConfig.from_mapping({**BASE, "max_steps": 20, "schedule": "cosine",
                                       "warmup_steps": 5})
    assert logged == {s: pytest.approx(0.02 * lr_factor(s - 1, expect)) for s in logged}


def test_batch_order_is_seeded_epochwise_and_split_between_ranks() -> None:
    one = StepBatchSampler(10, batch_size=4, seed=1, start_step=0, stop_step=5)
    flat = [i for batch in one for i in batch]
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:20]) == list(range(10))
    assert flat[:10] != flat[10:20]                           # re-shuffled each epoch
    ranks = [StepBatchSampler(10, batch_size=2, seed=1, start_step=0, stop_step=5, rank=r,
                              world_size=2) for r in (0, 1)]
    assert [a + b for a, b in zip(*ranks, strict=True)] == list(one)
    later = StepBatchSampler(10, batch_size=4, seed=1, start_step=3, stop_step=5)
    assert list(later) == list(one)[3:]
    assert list(StepBatchSampler(10, batch_size=4, seed=2, start_step=0, stop_step=5)) != \
        list(one)


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(("values", "match"), [
    ({"lr_rate": 0.1}, r"unknown key\(s\) 'lr_rate'; known keys: seed, max_steps"),
    ({"optimizer": "rmsprop"}, r"optimizer='rmsprop'.*adam, adamw, sgd"),
    ({"schedule": "linear"}, r"schedule='linear'.*constant, cosine, step, onecycle"),
    ({"max_steps": 0}, r"max_steps=0 .*integer >= 1"),
    ({"max_steps": True}, r"max_steps=True"),
    ({"batch_size": 2.5}, r"batch_size=2.5"),
    ({"lr": 0}, r"lr=0 .*\(0, inf\]"),
    ({"lr": "fast"}, r"lr='fast'"),
    ({"grad_clip": -1.0}, r"grad_clip=-1.0"),
    ({"betas": [0.9]}, r"betas=\[0.9\]"),
    ({"momentum": 1.0}, r"momentum=1.0"),
    ({"amp": "yes"}, r"amp='yes'.*auto, true or false"),
    ({"device": "tpu"}, r"device='tpu'"),
    ({"early_stopping": {"metric": "f1", "mode": "up"}}, r"early_stopping.mode='up'"),
    ({"early_stopping": {"metric": "f1", "patiense": 3}},
     r"early_stopping: unknown key\(s\) 'patiense'; known keys: metric, mode, patience"),
    ({"early_stopping": {"mode": "max"}}, r"needs a 'metric' key"),
    ({"early_stopping": "f1"}, r"early_stopping='f1'"),
    ({"init_from": ""}, r"init_from='' .*checkpoint path"),
    ({"init_from": 3}, r"init_from=3 .*checkpoint path"),
])
def test_bad_config_is_a_parameter_error(values: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        TrainConfig.from_mapping(values)


def test_init_from_starts_a_new_run_from_a_checkpoint_s_weights(tmp_path: Path) -> None:
    from mirkit.models.checkpoint import file_sha256

    first = make_trainer(tmp_path / "a", max_steps=20)
    first.fit()
    source = tmp_path / "a" / "last.pt"
    start = load_checkpoint(source)["state_dict"]
    # before any step the fine-tune holds the source weights exactly, not a fresh init
    tuned = make_trainer(tmp_path / "b", max_steps=10, lr=0.005, init_from=str(source))
    assert max_diff(params(tuned.model), start) == 0.0
    fresh = make_trainer(tmp_path / "c", max_steps=10, lr=0.005)
    assert max_diff(params(fresh.model), start) > 0.0
    result = tuned.fit()
    # a new run: steps and schedule count from 0, the card names the source
    assert result.step == 10
    saved = load_checkpoint(tmp_path / "b" / "last.pt")
    assert saved["train_state"]["step"] == 10
    assert saved["card"]["init_from"] == {"path": str(source), "sha256": file_sha256(source),
                                          "steps": 20}
    assert saved["card"]["training"]["steps"] == 10
    assert saved["card"]["training"]["total_steps"] == 30
    rows = read_metrics(tmp_path / "b" / "metrics.csv")
    assert min(int(r["step"]) for r in rows) < 10
    # a fine-tune of the fine-tune keeps the chain of sources in its card
    again = make_trainer(tmp_path / "d", max_steps=2, lr=0.005,
                         init_from=str(tmp_path / "b" / "last.pt"))
    again.fit()
    chain = load_checkpoint(tmp_path / "d" / "last.pt")["card"]["init_from"]
    assert chain["steps"] == 10 and chain["init_from"] == saved["card"]["init_from"]
    assert load_checkpoint(tmp_path / "d" / "last.pt")["card"]["training"]["total_steps"] == 32
    # a resume reads last.pt and ignores init_from (its weights have moved on)
    resumed = make_trainer(tmp_path / "b", max_steps=12, lr=0.005, init_from=str(source),
                           resume=True)
    assert max_diff(params(resumed.model), saved["state_dict"]) == 0.0
    # ... and its checkpoints keep naming the source, also when resumed without init_from
    resumed.fit()
    card = load_checkpoint(tmp_path / "b" / "last.pt")["card"]
    assert card["init_from"] == saved["card"]["init_from"]
    assert (card["training"]["steps"], card["training"]["total_steps"]) == (12, 32)
    make_trainer(tmp_path / "b", max_steps=14, lr=0.005, resume=True).fit()
    card = load_checkpoint(tmp_path / "b" / "last.pt")["card"]
    assert card["init_from"] == saved["card"]["init_from"]
    assert card["training"]["total_steps"] == 34


def test_init_from_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="none.pt. does not exist"):
        make_trainer(tmp_path / "x", init_from=str(tmp_path / "none.pt"))
    make_trainer(tmp_path / "a", max_steps=5).fit()
    source = tmp_path / "a" / "last.pt"
    with pytest.raises(ModelError, match="holds a 'tiny-mlp' model, not 'other'"):
        Trainer(lambda: TinyNet(**MODEL_CONFIG), make_data(96, seed=1), make_data(30, seed=2),
                loss_fn=loss_fn, eval_fn=eval_fn, config={**BASE, "init_from": str(source)},
                output_dir=tmp_path / "y", arch="other", model_config=MODEL_CONFIG,
                quiet=True)
    other = {**MODEL_CONFIG, "hidden": MODEL_CONFIG.get("hidden", 16) * 2}
    with pytest.raises(ModelError, match="another model config"):
        Trainer(lambda: TinyNet(**other), make_data(96, seed=1), make_data(30, seed=2),
                loss_fn=loss_fn, eval_fn=eval_fn, config={**BASE, "init_from": str(source)},
                output_dir=tmp_path / "z", arch="tiny-mlp", model_config=other, quiet=True)


class WiderNet(TinyNet):
    """TinyNet that can start from a narrower TinyNet: the old hidden units are copied, the
    new ones get zero output weights (what a ``grow_from`` hook is for)."""

    def grow_from(self, state: dict[str, torch.Tensor], config: dict[str, Any]) -> None:
        if config["hidden"] > self.net[0].out_features:
            raise ParameterError("cannot shrink")
        h = config["hidden"]
        with torch.no_grad():
            for p in self.parameters():
                p.zero_()
            self.net[0].weight[:h] = state["net.0.weight"]
            self.net[0].bias[:h] = state["net.0.bias"]
            self.net[3].weight[:, :h] = state["net.3.weight"]
            self.net[3].bias.copy_(state["net.3.bias"])


def test_init_from_grows_a_model_that_knows_how(tmp_path: Path) -> None:
    make_trainer(tmp_path / "a", max_steps=5).fit()
    source = tmp_path / "a" / "last.pt"
    small = load_checkpoint(source)
    wide = {**MODEL_CONFIG, "hidden": 24}

    def trainer(config: dict[str, Any], out: str) -> Trainer:
        return Trainer(lambda: WiderNet(**config), make_data(96, seed=1),
                       make_data(30, seed=2), loss_fn=loss_fn, eval_fn=eval_fn,
                       config={**BASE, "init_from": str(source), "max_steps": 2},
                       output_dir=tmp_path / out, arch="tiny-mlp", model_config=config,
                       quiet=True)

    grown = trainer(wide, "b")
    x = torch.randn(5, 8)
    before = TinyNet(**MODEL_CONFIG).eval()
    before.load_state_dict(small["state_dict"])
    with torch.no_grad():
        torch.testing.assert_close(unwrap(grown.model).eval()(x), before(x))
    assert grown.card["init_from"]["path"] == str(source)
    narrow = {**MODEL_CONFIG, "hidden": 8}
    with pytest.raises(ModelError, match="cannot grow from it .cannot shrink."):
        trainer(narrow, "c")


def test_config_files(tmp_path: Path) -> None:
    yml = tmp_path / "train.yaml"
    yml.write_text("lr: 1e-3\nbetas: [0.8, 0.9]\nearly_stopping:\n  metric: f1\n  mode: max\n")
    cfg = TrainConfig.from_file(yml)
    assert cfg.lr == 0.001 and cfg.betas == (0.8, 0.9) and cfg.early_stopping is not None
    assert cfg.early_stopping.mode == "max" and cfg.early_stopping.patience == 5
    js = tmp_path / "train.json"
    js.write_text(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_file(js) == cfg
    (tmp_path / "bad.yaml").write_text("lr: [1, 2\n")
    with pytest.raises(ParameterError, match="'.*bad.yaml' is not valid YAML"):
        TrainConfig.from_file(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_text("{lr: 1}")
    with pytest.raises(ParameterError, match="'.*bad.json' is not valid JSON: Expecting"):
        TrainConfig.from_file(tmp_path / "bad.json")
    (tmp_path / "train.toml").write_text("lr = 1")
    with pytest.raises(ParameterError, match="use a .json, .yaml or .yml file"):
        TrainConfig.from_file(tmp_path / "train.toml")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ParameterError, match="must hold a mapping of options, not a list"):
        TrainConfig.from_file(tmp_path / "list.json")
    (tmp_path / "typo.json").write_text('{"max_step": 3}')
    with pytest.raises(ParameterError, match=r"typo.json': train config: unknown key\(s\) "
                                             r"'max_step'"):
        TrainConfig.from_file(tmp_path / "typo.json")


def test_trainer_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="amp=true needs a CUDA device"):
        make_trainer(tmp_path / "a", amp=True)
    with pytest.raises(ParameterError, match="early_stopping on 'f1' needs an eval_fn"):
        make_trainer(tmp_path / "b", evaluate=None, early_stopping={"metric": "f1"})
    with pytest.raises(ParameterError, match="early_stopping metric 'f1' is not among the "
                                             "metrics eval_fn returns: loss, accuracy"):
        make_trainer(tmp_path / "c", early_stopping={"metric": "f1"}).fit()
    make_trainer(tmp_path / "d", max_steps=10).fit()
    with pytest.raises(ParameterError, match="already holds a training run"):
        make_trainer(tmp_path / "d", max_steps=10)
    with pytest.raises(ParameterError, match="cannot resume .* seed 6 .* trained with seed 5"):
        make_trainer(tmp_path / "d", max_steps=20, seed=6, resume=True)
    with pytest.raises(ParameterError, match="global batch 16: .* global batch 8 "):
        make_trainer(tmp_path / "d", max_steps=20, batch_size=16, resume=True)

    def bad_loss(model: torch.nn.Module, batch: Any) -> torch.Tensor:
        return torch.tensor(math.nan, requires_grad=True) + 0 * loss_fn(model, batch)

    with pytest.raises(ParameterError, match="training loss became nan before step 4"):
        make_trainer(tmp_path / "e", loss=bad_loss).fit()


# ----------------------------------------------------------------------------- checkpoint


def test_save_checkpoint_refuses_what_weights_only_cannot_load(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"card\['metrics'\]\['f1'\] is a numpy.float64"):
        save_checkpoint(tmp_path / "x.pt", arch="a", config={}, state_dict={},
                        card={"metrics": {"f1": np.float64(0.5)}})
    assert not (tmp_path / "x.pt").exists() and list(tmp_path.iterdir()) == []
    path = save_checkpoint(tmp_path / "x.pt", arch="a", config={"n": 1},
                           state_dict={"w": torch.ones(2)}, card={})
    assert load_checkpoint(path)["config"] == {"n": 1} and list(tmp_path.iterdir()) == [path]


class Pickled:
    pass


@pytest.mark.parametrize(("content", "match"), [
    (None, r"checkpoint '.*x.pt' does not exist"),
    ("truncate", r"'.*x.pt' is not a readable checkpoint \(corrupt or truncated file\?\)"),
    (b"not a zip file at all", r"'.*x.pt' is not a readable checkpoint"),
    ("pickled", r"'.*x.pt' is not a mirkit checkpoint: it holds Python objects that are "
                r"not loaded for safety \(a pickled test_trainer.Pickled\)"),
    ([1, 2], r"'.*x.pt' is not a mirkit checkpoint: it holds a list, not a dict"),
    ({"config": {}, "state_dict": {}, "card": {}},
     r"'.*x.pt' is not a mirkit checkpoint: missing key 'arch'$"),
    ({"arch": "a", "config": [], "state_dict": {}, "card": {}},
     r"'config' is a list, expected dict"),
])
def test_bad_checkpoint_is_a_model_error(tmp_path: Path, content: Any, match: str) -> None:
    path = tmp_path / "x.pt"
    if content == "truncate":
        save_checkpoint(path, arch="a", config={}, state_dict={"w": torch.ones(100)}, card={})
        path.write_bytes(path.read_bytes()[:300])
    elif content == "pickled":
        torch.save({"arch": "a", "config": Pickled()}, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(ModelError, match=match) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_resume_from_corrupt_last_pt_is_a_model_error(tmp_path: Path) -> None:
    make_trainer(tmp_path, max_steps=5).fit()
    good = load_checkpoint(tmp_path / "last.pt")
    del good["train_state"]["optimizer"]
    save_checkpoint(tmp_path / "last.pt", **good)
    with pytest.raises(ModelError, match=r"last.pt' has an incomplete or foreign train_state "
                                         r"\(KeyError: 'optimizer'\)"):
        make_trainer(tmp_path, max_steps=10, resume=True)
    (tmp_path / "last.pt").write_bytes(b"\0" * 64)
    with pytest.raises(ModelError, match="last.pt' is not a readable checkpoint"):
        make_trainer(tmp_path, max_steps=10, resume=True)


# ----------------------------------------------------------------------------- DDP


@pytest.mark.slow
def test_torchrun_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    """2 CPU processes (gloo) with batch 8 each vs 1 process with batch 16.

    Checked: (1) both ranks end with identical parameters (DDP keeps replicas in sync);
    (2) they equal a one-process run with the same global batch to 1e-5 (the data order
    slices the same global batches; gradients are averaged, so only float summation order
    differs; no dropout, whose masks depend on the process's generator); (3) rank 0 alone
    wrote metrics.csv / last.pt / best.pt, each row once, with metrics that match the
    one-process run (the validation set is split between ranks and averaged)."""
    run, ranks = tmp_path / "ddp", tmp_path / "ranks"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS_DIR),
                                          os.environ.get("PYTHONPATH", "")])}
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(TESTS_DIR / "_ddp_worker.py"), str(run), str(ranks)],
        env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "last.pt", "metrics.csv"]
    r0, r1 = (torch.load(ranks / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["step"] == r1["step"] == 20
    assert max_diff(r0["state_dict"], r1["state_dict"]) == 0.0

    single = build_trainer(tmp_path / "single", DDP_SETTINGS,
                           batch_size=2 * DDP_SETTINGS["config"]["batch_size"])
    single.fit()
    last = load_checkpoint(run / "last.pt")
    assert last["train_state"]["world_size"] == 2 and len(last["train_state"]["rng_states"]) == 2
    diff = max_diff(last["state_dict"], params(single.model))
    assert diff <= 1e-5, diff
    assert max_diff(last["state_dict"], r0["state_dict"]) == 0.0
    a, b = read_metrics(run / "metrics.csv"), read_metrics(tmp_path / "single" / "metrics.csv")
    assert [(r["step"], r["split"], r["metric"]) for r in a] == \
        [(r["step"], r["split"], r["metric"]) for r in b]
    assert np.allclose([float(r["value"]) for r in a], [float(r["value"]) for r in b],
                       rtol=0, atol=1e-5)
