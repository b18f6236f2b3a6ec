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

from mibench.core.contracts import Estimate, Estimator
from mibench.core.validation import InputError, check_choice
from mibench.estimators.registry import register

__all__ = [
    "Discrete",
    "encode_integer_rows",
    "encode_rows",
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
    """

    def __init__(self, *, miller_madow: bool = False):
        self.miller_madow = check_choice(miller_madow, "miller_madow", (True, False))

    def min_samples(self) -> int:
        return 1

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        symbols_x = encode_rows(x)[0]
        symbols_y = encode_rows(y)[0]
        value, counts = plugin_mutual_information(
            symbols_x, symbols_y, self.miller_madow, return_counts=True
        )
        return Estimate(value, counts)
