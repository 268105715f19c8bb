"""The multitask pianoroll U-Net: shapes, pooling, losses, ablations, overfitting, registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mirkit.data.instruments import CLASS_INDEX, CLASSES
from mirkit.errors import InputError, ParameterError
from mirkit.features.pianoroll import n_frames, notes_to_labels
from mirkit.models import transcription_constants as C
from mirkit.models.transcription import TranscriptionUNet, build, losses, pool_logits

TINY = {"n_classes": 3, "base_channels": 4, "depth": 2, "drum_classes": [2]}


def tiny(**kw: object) -> TranscriptionUNet:
    torch.manual_seed(0)
    return TranscriptionUNet(**{**TINY, **kw})  # type: ignore[arg-type]


def random_labels(rng: np.random.Generator, n_classes: int, frames: int,
                  batch: int = 1) -> dict[str, torch.Tensor]:
    roll = torch.from_numpy(rng.random((batch, n_classes, 88, frames)) < 0.05)
    onsets = roll & torch.from_numpy(rng.random(roll.shape) < 0.3)
    return {"pianoroll": roll, "onsets": onsets, "pitch_roll": roll[:, :-1].any(dim=1),
            "activity": roll.any(dim=2)}


@pytest.mark.parametrize("frames", [1, 7, 17, 33, 101])
@pytest.mark.parametrize("n_bins", [88, 264])
def test_output_shapes_for_any_frame_count(frames: int, n_bins: int) -> None:
    model = tiny(n_bins=n_bins).eval()
    out = model(torch.randn(2, n_bins, frames))
    assert set(out) == {"roll", "onset", "pitch", "instrument"}
    assert out["roll"].shape == out["onset"].shape == (2, 3, 88, frames)
    assert out["pitch"].shape == (2, 88, frames)
    assert out["instrument"].shape == (2, 3, frames)
    assert "onset" not in tiny(onset_head=False).eval()(torch.randn(1, 88, frames))


def test_default_model_size() -> None:
    model = TranscriptionUNet()
    n_params = sum(p.numel() for p in model.parameters())
    state_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    # 2,987,426 parameters: 11.4 MiB of float32 weights, within the 20 MB budget
    assert 2_000_000 < n_params < 5_000_000
    assert state_bytes <= 20_000_000
    assert model.config["n_classes"] == len(CLASSES)
    assert model.config["drum_classes"] == [CLASS_INDEX["drums"]]


def test_pitch_and_instrument_are_pooled_from_the_roll(rng: np.random.Generator) -> None:
    model = tiny().eval()
    with torch.no_grad():
        out = model(torch.randn(1, 88, 20))
    roll = out["roll"]
    torch.testing.assert_close(out["pitch"], roll[:, :2].amax(dim=1))    # class 2 = drums
    torch.testing.assert_close(out["instrument"], roll.amax(dim=2))
    # max of logits is the logit of the max probability
    torch.testing.assert_close(torch.sigmoid(out["pitch"]), torch.sigmoid(roll[:, :2]).amax(1))


def test_noisy_or_pooling_is_stable_and_exact(rng: np.random.Generator) -> None:
    logits = torch.from_numpy(rng.normal(0, 4, (3, 5, 7)))
    logits[0, :, 0] = -200.0                     # every p underflows to 0: finite, very low
    logits[1, :, 1] = 60.0                       # p = 1 everywhere: finite, very high
    pooled = pool_logits(logits, 1, pool="noisy_or")
    assert torch.isfinite(pooled).all()
    p = torch.sigmoid(logits[2])
    expected = torch.logit(1 - torch.prod(1 - p, dim=0))
    torch.testing.assert_close(pooled[2], expected, rtol=1e-6, atol=1e-6)
    assert pooled[0, 0] < -100 and pooled[1, 1] > 30
    model = tiny(pool="noisy_or").eval()
    out = model(torch.randn(1, 88, 5))
    torch.testing.assert_close(out["instrument"], pool_logits(out["roll"], 2, pool="noisy_or"))


def test_batch_items_do_not_leak_in_eval_mode(rng: np.random.Generator) -> None:
    model = TranscriptionUNet(base_channels=8, depth=3).eval()
    x = torch.from_numpy(rng.standard_normal((3, 88, 45)).astype(np.float32))
    with torch.no_grad():
        together = model(x)
        for i in range(3):
            alone = model(x[i:i + 1])
            for key, value in alone.items():
                torch.testing.assert_close(together[key][i:i + 1], value, rtol=1e-4, atol=1e-4)


def test_feature_standardisation_uses_the_stored_stats(rng: np.random.Generator) -> None:
    model = tiny().eval()
    x = torch.from_numpy(rng.standard_normal((1, 88, 12)).astype(np.float32))
    mean, std = rng.normal(size=88).astype(np.float32), rng.uniform(0.5, 2, 88).astype(np.float32)
    with torch.no_grad():
        plain = model((x - torch.from_numpy(mean)[:, None]) / torch.from_numpy(std)[:, None])
        model.set_feature_stats(mean, std)
        standardised = model(x)
    torch.testing.assert_close(standardised["roll"], plain["roll"], rtol=1e-4, atol=1e-5)
    assert "feature_mean" in model.state_dict()          # travels with the checkpoint
    with pytest.raises(ParameterError, match="deviations"):
        model.set_feature_stats(mean, -std)


def bce(x: np.ndarray, y: np.ndarray) -> float:
    p = 1 / (1 + np.exp(-x))
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def test_losses_match_hand_computed_bce() -> None:
    g = torch.Generator().manual_seed(1)
    outputs = {"roll": torch.randn(1, 2, 88, 3, generator=g),
               "onset": torch.randn(1, 2, 88, 3, generator=g),
               "pitch": torch.randn(1, 88, 3, generator=g),
               "instrument": torch.randn(1, 2, 3, generator=g)}
    labels = {"pianoroll": torch.rand(1, 2, 88, 3, generator=g) > 0.5,
              "onsets": torch.rand(1, 2, 88, 3, generator=g) > 0.8,
              "pitch_roll": torch.rand(1, 88, 3, generator=g) > 0.5,
              "activity": torch.tensor([[[1, 0, 1], [0, 0, 1]]])}
    weights = {"roll": 1.0, "pitch": 0.5, "instrument": 2.0, "onset": 0.25}
    got = losses(outputs, labels, weights=weights)
    expected = {term: bce(outputs[term].numpy(), labels[key].numpy().astype(np.float64))
                for term, key in C.LOSS_LABELS.items()}
    for term, value in expected.items():
        assert float(got[term]) == pytest.approx(value, rel=1e-5)
    assert float(got["total"]) == pytest.approx(
        sum(weights[t] * v for t, v in expected.items()), rel=1e-5)
    # a tiny worked case: logit 0 -> log 2 whatever the label
    zero = {k: torch.zeros_like(v) for k, v in outputs.items()}
    assert float(losses(zero, labels)["total"]) == pytest.approx(4 * np.log(2), rel=1e-6)


@pytest.mark.parametrize("ablation", list(C.ABLATIONS))
def test_ablation_weights_switch_loss_terms_off(ablation: str,
                                                rng: np.random.Generator) -> None:
    model = tiny().train()
    labels = random_labels(rng, 3, 16, batch=2)
    outputs = model(torch.randn(2, 88, 16))
    for value in outputs.values():
        value.retain_grad()
    weights = C.ablation_weights(ablation, onset=0.0)
    result = losses(outputs, labels, weights=weights)
    result["total"].backward()
    on = set(C.ABLATIONS[ablation])
    assert result["total"].item() == pytest.approx(sum(result[t].item() for t in on), rel=1e-6)
    for term in ("pitch", "instrument", "onset"):       # pooled heads: grads come from own loss
        grad = outputs[term].grad
        assert (grad is not None and bool(grad.abs().sum() > 0)) == (term in on), term
    assert not result["onset"].requires_grad          # reported, not trained
    # the roll always learns: directly, or through the pooled heads
    assert float(outputs["roll"].grad.abs().sum()) > 0
    assert C.ablation_weights(ablation)["onset"] == 1.0


def test_masked_frames_do_not_count(rng: np.random.Generator) -> None:
    model = tiny().eval()
    labels = random_labels(rng, 3, 20)
    mask = torch.ones(1, 20, dtype=torch.bool)
    mask[:, 12:] = False
    with torch.no_grad():
        out = model(torch.randn(1, 88, 20))
        first = losses(out, labels, mask=mask)
        shifted = {k: torch.cat([v[..., :12], v[..., 12:] + 5.0], dim=-1) for k, v in out.items()}
        second = losses(shifted, labels, mask=mask)
        cropped = losses({k: v[..., :12] for k, v in out.items()},
                         {k: v[..., :12] for k, v in labels.items()})
    for term in ("roll", "pitch", "instrument", "onset", "total"):
        assert float(first[term]) == pytest.approx(float(second[term]), rel=1e-6)
        assert float(first[term]) == pytest.approx(float(cropped[term]), rel=1e-5)


def test_class_loss_is_cross_entropy_over_classes_at_sounding_cells() -> None:
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 3, 88, 4, generator=g, requires_grad=True)
    y = torch.zeros(2, 3, 88, 4)
    y[0, 1, 40, 0] = 1                          # one instrument on a key
    y[1, 0, 50, 2] = y[1, 2, 50, 2] = 1         # a unison of two: a 50/50 target
    y[1, 2, 10, 3] = 1
    log_p = torch.log_softmax(logits.detach().double(), dim=1)
    cells = [-log_p[0, 1, 40, 0], -(0.5 * log_p[1, 0, 50, 2] + 0.5 * log_p[1, 2, 50, 2]),
             -log_p[1, 2, 10, 3]]
    mean = losses({"roll": logits}, {"pianoroll": y}, weights={"class": 1.0})
    assert float(mean["class"].detach()) == pytest.approx(float(sum(cells)) / 3, rel=1e-6)
    assert float(mean["total"].detach()) == pytest.approx(float(mean["class"].detach()), rel=1e-6)
    frame = losses({"roll": logits}, {"pianoroll": y}, weights={"class": 2.0},
                   reduction="frame")
    assert float(frame["class"].detach()) == pytest.approx(float(sum(cells)) / 8, rel=1e-6)
    assert float(frame["total"].detach()) == pytest.approx(
        2 * float(frame["class"].detach()), rel=1e-6)
    # only sounding cells get a gradient, and the right class is pushed up
    frame["total"].backward()
    grad = logits.grad
    assert grad is not None
    assert set(map(tuple, grad.abs().sum(dim=1).nonzero().tolist())) == {
        (0, 40, 0), (1, 50, 2), (1, 10, 3)}
    assert float(grad[0, 1, 40, 0]) < 0 < float(grad[0, 0, 40, 0])
    # masked frames do not count; weight 0 leaves the term out
    mask = torch.tensor([[True] * 4, [True, True, False, True]])
    masked = losses({"roll": logits}, {"pianoroll": y}, weights={"class": 1.0}, mask=mask)
    assert float(masked["class"].detach()) == pytest.approx(
        float(cells[0] + cells[2]) / 2, rel=1e-6)
    assert "class" not in losses({"roll": logits}, {"pianoroll": y}, weights={"roll": 1.0})
    with pytest.raises(InputError, match="pianoroll"):
        losses({"roll": logits}, {"onsets": y}, weights={"class": 1.0})


def test_reonset_loss_weighs_only_onsets_on_a_key_that_was_sounding() -> None:
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(2, 3, 88, 6, generator=g, requires_grad=True)
    roll = torch.zeros(2, 3, 88, 6)
    on = torch.zeros(2, 3, 88, 6)
    roll[0, 1, 40, 0:3] = on[0, 1, 40, 0] = 1      # a note from silence: not a re-onset
    roll[0, 1, 40, 3:6] = on[0, 1, 40, 3] = 1      # the same key again, legato: re-onset
    roll[1, 0, 50, 2:4] = on[1, 0, 50, 2] = 1      # a new note
    roll[1, 2, 50, 0:2] = 1                        # another class held the key: not this one's
    roll[1, 0, 50, 4:6] = on[1, 0, 50, 5] = 1      # onset inside its own note: re-onset
    y = {"pianoroll": roll, "onsets": on}
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        logits.detach().double(), on.double(), reduction="none")
    cells = [bce[0, 1, 40, 3], bce[1, 0, 50, 5]]
    mean = losses({"onset": logits}, y, weights={"reonset": 1.0})
    assert float(mean["reonset"].detach()) == pytest.approx(float(sum(cells)) / 2, rel=1e-6)
    frame = losses({"onset": logits}, y, weights={"reonset": 3.0}, reduction="frame")
    assert float(frame["reonset"].detach()) == pytest.approx(float(sum(cells)) / 12, rel=1e-6)
    assert float(frame["total"].detach()) == pytest.approx(
        3 * float(frame["reonset"].detach()), rel=1e-6)
    frame["total"].backward()
    grad = logits.grad
    assert grad is not None
    assert set(map(tuple, grad.nonzero().tolist())) == {(0, 1, 40, 3), (1, 0, 50, 5)}
    assert float(grad[0, 1, 40, 3]) < 0                   # pushed towards an onset
    mask = torch.tensor([[True] * 6, [True] * 5 + [False]])
    masked = losses({"onset": logits}, y, weights={"reonset": 1.0}, mask=mask)
    assert float(masked["reonset"].detach()) == pytest.approx(float(cells[0]), rel=1e-6)
    assert "reonset" not in losses({"onset": logits}, y, weights={"onset": 1.0})
    with pytest.raises(InputError, match="onsets"):
        losses({"onset": logits}, {"pianoroll": roll}, weights={"reonset": 1.0})


def test_frame_labels_work_as_labels() -> None:
    frames = n_frames(C.SAMPLE_RATE * 2, C.HOP)
    lab = notes_to_labels([0.1, 0.5], [0.9, 1.5], [60, 40], ["piano", "drums"],
                          classes=CLASSES, frames=frames, sr=C.SAMPLE_RATE, hop=C.HOP)
    model = TranscriptionUNet(base_channels=4, depth=2).eval()
    with torch.no_grad():
        result = losses(model(torch.randn(1, 88, frames)), lab)
    assert set(result) == {"roll", "pitch", "instrument", "onset", "total"}
    assert torch.isfinite(result["total"])


def test_loss_errors_name_the_problem(rng: np.random.Generator) -> None:
    model = tiny(onset_head=False).eval()
    out = model(torch.randn(1, 88, 8))
    labels = random_labels(rng, 3, 8)
    with pytest.raises(ParameterError, match="onset_head"):
        losses(out, labels)
    with pytest.raises(ParameterError, match="nothing to train"):
        losses(out, labels, weights={"roll": 0.0})
    with pytest.raises(ParameterError, match="unknown loss term"):
        losses(out, labels, weights={"frames": 1.0})
    with pytest.raises(InputError, match="shape"):
        losses(out, random_labels(rng, 3, 9), weights={"roll": 1.0})
    with pytest.raises(InputError, match="activity"):
        losses(out, {"pianoroll": labels["pianoroll"]}, weights={"roll": 1, "instrument": 1})
    with pytest.raises(ParameterError, match="ablation"):
        C.ablation_weights("frames-only")


def test_bad_configs_and_inputs() -> None:
    with pytest.raises(ParameterError, match="multiple of 88"):
        TranscriptionUNet(n_bins=100)
    with pytest.raises(ParameterError, match="drum_classes"):
        TranscriptionUNet(n_classes=2, drum_classes=[5])
    with pytest.raises(ParameterError, match="every class is a drum"):
        TranscriptionUNet(n_classes=1, drum_classes=[0])
    with pytest.raises(InputError, match=r"\(batch, 88 bins, frames\)"):
        tiny()(torch.randn(1, 84, 10))


def test_tiny_model_overfits_one_example(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    model = TranscriptionUNet(n_classes=3, base_channels=8, depth=2, drum_classes=[])
    frames = 40
    labels = {k: v.float() for k, v in random_labels(rng, 3, frames).items()}
    labels["pitch_roll"] = labels["pianoroll"].amax(dim=1)
    # the input shows each sounding key (class-specific gain) under noise
    gains = torch.tensor([1.0, 2.0, 3.0])[None, :, None, None]
    features = (labels["pianoroll"] * gains).sum(1) + 0.1 * torch.randn(1, 88, frames)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for _ in range(50):
        opt.zero_grad()
        loss = losses(model(features), labels)["total"]
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert history[-1] < 0.2 * history[0], history[::10]


def test_config_round_trip_and_frontend() -> None:
    model = TranscriptionUNet(base_channels=4, depth=2, n_bins=264)
    clone = build(**json.loads(json.dumps(model.config)))
    assert {k: v.shape for k, v in clone.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()}
    front = model.frontend()
    feats = front(torch.randn(C.SAMPLE_RATE))
    assert feats.shape == (264, n_frames(C.SAMPLE_RATE, C.HOP))
    assert front.cqt.bins_per_octave == 36
    out = model.eval()(feats.unsqueeze(0))
    assert out["roll"].shape == (1, len(CLASSES), 88, feats.shape[-1])


def test_register_declares_the_architecture_and_test_model() -> None:
    registry = pytest.importorskip("mirkit.models.registry")
    from mirkit.models import transcription

    transcription.register()
    transcription.register()                        # idempotent
    assert registry.ARCHITECTURES[C.ARCH_NAME] is transcription.build
    entry = registry.get_entry(C.TEST_MODEL_NAME)
    assert (entry.arch, entry.task, entry.is_test) == (C.ARCH_NAME, C.TASK, True)
    model = registry.build(entry.arch, entry.config)
    assert isinstance(model, TranscriptionUNet)
    assert sum(p.numel() for p in model.parameters()) < 10_000


def test_fused_batchnorm_gives_the_same_outputs() -> None:
    torch.manual_seed(0)
    model = TranscriptionUNet(base_channels=4, depth=3)
    model.train()
    for _ in range(3):                       # move the running statistics off their defaults
        model(torch.randn(2, 88, 40))
    model.eval()
    x = torch.randn(1, 88, 50)
    with torch.no_grad():
        want = model(x)
        got = model.fuse_batchnorm()(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    for key in want:
        torch.testing.assert_close(got[key], want[key], atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------ harmonic stacking


def test_plain_model_config_has_no_harmonics_key() -> None:
    model = tiny()
    assert "harmonics" not in model.config and model.n_input_bins == 88
    assert model.enc[0].conv1.in_channels == 1


@pytest.mark.parametrize(("harmonics", "bins", "offset"),
                         [([1, 2, 3], 98, 0), ([0.5, 1, 2, 3, 4, 5, 6, 7, 8], 110, 12)])
def test_harmonic_stack_layout(harmonics: list[float], bins: int, offset: int) -> None:
    """Channel j at key k holds input bin offset + k + round(12 log2 h_j); zeros above the
    input, whose top bin lies below Nyquist (98 bins from A0 at 16 kHz)."""
    model = tiny(harmonics=harmonics)
    assert model.n_input_bins == bins and model.key_offset == offset
    assert model.config["harmonics"] == [float(h) for h in harmonics]
    assert model.enc[0].conv1.in_channels == len(harmonics)
    front = model.frontend()
    assert front.cqt.n_bins == bins
    assert front.cqt.freqs[offset] == pytest.approx(27.5)
    x = torch.arange(bins, dtype=torch.float32)[None, :, None].repeat(2, 1, 3)
    stack = model._stack(x)
    assert stack.shape == (2, len(harmonics), 88, 3)
    for j, h in enumerate(harmonics):
        shift = round(12 * np.log2(h))
        want = np.arange(88) + offset + shift
        want = np.where(want < bins, want, 0).astype(np.float32)
        np.testing.assert_array_equal(stack[0, j, :, 1].numpy(), want)
    out = model.eval()(front(torch.randn(C.SAMPLE_RATE))[None])
    assert out["roll"].shape == (1, 3, 88, n_frames(C.SAMPLE_RATE, C.HOP))


def test_grown_model_computes_what_the_plain_one_did(rng: np.random.Generator) -> None:
    plain = tiny()
    plain.set_feature_stats(rng.normal(size=88), rng.uniform(0.5, 2, 88))
    plain.train()
    for _ in range(2):                              # move the batch-norm statistics
        plain(torch.randn(2, 88, 40))
    plain.eval()
    grown = tiny(harmonics=[0.5, 1, 2, 3])
    grown.grow_from(plain.state_dict(), plain.config)
    grown.eval()
    audio = torch.from_numpy(rng.normal(0, 0.1, C.SAMPLE_RATE * 2).astype(np.float32))
    f_plain, f_grown = plain.frontend()(audio), grown.frontend()(audio)
    torch.testing.assert_close(f_grown[12:100], f_plain, atol=1e-6, rtol=0)
    with torch.no_grad():
        a, b = plain(f_plain[None]), grown(f_grown[None])
        for key in a:
            torch.testing.assert_close(b[key], a[key], atol=1e-5, rtol=0)
        # the new channels are live: their weights get gradients and change the outputs
        grown.enc[0].conv1.weight[:, 0].fill_(0.5)
        assert (grown(f_grown[None])["roll"] - a["roll"]).abs().max() > 1e-3


def test_grow_from_refuses_other_models() -> None:
    plain = tiny()
    with pytest.raises(ParameterError, match="differs only in harmonics"):
        tiny(harmonics=[1, 2], base_channels=8).grow_from(plain.state_dict(), plain.config)
    wide = tiny(harmonics=[1, 2, 3])
    with pytest.raises(ParameterError, match="subset"):
        tiny(harmonics=[1, 2]).grow_from(wide.state_dict(), wide.config)
    same = tiny(harmonics=[1, 2])
    same.grow_from(tiny(harmonics=[1, 2]).state_dict(), same.config)     # a plain load


@pytest.mark.parametrize("harmonics", [[], [2, 3], [1, 1, 2], [1, -2], [1, float("nan")]])
def test_bad_harmonics(harmonics: list[float]) -> None:
    with pytest.raises(ParameterError, match="harmonics"):
        tiny(harmonics=harmonics)
    with pytest.raises(ParameterError, match="Nyquist"):
        tiny(harmonics=[1, 2], sr=8000)
