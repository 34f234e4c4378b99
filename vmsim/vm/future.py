"""The future of a stream, for policies that need it (OPT): each access's next use."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import numpy as np

from vmsim.hw.access import Chunk
from vmsim.policies.base import NEVER

_SLICE = 1 << 18


def next_use(chunks: list[Chunk]) -> np.ndarray:
    """For each access, the index of the next access to the same (process, page); NEVER if none."""
    pages = np.concatenate([c.pages for c in chunks]) if chunks else np.empty(0, np.int64)
    n = len(pages)
    if any(c.pids is not None for c in chunks):
        pids = np.concatenate([(c.pids if c.pids is not None else np.zeros(len(c), np.int64)) for c in chunks])
        pairs = np.stack([pids.astype(np.int64), pages.astype(np.int64)], axis=1)
        keys = np.unique(pairs, axis=0, return_inverse=True)[1].reshape(-1)
    else:
        keys = pages
    order = np.argsort(keys, kind="stable")
    nxt = np.full(n, NEVER, dtype=np.int64)
    if n > 1:
        sk = keys[order]
        same = sk[1:] == sk[:-1]
        nxt[order[:-1][same]] = order[1:][same]
    return nxt


def iter_values(arr: np.ndarray) -> Iterator[int]:
    """The array's values as Python ints, converted a slice at a time."""
    return chain.from_iterable(arr[i : i + _SLICE].tolist() for i in range(0, len(arr), _SLICE))
