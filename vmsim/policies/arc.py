"""ARC: adaptive replacement between a recency list and a frequency list, tuned by ghost hits."""

from __future__ import annotations

from collections import OrderedDict

from vmsim.policies._keys import PageKeys, page_key
from vmsim.policies.base import Path, WantsIncoming, register


@register
class ARC(WantsIncoming, PageKeys):
    """ARC (Megiddo & Modha, FAST 2003), with libCacheSim's arithmetic.

    T1 holds pages seen once recently, T2 pages seen at least twice; B1 and B2 are their ghost
    lists (numbers of pages evicted from T1 and T2). ``p`` is the target size of T1. A hit moves
    the page to T2's MRU end. A fault on a page in B1 raises ``p`` by ``max(|B2| / |B1|, 1)``
    (at most ``c``), one in B2 lowers it by ``max(|B1| / |B2|, 1)`` (at least 0; ``p`` is real); either way the
    page enters T2. Any other faulted page enters T1, and the ghost lists are trimmed (B1's oldest
    if ``|T1| + |B1|`` was ``c``, or T1's victim is forgotten if T1 alone was ``c``; else B2's
    oldest if the directory held ``2c``). REPLACE evicts T1's LRU page into B1 when T1 is not
    empty and ``|T1| > p`` (or ``|T1| == p`` and the faulted page is in B2), else T2's LRU page
    into B2. ``c`` is the number of frames the domain holds when it evicts.

    The paper adapts ``p`` *before* choosing the victim, so the choice depends on the page being
    loaded: ARC sets ``wants_incoming`` and the Pager calls ``incoming()`` before ``victim()``.
    Without it (a driver that does not call it) the adaptation happens at ``insert()``, one
    decision late, and the B2 tie is read as "not in B2".
    """

    name = "arc"
    aliases = ("adaptive-replacement-cache",)
    summary = "ARC: recency list T1 and frequency list T2, sized by ghost hits in B1/B2"
    path = Path.HITS

    def setup(self) -> None:
        super().setup()
        self._t1: OrderedDict[int, None] = OrderedDict()
        self._t2: OrderedDict[int, None] = OrderedDict()
        self._b1: OrderedDict[int, None] = OrderedDict()
        self._b2: OrderedDict[int, None] = OrderedDict()
        self._in_t2 = bytearray(self.frames.n)
        self.p = 0.0
        self._cap = self.frames.n
        # Sizes (|T1|, |B1|, |T2|, |B2|) before the eviction of the current fault, or None.
        self._pre: tuple[int, int, int, int] | None = None
        self._next: int | None = None  # key of the page about to be loaded, when told
        self._adapted = False

    #: The number ARC's ghost lists keep for a page of a process.
    key = staticmethod(page_key)

    def incoming(self, owner: int, page: int) -> None:
        """Name the page the coming fault loads, before ``victim()`` (makes ARC exact)."""
        self._next = self.key(owner, page)

    def hit(self, frame: int) -> None:
        if self._in_t2[frame]:
            self._t2.move_to_end(frame)
        else:
            del self._t1[frame]
            self._t2[frame] = None
            self._in_t2[frame] = 1

    def _adapt(self, ghost: int, b1: int, b2: int) -> None:
        # p is a real number, as in libCacheSim (and the ARC.py its authors cross-checked with).
        if ghost == 1:
            self.p = min(self.p + max(b2 / b1, 1.0), float(self._cap))
        else:
            self.p = max(self.p - max(b1 / b2, 1.0), 0.0)

    def victim(self) -> int:
        t1, t2, b1, b2 = self._t1, self._t2, self._b1, self._b2
        self._cap = len(t1) + len(t2)
        self._pre = (len(t1), len(b1), len(t2), len(b2))
        ghost = 0
        if self._next is not None:
            ghost = 1 if self._next in b1 else 2 if self._next in b2 else 0
            if ghost:
                self._adapt(ghost, len(b1), len(b2))
                self._adapted = True
        n1 = len(t1)
        if (n1 and (n1 > self.p or (n1 == self.p and ghost == 2))) or not t2:
            frame = t1.popitem(last=False)[0]
            b1[self._key[frame]] = None
        else:
            frame = t2.popitem(last=False)[0]
            self._in_t2[frame] = 0
            b2[self._key[frame]] = None
        return frame

    def insert(self, frame: int) -> None:
        key = self._keep_key(frame)
        b1, b2 = self._b1, self._b2
        pre = self._pre
        ghost = 1 if key in b1 else 2 if key in b2 else 0
        if ghost:
            if not self._adapted:
                self._adapt(ghost, *((len(b1), len(b2)) if pre is None else (pre[1], pre[3])))
            del (b1 if ghost == 1 else b2)[key]
            self._t2[frame] = None
            self._in_t2[frame] = 1
        else:
            self._t1[frame] = None
            self._in_t2[frame] = 0
            c = self._cap
            if pre is not None:
                n1, m1, n2, m2 = pre
                if n1 + m1 >= c:
                    # T1's victim just went to B1's MRU end: forget it if T1 alone filled memory.
                    b1.popitem(last=n1 >= c)
                elif n1 + m1 + n2 + m2 >= 2 * c:
                    b2.popitem(last=False)
            else:
                # Frames freed by remove() can let the lists refill: keep the directory bounded.
                while b1 and len(self._t1) + len(b1) > c:
                    b1.popitem(last=False)
                while b2 and len(self._t1) + len(self._t2) + len(b1) + len(b2) > 2 * c:
                    b2.popitem(last=False)
        self._pre = None
        self._next = None
        self._adapted = False

    def remove(self, frame: int) -> None:
        if self._in_t2[frame]:
            del self._t2[frame]
            self._in_t2[frame] = 0
        else:
            del self._t1[frame]

    def order(self) -> list[int]:
        n1 = len(self._t1)
        if (n1 and n1 > self.p) or not self._t2:
            return [*self._t1, *self._t2]
        return [*self._t2, *self._t1]

    def __len__(self) -> int:
        return len(self._t1) + len(self._t2)
