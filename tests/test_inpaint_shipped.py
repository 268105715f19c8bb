"""The shipped ``inpaint-folk``: weights verify and load, and both learned methods predict
the hidden measures of ``examples/tunes/lark.abc`` (written for mirkit, never trained on)
better than the repeat baseline.

Measured when the model was shipped (teacher-forced NLL in nats per token, gap after 4, 8
and 2 measures): LatentRNN 0.79-0.90, Anticipation-RNN 0.55-0.56, repeat 1.59-1.80. The
bounds leave a margin, so a broken weights file or token change fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirkit.models.registry import get_entry, load_model, model_card

LARK = Path(__file__).resolve().parents[1] / "examples" / "tunes" / "lark.abc"


def test_entry_card_and_size() -> None:
    entry = get_entry("inpaint-folk")
    assert entry.task == "inpaint" and entry.weights_path is not None
    assert entry.weights_path.stat().st_size <= 20e6
    card = model_card("inpaint-folk")
    assert card["command"].startswith("mirkit train inpaint")
    assert set(card["test"]["rows"]) == {"gap 2", "gap 4", "gap 6"}
    module = load_model("inpaint-folk").module                # sha256 checked
    for part in ("vae", "latent_rnn", "anticipation"):
        assert module.is_trained(part)


@pytest.mark.parametrize(("past", "gap"), [(4, 4), (8, 4), (2, 6)])
def test_learned_methods_beat_repeat_on_the_example(past: int, gap: int) -> None:
    import torch

    from mirkit.data.melodies import load_melodies
    from mirkit.features.tokens import MeasureVocab, melody_to_measures
    from mirkit.models.inpaint import repeat_log_probs, token_scores

    model = load_model("inpaint-folk").module.eval()
    vocab = MeasureVocab(55, 84)
    windows = torch.as_tensor(melody_to_measures(load_melodies([LARK])[0], vocab))[None]
    target = windows[:, past:past + gap]
    with torch.inference_mode():
        nll = {m: token_scores(model.gap_logits(m, windows, past, gap), target)
               for m in ("latent-rnn", "anticipation")}
        nll["repeat"] = token_scores(repeat_log_probs(windows, past, gap,
                                                      vocab_size=vocab.size, eps=0.36), target)
    per_token = {m: total / n for m, (total, _, n) in nll.items()}
    assert per_token["latent-rnn"] <= 1.1 and per_token["anticipation"] <= 0.8, per_token
    assert per_token["latent-rnn"] < per_token["repeat"] - 0.4, per_token
