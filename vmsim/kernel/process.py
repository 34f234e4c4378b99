"""Processes and their states: what a process is to the kernel, and every change of state (ready,
running, blocked on a page-in, suspended by load control, done), timed by the kernel's clock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from vmsim.hw.access import Chunk
from vmsim.hw.tlb import SetAssociativeTLB
from vmsim.kernel.config import KernelConfig, ProcessSpec
from vmsim.kernel.events import Agenda, DeviceQueue, Job, SimProcess
from vmsim.kernel.workingset import WorkingSets
from vmsim.vm import Pager, Table


class State(IntEnum):
    NEW = 0
    READY = 1
    RUNNING = 2
    BLOCKED = 3
    SUSPENDED = 4
    DONE = 5


#: (first page, end page, file-backed, the sharers' page tables or None) of one segment.
Range = tuple[int, int, bool, list[Table] | None]


@dataclass(eq=False)
class Proc:
    """A process: its stream position, page table, working sets and accounting."""

    pid: int
    spec: ProcessSpec
    table: Table
    stream: Iterator[Chunk]
    ws: WorkingSets
    pages: list[int] = field(default_factory=list)
    writes: list[int] | None = None
    pos: int = 0
    references: int = 0
    state: State = State.NEW
    since: int = 0
    #: Nanoseconds spent in each State.
    times: list[int] = field(default_factory=lambda: [0] * len(State))
    suspensions: int = 0
    suspend_pending: bool = False
    finish: int | None = None
    max_rss: int = 0
    #: Nanoseconds of the process's own execution (its virtual time, as in Denning's model).
    vtime: int = 0
    tlb_hits: int = 0
    tlb_misses: int = 0
    ranges: list[Range] = field(default_factory=list)

    def next_chunk(self) -> bool:
        """Load the next chunk of the stream; False when the stream is over."""
        for chunk in self.stream:
            if len(chunk):
                self.pages = chunk.pages.tolist()
                self.writes = None if chunk.writes is None else chunk.writes.tolist()
                self.pos = 0
                return True
        return False

    def at_end(self) -> bool:
        """The stream is over (loading the next chunk if the current one is used up)."""
        return self.pos >= len(self.pages) and not self.next_chunk()


class Processes:
    """Every process of the run and the ready queue. CPUs that find nothing to run wait in
    ``idle``; making a process ready wakes the one that has waited longest (``wake``)."""

    def __init__(
        self, cfg: KernelConfig, agenda: Agenda, device: DeviceQueue, pager: Pager, tlbs: list[SetAssociativeTLB]
    ) -> None:
        self.cfg = cfg
        self.agenda = agenda
        self.device = device
        self.pager = pager
        self.tlbs = tlbs
        self.all: list[Proc] = []
        self.ready: deque[Proc] = deque()
        #: CPUs waiting for a ready process, longest waiting first.
        self.idle: deque[int] = deque()
        self.remaining = 0
        #: Runs a CPU (set by the CPUs): called, as a zero-delay step, to wake an idle one.
        self.wake: Callable[[int], None] = lambda cpu: None

    def add(self, proc: Proc) -> None:
        """Register a process that has arrived."""
        self.all.append(proc)
        self.remaining += 1

    def active(self) -> list[Proc]:
        """The processes holding memory and not about to be suspended."""
        return [p for p in self.all if p.state in (State.READY, State.RUNNING, State.BLOCKED) and not p.suspend_pending]

    def suspended(self) -> list[Proc]:
        """The processes swapped out by load control."""
        return [p for p in self.all if p.state == State.SUSPENDED]

    def set(self, proc: Proc, state: State) -> None:
        """Move ``proc`` to ``state``, charging the time since its last change to the old one."""
        now = self.agenda.now
        proc.times[proc.state] += now - proc.since
        proc.state = state
        proc.since = now

    def make_ready(self, proc: Proc) -> None:
        """Queue ``proc`` to run and wake an idle CPU, if any, for it."""
        self.set(proc, State.READY)
        self.ready.append(proc)
        if self.idle:
            self.agenda.soon.append((self.wake, self.idle.popleft()))

    def arrive(self, proc: Proc) -> SimProcess:
        """A SimPy process: ``proc`` arrives at its arrival time."""
        yield self.agenda.env.timeout(proc.spec.arrival_ns)
        self.agenda.sync()
        proc.since = self.agenda.now
        if proc.next_chunk():
            self.make_ready(proc)
        else:
            self.finish(proc)
        self.agenda.flush()

    def finish(self, proc: Proc) -> None:
        """``proc`` is done: its frames go back (shared pages pass to a sharer)."""
        self.set(proc, State.DONE)
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

    def after_page_in(self, proc: Proc) -> None:
        """``proc``'s page-in is over: suspended if load control asked meanwhile, else ready."""
        if proc.suspend_pending:
            self.suspend_now(proc)
        elif proc.at_end():
            self.finish(proc)
        else:
            self.make_ready(proc)

    def suspend(self, proc: Proc) -> None:
        """Load control suspends ``proc``: at once if it is ready, else when its slice or page-in
        ends."""
        if proc.state == State.READY:
            self.ready.remove(proc)
            self.suspend_now(proc)
        else:
            proc.suspend_pending = True

    def suspend_now(self, proc: Proc) -> None:
        """Swap ``proc`` out: its frames are freed, the dirty ones written to the paging device."""
        proc.suspend_pending = False
        proc.suspensions += 1
        self.set(proc, State.SUSPENDED)
        dirty = self.pager.swap_out(proc.pid)
        for tlb in self.tlbs:
            tlb.invalidate_process(proc.pid)
        if dirty:
            self.write_pages(dirty)

    def resume(self, proc: Proc) -> None:
        """Bring a suspended process back: it is ready again (its pages fault back in)."""
        self.make_ready(proc)

    def write_pages(self, n: int) -> None:
        """Write ``n`` dirty pages (of a swapped-out process, or given up by its policy) to the
        paging device, as one transfer that nothing waits for."""
        self.agenda.urgent.append((self.device.request, Job(n * self.cfg.device_write_ns, 0, _nothing, None)))


def _nothing(_: object) -> None:
    """What a write-back batch does when its transfer ends (nothing waits for it)."""
