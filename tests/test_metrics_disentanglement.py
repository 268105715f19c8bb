"""Tests for mirkit.metrics.disentanglement.

Oracles: an independent loop-based restatement of the dMelodies benchmark procedure
(histogram MIG, modularity, held-out SAP) compared to 1e-12; scikit-learn computations in the
benchmark's and AR-VAE's own way (explicitness, interpretability) to 1e-6; and, when the
``latte-metrics`` package is installed, Latte's functional API to 1e-6.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mirkit.errors import InputError, ParameterError
from mirkit.metrics import disentanglement as dis

N_ITEMS = 1200
LEVELS = (2, 3, 5)
PERM = (2, 0, 1)  # factor k is carried by latent dimension PERM[k]
N_DIMS = 5


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def _codes(seed: int) -> SimpleNamespace:
    """Factors and three codes: disentangled, rotated (entangled) and independent."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, n, N_ITEMS) for n in LEVELS], axis=1)
    perfect = rng.normal(size=(N_ITEMS, N_DIMS))
    perfect[:, list(PERM)] = factors + 0.01 * rng.normal(size=factors.shape)
    rotation, _ = np.linalg.qr(rng.normal(size=(N_DIMS, N_DIMS)))
    return SimpleNamespace(
        factors=factors,
        perfect=perfect,
        entangled=perfect @ rotation,
        independent=rng.normal(size=(N_ITEMS, N_DIMS)),
    )


@pytest.fixture(scope="module")
def data() -> SimpleNamespace:
    return _codes(20201026)


@pytest.fixture(scope="module")
def dependent() -> SimpleNamespace:
    """Partly entangled codes of three factors, the third depending on the first."""
    rng = np.random.default_rng(7)
    n = 800
    a = np.stack([rng.integers(0, 4, n), rng.integers(0, 3, n), rng.integers(0, 5, n)], axis=1)
    a[:, 2] = (a[:, 2] + a[:, 0]) % 5
    z = rng.normal(size=(n, 6))
    z[:, 0] += a[:, 0]
    z[:, 1] += 0.5 * a[:, 1] + 0.4 * a[:, 0]
    z[:, 2] += 0.8 * a[:, 2]
    z[:, 4] += 0.3 * a[:, 1]
    continuous = a + rng.normal(scale=0.3, size=a.shape)
    return SimpleNamespace(z=z, a=a, continuous=continuous)


# --------------------------------------------------------------------------------------
# Independent restatement of the dMelodies benchmark procedure (the oracle)
# --------------------------------------------------------------------------------------


def _oracle_bins(values: np.ndarray, bins: int) -> list[int]:
    """Label = number of equal-width left edges over [min, max] that are <= the value."""
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    left_edges = np.linspace(low, high, bins + 1)[:-1]
    return [sum(1 for edge in left_edges if v >= edge) for v in values]


def _oracle_mi(x: list[Any], y: list[Any]) -> float:
    """Plug-in mutual information (nats) from joint counts."""
    n = len(x)
    joint = Counter(zip(x, y, strict=True))
    px, py = Counter(x), Counter(y)
    return sum(
        c / n * math.log(c * n / (px[i] * py[j])) for (i, j), c in joint.items()
    )


def _oracle_mi_matrix(z: np.ndarray, factors: np.ndarray, bins: int = 20) -> np.ndarray:
    codes = [_oracle_bins(z[:, d], bins) for d in range(z.shape[1])]
    labels = [list(factors[:, k]) for k in range(factors.shape[1])]
    return np.array([[_oracle_mi(c, y) for y in labels] for c in codes])


def _oracle_mig(z: np.ndarray, factors: np.ndarray) -> tuple[float, list[float]]:
    mi = _oracle_mi_matrix(z, factors)
    per = []
    for k in range(factors.shape[1]):
        column = sorted(mi[:, k], reverse=True)
        labels = list(factors[:, k])
        per.append((column[0] - column[1]) / _oracle_mi(labels, labels))
    return sum(per) / len(per), per


def _oracle_modularity(z: np.ndarray, factors: np.ndarray) -> float:
    mi = _oracle_mi_matrix(z, factors)
    scores = []
    for row in mi:
        squares = [m * m for m in row]
        top = max(squares)
        if top == 0:
            scores.append(0.0)
        else:
            scores.append(1 - (sum(squares) - top) / (top * (len(squares) - 1)))
    return sum(scores) / len(scores)


def _oracle_sap_svc(z: np.ndarray, factors: np.ndarray) -> float:
    from sklearn.svm import LinearSVC

    n_train = int(0.6 * len(z))
    gaps = []
    for k in range(factors.shape[1]):
        accuracies = []
        for d in range(z.shape[1]):
            clf = LinearSVC(C=0.01, class_weight="balanced")
            clf.fit(z[:n_train, d][:, None], factors[:n_train, k])
            hits = clf.predict(z[n_train:, d][:, None]) == factors[n_train:, k]
            accuracies.append(float(np.mean(hits)))
        accuracies.sort()
        gaps.append(accuracies[-1] - accuracies[-2])
    return sum(gaps) / len(gaps)


def _oracle_explicitness(z: np.ndarray, factors: np.ndarray) -> tuple[float, float]:
    """The benchmark's way: z-score with train stats, one-hot labels, macro ROC-AUC."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import MultiLabelBinarizer

    n_train = int(0.6 * len(z))
    mean, std = z[:n_train].mean(axis=0), z[:n_train].std(axis=0)
    z_train, z_test = (z[:n_train] - mean) / std, (z[n_train:] - mean) / std
    train, test = [], []
    for k in range(factors.shape[1]):
        y_train, y_test = factors[:n_train, k], factors[n_train:, k]
        clf = LogisticRegression().fit(z_train, y_train)
        mlb = MultiLabelBinarizer()
        train.append(roc_auc_score(mlb.fit_transform(y_train[:, None]),
                                   clf.predict_proba(z_train)))
        test.append(roc_auc_score(mlb.fit_transform(y_test[:, None]), clf.predict_proba(z_test)))
    return float(np.mean(train)), float(np.mean(test))


# --------------------------------------------------------------------------------------
# dMelodies benchmark variants against the oracle
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["perfect", "entangled", "independent"])
def test_mig_histogram_matches_benchmark_oracle(data: SimpleNamespace, code: str) -> None:
    z = getattr(data, code)
    score, per = dis.mig_histogram(z, data.factors)
    want, want_per = _oracle_mig(z, data.factors)
    assert abs(score - want) <= 1e-12
    np.testing.assert_allclose(per, want_per, rtol=0, atol=1e-12)


def test_histogram_discretize_uses_left_edges(rng: np.random.Generator) -> None:
    z = np.column_stack([rng.normal(size=300), np.full(300, 2.5)])
    labels = dis.histogram_discretize(z, bins=20)
    assert labels[:, 0].min() == 1 and labels[:, 0].max() == 20  # max lands in the last bin
    assert labels[np.argmin(z[:, 0]), 0] == 1
    assert np.all(labels[:, 1] == labels[0, 1])  # a constant dimension is one label
    assert labels[:, 0].tolist() == _oracle_bins(z[:, 0], 20)


def test_modularity_histogram_matches_oracle_and_benchmark_split(data: SimpleNamespace) -> None:
    z, f = data.entangled, data.factors
    n_train = int(0.6 * N_ITEMS)
    whole = dis.modularity_histogram(z, f)
    assert abs(whole.score - _oracle_modularity(z, f)) <= 1e-12
    assert whole.per_item.shape == (N_DIMS,)
    first60 = dis.modularity_histogram(z, f, train_fraction=0.6)
    assert abs(first60.score - _oracle_modularity(z[:n_train], f[:n_train])) <= 1e-12
    assert first60.score == dis.modularity_histogram(z[:n_train], f[:n_train]).score


def test_modularity_histogram_zero_for_uninformative_dimension(data: SimpleNamespace) -> None:
    z = np.column_stack([data.perfect, np.full(N_ITEMS, 3.0)])
    per = dis.modularity_histogram(z, data.factors).per_item
    assert per[-1] == 0.0
    assert np.all(per[list(PERM)] > 0.95)


@pytest.mark.parametrize("code", ["perfect", "entangled"])
def test_sap_svc_matches_oracle(data: SimpleNamespace, code: str) -> None:
    z = getattr(data, code)
    result = dis.sap_svc(z, data.factors)
    assert abs(result.score - _oracle_sap_svc(z, data.factors)) <= 1e-12
    assert result.per_item.shape == (len(LEVELS),)


def test_explicitness_matches_benchmark_procedure(data: SimpleNamespace) -> None:
    result = dis.explicitness(data.entangled, data.factors)
    want_train, want_test = _oracle_explicitness(data.entangled, data.factors)
    assert abs(result.train - want_train) <= 1e-6
    assert abs(result.test - want_test) <= 1e-6
    assert result.per_factor_test.shape == (len(LEVELS),)


def test_explicitness_separates_informative_from_random_codes(data: SimpleNamespace) -> None:
    assert dis.explicitness(data.perfect, data.factors).test > 0.99
    assert abs(dis.explicitness(data.independent, data.factors).test - 0.5) < 0.06


# --------------------------------------------------------------------------------------
# Behaviour on disentangled, entangled and independent codes
# --------------------------------------------------------------------------------------


def test_disentangled_code_scores_high_and_rotation_lowers_it(data: SimpleNamespace) -> None:
    f = data.factors
    perfect = dis.mig_histogram(data.perfect, f).score
    entangled = dis.mig_histogram(data.entangled, f).score
    assert perfect > 0.95
    assert entangled < 0.5 * perfect
    assert dis.sap_svc(data.perfect, f).score > 0.3
    assert dis.sap_svc(data.entangled, f).score < 0.5 * dis.sap_svc(data.perfect, f).score
    knn_perfect = dis.mig_knn(data.perfect, f, discrete=True)
    assert np.all(knn_perfect > 0.9)
    assert np.mean(dis.mig_knn(data.entangled, f, discrete=True)) < 0.5 * np.mean(knn_perfect)
    assert np.mean(dis.sap_discrete(data.perfect, f)) > 0.3


def test_independent_code_scores_near_zero(data: SimpleNamespace) -> None:
    f, z = data.factors, data.independent
    assert dis.mig_histogram(z, f).score < 0.03
    assert dis.sap_svc(z, f).score < 0.05
    assert np.all(np.abs(dis.mig_knn(z, f, discrete=True)) < 0.05)
    assert np.all(dis.sap_discrete(z, f) < 0.05)
    assert dis.interpretability_arvae(z, f).score < 0.02


def test_reg_dim_semantics(data: SimpleNamespace) -> None:
    f, z = data.factors, data.perfect
    right = list(PERM)
    wrong = [PERM[1], PERM[2], PERM[0]]
    plain = dis.mig_knn(z, f, discrete=True)
    np.testing.assert_array_equal(dis.mig_knn(z, f, reg_dim=right, discrete=True), plain)
    # the regularising dimension is not the best one: the gap turns negative
    assert np.all(dis.mig_knn(z, f, reg_dim=wrong, discrete=True) < -0.9)
    for metric in (dis.dmig, dis.xmig, dis.dlig):
        assert np.all(metric(z, f, reg_dim=right, discrete=True) > 0.9)
    for metric in (dis.dmig, dis.dlig):
        assert np.all(metric(z, f, reg_dim=wrong, discrete=True) < -0.25)
    # XMIG only competes against dimensions that regularise nothing (here uninformative):
    # a wrongly assigned regularising dimension scores about 0, not negative
    assert np.all(np.abs(dis.xmig(z, f, reg_dim=wrong, discrete=True)) < 0.05)
    # default reg_dim is the identity, which is wrong for this code
    assert np.all(dis.dmig(z, f, discrete=True) < -0.5)
    assert np.all(dis.sap_discrete(z, f, reg_dim=wrong) < 0)


def test_interpretability_picks_carrying_dimension(data: SimpleNamespace) -> None:
    result = dis.interpretability_arvae(data.perfect, data.factors)
    assert result.dims.tolist() == list(PERM)
    assert result.score > 0.999


def test_interpretability_matches_arvae_procedure(dependent: SimpleNamespace) -> None:
    from sklearn.feature_selection import mutual_info_regression
    from sklearn.linear_model import LinearRegression

    z, a = dependent.z, dependent.continuous
    result = dis.interpretability_arvae(z, a, random_state=3)
    for i in range(a.shape[1]):
        dim = int(np.argmax(mutual_info_regression(z, a[:, i], random_state=3)))
        fit = LinearRegression().fit(z[:, dim : dim + 1], a[:, i])
        assert result.dims[i] == dim
        assert abs(result.per_attribute[i] - fit.score(z[:, dim : dim + 1], a[:, i])) <= 1e-6


def test_sap_continuous_matches_covariance_definition(dependent: SimpleNamespace) -> None:
    z = np.column_stack([dependent.z, np.full(len(dependent.z), 1.0)])
    a = dependent.continuous
    got = dis.sap_continuous(z, a)
    for i in range(a.shape[1]):
        scores = []
        for d in range(z.shape[1]):
            cov = np.cov(z[:, d], a[:, i], ddof=1)
            scores.append(cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]) if cov[0, 0] > 1e-12 else 0.0)
        scores.sort()
        assert abs(got[i] - (scores[-1] - scores[-2])) <= 1e-12


def test_knn_metrics_deterministic_for_fixed_random_state(dependent: SimpleNamespace) -> None:
    first = dis.dmig(dependent.z, dependent.a, discrete=True, random_state=5)
    again = dis.dmig(dependent.z, dependent.a, discrete=True, random_state=5)
    np.testing.assert_array_equal(first, again)


# --------------------------------------------------------------------------------------
# Latte reference
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def latte() -> Iterator[SimpleNamespace]:
    package = pytest.importorskip("latte")
    with warnings.catch_warnings():  # latte imports numpy.core (deprecated in numpy 2)
        warnings.simplefilter("ignore", DeprecationWarning)
        from latte.functional.disentanglement import modularity, mutual_info, sap
        from latte.functional.interpolatability import monotonicity, smoothness
    yield SimpleNamespace(
        package=package, mi=mutual_info, sap=sap, modularity=modularity,
        smoothness=smoothness, monotonicity=monotonicity,
    )
    package.seed(None)


LATTE_SEED = 11


@pytest.mark.parametrize("discrete", [True, False])
@pytest.mark.parametrize("reg_dim", [None, [2, 0, 1]])
@pytest.mark.parametrize("name", ["mig", "dmig", "xmig", "dlig"])
def test_mutual_info_gaps_match_latte(
    latte: SimpleNamespace, dependent: SimpleNamespace, name: str,
    reg_dim: list[int] | None, discrete: bool,
) -> None:
    a = dependent.a if discrete else dependent.continuous
    ours = {"mig": dis.mig_knn, "dmig": dis.dmig, "xmig": dis.xmig, "dlig": dis.dlig}[name]
    latte.package.seed(LATTE_SEED)
    want = getattr(latte.mi, name)(dependent.z, a, reg_dim=reg_dim, discrete=discrete)
    got = ours(dependent.z, a, reg_dim=reg_dim, discrete=discrete, random_state=LATTE_SEED)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_dmig_uses_conditional_entropy_branch(dependent: SimpleNamespace) -> None:
    """The fixture makes dimension 1 the runner-up for factor 0 and it regularises factor 1."""
    z, a = dependent.z, dependent.a
    plain = dis.mig_knn(z, a, reg_dim=[0, 1, 2], discrete=True, random_state=LATTE_SEED)
    aware = dis.dmig(z, a, discrete=True, random_state=LATTE_SEED)
    assert not np.allclose(plain, aware)


@pytest.mark.parametrize("discrete", [True, False])
def test_modularity_and_sap_match_latte(
    latte: SimpleNamespace, dependent: SimpleNamespace, discrete: bool
) -> None:
    z = dependent.z
    a = dependent.a if discrete else dependent.continuous
    latte.package.seed(LATTE_SEED)
    np.testing.assert_allclose(
        dis.modularity_knn(z, a, discrete=discrete, random_state=LATTE_SEED),
        latte.modularity.modularity(z, a, discrete=discrete), rtol=0, atol=1e-6,
    )
    for reg_dim in (None, [2, 0, 1]):
        if discrete:
            got = dis.sap_discrete(z, a, reg_dim=reg_dim, random_state=LATTE_SEED)
        else:
            got = dis.sap_continuous(z, a, reg_dim=reg_dim)
        want = latte.sap.sap(z, a, reg_dim=reg_dim, discrete=discrete)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def _traversals(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, n_interp = 40, 11
    start = rng.normal(size=(n, 4, 1))
    z = start + np.linspace(0.0, 3.0, n_interp)
    freq = rng.uniform(0.3, 2.0, size=(n, 3, 1))
    a = np.sin(freq * z[:, :3]) + 0.01 * rng.normal(size=(n, 3, n_interp))
    return z, a


@pytest.mark.parametrize("reduce", ["attribute", "sample", "all", "none"])
def test_interpolatability_matches_latte(
    latte: SimpleNamespace, rng: np.random.Generator, reduce: str
) -> None:
    z, a = _traversals(rng)
    np.testing.assert_allclose(
        dis.smoothness(z, a, reduce=reduce),
        latte.smoothness.smoothness(z, a, reduce_mode=reduce), rtol=0, atol=1e-6,
    )
    np.testing.assert_allclose(
        dis.smoothness(z, a, reg_dim=[3, 0, 1], max_mode="naive", ptp_mode=0.8, reduce=reduce),
        latte.smoothness.smoothness(
            z, a, reg_dim=[3, 0, 1], max_mode="naive", ptp_mode=0.8, reduce_mode=reduce
        ),
        rtol=0, atol=1e-6,
    )
    np.testing.assert_allclose(
        dis.monotonicity(z, a, reduce=reduce),
        latte.monotonicity.monotonicity(z, a, reduce_mode=reduce), rtol=0, atol=1e-6,
    )


# --------------------------------------------------------------------------------------
# Interpolatability behaviour
# --------------------------------------------------------------------------------------


def test_linear_and_monotone_traversals() -> None:
    z = np.broadcast_to(np.linspace(-1.0, 1.0, 9), (5, 2, 9)).copy()
    a = np.stack([3.0 * z[:, 0], -(z[:, 1] ** 3)], axis=1)
    np.testing.assert_allclose(dis.smoothness(z, a[:, :1], reduce="none"), 1.0)
    np.testing.assert_array_equal(dis.monotonicity(z, a), [1.0, -1.0])
    rough = dis.smoothness(z, a + np.array([0, 0.3])[None, :, None] * (-1) ** np.arange(9))
    assert rough[1] < dis.smoothness(z, a)[1]


def test_monotonicity_flat_traversal_is_nan_and_ignored() -> None:
    z = np.broadcast_to(np.linspace(0.0, 1.0, 5), (3, 5)).copy()
    jitter = 1e-5 * (-1.0) ** np.arange(5)  # |LIAD| = 8e-5 per step: below liad_thresh 1e-3
    a = np.vstack([jitter, np.arange(5.0) + jitter, -np.arange(5.0)])
    per_item = dis.monotonicity(z, a, reduce="none")[:, 0]
    assert np.isnan(per_item[0]) and per_item[1] == 1.0 and per_item[2] == -1.0
    assert dis.monotonicity(z, a, reduce="all") == 0.0
    assert np.isnan(dis.monotonicity(z[:1], a[:1], reduce="all"))


def test_traversal_errors() -> None:
    z = np.broadcast_to(np.linspace(0.0, 1.0, 5), (3, 5)).copy()
    a = np.sin(z)
    with pytest.raises(InputError, match="equally spaced"):
        dis.smoothness(z**2, a)
    with pytest.raises(InputError, match="does not change"):
        dis.monotonicity(np.ones_like(z), a)
    with pytest.raises(InputError, match="at least 3 points"):
        dis.smoothness(z[:, :2], a[:, :2])
    with pytest.raises(InputError, match="disagree"):
        dis.monotonicity(z, a[:2])
    with pytest.raises(ParameterError, match="greater than 1"):
        dis.smoothness(z, a, p=1.0)
    with pytest.raises(ParameterError, match="reduce must be one of"):
        dis.monotonicity(z, a, reduce="mean")


# --------------------------------------------------------------------------------------
# evaluate()
# --------------------------------------------------------------------------------------


def test_evaluate_discrete_keys_and_values(data: SimpleNamespace) -> None:
    z, f = data.entangled, data.factors
    result = dis.evaluate(z, f, random_state=2)
    assert list(result) == [name for names in dis.METRICS.values() for name in names
                            if name != "SAP (squared correlation, Latte)"]
    assert result["MIG (histogram, dMelodies)"] == dis.mig_histogram(z, f).score
    assert result["SAP (LinearSVC held-out, dMelodies)"] == dis.sap_svc(z, f).score
    assert result["Modularity (histogram, dMelodies)"] == (
        dis.modularity_histogram(z, f, train_fraction=0.6).score
    )
    assert result["DMIG (kNN, Latte)"] == pytest.approx(
        float(np.mean(dis.dmig(z, f, discrete=True, random_state=2))), abs=1e-15
    )


def test_evaluate_continuous_and_selection(dependent: SimpleNamespace) -> None:
    result = dis.evaluate(dependent.z, dependent.continuous, discrete=False)
    assert list(result) == [
        "MIG (kNN, Latte)", "DMIG (kNN, Latte)", "XMIG (kNN, Latte)", "DLIG (kNN, Latte)",
        "SAP (squared correlation, Latte)", "Modularity (kNN, Latte)",
        "Interpretability (AR-VAE)",
    ]
    chosen = dis.evaluate(dependent.z, dependent.a, metrics=["sap_svc", "mig_histogram"])
    assert list(chosen) == ["SAP (LinearSVC held-out, dMelodies)", "MIG (histogram, dMelodies)"]
    with pytest.raises(ParameterError, match="unknown metric"):
        dis.evaluate(dependent.z, dependent.a, metrics=["beta_vae"])
    with pytest.raises(ParameterError, match="need discrete factors"):
        dis.evaluate(dependent.z, dependent.continuous, discrete=False, metrics=["sap_svc"])


def test_evaluate_single_factor_leaves_out_multi_factor_metrics(data: SimpleNamespace) -> None:
    result = dis.evaluate(data.perfect, data.factors[:, 0], metrics=None)
    assert "Modularity (kNN, Latte)" not in result and "DLIG (kNN, Latte)" not in result
    assert result["MIG (histogram, dMelodies)"] > 0.95


# --------------------------------------------------------------------------------------
# Validation and loading
# --------------------------------------------------------------------------------------


def test_validation_errors(rng: np.random.Generator) -> None:
    z = rng.normal(size=(50, 4))
    f = rng.integers(0, 3, size=(50, 2))
    with pytest.raises(InputError, match="z has 50 rows but a has 49"):
        dis.validate(z, f[:49])
    with pytest.raises(InputError, match=r"shape \(N, D\)"):
        dis.validate(z[:, 0], f)
    bad = z.copy()
    bad[7, 2] = np.nan
    with pytest.raises(InputError, match="NaN/inf value.*row 7, column 2"):
        dis.mig_histogram(bad, f)
    with pytest.raises(InputError, match="at least 2 samples"):
        dis.validate(z[:1], f[:1])
    constant = f.copy()
    constant[:, 1] = 4
    with pytest.raises(InputError, match="factor column 1 is constant.*entropy is 0"):
        dis.mig_knn(z, constant)
    with pytest.raises(InputError, match="pass discrete=False"):
        dis.mig_histogram(z, f + 0.5)
    with pytest.raises(InputError, match="needs at least 2"):
        dis.mig_histogram(z[:, :1], f)
    with pytest.raises(InputError, match="needs at least 2"):
        dis.modularity_knn(z, f[:, 0])
    with pytest.raises(InputError, match="needs D > K"):
        dis.xmig(z[:, :2], f)
    with pytest.raises(ParameterError, match="has 1 entries but there are 2"):
        dis.dmig(z, f, reg_dim=[0])
    with pytest.raises(ParameterError, match="repeats a dimension"):
        dis.dlig(z, f, reg_dim=[1, 1])
    with pytest.raises(ParameterError, match="outside"):
        dis.mig_knn(z, f, reg_dim=[0, 9])
    with pytest.raises(ParameterError, match="train_fraction"):
        dis.sap_svc(z, f, train_fraction=1.0)
    single = f.copy()
    single[:30, 0] = 1
    with pytest.raises(InputError, match="single value.*shuffle"):
        dis.sap_svc(z, single)


def test_read_latents_npz(tmp_path: Path, rng: np.random.Generator) -> None:
    z = rng.normal(size=(20, 3))
    f = rng.integers(0, 2, size=(20, 2))
    path = tmp_path / "codes.npz"
    np.savez(path, z=z, attributes=f)
    got_z, got_a = dis.read_latents_npz(path)
    np.testing.assert_array_equal(got_z, z)
    np.testing.assert_array_equal(got_a, f)
    other = tmp_path / "other.npz"
    np.savez(other, mu=z, labels=f)
    with pytest.raises(InputError, match=r"no latent codes under key 'z'.*\['mu', 'labels'\]"):
        dis.read_latents_npz(other)
    with pytest.raises(InputError, match=r"no factors under any of.*\['mu', 'labels'\]"):
        dis.read_latents_npz(other, z_key="mu")
    got_z, got_a = dis.read_latents_npz(other, z_key="mu", a_key="labels")
    np.testing.assert_array_equal(got_a, f)
    with pytest.raises(InputError, match="does not exist"):
        dis.read_latents_npz(tmp_path / "missing.npz")
    np.save(tmp_path / "single.npy", z)
    with pytest.raises(InputError, match="single array"):
        dis.read_latents_npz(tmp_path / "single.npy")
    np.savez(tmp_path / "short.npz", z=z, factors=f[:10])
    with pytest.raises(InputError, match="short.npz.*z has 20 rows but a has 10"):
        dis.read_latents_npz(tmp_path / "short.npz")
