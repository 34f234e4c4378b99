"""NRU: not recently used, by the classes of the referenced and dirty bits (bits cleared by ticks)."""

from __future__ import annotations

import numpy as np

from vmsim.policies._scan import BitViews
from vmsim.policies.base import Path, Periodic, register
from vmsim.policies.random import Random


@register
class NRU(Periodic, BitViews, Random):
    """Not recently used (Tanenbaum, Modern Operating Systems, 3.4.2). Every tick clears the
    referenced bits of the domain's pages. A page's class is 2 * referenced + dirty: 0 (not
    referenced, clean), 1 (not referenced, dirty), 2 (referenced, clean), 3 (referenced, dirty).
    The victim is drawn uniformly, with the simulation's seeded generator, from the lowest
    non-empty class: ``members[rng.randrange(k)]`` over that class's frames in the domain's list
    (load order with swap-removal, kept as in ``random``, whose victim this is with one class).

    ``period``: references between ticks (replay), or that many memory-access times of simulated
    time (simulate). Cost: nothing per hit; O(n) per fault (the class scan) and per tick.
    """

    name = "nru"
    aliases = ("not-recently-used",)
    summary = "random page of the lowest (referenced, dirty) class; referenced bits cleared every period"
    path = Path.BITS

    def tick(self, now: int) -> list[int]:
        self._ref[self._frames[: self._n]] = 0
        return []

    def victim(self) -> int:
        m = self._frames[: self._n]
        cls = 2 * self._ref[m] + self._dirty[m]
        pick = np.flatnonzero(cls == cls.min())
        return self._drop_at(int(pick[self.rng.randrange(len(pick))]))
