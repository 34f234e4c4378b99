"""LRU: evict the page whose last access is oldest."""

from __future__ import annotations

from vmsim.policies._queues import FrameQueue
from vmsim.policies.base import Path, RepeatIsNoop, register


@register
class LRU(RepeatIsNoop, FrameQueue):
    """Least recently used, exact (the queue, in recency order: a hit moves the page to its back).
    No ties: times differ."""

    name = "lru"
    aliases = ("least-recently-used",)
    summary = "least recently used: evict the page whose last access is oldest"
    path = Path.LRU_TABLE

    def _bind(self) -> None:
        # Bound once per queue: the engine calls hit() on every hit, so skip an attribute lookup there.
        self.hit = self._queue.move_to_end  # type: ignore[method-assign, assignment]

    def hit(self, frame: int) -> None:  # replaced per instance by the ordered dict's move_to_end
        self._queue.move_to_end(frame)
