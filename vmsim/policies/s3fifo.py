"""S3-FIFO: a small FIFO that filters one-hit pages, a main FIFO with reinsertion, and a ghost FIFO."""

from __future__ import annotations

from typing import Annotated

from vmsim.policies._queues import GhostFiltered, GhostRatio
from vmsim.policies.base import CapacitySized, OpenFraction, Path, Range, register


@register
class S3FIFO(CapacitySized, GhostFiltered):
    """S3-FIFO (Yang et al., SOSP 2023), as libCacheSim's S3FIFO runs it.

    Queues: S (small, ``floor(small_ratio * c)`` frames), M (main, the rest) and G (ghost, the
    numbers of the last ``floor(ghost_ratio * c)`` pages evicted from S). Each resident page has a
    hit counter, cleared at load. A faulted page whose number is in G goes to M; otherwise to S,
    except that before the first eviction a full S sends it to M. To evict: if M holds more than
    its share, or S is empty, M's oldest page is the candidate: with a count of at least 1 it is
    reinserted at M's tail with ``min(count, 3) - 1`` (a 2-bit clock) and the next is tried,
    with a count of 0 it is the victim. Otherwise S's oldest page: with a count of at least
    ``threshold`` it moves to M's tail (count cleared) and the next is tried, else it is the victim
    and its number enters G. ``c`` is the number of frames this domain holds when it evicts.
    """

    name = "s3fifo"
    aliases = ("s3-fifo",)
    summary = "S3-FIFO: small FIFO filter, main FIFO with reinsertion, ghost FIFO (small_ratio, threshold)"
    path = Path.HITS
    small_ratio: OpenFraction = 0.1
    ghost_ratio: GhostRatio = 0.9
    threshold: Annotated[int, Range(1, 1000)] = 2
    _ghost_param = "ghost_ratio"

    def setup(self) -> None:
        super().setup()
        self._count = [0] * self.frames.n
        self._evicted = False
        self.set_capacity(self.frames.n)

    def _resize(self, c: int) -> None:
        self._small_cap = int(c * self.small_ratio)
        self._main_cap = c - self._small_cap
        self._ghost_cap = int(c * self.ghost_ratio)

    def _main_next(self) -> bool:
        return len(self._main) > self._main_cap or not self._new

    def hit(self, frame: int) -> None:
        self._count[frame] += 1

    def insert(self, frame: int) -> None:
        self._count[frame] = 0
        super().insert(frame)

    def _enter(self, frame: int) -> None:
        # Before the first eviction a full S sends the page to M.
        full = not self._evicted and len(self._new) >= self._small_cap
        (self._main if full else self._new)[frame] = None

    def victim(self) -> int:
        small, main, count = self._new, self._main, self._count
        self._fit(len(small) + len(main))
        self._evicted = True
        while True:
            if self._main_next():
                while True:
                    frame = main.popitem(last=False)[0]
                    c = count[frame]
                    if c == 0:
                        return frame
                    count[frame] = (3 if c > 3 else c) - 1
                    main[frame] = None
            while small:
                frame = small.popitem(last=False)[0]
                if count[frame] >= self.threshold:
                    count[frame] = 0
                    main[frame] = None
                    continue
                return self._to_ghost(frame)
