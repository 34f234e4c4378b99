"""LIRS: keep the pages with the shortest reuse distance (LIR) resident; evict among the others (HIR)."""

from __future__ import annotations

from collections import OrderedDict

from vmsim.policies._keys import ResidentKeys
from vmsim.policies.base import CapacitySized, OpenFraction, Path, register


@register
class LIRS(CapacitySized, ResidentKeys):
    """LIRS (Jiang & Zhang, SIGMETRICS 2002), as the paper states it.

    Stack S orders recently seen pages by recency (LIR pages, resident HIR pages and non-resident
    HIR pages); its bottom is always an LIR page ("pruning" pops HIR pages off the bottom). Queue
    Q holds the resident HIR pages, oldest first. Of ``c`` frames, ``hirs = max(1, floor(hir_ratio
    * c))`` go to HIR pages and the rest to LIR pages; until the LIR set is full every new page
    becomes LIR.

    - Hit on an LIR page: it moves to the top of S (pruning if it was the bottom).
    - Hit on a resident HIR page in S: it becomes LIR and leaves Q; the bottom LIR page becomes
      a resident HIR page at the end of Q; prune. Not in S: it moves to the end of Q and the top of S.
    - Fault: the victim is the front of Q (if it is in S it stays there as a non-resident HIR
      page). A faulted page found in S becomes LIR (the bottom LIR page is demoted as on a hit);
      any other becomes a resident HIR page at the end of Q and the top of S.

    S is bounded at ``2c`` entries by dropping the non-resident HIR pages that left memory first
    (libCacheSim's bound). ``c`` is the number of frames the domain holds when it evicts.
    """

    name = "lirs"
    aliases = ("low-inter-reference-recency-set",)
    summary = "LIRS: LIR pages (short reuse distance) stay; evict resident HIR pages (hir_ratio)"
    path = Path.HITS
    hir_ratio: OpenFraction = 0.01

    # Alike in shape to CLOCK-Pro's header and setup, on purpose: both declare one fraction of the
    # frames as their parameter and keep their pages' keys in ResidentKeys (what they share); a
    # stack and a queue here, a circle with two hands there.
    def setup(self) -> None:
        super().setup()
        self._s: OrderedDict[int, None] = OrderedDict()  # bottom first
        self._q: OrderedDict[int, None] = OrderedDict()  # resident HIR frames, front first
        self._nonres: OrderedDict[int, None] = OrderedDict()  # non-resident HIR keys in S
        self._lir: set[int] = set()
        self.set_capacity(self.frames.n)

    def _resize(self, c: int) -> None:
        hirs = max(1, int(self.hir_ratio * c))
        self._lir_limit = c - hirs

    def _prune(self) -> None:
        s, lir = self._s, self._lir
        while s:
            bottom = next(iter(s))
            if bottom in lir:
                return
            del s[bottom]
            self._nonres.pop(bottom, None)

    def _demote(self) -> None:
        """The bottom LIR page of S becomes a resident HIR page at the end of Q."""
        self._prune()  # with no LIR frames at all (1 frame) HIR pages may sit at the bottom
        bottom = self._s.popitem(last=False)[0]
        self._lir.discard(bottom)
        self._q[self._frame[bottom]] = None
        self._prune()

    def hit(self, frame: int) -> None:
        key = self._key[frame]
        s = self._s
        if key in self._lir:
            s.move_to_end(key)
            self._prune()
        elif key in s:
            s.move_to_end(key)
            del self._q[frame]
            self._lir.add(key)
            while len(self._lir) > self._lir_limit:
                self._demote()
        else:
            s[key] = None
            self._q.move_to_end(frame)
            self._bound()

    def _bound(self) -> None:
        s, nonres = self._s, self._nonres
        while len(s) > 2 * self._cap and nonres:
            del s[nonres.popitem(last=False)[0]]

    def insert(self, frame: int) -> None:
        key = self._keep_key(frame)
        s = self._s
        if key in s:  # a non-resident HIR page still in S: its reuse distance is short
            del self._nonres[key]
            s.move_to_end(key)
            self._lir.add(key)
            while len(self._lir) > self._lir_limit:
                self._demote()
        else:
            s[key] = None
            if len(self._lir) < self._lir_limit:
                self._lir.add(key)
            else:
                self._q[frame] = None
            self._bound()

    def victim(self) -> int:
        self._fit(len(self._lir) + len(self._q))
        while self._lir and (len(self._lir) > self._lir_limit or not self._q):
            self._demote()
        frame = self._q.popitem(last=False)[0]
        key = self._drop_key(frame)
        if key in self._s:
            self._nonres[key] = None
        return frame

    def remove(self, frame: int) -> None:
        key = self._drop_key(frame)
        if key in self._lir:
            self._lir.discard(key)
            del self._s[key]
            self._prune()
        else:
            del self._q[frame]
            self._s.pop(key, None)

    def order(self) -> list[int]:
        return [*self._q, *(self._frame[k] for k in self._s if k in self._lir)]

    def __len__(self) -> int:
        return len(self._lir) + len(self._q)
