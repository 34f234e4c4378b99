"""NFU: not frequently used, a counter per page that every tick adds the referenced bit to."""

from __future__ import annotations

import numpy as np

from vmsim.policies._scan import Counted, SampledUse
from vmsim.policies.base import Path, Periodic, RepeatIsNoop, register


@register
class NFU(Periodic, RepeatIsNoop, Counted, SampledUse):
    """Not frequently used (Tanenbaum, Modern Operating Systems, 3.4.7): each page has a counter,
    zero at load; every tick adds the page's referenced bit to it and clears the bit. The victim has
    the smallest count, the referenced bit set since the last tick counting as one more (the count a
    tick now would give). Ties go to the page whose latest sampled reference is oldest (a page
    referenced since the last tick counts as newest), then to the page loaded longest ago.
    Counts start again at zero when a page is loaded (nothing is remembered across evictions).

    With ``period=1`` the count is the page's exact number of references since its load and the
    tie-break is least recently used: that is LFU exactly (``tests/test_policies_classic.py``).
    Cost: nothing per hit; O(n) per fault (the scan) and O(n) per tick.
    """

    name = "nfu"
    aliases = ("not-frequently-used",)
    summary = "smallest sampled reference count (referenced bit added each period) goes first"
    path = Path.BITS

    def tick(self, now: int) -> list[int]:
        m, hot = self._sample_use(now)
        self._count[m[hot]] += 1
        return []

    def _keys(self, members: np.ndarray) -> tuple[np.ndarray, ...]:
        r = self._ref[members]
        return self._count[members] + r, np.where(r != 0, 1 << 62, self._used[members])
