"""Aging: an n-bit shift register per page, fed by the referenced bit at every tick."""

from __future__ import annotations

import random
from typing import Annotated

import numpy as np

from vmsim.hw.frames import FrameTable
from vmsim.policies._scan import KeyScan
from vmsim.policies.base import Path, Periodic, Range, RepeatIsNoop, register


@register
class Aging(Periodic, RepeatIsNoop, KeyScan):
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

    def __init__(
        self,
        frames: FrameTable,
        rng: random.Random,
        period: Periodic.Period = Periodic.DEFAULT_PERIOD,
        bits: Annotated[int, Range(1, 64)] = 8,
    ) -> None:
        super().__init__(frames, rng)
        self.period = period
        self.bits = bits
        self._top = np.uint64(1 << (bits - 1))
        self._count = np.zeros(frames.n, dtype=np.uint64)

    def insert(self, frame: int) -> None:
        self._count[frame] = 0
        self._add(frame)

    def tick(self, now: int) -> list[int]:
        m = self.members
        count = self._count
        count[m] = (count[m] >> np.uint64(1)) | np.where(self._ref[m] != 0, self._top, np.uint64(0))
        self._ref[m] = 0
        return []

    def _keys(self, members: np.ndarray) -> tuple[np.ndarray, ...]:
        # (referenced bit, counter): the bit since the last tick is the newest, most significant one.
        return self._ref[members], self._count[members]
