"""2Q: a FIFO for pages seen once, an LRU for pages seen again, and a ghost list between them."""

from __future__ import annotations

from vmsim.policies._queues import GhostFiltered, GhostRatio
from vmsim.policies.base import OpenFraction, Path, RepeatIsNoop, register


@register
class TwoQ(RepeatIsNoop, GhostFiltered):
    """Full 2Q (Johnson & Shasha, VLDB 1994), as libCacheSim's TwoQ sizes it.

    A faulted page goes to A1in (FIFO) unless its number is in A1out, the ghost FIFO of pages
    recently evicted from A1in; then it goes to Am (LRU). A hit in Am moves the page to Am's MRU
    end; a hit in A1in changes nothing (correlated references). The victim is A1in's oldest page
    while A1in holds more than ``Kin = floor(kin * c)`` pages (its number then enters A1out, which
    keeps the last ``Kout = floor(kout * c)`` numbers), otherwise Am's LRU page. ``c`` is the
    number of frames this domain holds when it evicts (all frames under global scope).
    """

    name = "2q"
    aliases = ("twoq", "two-queue")
    summary = "2Q: FIFO A1in for new pages, LRU Am for re-referenced ones, ghost A1out (kin, kout)"
    path = Path.HITS
    kin: OpenFraction = 0.25
    kout: GhostRatio = 0.5
    _ghost_param = "kout"

    def setup(self) -> None:
        super().setup()
        self._resize(self.frames.n)

    def _resize(self, c: int) -> None:
        self._cap = c
        self._kin = int(c * self.kin)
        self._ghost_cap = int(c * self.kout)

    def _main_next(self) -> bool:
        return len(self._new) <= self._kin and bool(self._main)

    def hit(self, frame: int) -> None:
        am = self._main
        if frame in am:
            am.move_to_end(frame)

    def victim(self) -> int:
        size = len(self._new) + len(self._main)
        if size != self._cap:
            self._resize(size)
        if self._main_next():
            return self._main.popitem(last=False)[0]
        return self._to_ghost(self._new.popitem(last=False)[0])
