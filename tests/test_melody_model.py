"""The Pitch-RNN / Duration-RNN pair: shapes, which inputs each conditioning reads, state."""

from __future__ import annotations

import itertools

import pytest
import torch
from test_melody_train import one_thread  # noqa: F401 (autouse fixture)

from mirkit.errors import ParameterError
from mirkit.features import tokens as T
from mirkit.models.melody import (
    CONDITIONING,
    INPUT_KEYS,
    MelodyRNN,
    conditioning_label,
    parse_conditioning,
)
from mirkit.models.registry import load_model

COMBINATIONS = [c for k in range(len(CONDITIONING) + 1)
                for c in itertools.combinations(CONDITIONING, k)]


def inputs(batch: int = 2, steps: int = 7, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "pitch_in": torch.randint(0, T.PITCH_DIM + 1, (batch, steps), generator=g),
        "duration_in": torch.randint(0, T.DUR_DIM + 1, (batch, steps), generator=g),
        "barpos": torch.randint(0, T.BARPOS_DIM, (batch, steps), generator=g),
        "chord_root": torch.randint(0, T.CHORD_ROOT_DIM, (batch, steps), generator=g),
        "chord_pcs": torch.randint(0, 2, (batch, steps, 12), generator=g).float(),
        "next_root": torch.randint(0, T.CHORD_ROOT_DIM, (batch, steps), generator=g),
        "next_pcs": torch.randint(0, 2, (batch, steps, 12), generator=g).float(),
    }


def tiny(conditioning: tuple[str, ...], **kw: object) -> MelodyRNN:
    torch.manual_seed(0)
    return MelodyRNN(conditioning=conditioning, hidden=8, layers=2, dropout=0.0,
                     **kw).eval()  # type: ignore[arg-type]


def changed(x: dict[str, torch.Tensor], keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
    other = inputs(seed=99)
    return {k: (other[k] if k in keys else v) for k, v in x.items()}


@pytest.mark.parametrize("conditioning", COMBINATIONS, ids=conditioning_label)
def test_shapes_and_used_inputs(conditioning: tuple[str, ...]) -> None:
    model = tiny(conditioning)
    x = inputs()
    with torch.no_grad():
        pitch, duration, _ = model(x)
        assert pitch.shape == (2, 7, T.PITCH_DIM)
        assert duration.shape == (2, 7, T.DUR_DIM)
        assert torch.allclose(pitch.exp().sum(-1), torch.ones(2, 7), atol=1e-5)
        # each conditioning input moves the outputs only when the model is conditioned on it
        groups = {"chord": ("chord_root", "chord_pcs"), "next-chord": ("next_root", "next_pcs"),
                  "bar-pos": ("barpos",)}
        for name, keys in groups.items():
            p2, d2, _ = model(changed(x, keys))
            moved = not torch.allclose(pitch, p2) and not torch.allclose(duration, d2)
            assert moved == (name in conditioning), name
        # inter: the pitch network reads the durations (and vice versa) only with "inter"
        p3, _, _ = model(changed(x, ("duration_in",)))
        _, d3, _ = model(changed(x, ("pitch_in",)))
        assert (not torch.allclose(pitch, p3)) == ("inter" in conditioning)
        assert (not torch.allclose(duration, d3)) == ("inter" in conditioning)


def test_causal_and_stepwise_equals_whole_sequence() -> None:
    model = tiny(CONDITIONING)
    x = inputs(batch=1, steps=6)
    with torch.no_grad():
        pitch, duration, _ = model(x)
        later = {k: v.clone() for k, v in x.items()}
        for k in INPUT_KEYS:
            later[k][:, 4:] = inputs(batch=1, steps=6, seed=5)[k][:, 4:]
        p2, d2, _ = model(later)
        assert torch.allclose(pitch[:, :4], p2[:, :4]) and torch.allclose(duration[:, :4],
                                                                          d2[:, :4])
        state = (None, None)
        steps_p, steps_d = [], []
        for t in range(6):
            p, d, state = model({k: v[:, t:t + 1] for k, v in x.items()}, state)
            steps_p.append(p)
            steps_d.append(d)
    assert torch.allclose(torch.cat(steps_p, 1), pitch, atol=1e-5)
    assert torch.allclose(torch.cat(steps_d, 1), duration, atol=1e-5)


def test_parse_conditioning() -> None:
    assert parse_conditioning("bar-pos, chord") == ("chord", "bar-pos")
    assert parse_conditioning(["next_chord", "inter"]) == ("inter", "next-chord")
    assert parse_conditioning("none") == () == parse_conditioning(None)
    assert parse_conditioning("all") == CONDITIONING
    assert conditioning_label(()) == "none"
    with pytest.raises(ParameterError, match="unknown conditioning 'melody'.*inter, chord"):
        parse_conditioning("chord,melody")


def test_config_checks_and_test_model() -> None:
    with pytest.raises(ParameterError, match="model.hidden"):
        MelodyRNN(hidden=0)
    with pytest.raises(ParameterError, match="dropout"):
        MelodyRNN(dropout=1.5)
    with pytest.raises(ParameterError, match="time signature"):
        MelodyRNN(meters=["four"])
    model = MelodyRNN(meters=["6/8", (4, 4)], hidden=4, layers=1)
    assert model.config["meters"] == ["6/8", "4/4"]
    assert (model.pitch_bos, model.duration_bos) == (T.PITCH_DIM, T.DUR_DIM)
    loaded = load_model("melody-test", task="generate-melody")
    assert loaded.module.conditioning == CONDITIONING
    again = load_model("melody-test")
    for a, b in zip(loaded.module.state_dict().values(), again.module.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
