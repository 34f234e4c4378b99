"""Enhanced second chance: Clock over the classes of the referenced and dirty bits."""

from __future__ import annotations

from vmsim.policies.base import register
from vmsim.policies.clock import Clock


@register
class EnhancedSecondChance(Clock):
    """The clock with use and modified bits (Stallings, Operating Systems: Internals and Design
    Principles, 8.2; the Macintosh's variant of Silberschatz's enhanced second chance).

    From the hand: (1) one lap looking for a page with (referenced, dirty) = (0, 0), changing no
    bit; (2) if none, one lap looking for (0, 1), clearing the referenced bit of every page passed
    over; (3) if none, repeat from (1) (every referenced bit is now clear, so it ends). The victim
    is the first match in hand order; the new page takes its slot and the hand moves past it, as in
    Clock. Dirty bits are never cleared (a page is cleaned only by being written back at eviction).
    Cost: nothing per hit; O(n) per fault in the worst case (at most four laps).
    """

    name = "esc"
    aliases = ("enhanced-second-chance", "enhanced-clock")
    summary = "clock over (referenced, dirty) classes: first (0,0), else first (0,1) clearing bits"
    ref_bit_on_load = True

    def _take(self, frame: int) -> int:
        self._hand = frame
        self.remove(frame)
        return frame

    def victim(self) -> int:
        ref, dirty, nxt = self.frames.referenced, self.frames.dirty, self._next
        n = self._size
        while True:
            f = self._hand
            for _ in range(n):
                if not ref[f] and not dirty[f]:
                    return self._take(f)
                f = nxt[f]
            for _ in range(n):
                if not ref[f]:  # dirty: pass (1) found no clean unreferenced page
                    return self._take(f)
                ref[f] = 0
                f = nxt[f]
