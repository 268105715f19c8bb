"""Assessment metrics against scikit-learn and scipy, degenerate inputs, CSV loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from mirkit.errors import InputError
from mirkit.metrics import assessment as asm

A_TOL = 1e-12
CRITERIA = ["musicality", "note accuracy", "rhythmic accuracy", "tone quality"]


def ratings(rng: np.random.Generator, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Reference ratings on a 0-1 grid of tenths (many ties) and noisy predictions."""
    ref = np.round(rng.random((n, len(CRITERIA))), 1)
    pred = np.round(ref + rng.normal(0, 0.15, ref.shape), 1)
    return ref, pred


def test_evaluate_matches_sklearn_and_scipy(rng):
    ref, pred = ratings(rng)
    scores = asm.evaluate(ref, pred, criteria=CRITERIA)
    for j, name in enumerate(CRITERIA):
        expected = {
            "R2": r2_score(ref[:, j], pred[:, j]),
            "Pearson r": pearsonr(ref[:, j], pred[:, j]).statistic,
            "Spearman rho": spearmanr(ref[:, j], pred[:, j]).statistic,
            "MAE": mean_absolute_error(ref[:, j], pred[:, j]),
            "RMSE": np.sqrt(mean_squared_error(ref[:, j], pred[:, j])),
        }
        for metric, value in expected.items():
            assert abs(scores[f"{metric} [{name}]"] - value) <= A_TOL, (metric, name)
    assert abs(scores["R2"] - r2_score(ref, pred, multioutput="uniform_average")) <= A_TOL
    assert abs(scores["MAE"] - mean_absolute_error(ref, pred)) <= A_TOL
    assert abs(scores["Spearman rho"]
               - np.mean([spearmanr(ref[:, j], pred[:, j]).statistic for j in range(4)])) <= A_TOL
    assert list(scores)[:6] == ["R2", "Pearson r", "Spearman rho", "MAE", "RMSE", "Items"]
    assert scores["Items"] == 60.0
    assert list(scores)[6:11] == [f"{m} [musicality]" for m in
                                  ("R2", "Pearson r", "Spearman rho", "MAE", "RMSE")]


def test_metric_functions_per_criterion(rng):
    ref, pred = ratings(rng, 30)
    np.testing.assert_allclose(asm.r2_score(ref, pred),
                               r2_score(ref, pred, multioutput="raw_values"), rtol=0, atol=A_TOL)
    np.testing.assert_allclose(asm.mean_absolute_error(ref, pred),
                               mean_absolute_error(ref, pred, multioutput="raw_values"),
                               rtol=0, atol=A_TOL)
    np.testing.assert_allclose(
        asm.root_mean_squared_error(ref, pred),
        np.sqrt(mean_squared_error(ref, pred, multioutput="raw_values")), rtol=0, atol=A_TOL)
    assert asm.pearson_r(ref, pred).shape == (4,)
    assert asm.spearman_rho(ref[:, 0], pred[:, 0])[0] == spearmanr(ref[:, 0], pred[:, 0]).statistic


def test_hand_computed_values():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.0, 3.0, 6.0])
    scores = asm.evaluate(ref, pred)  # one criterion, named "0"
    # SS_res = 4, SS_tot = 5.
    assert scores["R2 [0]"] == pytest.approx(1 - 4 / 5, abs=1e-15)
    assert scores["MAE [0]"] == 0.5 and scores["RMSE [0]"] == 1.0
    assert scores["Spearman rho [0]"] == pytest.approx(1.0, abs=1e-15)  # same order
    assert scores["R2"] == scores["R2 [0]"]


@pytest.mark.parametrize(("reference", "predicted", "kwargs", "match"), [
    ([[1.0, 2.0]], [[1.0, 2.0]], {}, r"1 item\(s\): .* at least 2"),
    ([1, 2, 3], [1, 2], {}, r"reference ratings have shape \(3, 1\) but predicted \(2, 1\)"),
    (np.ones((2, 2, 2)), np.ones((2, 2, 2)), {}, r"shape \(2, 2, 2\)"),
    ([[1, 2], [2, np.nan], [3, 1]], [[1, 2], [2, 2], [3, 3]], {"criteria": ["a", "b"]},
     "reference rating of item 1, criterion 'b' is nan: .* drop or impute"),
    ([1, 2, 3], [1, np.inf, 3], {}, "predicted rating of item 1, criterion '0' is inf"),
    ([[1, 3], [2, 3], [3, 3]], [[1, 2], [2, 2], [3, 3]], {"criteria": ["a", "b"]},
     r"reference ratings of criterion 'b' are all 3: R² .* undefined"),
    ([1, 2, 3], [1, 2, 3], {"criteria": ["a", "b"]},
     "2 criterion names given for an array with 1 criterion columns"),
    ([[1, 2], [2, 1], [3, 3]], [[1, 2], [2, 1], [3, 3]], {"criteria": ["a", "a"]}, "repeat"),
    (["a", "b"], [1, 2], {}, "reference ratings must be numbers"),
    (np.zeros((3, 0)), np.zeros((3, 0)), {}, "no criterion column"),
])
def test_validation_errors(reference, predicted, kwargs, match):
    with pytest.raises(InputError, match=match):
        asm.validate(reference, predicted, **kwargs)
    with pytest.raises(InputError, match=match):
        asm.evaluate(reference, predicted, **kwargs)


def test_metric_functions_validate_too():
    for function in (asm.r2_score, asm.pearson_r, asm.spearman_rho, asm.mean_absolute_error,
                     asm.root_mean_squared_error):
        with pytest.raises(InputError, match="are all 5"):
            function([5, 5, 5], [1, 2, 3])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_and_align_ratings(tmp_path):
    ref = asm.read_ratings_csv(write(tmp_path, "ref.csv",
                                     "item,musicality,tone\np1,3,4\np2,5,2\np3,1,1\n"))
    pred = asm.read_ratings_csv(write(tmp_path, "pred.tsv",
                                      "id\ttone\tmusicality\np3\t1.5\t1\np1\t3.5\t2.5\np2\t2\t4\n"))
    assert ref.items == ("p1", "p2", "p3") and ref.columns == ("musicality", "tone")
    p, r = asm.align_ratings(pred, ref)
    assert p.items == ref.items and p.columns == ref.columns
    np.testing.assert_array_equal(p.values, [[2.5, 3.5], [4, 2], [1, 1.5]])
    scores = asm.evaluate_tables(ref, pred)
    assert scores == asm.evaluate(r.values, p.values, criteria=["musicality", "tone"])


def test_ratings_loader_and_pairing_errors(tmp_path):
    with pytest.raises(InputError, match=r"line 3: rating for criterion 'tone' is an empty cell"):
        asm.read_ratings_csv(write(tmp_path, "a.csv", "item,musicality,tone\np1,3,4\np2,5,\n"))
    with pytest.raises(InputError, match="does not exist"):
        asm.read_ratings_csv(tmp_path / "missing.csv")
    ref = asm.read_ratings_csv(write(tmp_path, "r.csv", "item,a\nx,1\ny,2\n"))
    pred = asm.read_ratings_csv(write(tmp_path, "p.csv", "item,b\nx,1\nz,2\n"))
    with pytest.raises(InputError, match="item ids in predicted but not in reference: 'z'.*"
                                         "criterion names in reference but not in predicted"):
        asm.align_ratings(pred, ref)


def test_constant_prediction_is_a_baseline_not_an_error():
    from sklearn.metrics import mean_absolute_error, r2_score

    ref = np.array([[1.0, 2.0], [2.0, 1.0], [4.0, 3.0], [3.0, 5.0]])
    pred = np.array([[2.5, 1.0], [2.5, 2.0], [2.5, 3.0], [2.5, 4.0]])   # 'a' constant
    scores = asm.evaluate(ref, pred, criteria=["a", "b"])
    assert scores["R2 [a]"] == pytest.approx(r2_score(ref[:, 0], pred[:, 0]), abs=1e-12)
    assert scores["MAE [a]"] == pytest.approx(mean_absolute_error(ref[:, 0], pred[:, 0]))
    assert "Pearson r [a]" not in scores and "Spearman rho [a]" not in scores
    assert "Pearson r [b]" in scores and "Pearson r" not in scores and "R2" in scores
    assert scores["Constant predictions"] == 1
    with pytest.raises(InputError, match="are all 2.5: Pearson r"):
        asm.pearson_r(ref[:, 0], pred[:, 0])
