"""Binning (histogram) plug-in estimators of MI, as the information-plane literature used them.

Each dimension is cut into bins; a sample's bin indices, taken together, are its symbol; the
estimate is the plug-in MI of the symbols (:func:`mibench.estimators.discrete.
plugin_mutual_information`). Rows are turned into symbols by integer hashing, never by a
histogram over bins ** d cells, so a 50-dimensional layer costs about as much as 50 columns.

``binning``: equal-width bins, set by exactly one of

- ``n_bins`` over each dimension's data range (min to max of the sample);
- ``bin_width``: cells [k w, (k + 1) w) anchored at 0 (Saxe et al., ICLR 2018, used w = 0.07);
- ``n_bins`` with ``value_range=(low, high)``: equal bins on a fixed range, values outside it
  counted in the edge bins (Shwartz-Ziv & Tishby 2017 used 30 bins on [-1, 1], for ReLU layers
  too, where every activation above 1 then shares the last bin).

``binning-adaptive``: equal-mass bins per dimension (Chelombiev, Houghton & O'Donnell, ICLR
2019): each bin holds the same number of samples, ties kept together.
"""

from __future__ import annotations

import numbers

import numpy as np

from mibench.core.contracts import Estimate, Estimator
from mibench.core.validation import InputError, check_choice, check_integer, check_positive
from mibench.estimators.discrete import (
    ENTROPY_CORRECTIONS,
    check_correction,
    corrected_mutual_information,
    encode_integer_rows,
    encode_rows,
    plugin_mutual_information,
)
from mibench.estimators.registry import register

__all__ = [
    "AdaptiveBinning",
    "Binning",
    "equal_mass_bin_codes",
    "equal_width_bin_codes",
    "fixed_width_bin_codes",
]

#: The bin count of ``binning`` when neither ``n_bins`` nor ``bin_width`` is given
#: (Shwartz-Ziv & Tishby's 30 bins), and the default of ``binning-adaptive``.
DEFAULT_N_BINS = 30

# floor(v / width) must fit in int64 with room for the mixed-radix hashing.
_MAX_BIN_INDEX = 2.0**62


def equal_width_bin_codes(
    values: np.ndarray, n_bins: int, value_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Bin indices 0 .. n_bins-1 of equal-width bins, per column.

    The bins span each column's own range (min to max), or ``value_range`` for every column,
    in which case values outside it fall into the first or last bin. A constant column is one
    bin. The maximum of the range belongs to the last bin, as in ``np.histogram``.
    """
    if value_range is None:
        low = values.min(axis=0)
        span = values.max(axis=0) - low
        span[span == 0] = 1.0
    else:
        low, span = value_range[0], value_range[1] - value_range[0]
    codes = np.floor((values - low) * (n_bins / span))
    np.clip(codes, 0, n_bins - 1, out=codes)
    return codes.astype(np.int64)


def fixed_width_bin_codes(values: np.ndarray, bin_width: float) -> np.ndarray:
    """Bin indices floor(v / bin_width): cells of width ``bin_width`` anchored at 0."""
    scaled = values / bin_width
    if np.abs(scaled).max() >= _MAX_BIN_INDEX:
        raise InputError(
            f"bin_width={bin_width!r} is too small for values up to {np.abs(values).max():g}: "
            "the bin indices would overflow"
        )
    return np.floor(scaled).astype(np.int64)


def equal_mass_bin_codes(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin indices 0 .. n_bins-1 of equal-mass (quantile) bins, per column.

    A sample of rank r (0-based, ties sharing their lowest rank) goes to bin r * n_bins // n, so
    without ties every bin holds n / n_bins samples (within one), and tied values (the zeros of
    a ReLU) share a bin. Depending only on ranks, the bins are invariant under any strictly
    increasing transform of a column.
    """
    n = values.shape[0]
    from scipy.stats import rankdata  # here: scipy.stats takes ~0.5 s to import

    ranks = rankdata(values, method="min", axis=0).astype(np.int64) - 1
    return ranks * n_bins // n


class _BinnedPlugin(Estimator):
    """Shared part of the binning estimators: symbols from bins, then the plug-in MI."""

    discrete_x: bool
    discrete_y: bool
    miller_madow: bool
    correction: str

    def _bin_codes(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _bin_extras(self) -> dict:
        return {}

    def _alphabet_size(self, dim: int, discrete: bool) -> float | None:
        """The number of possible symbols of a variable of ``dim`` binned columns (n_bins **
        dim), or None where it is not known (unbinned symbols, bins of a fixed width)."""
        n_bins = getattr(self, "_effective_n_bins", getattr(self, "n_bins", None))
        if discrete or getattr(self, "bin_width", None) is not None or n_bins is None:
            return None
        return float(n_bins) ** dim

    def _symbols(self, values: np.ndarray, discrete: bool) -> np.ndarray:
        if discrete:
            return encode_rows(values)[0]
        return encode_integer_rows(self._bin_codes(values))[0]

    def min_samples(self) -> int:
        return 1

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        if self.correction not in ("none", "miller-madow"):
            value, counts = corrected_mutual_information(
                self._symbols(x, self.discrete_x),
                self._symbols(y, self.discrete_y),
                self.correction,
                (
                    self._alphabet_size(x.shape[1], self.discrete_x),
                    self._alphabet_size(y.shape[1], self.discrete_y),
                ),
            )
            return Estimate(value, {**counts, **self._bin_extras()})
        value, counts = plugin_mutual_information(
            self._symbols(x, self.discrete_x),
            self._symbols(y, self.discrete_y),
            self.correction == "miller-madow",
            return_counts=True,
        )
        return Estimate(value, {**counts, **self._bin_extras()})


def _check_flags(
    estimator: _BinnedPlugin, miller_madow, discrete_x, discrete_y, correction="none"
) -> None:
    estimator.miller_madow = check_choice(miller_madow, "miller_madow", (True, False))
    estimator.discrete_x = check_choice(discrete_x, "discrete_x", (True, False))
    estimator.discrete_y = check_choice(discrete_y, "discrete_y", (True, False))
    estimator.correction = check_correction(
        correction, estimator.miller_madow, ENTROPY_CORRECTIONS, estimator.name
    )
    if estimator.correction == "nsb":
        unknown = [
            why
            for why, applies in (
                ("discrete_x=True", estimator.discrete_x),
                ("discrete_y=True", estimator.discrete_y),
                ("bin_width", getattr(estimator, "bin_width", None) is not None),
            )
            if applies
        ]
        if unknown:
            raise InputError(
                "correction='nsb' needs the number of possible symbols, n_bins ** dim, which "
                f"is unknown with {' and '.join(unknown)}; use 'grassberger' or 'chao-shen'"
            )


def _check_value_range(value_range) -> tuple[float, float] | None:
    if value_range is None:
        return None
    try:
        low, high = value_range
    except (TypeError, ValueError):
        raise InputError(
            f"value_range must be a pair (low, high), got {value_range!r}"
        ) from None
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or not np.isfinite(bound):
            raise InputError(f"value_range must hold two finite numbers, got {value_range!r}")
    if not low < high:
        raise InputError(f"value_range must have low < high, got {value_range!r}")
    return float(low), float(high)


@register("binning")
class Binning(_BinnedPlugin):
    """Equal-width binning plug-in MI estimator (the classic information-plane estimator).

    Each dimension of x and y (or only of those not marked discrete) is cut into equal-width
    bins; a sample's bin indices together form its symbol (rows are hashed, so any dimension
    works); the estimate is the plug-in MI of the symbols, in nats.

    Assumptions and bias: the estimate is the MI of the binned variables, which is at most
    the MI of the originals on stochastic data (data processing), and with few samples per
    occupied cell it is biased upward (roughly by (cells_xy - cells_x - cells_y + 1) / (2 n)).
    Its resolution parameter is the bin size: it decides the answer on a deterministic layer,
    where the true I(X; L) is infinite (continuous x) or H(X) (discrete x) and the estimate is
    instead the entropy of the binned layer, rising with the number of bins. It can never
    exceed the log of the number of occupied cells of either variable, hence never log n.

    Parameters
    ----------
    n_bins : int, optional
        Number of equal-width bins per dimension: over each dimension's data range (min to
        max), or over ``value_range`` if that is given. Exactly one of ``n_bins`` and
        ``bin_width`` may be given; with neither, 30 bins are used (over the data range, or
        over ``value_range``).
    bin_width : float, optional
        Width w of the bins, anchored at 0: the cells are [k w, (k + 1) w) for integer k, as
        in Saxe et al. 2018 (w = 0.07), so the bins do not move with the data's range.
    value_range : (float, float), optional
        With ``n_bins``: bin every dimension on this fixed range; values below or above it go
        into the first or last bin (Shwartz-Ziv & Tishby 2017: 30 bins on [-1, 1], also for
        unbounded ReLU layers, whose large activations all share the last bin).
    miller_madow : bool, default False
        Add the Miller-Madow correction (m - 1) / (2 n) to each of the three entropies.
    correction : {"none", "miller-madow", "grassberger", "chao-shen", "nsb"}, default "none"
        Estimate each of H(X), H(Y), H(X, Y) of the symbols with this bias correction
        (:func:`mibench.estimators.discrete.entropy_from_counts`) and return
        H(X) + H(Y) - H(X, Y), which can be negative. ``"nsb"`` takes n_bins ** dim possible
        symbols per variable (their product for the pair), so it needs ``n_bins``: not
        ``bin_width`` nor an unbinned (discrete) variable. ``miller_madow=True`` is
        ``"miller-madow"``.
    discrete_x, discrete_y : bool, default False
        Take that variable's rows as symbols as they are, unbinned: for class labels, or for a
        finite input set (a layer against labels is ``discrete_x=True`` with x the labels).
    """

    def __init__(
        self,
        *,
        n_bins: int | None = None,
        bin_width: float | None = None,
        value_range: tuple[float, float] | None = None,
        miller_madow: bool = False,
        discrete_x: bool = False,
        discrete_y: bool = False,
        correction: str = "none",
    ):
        if n_bins is not None and bin_width is not None:
            raise InputError(
                f"give either n_bins or bin_width, not both (got n_bins={n_bins!r}, "
                f"bin_width={bin_width!r})"
            )
        self.n_bins = None if n_bins is None else check_integer(n_bins, "n_bins", minimum=1)
        self.bin_width = None if bin_width is None else check_positive(bin_width, "bin_width")
        self.value_range = _check_value_range(value_range)
        if self.bin_width is not None and self.value_range is not None:
            raise InputError(
                "value_range goes with n_bins (equal bins on a fixed range), not with bin_width"
            )
        _check_flags(self, miller_madow, discrete_x, discrete_y, correction)

    @property
    def _effective_n_bins(self) -> int:
        return DEFAULT_N_BINS if self.n_bins is None else self.n_bins

    def _bin_codes(self, values: np.ndarray) -> np.ndarray:
        if self.bin_width is not None:
            return fixed_width_bin_codes(values, self.bin_width)
        return equal_width_bin_codes(values, self._effective_n_bins, self.value_range)

    def _bin_extras(self) -> dict:
        if self.bin_width is not None:
            return {"bin_width": self.bin_width}
        return {"n_bins": self._effective_n_bins}


@register("binning-adaptive")
class AdaptiveBinning(_BinnedPlugin):
    """Equal-mass (adaptive) binning plug-in MI estimator (Chelombiev et al., ICLR 2019).

    Each dimension is cut into ``n_bins`` bins holding equal numbers of samples (by rank; tied
    values share a bin, so the zeros of a ReLU form one bin); the bin indices of a row form its
    symbol, and the estimate is the plug-in MI of the symbols, in nats.

    Assumptions and bias: as for ``binning``, it measures the MI of the binned variables,
    biased upward when cells hold few samples, and bounded by the log of the number of
    occupied cells (at most log n). Its resolution parameter is ``n_bins``. Because the bins
    follow the ranks, the estimate is exactly invariant under any strictly increasing
    transform of each dimension (a saturating tanh no longer crowds samples into few bins),
    and every binned dimension has the maximal marginal entropy, about log(n_bins).

    Parameters
    ----------
    n_bins : int, default 30
        Number of equal-mass bins per dimension.
    miller_madow : bool, default False
        Add the Miller-Madow correction (m - 1) / (2 n) to each of the three entropies.
    correction : {"none", "miller-madow", "grassberger", "chao-shen", "nsb"}, default "none"
        Estimate each of H(X), H(Y), H(X, Y) of the symbols with this bias correction
        (:func:`mibench.estimators.discrete.entropy_from_counts`) and return
        H(X) + H(Y) - H(X, Y), which can be negative. ``"nsb"`` takes n_bins ** dim possible
        symbols per variable (their product for the pair), so it needs ``n_bins``: not
        ``bin_width`` nor an unbinned (discrete) variable. ``miller_madow=True`` is
        ``"miller-madow"``.
    discrete_x, discrete_y : bool, default False
        Take that variable's rows as symbols as they are, unbinned (labels, a finite input set).
    """

    def __init__(
        self,
        *,
        n_bins: int = DEFAULT_N_BINS,
        miller_madow: bool = False,
        discrete_x: bool = False,
        discrete_y: bool = False,
        correction: str = "none",
    ):
        self.n_bins = check_integer(n_bins, "n_bins", minimum=1)
        _check_flags(self, miller_madow, discrete_x, discrete_y, correction)

    def _bin_codes(self, values: np.ndarray) -> np.ndarray:
        return equal_mass_bin_codes(values, self.n_bins)

    def _bin_extras(self) -> dict:
        return {"n_bins": self.n_bins}
