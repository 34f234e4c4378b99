"""Miss-ratio curves (vmsim.engine.curves): every point equals a single replay run."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from support import Chunks

from vmsim.engine.curves import CurvePoint, curve, lru_distances
from vmsim.engine.replay import replay
from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.policies import parse_policy
from vmsim.workloads.traces import open_trace

LACKEY = Path(__file__).resolve().parents[2] / "shared" / "traces" / "bzip2.lackey.gz"


def make_stream(seed: int, *, repeats: bool, writes: bool, pids: bool, n: int = 600, pages: int = 40) -> Chunks:
    """A random stream in three chunks, optionally with immediate repeats, writes and processes."""
    rng = np.random.default_rng(seed)
    p = rng.integers(0, pages, n).astype(np.int64)
    if repeats:
        p = np.repeat(p, rng.integers(1, 4, n))
    m = len(p)
    w = (rng.random(m) < 0.3).astype(np.uint8) if writes else None
    d = rng.integers(0, 3, m).astype(np.int64) if pids else None
    cuts = [0, m // 3, 2 * m // 3, m]
    return Chunks(
        [Chunk(p[a:b], None if w is None else w[a:b], None if d is None else d[a:b]) for a, b in itertools.pairwise(cuts)]
    )


def expected(source: Chunks, policy: str, frames: int) -> tuple[int, int, int]:
    r = replay(source, parse_policy(policy), frames)
    return r.references, r.faults, r.writebacks


def got(point: CurvePoint) -> tuple[int, int, int]:
    return point.references, point.faults, point.writebacks


@pytest.mark.parametrize(
    ("seed", "repeats", "writes", "pids"),
    [(1, False, False, False), (2, True, False, False), (3, True, True, False), (4, False, True, True), (5, True, True, True)],
)
def test_lru_curve_equals_replay_at_every_size(seed: int, repeats: bool, writes: bool, pids: bool) -> None:
    source = make_stream(seed, repeats=repeats, writes=writes, pids=pids)
    sizes = list(range(1, 130))  # past the number of distinct (process, page) keys
    points = curve(source, [parse_policy("lru")], sizes)
    assert [p.frames for p in points] == sizes
    for p in points:
        assert got(p) == expected(source, "lru", p.frames), p


def test_lru_curve_on_a_real_trace() -> None:
    if not LACKEY.exists():
        pytest.skip("shared bzip2 trace not present")
    source = open_trace(LACKEY, limit=100_000)
    sizes = [1, 2, 3, 5, 8, 16, 32, 64, 100, 256, 1000]
    points = curve(source, [parse_policy("lru")], sizes)
    for p in points:
        assert got(p) == expected(source, "lru", p.frames), p  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", ["opt", "fifo"])
def test_other_policies_equal_replay_per_size(policy: str) -> None:
    source = make_stream(7, repeats=True, writes=True, pids=False)
    sizes = [1, 3, 7, 20, 50]
    for p in curve(source, [parse_policy(policy)], sizes):
        assert p.policy == policy
        assert got(p) == expected(source, policy, p.frames)


def test_one_and_two_workers_agree_and_keep_input_order() -> None:
    source = make_stream(8, repeats=True, writes=True, pids=False)
    specs = [parse_policy(x) for x in ("fifo", "lru", "clock:ref_bit_on_load=false", "random", "opt")]
    sizes = [9, 2, 30, 5]
    one = curve(source, specs, sizes, seed=3, workers=1)
    two = curve(source, specs, sizes, seed=3, workers=2)
    assert one == two
    assert [(p.policy, p.frames) for p in one] == [(s.label, f) for s in specs for f in sizes]
    rnd = [p for p in one if p.policy == "random"]
    assert [got(p) for p in rnd] == [got_run(source, f) for f in sizes]


def got_run(source: Chunks, frames: int) -> tuple[int, int, int]:
    r = replay(source, parse_policy("random"), frames, seed=3)
    return r.references, r.faults, r.writebacks


def test_unpicklable_source_runs_in_process() -> None:
    chunks = make_stream(9, repeats=False, writes=True, pids=False).chunks
    points = curve(lambda: iter(chunks), [parse_policy("fifo")], [4, 8], workers=2)
    assert [got(p) for p in points] == [expected(Chunks(chunks), "fifo", f) for f in (4, 8)]


def test_lru_faults_never_increase_with_frames() -> None:
    source = make_stream(10, repeats=True, writes=True, pids=False, n=3000, pages=200)
    faults = [p.faults for p in curve(source, [parse_policy("lru")], list(range(1, 260)))]
    assert all(a >= b for a, b in itertools.pairwise(faults))
    assert faults[-1] == 200  # only cold faults once everything fits


def test_stack_distances_of_a_textbook_string() -> None:
    keys = np.array([7, 0, 1, 2, 0, 3, 0, 4], dtype=np.int64)
    dist, _ = lru_distances(keys)
    inf = len(keys) + 1
    assert dist.tolist() == [inf, inf, inf, inf, 3, inf, 2, inf]


def test_empty_stream_and_bad_frames() -> None:
    empty = Chunks([])
    assert curve(empty, [parse_policy("lru")], [1, 4]) == [
        CurvePoint(policy="lru", frames=f, references=0, faults=0, writebacks=0) for f in (1, 4)
    ]
    with pytest.raises(VmsimError):
        curve(empty, [parse_policy("lru")], [0])
