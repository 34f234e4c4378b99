"""MRU: evict the page accessed most recently (good for loops longer than memory)."""

from __future__ import annotations

import random
from collections import OrderedDict

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Path, Policy, RepeatIsNoop, register


@register
class MRU(RepeatIsNoop, Policy):
    """Most recently used: the victim is the page whose last access (load or hit) is newest."""

    name = "mru"
    aliases = ("most-recently-used",)
    summary = "most recently used: evict the page accessed most recently"
    path = Path.MRU_TABLE

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        super().__init__(frames, rng)
        self._recency: OrderedDict[int, None] = OrderedDict()
        self.hit = self._recency.move_to_end  # type: ignore[method-assign, assignment]

    def hit(self, frame: int) -> None:  # replaced per instance by the ordered dict's move_to_end
        self._recency.move_to_end(frame)

    def insert(self, frame: int) -> None:
        self._recency[frame] = None

    def victim(self) -> int:
        return self._recency.popitem(last=True)[0]

    def remove(self, frame: int) -> None:
        del self._recency[frame]

    def adopt(self, frames: list[int]) -> None:
        self._recency = OrderedDict.fromkeys(frames)
        self.hit = self._recency.move_to_end  # type: ignore[method-assign, assignment]

    def order(self) -> list[int]:
        return list(reversed(self._recency))

    def __len__(self) -> int:
        return len(self._recency)
