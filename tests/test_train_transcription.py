"""The transcription training recipe and ``mirkit train``: config, items, metrics, a tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_datasets import make_synth
from typer.testing import CliRunner

from mirkit.cli.app import app
from mirkit.data.datasets import open_dataset
from mirkit.data.instruments import CLASS_INDEX, CLASSES
from mirkit.errors import ParameterError
from mirkit.models.registry import load_model
from mirkit.models.transcription import TranscriptionUNet, losses
from mirkit.tasks.train import recipe, train
from mirkit.train.transcription import (
    DEFAULT_MODEL,
    DataOptions,
    RecipeConfig,
    TranscriptionItems,
    eq_curve_db,
    frame_metrics,
    random_eq,
)

TINY = {"model": {"base_channels": 4, "depth": 2},
        "data": {"clip_seconds": 1.0, "stats_items": 2, "val_items": 2},
        "train": {"max_steps": 4, "batch_size": 2, "eval_every": 2, "checkpoint_every": 2,
                  "log_every": 1, "num_workers": 0, "warmup_steps": 1, "device": "cpu"}}


@pytest.fixture
def data(tmp_path: Path, rng: np.random.Generator) -> Path:
    root = tmp_path / "synth"
    make_synth(root, rng)
    return root


def items(root: Path, *, augment: bool, **options: object) -> TranscriptionItems:
    drums = [c for c in CLASSES if c == "drums"]
    return TranscriptionItems(open_dataset(root), "train", DataOptions(clip_seconds=1.0,
                                                                        **options),  # type: ignore[arg-type]
                              seed=5, augment=augment, count=3, sr=16000, hop=512,
                              classes=CLASSES, drum_classes=drums)


# --------------------------------------------------------------------------- config


def test_config_defaults_and_sections() -> None:
    cfg = RecipeConfig.from_mapping({})
    assert cfg.model == DEFAULT_MODEL
    assert cfg.loss_weights == {"roll": 1.0, "pitch": 1.0, "instrument": 1.0, "onset": 1.0}
    assert cfg.reduction == "frame"
    ablation = RecipeConfig.from_mapping({"loss": {"ablation": "pitch-only", "onset": 0}})
    assert ablation.loss_weights == {"roll": 0.0, "pitch": 1.0, "instrument": 0.0,
                                     "onset": 0.0}


@pytest.mark.parametrize(("mapping", "match"), [
    ({"optim": {}}, "unknown config section"),
    ({"data": {"clip": 3}}, "unknown data option"),
    ({"data": {"drop_stem_prob": 1.5}}, "drop_stem_prob"),
    ({"data": {"level_db": [-10, 3]}}, "clip"),
    ({"data": {"snr_db": [40, 10]}}, "low <= high"),
    ({"data": {"eq_prob": 1.5}}, "eq_prob"),
    ({"data": {"eq_db": -1}}, "eq_db"),
    ({"data": {"eq_tilt_db": 10}}, "per octave"),
    ({"loss": {"ablation": "none"}}, "unknown ablation"),
    ({"loss": {"weights": {"roll": 1}, "ablation": "roll-only"}}, "either weights"),
    ({"loss": {"reduction": "sum"}}, "reduction"),
    ({"train": {"lr": -1}}, "lr"),
    ({"model": []}, "must be a mapping"),
    ({"model": {"bogus": 1}}, "unknown model option"),
    ({"model": {"depth": "x"}}, "wrong type"),
    ({"model": {"base_channels": 0}}, "base_channels 0"),
    ({"loss": {"weights": {"roll": "x"}}}, "loss.weights.roll 'x' is not a number"),
    ({"loss": {"weights": {"roll": 1, "bogus": 2}}}, "unknown loss term"),
    ({"loss": {"onset": "x"}}, "loss.onset 'x' is not a number"),
    ({"train": {"early_stopping": {"metric": "nosuch", "mode": "max"}}}, "not a validation"),
    ({"model": {"onset_head": False},
      "train": {"early_stopping": {"metric": "onset_f1", "mode": "max"}}}, "not a validation"),
])
def test_config_errors(mapping: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        RecipeConfig.from_mapping(mapping)


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("loss: {ablation: roll-only}\ntrain: {max_steps: 7}\n")
    cfg = RecipeConfig.from_file(path)
    assert cfg.train["max_steps"] == 7 and cfg.loss_weights["pitch"] == 0.0
    path.write_text("[1, 2]\n")
    with pytest.raises(ParameterError, match="mapping"):
        RecipeConfig.from_file(path)


# --------------------------------------------------------------------------- items


def test_items_are_a_function_of_the_index(data: Path) -> None:
    a, b = items(data, augment=True), items(data, augment=True)
    first, again, other = a[7], b[7], a[8]
    assert np.array_equal(first["audio"], again["audio"])
    assert not np.array_equal(first["audio"], other["audio"])
    assert first["audio"].shape == (16000,)
    assert first["pianoroll"].shape == (len(CLASSES), 88, 32)
    assert first["pitch_roll"].shape == (88, 32) and first["activity"].shape == (
        len(CLASSES), 32)
    assert len(a) > 100_000 and len(items(data, augment=False)) == 3


def test_level_augmentation_sets_the_peak(data: Path) -> None:
    it = items(data, augment=True, level_db=(-20.0, -20.0), noise_prob=0.0)
    for i in range(4):
        audio = it[i]["audio"]
        if np.any(audio):
            assert np.max(np.abs(audio)) == pytest.approx(0.1, rel=1e-4)


def test_dropped_stems_lose_their_labels(data: Path) -> None:
    # every stem is dropped and one survives: the labels of the other class must be clear
    it = items(data, augment=True, drop_stem_prob=1.0, noise_prob=0.0)
    seen = set()
    for i in range(12):
        item = it[i]
        act = item["activity"].any(axis=1)
        kept = {c for c in ("violin", "bassoon") if act[CLASS_INDEX[c]]}
        assert len(kept) <= 1
        seen |= kept
        # the pitch roll follows the remaining pitched classes
        assert np.array_equal(item["pitch_roll"], item["pianoroll"].any(axis=0))
    assert seen == {"violin", "bassoon"}


def test_random_eq_applies_its_curve_and_keeps_the_rms() -> None:
    sr, x = 16000, np.random.default_rng(0).standard_normal(16000)
    y = random_eq(np.random.default_rng(3), x, sr, max_db=6.0, tilt_db=1.5)
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=1e-9)
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    curve = eq_curve_db(np.random.default_rng(3), freqs, max_db=6.0, tilt_db=1.5)
    measured = 20 * np.log10(np.abs(np.fft.rfft(y)) / np.abs(np.fft.rfft(x)))
    # the same curve up to the one RMS-restoring offset
    offset = measured - curve
    assert np.ptp(offset) < 1e-6
    assert np.ptp(curve) > 1.0                     # it did change the timbre
    # bounds: three bells and a tilt over at most log2(8000 / 1000) = 3 octaves up and
    # log2(1000 / 40) below
    assert np.all(np.abs(curve) <= 3 * 6.0 + 1.5 * np.log2(1000 / 40) + 1e-9)
    flat = eq_curve_db(np.random.default_rng(3), freqs, max_db=0.0, tilt_db=0.0)
    assert np.all(flat == 0)
    assert not np.any(random_eq(np.random.default_rng(1), np.zeros(100), sr, max_db=6.0,
                                tilt_db=1.5))


def test_eq_augmentation_changes_only_the_timbre(data: Path) -> None:
    plain = items(data, augment=True)
    eq = items(data, augment=True, eq_prob=1.0, eq_db=9.0)
    neutral = items(data, augment=True, eq_prob=1.0, eq_db=0.0, eq_tilt_db=0.0)
    changed = 0
    for i in range(6):
        a, b, c = plain[i], eq[i], neutral[i]
        for key in ("pianoroll", "onsets", "pitch_roll", "activity"):
            assert np.array_equal(a[key], b[key])
        # a flat EQ leaves the audio as it was: the EQ's draws do not move the others
        np.testing.assert_allclose(c["audio"], a["audio"], atol=1e-6)
        changed += not np.allclose(b["audio"], a["audio"], atol=1e-3)
    assert changed >= 4


def test_validation_items_are_the_mixture(data: Path) -> None:
    it = items(data, augment=False)
    ds = open_dataset(data)
    item = it[0]
    assert item["audio"].shape == (16000,)
    # no augmentation: both classes keep their labels when their notes fall in the excerpt
    assert item["activity"].shape[0] == len(CLASSES)
    assert ds.tracks("train")


# --------------------------------------------------------------------------- loss and metrics


def test_frame_reduction_weighs_cells_per_frame() -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        out = TranscriptionUNet(base_channels=4, depth=2)(torch.randn(2, 88, 20))
    labels = {"pianoroll": torch.rand(2, len(CLASSES), 88, 20) > 0.9,
              "onsets": torch.rand(2, len(CLASSES), 88, 20) > 0.99,
              "pitch_roll": torch.rand(2, 88, 20) > 0.9,
              "activity": torch.rand(2, len(CLASSES), 20) > 0.5}
    mean = losses(out, labels)
    frame = losses(out, labels, reduction="frame")
    assert float(frame["roll"]) == pytest.approx(float(mean["roll"]) * len(CLASSES) * 88,
                                                 rel=1e-5)
    assert float(frame["pitch"]) == pytest.approx(float(mean["pitch"]) * 88, rel=1e-5)
    assert float(frame["instrument"]) == pytest.approx(float(mean["instrument"]) * len(CLASSES),
                                                       rel=1e-5)
    with pytest.raises(ParameterError, match="reduction"):
        losses(out, labels, reduction="sum")  # type: ignore[arg-type]


def test_frame_metrics_counts() -> None:
    ref = torch.tensor([[[True, True, False, False]]])          # (1, 1, 4) as a pitch roll
    logits = torch.tensor([[[5.0, -5.0, 5.0, -5.0]]])           # TP, FN, FP, TN
    m = frame_metrics({"pitch": logits}, {"pitch_roll": ref})
    assert m["pitch_f1"] == pytest.approx(0.5)
    assert m["pitch_acc"] == pytest.approx(1 / 3)
    assert m["score"] == pytest.approx(0.5) == m["pitch_best_f1"]
    # an under-confident model: nothing reaches 0.5, but 0.2 separates perfectly
    low = torch.tensor([[[-1.0, -1.0, -3.0, -3.0]]])            # p = 0.27, 0.27, 0.05, 0.05
    m = frame_metrics({"pitch": low}, {"pitch_roll": ref})
    assert m["pitch_f1"] == 0.0 and m["pitch_best_f1"] == pytest.approx(1.0)
    assert m["score"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- a tiny run


def test_train_resume_and_load(data: Path, tmp_path: Path) -> None:
    cfg = recipe("transcribe").RecipeConfig.from_mapping(TINY)
    out = tmp_path / "run"
    from mirkit.train.transcription import train as train_recipe

    result = train_recipe(data, out, config=cfg, quiet=True, overrides={"max_steps": 2})
    assert result.step == 2 and (out / "last.pt").is_file() and (out / "best.pt").is_file()
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"] == TINY["model"]
    with pytest.raises(ParameterError, match="holds a run|already"):
        train_recipe(data, out, config=cfg, quiet=True)
    result = train_recipe(data, out, config=cfg, quiet=True, resume=True)
    assert result.step == 4
    rows = (out / "metrics.csv").read_text().splitlines()
    assert any(",val,score," in r for r in rows) and any(",train,roll," in r for r in rows)
    loaded = load_model(out / "best.pt", task="transcribe")
    assert loaded.card["task"] == "transcribe" and loaded.card["training"]["steps"] in (2, 4)
    # the feature statistics were measured and stored
    assert not torch.allclose(loaded.module.feature_std, torch.ones(88))
    other = recipe("transcribe").RecipeConfig.from_mapping(
        {**TINY, "loss": {"ablation": "roll-only"}})
    with pytest.raises(ParameterError, match="another config"):
        train_recipe(data, out, config=other, quiet=True, resume=True)


def test_fine_tune_with_the_class_loss(data: Path, tmp_path: Path) -> None:
    from mirkit.train.transcription import train as train_recipe

    base = tmp_path / "base"
    train_recipe(data, base, config=RecipeConfig.from_mapping(TINY), quiet=True,
                 overrides={"max_steps": 2})
    tuned = {**TINY, "loss": {"weights": {"roll": 1, "pitch": 1, "instrument": 1,
                                          "onset": 1, "class": 0.5}},
             "train": {**TINY["train"], "init_from": str(base / "last.pt")}}
    cfg = RecipeConfig.from_mapping(tuned)
    assert cfg.loss_weights["class"] == 0.5
    out = tmp_path / "tuned"
    result = train_recipe(data, out, config=cfg, quiet=True, overrides={"max_steps": 2})
    assert result.step == 2
    rows = (out / "metrics.csv").read_text().splitlines()
    assert any(",train,class," in r for r in rows)
    card = load_model(out / "last.pt", task="transcribe").card
    assert card["init_from"]["path"] == str(base / "last.pt")
    assert card["init_from"]["steps"] == 2
    assert card["recipe"]["loss_weights"]["class"] == 0.5


def test_train_task_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="trainable tasks: transcribe"):
        train("separate", tmp_path, tmp_path / "o")
    with pytest.raises(ParameterError, match="not a folder"):
        train("transcribe", tmp_path / "missing", tmp_path / "o")
    (tmp_path / "loose").mkdir()
    with pytest.raises(ParameterError, match="--data: .* no dataset layout"):
        train("transcribe", tmp_path / "loose", tmp_path / "o")
    assert not (tmp_path / "o").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("loss: {weights: {roll: 1, bogus: 2}}\n")
    res = CliRunner().invoke(app, ["train", "transcribe", "--data", str(tmp_path / "loose"),
                                   "-o", str(tmp_path / "o"), "-c", str(bad)])
    assert res.exit_code == 2 and "unknown loss term" in res.output
    assert not (tmp_path / "o").exists()               # nothing written for a bad config


def test_cli_train(data: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    runner = CliRunner()
    out = tmp_path / "cli-run"
    res = runner.invoke(app, ["train", "transcribe", "--data", str(data), "-o", str(out),
                              "--config", str(config), "--max-steps", "2", "--format", "json",
                              "-q"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)[0]
    assert row["step"] == 2 and row["last"].endswith("last.pt")
    card = load_model(out / "last.pt").card
    assert card["command"].startswith("mirkit ")       # the invocation, for the model card
    res = runner.invoke(app, ["train", "tag", "--data", str(data), "-o", str(out)])
    assert res.exit_code == 2 and "trainable tasks" in res.output
    res = runner.invoke(app, ["train", "transcribe", "--data", str(data), "-o", str(out),
                              "--max-seconds", "0"])
    assert res.exit_code == 2


def test_cli_train_warns_of_more_threads_than_cores(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    import mirkit.cli.train as cli_train

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    before = torch.get_num_threads()
    monkeypatch.setattr(cli_train, "available_cores", lambda: 1)
    args = ["train", "transcribe", "--data", str(data), "--config", str(config),
            "--max-steps", "1", "--threads", "2"]
    try:
        res = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "a")])
        assert res.exit_code == 0, res.output
        assert res.stderr.count("warning: --threads: 2 threads on 1 available CPU") == 1
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        monkeypatch.setattr(cli_train, "available_cores", lambda: 2)
        res = CliRunner().invoke(app, [*args[:-1], "1", "-o", str(tmp_path / "b")])
        assert res.exit_code == 0, res.output
        assert "warning" not in res.stderr
        res = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "c")])
        assert res.exit_code == 0, res.output
        assert "2 threads x 2 processes on 2 available CPU cores" in res.stderr
        assert "give at most 1" in res.stderr
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_cli_train_under_torchrun(data: Path, tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    torchrun = Path(sys.executable).with_name("torchrun")
    mirkit = Path(sys.executable).with_name("mirkit")
    if not (torchrun.exists() and mirkit.exists()) or shutil.which("true") is None:
        pytest.skip("needs the torchrun and mirkit scripts beside the interpreter")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2",
                          "--no-python", str(mirkit), "train", "transcribe", "--data",
                          str(data), "-o", str(out), "--config", str(config), "--device",
                          "cpu", "--format", "jsonl", "-q"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 1 and rows[0]["step"] == 4          # one report, from rank 0
    card = load_model(out / "last.pt").card
    assert card["training"]["processes"] == 2


@pytest.mark.parametrize("path", sorted(
    (Path(__file__).resolve().parents[1] / "examples" / "train").glob("transcribe-*.yaml")),
    ids=lambda p: p.name)
def test_example_configs_parse_and_build(path: Path) -> None:
    """Every transcription example config the docs point to is valid and builds its model."""
    from mirkit.train.trainer import TrainConfig

    cfg = RecipeConfig.from_file(path)
    TrainConfig.from_mapping(cfg.train)
    model = TranscriptionUNet(**cfg.model)
    assert model.n_classes == len(CLASSES)
