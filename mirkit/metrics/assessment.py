"""Performance-assessment metrics: predicted against reference ratings per criterion.

Conventions
-----------
``reference``, ``predicted`` : arrays, shape (n_items, n_criteria), float
    One rating per item (a performance) and criterion (e.g. musicality, note accuracy,
    rhythmic accuracy, tone quality), on any scale, the same for both arrays. A 1-D array
    of shape (n_items,) means one criterion. Every rating must be finite: impute or drop
    items with missing ratings first.
``criteria`` : sequence of n_criteria distinct names, optional (default ``"0"``, ``"1"``...).

Degenerate inputs raise :class:`~mirkit.errors.InputError` rather than give NaN: fewer
than :data:`MIN_ITEMS` items, or a criterion whose reference ratings are all equal (R²
divides by their variance, and the correlations by their spread). Predictions that are all
equal (a predict-the-mean baseline) are scored where that is defined: R², MAE and RMSE;
:func:`evaluate` leaves their correlations out and says so, and :func:`pearson_r` /
:func:`spearman_rho` refuse them.

Metrics
-------
* :func:`r2_score`: coefficient of determination ``1 - SS_res / SS_tot`` (scikit-learn's
  definition, with no special case for ``SS_tot = 0``, which is refused instead).
* :func:`pearson_r`: Pearson correlation (scipy.stats.pearsonr).
* :func:`spearman_rho`: Spearman rank correlation, ties averaged (scipy.stats.spearmanr).
* :func:`mean_absolute_error`, :func:`root_mean_squared_error`.
* :func:`evaluate`: all five, mean over criteria first, then per criterion.

Loaders
-------
:func:`read_ratings_csv` reads ``item,crit1,crit2,...`` (or long ``item,criterion,value``)
tables; :func:`align_ratings` pairs two of them by item id.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError
from mirkit.metrics.tagging import ItemTable, align_tables, column_names, read_item_table

__all__ = [
    "MIN_ITEMS",
    "evaluate",
    "evaluate_tables",
    "align_ratings",
    "mean_absolute_error",
    "pearson_r",
    "r2_score",
    "read_ratings_csv",
    "root_mean_squared_error",
    "spearman_rho",
    "validate",
]

PathLike: TypeAlias = str | os.PathLike[str]
Ratings: TypeAlias = NDArray[np.float64]

#: Fewest items that make correlations and R² meaningful at all.
MIN_ITEMS = 2


def _as_2d(value: object, what: str) -> Ratings:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} ratings must be numbers: {exc}") from exc
    if arr.ndim == 1:
        arr = arr[:, np.newaxis]
    if arr.ndim != 2:
        raise InputError(f"{what} ratings have shape {arr.shape}: expected (n_items, n_criteria)")
    return arr


def _checked(
    reference: ArrayLike, predicted: ArrayLike, criteria: Sequence[str] | None, *,
    constant_prediction_ok: bool = True,
) -> tuple[Ratings, Ratings, list[str]]:
    ref = _as_2d(reference, "reference")
    pred = _as_2d(predicted, "predicted")
    if ref.shape != pred.shape:
        raise InputError(
            f"reference ratings have shape {ref.shape} but predicted {pred.shape}: both are "
            "(n_items, n_criteria)"
        )
    names = column_names(criteria, ref.shape[1], what="criterion")
    if ref.shape[1] == 0:
        raise InputError("the ratings have no criterion column")
    if ref.shape[0] < MIN_ITEMS:
        raise InputError(
            f"{ref.shape[0]} item(s): R² and correlations need at least {MIN_ITEMS} rated items"
        )
    for what, arr in (("reference", ref), ("predicted", pred)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                f"{what} rating of item {i}, criterion {names[j]!r} is {arr[i, j]}: every "
                "rating must be finite; drop or impute items with missing ratings"
            )
    checks = [("reference", ref, "R² (which divides by their variance) and the correlations are")]
    if not constant_prediction_ok:
        checks.append(("predicted", pred, "Pearson r and Spearman rho are"))
    for what, arr, why in checks:
        constant = (arr == arr[0]).all(axis=0)
        if constant.any():
            j = int(np.argmax(constant))
            raise InputError(
                f"the {what} ratings of criterion {names[j]!r} are all {arr[0, j]:g}: {why} "
                "undefined for constant ratings; leave the criterion out"
            )
    return ref, pred, names


def validate(
    reference: ArrayLike, predicted: ArrayLike, *, criteria: Sequence[str] | None = None
) -> None:
    """Check two rating arrays and raise :class:`~mirkit.errors.InputError` if unfit.

    Parameters
    ----------
    reference, predicted : array_like, shape (n_items, n_criteria) or (n_items,)
    criteria : sequence of str, optional

    Raises
    ------
    InputError
        Shapes that differ or are not 1-/2-D, fewer than :data:`MIN_ITEMS` items, a
        non-finite rating (named by item and criterion), a constant reference or
        predicted criterion, criterion names of the wrong number or repeated.
    """
    _checked(reference, predicted, criteria)


# Kernels on validated (n_items, n_criteria) arrays; each returns one value per criterion.


def _r2(ref: Ratings, pred: Ratings) -> Ratings:
    ss_res = ((ref - pred) ** 2).sum(axis=0)
    ss_tot = ((ref - ref.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - ss_res / ss_tot


def _pearson(ref: Ratings, pred: Ratings) -> Ratings:
    from scipy.stats import pearsonr

    return np.array([pearsonr(ref[:, j], pred[:, j]).statistic for j in range(ref.shape[1])])


def _spearman(ref: Ratings, pred: Ratings) -> Ratings:
    from scipy.stats import spearmanr

    return np.array([spearmanr(ref[:, j], pred[:, j]).statistic for j in range(ref.shape[1])])


def _mae(ref: Ratings, pred: Ratings) -> Ratings:
    return np.abs(ref - pred).mean(axis=0)


def _rmse(ref: Ratings, pred: Ratings) -> Ratings:
    return np.sqrt(((ref - pred) ** 2).mean(axis=0))


_CORRELATIONS = ("Pearson r", "Spearman rho")
_METRICS: tuple[tuple[str, Callable[[Ratings, Ratings], Ratings]], ...] = (
    ("R2", _r2),
    ("Pearson r", _pearson),
    ("Spearman rho", _spearman),
    ("MAE", _mae),
    ("RMSE", _rmse),
)


def r2_score(reference: ArrayLike, predicted: ArrayLike) -> Ratings:
    """Coefficient of determination per criterion, ``1 - SS_res / SS_tot``.

    Returns
    -------
    np.ndarray, shape (n_criteria,), float64
        At most 1; negative when the predictions are worse than the reference mean.
    """
    return _r2(*_checked(reference, predicted, None)[:2])


def pearson_r(reference: ArrayLike, predicted: ArrayLike) -> Ratings:
    """Pearson correlation per criterion (scipy.stats.pearsonr).

    Returns
    -------
    np.ndarray, shape (n_criteria,), float64
    """
    return _pearson(*_checked(reference, predicted, None, constant_prediction_ok=False)[:2])


def spearman_rho(reference: ArrayLike, predicted: ArrayLike) -> Ratings:
    """Spearman rank correlation per criterion, ties averaged (scipy.stats.spearmanr).

    Returns
    -------
    np.ndarray, shape (n_criteria,), float64
    """
    return _spearman(*_checked(reference, predicted, None, constant_prediction_ok=False)[:2])


def mean_absolute_error(reference: ArrayLike, predicted: ArrayLike) -> Ratings:
    """Mean absolute error per criterion, in rating units.

    Returns
    -------
    np.ndarray, shape (n_criteria,), float64
    """
    return _mae(*_checked(reference, predicted, None)[:2])


def root_mean_squared_error(reference: ArrayLike, predicted: ArrayLike) -> Ratings:
    """Root mean squared error per criterion, in rating units.

    Returns
    -------
    np.ndarray, shape (n_criteria,), float64
    """
    return _rmse(*_checked(reference, predicted, None)[:2])


def evaluate(
    reference: ArrayLike, predicted: ArrayLike, *, criteria: Sequence[str] | None = None
) -> dict[str, float]:
    """All assessment metrics, mean over criteria and per criterion.

    Parameters
    ----------
    reference, predicted : array_like, shape (n_items, n_criteria) or (n_items,)
    criteria : sequence of str, optional

    Returns
    -------
    dict[str, float]
        ``"R2"``, ``"Pearson r"``, ``"Spearman rho"``, ``"MAE"``, ``"RMSE"`` (unweighted
        means over criteria; the R² mean is scikit-learn's ``uniform_average``), ``"Items"``
        (the count), then for each criterion ``"R2 [name]"``, ``"Pearson r [name]"``,
        ``"Spearman rho [name]"``, ``"MAE [name]"``, ``"RMSE [name]"``.

        A criterion whose predictions are all equal (e.g. a predict-the-mean baseline) has
        R², MAE and RMSE but no correlations: its correlation keys are left out, so are the
        mean correlation keys, and ``"Constant predictions"`` counts such criteria.
    """
    ref, pred, names = _checked(reference, predicted, criteria)
    constant = (pred == pred[0]).all(axis=0)
    values: dict[str, Ratings] = {}
    for metric, function in _METRICS:
        if metric in _CORRELATIONS:      # undefined for a constant prediction: left out
            v = np.full(ref.shape[1], np.nan)
            if (~constant).any():
                v[~constant] = function(ref[:, ~constant], pred[:, ~constant])
            values[metric] = v
        else:
            values[metric] = function(ref, pred)
    scores = {metric: float(v.mean()) for metric, v in values.items()
              if np.all(np.isfinite(v))}
    scores["Items"] = float(ref.shape[0])
    if constant.any():
        scores["Constant predictions"] = float(constant.sum())
    for j, name in enumerate(names):
        scores |= {f"{metric} [{name}]": float(v[j]) for metric, v in values.items()
                   if np.isfinite(v[j])}
    return scores


def read_ratings_csv(path: PathLike) -> ItemTable:
    """Read ratings: a header ``item,crit1,crit2,...`` then a row per item.

    The long format ``item,criterion,value`` is accepted too. Every cell must hold a
    finite number. See :func:`mirkit.metrics.tagging.read_item_table`.
    """
    return read_item_table(path, what="rating", column_word="criterion", allow_missing=False)


def align_ratings(predicted: ItemTable, reference: ItemTable) -> tuple[ItemTable, ItemTable]:
    """Pair predicted and reference rating tables by item id and criterion (reference order).

    Raises
    ------
    InputError
        Items or criteria present in one table but not the other (first few named, with
        count).
    """
    return align_tables(
        predicted, reference, names=("predicted", "reference"), column_word="criterion"
    )


def evaluate_tables(reference: ItemTable, predicted: ItemTable) -> dict[str, float]:
    """:func:`evaluate` on two rating tables paired with :func:`align_ratings`."""
    pred, ref = align_ratings(predicted, reference)
    return evaluate(ref.values, pred.values, criteria=ref.columns)
