"""S3-FIFO: a small FIFO that filters one-hit pages, a main FIFO with reinsertion, and a ghost FIFO."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Annotated

from vmsim.errors import VmsimError
from vmsim.hw.frames import FrameTable
from vmsim.policies.base import CapacitySized, OpenFraction, Path, Policy, Range, register


@register
class S3FIFO(CapacitySized, Policy):
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

    def __init__(
        self,
        frames: FrameTable,
        rng: random.Random,
        small_ratio: OpenFraction = 0.1,
        ghost_ratio: Annotated[float, Range(0.0, 100.0)] = 0.9,
        threshold: Annotated[int, Range(1, 1000)] = 2,
    ) -> None:
        super().__init__(frames, rng)
        if ghost_ratio < 0.0:
            raise VmsimError(f"policy s3fifo: ghost_ratio is a fraction of the frames, at least 0, got {ghost_ratio}")
        self.small_ratio, self.ghost_ratio, self.threshold = small_ratio, ghost_ratio, threshold
        self._small: OrderedDict[int, None] = OrderedDict()
        self._main: OrderedDict[int, None] = OrderedDict()
        self._ghost: OrderedDict[int, None] = OrderedDict()
        self._count = [0] * frames.n
        self._key = [0] * frames.n
        self._evicted = False
        self.set_capacity(frames.n)

    def _resize(self, c: int) -> None:
        self._small_cap = int(c * self.small_ratio)
        self._main_cap = c - self._small_cap
        self._ghost_cap = int(c * self.ghost_ratio)

    def hit(self, frame: int) -> None:
        self._count[frame] += 1

    def insert(self, frame: int) -> None:
        key = self.frames.page[frame] | self.frames.owner[frame] << 64
        self._key[frame] = key
        self._count[frame] = 0
        ghost = self._ghost
        if key in ghost:
            del ghost[key]
            self._main[frame] = None
        elif not self._evicted and len(self._small) >= self._small_cap:
            self._main[frame] = None
        else:
            self._small[frame] = None
        if len(ghost) > self._ghost_cap:
            ghost.popitem(last=False)

    def victim(self) -> int:
        small, main, count = self._small, self._main, self._count
        self._fit(len(small) + len(main))
        self._evicted = True
        while True:
            if len(main) > self._main_cap or not small:
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
                if self._ghost_cap > 0:
                    # Trimmed in insert(), after the incoming page has been looked up in G.
                    self._ghost[self._key[frame]] = None
                return frame

    def remove(self, frame: int) -> None:
        if frame in self._small:
            del self._small[frame]
        else:
            del self._main[frame]

    def order(self) -> list[int]:
        if len(self._main) > self._main_cap or not self._small:
            return [*self._main, *self._small]
        return [*self._small, *self._main]

    def __len__(self) -> int:
        return len(self._small) + len(self._main)
