"""The replay engine: processes sharing frames, local and global scope, folding, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vmsim.engine import replay
from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.policies import parse_policy

POLICIES = ["fifo", "lru", "clock", "clock:ref_bit_on_load=false", "opt", "mru"]


def two_process_stream(n: int = 3000, seed: int = 5) -> Chunk:
    rng = np.random.default_rng(seed)
    pids = rng.integers(0, 2, n)
    pages = np.where(pids == 0, rng.zipf(1.3, n) % 40, rng.integers(0, 25, n))
    writes = (rng.random(n) < 0.2).astype(np.uint8)
    return Chunk(pages.astype(np.int64), writes, pids.astype(np.int64))


@pytest.mark.parametrize("policy", POLICIES)
def test_local_scope_equals_each_process_alone(policy: str) -> None:
    """Under local replacement a process only ever replaces its own pages, so its counters equal a
    run of its own accesses with its share of the frames (exact OPT included)."""
    stream = two_process_stream()
    spec = parse_policy(policy)
    shared = replay(lambda: [stream], spec, 11, scope="local")
    for proc, quota in zip(shared.processes, (6, 5)):  # 11 frames: 6 to pid 0, 5 to pid 1
        mine = stream.pids == proc.pid
        alone = replay(lambda m=mine: [Chunk(stream.pages[m], stream.writes[m])], spec, quota)
        assert (proc.references, proc.faults, proc.writebacks) == (alone.references, alone.faults, alone.writebacks)


@pytest.mark.parametrize("policy", POLICIES)
def test_global_scope_totals_and_attribution(policy: str) -> None:
    stream = two_process_stream()
    r = replay(lambda: [stream], parse_policy(policy), 11)
    assert [p.pid for p in r.processes] == [0, 1]
    assert sum(p.references for p in r.processes) == r.references == len(stream)
    assert sum(p.faults for p in r.processes) == r.faults
    assert sum(p.evictions for p in r.processes) == r.evictions == r.faults - 11
    # pages of different processes are different pages even with the same number
    distinct = len({(int(a), int(b)) for a, b in zip(stream.pids, stream.pages)})
    assert r.cold_faults == distinct


def test_global_opt_beats_every_policy_on_a_shared_stream() -> None:
    stream = two_process_stream()
    best = replay(lambda: [stream], parse_policy("opt"), 9).faults
    for p in ("fifo", "lru", "clock", "mru", "random"):
        assert replay(lambda: [stream], parse_policy(p), 9).faults >= best


def test_local_scope_needs_a_frame_per_process() -> None:
    stream = two_process_stream()
    with pytest.raises(VmsimError, match="at least one frame per process"):
        replay(lambda: [stream], parse_policy("lru"), 1, scope="local")


@pytest.mark.parametrize("with_writes", [True, False])
@pytest.mark.parametrize("policy", [*POLICIES, "random"])
def test_chunking_does_not_change_results(policy: str, with_writes: bool) -> None:
    """Results depend on the stream, not on how a reader cut it into chunks, and the fast loops
    agree with the step-by-step path (which always goes through Pager.fault)."""
    rng = np.random.default_rng(9)
    pages = np.repeat(rng.integers(0, 60, 4000), rng.integers(1, 4, 4000))
    writes = (rng.random(len(pages)) < 0.3).astype(np.uint8) if with_writes else None
    whole = replay(lambda: [Chunk(pages, writes)], parse_policy(policy), 16, seed=3)
    cuts = [0, 1, 2, 500, 501, 3000, len(pages)]
    pieces = [Chunk(pages[a:b], None if writes is None else writes[a:b]) for a, b in itertools.pairwise(cuts)]
    assert replay(lambda: pieces, parse_policy(policy), 16, seed=3) == whole
    stepped = replay(lambda: [Chunk(pages, writes)], parse_policy(policy), 16, seed=3, steps=True)
    assert stepped.faults == whole.faults
    assert (stepped.writebacks, stepped.evictions, stepped.cold_faults) == (whole.writebacks, whole.evictions, whole.cold_faults)


@pytest.mark.parametrize("policy", ["fifo", "lru", "mru"])
def test_clean_chunks_after_dirty_ones(policy: str) -> None:
    """A read-only chunk after a chunk that dirtied pages must still count their write-backs."""
    rng = np.random.default_rng(4)
    a = Chunk(rng.integers(0, 30, 500), np.ones(500, np.uint8))
    b = Chunk(rng.integers(20, 80, 500))
    both = Chunk(np.concatenate([a.pages, b.pages]), np.concatenate([a.writes, np.zeros(500, np.uint8)]))
    split = replay(lambda: [a, b], parse_policy(policy), 10)
    stepped = replay(lambda: [both], parse_policy(policy), 10, steps=True)
    assert split.writebacks == stepped.writebacks > 0
    assert split.faults == stepped.faults


def test_frames_must_be_positive() -> None:
    with pytest.raises(VmsimError):
        replay(lambda: [Chunk(np.arange(3))], parse_policy("lru"), 0)


def test_empty_stream() -> None:
    r = replay(lambda: [], parse_policy("opt"), 4)
    assert (r.references, r.faults) == (0, 0)
