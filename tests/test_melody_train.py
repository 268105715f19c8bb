"""The melody training recipe and ``mirkit train melody``: config, items, a tiny run, resume."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mirkit.cli.app import app
from mirkit.data.melodies import load_melodies, split_of
from mirkit.errors import ParameterError
from mirkit.features import tokens as T
from mirkit.models.checkpoint import load_checkpoint
from mirkit.models.registry import load_model
from mirkit.train.melody import (
    IGNORE,
    DataOptions,
    MelodyItems,
    RecipeConfig,
    load_corpus,
    tune_batches,
    tune_events,
)

runner = CliRunner()
CHORDS = ("C", "G", "Am", "F", "Dm", "G7", "Em")
NOTES = "CDEFGABcdefg"


def write_lead_sheets(folder: Path, *, n: int = 24, seed: int = 0) -> Path:
    """``folder/tunes.abc``: ``n`` four-bar ABC tunes with chord symbols (4/4 and 6/8).

    The ids (and so the splits) depend only on the folder's name and the tune numbers.
    """
    rng = random.Random(seed)
    tunes = []
    for k in range(1, n + 1):
        compound = k % 3 == 0
        bars = []
        for _ in range(4):
            if compound:
                body = "".join(rng.choice(NOTES) for _ in range(6))
            else:
                body = "".join(rng.choice(NOTES) + rng.choice(["", "2"]) for _ in range(3))
                body += rng.choice(NOTES) * (8 - sum(2 if c == "2" else 0 for c in body)
                                             - sum(1 for c in body if c != "2"))
            bars.append(f'"{rng.choice(CHORDS)}"{body}')
        meter = "6/8" if compound else "4/4"
        tunes.append(f"X: {k}\nT:Tune {k}\nM:{meter}\nL:1/8\nK:C\n" + "|".join(bars) + "|]\n")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tunes.abc").write_text("\n".join(tunes), encoding="utf-8")
    return folder


TINY = {"model": {"hidden": 8, "layers": 1, "conditioning": ["inter", "chord", "bar-pos"]},
        "data": {"seq_len": 12},
        "train": {"max_steps": 4, "batch_size": 3, "eval_every": 2, "checkpoint_every": 2,
                  "log_every": 1, "device": "cpu"}}


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One torch thread: these tiny models only lose time to thread hand-offs."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lead_sheets(tmp_path_factory.mktemp("melody") / "lead-sheets")


@pytest.fixture(scope="module")
def cache(sheets: Path) -> str:
    """A parse cache of the tunes, so that each test reads them in milliseconds."""
    folder = str(sheets.parent / "cache")
    load_melodies([str(sheets)], cache=folder)
    return folder


def test_fabricated_tunes_cover_the_splits(sheets: Path, cache: str) -> None:
    melodies = load_melodies([str(sheets)], cache=cache)
    assert len(melodies) == 24 and not melodies.rejected
    splits = {split_of(m.id) for m in melodies}
    assert {"train", "valid"} <= splits
    assert all(m.chords and m.n_bars == 4 for m in melodies)


# --------------------------------------------------------------------------- config


def test_config_defaults() -> None:
    cfg = RecipeConfig.from_mapping({})
    assert cfg.model["conditioning"] == ["inter", "chord", "next-chord", "bar-pos"]
    assert cfg.model["hidden"] == 256 and cfg.model["layers"] == 2
    assert cfg.data.seq_len == 64 and cfg.data.transpose and cfg.amsgrad
    assert cfg.train["optimizer"] == "adam" and cfg.train["batch_size"] == 64
    assert RecipeConfig.from_mapping({"model": {"conditioning": "none"}}).model[
        "conditioning"] == []


@pytest.mark.parametrize(("mapping", "match"), [
    ({"optim": {}}, "unknown config section"),
    ({"model": {"conditioning": ["melody"]}}, "unknown conditioning"),
    ({"model": {"size": 3}}, "known keys"),
    ({"model": {"meters": ["4/4"]}}, "data.meters"),
    ({"data": {"seq": 3}}, "unknown data option"),
    ({"data": {"seq_len": 1}}, "seq_len"),
    ({"data": {"meters": ["5/4"]}}, "no token grid"),
    ({"data": {"pitch_low": 10}}, "pitch_low"),
    ({"train": {"optimizer": "sgd"}}, "amsgrad"),
    ({"train": {"lr": -1}}, "lr"),
])
def test_config_errors(mapping: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        RecipeConfig.from_mapping(mapping)


# --------------------------------------------------------------------------- items


def test_items_shift_transpose_and_pad(sheets: Path, cache: str) -> None:
    corpus = load_corpus(sheets, cache=cache)
    tunes = corpus.events["train"]
    assert corpus.meters and set(corpus.meters) <= {"4/4", "6/8"}
    bos = (T.PITCH_DIM, T.DUR_DIM)
    items = MelodyItems(tunes, seq_len=len(max(tunes, key=len)) + 5, seed=3, transpose=True,
                        bos=bos)
    seen_shift = False
    for i in range(20):
        item = items[i]
        assert all(np.array_equal(item[k], v) for k, v in items[i].items())   # deterministic
        valid = item["pitch_out"] != IGNORE
        n = int(valid.sum())
        assert valid[:n].all() and not valid[n:].any()          # padding only at the end
        assert item["pitch_in"][0] == bos[0] and item["duration_in"][0] == bos[1]
        assert np.array_equal(item["pitch_in"][1:n], item["pitch_out"][:n - 1])
        assert np.array_equal(item["duration_in"][1:n], item["duration_out"][:n - 1])
        # the window is one whole tune (they are shorter than seq_len), possibly transposed
        match = [t for t in tunes if len(t) == n
                 and np.array_equal(t.duration, item["duration_out"][:n])]
        assert match
        shifts = set()
        for t in match:
            d = (item["pitch_out"][:n] - t.pitch)[t.pitch != T.REST]
            if len(set(d.tolist())) == 1:
                s = int(d[0])
                rolled = np.roll(t.chord_pcs, s, axis=-1)
                if np.array_equal(item["chord_pcs"][:n], rolled):
                    shifts.add(s)
                    roots = np.where(t.chord_root == T.NO_CHORD, T.NO_CHORD,
                                     (t.chord_root + s) % 12)
                    assert np.array_equal(item["chord_root"][:n], roots)
                    assert s in t.shifts
        assert shifts
        seen_shift |= 0 not in shifts
    assert seen_shift


def test_tunes_outside_the_pitch_range_are_skipped(sheets: Path, cache: str) -> None:
    corpus = load_corpus(sheets, DataOptions(pitch_low=60, pitch_high=66), cache=cache)
    assert not any(corpus.events.values())
    assert corpus.skipped == {"outside the pitch range": 24}
    wide = load_corpus(sheets, DataOptions(pitch_low=55, pitch_high=84), cache=cache)
    for tune in wide.events["train"]:
        notes = tune.pitch[tune.pitch != T.REST] + T.PITCH_OFFSET
        assert all(55 <= notes.min() + s and notes.max() + s <= 84 for s in tune.shifts)


def test_window_inside_a_tune_reads_the_previous_event(sheets: Path, cache: str) -> None:
    tune = tune_events(load_melodies([str(sheets)], cache=cache)[0])
    items = MelodyItems([tune], seq_len=5, seed=0, transpose=False, bos=(89, 19))
    for i in range(10):
        item = items[i]
        start = next(s for s in range(len(tune) - 4)
                     if np.array_equal(tune.pitch[s:s + 5], item["pitch_out"])
                     and np.array_equal(tune.duration[s:s + 5], item["duration_out"]))
        if start > 0:
            assert item["pitch_in"][0] == tune.pitch[start - 1]
            assert item["duration_in"][0] == tune.duration[start - 1]
    batch = tune_batches([tune], bos=(89, 19))[0]
    assert np.array_equal(batch["pitch_out"][0], tune.pitch)


# --------------------------------------------------------------------------- training


def run_cli(sheets: Path, out: Path, config: Path, *extra: str) -> str:
    res = runner.invoke(app, ["train", "melody", "--data", str(sheets), "--config", str(config),
                              "-o", str(out), "--format", "json", "-q", *extra])
    assert res.exit_code == 0, res.output
    return res.stdout


def tiny_config(folder: Path, cache: str, **model: object) -> Path:
    config = folder / "tiny.json"
    cfg = {**TINY, "data": {**TINY["data"], "cache": cache},
           "model": {**TINY["model"], **model}}
    config.write_text(json.dumps(cfg), encoding="utf-8")
    return config


def test_train_and_resume_exactly(sheets: Path, cache: str, tmp_path: Path) -> None:
    config = tiny_config(tmp_path, cache)
    straight = tmp_path / "straight"
    rows = json.loads(run_cli(sheets, straight, config))
    assert rows[0]["step"] == 4 and rows[0]["best_step"] in (2, 4)
    ckpt = load_checkpoint(straight / "last.pt")
    assert ckpt["arch"] == "melody-rnn"
    assert ckpt["config"]["meters"] and set(ckpt["config"]["meters"]) <= {"4/4", "6/8"}
    assert ckpt["card"]["task"] == "generate-melody"
    assert ckpt["card"]["conditioning"] == "inter+chord+bar-pos"
    assert ckpt["train_state"]["optimizer"]["param_groups"][0]["amsgrad"] is True
    metrics = (straight / "metrics.csv").read_text(encoding="utf-8")
    assert "val,nll_pitch" in metrics and "train,nll_duration" in metrics
    loaded = load_model(straight / "best.pt", task="generate-melody")
    assert loaded.module.conditioning == ("inter", "chord", "bar-pos")

    paused = tmp_path / "paused"
    run_cli(sheets, paused, config, "--max-steps", "2")
    run_cli(sheets, paused, config, "--resume")
    a = load_checkpoint(straight / "last.pt")["state_dict"]
    b = load_checkpoint(paused / "last.pt")["state_dict"]
    for key in a:
        assert torch.equal(a[key], b[key]), key

    (tmp_path / "other").mkdir()
    other = tiny_config(tmp_path / "other", cache, hidden=6)
    res = runner.invoke(app, ["train", "melody", "--data", str(sheets), "--config", str(other),
                              "-o", str(paused), "--resume"])
    assert res.exit_code == 2 and "another config" in res.output
