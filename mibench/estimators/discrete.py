"""Plug-in (maximum-likelihood) MI of discrete variables, and the code-counting it rests on.

Each row of x, and each row of y, is one symbol. The plug-in estimate is the MI of the empirical
joint distribution of the symbols,

    I = sum_{a,b} p(a, b) log( p(a, b) / (p(a) p(b)) ),   p = counts / n,

optionally with the Miller-Madow correction (m - 1) / (2 n) added to each of the three entropies
(m the number of occupied symbols). The small pure functions here (rows to integer codes,
plug-in entropy and MI of codes) are shared with the binning estimators. None loops over samples
in Python: codes that span few values are counted with ``np.bincount`` (linear in n), others are
sorted by ``np.unique`` (n log n).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

from mibench.core.contracts import Estimate, Estimator
from mibench.core.validation import InputError, check_choice
from mibench.estimators.registry import register

__all__ = [
    "ENTROPY_CORRECTIONS",
    "Discrete",
    "corrected_mutual_information",
    "encode_integer_rows",
    "encode_rows",
    "entropy_from_counts",
    "grassberger_g",
    "plugin_entropy",
    "plugin_mutual_information",
]

# Mixed-radix codes stay below this, so products of radices never overflow int64.
_MAX_CODE = 2**62
# Floats below this are integers exactly representable in both float64 and int64.
_MAX_EXACT_INTEGER = 2.0**53
# Integer codes spanning fewer than this many values per sample are counted with bincount.
_BINCOUNT_FACTOR = 4


def _dense_codes(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel codes as 0 .. m-1 in sorted order; return them and m, the number of values."""
    codes = np.asarray(codes).reshape(-1)
    if np.issubdtype(codes.dtype, np.integer) and codes.size:
        low, high = int(codes.min()), int(codes.max())
        if high - low < _BINCOUNT_FACTOR * codes.size:
            # Few possible values: count them in O(n + span) instead of sorting.
            shifted = codes.astype(np.int64) - low
            present = np.bincount(shifted) > 0
            relabel = np.cumsum(present) - 1
            return relabel[shifted], int(relabel[-1]) + 1
    uniques, inverse = np.unique(codes, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64, copy=False), int(uniques.size)


def _occupied_cells(cells: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``cells`` (ints in 0 .. n_cells-1) and how often each occurs."""
    if n_cells <= _BINCOUNT_FACTOR * cells.size:
        counts = np.bincount(cells, minlength=n_cells)
        occupied = np.flatnonzero(counts)
        return occupied, counts[occupied]
    return np.unique(cells, return_counts=True)


def encode_integer_rows(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """One dense symbol per row of an integer matrix: equal rows get equal symbols.

    The columns are combined as the digits of a mixed-radix number, so a whole row is hashed
    with integer arithmetic and one integer count (or sort) instead of a sort of row bytes;
    whenever the next digit would overflow int64, the running number is first relabelled
    densely (at most n distinct values). The cost is linear in the number of dimensions,
    never bins ** d.

    Parameters
    ----------
    codes : ndarray of int, shape (n, d)

    Returns
    -------
    symbols : ndarray of int64, shape (n,)
        Values in 0 .. m-1, in the lexicographic order of the rows.
    m : int
        The number of distinct rows.
    """
    codes = np.asarray(codes)
    if codes.ndim == 1:
        codes = codes[:, None]
    n = codes.shape[0]
    combined = np.zeros(n, dtype=np.int64)
    combined_size = 1
    for column in codes.T:
        column = column.astype(np.int64) - column.min()
        radix = int(column.max()) + 1
        if radix > n:  # a sparse span, e.g. floor(v / width) for a tiny width
            column, radix = _dense_codes(column)
        if combined_size * radix >= _MAX_CODE:
            combined, combined_size = _dense_codes(combined)
        # Relabelling bounds both factors by n, so the running code stays below 2**62.
        combined = combined * radix + column
        combined_size *= radix
    return _dense_codes(combined)


def _column_codes(column: np.ndarray) -> tuple[np.ndarray, int]:
    if np.issubdtype(column.dtype, np.floating):
        magnitude = np.abs(column).max()
        if magnitude < _MAX_EXACT_INTEGER and np.array_equal(column, np.floor(column)):
            # Labels arrive as float64 after validation; as ints they are counted, not sorted.
            column = column.astype(np.int64)
    return _dense_codes(column)


def encode_rows(values: np.ndarray) -> tuple[np.ndarray, int]:
    """One dense symbol per row of a numeric matrix, rows taken exactly as they are.

    Each column is first relabelled by its sorted distinct values (so -0.0 and 0.0 are one
    value), then the rows are combined by :func:`encode_integer_rows`.

    Returns
    -------
    symbols : ndarray of int64, shape (n,)
    m : int
        The number of distinct rows.
    """
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[1] == 1:
        return _column_codes(values[:, 0])
    return encode_integer_rows(np.column_stack([_column_codes(c)[0] for c in values.T]))


def plugin_entropy(symbols: np.ndarray, miller_madow: bool = False) -> float:
    """Plug-in entropy in nats of a sample of symbols (integer or float labels, shape (n,)).

    H = -sum_a p(a) log p(a) with p the empirical frequencies; with ``miller_madow`` it adds
    (m - 1) / (2 n), m the number of occupied symbols. The plug-in value is at most log m <= log n.
    """
    symbols, m = _dense_codes(symbols)
    n = symbols.size
    counts = np.bincount(symbols, minlength=m)
    entropy = math.log(n) - float(np.dot(counts, np.log(counts))) / n
    if miller_madow:
        entropy += (counts.size - 1) / (2 * n)
    return entropy


def plugin_mutual_information(
    symbols_x: np.ndarray,
    symbols_y: np.ndarray,
    miller_madow: bool = False,
    return_counts: bool = False,
):
    """Plug-in MI in nats of paired symbols.

    I = sum over occupied cells of (c / n) log(n c / (c_x c_y)), with c, c_x, c_y the counts of
    the cell, of its x symbol and of its y symbol. It is >= 0 and at most
    min(log m_x, log m_y) <= log n. With ``miller_madow`` it adds (m_x + m_y - m_xy - 1) / (2 n),
    the difference of the three entropies' corrections, which can make it negative.

    Parameters
    ----------
    symbols_x, symbols_y : ndarray of shape (n,)
        Labels (integers, or floats taken as they are), such as :func:`encode_rows` returns.
    miller_madow : bool
    return_counts : bool
        Also return the numbers of occupied symbols ``{"symbols_x", "symbols_y",
        "symbols_joint"}``.
    """
    symbols_x, symbols_y = np.asarray(symbols_x).reshape(-1), np.asarray(symbols_y).reshape(-1)
    if symbols_x.size != symbols_y.size or symbols_x.size == 0:
        raise InputError(
            f"symbols_x and symbols_y must be paired and non-empty, got {symbols_x.size} and "
            f"{symbols_y.size} symbols"
        )
    symbols_x, m_x = _dense_codes(symbols_x)
    symbols_y, m_y = _dense_codes(symbols_y)
    n = symbols_x.size
    # Dense codes are < n, so m_x * m_y <= n**2 fits in int64 for any n that fits in memory.
    cells, cell_counts = _occupied_cells(symbols_x * m_y + symbols_y, m_x * m_y)
    counts_x = np.bincount(symbols_x, minlength=m_x)[cells // m_y]
    counts_y = np.bincount(symbols_y, minlength=m_y)[cells % m_y]
    ratio = n * cell_counts / (counts_x.astype(np.float64) * counts_y)
    value = float(np.dot(cell_counts, np.log(ratio))) / n
    value = max(value, 0.0)  # the plug-in MI is a KL divergence; clip round-off only
    if miller_madow:
        value += (m_x + m_y - cells.size - 1) / (2 * n)
    if return_counts:
        return value, {"symbols_x": m_x, "symbols_y": m_y, "symbols_joint": int(cells.size)}
    return value


@register("discrete")
class Discrete(Estimator):
    """Plug-in MI of discrete variables: every distinct row of x, and of y, is one symbol.

    Assumes X and Y take finitely many values, each seen several times (class labels, a finite
    input set, binned activations). It has no resolution parameter: the resolution is whatever
    the values already are. On a deterministic layer L = f(X) with discrete input, the estimate
    is exactly the plug-in entropy of the layer's distinct values, as the true I(X; L) = H(L)
    is: log n when the layer keeps every input apart. The plug-in estimate is biased
    downward for the entropies and upward for the MI when symbols are seen few times; it can
    never exceed min(log m_x, log m_y) <= log n, with m_x, m_y the numbers of distinct rows, so
    on continuous data (every row distinct) it reads H(Y) or log n, not the MI.

    Parameters
    ----------
    miller_madow : bool, default False
        Add the Miller-Madow correction (m - 1) / (2 n) to each entropy, which removes the
        first-order bias when every symbol is seen many times; the corrected MI can be negative.
        The same as ``correction="miller-madow"``.
    correction : {"none", "miller-madow", "grassberger", "chao-shen"}, default "none"
        Estimate each of H(X), H(Y), H(X, Y) with this bias correction and return
        H(X) + H(Y) - H(X, Y) (:func:`entropy_from_counts`): Grassberger's (2003) and Chao &
        Shen's (2003) corrections also work when many symbols are seen once. The MI of the
        corrected entropies can be negative. NSB is not offered here: it needs the number of
        possible symbols, which labels do not say (``binning`` offers it, where the bins do).
    """

    def __init__(self, *, miller_madow: bool = False, correction: str = "none"):
        self.miller_madow = check_choice(miller_madow, "miller_madow", (True, False))
        self.correction = check_correction(
            correction, self.miller_madow, ENTROPY_CORRECTIONS[:-1], "discrete"
        )

    def min_samples(self) -> int:
        return 1

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        symbols_x = encode_rows(x)[0]
        symbols_y = encode_rows(y)[0]
        if self.correction not in ("none", "miller-madow"):
            value, counts = corrected_mutual_information(symbols_x, symbols_y, self.correction)
            return Estimate(value, counts)
        value, counts = plugin_mutual_information(
            symbols_x, symbols_y, self.correction == "miller-madow", return_counts=True
        )
        return Estimate(value, counts)


# --- Bias-corrected entropies from counts, and the MI built from them. ---

#: The entropy estimators of :func:`entropy_from_counts`, by the names the ``correction``
#: parameters of ``discrete`` and ``binning`` take.
ENTROPY_CORRECTIONS = ("none", "miller-madow", "grassberger", "chao-shen", "nsb")


def grassberger_g(counts: np.ndarray) -> np.ndarray:
    """Grassberger's G(n) = psi(n) + (-1)^n / 2 (psi((n + 1) / 2) - psi(n / 2)), n >= 1.

    Grassberger, "Entropy estimates from insufficient samplings", arXiv:physics/0307138
    (2003), eq. 30; it satisfies G(1) = -gamma - log 2, G(2) = 2 - gamma - log 2,
    G(2m + 1) = G(2m) and G(2m + 2) = G(2m) + 2 / (2m + 1) (his eq. 35).
    """
    counts = np.asarray(counts, dtype=np.float64)
    sign = np.where(np.asarray(counts) % 2 == 0, 1.0, -1.0)
    return special.digamma(counts) + 0.5 * sign * (
        special.digamma((counts + 1) / 2) - special.digamma(counts / 2)
    )


def _nsb_entropy(counts: np.ndarray, alphabet_size: float) -> float:
    """The NSB posterior mean of the entropy (Nemenman, Shafee & Bialek, NIPS 2002).

    A mixture of symmetric Dirichlet(beta) priors on the K = ``alphabet_size`` symbol
    probabilities, weighted so that the prior on the entropy is flat: d xi / d beta with
    xi(beta) = psi(K beta + 1) - psi(beta + 1), the prior mean entropy. With N samples and
    counts n_i (K - m of them zero),

        H_NSB = int d beta xi'(beta) p(n | beta) E[H | n, beta] / int d beta xi'(beta) p(n | beta),
        p(n | beta) = Gamma(K beta) / Gamma(N + K beta) prod_i Gamma(n_i + beta) / Gamma(beta),
        E[H | n, beta] = psi(N + K beta + 1) - sum_i (n_i + beta) / (N + K beta) psi(n_i + beta + 1),

    the sums running over all K symbols (Wolpert & Wolf 1995 for the Dirichlet posterior
    mean). The integral is a trapezoid sum over log(K beta) on a fixed grid.
    """
    values, multiplicity = np.unique(counts, return_counts=True)
    values = values.astype(np.float64)
    n = float(np.dot(values, multiplicity))
    m = float(multiplicity.sum())
    k = float(alphabet_size)
    log_kappa = np.linspace(math.log(1e-4), math.log(1e4 * max(n, k)), 4000)
    kappa = np.exp(log_kappa)
    beta = kappa / k
    b = beta[:, None]
    # log Gamma(a) - log Gamma(a + c) as betaln(a, c) - log Gamma(c): the difference of two
    # gammaln loses every digit once a is large (K beta up to 1e4 max(N, K)); betaln does not.
    log_evidence = (
        special.betaln(kappa, n)
        - special.gammaln(n)
        + ((special.gammaln(values) - special.betaln(b, values)) * multiplicity).sum(axis=1)
    )
    # d xi / d log(kappa) = beta d xi / d beta = kappa psi'(kappa + 1) - beta psi'(beta + 1).
    weight = kappa * special.polygamma(1, kappa + 1) - beta * special.polygamma(1, beta + 1)
    posterior_mean = special.digamma(n + kappa + 1) - (
        ((values + b) * special.digamma(values + b + 1) * multiplicity).sum(axis=1)
        + (kappa - m * beta) * special.digamma(beta + 1)
    ) / (n + kappa)
    log_mass = log_evidence + np.log(np.maximum(weight, 1e-300))
    mass = np.exp(log_mass - log_mass.max())
    return float(integrate.trapezoid(mass * posterior_mean, log_kappa) / integrate.trapezoid(mass, log_kappa))


def entropy_from_counts(
    counts, correction: str = "none", alphabet_size: float | None = None
) -> float:
    """An estimate of the entropy in nats from the counts of the occupied symbols.

    With N = sum of the counts n_i, m the number of symbols seen and p_i = n_i / N:

    - ``"none"``: the plug-in H = -sum p_i log p_i (biased downward);
    - ``"miller-madow"``: plug-in + (m - 1) / (2 N) (Miller 1955);
    - ``"grassberger"``: log N - 1/N sum n_i G(n_i), G of :func:`grassberger_g`
      (Grassberger 2003, eq. 30);
    - ``"chao-shen"``: -sum C p_i log(C p_i) / (1 - (1 - C p_i)^N), the Horvitz-Thompson
      estimator with Good's coverage C = 1 - f_1 / N, f_1 the number of singletons (f_1 = N
      is taken as N - 1, so that C > 0) (Chao & Shen 2003);
    - ``"nsb"``: the Nemenman-Shafee-Bialek Bayesian estimate (:func:`_nsb_entropy`); it
      needs ``alphabet_size``, the number K >= m of possible symbols, and at least one
      repeated symbol (it is only reliable with many coincidences, N - m >> 1).

    Parameters
    ----------
    counts : array-like of int, shape (m,)
        Counts of the occupied symbols (zeros are ignored).
    correction : str
        One of :data:`ENTROPY_CORRECTIONS`.
    alphabet_size : float, optional
        K, for ``"nsb"`` only.
    """
    check_choice(correction, "correction", ENTROPY_CORRECTIONS)
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    counts = counts[counts > 0]
    if counts.size == 0:
        raise InputError("entropy_from_counts needs at least one count")
    n = int(counts.sum())
    p = counts / n
    if correction == "none":
        return float(-np.dot(p, np.log(p)))
    if correction == "miller-madow":
        return float(-np.dot(p, np.log(p))) + (counts.size - 1) / (2 * n)
    if correction == "grassberger":
        return float(math.log(n) - np.dot(counts, grassberger_g(counts)) / n)
    if correction == "chao-shen":
        singletons = int(np.sum(counts == 1))
        if singletons == n:
            singletons = n - 1
        covered = (1.0 - singletons / n) * p
        inclusion = -np.expm1(n * np.log1p(-covered))  # 1 - (1 - C p)^N
        return float(-np.sum(covered * np.log(covered) / inclusion))
    if alphabet_size is None or not alphabet_size >= counts.size:
        raise InputError(
            f"the NSB correction needs the number of possible symbols, at least the {counts.size} "
            f"seen; got alphabet_size={alphabet_size!r}"
        )
    if counts.size == n and alphabet_size > n:
        # Without a single coincidence the evidence keeps growing with K beta: the NSB
        # posterior has no peak and the estimate runs off towards log K.
        raise InputError(
            f"the NSB correction needs repeated symbols, but each of the {n} samples is a "
            "different symbol (continuous values?); use 'grassberger' or 'chao-shen'"
        )
    return _nsb_entropy(counts, alphabet_size)


def corrected_mutual_information(
    symbols_x: np.ndarray,
    symbols_y: np.ndarray,
    correction: str,
    alphabet_sizes: tuple[float | None, float | None] = (None, None),
) -> tuple[float, dict]:
    """I = H(X) + H(Y) - H(X, Y) in nats, each entropy by :func:`entropy_from_counts` with
    ``correction``; ``alphabet_sizes`` (K_x, K_y) for NSB, the joint alphabet K_x K_y.

    Unlike the plug-in MI it is not clipped at 0: a corrected MI can be negative, and
    clipping would bias it upward. Returns the MI and the numbers of occupied symbols.
    """
    symbols_x, m_x = _dense_codes(symbols_x)
    symbols_y, m_y = _dense_codes(symbols_y)
    _, joint_counts = _occupied_cells(symbols_x * m_y + symbols_y, m_x * m_y)
    k_x, k_y = alphabet_sizes
    k_xy = None if k_x is None or k_y is None else float(k_x) * float(k_y)
    value = (
        entropy_from_counts(np.bincount(symbols_x), correction, k_x)
        + entropy_from_counts(np.bincount(symbols_y), correction, k_y)
        - entropy_from_counts(joint_counts, correction, k_xy)
    )
    return value, {"symbols_x": m_x, "symbols_y": m_y, "symbols_joint": int(joint_counts.size)}


def check_correction(correction, miller_madow: bool, allowed, estimator: str) -> str:
    """Validate a ``correction`` parameter against the older ``miller_madow`` flag: the flag
    means ``"miller-madow"``, and may not be combined with another correction."""
    correction = check_choice(correction, "correction", allowed)
    if miller_madow:
        if correction not in ("none", "miller-madow"):
            raise InputError(
                f"miller_madow=True and correction={correction!r} ask {estimator!r} for two "
                "different corrections; give only correction"
            )
        return "miller-madow"
    return correction
