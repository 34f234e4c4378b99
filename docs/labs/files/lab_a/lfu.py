"""lab_lfu: least frequently used, a sample solution to lab (a) (docs/labs/a-replacement-plugin.md).

Evict the page with the fewest accesses since it was loaded; among pages with equally few, the one
whose latest access is oldest (LRU). A page's count starts at 1 when it is loaded and is forgotten
when it is evicted ("in-memory" LFU, as libCacheSim's LFU counts).

    vmsim --policy-file lfu.py:LFU refs "1 1 2 3 1 4 2 5" -f 3 -p lab_lfu --explain

victim() scans the domain's frames: O(frames) per fault, O(1) per hit. That is fine for a lab;
a heap or frequency buckets make it O(log n) or O(1).
"""

from __future__ import annotations

import random

from vmsim.hw.frames import FrameTable
from vmsim.policies import Path, Policy


class LFU(Policy):
    """Fewest accesses since load; ties go to the least recently used page."""

    name = "lab_lfu"
    summary = "least frequently used since load, ties to the least recently used (lab a)"
    # Every hit adds one to the page's count. No RepeatIsNoop mixin: a repeated access also
    # counts, so repeats cannot be folded.
    path = Path.HITS

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        super().__init__(frames, rng)
        self._count: dict[int, int] = {}  # frame -> accesses since its page was loaded
        self._last: dict[int, int] = {}  # frame -> time of its page's latest access
        self._clock = 0

    def _touch(self, frame: int) -> None:
        self._clock += 1
        self._last[frame] = self._clock

    def insert(self, frame: int) -> None:
        self._count[frame] = 1
        self._touch(frame)

    def hit(self, frame: int) -> None:
        self._count[frame] += 1
        self._touch(frame)

    def victim(self) -> int:
        frame = min(self._count, key=lambda f: (self._count[f], self._last[f]))
        self.remove(frame)
        return frame

    def remove(self, frame: int) -> None:
        del self._count[frame]
        del self._last[frame]

    def order(self) -> list[int]:
        return sorted(self._count, key=lambda f: (self._count[f], self._last[f]))

    def __len__(self) -> int:
        return len(self._count)
