"""Second chance: FIFO with reinsertion (a queue, where Clock has a hand over a circle)."""

from __future__ import annotations

from vmsim.policies.base import Path, register
from vmsim.policies.fifo import FIFO


@register
class SecondChance(FIFO):
    """FIFO whose head gets a second chance: at a fault the page at the head of the queue is the
    victim if its referenced bit is clear; if set, the bit is cleared and the page goes to the
    tail (as if just loaded), and the next head is examined. Loads join the tail.

    The queue visits pages in the same order as Clock's hand, so faults equal Clock's with the
    bit kept at load (Tanenbaum, Modern Operating Systems, 3.4.4). Cost: nothing per hit,
    amortised O(1) per fault (each reinsertion clears a bit that only a reference sets again).
    """

    name = "second-chance"
    aliases = ("sc", "fifo-second-chance")
    summary = "FIFO with reinsertion: a referenced head has its bit cleared and goes to the tail"
    # Not FIFO_TABLE: reinsertion reorders the queue at faults, so it is not the table's load order.
    path = Path.BITS

    def victim(self) -> int:
        ref = self.frames.referenced
        queue = self._queue
        pop = queue.popitem
        while True:
            f = pop(last=False)[0]
            if not ref[f]:
                return f
            ref[f] = 0
            queue[f] = None
