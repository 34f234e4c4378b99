"""The SimPy kernel: CPUs, a round-robin scheduler, a paging device, load control, metrics.

Time is integer nanoseconds. A process runs its references in a plain loop for its time slice
(never one event per reference) and yields to SimPy only when its slice ends, when it faults, or
when it finishes. The state of memory a slice sees is the state at the start of the slice; the
fault, if any, is handled at the simulated time it happens (after the slice's references).

A fault maps the page at once (victim chosen, unmapped, written back if dirty) and blocks the
process while the paging device writes the victim back (if dirty) and reads the page in; other
ready processes use the CPU meanwhile.
"""

from __future__ import annotations

import os
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import compress

import simpy

from vmsim.errors import VmsimError
from vmsim.hw.segments import AddressSpace, Segment
from vmsim.hw.tlb import TLB
from vmsim.kernel.config import KernelConfig, ProcessSpec
from vmsim.kernel.events import Agenda, Job, PagingDevice
from vmsim.kernel.future import iter_values, next_use
from vmsim.kernel.paging import Pager
from vmsim.kernel.workingset import WorkingSets
from vmsim.metrics.results import ProcessStats, Sample, SimResult, Thrashing, TLBStats

NS = 1e-9


class _Stop(Exception):
    """Raised inside the simulation to end it early (the user pressed Ctrl-C)."""

#: Time series keep at most twice this many samples: past it, pairs merge and the period doubles.
MAX_SAMPLES = 1000


class State(IntEnum):
    NEW = 0
    READY = 1
    RUNNING = 2
    BLOCKED = 3
    SUSPENDED = 4
    DONE = 5


@dataclass
class Proc:
    """A process: its stream position, page table, TLB and accounting."""

    pid: int
    spec: ProcessSpec
    table: dict[int, int]
    stream: Iterator
    pages: list[int] = field(default_factory=list)
    writes: list[int] | None = None
    pos: int = 0
    references: int = 0
    state: State = State.NEW
    since: int = 0
    times: list[int] = field(default_factory=lambda: [0] * 6)
    suspensions: int = 0
    suspend_pending: bool = False
    finish: int | None = None
    max_rss: int = 0
    #: The pages referenced in the last tau of the process's virtual time (ns of its own
    #: execution), for each tau the kernel uses (kept incrementally).
    ws: WorkingSets = field(default_factory=lambda: WorkingSets(()))
    vtime: int = 0
    tlb_hits: int = 0
    tlb_misses: int = 0
    faults_at_check: int = 0
    vtime_at_check: int = 0
    #: (first page, end page, file-backed, sharers' page tables or None) of each segment.
    ranges: list[tuple[int, int, bool, list[dict[int, int]] | None]] = field(default_factory=list)
    ws_at_suspend: int = 0

    def next_chunk(self) -> bool:
        """Load the next chunk of the stream; False when the stream is over."""
        for chunk in self.stream:
            if len(chunk):
                self.pages = chunk.pages.tolist()
                self.writes = None if chunk.writes is None else chunk.writes.tolist()
                self.pos = 0
                return True
        return False


class Kernel:
    """One simulation: build with a config and processes, then ``run()``."""

    def __init__(self, cfg: KernelConfig, specs: list[ProcessSpec], rng: random.Random, name: str = "", seed: int = 0) -> None:
        self.cfg = cfg
        self.name = name
        self.seed = seed
        self.env = simpy.Environment()
        self.pager = Pager(cfg.frames, cfg.policy, rng, cfg.scope)
        self.frames = self.pager.frames
        self.agenda = Agenda(self.env)
        self.device = PagingDevice(self.agenda, cfg.device_channels)
        self.ready: deque[Proc] = deque()
        #: CPUs waiting for a ready process, longest waiting first.
        self.idle: deque[int] = deque()
        #: Per CPU, the process it runs and what its slice ended with (while the slice's time passes).
        self._running: list[tuple[Proc, int, str] | None] = [None] * cfg.cpus
        self.procs: list[Proc] = []
        self.cpu_busy = 0
        self.switches = 0
        self.remaining = len(specs)
        self.samples: list[Sample] = []
        #: One TLB per CPU (none without machine.tlb); the random policy draws from the run's rng.
        self.tlbs = [TLB(cfg.tlb_entries, cfg.tlb_ways or cfg.tlb_entries, cfg.tlb_policy,  # type: ignore[arg-type]
                         tagged=cfg.tlb_tagged, rng=rng) for _ in range(cfg.cpus if cfg.tlb_entries else 0)]
        self.on_sample: Callable[[int, int], bool] | None = None
        #: Run a process alone on the machine ahead of SimPy's clock (``_alone``); VMSIM_KERNEL_FAST=0
        #: turns it off, to check that both paths agree.
        self._fast = os.environ.get("VMSIM_KERNEL_FAST", "1") != "0"
        needs_future = cfg.policy.cls.needs_future
        if needs_future and cfg.scope != "local":
            raise VmsimError(
                f"policy {cfg.policy.label} needs each process's future: use kernel.replacement.scope: local "
                "(the global order of accesses depends on the schedule, which is not known in advance)"
            )
        quotas = self._quotas(specs)
        #: Shared-segment key -> the page tables of the processes sharing it.
        self.sharers: dict[str, list[dict[int, int]]] = {}
        for pid, spec in enumerate(specs):
            space = self._space(spec)
            self.pager.add_process(pid, space, quotas.get(pid))
            proc = Proc(pid, spec, space.tables[0].entries, iter(spec.workload.chunks()), ws=WorkingSets(self._taus()))
            ps = cfg.page_size
            for seg in space.segments:
                key = spec.shared.get(seg.name)
                sharers = None
                if key is not None:
                    sharers = self.sharers.setdefault(key, [])
                    sharers.append(proc.table)
                proc.ranges.append((seg.start // ps, seg.end // ps, seg.file_backed, sharers))
            if needs_future:  # a second pass over the (deterministic) stream: local OPT is exact
                self.pager.domains[pid].set_future(iter_values(next_use(list(spec.workload.chunks()))))
            self.procs.append(proc)

    def _taus(self) -> list[int]:
        """The working-set windows in use: the sampler's, and load control's."""
        cfg = self.cfg
        return [cfg.ws_tau_ns] + ([cfg.lc_tau_ns] if cfg.load_control != "none" else [])

    def _space(self, spec: ProcessSpec) -> AddressSpace:
        """The process's segments as its workload lays them out (one data segment by default),
        with one unified page-table dict."""
        ps = self.cfg.page_size
        # A workload without a layout has one data segment, backed by a file (its first touches
        # read from the paging device, as a program's mapped data would).
        layout = getattr(spec.workload, "segments", None) or (("data", 0, max(1, spec.workload.footprint), True),)
        segs = [Segment(name, first * ps, max(1, n) * ps, "rw", file_backed=bool(fb)) for name, first, n, fb in layout]
        unknown = set(spec.shared) - {s.name for s in segs}
        if unknown:
            raise VmsimError(
                f"process {spec.name}: no segment named {', '.join(sorted(unknown))} to share; "
                f"its segments: {', '.join(s.name for s in segs)}"
            )
        return AddressSpace(segs, unified=True)

    # ------------------------------------------------------------------ allocation

    def _quotas(self, specs: list[ProcessSpec]) -> dict[int, int]:
        """Frames per process under local replacement: equal, proportional or fixed, >= min_frames."""
        cfg = self.cfg
        if cfg.scope != "local":
            return {}
        n = len(specs)
        if cfg.allocation == "fixed":
            quotas = [cfg.fixed_frames[s.group] for s in specs]
        elif cfg.allocation == "proportional":
            sizes = [max(1, s.workload.footprint) for s in specs]
            total = sum(sizes)
            exact = [cfg.frames * z / total for z in sizes]
            quotas = [int(x) for x in exact]
            order = sorted(range(n), key=lambda i: (-(exact[i] - quotas[i]), i))
            for i in order[: cfg.frames - sum(quotas)]:
                quotas[i] += 1
        else:
            share, extra = divmod(cfg.frames, n)
            quotas = [share + (1 if i < extra else 0) for i in range(n)]
        quotas = [max(q, cfg.min_frames) for q in quotas]
        if sum(quotas) > cfg.frames:
            raise VmsimError(
                f"local allocation needs {sum(quotas)} frames (at least {cfg.min_frames} per process) "
                f"but memory has {cfg.frames}"
            )
        return dict(enumerate(quotas))

    # ------------------------------------------------------------------ states

    def _set(self, proc: Proc, state: State) -> None:
        now = self.agenda.now
        proc.times[proc.state] += now - proc.since
        proc.state = state
        proc.since = now

    def _make_ready(self, proc: Proc) -> None:
        self._set(proc, State.READY)
        self.ready.append(proc)
        if self.idle:
            self.agenda.soon.append((self._dispatch, self.idle.popleft()))

    # ------------------------------------------------------------------ processes

    def _arrive(self, proc: Proc) -> Iterator[simpy.Event]:
        yield self.env.timeout(proc.spec.arrival_ns)
        self.agenda.sync()
        proc.since = self.agenda.now
        if proc.next_chunk():
            self._make_ready(proc)
        else:
            self._finish(proc)
        self.agenda.flush()

    def _finish(self, proc: Proc) -> None:
        self._set(proc, State.DONE)
        self.pager.release_process(proc.pid, proc.table)
        for tlb in self.tlbs:
            tlb.invalidate_process(proc.pid)
        for *_, tables in proc.ranges:
            if tables is not None:
                tables[:] = [t for t in tables if t is not proc.table]
        proc.finish = self.agenda.now
        self.remaining -= 1
        if self.remaining == 0:
            self.idle.clear()  # the waiting CPUs have nothing left to run

    def _dispatch(self, cpu: int) -> None:
        """CPU ``cpu`` is free: run the next ready process's slice, or wait until one is ready."""
        while self.remaining:
            if not self.ready:
                self.idle.append(cpu)
                return
            proc = self.ready.popleft()
            self._set(proc, State.RUNNING)
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
            self._dispatch(cpu)

    def _slice_end(self, cpu: int) -> bool:
        """The slice's time has passed: block on the fault, finish, or requeue the process; then
        the context switch. True if the CPU is now busy switching (False: it goes on at once)."""
        run = self._running[cpu]
        assert run is not None
        proc, elapsed, outcome = run
        self._running[cpu] = None
        self.cpu_busy += elapsed
        if outcome == "fault":
            if self._alone_possible(proc):
                self._alone(cpu, proc)
                return True
            self._fault(proc)
        elif outcome == "done":
            self._finish(proc)
        elif proc.suspend_pending:
            self._suspend_now(proc)
        else:
            self._make_ready(proc)
        if self.cfg.context_switch_ns and self.remaining:
            self.switches += 1
            self.agenda.at(self.cfg.context_switch_ns, self._dispatch, cpu)
            return True
        return False

    def _slice(self, proc: Proc, tlb: TLB | None) -> tuple[int, str]:
        """Run ``proc``'s references for one quantum in a plain loop: (time used, outcome)."""
        cfg = self.cfg
        frames = self.frames
        ref, dirty = frames.referenced, frames.dirty
        table = proc.table
        get = table.get
        domain = self.pager.domains[proc.pid]
        cls = self.pager.spec.cls
        hit = domain.hit if cls.needs_hit else None
        # LRU and MRU only care about the order of last accesses: their hits can be replayed once
        # per page at the end of a run, in last-access order, with the same result.
        ordered_hits = cls.table_order in ("lru", "mru")
        budget = cfg.quantum_ns
        elapsed = 0
        while elapsed < budget:
            if proc.pos >= len(proc.pages) and not proc.next_chunk():
                proc.vtime += elapsed
                return elapsed, "done"
            pages, writes, pos = proc.pages, proc.writes, proc.pos
            stop = len(pages)
            fault = -1
            if tlb is None:
                end = min(stop, pos + max(1, (budget - elapsed) // cfg.memory_access_ns))
                # Every access before the first absent page is a hit: find that page at C speed,
                # in windows that double, so a run that faults early costs little.
                contains = table.__contains__
                done, window = 0, 8
                if not contains(pages[pos]):  # thrashing: the very next access often faults
                    fault = pos
                    end = pos
                while pos + done < end:
                    probe = pages[pos + done : min(end, pos + done + window)]
                    present = list(map(contains, probe))
                    try:
                        done += present.index(False)
                        fault = pos + done
                        break
                    except ValueError:
                        done += len(probe)
                        window *= 2
                stop = pos + done
                run = pages[pos:stop]
                elapsed += done * cfg.memory_access_ns
                if done:
                    latest = self._hits(proc, run, None if writes is None else writes[pos:stop], ordered_hits, hit)
                    proc.ws.touch(latest, proc.vtime + elapsed)
            else:
                access, asid = tlb.access, proc.pid
                t_hit, t_mem = cfg.tlb_hit_ns, cfg.memory_access_ns
                hits = 0
                i = pos
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
                stop = fault if fault >= 0 else i
                proc.tlb_hits += hits
                proc.tlb_misses += stop - pos - hits
                if stop > pos:
                    proc.ws.touch(set(pages[pos:stop]), proc.vtime + elapsed)
            proc.references += stop - pos
            proc.pos = stop
            if fault >= 0:
                proc.vtime += elapsed
                return elapsed, "fault"
        proc.vtime += elapsed
        return elapsed, "slice"

    def _hits(
        self, proc: Proc, run: list[int], writes: list[int] | None, ordered_hits: bool, hit: Callable[[int], None] | None
    ) -> list[int]:
        """What the MMU and the policy do for a run of hits, done once per distinct page: set the
        referenced bits, the dirty bits of written pages, and call the hit hook (per access, or
        once per page in last-access order for LRU and MRU). Nothing reads these inside the run:
        evictions happen at faults, after it. Returns the run's distinct pages."""
        table = proc.table
        ref = self.frames.referenced
        if hit is not None and not ordered_hits:
            for p in run:
                hit(table[p])
        latest = list(dict.fromkeys(reversed(run)))  # distinct pages, most recent first
        if hit is not None and ordered_hits:
            for p in reversed(latest):
                f = table[p]
                ref[f] = 1
                hit(f)
        else:
            for p in latest:
                ref[table[p]] = 1
        if writes is not None:
            dirty = self.frames.dirty
            for p in set(compress(run, writes)):
                dirty[table[p]] = 1
        return latest

    def _fault(self, proc: Proc) -> None:
        """The faulting access: map its page now, block the process for the device's I/O."""
        write, read = self._map(proc)
        self.agenda.urgent.append((self._page_in, Job(write, read, self._paged_in, proc)))

    def _alone_possible(self, proc: Proc) -> bool:
        """Whether the fault that just ended ``proc``'s slice can be run ahead of SimPy's clock
        (``_alone``): one CPU, nothing else ready or pending, the paging device idle."""
        agenda, device = self.agenda, self.device
        return (
            self.cfg.cpus == 1 and self._fast and not self.ready and not device.users and not device.waiting
            and not agenda.urgent and not agenda.soon and not proc.suspend_pending
        )

    def _alone(self, cpu: int, proc: Proc) -> None:
        """A process alone on the machine faults: run its faults, page-ins and slices ahead of
        SimPy's clock, without an event, for as long as every step they take happens before the
        next event in SimPy's queue (a sample, a load-control check, a tick, an arrival). Nothing
        else can happen in between, so the steps, their times and their order are exactly those of
        the general path, which takes over (``_fault``, the context switch, the page-in's
        transfers as events) for the first step that would not be strictly earlier."""
        cfg, agenda, device = self.cfg, self.agenda, self.device
        horizon = self.env.peek()
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
                    agenda.at(switch, self._dispatch, cpu)
                else:
                    self.idle.append(cpu)
                agenda.urgent.append((self._page_in, Job(write, read, self._paged_in, proc)))
                return
            if switch:
                self.switches += 1
            device.busy += write + read
            # Blocked from t to ready_at, then ready until the CPU has switched, then running.
            agenda.now = ready_at
            if proc.pos >= len(proc.pages) and not proc.next_chunk():
                self._finish(proc)
                if self.remaining:
                    self.idle.append(cpu)
                return
            start = switched if switched > ready_at else ready_at
            times[State.BLOCKED] += ready_at - t
            times[State.READY] += start - ready_at
            proc.state = State.RUNNING
            proc.since = agenda.now = start
            if tlb is not None:
                tlb.switch_to(proc.pid)
            elapsed, outcome = self._slice(proc, tlb)
            if outcome == "fault" and start + elapsed < horizon:
                self.cpu_busy += elapsed
                agenda.now = start + elapsed
                continue
            self._running[cpu] = (proc, elapsed, outcome)
            if elapsed:
                agenda.at(elapsed, self._slice_timed, cpu)
            elif not self._slice_end(cpu):
                self._dispatch(cpu)
            return

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
        pager = self.pager
        pager.fault(proc.pid, proc.table, page, write, sharers)
        # The first touch of an anonymous page is zero-filled: no read from the device.
        read = file_backed or not pager.last_cold
        dirty_victim = pager.last_dirty
        victim = pager.last_victim
        if victim is not None and self.tlbs:
            self._shootdown(pager.last_victim_tables, victim[1])
        if pager.spec.cls.releases_on_fault:
            self._released(pager.last_released)
        proc.references += 1
        proc.pos += 1
        proc.ws.touch1(page, proc.vtime)
        rss = self.pager.resident[proc.pid]
        if rss > proc.max_rss:
            proc.max_rss = rss
        self._set(proc, State.BLOCKED)
        return (self.cfg.device_write_ns if dirty_victim else 0), (self.cfg.device_read_ns if read else 0)

    def _shootdown(self, tables: object, page: int) -> None:
        """Drop ``page`` from every CPU's TLB, for every process whose page table ``tables`` is (or
        lists): a shared page is unmapped from all its sharers."""
        for t in tables if type(tables) is list else (tables,):
            owner = self.pager.table_pid[id(t)]
            for tlb in self.tlbs:
                tlb.invalidate(owner, page)

    def _ticker(self) -> Iterator[simpy.Event]:
        """Periodic policies, ticked from the kernel's clock: every ``period`` x memory_access of
        simulated time each domain's ``tick(now)`` runs with ``now = env.now // memory_access``, and
        the frames it gives up are freed (the dirty ones written back by the paging device)."""
        unit = self.cfg.memory_access_ns
        step = self.cfg.policy.params["period"] * unit
        pager = self.pager
        domains = list({id(d): d for d in pager.domains.values()}.values())
        ev = self.env.timeout(step)
        while True:
            yield ev
            self.agenda.sync()
            if not self.remaining:
                return
            now = self.agenda.now // unit
            for domain in domains:
                self._released(pager.give_up(domain.tick(now)))
            ev = self.env.timeout(step)
            self.agenda.flush()

    def _released(self, released: list[tuple[object, int, bool]]) -> None:
        """Pages a policy gave up: out of the TLBs; the dirty ones are written to the device."""
        if self.tlbs:
            for tables, page, _ in released:
                self._shootdown(tables, page)
        dirty = sum(d for *_, d in released)
        if dirty:
            self._write_pages(dirty)

    def _page_in(self, job: Job) -> None:
        """The page-in's I/O starts (as the first step of a new process would): a write-back of
        the victim if it was dirty and the read, on the paging device; a zero-filled page only
        takes the zero-fill time."""
        if job.write or job.read:
            self.device.request(job)
        else:
            self.agenda.at(self.cfg.zero_fill_ns, self._ready_after_fault, job.owner)

    def _paged_in(self, job: Job) -> None:
        if job.read:
            self._ready_after_fault(job.owner)
        else:
            self.agenda.at(self.cfg.zero_fill_ns, self._ready_after_fault, job.owner)

    def _ready_after_fault(self, proc: Proc) -> None:
        if proc.suspend_pending:
            self._suspend_now(proc)
        elif proc.pos >= len(proc.pages) and not proc.next_chunk():
            self._finish(proc)
        else:
            self._make_ready(proc)

    def _write_pages(self, n: int) -> None:
        """Write ``n`` dirty pages (of a swapped-out process, or given up by its policy) to the
        device, as one transfer that nothing waits for."""
        self.agenda.urgent.append((self.device.request, Job(n * self.cfg.device_write_ns, 0, _nothing, None)))

    # ------------------------------------------------------------------ load control

    def _active(self) -> list[Proc]:
        return [p for p in self.procs if p.state in (State.READY, State.RUNNING, State.BLOCKED) and not p.suspend_pending]

    def _ws(self, proc: Proc, tau: int) -> int:
        """W(t, tau): pages referenced in the last ``tau`` of the process's own execution (its
        virtual time, as in Denning's model), so a process stalled on page-ins keeps its set."""
        return proc.ws.size(tau, proc.vtime)

    def _suspend(self, proc: Proc) -> None:
        proc.ws_at_suspend = self._ws(proc, self.cfg.lc_tau_ns)
        if proc.state == State.READY:
            self.ready.remove(proc)
            self._suspend_now(proc)
        else:  # running or blocked on a page-in: suspended when that ends
            proc.suspend_pending = True

    def _suspend_now(self, proc: Proc) -> None:
        proc.suspend_pending = False
        proc.suspensions += 1
        self._set(proc, State.SUSPENDED)
        dirty = self.pager.swap_out(proc.pid)
        for tlb in self.tlbs:
            tlb.invalidate_process(proc.pid)
        if dirty:
            self._write_pages(dirty)

    def _resume(self, proc: Proc) -> None:
        self._make_ready(proc)

    def _working_set_control(self) -> Iterator[simpy.Event]:
        cfg = self.cfg
        while self.remaining:
            ev = self.env.timeout(cfg.lc_interval_ns)
            self.agenda.flush()
            yield ev
            self.agenda.sync()
            active = self._active()
            sizes = {p.pid: self._ws(p, cfg.lc_tau_ns) for p in active}
            total = sum(sizes.values())
            suspended = [p for p in self.procs if p.state == State.SUSPENDED]
            if total > cfg.frames and len(active) > 1:
                candidates = [p for p in active if p.state != State.RUNNING] or active
                if cfg.lc_victim == "newest":
                    victim = max(candidates, key=lambda p: (p.spec.arrival_ns, p.pid))
                else:
                    victim = max(candidates, key=lambda p: (sizes[p.pid], p.pid))
                self._suspend(victim)
            elif suspended:
                first = min(suspended, key=lambda p: (p.since, p.pid))
                if not active or total + first.ws_at_suspend <= cfg.frames:
                    self._resume(first)
        self.agenda.flush()

    def _pff_control(self) -> Iterator[simpy.Event]:
        """Page-fault frequency, checked every interval on each process's fault rate per second of
        its own execution (virtual time). Above ``upper``: under local replacement the process gets
        one more frame if one is spare; when none is (or under global replacement, where memory is
        simply full), the newest other process is suspended. Below ``lower``: under local
        replacement the process gives up one frame. Suspended processes resume, oldest first, when
        every active process is below ``upper`` and (local) enough frames are spare."""
        cfg = self.cfg
        pager = self.pager
        local = cfg.scope == "local"
        while self.remaining:
            ev = self.env.timeout(cfg.lc_interval_ns)
            self.agenda.flush()
            yield ev
            self.agenda.sync()
            active = self._active()
            holding = [p for p in self.procs if p.state not in (State.SUSPENDED, State.DONE)]
            spare = cfg.frames - sum(pager.quota[p.pid] for p in holding) if local else self.frames.free_count
            high = False
            for p in active:
                ran = p.vtime - p.vtime_at_check
                faults = pager.faults[p.pid] - p.faults_at_check
                p.vtime_at_check, p.faults_at_check = p.vtime, pager.faults[p.pid]
                if ran <= 0:
                    continue
                rate = faults / (ran * NS)
                if rate > cfg.pff_upper:
                    high = True
                    if local and spare > 0:
                        pager.set_quota(p.pid, pager.quota[p.pid] + 1)
                        spare -= 1
                    elif spare <= 0 and len(self._active()) > 1:
                        others = [q for q in self._active() if q is not p and q.state != State.RUNNING]
                        if others:
                            victim = max(others, key=lambda q: (q.spec.arrival_ns, q.pid))
                            self._suspend(victim)
                            if local and victim.state == State.SUSPENDED:
                                spare += pager.quota[victim.pid]
                elif local and rate < cfg.pff_lower and pager.quota[p.pid] > cfg.min_frames:
                    pager.set_quota(p.pid, pager.quota[p.pid] - 1)
                    spare += 1
                    if pager.resident[p.pid] > pager.quota[p.pid]:
                        page = pager.shrink(p.pid)
                        if page is not None:
                            for tlb in self.tlbs:
                                tlb.invalidate(p.pid, page)
            suspended = [p for p in self.procs if p.state == State.SUSPENDED]
            if suspended and not high and (spare >= cfg.min_frames or not active):
                first = min(suspended, key=lambda p: (p.since, p.pid))
                if local:
                    pager.set_quota(first.pid, max(cfg.min_frames, min(spare, pager.quota[first.pid])))
                self._resume(first)
        self.agenda.flush()

    # ------------------------------------------------------------------ metrics

    def _sampler(self) -> Iterator[simpy.Event]:
        cfg = self.cfg
        last_cpu = last_dev = last_faults = last_evictions = 0
        period = cfg.sample_ns
        while self.remaining:
            yield self.env.timeout(period)
            now = int(self.env.now)
            faults = sum(self.pager.faults.values())
            evictions = sum(self.pager.evictions.values())
            for p in self.procs:
                p.max_rss = max(p.max_rss, self.pager.resident[p.pid])
            self.samples.append(
                Sample(
                    t_s=now * NS,
                    cpu_utilization=(self.cpu_busy - last_cpu) / (cfg.cpus * period),
                    paging_device_utilization=(self.device.busy - last_dev) / (cfg.device_channels * period),
                    faults=faults - last_faults,
                    evictions=evictions - last_evictions,
                    rss=tuple(self.pager.resident[p.pid] for p in self.procs),
                    working_set=tuple(self._ws(p, cfg.ws_tau_ns) for p in self.procs),
                    active=len(self._active()),
                )
            )
            last_cpu, last_dev, last_faults, last_evictions = self.cpu_busy, self.device.busy, faults, evictions
            if self.on_sample is not None and self.on_sample(sum(p.references for p in self.procs), faults):
                raise _Stop
            if len(self.samples) >= 2 * MAX_SAMPLES:
                self.samples = [_merge(a, b) for a, b in zip(self.samples[::2], self.samples[1::2])]
                period *= 2

    def _thrashing(self) -> Thrashing:
        period = self.samples[1].t_s - self.samples[0].t_s if len(self.samples) > 1 else self.cfg.sample_ns * NS
        flags = [
            s.cpu_utilization < 0.35 and s.paging_device_utilization > 0.85 and s.evictions > 0 for s in self.samples
        ]
        since = None
        run = 0
        for i, flag in enumerate(flags):
            run = run + 1 if flag else 0
            if run == 3 and since is None:
                since = round(self.samples[i - 2].t_s - period, 9)
        fraction = sum(flags) / len(flags) if flags else 0.0
        return Thrashing(since is not None, since, fraction)

    # ------------------------------------------------------------------ run

    def run(self, on_sample: Callable[[int, int], bool] | None = None) -> SimResult:
        """Simulate to the end, or until ``on_sample(references, faults)`` (called at every
        sample) returns True: then the result is marked partial and covers the time so far."""
        self.on_sample = on_sample
        env = self.env
        for proc in self.procs:
            env.process(self._arrive(proc))
        self.idle.extend(range(self.cfg.cpus))
        env.process(self._sampler())
        if self.cfg.policy.cls.periodic:
            env.process(self._ticker())
        if self.cfg.load_control == "working_set":
            env.process(self._working_set_control())
        elif self.cfg.load_control == "pff":
            env.process(self._pff_control())
        partial = False
        try:
            env.run()
            end = max((p.finish or 0) for p in self.procs) if self.procs else 0
        except _Stop:
            partial = True
            end = int(env.now)
        for p in self.procs:
            if p.state != State.DONE:
                self._set(p, p.state)
        pager = self.pager
        procs = tuple(
            ProcessStats(
                pid=p.pid,
                name=p.spec.name,
                group=p.spec.group,
                references=p.references,
                faults=pager.faults[p.pid],
                cold_faults=pager.cold[p.pid],
                evictions=pager.evictions[p.pid],
                writebacks=pager.writebacks[p.pid],
                arrival_s=round(p.spec.arrival_ns * NS, 9),
                finish_s=None if p.finish is None else round(p.finish * NS, 9),
                running_s=p.times[State.RUNNING] * NS,
                ready_s=p.times[State.READY] * NS,
                blocked_s=p.times[State.BLOCKED] * NS,
                suspended_s=p.times[State.SUSPENDED] * NS,
                suspensions=p.suspensions,
                max_rss=p.max_rss,
                workload=p.spec.workload.stats() if hasattr(p.spec.workload, "stats") else None,
                tlb_hits=p.tlb_hits if self.tlbs else None,
                tlb_misses=p.tlb_misses if self.tlbs else None,
            )
            for p in self.procs
        )
        cfg = self.cfg
        tlb = None
        if self.tlbs:
            t = self.tlbs[0]
            tlb = TLBStats(entries=t.entries, ways=t.ways, policy=t.policy, tagged=t.tagged, hit_ns=cfg.tlb_hit_ns,
                           miss_ns=cfg.memory_access_ns, hits=sum(p.tlb_hits for p in self.procs),
                           misses=sum(p.tlb_misses for p in self.procs), flushes=sum(x.flushes for x in self.tlbs))
        return SimResult(
            scenario=self.name,
            seed=self.seed,
            frames=cfg.frames,
            policy=cfg.policy.label,
            scope=cfg.scope,
            references=sum(p.references for p in procs),
            faults=sum(p.faults for p in procs),
            cold_faults=sum(p.cold_faults for p in procs),
            evictions=sum(p.evictions for p in procs),
            writebacks=sum(p.writebacks for p in procs),
            cpu_utilization=self.cpu_busy / (cfg.cpus * end) if end else 0.0,
            paging_device_utilization=self.device.busy / (cfg.device_channels * end) if end else 0.0,
            simulated_time_s=end * NS,
            context_switches=self.switches,
            thrashing=self._thrashing(),
            processes=procs,
            samples=tuple(self.samples),
            partial=partial,
            tlb=tlb,
        )


def _nothing(_: object) -> None:
    """What a write-back batch does when its transfer ends (nothing waits for it)."""


def _merge(a: Sample, b: Sample) -> Sample:
    """Two consecutive samples as one over both periods (sizes as at the later one)."""
    return Sample(
        t_s=b.t_s,
        cpu_utilization=(a.cpu_utilization + b.cpu_utilization) / 2,
        paging_device_utilization=(a.paging_device_utilization + b.paging_device_utilization) / 2,
        faults=a.faults + b.faults,
        evictions=a.evictions + b.evictions,
        rss=b.rss,
        working_set=b.working_set,
        active=b.active,
    )
