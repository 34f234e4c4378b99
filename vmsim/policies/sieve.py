"""SIEVE: a FIFO queue whose hand skips (and clears) pages visited since it last passed them."""

from __future__ import annotations

from vmsim.policies.base import Path, Policy, register

_NONE = -1


@register
class Sieve(Policy):
    """SIEVE (Zhang et al., NSDI 2024). Pages join the queue at its new end with the visited bit
    clear; the MMU's referenced bit is the visited bit, so a hit costs nothing. To evict, the hand
    starts where it stopped last time (at the old end the first time) and walks towards the new
    end: a visited page has its bit cleared and is passed over, the first unvisited page is the
    victim and the hand stays at the next newer page; from the new end it wraps to the old end.
    Unlike Clock, survivors are not moved: new pages always enter at the new end.
    """

    name = "sieve"
    summary = "SIEVE: FIFO whose hand skips pages visited since it last passed (hits cost nothing)"
    path = Path.BITS

    def setup(self) -> None:
        n = self.frames.n
        self._newer = [_NONE] * n
        self._older = [_NONE] * n
        self._new_end = _NONE
        self._old_end = _NONE
        self._hand = _NONE
        self._size = 0

    def insert(self, frame: int) -> None:
        self.frames.referenced[frame] = 0  # the loading access does not count as a visit
        head = self._new_end
        self._older[frame] = head
        self._newer[frame] = _NONE
        if head == _NONE:
            self._old_end = frame
        else:
            self._newer[head] = frame
        self._new_end = frame
        self._size += 1

    def victim(self) -> int:
        ref = self.frames.referenced
        newer = self._newer
        f = self._hand if self._hand != _NONE else self._old_end
        while ref[f]:
            ref[f] = 0
            f = newer[f]
            if f == _NONE:
                f = self._old_end
        self._hand = f  # remove() moves the hand on to the next newer page
        self.remove(f)
        return f

    def remove(self, frame: int) -> None:
        newer, older = self._newer, self._older
        after, before = newer[frame], older[frame]
        if self._hand == frame:
            self._hand = after
        if after == _NONE:
            self._new_end = before
        else:
            older[after] = before
        if before == _NONE:
            self._old_end = after
        else:
            newer[before] = after
        newer[frame] = older[frame] = _NONE
        self._size -= 1

    def order(self) -> list[int]:
        """From the hand towards the new end, then from the old end up to the hand."""
        out: list[int] = []
        start = self._hand if self._hand != _NONE else self._old_end
        f = start
        for _ in range(self._size):
            out.append(f)
            f = self._newer[f]
            if f == _NONE:
                f = self._old_end
        return out

    def __len__(self) -> int:
        return self._size
