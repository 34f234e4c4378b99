"""The TLB (vmsim.hw.tlb) by hand-worked sequences, and in the kernel: one TLB per CPU, flushed on
a context switch unless tagged with ASIDs, hit ratio and effective access time in the results."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.hw.tlb import SetAssociativeTLB
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import load_scenario, validate

ROOT = Path(__file__).resolve().parents[1]


def outcomes(tlb: SetAssociativeTLB, vpns: list[int], asid: int = 0) -> str:
    tlb.switch_to(asid)
    return "".join("h" if tlb.access(asid, v) else "m" for v in vpns)


def test_direct_mapped_conflicts() -> None:
    # 4 entries, 1 way: vpn % 4 picks the set. 0 and 4 share set 0 and evict each other;
    # 1 lives in set 1 undisturbed.
    tlb = SetAssociativeTLB(4, 1)
    assert outcomes(tlb, [0, 4, 0, 1, 4, 1, 0]) == "mmmmmhm"


def test_two_way_lru_against_fifo() -> None:
    # 4 entries, 2 ways: 2 sets; even vpns in set 0. Sequence 0 2 0 4 0:
    # LRU: 0 m, 2 m, 0 h (0 most recent), 4 m evicts 2, 0 h.
    # FIFO: 0 m, 2 m, 0 h (order unchanged), 4 m evicts 0 (oldest), 0 m.
    assert outcomes(SetAssociativeTLB(4, 2, "lru"), [0, 2, 0, 4, 0]) == "mmhmh"
    assert outcomes(SetAssociativeTLB(4, 2, "fifo"), [0, 2, 0, 4, 0]) == "mmhmm"


def test_fully_associative_is_the_default_and_random_is_seeded() -> None:
    tlb = SetAssociativeTLB(3)
    assert (tlb.ways, tlb.nsets) == (3, 1)
    assert outcomes(tlb, [1, 2, 3, 1, 4, 1, 2]) == "mmmhmhm"  # LRU: 4 evicts 2, then 2 evicts 3
    draw = random.Random(5)
    seq = [draw.randrange(12) for _ in range(200)]
    a = outcomes(SetAssociativeTLB(4, 2, "random", rng=random.Random(1)), seq)
    assert a == outcomes(SetAssociativeTLB(4, 2, "random", rng=random.Random(1)), seq)
    assert a != outcomes(SetAssociativeTLB(4, 2, "random", rng=random.Random(2)), seq)


def test_flush_on_switch_or_asid_tags() -> None:
    plain, tagged = SetAssociativeTLB(8), SetAssociativeTLB(8, tagged=True)
    for tlb in (plain, tagged):
        outcomes(tlb, [1, 2, 3], asid=0)
        outcomes(tlb, [1, 2], asid=1)  # process 1's page 1 is not process 0's page 1
    assert plain.flushes == 1 and tagged.flushes == 0
    assert outcomes(plain, [1, 2, 3], asid=0) == "mmm"  # flushed when process 1 ran
    assert outcomes(tagged, [1, 2, 3], asid=0) == "hhh"  # kept, told apart by the tag
    tagged.invalidate(0, 2)
    tagged.invalidate_process(1)
    assert outcomes(tagged, [1, 2], asid=0) == "hm" and len(tagged) == 3


def test_bad_shapes_are_errors() -> None:
    with pytest.raises(VmsimError, match="ways must divide entries"):
        SetAssociativeTLB(6, 4)
    with pytest.raises(VmsimError, match="random generator"):
        SetAssociativeTLB(4, policy="random")


def two_processes(**tlb: object) -> dict:
    """Two processes that fit in memory, alternating on one CPU with a short quantum."""
    return {
        "name": "tlb",
        "seed": 1,
        "machine": {"memory": "1MiB", "timing": {"memory_access": "100ns"}, "tlb": {"entries": 16, **tlb}},
        "kernel": {"scheduler": {"quantum": "50us"}},
        "processes": [{"name": "p", "count": 2, "workload": {"kind": "zipf", "pages": 24, "alpha": 1.2, "references": 20000}}],
    }


def test_kernel_flushes_on_switch_unless_tagged() -> None:
    plain = simulate(validate(two_processes(), "x"))
    tagged = simulate(validate(two_processes(asid=True), "x"))
    assert plain.faults == tagged.faults  # the TLB never changes what faults
    assert plain.tlb is not None and tagged.tlb is not None
    assert plain.tlb.flushes > 10 and tagged.tlb.flushes == 0
    assert tagged.tlb.hit_ratio > plain.tlb.hit_ratio
    # Misses cost a page-table walk: the processes run longer without tags.
    assert sum(p.running_s for p in tagged.processes) < sum(p.running_s for p in plain.processes)
    for r in (plain, tagged):
        t = r.tlb
        assert t is not None
        # Every reference that does not fault looks the TLB up once.
        assert t.hits + t.misses == r.references - r.faults
        assert sum(p.tlb_hits or 0 for p in r.processes) == t.hits
        h = t.hits / (t.hits + t.misses)
        assert t.hit_ratio == round(h, 6) and t.effective_access_ns == pytest.approx(h * 10 + (1 - h) * 100)


def test_tlb_in_simulate_json_and_table(capsys) -> None:
    args = [
        "simulate",
        str(ROOT / "scenarios" / "thrashing.yaml"),
        "--set",
        "processes.0.workload.references=5000",
        "--set",
        "machine.tlb.entries=32",
        "--set",
        "machine.tlb.ways=4",
        "--set",
        "machine.tlb.policy=fifo",
    ]
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    t = doc["global"]["tlb"]
    assert (t["entries"], t["ways"], t["policy"], t["asid"]) == (32, 4, "fifo", False)
    assert 0 < t["hit_ratio"] < 1 and t["hits"] + t["misses"] == doc["global"]["references"] - doc["global"]["faults"]
    assert all("tlb_hits" in p for p in doc["processes"])
    assert main(args) == 0
    assert "TLB  " in capsys.readouterr().out
    assert (
        main(
            [
                "simulate",
                str(ROOT / "scenarios" / "thrashing.yaml"),
                "--set",
                "processes.0.workload.references=5000",
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert "tlb" not in json.loads(capsys.readouterr().out)["global"]  # no TLB, no TLB counters


def test_tlb_shape_is_validated() -> None:
    with pytest.raises(VmsimError, match=r"tlb\.ways \(3\) must divide tlb\.entries \(16\)"):
        load_scenario(ROOT / "scenarios" / "thrashing.yaml", ["machine.tlb.entries=16", "machine.tlb.ways=3"])


def test_sweep_table_and_csv_carry_the_tlb(capsys) -> None:
    args = [
        "sweep",
        str(ROOT / "scenarios" / "thrashing.yaml"),
        "--vary",
        "machine.tlb.entries=4,16",
        "--set",
        "processes.0.workload.references=3000",
        "--workers",
        "1",
        "--format",
        "csv",
    ]
    assert main(args) == 0
    header, small, big = capsys.readouterr().out.strip().splitlines()
    cols = header.split(",")
    assert "tlb_hit_ratio" in cols and "effective_access_ns" in cols
    i = cols.index("tlb_hit_ratio")
    assert float(small.split(",")[i]) < float(big.split(",")[i])  # more entries, more hits
