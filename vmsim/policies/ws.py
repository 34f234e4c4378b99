"""Working set: keep the pages referenced in the last tau of virtual time, sampled by ticks."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from vmsim.policies._scan import SampledUse
from vmsim.policies.base import Path, Periodic, Range, RepeatIsNoop, register


@register
class WorkingSet(Periodic, RepeatIsNoop, SampledUse):
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
    tau: Annotated[int, Range(1, 10**12)] = 10000

    def tick(self, now: int) -> list[int]:
        m, _ = self._sample_use(now)
        return self._keep(self._used[m] > now - self.tau).tolist()

    def _keys(self, members: np.ndarray) -> tuple[np.ndarray, ...]:
        return self._ref[members], self._used[members]
