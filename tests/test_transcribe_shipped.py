"""The shipped ``transcribe-unet``: its weights verify, load, and transcribe the example.

The example (``examples/audio/chorale.flac``) is a test-split track, never trained on; the
floors sit a little under the scores measured when the model was shipped (its card), so a
broken model file, feature change or decoding regression fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirkit.metrics.transcription import evaluate, read_notes
from mirkit.models.registry import get_entry, load_model, model_card

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "audio"
#: (metric, floor): measured on the example when the model was exported, minus a margin.
FLOORS = {"F-measure_no_offset": 0.71, "Frame Accuracy": 0.61,     # measured 0.762, 0.662
          "Instrument F-measure_no_offset": 0.42}                    # measured 0.465


@pytest.fixture(scope="module")
def scores() -> dict[str, float]:
    from mirkit.tasks.transcribe import Transcriber

    res = Transcriber("transcribe-unet", device="cpu").transcribe(EXAMPLES / "chorale.flac")
    ref = read_notes(EXAMPLES / "chorale.notes.csv")
    notes = res.notes.notes
    est = np.stack([notes.onset, notes.offset], axis=1).reshape(-1, 2)
    return evaluate(ref.intervals, ref.pitches, est, notes.pitch.astype(float),
                    ref_instruments=ref.instruments,
                    est_instruments=np.asarray(notes.class_, dtype=str))


def test_entry_card_and_size() -> None:
    entry = get_entry("transcribe-unet")
    assert entry.task == "transcribe" and entry.weights_path is not None
    assert entry.weights_path.stat().st_size <= 20e6          # the ceiling
    card = model_card("transcribe-unet")
    assert card["command"].startswith("mirkit train transcribe")
    assert {"test", "decoding"} <= set(card)
    assert card["decoding"]["decoder"] == "pitch-first"
    assert 0 < card["decoding"]["min_class_share"] < 1       # the class vote is on
    decoding = card["decoding"]                               # re-articulations need more
    assert decoding["onset_threshold"] < decoding["reonset_threshold"] < 1
    loaded = load_model("transcribe-unet", task="transcribe")   # sha256 checked
    assert loaded.module.n_classes == 17


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_example_scores(scores: dict[str, float], metric: str) -> None:
    assert scores[metric] >= FLOORS[metric], (metric, scores[metric])
