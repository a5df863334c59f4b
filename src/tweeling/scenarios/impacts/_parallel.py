"""Run a nogil numba kernel over contiguous blocks of its input in a few threads.

The kernels of the near-road models loop over (building, road segment) pairs grouped by building;
splitting the pairs at building boundaries gives blocks that write disjoint rows of the output,
so they can run side by side without locks. The number of threads is numba's
(``NUMBA_NUM_THREADS``, by default the number of cores).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numba
import numpy as np

T = TypeVar("T")


def block_bounds(sorted_keys: np.ndarray, parts: int | None = None) -> list[tuple[int, int]]:
    """Split positions ``0..len(sorted_keys)`` into at most ``parts`` (default: numba's thread count)
    contiguous ranges ``(first, last)`` of about equal size, never splitting a run of equal keys."""
    n = int(sorted_keys.size)
    parts = max(1, min(parts or numba.get_num_threads(), n))
    cuts = np.searchsorted(sorted_keys, sorted_keys[np.linspace(0, n, parts + 1).astype(np.int64)[1:-1]])
    edges = np.unique(np.r_[0, cuts, n])
    return [(int(first), int(last)) for first, last in itertools.pairwise(edges)] or [(0, 0)]


def in_threads(work: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]) -> list[T]:
    """``work(first, last)`` for every block, the blocks in parallel threads; results in block order."""
    if len(blocks) == 1:
        return [work(*blocks[0])]
    with ThreadPoolExecutor(max_workers=len(blocks)) as pool:
        return list(pool.map(lambda bounds: work(*bounds), blocks))
