"""WSClock: Clock over the working set, ages measured in virtual time."""

from __future__ import annotations

from typing import Annotated

from vmsim.policies.base import Periodic, Range, register
from vmsim.policies.clock import Clock


@register
class WSClock(Periodic, Clock):
    """WSClock (Carr and Hennessy, "WSCLOCK: a simple and effective algorithm for virtual memory
    management", SOSP 1981; as in Tanenbaum, Modern Operating Systems, 3.4.9).

    Each page has a time of last use: its load time, then the time of the scan that found its
    referenced bit set. The time is the latest tick's ``now`` (so it moves in steps of ``period``).
    At a fault the hand sweeps the circle: a referenced page has its bit cleared and its time of
    last use set to now, and is passed over; an unreferenced page older than ``tau`` (now - last
    use > tau) is the victim if clean; if dirty it is passed over (vmsim schedules no write-back:
    a page stays dirty until evicted). After one full lap with no victim, the victim is the page
    with the oldest time of last use (an old dirty page if there is one), a clean page before a
    dirty one among equals, then the first met. The new page takes the victim's slot and the hand
    moves past it, as in Clock.

    Cost: nothing per hit, O(1) per tick; O(n) per fault in the worst case (one lap).
    """

    name = "wsclock"
    aliases = ("ws-clock",)
    summary = "clock that evicts clean pages unused for tau (virtual time from ticks every period)"
    ref_bit_on_load = True
    tau: Annotated[int, Range(0, 10**12)] = 10000

    def setup(self) -> None:
        super().setup()
        self._used = [0] * self.frames.n
        self._now = 0

    def tick(self, now: int) -> list[int]:
        self._now = now
        return []

    def insert(self, frame: int) -> None:
        self._used[frame] = self._now
        super().insert(frame)

    def victim(self) -> int:
        ref, dirty, nxt, used = self.frames.referenced, self.frames.dirty, self._next, self._used
        now, tau = self._now, self.tau
        f = self._hand
        best, best_key = f, (1 << 62, 1)
        for _ in range(self._size):
            if ref[f]:
                ref[f] = 0
                used[f] = now
            elif now - used[f] > tau and not dirty[f]:
                break
            key = (used[f], dirty[f])
            if key < best_key:
                best, best_key = f, key
            f = nxt[f]
        else:
            f = best
        self._hand = f
        self.remove(f)
        return f
