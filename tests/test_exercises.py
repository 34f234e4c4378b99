"""`vmsim exercise KIND`: every kind against hand-worked answers (arithmetic in the comments),
the boundary bytes, the JSON shape, seed reproducibility, re-posing a random problem with
explicit numbers, and one-line errors with exit code 2.
"""

from __future__ import annotations

import json
import random
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.exercises import KINDS, make, parse_addresses, parse_size
from vmsim.exercises.freelist import HeapFreeList, ListFreeList
from vmsim.exercises.multilevel import read_memory


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def solved(capsys: pytest.CaptureFixture[str], kind: str, *args: str) -> dict:
    code, out, err = cli(capsys, "exercise", kind, *args, "--solve", "--format", "json")
    assert code == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------- option parsing


def test_sizes_and_addresses_parse() -> None:
    assert [parse_size("--x", s) for s in ("1024", "0x400", "1k", "1K", "16KiB", "1m", "2g", "100b")] == [
        1024,
        1024,
        1024,
        1024,
        16384,
        1 << 20,
        2 << 30,
        100,
    ]
    assert parse_addresses("--a", "0x1f, 12 ,0X10") == [31, 12, 16]
    with pytest.raises(VmsimError, match="--x takes a size"):
        parse_size("--x", "16q")
    with pytest.raises(VmsimError, match="'-3' is not an address"):
        parse_addresses("--a", "1,-3")


# --------------------------------------------------------------------------- relocation


def test_relocation_hand_worked(capsys) -> None:
    # base 12418, limit 472: valid iff VA < 472, PA = 12418 + VA.
    d = solved(
        capsys,
        "relocation",
        "--asize",
        "1k",
        "--psize",
        "16k",
        "--base",
        "12418",
        "--limit",
        "472",
        "--addresses",
        "0,471,472,0x3ff,100",
    )
    got = [(a["vaddr"], a["valid"], a["paddr"]) for a in d["answers"]]
    assert got == [
        (0, True, 12418),  # 12418 + 0
        (471, True, 12889),  # limit - 1, the last valid byte: 12418 + 471
        (472, False, None),  # the limit itself is the first invalid byte
        (1023, False, None),  # 1023 >= 472
        (100, True, 12518),  # 12418 + 100
    ]
    assert d["params"] == {"asize": 1024, "psize": 16384, "base": 12418, "limit": 472, "addresses": [0, 471, 472, 1023, 100]}


def test_relocation_base_plus_limit_may_reach_the_end_of_memory(capsys) -> None:
    d = solved(capsys, "relocation", "--psize", "16k", "--base", str(16384 - 100), "--limit", "100", "--addresses", "99")
    assert d["answers"][0]["paddr"] == 16383  # 16284 + 99, the last byte of physical memory


# --------------------------------------------------------------------------- segmentation

SEG = ["--asize", "1k", "--psize", "16k", "--base0", "2000", "--limit0", "300", "--base1", "5000", "--limit1", "200"]


def test_segmentation_hand_worked_boundaries(capsys) -> None:
    # asize 1024: VA < 512 is segment 0, VA >= 512 segment 1 (the top bit).
    # Segment 0: valid iff VA < 300, PA = 2000 + VA.
    # Segment 1: valid iff 1024 - VA <= 200, i.e. VA >= 824; PA = 5000 - (1024 - VA).
    d = solved(capsys, "segmentation", *SEG, "--addresses", "0,299,300,511,512,823,824,1023")
    got = [(a["vaddr"], a["segment"], a["valid"], a["paddr"]) for a in d["answers"]]
    assert got == [
        (0, 0, True, 2000),  # 2000 + 0
        (299, 0, True, 2299),  # last valid byte of seg 0: limit0 - 1
        (300, 0, False, None),  # first invalid byte of seg 0: limit0
        (511, 0, False, None),  # still seg 0 (top bit clear), far past its limit
        (512, 1, False, None),  # seg 1 (top bit set): 1024 - 512 = 512 > 200
        (823, 1, False, None),  # first invalid byte below seg 1: 1024 - 823 = 201 > 200
        (824, 1, True, 4800),  # lowest valid byte of seg 1: 5000 - 200
        (1023, 1, True, 4999),  # last (top) valid byte of seg 1: 5000 - 1
    ]
    assert [a["offset"] for a in d["answers"]][-2:] == [-200, -1]  # VA - asize


def test_segments_may_touch_but_not_overlap(capsys) -> None:
    # seg 0 = [0, 100), seg 1 = [100, 200): they touch, no overlap.
    d = solved(
        capsys, "segmentation", "--base0", "0", "--limit0", "100", "--base1", "200", "--limit1", "100", "--addresses", "99,924"
    )
    assert [a["paddr"] for a in d["answers"]] == [99, 100]  # 0 + 99; 200 - (1024 - 924)
    code, _, err = cli(capsys, "exercise", "segmentation", "--base0", "0", "--limit0", "101", "--base1", "200", "--limit1", "100")
    assert code == 2 and "overlap" in err


# --------------------------------------------------------------------------- linear


def test_linear_hand_worked(capsys) -> None:
    # 16 KiB space, 4 KiB pages: VPN = VA >> 12 (4 pages), offset = VA & 0xfff. Table 12,-,-,6.
    d = solved(
        capsys,
        "linear",
        "--asize",
        "16k",
        "--psize",
        "64k",
        "--page-size",
        "4k",
        "--page-table",
        "12,-,-,6",
        "--addresses",
        "0x0,0xfff,0x1000,0x2fff,0x3abc",
    )
    got = [(a["vaddr"], a["vpn"], a["valid"], a["paddr"]) for a in d["answers"]]
    assert got == [
        (0x0, 0, True, 0xC000),  # 12 * 4096 + 0
        (0xFFF, 0, True, 0xCFFF),  # last byte of page 0: 12 * 4096 + 4095
        (0x1000, 1, False, None),  # first byte of page 1: invalid
        (0x2FFF, 2, False, None),  # page 2: invalid
        (0x3ABC, 3, True, 0x6ABC),  # 6 * 4096 + 0xabc = 24576 + 2748 = 27324
    ]
    assert d["params"]["page_table"] == [12, None, None, 6]


# --------------------------------------------------------------------------- multilevel

INVALID_PAGE = "7f" * 32


def hand_memory(tmp_path: Path, style: str = "plain") -> Path:
    """Every byte 0x7f except: PD at page 5 with PDE 3 = 0x90 (valid, PT in page 16);
    PT page 16 with PTE 7 = 0xa1 (valid, frame 33) and PTE 8 = 0x00 (bit 7 clear: invalid);
    data page 33 with byte 10 = 0xab."""
    pages = [bytearray.fromhex(INVALID_PAGE) for _ in range(128)]
    pages[5][3] = 0x90
    pages[16][7] = 0xA1
    pages[16][8] = 0x00
    pages[33][10] = 0xAB
    lines = []
    for n, p in enumerate(pages):
        if style == "plain":
            lines.append(p.hex())
        else:
            lines.append(f"page {n:3d}: {p.hex(' ')}")
    path = tmp_path / f"mem-{style}.txt"
    path.write_text("# a hand-made image\n\n" + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("style", ["plain", "prefixed"])
def test_multilevel_hand_worked(capsys, tmp_path: Path, style: str) -> None:
    mem = hand_memory(tmp_path, style)
    # 0x0cea = 0b000_1100_1110_1010 -> PDE index 3 (bits 14..10), PTE index 7 (bits 9..5), offset 10.
    # PDE = page 5 byte 3 = 0x90 -> valid, PT page 0x10 = 16; PTE = page 16 byte 7 = 0xa1 -> frame 33;
    # PA = 33 * 32 + 10 = 1066 = 0x42a; value = page 33 byte 10 = 0xab.
    # 0x1000: PDE index 4 -> page 5 byte 4 = 0x7f: PDE invalid.
    # 0x0d00: PDE index 3, PTE index 8 -> page 16 byte 8 = 0x00: PTE invalid.
    # 0x0d3f: PDE index 3, PTE index 9 -> 0x7f: PTE invalid.
    d = solved(capsys, "multilevel", "--pdbr", "5", "--memory", str(mem), "--addresses", "0x0cea,0x1000,0x0d00,0x0d3f")
    got = [(a["vaddr"], a["pde_index"], a["pte_index"], a["fault"], a["valid"], a["paddr"], a["value"]) for a in d["answers"]]
    assert got == [
        (0x0CEA, 3, 7, None, True, 0x42A, 0xAB),
        (0x1000, 4, 0, "pde", False, None, None),
        (0x0D00, 3, 8, "pte", False, None, None),
        (0x0D3F, 3, 9, "pte", False, None, None),
    ]
    assert [a["pde"] for a in d["answers"]] == [0x90, 0x7F, 0x90, 0x90]
    assert [a["pte"] for a in d["answers"]] == [0xA1, None, 0x00, 0x7F]


def test_multilevel_random_image_is_consistent() -> None:
    faults: set[str | None] = set()
    for seed in range(20):
        p = make("multilevel", {"--count": "10"}, seed)
        mem = [bytes.fromhex(h) for h in p.params["memory"]]
        pdbr = p.params["pdbr"]
        tables = [e & 0x7F for e in mem[pdbr] if e & 0x80]
        assert tables and len(set(tables)) == len(tables) and pdbr not in tables
        data = [e & 0x7F for t in tables for e in mem[t] if e & 0x80]
        assert len(set(data)) == len(data)
        assert not set(data) & (set(tables) | {pdbr})
        assert all(e == 0x7F for e in mem[pdbr] if not e & 0x80)  # invalid entries hold 0x7f
        faults |= {a["fault"] for a in p.answers}
    assert faults == {None, "pde", "pte"}


def test_multilevel_write_memory_reposes_the_same_problem(capsys, tmp_path: Path) -> None:
    mem = tmp_path / "mem.txt"
    code, first, err = cli(
        capsys, "exercise", "multilevel", "--seed", "7", "--solve", "--format", "json", "--write-memory", str(mem)
    )
    assert code == 0 and "memory image written" in err
    d = json.loads(first)
    again = solved(
        capsys,
        "multilevel",
        "--pdbr",
        str(d["params"]["pdbr"]),
        "--memory",
        str(mem),
        "--addresses",
        ",".join(map(str, d["params"]["addresses"])),
    )
    assert again["params"] == d["params"] and again["answers"] == d["answers"]
    code, _, err = cli(capsys, "exercise", "multilevel", "--seed", "8", "--write-memory", str(mem))
    assert code == 2 and "exists" in err and "--force" in err
    code, _, _ = cli(capsys, "exercise", "multilevel", "--seed", "8", "--write-memory", str(mem), "--force")
    assert code == 0 and read_memory(mem) != [bytes.fromhex(h) for h in d["params"]["memory"]]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines[:100], "needs exactly 128"),
        (lambda lines: [*lines, lines[0]], "more than 128 pages"),
        (lambda lines: [lines[0][:-2], *lines[1:]], ":3: a page is 32 bytes"),
        (lambda lines: [lines[0], "page 5: " + INVALID_PAGE, *lines[2:]], ":4: this line is page 1, but it says page 5"),
        (lambda lines: ["zz" * 32, *lines[1:]], ":3: expected"),
    ],
)
def test_multilevel_bad_memory_files(capsys, tmp_path: Path, edit, message: str) -> None:
    good = hand_memory(tmp_path).read_text().splitlines()
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(good[:2] + edit(good[2:])) + "\n")
    code, out, err = cli(capsys, "exercise", "multilevel", "--pdbr", "5", "--memory", str(bad), "--addresses", "0")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(bad) in err and message in err, err


# --------------------------------------------------------------------------- tlb

# VPNs 0, 4, 0, 1, 5, 1, 8 with 4 KiB pages.
TLB_ADDRS = "0x0000,0x4000,0x0010,0x1000,0x5000,0x1fff,0x8000"


def test_tlb_direct_mapped_set_conflicts(capsys) -> None:
    # 4 entries, 1 way: 4 sets, set = VPN mod 4. VPNs 0, 4, 8 all map to set 0 and keep evicting
    # each other; 1 and 5 fight over set 1: every access misses.
    d = solved(capsys, "tlb", "--entries", "4", "--ways", "1", "--addresses", TLB_ADDRS)
    got = [(a["vpn"], a["set"], a["hit"], a["evicted"]) for a in d["answers"]]
    assert got == [
        (0, 0, False, None),
        (4, 0, False, 0),
        (0, 0, False, 4),
        (1, 1, False, None),
        (5, 1, False, 1),
        (1, 1, False, 5),
        (8, 0, False, 0),
    ]
    # EAT = 10 + (7/7) * 100 = 110
    assert d["summary"]["hits"] == 0 and d["summary"]["eat_ns"] == 110.0


def test_tlb_fully_associative_lru(capsys) -> None:
    # 4 entries in one set, LRU first: [0] [0 4] hit0 -> [4 0] [4 0 1] [4 0 1 5] hit1 -> [4 0 5 1];
    # VPN 8 misses in a full set and evicts 4, the least recently used.
    d = solved(
        capsys, "tlb", "--entries", "4", "--policy", "lru", "--hit-time", "20", "--miss-penalty", "100", "--addresses", TLB_ADDRS
    )
    assert [a["hit"] for a in d["answers"]] == [False, False, True, False, False, True, False]
    assert d["answers"][-1]["evicted"] == 4 and d["answers"][-1]["set_after"] == [0, 5, 1, 8]
    # hit ratio 2/7; EAT = 20 + (5/7) * 100 = 91.428571...
    assert d["summary"] == {
        "accesses": 7,
        "hits": 2,
        "misses": 5,
        "hit_ratio": round(2 / 7, 6),
        "eat_ns": 91.428571,
        "formula": "EAT = hit_time + miss_ratio * miss_penalty",
    }


@pytest.mark.parametrize(("policy", "victim", "after"), [("lru", 4, [0, 8]), ("fifo", 0, [4, 8])])
def test_tlb_two_way_lru_against_fifo(capsys, policy: str, victim: int, after: list[int]) -> None:
    # 2 sets of 2: set = VPN mod 2. Set 0 sees 0, 4, 0 (hit), 8. LRU evicts 4 (0 was just used),
    # FIFO evicts 0 (loaded first; the hit does not refresh it).
    d = solved(capsys, "tlb", "--entries", "4", "--ways", "2", "--policy", policy, "--addresses", TLB_ADDRS)
    assert [a["set"] for a in d["answers"]] == [0, 0, 0, 1, 1, 1, 0]
    assert [a["hit"] for a in d["answers"]] == [False, False, True, False, False, True, False]
    assert (d["answers"][-1]["evicted"], d["answers"][-1]["set_after"]) == (victim, after)


def test_tlb_random_policy_is_fixed_by_the_seed() -> None:
    opts = {"--entries": "4", "--ways": "2", "--policy": "random", "--count": "40", "--asize": "32k"}
    a = [make("tlb", opts, seed) for seed in (1, 1, 2)]
    assert a[0].to_json(True) == a[1].to_json(True)
    for p in a:
        before: dict[int, list[int]] = {}
        for ans in p.answers:
            if ans["evicted"] is not None:
                assert ans["evicted"] in before[ans["set"]] and len(before[ans["set"]]) == 2
            before[ans["set"]] = ans["set_after"]


def test_tlb_matches_libcachesim_set_by_set(libcachesim: Any) -> None:
    """Each set of a set-associative TLB is an LRU (or FIFO) cache of `ways` entries: splitting the
    stream by set and feeding each part to libCacheSim gives the same misses."""
    lcs = libcachesim
    rng = random.Random(5)
    vpns = [rng.randrange(24) if rng.random() < 0.5 else rng.randrange(6) for _ in range(400)]
    addrs = ",".join(str(v * 4096 + rng.randrange(4096)) for v in vpns)
    for policy, make_cache in (("lru", lcs.LRU), ("fifo", lcs.FIFO)):
        for entries, ways in ((8, 1), (8, 2), (8, 8), (12, 3)):
            p = make(
                "tlb",
                {"--entries": str(entries), "--ways": str(ways), "--policy": policy, "--addresses": addrs, "--asize": "128k"},
            )
            sets = entries // ways
            misses = 0
            for s in range(sets):
                cache = make_cache(cache_size=ways, hashpower=16)
                req = lcs.Request()
                req.obj_size = 1
                for v in vpns:
                    if v % sets == s:
                        req.obj_id = v
                        misses += not cache.get(req)
            assert p.summary is not None
            assert p.summary["misses"] == misses, (policy, entries, ways)


# --------------------------------------------------------------------------- freelist

FL = ["--size", "100", "--base", "1000", "--policy", "first", "--order", "address", "--ops", "a10,a20,a10,f0,f1,a25"]


def test_freelist_coalescing_on_and_off_differ(capsys) -> None:
    # a10 -> 1000 [(1010,90)]; a20 -> 1010 [(1030,70)]; a10 -> 1030 [(1040,60)];
    # f0 frees [1000,1010): its right neighbour 1010 is still allocated -> [(1000,10),(1040,60)].
    on = solved(capsys, "freelist", *FL, "--coalesce")
    off = solved(capsys, "freelist", *FL, "--no-coalesce")
    assert [a["addr"] for a in on["answers"]][:4] == [1000, 1010, 1030, 1000]
    assert on["answers"][3]["free_list"] == off["answers"][3]["free_list"] == [[1000, 10], [1040, 60]]
    # f1 frees [1010,1030): on, it merges with (1000,10) into (1000,30); off it stays a block of its own.
    assert on["answers"][4]["free_list"] == [[1000, 30], [1040, 60]]
    assert off["answers"][4]["free_list"] == [[1000, 10], [1010, 20], [1040, 60]]
    # a25: on, first fit takes (1000,30) -> 1000, remainder (1025,5);
    # off, 10 and 20 are too small, so (1040,60) -> 1040, remainder (1065,35).
    assert (on["answers"][5]["addr"], on["answers"][5]["free_list"]) == (1000, [[1025, 5], [1040, 60]])
    assert (off["answers"][5]["addr"], off["answers"][5]["free_list"]) == (1040, [[1000, 10], [1010, 20], [1065, 35]])


@pytest.mark.parametrize(("policy", "addr"), [("first", 10), ("best", 40), ("worst", 60)])
def test_freelist_policies(capsys, policy: str, addr: int) -> None:
    # Fill 0..100 with 10,20,10,15,5,40 then free 20@10, 15@40 and 40@60, coalescing off:
    # free blocks (10,20), (40,15), (60,40). A request of 12: first fit takes 10 (the first big
    # enough), best fit 40 (15 is the smallest >= 12), worst fit 60 (the largest).
    d = solved(capsys, "freelist", "--policy", policy, "--no-coalesce", "--ops", "a10,a20,a10,a15,a5,a40,f1,f3,f5,a12")
    assert [a["addr"] for a in d["answers"][:6]] == [0, 10, 30, 40, 55, 60]
    assert d["answers"][8]["free_list"] == [[10, 20], [40, 15], [60, 40]]
    assert d["answers"][9]["addr"] == addr


def test_freelist_failure_and_alignment(capsys) -> None:
    # align 8: a5 -> block 8 at 0, a30 -> block 32 at 8 (free (40,24)); a30 needs 32 > 24: NULL;
    # freeing that failed pointer is free(NULL), a no-op.
    d = solved(capsys, "freelist", "--size", "64", "--align", "8", "--ops", "a5,a30,a30,f2,f0")
    assert [(a["addr"], a.get("block")) for a in d["answers"]] == [(0, 8), (8, 32), (None, 32), (None, None), (0, None)]
    assert d["answers"][3]["free_list"] == [[40, 24]]
    assert d["answers"][4]["free_list"] == [[0, 8], [40, 24]]
    assert d["summary"]["failed_allocations"] == 1


@pytest.mark.parametrize(
    ("order", "free_after", "addr15"),
    [
        # a10 x3 -> 0, 10, 20; free list [(30,70)]. f0 then f1 (blocks (0,10) and (10,10)):
        # front: [(10,10),(0,10),(30,70)]: list neighbours (10,10),(0,10) are not in address order, no merge;
        ("front", [[10, 10], [0, 10], [30, 70]], 30),
        # back: [(30,70),(0,10),(10,10)] -> (0,10) ends where (10,10) starts: merged into (0,20); first fit
        # scans the list in order, so a15 still takes 30, the first block in the list;
        ("back", [[30, 70], [0, 20]], 30),
        # address: [(0,20),(30,70)] and a15 takes 0.
        ("address", [[0, 20], [30, 70]], 0),
    ],
)
def test_freelist_order_decides_what_coalesces(capsys, order: str, free_after: list, addr15: int) -> None:
    d = solved(capsys, "freelist", "--order", order, "--coalesce", "--ops", "a10,a10,a10,f0,f1,a15")
    assert d["answers"][4]["free_list"] == free_after
    assert d["answers"][5]["addr"] == addr15


def test_freelist_size_order_ties_and_splits(capsys) -> None:
    # size-asc, first fit, no coalescing. a10 -> 0, a5 -> 10, a10 -> 15, a5 -> 25; free list [(30,70)].
    # f2 frees (15,10): sorted by size -> [(15,10),(30,70)].
    # f0 frees (0,10): a tie with (15,10); the sort is stable, so (15,10) stays first.
    # a10 then takes 15 (not 0, as address order would), an exact fit; a65 takes 30, leaving (95,5)
    # in place at the end of the list (a split does not re-sort).
    d = solved(capsys, "freelist", "--order", "size-asc", "--no-coalesce", "--ops", "a10,a5,a10,a5,f2,f0,a10,a65")
    assert d["answers"][5]["free_list"] == [[15, 10], [0, 10], [30, 70]]
    assert [a["addr"] for a in d["answers"][6:]] == [15, 30]
    assert d["answers"][7]["free_list"] == [[0, 10], [95, 5]]
    # size-desc: the largest first; worst fit is then the head of the list.
    d = solved(capsys, "freelist", "--order", "size-desc", "--policy", "worst", "--no-coalesce", "--ops", "a10,a5,f0,a3")
    assert d["answers"][2]["free_list"] == [[15, 85], [0, 10]]
    assert d["answers"][3]["addr"] == 15


def test_freelist_accepts_the_ostep_op_syntax(capsys) -> None:
    a = solved(capsys, "freelist", "--ops", "+10,+5,-0,+3")
    b = solved(capsys, "freelist", "--ops", "a10,a5,f0,a3")
    assert a["params"]["ops"] == ["a10", "a5", "f0", "a3"] and a["answers"] == b["answers"]
    assert [x["addr"] for x in a["answers"]] == [0, 10, 0, 0]  # a3 reuses the freed (0,10) block: first fit


def test_freelist_list_model_agrees_with_the_heap_allocator_in_address_order() -> None:
    """ListFreeList in address order and FitHeap (which serves --order address) give the same
    addresses and free lists on random sequences, for every policy, coalescing on and off."""
    rng = random.Random(11)
    for trial in range(150):
        policy = ("first", "best", "worst")[trial % 3]
        coalesce = trial % 2 == 0
        a = ListFreeList(500, 200, policy, "address", coalesce)
        b = HeapFreeList(500, 200, policy, coalesce)
        live: list[tuple[int, int]] = []
        for _ in range(40):
            if live and rng.random() < 0.45:
                addr, n = live.pop(rng.randrange(len(live)))
                a.free(addr, n)
                b.free(addr, n)
            else:
                n = rng.randint(1, 30)
                x, y = a.alloc(n), b.alloc(n)
                assert x == y
                if x is not None:
                    live.append((x, n))
            assert a.free_list() == b.free_list()


# --------------------------------------------------------------------------- every kind


@pytest.mark.parametrize("kind", list(KINDS))
def test_same_seed_same_problem_byte_for_byte(capsys, kind: str) -> None:
    outs = []
    for seed in ("4", "4", "5"):
        for fmt in ("json", "text"):
            code, out, _ = cli(capsys, "exercise", kind, "--seed", seed, "--solve", "--format", fmt)
            assert code == 0
            outs.append(out)
    assert outs[0:2] == outs[2:4]
    assert outs[0] != outs[4]


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_random_problem_reposes_with_explicit_parameters(capsys, tmp_path: Path, kind: str) -> None:
    p = make(kind, {}, 3)
    args = shlex.split(p.command)[2:]
    if kind == "multilevel":
        mem = tmp_path / "m.txt"
        from vmsim.exercises import write_memory

        assert "FILE" in args  # not saved yet: a placeholder
        args = shlex.split(write_memory(p, mem).command)[2:]  # saved: the command names the file
        assert args[args.index("--memory") + 1] == str(mem)
    again = solved(capsys, *args, "--seed", "99") if kind != "tlb" else solved(capsys, *args)
    assert again["params"] == p.params
    assert again["answers"] == p.answers


@pytest.mark.parametrize("kind", ["relocation", "segmentation", "linear", "multilevel"])
def test_json_shape_and_about_half_valid(kind: str) -> None:
    valid = total = 0
    for seed in range(40):
        d = json.loads(make(kind, {}, seed).to_json(True))
        assert list(d) == ["kind", "seed", "params", "answers"] and d["kind"] == kind
        assert len(d["answers"]) == len(d["params"]["addresses"])
        for a in d["answers"]:
            assert {"vaddr", "valid", "paddr"} <= set(a)
            assert (a["paddr"] is None) == (not a["valid"])
            valid += a["valid"]
            total += 1
        extra = {"segmentation": {"segment"}, "linear": {"vpn"}, "multilevel": {"pde_index", "pte_index", "fault", "value"}}
        assert extra.get(kind, set()) <= set(d["answers"][0])
    assert 0.35 < valid / total < 0.65


def test_without_solve_there_are_no_answers(capsys) -> None:
    code, out, _ = cli(capsys, "exercise", "relocation", "--format", "json")
    assert code == 0 and "answers" not in json.loads(out)
    code, out, _ = cli(capsys, "exercise", "relocation", "--base", "100", "--limit", "10", "--addresses", "5,50")
    assert code == 0 and "--> PA or segmentation violation?" in out and "PA 0x" not in out
    code, out, _ = cli(capsys, "exercise", "relocation", "--base", "100", "--limit", "10", "--addresses", "5,50", "--solve")
    assert "PA 0x0069 (decimal 105 = 100 + 5)" in out and "segmentation violation (50 >= limit 10)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["relocation", "--page-size", "4k"], "--page-size is not an option of relocation"),
        (["freelist", "--addresses", "1"], "--addresses is not an option of freelist"),
        (["linear", "--entries", "4"], "--entries is not an option of linear"),
        (["tlb", "--no-coalesce"], "--coalesce is not an option of tlb"),
        (["relocation", "--write-memory", "x.txt"], "--write-memory is not an option of relocation"),
        (["nonsense"], "unknown exercise kind 'nonsense'"),
        (["relocation", "--asize", "1q"], "--asize takes a size"),
        (["relocation", "--asize", "0"], "--asize must be positive"),
        (["relocation", "--asize", "1k", "--addresses", "1,1024"], "address 1024 (0x400) is outside"),
        (["relocation", "--limit", "2k"], "--limit 2048 is larger than the address space"),
        (["relocation", "--base", "16300", "--limit", "100"], "does not fit in physical memory"),
        (["relocation", "--count", "3", "--addresses", "1"], "cannot be combined with --addresses"),
        (["segmentation", "--asize", "1000"], "--asize must be a power of two"),
        (["segmentation", "--limit1", "513"], "--limit1 513 is larger than half the address space"),
        (["segmentation", "--base1", "10", "--limit1", "20"], "--base1 10 is the top of segment 1"),
        (["segmentation", "--base1", "20k"], "beyond physical memory"),
        (["linear", "--page-size", "3000"], "--page-size must be a power of two"),
        (["linear", "--asize", "12k"], "--asize must be a power of two"),
        (["linear", "--page-table", "1,2,3"], "--page-table has 3 entries but the address space has 4 pages"),
        (["linear", "--page-table", "1,2,16,-"], "--page-table entry 2 maps to frame 16"),
        (["linear", "--page-table", "1,x,3,-"], "--page-table entry 1 is 'x'"),
        (["linear", "--asize", "16m"], "at most 1024"),
        (["multilevel", "--pdbr", "128"], "--pdbr is a physical page number, 0..127"),
        (["multilevel", "--memory", "m.txt"], "--memory needs --pdbr"),
        (["multilevel", "--pdbr", "1", "--memory", "/nonexistent/m.txt"], "--memory: cannot read /nonexistent/m.txt"),
        (["multilevel", "--addresses", "0x8000"], "outside the address space of 32768 bytes"),
        (["multilevel", "--force"], "--force only lets --write-memory overwrite"),
        (["tlb", "--entries", "6", "--ways", "4"], "--ways 4 must divide --entries 6"),
        (["tlb", "--entries", "0"], "--entries must be positive"),
        (["tlb", "--policy", "opt"], "--policy takes one of lru, fifo, random"),
        (["tlb", "--hit-time", "fast"], "--hit-time takes a number"),
        (["tlb", "--page-size", "128k"], "--page-size 131072 is larger than the address space"),
        (["freelist", "--policy", "lru"], "--policy takes one of first, best, worst, next"),
        (["freelist", "--order", "random"], "--order takes one of address"),
        (["freelist", "--policy", "next", "--order", "front"], "--policy next needs --order address"),
        (["freelist", "--ops", "a10,f1"], "'f1' frees allocation 1, but only 1 allocation comes before it"),
        (["freelist", "--ops", "a10,f0,f0"], "frees allocation 0 a second time"),
        (["freelist", "--ops", "a0"], "allocates nothing"),
        (["freelist", "--ops", "m10"], "'m10' is not an operation"),
        (["freelist", "--size", "-5"], "--size takes a size"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args: list[str], message: str) -> None:
    code, out, err = cli(capsys, "exercise", *args)
    assert code == 2 and out == ""
    assert err.startswith("vmsim: error: ") and err.count("\n") == 1, err
    assert message in err, err


# --------------------------------------------------------------------------- the documented examples

DOC = Path(__file__).resolve().parent.parent / "docs" / "exercises.md"


def doc_examples() -> list[tuple[str, str, str]]:
    """``(fence, command, output)`` of every example in docs/exercises.md."""
    out = []
    for m in re.finditer(r"```(console|text)\n\$ (vmsim exercise [^\n]*)\n(.*?)```", DOC.read_text(), re.S):
        out.append((m.group(1), m.group(2), m.group(3)))
    return out


def test_every_kind_has_a_documented_example() -> None:
    assert sorted(shlex.split(cmd)[2] for _, cmd, _ in doc_examples()) == sorted(KINDS)


@pytest.mark.parametrize(("fence", "command", "expected"), doc_examples(), ids=lambda v: str(v)[:40])
def test_documented_examples_are_real_output(capsys, tmp_path: Path, fence: str, command: str, expected: str) -> None:
    args = shlex.split(command)[1:]
    if "mem.txt" in args:
        args[args.index("mem.txt")] = str(hand_memory(tmp_path))
    code, out, _ = cli(capsys, *args)
    assert code == 0
    if fence == "console":
        assert out == expected
    else:  # abridged: every run of lines between "..." lines appears in the output as it is
        for part in expected.split("...\n"):
            assert part in out
