"""Score inpainting: models, baselines, the objective test, ``mirkit inpaint`` and the recipe."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mirkit.cli.app import app
from mirkit.data.melodies import Melody, split_of
from mirkit.errors import InputError, ParameterError
from mirkit.features.tokens import END, HOLD, START, MeasureVocab, melody_to_measures
from mirkit.io.symbolic import PartInfo, Score, read_score, write_midi
from mirkit.models.inpaint import (
    TEST_CONFIG,
    InpaintNet,
    MeasureVAE,
    kl_divergence,
    nearest_context,
    repeat_log_probs,
    repeat_nearest,
    token_scores,
)
from mirkit.tasks.inpaint import (
    MARK_COLOUR,
    Inpainter,
    choose_past,
    notes_text,
    output_paths,
    parse_measures,
)
from mirkit.train.inpaint import (
    EvalWindow,
    RecipeConfig,
    TuneTokens,
    WindowItems,
    collate,
    eval_windows,
    gap_metrics,
    gap_scores,
    repeat_accuracy,
    repeat_eps,
    window_at,
)

runner = CliRunner()
TEST_MODEL = "inpaint-test"
V = 4 + 84 - 55 + 1
T = 24
#: D major scale degrees as ABC letters (K:D makes F and C sharp), low to high.
SCALE = ["D", "E", "F", "G", "A", "B", "c", "d", "e", "f", "g", "a"]


def abc_tune(rng: np.random.Generator, number: int, bars: int = 12, meter: str = "4/4") -> str:
    """A random-walk reel in D: eighth notes and quarter notes, ``bars`` full bars."""
    per_bar = 8 if meter == "4/4" else 6
    body, pos = [], int(rng.integers(2, 8))
    for _ in range(bars):
        left, bar = per_bar, []
        while left:
            length = 2 if left >= 2 and rng.random() < 0.25 else 1
            pos = int(np.clip(pos + rng.integers(-2, 3), 0, len(SCALE) - 1))
            bar.append(SCALE[pos] + ("2" if length == 2 else ""))
            left -= length
        body.append("".join(bar))
    return (f"X:{number}\nT:Tune {number}\nM:{meter}\nL:1/8\nK:D\n"
            + "|".join(body) + "|]\n")


@pytest.fixture(scope="module")
def tunes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder ``inpaint-tunes`` with a book of 4/4 tunes and a 6/8 tune."""
    root = tmp_path_factory.mktemp("inpaint") / "inpaint-tunes"
    root.mkdir()
    rng = np.random.default_rng(20201026)
    (root / "book.abc").write_text("\n".join(abc_tune(rng, k + 1) for k in range(24)))
    (root / "single.abc").write_text(abc_tune(rng, 1, bars=10))
    (root / "jig.abc").write_text(abc_tune(rng, 1, meter="6/8"))
    return root


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Tiny models run fastest on one thread (and do not fight other processes for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cli(*args: str) -> Any:
    return runner.invoke(app, ["inpaint", *args])


def rows(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def fake_windows(rng: np.random.Generator, n: int = 3, w: int = 16) -> torch.Tensor:
    return torch.as_tensor(rng.integers(2, V, size=(n, w, T)))


# --------------------------------------------------------------------------- models


def test_model_shapes_and_generation(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    net = InpaintNet(**TEST_CONFIG).eval()
    x = fake_windows(rng)
    out = net(x, 5, 3, stage="vae")
    assert out["logits"].shape == (3 * 16, T, V) and out["mean"].shape == (48, 6)
    for stage in ("latent-rnn", "anticipation"):
        out = net(x, 5, 3, stage=stage)
        assert out["logits"].shape == (3, 3, T, V)
        assert torch.equal(out["targets"], x[:, 5:8])
    for method in ("latent-rnn", "anticipation", "repeat"):
        g = net.generate(method, x, 5, 3, temperature=1.0,
                         generator=torch.Generator().manual_seed(0))
        assert g.shape == (3, 3, T) and g.dtype == torch.long
        if method != "repeat":                 # padding tokens are never generated
            assert not torch.isin(g, torch.tensor([START, END])).any()
    with pytest.raises(ParameterError, match="at least one measure on each side"):
        net.latent_logits(x, 0, 3)
    with pytest.raises(ParameterError, match="shape"):
        net.latent_logits(x[:, :, :12], 5, 3)


def test_latent_rnn_variable_gaps_and_frozen_vae(rng: np.random.Generator) -> None:
    torch.manual_seed(1)
    net = InpaintNet(**TEST_CONFIG)
    net.freeze("vae", "anticipation")
    net.train()
    assert not net.vae.training and net.latent_rnn.training
    x = fake_windows(rng, n=2)
    for gap in range(1, 7):
        for past in (1, 16 - gap - 1):
            for dec_tf in (True, False):
                logits = net.latent_logits(x, past, gap, teacher_forcing=0.5, noise=1.0,
                                           decoder_teacher_forcing=dec_tf)
                assert logits.shape == (2, gap, T, V)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), x[:, past:past + gap]
                                             .reshape(-1))
    loss.backward()
    assert all(p.grad is None for p in net.vae.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in net.latent_rnn.parameters())


@pytest.mark.parametrize("method", ["latent-rnn", "anticipation"])
def test_teacher_forced_logits_do_not_peek(method: str, rng: np.random.Generator) -> None:
    """The log-likelihood of gap token j depends on the context and the gap tokens before j
    only: changing a later gap token leaves every earlier log-probability unchanged."""
    torch.manual_seed(2)
    net = InpaintNet(**TEST_CONFIG).eval()
    x = fake_windows(rng, n=1)
    past, gap = 4, 3
    with torch.no_grad():
        before = net.gap_logits(method, x, past, gap).reshape(-1, V)
        y = x.clone()
        y[0, past + 2, 5] = (y[0, past + 2, 5] + 1) % V           # gap measure 3, tick 5
        after = net.gap_logits(method, y, past, gap).reshape(-1, V)
        changed_context = x.clone()
        changed_context[0, past + gap] = (changed_context[0, past + gap] + 1) % V
        other = net.gap_logits(method, changed_context, past, gap).reshape(-1, V)
    j = 2 * T + 5
    assert torch.allclose(before[:j + 1], after[:j + 1], atol=1e-6)
    assert not torch.allclose(before[j + 1:], after[j + 1:])
    assert not torch.allclose(before, other)     # the future context is used


@pytest.mark.parametrize("method", ["latent-rnn", "anticipation"])
def test_inpaint_logits_fill_from_the_context_alone(method: str,
                                                    rng: np.random.Generator) -> None:
    """The paper's test: the arg-max inpainting is what ``generate`` gives at temperature 0,
    its tokens are the arg-max of its logits, and the true gap tokens are never looked at."""
    torch.manual_seed(4)
    net = InpaintNet(**TEST_CONFIG).eval()
    x = fake_windows(rng, n=2)
    past, gap = 5, 3
    lp, tokens = net.inpaint_logits(method, x, past, gap)
    assert lp.shape == (2, gap, T, V) and tokens.shape == (2, gap, T)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(2, gap, T), atol=1e-5)
    assert torch.equal(tokens, net.generate(method, x, past, gap, temperature=0.0))
    banned = torch.tensor([START, END])
    best = lp.masked_fill(torch.isin(torch.arange(V), banned), -torch.inf).argmax(-1)
    assert torch.equal(tokens, best)
    y = x.clone()
    y[:, past:past + gap] = (y[:, past:past + gap] + 1) % V
    lp2, tokens2 = net.inpaint_logits(method, y, past, gap)
    assert torch.equal(tokens, tokens2) and torch.allclose(lp, lp2)
    z = x.clone()
    z[:, past + gap:] = (z[:, past + gap:] + 1) % V
    assert not torch.allclose(lp, net.inpaint_logits(method, z, past, gap)[0])
    with pytest.raises(ParameterError, match="no logits"):
        net.inpaint_logits("repeat", x, past, gap)


def test_vae_overfits_a_few_measures() -> None:
    torch.manual_seed(3)
    vocab = MeasureVocab()
    rows = []
    for k in range(6):                           # six distinct one-bar rhythms/pitches
        row = np.full(T, HOLD)
        for tick in range(0, T, 6 if k % 2 else 3):
            row[tick] = vocab.pitch_id(60 + k + tick // 6)
        rows.append(row)
    x = torch.as_tensor(np.stack(rows))
    vae = MeasureVAE(V, n_beats=4, embedding=8, encoder_hidden=32, encoder_layers=1, z_dim=8,
                     decoder_hidden=64, decoder_layers=1, dropout=0.0)
    opt = torch.optim.Adam(vae.parameters(), lr=1e-2)
    for _ in range(110):
        out = vae(x)
        loss = torch.nn.functional.cross_entropy(out["logits"].reshape(-1, V), x.reshape(-1))
        loss = loss + 1e-3 * kl_divergence(out["mean"], out["logvar"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    vae.eval()
    with torch.no_grad():
        mean, _ = vae.encode(x)
        _, decoded = vae.decode(mean, teacher_forcing=False)
    # all holds would score 0.82: the pitches and rhythms are reconstructed
    assert float((decoded == x).float().mean()) >= 0.95


# --------------------------------------------------------------------------- baselines


def test_repeat_baseline_and_its_probabilities(rng: np.random.Generator) -> None:
    assert nearest_context(3, 4, 16) == [2, 2, 7, 7]
    assert nearest_context(3, 3, 16) == [2, 2, 6]           # a tie goes to the past
    x = fake_windows(rng, n=2)
    filled = repeat_nearest(x, 3, 4)
    assert torch.equal(filled[:, 0], x[:, 2]) and torch.equal(filled[:, 3], x[:, 7])
    lp = repeat_log_probs(x, 3, 4, vocab_size=V, eps=0.2)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(2, 4, T, dtype=torch.float64))
    nll, correct, n = token_scores(lp, filled)
    assert correct == n == 2 * 4 * T
    assert nll / n == pytest.approx(-np.log(0.8 + 0.2 / V))
    with pytest.raises(ParameterError, match="eps"):
        repeat_log_probs(x, 3, 4, vocab_size=V, eps=1.0)


def test_repeat_eps_maximises_validation_likelihood(rng: np.random.Generator) -> None:
    tune = TuneTokens("t", rng.integers(2, 8, size=(20, T)).astype(np.int64), (0,))
    windows = eval_windows([tune], gaps=(2, 4), per_tune=3, window=16, seed=0)
    a = repeat_accuracy(windows)
    assert 0 < a < 1
    eps = repeat_eps(windows, V)
    model = InpaintNet(**TEST_CONFIG)

    def nll(e: float) -> float:
        return gap_metrics(model, windows, "repeat", eps=e)["nll"]

    assert nll(eps) < nll(eps * 0.8) and nll(eps) < nll(min(0.999, eps * 1.2))
    assert gap_metrics(model, windows, "repeat", eps=eps)["acc"] == pytest.approx(a)


def test_windows_and_training_items() -> None:
    tokens = np.arange(10 * T).reshape(10, T) % 30 + 4
    w = window_at(tokens, 2, 3, 4, 16)                     # 2 START rows, bars 0..9, 4 END
    assert w.shape == (16, T)
    assert np.all(w[:2] == START) and np.array_equal(w[2:12], tokens) and np.all(w[12:] == END)
    tune = TuneTokens("t", tokens.astype(np.int64), (-2, 0, 3))
    items = WindowItems([tune], seed=4, window=16, min_gap=2, max_gap=6, transpose=True)
    a, b = items[7], items[7]
    assert a["gap"] == b["gap"] and np.array_equal(a["tokens"], b["tokens"])
    batch = collate([items[i] for i in range(5)])
    gap, past = batch["gap"], batch["past"]
    assert batch["windows"].shape == (5, 16, T) and 2 <= gap <= 6 and 1 <= past <= 15 - gap
    gaps = batch["windows"][:, past:past + gap]
    assert not torch.isin(gaps, torch.tensor([START, END])).any()   # the gap is music
    ev = eval_windows([tune], gaps=(2, 4, 6), per_tune=2, window=16, seed=1)
    again = eval_windows([tune], gaps=(2, 4, 6), per_tune=2, window=16, seed=1)
    assert {e.gap for e in ev} == {2, 4, 6} and len(ev) == 6
    assert [(e.start, e.gap, e.past) for e in ev] == [(e.start, e.gap, e.past) for e in again]
    assert all(np.array_equal(e.tokens, window_at(tokens, e.start, e.gap, e.past, 16))
               for e in ev)


def test_gap_metrics_counts_tokens(rng: np.random.Generator) -> None:
    model = InpaintNet(**TEST_CONFIG).eval()
    tokens = rng.integers(2, V, size=(16, T)).astype(np.int64)
    windows = [EvalWindow("t", 4, 2, 3, tokens), EvalWindow("t", 4, 4, 5, tokens)]
    for method in ("latent-rnn", "anticipation"):
        for mode in ("inpaint", "likelihood"):
            out = gap_metrics(model, windows, method, mode=mode)
            assert out["tokens"] == (2 + 4) * T
            assert 0 <= out["acc"] <= 1 and out["nll"] > 0
    with pytest.raises(ParameterError, match="mode"):
        gap_metrics(model, windows, "latent-rnn", mode="teacher")
    # per-window scores, in the order given, whatever the batching
    mixed = [windows[1], windows[0], windows[1]]
    per = gap_scores(model, mixed, "anticipation", mode="likelihood", batch_size=1)
    assert per["tokens"].tolist() == [4 * T, 2 * T, 4 * T]
    assert per["nll"][0] == pytest.approx(per["nll"][2])
    one = gap_metrics(model, windows[:1], "anticipation", mode="likelihood")
    assert per["nll"][1] == pytest.approx(one["nll"] * one["tokens"], rel=1e-5)
    assert per["correct"][1] == pytest.approx(one["acc"] * one["tokens"])


# --------------------------------------------------------------------------- task helpers


def test_parse_measures_and_notes_text() -> None:
    assert parse_measures("5-8") == (5, 8) and parse_measures(" 7 ") == (7, 7)
    for bad in ("5-", "8-5", "0-2", "a", "1-2-3"):
        with pytest.raises(ParameterError, match="--measures"):
            parse_measures(bad)
    m = Melody(id="m", title="", source="", meter=(4, 4),
               notes=((Fraction(0), Fraction(4), 60), (Fraction(4), Fraction(1), 64),
                      (Fraction(11, 2), Fraction(1, 2), 66), (Fraction(6), Fraction(1, 3), 67),
                      (Fraction(7), Fraction(3), 69)))
    assert notes_text(m, Fraction(4), Fraction(8)) == \
        "E4 q, rest e, F#4 e, G4 e3, rest q3, A4 h."
    assert choose_past(40, 20, 4, 16) == 6            # balanced when both sides are long
    assert choose_past(40, 1, 4, 16) == 1              # one real bar before the gap
    assert choose_past(12, 9, 2, 16) == 9              # all 9 bars before, 1 after


def test_output_paths() -> None:
    one = output_paths("a/tune.abc", "out")
    assert [str(p) for p in one[0].values()] == ["out/tune.musicxml", "out/tune.mid"]
    three = output_paths("a/tune.abc", "out", samples=3)
    assert str(three[2]["midi"]) == "out/tune.3.mid"
    custom = output_paths("a/tune.abc", "out", "{sample}/{track}.{ext}", samples=2)
    assert str(custom[1]["musicxml"]) == "out/2/tune.musicxml"
    with pytest.raises(ParameterError, match="same name"):
        output_paths("a/tune.abc", "out", "{track}.mid", samples=1)


# --------------------------------------------------------------------------- CLI


def test_cli_seeded_and_marked(tunes: Path, tmp_path: Path) -> None:
    src = tunes / "single.abc"
    args = [str(src), "--model", TEST_MODEL, "-m", "4-6", "--format", "jsonl"]
    a = cli(*args, "-o", str(tmp_path / "a"), "--samples", "2", "--seed", "5")
    b = cli(*args, "-o", str(tmp_path / "b"), "--samples", "2", "--seed", "5")
    c = cli(*args, "-o", str(tmp_path / "c"), "--seed", "6")
    assert a.exit_code == b.exit_code == c.exit_code == 0, a.output
    ra, rb, rc = rows(a.stdout), rows(b.stdout), rows(c.stdout)
    assert [r["notes"] for r in ra] == [r["notes"] for r in rb]
    assert ra[0]["notes"] != ra[1]["notes"] and ra[0]["notes"] != rc[0]["notes"]
    assert (tmp_path / "a" / "single.1.mid").read_bytes() == \
        (tmp_path / "b" / "single.1.mid").read_bytes()
    assert ra[0]["measures"] == "4-6" and ra[0]["meter"] == "4/4" and ra[1]["sample"] == 2
    # outside the filled measures the tune is unchanged; the filled ones are marked
    original = read_score(src)
    filled = read_score(tmp_path / "a" / "single.1.musicxml")
    keep_o = original.notes[(original.notes["onset_beats"] < 12)
                            | (original.notes["onset_beats"] >= 24)]
    keep_f = filled.notes[(filled.notes["onset_beats"] < 12) | (filled.notes["onset_beats"] >= 24)]
    assert np.array_equal(keep_o["pitch"], keep_f["pitch"])
    assert np.allclose(keep_o["onset_beats"], keep_f["onset_beats"])
    import xml.etree.ElementTree as ET

    root = ET.parse(tmp_path / "a" / "single.1.musicxml").getroot()
    coloured = {m.get("number") for m in root.iter("measure")
                for n in m.iter("note") if n.get("color") == MARK_COLOUR}
    assert coloured == {"4", "5", "6"}
    import mido

    markers = [(msg.text, t) for t, msg in _abs_times(mido.MidiFile(
        str(tmp_path / "a" / "single.1.mid")).tracks[0]) if msg.type == "marker"]
    tpq = 960
    assert markers == [("inpainted: start", 12 * tpq), ("inpainted: end", 24 * tpq)]


def _abs_times(track: Any) -> list[tuple[int, Any]]:
    t, out = 0, []
    for msg in track:
        t += msg.time
        out.append((t, msg))
    return out


def test_cli_errors(tunes: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    base = ["--model", TEST_MODEL, "-o", out, "--format", "jsonl"]
    res = cli(str(tunes / "jig.abc"), "-m", "2-3", *base)
    assert res.exit_code == 1 and "6/8" in res.output and "handles only 4/4, 2/2" in res.output
    res = cli(str(tunes / "single.abc"), "-m", "1-7", *base)
    assert res.exit_code == 2 and "at most 6" in res.output
    for bad in ("5-", "x", "3-2"):
        res = cli(str(tunes / "single.abc"), "-m", bad, *base)
        assert res.exit_code == 2 and "--measures" in res.output
    res = cli(str(tunes / "single.abc"), "-m", "9-12", *base)
    assert res.exit_code == 1 and "has only 10 measures" in res.output
    res = cli(str(tunes / "book.abc"), "-m", "2-3", "--tune", "30", *base)
    assert res.exit_code == 1 and "holds 24 tune(s)" in res.output
    res = cli(str(tunes / "single.abc"), "-m", "2-3", "--method", "magic", *base)
    assert res.exit_code == 2 and "latent-rnn" in res.output
    for option, value, words in (("--tune", "0", "tune number >= 1"),
                                 ("--part", "-1", "part index >= 0")):
        res = cli(str(tunes / "single.abc"), "-m", "2-3", option, value, *base)
        assert res.exit_code == 2 and words in res.output, res.output
    assert not list(Path(out).glob("*")) if Path(out).exists() else True


def _two_part_midi(path: Path, *, chords: bool = False) -> None:
    pitches = [62, 64, 66, 67, 69, 71, 73, 74] * 4
    on = np.arange(len(pitches)) * 0.5
    if chords:                                   # one part with a lower third under it
        p = pitches + [q - 4 for q in pitches]
        o = np.concatenate([on, on])
        score = Score.from_notes(p, onset_beats=o, offset_beats=o + 0.5, part=0,
                                 time_signatures=[(0.0, 4, 4)])
    else:
        p = pitches + [q - 12 for q in pitches]
        o = np.concatenate([on, on])
        part = [0] * len(pitches) + [1] * len(pitches)
        score = Score.from_notes(p, onset_beats=o, offset_beats=o + 0.5, part=part,
                                 parts=[PartInfo("Flute"), PartInfo("Cello")],
                                 time_signatures=[(0.0, 4, 4)])
    write_midi(score, path)


def test_cli_polyphonic_inputs(tmp_path: Path) -> None:
    two, chords = tmp_path / "duo.mid", tmp_path / "chords.mid"
    _two_part_midi(two)
    _two_part_midi(chords, chords=True)
    base = ["--model", TEST_MODEL, "-m", "2-3", "-o", str(tmp_path / "out"), "--format",
            "jsonl"]
    res = cli(str(two), *base)
    assert res.exit_code == 1 and "--part" in res.output and "'Flute'" in res.output
    res = cli(str(two), "--part", "1", *base)
    assert res.exit_code == 0, res.output
    assert rows(res.stdout)[0]["part"] == "1 'Cello'"
    res = cli(str(chords), *base)
    assert res.exit_code == 0, res.output
    assert "top line" in rows(res.stdout)[0]["part"]


def test_cli_outputs_are_atomic_and_never_overwritten(tunes: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(tunes / "single.abc"), str(tunes / "jig.abc"), "--model", TEST_MODEL, "-m",
            "2-3", "-o", str(out), "--format", "jsonl"]
    res = cli(*args)
    assert res.exit_code == 1                              # the jig failed, the reel not
    assert sorted(p.name for p in out.iterdir()) == ["single.mid", "single.musicxml"]
    before = (out / "single.mid").read_bytes()
    res = cli(*args[:1], *args[2:], "--seed", "9")
    assert res.exit_code == 1 and "exists" in res.output
    assert (out / "single.mid").read_bytes() == before
    res = cli(*args[:1], *args[2:], "--seed", "9", "--overwrite")
    assert res.exit_code == 0 and (out / "single.mid").read_bytes() != before
    assert not [p for p in out.rglob("*") if ".part" in p.name]


def test_inpainter_api(tunes: Path) -> None:
    inp = Inpainter(TEST_MODEL, device="cpu", method="repeat")
    melody, part = inp.read(tunes / "book.abc", tune=3)
    assert melody.title == "Tune 3" and part == "0"
    res = inp.inpaint(melody, "5-6")
    tokens = melody_to_measures(res.samples[0], MeasureVocab())
    orig = melody_to_measures(melody.transpose(0), MeasureVocab())
    assert np.array_equal(tokens[4], orig[3]) and np.array_equal(tokens[5], orig[6])
    with pytest.raises(InputError, match="leave at least one measure"):
        Inpainter(TEST_MODEL, device="cpu").inpaint(melody.bars(0, 4), "1-4")



@pytest.mark.parametrize("gap", ["6-8", "7-8"])
def test_a_note_tied_out_of_the_gap_is_cut_at_its_edge(tmp_path: Path, gap: str) -> None:
    tied = tmp_path / "tied.abc"
    tied.write_text("X:1\nT:Tied\nM:4/4\nL:1/8\nK:C\nC2E2 G2E2|F2A2 c2A2|G2E2 C2E2|D4 C4-|"
                    "C2E2 G2E2|F2A2 c2A2|G2E2 D2E2|c8-|c2 E2 G2 E2|C8|]\n")
    inp = Inpainter(TEST_MODEL, device="cpu")
    melody, _ = inp.read(tied)
    orig = melody_to_measures(melody, MeasureVocab())
    for seed in range(3):
        res = inp.inpaint(melody, gap, seed=seed)
        tokens = melody_to_measures(res.samples[0], MeasureVocab())
        # measure 9 is outside the gap: its tied-in C5 is struck again at the bar line
        assert tokens[8, 0] == MeasureVocab().pitch_id(72)
        assert np.array_equal(tokens[8, 1:], orig[8, 1:]) and np.array_equal(tokens[9], orig[9])


def test_messages_count_tunes_as_tune_does(tmp_path: Path) -> None:
    book = tmp_path / "book.abc"
    book.write_text("X:1\nT:One\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|cBAG|FEDC|]\n\n"
                    "X:2\nT:Two\nM:3/4\nL:1/4\nK:C\nCDE|FGA|Bcd|c3|]\n")
    inp = Inpainter(TEST_MODEL, device="cpu")
    melody, _ = inp.read(book, tune=2)
    with pytest.raises(InputError, match=r"'.*book\.abc \(tune 2\)' is in 3/4"):
        inp.inpaint(melody, "2-3")

# --------------------------------------------------------------------------- training


TINY_MODEL = {"vae": {"embedding": 4, "encoder_hidden": 8, "encoder_layers": 1, "z_dim": 6,
                      "decoder_hidden": 8, "decoder_layers": 1, "dropout": 0.0},
              "latent_rnn": {"hidden": 8, "layers": 1, "dropout": 0.0},
              "anticipation": {"embedding": 4, "hidden": 8, "layers": 1, "dropout": 0.0}}


def _config(path: Path, stage: str, cache: Path, init: Path | None = None,
            steps: int = 2) -> Path:
    cfg: dict[str, Any] = {"stage": stage, "model": TINY_MODEL,
                           "data": {"cache": str(cache), "val_windows": 1, "val_measures": 50},
                           "train": {"max_steps": steps, "batch_size": 4, "eval_every": 2,
                                     "checkpoint_every": 2, "log_every": 1,
                                     "warmup_steps": 0, "schedule": "constant",
                                     "device": "cpu"}}
    if init is not None:
        cfg["init"] = str(init)
    path.write_text(json.dumps(cfg))
    return path


def train_cli(data: Path, config: Path, out: Path, *extra: str) -> Any:
    return runner.invoke(app, ["train", "inpaint", "--data", str(data), "--config", str(config),
                               "-o", str(out), "--format", "json", *extra])


def test_recipe_stages_resume_and_inference(tunes: Path, tmp_path: Path) -> None:
    assert {split_of(f"inpaint-tunes/book#{k}") for k in range(24)} >= {"train", "valid"}
    data = tmp_path / "data"
    data.mkdir()
    (data / "book.abc").write_text((tunes / "book.abc").read_text())
    cache = tmp_path / "cache"
    vae_cfg = _config(tmp_path / "vae.json", "vae", cache, steps=4)
    res = train_cli(data, vae_cfg, tmp_path / "vae")
    assert res.exit_code == 0, res.output
    metrics = (tmp_path / "vae" / "metrics.csv").read_text()
    assert ",val,free_acc," in metrics and ",train,kl," in metrics
    # resume: 2 steps + 2 more equal 4 straight
    res = train_cli(data, vae_cfg, tmp_path / "half", "--max-steps", "2")
    assert res.exit_code == 0, res.output
    res = train_cli(data, vae_cfg, tmp_path / "half", "--resume")
    assert res.exit_code == 0, res.output
    from mirkit.models.checkpoint import load_checkpoint

    straight = load_checkpoint(tmp_path / "vae" / "last.pt")["state_dict"]
    resumed = load_checkpoint(tmp_path / "half" / "last.pt")["state_dict"]
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    # stage 2 needs an init; it trains the LatentRNN only
    no_init = tmp_path / "bad.json"
    no_init.write_text(json.dumps({"stage": "latent-rnn"}))
    res = train_cli(data, no_init, tmp_path / "bad")
    assert res.exit_code == 2 and "init" in res.output
    lat_cfg = _config(tmp_path / "lat.json", "latent-rnn", cache, tmp_path / "vae" / "last.pt")
    res = train_cli(data, lat_cfg, tmp_path / "lat")
    assert res.exit_code == 0, res.output
    lat = load_checkpoint(tmp_path / "lat" / "last.pt")
    assert all(torch.equal(lat["state_dict"][k], straight[k]) for k in straight
               if k.startswith("vae."))
    assert not all(torch.equal(lat["state_dict"][k], straight[k]) for k in straight
                   if k.startswith("latent_rnn."))
    assert lat["state_dict"]["trained"].tolist() == [1, 1, 0]
    assert [s["stage"] for s in lat["card"]["stages"]] == ["vae", "latent-rnn"]
    first = lat["card"]["stages"][0]
    assert "command" in first and first["training"]["steps"] == 4      # folded in from init
    # the checkpoint inpaints; the untrained Anticipation-RNN is refused
    res = cli(str(tunes / "single.abc"), "--model", str(tmp_path / "lat" / "last.pt"), "-m",
              "2-3", "-o", str(tmp_path / "o"), "--format", "jsonl")
    assert res.exit_code == 0, res.output
    res = cli(str(tunes / "single.abc"), "--model", str(tmp_path / "lat" / "last.pt"), "-m",
              "2-3", "-o", str(tmp_path / "o2"), "--method", "anticipation")
    assert res.exit_code == 2 and "trained anticipation" in res.output


def test_recipe_config_errors() -> None:
    with pytest.raises(ParameterError, match="stage 'magic'"):
        RecipeConfig.from_mapping({"stage": "magic"})
    with pytest.raises(ParameterError, match="unknown config key"):
        RecipeConfig.from_mapping({"stages": "vae"})
    with pytest.raises(ParameterError, match="vae: unknown key"):
        RecipeConfig.from_mapping({"model": {"vae": {"size": 3}}})
    with pytest.raises(ParameterError, match="corpora"):
        RecipeConfig.from_mapping({"data": {"corpora": ["nope"]}})
    with pytest.raises(ParameterError, match="same number of beats"):
        RecipeConfig.from_mapping({"model": {"meters": [[4, 4], [3, 4]]}})
    cfg = RecipeConfig.from_mapping({"stage": "anticipation", "init": "x.pt"})
    assert cfg.train["batch_size"] == 32 and cfg.train["early_stopping"]["metric"] == "nll"


def test_example_configs_parse() -> None:
    examples = sorted((Path(__file__).resolve().parent.parent / "examples" / "train")
                      .glob("inpaint-*.yaml"))
    assert len(examples) == 7
    configs = [RecipeConfig.from_file(p) for p in examples]
    assert sorted(c.stage for c in configs) == ["anticipation"] * 2 + ["latent-rnn"] * 3 + [
        "vae"] * 2
    # the seven stages form one chain: each init is the run folder (-o, in the header's
    # command) of another stage, and only stage 1 starts from nothing
    outputs = {}
    for path, config in zip(examples, configs, strict=True):
        found = re.search(r"-o (\S+)", path.read_text(encoding="utf-8"))
        assert found, path
        outputs[found.group(1)] = config
    inits = [c.init for c in configs]
    assert inits.count(None) == 1
    assert all(i is None or i.removesuffix("/best.pt") in outputs for i in inits)
    assert len({i for i in inits if i is not None}) == 6
