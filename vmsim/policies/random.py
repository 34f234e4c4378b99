"""Random: evict a frame chosen uniformly by the simulation's seeded generator."""

from __future__ import annotations

import numpy as np

from vmsim.policies.base import Path, Policy, RepeatIsNoop, register


@register
class Random(RepeatIsNoop, Policy):
    """Uniform random victim. Frames are kept in a list in load order with swap-removal; the
    victim is ``frames[rng.randrange(len(frames))]``, so a seed fixes every choice."""

    name = "random"
    aliases = ("rand",)
    summary = "evict a uniformly random page (seeded)"
    path = Path.BITS

    def setup(self) -> None:
        # The list is an array (its first _n entries) so that NRU, a Random over the lowest class,
        # can read the bits of every member in a few array operations.
        self._frames = np.empty(self.frames.n, dtype=np.int64)
        self._n = 0
        self._pos: dict[int, int] = {}

    def insert(self, frame: int) -> None:
        self._pos[frame] = self._n
        self._frames[self._n] = frame
        self._n += 1

    def _drop_at(self, i: int) -> int:
        """Remove the member at index ``i``: the last member takes its place. Returns its frame."""
        frames = self._frames
        frame = int(frames[i])
        self._n -= 1
        last = int(frames[self._n])
        if last != frame:
            frames[i] = last
            self._pos[last] = i
        del self._pos[frame]
        return frame

    def victim(self) -> int:
        return self._drop_at(self.rng.randrange(self._n))

    def remove(self, frame: int) -> None:
        self._drop_at(self._pos[frame])

    def order(self) -> list[int]:
        return self._frames[: self._n].tolist()

    def __len__(self) -> int:
        return self._n
