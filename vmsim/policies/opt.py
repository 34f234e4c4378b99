"""OPT (Belady's MIN): evict the page whose next use is farthest in the future."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from heapq import heapify, heappop, heappush

from vmsim.policies.base import NEVER, Foresighted, Path, Policy, RepeatIsNoop, register


@register
class OPT(Foresighted, RepeatIsNoop, Policy):
    """Belady's optimal policy, exact given the stream's future.

    Every access (load or hit) tells the policy when that page is next used. The victim is the page
    whose next use is farthest away; pages never used again count as farthest, and among those the
    least recently used goes first. Finite next-use times are distinct, so there are no other ties.
    Cost: O(log n) per access (a heap with lazy deletion).
    """

    name = "opt"
    aliases = ("belady", "min", "optimal")
    summary = "Belady's optimal: evict the page used farthest in the future (needs the future)"
    path = Path.HITS

    def setup(self) -> None:
        # Heap of (key, frame) with key = -next use, so the farthest next use pops first;
        # _key[frame] is the live key of the frame's page (0 if none): older entries are stale.
        self._heap: list[tuple[int, int]] = []
        self._key = [0] * self.frames.n
        self._members = 0
        self._seq = NEVER
        self._pull: Callable[[], int] = iter(()).__next__
        self._limit = 64

    def set_future(self, next_use: Iterable[int]) -> None:
        self._pull = iter(next_use).__next__

    def _touch(self, frame: int) -> None:
        nxt = self._pull()
        if nxt >= NEVER:
            # Never used again: rank after every finite time, older accesses first.
            self._seq -= 1
            key = -(NEVER + self._seq)
        else:
            key = -nxt
        self._key[frame] = key
        heap = self._heap
        heappush(heap, (key, frame))
        if len(heap) > self._limit:
            self._compact()

    def _compact(self) -> None:
        keys = self._key
        self._heap = [e for e in self._heap if keys[e[1]] == e[0]]
        heapify(self._heap)
        self._limit = 2 * len(self._heap) + 64

    def insert(self, frame: int) -> None:
        self._members += 1
        self._touch(frame)

    hit = _touch

    def victim(self) -> int:
        heap, keys = self._heap, self._key
        while True:
            key, frame = heappop(heap)
            if keys[frame] == key:
                keys[frame] = 0
                self._members -= 1
                return frame

    def remove(self, frame: int) -> None:
        self._key[frame] = 0
        self._members -= 1

    def order(self) -> list[int]:
        return [f for k, f in sorted(self._heap) if self._key[f] == k]

    def __len__(self) -> int:
        return self._members
