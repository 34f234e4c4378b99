"""Load control: suspending and resuming whole processes so that the ones left active fit in
memory. One class per kind, chosen by the type of the kernel's configuration (``control_for``);
each runs as a SimPy process that checks every interval."""

from __future__ import annotations

from vmsim.kernel.config import KernelConfig, PFFConfig, WorkingSetConfig
from vmsim.kernel.events import Agenda, SimProcess
from vmsim.kernel.process import Proc, Processes, State
from vmsim.vm import Pager

NS = 1e-9


class LoadController:
    """The kernel's load control: the working-set windows it needs and its SimPy process."""

    def __init__(self, cfg: KernelConfig, agenda: Agenda, procs: Processes, pager: Pager) -> None:
        self.cfg = cfg
        self.agenda = agenda
        self.procs = procs
        self.pager = pager

    #: The working-set windows (tau, ns of virtual time) this control reads.
    taus: tuple[int, ...] = ()

    def run(self) -> SimProcess:
        """The SimPy process: a check every interval while processes remain."""
        interval = self.interval
        env, agenda = self.agenda.env, self.agenda
        while self.procs.remaining:
            ev = env.timeout(interval)
            agenda.flush()
            yield ev
            agenda.sync()
            self.check()
        agenda.flush()

    @property
    def interval(self) -> int:
        """Simulated nanoseconds between two checks."""
        raise NotImplementedError

    def check(self) -> None:
        """Suspend or resume processes (or resize them) as the rule says, now."""
        raise NotImplementedError


class WorkingSetController(LoadController):
    """Denning's working-set policy: while the active processes' working sets exceed memory,
    suspend one (the largest, or the newest) at each check; when they fit with room for the
    longest-suspended process's working set (as it was when suspended), resume it."""

    def __init__(self, cfg: KernelConfig, agenda: Agenda, procs: Processes, pager: Pager, lc: WorkingSetConfig) -> None:
        super().__init__(cfg, agenda, procs, pager)
        self.lc = lc
        self.taus = (lc.tau_ns,)
        self._at_suspend: dict[int, int] = {}

    @property
    def interval(self) -> int:
        return self.lc.interval_ns

    def _ws(self, p: Proc) -> int:
        return p.ws.size(self.lc.tau_ns, p.vtime)

    def check(self) -> None:
        procs, lc = self.procs, self.lc
        frames = self.cfg.frames
        active = procs.active()
        sizes = {p.pid: self._ws(p) for p in active}
        total = sum(sizes.values())
        suspended = procs.suspended()
        if total > frames and len(active) > 1:
            candidates = [p for p in active if p.state != State.RUNNING] or active
            if lc.victim == "newest":
                victim = max(candidates, key=lambda p: (p.spec.arrival_ns, p.pid))
            else:
                victim = max(candidates, key=lambda p: (sizes[p.pid], p.pid))
            self._at_suspend[victim.pid] = self._ws(victim)
            procs.suspend(victim)
        elif suspended:
            first = min(suspended, key=lambda p: (p.since, p.pid))
            if not active or total + self._at_suspend[first.pid] <= frames:
                procs.resume(first)


class PFFController(LoadController):
    """Page-fault frequency, checked every interval, in faults per second of the processes' own
    execution (virtual time) since the last check.

    Under local replacement, per process: above ``upper`` the process gets one more frame if one
    is spare, and when none is the newest other process is suspended; below ``lower`` it gives up
    one frame. Suspended processes resume, oldest first, when every active process is below
    ``upper`` and enough frames are spare.

    Under global replacement there is no process allocation to adjust, only the degree of
    multiprogramming, so the rate is the system's (the active processes' faults over their
    execution time together): above ``upper`` while memory is full, the newest active process
    that is not running is suspended; below ``lower``, the longest-suspended process resumes;
    in between nothing changes (the gap between the thresholds keeps a process from being
    suspended and resumed at every other check)."""

    def __init__(self, cfg: KernelConfig, agenda: Agenda, procs: Processes, pager: Pager, lc: PFFConfig, tlbs: list) -> None:
        super().__init__(cfg, agenda, procs, pager)
        self.lc = lc
        self.tlbs = tlbs
        #: Per process: (virtual time, faults) at the last check.
        self._last: dict[int, tuple[int, int]] = {}

    @property
    def interval(self) -> int:
        return self.lc.interval_ns

    def _rate(self, p: Proc) -> tuple[int, int]:
        """(faults, ns of execution) of ``p`` since the last check; starts the next interval."""
        acct = self.pager.accounts[p.pid]
        vtime0, faults0 = self._last.get(p.pid, (0, 0))
        self._last[p.pid] = (p.vtime, acct.faults)
        return acct.faults - faults0, p.vtime - vtime0

    def check(self) -> None:
        if self.cfg.scope == "local":
            self._check_local()
        else:
            self._check_global()

    def _check_global(self) -> None:
        procs, lc = self.procs, self.lc
        active = procs.active()
        suspended = procs.suspended()
        faults = ran = 0
        for p in active:
            f, r = self._rate(p)
            faults += f
            ran += r
        if not active:
            if suspended:
                procs.resume(min(suspended, key=lambda p: (p.since, p.pid)))
            return
        if ran <= 0:
            return
        rate = faults / (ran * NS)
        if rate > lc.upper:
            if self.pager.frames.free_count == 0 and len(active) > 1:
                others = [q for q in active if q.state != State.RUNNING]
                if others:
                    procs.suspend(max(others, key=lambda q: (q.spec.arrival_ns, q.pid)))
        elif rate < lc.lower and suspended:
            procs.resume(min(suspended, key=lambda p: (p.since, p.pid)))

    def _check_local(self) -> None:
        cfg, lc, pager, procs = self.cfg, self.lc, self.pager, self.procs
        accounts = pager.accounts
        active = procs.active()
        holding = [p for p in procs.all if p.state not in (State.SUSPENDED, State.DONE)]
        spare = cfg.frames - sum(accounts[p.pid].quota for p in holding)
        high = False
        for p in active:
            acct = accounts[p.pid]
            faults, ran = self._rate(p)
            if ran <= 0:
                continue
            rate = faults / (ran * NS)
            if rate > lc.upper:
                high = True
                if spare > 0:
                    pager.set_quota(p.pid, acct.quota + 1)
                    spare -= 1
                elif spare <= 0 and len(procs.active()) > 1:
                    others = [q for q in procs.active() if q is not p and q.state != State.RUNNING]
                    if others:
                        victim = max(others, key=lambda q: (q.spec.arrival_ns, q.pid))
                        procs.suspend(victim)
                        if victim.state == State.SUSPENDED:
                            spare += accounts[victim.pid].quota
            elif rate < lc.lower and acct.quota > cfg.min_frames:
                pager.set_quota(p.pid, acct.quota - 1)
                spare += 1
                if acct.resident > acct.quota:
                    page = pager.shrink(p.pid)
                    if page is not None:
                        for tlb in self.tlbs:
                            tlb.invalidate(p.pid, page)
        suspended = procs.suspended()
        if suspended and not high and (spare >= cfg.min_frames or not active):
            first = min(suspended, key=lambda p: (p.since, p.pid))
            pager.set_quota(first.pid, max(cfg.min_frames, min(spare, accounts[first.pid].quota)))
            procs.resume(first)


def control_for(cfg: KernelConfig, agenda: Agenda, procs: Processes, pager: Pager, tlbs: list) -> LoadController | None:
    """The load control the configuration asks for (by its type), or None."""
    lc = cfg.load_control
    if isinstance(lc, WorkingSetConfig):
        return WorkingSetController(cfg, agenda, procs, pager, lc)
    if isinstance(lc, PFFConfig):
        return PFFController(cfg, agenda, procs, pager, lc, tlbs)
    return None
