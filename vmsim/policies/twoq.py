"""2Q: a FIFO for pages seen once, an LRU for pages seen again, and a ghost list between them."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Annotated

from vmsim.errors import VmsimError
from vmsim.hw.frames import FrameTable
from vmsim.policies.base import OpenFraction, Path, Policy, Range, RepeatIsNoop, register


@register
class TwoQ(RepeatIsNoop, Policy):
    """Full 2Q (Johnson & Shasha, VLDB 1994), as libCacheSim's TwoQ sizes it.

    A faulted page goes to A1in (FIFO) unless its number is in A1out, the ghost FIFO of pages
    recently evicted from A1in; then it goes to Am (LRU). A hit in Am moves the page to Am's MRU
    end; a hit in A1in changes nothing (correlated references). The victim is A1in's oldest page
    while A1in holds more than ``Kin = floor(kin * c)`` pages (its number then enters A1out, which
    keeps the last ``Kout = floor(kout * c)`` numbers), otherwise Am's LRU page. ``c`` is the
    number of frames this domain holds when it evicts (all frames under global scope).
    """

    name = "2q"
    aliases = ("twoq", "two-queue")
    summary = "2Q: FIFO A1in for new pages, LRU Am for re-referenced ones, ghost A1out (kin, kout)"
    path = Path.HITS

    def __init__(
        self,
        frames: FrameTable,
        rng: random.Random,
        kin: OpenFraction = 0.25,
        kout: Annotated[float, Range(0.0, 100.0)] = 0.5,
    ) -> None:
        super().__init__(frames, rng)
        if kout < 0.0:
            raise VmsimError(f"policy 2q: kout is a fraction of the frames, at least 0, got {kout}")
        self.kin, self.kout = kin, kout
        self._a1in: OrderedDict[int, None] = OrderedDict()
        self._am: OrderedDict[int, None] = OrderedDict()
        self._a1out: OrderedDict[int, None] = OrderedDict()
        self._key = [0] * frames.n
        self._cap = -1
        self._resize(frames.n)

    def _resize(self, c: int) -> None:
        self._cap = c
        self._kin = int(c * self.kin)
        self._kout = int(c * self.kout)

    def hit(self, frame: int) -> None:
        am = self._am
        if frame in am:
            am.move_to_end(frame)

    def insert(self, frame: int) -> None:
        key = self.frames.page[frame] | self.frames.owner[frame] << 64
        self._key[frame] = key
        out = self._a1out
        if key in out:
            del out[key]
            self._am[frame] = None
        else:
            self._a1in[frame] = None
        if len(out) > self._kout:
            out.popitem(last=False)

    def victim(self) -> int:
        size = len(self._a1in) + len(self._am)
        if size != self._cap:
            self._resize(size)
        if len(self._a1in) > self._kin or not self._am:
            frame = self._a1in.popitem(last=False)[0]
            if self._kout > 0:
                # Trimmed to Kout in insert(), once the incoming page has left A1out (as in 2Q,
                # where the faulting page is looked up before anything is evicted).
                self._a1out[self._key[frame]] = None
            return frame
        return self._am.popitem(last=False)[0]

    def remove(self, frame: int) -> None:
        if frame in self._am:
            del self._am[frame]
        else:
            del self._a1in[frame]

    def order(self) -> list[int]:
        if len(self._a1in) > self._kin or not self._am:
            return [*self._a1in, *self._am]
        return [*self._am, *self._a1in]

    def __len__(self) -> int:
        return len(self._a1in) + len(self._am)
