"""``mirkit generate-melody``: chord syntax, bar filling, seeding, outputs, lead sheets."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from test_melody_train import one_thread, write_lead_sheets  # noqa: F401 (fixture)
from typer.testing import CliRunner

from mirkit.cli.app import app
from mirkit.data.melodies import Chord, Melody, load_melodies
from mirkit.errors import InputError, ParameterError
from mirkit.features import tokens as T
from mirkit.io.symbolic import read_score
from mirkit.models.checkpoint import save_checkpoint
from mirkit.models.melody import MelodyRNN
from mirkit.models.registry import load_model
from mirkit.tasks.generate_melody import (
    chord_tone_share,
    generate,
    generate_melodies,
    melody_text,
    parse_progression,
    progression_from_file,
)

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, ["generate-melody", *args])
    return res.exit_code, res.stdout, res.stderr


def forced(pitch: int, tag: int, *, meters: list[str] | None = None) -> MelodyRNN:
    """A model that always predicts ``pitch`` (MIDI) and duration tag ``tag``."""
    model = MelodyRNN(conditioning=["chord"], hidden=4, layers=1, dropout=0.0, meters=meters)
    with torch.no_grad():
        for net, token in ((model.pitch, pitch - T.PITCH_OFFSET), (model.duration, tag)):
            last = net.decoder[-1]
            last.weight.zero_()
            last.bias.fill_(-50.0)
            last.bias[token] = 50.0
    return model.eval()


# --------------------------------------------------------------------------- chords


def test_progression_syntax() -> None:
    p = parse_progression("| C G | Am | % | F7 Bb/D Cmaj7 |", meter="4/4")
    assert p.n_bars == 4 and p.meter == (4, 4)
    assert [(c.onset, c.symbol) for c in p.chords] == [
        (0, "C"), (2, "G"), (4, "Am"), (8, "Am"), (12, "F7"), (Fraction(40, 3), "Bb/D"),
        (Fraction(44, 3), "Cmaj7")]
    assert p.chords[-2].pcs == (2, 5, 10) and p.chords[-2].root == 10
    assert p.text() == "C G | Am | Am | F7 Bb/D Cmaj7"
    six = parse_progression("D A7", meter="6/8", bars=3)          # repeated to 3 bars
    assert [(c.onset, c.symbol) for c in six.chords] == [
        (0, "D"), (Fraction(3, 2), "A7"), (3, "D"), (Fraction(9, 2), "A7"), (6, "D"),
        (Fraction(15, 2), "A7")]
    cut = parse_progression("C | G | Am | F", bars=2)
    assert cut.n_bars == 2 and [c.symbol for c in cut.chords] == ["C", "G"]
    # positions and chordless bars, as text() writes a lead sheet's progression: round trip
    waltz = parse_progression("- | Em C@1 | G D7@5/2", meter="3/4")
    assert [(c.onset, c.symbol) for c in waltz.chords] == [
        (3, "Em"), (4, "C"), (6, "G"), (Fraction(17, 2), "D7")]
    assert waltz.text() == "- | Em C@1 | G D7@5/2"
    assert parse_progression(waltz.text(), meter="3/4") == waltz


@pytest.mark.parametrize(("text", "kw", "match"), [
    ("C | H7 | G", {}, r"bar 2: unknown chord symbol 'H7'; use a root A-G .*'m7b5'.*'/bass'"),
    ("C || G", {}, "bar 2 is empty"),
    ("% | C", {}, "no bar before it"),
    ("C@2 G@1", {}, "positions must rise"),
    ("C G@4", {}, "positions must rise"),
    ("C G@1 F", {}, "'F' needs a position"),
    ("C G@x", {}, "quarter notes from the bar line"),
    (" | ", {}, "holds no chord"),
    ("C", {"meter": "5/4"}, "5/4 is not supported.*4/4.*6/8"),
    ("C", {"meter": "12/8"}, "12/8 is not supported"),
    ("C", {"meter": "four"}, "time signature"),
    ("C", {"bars": 0}, "--bars"),
])
def test_progression_errors(text: str, kw: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        parse_progression(text, **kw)  # type: ignore[arg-type]


def test_unknown_chord_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = cli("--chords", "C | Gmaj13", "--model", "melody-test", "-o", str(tmp_path))
    assert code == 2
    assert "unknown chord symbol 'Gmaj13'" in err and "'sus4'" in err
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- generation


def test_bars_are_filled_and_the_last_note_cut() -> None:
    tag = T.DURATION_TICKS.index(144)                       # dotted whole: 6 quarters
    model = forced(71, tag)
    two = generate(model, parse_progression("C | G"), temperature=0)
    assert two.notes == ((0, 6, 71), (6, 2, 71))            # 8 quarters: 6 + 2 (cut)
    assert two.end == 8 and two.n_bars == 2
    three = generate(model, parse_progression("C | G | C", meter="3/4"), temperature=0)
    assert three.notes == ((0, 6, 71), (6, 3, 71)) and three.end == 9
    assert chord_tone_share(two) == 0.5                     # B is in G, not in C
    assert melody_text(two) == "B4:6 | B4:2"
    assert melody_text(three) == "B4:6 | | B4:3"             # bar 2: nothing starts in it
    held = Melody(id="x", title="", source="", meter=(4, 4), chords=(),
                  notes=((0, 4, 60), (4, 8, 62)))
    assert melody_text(held) == "C4:4 | D4:8 |"              # three bars, three segments
    rest = forced(21 + T.REST, T.DURATION_TICKS.index(24))   # always a rest, a quarter
    silent = generate(rest, parse_progression("C"), temperature=0)
    assert silent.notes == () and chord_tone_share(silent) is None
    assert melody_text(silent) == "r:4"


def test_sampling_is_seeded() -> None:
    model = load_model("melody-test").module
    prog = parse_progression("C | G | Am | F")
    a = generate(model, prog, seed=3)
    b = generate(model, prog, seed=3)
    c = generate(model, prog, seed=4)
    assert a == b and a.notes != c.notes
    assert all(on + d <= prog.length for on, d, _ in a.notes) and a.end == prog.length
    assert [ch.symbol for ch in a.chords] == ["C", "G", "Am", "F"]
    hot = generate(model, prog, seed=3, temperature=0)
    assert hot == generate(model, prog, seed=99, temperature=0)
    with pytest.raises(ParameterError, match="temperature"):
        generate(model, prog, temperature=-1)


def test_chord_tone_share_counts_notes_under_chords() -> None:
    chords = (Chord.from_symbol(1, "C"), Chord.from_symbol(2, "Am"))
    m = Melody(id="x", title="", source="", meter=(4, 4), chords=chords,
               notes=((0, 1, 62), (1, Fraction(1, 2), 64), (Fraction(3, 2), Fraction(1, 2), 62),
                      (2, 1, 69), (3, 1, 71)))
    # the note before the first chord does not count; E in C, D not, A in Am, B not
    assert chord_tone_share(m) == pytest.approx(2 / 4)


# --------------------------------------------------------------------------- CLI outputs


def test_outputs_rows_and_reproducible_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--chords", "C | G | Am F | %", "--model", "melody-test", "--samples", "2",
            "--seed", "5", "--accompaniment", "--format", "json", "-q"]
    code, stdout, _ = cli(*args, "-o", str(out))
    assert code == 0
    rows = json.loads(stdout)
    assert [r["input"] for r in rows] == ["sample 1", "sample 2"]
    assert [r["seed"] for r in rows] == [5, 6] and all(r["bars"] == 4 for r in rows)
    assert {p.name for p in out.iterdir()} == {"melody-1.mid", "melody-1.musicxml",
                                               "melody-2.mid", "melody-2.musicxml"}
    expected = generate(load_model("melody-test").module, parse_progression("C | G | Am F | %"),
                        seed=5)
    assert rows[0]["melody"] == melody_text(expected)
    assert rows[0]["notes"] == len(expected.notes)
    # MIDI: the melody exactly, plus block chords (root from C3, the rest from C4) per bar
    score = read_score(out / "melody-1.mid")
    assert [p.name for p in score.parts] == ["Melody", "Chords"]
    mel = score.notes[score.notes["part"] == 0]
    assert [(Fraction(float(n["onset_beats"])).limit_denominator(48), int(n["pitch"]))
            for n in mel] == [(on, p) for on, _, p in expected.notes]
    acc = score.notes[score.notes["part"] == 1]
    first = sorted(int(n["pitch"]) for n in acc if n["onset_beats"] == 0)
    assert first == [48, 64, 67]                                   # C: C3 E4 G4
    assert sorted({float(n["onset_beats"]) for n in acc}) == [0, 4, 8, 10, 12, 14]
    # MusicXML: read back as a lead sheet, the same notes and chord symbols
    sheet = load_melodies([str(out / "melody-1.musicxml")], part=0,
                          require_grid=False)[0]
    assert sheet.notes == expected.notes
    assert [(c.onset, c.symbol) for c in sheet.chords] == [(0, "C"), (4, "G"), (8, "Am"),
                                                           (10, "F"), (12, "Am"), (14, "F")]
    # the same seed gives the same files, another seed another melody
    again = tmp_path / "again"
    assert cli(*args, "-o", str(again))[0] == 0
    assert (again / "melody-1.mid").read_bytes() == (out / "melody-1.mid").read_bytes()
    code, stdout, _ = cli("--chords", "C | G | Am F | %", "--model", "melody-test", "--seed",
                          "6", "--format", "json", "-q", "-o", str(tmp_path / "six"),
                          "--accompaniment")
    assert json.loads(stdout)[0]["melody"] == rows[1]["melody"]   # sample 2 of seed 5
    assert ((tmp_path / "six" / "melody-1.mid").read_bytes()       # the same file, too
            == (out / "melody-2.mid").read_bytes())



def test_shards_together_are_the_unsharded_run(tmp_path: Path) -> None:
    base = ["--chords", "C | G | Am F", "--model", "melody-test", "--samples", "5", "--seed", "3",
            "--format", "json", "-q"]
    code, stdout, _ = cli(*base, "-o", str(tmp_path / "all"))
    assert code == 0
    whole = {r["input"]: r for r in json.loads(stdout)}
    for k in (1, 2):
        code, stdout, _ = cli(*base, "--shard", f"{k}/2", "-o", str(tmp_path / "shards"))
        assert code == 0
        rows = json.loads(stdout)
        assert [r["input"] for r in rows] == [f"sample {i}" for i in range(k, 6, 2)]
        for r in rows:
            assert (r["seed"], r["melody"]) == (whole[r["input"]]["seed"],
                                                whole[r["input"]]["melody"])
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == sorted(
        p.name for p in (tmp_path / "all").iterdir())
    code, _, err = cli(*base, "--shard", "3/2", "-o", str(tmp_path / "bad"))
    assert code == 2 and "--shard" in err and not (tmp_path / "bad").exists()


def test_a_template_naming_samples_alike_is_refused_up_front(tmp_path: Path) -> None:
    for policy in ([], ["--overwrite"], ["--skip-existing"]):
        code, stdout, err = cli("--chords", "C G", "--model", "melody-test", "--samples", "3",
                                "--filename", "{stem}.{ext}", "-o", str(tmp_path / "o"),
                                *policy)
        assert code == 2 and stdout == "" and "samples 1 and 2 the same name" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(ParameterError, match="the same name"):
        generate_melodies(parse_progression("C"), output=tmp_path / "o", model="melody-test",
                          samples=2, filename="{stem}.{ext}")


def test_lead_sheet_chord_kinds(tmp_path: Path) -> None:
    """MusicXML harmony kinds as a notation program shows them (read back with music21)."""
    from music21 import converter, harmony

    code, _, err = cli("--chords", "Am7b5 | Eø7 | Bbm7b5 | G7 | Cmaj7 | F#dim", "--model",
                       "melody-test", "-o", str(tmp_path), "-q")
    assert code == 0, err
    sheet = converter.parse(tmp_path / "melody-1.musicxml")
    kinds = [h.chordKind for h in sheet.recurse().getElementsByClass(harmony.ChordSymbol)]
    assert kinds == ["half-diminished-seventh"] * 3 + ["dominant-seventh", "major-seventh",
                                                       "diminished"]


def test_chords_from_names_the_tune_as_tune_counts(tmp_path: Path) -> None:
    book = tmp_path / "book.abc"
    book.write_text('X:1\nT:One\nM:4/4\nL:1/4\nK:C\n"C"CDEF|"G"GABc|]\n\n'
                    "X:2\nT:Two\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|]\n")
    with pytest.raises(InputError, match=r"book\.abc \(tune 2\)' has no chord symbols"):
        progression_from_file(book, tune=2)

def test_existing_outputs(tmp_path: Path) -> None:
    rows = generate_melodies(parse_progression("C G"), output=tmp_path, model="melody-test",
                             filename="{stem}_{seed}.{ext}")
    assert [(r["sample"], r["seed"], r["bars"]) for r in rows] == [(1, 0, 1)]
    assert {p.name for p in tmp_path.iterdir()} == {"melody_0.mid", "melody_0.musicxml"}
    args = ["--chords", "C G", "--model", "melody-test", "-o", str(tmp_path), "-q",
            "--format", "csv", "--filename", "{stem}_{seed}.{ext}"]
    code, _, err = cli(*args)
    assert code == 1 and "exists" in err
    code, stdout, _ = cli(*args, "--skip-existing")
    assert code == 0 and ",skipped," in stdout
    code, _, err = cli("--chords", "C", "--model", "melody-test", "-o", str(tmp_path),
                       "--filename", "x.mid")
    assert code == 2 and "same name" in err


def test_chords_from_a_lead_sheet(tmp_path: Path) -> None:
    abc = tmp_path / "sheet.abc"
    abc.write_text('X: 1\nT:Waltz\nM:3/4\nL:1/8\nK:G\nd|"G"g2 B2 d2|"D7"A4 F2|"Em"E2 "C"G2 c2|'
                   '"G"B6|]\n', encoding="utf-8")
    prog, tune = progression_from_file(abc)
    assert prog.meter == (3, 4) and prog.n_bars == 5 and tune.title == "Waltz"
    assert [(c.onset - tune.shift, c.symbol) for c in prog.chords] == [
        (Fraction(1, 2), "G"), (Fraction(7, 2), "D7"), (Fraction(13, 2), "Em"),
        (Fraction(15, 2), "C"), (Fraction(19, 2), "G")]
    assert prog.text() == "- | G | D7 | Em C@1 | G"
    code, stdout, err = cli("--chords-from", str(abc), "--model", "melody-test", "--bars", "8",
                            "-o", str(tmp_path / "out"), "--format", "json")
    assert code == 0, err
    row = json.loads(stdout)[0]
    assert row["bars"] == 8 and row["midi"].endswith("sheet-1.mid")
    assert "Em C@1" in err
    assert read_score(tmp_path / "out" / "sheet-1.mid").time_signatures == [(0.0, 3, 4)]
    code, _, err = cli("--chords-from", str(abc), "--meter", "4/4", "--model", "melody-test",
                       "-o", str(tmp_path / "x"))
    assert code == 2 and "differs" in err
    code, _, err = cli("--chords-from", str(abc), "--chords", "C", "--model", "melody-test")
    assert code == 2 and "either --chords" in err
    code, out, err = cli("--chords-from", str(tmp_path / "none.abc"), "--model", "melody-test")
    assert code == 2 and out == "" and "none.abc' does not exist; give a score file" in err
    nochords = tmp_path / "plain.abc"
    nochords.write_text("X: 1\nT:Plain\nM:4/4\nL:1/4\nK:C\nCDEF|]\n", encoding="utf-8")
    with pytest.raises(InputError, match="no chord symbols"):
        progression_from_file(nochords)
    code, out, err = cli("--chords-from", str(nochords), "--model", "melody-test",
                         "-o", str(tmp_path / "y"))            # the run's one input: usage
    assert code == 2 and out == "" and "--chords-from: " in err and "no chord symbols" in err
    code, _, err = cli("--chords", "C", "--tune", "2", "--model", "melody-test",
                       "-o", str(tmp_path / "y"))
    assert code == 2 and "--tune 2 picks a tune of --chords-from" in err


def test_meter_and_conditioning_checks(tmp_path: Path) -> None:
    ckpt = tmp_path / "four.pt"
    model = forced(60, 10, meters=["4/4"])
    save_checkpoint(ckpt, arch="melody-rnn", config=model.config, state_dict=model.state_dict(),
                    card={"task": "generate-melody"})
    code, _, err = cli("--chords", "C", "--meter", "6/8", "--model", str(ckpt), "-o",
                       str(tmp_path))
    assert code == 2 and "trained on 4/4 only" in err and "6/8" in err
    code, stdout, _ = cli("--chords", "C | F", "--model", str(ckpt), "-o", str(tmp_path / "ok"),
                          "--format", "json", "--conditioning", "chord")
    assert code == 0 and json.loads(stdout)[0]["melody"] == "C4:1 C4:1 C4:1 C4:1 | " \
                                                            "C4:1 C4:1 C4:1 C4:1"
    code, _, err = cli("--chords", "C", "--model", "melody-test", "--conditioning", "chord",
                       "-o", str(tmp_path))
    assert code == 2 and "conditioned on inter+chord+next-chord+bar-pos, not chord" in err
    code, _, err = cli("--chords", "C", "--conditioning", "inter,bar-pos", "-o", str(tmp_path))
    assert code == 2 and "no shipped melody model is conditioned on inter+bar-pos" in err


def test_generated_melodies_tokenise_like_training_data(tmp_path: Path) -> None:
    """A generated melody read back from its MusicXML gives the streams the model produced."""
    sheets = write_lead_sheets(tmp_path / "lead-sheets", n=3)
    tune = load_melodies([str(sheets)])[0]
    from mirkit.tasks.generate_melody import progression_from_melody

    melody = generate(load_model("melody-test").module, progression_from_melody(tune), seed=1)
    events = T.melody_to_events(melody)
    onsets = [Fraction(int(o), T.EVENT_TICKS_PER_QUARTER) for o in events.onset]
    for o, root in zip(onsets, events.chord_root.tolist(), strict=True):
        chord = tune.chord_at(o)
        assert root == (chord.root if chord is not None else T.NO_CHORD)
