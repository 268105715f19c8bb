"""The shipped ``inpaint-folk``: weights verify and load, and on ``examples/tunes/lark.abc``
(written for mirkit, never trained on) the learned methods fill hidden measures far better
than the repeat baseline, and the LatentRNN's own inpainting beats the Anticipation-RNN's.

Measured when the model was shipped (nats per token, gaps of 4 measures after 4 and 8, of
6 after 2):

- inpaint mode (the paper's test; each model feeds back its own arg-max choices):
  LatentRNN 0.722, 0.850, 0.797 (sum 2.369); Anticipation-RNN 0.725, 0.869, 0.892 (2.486);
- likelihood mode (teacher forced): LatentRNN 0.658, 0.766, 0.741; Anticipation-RNN 0.479,
  0.488, 0.467; repeat (eps 0.36) 1.803, 1.588, 1.660.

The bounds leave a margin, so a broken weights file or token change fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mirkit.models.registry import get_entry, load_model, model_card

LARK = Path(__file__).resolve().parents[1] / "examples" / "tunes" / "lark.abc"
CASES = [(4, 4), (8, 4), (2, 6)]


def test_entry_card_and_size() -> None:
    entry = get_entry("inpaint-folk")
    assert entry.task == "inpaint" and entry.weights_path is not None
    assert entry.weights_path.stat().st_size <= 22e6
    card = model_card("inpaint-folk")
    assert card["command"].startswith("mirkit train inpaint")
    assert card["weights_dtype"] == "float16"
    test = card["test"]
    assert set(test["rows"]) == set(test["likelihood_rows"]) == {"gap 2", "gap 4", "gap 6"}
    assert test["latent_rnn_beats_both_baselines"] is True
    for by in test["rows"].values():                   # the paper's test, every gap
        for base in ("anticipation", "repeat"):
            assert by["latent-rnn"]["nll"] < by[base]["nll"]
            assert by["latent-rnn"]["acc"] > by[base]["acc"]
    module = load_model("inpaint-folk").module                # sha256 checked
    for part in ("vae", "latent_rnn", "anticipation"):
        assert module.is_trained(part)


def _lark() -> Any:
    import torch

    from mirkit.data.melodies import load_melodies
    from mirkit.features.tokens import MeasureVocab, melody_to_measures

    return torch.as_tensor(melody_to_measures(load_melodies([LARK])[0], MeasureVocab(55, 84)))[
        None]


@pytest.mark.parametrize(("past", "gap"), CASES)
def test_learned_methods_beat_repeat_on_the_example(past: int, gap: int) -> None:
    import torch

    from mirkit.models.inpaint import repeat_log_probs, token_scores

    model = load_model("inpaint-folk").module.eval()
    windows = _lark()
    target = windows[:, past:past + gap]
    with torch.inference_mode():
        nll = {m: token_scores(model.gap_logits(m, windows, past, gap), target)
               for m in ("latent-rnn", "anticipation")}
        nll["repeat"] = token_scores(repeat_log_probs(windows, past, gap,
                                                      vocab_size=model.vocab_size, eps=0.36),
                                     target)
    per_token = {m: total / n for m, (total, _, n) in nll.items()}
    assert per_token["latent-rnn"] <= 0.95 and per_token["anticipation"] <= 0.65, per_token
    assert per_token["latent-rnn"] < per_token["repeat"] - 0.6, per_token


def test_latent_rnn_inpaints_the_example_better_than_anticipation() -> None:
    from mirkit.models.inpaint import token_scores

    model = load_model("inpaint-folk").module.eval()
    windows = _lark()
    total = {"latent-rnn": 0.0, "anticipation": 0.0}
    for past, gap in CASES:
        target = windows[:, past:past + gap]
        for method in total:
            lp, tokens = model.inpaint_logits(method, windows, past, gap)
            nll, _, n = token_scores(lp, target)
            assert nll / n <= 1.05, (method, past, gap, nll / n)
            assert float((tokens == target).float().mean()) >= 0.65
            total[method] += nll / n
    assert total["latent-rnn"] < total["anticipation"] - 0.05, total
