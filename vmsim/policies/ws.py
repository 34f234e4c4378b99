"""Working set: keep the pages referenced in the last tau of virtual time, sampled by ticks."""

from __future__ import annotations

import random
from typing import Annotated

import numpy as np

from vmsim.hw.frames import FrameTable
from vmsim.policies._scan import KeyScan
from vmsim.policies.base import Path, Periodic, Range, RepeatIsNoop, register


@register
class WorkingSet(Periodic, RepeatIsNoop, KeyScan):
    """Denning's working-set policy ("The working set model for program behavior", CACM 1968),
    with the window sampled by referenced bits at every tick, as a replacement-and-allocation
    policy: the domain holds W(t, tau) and gives the other frames back.

    At every tick (time ``now``) each page whose referenced bit is set gets ``now`` as its time of
    last use and the bit is cleared; then every page whose last use is ``now - tau`` or older has
    left the window and is released (its frame freed; counted as an eviction, and a write-back if
    dirty). A page loaded since the last tick has its bit set, so it is never released before it has
    been sampled. With ``period=1`` this is Denning's W(t, tau) exactly: after the t-th access the
    domain holds the pages referenced among the last tau accesses.

    The working set may not fit: at a fault with no free frame the victim is the page not
    referenced since the last tick with the oldest last use; if all were referenced, the page
    with the oldest last use; ties go to the page loaded longest ago. (With ``period=1`` and a tau
    longer than the stream, that is exactly LRU.)

    Cost: nothing per hit; O(n) per tick (the sampling); O(n) per fault when memory is full (the
    scan), O(1) otherwise.
    """

    name = "ws"
    aliases = ("working-set",)
    summary = "Denning's working set: release pages unreferenced for tau (sampled every period)"
    path = Path.BITS

    # The signature declares the parameters, so it opens as Aging's and WSClock's do (on purpose);
    # WSClock also keeps this time of last use per frame and the latest tick's time, as the clock
    # approximation of this policy, but finds its victim by a sweep, not a scan.
    def __init__(
        self,
        frames: FrameTable,
        rng: random.Random,
        period: Periodic.Period = Periodic.DEFAULT_PERIOD,
        tau: Annotated[int, Range(1, 10**12)] = 10000,
    ) -> None:
        super().__init__(frames, rng)
        self.period = period
        self.tau = tau
        self._used = np.zeros(frames.n, dtype=np.int64)
        self._now = 0

    def insert(self, frame: int) -> None:
        self._used[frame] = self._now
        self._add(frame)

    def tick(self, now: int) -> list[int]:
        self._now = now
        m = self.members
        self._used[m[self._ref[m] != 0]] = now
        self._ref[m] = 0
        return self._keep(self._used[m] > now - self.tau).tolist()

    def _keys(self, members: np.ndarray) -> tuple[np.ndarray, ...]:
        return self._ref[members], self._used[members]
