"""Chunks of memory accesses: how workloads and trace readers hand references to the engine."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np

#: References per chunk a workload generator yields (the unit of the run loops and of progress).
CHUNK = 1 << 16


#: The position :meth:`NextAccesses.positions` gives an access that has no next access.
NO_NEXT = -1


class NextAccesses(NamedTuple):
    """A chunk's next accesses as a trace records them (oracleGeneral's next-access field): read
    as they are and checked only by a reader that uses them (:meth:`positions`), so a replay that
    ignores them pays nothing. ``base``: what the trace calls its first request (0 or 1);
    ``start``: the chunk's first access's position in the stream; ``limit``: where the stream is
    cut (a next access past it is none)."""

    raw: np.ndarray
    base: int
    start: int
    limit: int | None
    source: str

    def positions(self, pages: np.ndarray) -> np.ndarray:
        """Each access's next access as a stream position (-1: none), after checking that every
        one within the chunk is a later access to the same page (a TraceError if not)."""
        from vmsim.errors import TraceError

        at = self.raw.astype(np.int64) - self.base
        none = (self.raw < 0) | (self.raw >= _NONE_FROM)
        if self.limit is not None:
            none |= at >= self.limit
        local = at - self.start
        inside = ~none & (local < len(pages))
        if np.any(~none & (local <= np.arange(len(pages)))) or not np.array_equal(pages[local[inside]], pages[inside]):
            raise TraceError(
                f"the next-access field of requests {self.start:,}-{self.start + len(pages) - 1:,} does not match "
                "the requests (its first requests' did); vmsim convert writes the field anew",
                source=self.source,
            )
        return np.where(none, NO_NEXT, at)


#: Next-access values from here up mean "none" (libCacheSim writes INT64_MAX; this is also
#: vmsim.policies.base.NEVER, which this layer cannot import).
_NONE_FROM = 1 << 62


class Chunk(NamedTuple):
    """A run of accesses in order: virtual page numbers, write flags, and owning processes.

    ``writes`` None means every access reads; ``pids`` None means every access is process 0.
    ``nexts``, from a trace that records them (oracleGeneral): each access's next access to the same
    page (:class:`NextAccesses`); a chunk made from others (folded, cut, rechunked) drops them.
    """

    pages: np.ndarray
    writes: np.ndarray | None = None
    pids: np.ndarray | None = None
    nexts: NextAccesses | None = None

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
