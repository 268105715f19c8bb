"""Disentanglement and interpolatability metrics for latent codes.

Three families of evaluation code compute metrics with the same names and different
numbers: the dMelodies benchmark (histogram discretisation), Latte (kNN mutual-information
estimators with "regularised dimension" semantics) and AR-VAE. mirkit implements each of
them as its source defines it and names every variant explicitly, in function names and in
the keys :func:`evaluate` returns. Numbers of two variants of "MIG" or "SAP" are *not*
comparable with each other.

Conventions
-----------
z : np.ndarray, shape (N, D), float
    Latent codes: one row per item, one column per latent dimension.
a : np.ndarray, shape (N, K) or (N,)
    Factors or attributes: one column per factor. *Discrete factors* are integer-valued class
    labels (dMelodies factor indices); *continuous attributes* are real numbers (AR-VAE
    attributes such as note density). A 1-D array is one factor. Every column must vary: a
    constant factor has entropy 0 and every normalised metric would divide by zero.
reg_dim : sequence of int, length K, optional
    ``reg_dim[k]`` is the latent dimension that regularises (is meant to encode) factor
    ``k``, as in Latte and AR-VAE. Values are distinct and in ``[0, D)``. Where a metric
    needs a mapping and none is given, it is the identity ``(0, 1, ..., K-1)`` (needs
    ``K <= D``). Metrics that only compare the best and second-best dimension (MIG-kNN,
    SAP-Latte) use the plain top-2 gap when ``reg_dim`` is None; when it is given, the gap is
    taken from the regularising dimension and is negative when another dimension wins.
Traversals (smoothness, monotonicity)
    ``z`` of shape (n, n_features, n_interp) and ``a`` of shape (n, n_attr, n_interp): item
    ``i`` is decoded at ``n_interp`` equally spaced values of the latent dimension
    ``reg_dim[k]`` and attribute ``k`` is measured on each output. (n, n_interp) arrays mean
    one attribute.
Units
    Mutual information and entropy are in nats; accuracies, AUCs and R^2 are fractions.
Randomness
    sklearn's kNN estimators add 1e-10-scale noise to continuous inputs; ``random_state``
    (default 0) fixes it, so results are deterministic. LinearSVC and LogisticRegression are
    deterministic for these problem sizes.

Metrics
-------
dMelodies benchmark (``ashispati/dmelodies_benchmarking``; discrete factors only)
    * :func:`mig_histogram` -- "MIG (histogram, dMelodies)". Each latent dimension is
      discretised into ``bins`` (20) histogram bins: edges from ``np.histogram(z_d, bins)``,
      labels ``np.digitize(z_d, left_edges)`` (1..bins). ``I(z_d; y_k)`` by
      ``sklearn.metrics.mutual_info_score``; ``H(y_k) = I(y_k; y_k)``;
      ``MIG = mean_k (I_top1 - I_top2) / H(y_k)``.
    * :func:`modularity_histogram` -- "Modularity (histogram, dMelodies)" (Ridgeway & Mozer
      2018) on the same discretised MI matrix: per dimension
      ``1 - (sum_k I^2 - max_k I^2) / (max_k I^2 (K - 1))`` (0 where ``max_k I = 0``), mean
      over dimensions. The benchmark computes it on the first 60 % of the evaluated points
      (``train_fraction=0.6``); the function default uses all the points it is given.
    * :func:`explicitness` -- "Explicitness (dMelodies)": per factor, a LogisticRegression
      (sklearn defaults) on z-scored codes of the first ``train_fraction`` (60 %) of the points;
      score = macro-average over classes of the one-vs-rest ROC-AUC of ``predict_proba``,
      reported on the training and on the held-out part; mean over factors.
    * :func:`sap_svc` -- "SAP (LinearSVC held-out, dMelodies)": for every (dimension, factor) a
      ``LinearSVC(C=0.01, class_weight='balanced')`` fitted on the 1-D code of the first 60 %,
      accuracy on the other 40 %; ``SAP = mean_k (best - second best)``.
Latte (``karnwatcharasupat/latte``; kNN MI, ``n_neighbors=3``; values per factor)
    * :func:`mig_knn`, :func:`dmig` (dependency-aware), :func:`xmig` (dependency-blind),
      :func:`dlig` (latent-centric), :func:`modularity_knn` (per latent dimension),
      :func:`sap_discrete` (LinearSVC(C=1) *training* accuracy), :func:`sap_continuous`
      (squared correlation); see each function for the exact rule.
    * Interpolatability along traversals: :func:`smoothness` (Lehmer mean p=2 of the
      second-order latent-induced attribute difference over the range of the first-order one),
      :func:`monotonicity` (mean sign of the first-order difference, ``|LIAD| <= 1e-3``
      ignored, NaN-mean over items).
AR-VAE (``ashispati/ar-vae``)
    * :func:`interpretability_arvae` -- per attribute, the dimension with the largest kNN MI
      (``mutual_info_regression``) and the R^2 of a 1-D linear regression of the attribute on
      it; mean over attributes.

:func:`evaluate` runs a chosen set and returns ``{display name: value}``;
:func:`read_latents_npz` loads codes and factors from an ``.npz`` file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mirkit.errors import InputError, ParameterError

__all__ = [
    "DEFAULT_BINS",
    "METRICS",
    "ExplicitnessResult",
    "InterpretabilityResult",
    "ScoreResult",
    "dlig",
    "dmig",
    "evaluate",
    "explicitness",
    "histogram_discretize",
    "interpretability_arvae",
    "mig_histogram",
    "mig_knn",
    "modularity_histogram",
    "modularity_knn",
    "monotonicity",
    "read_latents_npz",
    "sap_continuous",
    "sap_discrete",
    "sap_svc",
    "smoothness",
    "validate",
    "validate_traversal",
    "xmig",
]

# --------------------------------------------------------------------------------------
# Constants of the reference procedures
# --------------------------------------------------------------------------------------

#: Histogram bins per latent dimension (dMelodies benchmark).
DEFAULT_BINS: int = 20
#: Leading fraction of the points used for training (dMelodies benchmark split).
BENCHMARK_TRAIN_FRACTION: float = 0.6
#: LinearSVC regularisation of the dMelodies benchmark SAP.
BENCHMARK_SVC_C: float = 0.01
#: LinearSVC regularisation of Latte's discrete SAP (``l2_reg``).
LATTE_SVC_C: float = 1.0
#: Neighbours of sklearn's kNN mutual-information estimators.
KNN_NEIGHBORS: int = 3
#: Latte / AR-VAE: a latent dimension with variance at or below this scores 0 in SAP.
SAP_VARIANCE_THRESHOLD: float = 1e-12
#: Latte: modularity of a dimension is 0 when its largest MI is below this.
MODULARITY_MI_THRESHOLD: float = 1e-12
#: Latte: first-order LIAD magnitudes at or below this are ignored by monotonicity.
LIAD_THRESHOLD: float = 1e-3
#: Latte: power of the Lehmer mean used as a soft maximum in smoothness.
LEHMER_P: float = 2.0

_FACTOR_KEYS: tuple[str, ...] = ("factors", "attributes", "a")
_REDUCE_MODES: tuple[str, ...] = ("attribute", "sample", "all", "none")


class _KnnOptions(TypedDict):
    discrete: bool
    random_state: int | None


class ScoreResult(NamedTuple):
    """A summary score and the values it summarises (per factor or per latent dimension)."""

    score: float
    per_item: NDArray[np.float64]


class ExplicitnessResult(NamedTuple):
    """Explicitness on the training and the held-out part, overall and per factor."""

    train: float
    test: float
    per_factor_train: NDArray[np.float64]
    per_factor_test: NDArray[np.float64]


class InterpretabilityResult(NamedTuple):
    """AR-VAE interpretability: mean R^2, R^2 per attribute and the dimension chosen for each."""

    score: float
    per_attribute: NDArray[np.float64]
    dims: NDArray[np.int64]


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _as_float_array(x: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric array: {exc}") from exc
    return arr


def validate(z: ArrayLike, a: ArrayLike, *, discrete: bool = False) -> None:
    """Check latent codes and factors; raise :class:`~mirkit.errors.InputError` if unusable.

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes.
    a : array_like, shape (N, K) or (N,)
        Factors (``discrete=True``: integer-valued labels) or continuous attributes.
    discrete : bool
        Require integer-valued factors.

    Raises
    ------
    InputError
        Wrong dimensionality, mismatched N, fewer than 2 items, empty D or K, NaN or inf
        values, a constant factor (entropy 0), or non-integer values when ``discrete``.
    """
    _checked(z, a, discrete=discrete)


def _checked(
    z: ArrayLike, a: ArrayLike, *, discrete: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate and return ``z`` (N, D) and ``a`` (N, K) as float64 arrays."""
    zz = _as_float_array(z, "latent codes z")
    aa = _as_float_array(a, "factors a")
    if zz.ndim != 2:
        raise InputError(
            f"latent codes z must have shape (N, D), got shape {zz.shape}; "
            "reshape a single latent dimension with z[:, None]"
        )
    if aa.ndim == 1:
        aa = aa[:, None]
    if aa.ndim != 2:
        raise InputError(f"factors a must have shape (N, K) or (N,), got shape {aa.shape}")
    n, d = zz.shape
    if aa.shape[0] != n:
        raise InputError(
            f"z has {n} rows but a has {aa.shape[0]} (z shape {zz.shape}, a shape {aa.shape}): "
            "codes and factors must describe the same items, one row each"
        )
    if n < 2:
        raise InputError(f"need at least 2 samples to estimate a metric, got {n}")
    if d < 1 or aa.shape[1] < 1:
        raise InputError(f"need at least one latent dimension and one factor, got z "
                         f"shape {zz.shape} and a shape {aa.shape}")
    for arr, name in ((zz, "latent codes z"), (aa, "factors a")):
        bad = ~np.isfinite(arr)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError(
                f"{name} holds {int(bad.sum())} NaN/inf value(s), first at row {row}, "
                f"column {col}: drop or impute those items first"
            )
    constant = np.all(aa == aa[0], axis=0)
    if constant.any():
        k = int(np.argmax(constant))
        raise InputError(
            f"factor column {k} is constant (value {aa[0, k]:g} for all {n} items): its "
            "entropy is 0, so normalised metrics would divide by zero and no classifier can "
            "be trained; drop that column or evaluate on items where it varies"
        )
    if discrete:
        frac = aa != np.round(aa)
        if frac.any():
            row, col = np.argwhere(frac)[0]
            raise InputError(
                f"discrete factors must be integer class labels, but column {col} holds "
                f"{float(aa[row, col]):g} at row {row}; for continuous attributes pass "
                "discrete=False (on the command line --continuous)"
            )
    return zz, aa


def _need_dims(z: NDArray[np.float64], minimum: int, metric: str) -> None:
    if z.shape[1] < minimum:
        raise InputError(
            f"{metric} compares latent dimensions and needs at least {minimum}, "
            f"got z of shape {z.shape}"
        )


def _need_factors(a: NDArray[np.float64], minimum: int, metric: str) -> None:
    if a.shape[1] < minimum:
        raise InputError(
            f"{metric} compares factors and needs at least {minimum}, got a of shape {a.shape}"
        )


def _check_reg_dim(
    reg_dim: Sequence[int] | None, n_attr: int, n_features: int
) -> list[int] | None:
    """Return ``reg_dim`` as a list of distinct in-range ints (None stays None)."""
    if reg_dim is None:
        return None
    dims = [int(r) for r in reg_dim]
    if len(dims) != n_attr:
        raise ParameterError(
            f"reg_dim {tuple(dims)} has {len(dims)} entries but there are {n_attr} factors: "
            "give one latent dimension per factor"
        )
    if any(r < 0 or r >= n_features for r in dims):
        raise ParameterError(
            f"reg_dim {tuple(dims)} names a dimension outside [0, {n_features}) "
            f"(z has {n_features} latent dimensions)"
        )
    if len(set(dims)) != len(dims):
        raise ParameterError(
            f"reg_dim {tuple(dims)} repeats a dimension: each factor needs its own dimension"
        )
    return dims


def _filled_reg_dim(reg_dim: Sequence[int] | None, n_attr: int, n_features: int) -> list[int]:
    """``reg_dim`` checked, or the identity mapping (factor k <-> dimension k) when None."""
    dims = _check_reg_dim(reg_dim, n_attr, n_features)
    if dims is not None:
        return dims
    if n_attr > n_features:
        raise InputError(
            f"{n_attr} factors but only {n_features} latent dimensions: the default "
            "reg_dim (factor k <-> dimension k) needs K <= D; pass reg_dim explicitly"
        )
    return list(range(n_attr))


def _check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _split(
    n: int, train_fraction: float, *, allow_all: bool
) -> int:
    """Number of leading training points, ``int(train_fraction * n)`` as the benchmark does."""
    upper_ok = train_fraction <= 1.0 if allow_all else train_fraction < 1.0
    if not (0.0 < train_fraction and upper_ok):
        bound = "(0, 1]" if allow_all else "(0, 1)"
        raise ParameterError(f"train_fraction must be in {bound}, got {train_fraction!r}")
    n_train = int(train_fraction * n)
    if n_train < 2 or (not allow_all and n - n_train < 1):
        raise InputError(
            f"train_fraction {train_fraction} of {n} items leaves {n_train} for training and "
            f"{n - n_train} for testing: use more items"
        )
    return n_train


# --------------------------------------------------------------------------------------
# dMelodies benchmark variants (histogram discretisation, held-out classifiers)
# --------------------------------------------------------------------------------------


def histogram_discretize(z: ArrayLike, *, bins: int = DEFAULT_BINS) -> NDArray[np.int64]:
    """Discretise each latent dimension into histogram bins as the dMelodies benchmark does.

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes.
    bins : int
        Number of equal-width bins spanning ``[min z_d, max z_d]``.

    Returns
    -------
    np.ndarray, shape (N, D), int64
        ``np.digitize(z_d, edges[:-1])`` with ``edges = np.histogram(z_d, bins)[1]``: labels
        1..bins (the maximum falls in bin ``bins``; a constant dimension is all one label).
    """
    bins = _check_positive_int(bins, "bins")
    zz = _as_float_array(z, "latent codes z")
    if zz.ndim != 2:
        raise InputError(f"latent codes z must have shape (N, D), got shape {zz.shape}")
    out = np.empty(zz.shape, dtype=np.int64)
    for d in range(zz.shape[1]):
        edges = np.histogram(zz[:, d], bins)[1]
        out[:, d] = np.digitize(zz[:, d], edges[:-1])
    return out


def _discrete_mi_matrix(labels: NDArray[np.int64], a: NDArray[np.float64]) -> NDArray[np.float64]:
    """``m[d, k] = mutual_info_score(a_k, labels_d)`` in nats, shape (D, K)."""
    from sklearn.metrics import mutual_info_score

    m = np.empty((labels.shape[1], a.shape[1]))
    for d in range(labels.shape[1]):
        for k in range(a.shape[1]):
            m[d, k] = mutual_info_score(a[:, k], labels[:, d])
    return m


def _discrete_entropy(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """``H(a_k) = I(a_k; a_k)`` in nats, shape (K,)."""
    from sklearn.metrics import mutual_info_score

    return np.array([mutual_info_score(a[:, k], a[:, k]) for k in range(a.shape[1])])


def _modularity_from_mi(mi: NDArray[np.float64], threshold: float) -> NDArray[np.float64]:
    """Ridgeway & Mozer modularity per latent dimension from an MI matrix (D, K).

    ``1 - (sum_k I^2 - max_k I^2) / (max_k I^2 (K - 1))``; 0 where ``max_k I^2 <= threshold^2``
    (``threshold = 0``: exactly zero MI).
    """
    sq = np.square(mi)
    top = sq.max(axis=1)
    dead = top <= threshold**2
    safe_top = np.where(dead, 1.0, top)
    score = 1.0 - (sq.sum(axis=1) - top) / (safe_top * (mi.shape[1] - 1.0))
    return np.where(dead, 0.0, score)


def mig_histogram(z: ArrayLike, factors: ArrayLike, *, bins: int = DEFAULT_BINS) -> ScoreResult:
    """Mutual information gap with 20-bin histogram discretisation (dMelodies benchmark).

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes (D >= 2).
    factors : array_like, shape (N, K) or (N,), integer-valued
        Discrete factors.
    bins : int
        Histogram bins per latent dimension (see :func:`histogram_discretize`).

    Returns
    -------
    ScoreResult
        ``score``: mean over factors; ``per_item``: shape (K,), ``(I_top1 - I_top2) / H(y_k)``
        with MI from ``sklearn.metrics.mutual_info_score`` (nats) and ``H(y_k) = I(y_k; y_k)``.
    """
    zz, aa = _checked(z, factors, discrete=True)
    _need_dims(zz, 2, "MIG")
    mi = _discrete_mi_matrix(histogram_discretize(zz, bins=bins), aa)
    top2 = np.sort(mi, axis=0)[::-1][:2]
    per = (top2[0] - top2[1]) / _discrete_entropy(aa)
    return ScoreResult(float(np.mean(per)), per)


def modularity_histogram(
    z: ArrayLike,
    factors: ArrayLike,
    *,
    bins: int = DEFAULT_BINS,
    train_fraction: float = 1.0,
) -> ScoreResult:
    """Modularity (Ridgeway & Mozer) on histogram-discretised codes (dMelodies benchmark).

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes.
    factors : array_like, shape (N, K) or (N,), integer-valued, K >= 2
        Discrete factors.
    bins : int
        Histogram bins per latent dimension, fitted on the points used.
    train_fraction : float in (0, 1]
        Use only the first ``int(train_fraction * N)`` points. 1.0 (default) uses all the
        points given; the benchmark uses 0.6.

    Returns
    -------
    ScoreResult
        ``score``: mean over dimensions; ``per_item``: shape (D,),
        ``1 - (sum_k I^2 - max_k I^2) / (max_k I^2 (K - 1))``, 0 for a dimension with zero MI.
    """
    zz, aa = _checked(z, factors, discrete=True)
    _need_factors(aa, 2, "Modularity")
    n_train = _split(zz.shape[0], train_fraction, allow_all=True)
    zt, at = zz[:n_train], aa[:n_train]
    mi = _discrete_mi_matrix(histogram_discretize(zt, bins=bins), at)
    per = _modularity_from_mi(mi, 0.0)
    return ScoreResult(float(np.mean(per)), per)


def _macro_ovr_auc(
    y: NDArray[np.float64], proba: NDArray[np.float64], classes: NDArray[Any]
) -> float:
    """Macro mean of the one-vs-rest ROC-AUC of ``proba[:, c]`` over classes with both outcomes."""
    from sklearn.metrics import roc_auc_score

    aucs = []
    for c, cls in enumerate(classes):
        positive = y == cls
        if positive.all() or not positive.any():
            continue
        aucs.append(roc_auc_score(positive, proba[:, c]))
    return float(np.mean(aucs)) if aucs else float("nan")


def explicitness(
    z: ArrayLike,
    factors: ArrayLike,
    *,
    train_fraction: float = BENCHMARK_TRAIN_FRACTION,
    C: float = 1.0,
    max_iter: int = 100,
) -> ExplicitnessResult:
    """Explicitness: ROC-AUC of a linear classifier per factor (dMelodies benchmark).

    The first ``int(train_fraction * N)`` points train, the rest test. Codes are z-scored with
    the training mean and standard deviation (a dimension with zero training deviation is only
    centred; the benchmark would produce NaN). For each factor a
    ``LogisticRegression(C=C, max_iter=max_iter)`` (sklearn defaults: lbfgs, multinomial) is
    fitted on the training codes; its score on a part is the mean over the classifier's classes
    ``c`` of ``roc_auc_score(y == c, predict_proba[:, c])``, skipping classes absent from or
    covering the whole of that part. When every class occurs in both parts this equals the
    benchmark's ``roc_auc_score(MultiLabelBinarizer-one-hot(y), predict_proba)`` (macro
    average); for a binary factor it is the ordinary ROC-AUC.

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes.
    factors : array_like, shape (N, K) or (N,), integer-valued
        Discrete factors.
    train_fraction : float in (0, 1)
        Leading fraction used for training (benchmark: 0.6).
    C, max_iter : float, int
        LogisticRegression options (benchmark: sklearn defaults 1.0 and 100).

    Returns
    -------
    ExplicitnessResult
        Mean over factors on the training and the held-out part, and the per-factor values
        (shape (K,) each).
    """
    from sklearn.linear_model import LogisticRegression

    zz, aa = _checked(z, factors, discrete=True)
    n_train = _split(zz.shape[0], train_fraction, allow_all=False)
    z_train, z_test = zz[:n_train], zz[n_train:]
    mean = z_train.mean(axis=0)
    std = z_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    z_train = (z_train - mean) / std
    z_test = (z_test - mean) / std
    k_factors = aa.shape[1]
    train = np.empty(k_factors)
    test = np.empty(k_factors)
    for k in range(k_factors):
        y_train, y_test = aa[:n_train, k], aa[n_train:, k]
        if np.all(y_train == y_train[0]):
            raise InputError(
                f"factor column {k} takes a single value ({y_train[0]:g}) in the first "
                f"{n_train} items (the training part): shuffle the items first"
            )
        clf = LogisticRegression(C=C, max_iter=max_iter).fit(z_train, y_train)
        train[k] = _macro_ovr_auc(y_train, clf.predict_proba(z_train), clf.classes_)
        test[k] = _macro_ovr_auc(y_test, clf.predict_proba(z_test), clf.classes_)
    return ExplicitnessResult(float(np.mean(train)), float(np.mean(test)), train, test)


def _top2_gap_columns(score: NDArray[np.float64]) -> NDArray[np.float64]:
    """Best minus second-best value of each column of ``score`` (D, K)."""
    ordered = np.sort(score, axis=0)
    return ordered[-1] - ordered[-2]


def sap_svc(
    z: ArrayLike,
    factors: ArrayLike,
    *,
    train_fraction: float = BENCHMARK_TRAIN_FRACTION,
    C: float = BENCHMARK_SVC_C,
) -> ScoreResult:
    """SAP with held-out LinearSVC accuracy (dMelodies benchmark).

    For every latent dimension ``d`` and factor ``k`` a
    ``LinearSVC(C=C, class_weight='balanced')`` is fitted on the 1-D code ``z_d`` of the first
    ``int(train_fraction * N)`` items; its accuracy on the remaining items is ``S[d, k]``.

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes (D >= 2).
    factors : array_like, shape (N, K) or (N,), integer-valued
        Discrete factors.
    train_fraction : float in (0, 1)
        Leading training fraction (benchmark: 0.6).
    C : float
        LinearSVC regularisation (benchmark: 0.01).

    Returns
    -------
    ScoreResult
        ``score``: mean over factors; ``per_item``: shape (K,), best minus second-best
        accuracy over dimensions.
    """
    from sklearn.svm import LinearSVC

    zz, aa = _checked(z, factors, discrete=True)
    _need_dims(zz, 2, "SAP")
    n_train = _split(zz.shape[0], train_fraction, allow_all=False)
    score = np.empty((zz.shape[1], aa.shape[1]))
    for k in range(aa.shape[1]):
        y_train, y_test = aa[:n_train, k], aa[n_train:, k]
        if np.all(y_train == y_train[0]):
            raise InputError(
                f"factor column {k} takes a single value ({y_train[0]:g}) in the first "
                f"{n_train} items (the training part): shuffle the items first"
            )
        for d in range(zz.shape[1]):
            clf = LinearSVC(C=C, class_weight="balanced")
            clf.fit(zz[:n_train, d : d + 1], y_train)
            score[d, k] = np.mean(clf.predict(zz[n_train:, d : d + 1]) == y_test)
    per = _top2_gap_columns(score)
    return ScoreResult(float(np.mean(per)), per)


# --------------------------------------------------------------------------------------
# Latte variants (kNN mutual information, reg_dim semantics)
# --------------------------------------------------------------------------------------


class _KnnInfo:
    """kNN MI / entropy estimates for one (z, a) pair, cached.

    Each quantity is one call of ``mutual_info_classif`` (``discrete``) or
    ``mutual_info_regression`` with the same inputs Latte passes, so the estimator noise
    (seeded by ``random_state``) and hence the values are the same as Latte's.
    """

    def __init__(
        self,
        z: NDArray[np.float64],
        a: NDArray[np.float64],
        *,
        discrete: bool,
        random_state: int | None,
        n_neighbors: int,
    ) -> None:
        self.z, self.a = z, a
        self.discrete = discrete
        self.random_state = random_state
        self.n_neighbors = _check_positive_int(n_neighbors, "n_neighbors")
        if n_neighbors >= z.shape[0]:
            raise InputError(
                f"n_neighbors={n_neighbors} needs more than {n_neighbors} items, got {z.shape[0]}"
            )
        self._entropy: dict[int, float] = {}
        self._latent_mi: dict[int, NDArray[np.float64]] = {}

    def mi(self, x: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
        """MI between each column of ``x`` (n, m) and ``target`` (n,), shape (m,)."""
        from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

        estimator = mutual_info_classif if self.discrete else mutual_info_regression
        return np.asarray(
            estimator(x, target, n_neighbors=self.n_neighbors, random_state=self.random_state),
            dtype=np.float64,
        )

    def entropy(self, i: int) -> float:
        """``H(a_i)`` estimated as ``I(a_i; a_i)``."""
        if i not in self._entropy:
            self._entropy[i] = float(self.mi(self.a[:, [i]], self.a[:, i])[0])
        return self._entropy[i]

    def conditional_entropy(self, i: int, j: int) -> float:
        """``H(a_i | a_j) = H(a_i) - I(a_i; a_j)``; InputError when it is not positive."""
        value = self.entropy(i) - float(self.mi(self.a[:, [i]], self.a[:, j])[0])
        if value <= 0.0:
            raise InputError(
                f"factor {i} is (estimated as) fully determined by factor {j}: "
                f"H(a_{i} | a_{j}) = {value:.3g} nats, so the dependency-aware gap is "
                "undefined; drop one of the two factors"
            )
        return value

    def latent_mi(self, i: int) -> NDArray[np.float64]:
        """``I(z_d; a_i)`` for every latent dimension, shape (D,)."""
        if i not in self._latent_mi:
            self._latent_mi[i] = self.mi(self.z, self.a[:, i])
        return self._latent_mi[i]

    def attribute_mi(self, d: int) -> NDArray[np.float64]:
        """``I(z_d; a_k)`` for every factor, shape (K,)."""
        column = self.z[:, [d]]
        return np.array([self.mi(column, self.a[:, k])[0] for k in range(self.a.shape[1])])

    def require_entropy(self, i: int) -> float:
        value = self.entropy(i)
        if value <= 0.0:
            raise InputError(
                f"the kNN estimate of the entropy of factor {i} is {value:.3g} nats: the "
                "factor carries (almost) no information; drop it"
            )
        return value


def _gap(score: NDArray[np.float64], target: int | None) -> tuple[float, int]:
    """Top-2 gap, or the gap from ``score[target]`` (negative when another index wins).

    Returns the gap and the competing index. Ties are broken as ``np.argsort`` (ascending,
    last position wins) breaks them, as Latte does.
    """
    order = np.argsort(score)
    if target is None or order[-1] == target:
        return float(score[order[-1]] - score[order[-2]]), int(order[-2])
    return float(score[target] - score[order[-1]]), int(order[-1])


def _latte_inputs(
    z: ArrayLike,
    a: ArrayLike,
    *,
    discrete: bool,
    random_state: int | None,
    n_neighbors: int,
) -> _KnnInfo:
    zz, aa = _checked(z, a, discrete=discrete)
    _need_dims(zz, 2, "a gap metric")
    return _KnnInfo(zz, aa, discrete=discrete, random_state=random_state, n_neighbors=n_neighbors)


def mig_knn(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    discrete: bool = False,
    random_state: int | None = 0,
    n_neighbors: int = KNN_NEIGHBORS,
) -> NDArray[np.float64]:
    """Mutual information gap with kNN MI estimates (Latte ``mig``).

    ``MIG_i = (I(a_i; z_j) - I(a_i; z_k)) / H(a_i)`` with ``j`` the most and ``k`` the
    second-most informative dimension. With ``reg_dim``, ``j = reg_dim[i]`` and ``k`` is the
    best other dimension, so the value is negative when ``z_j`` is not the best.

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes (D >= 2).
    a : array_like, shape (N, K) or (N,)
        Factors or attributes.
    reg_dim : sequence of int, optional
        Regularising dimension of each factor; None: plain top-2 gap.
    discrete : bool
        ``mutual_info_classif`` (discrete labels) instead of ``mutual_info_regression``.
    random_state : int or None
        Seed of the estimator's jitter noise.
    n_neighbors : int
        k of the kNN estimator (Latte: 3).

    Returns
    -------
    np.ndarray, shape (K,)
        MIG per factor. ``H(a_i)`` is estimated as ``I(a_i; a_i)``.
    """
    info = _latte_inputs(
        z, a, discrete=discrete, random_state=random_state, n_neighbors=n_neighbors
    )
    dims = _check_reg_dim(reg_dim, info.a.shape[1], info.z.shape[1])
    out = np.empty(info.a.shape[1])
    for i in range(info.a.shape[1]):
        gap, _ = _gap(info.latent_mi(i), None if dims is None else dims[i])
        out[i] = gap / info.require_entropy(i)
    return out


def dmig(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    discrete: bool = False,
    random_state: int | None = 0,
    n_neighbors: int = KNN_NEIGHBORS,
) -> NDArray[np.float64]:
    """Dependency-aware mutual information gap (Latte ``dmig``).

    Numerator as in :func:`mig_knn` from ``j = reg_dim[i]`` (identity when None). Let ``k`` be
    the competing dimension (the second best if ``z_j`` is the best, else the best). If
    ``z_k`` regularises another factor ``a_l`` (``reg_dim[l] == k``), the gap is normalised by
    ``H(a_i | a_l) = H(a_i) - I(a_i; a_l)``, otherwise by ``H(a_i)``.

    Parameters and returns as in :func:`mig_knn` (``reg_dim`` defaults to the identity and
    needs K <= D). Raises InputError when ``H(a_i | a_l)`` is not positive.
    """
    info = _latte_inputs(
        z, a, discrete=discrete, random_state=random_state, n_neighbors=n_neighbors
    )
    dims = _filled_reg_dim(reg_dim, info.a.shape[1], info.z.shape[1])
    out = np.empty(info.a.shape[1])
    for i, r in enumerate(dims):
        gap, rival = _gap(info.latent_mi(i), r)
        if rival in dims:
            norm = info.conditional_entropy(i, dims.index(rival))
        else:
            norm = info.require_entropy(i)
        out[i] = gap / norm
    return out


def xmig(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    discrete: bool = False,
    random_state: int | None = 0,
    n_neighbors: int = KNN_NEIGHBORS,
) -> NDArray[np.float64]:
    """Dependency-blind mutual information gap (Latte ``xmig``).

    ``XMIG_i = (I(a_i; z_r) - max_{d not in reg_dim} I(a_i; z_d)) / H(a_i)`` with
    ``r = reg_dim[i]`` (identity when None): the gap against dimensions that regularise no
    factor. Needs D > K. Parameters and returns as in :func:`mig_knn`.
    """
    info = _latte_inputs(
        z, a, discrete=discrete, random_state=random_state, n_neighbors=n_neighbors
    )
    n_attr, n_features = info.a.shape[1], info.z.shape[1]
    if n_features <= n_attr:
        raise InputError(
            f"XMIG compares against latent dimensions that regularise no factor, but z has "
            f"{n_features} dimensions for {n_attr} factors: needs D > K"
        )
    dims = _filled_reg_dim(reg_dim, n_attr, n_features)
    free = np.setdiff1d(np.arange(n_features), dims)
    out = np.empty(n_attr)
    for i, r in enumerate(dims):
        mi = info.latent_mi(i)
        out[i] = (mi[r] - mi[free].max()) / info.require_entropy(i)
    return out


def dlig(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    discrete: bool = False,
    random_state: int | None = 0,
    n_neighbors: int = KNN_NEIGHBORS,
) -> NDArray[np.float64]:
    """Dependency-aware latent information gap (Latte ``dlig``), per regularising dimension.

    For factor ``i`` and its dimension ``z_r`` (``r = reg_dim[i]``, identity when None):
    ``I(z_r; a_k)`` for every factor ``k``; the gap is ``I(z_r; a_i)`` minus the best other
    factor's MI (negative when ``a_i`` is not the best), normalised by ``H(a_i | a_j)`` with
    ``a_j`` the competing factor. Needs K >= 2. Parameters as in :func:`mig_knn`.

    Returns
    -------
    np.ndarray, shape (K,)
        DLIG of ``z_{reg_dim[i]}`` for each factor ``i``.
    """
    info = _latte_inputs(
        z, a, discrete=discrete, random_state=random_state, n_neighbors=n_neighbors
    )
    _need_factors(info.a, 2, "DLIG")
    dims = _filled_reg_dim(reg_dim, info.a.shape[1], info.z.shape[1])
    out = np.empty(info.a.shape[1])
    for i, r in enumerate(dims):
        gap, rival = _gap(info.attribute_mi(r), i)
        out[i] = gap / info.conditional_entropy(i, rival)
    return out


def modularity_knn(
    z: ArrayLike,
    a: ArrayLike,
    *,
    discrete: bool = False,
    random_state: int | None = 0,
    n_neighbors: int = KNN_NEIGHBORS,
    threshold: float = MODULARITY_MI_THRESHOLD,
) -> NDArray[np.float64]:
    """Modularity with kNN MI estimates (Latte ``modularity``), per latent dimension.

    ``1 - (sum_i I(a_i; z_d)^2 / max_i I(a_i; z_d)^2 - 1) / (K - 1)``, 0 where
    ``max_i I < threshold``. Needs K >= 2. Latte ignores ``reg_dim`` here, so there is none.

    Returns
    -------
    np.ndarray, shape (D,)
        Modularity of each latent dimension.
    """
    zz, aa = _checked(z, a, discrete=discrete)
    _need_factors(aa, 2, "Modularity")
    info = _KnnInfo(zz, aa, discrete=discrete, random_state=random_state, n_neighbors=n_neighbors)
    mi = np.stack([info.latent_mi(i) for i in range(aa.shape[1])], axis=1)
    return _modularity_from_mi(mi, threshold)


def _sap_from_scores(
    score: NDArray[np.float64], reg_dim: Sequence[int] | None
) -> NDArray[np.float64]:
    dims = _check_reg_dim(reg_dim, score.shape[1], score.shape[0])
    return np.array(
        [_gap(score[:, i], None if dims is None else dims[i])[0] for i in range(score.shape[1])]
    )


def sap_continuous(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    threshold: float = SAP_VARIANCE_THRESHOLD,
) -> NDArray[np.float64]:
    """SAP with squared correlation scores (Latte ``sap(discrete=False)``; AR-VAE SAP).

    ``S[d, i] = cov(z_d, a_i)^2 / (var z_d var a_i)`` (ddof 1), 0 where ``var z_d <= threshold``;
    SAP_i = top-2 gap of ``S[:, i]`` over dimensions (or the gap from ``reg_dim[i]``). The
    AR-VAE "SAP" is the mean of this over attributes.

    Returns
    -------
    np.ndarray, shape (K,)
        SAP per attribute.
    """
    zz, aa = _checked(z, a, discrete=False)
    _need_dims(zz, 2, "SAP")
    n = zz.shape[0]
    zc = zz - zz.mean(axis=0)
    ac = aa - aa.mean(axis=0)
    cov = zc.T @ ac / (n - 1)
    var_z = np.sum(zc**2, axis=0) / (n - 1)
    var_a = np.sum(ac**2, axis=0) / (n - 1)
    live = var_z > threshold
    denom = np.where(live, var_z, 1.0)[:, None] * var_a[None, :]
    score = np.where(live[:, None], cov**2 / denom, 0.0)
    return _sap_from_scores(score, reg_dim)


def sap_discrete(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    C: float = LATTE_SVC_C,
    random_state: int | None = 0,
) -> NDArray[np.float64]:
    """SAP with LinearSVC *training* accuracy (Latte ``sap(discrete=True)``).

    ``S[d, i]`` = accuracy on all N items of ``LinearSVC(C=C, random_state=random_state)``
    fitted on the 1-D code ``z_d`` of all N items (no held-out part, no class weighting --
    unlike :func:`sap_svc`). SAP_i = top-2 gap over dimensions (or from ``reg_dim[i]``).

    Returns
    -------
    np.ndarray, shape (K,)
        SAP per factor.
    """
    from sklearn.svm import LinearSVC

    if not C > 0:
        raise ParameterError(f"C must be positive, got {C!r}")
    zz, aa = _checked(z, a, discrete=True)
    _need_dims(zz, 2, "SAP")
    score = np.empty((zz.shape[1], aa.shape[1]))
    for d in range(zz.shape[1]):
        column = zz[:, d : d + 1]
        for i in range(aa.shape[1]):
            clf = LinearSVC(C=C, random_state=random_state).fit(column, aa[:, i])
            score[d, i] = np.mean(clf.predict(column) == aa[:, i])
    return _sap_from_scores(score, reg_dim)


# --------------------------------------------------------------------------------------
# AR-VAE interpretability
# --------------------------------------------------------------------------------------


def interpretability_arvae(
    z: ArrayLike,
    a: ArrayLike,
    *,
    random_state: int | None = 0,
    n_neighbors: int = KNN_NEIGHBORS,
) -> InterpretabilityResult:
    """Interpretability as AR-VAE's evaluation defines it.

    For each attribute ``a_i``: ``d_i = argmax_d mutual_info_regression(z, a_i)[d]`` (kNN MI,
    all dimensions in one call, first index on ties), then the coefficient of determination
    R^2 of the least-squares line ``a_i ~ z_{d_i}`` on the same items (equal to the squared
    Pearson correlation; 0 for a constant dimension). The score is the mean R^2 over
    attributes. AR-VAE uses the regression estimator whatever the attribute type, and so does
    this function.

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes.
    a : array_like, shape (N, K) or (N,)
        Attributes (integer factors are treated as numbers).
    random_state : int or None
        Seed of the estimator's jitter noise (AR-VAE leaves it unseeded).
    n_neighbors : int
        k of the kNN estimator.

    Returns
    -------
    InterpretabilityResult
        Mean R^2, R^2 per attribute (K,) and the chosen dimension per attribute (K,).
    """
    zz, aa = _checked(z, a, discrete=False)
    info = _KnnInfo(zz, aa, discrete=False, random_state=random_state, n_neighbors=n_neighbors)
    k_attr = aa.shape[1]
    dims = np.empty(k_attr, dtype=np.int64)
    r2 = np.empty(k_attr)
    for i in range(k_attr):
        d = int(np.argmax(info.latent_mi(i)))
        x = zz[:, d] - zz[:, d].mean()
        y = aa[:, i] - aa[:, i].mean()
        sxx = float(x @ x)
        dims[i] = d
        r2[i] = 0.0 if sxx == 0.0 else float(x @ y) ** 2 / (sxx * float(y @ y))
    return InterpretabilityResult(float(np.mean(r2)), r2, dims)


# --------------------------------------------------------------------------------------
# Latte interpolatability: smoothness and monotonicity along latent traversals
# --------------------------------------------------------------------------------------


def validate_traversal(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    min_interp: int = 2,
    equal_spacing: bool = False,
) -> None:
    """Check traversal arrays for :func:`smoothness` / :func:`monotonicity`.

    Parameters
    ----------
    z : array_like, shape (n, n_features, n_interp) or (n, n_interp)
        Latent values along each traversal.
    a : array_like, shape (n, n_attr, n_interp) or (n, n_interp)
        Attribute measured at each traversal point.
    reg_dim : sequence of int, optional
        Dimension of ``z`` traversed for each attribute (default: the first n_attr).
    min_interp : int
        Smallest accepted number of traversal points.
    equal_spacing : bool
        Require equally spaced latent values (smoothness).

    Raises
    ------
    InputError
        Bad shapes, NaN/inf, too few points, a traversal whose latent value does not change
        between two points, or unequal spacing when required.
    """
    _traversal(z, a, reg_dim=reg_dim, min_interp=min_interp, equal_spacing=equal_spacing)


def _traversal(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None,
    min_interp: int,
    equal_spacing: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate; return z restricted to the traversed dimensions and a, both (n, n_attr, m)."""
    zz = _as_float_array(z, "latent traversal z")
    aa = _as_float_array(a, "attribute traversal a")
    if zz.ndim == 2:
        zz = zz[:, None, :]
    if aa.ndim == 2:
        aa = aa[:, None, :]
    if zz.ndim != 3 or aa.ndim != 3:
        raise InputError(
            f"traversals must have shape (n, n_features, n_interp) for z and "
            f"(n, n_attr, n_interp) for a, got {np.shape(z)} and {np.shape(a)}"
        )
    n, n_features, m = zz.shape
    if aa.shape[0] != n or aa.shape[2] != m:
        raise InputError(
            f"z traversal shape {zz.shape} and a traversal shape {aa.shape} disagree on the "
            "number of items or of traversal points"
        )
    if n < 1:
        raise InputError("need at least one traversal, got 0")
    if m < min_interp:
        raise InputError(f"need at least {min_interp} points per traversal, got {m}")
    n_attr = aa.shape[1]
    for arr, name in ((zz, "z traversal"), (aa, "a traversal")):
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{name} holds NaN/inf values: drop those traversals first")
    zz = zz[:, _filled_reg_dim(reg_dim, n_attr, n_features), :]
    step = np.diff(zz, axis=-1)
    if np.any(step == 0.0):
        i, k, t = np.argwhere(step == 0.0)[0]
        raise InputError(
            f"latent value of traversal {i}, attribute {k} does not change between points "
            f"{t} and {t + 1}: a traversal must move along its latent dimension"
        )
    if equal_spacing and not np.allclose(np.diff(step, axis=-1), 0.0):
        raise InputError(
            "latent values along a traversal must be equally spaced (e.g. np.linspace)"
        )
    return zz, aa


def _liad(
    z: NDArray[np.float64], a: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Forward-difference latent-induced attribute difference and the midpoints it lives on."""
    return np.diff(a, axis=-1) / np.diff(z, axis=-1), 0.5 * (z[..., :-1] + z[..., 1:])


def _nanmean(x: NDArray[np.float64], axis: int | None) -> NDArray[np.float64]:
    """NaN-ignoring mean without warnings; NaN where every value is NaN."""
    valid = ~np.isnan(x)
    count = valid.sum(axis=axis)
    total = np.where(valid, x, 0.0).sum(axis=axis)
    return np.asarray(
        np.divide(total, count, out=np.full(np.shape(total), np.nan), where=count > 0)
    )


def _reduce(x: NDArray[np.float64], reduce: str, *, ignore_nan: bool) -> NDArray[np.float64]:
    axis = {"attribute": 0, "sample": 1, "all": None}.get(reduce)
    if reduce == "none":
        return x
    if ignore_nan:
        return _nanmean(x, axis)
    return np.asarray(np.mean(x, axis=axis))


def _check_reduce(reduce: str) -> None:
    if reduce not in _REDUCE_MODES:
        raise ParameterError(f"reduce must be one of {_REDUCE_MODES}, got {reduce!r}")


def smoothness(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    max_mode: str = "lehmer",
    p: float = LEHMER_P,
    ptp_mode: str | float = "naive",
    reduce: str = "attribute",
    clamp: bool = False,
) -> NDArray[np.float64]:
    """Latent smoothness along traversals (Latte ``smoothness``).

    With the first-order LIAD ``D1 = diff(a) / diff(z)`` and the second-order
    ``D2 = diff(D1) / diff(midpoints)``, per item and attribute
    ``smoothness = 1 - M(|D2|) / (R(D1) / |dz|)``: ``M`` is the Lehmer mean
    ``sum x^p / sum x^(p-1)`` (``max_mode='lehmer'``, p = 2) or the maximum (``'naive'``);
    ``R`` the range ``max - min`` (``ptp_mode='naive'``) or, for a float ``q`` in (0, 1], the
    distance between the ``0.5 - q/2`` and ``0.5 + q/2`` quantiles; ``dz`` the latent step.
    Where ``M = 0`` (the attribute changes linearly) the value is 1; where ``R = 0`` but
    ``M > 0`` it is ``-inf``.

    Differences from Latte, both only for degenerate input: Latte sets 1 only when ``M = 0``
    for *every* item of an attribute (an item with ``M = R = 0`` among others gives NaN
    there), and divides by the signed step (a decreasing traversal would score above 1).

    Parameters
    ----------
    z : array_like, shape (n, n_features, n_interp) or (n, n_interp)
        Latent values along each traversal, equally spaced, n_interp >= 3.
    a : array_like, shape (n, n_attr, n_interp) or (n, n_interp)
        Attribute values along each traversal.
    reg_dim : sequence of int, optional
        Traversed dimension per attribute (default: dimension k for attribute k).
    max_mode, p, ptp_mode, clamp
        As above; ``clamp`` clips each value to [0, 1].
    reduce : {'attribute', 'sample', 'all', 'none'}
        Mean over items (shape (n_attr,)), over attributes ((n,)), over both (0-d), or none
        ((n, n_attr)).

    Returns
    -------
    np.ndarray
        Smoothness, shaped by ``reduce``.
    """
    _check_reduce(reduce)
    if max_mode not in ("lehmer", "naive"):
        raise ParameterError(f"max_mode must be 'lehmer' or 'naive', got {max_mode!r}")
    if not p > 1.0:
        raise ParameterError(f"the Lehmer mean power p must be greater than 1, got {p!r}")
    if isinstance(ptp_mode, str):
        if ptp_mode != "naive":
            raise ParameterError(f"ptp_mode must be 'naive' or a float in (0, 1], got {ptp_mode!r}")
    elif not 0.0 < ptp_mode <= 1.0:
        raise ParameterError(f"ptp_mode must be 'naive' or a float in (0, 1], got {ptp_mode!r}")
    zz, aa = _traversal(z, a, reg_dim=reg_dim, min_interp=3, equal_spacing=True)
    d1, mid = _liad(zz, aa)
    d2, _ = _liad(mid, d1)
    x = np.abs(d2)
    if max_mode == "naive":
        num = x.max(axis=-1)
    else:
        top = np.sum(x**p, axis=-1)
        bottom = np.sum(x ** (p - 1.0), axis=-1)
        num = np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)
    if isinstance(ptp_mode, str):
        spread = np.ptp(d1, axis=-1)
    else:
        spread = np.quantile(d1, 0.5 + 0.5 * ptp_mode, axis=-1) - np.quantile(
            d1, 0.5 - 0.5 * ptp_mode, axis=-1
        )
    den = spread / np.abs(zz[..., 1] - zz[..., 0])
    ratio = np.divide(num, den, out=np.full_like(num, np.inf), where=den > 0)
    value = np.where(num == 0.0, 1.0, 1.0 - ratio)
    if clamp:
        value = np.clip(value, 0.0, 1.0)
    return _reduce(value, reduce, ignore_nan=False)


def monotonicity(
    z: ArrayLike,
    a: ArrayLike,
    *,
    reg_dim: Sequence[int] | None = None,
    liad_thresh: float = LIAD_THRESHOLD,
    degenerate_value: float = np.nan,
    nanmean: bool = True,
    reduce: str = "attribute",
) -> NDArray[np.float64]:
    """Latent monotonicity along traversals (Latte ``monotonicity``).

    First-order LIAD ``D1 = diff(a) / diff(z)``; values with ``|D1| <= liad_thresh`` are set
    to 0; per item and attribute ``sum sign(D1) / #(D1 != 0)`` (1: the attribute only rises,
    -1: only falls), ``degenerate_value`` (NaN) where every difference is below the threshold.

    Parameters
    ----------
    z, a, reg_dim
        As in :func:`smoothness`; spacing may be unequal, n_interp >= 2.
    liad_thresh : float
        Noise threshold of the first-order LIAD (Latte: 1e-3).
    degenerate_value : float
        Value for an all-flat traversal.
    nanmean : bool
        Ignore NaN when reducing (a reduction over only NaN gives NaN).
    reduce : {'attribute', 'sample', 'all', 'none'}
        As in :func:`smoothness`.

    Returns
    -------
    np.ndarray
        Monotonicity, shaped by ``reduce``.
    """
    _check_reduce(reduce)
    zz, aa = _traversal(z, a, reg_dim=reg_dim, min_interp=2, equal_spacing=False)
    d1, _ = _liad(zz, aa)
    sign = np.sign(np.where(np.abs(d1) > liad_thresh, d1, 0.0))
    count = np.count_nonzero(sign, axis=-1)
    total = sign.sum(axis=-1)
    value = np.divide(
        total, count, out=np.full(total.shape, float(degenerate_value)), where=count > 0
    )
    return _reduce(value, reduce, ignore_nan=nanmean)


# --------------------------------------------------------------------------------------
# evaluate() and loading
# --------------------------------------------------------------------------------------

#: Metric id -> display name(s) used as :func:`evaluate` keys, in evaluation order.
METRICS: dict[str, tuple[str, ...]] = {
    "mig_histogram": ("MIG (histogram, dMelodies)",),
    "modularity_histogram": ("Modularity (histogram, dMelodies)",),
    "explicitness": ("Explicitness train (dMelodies)", "Explicitness test (dMelodies)"),
    "sap_svc": ("SAP (LinearSVC held-out, dMelodies)",),
    "mig_knn": ("MIG (kNN, Latte)",),
    "dmig": ("DMIG (kNN, Latte)",),
    "xmig": ("XMIG (kNN, Latte)",),
    "dlig": ("DLIG (kNN, Latte)",),
    "sap_discrete": ("SAP (LinearSVC train accuracy, Latte)",),
    "sap_continuous": ("SAP (squared correlation, Latte)",),
    "modularity_knn": ("Modularity (kNN, Latte)",),
    "interpretability_arvae": ("Interpretability (AR-VAE)",),
}

_DISCRETE_ONLY = frozenset(
    {"mig_histogram", "modularity_histogram", "explicitness", "sap_svc", "sap_discrete"}
)


def _default_metrics(discrete: bool, n_features: int, n_attr: int) -> list[str]:
    chosen = []
    for name in METRICS:
        if name in _DISCRETE_ONLY and not discrete:
            continue
        if name == "sap_continuous" and discrete:
            continue
        if name in ("modularity_histogram", "modularity_knn", "dlig") and n_attr < 2:
            continue
        if name == "xmig" and n_features <= n_attr:
            continue
        if name in ("dmig", "dlig") and n_attr > n_features:
            continue
        chosen.append(name)
    return chosen


def evaluate(
    z: ArrayLike,
    a: ArrayLike,
    *,
    discrete: bool = True,
    reg_dim: Sequence[int] | None = None,
    metrics: Sequence[str] | None = None,
    random_state: int | None = 0,
    bins: int = DEFAULT_BINS,
    train_fraction: float = BENCHMARK_TRAIN_FRACTION,
) -> dict[str, float]:
    """Compute a set of disentanglement metrics; keys are display names naming the variant.

    Parameters
    ----------
    z : array_like, shape (N, D), float
        Latent codes.
    a : array_like, shape (N, K) or (N,)
        Factors (``discrete=True``) or continuous attributes.
    discrete : bool
        Integer factors: the dMelodies benchmark variants and Latte's discrete estimators run.
        Continuous attributes: only the kNN (Latte), squared-correlation SAP and AR-VAE ones.
    reg_dim : sequence of int, optional
        Passed to the Latte variants (see the module docstring).
    metrics : sequence of str, optional
        Ids from :data:`METRICS`. None: every metric that applies to the data (the
        modularities and DLIG need K >= 2, XMIG D > K, DMIG/DLIG K <= D without reg_dim).
    random_state : int or None
        Seed of the kNN estimators and LinearSVC.
    bins, train_fraction
        dMelodies benchmark options (20 bins; first 60 % for modularity, explicitness, SAP).

    Returns
    -------
    dict[str, float]
        Insertion-ordered ``{display name: mean over factors (or dimensions)}``; Explicitness
        contributes a train and a test entry. Per-factor values come from the functions.
    """
    zz, aa = _checked(z, a, discrete=discrete)
    if metrics is None:
        names = _default_metrics(discrete, zz.shape[1], aa.shape[1])
    else:
        names = list(metrics)
        unknown = [m for m in names if m not in METRICS]
        if unknown:
            raise ParameterError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
        wrong = [m for m in names if m in _DISCRETE_ONLY] if not discrete else []
        if wrong:
            raise ParameterError(
                f"metric(s) {wrong} need discrete factors: pass discrete=True "
                "(integer class labels) or drop them"
            )
    knn_options = _KnnOptions(discrete=discrete, random_state=random_state)
    runners: dict[str, Callable[[], tuple[float, ...]]] = {
        "mig_histogram": lambda: (mig_histogram(zz, aa, bins=bins).score,),
        "modularity_histogram": lambda: (
            modularity_histogram(zz, aa, bins=bins, train_fraction=train_fraction).score,
        ),
        "explicitness": lambda: explicitness(zz, aa, train_fraction=train_fraction)[:2],
        "sap_svc": lambda: (sap_svc(zz, aa, train_fraction=train_fraction).score,),
        "mig_knn": lambda: (_mean(mig_knn(zz, aa, reg_dim=reg_dim, **knn_options)),),
        "dmig": lambda: (_mean(dmig(zz, aa, reg_dim=reg_dim, **knn_options)),),
        "xmig": lambda: (_mean(xmig(zz, aa, reg_dim=reg_dim, **knn_options)),),
        "dlig": lambda: (_mean(dlig(zz, aa, reg_dim=reg_dim, **knn_options)),),
        "sap_discrete": lambda: (
            _mean(sap_discrete(zz, aa, reg_dim=reg_dim, random_state=random_state)),
        ),
        "sap_continuous": lambda: (_mean(sap_continuous(zz, aa, reg_dim=reg_dim)),),
        "modularity_knn": lambda: (_mean(modularity_knn(zz, aa, **knn_options)),),
        "interpretability_arvae": lambda: (
            interpretability_arvae(zz, aa, random_state=random_state).score,
        ),
    }
    result: dict[str, float] = {}
    for name in names:
        for key, value in zip(METRICS[name], runners[name](), strict=True):
            result[key] = float(value)
    return result


def _mean(x: NDArray[np.float64]) -> float:
    return float(np.mean(x))


def read_latents_npz(
    path: str | Path, *, z_key: str = "z", a_key: str | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Load latent codes and factors from an ``.npz`` file.

    Parameters
    ----------
    path : str or Path
        ``.npz`` archive (``np.savez``); pickled objects are not loaded.
    z_key : str
        Array holding the codes, shape (N, D).
    a_key : str, optional
        Array holding the factors/attributes, shape (N, K) or (N,). None: the first of
        ``factors``, ``attributes``, ``a`` present.

    Returns
    -------
    z : np.ndarray, shape (N, D), float64
    a : np.ndarray, shape (N, K), float64

    Raises
    ------
    InputError
        Missing or unreadable file, missing keys (the message lists the keys present), or
        arrays that fail :func:`validate`.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"latent file '{p}' does not exist")
    try:
        loaded = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        # numpy's message for a non-archive speaks of pickles; say what the file is not
        raise InputError(f"cannot read '{p}' as an .npz archive (np.savez output with "
                         f"'z' and the factor arrays): it is not one; write the latents "
                         f"with numpy.savez") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputError(
            f"'{p}' holds a single array, not an .npz archive: save codes and factors "
            f"with np.savez(path, {z_key}=z, factors=a)"
        )
    with loaded as archive:
        keys = list(archive.files)
        if z_key not in keys:
            raise InputError(
                f"'{p}' has no latent codes under key '{z_key}'; keys present: {keys}. "
                "Pass z_key=... naming the array of codes"
            )
        if a_key is None:
            found = [k for k in _FACTOR_KEYS if k in keys]
            if not found:
                raise InputError(
                    f"'{p}' has no factors under any of {list(_FACTOR_KEYS)}; keys present: "
                    f"{keys}. Store them as 'factors', or give them in another file "
                    f"(mirkit evaluate disentanglement --reference FILE; in Python: a_key=...)"
                )
            a_key = found[0]
        elif a_key not in keys:
            raise InputError(f"'{p}' has no factors under key '{a_key}'; keys present: {keys}")
        try:
            z_raw, a_raw = archive[z_key], archive[a_key]
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read arrays from '{p}': {exc}") from exc
    try:
        zz, aa = _checked(z_raw, a_raw, discrete=False)
    except InputError as exc:
        raise InputError(f"'{p}' (keys {z_key!r}, {a_key!r}): {exc}") from exc
    return zz, aa
