"""Textbook answers every OS course checks (Silberschatz, Belady's anomaly, OSTEP)."""

from __future__ import annotations

import numpy as np
import pytest

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.policies import parse_policy
from vmsim.workloads import parse_refs

SILBERSCHATZ = "7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1"
BELADY = "1,2,3,4,1,2,5,1,2,3,4,5"


def run(refs: str, policy: str, frames: int, steps: bool = False):
    chunk = parse_refs(refs)
    return replay(lambda: [chunk], parse_policy(policy), frames, steps=steps)


@pytest.mark.parametrize(("policy", "faults"), [("fifo", 15), ("lru", 12), ("opt", 9)])
def test_silberschatz_three_frames(policy: str, faults: int) -> None:
    r = run(SILBERSCHATZ, policy, 3)
    assert r.faults == faults
    assert r.hits == 20 - faults
    assert r.cold_faults == 6  # pages 0, 1, 2, 3, 4, 7


def test_belady_anomaly_fifo() -> None:
    assert run(BELADY, "fifo", 3).faults == 9
    assert run(BELADY, "fifo", 4).faults == 10


@pytest.mark.parametrize("policy", ["lru", "opt"])
def test_stack_policies_have_no_anomaly_on_beladys_string(policy: str) -> None:
    faults = [run(BELADY, policy, f).faults for f in range(1, 8)]
    assert faults == sorted(faults, reverse=True)


def test_lru_step_table_victims() -> None:
    r = run("7 0 1 2 0 3 0 4", "lru", 3, steps=True)
    assert r.steps is not None
    victims = [s.victim for s in r.steps]
    assert victims == [None, None, None, 7, None, 1, None, 2]
    # a loaded page stays in its frame: 2 replaces 7 in frame 0
    assert r.steps[3].frames == (2, 0, 1)
    assert r.steps[-1].frames == (4, 0, 3)


def test_opt_ties_evict_least_recently_used_of_pages_never_used_again() -> None:
    # After 1 2 3, page 4 arrives; none of 1, 2, 3 is used again: 1 (least recent) goes.
    r = run("1 2 3 4", "opt", 3, steps=True)
    assert r.steps is not None and r.steps[-1].victim == 1
    r = run("1 2 3 1 4", "opt", 3, steps=True)
    assert r.steps is not None and r.steps[-1].victim == 2


def test_clock_second_chance_by_hand() -> None:
    # 3 frames, bits set on load: at 4 the hand clears 1, 2, 3 and comes back to 1 (victim).
    r = run("1 2 3 4 1 5", "clock", 3, steps=True)
    assert r.steps is not None
    assert [s.victim for s in r.steps] == [None, None, None, 1, 2, 3]
    # With the bit clear on load, 1 goes at once, 2 next (nothing was referenced again).
    r = run("1 2 3 4 2 5", "clock:ref_bit_on_load=false", 3, steps=True)
    assert r.steps is not None
    assert [s.victim for s in r.steps] == [None, None, None, 1, None, 3]


def test_mru_evicts_the_most_recent_page() -> None:
    r = run("1 2 3 4", "mru", 3, steps=True)
    assert r.steps is not None and r.steps[-1].victim == 3


def test_writebacks_count_only_dirty_evictions_and_not_the_final_flush() -> None:
    r = run("1w 2 3 4 5w", "fifo", 2)
    # 1 (dirty) evicted by 3 -> one write-back; 2, 3 clean; 5 dirty but never evicted.
    assert (r.faults, r.evictions, r.writebacks) == (5, 3, 1)


def test_a_write_hit_makes_the_page_dirty() -> None:
    r = run("1 1w 2 3", "fifo", 2)
    assert r.writebacks == 1


def test_random_is_seeded() -> None:
    chunk = Chunk(np.random.default_rng(1).integers(0, 30, 2000))
    a = replay(lambda: [chunk], parse_policy("random"), 8, seed=7)
    b = replay(lambda: [chunk], parse_policy("random"), 8, seed=7)
    c = replay(lambda: [chunk], parse_policy("random"), 8, seed=8)
    assert a == b
    assert a.faults != c.faults


def test_loop_longer_than_memory() -> None:
    """ai-workloads.md section 0: a pure loop of L pages in F < L frames."""
    loop = Chunk(np.tile(np.arange(100), 20))
    for p in ("lru", "fifo", "clock"):
        r = replay(lambda: [loop], parse_policy(p), 50)
        assert r.faults == r.references
    r = replay(lambda: [loop], parse_policy("opt"), 50)
    # OPT misses about (L - F) / (L - 1) of the references once warm
    assert abs(r.fault_rate - 50 / 99) < 0.03
