"""The model registry: names, test models, checkpoints by path, shipped weights and cards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from mirkit.errors import ModelError, ParameterError
from mirkit.models import registry


class Toy(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.lin = nn.Linear(3, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


@pytest.fixture
def toy_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A registry holding only a toy family, with its own pretrained folder."""
    monkeypatch.setattr(registry, "ARCHITECTURES", {})
    monkeypatch.setattr(registry, "_TEST_MODELS", {})
    monkeypatch.setattr(registry, "_registered", True)
    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path)
    monkeypatch.setattr(registry, "TABLE_FILE", tmp_path / "models.json")
    registry.register_architecture("toy")(Toy)
    registry.register_test_model("toy-test", arch="toy", config={"width": 2}, task="transcribe",
                                 seed=7)
    return tmp_path


def _ship(folder: Path, name: str = "toy-real", *, corrupt: bool = False) -> Path:
    from mirkit.models.checkpoint import save_checkpoint

    torch.manual_seed(1)
    model = Toy(width=5)
    path = folder / f"{name}.pt"
    save_checkpoint(path, arch="toy", config={"width": 5}, state_dict=model.state_dict(),
                    card={"task": "transcribe"})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if corrupt:
        path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    (folder / "models.json").write_text(json.dumps({"models": [
        {"name": name, "arch": "toy", "config": {"width": 5}, "task": "transcribe",
         "weights": path.name, "sha256": digest, "description": "a toy"}]}))
    (folder / f"{name}.json").write_text(json.dumps({"command": "mirkit train ...",
                                                     "metrics": {"f1": 0.5}}))
    return path


def test_test_models_are_seeded_and_do_not_touch_global_rng(toy_registry: Path) -> None:
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a = registry.load_model("toy-test")
    after = torch.rand(1)
    b = registry.load_model("toy-test")
    assert torch.equal(before, after)                    # global RNG untouched
    assert torch.equal(a.module.lin.weight, b.module.lin.weight)
    assert a.module.lin.out_features == 2 and not a.module.training
    assert registry.model_card("toy-test")["weights"] == "random"


def test_unknown_names_suggest_close_ones(toy_registry: Path) -> None:
    with pytest.raises(ModelError, match=r"unknown model 'toy-tset'; did you mean toy-test"):
        registry.get_entry("toy-tset")
    with pytest.raises(ModelError, match="unknown architecture 'nope'"):
        registry.build("nope", {})
    with pytest.raises(ModelError, match="does not take this config"):
        registry.build("toy", {"depth": 3})


def test_shipped_model_verified_and_loaded(toy_registry: Path) -> None:
    _ship(toy_registry)
    names = [e.name for e in registry.list_models()]
    assert names == ["toy-real", "toy-test"]
    loaded = registry.load_model("toy-real", task="transcribe")
    torch.manual_seed(1)
    assert torch.equal(loaded.module.lin.weight, Toy(width=5).lin.weight)
    assert loaded.card["metrics"] == {"f1": 0.5}
    with pytest.raises(ModelError, match="is a transcribe model, not a separate model"):
        registry.load_model("toy-real", task="separate")


def test_corrupt_or_missing_weights(toy_registry: Path) -> None:
    path = _ship(toy_registry, corrupt=True)
    with pytest.raises(ModelError, match="are corrupt: sha256"):
        registry.load_model("toy-real")
    path.unlink()
    with pytest.raises(ModelError, match="are missing at .*retrain with the command in its card"):
        registry.load_model("toy-real")


def test_checkpoint_path(toy_registry: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"          # a checkpoint outside the registry's folder
    elsewhere.mkdir()
    path = _ship(elsewhere)
    loaded = registry.load_model(str(path))
    assert loaded.arch == "toy" and loaded.config == {"width": 5} and loaded.name == path.name
    with pytest.raises(ModelError, match="does not exist"):
        registry.load_model(str(tmp_path / "nope.pt"))
    bad = tmp_path / "bad.pt"
    torch.save({"arch": "toy", "config": {"width": 3}, "state_dict": Toy(width=5).state_dict(),
                "card": {}}, bad)
    with pytest.raises(ModelError, match="do not fit architecture 'toy'"):
        registry.load_model(str(bad))


def test_test_model_names_must_end_in_test(toy_registry: Path) -> None:
    with pytest.raises(ValueError, match="end in '-test'"):
        registry.register_test_model("toy-small", arch="toy", config={}, task="transcribe")


def test_models_cli_lists_and_explains() -> None:
    from typer.testing import CliRunner

    from mirkit.cli.app import app

    runner = CliRunner()
    res = runner.invoke(app, ["models", "list", "--format", "json"])
    assert res.exit_code == 0
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["transcribe-unet-test"]["weights"] == "random (test)"
    assert rows["transcribe-unet-test"]["task"] == "transcribe"
    res = runner.invoke(app, ["models", "list", "--task", "transcribe", "--format", "json"])
    assert res.exit_code == 0
    assert {r["task"] for r in json.loads(res.stdout)} == {"transcribe"}
    res = runner.invoke(app, ["models", "list", "--task", "transcrib"])
    assert res.exit_code == 2 and res.stdout == ""
    assert "--task 'transcrib': no model has this task; choose from " in res.stderr
    res = runner.invoke(app, ["models", "info", "transcribe-unet-test", "--format", "json"])
    info = {r["key"]: r["value"] for r in json.loads(res.stdout)}
    assert res.exit_code == 0 and info["arch"] == "transcription-unet"
    res = runner.invoke(app, ["models", "info", "transcribe-unet-tst"])
    assert res.exit_code == 2 and "did you mean transcribe-unet-test" in res.stderr


def test_registered_transcription_test_model_runs() -> None:
    loaded = registry.load_model("transcribe-unet-test", task="transcribe")
    out = loaded.module(torch.zeros(1, loaded.module.config["n_bins"], 40))
    assert out["roll"].shape[-1] == 40


def test_export_ships_a_training_checkpoint(toy_registry: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mirkit.cli.app import app
    from mirkit.models.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(3)
    model = Toy(width=5)
    run = tmp_path / "run"
    save_checkpoint(run / "best.pt", arch="toy", config={"width": 5},
                    state_dict=model.state_dict(), card={"task": "transcribe", "seed": 3},
                    train_state={"step": 9, "optimizer": {"lr": torch.tensor(1.0)}})
    extra = tmp_path / "metrics.json"
    extra.write_text(json.dumps({"metrics": {"test": {"f1": 0.7}}}))
    res = CliRunner().invoke(app, ["models", "export", str(run / "best.pt"), "--name",
                                   "toy-real", "--description", "a toy", "--card", str(extra),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)[0]
    shipped = toy_registry / "toy-real.pt"
    assert row["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert "train_state" not in load_checkpoint(shipped)
    loaded = registry.load_model("toy-real", task="transcribe")
    assert torch.equal(loaded.module.lin.weight, model.lin.weight)
    assert loaded.card["metrics"] == {"test": {"f1": 0.7}} and loaded.card["seed"] == 3
    assert [e.description for e in registry.list_models() if e.name == "toy-real"] == ["a toy"]
    # the command never replaces a model silently
    before = shipped.read_bytes()
    again = ["models", "export", str(run / "best.pt"), "--name", "toy-real"]
    res = CliRunner().invoke(app, again)
    assert res.exit_code == 1 and "exists; pass --overwrite" in res.stderr
    res = CliRunner().invoke(app, [*again, "--skip-existing"])
    assert res.exit_code == 0 and res.stdout == "" and shipped.read_bytes() == before
    for text in ("[1, 2]", "{not json"):
        extra.write_text(text)
        res = CliRunner().invoke(app, [*again, "--overwrite", "--card", str(extra)])
        assert res.exit_code == 2 and "--card" in res.stderr and shipped.read_bytes() == before
    res = CliRunner().invoke(app, [*again, "--overwrite", "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)[0]["name"] == "toy-real"
    # exporting again replaces the row instead of adding one
    registry.export_model(run / "best.pt", "toy-real")
    rows = json.loads((toy_registry / "models.json").read_text())["models"]
    assert [r["name"] for r in rows] == ["toy-real"]
    assert loaded.card["weights_dtype"] == "float32"
    # half-precision storage: a smaller file, loaded back as float32
    registry.export_model(run / "best.pt", "toy-half", dtype="float16")
    stored = load_checkpoint(toy_registry / "toy-half.pt")["state_dict"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    half = registry.load_model("toy-half", task="transcribe")
    assert half.module.lin.weight.dtype == torch.float32
    assert torch.allclose(half.module.lin.weight, model.lin.weight, rtol=1e-3, atol=1e-4)
    assert not torch.equal(half.module.lin.weight, model.lin.weight)
    assert half.card["weights_dtype"] == "float16"
    with pytest.raises(ParameterError, match="dtype"):
        registry.export_model(run / "best.pt", "toy-bad", dtype="int8")
    with pytest.raises(ModelError, match="not valid"):
        registry.export_model(run / "best.pt", "toy-test")
    res = CliRunner().invoke(app, ["models", "export", str(tmp_path / "nope.pt"), "--name", "x"])
    assert res.exit_code == 2 and "does not exist" in res.stderr
