"""vmsim against libCacheSim, an independent C cache simulator (see /work/shared/peers.md).

Every libCacheSim cache here uses ``obj_size=1``, so ``cache_size`` is a number of frames, and
counts every request: its misses include the cold ones, like vmsim's ``faults``. The first group of
tests checks the libCacheSim semantics this comparison relies on (as peers.md states them) against
small reference implementations written here; the second group compares vmsim with libCacheSim
miss for miss on generated and real traces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from support import (
    CASES,
    HASHPOWER,
    SHARED,
    SLICE,
    TRACES,
    lcs,
    lcs_misses,
    load,
    shared,
    vm_faults,
)

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.policies import parse_policy
from vmsim.workloads import open_trace

# --------------------------------------------------------------------------- helpers


def next_use(pages: Sequence[int]) -> np.ndarray:
    """Index of the next reference to the same page, -1 if none (the oracleGeneral ``next`` field)."""
    out = np.full(len(pages), -1, dtype=np.int64)
    last: dict[int, int] = {}
    for i in range(len(pages) - 1, -1, -1):
        p = pages[i]
        out[i] = last.get(p, -1)
        last[p] = i
    return out


def write_oracle_general(pages: Sequence[int], path: Path) -> Path:
    """Write ``pages`` as an oracleGeneral binary trace (time, id, size=1, next-access index)."""
    n = len(pages)
    rec = np.empty(n, dtype=[("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    rec["t"] = np.arange(n)
    rec["id"] = pages
    rec["size"] = 1
    rec["next"] = next_use(pages)
    rec.tofile(path)
    return path


def ratio_to_count(ratio: float, n: int) -> int:
    """Turn ``process_trace``'s miss ratio back into a miss count, checking the count is exact.

    libCacheSim reports ``1 - n_hit / n_req`` in double precision (not ``n_miss / n_req``: 279
    misses in 300 come back as 0.9299999999999999, not 0.93), so ``ratio * n`` is off an integer
    by rounding error. For ``n < 2**53`` consecutive hit counts give ratios 1/n apart, far more than
    one ulp, so exactly one hit count reproduces ``ratio`` bit for bit: find it and check it.
    """
    hits = round((1.0 - ratio) * n)
    assert 1.0 - hits / n == ratio, f"miss ratio {ratio!r} is not 1 - k/{n} for an integer k"
    return n - hits


def process_trace_misses(make: Callable[[], object], pages: Sequence[int], path: Path) -> int:
    """Misses of a whole trace run inside C from an oracleGeneral file (the only way to feed Belady)."""
    reader = lcs.TraceReader(str(write_oracle_general(pages, path)), lcs.TraceType.ORACLE_GENERAL_TRACE)
    ratio, _byte_ratio = make().process_trace(reader)  # type: ignore[attr-defined]
    return ratio_to_count(ratio, len(pages))


def ref_clock(pages: Sequence[int], frames: int, bit_on_load: int) -> int:
    """Textbook circular Clock: ``frames`` slots and a hand that moves past the slot it just filled."""
    slot_page: list[int | None] = [None] * frames
    ref = [0] * frames
    where: dict[int, int] = {}
    hand = 0
    misses = 0
    for p in pages:
        s = where.get(p)
        if s is not None:
            ref[s] = 1
            continue
        misses += 1
        while slot_page[hand] is not None and ref[hand]:
            ref[hand] = 0
            hand = (hand + 1) % frames
        old = slot_page[hand]
        if old is not None:
            del where[old]
        slot_page[hand] = p
        ref[hand] = bit_on_load
        where[p] = hand
        hand = (hand + 1) % frames
    return misses


def ref_opt(pages: Sequence[int], frames: int) -> int:
    """Belady's MIN by brute force: evict the resident page whose next use is farthest (or never)."""
    nxt = next_use(pages).tolist()
    resident: dict[int, int] = {}  # page -> index of its next use (-1 never)
    misses = 0
    for i, p in enumerate(pages):
        if p not in resident:
            misses += 1
            if len(resident) >= frames:
                victim = max(resident, key=lambda q: (resident[q] == -1, resident[q]))
                del resident[victim]
        resident[p] = nxt[i]
    return misses


def random_pages(seed: int, n: int, alphabet: int) -> list[int]:
    return np.random.default_rng(seed).integers(0, alphabet, n).tolist()


# --------------------------------------------------------------------------- inputs


#: vmsim policy -> the libCacheSim cache it must agree with, miss for miss.
ORACLES: dict[str, Callable[[int], object]] = {
    "lru": lambda k: lcs.LRU(cache_size=k, hashpower=HASHPOWER),
    "fifo": lambda k: lcs.FIFO(cache_size=k, hashpower=HASHPOWER),
    "clock:ref_bit_on_load=true": lambda k: lcs.Clock(cache_size=k, hashpower=HASHPOWER, init_freq=1),
    "clock:ref_bit_on_load=false": lambda k: lcs.Clock(cache_size=k, hashpower=HASHPOWER, init_freq=0),
}


# --------------------------------------------------------------------------- libCacheSim semantics


def test_peers_get_returns_true_on_hit() -> None:
    """``cache.get`` answers True for a hit and False for a miss (which inserts the object)."""
    c = lcs.LRU(cache_size=2, hashpower=HASHPOWER)
    req = lcs.Request()
    req.obj_size = 1
    req.obj_id = 7
    assert c.get(req) is False
    assert c.get(req) is True


@pytest.mark.parametrize("name", ["LRU", "FIFO", "Clock"])
@pytest.mark.parametrize("k", [1, 3, 50])
def test_peers_cache_size_counts_objects_of_size_one(name: str, k: int) -> None:
    """With obj_size=1, ``cache_size=k`` holds exactly k pages: a k-page loop hits from its second pass,
    a (k+1)-page loop never hits."""
    make = getattr(lcs, name)
    assert lcs_misses(make(cache_size=k, hashpower=HASHPOWER), list(range(k)) * 3) == k
    assert lcs_misses(make(cache_size=k, hashpower=HASHPOWER), list(range(k + 1)) * 3) == 3 * (k + 1)


def test_peers_clock_default_init_freq_is_zero() -> None:
    """``1 2 1 3 2`` in 2 frames tells the two Clocks apart: a bit set on load (init_freq=1) gives 3
    misses (3 evicts 1 after a full sweep), a clear bit (init_freq=0, the default) gives 4."""
    pages = [1, 2, 1, 3, 2]
    assert lcs_misses(lcs.Clock(cache_size=2, hashpower=HASHPOWER, init_freq=1), pages) == 3
    assert lcs_misses(lcs.Clock(cache_size=2, hashpower=HASHPOWER, init_freq=0), pages) == 4
    assert lcs_misses(lcs.Clock(cache_size=2, hashpower=HASHPOWER), pages) == 4
    assert ref_clock(pages, 2, 1) == 3
    assert ref_clock(pages, 2, 0) == 4


@pytest.mark.parametrize("init_freq", [0, 1])
@pytest.mark.parametrize("frames", [1, 2, 3, 5, 8])
def test_peers_clock_is_a_circular_clock(init_freq: int, frames: int) -> None:
    """peers.md: both Clocks agree exactly with a circular clock whose hand moves past the slot it
    just filled (strings with many immediate repeats included)."""
    for seed in range(20):
        pages = random_pages(seed, 300, 12)
        c = lcs.Clock(cache_size=frames, hashpower=HASHPOWER, init_freq=init_freq)
        assert lcs_misses(c, pages) == ref_clock(pages, frames, init_freq), f"seed {seed}"


@pytest.mark.parametrize("frames", [1, 2, 3, 5, 8])
def test_peers_belady_is_exact_opt(frames: int, tmp_path: Path) -> None:
    """peers.md: Belady fed the oracleGeneral ``next`` field is exact OPT (checked by brute force)."""
    for seed in range(20):
        pages = random_pages(seed, 300, 12)
        make = lambda: lcs.Belady(cache_size=frames, hashpower=HASHPOWER)  # noqa: E731
        assert process_trace_misses(make, pages, tmp_path / "t.bin") == ref_opt(pages, frames), f"seed {seed}"


@pytest.mark.parametrize("policy", list(ORACLES))
def test_peers_process_trace_ratio_gives_exact_counts(policy: str, tmp_path: Path) -> None:
    """The miss ratio of ``process_trace`` times n recovers the exact per-request miss count."""
    pages = shared("bzip2").pages[:30_000].tolist()
    make = ORACLES[policy]
    for k in (3, 16):
        assert process_trace_misses(lambda k=k: make(k), pages, tmp_path / "t.bin") == lcs_misses(make(k), pages)


# --------------------------------------------------------------------------- vmsim against libCacheSim


def _matrix() -> list[object]:
    return [
        pytest.param(policy, kind, name, frames, id=f"{policy}-{name}-{frames}f")
        for policy in ORACLES
        for kind, name, frames in CASES
    ]


@pytest.mark.parametrize(("policy", "kind", "name", "frames"), _matrix())
def test_faults_match_libcachesim(policy: str, kind: str, name: str, frames: int) -> None:
    """vmsim faults == libCacheSim misses, cold misses included, for LRU, FIFO and both Clocks."""
    chunk = load(kind, name)
    expected = lcs_misses(ORACLES[policy](frames), chunk.pages.tolist())
    assert vm_faults(chunk, policy, frames) == expected


@pytest.mark.parametrize(("kind", "name", "frames"), [pytest.param(*c, id=f"{c[1]}-{c[2]}f") for c in CASES])
def test_opt_faults_match_belady(kind: str, name: str, frames: int, tmp_path: Path) -> None:
    """vmsim OPT faults == libCacheSim Belady misses (whole trace in C, next-use from the file)."""
    chunk = load(kind, name)
    make = lambda: lcs.Belady(cache_size=frames, hashpower=HASHPOWER)  # noqa: E731
    expected = process_trace_misses(make, chunk.pages.tolist(), tmp_path / "t.oracleGeneral.bin")
    assert vm_faults(chunk, "opt", frames) == expected


def test_clock_without_ref_bit_on_load_minimal() -> None:
    """An immediate repeat is not a no-op when the bit starts clear: ``1 1 2 3 1`` in 2 frames.
    Page 1 loads with its bit clear and the repeat sets it; at 3 the hand clears 1 and evicts 2, so
    1 then hits: 3 faults (libCacheSim, the circular clock and vmsim's unfolded ``steps=True`` path).
    Folding the repeat away would make 3 evict 1 and give 4 (the bug fixed in 27f6d3b)."""
    pages = [1, 1, 2, 3, 1]
    chunk = Chunk(np.array(pages, dtype=np.int64))
    assert lcs_misses(ORACLES["clock:ref_bit_on_load=false"](2), pages) == 3
    assert ref_clock(pages, 2, 0) == 3
    unfolded = replay(lambda: [chunk], parse_policy("clock:ref_bit_on_load=false"), 2, steps=True)
    assert unfolded.faults == 3
    assert vm_faults(chunk, "clock:ref_bit_on_load=false", 2) == 3


@pytest.mark.parametrize("name", SHARED)
def test_opt_from_the_trace_reader_matches_belady(name: str, tmp_path: Path) -> None:
    """OPT replayed straight from ``open_trace`` (a re-iterable source it reads twice) == Belady."""
    pages = shared(name).pages.tolist()  # skips when the shared traces are absent
    src = open_trace(TRACES / f"{name}.lackey.gz", limit=SLICE)
    make = lambda: lcs.Belady(cache_size=16, hashpower=HASHPOWER)  # noqa: E731
    expected = process_trace_misses(make, pages, tmp_path / "t.oracleGeneral.bin")
    assert replay(src, parse_policy("opt"), 16).faults == expected
