"""The SimPy kernel: one simulation of processes sharing a machine's memory, CPUs and paging
device. This module assembles the parts and reports the result:

- kernel/process.py: processes and their states, the ready queue;
- kernel/cpu.py: the slice and fault path (CPUs, page faults, page-ins);
- kernel/events.py: the paging device and the zero-delay steps, on SimPy's clock;
- kernel/loadcontrol.py: working-set and PFF load control;
- kernel/sampler.py: the time series and the thrashing verdict;
- vmsim/vm: the Pager (the one fault path, shared with replay) and OPT's future.

Time is integer nanoseconds.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import simpy

from vmsim.errors import VmsimError
from vmsim.hw.segments import AddressSpace, Segment
from vmsim.hw.tlb import SetAssociativeTLB
from vmsim.kernel.config import KernelConfig, ProcessSpec
from vmsim.kernel.cpu import CPUs
from vmsim.kernel.events import Agenda, DeviceQueue, SimProcess
from vmsim.kernel.loadcontrol import control_for
from vmsim.kernel.process import Proc, Processes, State
from vmsim.kernel.sampler import Sampler, Stop
from vmsim.kernel.workingset import WorkingSets
from vmsim.limits import ADDRESS_SPACE, describe
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.results import ProcessStats, SimResult, TLBRecord, totals
from vmsim.vm import Pager, Table
from vmsim.vm.future import iter_values, next_use

NS = 1e-9


def layout_of(workload: Any) -> Sequence[tuple[str, int, int, bool]]:
    """A workload's segments as (name, first page, pages, file-backed). A workload without a
    layout has one data segment, backed by a file (its first touches read from the paging device,
    as a program's mapped data would)."""
    return getattr(workload, "segments", None) or (("data", 0, max(1, workload.footprint), True),)


def check_layout(process: str, shared: Iterable[str], layout: Sequence[tuple[str, int, int, bool]], page_size: int) -> None:
    """Every segment a process shares is one of its workload's segments, and they all fit a
    64-bit virtual address space (a trace's one segment is all of it)."""
    unknown = set(shared) - {seg[0] for seg in layout}
    if unknown:
        raise VmsimError(
            f"process {process}: no segment named {', '.join(sorted(unknown))} to share; "
            f"its segments: {', '.join(seg[0] for seg in layout)}",
            field="share",
        )
    end = max((first + max(1, n)) * page_size for _, first, n, _ in layout)
    if end > ADDRESS_SPACE:
        raise VmsimError(
            f"process {process}: its segments span {end:,} bytes of virtual memory, more than "
            f"{describe(ADDRESS_SPACE)}, a 64-bit address space",
            field="workload",
        )


class Simulation:
    """One simulation: build with a config and processes, then ``run()``."""

    def __init__(
        self, cfg: KernelConfig, specs: list[ProcessSpec], rng: random.Random, name: str = "", seed: int = 0, *, dry: bool = False
    ) -> None:
        """``dry``: only check that the run can be set up (``vmsim validate``); skips the one
        costly step, generating each stream once more for local OPT's future."""
        self.cfg = cfg
        self.name = name
        self.seed = seed
        self.env = simpy.Environment()
        self.pager = Pager(cfg.frames, cfg.policy, rng, cfg.scope)
        plan = self.pager.plan
        if plan.future and cfg.scope != "local":
            raise VmsimError(
                f"policy {cfg.policy.label} needs each process's future: use kernel.replacement.scope: local "
                "(the global order of accesses depends on the schedule, which is not known in advance)"
            )
        self.agenda = Agenda(self.env)
        self.device = DeviceQueue(self.agenda, cfg.device_channels)
        #: One TLB per CPU (none without machine.tlb); the random policy draws from the run's rng.
        self.tlbs = [
            SetAssociativeTLB(
                cfg.tlb_entries,
                cfg.tlb_ways or cfg.tlb_entries,
                cfg.tlb_policy,
                tagged=cfg.tlb_tagged,
                rng=rng,
            )
            for _ in range(cfg.cpus if cfg.tlb_entries else 0)
        ]
        self.processes = Processes(cfg, self.agenda, self.device, self.pager, self.tlbs)
        #: Every process of the run, by pid.
        self.procs = self.processes.all
        self.cpus = CPUs(cfg, self.agenda, self.device, self.pager, self.processes, self.tlbs)
        self.control = control_for(cfg, self.agenda, self.processes, self.pager, self.tlbs)
        self.sampler = Sampler(cfg, self.processes, self.cpus, self.device, self.pager)
        taus = (cfg.ws_tau_ns, *(self.control.taus if self.control else ()))
        quotas = self._quotas(specs)
        #: Shared-segment key -> the page tables of the processes sharing it.
        self.sharers: dict[str, list[Table]] = {}
        ps = cfg.page_size
        for pid, spec in enumerate(specs):
            space = self._space(spec)
            acct = self.pager.add_process(pid, space, quotas.get(pid))
            proc = Proc(pid, spec, space.tables[0].entries, iter(spec.workload.chunks()), WorkingSets(taus))
            for seg in space.segments:
                key = spec.shared.get(seg.name)
                sharers = None
                if key is not None:
                    sharers = self.sharers.setdefault(key, [])
                    sharers.append(proc.table)
                proc.ranges.append((seg.start // ps, seg.end // ps, seg.file_backed, sharers))
            if plan.future and not dry:  # a second pass over the (deterministic) stream: local OPT is exact
                acct.domain.set_future(iter_values(next_use(list(spec.workload.chunks()))))  # type: ignore[attr-defined]
            self.processes.add(proc)

    def _space(self, spec: ProcessSpec) -> AddressSpace:
        """The process's segments as its workload lays them out (one data segment by default),
        with one unified page-table dict."""
        ps = self.cfg.page_size
        layout = layout_of(spec.workload)
        segs = [Segment(name, first * ps, max(1, n) * ps, "rw", file_backed=bool(fb)) for name, first, n, fb in layout]
        check_layout(spec.name, spec.shared, layout, ps)
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
                f"local allocation needs {sum(quotas)} frames (at least {cfg.min_frames} per process) but memory has {cfg.frames}"
            )
        return dict(enumerate(quotas))

    def _ticker(self) -> SimProcess:
        """Periodic policies, ticked from the kernel's clock: every ``period`` x memory_access of
        simulated time each domain's ``tick(now)`` runs with ``now = env.now // memory_access``, and
        the frames it gives up are freed (the dirty ones written back by the paging device)."""
        unit = self.cfg.memory_access_ns
        assert self.pager.plan.period is not None
        step = self.pager.plan.period * unit
        agenda = self.agenda
        ev = self.env.timeout(step)
        while True:
            yield ev
            agenda.sync()
            if not self.processes.remaining:
                return
            for released in self.pager.tick(agenda.now // unit):
                self.cpus.released(released)
            ev = self.env.timeout(step)
            agenda.flush()

    def run(self, on_sample: ProgressFn | None = None) -> SimResult:
        """Simulate to the end, or until ``on_sample(references, faults)`` (called at every
        sample) returns True: then the result is marked partial and covers the time so far."""
        self.sampler.on_sample = on_sample
        env = self.env
        all_procs = self.procs
        for proc in all_procs:
            env.process(self.processes.arrive(proc))
        self.processes.idle.extend(range(self.cfg.cpus))
        env.process(self.sampler.run())
        if self.pager.plan.period is not None:
            env.process(self._ticker())
        if self.control is not None:
            env.process(self.control.run())
        partial = False
        try:
            env.run()
            end = max((p.finish or 0) for p in all_procs) if all_procs else 0
        except Stop:
            partial = True
            end = int(env.now)
        self.agenda.sync()
        for p in all_procs:
            if p.state != State.DONE:
                self.processes.set(p, p.state)
        accounts = self.pager.accounts
        procs = tuple(
            ProcessStats(
                pid=p.pid,
                name=p.spec.name,
                group=p.spec.group,
                references=p.references,
                hits=p.references - accounts[p.pid].faults,
                faults=accounts[p.pid].faults,
                cold_faults=accounts[p.pid].cold,
                evictions=accounts[p.pid].evictions,
                writebacks=accounts[p.pid].writebacks,
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
            for p in all_procs
        )
        cfg = self.cfg
        tlb = None
        if self.tlbs:
            t = self.tlbs[0]
            tlb = TLBRecord.of(
                entries=t.entries,
                ways=t.ways,
                policy=t.policy,
                asid=t.tagged,
                hit_ns=cfg.tlb_hit_ns,
                miss_ns=cfg.memory_access_ns,
                hits=sum(p.tlb_hits for p in all_procs),
                misses=sum(p.tlb_misses for p in all_procs),
                flushes=sum(x.flushes for x in self.tlbs),
            )
        return SimResult(
            scenario=self.name,
            seed=self.seed,
            frames=cfg.frames,
            policy=cfg.policy.label,
            scope=cfg.scope,
            **totals(procs),
            cpu_utilization=self.cpus.busy / (cfg.cpus * end) if end else 0.0,
            paging_device_utilization=self.device.busy / (cfg.device_channels * end) if end else 0.0,
            simulated_time_s=end * NS,
            context_switches=self.cpus.switches,
            thrashing=self.sampler.thrashing(end * NS),
            processes=procs,
            samples=tuple(self.sampler.samples),
            partial=partial,
            tlb=tlb,
        )
