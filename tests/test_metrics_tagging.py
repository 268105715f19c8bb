"""Tagging metrics against scikit-learn, excluded tags, masks, validation and CSV loaders."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from mirkit.errors import InputError, ParameterError
from mirkit.metrics import tagging as tg

A_TOL = 1e-12


def random_case(rng: np.random.Generator, n_items: int = 300, n_tags: int = 8):
    """Scores with many ties (one decimal), labels of varied prevalence, ~20 % masked."""
    scores = np.round(rng.random((n_items, n_tags)), 1)
    prevalence = rng.uniform(0.05, 0.6, n_tags)
    labels = (rng.random((n_items, n_tags)) < prevalence).astype(float)
    # Make the scores informative so that the AUCs are not all near 0.5.
    scores = np.round(np.clip(scores + 0.3 * labels, 0.0, 1.0), 1).astype(np.float64)
    mask = rng.random((n_items, n_tags)) < 0.8
    return scores, labels, mask


def column(x: np.ndarray, m: np.ndarray, j: int) -> np.ndarray:
    return x[m[:, j], j]


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------------- ranking metrics


def test_roc_auc_and_ap_match_sklearn_per_tag_with_ties_and_mask(rng):
    for _ in range(5):
        s, y, m = random_case(rng)
        auc = tg.roc_auc(s, y, mask=m)
        ap = tg.average_precision(s, y, mask=m)
        for j in range(s.shape[1]):
            yj, sj = column(y, m, j), column(s, m, j)
            assert abs(auc[j] - roc_auc_score(yj, sj)) <= A_TOL
            assert abs(ap[j] - average_precision_score(yj, sj)) <= A_TOL


def test_roc_auc_and_ap_without_mask_match_sklearn_averages(rng):
    s, y, _ = random_case(rng, 500, 12)
    assert abs(tg.roc_auc(s, y).mean() - roc_auc_score(y, s, average="macro")) <= A_TOL
    assert abs(tg.average_precision(s, y).mean()
               - average_precision_score(y, s, average="macro")) <= A_TOL
    scores = tg.evaluate(s, y)
    assert abs(scores["ROC-AUC micro"] - roc_auc_score(y, s, average="micro")) <= A_TOL
    assert abs(scores["PR-AUC micro"] - average_precision_score(y, s, average="micro")) <= A_TOL


def test_hand_computed_ties():
    s = np.array([[0.1], [0.5], [0.5], [0.9]])
    y = np.array([[0], [1], [0], [1]])
    # Positive/negative pairs: (0.5, 0.1) 1, (0.5, 0.5) 1/2, (0.9, 0.1) 1, (0.9, 0.5) 1.
    assert tg.roc_auc(s, y)[0] == 3.5 / 4
    # Thresholds 0.9: P 1, R 1/2; 0.5 (both tied items at once): P 2/3, R 1.
    assert tg.average_precision(s, y)[0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3, abs=1e-15)
    # A score equal to the threshold is a positive prediction.
    p, r, f = tg.precision_recall_f1(s, y, threshold=0.5)
    assert (p[0], r[0], f[0]) == (2 / 3, 1.0, 0.8)


def test_masked_entries_take_no_part(rng):
    s, y, m = random_case(rng, 100, 4)
    garbage = np.where(m, y, np.nan)
    other = np.where(m, s, rng.random(s.shape))
    assert tg.evaluate(s, garbage, mask=m) == tg.evaluate(other, np.where(m, y, -1), mask=m)


# ------------------------------------------------------------------------- summary


def test_evaluate_matches_sklearn_macro_and_micro_with_mask(rng, no_warnings):
    s, y, m = random_case(rng, 400, 6)
    names = [f"tag{j}" for j in range(6)]
    scores = tg.evaluate(s, y, mask=m, tag_names=names, threshold=0.6)
    per_tag = {"ROC-AUC": [], "PR-AUC": [], "F1": [], "Precision": [], "Recall": []}
    for j, name in enumerate(names):
        yj, pj = column(y, m, j), column(s, m, j) >= 0.6
        expected = {
            "ROC-AUC": roc_auc_score(yj, column(s, m, j)),
            "PR-AUC": average_precision_score(yj, column(s, m, j)),
            "F1": f1_score(yj, pj),
            "Precision": precision_score(yj, pj, zero_division=0),
            "Recall": recall_score(yj, pj),
        }
        for metric, value in expected.items():
            assert abs(scores[f"{metric} [{name}]"] - value) <= A_TOL, (metric, name)
            per_tag[metric].append(value)
    for metric, values in per_tag.items():
        assert abs(scores[f"{metric} macro"] - np.mean(values)) <= A_TOL, metric
    yk, sk = y[m], s[m]
    assert abs(scores["ROC-AUC micro"] - roc_auc_score(yk, sk)) <= A_TOL
    assert abs(scores["PR-AUC micro"] - average_precision_score(yk, sk)) <= A_TOL
    assert abs(scores["F1 micro"] - f1_score(yk, sk >= 0.6)) <= A_TOL
    assert abs(scores["Precision micro"] - precision_score(yk, sk >= 0.6)) <= A_TOL
    assert abs(scores["Recall micro"] - recall_score(yk, sk >= 0.6)) <= A_TOL
    assert list(scores)[:12] == [
        "ROC-AUC macro", "PR-AUC macro", "F1 macro", "Precision macro", "Recall macro",
        "ROC-AUC micro", "PR-AUC micro", "F1 micro", "Precision micro", "Recall micro",
        "Tags evaluated", "Tags excluded",
    ]
    assert scores["Tags evaluated"] == 6.0 and scores["Tags excluded"] == 0.0
    assert len(scores) == 12 + 5 * 6


def test_excluded_tags_are_listed_warned_and_left_out_of_macro(rng):
    s, y, m = random_case(rng, 200, 6)
    y[:, 1] = 0          # no positive
    y[:, 3] = 1          # no negative
    m[:, 4] = False      # no known label at all
    y[:, 5] = np.where(m[:, 5], 0, 1)  # positives only where masked out
    names = ["rock", "jazz", "pop", "live", "sad", "vocal"]
    listed = "4 of 6 tags .* 'jazz', 'live', 'sad', 'vocal'"
    with pytest.warns(tg.ExcludedTagsWarning, match=listed):
        result = tg.score_tags(s, y, mask=m, tag_names=names)
    assert result.excluded_tags == ("jazz", "live", "sad", "vocal")
    assert list(result.per_tag) == ["rock", "pop"]
    keep = [0, 2]
    assert abs(result.summary["ROC-AUC macro"]
               - np.mean([roc_auc_score(column(y, m, j), column(s, m, j)) for j in keep])) <= A_TOL
    # Micro pools every known entry, excluded tags included.
    assert abs(result.summary["ROC-AUC micro"] - roc_auc_score(y[m], s[m])) <= A_TOL
    assert result.summary["Tags excluded"] == 4.0
    with pytest.warns(tg.ExcludedTagsWarning):
        flat = tg.evaluate(s, y, mask=m, tag_names=names)
    assert flat == result.as_dict()
    assert "F1 [jazz]" not in flat and "F1 [pop]" in flat
    assert not np.isnan(list(flat.values())).any()


def test_no_evaluable_tag_is_an_input_error():
    s = np.array([[0.2, 0.9], [0.4, 0.1]])
    with pytest.raises(InputError, match="no tag has both a positive and a negative"):
        tg.evaluate(s, [[1, 0], [1, 0]])
    with pytest.raises(InputError, match="no tag has both"):
        tg.evaluate(s, [[1, 0], [0, 1]], mask=np.zeros((2, 2), bool))


def test_tag_without_predicted_positive_has_precision_zero(no_warnings):
    s = np.array([[0.1, 0.9], [0.2, 0.1], [0.3, 0.8]])
    y = np.array([[1, 1], [0, 0], [1, 0]])
    scores = tg.evaluate(s, y, tag_names=["a", "b"])
    assert scores["Precision [a]"] == 0.0 and scores["F1 [a]"] == 0.0
    assert scores["Recall [a]"] == 0.0
    assert scores["Precision [b]"] == 0.5 and scores["F1 [b]"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(("function", "labels", "match"), [
    (tg.roc_auc, [[1, 0], [1, 1]], r"columns \[0\] have no known positive or no known negative"),
    (tg.average_precision, [[0, 0], [0, 1]], r"columns \[0\] have no known positive"),
    (tg.precision_recall_f1, [[1, 0], [1, 0]], r"columns \[1\] have no known positive"),
])
def test_metric_functions_refuse_undefined_columns(function, labels, match):
    with pytest.raises(InputError, match=match):
        function(np.array([[0.2, 0.3], [0.6, 0.1]]), labels)


def test_large_input_is_fast_and_exact(rng):
    s = rng.random((5000, 50))
    y = rng.random((5000, 50)) < 0.1
    m = rng.random((5000, 50)) < 0.9
    result = tg.score_tags(s, y, mask=m)
    j = 17
    assert abs(result.per_tag[str(j)]["ROC-AUC"]
               - roc_auc_score(column(y, m, j), column(s, m, j))) <= A_TOL


# ------------------------------------------------------------------------- validation

S = np.array([[0.1, 0.8], [0.7, 0.3], [0.4, 0.6]])
Y = np.array([[0, 1], [1, 0], [1, 1]])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"scores": S[:, 0]}, r"scores have shape \(3,\): expected \(n_items, n_tags\).*reshape"),
    ({"labels": Y[:2]}, r"labels have shape \(2, 2\) but scores \(3, 2\)"),
    ({"scores": np.zeros((0, 2)), "labels": np.zeros((0, 2))}, "nothing to evaluate"),
    ({"scores": np.where(S > 0.75, np.nan, S)}, "score of item 0, tag 1 is nan"),
    ({"scores": [["a", "b"]] * 3}, "scores must be numbers"),
    ({"labels": np.where(Y == 0, -1, Y)}, r"label of item 0, tag 0 is -1.0: .*pass mask="),
    ({"labels": np.where(Y == 0, np.nan, Y)}, "label of item 0, tag 0 is nan"),
    ({"labels": Y * 2}, "labels are 0 or 1"),
    ({"mask": np.ones((3, 2), int)}, "mask has dtype int64: pass a boolean array"),
    ({"mask": np.ones((2, 3), bool)}, r"mask has shape \(2, 3\)"),
    ({"tag_names": ["a"]}, "1 tag names given for an array with 2 tag columns"),
    ({"tag_names": ["a", "a"]}, "tag names repeat: 'a'"),
])
def test_validation_errors(kwargs, match):
    args = {"scores": S, "labels": Y} | kwargs
    with pytest.raises(InputError, match=match):
        tg.validate(**args)
    with pytest.raises(InputError, match=match):
        tg.evaluate(**args)


@pytest.mark.parametrize("threshold", [np.nan, True, "0.5"])
def test_bad_threshold_is_a_parameter_error(threshold):
    with pytest.raises(ParameterError, match="threshold="):
        tg.evaluate(S, Y, threshold=threshold)


# ------------------------------------------------------------------------- loaders


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_wide_and_long_scores_agree(tmp_path):
    wide = tg.read_scores_csv(write(tmp_path, "w.csv", "item,rock,jazz\na,0.9,0.1\nb,0.2,0.7\n"))
    long = tg.read_scores_csv(write(
        tmp_path, "l.tsv", "Item\tTag\tValue\na\trock\t0.9\nb\tjazz\t0.7\na\tjazz\t0.1\n"
        "b\trock\t0.2\n"))
    for table in (wide, long):
        assert table.items == ("a", "b") and table.columns == ("rock", "jazz")
        np.testing.assert_array_equal(table.values, [[0.9, 0.1], [0.2, 0.7]])
        assert table.mask.all()


def test_read_labels_with_missing_cells(tmp_path):
    wide = tg.read_labels_csv(write(tmp_path, "w.csv",
                                    "\ufeffsample_key,piano,voice\nx,1,\ny, ,0\n\nz,0,1\n"))
    assert wide.items == ("x", "y", "z") and wide.columns == ("piano", "voice")
    np.testing.assert_array_equal(wide.mask, [[True, False], [False, True], [True, True]])
    np.testing.assert_array_equal(wide.values[wide.mask], [1, 0, 0, 1])
    long = tg.read_labels_csv(write(tmp_path, "l.csv",
                                    "item,tag,value\nx,piano,1\ny,voice,0\nz,piano,0\nz,voice,1\n"))
    assert long.items == ("x", "y", "z") and long.columns == ("piano", "voice")
    np.testing.assert_array_equal(long.mask, wide.mask)
    np.testing.assert_array_equal(long.values[long.mask], wide.values[wide.mask])


@pytest.mark.parametrize(("reader", "text", "match"), [
    (tg.read_scores_csv, "item,a,b\nx,0.1,\n", r"s.csv' line 2: score for tag 'b' is an empty"),
    (tg.read_scores_csv, "item,a\nx,high\n", r"line 2: score for tag 'a' 'high' is not a number"),
    (tg.read_scores_csv, "item,a\nx,inf\n", "must be a finite number"),
    (tg.read_scores_csv, "item,a,b\nx,0.1\n", "line 2: 2 fields but the header has 3"),
    (tg.read_scores_csv, "item,a,a\nx,0.1,0.2\n", "tag names repeat: 'a'"),
    (tg.read_scores_csv, "item,a\nx,0.1\nx,0.2\n", "item ids repeat: 'x'"),
    (tg.read_scores_csv, "item,a\n,0.1\n", "line 2: empty item id"),
    (tg.read_scores_csv, "item\nx\n", "line 1: the header .* must name every tag column"),
    (tg.read_scores_csv, "item,a,\nx,1,2\n", "must name every tag column"),
    (tg.read_scores_csv, "item,a\n", "a header but no rows"),
    (tg.read_scores_csv, "\n\n", "has no header"),
    (tg.read_scores_csv, "item,tag,value\nx,a,0.1\ny,b,0.2\n",
     r"2 \(item, tag\) pairs have no score, e.g. item 'x', tag 'b'"),
    (tg.read_scores_csv, "item,tag,value\nx,a,0.1\nx,a,0.2\n", "line 3: item 'x', tag 'a' repeats"),
    (tg.read_scores_csv, "item,tag,value\nx,a\n", "line 2: 2 fields; long format has 3"),
    (tg.read_labels_csv, "item,a\nx,2\n", "label of item 'x', tag 'a' is 2; allowed: 0, 1"),
    (tg.read_labels_csv, "item,tag,value\n,a,1\n", "empty item id or tag name"),
])
def test_loader_errors_name_file_and_line(tmp_path, reader, text, match):
    with pytest.raises(InputError, match=match):
        reader(write(tmp_path, "s.csv", text))


def test_loader_path_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        tg.read_scores_csv(tmp_path / "nope.csv")
    path = tmp_path / "bad.csv"
    path.write_bytes(b"item,a\n\xff,1\n")
    with pytest.raises(InputError, match="as UTF-8"):
        tg.read_labels_csv(path)


def table(items, columns, values, mask=None) -> tg.ItemTable:
    v = np.array(values, dtype=float)
    return tg.ItemTable(tuple(items), tuple(columns), v,
                        ~np.isnan(v) if mask is None else np.asarray(mask))


def test_align_reorders_to_the_labels():
    scores = table("abc", ["rock", "jazz"], [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    labels = table("cab", ["jazz", "rock"], [[1, np.nan], [0, 1], [1, 0]])
    s, y = tg.align(scores, labels)
    assert y is labels and s.items == ("c", "a", "b") and s.columns == ("jazz", "rock")
    np.testing.assert_array_equal(s.values, [[0.6, 0.5], [0.2, 0.1], [0.4, 0.3]])
    result = tg.evaluate_tables(scores, labels)
    expected = tg.score_tags(s.values, np.nan_to_num(y.values), mask=y.mask,
                             tag_names=["jazz", "rock"])
    assert result == expected


def test_align_names_what_does_not_pair():
    scores = table([f"s{i}" for i in range(8)] + ["both"], ["rock", "jazz"], np.zeros((9, 2)))
    labels = table(["both", "only"], ["rock", "pop"], np.zeros((2, 2)))
    with pytest.raises(InputError) as info:
        tg.align(scores, labels)
    message = str(info.value)
    assert "item ids in scores but not in labels: 's0', 's1', 's2', 's3', 's4' and 3 more " \
           "(8 in all)" in message
    assert "item ids in labels but not in scores: 'only'" in message
    assert "tag names in scores but not in labels: 'jazz'" in message
    assert "tag names in labels but not in scores: 'pop'" in message
