"""Chunks of memory accesses: how workloads and trace readers hand references to the engine."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np

#: References per chunk a workload generator yields (the unit of the run loops and of progress).
CHUNK = 1 << 16


class Chunk(NamedTuple):
    """A run of accesses in order: virtual page numbers, write flags, and owning processes.

    ``writes`` None means every access reads; ``pids`` None means every access is process 0.
    ``nexts``, from a trace that records it (oracleGeneral): each access's next access to the same
    page, as its position in the whole stream (0 for the stream's first access), -1 if none; a
    chunk made from others (folded, cut, rechunked) drops it.
    """

    pages: np.ndarray
    writes: np.ndarray | None = None
    pids: np.ndarray | None = None
    nexts: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pages)


def rechunk(pieces: Iterable[tuple[np.ndarray, np.ndarray | None]], size: int) -> Iterator[Chunk]:
    """Cut a stream of (pages, writes) arrays into chunks of exactly ``size`` accesses (the last
    one shorter). ``writes`` must be None in every piece or in none. Holds under 2 * size accesses
    when no piece is longer than ``size``."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    pbuf: list[np.ndarray] = []
    wbuf: list[np.ndarray] = []
    held = 0
    with_writes: bool | None = None
    for pages, writes in pieces:
        if with_writes is None:
            with_writes = writes is not None
        if not len(pages):
            continue
        pbuf.append(pages)
        if with_writes:
            assert writes is not None
            wbuf.append(writes)
        held += len(pages)
        if held < size:
            continue
        allp = np.concatenate(pbuf)
        allw = np.concatenate(wbuf) if with_writes else None
        cut = 0
        while held - cut >= size:
            yield Chunk(allp[cut : cut + size], None if allw is None else allw[cut : cut + size])
            cut += size
        pbuf = [allp[cut:]] if held > cut else []
        wbuf = [allw[cut:]] if allw is not None and held > cut else []
        held -= cut
    if held:
        yield Chunk(np.concatenate(pbuf), np.concatenate(wbuf) if with_writes else None)
