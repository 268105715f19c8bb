"""The shipped melody models: weights verify and load, and the chord conditioning shows.

Over the chords of ``examples/tunes/lark.abc`` (written for mirkit, never trained on), ten
seeded melodies of ``melody-nottingham`` hold about two thirds chord tones and those of the
unconditioned ``melody-nottingham-none`` under a third (measured 0.670 and 0.302 when the
models were shipped); the bounds leave a margin, so a broken weights file, token change or
conditioning bug fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirkit.models.registry import get_entry, load_model, model_card

LARK = Path(__file__).resolve().parents[1] / "examples" / "tunes" / "lark.abc"
NAMES = ("melody-nottingham", "melody-nottingham-none")


@pytest.mark.parametrize("name", NAMES)
def test_entry_card_and_size(name: str) -> None:
    entry = get_entry(name)
    assert entry.task == "generate-melody" and entry.weights_path is not None
    assert entry.weights_path.stat().st_size <= 20e6
    card = model_card(name)
    assert card["command"].startswith("mirkit train melody")
    rows = card["study"]["rows"]
    assert {"none", "inter", "chord", "chord+next-chord",
            "inter+chord+next-chord+bar-pos"} <= set(rows)
    load_model(name)                                    # sha256 checked


def _shares(name: str) -> list[float]:
    from mirkit.tasks.generate_melody import chord_tone_share, generate, progression_from_file

    progression, _ = progression_from_file(LARK)
    model = load_model(name).module.eval()
    shares = [chord_tone_share(generate(model, progression, seed=s)) for s in range(10)]
    return [s for s in shares if s is not None]


def test_chord_conditioning_gives_chord_tones() -> None:
    conditioned, free = _shares(NAMES[0]), _shares(NAMES[1])
    assert len(conditioned) == len(free) == 10
    assert np.mean(conditioned) >= 0.55, conditioned
    assert np.mean(free) <= 0.45, free


def test_generation_is_seeded() -> None:
    from mirkit.tasks.generate_melody import generate, progression_from_file

    progression, _ = progression_from_file(LARK)
    model = load_model(NAMES[0]).module.eval()
    a, b = generate(model, progression, seed=3), generate(model, progression, seed=3)
    assert a.notes == b.notes and len(a.notes) > 16
    assert generate(model, progression, seed=4).notes != a.notes
