"""The plug-in MI of discrete variables, against MI computed by hand from exact pmfs."""

import math

import numpy as np
import pytest

import mibench
from mibench.estimators.discrete import (
    encode_integer_rows,
    encode_rows,
    plugin_entropy,
    plugin_mutual_information,
)


def analytic_mutual_information(table: np.ndarray) -> float:
    """I(X; Y) in nats of the joint pmf proportional to ``table``, computed cell by cell."""
    pmf = table / table.sum()
    px, py = pmf.sum(axis=1), pmf.sum(axis=0)
    return sum(
        pmf[a, b] * math.log(pmf[a, b] / (px[a] * py[b]))
        for a in range(pmf.shape[0])
        for b in range(pmf.shape[1])
        if pmf[a, b] > 0
    )


def exact_samples(table: np.ndarray, seed: int = 0):
    """Samples whose empirical pmf is exactly ``table`` (integer counts), in shuffled order."""
    a, b = np.indices(table.shape)
    x = np.repeat(a.ravel(), table.ravel())
    y = np.repeat(b.ravel(), table.ravel())
    order = np.random.default_rng(seed).permutation(x.size)
    return x[order], y[order]


TABLES = [
    np.array([[10, 0], [0, 10]]),
    np.array([[30, 10], [5, 55]]),
    np.array([[7, 1, 0, 3], [2, 9, 4, 0], [0, 3, 12, 5]]),
    np.array([[4, 2, 6], [6, 3, 9]]),  # a product pmf: X and Y independent
]


@pytest.mark.parametrize("table", TABLES, ids=range(len(TABLES)))
def test_equals_analytic_mi_of_exact_pmf(table):
    x, y = exact_samples(table)
    estimate = mibench.estimate(x, y, "discrete")
    assert estimate == pytest.approx(analytic_mutual_information(table), abs=1e-12)


def test_miller_madow_adds_the_difference_of_the_three_corrections():
    table = TABLES[2]
    x, y = exact_samples(table)
    n = table.sum()
    m_x, m_y, m_xy = (table.sum(1) > 0).sum(), (table.sum(0) > 0).sum(), (table > 0).sum()
    expected = analytic_mutual_information(table) + (m_x + m_y - m_xy - 1) / (2 * n)
    result = mibench.get_estimator("discrete", miller_madow=True).estimate_with_extras(x, y)
    assert result.value == pytest.approx(expected, abs=1e-12)
    assert result.extras == {"symbols_x": 3, "symbols_y": 4, "symbols_joint": m_xy}


def test_deterministic_layer_of_discrete_input_gives_entropy_of_layer():
    # 16 equiprobable inputs in 4 dimensions; a layer that merges them into 5 levels.
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(16, 4))
    x = np.repeat(inputs, 25, axis=0)
    layer = np.round(np.tanh(x @ rng.normal(size=(4, 3))), 0)
    symbols, m = encode_rows(layer)
    pmf = np.bincount(symbols) / symbols.size
    entropy = -np.sum(pmf * np.log(pmf))
    assert 1 < m < 16
    assert mibench.estimate(x, layer, "discrete") == pytest.approx(entropy, abs=1e-12)
    # An injective layer keeps everything: I(X; L) = H(X) = log 16.
    assert mibench.estimate(x, np.tanh(x), "discrete") == pytest.approx(math.log(16), abs=1e-12)


def test_invariant_under_relabelling_of_symbols():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 6, size=500)
    y = (x + rng.integers(0, 3, size=500)) % 7
    relabel_x = rng.permutation(6) * 3.5 - 100
    relabel_y = rng.normal(size=7)
    assert mibench.estimate(relabel_x[x], relabel_y[y], "discrete") == pytest.approx(
        mibench.estimate(x, y, "discrete"), abs=1e-12
    )


def test_whole_rows_are_symbols_in_high_dimension():
    rng = np.random.default_rng(3)
    prototypes = rng.normal(size=(5, 50))
    labels = rng.integers(0, 5, size=2000)
    y = rng.integers(0, 2, size=2000) + labels  # depends on the label
    wide = prototypes[labels]
    assert mibench.estimate(wide, y, "discrete") == pytest.approx(
        mibench.estimate(labels, y, "discrete"), abs=1e-12
    )


def test_encode_integer_rows_survives_overflowing_radices():
    # 40 columns of 1000 levels: 1000 ** 40 overflows int64 many times over.
    rng = np.random.default_rng(4)
    base = rng.integers(0, 1000, size=(50, 40))
    rows = base[rng.integers(0, 50, size=3000)]
    symbols, m = encode_integer_rows(rows)
    assert m == len({tuple(r) for r in base})
    # Equal rows, equal symbols; different rows, different symbols.
    first = {}
    for row, symbol in zip(map(tuple, rows), symbols, strict=True):
        assert first.setdefault(row, symbol) == symbol
    assert len(set(first.values())) == len(first)


def test_negative_zero_is_zero():
    assert encode_rows(np.array([[0.0, 1.0], [-0.0, 1.0]]))[1] == 1


def test_plugin_entropy_of_uniform_symbols_is_log_m():
    assert plugin_entropy(np.arange(1000) % 8) == pytest.approx(math.log(8), abs=1e-12)
    assert plugin_entropy(np.arange(1000) % 8, miller_madow=True) == pytest.approx(
        math.log(8) + 7 / 2000, abs=1e-12
    )


def test_plugin_mi_is_bounded_by_log_n_on_unique_rows():
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    y = rng.normal(size=300)
    assert plugin_mutual_information(encode_rows(x)[0], encode_rows(y)[0]) == pytest.approx(
        math.log(300), abs=1e-12
    )


def test_bad_parameter_names_it():
    with pytest.raises(ValueError, match="miller_madow"):
        mibench.get_estimator("discrete", miller_madow="yes")


# --- the entropy corrections as an option (issue 23) ----------------------------------------


def test_correction_is_the_mi_of_the_three_corrected_entropies():
    from mibench.estimators.discrete import entropy_from_counts

    rng = np.random.default_rng(4)
    x = rng.integers(0, 12, size=150)
    y = (x + rng.integers(0, 6, size=150)) % 12
    joint = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)[1]
    for correction in ("grassberger", "chao-shen"):
        expected = (
            entropy_from_counts(np.bincount(x), correction)
            + entropy_from_counts(np.bincount(y), correction)
            - entropy_from_counts(joint, correction)
        )
        got = mibench.get_estimator("discrete", correction=correction).estimate(x, y)
        assert got == pytest.approx(expected, abs=1e-12)
    # "miller-madow" and the older flag give the same number.
    assert mibench.estimate(x, y, "discrete", correction="miller-madow") == mibench.estimate(
        x, y, "discrete", miller_madow=True
    )


def test_corrections_pull_the_mi_of_independent_labels_towards_zero():
    # 10 symbols each, 200 samples, independent: the plug-in MI is biased upward (measured
    # mean of 5 draws: 0.23 nats); Grassberger (-0.02) and Chao-Shen (-0.12) at least halve it.
    rng = np.random.default_rng(0)
    plugin, corrected = [], {"grassberger": [], "chao-shen": []}
    for _ in range(5):
        x, y = rng.integers(0, 10, size=200), rng.integers(0, 10, size=200)
        plugin.append(mibench.estimate(x, y, "discrete"))
        for correction, values in corrected.items():
            values.append(mibench.estimate(x, y, "discrete", correction=correction))
    assert np.mean(plugin) > 0.15
    for correction, values in corrected.items():
        assert abs(np.mean(values)) < 0.6 * np.mean(plugin), correction


def test_correction_parameters_are_validated():
    with pytest.raises(ValueError, match="correction must be"):
        mibench.get_estimator("discrete", correction="nsb")  # no alphabet size for labels
    with pytest.raises(ValueError, match="two\\s+different corrections"):
        mibench.get_estimator("discrete", miller_madow=True, correction="chao-shen")
    assert mibench.get_estimator("discrete", miller_madow=True).correction == "miller-madow"
