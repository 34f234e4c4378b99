"""Properties every replacement policy must have, checked with hypothesis on small reference strings.

Strings use pages 0..15, up to 200 accesses, optional write flags, and 1..8 frames. Settings are
derandomized so CI sees the same examples on every run.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.metrics.results import RunResult
from vmsim.policies import available, parse_policy

#: Every built-in policy, Clock in both variants.
POLICIES = ["fifo", "lru", "clock", "clock:ref_bit_on_load=false", "opt", "mru", "random"]
POLICIES += ["arc", "2q", "lirs", "clockpro", "s3fifo", "sieve", "lruk"]  # the modern research policies
POLICIES += ["second-chance", "esc", "nru", "aging", "nfu", "lfu", "mfu", "wsclock", "ws", "pff"]  # the classic ones
#: Policies where repeating an access changes the state (a hit counter, a visited bit cleared at
#: load, a second reference): doubling a string is not neutral for them.
REPEAT_COUNTS = {"arc", "lirs", "clockpro", "s3fifo", "sieve", "lruk"}
NOT_OPT = [p for p in POLICIES if p != "opt"]

PROPS = settings(max_examples=50, deadline=None, derandomize=True)


class Refs(NamedTuple):
    """A reference string: pages, and write flags (None = every access reads)."""

    pages: list[int]
    writes: list[int] | None

    def chunk(self) -> Chunk:
        writes = None if self.writes is None else np.array(self.writes, dtype=np.uint8)
        return Chunk(np.array(self.pages, dtype=np.int64), writes)

    def doubled(self) -> Refs:
        """Each access repeated immediately, the copy keeping the access's write flag."""
        pages = [p for p in self.pages for _ in range(2)]
        writes = None if self.writes is None else [w for w in self.writes for _ in range(2)]
        return Refs(pages, writes)

    @property
    def distinct(self) -> int:
        return len(set(self.pages))


@st.composite
def refs(draw: st.DrawFn, min_size: int = 0, max_size: int = 200) -> Refs:
    """Pages from a small alphabet (so pages come back) with write flags on about half the strings."""
    pages = draw(st.lists(st.integers(0, 15), min_size=min_size, max_size=max_size))
    if draw(st.booleans()):
        return Refs(pages, draw(st.lists(st.integers(0, 1), min_size=len(pages), max_size=len(pages))))
    return Refs(pages, None)


FRAMES = st.integers(1, 8)
SEEDS = st.integers(0, 2**32 - 1)


def run(r: Refs, policy: str, frames: int, *, seed: int = 0, steps: bool = False) -> RunResult:
    """Replay one reference string (in one chunk)."""
    chunk = r.chunk()
    return replay(lambda: [chunk], parse_policy(policy), frames, seed=seed, steps=steps)


def counters(res: RunResult) -> tuple[int, int, int, int, int, int]:
    return (res.references, res.hits, res.faults, res.cold_faults, res.evictions, res.writebacks)


def test_policy_list_covers_every_builtin() -> None:
    """A newly registered policy must be added to POLICIES so the properties cover it."""
    assert set(available()) == {p.split(":")[0] for p in POLICIES}


@pytest.mark.parametrize("policy", NOT_OPT)
@PROPS
@given(r=refs(), frames=FRAMES, seed=SEEDS)
def test_opt_is_never_beaten(policy: str, r: Refs, frames: int, seed: int) -> None:
    """No policy faults less than OPT on the same string and memory."""
    assert run(r, "opt", frames).faults <= run(r, policy, frames, seed=seed).faults


@pytest.mark.parametrize("policy", POLICIES)
@PROPS
@given(r=refs(), frames=FRAMES)
def test_cold_faults_are_the_distinct_pages(policy: str, r: Refs, frames: int) -> None:
    """Each distinct page costs exactly one cold fault, so there are at least that many faults."""
    res = run(r, policy, frames)
    assert res.cold_faults == r.distinct
    assert res.faults >= r.distinct


@pytest.mark.parametrize("policy", ["lru", "opt"])
@PROPS
@given(r=refs())
def test_stack_policies_never_fault_more_with_more_frames(policy: str, r: Refs) -> None:
    """LRU and OPT are stack algorithms: no Belady anomaly, faults never rise as frames grow."""
    faults = [run(r, policy, f).faults for f in range(1, 18)]
    assert faults == sorted(faults, reverse=True)
    assert faults[-1] == r.distinct


@pytest.mark.parametrize("policy", POLICIES)
@PROPS
@given(r=refs(), frames=FRAMES, seed=SEEDS)
def test_counters_are_consistent(policy: str, r: Refs, frames: int, seed: int) -> None:
    """hits + faults == references; write-backs <= evictions <= faults; every fault once memory is
    full evicts exactly one page; a string without writes writes nothing back."""
    res = run(r, policy, frames, seed=seed)
    assert res.references == len(r.pages)
    assert res.hits + res.faults == res.references
    assert res.writebacks <= res.evictions <= res.faults
    assert res.evictions == res.faults - min(frames, res.faults)
    if r.writes is None or not any(r.writes):
        assert res.writebacks == 0


@pytest.mark.parametrize("policy", POLICIES)
@PROPS
@given(r=refs(), extra=st.integers(0, 3), seed=SEEDS)
def test_enough_frames_means_only_cold_faults(policy: str, r: Refs, extra: int, seed: int) -> None:
    """With at least as many frames as distinct pages nothing is ever evicted."""
    res = run(r, policy, max(1, r.distinct + extra), seed=seed)
    assert (res.faults, res.evictions, res.writebacks) == (r.distinct, 0, 0)


@PROPS
@given(r=refs(), frames=FRAMES, seed=SEEDS)
def test_random_same_seed_same_result(r: Refs, frames: int, seed: int) -> None:
    """Random is a function of its seed: two runs with one seed agree on every counter."""
    assert run(r, "random", frames, seed=seed) == run(r, "random", frames, seed=seed)


def test_random_depends_on_the_seed() -> None:
    """Another seed may give another result (and on a loop of 12 pages in 6 frames, some do)."""
    r = Refs(list(range(12)) * 10, None)
    assert len({run(r, "random", 6, seed=s).faults for s in range(20)}) > 1


@pytest.mark.parametrize("policy", [p for p in POLICIES if p not in REPEAT_COUNTS])
@PROPS
@given(r=refs(max_size=120), frames=FRAMES, seed=SEEDS)
def test_doubling_every_access_keeps_the_faults(policy: str, r: Refs, frames: int, seed: int) -> None:
    """Repeating each access immediately only adds hits: same faults, evictions and write-backs, and
    exactly len(string) more hits. Checked on the fast path (which folds repeats where the policy
    allows it) and on the unfolded ``steps=True`` path.

    For clock:ref_bit_on_load=false the repeat sets the bit the load cleared, so the doubled string
    behaves as the textbook Clock (ref_bit_on_load=true) on the original string instead.
    """
    twice = r.doubled()
    base = run(r, "clock" if policy == "clock:ref_bit_on_load=false" else policy, frames, seed=seed)
    for steps in (False, True):
        res = run(twice, policy, frames, seed=seed, steps=steps)
        assert res.references == 2 * base.references
        assert res.hits == base.hits + len(r.pages)
        assert (res.faults, res.cold_faults, res.evictions, res.writebacks) == (
            base.faults,
            base.cold_faults,
            base.evictions,
            base.writebacks,
        ), f"steps={steps}"


@st.composite
def refs_with_runs(draw: st.DrawFn) -> Refs:
    """A string whose accesses each come in a run of 1 to 3 identical accesses (writes kept)."""
    r = draw(refs(max_size=100))
    runs = draw(st.lists(st.integers(1, 3), min_size=len(r.pages), max_size=len(r.pages)))
    pages = [p for p, k in zip(r.pages, runs) for _ in range(k)]
    writes = None if r.writes is None else [w for w, k in zip(r.writes, runs) for _ in range(k)]
    return Refs(pages, writes)


@pytest.mark.parametrize("policy", POLICIES)
@PROPS
@given(r=refs_with_runs(), frames=FRAMES, seed=SEEDS)
def test_fast_path_equals_unfolded_path(policy: str, r: Refs, frames: int, seed: int) -> None:
    """The fast path (which folds repeats where the policy allows it) and the access-by-access
    ``steps=True`` path agree on every counter, on strings full of immediate repeats."""
    assert counters(run(r, policy, frames, seed=seed)) == counters(run(r, policy, frames, seed=seed, steps=True))
