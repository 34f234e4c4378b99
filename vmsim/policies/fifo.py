"""FIFO: evict the page that was loaded longest ago."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import ClassVar

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Path, Policy, RepeatIsNoop, register


@register
class FIFO(RepeatIsNoop, Policy):
    """First in, first out. Hits change nothing. Ties cannot occur: load times are distinct."""

    name = "fifo"
    aliases: ClassVar[tuple[str, ...]] = ("first-in-first-out",)  # a subclass may have more
    summary = "first in, first out: evict the page loaded longest ago"
    path = Path.FIFO_TABLE

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        super().__init__(frames, rng)
        self._queue: OrderedDict[int, None] = OrderedDict()

    def insert(self, frame: int) -> None:
        self._queue[frame] = None

    def victim(self) -> int:
        return self._queue.popitem(last=False)[0]

    def remove(self, frame: int) -> None:
        del self._queue[frame]

    def adopt(self, frames: list[int]) -> None:
        self._queue = OrderedDict.fromkeys(frames)

    def order(self) -> list[int]:
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)
