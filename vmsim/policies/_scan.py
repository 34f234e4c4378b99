"""The shared shape of the policies that pick their victim by scanning every page of the domain
for the smallest key (aging, NFU, working set): O(n) per fault, as the textbook algorithms are,
because the key includes the referenced bit, which the MMU changes without telling the OS.

The scan is done with NumPy over a view of the FrameTable's referenced bits and the policy's own
per-frame arrays, so it costs a few array operations per fault rather than a Python call per
page. Pages are kept in load order, and the first page with the smallest key wins, so ties go to
the page loaded first. (A private module: the registry does not import it as a policy.)
"""

from __future__ import annotations

import random

import numpy as np

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Policy


def first_min(keys: tuple[np.ndarray, ...]) -> int:
    """The index of the first position whose keys are the smallest, compared in order (the first
    array is the primary key)."""
    cand = np.arange(len(keys[0]))
    for k in keys:
        kk = k[cand]
        cand = cand[kk == kk.min()]
        if len(cand) == 1:
            break
    return int(cand[0])


class KeyScan(Policy):
    """Base class: subclasses call ``_add`` in ``insert`` and define ``_keys`` over the member
    frames (in load order), primary key first."""

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        super().__init__(frames, rng)
        self._order = np.empty(frames.n, dtype=np.int64)
        self._len = 0
        #: The MMU's referenced bits, seen live (the bytearray is never replaced).
        self._ref = np.frombuffer(frames.referenced, dtype=np.uint8)

    @property
    def members(self) -> np.ndarray:
        """The domain's frames, in load order."""
        return self._order[: self._len]

    def _add(self, frame: int) -> None:
        self._order[self._len] = frame
        self._len += 1

    def _drop_at(self, i: int) -> int:
        order = self._order
        frame = int(order[i])
        order[i : self._len - 1] = order[i + 1 : self._len]
        self._len -= 1
        return frame

    def _keep(self, mask: np.ndarray) -> np.ndarray:
        """Keep the members where ``mask`` is true (in order); return the frames dropped."""
        m = self.members
        gone = m[~mask].copy()
        kept = m[mask]
        self._order[: len(kept)] = kept
        self._len = len(kept)
        return gone

    def _keys(self, members: np.ndarray) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def victim(self) -> int:
        """The member with the smallest keys (ties: the earliest), removed."""
        return self._drop_at(first_min(self._keys(self.members)))

    def remove(self, frame: int) -> None:
        """Forget ``frame``."""
        self._drop_at(int(np.flatnonzero(self.members == frame)[0]))

    def order(self) -> list[int]:
        """Members from next victim to last."""
        m = self.members
        keys = self._keys(m)
        return m[np.lexsort(keys[::-1])].tolist()  # lexsort is stable; its last key is the primary

    def __len__(self) -> int:
        return self._len
