"""NFU: not frequently used, a counter per page that every tick adds the referenced bit to."""

from __future__ import annotations

import random
from typing import Any

from vmsim.hw.frames import FrameTable
from vmsim.policies._scan import KeyScan
from vmsim.policies.base import clear_referenced, register


@register
class NFU(KeyScan):
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
    repeat_is_noop = True
    periodic = True

    def __init__(self, frames: FrameTable, rng: random.Random, period: int = 1000) -> None:
        super().__init__(frames, rng)
        self.validate(period=period)
        self.period = period
        self._count = [0] * frames.n
        self._last = [0] * frames.n  # time of the tick that last found the referenced bit set
        self._now = 0

    @classmethod
    def validate(cls, **params: Any) -> None:
        cls.require(params.get("period", 1) >= 1, "period", "at least 1", params.get("period"))

    def insert(self, frame: int) -> None:
        self._count[frame] = 0
        self._last[frame] = self._now
        self._members[frame] = None

    def tick(self, now: int) -> list[int]:
        ref, count, last = self.frames.referenced, self._count, self._last
        for f in self._members:
            if ref[f]:
                count[f] += 1
                last[f] = now
        clear_referenced(self.frames, self._members, len(self._members))
        self._now = now
        return []

    def _key(self, frame: int) -> tuple[int, int]:
        r = self.frames.referenced[frame]
        return (self._count[frame] + r, (1 << 62) if r else self._last[frame])
