"""The shared shape of the policies that pick their victim by scanning every page of the domain
for the smallest key (aging, NFU, working set): O(n) per fault, as the textbook algorithms are,
because the key includes the referenced bit, which the MMU changes without telling the OS.

The scan is done with NumPy over a view of the FrameTable's referenced bits and the policy's own
per-frame arrays, so it costs a few array operations per fault rather than a Python call per
page. Pages are kept in load order, and the first page with the smallest key wins, so ties go to
the page loaded first. Every tick samples the referenced bits (``KeyScan._sample``); NFU and the
working set both keep the time of last use that the ticks see (:class:`SampledUse`), aging and
NFU a counter per page that the ticks change (:class:`Counted`). NRU, which draws its victim at
random, reads the bits through the same views (:class:`BitViews`). (A private module: the
registry does not import it as a policy.)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

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


class BitViews(Policy):
    """Base class: ``_ref`` and ``_dirty``, the MMU's referenced and dirty bits of every frame as
    NumPy arrays, seen live (the bytearrays are never replaced)."""

    def setup(self) -> None:
        super().setup()
        self._ref = np.frombuffer(self.frames.referenced, dtype=np.uint8)
        self._dirty = np.frombuffer(self.frames.dirty, dtype=np.uint8)


class KeyScan(BitViews):
    """Base class: ``insert`` appends the frame to the members (a subclass that extends it calls
    ``super().insert``); subclasses define ``_keys`` over the member frames (in load order),
    primary key first."""

    def setup(self) -> None:
        super().setup()
        self._order = np.empty(self.frames.n, dtype=np.int64)
        self._len = 0

    @property
    def members(self) -> np.ndarray:
        """The domain's frames, in load order."""
        return self._order[: self._len]

    def insert(self, frame: int) -> None:
        self._order[self._len] = frame
        self._len += 1

    def _drop_at(self, i: int) -> int:
        order = self._order
        frame = int(order[i])
        order[i : self._len - 1] = order[i + 1 : self._len]
        self._len -= 1
        return frame

    def _sample(self) -> tuple[np.ndarray, np.ndarray]:
        """At a tick: the members, and which of them were referenced since the last tick (a mask);
        their referenced bits are cleared."""
        m = self.members
        hot = self._ref[m] != 0
        self._ref[m] = 0
        return m, hot

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


class SampledUse(KeyScan):
    """KeyScan that keeps each page's time of last use as the ticks see it, ``_used[frame]``: the
    latest tick's time, ``_now``, when the page is loaded, then the time of every tick that finds
    its referenced bit set. Subclasses sample with ``_sample_use(now)`` at each tick."""

    def setup(self) -> None:
        super().setup()
        self._used = np.zeros(self.frames.n, dtype=np.int64)
        self._now = 0

    def insert(self, frame: int) -> None:
        self._used[frame] = self._now
        super().insert(frame)

    def _sample_use(self, now: int) -> tuple[np.ndarray, np.ndarray]:
        """``_sample()`` at the tick at time ``now``, which becomes the time of last use of every
        member referenced since the last tick."""
        self._now = now
        m, hot = self._sample()
        self._used[m[hot]] = now
        return m, hot


class Counted(KeyScan):
    """KeyScan with a counter per page that the ticks change (aging's shift register, NFU's count),
    ``_count``, of NumPy type ``_count_type``, zero at load."""

    _count_type: ClassVar[type[np.integer]] = np.int64

    def setup(self) -> None:
        super().setup()
        self._count = np.zeros(self.frames.n, dtype=self._count_type)

    def insert(self, frame: int) -> None:
        self._count[frame] = 0
        super().insert(frame)
