"""NRU: not recently used, by the classes of the referenced and dirty bits (bits cleared by ticks)."""

from __future__ import annotations

import random
from typing import Any

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Policy, clear_referenced, register


@register
class NRU(Policy):
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
    repeat_is_noop = True
    periodic = True

    def __init__(self, frames: FrameTable, rng: random.Random, period: int = 1000) -> None:
        super().__init__(frames, rng)
        self.validate(period=period)
        self.period = period
        self._frames: list[int] = []
        self._pos: dict[int, int] = {}

    @classmethod
    def validate(cls, **params: Any) -> None:
        cls.require(params.get("period", 1) >= 1, "period", "at least 1", params.get("period"))

    def insert(self, frame: int) -> None:
        self._pos[frame] = len(self._frames)
        self._frames.append(frame)

    def tick(self, now: int) -> list[int]:
        clear_referenced(self.frames, self._frames, len(self._frames))
        return []

    def _drop_at(self, i: int) -> int:
        frames = self._frames
        frame = frames[i]
        last = frames.pop()
        if last != frame:
            frames[i] = last
            self._pos[last] = i
        del self._pos[frame]
        return frame

    def victim(self) -> int:
        ref, dirty = self.frames.referenced, self.frames.dirty
        best = 4
        pick: list[int] = []
        for i, f in enumerate(self._frames):
            c = 2 * ref[f] + dirty[f]
            if c < best:
                best, pick = c, [i]
            elif c == best:
                pick.append(i)
        return self._drop_at(pick[self.rng.randrange(len(pick))])

    def remove(self, frame: int) -> None:
        self._drop_at(self._pos[frame])

    def order(self) -> list[int]:
        return list(self._frames)

    def __len__(self) -> int:
        return len(self._frames)
