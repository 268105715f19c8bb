"""Multi-label tagging metrics: ROC-AUC, PR-AUC and thresholded F1, with missing labels.

Conventions
-----------
``scores`` : array, shape (n_items, n_tags), float
    Any monotone score per item and tag (probabilities, logits); must be finite. The
    threshold of the F1 metrics applies to these values as given.
``labels`` : array, shape (n_items, n_tags), values 0/1 (bool, int or float)
    Ground truth.
``mask`` : array, shape (n_items, n_tags), bool, optional
    True where a label is *known* (OpenMIC-2018's ``Y_mask`` convention; the opposite of a
    numpy masked array). Masked-out entries take no part in any metric and their labels
    may hold anything (NaN, -1). Without a mask every label is known.
``tag_names`` : sequence of n_tags distinct strings, optional (default ``"0"``, ``"1"``...).

A tag is *evaluated* when its known labels hold at least one positive and one negative.
Any other tag (all positive, all negative, or no known label) is *excluded*: it gets no
per-tag entries and takes no part in the macro averages, because its ROC-AUC (and recall,
or precision and PR-AUC) would be 0/0. Excluded tags are never hidden: :func:`score_tags`
returns their names in :attr:`TagScores.excluded_tags`, :func:`evaluate` reports their
count under ``"Tags excluded"``, and an :class:`ExcludedTagsWarning` names them. Micro
averages pool every known entry of every tag, excluded tags included. When no tag can be
evaluated, :class:`~mirkit.errors.InputError` is raised.

Precision of a tag with no predicted positive is 0 (scikit-learn's ``zero_division=0``);
an item is predicted positive when its score is ``>= threshold``.

Metrics
-------
* :func:`roc_auc`: area under the ROC curve per column, from tie-averaged ranks (the
  Mann-Whitney statistic); equals ``sklearn.metrics.roc_auc_score``.
* :func:`average_precision`: PR-AUC as scikit-learn defines it,
  ``sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds (no interpolation).
* :func:`precision_recall_f1`: thresholded precision, recall and F1 per column.
* :func:`score_tags` / :func:`evaluate`: per tag, macro (mean over evaluated tags) and micro
  (pooled over known entries) values of all of the above.

Loaders
-------
:func:`read_scores_csv` and :func:`read_labels_csv` read wide (``item,tag1,tag2,...``) or
long (``item,tag,value``) CSV/TSV files into an :class:`ItemTable`; :func:`align` pairs a
score table with a label table by item id. :func:`read_item_table` and
:func:`align_tables` are the generic versions (also used for assessment ratings).
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError

__all__ = [
    "DEFAULT_THRESHOLD",
    "ExcludedTagsWarning",
    "ItemTable",
    "TagScores",
    "align",
    "align_tables",
    "average_precision",
    "column_names",
    "evaluate",
    "evaluate_tables",
    "precision_recall_f1",
    "read_item_table",
    "read_labels_csv",
    "read_scores_csv",
    "roc_auc",
    "score_tags",
    "validate",
]

PathLike: TypeAlias = str | os.PathLike[str]

#: Score at or above which an item counts as predicted positive.
DEFAULT_THRESHOLD = 0.5
#: How many names an error message lists before it says "and N more".
LISTED_NAMES = 5
#: Header of a long-format tag file.
LONG_TAG_HEADER = ("item", "tag", "value")

_METRICS = ("ROC-AUC", "PR-AUC", "F1", "Precision", "Recall")


class ExcludedTagsWarning(UserWarning):
    """Some tags lack a positive or a negative known label and were left out of macro means."""


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _name_list(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:LISTED_NAMES])
    more = len(names) - LISTED_NAMES
    return f"{shown} and {more} more ({len(names)} in all)" if more > 0 else shown


def _float_2d(value: object, what: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numbers: {exc}") from exc
    if arr.ndim != 2:
        raise InputError(
            f"{what} have shape {arr.shape}: expected (n_items, n_tags) (reshape a single "
            "tag's column with .reshape(-1, 1))"
        )
    return arr


def _checked(
    scores: ArrayLike,
    labels: ArrayLike,
    mask: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Validated ``(scores, labels as bool, mask)``."""
    s = _float_2d(scores, "scores")
    y = _float_2d(labels, "labels")
    if y.shape != s.shape:
        raise InputError(
            f"labels have shape {y.shape} but scores {s.shape}: both are (n_items, n_tags)"
        )
    if s.shape[0] == 0 or s.shape[1] == 0:
        raise InputError(f"scores have shape {s.shape}: there is nothing to evaluate")
    if mask is None:
        m = np.ones(s.shape, dtype=np.bool_)
    else:
        m = np.asarray(mask)
        if m.shape != s.shape:
            raise InputError(f"mask has shape {m.shape} but scores {s.shape}")
        if m.dtype != np.bool_:
            raise InputError(
                f"mask has dtype {m.dtype}: pass a boolean array, True where the label is known"
            )
    bad = ~np.isfinite(s)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(f"score of item {i}, tag {j} is {s[i, j]}: scores must be finite")
    bad = m & (y != 0) & (y != 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"label of item {i}, tag {j} is {y[i, j]}: labels are 0 or 1; if missing labels "
            "are coded as NaN or -1, pass mask=(labels == 0) | (labels == 1)"
        )
    return s, m & (y == 1), m


def column_names(names: Sequence[str] | None, n_columns: int, *, what: str) -> list[str]:
    """Check the names of ``n_columns`` columns; None gives ``"0"``, ``"1"``...

    ``what`` names a column in messages ("tag", "criterion"). Raises
    :class:`~mirkit.errors.InputError` for a wrong count or repeated names.
    """
    if names is None:
        return [str(j) for j in range(n_columns)]
    checked = [str(t) for t in names]
    if len(checked) != n_columns:
        raise InputError(
            f"{len(checked)} {what} names given for an array with {n_columns} {what} columns"
        )
    if len(set(checked)) != n_columns:
        dupes = sorted({t for t in checked if checked.count(t) > 1})
        raise InputError(f"{what} names repeat: {_name_list(dupes)}")
    return checked


def validate(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    tag_names: Sequence[str] | None = None,
) -> None:
    """Check scores, labels, mask and tag names; raise :class:`~mirkit.errors.InputError`.

    Parameters
    ----------
    scores : array_like, shape (n_items, n_tags), float
    labels : array_like, shape (n_items, n_tags), 0/1
    mask : array_like, shape (n_items, n_tags), bool, optional
        True where the label is known.
    tag_names : sequence of str, optional

    Raises
    ------
    InputError
        Shapes that differ or are not 2-D, no items or tags, non-finite scores, known
        labels other than 0/1 (the message suggests a mask for NaN/-1 codes), a non-boolean
        mask, tag names of the wrong number or repeated.
    """
    s, _, _ = _checked(scores, labels, mask)
    column_names(tag_names, s.shape[1], what="tag")


# --------------------------------------------------------------------------------------
# Ranking metrics (vectorised over columns, tie-aware)
# --------------------------------------------------------------------------------------


def _flat_sorted(
    scores: NDArray[np.float64],
    positive: NDArray[np.bool_],
    mask: NDArray[np.bool_],
    *,
    descending: bool,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Known entries sorted by column, then score.

    Returns ``(column, positive as float, position within its column, tie group id)``.
    Tie groups are runs of equal scores inside one column.
    """
    column = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)[mask]
    value = scores[mask]
    order = np.lexsort((-value if descending else value, column))
    column, value = column[order], value[order]
    pos = positive[mask][order].astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(np.bincount(column, minlength=scores.shape[1]))])
    within = np.arange(column.size) - starts[column]
    new_group = np.ones(column.size, dtype=np.bool_)
    new_group[1:] = (column[1:] != column[:-1]) | (value[1:] != value[:-1])
    return column, pos, within, np.cumsum(new_group) - 1


def _class_counts(
    positive: NDArray[np.bool_], mask: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    n_pos = positive.sum(axis=0)
    return n_pos, mask.sum(axis=0) - n_pos


def _refuse(columns: NDArray[np.bool_], why: str) -> None:
    if columns.any():
        raise InputError(
            f"columns {np.flatnonzero(columns).tolist()} have {why}: the metric is undefined "
            "there (evaluate() excludes such tags)"
        )


def roc_auc(
    scores: ArrayLike, labels: ArrayLike, *, mask: ArrayLike | None = None
) -> NDArray[np.float64]:
    """ROC-AUC of every column.

    ``AUC = (R+ - n+ (n+ + 1) / 2) / (n+ n-)`` where ``R+`` is the sum of the ranks of the
    positives among the known entries, tied scores sharing their average rank.

    Parameters
    ----------
    scores : array_like, shape (n_items, n_tags), float
    labels : array_like, shape (n_items, n_tags), 0/1
    mask : array_like, shape (n_items, n_tags), bool, optional
        True where the label is known.

    Returns
    -------
    np.ndarray, shape (n_tags,), float64

    Raises
    ------
    InputError
        A column without a known positive or a known negative.
    """
    s, y, m = _checked(scores, labels, mask)
    n_pos, n_neg = _class_counts(y, m)
    _refuse((n_pos == 0) | (n_neg == 0), "no known positive or no known negative label")
    return _roc_auc(s, y, m)


def _roc_auc(
    s: NDArray[np.float64], y: NDArray[np.bool_], m: NDArray[np.bool_]
) -> NDArray[np.float64]:
    n_pos, n_neg = _class_counts(y, m)
    column, pos, within, group = _flat_sorted(s, y, m, descending=False)
    rank = within + 1.0
    mean_rank = np.bincount(group, weights=rank) / np.bincount(group)
    rank_sum = np.bincount(column, weights=mean_rank[group] * pos, minlength=s.shape[1])
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def average_precision(
    scores: ArrayLike, labels: ArrayLike, *, mask: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Average precision (PR-AUC) of every column, as scikit-learn defines it.

    ``AP = sum_t (R_t - R_{t-1}) P_t`` over the distinct scores ``t`` from high to low,
    where ``P_t`` and ``R_t`` count every item scoring ``>= t`` (so tied items enter
    together).

    Parameters
    ----------
    scores : array_like, shape (n_items, n_tags), float
    labels : array_like, shape (n_items, n_tags), 0/1
    mask : array_like, shape (n_items, n_tags), bool, optional
        True where the label is known.

    Returns
    -------
    np.ndarray, shape (n_tags,), float64

    Raises
    ------
    InputError
        A column without a known positive.
    """
    s, y, m = _checked(scores, labels, mask)
    _refuse(_class_counts(y, m)[0] == 0, "no known positive label")
    return _average_precision(s, y, m)


def _average_precision(
    s: NDArray[np.float64], y: NDArray[np.bool_], m: NDArray[np.bool_]
) -> NDArray[np.float64]:
    n_pos, _ = _class_counts(y, m)
    column, pos, within, group = _flat_sorted(s, y, m, descending=True)
    # The last entry of each tie group closes a threshold.
    last = np.flatnonzero(np.diff(group, append=group.size))
    tp_before = np.cumsum(pos)
    col_start = np.concatenate([[0.0], tp_before])[(np.arange(pos.size) - within)[last]]
    true_pos = tp_before[last] - col_start
    predicted = within[last] + 1.0
    new_pos = np.bincount(group, weights=pos)[group[last]]
    return np.bincount(
        column[last], weights=new_pos * true_pos / predicted, minlength=s.shape[1]
    ) / n_pos


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not (
        isinstance(threshold, int | float) and math.isfinite(threshold)
    ):
        raise ParameterError(f"threshold={threshold!r} must be a finite number")
    return float(threshold)


def precision_recall_f1(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Precision, recall and F1 of every column at a score threshold.

    Parameters
    ----------
    scores : array_like, shape (n_items, n_tags), float
    labels : array_like, shape (n_items, n_tags), 0/1
    mask : array_like, shape (n_items, n_tags), bool, optional
        True where the label is known.
    threshold : float
        Items scoring ``>= threshold`` are predicted positive.

    Returns
    -------
    precision, recall, f1 : np.ndarray, shape (n_tags,), float64
        Precision is 0 for a column with no predicted positive.

    Raises
    ------
    InputError
        A column without a known positive (recall would be 0/0).
    """
    t = _check_threshold(threshold)
    s, y, m = _checked(scores, labels, mask)
    _refuse(_class_counts(y, m)[0] == 0, "no known positive label")
    return _precision_recall_f1(s, y, m, t)


def _precision_recall_f1(
    s: NDArray[np.float64], y: NDArray[np.bool_], m: NDArray[np.bool_], threshold: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    predicted = (s >= threshold) & m
    tp = (predicted & y).sum(axis=0).astype(np.float64)
    n_pred, n_pos = predicted.sum(axis=0), y.sum(axis=0)
    precision = np.divide(tp, n_pred, out=np.zeros_like(tp), where=n_pred > 0)
    return precision, tp / n_pos, 2.0 * tp / (n_pred + n_pos)


# --------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagScores:
    """Tagging results with nothing undefined in them.

    Attributes
    ----------
    summary : dict[str, float]
        ``"ROC-AUC macro"``, ``"PR-AUC macro"``, ``"F1 macro"``, ``"Precision macro"``,
        ``"Recall macro"``, the same five with ``micro``, then ``"Tags evaluated"`` and
        ``"Tags excluded"`` (counts).
    per_tag : dict[str, dict[str, float]]
        For each evaluated tag (in column order): ``"ROC-AUC"``, ``"PR-AUC"``, ``"F1"``,
        ``"Precision"``, ``"Recall"``.
    excluded_tags : tuple[str, ...]
        Tags without a known positive or a known negative, in column order.
    """

    summary: dict[str, float]
    per_tag: dict[str, dict[str, float]]
    excluded_tags: tuple[str, ...]

    def as_dict(self) -> dict[str, float]:
        """The summary, then ``"METRIC [tag]"`` for every evaluated tag."""
        flat = dict(self.summary)
        for tag, values in self.per_tag.items():
            flat |= {f"{metric} [{tag}]": value for metric, value in values.items()}
        return flat


def score_tags(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    tag_names: Sequence[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> TagScores:
    """All tagging metrics, per tag, macro and micro, with excluded tags listed.

    Parameters
    ----------
    scores : array_like, shape (n_items, n_tags), float
    labels : array_like, shape (n_items, n_tags), 0/1
    mask : array_like, shape (n_items, n_tags), bool, optional
        True where the label is known.
    tag_names : sequence of str, optional
    threshold : float
        Items scoring ``>= threshold`` are predicted positive.

    Returns
    -------
    TagScores

    Warns
    -----
    ExcludedTagsWarning
        Naming the tags left out (see the module's Conventions).

    Raises
    ------
    InputError
        Invalid input (see :func:`validate`), or no tag with both a known positive and a
        known negative.
    """
    t = _check_threshold(threshold)
    s, y, m = _checked(scores, labels, mask)
    names = column_names(tag_names, s.shape[1], what="tag")
    n_pos, n_neg = _class_counts(y, m)
    keep = (n_pos > 0) & (n_neg > 0)
    excluded = tuple(name for name, k in zip(names, keep, strict=True) if not k)
    if not keep.any():
        raise InputError(
            "no tag has both a positive and a negative known label, so no tag can be "
            f"evaluated ({len(names)} tags, {int(m.sum())} known labels)"
        )
    if excluded:
        warnings.warn(
            f"{len(excluded)} of {len(names)} tags have no positive or no negative known "
            f"label and are left out of per-tag and macro scores: {_name_list(excluded)}",
            ExcludedTagsWarning,
            stacklevel=2,
        )
    per_metric = _all_metrics(s[:, keep], y[:, keep], m[:, keep], t)
    # Micro: every known entry of every tag pooled into one column.
    n_known = int(m.sum())
    micro = _all_metrics(
        s[m].reshape(n_known, 1), y[m].reshape(n_known, 1), np.ones((n_known, 1), np.bool_), t
    )
    summary = {f"{k} macro": float(np.mean(v)) for k, v in zip(_METRICS, per_metric,
                                                                strict=True)}
    summary |= {f"{k} micro": float(v[0]) for k, v in zip(_METRICS, micro, strict=True)}
    summary["Tags evaluated"] = float(keep.sum())
    summary["Tags excluded"] = float(len(excluded))
    kept_names = [name for name, k in zip(names, keep, strict=True) if k]
    per_tag = {
        name: {k: float(v[j]) for k, v in zip(_METRICS, per_metric, strict=True)}
        for j, name in enumerate(kept_names)
    }
    return TagScores(summary, per_tag, excluded)


def _all_metrics(
    s: NDArray[np.float64], y: NDArray[np.bool_], m: NDArray[np.bool_], threshold: float
) -> tuple[NDArray[np.float64], ...]:
    """Per-column values of every metric, in the order of ``_METRICS``."""
    precision, recall, f1 = _precision_recall_f1(s, y, m, threshold)
    return _roc_auc(s, y, m), _average_precision(s, y, m), f1, precision, recall


def evaluate(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    tag_names: Sequence[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, float]:
    """All tagging metrics as one flat dict (:meth:`TagScores.as_dict` of :func:`score_tags`).

    Returns
    -------
    dict[str, float]
        ``"ROC-AUC macro"``, ``"PR-AUC macro"``, ``"F1 macro"``, ``"Precision macro"``,
        ``"Recall macro"``, the same with ``micro``, ``"Tags evaluated"``,
        ``"Tags excluded"``, then ``"ROC-AUC [tag]"``, ``"PR-AUC [tag]"``, ``"F1 [tag]"``,
        ``"Precision [tag]"``, ``"Recall [tag]"`` for every evaluated tag. The names of
        excluded tags are in :attr:`TagScores.excluded_tags` and the warning.
    """
    return score_tags(
        scores, labels, mask=mask, tag_names=tag_names, threshold=threshold
    ).as_dict()


# --------------------------------------------------------------------------------------
# Tables: loading and pairing by item id
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemTable:
    """Values per item and column (tag or criterion) read from a file.

    Attributes
    ----------
    items : tuple[str, ...]
        Item ids, in file order.
    columns : tuple[str, ...]
        Tag or criterion names, in file order.
    values : np.ndarray, shape (n_items, n_columns), float64
        NaN where the value is missing.
    mask : np.ndarray, shape (n_items, n_columns), bool
        True where the value is present.
    """

    items: tuple[str, ...]
    columns: tuple[str, ...]
    values: NDArray[np.float64]
    mask: NDArray[np.bool_]


def _read_rows(p: Path) -> list[tuple[int, list[str]]]:
    """Non-blank CSV/TSV rows with their line numbers; the delimiter comes from row 1."""
    if not p.is_file():
        raise InputError(f"'{p}' does not exist or is not a file: check the path")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read '{p}' as UTF-8 text: {exc}") from exc
    lines = text.splitlines()
    header = next((line for line in lines if line.strip()), "")
    delimiter = "\t" if "\t" in header else ","
    reader = csv.reader(lines, delimiter=delimiter)
    return [
        (reader.line_num, [f.strip() for f in row]) for row in reader if any(f.strip() for f in row)
    ]


def _parse_value(
    text: str, where: str, what: str, *, allow_missing: bool
) -> float:
    try:
        value = float(text) if text else math.nan
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not a number") from None
    if math.isinf(value) or (math.isnan(value) and not allow_missing):
        shown = "an empty cell" if not text else repr(text)
        raise InputError(f"{where}: {what} is {shown}; every value must be a finite number")
    return value


def read_item_table(
    path: PathLike,
    *,
    what: str,
    column_word: str,
    allow_missing: bool,
    allowed_values: tuple[float, ...] | None = None,
) -> ItemTable:
    """Read a CSV/TSV table of values per item and column.

    Wide format: a header ``ITEM,NAME1,NAME2,...`` (the first header cell names the item
    column and may be anything), then one row per item. Long format: the header
    ``item,COLUMN_WORD,value`` (case-insensitive), then one row per known value. The
    delimiter is a tab when the header has one, else a comma.

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the values are, for messages ("score", "label", "rating").
    column_word : str
        What a column is ("tag", "criterion"); also the long-format header's middle name.
    allow_missing : bool
        Whether empty cells, ``nan`` cells (wide) and absent pairs (long) are allowed; they
        become NaN with ``mask`` False.
    allowed_values : tuple of float, optional
        The only values accepted (e.g. ``(0, 1)`` for labels).

    Raises
    ------
    InputError
        Missing file, no header or no rows, a row with the wrong number of fields, an
        unparseable or (when not allowed) missing value, a value outside
        ``allowed_values``, repeated item ids, columns or pairs. Messages name the file
        and line.
    """
    p = Path(path)
    rows = _read_rows(p)
    if len(rows) < 2:
        raise InputError(
            f"'{p}' has {'no header' if not rows else 'a header but no rows'}: expected a "
            f"header (item,{column_word}1,{column_word}2,... or item,{column_word},value) "
            "and a row per item"
        )
    header = rows[0][1]
    if [h.lower() for h in header] == ["item", column_word, "value"]:
        table = _long_table(p, rows[1:], what, column_word, allow_missing)
    else:
        table = _wide_table(p, rows, what, column_word, allow_missing)
    if allowed_values is not None:
        bad = table.mask & ~np.isin(table.values, allowed_values)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                f"'{p}': {what} of item {table.items[i]!r}, {column_word} "
                f"{table.columns[j]!r} is {table.values[i, j]:g}; allowed: "
                + ", ".join(f"{v:g}" for v in allowed_values)
            )
    return table


def _unique_names(p: Path, names: Sequence[str], what: str) -> None:
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"'{p}': {what}s repeat: {_name_list(dupes)}")


def _wide_table(
    p: Path, rows: list[tuple[int, list[str]]], what: str, column_word: str,
    allow_missing: bool,
) -> ItemTable:
    header = rows[0][1]
    columns = header[1:]
    if not columns or "" in columns:
        raise InputError(
            f"'{p}' line {rows[0][0]}: the header {header} must name every {column_word} "
            "column after the item column"
        )
    _unique_names(p, columns, f"{column_word} name")
    items: list[str] = []
    values = np.empty((len(rows) - 1, len(columns)), dtype=np.float64)
    for r, (number, fields) in enumerate(rows[1:]):
        where = f"'{p}' line {number}"
        if len(fields) != len(header):
            raise InputError(
                f"{where}: {len(fields)} fields but the header has {len(header)}"
            )
        if not fields[0]:
            raise InputError(f"{where}: empty item id")
        items.append(fields[0])
        for j, (column, cell) in enumerate(zip(columns, fields[1:], strict=True)):
            values[r, j] = _parse_value(
                cell, where, f"{what} for {column_word} {column!r}", allow_missing=allow_missing
            )
    _unique_names(p, items, "item id")
    return ItemTable(tuple(items), tuple(columns), values, ~np.isnan(values))


def _long_table(
    p: Path, rows: list[tuple[int, list[str]]], what: str, column_word: str,
    allow_missing: bool,
) -> ItemTable:
    items: dict[str, int] = {}
    columns: dict[str, int] = {}
    cells: dict[tuple[int, int], float] = {}
    for number, fields in rows:
        where = f"'{p}' line {number}"
        if len(fields) != 3:
            raise InputError(f"{where}: {len(fields)} fields; long format has 3 "
                             f"(item, {column_word}, value)")
        item, column, cell = fields
        if not item or not column:
            raise InputError(f"{where}: empty item id or {column_word} name")
        key = (items.setdefault(item, len(items)), columns.setdefault(column, len(columns)))
        if key in cells:
            raise InputError(f"{where}: item {item!r}, {column_word} {column!r} repeats")
        cells[key] = _parse_value(cell, where, what, allow_missing=allow_missing)
    values = np.full((len(items), len(columns)), np.nan)
    for (i, j), value in cells.items():
        values[i, j] = value
    mask = ~np.isnan(values)
    if not allow_missing and not mask.all():
        i, j = np.argwhere(~mask)[0]
        raise InputError(
            f"'{p}': {int((~mask).sum())} (item, {column_word}) pairs have no {what}, e.g. "
            f"item {list(items)[i]!r}, {column_word} {list(columns)[j]!r}"
        )
    return ItemTable(tuple(items), tuple(columns), values, mask)


def read_scores_csv(path: PathLike) -> ItemTable:
    """Read predicted tag scores (wide ``item,tag1,...`` or long ``item,tag,value``).

    Every (item, tag) needs a finite score. See :func:`read_item_table`.
    """
    return read_item_table(path, what="score", column_word="tag", allow_missing=False)


def read_labels_csv(path: PathLike) -> ItemTable:
    """Read 0/1 tag labels (wide or long); empty cells or absent pairs are missing labels.

    The table's ``mask`` is False at missing labels. See :func:`read_item_table`.
    """
    return read_item_table(
        path, what="label", column_word="tag", allow_missing=True, allowed_values=(0.0, 1.0)
    )


def align_tables(
    first: ItemTable,
    second: ItemTable,
    *,
    names: tuple[str, str],
    column_word: str,
) -> tuple[ItemTable, ItemTable]:
    """Put two tables in the same item and column order (that of ``second``).

    Parameters
    ----------
    first, second : ItemTable
    names : tuple of str
        What the two tables are, for messages (e.g. ``("scores", "labels")``).
    column_word : str
        What a column is, for messages.

    Raises
    ------
    InputError
        Item ids or column names present in one table but not the other; the message lists
        the first few of each and their count.
    """
    problems = []
    for kind, a, b in (("item ids", first.items, second.items),
                       (f"{column_word} names", first.columns, second.columns)):
        for (x, xs), (y, ys) in (((names[0], a), (names[1], b)), ((names[1], b), (names[0], a))):
            present = set(ys)
            only = [n for n in xs if n not in present]
            if only:
                problems.append(f"{kind} in {x} but not in {y}: {_name_list(only)}")
    if problems:
        raise InputError("cannot pair the tables: " + "; ".join(problems))
    row_of = {item: i for i, item in enumerate(first.items)}
    col_of = {column: j for j, column in enumerate(first.columns)}
    index = np.ix_([row_of[i] for i in second.items], [col_of[c] for c in second.columns])
    return ItemTable(second.items, second.columns, first.values[index], first.mask[index]), second


def align(scores: ItemTable, labels: ItemTable) -> tuple[ItemTable, ItemTable]:
    """Pair a score table with a label table by item id and tag name (labels' order).

    Raises
    ------
    InputError
        Items or tags present in one table but not the other (first few named, with count).
    """
    return align_tables(scores, labels, names=("scores", "labels"), column_word="tag")


def evaluate_tables(
    scores: ItemTable, labels: ItemTable, *, threshold: float = DEFAULT_THRESHOLD
) -> TagScores:
    """:func:`score_tags` on a score table and a label table paired with :func:`align`."""
    s, y = align(scores, labels)
    return score_tags(s.values, y.values, mask=y.mask, tag_names=y.columns, threshold=threshold)
