"""Shared fixtures: a seeded random generator and paths built from this file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator, so every test sees the same random numbers."""
    return np.random.default_rng(20201026)
