"""`mirkit evaluate TASK`: pairing, values against the reference libraries, errors, reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from mirkit.cli.app import app

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, ["evaluate", *args])


def rows(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ------------------------------------------------------------------ transcription

REF_NOTES = "onset,offset,pitch\n0.0,0.5,60\n0.5,1.0,62\n1.0,1.5,64\n1.5,2.0,65\n"
EST_NOTES = "onset,offset,pitch\n0.02,0.45,60\n0.5,1.2,62\n1.0,1.5,66\n1.52,1.9,65\n"


def test_transcription_matches_mir_eval_and_reports_unpaired(tmp_path: Path) -> None:
    import mir_eval

    write(tmp_path / "ref/a.csv", REF_NOTES)
    write(tmp_path / "est/a.csv", EST_NOTES)
    write(tmp_path / "ref/lonely.csv", REF_NOTES)
    res = run("transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"))
    assert res.exit_code == 1
    out = rows(res.stdout)
    failed = [r for r in out if r["status"] == "failed"]
    assert [r["input"] for r in failed] == ["lonely"]
    assert "no estimate for reference item 'lonely'" in res.stderr
    done = next(r for r in out if r["status"] == "done")

    def arr(text: str) -> tuple[np.ndarray, np.ndarray]:
        data = np.array([[float(x) for x in line.split(",")] for line in text.splitlines()[1:]])
        return data[:, :2], mir_eval.util.midi_to_hz(data[:, 2])

    ref_iv, ref_hz = arr(REF_NOTES)
    est_iv, est_hz = arr(EST_NOTES)
    expected = mir_eval.transcription.evaluate(ref_iv, ref_hz, est_iv, est_hz)
    for key, value in expected.items():
        assert done[key] == pytest.approx(value, abs=1e-12), key
    aggregates = [r for r in out if r["status"] == "aggregate"]
    assert [r["input"] for r in aggregates] == ["(median)", "(mean)"]
    assert aggregates[0]["F-measure"] == pytest.approx(expected["F-measure"])


def test_transcription_midi_against_csv_and_report(tmp_path: Path) -> None:
    from mirkit.io.symbolic import Score, write_midi

    score = Score.from_notes([60, 62, 64, 65], onset=[0.0, 0.5, 1.0, 1.5],
                             offset=[0.5, 1.0, 1.5, 2.0])
    write_midi(score, tmp_path / "ref" / "song.mid")
    write(tmp_path / "est/song.csv", REF_NOTES)
    report = tmp_path / "scores.json"
    args = ["transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"),
            "--report", str(report), "-q"]
    res = run(*args)
    assert res.exit_code == 0, res.stderr
    saved = json.loads(report.read_text())
    assert saved[0]["input"] == "song" and saved[0]["Onset_F-measure"] == pytest.approx(1.0)
    before = report.read_text()
    res = run(*args)                     # report exists: refused before any work
    assert res.exit_code == 2 and "exists; pass --overwrite" in res.stderr
    assert res.stdout == "" and report.read_text() == before
    res = run(*args[:-3], "--report", str(report / "r.csv"))      # under a file: refused
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [
        f"mirkit: error: --report: '{report}' is not a folder, so '{report}' cannot be made "
        "there; choose another path"]
    assert run(*args, "--overwrite").exit_code == 0
    res = run(*args[:-3], "--report", str(tmp_path / "x.txt"))
    assert res.exit_code == 2 and "must end in .json or .csv" in res.stderr
    (tmp_path / "dir.csv").mkdir()
    for policy in ([], ["--overwrite"], ["--skip-existing"]):    # a folder: refused up front
        res = run(*args[:-3], "--report", str(tmp_path / "dir.csv"), *policy)
        assert res.exit_code == 2 and res.stdout == "" and "is a folder" in res.stderr


def test_transcription_metrics_option_and_bracketed_columns(tmp_path: Path) -> None:
    notes = "onset,offset,pitch,instrument\n0,0.5,60,piano\n0.5,1,62,violin\n"
    write(tmp_path / "ref/song.csv", notes)
    write(tmp_path / "est/song.csv", notes)
    base = ["transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est")]
    res = run(*base, "--metrics", "F-measure_no_offset,Instrument F-measure [piano]",
              "--format", "json")
    assert res.exit_code == 0, res.stderr
    row = json.loads(res.stdout)[0]
    assert set(row) == {"input", "status", "F-measure_no_offset", "Instrument F-measure [piano]"}
    res = run(*base, "--metrics", "F-measure_no_offset,Instrument F-measure [piano]",
              "--format", "table")
    assert "Instrument F-measure [piano]" in res.stdout.splitlines()[0]   # not eaten as markup
    res = run(*base, "--metrics", "Fmeasure")
    assert res.exit_code == 2 and "unknown metric(s) Fmeasure; known: Precision" in res.stderr
    # names are checked before any item is read: a missing folder is not reached
    res = run("transcription", "-r", str(tmp_path / "nowhere"), "-e", str(tmp_path / "est"),
              "--metrics", "F-measure_no_offset,Loudness")
    assert res.exit_code == 2 and "unknown metric(s) Loudness" in res.stderr
    # a known metric that one item cannot give fails that item alone
    res = run(*base, "--metrics", "Velocity F-measure")
    assert res.exit_code == 1 and "this item has no Velocity F-measure" in res.stderr


def test_transcription_bad_row_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "ref/a.csv", REF_NOTES)
    write(tmp_path / "est/a.csv", "onset,offset,pitch\n0.5,0.2,60\n")
    res = run("transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"))
    assert res.exit_code == 1
    assert "a.csv" in res.stderr and "line 2" in res.stderr


def test_missing_reference_is_a_usage_error(tmp_path: Path) -> None:
    res = run("transcription", "-r", str(tmp_path / "nope"), "-e", str(tmp_path))
    assert res.exit_code == 2 and "--reference" in res.stderr and "does not exist" in res.stderr


# ------------------------------------------------------------------ tagging

def test_tagging_matches_sklearn_and_names_excluded_tags(tmp_path: Path,
                                                         rng: np.random.Generator) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    n = 40
    labels = rng.integers(0, 2, size=(n, 3))
    labels[:, 2] = 0                                     # no positives: excluded
    scores = np.round(rng.random((n, 3)), 2)             # ties included
    items = [f"clip{i}" for i in range(n)]
    write(tmp_path / "labels.csv", "item,piano,drums,voice\n" + "".join(
        f"{it},{','.join(map(str, row))}\n" for it, row in zip(items, labels, strict=True)))
    order = rng.permutation(n)                            # scores in another item order
    write(tmp_path / "scores.csv", "item,piano,drums,voice\n" + "".join(
        f"{items[i]},{','.join(map(str, scores[i]))}\n" for i in order))
    res = run("tagging", "-r", str(tmp_path / "labels.csv"), "-e", str(tmp_path / "scores.csv"))
    assert res.exit_code == 0, res.stderr
    out = {r["tag"]: r for r in rows(res.stdout)}
    for j, tag in enumerate(["piano", "drums"]):
        assert out[tag]["ROC-AUC"] == pytest.approx(roc_auc_score(labels[:, j], scores[:, j]),
                                                     abs=1e-12)
        assert out[tag]["PR-AUC"] == pytest.approx(
            average_precision_score(labels[:, j], scores[:, j]), abs=1e-12)
    assert "voice" not in out and out["(macro)"]["tags"] == 2
    assert [r["status"] for r in out.values()] == ["done", "done", "aggregate", "aggregate"]
    assert "left out of the macro averages: voice" in res.stderr


def test_tagging_unequal_items(tmp_path: Path) -> None:
    write(tmp_path / "labels.csv", "item,a\nx,1\ny,0\n")
    write(tmp_path / "scores.csv", "item,a\nx,0.3\nz,0.1\n")
    res = run("tagging", "-r", str(tmp_path / "labels.csv"), "-e", str(tmp_path / "scores.csv"))
    assert res.exit_code == 1
    assert "y" in res.stderr and "z" in res.stderr


# ------------------------------------------------------------------ assessment

def test_assessment_matches_scipy(tmp_path: Path, rng: np.random.Generator) -> None:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import r2_score

    ref = rng.normal(3, 1, size=(20, 2))
    pred = ref + rng.normal(0, 0.5, size=(20, 2))
    fmt = "item,pitch,rhythm\n" + "{}"
    write(tmp_path / "ref.csv", fmt.format("".join(f"i{k},{float(a)!r},{float(b)!r}\n"
                                                   for k, (a, b) in enumerate(ref))))
    write(tmp_path / "pred.csv", fmt.format("".join(f"i{k},{float(a)!r},{float(b)!r}\n"
                                                    for k, (a, b) in enumerate(pred))))
    res = run("assessment", "-r", str(tmp_path / "ref.csv"), "-e", str(tmp_path / "pred.csv"),
              "--format", "json")
    assert res.exit_code == 0, res.stderr
    out = {r["criterion"]: r for r in json.loads(res.stdout)}
    assert out["pitch"]["R2"] == pytest.approx(r2_score(ref[:, 0], pred[:, 0]), abs=1e-12)
    assert out["rhythm"]["Pearson r"] == pytest.approx(pearsonr(ref[:, 1], pred[:, 1])[0],
                                                       abs=1e-12)
    assert out["rhythm"]["Spearman rho"] == pytest.approx(
        spearmanr(ref[:, 1], pred[:, 1])[0], abs=1e-12)
    assert out["(mean)"]["MAE"] == pytest.approx(np.abs(ref - pred).mean(), abs=1e-12)
    assert [r["status"] for r in out.values()] == ["done", "done", "aggregate"]


# ------------------------------------------------------------------ generation

def test_generation_rows_and_degenerate_feature(tmp_path: Path, rng: np.random.Generator) -> None:
    from mirkit.io.symbolic import Score, write_midi

    for folder in ("gen", "ref"):
        for i in range(5):
            on = np.arange(12) * 0.5
            pitch = 60 + np.cumsum(rng.integers(-3, 4, 12))
            write_midi(Score.from_notes(pitch, onset_beats=on, offset_beats=on + 0.5),
                       tmp_path / folder / f"m{i}.mid")
    res = run("generation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "gen"), "--bleu",
              "--feature", "pitch_range", "--feature", "total_used_note")
    assert res.exit_code == 0, res.stderr
    out = {r["feature"]: r for r in rows(res.stdout)}
    assert set(out) == {"pitch_range", "total_used_note"} | {
        f"BLEU-{n} {stream}" for n in range(1, 5) for stream in ("pitch", "duration")}
    assert out["total_used_note"]["mean (generated)"] == 12
    assert out["total_used_note"]["KL (generated)"] is None
    assert "undefined" in out["total_used_note"]["note"]
    assert 0 <= out["pitch_range"]["OA (generated)"] <= 1
    assert out["BLEU-4 duration"]["value"] == pytest.approx(1.0)   # all eighth notes
    assert out["BLEU-1 pitch"]["value"] >= out["BLEU-4 pitch"]["value"]
    assert "feature 'total_used_note'" in res.stderr


# ------------------------------------------------------------------ disentanglement

def test_disentanglement_npz(tmp_path: Path, rng: np.random.Generator) -> None:
    factors = rng.integers(0, 4, size=(600, 2))
    z = np.c_[factors + 0.05 * rng.standard_normal(factors.shape), rng.standard_normal(600)]
    np.savez(tmp_path / "lat.npz", z=z, factors=factors)
    res = run("disentanglement", "-e", str(tmp_path / "lat.npz"), "-m", "mig_histogram",
              "-m", "mig_knn")
    assert res.exit_code == 0, res.stderr
    out = {r["metric"]: r["value"] for r in rows(res.stdout)}
    assert out["MIG (histogram, dMelodies)"] > 0.5 and out["MIG (kNN, Latte)"] > 0.5
    np.savez(tmp_path / "codes.npz", z=z)
    np.savez(tmp_path / "facts.npz", attributes=factors[:500])
    res = run("disentanglement", "-e", str(tmp_path / "codes.npz"), "-r",
              str(tmp_path / "facts.npz"))
    assert res.exit_code == 1 and "600 latent codes" in res.stderr and "500" in res.stderr
    res = run("disentanglement", "-e", str(tmp_path / "codes.npz"))
    assert res.exit_code == 1 and "codes.npz" in res.stderr
    res = run("disentanglement", "-e", str(tmp_path / "lat.npz"), "-m", "nonsense")
    assert res.exit_code == 2 and "unknown metric" in res.stderr


# ------------------------------------------------------------------ separation

def _museval() -> Any:
    import sys
    import types

    # museval imports stempeg, which refuses to import without ffmpeg; museval's metric code
    # never uses it, so an empty module stands in (mirkit itself never imports museval)
    sys.modules.setdefault("stempeg", types.ModuleType("stempeg"))
    import museval

    return museval


def _tracks(root: Path, rng: np.random.Generator, *, sr: int = 8000, seconds: float = 3.0
            ) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import lfilter

    from mirkit.io.audio import save_audio

    n = int(sr * seconds)
    t = np.arange(n) / sr
    refs = np.stack([
        np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.25 * np.sin(2 * np.pi * 220 * t + 0.3)]),
        lfilter([1.0], [1.0, -0.9], 0.05 * rng.standard_normal((2, n)), axis=1),
    ]) + 1e-3 * rng.standard_normal((2, 2, n))            # -60 dB floor: full-rank references
    ests = refs + 0.2 * refs[::-1] + 0.01 * rng.standard_normal(refs.shape)
    for i, target in enumerate(["vocals", "drums"]):
        save_audio(root / "ref" / "song" / f"{target}.wav", refs[i], sr, subtype="FLOAT")
        save_audio(root / "est" / "song" / f"{target}.wav", ests[i], sr, subtype="FLOAT")
    save_audio(root / "ref" / "song" / "mixture.wav", refs.sum(0), sr, subtype="FLOAT")
    return refs, ests


def test_separation_matches_museval(tmp_path: Path, rng: np.random.Generator) -> None:
    museval = _museval()
    refs, ests = _tracks(tmp_path, rng)
    res = run("separation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"),
              "--json-dir", str(tmp_path / "json"))
    assert res.exit_code == 0, res.stderr
    out = {(r["input"], r["target"]): r for r in rows(res.stdout)}
    # targets are evaluated in sorted order: drums, vocals
    order = [1, 0]
    sdr, isr, sir, sar = museval.evaluate(np.moveaxis(refs[order], 1, 2),
                                          np.moveaxis(ests[order], 1, 2),
                                          win=8000, hop=8000, mode="v4")
    for k, target in enumerate(["drums", "vocals"]):
        row = out[("song", target)]
        for name, values in (("SDR", sdr), ("ISR", isr), ("SIR", sir), ("SAR", sar)):
            assert row[name] == pytest.approx(np.nanmedian(values[k]), abs=0.01), (target, name)
        assert row["SDRi"] > 0
    assert out[("(median)", "vocals")]["SDR"] == pytest.approx(out[("song", "vocals")]["SDR"])
    doc = json.loads((tmp_path / "json" / "song.json").read_text())
    assert [t["name"] for t in doc["targets"]] == ["drums", "vocals"]
    assert len(doc["targets"][0]["frames"]) == 3



def test_separation_undefined_metrics_say_why(tmp_path: Path, rng: np.random.Generator) -> None:
    from mirkit.io.audio import save_audio

    sr, n = 8000, 8000 * 3 + 1000                             # three 1-s frames and a tail
    quiet = np.zeros((2, n))
    quiet[:, -1000:] = 0.1 * rng.standard_normal((2, 1000))   # sounds only in the unscored tail
    loud = 0.1 * rng.standard_normal((2, n))
    noisy = quiet + 0.3 * np.where(quiet != 0, rng.standard_normal((2, n)), 0.0)
    for role, bass in (("ref", quiet), ("est", noisy)):
        save_audio(tmp_path / role / "t" / "bass.wav", bass, sr, subtype="FLOAT")
        save_audio(tmp_path / role / "t" / "vocals.wav", loud, sr, subtype="FLOAT")
    res = run("separation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"))
    assert res.exit_code == 0, res.stderr
    out = {(r["input"], r["target"]): r for r in rows(res.stdout)}
    row = out[("t", "bass")]
    assert row["SDR"] is None and row["SI-SDR"] is not None
    assert row["note"].startswith("SDR, ISR, SIR, SAR undefined: no frame scored")


@pytest.mark.parametrize("flag", ["--window", "--hop"])
@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_separation_framing_must_be_finite_positive(tmp_path: Path, flag: str,
                                                    value: str) -> None:
    res = run("separation", "-r", str(tmp_path), "-e", str(tmp_path), flag, value)
    assert res.exit_code == 2 and res.stdout == ""
    assert f"{flag} {value}" in res.stderr.replace(".0:", ":") and "positive" in res.stderr

def test_separation_length_mismatch_and_missing_target(tmp_path: Path,
                                                       rng: np.random.Generator) -> None:
    from mirkit.io.audio import save_audio

    _tracks(tmp_path, rng)
    save_audio(tmp_path / "est/song/drums.wav", np.zeros((2, 8000 * 3 - 5)) + 0.01, 8000)
    save_audio(tmp_path / "ref/other/vocals.wav", 0.1 * rng.standard_normal((2, 8000)), 8000)
    save_audio(tmp_path / "est/other/drums.wav", 0.1 * rng.standard_normal((2, 8000)), 8000)
    res = run("separation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"))
    assert res.exit_code == 1
    assert "track 'song': estimate files differ in length" in res.stderr
    assert "estimate of track 'other' lacks target(s) vocals" in res.stderr


# ------------------------------------------------------------------ review regressions

def test_csv_output_has_every_metric_column_and_bom_is_fine(tmp_path: Path) -> None:
    write(tmp_path / "ref/a.csv", "\ufeff" + REF_NOTES)
    write(tmp_path / "est/a.csv", EST_NOTES)
    res = run("transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"),
              "--format", "csv")
    assert res.exit_code == 0, res.stderr
    header = res.stdout.splitlines()[0].split(",")
    assert header[:3] == ["input", "status", "Precision"] and "Onset_F-measure" in header
    assert header[-1] == "error"


def test_report_with_skip_existing_leaves_it(tmp_path: Path) -> None:
    write(tmp_path / "ref/a.csv", REF_NOTES)
    write(tmp_path / "est/a.csv", EST_NOTES)
    report = write(tmp_path / "r.csv", "old\n")
    res = run("transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"),
              "--report", str(report), "--skip-existing")
    assert res.exit_code == 0 and report.read_text() == "old\n"
    assert "left as it is (--skip-existing)" in res.stderr
    assert rows(res.stdout)[0]["input"] == "a"              # the items still run


def test_problems_are_reported_by_shard_one_only(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write(tmp_path / f"ref/{name}.csv", REF_NOTES)
        write(tmp_path / f"est/{name}.csv", EST_NOTES)
    write(tmp_path / "est/orphan.csv", EST_NOTES)
    codes = []
    failed = 0
    for k in (1, 2):
        res = run("transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"),
                  "--shard", f"{k}/2")
        codes.append(res.exit_code)
        failed += sum(r["status"] == "failed" for r in rows(res.stdout))
    assert codes == [1, 0] and failed == 1


def test_aggregate_never_covers_a_silent_subset(tmp_path: Path) -> None:
    from mirkit.tasks.evaluate import aggregate_rows

    out = aggregate_rows([{"SDR": 1.0, "SDRi": 2.0}, {"SDR": 3.0}], stats=("mean",))
    assert out[0]["SDR"] == 2.0 and "SDRi" not in out[0]
    assert "SDRi" in out[0]["note"]
    write(tmp_path / "ref/a.csv", REF_NOTES)
    write(tmp_path / "est/a.csv", EST_NOTES)
    write(tmp_path / "ref/b.csv", REF_NOTES)          # no estimate: failed
    res = run("transcription", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "est"))
    agg = [r for r in rows(res.stdout) if r["status"] == "aggregate"]
    assert agg and all("over 1 of 2 items (0 skipped, 1 failed)" in r["note"] for r in agg)


def test_generation_names_a_piece_with_too_few_notes(tmp_path: Path) -> None:
    from mirkit.io.symbolic import Score, write_midi

    for folder in ("gen", "ref"):
        for i in range(3):
            write_midi(Score.from_notes([60, 62, 64], onset_beats=[0, 1, 2],
                                        offset_beats=[1, 2, 3]), tmp_path / folder / f"m{i}.mid")
    write_midi(Score.from_notes([60], onset_beats=[0], offset_beats=[1]),
               tmp_path / "gen" / "tiny.mid")
    res = run("generation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "gen"))
    assert res.exit_code == 1 and "tiny.mid' has 1 note(s)" in res.stderr
    # a per-bar feature without --num-bar: a usage error before any piece is read
    res = run("generation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "gen"),
              "--feature", "bar_used_pitch")
    assert res.exit_code == 2 and res.stdout == "" and "give --num-bar N" in res.stderr




def test_generation_bleu_names_a_polyphonic_piece(tmp_path: Path) -> None:
    from mirkit.io.symbolic import Score, write_midi

    for folder in ("gen", "ref"):
        for i in range(3):
            write_midi(Score.from_notes([60, 62, 64], onset_beats=[0, 1, 2],
                                        offset_beats=[1, 2, 3]), tmp_path / folder / f"m{i}.mid")
    write_midi(Score.from_notes([60, 64, 67], onset_beats=[0, 0, 1], offset_beats=[2, 2, 3]),
               tmp_path / "gen" / "chords.mid")
    res = run("generation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "gen"), "--bleu",
              "--feature", "pitch_range")
    assert res.exit_code == 1
    assert "--estimate piece 'chords': note 1" in res.stderr and "--part K" in res.stderr

def test_generation_part_out_of_range_names_the_file(tmp_path: Path) -> None:
    from mirkit.io.symbolic import Score, write_midi

    for folder in ("gen", "ref"):
        for i in range(3):
            write_midi(Score.from_notes([60, 62, 64], onset_beats=[0, 1, 2],
                                        offset_beats=[1, 2, 3]), tmp_path / folder / f"m{i}.mid")
    res = run("generation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "gen"),
              "--part", "5", "--feature", "pitch_range")
    assert res.exit_code == 2 and "failed" not in res.stdout
    assert "--part 5:" in res.stderr and "m0.mid' has part 0" in res.stderr
    res = run("generation", "-r", str(tmp_path / "ref"), "-e", str(tmp_path / "gen"),
              "--part", "0", "--feature", "pitch_range")
    assert res.exit_code == 0, res.stderr


def test_disentanglement_continuous_factors_point_to_the_option(tmp_path: Path,
                                                                rng: np.random.Generator) -> None:
    np.savez(tmp_path / "lat.npz", z=rng.standard_normal((50, 3)),
             factors=np.full((50, 1), 0.25) + np.arange(50)[:, None])
    res = run("disentanglement", "-e", str(tmp_path / "lat.npz"))
    assert res.exit_code == 1
    assert "column 0 holds 0.25 at row 0" in res.stderr and "--continuous" in res.stderr


def test_disentanglement_limit_must_be_sensible(tmp_path: Path) -> None:
    np.savez(tmp_path / "lat.npz", z=np.zeros((10, 2)), factors=np.zeros((10, 1)))
    res = run("disentanglement", "-e", str(tmp_path / "lat.npz"), "--limit", "-5")
    assert res.exit_code == 2 and "--limit -5" in res.stderr
