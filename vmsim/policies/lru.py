"""LRU: evict the page whose last access is oldest."""

from __future__ import annotations

import random
from collections import OrderedDict

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Path, Policy, RepeatIsNoop, register


@register
class LRU(RepeatIsNoop, Policy):
    """Least recently used, exact (an ordered dict moved on every hit). No ties: times differ."""

    name = "lru"
    aliases = ("least-recently-used",)
    summary = "least recently used: evict the page whose last access is oldest"
    path = Path.LRU_TABLE

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        super().__init__(frames, rng)
        self._recency: OrderedDict[int, None] = OrderedDict()
        # Bound once: the engine calls hit() on every hit, so skip an attribute lookup there.
        self.hit = self._recency.move_to_end  # type: ignore[method-assign, assignment]

    def hit(self, frame: int) -> None:  # replaced per instance by the ordered dict's move_to_end
        self._recency.move_to_end(frame)

    def insert(self, frame: int) -> None:
        self._recency[frame] = None

    def victim(self) -> int:
        return self._recency.popitem(last=False)[0]

    def remove(self, frame: int) -> None:
        del self._recency[frame]

    def adopt(self, frames: list[int]) -> None:
        self._recency = OrderedDict.fromkeys(frames)
        self.hit = self._recency.move_to_end  # type: ignore[method-assign, assignment]

    def order(self) -> list[int]:
        return list(self._recency)

    def __len__(self) -> int:
        return len(self._recency)
