"""Clock: textbook second chance with a hand sweeping a circle of frames."""

from __future__ import annotations

from typing import Any, ClassVar

from vmsim.policies.base import Path, Policy, RepeatIsNoop, register

_NONE = -1


@register
class Clock(RepeatIsNoop, Policy):
    """Second chance. The hand points at the oldest slot; a page whose referenced bit is set has
    the bit cleared and is passed over; the first page found with the bit clear is the victim.
    The new page takes the victim's slot (just behind the hand), so the hand has moved past it.
    Pages loaded into free frames join the circle just behind the hand too.

    ``ref_bit_on_load``: true (textbook) keeps the referenced bit the MMU set on the loading
    access; false clears it at load, as libCacheSim's Clock (init_freq=0) does.
    """

    name = "clock"
    aliases: ClassVar[tuple[str, ...]] = ("second-chance-clock", "2c")
    summary = "second chance with a hand (ref_bit_on_load=true is the textbook variant)"
    path = Path.BITS
    ref_bit_on_load: bool = True

    def setup(self) -> None:
        n = self.frames.n
        # A circular doubly linked list over frame numbers.
        self._next = [_NONE] * n
        self._prev = [_NONE] * n
        self._hand = _NONE
        self._size = 0

    @classmethod
    def folds_repeats(cls, **params: Any) -> bool:
        # With the bit cleared at load, the access right after a load sets it again: not a no-op.
        # (A subclass that fixes the parameter, such as ESC, is not given it.)
        return bool(params.get("ref_bit_on_load", cls.ref_bit_on_load))

    def insert(self, frame: int) -> None:
        if not self.ref_bit_on_load:
            self.frames.referenced[frame] = 0
        hand = self._hand
        if hand == _NONE:
            self._next[frame] = self._prev[frame] = frame
            self._hand = frame
        else:
            before = self._prev[hand]
            self._next[before] = frame
            self._prev[frame] = before
            self._next[frame] = hand
            self._prev[hand] = frame
        self._size += 1

    def victim(self) -> int:
        ref = self.frames.referenced
        nxt = self._next
        hand = self._hand
        while ref[hand]:
            ref[hand] = 0
            hand = nxt[hand]
        self._hand = hand
        self.remove(hand)
        return hand

    def remove(self, frame: int) -> None:
        nxt, prv = self._next, self._prev
        after = nxt[frame]
        self._size -= 1
        if self._size == 0:
            self._hand = _NONE
        else:
            before = prv[frame]
            nxt[before] = after
            prv[after] = before
            if self._hand == frame:
                self._hand = after
        nxt[frame] = prv[frame] = _NONE

    def order(self) -> list[int]:
        out: list[int] = []
        f = self._hand
        for _ in range(self._size):
            out.append(f)
            f = self._next[f]
        return out

    def __len__(self) -> int:
        return self._size
