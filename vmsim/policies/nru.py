"""NRU: not recently used, by the classes of the referenced and dirty bits (bits cleared by ticks)."""

from __future__ import annotations

import random

import numpy as np

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Path, Periodic, Policy, RepeatIsNoop, register


@register
class NRU(Periodic, RepeatIsNoop, Policy):
    """Not recently used (Tanenbaum, Modern Operating Systems, 3.4.2). Every tick clears the
    referenced bits of the domain's pages. A page's class is 2 * referenced + dirty: 0 (not
    referenced, clean), 1 (not referenced, dirty), 2 (referenced, clean), 3 (referenced, dirty).
    The victim is drawn uniformly, with the simulation's seeded generator, from the lowest
    non-empty class: ``members[rng.randrange(k)]`` over that class's frames in the domain's list
    (load order with swap-removal, as in ``random``).

    ``period``: references between ticks (replay), or that many memory-access times of simulated
    time (simulate). Cost: nothing per hit; O(n) per fault (the class scan) and per tick.
    """

    name = "nru"
    aliases = ("not-recently-used",)
    summary = "random page of the lowest (referenced, dirty) class; referenced bits cleared every period"
    path = Path.BITS

    def __init__(self, frames: FrameTable, rng: random.Random, period: Periodic.Period = Periodic.DEFAULT_PERIOD) -> None:
        super().__init__(frames, rng)
        self.period = period
        # The domain's frames (load order with swap-removal) and live views of the MMU's bits, so
        # the class scan at a fault is a few array operations.
        self._frames = np.empty(frames.n, dtype=np.int64)
        self._n = 0
        self._pos: dict[int, int] = {}
        self._ref = np.frombuffer(frames.referenced, dtype=np.uint8)
        self._dirty = np.frombuffer(frames.dirty, dtype=np.uint8)

    def insert(self, frame: int) -> None:
        self._pos[frame] = self._n
        self._frames[self._n] = frame
        self._n += 1

    def tick(self, now: int) -> list[int]:
        self._ref[self._frames[: self._n]] = 0
        return []

    def _drop_at(self, i: int) -> int:
        frames = self._frames
        frame = int(frames[i])
        self._n -= 1
        last = int(frames[self._n])
        if last != frame:
            frames[i] = last
            self._pos[last] = i
        del self._pos[frame]
        return frame

    def victim(self) -> int:
        m = self._frames[: self._n]
        cls = 2 * self._ref[m] + self._dirty[m]
        pick = np.flatnonzero(cls == cls.min())
        return self._drop_at(int(pick[self.rng.randrange(len(pick))]))

    def remove(self, frame: int) -> None:
        self._drop_at(self._pos[frame])

    def order(self) -> list[int]:
        return self._frames[: self._n].tolist()

    def __len__(self) -> int:
        return self._n
