"""The classic OS policies: second chance, enhanced second chance, NRU, aging, NFU, LFU, MFU,
WSClock, working set and PFF.

Each has small reference strings worked out by hand (the working is in the comments), the laws
every policy obeys, determinism, and checks against independent implementations: libCacheSim's
LFU miss for miss (generated traces at several sizes and a 100k slice of each shared trace),
Clock for second chance, LFU for NFU with a tick after every access, LRU and a brute-force
Denning working set for the working-set policy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# The oracle tests' helpers: libCacheSim, its miss count per request, the generated and shared traces.
from support import CASES, HASHPOWER, lcs, lcs_misses, load

from vmsim.engine import replay
from vmsim.errors import PolicyError
from vmsim.hw.access import Chunk
from vmsim.hw.frames import FrameTable
from vmsim.metrics.results import RunResult
from vmsim.policies import PolicySpec, available, lookup, origin_of, param_info, parse_policy
from vmsim.policies.aging import Aging
from vmsim.policies.base import Periodic
from vmsim.policies.nfu import NFU
from vmsim.policies.wsclock import WSClock

CLASSIC = ["second-chance", "esc", "nru", "aging", "nfu", "lfu", "mfu", "wsclock", "ws", "pff"]
#: Small periods and windows, so that ticks and windows matter on strings of 200 accesses.
SMALL = [
    "second-chance",
    "esc",
    "nru:period=3",
    "aging:period=3:bits=3",
    "nfu:period=3",
    "lfu",
    "mfu",
    "wsclock:period=2:tau=5",
    "ws:period=2:tau=6",
    "pff:threshold=4",
]
RELEASING = ("ws", "pff")  # give frames back on their own: not every eviction makes room


def pages_of(text: str) -> tuple[list[int], list[int]]:
    """``"1w 2 3"`` -> pages and write flags."""
    pages, writes = [], []
    for tok in text.split():
        pages.append(int(tok.rstrip("w")))
        writes.append(1 if tok.endswith("w") else 0)
    return pages, writes


def run(text_or_pages: str | Sequence[int], policy: str, frames: int, *, seed: int = 0, steps: bool = False) -> RunResult:
    if isinstance(text_or_pages, str):
        pages, writes = pages_of(text_or_pages)
    else:
        pages, writes = list(text_or_pages), [0] * len(text_or_pages)
    chunk = Chunk(np.array(pages, dtype=np.int64), np.array(writes, dtype=np.uint8))
    return replay(lambda: [chunk], parse_policy(policy), frames, seed=seed, steps=steps)


def victims(res: RunResult) -> list[int | None]:
    assert res.steps is not None
    return [s.victim for s in res.steps if not s.hit]


# --------------------------------------------------------------------------- hand-worked strings


def test_second_chance_by_hand() -> None:
    """``1 2 3 4 2 5 3 2`` in 3 frames. 1 2 3 load (bits set). 4: the head 1, 2 and 3 each lose
    their bit and go to the tail; 1 comes round with its bit clear and goes: [2 3 4]. 2 hits (bit
    set). 5: 2 (set) goes to the tail, 3 (clear) is the victim: [4 2 5]. 3: 4 (set, from its
    load) to the tail, 2 (cleared) goes: [5 4 3]. 2: 5 to the tail, 4 goes. 7 faults, where FIFO
    has 6 (the reinsertion keeps 2 one round too long)."""
    res = run("1 2 3 4 2 5 3 2", "second-chance", 3, steps=True)
    assert res.faults == 7
    assert victims(res) == [None, None, None, 1, 3, 2, 4]
    assert run("1 2 3 4 2 5 3 2", "fifo", 3).faults == 6


@settings(max_examples=60, deadline=None, derandomize=True)
@given(pages=st.lists(st.integers(0, 12), max_size=200), frames=st.integers(1, 8))
def test_second_chance_faults_equal_clock(pages: list[int], frames: int) -> None:
    """FIFO with reinsertion visits pages in the order of Clock's hand, so the two fault alike
    (Clock with the bit kept at load) though one is a queue and the other a circle."""
    assert run(pages, "second-chance", frames).faults == run(pages, "clock", frames).faults


def test_enhanced_second_chance_by_hand() -> None:
    """``1w 2 3 4 5 1`` in 3 frames (Stallings' clock with use and modified bits). After the loads
    the circle is 1 (1,1), 2 (1,0), 3 (1,0), hand at 1. 4: lap 1 finds no (0,0); lap 2 finds no
    (0,1) but clears every use bit; lap 1 again: 1 is (0,1), 2 is (0,0): victim 2, hand moves to 3.
    5: 3 is (0,0): victim 3. 1 hits. 5 faults and no write-back; Clock evicts the dirty 1 at 4
    and faults on it again: 6 faults, 1 write-back."""
    res = run("1w 2 3 4 5 1", "esc", 3, steps=True)
    assert (res.faults, res.writebacks) == (5, 0)
    assert victims(res) == [None, None, None, 2, 3]
    clock = run("1w 2 3 4 5 1", "clock", 3)
    assert (clock.faults, clock.writebacks) == (6, 1)


def test_enhanced_second_chance_takes_a_dirty_page_when_all_are_dirty() -> None:
    """``1w 2w 3w 4``: no (0,0) ever exists, so after a lap that clears the use bits the first
    (0,1) under the hand goes: 1, written back."""
    res = run("1w 2w 3w 4", "esc", 3, steps=True)
    assert victims(res)[-1] == 1
    assert res.writebacks == 1


def test_nru_by_hand() -> None:
    """``1w 2 3 2 4 3`` in 3 frames, a tick every 3 accesses. After 1w 2 3 the tick clears the
    referenced bits: classes 1 -> 1 (dirty), 2 -> 0, 3 -> 0. 2 hits: class 2. 4 faults: the lowest
    class, 0, holds only 3: victim 3. 3 faults (before the next tick): 1 is class 1, 2 and 4 are
    class 2: victim 1, written back. 5 faults, 1 write-back, whatever the seed (each draw had one
    candidate)."""
    for seed in range(5):
        res = run("1w 2 3 2 4 3", "nru:period=3", 3, seed=seed, steps=True)
        assert (res.faults, res.writebacks) == (5, 1)
        assert victims(res) == [None, None, None, 3, 1]


def test_nru_draws_among_the_lowest_class_with_the_seed() -> None:
    """``1 2 3 4`` with a tick after 3: 1, 2 and 3 are all class 0 at the fault, so the victim is
    drawn with the seed: each of them for some seed, and always the same for one seed."""
    seen = {seed: victims(run("1 2 3 4", "nru:period=3", 3, seed=seed, steps=True))[-1] for seed in range(30)}
    assert set(seen.values()) == {1, 2, 3}
    assert all(victims(run("1 2 3 4", "nru:period=3", 3, seed=s, steps=True))[-1] == v for s, v in seen.items())


#: Referenced bits of pages 0..5 at five ticks: Tanenbaum, Modern Operating Systems, Fig. 3-17.
TANENBAUM_R = [
    [1, 0, 1, 0, 1, 1],
    [1, 1, 0, 0, 1, 0],
    [1, 1, 0, 1, 0, 1],
    [1, 0, 0, 0, 1, 0],
    [0, 1, 1, 0, 0, 0],
]


def ticked(cls: type, **params: int) -> object:
    """A policy over frames 0..5 (page k in frame k), after the five ticks of TANENBAUM_R."""
    frames = FrameTable(6)
    pol = cls(frames, random.Random(0), **params)
    for f in range(6):
        pol.insert(f)
    for k, bits in enumerate(TANENBAUM_R, start=1):
        frames.referenced[:] = bytes(bits)
        pol.tick(k)
    return pol


def test_aging_tanenbaum_figure() -> None:
    """After the five ticks the 8-bit counters are (Fig. 3-17 (e)) 0: 01111000, 1: 10110000,
    2: 10001000, 3: 00100000, 4: 01011000, 5: 00101000, so the victims go 3, 5, 4, 0, 2, 1."""
    pol = ticked(Aging, period=1, bits=8)
    assert pol._count[:6].tolist() == [0b01111000, 0b10110000, 0b10001000, 0b00100000, 0b01011000, 0b00101000]
    assert pol.order() == [3, 5, 4, 0, 2, 1]
    assert pol.victim() == 3


def test_nfu_tanenbaum_figure() -> None:
    """The same bits give NFU counts 4, 3, 2, 1, 3, 2: victim 3. Ties by the latest sampled
    reference: 5 (tick 3) before 2 (tick 5), 4 (tick 4) before 1 (tick 5). NFU ranks 0 last
    because it never forgets its early references, where aging ranks 1 last."""
    pol = ticked(NFU, period=1)
    assert pol._count[:6].tolist() == [4, 3, 2, 1, 3, 2]
    assert pol.order() == [3, 5, 2, 4, 1, 0]


def test_aging_by_hand() -> None:
    """``1 2 3 1 4 2`` in 3 frames, 2-bit counters, a tick every 2 accesses. Tick 1 (after 1 2):
    1 = 10, 2 = 10. 3 loads, 1 hits. Tick 2: 1 = 11, 2 = 01, 3 = 10. 4: smallest is 2: victim 2.
    2: keys (bit since the tick, counter): 1 = (0, 11), 3 = (0, 10), 4 = (1, 00): victim 3.
    5 faults."""
    res = run("1 2 3 1 4 2", "aging:period=2:bits=2", 3, steps=True)
    assert res.faults == 5
    assert victims(res) == [None, None, None, 2, 3]


def test_aging_keeps_a_page_referenced_since_the_last_tick() -> None:
    """The referenced bit counts as the newest, most significant one. ``1 2 3 4`` with no tick
    (period 100): every counter 0, every bit set: the tie goes to the oldest load, 1. With a tick
    after ``1 2`` (period 2, 2 bits): 1 = 10, 2 = 10, bits cleared; 3 loads (counter 00, bit set);
    4 faults before the next tick: keys 1 = (0, 10), 2 = (0, 10), 3 = (1, 00): the tie between 1
    and 2 goes to 1, and 3, whose counter alone is the smallest, stays."""
    assert victims(run("1 2 3 4", "aging:period=100", 3, steps=True))[-1] == 1
    assert victims(run("1 2 3 4", "aging:period=2:bits=2", 3, steps=True))[-1] == 1


def test_nfu_ranks_a_page_referenced_since_the_last_tick_as_newest() -> None:
    """``2 1 1 1 2 3`` in 2 frames, a tick every 2 accesses. Tick 1: 2 = 1, 1 = 1 (both sampled
    at 2). 1 1: tick 2: 1 = 2 (sampled at 4), 2 = 1. 2 hits: its bit is set. 3 faults: 1 has 2 + 0,
    2 has 1 + 1: a tie, and 2's reference since the tick is newer than 1's sampled at 4: victim 1."""
    assert victims(run("2 1 1 1 2 3", "nfu:period=2", 2, steps=True))[-1] == 1


def test_lfu_by_hand() -> None:
    """``1 2 3 1 2 3 4 1 2`` in 3 frames: at 4 every count is 2; the tie goes to the least
    recently used, 1. At 1 the counts are 2: 2, 3: 2, 4: 1: victim 4. 2 hits. 5 faults."""
    res = run("1 2 3 1 2 3 4 1 2", "lfu", 3, steps=True)
    assert res.faults == 5
    assert victims(res) == [None, None, None, 1, 4]


def test_lfu_forgets_counts_on_eviction() -> None:
    """``1 1 2 2 3 1 3`` in 2 frames. 1 and 2 reach count 2; 3: a tie, the least recently used 1
    goes; 3 has count 1. 1: 3 (count 1) goes, 1 comes back with count 1, not 3. 3: 1 (1) goes
    rather than 2 (2). Had 1 kept its count across the eviction (3), 2 would have gone instead."""
    res = run("1 1 2 2 3 1 3", "lfu", 2, steps=True)
    assert victims(res) == [None, None, 1, 3, 1]


def test_mfu_by_hand() -> None:
    """``1 2 3 1 1 4 2 1`` in 3 frames: at 4 the counts are 1: 3, 2: 1, 3: 1: victim 1 (the most
    used). 2 hits (2). 1: counts 2: 2, 3: 1, 4: 1: victim 2. 5 faults. ``1 2 3 4``: every count is
    1; the tie goes to the least recently used, 1."""
    res = run("1 2 3 1 1 4 2 1", "mfu", 3, steps=True)
    assert res.faults == 5
    assert victims(res) == [None, None, None, 1, 2]
    assert victims(run("1 2 3 4", "mfu", 3, steps=True))[-1] == 1


def wsclock_over(tau: int) -> tuple[WSClock, FrameTable]:
    """Frames 0..3 loaded at time 0, a tick at 10; frame 0 referenced since, frame 1 dirty."""
    frames = FrameTable(4)
    pol = WSClock(frames, random.Random(0), period=10, tau=tau)
    for f in range(4):
        pol.insert(f)
    pol.tick(10)
    frames.referenced[0] = 1
    frames.dirty[1] = 1
    return pol, frames


def test_wsclock_by_hand() -> None:
    """tau 5: the hand clears 0's bit (last use now 10), passes 1 (old but dirty), takes 2 (old,
    clean). tau 20: nothing is older than 20, so after a lap the victim is the oldest last use
    (1, 2, 3 at time 0), a clean one before a dirty one: 2."""
    pol, frames = wsclock_over(5)
    assert pol.victim() == 2
    assert frames.referenced[0] == 0 and pol._used[0] == 10
    pol, _ = wsclock_over(20)
    assert pol.victim() == 2
    # Only dirty pages old: the lap ends on the oldest, dirty 1 (its write-back happens at eviction).
    pol, frames = wsclock_over(5)
    frames.dirty[2] = frames.dirty[3] = 1
    assert pol.victim() == 1


def test_wsclock_in_replay() -> None:
    """4 frames, a tick after every access, tau 2; during access k the time is k - 1 (the latest
    tick). ``1 2 3 4`` load at times 0..3 (bits set by the loads), 1 hits at 4. 5 faults at 5: the
    hand clears every bit and stamps every page 5; after the lap the oldest last use is a four-way
    tie, which goes to the first met, 1 (as Clock would); the hand moves to 2. ``5 5 5`` hit at 6..8
    and 6 faults at 9: under the hand, 2 is unreferenced and 9 - 5 = 4 > 2 old, and clean: victim."""
    res = run("1 2 3 4 1 5", "wsclock:period=1:tau=2", 4, steps=True)
    assert victims(res) == [None, None, None, None, 1]
    res = run("1 2 3 4 1 5 5 5 5 6", "wsclock:period=1:tau=2", 4, steps=True)
    assert victims(res)[-1] == 2


def test_working_set_by_hand() -> None:
    """``1 2 1 3 4 1``, tau 2, a tick after every access, frames to spare: an access faults when its
    page was not among the previous 2 accesses. Faults at 1, 2, 3, 4 and the last 1 (its previous
    use is 3 accesses back): 5. Pages leave the window at the tick after an access: 2 after access
    4, 1 after 5, 3 after 6: 3 evictions. A step is recorded before its tick, so memory shows at
    most tau + 1 = 3 pages (the window and the page just loaded)."""
    res = run("1 2 1 3 4 1", "ws:period=1:tau=2", 10, steps=True)
    assert (res.faults, res.evictions) == (5, 3)
    assert max(sum(f is not None for f in s.frames) for s in res.steps) == 3


def denning_faults(pages: Sequence[int], tau: int) -> int:
    """Denning's working-set policy, by definition: access t faults unless its page was referenced
    among accesses t - tau .. t - 1."""
    last: dict[int, int] = {}
    faults = 0
    for t, p in enumerate(pages):
        if p not in last or t - last[p] > tau:
            faults += 1
        last[p] = t
    return faults


@settings(max_examples=40, deadline=None, derandomize=True)
@given(pages=st.lists(st.integers(0, 15), max_size=150), tau=st.integers(1, 20))
def test_working_set_with_a_tick_per_access_is_denning(pages: list[int], tau: int) -> None:
    assert run(pages, f"ws:period=1:tau={tau}", 16).faults == denning_faults(pages, tau)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(pages=st.lists(st.integers(0, 15), max_size=150), frames=st.integers(1, 8))
def test_working_set_with_an_endless_window_is_lru(pages: list[int], frames: int) -> None:
    """Nothing leaves the window, so only the pool evicts: the oldest last use, exact with a tick
    per access: LRU."""
    assert run(pages, "ws:period=1:tau=100000", frames).faults == run(pages, "lru", frames).faults


def test_pff_by_hand() -> None:
    """``1 2 3 1 1 1 4 5``, threshold 2, frames to spare. Faults at times 1, 2, 3 are each 1 apart:
    the domain grows, and each fault clears the other pages' bits. 1 hits 3 times. 4 at time 7 is
    4 > 2 after the previous fault: release the pages not referenced since it: 2 (1 was, 3 was
    loaded by it). 5 at time 8 is 1 after: grow. 5 faults, 1 eviction, 4 pages resident."""
    res = run("1 2 3 1 1 1 4 5", "pff:threshold=2", 10, steps=True)
    assert (res.faults, res.evictions) == (5, 1)
    assert sorted(p for p in res.steps[-1].frames if p is not None) == [1, 3, 4, 5]
    # The interval must exceed the threshold: 7 - 3 = 4 releases with threshold 3, not with 4.
    assert run("1 2 3 1 1 1 4 5", "pff:threshold=3", 10).evictions == 1
    assert run("1 2 3 1 1 1 4 5", "pff:threshold=4", 10).evictions == 0


def test_pff_in_a_full_pool() -> None:
    """2 frames, ``1 2 3``: no release (faults 1 apart), no free frame: the oldest page not
    referenced since the previous fault (1, whose bit that fault cleared) goes."""
    res = run("1 2 3", "pff:threshold=5", 2, steps=True)
    assert victims(res) == [None, None, 1]


@pytest.mark.parametrize("frames", [1, 3, 8])
def test_pff_never_exceeds_the_pool(frames: int) -> None:
    pages = np.random.default_rng(3).integers(0, 30, 2000).tolist()
    res = run(pages, "pff:threshold=20", frames, steps=True)
    assert max(sum(f is not None for f in s.frames) for s in res.steps) <= frames
    assert res.faults - res.evictions <= frames


# --------------------------------------------------------------------------- laws


def refs_strategy() -> st.SearchStrategy[tuple[list[int], list[int] | None]]:
    return st.lists(st.integers(0, 15), max_size=200).flatmap(
        lambda p: st.tuples(st.just(p), st.none() | st.lists(st.integers(0, 1), min_size=len(p), max_size=len(p)))
    )


def run_w(pages: list[int], writes: list[int] | None, policy: str, frames: int, **kw: object) -> RunResult:
    w = None if writes is None else np.array(writes, dtype=np.uint8)
    chunk = Chunk(np.array(pages, dtype=np.int64), w)
    return replay(lambda: [chunk], parse_policy(policy), frames, **kw)  # type: ignore[arg-type]


LAWS = settings(max_examples=30, deadline=None, derandomize=True)


@pytest.mark.parametrize("policy", SMALL)
@LAWS
@given(r=refs_strategy(), frames=st.integers(1, 8))
def test_laws(policy: str, r: tuple[list[int], list[int] | None], frames: int) -> None:
    """cold faults = distinct pages <= faults; hits + faults = references; write-backs <= evictions
    <= faults; what stays resident fits in memory (exactly one eviction per fault once memory is
    full, for the policies that never give frames back); OPT is never beaten."""
    pages, writes = r
    res = run_w(pages, writes, policy, frames)
    assert res.cold_faults == len(set(pages)) <= res.faults
    assert res.hits + res.faults == res.references == len(pages)
    assert res.writebacks <= res.evictions <= res.faults
    assert res.faults - res.evictions <= frames
    if policy.split(":")[0] not in RELEASING:
        assert res.evictions == res.faults - min(frames, res.faults)
    if writes is None or not any(writes):
        assert res.writebacks == 0
    assert run_w(pages, None, "opt", frames).faults <= res.faults


@pytest.mark.parametrize("policy", SMALL)
@LAWS
@given(r=refs_strategy(), frames=st.integers(1, 8), cut=st.lists(st.integers(0, 200), max_size=4))
def test_fast_paths_equal_the_step_path(policy: str, r: tuple[list[int], list[int] | None], frames: int, cut: list[int]) -> None:
    """Folding repeats, the inline fault path, chunk boundaries and tick boundaries change nothing:
    the stream cut into chunks anywhere gives the counters of the unfolded step-by-step path."""
    pages, writes = r
    whole = run_w(pages, writes, policy, frames, steps=True)
    bounds = sorted({0, len(pages), *(min(c, len(pages)) for c in cut)})
    w = None if writes is None else np.array(writes, dtype=np.uint8)
    p = np.array(pages, dtype=np.int64)
    chunks = [Chunk(p[a:b], None if w is None else w[a:b]) for a, b in pairwise(bounds)]
    fast = replay(lambda: chunks, parse_policy(policy), frames)
    key = lambda x: (x.references, x.faults, x.cold_faults, x.evictions, x.writebacks)  # noqa: E731
    assert key(fast) == key(whole)


@pytest.mark.parametrize("policy", SMALL)
def test_deterministic(policy: str) -> None:
    pages, writes = np.random.default_rng(11).integers(0, 40, 3000), np.random.default_rng(12).integers(0, 2, 3000)
    a = run_w(pages.tolist(), writes.tolist(), policy, 12, seed=5)
    b = run_w(pages.tolist(), writes.tolist(), policy, 12, seed=5)
    assert a == b


@pytest.mark.parametrize("policy", SMALL)
def test_local_scope_runs_each_process_in_its_own_domain(policy: str) -> None:
    """Two processes, local scope, 6 frames split 3 + 3: the same counts as each alone in 3
    frames, for the policies without ticks (ticks count the whole stream's accesses)."""
    rng = np.random.default_rng(7)
    pids = rng.integers(0, 2, 1000)
    pages = rng.integers(0, 10, 1000)
    chunk = Chunk(pages, None, pids)
    both = replay(lambda: [chunk], parse_policy(policy), 6, scope="local")
    assert both.references == 1000
    if issubclass(lookup(policy.split(":")[0]), Periodic):
        return
    for pid in (0, 1):
        alone = run(pages[pids == pid].tolist(), policy, 3)
        assert both.processes[pid].faults == alone.faults


# --------------------------------------------------------------------------- ticks in replay


class Recorder(NFU):
    """NFU that records the ``now`` of every tick (not registered: built from a PolicySpec)."""

    ticks: list[int] = []  # noqa: RUF012

    def tick(self, now: int) -> list[int]:
        Recorder.ticks.append(now)
        return super().tick(now)


def test_replay_ticks_every_period_references_of_the_stream() -> None:
    """A tick follows every period-th access of the stream, counted before folding (this string is
    full of repeats) and across chunk boundaries, with now = accesses so far."""
    from vmsim.policies import PolicySpec

    pages = np.repeat(np.arange(50), 7)  # 350 accesses, 300 of them repeats
    chunks = [Chunk(pages[:123]), Chunk(pages[123:])]
    Recorder.ticks = []
    replay(lambda: chunks, PolicySpec(Recorder, {"period": 40}), 8)
    assert Recorder.ticks == list(range(40, 351, 40))


def test_a_longer_period_samples_less() -> None:
    """On a loop of 6 pages in 5 frames with a hot page in between, NFU with a tick per access
    counts exactly and keeps the hot page; with one tick for the whole string every count stays 0
    and NFU is FIFO."""
    text = " ".join(f"0 {p}" for p in [1, 2, 3, 4, 5, 6] * 5)
    assert run(text, "nfu:period=100000", 5).faults == run(text, "fifo", 5).faults
    assert run(text, "nfu:period=1", 5).faults == run(text, "lfu", 5).faults
    assert run(text, "nfu:period=1", 5).faults < run(text, "fifo", 5).faults


# --------------------------------------------------------------------------- libCacheSim


@pytest.mark.parametrize(("kind", "name", "frames"), [pytest.param(*c, id=f"{c[1]}-{c[2]}f") for c in CASES])
def test_lfu_matches_libcachesim(kind: str, name: str, frames: int) -> None:
    """vmsim LFU faults == libCacheSim LFU misses (in-cache counts, ties least recently used)."""
    chunk = load(kind, name)
    expected = lcs_misses(lcs.LFU(cache_size=frames, hashpower=HASHPOWER), chunk.pages.tolist())
    assert replay(lambda: [chunk], parse_policy("lfu"), frames).faults == expected


@pytest.mark.parametrize("frames", [1, 7, 64])
@pytest.mark.parametrize("name", ["zipf", "phases"])
def test_nfu_with_a_tick_per_access_is_libcachesim_lfu(name: str, frames: int) -> None:
    """With period 1 NFU's count is the exact in-memory count and its tie-break least recently used."""
    chunk = load("gen", name)
    pages = chunk.pages[:5000].tolist()
    expected = lcs_misses(lcs.LFU(cache_size=frames, hashpower=HASHPOWER), pages)
    assert run(pages, "nfu:period=1", frames).faults == expected


@pytest.mark.parametrize(("kind", "name", "frames"), [pytest.param(*c, id=f"{c[1]}-{c[2]}f") for c in CASES if c[0] == "shared"])
def test_second_chance_matches_libcachesim_clock(kind: str, name: str, frames: int) -> None:
    """Second chance == libCacheSim's Clock with the bit set at load, on 100k of each shared trace."""
    chunk = load(kind, name)
    expected = lcs_misses(lcs.Clock(cache_size=frames, hashpower=HASHPOWER, init_freq=1), chunk.pages.tolist())
    assert replay(lambda: [chunk], parse_policy("second-chance"), frames).faults == expected


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("nru:period=0", "policy nru: parameter period must be between 1 and 1,000,000,000, got 0"),
        ("aging:bits=0", "policy aging: parameter bits must be between 1 and 64, got 0"),
        ("ws:tau=0", "policy ws: parameter tau must be between 1 and 1,000,000,000,000, got 0"),
        ("wsclock:tau=-1", "policy wsclock: parameter tau must be between 0 and 1,000,000,000,000, got -1"),
        ("pff:threshold=-3", "policy pff: parameter threshold must be between 0 and 1,000,000,000,000, got -3"),
        # issue 13: each of these passed validate and failed (or crashed) in simulate
        ("s3fifo:small_ratio=2", r"policy s3fifo: parameter small_ratio must be in \[0.0, 1.0\), got 2.0"),
        ("lruk:k=0", "policy lruk: parameter k must be between 1 and 64, got 0"),
        ("lirs:hir_ratio=1", r"policy lirs: parameter hir_ratio must be in \[0.0, 1.0\), got 1.0"),
        ("2q:kin=2", r"policy 2q: parameter kin must be in \[0.0, 1.0\), got 2.0"),
        ("lruk:k=99999999999999999999", "policy lruk: parameter k must be between 1 and 64, got 99999999999999999999"),
        ("2q:kout=inf", "policy 2q: parameter kout must be between 0.0 and 100.0, got inf"),
        ("s3fifo:ghost_ratio=nan", "policy s3fifo: parameter ghost_ratio must be between 0.0 and 100.0, got nan"),
        ("ws:tau=1.5", "policy ws: parameter tau takes an int, got '1.5'"),
        ("clockpro:cold_ratio=-0.1", "policy clockpro: parameter cold_ratio must be between 0.0 and 1.0, got -0.1"),
    ],
)
def test_bad_parameters_are_named(policy: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as info:
        parse_policy(policy)
    assert info.value.policy == policy.split(":")[0] and info.value.param == policy.split(":")[1].split("=")[0]


@pytest.mark.parametrize("policy", ["s3fifo:small_ratio=2", "lruk:k=0", "2q:kout=inf", "s3fifo:ghost_ratio=nan"])
def test_a_spec_built_by_hand_is_checked_too(policy: str) -> None:
    """PolicySpec.build checks the declared ranges, so a spec made without parse_policy (the
    Python API) cannot reach a policy's constructor with a value out of range."""
    good = parse_policy(policy.split(":")[0])
    key, value = policy.split(":")[1].split("=")
    bad = PolicySpec(good.cls, {**good.params, key: type(good.params[key])(value)})
    with pytest.raises(PolicyError):
        bad.build(FrameTable(4), random.Random(0))


def test_every_parameter_declares_its_range() -> None:
    """Every numeric parameter of every built-in policy has a declared, finite range."""
    for name in available():
        if origin_of(name) != "built-in":
            continue
        for pname, p in param_info(lookup(name)).items():
            if p.type in (int, float):
                assert p.range is not None and p.range.lo is not None and p.range.hi is not None, (name, pname)
                assert p.range.contains(p.default), (name, pname)


def test_aliases() -> None:
    for alias, name in [
        ("sc", "second-chance"),
        ("enhanced-clock", "esc"),
        ("Not-Recently-Used", "nru"),
        ("working-set", "ws"),
        ("page-fault-frequency", "pff"),
        ("least-frequently-used", "lfu"),
    ]:
        assert lookup(alias).name == name
    assert lookup("second-chance") is not lookup("second-chance-clock")  # a queue, not Clock's hand
