"""MFU: evict the page with the most references since it was loaded."""

from __future__ import annotations

from vmsim.policies.base import register
from vmsim.policies.lfu import LFU


@register
class MFU(LFU):
    """Most frequently used (Silberschatz, Operating System Concepts, 10.4.7): counts as in LFU
    (every access adds one, kept only while resident, 1 at load). The victim has the largest count;
    ties go to the page whose latest access is oldest (the first to reach that count). Cost: O(1)
    per hit and per fault (LFU's frequency buckets, taken from the top).
    """

    name = "mfu"
    aliases = ("most-frequently-used",)
    summary = "most frequently used (in-memory count), ties least recently used"

    def victim(self) -> int:
        return self._take(self._down[0])

    def order(self) -> list[int]:
        return [f for k in reversed(self._counts()) for f in self._buckets[k]]
