"""Compiled (numba) kernels of the KSG estimators, and the threads that run them.

Every kernel releases the GIL and handles a given set of rows, so ``workers`` Python threads run
them side by side on disjoint rows; this keeps thread control in one place (no numba threading
layer, which may not allow concurrent calls), and the same kernels also repair single rows of the
tree path. Distances are computed exactly as the references compute them, ``|a - b|`` in float64
and a maximum, so the counts, and hence the estimates, agree to the last bit.

Memory: the brute force keeps two length-n rows per thread (allocated here with numpy, so
tracemalloc sees them), never an n x n matrix.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit
from scipy.spatial import cKDTree

from mibench.core.threads import available_cores, process_threads

__all__ = [
    "available_cores",
    "brute_counts",
    "mixed_brute_counts",
    "process_threads",
    "resolve_workers",
    "sorted_counts",
]

# Joint distances are screened this many at a time: one vectorised count of the candidates
# closer than the current k-th distance (the joint distance computed there, not stored), and the
# branchy insertion only for blocks that have any. Measured at n=20,000, 5+5 dimensions, one
# thread: 1.34 s with a branch per sample, 1.14 s screened, 0.95-1.04 s with the joint distance
# computed inside the screen instead of in a pass of its own. Blocks of 64 instead of 32 measured
# 1.07 times faster at n = 5,000 (one thread, process CPU time, under load).
_SCREEN = 64




def resolve_workers(workers: int | None) -> int:
    """Threads to run: ``None`` -> :func:`process_threads`, -1 -> every core, else ``workers``."""
    if workers is None:
        return process_threads()
    return available_cores() if workers == -1 else max(1, int(workers))


# Rows are handed to the threads in chunks, each thread taking the next chunk when it has
# finished its last: a thread that the OS deschedules (another process on its core) takes fewer
# chunks instead of holding the others up at the end, as a fixed split into one range per
# thread did. Up to this many chunks per thread, each of at least ``min_rows`` rows (so the
# Python dispatch of a chunk, some microseconds, stays small beside its work).
_CHUNKS_PER_WORKER = 16
_MIN_CHUNK_ROWS = 256
_MIN_SORTED_CHUNK_ROWS = 8192  # the 1-D sorted searches' rows, far cheaper


def _chunk_bounds(n_rows: int, workers: int, min_rows: int) -> np.ndarray:
    """Bounds of the chunks the rows are cut into: at least one per thread (never empty), at
    most _CHUNKS_PER_WORKER per thread, otherwise as many of ``min_rows`` rows as fit."""
    chunks = min(workers * _CHUNKS_PER_WORKER, n_rows // max(1, min_rows))
    chunks = min(n_rows, max(workers, chunks))
    return np.linspace(0, n_rows, chunks + 1).astype(np.int64)


def _run_in_threads(task, n_rows: int, workers: int, min_rows: int = _MIN_CHUNK_ROWS) -> None:
    """Call ``task(start, stop, slot)`` on disjoint chunks of rows that cover [0, n_rows)
    exactly once, from ``workers`` threads (the caller's among them) that take chunks from a
    shared counter; ``slot`` is the calling thread's number (0 <= slot < workers), so that a
    task may keep a workspace per slot: no two calls with the same slot ever run at once.

    Returns only after every thread has finished (joined), so no task writes after it; the
    first error raised by a task is raised here, after the others stopped taking chunks.
    """
    workers = max(1, min(workers, n_rows))
    if workers == 1:
        task(0, n_rows, 0)
        return
    bounds = _chunk_bounds(n_rows, workers, min_rows).tolist()
    n_chunks = len(bounds) - 1
    lock = threading.Lock()
    taken = [0]  # chunks handed out so far
    errors = []

    def next_chunk():
        with lock:
            if errors or taken[0] >= n_chunks:
                return None
            chunk = taken[0]
            taken[0] += 1
            return chunk

    def work(slot):
        try:
            while (chunk := next_chunk()) is not None:
                task(bounds[chunk], bounds[chunk + 1], slot)
        except BaseException as error:  # handed to the caller, which re-raises it
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(1, workers)]
    try:
        for thread in threads:
            thread.start()
        work(0)
    finally:
        for thread in threads:
            if thread.ident is not None:  # started
                thread.join()
    if errors:
        raise errors[0]


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _variant_radii(x, y, i, best_j, kth, variant, metric):
    """The marginal radii of sample i: the joint k-th distance for KSG's first variant; for
    the second, the largest X and Y distance to the k nearest (indices best_j)."""
    if variant == 1:
        return kth, kth
    radius_x = 0.0
    radius_y = 0.0
    for m in range(best_j.shape[0]):
        radius_x = max(radius_x, _exact_distance(x, i, best_j[m], metric))
        radius_y = max(radius_y, _exact_distance(y, i, best_j[m], metric))
    return radius_x, radius_y


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _insert_nearest(best_d, best_j, d, j):
    """Insert distance d of sample j into the sorted k nearest (best_d, best_j), dropping the
    k-th; return the new k-th distance. Callers offer j in increasing order and only when
    d < the k-th, so an equal distance never displaces a smaller index."""
    k = best_d.shape[0]
    m = k - 1
    while m > 0 and best_d[m - 1] > d:
        best_d[m] = best_d[m - 1]
        best_j[m] = best_j[m - 1]
        m -= 1
    best_d[m] = d
    best_j[m] = j
    return best_d[k - 1]


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _k_nearest(dist_x, dist_y, i, best_d, best_j):
    """Fill best_d, best_j with the k = len(best_d) smallest joint (max-norm) distances from
    sample i to the others and their indices, ties broken by the smaller index (a stable
    sort's order); return the k-th distance.

    Blocks of _SCREEN samples are first screened with a cheap count, so the insertion is only
    entered for blocks holding a sample closer than the current k-th.
    """
    n = dist_x.shape[0]
    k = best_d.shape[0]
    for m in range(k):
        best_d[m] = np.inf
        best_j[m] = -1
    kth = np.inf
    for j0 in range(0, n, _SCREEN):
        j1 = min(n, j0 + _SCREEN)
        closer = 0
        for j in range(j0, j1):
            closer += max(dist_x[j], dist_y[j]) < kth
        if closer == 0:
            continue
        for j in range(j0, j1):
            d = max(dist_x[j], dist_y[j])
            # j grows, so an equal distance never displaces an earlier (smaller) index;
            # a sample is not its own neighbour.
            if d < kth and j != i:
                kth = _insert_nearest(best_d, best_j, d, j)
    return kth


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _other_samples_within(dist_x, dist_y, radius_x, radius_y, strict):
    """(n_x, n_y): samples within the radii (strictly closer if ``strict``) in each margin, less
    the sample itself (at distance 0, so counted by every non-strict or positive-radius sum)."""
    count_x = 0
    count_y = 0
    if strict:
        for j in range(dist_x.shape[0]):
            count_x += dist_x[j] < radius_x
            count_y += dist_y[j] < radius_y
    else:
        for j in range(dist_x.shape[0]):
            count_x += dist_x[j] <= radius_x
            count_y += dist_y[j] <= radius_y
    return count_x - 1, count_y - 1


@njit(nogil=True, cache=True, boundscheck=False)
def _chebyshev_to(data, i, out):
    """out[j] = max_c |data[c, j] - data[c, i]| for a (d, n) array, d >= 1.

    Coordinates are taken four (then two, then one) at a time so that each pass over ``out``
    does more arithmetic per load and store; the inner loops over j vectorise.
    """
    d, n = data.shape
    c = 0
    first = True
    while c + 4 <= d:
        r0, r1, r2, r3 = data[c], data[c + 1], data[c + 2], data[c + 3]
        a0, a1, a2, a3 = r0[i], r1[i], r2[i], r3[i]
        if first:
            for j in range(n):
                out[j] = max(
                    max(abs(r0[j] - a0), abs(r1[j] - a1)), max(abs(r2[j] - a2), abs(r3[j] - a3))
                )
            first = False
        else:
            for j in range(n):
                out[j] = max(
                    out[j],
                    max(
                        max(abs(r0[j] - a0), abs(r1[j] - a1)),
                        max(abs(r2[j] - a2), abs(r3[j] - a3)),
                    ),
                )
        c += 4
    if c + 2 <= d:
        r0, r1 = data[c], data[c + 1]
        a0, a1 = r0[i], r1[i]
        if first:
            for j in range(n):
                out[j] = max(abs(r0[j] - a0), abs(r1[j] - a1))
            first = False
        else:
            for j in range(n):
                out[j] = max(out[j], max(abs(r0[j] - a0), abs(r1[j] - a1)))
        c += 2
    if c < d:
        r0 = data[c]
        a0 = r0[i]
        if first:
            for j in range(n):
                out[j] = abs(r0[j] - a0)
        else:
            for j in range(n):
                out[j] = max(out[j], abs(r0[j] - a0))


@njit(nogil=True, cache=True, boundscheck=False)
def _brute_rows(x_t, y_t, k, variant, rows, work, counts_x, counts_y):
    """KSG marginal counts of ``rows`` by one exact pass over all samples per row.

    x_t, y_t : (d_x, n), (d_y, n) C-contiguous. work : (2, n) scratch. Neighbours are the k
    smallest joint distances with ties broken by the smaller sample index (a stable sort's
    order), which is what makes variant 2 well defined on data with ties.
    """
    dist_x = work[0]
    dist_y = work[1]
    best_d = np.empty(k)
    best_j = np.empty(k, np.int64)
    for i in rows:
        _chebyshev_to(x_t, i, dist_x)
        _chebyshev_to(y_t, i, dist_y)
        kth = _k_nearest(dist_x, dist_y, i, best_d, best_j)
        if variant == 1:
            radius_x = kth
            radius_y = kth
        else:
            radius_x = 0.0
            radius_y = 0.0
            for m in range(k):
                radius_x = max(radius_x, dist_x[best_j[m]])
                radius_y = max(radius_y, dist_y[best_j[m]])
        # A strict count at radius 0 gives -1: nothing is closer than 0, not the sample itself.
        counts_x[i], counts_y[i] = _other_samples_within(
            dist_x, dist_y, radius_x, radius_y, variant == 1
        )


# Metrics, as the kernels receive them.
CHEBYSHEV = 0
EUCLIDEAN = 1
METRICS = {"chebyshev": CHEBYSHEV, "euclidean": EUCLIDEAN}

# Rows of the screened kernel are taken in chunks of this many samples: the chunk's screening
# keys (all its coordinates) stay in L1 while they are computed, screened and stored.
_CHUNK = 512

# Leaf size of the KD-tree that orders the samples for the screen (:func:`_spatial_order`).
_LEAF_SIZE = 16

# Blocks of this many consecutive samples (in that order) are skipped or looked at whole, by
# their bounding boxes.
_BLOCK = 64

# Runs of at most this many blocks that could be skipped between two that cannot are looked
# at too (fewer, longer runs).
_HOLE = 2

# The pruned kernel (_pruned_rows) from this many samples, in at most this many dimensions
# (X and Y together): where the blocks' boxes skip enough samples to pay for the tree that
# orders them and for the boxes' gaps. Measured (one thread, process CPU time, 5 + 5 Gaussian
# dimensions, k = 5, under load): 1.15-1.24 times faster at n = 20,000, 0.9-0.96 at 5,000.
_PRUNE_MIN_SAMPLES = 10_000
_PRUNE_MAX_DIMENSIONS = 12

# Unit roundoff of float32.
_U32 = 2.0**-24

# Below this many samples the max-norm counts are computed by the plain float64 kernel
# (_brute_rows): the screen's copies cost about what they save there. Measured (5 + 5
# dimensions, k = 3, one thread, fastest of 15, under load) with the int16 screen and the
# block-minimum bound of the k-th distance: n = 500 1.2 times the plain kernel's speed, 1,000
# 1.7 times, 1,500 2.0 times (before them the float32 screen was 0.84-0.99 times at 1,000).
_SCREEN_MIN_SAMPLES = 500


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _exact_distance(z, i, j, metric):
    """The exact distance of rows i, j of a row-major (n, d) float64 array, as the plain
    references compute it: max_c |z_jc - z_ic|, or sqrt of the squares summed in coordinate
    order; in one dimension both are |z_j - z_i| (sqrt(t * t) = |t| save for underflow)."""
    d = z.shape[1]
    if metric == CHEBYSHEV or d == 1:
        m = 0.0
        for c in range(d):
            m = max(m, abs(z[j, c] - z[i, c]))
        return m
    s = 0.0
    for c in range(d):
        t = z[j, c] - z[i, c]
        s += t * t
    return math.sqrt(s)


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _span(start, stop):
    """(start, stop) as unsigned integers, for loops whose index numba then uses as it is (no
    negative-index handling), so that LLVM vectorises them without slicing the arrays."""
    return np.uint64(start), np.uint64(stop)


@njit(nogil=True, cache=True, boundscheck=False, fastmath={"nnan", "nsz"})
def _keys_to(data, i, j0, j1, metric, keys):
    """keys[j] for j0 <= j < j1: the screening key from sample i to j of a (d, n) array, in its
    dtype: the max-norm distance, or the squared Euclidean distance (summed in coordinate order).

    Coordinates are taken two at a time so that each pass over the keys does more arithmetic
    per load and store. The loops index with unsigned integers (:func:`_span`): with signed
    ones, numba's negative-index handling stops LLVM from vectorising them (measured 8-15x
    slower), and slices instead (the earlier way) cost two atomic reference counts each.
    """
    d = data.shape[0]
    a, b = _span(j0, j1)
    if metric == CHEBYSHEV:
        if d % 2 == 1:
            a0 = data[0, i]
            for j in range(a, b):
                keys[j] = abs(data[0, j] - a0)
            c = 1
        else:
            a0 = data[0, i]
            a1 = data[1, i]
            for j in range(a, b):
                keys[j] = max(abs(data[0, j] - a0), abs(data[1, j] - a1))
            c = 2
        while c + 2 <= d:
            r0 = np.uint64(c)
            r1 = np.uint64(c + 1)
            a0 = data[r0, i]
            a1 = data[r1, i]
            for j in range(a, b):
                keys[j] = max(keys[j], max(abs(data[r0, j] - a0), abs(data[r1, j] - a1)))
            c += 2
        return
    a0 = data[0, i]
    for j in range(a, b):
        t = data[0, j] - a0
        keys[j] = t * t
    c = 1
    while c + 2 <= d:
        r0 = np.uint64(c)
        r1 = np.uint64(c + 1)
        a0 = data[r0, i]
        a1 = data[r1, i]
        for j in range(a, b):
            t0 = data[r0, j] - a0
            t1 = data[r1, j] - a1
            keys[j] = (keys[j] + t0 * t0) + t1 * t1
        c += 2
    if c < d:
        r0 = np.uint64(c)
        a0 = data[r0, i]
        for j in range(a, b):
            t = data[r0, j] - a0
            keys[j] = keys[j] + t * t


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _key_of(radius, metric):
    """The screening key of a distance: itself, or its square (rounded outward below)."""
    return radius if metric == CHEBYSHEV else radius * radius


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _key_below(radius, band, metric):
    """A key below which every sample is surely closer than ``radius`` (in the key's dtype
    the caller casts to; ``band`` covers the screen's error and that cast)."""
    return _key_of(radius, metric) * (1.0 - 1e-12) - band


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _key_above(radius, band, metric):
    """A key above which every sample is surely farther than ``radius``."""
    return _key_of(radius, metric) * (1.0 + 1e-12) + band


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _thresholds(radius, band, metric, cast, cast_bits):
    """(below, above) as the bits of thresholds in the keys' dtype (``cast``: a length-2 array
    of it, ``cast_bits`` the same memory viewed as integers of that width; the band covers the
    cast): keys below ``below`` are surely within ``radius``, keys above ``above`` surely not.

    Keys are never negative, and non-negative floats order as their bits; a negative threshold
    has negative bits, below those of every key, as it is below every key. So comparisons of
    bits are the comparisons of the keys, and integer tallies of them vectorise at the keys'
    width (:func:`_tally`).
    """
    cast[0] = _key_below(radius, band, metric)
    cast[1] = _key_above(radius, band, metric)
    return cast_bits[0], cast_bits[1]


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _count_span(bits, z, i, start, stop, below, above, radius, strict, metric):
    """Samples j in [start, stop) within ``radius`` of i (strictly closer if ``strict``): keys
    below ``below`` counted, keys above ``above`` not, the few between decided by the exact
    distance from the float64 rows ``z``; chunk by chunk, each tallied in one vectorised pass.
    ``bits``, ``below``, ``above``: the keys and thresholds as bits (:func:`_thresholds`).

    A chunk with keys between is tallied again in blocks of _SCREEN keys, and only the blocks
    with keys between are searched for them one by one (there is one such key in most rows:
    the k-th neighbour's, at the radius in the margin where its joint distance is attained).
    """
    count = 0
    for j0 in range(start, stop, _CHUNK):
        j1 = min(stop, j0 + _CHUNK)
        inside, unsure = _tally(bits, j0, j1, below, above)
        count += inside
        if unsure > inside:
            for b0 in range(j0, j1, _SCREEN):
                b1 = min(j1, b0 + _SCREEN)
                inside, unsure = _tally(bits, b0, b1, below, above)
                if unsure == inside:
                    continue
                for j in range(b0, b1):
                    key = bits[j]
                    if key >= below and key <= above:
                        d = _exact_distance(z, i, j, metric)
                        count += (d < radius) if strict else (d <= radius)
    return count


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _any_within(keys_x, keys_y, b0, b1, limit):
    """Whether any j in [b0, b1) has max(keys_x[j], keys_y[j]) <= limit: one vectorised
    count over the block, so the scalar search runs on few blocks."""
    candidates = 0
    a, b = _span(b0, b1)
    for j in range(a, b):
        candidates += max(keys_x[j], keys_y[j]) <= limit
    return candidates > 0


@njit(nogil=True, cache=True, boundscheck=False)
def _tally(bits, start, stop, below, above):
    """(#bits < below, #bits <= above) of the keys' bits[start:stop], at most _CHUNK of them.

    The tallies are as wide as the keys' lanes allow, cut back after every addition (numba
    widens integer sums to int64): int16 for int16 keys (measured 2.4 times faster than int32
    there), int32 for float32 keys' bits (1.25 times faster than the float tallies of the
    earlier way, which were 2-4 times faster than int64 ones; int16 tallies are 2 times slower
    there).
    """
    a, b = _span(start, stop)
    if bits.itemsize == 2:
        inside16 = np.int16(0)
        unsure16 = np.int16(0)
        for j in range(a, b):
            inside16 = np.int16(inside16 + np.int16(bits[j] < below))
            unsure16 = np.int16(unsure16 + np.int16(bits[j] <= above))
        return np.int32(inside16), np.int32(unsure16)
    inside = np.int32(0)
    unsure = np.int32(0)
    for j in range(a, b):
        inside = np.int32(inside + np.int32(bits[j] < below))
        unsure = np.int32(unsure + np.int32(bits[j] <= above))
    return inside, unsure


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _screened_count(bits, z, i, radius, band, strict, metric, cast, cast_bits):
    """Other samples within ``radius`` of i (strictly closer if ``strict``) in one margin:
    keys below the band are counted, keys above it are not, the few inside it are decided by
    the exact distance from the float64 rows ``z``. ``bits``: the keys' bits."""
    n = bits.shape[0]
    below, above = _thresholds(radius, band, metric, cast, cast_bits)
    count = _count_span(bits, z, i, 0, n, below, above, radius, strict, metric)
    return count - 1  # the sample itself, at distance 0, is inside whenever radius > 0


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _block_minimum(bits_x, bits_y, b0, b1):
    """The smallest joint key max(key_x, key_y) of the samples b0 <= j < b1, as bits.

    bits_x, bits_y : the keys viewed as integers of their width. Keys are never negative and
    non-negative floats order as their bits, so the integer minimum is the float one; it
    vectorises, where a float minimum in numba (its NaN handling) is a scalar loop (measured
    7x slower).
    """
    smallest = max(bits_x[b0], bits_y[b0])
    a, b = _span(b0, b1)
    for j in range(a, b):
        smallest = min(smallest, max(bits_x[j], bits_y[j]))
    return smallest


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _smallest_of(values, out):
    """out[m]: the m-th smallest of ``values`` (m < len(out) <= len(values)), by insertion."""
    count = out.shape[0]
    for m in range(count):
        out[m] = values[m]
    for m in range(1, count):  # sort the first ``count``
        v = out[m]
        q = m
        while q > 0 and out[q - 1] > v:
            out[q] = out[q - 1]
            q -= 1
        out[q] = v
    last = count - 1
    for b in range(count, values.shape[0]):
        v = values[b]
        if v < out[last]:
            q = last
            while q > 0 and out[q - 1] > v:
                out[q] = out[q - 1]
                q -= 1
            out[q] = v


@njit(nogil=True, cache=True, boundscheck=False)
def _screened_rows(
    xs, ys, x, y, band_x, band_y, metric, k, variant, rows, keys, bits, counts_x, counts_y
):
    """KSG marginal counts of ``rows``: a screen in the dtype of ``xs``, ``ys`` ((d, n):
    float32, centred, for speed; or the float64 data itself), exact float64 decisions.

    x, y : (n, d) float64 rows, from which every distance that decides anything is computed
    exactly (:func:`_exact_distance`). band_x, band_y : bounds on the difference between a
    screening key and the key of the exact distance (plus the cast of a threshold to the
    screen's dtype), so a key outside the band around a threshold decides a comparison as the
    exact distance would. keys : (2, n) scratch in the screen's dtype; bits : the same memory
    viewed as integers of that width (int32 or int64).

    Each row first computes all its keys, chunk by chunk, and the smallest joint key of every
    block of _SCREEN samples. The (k + 1)-th smallest of those block minima, M, bounds the k-th
    distance: k blocks other than the row's own (whose minimum is the row's key to itself, 0)
    each hold a sample with a key at most M, so the k nearest have exact keys at most M + band
    and screened keys at most M + 2 band. Only the blocks whose minimum is within that limit
    (as it falls) are searched, in sample order, and in them only the samples whose key is; so
    the k nearest are those of the plain reference (ties to the smaller index), found with
    about k + 1 exact distances per row (measured at n = 5,000 in 5 + 5 dimensions, k = 5:
    5.2, over 6 blocks). The counts take the exact distance only inside the band around the
    radius.
    """
    n = x.shape[0]
    keys_x = keys[0]
    keys_y = keys[1]
    bits_x = bits[0]
    bits_y = bits[1]
    band = max(band_x, band_y)
    best_d = np.empty(k)
    best_j = np.empty(k, np.int64)
    cast = np.empty(2, keys.dtype)  # thresholds in the keys' dtype
    cast_bits = cast.view(bits.dtype)
    blocks = (n + _SCREEN - 1) // _SCREEN
    minima = np.empty(blocks, bits.dtype)
    smallest = np.empty(min(k + 1, blocks), bits.dtype)
    for i in rows:
        for j0 in range(0, n, _CHUNK):
            j1 = min(n, j0 + _CHUNK)
            _keys_to(xs, i, j0, j1, metric, keys_x)
            _keys_to(ys, i, j0, j1, metric, keys_y)
            for b0 in range(j0, j1, _SCREEN):  # _CHUNK is a multiple of _SCREEN
                minima[b0 // _SCREEN] = _block_minimum(bits_x, bits_y, b0, min(j1, b0 + _SCREEN))
        for m in range(k):
            best_d[m] = np.inf
            best_j[m] = -1
        kth = np.inf
        cast[0] = np.inf
        if blocks > k:
            _smallest_of(minima, smallest)
            cast_bits[1] = smallest[k]
            cast[0] = (cast[1] + band) * (1.0 + 1e-12) + band
        limit = cast[0]
        bound = cast_bits[0]
        for b in range(blocks):
            if minima[b] > bound:
                continue
            for j in range(b * _SCREEN, min(n, (b + 1) * _SCREEN)):
                if max(keys_x[j], keys_y[j]) > limit or j == i:
                    continue
                d = max(_exact_distance(x, i, j, metric), _exact_distance(y, i, j, metric))
                # j grows, so an equal distance never displaces a smaller index.
                if d < kth:
                    kth = _insert_nearest(best_d, best_j, d, j)
                    if kth < np.inf:
                        cast[0] = _key_above(kth, band, metric)
                        if cast[0] < limit:
                            limit = cast[0]
                            bound = cast_bits[0]
        radius_x, radius_y = _variant_radii(x, y, i, best_j, kth, variant, metric)
        strict = variant == 1
        counts_x[i] = _screened_count(
            bits_x, x, i, radius_x, band_x, strict, metric, cast, cast_bits
        )
        counts_y[i] = _screened_count(
            bits_y, y, i, radius_y, band_y, strict, metric, cast, cast_bits
        )


# The int16 screen of the max-norm (:func:`_quantized_rows`): values centred and scaled to at
# most _QUANTA in magnitude, rounded to integers, so that differences fit in int16 and a key is
# computed 16 lanes wide instead of float32's 8 (measured 2x faster keys at n = 5,000).
_QUANTA = 16_383
# A quantized key is within this many quanta of the scaled exact distance: two roundings to the
# nearest integer (1/2 each) and float64 roundings of the scaling (below 1e-10 quanta).
_QUANTUM_BAND = 1.0 + 1e-6
# The int16 screen is used where a quantum is at most this fraction of the smallest column's
# standard deviation (every column within about 16 standard deviations of its centre), so
# that few distances fall within a band of the radii; else the float32 screen.
_QUANTUM_MAX_FRACTION = 1e-3


@njit(nogil=True, cache=True, boundscheck=False)
def _quantized_keys_to(data, i, j0, j1, keys):
    """keys[j] for j0 <= j < j1: max_c |data[c, j] - data[c, i]| of a (d, n) int16 array of
    quantized values (:func:`_int16_screen`; the differences fit in int16), computed in int16
    (the casts let LLVM keep 16-bit lanes), two coordinates at a time as :func:`_keys_to`."""
    d = data.shape[0]
    a, b = _span(j0, j1)
    if d % 2 == 1:
        a0 = data[0, i]
        for j in range(a, b):
            keys[j] = abs(np.int16(data[0, j] - a0))
        c = 1
    else:
        a0 = data[0, i]
        a1 = data[1, i]
        for j in range(a, b):
            keys[j] = max(abs(np.int16(data[0, j] - a0)), abs(np.int16(data[1, j] - a1)))
        c = 2
    while c + 2 <= d:
        r0 = np.uint64(c)
        r1 = np.uint64(c + 1)
        a0 = data[r0, i]
        a1 = data[r1, i]
        for j in range(a, b):
            keys[j] = max(
                keys[j], max(abs(np.int16(data[r0, j] - a0)), abs(np.int16(data[r1, j] - a1)))
            )
        c += 2


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _quantized_limit(value):
    """``value`` (a float) rounded as given and clamped to the keys' range [0, 32767], as int16."""
    return np.int16(min(max(value, 0.0), 32767.0))


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _quantized_thresholds(radius, scale):
    """(below, above), int16: a quantized key below ``below`` is surely within ``radius`` (in
    the max-norm), one above ``above`` surely not (|key - scale * distance| <= _QUANTUM_BAND).
    Clamped to the keys' range, where they stay true."""
    scaled = radius * scale
    below = _quantized_limit(np.ceil(scaled * (1.0 - 1e-12) - _QUANTUM_BAND))
    above = _quantized_limit(np.floor(scaled * (1.0 + 1e-12) + _QUANTUM_BAND))
    return below, above


@njit(nogil=True, cache=True, boundscheck=False)
def _quantized_rows(xq, yq, x, y, scale, k, variant, rows, keys, counts_x, counts_y):
    """:func:`_screened_rows` for the max-norm with int16 keys: xq, yq (d, n) the values
    quantized by :func:`_int16_screen` with ``scale`` quanta per unit (the same for X and Y, so
    that the joint key is the larger of the two), keys (2, n) int16 scratch.

    A key is within _QUANTUM_BAND of ``scale`` times the exact float64 distance, so the
    decisions are those of :func:`_screened_rows`: a key outside the band around a threshold
    decides the comparison as the exact distance would, and every comparison inside it is made
    on the exact distance. The k-th distance is bounded by the (k + 1)-th smallest block
    minimum M as there: the k nearest have keys at most M + 2 bands, below M + 3.
    """
    n = x.shape[0]
    keys_x = keys[0]
    keys_y = keys[1]
    best_d = np.empty(k)
    best_j = np.empty(k, np.int64)
    blocks = (n + _SCREEN - 1) // _SCREEN
    minima = np.empty(blocks, keys.dtype)
    smallest = np.empty(min(k + 1, blocks), keys.dtype)
    for i in rows:
        for j0 in range(0, n, _CHUNK):
            j1 = min(n, j0 + _CHUNK)
            _quantized_keys_to(xq, i, j0, j1, keys_x)
            _quantized_keys_to(yq, i, j0, j1, keys_y)
            for b0 in range(j0, j1, _SCREEN):  # _CHUNK is a multiple of _SCREEN
                minima[b0 // _SCREEN] = _block_minimum(keys_x, keys_y, b0, min(j1, b0 + _SCREEN))
        for m in range(k):
            best_d[m] = np.inf
            best_j[m] = -1
        kth = np.inf
        limit = np.int16(32767)
        if blocks > k:
            _smallest_of(minima, smallest)
            limit = _quantized_limit(smallest[k] + 3.0)
        for b in range(blocks):
            if minima[b] > limit:
                continue
            for j in range(b * _SCREEN, min(n, (b + 1) * _SCREEN)):
                if max(keys_x[j], keys_y[j]) > limit or j == i:
                    continue
                d = max(_exact_distance(x, i, j, CHEBYSHEV), _exact_distance(y, i, j, CHEBYSHEV))
                # j grows, so an equal distance never displaces a smaller index.
                if d < kth:
                    kth = _insert_nearest(best_d, best_j, d, j)
                    if kth < np.inf:
                        limit = min(limit, _quantized_thresholds(kth, scale)[1])
        radius_x, radius_y = _variant_radii(x, y, i, best_j, kth, variant, CHEBYSHEV)
        strict = variant == 1
        below, above = _quantized_thresholds(radius_x, scale)
        counts_x[i] = _count_span(keys_x, x, i, 0, n, below, above, radius_x, strict, CHEBYSHEV) - 1
        below, above = _quantized_thresholds(radius_y, scale)
        counts_y[i] = _count_span(keys_y, y, i, 0, n, below, above, radius_y, strict, CHEBYSHEV) - 1


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _before(d, o, best_d, best_o, m):
    """Whether (distance d, sample o) comes before neighbour m of the list: the smaller
    distance first, the smaller original sample index among equal distances (a stable sort's
    order, whatever order the samples are looked at in)."""
    return d < best_d[m] or (d == best_d[m] and o < best_o[m])


@njit(nogil=True, cache=True, boundscheck=False)
def _nearest_in_range(
    xs, ys, x, y, order, p, j0, j1, metric, band, keys_x, keys_y, best_d, best_j, best_o, limit
):
    """Screen positions j0 <= j < j1 for the k nearest of position p (k = len(best_d)), in
    chunks of _CHUNK: both margins' keys are computed and stored (the counts use them), and a
    position is looked at exactly only if its joint key is within ``limit[0]`` (the key above
    the current k-th distance, plus the band). ``best_*`` hold the k nearest so far: exact
    distances, positions and original indices, in the order of :func:`_before`."""
    k = best_d.shape[0]
    bound = limit[0]
    for c0 in range(j0, j1, _CHUNK):
        c1 = min(j1, c0 + _CHUNK)
        _keys_to(xs, p, c0, c1, metric, keys_x)
        _keys_to(ys, p, c0, c1, metric, keys_y)
        # Sub-blocks of _SCREEN keys, counted against the limit in one vectorised pass each:
        # the scalar search below runs on few of them.
        for b0 in range(c0, c1, _SCREEN):
            b1 = min(c1, b0 + _SCREEN)
            if not _any_within(keys_x, keys_y, b0, b1, bound):
                continue
            for j in range(b0, b1):
                if max(keys_x[j], keys_y[j]) > bound or j == p:
                    continue
                d = max(_exact_distance(x, p, j, metric), _exact_distance(y, p, j, metric))
                o = order[j]
                if not _before(d, o, best_d, best_o, k - 1):
                    continue
                m = k - 1
                while m > 0 and _before(d, o, best_d, best_o, m - 1):
                    best_d[m] = best_d[m - 1]
                    best_j[m] = best_j[m - 1]
                    best_o[m] = best_o[m - 1]
                    m -= 1
                best_d[m] = d
                best_j[m] = j
                best_o[m] = o
                if best_d[k - 1] < np.inf:
                    limit[0] = _key_above(best_d[k - 1], band, metric)
                    bound = limit[0]


@njit(nogil=True, cache=True, boundscheck=False)
def _block_gaps(lo, hi, z, p, metric, out):
    """out[b]: a lower bound on the distance from sample p (row p of the (n, d) float64 ``z``)
    to every sample of block b, whose coordinates lie in [lo[c, b], hi[c, b]].

    The bound is computed with the operations of :func:`_exact_distance` on the gaps to the
    box (a difference, its absolute value or square summed in coordinate order, a square
    root), each no larger than the corresponding term of any sample in the box; rounding is
    monotone, so no computed exact distance is below it, and a block whose bound exceeds a
    radius holds no sample within it, under either inequality.
    """
    d, nb = lo.shape
    chebyshev = metric == CHEBYSHEV or d == 1
    for b in range(nb):
        out[b] = 0.0
    for c in range(d):
        v = z[p, c]
        low = lo[c]
        high = hi[c]
        if chebyshev:
            for b in range(nb):
                out[b] = max(out[b], max(max(low[b] - v, v - high[b]), 0.0))
        else:
            for b in range(nb):
                t = max(max(low[b] - v, v - high[b]), 0.0)
                out[b] = out[b] + t * t
    if not chebyshev:
        for b in range(nb):
            out[b] = math.sqrt(out[b])


@njit(nogil=True, cache=True, boundscheck=False)
def _fill_holes(need, longest):
    """Set the runs of at most ``longest`` False entries between two True ones to True: one
    longer run of blocks costs less than two calls on shorter ones."""
    nb = need.shape[0]
    last = -1  # the last True entry seen
    for b in range(nb):
        if need[b]:
            if last >= 0 and 1 < b - last <= longest + 1:
                for c in range(last + 1, b):
                    need[c] = True
            last = b


@njit(nogil=True, cache=True, boundscheck=False)
def _count_blocks(
    keys, bits, data, z, p, gaps, radius, band, strict, metric, done, need, cast, cast_bits
):
    """Other samples within ``radius`` of position p (strictly closer if ``strict``) in one
    margin, looking only at the blocks whose gap (:func:`_block_gaps`) is within the radius;
    the keys of the blocks not yet ``done`` are computed first. Keys below the band are
    counted, keys above it are not, the few inside it are decided by the exact distance."""
    n = keys.shape[0]
    nb = gaps.shape[0]
    below, above = _thresholds(radius, band, metric, cast, cast_bits)
    for b in range(nb):
        need[b] = gaps[b] <= radius
    _fill_holes(need, _HOLE)
    count = 0
    b = 0
    while b < nb:
        if not need[b]:
            b += 1
            continue
        e = b + 1
        while e < nb and need[e]:
            e += 1
        # Keys for the blocks of this run that the neighbour search did not compute.
        c = b
        while c < e:
            if done[c]:
                c += 1
                continue
            f = c + 1
            while f < e and not done[f]:
                f += 1
            _keys_to(data, p, c * _BLOCK, min(n, f * _BLOCK), metric, keys)
            c = f
        count += _count_span(
            bits, z, p, b * _BLOCK, min(n, e * _BLOCK), below, above, radius, strict, metric
        )
        b = e
    return count - 1  # the sample itself, at distance 0, is inside whenever radius > 0


@njit(nogil=True, cache=True, boundscheck=False)
def _pruned_rows(
    xs, ys, x, y, order, boxes, band_x, band_y, metric, k, variant, positions, keys, bits,
    counts_x, counts_y,
):
    """:func:`_screened_rows` with blocks of samples skipped where no sample of theirs can
    matter: the counts of the samples at ``positions``, screened in the dtype of ``xs``, ``ys``
    ((d, n), float32, centred), decided in float64.

    The samples are in a spatial order (``order[p]``: the original index of the sample at
    position p; a KD-tree's leaf order), cut into blocks of _BLOCK positions with bounding
    boxes ``boxes`` = (lo_x, hi_x, lo_y, hi_y), each (d, number of blocks). For position p:

    - the k nearest: first the _CHUNK positions around p (near neighbours, so the k-th
      distance is nearly final at once), then every block whose joint gap (the larger of the
      two margins' :func:`_block_gaps`) is within the current k-th distance;
    - the counts: the blocks whose gap in that margin is within the radius.

    Results go to ``counts_x[order[p]]``, ``counts_y[order[p]]``. x, y : (n, d) float64 rows
    in that order, from which every distance that decides anything is computed exactly
    (:func:`_exact_distance`). band_x, band_y : bounds on the difference between a screening
    key and the key of the exact distance (plus the cast of a threshold to the screen's
    dtype), so a key outside the band around a threshold decides a comparison as the exact
    distance would. keys : (2, n) scratch in the screen's dtype; bits : the same memory
    viewed as integers of that width.

    The k nearest are those of the plain reference (ties to the smaller original index): a
    sample is looked at exactly only if its key is within the band of the current k-th
    distance; the counts take the exact distance only inside the band around the radius.
    """
    n = x.shape[0]
    lo_x, hi_x, lo_y, hi_y = boxes
    nb = lo_x.shape[1]
    keys_x = keys[0]
    keys_y = keys[1]
    band = max(band_x, band_y)
    best_d = np.empty(k)
    best_j = np.empty(k, np.int64)
    best_o = np.empty(k, np.int64)
    cast = np.empty(2, keys.dtype)  # thresholds in the keys' dtype
    cast_bits = cast.view(bits.dtype)
    limit = np.empty(1, keys.dtype)
    gaps_x = np.empty(nb)
    gaps_y = np.empty(nb)
    done_x = np.zeros(nb, np.bool_)  # blocks whose keys are computed for this row
    done_y = np.zeros(nb, np.bool_)
    need = np.zeros(nb, np.bool_)
    around = max(1, _CHUNK // _BLOCK)
    for p in positions:
        for m in range(k):
            best_d[m] = np.inf
            best_j[m] = -1
            best_o[m] = n  # after every sample
        limit[0] = np.inf
        done_x[:] = False
        done_y[:] = False
        _block_gaps(lo_x, hi_x, x, p, metric, gaps_x)
        _block_gaps(lo_y, hi_y, y, p, metric, gaps_y)
        # The neighbourhood of p in the spatial order first, then the blocks that may hold a
        # sample nearer than the current k-th.
        first = max(0, min(p // _BLOCK - around // 2, nb - around))
        last = min(nb, first + around)
        _nearest_in_range(
            xs, ys, x, y, order, p, first * _BLOCK, min(n, last * _BLOCK), metric, band,
            keys_x, keys_y, best_d, best_j, best_o, limit,
        )
        done_x[first:last] = True
        done_y[first:last] = True
        kth = best_d[k - 1]
        for b in range(nb):
            need[b] = max(gaps_x[b], gaps_y[b]) <= kth
        _fill_holes(need, _HOLE)
        b = 0
        while b < nb:
            if done_x[b] or not need[b]:
                b += 1
                continue
            e = b + 1
            while e < nb and not done_x[e] and need[e]:
                e += 1
            _nearest_in_range(
                xs, ys, x, y, order, p, b * _BLOCK, min(n, e * _BLOCK), metric, band,
                keys_x, keys_y, best_d, best_j, best_o, limit,
            )
            done_x[b:e] = True
            done_y[b:e] = True
            b = e
        if variant == 1:
            radius_x = best_d[k - 1]
            radius_y = radius_x
        else:
            radius_x = 0.0
            radius_y = 0.0
            for m in range(k):
                radius_x = max(radius_x, _exact_distance(x, p, best_j[m], metric))
                radius_y = max(radius_y, _exact_distance(y, p, best_j[m], metric))
        strict = variant == 1
        counts_x[order[p]] = _count_blocks(
            keys_x, bits[0], xs, x, p, gaps_x, radius_x, band_x, strict, metric, done_x, need,
            cast, cast_bits,
        )
        counts_y[order[p]] = _count_blocks(
            keys_y, bits[1], ys, y, p, gaps_y, radius_y, band_y, strict, metric, done_y, need,
            cast, cast_bits,
        )


def _boxes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), each (d, number of blocks): the bounding box of every _BLOCK consecutive rows
    of the (n, d) float64 ``values``."""
    starts = np.arange(0, values.shape[0], _BLOCK)
    lo = np.minimum.reduceat(values, starts, axis=0)
    hi = np.maximum.reduceat(values, starts, axis=0)
    return np.ascontiguousarray(lo.T), np.ascontiguousarray(hi.T)


def _float32_screen(values: np.ndarray, metric: int):
    """(values centred, (d, n) float32; the band of its keys), or None where float32 cannot
    screen these values (too large, too small, not finite).

    The band bounds |key32 - key| (key: the exact float64 distance, or its square), plus the
    rounding of a threshold to float32. With M the largest centred |value|, u = 2^-24: each
    coordinate difference is within 4uM (1 + O(u)) of the exact one (two roundings of the
    values, one of the difference), so a max-norm key within about 4uM, a threshold cast within
    2uM: 10uM covers both. A squared difference is then within e (4M + e) + 4uM^2 of the
    exact one, about 20uM^2 per coordinate, and a float32 sum of d terms no larger than 4M^2
    adds (d - 1) u d 4M^2; a threshold up to 4dM^2 casts within 4udM^2: 5d^2 + 40d times
    uM^2 covers all.
    """
    d = values.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        low = values.min(axis=0)
        high = values.max(axis=0)
        centre = 0.5 * low + 0.5 * high
        largest = float(np.max(np.maximum(high - centre, centre - low)))
    if not (1e-15 < largest < 1e15):
        return None
    centred = np.ascontiguousarray((values - centre).T, dtype=np.float32)
    if metric == CHEBYSHEV:
        band = 10.0 * _U32 * largest
    else:
        band = (5.0 * d * d + 40.0 * d) * _U32 * largest * largest
    return centred, band


def _int16_screen(x: np.ndarray, y: np.ndarray):
    """(xq, yq, scale): the values centred per column, times ``scale`` and rounded, as (d, n)
    int16 arrays, with |value| <= _QUANTA (so differences fit in int16); or None where a quantum
    would be coarse (:data:`_QUANTUM_MAX_FRACTION`) or the values not finite.

    X and Y share the scale, so that a joint key is the larger of the two margins' keys.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        low = np.concatenate([x.min(axis=0), y.min(axis=0)])
        high = np.concatenate([x.max(axis=0), y.max(axis=0)])
        centre = 0.5 * low + 0.5 * high
        largest = float(np.max(np.maximum(high - centre, centre - low)))
        spread = float(np.min(np.concatenate([x.std(axis=0), y.std(axis=0)])))
    if not (np.isfinite(largest) and largest > 0 and spread > 0):
        return None
    if largest / _QUANTA > _QUANTUM_MAX_FRACTION * spread:
        return None
    scale = _QUANTA / (largest * (1.0 + 1e-9))
    d_x = x.shape[1]
    xq = np.rint((x - centre[:d_x]) * scale).T.astype(np.int16)
    yq = np.rint((y - centre[d_x:]) * scale).T.astype(np.int16)
    return np.ascontiguousarray(xq), np.ascontiguousarray(yq), scale


def brute_counts(
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    variant: int,
    workers: int,
    rows: np.ndarray | None = None,
    metric: str = "chebyshev",
    screened: bool | None = None,
    pruned: bool | None = None,
    quantized: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Marginal counts n_x, n_y (sample itself excluded) by the exact screened brute force.

    ``metric`` is "chebyshev" (max-norm in each margin) or "euclidean" (Euclidean norm in each
    margin); the joint distance is the larger of the two marginal ones. Distances are screened
    in float32 and decided in float64 (:func:`_screened_rows`), so the counts equal those from
    float64 distances computed plainly. Only ``rows`` (default: all) are computed; the other
    entries of the result are undefined. Memory: the inputs in float32 and float64, two
    length-n rows per thread.

    ``screened`` None takes the plain float64 kernel (:func:`_brute_rows`, max-norm only) for
    fewer than _SCREEN_MIN_SAMPLES samples and the screen otherwise; True or False forces one
    (the counts are the same). ``pruned`` None skips blocks of samples by their bounding boxes
    (:func:`_pruned_rows`) from _PRUNE_MIN_SAMPLES samples in at most _PRUNE_MAX_DIMENSIONS
    dimensions together, where float32 can screen the values; True or False forces it on or
    off there (the counts are the same). ``quantized`` None screens the max-norm with int16
    keys (:func:`_quantized_rows`, before the float32 screen and the pruned kernel) where
    :func:`_int16_screen` accepts the values and ``pruned`` is not True; False never does
    (the counts are the same).
    """
    metric_code = METRICS[metric]
    n = x.shape[0]
    if screened is None:
        screened = metric_code != CHEBYSHEV or n >= _SCREEN_MIN_SAMPLES
    if not screened:
        if metric_code != CHEBYSHEV:
            raise ValueError("the plain kernel computes the max-norm only")
        return _plain_counts(x, y, k, variant, workers, rows)
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if metric_code == CHEBYSHEV and quantized is not False and not pruned:
        screen = _int16_screen(x, y)
        if screen is not None:
            return _quantized_counts(x, y, *screen, k, variant, workers, rows)
    screen_x = _float32_screen(x, metric_code)
    screen_y = _float32_screen(y, metric_code)
    if screen_x is None or screen_y is None:
        # float64 keys computed as the exact distances are (max-norm) or their exact squares:
        # the band only has to cover the relative 1e-12 of the thresholds.
        xs, band_x = np.ascontiguousarray(x.T), 0.0
        ys, band_y = np.ascontiguousarray(y.T), 0.0
    else:
        (xs, band_x), (ys, band_y) = screen_x, screen_y
        if pruned is None:
            pruned = n >= _PRUNE_MIN_SAMPLES and x.shape[1] + y.shape[1] <= _PRUNE_MAX_DIMENSIONS
        if pruned:
            return _pruned_counts(x, y, xs, ys, band_x, band_y, metric_code, k, variant, workers, rows)
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    counts_x = np.empty(n, dtype=np.int64)
    counts_y = np.empty(n, dtype=np.int64)
    workers = max(1, min(workers, rows.size))
    workspaces = [np.empty((2, n), dtype=xs.dtype) for _ in range(workers)]
    bits = np.int32 if xs.dtype == np.float32 else np.int64

    def task(start, stop, slot):
        _screened_rows(
            xs, ys, x, y, band_x, band_y, metric_code, k, variant, rows[start:stop],
            workspaces[slot], workspaces[slot].view(bits), counts_x, counts_y,
        )

    if rows.size:
        _run_in_threads(task, rows.size, workers)
    return counts_x, counts_y


def _quantized_counts(x, y, xq, yq, scale, k, variant, workers, rows):
    """:func:`brute_counts` by the int16 screen of the max-norm (:func:`_quantized_rows`)."""
    n = x.shape[0]
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    counts_x = np.empty(n, dtype=np.int64)
    counts_y = np.empty(n, dtype=np.int64)
    workers = max(1, min(workers, rows.size))
    workspaces = [np.empty((2, n), dtype=np.int16) for _ in range(workers)]

    def task(start, stop, slot):
        _quantized_rows(
            xq, yq, x, y, scale, k, variant, rows[start:stop], workspaces[slot], counts_x,
            counts_y,
        )

    if rows.size:
        _run_in_threads(task, rows.size, workers)
    return counts_x, counts_y


def _pruned_counts(x, y, xs, ys, band_x, band_y, metric_code, k, variant, workers, rows):
    """:func:`brute_counts` by :func:`_pruned_rows`: the samples in a spatial order
    (:func:`_spatial_order`), blocks of them skipped by their bounding boxes."""
    n = x.shape[0]
    order = _spatial_order(xs, ys)
    xs = np.ascontiguousarray(xs[:, order])
    ys = np.ascontiguousarray(ys[:, order])
    x = x[order]
    y = y[order]
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n, dtype=np.int64)
    # In the spatial order, so that each thread's rows (and consecutive rows) are neighbours.
    positions = np.sort(position[rows])
    counts_x = np.empty(n, dtype=np.int64)
    counts_y = np.empty(n, dtype=np.int64)
    workers = max(1, min(workers, positions.size))
    workspaces = [np.empty((2, n), dtype=xs.dtype) for _ in range(workers)]
    boxes = (*_boxes(x), *_boxes(y))
    bits = np.int32 if xs.dtype == np.float32 else np.int64

    def task(start, stop, slot):
        _pruned_rows(
            xs, ys, x, y, order, boxes, band_x, band_y, metric_code, k, variant,
            positions[start:stop], workspaces[slot], workspaces[slot].view(bits), counts_x,
            counts_y,
        )

    if positions.size:
        _run_in_threads(task, positions.size, workers)
    return counts_x, counts_y


def _spatial_order(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """A permutation of the samples that keeps near samples (in the joint space) at near
    positions: the leaf order of a KD-tree of the (d, n) screening copies.

    Any order gives the same counts; this one makes the samples screened first for each row
    (the _CHUNK positions around it) near neighbours, so the screen's limit is nearly final
    from the start. The tree costs about n log n (milliseconds at n = 20,000).
    """
    joint = np.concatenate([xs, ys]).T.astype(np.float64)
    tree = cKDTree(joint, leafsize=_LEAF_SIZE, balanced_tree=False, compact_nodes=False)
    return np.asarray(tree.indices, dtype=np.int64)


def _plain_counts(x, y, k, variant, workers, rows):
    """:func:`brute_counts` by the plain float64 max-norm kernel :func:`_brute_rows`."""
    n = x.shape[0]
    x_t = np.ascontiguousarray(x.T)
    y_t = np.ascontiguousarray(y.T)
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    counts_x = np.empty(n, dtype=np.int64)
    counts_y = np.empty(n, dtype=np.int64)
    workers = max(1, min(workers, rows.size))
    workspaces = [np.empty((2, n)) for _ in range(workers)]

    def task(start, stop, slot):
        _brute_rows(x_t, y_t, k, variant, rows[start:stop], workspaces[slot], counts_x, counts_y)

    if rows.size:
        _run_in_threads(task, rows.size, workers)
    return counts_x, counts_y


@njit(nogil=True, cache=True, boundscheck=False)
def _mixed_brute_rows(x_t, y_t, k, strict, rows, work, radius, copies, counts_x, counts_y):
    """Mixed-KSG quantities of ``rows`` by one exact pass over all samples per row.

    radius[i]: the k-th smallest joint distance to the other samples (0 if i has k copies);
    copies[i]: the other samples at joint distance 0; counts_x[i], counts_y[i]: the other
    samples within radius[i] in each margin, strictly closer if ``strict``, and at distance 0
    (the margin's copies) where the radius is 0, under either inequality.
    """
    n = x_t.shape[1]
    dist_x = work[0]
    dist_y = work[1]
    best_d = np.empty(k)
    best_j = np.empty(k, np.int64)
    for i in rows:
        _chebyshev_to(x_t, i, dist_x)
        _chebyshev_to(y_t, i, dist_y)
        kth = _k_nearest(dist_x, dist_y, i, best_d, best_j)
        zeros = 0
        for j in range(n):
            zeros += max(dist_x[j], dist_y[j]) == 0.0
        radius[i] = kth
        copies[i] = zeros - 1  # the sample itself is at distance 0
        # At radius 0 the mixed estimator counts the copies, under either inequality.
        counts_x[i], counts_y[i] = _other_samples_within(
            dist_x, dist_y, kth, kth, strict and kth > 0.0
        )


def mixed_brute_counts(
    x: np.ndarray, y: np.ndarray, k: int, strict: bool, workers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(radius, copies, n_x, n_y) of the mixed KSG estimator by the exact brute force.

    See :func:`_mixed_brute_rows`; memory two length-n rows per thread, as :func:`brute_counts`.
    """
    n = x.shape[0]
    x_t = np.ascontiguousarray(x.T)
    y_t = np.ascontiguousarray(y.T)
    rows = np.arange(n, dtype=np.int64)
    radius = np.empty(n)
    copies, counts_x, counts_y = (np.empty(n, dtype=np.int64) for _ in range(3))
    workers = max(1, min(workers, n))
    workspaces = [np.empty((2, n)) for _ in range(workers)]

    def task(start, stop, slot):
        _mixed_brute_rows(
            x_t, y_t, k, strict, rows[start:stop], workspaces[slot], radius, copies, counts_x,
            counts_y,
        )

    _run_in_threads(task, n, workers)
    return radius, copies, counts_x, counts_y


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _inside(distance, radius, strict):
    return distance < radius if strict else distance <= radius


@njit(nogil=True, cache=True, boundscheck=False)
def _sorted_count_rows(sorted_values, radii, strict, start, stop, out):
    """Counts for the samples at sorted positions start..stop, radii and out in sorted order.

    out[p] = #{q : |s_q - s_p| < r_p} (<= unless strict) minus the sample itself. In floating
    point s - v is monotone in s, so the samples within the radius form one run of the sorted
    column, found by searching on the exact predicate: the count equals the one from computed
    distances even where v +- r would round. The searches gallop out from the sample's own
    position, so they cost O(log count) and stay in cache, taken in sorted order.
    """
    n = sorted_values.shape[0]
    for p in range(start, stop):
        v = sorted_values[p]
        r = radii[p]
        # first: the first q with s_q >= v, or s_q < v within the radius; first <= p.
        hi = p
        lo = 0
        step = 1
        while True:
            q = hi - step
            if q < 0:
                break
            if sorted_values[q] >= v or _inside(v - sorted_values[q], r, strict):
                hi = q
                step *= 2
            else:
                lo = q + 1
                break
        while lo < hi:
            mid = (lo + hi) >> 1
            s = sorted_values[mid]
            if s >= v or _inside(v - s, r, strict):
                hi = mid
            else:
                lo = mid + 1
        first = lo
        # end: the first q with s_q >= v beyond the radius; every q < first has s_q < v.
        lo = first
        hi = n
        s = sorted_values[lo]
        if not (s >= v and not _inside(s - v, r, strict)):
            step = 1
            while True:
                q = lo + step
                if q >= n:
                    break
                s = sorted_values[q]
                if s >= v and not _inside(s - v, r, strict):
                    hi = q
                    break
                lo = q
                step *= 2
            lo += 1
            while lo < hi:
                mid = (lo + hi) >> 1
                s = sorted_values[mid]
                if s >= v and not _inside(s - v, r, strict):
                    hi = mid
                else:
                    lo = mid + 1
        out[p] = lo - first - 1


def sorted_counts(values: np.ndarray, radii: np.ndarray, strict: bool, workers: int) -> np.ndarray:
    """Number of other samples of a 1-D column within ``radii``: O(n log n), exact."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    # Everything in sorted order: the searches of neighbouring samples touch the same memory.
    order = np.argsort(values)
    sorted_values = values[order]
    sorted_radii = np.ascontiguousarray(np.asarray(radii, dtype=np.float64)[order])
    sorted_out = np.empty(values.shape[0], dtype=np.int64)

    def task(start, stop, slot):
        _sorted_count_rows(sorted_values, sorted_radii, strict, start, stop, sorted_out)

    # A row's searches cost some hundred nanoseconds: chunks of thousands of rows.
    _run_in_threads(task, values.shape[0], workers, min_rows=_MIN_SORTED_CHUNK_ROWS)
    out = np.empty_like(sorted_out)
    out[order] = sorted_out
    return out
