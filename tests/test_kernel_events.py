"""The kernel's paging device and agenda against SimPy's own Resource and processes.

The kernel serves page-ins without a SimPy process or Resource per fault (vmsim/kernel/events.py).
These tests run random arrivals and service times through both and require the same start and
completion times, in the same order as every other event at the same simulated time.
"""

from __future__ import annotations

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from vmsim.kernel.events import Agenda, DeviceQueue, Job

jobs_st = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 6), st.integers(0, 6)).filter(lambda j: j[1] or j[2]),
    min_size=1,
    max_size=30,
)
observers_st = st.lists(st.integers(0, 80), max_size=12)


def reference(jobs: list[tuple[int, int, int]], channels: int, observers: list[int]) -> list[tuple]:
    """Each job as a SimPy process holding a Resource: the kernel's behaviour before the rewrite."""
    env = simpy.Environment()
    dev = simpy.Resource(env, capacity=channels)
    log: list[tuple] = []
    starts: dict[int, int] = {}

    def job(i: int, w: int, r: int):
        with dev.request() as req:
            yield req
            starts[i] = env.now
            if w:
                yield env.timeout(w)
            if r:
                yield env.timeout(r)
            log.append(("end", i, env.now))

    def arrive(i: int, a: int, w: int, r: int):
        yield env.timeout(a)
        env.process(job(i, w, r))

    for i, (a, w, r) in enumerate(jobs):
        env.process(arrive(i, a, w, r))
    for k, t in enumerate(observers):
        env.timeout(t).callbacks.append(lambda _, k=k: log.append(("observer", k, env.now)))
    env.run()
    return log + sorted(starts.items())


def agenda_device(jobs: list[tuple[int, int, int]], channels: int, observers: list[int]) -> list[tuple]:
    env = simpy.Environment()
    agenda = Agenda(env)
    dev = DeviceQueue(agenda, channels)
    log: list[tuple] = []
    starts: dict[int, int] = {}

    def done(job: Job) -> None:
        starts[job.owner] = job.start
        log.append(("end", job.owner, env.now))

    def arrive(i: int, a: int, w: int, r: int):
        yield env.timeout(a)
        agenda.sync()
        agenda.urgent.append((dev.request, Job(w, r, done, i)))
        agenda.flush()

    for i, (a, w, r) in enumerate(jobs):
        env.process(arrive(i, a, w, r))
    for k, t in enumerate(observers):
        env.timeout(t).callbacks.append(lambda _, k=k: log.append(("observer", k, env.now)))
    env.run()
    busy = sum(w + r for _, w, r in jobs)
    assert dev.busy == busy and dev.users == 0 and not dev.waiting
    return log + sorted(starts.items())


@settings(max_examples=300, deadline=None)
@given(jobs_st, st.integers(1, 3), observers_st)
def test_device_serves_as_a_simpy_resource(jobs: list[tuple[int, int, int]], channels: int, observers: list[int]) -> None:
    assert agenda_device(jobs, channels, observers) == reference(jobs, channels, observers)


def test_device_fifo_example() -> None:
    """Three page-ins of 5 on one channel, arriving at 0, 1, 2: served back to back, in order."""
    log = agenda_device([(0, 0, 5), (1, 0, 5), (2, 2, 3)], 1, [])
    assert log == [("end", 0, 5), ("end", 1, 10), ("end", 2, 15), (0, 0), (1, 5), (2, 10)]


def test_zero_delay_steps_keep_their_order_behind_due_events() -> None:
    """An item the agenda runs 'soon' goes after every event already due at that time."""
    env = simpy.Environment()
    agenda = Agenda(env)
    log: list[str] = []

    def step(_: object) -> None:
        agenda.soon.append((lambda x: log.append(x), "soon"))
        log.append("step")

    env.timeout(5).callbacks.append(lambda _: (agenda.sync(), step(None), agenda.flush()))
    env.timeout(5).callbacks.append(lambda _: log.append("other"))
    env.run()
    assert log == ["step", "other", "soon"]
