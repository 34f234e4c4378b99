"""The slice and fault path: CPUs running processes' references in time slices, page faults
blocking them on the paging device, and page-ins making them ready again.

A process runs its references in a plain loop for its time slice (never one event per reference)
and yields to SimPy only when its slice ends, when it faults, or when it finishes. The state of
memory a slice sees is the state at the start of the slice; the fault, if any, is handled at the
simulated time it happens (after the slice's references).

A fault maps the page at once (victim chosen, unmapped, written back if dirty) and blocks the
process while the paging device writes the victim back (if dirty) and reads the page in; other
ready processes use the CPU meanwhile.
"""

from __future__ import annotations

import os
from itertools import compress

from vmsim.hw.tlb import SetAssociativeTLB
from vmsim.kernel.config import KernelConfig
from vmsim.kernel.events import Agenda, DeviceQueue, Job
from vmsim.kernel.process import Proc, Processes, State
from vmsim.vm import Pager, Released, Tables

#: How a slice ends: its process faulted, used up its stream, or used up its quantum.
FAULT, DONE, SLICE = "fault", "done", "slice"


class CPUs:
    """The machine's CPUs, each with its TLB (if the machine has TLBs)."""

    def __init__(
        self,
        cfg: KernelConfig,
        agenda: Agenda,
        device: DeviceQueue,
        pager: Pager,
        procs: Processes,
        tlbs: list[SetAssociativeTLB],
    ) -> None:
        self.cfg = cfg
        self.agenda = agenda
        self.device = device
        self.pager = pager
        self.frames = pager.frames
        self.procs = procs
        self.tlbs = tlbs
        self.busy = 0
        self.switches = 0
        #: Per CPU, the process it runs and what its slice ended with (while the slice's time passes).
        self._running: list[tuple[Proc, int, str] | None] = [None] * cfg.cpus
        plan = pager.plan
        self._hits = plan.hits
        # LRU and MRU only care about the order of last accesses: their hits can be replayed once
        # per page at the end of a run, in last-access order, with the same result.
        self._recency_only = plan.recency_only
        self._releases = plan.releases
        #: Run a process alone on the machine ahead of SimPy's clock (``_alone``); VMSIM_KERNEL_FAST=0
        #: turns it off, to check that both paths agree.
        self._fast = cfg.cpus == 1 and os.environ.get("VMSIM_KERNEL_FAST", "1") != "0"
        procs.wake = self.dispatch

    # ------------------------------------------------------------------ CPUs

    def dispatch(self, cpu: int) -> None:
        """CPU ``cpu`` is free: run the next ready process's slice, or wait until one is ready."""
        procs = self.procs
        while procs.remaining:
            if not procs.ready:
                procs.idle.append(cpu)
                return
            proc = procs.ready.popleft()
            procs.set(proc, State.RUNNING)
            tlb = self.tlbs[cpu] if self.tlbs else None
            if tlb is not None:
                tlb.switch_to(proc.pid)
            elapsed, outcome = self._slice(proc, tlb)
            self._running[cpu] = (proc, elapsed, outcome)
            if elapsed:
                self.agenda.at(elapsed, self._slice_timed, cpu)
                return
            if self._slice_end(cpu):
                return

    def _slice_timed(self, cpu: int) -> None:
        if not self._slice_end(cpu):
            self.dispatch(cpu)

    def _slice_end(self, cpu: int) -> bool:
        """The slice's time has passed: block on the fault, finish, or requeue the process; then
        the context switch. True if the CPU is now busy switching (False: it goes on at once)."""
        run = self._running[cpu]
        assert run is not None
        proc, elapsed, outcome = run
        self._running[cpu] = None
        self.busy += elapsed
        procs = self.procs
        if outcome == FAULT:
            if self._alone_possible(proc):
                self._alone(cpu, proc)
                return True
            self._fault(proc)
        elif outcome == DONE:
            procs.finish(proc)
        elif proc.suspend_pending:
            procs.suspend_now(proc)
        else:
            procs.make_ready(proc)
        if self.cfg.context_switch_ns and procs.remaining:
            self.switches += 1
            self.agenda.at(self.cfg.context_switch_ns, self.dispatch, cpu)
            return True
        return False

    # ------------------------------------------------------------------ slices

    def _slice(self, proc: Proc, tlb: SetAssociativeTLB | None) -> tuple[int, str]:
        """Run ``proc``'s references for one quantum in a plain loop: (time used, outcome)."""
        table = proc.table
        if proc.pos < len(proc.pages) and proc.pages[proc.pos] not in table:
            return 0, FAULT  # thrashing: the very next access faults, in no time
        cfg = self.cfg
        t_mem = cfg.memory_access_ns
        budget = cfg.quantum_ns
        elapsed = 0
        while elapsed < budget:
            if proc.pos >= len(proc.pages) and not proc.next_chunk():
                proc.vtime += elapsed
                return elapsed, DONE
            pages, writes, pos = proc.pages, proc.writes, proc.pos
            fault = -1
            if tlb is None:
                end = min(len(pages), pos + max(1, (budget - elapsed) // t_mem))
                # Every access before the first absent page is a hit. Look for that page one by one
                # for the first few accesses (thrashing: the next fault is near), then at C speed
                # in windows that double.
                get = table.get
                stop = pos
                near = min(end, pos + 8)
                while stop < near:
                    if get(pages[stop]) is None:
                        fault = stop
                        break
                    stop += 1
                if fault < 0 and stop < end:
                    contains = table.__contains__
                    window = 16
                    while stop < end:
                        probe = pages[stop : min(end, stop + window)]
                        present = list(map(contains, probe))
                        try:
                            stop += present.index(False)
                            fault = stop
                            break
                        except ValueError:
                            stop += len(probe)
                            window *= 2
                elapsed += (stop - pos) * t_mem
                if stop > pos:
                    self._run_hits(proc, pages[pos:stop], None if writes is None else writes[pos:stop], proc.vtime + elapsed)
            else:
                stop, elapsed, fault = self._tlb_run(proc, tlb, pages, writes, pos, elapsed, budget)
            proc.references += stop - pos
            proc.pos = stop
            if fault >= 0:
                proc.vtime += elapsed
                return elapsed, FAULT
        proc.vtime += elapsed
        return elapsed, SLICE

    def _tlb_run(
        self, proc: Proc, tlb: SetAssociativeTLB, pages: list[int], writes: list[int] | None, pos: int, elapsed: int, budget: int
    ) -> tuple[int, int, int]:
        """References through the TLB, one at a time (a hit costs hit_time, a miss the walk),
        until a page is absent or the quantum is used: (where it stopped, elapsed, the absent
        page's position or -1)."""
        cfg = self.cfg
        frames = self.frames
        ref, dirty = frames.referenced, frames.dirty
        get = proc.table.get
        hit = self.pager.accounts[proc.pid].domain.hit if self._hits else None
        access, asid = tlb.access, proc.pid
        t_hit, t_mem = cfg.tlb_hit_ns, cfg.memory_access_ns
        hits = 0
        i = pos
        stop = len(pages)
        fault = -1
        while i < stop and elapsed < budget:
            p = pages[i]
            f = get(p)
            if f is None:
                fault = i
                break
            if access(asid, p):
                hits += 1
                elapsed += t_hit
            else:
                elapsed += t_mem
            ref[f] = 1
            if writes is not None and writes[i]:
                dirty[f] = 1
            if hit is not None:
                hit(f)
            i += 1
        proc.tlb_hits += hits
        proc.tlb_misses += i - pos - hits
        if i > pos:
            proc.ws.touch(set(pages[pos:i]), proc.vtime + elapsed)
        return i, elapsed, fault

    def _run_hits(self, proc: Proc, run: list[int], writes: list[int] | None, vtime: int) -> None:
        """What the MMU and the policy do for a run of hits, done once per distinct page: set the
        referenced bits, the dirty bits of written pages, and call the hit hook (per access, or
        once per page in last-access order for LRU and MRU); the pages join the process's working
        sets at ``vtime``, the run's end. Nothing reads these inside the run: evictions happen at
        faults, after it."""
        table = proc.table
        ref = self.frames.referenced
        hit = self.pager.accounts[proc.pid].domain.hit if self._hits else None
        lasts = proc.ws.lasts
        if len(run) <= 8 and len(lasts) == 1:
            # A short run (thrashing): access by access is cheaper, and the same (the bits and the
            # window's times are set again to the same values; LRU/MRU moves end in last-access order).
            last = lasts[0]
            move = last.move_to_end
            dirty = self.frames.dirty
            for i, p in enumerate(run):
                f = table[p]
                ref[f] = 1
                if writes is not None and writes[i]:
                    dirty[f] = 1
                if hit is not None:
                    hit(f)
                last[p] = vtime
                move(p)
            return
        if hit is not None and not self._recency_only:
            for p in run:
                hit(table[p])
        latest = dict.fromkeys(reversed(run))  # distinct pages, most recent first
        if len(lasts) == 1:  # one working-set window: touch it in the same pass (WorkingSets.touch)
            last = lasts[0]
            move = last.move_to_end
            if hit is not None and self._recency_only:
                for p in reversed(latest):
                    f = table[p]
                    ref[f] = 1
                    hit(f)
                    last[p] = vtime
                    move(p)
            else:
                for p in latest:
                    ref[table[p]] = 1
                    last[p] = vtime
                    move(p)
        else:
            if hit is not None and self._recency_only:
                for p in reversed(latest):
                    f = table[p]
                    ref[f] = 1
                    hit(f)
            else:
                for p in latest:
                    ref[table[p]] = 1
            proc.ws.touch(latest, vtime)
        if writes is not None:
            dirty = self.frames.dirty
            for p in set(compress(run, writes)):
                dirty[table[p]] = 1

    # ------------------------------------------------------------------ faults

    def _fault(self, proc: Proc) -> None:
        """The faulting access: map its page now, block the process for the device's I/O."""
        write, read = self._map(proc)
        self.agenda.urgent.append((self._page_in, Job(write, read, self._paged_in, proc)))

    def _map(self, proc: Proc) -> tuple[int, int]:
        """Map the faulting access's page now and block the process; returns the page-in's
        transfer times on the paging device: (write-back of a dirty victim, read), 0 for none."""
        page = proc.pages[proc.pos]
        write = proc.writes[proc.pos] if proc.writes is not None else 0
        sharers = None
        file_backed = True
        for lo, hi, fb, tables in proc.ranges:
            if lo <= page < hi:
                sharers, file_backed = tables, fb
                break
        out = self.pager.fault(proc.pid, proc.table, page, write, sharers)
        if out.victim_owner >= 0 and self.tlbs:
            self._shootdown(out.victim_tables, out.victim_page)  # type: ignore[arg-type]
        if self._releases:
            self.released(out.released)
        proc.references += 1
        proc.pos += 1
        proc.ws.touch1(page, proc.vtime)
        rss = self.pager.accounts[proc.pid].resident
        if rss > proc.max_rss:
            proc.max_rss = rss
        now = self.agenda.now  # blocked from now (Processes.set, inline: once per fault)
        proc.times[proc.state] += now - proc.since
        proc.state = State.BLOCKED
        proc.since = now
        # The first touch of an anonymous page is zero-filled: no read from the device.
        read = file_backed or not out.cold
        return (self.cfg.device_write_ns if out.victim_dirty else 0), (self.cfg.device_read_ns if read else 0)

    def _shootdown(self, tables: Tables, page: int) -> None:
        """Drop ``page`` from every CPU's TLB, for every process whose page table ``tables`` is (or
        lists): a shared page is unmapped from all its sharers."""
        for t in tables if type(tables) is list else (tables,):
            owner = self.pager.table_pid[id(t)]
            for tlb in self.tlbs:
                tlb.invalidate(owner, page)

    def released(self, released: tuple[Released, ...]) -> None:
        """Pages a policy gave up: out of the TLBs; the dirty ones are written to the device."""
        if self.tlbs:
            for r in released:
                self._shootdown(r.tables, r.page)
        dirty = sum(r.dirty for r in released)
        if dirty:
            self.procs.write_pages(dirty)

    def _page_in(self, job: Job) -> None:
        """The page-in's I/O starts (as the first step of a new process would): a write-back of
        the victim if it was dirty and the read, on the paging device; a zero-filled page only
        takes the zero-fill time."""
        if job.write or job.read:
            self.device.request(job)
        else:
            self.agenda.at(self.cfg.zero_fill_ns, self.procs.after_page_in, job.owner)

    def _paged_in(self, job: Job) -> None:
        if job.read:
            self.procs.after_page_in(job.owner)
        else:
            self.agenda.at(self.cfg.zero_fill_ns, self.procs.after_page_in, job.owner)

    # ------------------------------------------------------------------ a process alone

    def _alone_possible(self, proc: Proc) -> bool:
        """Whether the fault that just ended ``proc``'s slice can be run ahead of SimPy's clock
        (``_alone``): one CPU, nothing else ready or pending, the paging device idle."""
        agenda, device = self.agenda, self.device
        return (
            self._fast
            and not self.procs.ready
            and not device.users
            and not device.waiting
            and not agenda.urgent
            and not agenda.soon
            and not proc.suspend_pending
            and not self._releases
        )

    def _alone(self, cpu: int, proc: Proc) -> None:
        """A process alone on the machine faults: run its faults, page-ins and slices ahead of
        SimPy's clock, without an event, for as long as every step they take happens before the
        next event in SimPy's queue (a sample, a load-control check, a tick, an arrival). Nothing
        else can happen in between, so the steps, their times and their order are exactly those of
        the general path, which takes over (``_fault``, the context switch, the page-in's
        transfers as events) for the first step that would not be strictly earlier."""
        cfg, agenda, device, procs = self.cfg, self.agenda, self.device, self.procs
        horizon = agenda.env.peek()
        switch, zero_fill = cfg.context_switch_ns, cfg.zero_fill_ns
        tlb = self.tlbs[cpu] if self.tlbs else None
        times = proc.times
        while True:
            t = agenda.now
            write, read = self._map(proc)
            switched = t + switch
            ready_at = t + write + read + (0 if read else zero_fill)
            if switched >= horizon or ready_at >= horizon:
                # The general path from here: the switch's timeout, then the page-in's I/O.
                if switch:
                    self.switches += 1
                    agenda.at(switch, self.dispatch, cpu)
                else:
                    procs.idle.append(cpu)
                agenda.urgent.append((self._page_in, Job(write, read, self._paged_in, proc)))
                return
            if switch:
                self.switches += 1
            device.busy += write + read
            # Blocked from t to ready_at, then ready until the CPU has switched, then running.
            agenda.now = ready_at
            if proc.pos >= len(proc.pages) and not proc.next_chunk():
                procs.finish(proc)
                if procs.remaining:
                    procs.idle.append(cpu)
                return
            start = switched if switched > ready_at else ready_at
            times[State.BLOCKED] += ready_at - t
            times[State.READY] += start - ready_at
            proc.state = State.RUNNING
            proc.since = agenda.now = start
            if tlb is not None:
                tlb.switch_to(proc.pid)
            elapsed, outcome = self._slice(proc, tlb)
            if outcome == FAULT and start + elapsed < horizon:
                self.busy += elapsed
                agenda.now = start + elapsed
                continue
            self._running[cpu] = (proc, elapsed, outcome)
            if elapsed:
                agenda.at(elapsed, self._slice_timed, cpu)
            elif not self._slice_end(cpu):
                self.dispatch(cpu)
            return
