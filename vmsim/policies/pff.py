"""PFF: page-fault frequency as a replacement-and-allocation policy."""

from __future__ import annotations

from typing import Annotated

from vmsim.policies._queues import FrameQueue
from vmsim.policies.base import Path, Range, Releasing, register


@register
class PFF(Releasing, FrameQueue):
    """Page-fault frequency (Chu and Opderbeck, "The page fault frequency replacement algorithm",
    AFIPS FJCC 1972). Time is the domain's virtual time: its accesses counted one by one (so the
    policy sees every hit and repeats are not folded).

    At a fault at time t (this access included), with t' the time of the domain's previous fault
    (0 before the first): if t - t' > ``threshold`` (faults are rare), every resident page not
    referenced since the previous fault is released first (freed, counted as an eviction and a
    write-back if dirty); otherwise nothing is released and the domain grows. Then the page goes
    into a free frame if there is one; if not (the pool, or the local quota, is full), the victim
    is the page loaded longest ago among those not referenced since the previous fault, or the page
    loaded longest ago if all were. Last, the referenced bits of the domain's other pages are
    cleared, so that "referenced since the previous fault" is what the bits say at the next one
    (the page just loaded keeps its bit: its loading access counts as a reference).

    Under a fixed pool the domain never holds more than the pool (local scope: its quota). Cost:
    O(1) per hit (a counter); O(n) per fault (the release scan and the clearing of the bits).
    """

    name = "pff"
    aliases = ("page-fault-frequency",)
    summary = "at a fault after more than threshold accesses, release pages unreferenced since the last"
    path = Path.HITS
    threshold: Annotated[int, Range(0, 10**12)] = 1000

    def setup(self) -> None:
        super().setup()
        self._now = 0  # accesses so far
        self._last_fault = 0

    def hit(self, frame: int) -> None:
        self._now += 1

    def release(self) -> list[int]:
        t = self._now + 1
        gone: list[int] = []
        if t - self._last_fault > self.threshold:
            ref, members = self.frames.referenced, self._queue
            gone = [f for f in members if not ref[f]]
            for f in gone:
                del members[f]
        self._last_fault = t
        return gone

    def victim(self) -> int:
        ref = self.frames.referenced
        members = self._queue
        f = next((f for f in members if not ref[f]), None)
        if f is None:
            f = next(iter(members))
        del members[f]
        return f

    def insert(self, frame: int) -> None:
        self._now += 1
        ref = self.frames.referenced
        for f in self._queue:
            ref[f] = 0
        self._queue[frame] = None
