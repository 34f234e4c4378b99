"""Periodic policies' ticks by reference counts, for the replay engine (the kernel ticks from its
clock instead, calling ``Pager.tick`` from a SimPy process)."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.hw.access import Chunk
from vmsim.vm.loops import fold_repeats
from vmsim.vm.pager import Pager


class Ticker:
    """Every ``period`` accesses of the stream (all processes, counted before folding repeats)
    each domain's ``tick(now)`` runs, ``now`` being the accesses so far, and the frames it gives
    up are freed. Chunks are cut at tick boundaries and each piece is folded on its own, so a run of
    repeats that spans a tick (which may clear referenced bits) is not folded across it."""

    def __init__(self, pager: Pager, period: int, fold: bool) -> None:
        self.pager = pager
        self.period = period
        self.fold = fold
        self.now = 0
        self.next = period

    def run(self, chunk: Chunk, run_chunk: Callable[[Chunk], None]) -> None:
        """Run ``chunk`` in pieces that end at tick boundaries, ticking the policy between them."""
        pages, writes, pids = chunk.pages, chunk.writes, chunk.pids
        i, n = 0, len(pages)
        while i < n:
            j = min(n, i + self.next - self.now)
            piece = Chunk(pages[i:j], None if writes is None else writes[i:j], None if pids is None else pids[i:j])
            run_chunk(fold_repeats(piece) if self.fold else piece)
            self.now += j - i
            i = j
            if self.now == self.next:
                self.next += self.period
                self.pager.tick(self.now)
