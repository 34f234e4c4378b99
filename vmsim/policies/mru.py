"""MRU: evict the page accessed most recently (good for loops longer than memory)."""

from __future__ import annotations

from vmsim.policies.base import Path, register
from vmsim.policies.lru import LRU


@register
class MRU(LRU):
    """Most recently used: the victim is the page whose last access (load or hit) is newest. The
    same recency order as LRU, taken from the other end."""

    name = "mru"
    aliases = ("most-recently-used",)
    summary = "most recently used: evict the page accessed most recently"
    path = Path.MRU_TABLE

    def victim(self) -> int:
        return self._queue.popitem(last=True)[0]

    def order(self) -> list[int]:
        return list(reversed(self._queue))
