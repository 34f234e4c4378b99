"""The page-fault handler and frame allocation over one shared frame pool: the VM core's one
fault path, driven by the replay engine and by the SimPy kernel alike.

The Pager is the OS code that runs on a fault: find a frame (a free one, or a victim chosen by the
replacement policy of the faulting process's domain), unmap the victim (counting its write-back if
dirty), map the new page and tell the policy. It knows nothing of time. It owns every counter:
each process's :class:`Account` is written here (and by the VM core's run loops, vmsim.vm.loops)
and only read by the drivers.
"""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

from vmsim.errors import VmsimError
from vmsim.hw.frames import FrameTable
from vmsim.hw.segments import AddressSpace
from vmsim.policies import Policy, PolicySpec
from vmsim.vm.plan import Plan

Scope = Literal["global", "local"]
#: A page table: virtual page -> frame.
Table = dict[int, int]
#: What maps a frame: one process's page table, or for a page of a shared segment every sharer's.
Tables = Table | list[Table]


class Released(NamedTuple):
    """A page freed without a fault asking for its frame (its policy gave it up)."""

    tables: Tables
    page: int
    dirty: bool


class Fault(NamedTuple):
    """What one page fault did (``Pager.fault``'s outcome)."""

    frame: int
    #: The process's first touch of the page (a compulsory miss).
    cold: bool
    #: The process whose page was evicted, or -1 if a free frame was used.
    victim_owner: int
    #: The evicted page (-1 if none).
    victim_page: int
    #: The page table(s) the victim was unmapped from (for TLB shootdowns; None if no victim).
    victim_tables: Tables | None
    #: Whether the victim was dirty (so the fault also writes a page back).
    victim_dirty: bool
    #: Pages the policy gave up at this fault (a Releasing policy), already freed.
    released: tuple[Released, ...]


class Account:
    """One process's residency and counters. Written by the VM core only."""

    __slots__ = ("cold", "domain", "evictions", "faults", "owned", "pid", "quota", "resident", "seen", "writebacks")

    def __init__(self, pid: int, domain: Policy, quota: int) -> None:
        self.pid = pid
        self.domain = domain
        #: Frames this process may hold (local scope); every frame under global scope.
        self.quota = quota
        self.resident = 0
        self.faults = 0
        self.cold = 0
        self.evictions = 0
        self.writebacks = 0
        #: Pages this process has touched, for counting cold (compulsory) faults.
        self.seen: set[int] = set()
        #: The frames this process owns, so swap-out and exit cost O(its pages), not O(memory).
        self.owned: set[int] = set()


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
        self.plan = Plan.of(spec)
        self._releases, self._incoming = self.plan.releases, self.plan.incoming
        self.rng = rng
        self.scope = scope
        self.accounts: dict[int, Account] = {}
        self._global = spec.build(self.frames, rng) if scope == "global" else None
        #: id(page-table dict) -> pid, to hand a shared page to another sharer.
        self.table_pid: dict[int, int] = {}

    # ------------------------------------------------------------------ processes

    def add_process(self, pid: int, space: AddressSpace, quota: int | None = None) -> Account:
        """Register a process. Under local scope it needs a quota of at least one frame."""
        if pid in self.accounts:
            raise VmsimError(f"process {pid} is registered twice")
        if self.scope == "local":
            if quota is None or quota < 1:
                raise VmsimError(f"process {pid}: local replacement needs a quota of at least 1 frame")
            acct = Account(pid, self.spec.build(self.frames, self.rng), quota)
            acct.domain.set_capacity(quota)
        else:
            assert self._global is not None
            acct = Account(pid, self._global, self.frames.n)
        self.accounts[pid] = acct
        for t in space.tables:
            self.table_pid[id(t.entries)] = pid
        return acct

    def set_quota(self, pid: int, quota: int) -> None:
        """Under local scope: ``pid`` may hold ``quota`` frames; its policy is told."""
        acct = self.accounts[pid]
        acct.quota = quota
        acct.domain.set_capacity(quota)

    def domains(self) -> list[Policy]:
        """Every policy instance, once each, in process order."""
        return list({id(a.domain): a.domain for a in self.accounts.values()}.values())

    # ------------------------------------------------------------------ faults

    def fault(self, pid: int, table: Table, vpn: int, write: int, sharers: list[Table] | None = None) -> Fault:
        """Handle a page fault of ``pid`` on ``vpn`` (not present in ``table``).

        ``sharers``: for a page of a shared segment, the page tables of every process sharing
        it (``table`` among them); the page is mapped into all of them, so the others hit it.
        """
        frames = self.frames
        acct = self.accounts[pid]
        acct.faults += 1
        seen = acct.seen
        cold = vpn not in seen
        if cold:
            seen.add(vpn)
            acct.cold += 1
        domain = acct.domain
        released = self.give_up(domain.release()) if self._releases else ()  # type: ignore[attr-defined]
        frame = frames.allocate() if self._global is not None or acct.resident < acct.quota else None
        owner = vpage = -1
        vtables = None
        vdirty = False
        if frame is None:
            if self._global is None and len(domain) == 0:
                # Local scope with no page of its own to give up (its frames are still held by a
                # process being swapped out): take the victim of the process holding the most.
                holder = max(self.accounts.values(), key=lambda a: (a.resident, -a.pid))
                frame = holder.domain.victim()
            else:
                if self._incoming:
                    domain.incoming(pid, vpn)  # type: ignore[attr-defined]
                frame = domain.victim()
            owner = frames.owner[frame]
            victim = self.accounts[owner]
            vpage = frames.page[frame]
            vtables = frames.table[frame]
            if type(vtables) is dict:  # FrameTable.unmap, inline: once per fault
                del vtables[vpage]
            else:
                frames.unmap(frame)
            victim.evictions += 1
            vdirty = frames.dirty[frame] == 1
            if vdirty:
                victim.writebacks += 1
            victim.resident -= 1
            victim.owned.discard(frame)
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
        acct.resident += 1
        acct.owned.add(frame)
        domain.insert(frame)
        return Fault(frame, cold, owner, vpage, vtables, vdirty, released)

    def take_free(self, pid: int, table: Table) -> int:
        """A free frame for ``pid``'s page table (-1 if none), owned but not yet mapped: the run
        loops that keep the page table in the policy's order map it themselves."""
        frames = self.frames
        f = frames.allocate()
        if f is None:
            return -1
        frames.owner[f] = pid
        frames.table[f] = table
        self.accounts[pid].owned.add(f)
        return f

    # ------------------------------------------------------------------ frames given back

    def _evict(self, frame: int) -> bool:
        """Unmap ``frame`` (already taken out of its domain) and free it; True if it was dirty."""
        frames = self.frames
        acct = self.accounts[frames.owner[frame]]
        frames.unmap(frame)
        dirty = frames.dirty[frame] == 1
        acct.evictions += 1
        if dirty:
            acct.writebacks += 1
        acct.resident -= 1
        acct.owned.discard(frame)
        frames.release(frame)
        return dirty

    def give_up(self, released: list[int]) -> tuple[Released, ...]:
        """Evict and free the frames a policy gave up on its own (it has already forgotten them):
        counted as evictions, and as write-backs when dirty."""
        if not released:
            return ()
        frames = self.frames
        out = []
        for f in released:
            tables, page = frames.table[f], frames.page[f]
            assert tables is not None
            out.append(Released(tables, page, self._evict(f)))
        return tuple(out)

    def tick(self, now: int) -> list[tuple[Released, ...]]:
        """A periodic policy's tick at virtual time ``now`` in every domain, in process order: the
        pages each domain gave up (already freed)."""
        return [self.give_up(domain.tick(now)) for domain in self.domains()]  # type: ignore[attr-defined]

    def swap_out(self, pid: int) -> int:
        """Free the frames of ``pid`` (a suspended process); return how many were dirty. Pages of
        shared segments stay resident for the other sharers."""
        frames = self.frames
        acct = self.accounts[pid]
        dirty = 0
        for f in sorted(acct.owned):
            tables = frames.table[f]
            if type(tables) is list and len(tables) > 1:
                continue
            acct.domain.remove(f)
            dirty += self._evict(f)
        return dirty

    def release_process(self, pid: int, table: Table | None = None) -> None:
        """Free the frames of a process that exited: its pages are discarded, not written back.
        A page of a shared segment that other processes still map passes to one of them.
        ``table`` is the process's page table, emptied at the end (instead of page by page)."""
        frames = self.frames
        acct = self.accounts[pid]
        domain = acct.domain
        remove = domain.remove
        owner_tables = frames.table
        freed: list[int] = []
        for f in sorted(acct.owned):
            tables = owner_tables[f]
            others = [t for t in tables if t is not table] if type(tables) is list else []
            if others:
                heir = self.accounts[self.table_pid[id(others[0])]]
                if heir.domain is not domain:
                    remove(f)
                    heir.domain.insert(f)
                frames.owner[f] = heir.pid
                heir.resident += 1
                heir.owned.add(f)
                continue
            remove(f)
            if tables is not table:
                frames.unmap(f)
            freed.append(f)
        acct.resident = 0
        acct.owned.clear()
        if table is not None:
            table.clear()  # the pages only it maps were not unmapped one by one
        frames.release_all(freed)

    def shrink(self, pid: int) -> int | None:
        """Evict one page of ``pid`` chosen by its own (local) policy; return the page."""
        domain = self.accounts[pid].domain
        if self.scope != "local" or len(domain) == 0:
            return None
        f = domain.victim()
        page = self.frames.page[f]
        self._evict(f)
        return page
