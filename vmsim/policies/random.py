"""Random: evict a frame chosen uniformly by the simulation's seeded generator."""

from __future__ import annotations

import random as _random

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Path, Policy, RepeatIsNoop, register


@register
class Random(RepeatIsNoop, Policy):
    """Uniform random victim. Frames are kept in a list in load order with swap-removal; the
    victim is ``frames[rng.randrange(len(frames))]``, so a seed fixes every choice."""

    name = "random"
    aliases = ("rand",)
    summary = "evict a uniformly random page (seeded)"
    path = Path.BITS

    def __init__(self, frames: FrameTable, rng: _random.Random) -> None:
        super().__init__(frames, rng)
        self._frames: list[int] = []
        self._pos: dict[int, int] = {}

    def insert(self, frame: int) -> None:
        self._pos[frame] = len(self._frames)
        self._frames.append(frame)

    def _drop_at(self, i: int) -> int:
        frames = self._frames
        frame = frames[i]
        last = frames.pop()
        if last != frame:
            frames[i] = last
            self._pos[last] = i
        del self._pos[frame]
        return frame

    def victim(self) -> int:
        return self._drop_at(self.rng.randrange(len(self._frames)))

    def remove(self, frame: int) -> None:
        self._drop_at(self._pos[frame])

    def order(self) -> list[int]:
        return list(self._frames)

    def __len__(self) -> int:
        return len(self._frames)
