"""Heap allocators (vmsim.alloc.heap): placement on hand-worked sequences, errors, stats, the
qualitative facts of ai-workloads.md section 6, and hypothesis properties against a plain model.

Hand-worked sequences use ``round=1`` so addresses are plain byte counts.
"""

from __future__ import annotations

import dataclasses
import random
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmsim.alloc.heap import POLICIES, CachingHeap, FitHeap, Heap, make_heap, pages_of
from vmsim.errors import VmsimError

CLASSIC = ["first_fit", "next_fit", "best_fit", "worst_fit"]


def fresh(policy: str, size: int = 100, **kw: object) -> Heap:
    return make_heap(size, policy, round=1, **kw)  # type: ignore[arg-type]


# -- placement, hand-worked -------------------------------------------------------------------------


def holes(policy: str) -> Heap:
    """Fill 0..100 with 10,20,10,30,10,20 then free the 20@10, 30@40 and 20@80.

    Free blocks: [10,30) 20 B, [40,70) 30 B, [80,100) 20 B; next fit's search point is 100.
    """
    h = fresh(policy)
    addrs = [h.alloc(n) for n in (10, 20, 10, 30, 10, 20)]
    assert addrs == [0, 10, 30, 40, 70, 80]
    assert h.alloc(1) is None  # full
    for a in (10, 40, 80):
        h.free(a)
    assert h.free_blocks() == [(10, 20), (40, 30), (80, 20)]
    return h


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # 15 -> lowest block that fits; 15 -> [40,70) (the rest of [10,30) is 5 B); 5 -> [25,30).
        ("first_fit", [10, 40, 25]),
        # 15 -> wraps from 100 to [10,30); 15 -> from 25, [25,30) too small, so [40,70); 5 -> from 55, inside [55,70).
        ("next_fit", [10, 40, 55]),
        # 15 -> 20 B blocks at 10 and 80 tie: lower address; 15 -> [80,100) is now the smallest; 5 -> 5 B at 25 and 95 tie: 25.
        ("best_fit", [10, 80, 25]),
        # 15 -> the 30 B block; 15 -> 20 B at 10 and 80 tie: lower address; 5 -> [80,100), the largest.
        ("worst_fit", [40, 10, 80]),
    ],
)
def test_placement_in_holes(policy: str, expected: list[int]) -> None:
    h = holes(policy)
    assert [h.alloc(n) for n in (15, 15, 5)] == expected


def test_next_fit_wraps_and_failed_search_keeps_position() -> None:
    nf, ff = fresh("next_fit"), fresh("first_fit")
    for h in (nf, ff):
        assert [h.alloc(30) for _ in range(3)] == [0, 30, 60]
        h.free(0)  # free: [0,30) and [90,100)
    assert ff.alloc(5) == 0  # first fit goes back to the bottom
    assert nf.alloc(5) == 90  # next fit continues at 90, where the last search ended
    assert nf.alloc(10) == 0  # from 95: [95,100) is too small, so wrap to [0,30)
    assert nf.alloc(50) is None  # a failed search ...
    assert nf.alloc(5) == 10  # ... leaves the position at 10, after the last placement


def test_next_fit_position_inside_coalesced_block_uses_block_start() -> None:
    h = fresh("next_fit")
    a, b = h.alloc(40), h.alloc(40)  # position now 80
    h.free(b)  # [40,100) free, position 80 lies inside it
    assert (a, b) == (0, 40)
    assert h.alloc(10) == 40


def test_exact_fit_leaves_no_empty_block() -> None:
    h = fresh("best_fit")
    h.alloc(30)
    h.alloc(70)
    assert h.free_blocks() == []
    assert h.stats().free_block_count == 0


def test_coalescing_merges_both_neighbours() -> None:
    h = fresh("first_fit")
    a, b, c = h.alloc(20), h.alloc(20), h.alloc(20)
    h.alloc(40)
    h.free(a)
    h.free(c)
    assert h.free_blocks() == [(0, 20), (40, 20)]
    h.free(b)
    assert h.free_blocks() == [(0, 60)]
    assert h.alloc(60) == 0


def test_coalescing_off_keeps_pieces() -> None:
    on, off = fresh("first_fit"), fresh("first_fit", coalesce=False)
    for h in (on, off):
        a, b = h.alloc(50), h.alloc(50)
        h.free(a)
        h.free(b)
    assert on.free_blocks() == [(0, 100)]
    assert off.free_blocks() == [(0, 50), (50, 50)]
    s = off.stats()
    assert (s.free_bytes, s.largest_free, s.free_block_count, s.external_fragmentation) == (100, 50, 2, 0.5)
    assert off.alloc(100) is None
    assert on.alloc(100) == 0


def test_rounding_default_512() -> None:
    h = make_heap(4096, "first_fit")
    assert h.round == 512
    assert [h.alloc(100), h.alloc(1), h.alloc(513)] == [0, 512, 1024]
    s = h.stats()
    assert (s.live_bytes, s.allocated_bytes, s.rounding_loss) == (614, 2048, 2048 - 614)
    assert all(a % 512 == 0 for a, _, _ in h.objects())
    assert h.size_of(1024) == 513


def test_segment_not_a_multiple_of_round() -> None:
    h = make_heap(1000, "best_fit", round=256)
    assert h.alloc(700) == 0  # 768 B block
    assert h.alloc(200) is None  # 232 B are left, but a block is 256 B
    assert h.stats().free_bytes == 232


# -- the caching allocator ----------------------------------------------------------------------------


def test_caching_hand_worked() -> None:
    h = make_heap(4096, "caching")
    assert isinstance(h, CachingHeap)
    a = h.alloc(100)  # reserves segment [0,512)
    b = h.alloc(600)  # 1024 B: reserves [512,1536)
    assert (a, b) == (0, 512)
    h.free(a)
    s = h.stats()
    assert (s.live_bytes, s.allocated_bytes, s.reserved_bytes, s.cached_bytes, s.free_bytes) == (600, 1024, 1536, 512, 2560)
    assert s.segment_count == 2
    assert h.alloc(1000) == 1536  # the 512 B cached block is too small: new segment [1536,2560)
    h.free(b)
    # cached blocks of different segments do not merge, even though [0,512) and [512,1536) touch
    assert h.cached_blocks() == [(0, 512), (512, 1024)]
    assert h.alloc(200) == 0  # best fit in the cache: the 512 B block
    e = h.alloc(512)
    assert e == 512  # splits the 1024 B cached block
    assert h.cached_blocks() == [(1024, 512)]
    h.free(e)
    assert h.cached_blocks() == [(512, 1024)]  # merged back within its segment
    assert h.empty_cache() == 1024  # only the segment with no live object goes
    assert h.segments() == [(0, 512), (1536, 1024)]
    s = h.stats()
    assert (s.reserved_bytes, s.allocated_bytes, s.cached_bytes, s.free_bytes) == (1536, 1536, 0, 2560)
    assert h.free_blocks() == [(512, 1024), (2560, 1536)]


def test_caching_keeps_freed_blocks_reserved_until_empty_cache() -> None:
    h = make_heap(1 << 20, "caching")
    addrs = [h.alloc(n) for n in (3000, 70_000, 512, 9999)]
    for a in addrs[1:]:
        h.free(a)  # type: ignore[arg-type]
    s = h.stats()
    assert s.reserved_bytes > s.allocated_bytes >= s.live_bytes == 3000
    assert s.reserved_minus_live == s.reserved_bytes - 3000
    assert h.alloc(70_000) == addrs[1]  # served from the cache, no new segment
    assert h.stats().segment_count == 4
    h.free(addrs[1])  # type: ignore[arg-type]
    released = h.empty_cache()
    s = h.stats()
    assert released > 0
    assert s.reserved_bytes == s.allocated_bytes == 3072
    assert s.free_bytes + s.reserved_bytes == h.size
    h.free(addrs[0])  # type: ignore[arg-type]
    h.empty_cache()
    assert h.free_blocks() == [(0, 1 << 20)]


def test_caching_out_of_memory_retry_releases_cache() -> None:
    h = make_heap(2048, "caching")
    a, b = h.alloc(1024), h.alloc(1024)
    h.free(a)  # type: ignore[arg-type]
    h.free(b)  # type: ignore[arg-type]
    assert h.cached_blocks() == [(0, 1024), (1024, 1024)]  # two segments, not merged
    assert h.alloc(2048) == 0  # no cached block fits and nothing is unreserved: empty the cache, retry
    assert isinstance(h, CachingHeap) and h.oom_retries == 1
    assert h.alloc(512) is None
    assert h.stats().failed_allocs == 1


def test_pytorch_caching_alias() -> None:
    assert make_heap(4096, "pytorch_caching").policy == "caching"


def test_classic_empty_cache_is_a_no_op() -> None:
    h = fresh("best_fit")
    h.free(h.alloc(10))  # type: ignore[arg-type]
    assert h.empty_cache() == 0
    assert h.stats().reserved_bytes == 0


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"size": 0}, ["size", "positive"]),
        ({"size": -4096}, ["size", "positive"]),
        ({"size": 1.5}, ["size", "whole"]),
        ({"size": True}, ["size", "whole"]),
        ({"policy": "slab"}, ["policy", "slab", *POLICIES]),
        ({"round": 0}, ["round", "power of two"]),
        ({"round": 3}, ["round", "power of two"]),
        ({"round": 1000}, ["round", "power of two"]),
        ({"round": -512}, ["round", "power of two"]),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], words: list[str]) -> None:
    args: dict[str, object] = {"size": 4096, "policy": "best_fit", **kwargs}
    with pytest.raises(VmsimError) as e:
        make_heap(**args)  # type: ignore[arg-type]
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("policy", POLICIES)
def test_bad_alloc_and_free(policy: str) -> None:
    h = make_heap(4096, policy)
    for n in (0, -1):
        with pytest.raises(VmsimError, match="alloc size"):
            h.alloc(n)
    a = h.alloc(1000)
    assert a is not None
    with pytest.raises(VmsimError, match="no live object"):
        h.free(a + 512)  # inside the object, not its start
    with pytest.raises(VmsimError, match="no live object"):
        h.free(3000)  # never allocated
    h.free(a)
    with pytest.raises(VmsimError, match="already freed"):
        h.free(a)
    assert h.stats().live_objects == 0
    assert h.stats().alloc_calls == 1  # the rejected sizes do not count


def test_fitheap_rejects_caching_and_buddy() -> None:
    for policy in ("caching", "buddy"):
        with pytest.raises(VmsimError, match=f"use make_heap for {policy}"):
            FitHeap(4096, policy)


def test_pages_of() -> None:
    assert pages_of(0, 4096, 4096) == range(0, 1)
    assert pages_of(4090, 100, 4096) == range(0, 2)
    assert pages_of(4096, 1, 4096) == range(1, 2)
    assert pages_of(1000, 3 * 4096, 4096) == range(0, 4)
    assert len(pages_of(5000, 0, 4096)) == 0
    for args in ((0, 10, 0), (-1, 10, 4096), (0, -1, 4096)):
        with pytest.raises(VmsimError):
            pages_of(*args)


# -- stats --------------------------------------------------------------------------------------------


def test_stats_fields_classic() -> None:
    h = make_heap(8192, "first_fit", round=512)
    a, b, c = h.alloc(1000), h.alloc(100), h.alloc(2000)  # blocks 1024 @0, 512 @1024, 2048 @1536
    h.free(b)  # type: ignore[arg-type]
    assert h.alloc(10**6) is None
    s = h.stats()
    assert s == dataclasses.replace(
        s,
        policy="first_fit",
        size=8192,
        live_objects=2,
        live_bytes=3000,
        allocated_bytes=3072,
        reserved_bytes=3072,
        cached_bytes=0,
        free_bytes=8192 - 3072,
        largest_free=8192 - 3584,
        free_block_count=2,
        external_fragmentation=1 - 4608 / 5120,
        reserved_minus_live=72,
        rounding_loss=72,
        segment_count=1,
        alloc_calls=4,
        failed_allocs=1,
    )
    assert (a, c) == (0, 1536)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.live_bytes = 0  # type: ignore[misc]
    assert len(h) == 2
    assert h.objects() == [(0, 1024, 1000), (1536, 2048, 2000)]


@pytest.mark.parametrize("policy", POLICIES)
def test_stats_empty_and_full(policy: str) -> None:
    h = make_heap(4096, policy)
    s = h.stats()
    assert (s.free_bytes, s.largest_free, s.external_fragmentation, s.live_bytes, s.reserved_bytes) == (4096, 4096, 0.0, 0, 0)
    assert h.alloc(4096) == 0
    s = h.stats()
    assert (s.free_bytes, s.largest_free, s.free_block_count, s.external_fragmentation) == (0, 0, 0, 0.0)


# -- ai-workloads.md section 6: qualitative facts ----------------------------------------------------


def cnn_iterations(h: Heap, seed: int, iterations: int = 8, layers: int = 12) -> list[float]:
    """Weights once, then per iteration: activations of layers 1..n allocated, freed n..1 (LIFO).

    Returns the external fragmentation after every allocation and free.
    """
    rng = random.Random(seed)
    for _ in range(layers):
        assert h.alloc(rng.randint(1, 64) * 1024) is not None  # persistent weights
    weights = h.stats().allocated_bytes
    frags: list[float] = []
    for _ in range(iterations):
        acts = []
        for _ in range(layers):  # activation sizes change with the batch shape
            a = h.alloc(rng.randint(1, 256) * 1024)
            assert a is not None
            acts.append(a)
            frags.append(h.stats().external_fragmentation)
        for a in reversed(acts):
            h.free(a)
            frags.append(h.stats().external_fragmentation)
        s = h.stats()
        assert s.allocated_bytes == weights
        if isinstance(h, FitHeap) and h.coalesce:
            assert s.external_fragmentation == 0.0 and s.free_block_count == 1  # end of every iteration
    return frags


@pytest.mark.parametrize("policy", ["first_fit", "best_fit"])
def test_cnn_lifo_leaves_no_fragmentation(policy: str) -> None:
    for seed in range(3):
        frags = cnn_iterations(make_heap(8 << 20, policy), seed)
        assert max(frags) == 0.0  # a stack: the free space stays one block at every step


def test_cnn_lifo_without_coalescing_fragments() -> None:
    h = make_heap(8 << 20, "first_fit", coalesce=False)
    cnn_iterations(h, seed=0)
    s = h.stats()
    assert s.free_block_count > 1 and s.external_fragmentation > 0.3


def test_cnn_caching_reuses_cache_and_reserves_more_than_live() -> None:
    """A repeated identical iteration is served from the cache: no new segments after the first."""
    h = make_heap(8 << 20, "caching")
    sizes = [random.Random(1).randint(1, 256) * 1024 for _ in range(12)]
    counts = []
    for _ in range(4):
        acts = [h.alloc(n) for n in sizes]
        for a in reversed(acts):
            h.free(a)  # type: ignore[arg-type]
        counts.append(h.stats().segment_count)
        s = h.stats()
        assert s.live_bytes == 0 and s.reserved_bytes == sum(sizes)  # peak stays reserved
    assert counts == [12] * 4
    h.empty_cache()
    assert h.stats().reserved_bytes == 0


def kv_workload(policy: str, seed: int, size: int = 1 << 20, steps: int = 1200) -> tuple[float, float]:
    """Contiguous KV buffers of 4..96 KiB; finished sequences leave in random order.

    A request that does not fit evicts random live buffers until it does. Returns the mean
    external fragmentation over the run and the mean heap occupancy (allocated / size) at the
    moments a request failed: lower means more memory was stranded in unusable holes.
    """
    rng = random.Random(seed)
    h = make_heap(size, policy)
    live: list[int] = []
    frag = 0.0
    occupancy: list[float] = []
    for _ in range(steps):
        nbytes = rng.randint(4, 96) * 1024
        a = h.alloc(nbytes)
        if a is None:
            occupancy.append(h.stats().allocated_bytes / size)
        while a is None:
            h.free(live.pop(rng.randrange(len(live))))
            a = h.alloc(nbytes)
        live.append(a)
        if rng.random() < 0.3:
            h.free(live.pop(rng.randrange(len(live))))
        frag += h.stats().external_fragmentation
    return frag / steps, sum(occupancy) / len(occupancy)


@pytest.mark.parametrize("seed", [0, 1])
def test_kv_buffers_fragment_worst_under_worst_fit(seed: int) -> None:
    results = {p: kv_workload(p, seed) for p in CLASSIC}
    frag = {p: r[0] for p, r in results.items()}
    occ = {p: r[1] for p, r in results.items()}
    assert all(f > 0.3 for f in frag.values())  # out-of-order frees fragment every policy
    assert max(frag, key=frag.__getitem__) == "worst_fit"
    assert min(occ, key=occ.__getitem__) == "worst_fit"
    assert min(frag, key=frag.__getitem__) == "best_fit"


# -- properties ---------------------------------------------------------------------------------------


class ModelHeap:
    """The classic policies done the obvious way on a list of free (start, size) pairs."""

    def __init__(self, size: int, policy: str, rnd: int, coalesce: bool) -> None:
        self.free: list[tuple[int, int]] = [(0, size)]
        self.policy, self.rnd, self.coalesce = policy, rnd, coalesce
        self.live: dict[int, int] = {}
        self.rover = 0

    def alloc(self, n: int) -> int | None:
        block = -(-n // self.rnd) * self.rnd
        fits = [(s, z) for s, z in self.free if z >= block]
        if not fits:
            return None
        if self.policy == "first_fit":
            s, z = fits[0]
        elif self.policy == "best_fit":
            s, z = min(fits, key=lambda b: (b[1], b[0]))
        elif self.policy == "worst_fit":
            s, z = min(fits, key=lambda b: (-b[1], b[0]))
        else:  # blocks from the one holding the rover (or the next above it), wrapping
            order = [b for b in self.free if b[0] + b[1] > self.rover] + [b for b in self.free if b[0] + b[1] <= self.rover]
            s, z = next(b for b in order if b[1] >= block)
        self.free.remove((s, z))
        if z > block:
            self.free.append((s + block, z - block))
        self.free.sort()
        self.live[s] = block
        self.rover = s + block
        return s

    def release(self, addr: int) -> None:
        self.free.append((addr, self.live.pop(addr)))
        self.free.sort()
        if self.coalesce:
            merged: list[tuple[int, int]] = []
            for s, z in self.free:
                if merged and merged[-1][0] + merged[-1][1] == s:
                    merged[-1] = (merged[-1][0], merged[-1][1] + z)
                else:
                    merged.append((s, z))
            self.free = merged


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.integers(1, 3000)),
        st.tuples(st.just("free"), st.integers(0, 10**6)),
        st.tuples(st.just("empty"), st.just(0)),
    ),
    max_size=60,
)
PROPS = settings(max_examples=50, deadline=None, derandomize=True)


def check_invariants(h: Heap) -> None:
    s = h.stats()
    objs = h.objects()
    spans = [(a, blk) for a, blk, _ in objs] + h.free_blocks()
    if isinstance(h, CachingHeap):
        spans += h.cached_blocks()
    spans.sort()
    for (a, n), (b, _) in pairwise(spans):
        assert a + n <= b, "two blocks overlap"
    assert all(a >= 0 and a + n <= h.size for a, n in spans)
    assert all(a % h.round == 0 for a, _, _ in objs)
    assert s.live_bytes == sum(r for _, _, r in objs) and s.allocated_bytes == sum(b for _, b, _ in objs)
    assert s.live_bytes <= s.allocated_bytes <= s.reserved_bytes
    assert s.free_bytes == sum(n for _, n in h.free_blocks())
    assert 0.0 <= s.external_fragmentation < 1.0
    if isinstance(h, CachingHeap):
        assert s.free_bytes + s.reserved_bytes == h.size
        assert s.cached_bytes == sum(n for _, n in h.cached_blocks())
        segs = h.segments()
        assert sum(n for _, n in segs) == s.reserved_bytes
        for a, n in [(a, blk) for a, blk, _ in objs] + h.cached_blocks():
            assert any(g <= a and a + n <= g + z for g, z in segs), "block outside every segment"
    else:
        assert s.free_bytes + s.allocated_bytes == h.size
        assert s.reserved_bytes == s.allocated_bytes
        if isinstance(h, FitHeap) and h.coalesce:
            free = h.free_blocks()
            assert all(a + n < b for (a, n), (b, _) in pairwise(free)), "adjacent free blocks not merged"


@pytest.mark.parametrize(("policy", "coalesce"), [(p, c) for p in CLASSIC for c in (True, False)] + [("caching", True)])
@PROPS
@given(ops=OPS, rnd=st.sampled_from([1, 64, 512]))
def test_random_sequences_keep_invariants(policy: str, coalesce: bool, ops: list[tuple[str, int]], rnd: int) -> None:
    size = 8192
    h = make_heap(size, policy, round=rnd, coalesce=coalesce)
    model = None if policy == "caching" else ModelHeap(size, policy, rnd, coalesce)
    live: list[int] = []
    for op, arg in ops:
        if op == "alloc":
            block = h.rounded(arg)
            a = h.alloc(arg)
            if model is not None:
                assert a == model.alloc(arg)
            if a is None:
                assert h.stats().largest_free < block
                if isinstance(h, CachingHeap):
                    assert all(n < block for _, n in h.cached_blocks())
            else:
                live.append(a)
        elif op == "free" and live:
            a = live.pop(arg % len(live))
            h.free(a)
            if model is not None:
                model.release(a)
        elif op == "empty":
            h.empty_cache()
        if model is not None:
            assert h.free_blocks() == model.free
        check_invariants(h)


def test_the_buddy_system_splits_to_a_power_of_two_and_merges_buddies() -> None:
    h = make_heap(4096, "buddy", round=1)
    assert h.alloc(100) == 0 and h.block_of(0) == 128  # 4096 split down to 128; its upper halves stay free
    assert h.free_blocks() == [(128, 128), (256, 256), (512, 512), (1024, 1024), (2048, 2048)]
    assert h.alloc(128) == 128  # the smallest free block that holds it
    assert h.alloc(300) == 512 and h.block_of(512) == 512
    h.free(0)
    assert (0, 128) in h.free_blocks()  # its buddy (128) is live: no merge
    h.free(128)
    h.free(512)
    assert h.free_blocks() == [(0, 4096)]  # every level merged back
    s = h.stats()
    assert s.rounding_loss == 0 and s.free_bytes == 4096


def test_a_buddy_heap_of_any_size_never_merges_past_its_end() -> None:
    h = make_heap(1000, "buddy", round=1)
    assert h.free_blocks() == [(0, 512), (512, 256), (768, 128), (896, 64), (960, 32), (992, 8)]
    assert h.alloc(600) is None  # larger than any block
    a = h.alloc(200)
    assert a == 512 and h.stats().rounding_loss == 56
    h.free(a)
    assert h.free_blocks() == [(0, 512), (512, 256), (768, 128), (896, 64), (960, 32), (992, 8)]
