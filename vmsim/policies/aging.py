"""Aging: an n-bit shift register per page, fed by the referenced bit at every tick."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from vmsim.policies._scan import Counted
from vmsim.policies.base import Path, Periodic, Range, RepeatIsNoop, register


@register
class Aging(Periodic, RepeatIsNoop, Counted):
    """Aging (Tanenbaum, Modern Operating Systems, 3.4.7): each page has a ``bits``-bit counter,
    zero at load. Every tick shifts each counter right by one and puts the page's referenced bit
    into the top bit, then clears the referenced bits. The victim has the smallest
    (referenced bit, counter): the bit set since the last tick counts as the newest, most
    significant one, so a page referenced since the last tick goes after every page that was not.
    Ties (equal bit and counter) go to the page loaded longest ago.

    ``period``: references between ticks (replay), or that many memory-access times of simulated
    time (simulate). Cost: nothing per hit; O(n) per fault (the minimum is a scan, as in the
    textbook) and O(n) per tick (every counter shifts).
    """

    name = "aging"
    aliases = ("shift-register",)
    summary = "smallest n-bit counter (shifted right each period, referenced bit on top) goes first"
    path = Path.BITS
    bits: Annotated[int, Range(1, 64)] = 8
    _count_type = np.uint64

    def tick(self, now: int) -> list[int]:
        m, hot = self._sample()
        count = self._count
        top = np.uint64(1 << (self.bits - 1))
        count[m] = (count[m] >> np.uint64(1)) | np.where(hot, top, np.uint64(0))
        return []

    def _keys(self, members: np.ndarray) -> tuple[np.ndarray, ...]:
        # (referenced bit, counter): the bit since the last tick is the newest, most significant one.
        return self._ref[members], self._count[members]
