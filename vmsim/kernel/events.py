"""The kernel's events on SimPy's clock, at a cost of one SimPy event per delay.

SimPy orders events by (time, priority, creation order). The kernel's own events (a slice ending,
a context switch, a page-in's transfer) are plain timeouts with one callback, never SimPy
processes, and the steps that take no simulated time (a CPU woken, the paging device granted to
the next request, a channel released) are kept in two queues of this Agenda instead of being
SimPy events:

- ``urgent``: what SimPy would run at once, before any other event at this time (a new process's
  first step: the paging device requested);
- ``soon``: zero-delay events (an event triggered now), run in the order they were triggered,
  after every event already due at this time.

At the end of each step the agenda is flushed: urgent work runs at once; each zero-delay item runs
at once too when nothing else is due at this time in SimPy's queue (it would be the very next
event), otherwise it becomes a zero-delay SimPy event behind the ones already due. Either way every
step happens at the same simulated time and in the same order as if each were its own SimPy event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import simpy

Action = Callable[[Any], None]
#: A SimPy process: a generator of the events it waits for.
SimProcess = Generator[simpy.Event, Any, None]


class Agenda:
    """Timeouts with callbacks, plus the kernel's zero-delay steps (see the module doc)."""

    __slots__ = ("_flushing", "env", "now", "soon", "urgent")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        #: The kernel's clock: SimPy's, except while the kernel runs ahead of it on its own (a
        #: process alone on the machine, see Simulation._alone), when it is the time reached there.
        self.now: int = 0
        self.urgent: deque[tuple[Action, Any]] = deque()
        self.soon: deque[tuple[Action, Any]] = deque()
        self._flushing = False

    def at(self, delay: int, fn: Action, arg: Any) -> None:
        """Run ``fn(arg)`` ``delay`` after the kernel's clock (zero: as an event triggered now)."""
        if delay:
            ev = self.env.timeout(self.now + delay - self.env._now, (fn, arg))
            ev.callbacks.append(self._fire)
        else:
            self.soon.append((fn, arg))

    def sync(self) -> None:
        """Set the kernel's clock to SimPy's (a SimPy process of the kernel's just woke up)."""
        self.now = self.env._now  # type: ignore[assignment]

    def _fire(self, ev: simpy.Event) -> None:
        self.now = self.env._now  # type: ignore[assignment]
        fn, arg = ev._value
        fn(arg)
        if self.urgent or self.soon:
            self.flush()

    def flush(self) -> None:
        """Run (or hand to SimPy) what the step just ended left for this same time."""
        if self._flushing or not (self.urgent or self.soon):
            return  # nothing left, or a step run by the flush itself: the outer loop goes on
        self._flushing = True
        try:
            urgent, soon, env = self.urgent, self.soon, self.env
            while urgent or soon:
                while urgent:
                    fn, arg = urgent.popleft()
                    fn(arg)
                if not soon:
                    break
                if env.peek() <= self.now:
                    # Other events are due now and come first: queue ours behind them, in order.
                    while soon:
                        ev = env.timeout(self.now - env._now, soon.popleft())
                        ev.callbacks.append(self._fire)
                    break
                fn, arg = soon.popleft()
                fn(arg)
        finally:
            self._flushing = False


class Job:
    """One transfer of the paging device: a page-in (a write-back first if the victim was dirty,
    then the read, or no read for a zero-filled page) or a batch of write-backs."""

    __slots__ = ("done", "owner", "read", "start", "write")

    def __init__(self, write: int, read: int, done: Action, owner: Any) -> None:
        self.write = write
        self.read = read
        self.done = done
        self.owner = owner
        self.start = 0


class DeviceQueue:
    """A FIFO queue over ``channels`` identical channels, served exactly as a SimPy ``Resource``
    serves its requests: a request takes a free channel at once, otherwise waits; a released channel
    goes to the oldest waiting request. Each job writes first (``write`` ns) and then reads
    (``read`` ns); ``busy`` sums the time channels spent transferring."""

    __slots__ = ("agenda", "busy", "capacity", "users", "waiting")

    def __init__(self, agenda: Agenda, channels: int) -> None:
        self.agenda = agenda
        self.capacity = channels
        self.users = 0
        self.waiting: deque[Job] = deque()
        self.busy = 0

    def request(self, job: Job) -> None:
        """Queue ``job``; its transfer starts when it holds a channel (``job.done(job.owner)`` runs
        when the transfer ends)."""
        self.waiting.append(job)
        self._grant()

    def _grant(self, _: Any = None) -> None:
        # As a Resource does when a request arrives or a release is processed: offer a free channel
        # to the oldest waiting request (one at a time).
        if self.waiting and self.users < self.capacity:
            self.users += 1
            self.agenda.soon.append((self._start, self.waiting.popleft()))

    def _start(self, job: Job) -> None:
        job.start = self.agenda.now
        if job.write:
            self.agenda.at(job.write, self._written, job)
        else:
            self.agenda.at(job.read, self._end, job)

    def _written(self, job: Job) -> None:
        if job.read:
            self.agenda.at(job.read, self._end, job)
        else:
            self._end(job)

    def _end(self, job: Job) -> None:
        self.busy += self.agenda.now - job.start
        self.users -= 1
        self.agenda.soon.append((self._grant, None))  # the release, processed as an event
        job.done(job)
