"""The VM core: the Pager's fault outcome and accounts, the plan drawn from a policy's declarations,
the kernel's incremental working sets against a brute-force count, and the kernel's run-ahead
path (a process alone on the machine) against the general one."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmsim.errors import VmsimError
from vmsim.hw.segments import AddressSpace
from vmsim.kernel.workingset import Window, WorkingSets
from vmsim.metrics.schema import SimDoc, dump_json
from vmsim.policies import Path, Policy, parse_policy, register
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import validate
from vmsim.vm import Fault, Pager, Plan


def test_fault_outcome_free_frame_then_dirty_victim_then_cold_again() -> None:
    pager = Pager(2, parse_policy("fifo"), random.Random(0))
    space = AddressSpace.flat()
    table = space.tables[0].entries
    acct = pager.add_process(0, space)
    a = pager.fault(0, table, 10, write=1)
    assert a == Fault(frame=0, cold=True, victim_owner=-1, victim_page=-1, victim_tables=None, victim_dirty=False, released=())
    pager.fault(0, table, 11, write=0)
    c = pager.fault(0, table, 12, write=0)  # FIFO evicts page 10, which was written
    assert (c.frame, c.cold, c.victim_owner, c.victim_page, c.victim_dirty) == (0, True, 0, 10, True)
    assert c.victim_tables is table and 10 not in table and table[12] == 0
    d = pager.fault(0, table, 10, write=0)  # back again: not cold; evicts 11 (clean)
    assert (d.cold, d.victim_page, d.victim_dirty) == (False, 11, False)
    assert (acct.faults, acct.cold, acct.evictions, acct.writebacks, acct.resident) == (4, 3, 2, 1, 2)
    assert acct.owned == {0, 1}


def test_fault_outcome_lists_what_a_releasing_policy_gave_up() -> None:
    """PFF (threshold 2): at a fault more than 2 accesses after the last one, pages not referenced
    since are released before the new page is placed."""
    pager = Pager(8, parse_policy("pff:threshold=2"), random.Random(0))
    space = AddressSpace.flat()
    table = space.tables[0].entries
    acct = pager.add_process(0, space)
    domain = acct.domain
    for p in (1, 2):
        pager.fault(0, table, p, write=p == 1)
    pager.frames.referenced[table[1]] = pager.frames.referenced[table[2]] = 0
    for _ in range(3):  # three hits on page 2 after the last fault
        f = table[2]
        pager.frames.referenced[f] = 1
        domain.hit(f)
    out = pager.fault(0, table, 3, write=0)
    assert [(r.page, r.dirty) for r in out.released] == [(1, True)] and out.released[0].tables is table
    assert 1 not in table and acct.evictions == acct.writebacks == 1 and acct.resident == 2


def test_plan_reads_paths_and_mixins() -> None:
    assert Plan.of(parse_policy("lru")) == Plan(
        hits=True, table="lru", recency_only=True, folds=True, period=None, releases=False, incoming=False, future=False
    )
    assert Plan.of(parse_policy("clock:ref_bit_on_load=false")).folds is False
    assert Plan.of(parse_policy("nru:period=7")).period == 7
    arc, opt, pff = (Plan.of(parse_policy(p)) for p in ("arc", "opt", "pff"))
    assert arc.incoming and arc.general_faults and opt.future and not opt.general_faults and pff.releases


def test_registration_refuses_a_policy_missing_a_hook() -> None:
    class Half(Policy):
        name = "half"
        path = Path.HITS

        def insert(self, frame: int) -> None: ...
        def victim(self) -> int:
            return 0

        def order(self) -> list[int]:
            return []

    with pytest.raises(VmsimError, match=r"policy half does not define remove, hit \(path HITS\)"):
        register(Half)


# -------------------------------------------------------------------------- working sets


def brute(refs: list[tuple[int, int]], vtime: int, tau: int) -> int:
    return len({p for p, t in refs if t > vtime - tau})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5), st.booleans()), max_size=200),
    st.lists(st.integers(1, 40), min_size=1, max_size=3),
)
def test_working_sets_equal_the_brute_force_count(steps: list[tuple[int, int, bool]], taus: list[int]) -> None:
    """Random streams (each step: a page, a time advance, and whether to ask the sizes now)."""
    ws = WorkingSets(taus)
    refs: list[tuple[int, int]] = []
    vtime = 0
    for page, advance, ask in steps:
        vtime += advance
        if page % 3:
            ws.touch1(page, vtime)
        else:
            ws.touch([page, page + 1], vtime)
            refs.append((page + 1, vtime))
        refs.append((page, vtime))
        if ask:
            for tau in taus:
                assert ws.size(tau, vtime) == brute(refs, vtime, tau)
    for tau in taus:
        assert ws.size(tau, vtime + 3) == brute(refs, vtime + 3, tau)


def test_a_window_forgets_what_fell_out() -> None:
    w = Window(10)
    w.touch([1, 2, 3], 5)
    w.touch([2], 12)
    assert w.size(12) == 3 and w.size(15) == 1 and w.size(22) == 0


# -------------------------------------------------------------------------- the run-ahead path


scenarios = st.fixed_dictionaries(
    {
        "count": st.integers(1, 2),
        "kind": st.sampled_from(["uniform", "zipf", "phases", "cnn"]),
        "pages": st.integers(8, 60),
        "frames": st.integers(4, 40),
        "read": st.sampled_from(["50us", "100us", "1ms"]),
        "write": st.sampled_from(["50us", "300us"]),
        "switch": st.sampled_from(["0us", "5us", "100us"]),
        "zero_fill": st.sampled_from(["0us", "1us", "200us"]),
        "quantum": st.sampled_from(["20us", "1ms"]),
        "sample": st.sampled_from(["300us", "5ms"]),
        "policy": st.sampled_from(["lru", "fifo", "clock", "nru:period=50", "pff:threshold=20", "arc"]),
        "tlb": st.booleans(),
        "control": st.sampled_from(["none", "working_set", "pff"]),
        "arrival": st.sampled_from(["0ms", "2ms"]),
    }
)


def _scenario(c: dict) -> dict:
    if c["kind"] == "cnn":
        workload = {"kind": "cnn_train", "model": {"preset": "toy"}, "batch_size": 1, "iterations": 1}
    else:
        workload = {"kind": c["kind"], "pages": c["pages"], "references": 1500, "write_fraction": 0.3}
    data = {
        "name": "fast",
        "seed": 5,
        "machine": {
            "memory": f"{4 * c['frames']}KiB",
            "timing": {"memory_access": "1us", "context_switch": c["switch"], "zero_fill": c["zero_fill"]},
            "paging_device": {"read": c["read"], "write": c["write"]},
        },
        "kernel": {
            "scheduler": {"quantum": c["quantum"]},
            "replacement": {"policy": c["policy"]},
            "load_control": {"kind": c["control"]},
            "sample_interval": c["sample"],
        },
        "processes": [{"name": "p", "count": c["count"], "arrival_interval": c["arrival"], "workload": workload}],
    }
    if c["tlb"]:
        data["machine"]["tlb"] = {"entries": 4}
    return data


@settings(max_examples=30, deadline=None)
@given(scenarios)
def test_running_ahead_changes_nothing(c: dict) -> None:
    """The kernel runs a process alone on the machine ahead of SimPy's clock; with that turned
    off (VMSIM_KERNEL_FAST=0) every counter, time and sample must be the same."""
    if c["kind"] == "cnn":
        c = {**c, "frames": max(c["frames"], 200)}
    sc = validate(_scenario(c), "x")
    fast = dump_json(SimDoc.of(simulate(sc)))
    os.environ["VMSIM_KERNEL_FAST"] = "0"
    try:
        slow = dump_json(SimDoc.of(simulate(sc)))
    finally:
        del os.environ["VMSIM_KERNEL_FAST"]
    assert fast == slow
