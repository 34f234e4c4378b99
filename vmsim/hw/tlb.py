"""A translation lookaside buffer: set-associative, with LRU, FIFO or random replacement, and
either flushed on every context switch or tagged with address-space identifiers (ASIDs).

The kernel gives each CPU one TLB. A lookup names the process (its ASID) and the virtual page; a
miss fills the entry (the page-table walk found it present). With ``tagged`` false the TLB holds
one address space at a time, and :meth:`switch_to` another process flushes it.
"""

from __future__ import annotations

import itertools
import random
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

from vmsim.errors import VmsimError

TLBPolicy = Literal["lru", "fifo", "random"]
TLB_POLICIES: tuple[str, ...] = ("lru", "fifo", "random")


class SetAssociativeTLB:
    """``entries`` entries in ``entries // ways`` sets of ``ways`` entries; a virtual page maps to
    set ``vpn % sets``. ``ways == entries`` is fully associative, ``ways == 1`` direct-mapped.

    ``access(asid, vpn)`` is built once for the configuration (it runs once per reference): it
    answers hit or miss and, on a miss, loads the entry. An untagged TLB holds the entries of the
    process of the last :meth:`switch_to`; the caller switches before a process runs, as the
    kernel does at every context switch. Hits and misses are counted by the caller.
    """

    def __init__(
        self,
        entries: int,
        ways: int | None = None,
        policy: TLBPolicy = "lru",
        *,
        tagged: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        ways = entries if ways is None else ways
        if entries <= 0 or ways <= 0 or entries % ways:
            raise VmsimError(f"a TLB of {entries} entries cannot have {ways}-way sets (ways must divide entries)")
        if policy not in TLB_POLICIES:
            raise VmsimError(f"TLB policy is one of {', '.join(TLB_POLICIES)}, got {policy!r}")
        if policy == "random" and rng is None:
            raise VmsimError("a random TLB needs the simulation's random generator")
        self.entries, self.ways, self.policy, self.tagged = entries, ways, policy, tagged
        self.nsets = entries // ways
        #: Each set maps its keys (vpn, or (asid, vpn) when tagged) in load order, or LRU first.
        self.sets: list[OrderedDict[Any, None]] = [OrderedDict() for _ in range(self.nsets)]
        self.rng = rng
        #: The process whose translations an untagged TLB holds (None: none yet).
        self.owner: int | None = None
        self.flushes = 0
        self.access: Callable[[int, int], bool] = self._build_access()

    def _build_access(self) -> Callable[[int, int], bool]:
        sets, nsets, ways, tagged = self.sets, self.nsets, self.ways, self.tagged
        lru = self.policy == "lru"
        rng = self.rng

        def evict(s: OrderedDict[Any, None]) -> None:
            if rng is not None and self.policy == "random":
                del s[next(itertools.islice(s, rng.randrange(len(s)), None))]
            else:
                s.popitem(last=False)

        # access_one is access() specialised on purpose for the common fully associative, untagged
        # TLB: one lookup per reference in the kernel's slice loop, no key tuple, no set index.
        if nsets == 1 and not tagged:
            only = sets[0]
            move = only.move_to_end

            def access_one(asid: int, vpn: int) -> bool:
                if vpn in only:
                    if lru:
                        move(vpn)
                    return True
                if len(only) >= ways:
                    evict(only)
                only[vpn] = None
                return False

            return access_one

        def access(asid: int, vpn: int) -> bool:
            key = (asid, vpn) if tagged else vpn
            s = sets[vpn % nsets]
            if key in s:
                if lru:
                    s.move_to_end(key)
                return True
            if len(s) >= ways:
                evict(s)
            s[key] = None
            return False

        return access

    def switch_to(self, asid: int) -> None:
        """A context switch to process ``asid``: an untagged TLB is flushed (if it held another
        process's entries); a tagged one keeps every entry."""
        if self.tagged or asid == self.owner:
            return
        if self.owner is not None:
            self.flush()
        self.owner = asid

    def flush(self) -> None:
        """Drop every entry."""
        for s in self.sets:
            s.clear()
        self.flushes += 1

    def invalidate(self, asid: int, vpn: int) -> None:
        """Drop the entry of ``vpn`` of ``asid`` if there is one (the page was unmapped)."""
        if self.tagged:
            self.sets[vpn % self.nsets].pop((asid, vpn), None)
        elif asid == self.owner:
            self.sets[vpn % self.nsets].pop(vpn, None)

    def invalidate_process(self, asid: int) -> None:
        """Drop every entry of ``asid`` (the process was swapped out or exited)."""
        if not self.tagged:
            if self.owner == asid:
                for s in self.sets:
                    s.clear()
            return
        for s in self.sets:
            for key in [k for k in s if k[0] == asid]:
                del s[key]

    def __len__(self) -> int:
        return sum(len(s) for s in self.sets)
