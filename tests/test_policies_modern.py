"""The modern research policies (ARC, 2Q, LIRS, CLOCK-Pro, S3-FIFO, SIEVE, LRU-K) against libCacheSim.

Where libCacheSim runs the same algorithm the same way, vmsim's faults equal its misses exactly,
at several memory sizes, on generated traces and on a 100,000-access slice of each shared trace
(helpers and inputs come from tests/support.py). Where the semantics differ on purpose, or
libCacheSim has a quirk, vmsim's numbers are pinned and the reason is given here and in
docs/policies.md ("Intended differences from libCacheSim"). Hand-worked examples and the laws of
the field (faults >= distinct pages, write-backs <= faults, determinism, local = alone) follow.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import numpy as np
import pytest
from support import HASHPOWER, SHARED, generated, lcs, lcs_misses, load, shared, vm_faults

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.hw.frames import FrameTable
from vmsim.hw.segments import AddressSpace
from vmsim.metrics.schema import Run, dump_json
from vmsim.policies import lookup, parse_policy
from vmsim.vm import Pager

MODERN = ["arc", "2q", "lirs", "clockpro", "s3fifo", "sieve", "lruk", "lruk:k=3"]
GENERATED = ("uniform", "zipf", "loop", "phases")


def _cases(gen_frames: tuple[int, ...], shared_frames: tuple[int, ...]) -> list[tuple[str, str, int]]:
    return [("gen", t, f) for t in GENERATED for f in gen_frames] + [("shared", t, f) for t in SHARED for f in shared_frames]


#: vmsim policy -> (libCacheSim cache, the memory sizes where both run the same algorithm).
#: 2Q: libCacheSim's A1in of floor(c/4) frames refuses every page below 4 frames (it caches
#: nothing), vmsim still loads them. S3-FIFO: libCacheSim aborts below 10 frames and caches
#: nothing below 20 (its small queue must be larger than one object).
EXACT: dict[str, tuple[Callable[[int], object], list[tuple[str, str, int]]]] = {
    "sieve": (lambda k: lcs.Sieve(cache_size=k, hashpower=HASHPOWER), _cases((1, 2, 7, 64, 500), (4, 16, 48))),
    "2q": (lambda k: lcs.TwoQ(cache_size=k, hashpower=HASHPOWER), _cases((4, 7, 64, 500), (4, 16, 48))),
    "s3fifo": (lambda k: lcs.S3FIFO(cache_size=k, hashpower=HASHPOWER), _cases((20, 64, 500), (20, 48))),
    "lruk": (lambda k: lcs.LRUK(cache_size=k, hashpower=HASHPOWER), _cases((1, 2, 7, 64, 500), (4, 16, 48))),
    "lruk:k=3": (lambda k: lcs.LRUK(cache_size=k, hashpower=HASHPOWER, k=3), _cases((2, 64), (4, 48))),
    "lruk:k=1": (lambda k: lcs.LRU(cache_size=k, hashpower=HASHPOWER), _cases((7, 64), (16,))),
}


def _exact_matrix() -> list[object]:
    return [
        pytest.param(policy, kind, name, frames, id=f"{policy}-{name}-{frames}f")
        for policy, (_, cases) in EXACT.items()
        for kind, name, frames in cases
    ]


@pytest.mark.parametrize(("policy", "kind", "name", "frames"), _exact_matrix())
def test_faults_match_libcachesim(policy: str, kind: str, name: str, frames: int) -> None:
    """vmsim faults == libCacheSim misses, cold misses included."""
    chunk = load(kind, name)
    make, _ = EXACT[policy]
    assert vm_faults(chunk, policy, frames) == lcs_misses(make(frames), chunk.pages.tolist())


# --------------------------------------------------------------------------- ARC


ARC_CASES = _cases((1, 2, 7, 64, 500), (4, 16, 48))


@pytest.mark.parametrize(("kind", "name", "frames"), [pytest.param(*c, id=f"{c[1]}-{c[2]}f") for c in ARC_CASES])
def test_arc_matches_libcachesim(kind: str, name: str, frames: int) -> None:
    """The Pager names the faulting page before asking for the victim (``incoming()``), as the
    paper's REPLACE needs: vmsim's ARC is libCacheSim's, miss for miss."""
    chunk = load(kind, name)
    assert vm_faults(chunk, "arc", frames) == lcs_misses(lcs.ARC(cache_size=frames, hashpower=HASHPOWER), chunk.pages.tolist())


# --------------------------------------------------------------------------- LIRS


#: LIRS as the paper states it. libCacheSim's LIRS, on a hit to a resident HIR page that is not
#: in stack S, demotes an LIR page into the full queue Q, which evicts the page being hit while S
#: still marks it resident, so later references to it count as hits (see the hand-worked case
#: below). Counts agree where that never happens (the loop) and differ by up to 10% elsewhere.
#: Pinned (libCacheSim's counts in the comments).
LIRS_PINNED = {
    ("uniform", 7): 9653,  # 9647
    ("uniform", 64): 6816,  # 6806
    ("zipf", 2): 16824,  # 15255
    ("zipf", 64): 6547,  # 6540
    ("zipf", 500): 2016,  # 2016
    ("phases", 64): 590,  # 588
    ("bzip2", 16): 628,  # 615
    ("bzip2", 48): 121,  # 121
    ("sort", 4): 3349,  # 3370
    ("sort", 16): 637,  # 627
}


@pytest.mark.parametrize(("name", "frames"), list(LIRS_PINNED))
def test_lirs_is_pinned(name: str, frames: int) -> None:
    chunk = shared(name) if name in SHARED else generated(name)
    assert vm_faults(chunk, "lirs", frames) == LIRS_PINNED[(name, frames)]


@pytest.mark.parametrize("frames", [2, 7, 64, 500])
def test_lirs_matches_libcachesim_on_a_loop(frames: int) -> None:
    """On a pure loop no resident HIR page outside S is ever hit, so the two LIRS agree."""
    pages = generated("loop").pages.tolist()
    assert vm_faults(generated("loop"), "lirs", frames) == lcs_misses(lcs.LIRS(cache_size=frames, hashpower=HASHPOWER), pages)


def test_lirs_hand_worked() -> None:
    """``2 1 2 4 4 1 3 1`` in 3 frames (2 LIR frames, 1 HIR frame).

    2, 1 load as LIR; 4 loads as resident HIR (S = 1 2 4, Q = 4). The hit on 4 (in S) makes it LIR
    and demotes the bottom LIR page 1 to Q. The hit on 1 (resident HIR, no longer in S) keeps it
    HIR, at the end of Q and the top of S. 3 faults: it evicts Q's front, 1, which stays in S as a
    non-resident HIR page. 1 faults again (evicting 3) and, found in S, becomes LIR. Faults: 2 1
    4 3 1 = 5. libCacheSim's hit on 1 evicts 1 itself yet keeps it marked resident, so its last
    reference counts as a hit: 4.
    """
    pages = [2, 1, 2, 4, 4, 1, 3, 1]
    chunk = Chunk(np.array(pages, dtype=np.int64))
    assert vm_faults(chunk, "lirs", 3) == 5
    assert lcs_misses(lcs.LIRS(cache_size=3, hashpower=HASHPOWER), pages) == 4


# --------------------------------------------------------------------------- CLOCK-Pro


#: libCacheSim's ClockPro declines to cache a missed page while its cold allocation is full
#: (``can_insert``), so a miss may load nothing; a page fault always loads its page. The counts
#: are not comparable (libCacheSim misses 94% of the bzip2 slice in 4 frames, LRU 3%). Pinned.
CLOCKPRO_PINNED = {
    ("uniform", 64): 6757,
    ("zipf", 7): 13385,
    ("zipf", 500): 2017,
    ("loop", 500): 6235,
    ("phases", 64): 577,
    ("bzip2", 4): 3459,
    ("bzip2", 16): 616,
    ("sort", 48): 116,
}


@pytest.mark.parametrize(("name", "frames"), list(CLOCKPRO_PINNED))
def test_clockpro_is_pinned(name: str, frames: int) -> None:
    chunk = shared(name) if name in SHARED else generated(name)
    assert vm_faults(chunk, "clockpro", frames) == CLOCKPRO_PINNED[(name, frames)]


@pytest.mark.parametrize("frames", [4, 20])
def test_clockpro_loop_that_fits(frames: int) -> None:
    """A loop over exactly as many pages as frames faults once per page; libCacheSim's ClockPro,
    which bypasses pages while its cold share is full, misses on the first three passes."""
    pages = list(range(frames)) * 5
    assert vm_faults(Chunk(np.array(pages, dtype=np.int64)), "clockpro", frames) == frames
    assert lcs_misses(lcs.ClockPro(cache_size=frames, hashpower=HASHPOWER), pages) == 3 * frames


def test_clockpro_test_page_comes_back_hot() -> None:
    """In 2 frames (cold target 1): 1 and 2 load cold; 3 evicts 1 (its bit clear), which stays
    as a test page. 1 faults again (evicting 2, now a test page too) within its test period: it
    comes back hot and the cold target rises to 2, leaving no room for a hot page, so the hot hand
    moves; it meets 2's test entry first, ends its test period (target back to 1) and stops."""
    ft = FrameTable(2)
    pol = lookup("clockpro")(ft, random.Random(0))
    m_c = pol.m_c  # type: ignore[attr-defined]
    table: dict[int, int] = {}
    for p in (1, 2, 3, 1):
        f = ft.allocate()
        if f is None:
            f = pol.victim()
            del table[ft.page[f]]
        table[p] = f
        ft.owner[f], ft.page[f] = 0, p
        pol.insert(f)
    assert m_c == 1 and pol.m_c == 1  # type: ignore[attr-defined]
    assert pol._status == {1: 0, 3: 1}  # type: ignore[attr-defined]  # 1 hot, 3 cold, no test page


# --------------------------------------------------------------------------- hand-worked examples


def test_sieve_hand_worked() -> None:
    """``0 0 4 2 3 3 4 0 4`` in 3 frames: 0 loads unvisited and is visited by its repeat; 3 finds
    the hand at 0 (visited: cleared, passed) and evicts 4; 3 is visited; 4 evicts 2 (the hand
    stayed there); 0 and 4 hit: 5 faults (libCacheSim agrees). FIFO evicts 0 for 3, then 4 for 0,
    and faults on the last 4: 6."""
    pages = [0, 0, 4, 2, 3, 3, 4, 0, 4]
    chunk = Chunk(np.array(pages, dtype=np.int64))
    assert vm_faults(chunk, "sieve", 3) == 5 == lcs_misses(lcs.Sieve(cache_size=3, hashpower=HASHPOWER), pages)
    assert vm_faults(chunk, "fifo", 3) == 6


def test_twoq_hand_worked() -> None:
    """``1 5 3 2 0 2 4 1 5 2 0 1`` in 4 frames (Kin = 1, Kout = 2). The first four fill A1in;
    0 and 4 push 1 and 5 out to A1out; 1 and 5 come back from A1out into Am (pushing 3 and 2 out);
    2 and 0 come back too, the last of them evicting Am's LRU page 1 (Am evictions leave no
    ghost), so the final 1 faults again: 11 faults, as libCacheSim counts."""
    pages = [1, 5, 3, 2, 0, 2, 4, 1, 5, 2, 0, 1]
    chunk = Chunk(np.array(pages, dtype=np.int64))
    assert vm_faults(chunk, "2q", 4) == 11 == lcs_misses(lcs.TwoQ(cache_size=4, hashpower=HASHPOWER), pages)


def test_lru2_keeps_the_page_referenced_twice() -> None:
    """``1 1 2 3 1`` in 2 frames: LRU-2 evicts 2 (one reference: infinite distance) for 3 and
    keeps 1: 3 faults. LRU evicts 1 and faults on it again: 4."""
    chunk = Chunk(np.array([1, 1, 2, 3, 1], dtype=np.int64))
    assert vm_faults(chunk, "lruk", 2) == 3
    assert vm_faults(chunk, "lru", 2) == 4


def test_s3fifo_keeps_hot_pages_through_a_scan() -> None:
    """Five pages used often, then a long scan of new pages interleaved with them, in 20 frames:
    the hot pages reach the main queue and the one-hit scan pages are filtered by the small
    queue, so nothing but first touches faults (libCacheSim agrees). LRU keeps them too but FIFO
    does not."""
    hot = list(range(5)) * 4
    scan = [p for i in range(100, 1100) for p in (i, (i % 5))]
    pages = hot + scan
    chunk = Chunk(np.array(pages, dtype=np.int64))
    distinct = len(set(pages))
    assert vm_faults(chunk, "s3fifo", 20) == distinct == lcs_misses(lcs.S3FIFO(cache_size=20, hashpower=HASHPOWER), pages)
    assert vm_faults(chunk, "fifo", 20) > distinct


def test_arc_short_string_adapts_before_replace() -> None:
    """``1 2 1 3 4 2 5 2`` in 2 frames: the fault on 2 (in B1) adapts p before REPLACE."""
    pages = [1, 2, 1, 3, 4, 2, 5, 2]
    expected = lcs_misses(lcs.ARC(cache_size=2, hashpower=HASHPOWER), pages)
    assert vm_faults(Chunk(np.array(pages, dtype=np.int64)), "arc", 2) == expected


# --------------------------------------------------------------------------- laws


def stream(seed: int, n: int = 3000, pids: int = 1) -> Chunk:
    rng = np.random.default_rng(seed)
    pages = (rng.zipf(1.3, n) % 60).astype(np.int64)
    writes = (rng.random(n) < 0.25).astype(np.uint8)
    return Chunk(pages, writes, None if pids == 1 else rng.integers(0, pids, n).astype(np.int64))


@pytest.mark.parametrize("policy", MODERN)
@pytest.mark.parametrize("frames", [1, 3, 16])
def test_laws(policy: str, frames: int) -> None:
    """faults >= distinct pages; write-backs <= evictions = faults - frames filled; determinism."""
    chunk = stream(frames)
    a = replay(lambda: [chunk], parse_policy(policy), frames, seed=1)
    b = replay(lambda: [chunk], parse_policy(policy), frames, seed=1)
    distinct = len(set(chunk.pages.tolist()))
    assert a.faults >= a.cold_faults == distinct
    assert a.writebacks <= a.evictions == a.faults - min(frames, distinct)
    assert dump_json(Run.of(a)) == dump_json(Run.of(b))


@pytest.mark.parametrize("with_writes", [True, False])
@pytest.mark.parametrize("policy", MODERN)
def test_fast_path_equals_step_path_and_chunking(policy: str, with_writes: bool) -> None:
    """The engine's fast loop, the step-by-step path through Pager.fault and any chunking agree."""
    rng = np.random.default_rng(9)
    pages = np.repeat(rng.integers(0, 60, 3000), rng.integers(1, 4, 3000))
    writes = (rng.random(len(pages)) < 0.3).astype(np.uint8) if with_writes else None
    spec = parse_policy(policy)
    whole = replay(lambda: [Chunk(pages, writes)], spec, 16)
    cuts = [0, 1, 2, 500, 501, 3000, len(pages)]
    pieces = [Chunk(pages[a:b], None if writes is None else writes[a:b]) for a, b in itertools.pairwise(cuts)]
    assert replay(lambda: pieces, spec, 16) == whole
    stepped = replay(lambda: [Chunk(pages, writes)], spec, 16, steps=True)
    assert (stepped.faults, stepped.writebacks, stepped.evictions) == (whole.faults, whole.writebacks, whole.evictions)


@pytest.mark.parametrize("policy", MODERN)
def test_local_scope_equals_each_process_alone(policy: str) -> None:
    s = stream(5, pids=2)
    spec = parse_policy(policy)
    both = replay(lambda: [s], spec, 11, scope="local")
    for proc, quota in zip(both.processes, (6, 5)):
        mine = s.pids == proc.pid
        alone = replay(lambda m=mine: [Chunk(s.pages[m], s.writes[m])], spec, quota)
        assert (proc.faults, proc.writebacks) == (alone.faults, alone.writebacks)


@pytest.mark.parametrize("scope", ["global", "local"])
@pytest.mark.parametrize("policy", MODERN)
def test_pager_remove_swap_out_and_exit(policy: str, scope: str) -> None:
    """The kernel's uses of remove(): swap a process out, let one exit, keep faulting; the policy
    must hold exactly the frames of its domain throughout."""
    pager = Pager(12, parse_policy(policy), random.Random(0), scope)  # type: ignore[arg-type]
    spaces = {pid: AddressSpace.flat() for pid in range(3)}
    for pid, space in spaces.items():
        pager.add_process(pid, space, 4 if scope == "local" else None)
    rng = random.Random(7)

    def run(pids: list[int], n: int) -> None:
        for _ in range(n):
            pid = rng.choice(pids)
            table = spaces[pid].tables[0].entries
            page = rng.randrange(20)
            f = table.get(page)
            if f is None:
                pager.fault(pid, table, page, rng.random() < 0.3)
            else:
                pager.frames.referenced[f] = 1
                if pager.plan.hits:
                    pager.accounts[pid].domain.hit(f)

    def check() -> None:
        for pid in spaces:
            held = {f for f in range(12) if pager.frames.owner[f] == pid}
            dom = pager.accounts[pid].domain
            if scope == "local":
                assert sorted(dom.order()) == sorted(held) and len(dom) == len(held)
        if scope == "global":
            used = {f for f in range(12) if pager.frames.owner[f] >= 0}
            dom = pager.accounts[0].domain
            assert sorted(dom.order()) == sorted(used) and len(dom) == len(used)

    run([0, 1, 2], 400)
    check()
    pager.swap_out(1)
    check()
    run([0, 2], 300)
    check()
    pager.release_process(0, spaces[0].tables[0].entries)
    check()
    run([1, 2], 300)
    check()
