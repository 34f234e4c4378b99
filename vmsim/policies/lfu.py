"""LFU: evict the page with the fewest references since it was loaded."""

from __future__ import annotations

from collections import OrderedDict

from vmsim.policies.base import Path, Policy, register


@register
class LFU(Policy):
    """Least frequently used, exact: every access (load or hit) adds one to the page's count;
    counts are kept only while the page is resident (a page loads with count 1). The victim has
    the smallest count; ties go to the page whose latest access is oldest (least recently used).
    This is libCacheSim's ``LFU`` (FIFO within a frequency, which is the order of reaching it,
    hence of latest access), checked miss for miss in ``tests/test_policies_classic.py``.

    Frequency buckets (Shah, Mitra and Matani, "An O(1) algorithm for implementing the LFU cache
    eviction scheme", 2010): an ordered dict of frames per count, in order of reaching it, and a
    doubly linked list of the non-empty counts. Cost: O(1) per hit and per fault.
    """

    name = "lfu"
    aliases = ("least-frequently-used",)
    summary = "least frequently used (in-memory count), ties least recently used"
    path = Path.HITS

    def setup(self) -> None:
        self._freq = [0] * self.frames.n
        self._buckets: dict[int, OrderedDict[int, None]] = {}
        # Non-empty counts as a doubly linked list: _up[k] is the next larger, _down[k] the next
        # smaller (0 = none; counts start at 1).
        self._up: dict[int, int] = {0: 0}
        self._down: dict[int, int] = {0: 0}
        self._size = 0

    def _link_after(self, low: int, k: int) -> None:
        """Make ``k`` a non-empty count just above ``low`` (0 = at the bottom)."""
        high = self._up[low]
        self._up[low] = k
        self._down[k] = low
        self._up[k] = high
        self._down[high] = k
        self._buckets[k] = OrderedDict()

    def _unlink(self, k: int) -> None:
        low, high = self._down.pop(k), self._up.pop(k)
        self._up[low] = high
        self._down[high] = low
        del self._buckets[k]

    def insert(self, frame: int) -> None:
        self._freq[frame] = 1
        if 1 not in self._buckets:
            self._link_after(0, 1)
        self._buckets[1][frame] = None
        self._size += 1

    def hit(self, frame: int) -> None:
        freq = self._freq
        k = freq[frame]
        freq[frame] = k + 1
        buckets = self._buckets
        b = buckets.get(k + 1)
        if b is None:
            self._link_after(k, k + 1)
            b = buckets[k + 1]
        old = buckets[k]
        del old[frame]
        b[frame] = None
        if not old:
            self._unlink(k)

    def _take(self, k: int) -> int:
        b = self._buckets[k]
        frame = b.popitem(last=False)[0]
        if not b:
            self._unlink(k)
        self._size -= 1
        return frame

    def victim(self) -> int:
        return self._take(self._up[0])

    def remove(self, frame: int) -> None:
        k = self._freq[frame]
        b = self._buckets[k]
        del b[frame]
        if not b:
            self._unlink(k)
        self._size -= 1

    def _counts(self) -> list[int]:
        """The non-empty counts, smallest first."""
        out = []
        k = self._up[0]
        while k:
            out.append(k)
            k = self._up[k]
        return out

    def order(self) -> list[int]:
        return [f for k in self._counts() for f in self._buckets[k]]

    def __len__(self) -> int:
        return self._size
