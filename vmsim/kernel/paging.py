"""The page-fault handler and frame allocation over one shared frame pool.

The Pager is the OS code that runs on a fault: find a frame (a free one, or a victim chosen by the
replacement policy of the faulting process's domain), write the victim back if dirty, unmap it,
map the new page and tell the policy. It knows nothing of time; the replay engine calls it
directly and the SimPy kernel calls it from a process that waits for the paging device.
"""

from __future__ import annotations

import random
from typing import Literal

from vmsim.errors import VmsimError
from vmsim.hw.frames import FrameTable
from vmsim.hw.segments import AddressSpace
from vmsim.policies import Policy, PolicySpec

Scope = Literal["global", "local"]


class Pager:
    """Residency of every process's pages in one FrameTable, under one replacement policy.

    ``scope="global"``: one policy instance over all frames; a fault may evict any process's page.
    ``scope="local"``: one instance per process over that process's frames, and each process holds
    at most ``quota`` frames. Evictions and write-backs are charged to the process that owned the
    evicted page; faults to the process that faulted.
    """

    def __init__(self, n_frames: int, spec: PolicySpec, rng: random.Random, scope: Scope = "global") -> None:
        if scope not in ("global", "local"):
            raise VmsimError(f"scope must be 'global' or 'local', got {scope!r}")
        self.frames = FrameTable(n_frames)
        self.spec = spec
        self.rng = rng
        self.scope = scope
        self.spaces: dict[int, AddressSpace] = {}
        self.domains: dict[int, Policy] = {}
        self.quota: dict[int, int] = {}
        self.resident: dict[int, int] = {}
        self.faults: dict[int, int] = {}
        self.cold: dict[int, int] = {}
        self.evictions: dict[int, int] = {}
        self.writebacks: dict[int, int] = {}
        #: Pages each process has touched, for counting cold (compulsory) faults.
        self.seen: dict[int, set[int]] = {}
        #: The frames each process owns, so swap-out and exit cost O(its pages), not O(memory).
        self.owned: dict[int, set[int]] = {}
        self._global = spec.build(self.frames, rng) if scope == "global" else None
        #: (owner pid, page) of the page evicted by the latest fault, or None if a free frame was used.
        self.last_victim: tuple[int, int] | None = None
        #: Whether the latest fault was the process's first touch of the page.
        self.last_cold = False
        #: Whether that victim was dirty (so the fault also writes a page back).
        self.last_dirty = False
        #: The page table(s) the victim was unmapped from (for TLB shootdowns).
        self.last_victim_tables: object = None
        #: (page tables, page, dirty) of the pages the latest fault's policy gave up
        #: (``releases_on_fault``).
        self.last_released: list[tuple[object, int, bool]] = []
        #: id(page-table dict) -> pid, to hand a shared page to another sharer.
        self.table_pid: dict[int, int] = {}

    def set_quota(self, pid: int, quota: int) -> None:
        """Under local scope: ``pid`` may hold ``quota`` frames; its policy is told."""
        self.quota[pid] = quota
        self.domains[pid].set_capacity(quota)

    def add_process(self, pid: int, space: AddressSpace, quota: int | None = None) -> None:
        """Register a process. Under local scope it needs a quota of at least one frame."""
        if pid in self.spaces:
            raise VmsimError(f"process {pid} is registered twice")
        if self.scope == "local":
            if quota is None or quota < 1:
                raise VmsimError(f"process {pid}: local replacement needs a quota of at least 1 frame")
            self.domains[pid] = self.spec.build(self.frames, self.rng)
            self.set_quota(pid, quota)
        else:
            assert self._global is not None
            self.domains[pid] = self._global
        self.spaces[pid] = space
        for t in space.tables:
            self.table_pid[id(t.entries)] = pid
        for counter in (self.resident, self.faults, self.cold, self.evictions, self.writebacks):
            counter[pid] = 0
        self.seen[pid] = set()
        self.owned[pid] = set()

    def fault(
        self, pid: int, table: dict[int, int], vpn: int, write: int, sharers: list[dict[int, int]] | None = None
    ) -> int:
        """Handle a page fault of ``pid`` on ``vpn`` (not present in ``table``); return its frame.

        ``sharers``: for a page of a shared segment, the page tables of every process sharing
        it (``table`` among them); the page is mapped into all of them, so the others hit it.
        """
        frames = self.frames
        self.faults[pid] += 1
        seen = self.seen[pid]
        self.last_cold = vpn not in seen
        if self.last_cold:
            seen.add(vpn)
            self.cold[pid] += 1
        domain = self.domains[pid]
        if domain.releases_on_fault:
            self.last_released = self.give_up(domain.release())
        frame = None
        if self.scope == "global" or self.resident[pid] < self.quota[pid]:
            frame = frames.allocate()
        if frame is None:
            if len(domain) == 0:
                # Local scope with no page of its own to give up (its frames are still held by a
                # process being swapped out): take the victim of the process holding the most.
                domain = self.domains[max(self.resident, key=lambda q: (self.resident[q], -q))]
            elif domain.wants_incoming:
                domain.incoming(pid, vpn)
            frame = domain.victim()
            domain = self.domains[pid]
            owner = frames.owner[frame]
            page = frames.page[frame]
            self.last_victim_tables = frames.table[frame]
            frames.unmap(frame)
            self.evictions[owner] += 1
            self.last_dirty = bool(frames.dirty[frame])
            if self.last_dirty:
                self.writebacks[owner] += 1
            self.resident[owner] -= 1
            self.owned[owner].discard(frame)
            self.last_victim = (owner, page)
        else:
            self.last_victim = None
            self.last_dirty = False
        if sharers:
            for t in sharers:
                t[vpn] = frame
            frames.table[frame] = sharers
        else:
            table[vpn] = frame
            frames.table[frame] = table
        frames.owner[frame] = pid
        frames.page[frame] = vpn
        frames.referenced[frame] = 1
        frames.dirty[frame] = 1 if write else 0
        self.resident[pid] += 1
        self.owned[pid].add(frame)
        domain.insert(frame)
        return frame

    def _evict(self, frame: int) -> bool:
        """Unmap ``frame`` (already taken out of its domain) and free it; True if it was dirty."""
        frames = self.frames
        owner = frames.owner[frame]
        frames.unmap(frame)
        dirty = bool(frames.dirty[frame])
        self.evictions[owner] += 1
        if dirty:
            self.writebacks[owner] += 1
        self.resident[owner] -= 1
        self.owned[owner].discard(frame)
        frames.release(frame)
        return dirty

    def give_up(self, released: list[int]) -> list[tuple[object, int, bool]]:
        """Evict and free the frames a policy gave up on its own (it has already forgotten them):
        counted as evictions, and as write-backs when dirty. Returns (page tables, page, dirty) of
        each, for TLB shootdowns and the paging device."""
        out: list[tuple[object, int, bool]] = []
        for f in released:
            tables, page = self.frames.table[f], self.frames.page[f]
            out.append((tables, page, self._evict(f)))
        return out

    def swap_out(self, pid: int) -> int:
        """Free the frames of ``pid`` (a suspended process); return how many were dirty. Pages of
        shared segments stay resident for the other sharers."""
        frames = self.frames
        domain = self.domains[pid]
        dirty = 0
        for f in sorted(self.owned[pid]):
            if type(frames.table[f]) is list and len(frames.table[f]) > 1:  # type: ignore[arg-type]
                continue
            domain.remove(f)
            dirty += self._evict(f)
        return dirty

    def release_process(self, pid: int, table: dict[int, int] | None = None) -> None:
        """Free the frames of a process that exited: its pages are discarded, not written back.
        A page of a shared segment that other processes still map passes to one of them."""
        frames = self.frames
        domain = self.domains[pid]
        owned = self.owned[pid]
        for f in sorted(owned):
            tables = frames.table[f]
            others = [t for t in tables if t is not table] if type(tables) is list else []
            if others:
                heir = self.table_pid[id(others[0])]
                if self.domains[heir] is not domain:
                    domain.remove(f)
                    self.domains[heir].insert(f)
                frames.owner[f] = heir
                self.resident[pid] -= 1
                self.resident[heir] += 1
                owned.discard(f)
                self.owned[heir].add(f)
                continue
            domain.remove(f)
            frames.unmap(f)
            self.resident[pid] -= 1
            owned.discard(f)
            frames.release(f)

    def shrink(self, pid: int) -> int | None:
        """Evict one page of ``pid`` chosen by its own (local) policy; return the page."""
        domain = self.domains[pid]
        if self.scope != "local" or len(domain) == 0:
            return None
        f = domain.victim()
        page = self.frames.page[f]
        self._evict(f)
        return page

    def domain_frames(self, pid: int) -> list[int]:
        """The frames ``pid``'s policy instance chooses among, in the policy's order."""
        return self.domains[pid].order()
