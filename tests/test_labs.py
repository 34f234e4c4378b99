"""The lab handouts (docs/labs/) stay true. Lab (a) end to end: the sample student LFU loads with
--policy-file, passes the lab's golden check, agrees with libCacheSim's LFU, and a wrong policy
under the same name fails the check. Then, for every lab, its main commands are run and the
figures its handout states are checked against what vmsim prints."""

from __future__ import annotations

import itertools
import json
import random
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vmsim.cli import main
from vmsim.engine import replay
from vmsim.policies import base, load_policy_file, parse_policy
from vmsim.policies._plugins import ORIGINS
from vmsim.testing import assert_faults
from vmsim.workloads import parse_refs

LAB = Path(__file__).resolve().parents[1] / "docs" / "labs" / "files" / "lab_a"
SAMPLE = LAB / "lfu.py"
GOLDEN = LAB / "golden.json"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = dict(base.REGISTRY), dict(base.ALIASES), dict(ORIGINS)
    yield
    for d, s in zip((base.REGISTRY, base.ALIASES, ORIGINS), saved):
        d.clear()
        d.update(s)  # type: ignore[arg-type]
    for name in [m for m in sys.modules if m.startswith("vmsim_plugin_")]:
        del sys.modules[name]


def test_without_the_plugin_the_golden_files_policy_is_unknown(capsys) -> None:
    assert main(["check", str(GOLDEN)]) == 2
    assert "unknown policy 'lab_lfu'" in capsys.readouterr().err


def test_the_sample_passes_the_labs_golden_check(capsys) -> None:
    assert main(["--policy-file", f"{SAMPLE}:LFU", "check", str(GOLDEN)]) == 0
    assert "8 runs: every counter matches" in capsys.readouterr().out


def test_a_wrong_policy_under_the_labs_name_fails_the_check(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "lab_lfu.py"
    fifo.write_text("from vmsim.policies.fifo import FIFO\n\nclass NotLFU(FIFO):\n    name = 'lab_lfu'\n    aliases = ()\n")
    assert main(["check", str(GOLDEN), "--policy-file", str(fifo)]) == 1
    out = capsys.readouterr().out
    assert "lab_a.rw" in out and "faults" in out and "expected" in out


def test_the_handouts_hand_worked_counts() -> None:
    load_policy_file(str(SAMPLE))
    assert_faults("1 1 2 3 1 4 2 5 2 1", "lab_lfu", 3, 6)
    assert_faults("7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1", "lab_lfu", 3, 11)
    assert_faults("7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1", "lab_lfu", 4, 9)
    assert_faults("1 2 3 4 1 2 5 1 2 3 4 5", "lab_lfu", 3, 10)
    assert_faults("1 2 3 4 1 2 5 1 2 3 4 5", "lab_lfu", 4, 8)
    assert_faults("1 1 1 2 3 4 2 3 4 2 3 4", "lab_lfu", 3, 10)


def test_the_sample_agrees_with_libcachesim_lfu(libcachesim: Any) -> None:
    lcs = libcachesim
    load_policy_file(str(SAMPLE))
    spec = parse_policy("lab_lfu")
    for seed in range(40):
        rng = random.Random(seed)
        pages = [int(rng.paretovariate(1.2)) % 20 for _ in range(300)]
        chunk = parse_refs(" ".join(map(str, pages)))
        for frames in (2, 3, 5, 8):
            cache = lcs.LFU(cache_size=frames, hashpower=10)
            req = lcs.Request()
            req.obj_size = 1
            misses = 0
            for p in pages:
                req.obj_id = p
                misses += not cache.get(req)
            assert replay(lambda c=chunk: [c], spec, frames).faults == misses, (seed, frames)


# --------------------------------------------------------------------------- every lab's figures
# Each test below runs a lab's main commands (small ones where a step is slow) and checks that the
# figures vmsim prints are the ones the handout states, so a change in vmsim that moves a number,
# or an edit of a handout, fails here instead of leaving the lab silently wrong.

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "docs" / "labs"


def handout(name: str) -> str:
    """The lab's text with every run of whitespace made one space (handouts wrap lines)."""
    return " ".join((LABS / name).read_text().split())


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    assert main([*args, "--format", "json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def faults_by(doc: object) -> dict[tuple[str, int], int]:
    assert isinstance(doc, dict)
    return {(r["policy"], r["frames"]): r["faults"] for r in doc["runs"]}


def seq(values: list[int]) -> str:
    return ", ".join(f"{v:,}" for v in values)


def test_lab_a_figures(capsys: pytest.CaptureFixture[str]) -> None:
    text = handout("a-replacement-plugin.md")
    plug = ["--policy-file", f"{SAMPLE}:LFU"]
    assert main([*plug, "refs", "1 1 2 3 1 4 2 5 2 1", "-f", "3", "-p", "lab_lfu", "--explain"]) == 0
    assert "lab_lfu, 3 frames: 6 faults, 4 hits" in capsys.readouterr().out
    assert "**6 faults, 4 hits**" in text
    pols = ["lab_lfu", "lru", "fifo", "clock", "opt"]
    got = faults_by(
        run_json(capsys, *plug, "compare", str(LAB / "lab_a.rw"), "-f", "4,6,8", "-p", ",".join(pols), "--workers", "1")
    )
    for f in (4, 6, 8):
        assert f"| {f} | " + " | ".join(str(got[p, f]) for p in pols) + " |" in text
    kern = faults_by(
        run_json(capsys, *plug, "compare", str(LAB / "lab_a.yaml"), "-f", "4,6,8", "-p", "lab_lfu,lru,fifo", "--workers", "1")
    )
    lfu, lru, fifo = (" / ".join(str(kern[p, f]) for f in (4, 6, 8)) for p in ("lab_lfu", "lru", "fifo"))
    assert f"faults: lab_lfu {lfu} at 4 / 6 / 8 frames, LRU {lru}, FIFO {fifo}." in text


def test_lab_b_figures(capsys: pytest.CaptureFixture[str]) -> None:
    text = handout("b-belady-stack-algorithms.md")
    belady = "1 2 3 4 1 2 5 1 2 3 4 5"
    got = faults_by(run_json(capsys, "refs", belady, "-f", "1..7", "-p", "fifo,lru,opt"))
    rows = "; ".join(f"{p.upper()} " + seq([got[p, f] for f in range(1, 8)]) for p in ("fifo", "lru", "opt"))
    assert f"Step 2 (faults at 1..7 frames): {rows}." in text
    doc = run_json(
        capsys,
        "compare",
        str(LABS / "files" / "lab_b" / "belady.pages"),
        "-f",
        "1..6",
        "-p",
        "fifo,lru,clock,random",
        "--workers",
        "1",
    )
    assert isinstance(doc, dict)
    assert [(a["policy"], a["frames_from"], a["faults_from"], a["faults_to"]) for a in doc["anomalies"]] == [
        ("fifo", 3, 9, 10),
        ("clock", 3, 9, 10),
    ]
    assert "`Belady anomaly: fifo faults 9 with 3 frames but 10 with 4`" in text
    rand = faults_by(doc)
    assert f"Random at 1..6 frames on the trace: {seq([rand['random', f] for f in range(1, 7)])} with seed 0" in text
    curve = run_json(capsys, "curve", str(LAB / "lab_a.rw"), "-f", "1..12", "-p", "lru,fifo,clock", "--workers", "1")
    assert isinstance(curve, list)
    pts = {(p["policy"], p["frames"]): p["faults"] for p in curve}
    assert f"LRU {seq([pts['lru', f] for f in range(1, 7)])}, then {pts['lru', 12]} to 12 frames" in text
    fifo, clock = (seq([pts[p, f] for f in range(1, 7)]) for p in ("fifo", "clock"))
    assert f"FIFO {fifo}, ...; Clock {clock}, ..." in text
    # Step 5's first Clock anomaly among the seeded random strings, and its counts (Q3).
    rng = random.Random(0)
    strings = [" ".join(str(rng.randrange(6)) for _ in range(16)) for _ in range(1000)]
    spec = parse_policy("clock")
    for refs in strings:
        chunk = parse_refs(refs)
        faults = [replay(lambda c=chunk: [c], spec, f).faults for f in range(1, 7)]
        if any(b > a for a, b in itertools.pairwise(faults)):
            break
    assert f"Clock **5** (first: `{refs}`, {faults[2]} faults with 3 frames and {faults[3]} with 4)" in text
    assert main(["check", str(LABS / "files" / "lab_b" / "golden.json")]) == 0


def test_lab_c_figures(capsys: pytest.CaptureFixture[str]) -> None:
    text = handout("c-thrashing-load-control.md")
    scenario = str(ROOT / "scenarios" / "thrashing.yaml")
    g = run_json(capsys, "simulate", scenario, "-q")["global"]  # type: ignore[index]
    assert g["faults"] == g["cold_faults"]
    assert (f"Step 1 (4 processes): {g['references']:,} references, {g['faults']} faults (all cold") in text
    assert (
        f"{g['writebacks']} write-backs, CPU {100 * g['cpu_utilization']:.1f}%, paging device "
        f"{100 * g['paging_device_utilization']:.1f}%, {g['simulated_time_s']:.3f} s, no thrashing"
    ) in text
    for count in (4, 7):
        g = run_json(capsys, "simulate", scenario, "-q", "--set", f"processes.0.count={count}")["global"]  # type: ignore[index]
        verdict = "yes" if g["thrashing"]["detected"] else "no"
        assert (
            f"| {count} | {g['faults']:,} | {g['cpu_utilization']:.3f} | {g['paging_device_utilization']:.3f} "
            f"| {g['simulated_time_s']:.3f} | {verdict} |"
        ) in text


def test_lab_d_figures(capsys: pytest.CaptureFixture[str]) -> None:
    text = handout("d-ai-workload-memory.md")
    scenario = str(LABS / "files" / "lab_d" / "cnn_one_job.yaml")
    doc = run_json(capsys, "simulate", scenario, "-q")
    assert isinstance(doc, dict)
    g = doc["global"]
    assert (
        f"Step 2: {g['references']:,} references, {g['faults']:,} faults, no write-backs, "
        f"CPU {100 * g['cpu_utilization']:.1f}%, {g['simulated_time_s']:.3f} s, max RSS "
        f"{doc['processes'][0]['max_rss']:,} pages"
    ) in text
    assert g["writebacks"] == 0
    g1 = run_json(
        capsys, "simulate", scenario, "-q", "--set", "machine.memory=64MiB", "--set", "processes.0.workload.batch_size=1"
    )["global"]  # type: ignore[index]
    per_iteration = g1["faults"] - 19 * 1 * 8  # 20 iterations, 8 new input pages per sample each
    assert f"| 1 | {g1['faults']:,} |" in text and f"| {per_iteration:,} /" in text
    assert f"Batch-1 fp32 gives {per_iteration:,}, the figure in the workload's docstring" in text


def test_lab_e_every_step_runs_and_the_answers_are_vmsims(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (LABS / "e-address-translation.md").read_text()
    steps = raw.split("## Steps")[1].split("## Questions")[0]
    commands = [shlex.split(line.strip())[1:] for line in steps.splitlines() if line.strip().startswith("vmsim exercise")]
    assert len(commands) == 11
    monkeypatch.chdir(tmp_path)  # step 4 writes mem4.txt
    for args in commands:
        args = [str(ROOT / a) if a.startswith("docs/") else a for a in args]
        assert main(args) == 0, (args, capsys.readouterr().err)
    assert (tmp_path / "mem4.txt").exists()
    capsys.readouterr()

    def solve(cmd: list[str]) -> dict:
        args = [str(ROOT / a) if a.startswith("docs/") else a for a in cmd]
        doc = run_json(capsys, *args)
        assert isinstance(doc, dict)
        return doc

    text = handout("e-address-translation.md")
    explicit = [c for c in commands if "--solve" in c and "--seed" not in c]
    reloc, seg, linear, multi, tlb_full, tlb_direct = (solve(c) for c in explicit)
    pa = [a["paddr"] for a in reloc["answers"]]
    assert f"VA 0 → PA {pa[0]}; VA 471 → {pa[1]}; VA 472 and 0x3ff (1023) → segmentation violation" in text
    assert [a["valid"] for a in reloc["answers"]] == [True, True, False, False]
    s = seg["answers"]
    assert [a["valid"] for a in s] == [True, False, False, True, True]
    assert f"VA 299 → segment 0, PA {s[0]['paddr']}" in text
    assert f"VA 824 → segment 1, PA {s[3]['paddr']} (5000 \N{MINUS SIGN} 200); VA 1023 → segment 1, PA {s[4]['paddr']}" in text
    a0, a1, a2 = linear["answers"]
    assert not a1["valid"]
    assert f"0xfff → VPN 0, offset 4095, PA {a0['paddr']:#x} ({a0['paddr']})" in text
    assert f"0x3abc → VPN 3, offset {a2['offset']}, PA {a2['paddr']:#x} ({a2['paddr']})" in text
    m0, m1, m2 = multi["answers"]
    assert (m1["fault"], m2["fault"]) == ("pde", "pte")
    assert (
        f"0x0cea → PDE index {m0['pde_index']}, PTE index {m0['pte_index']}, offset {m0['offset']}; PDE {m0['pde']:#x}"
    ) in text
    assert f"→ PA {m0['paddr']:#x} ({m0['paddr']}), value {m0['value']:#x}" in text
    for doc in (tlb_full, tlb_direct):
        assert f"{doc['summary']['hits']} hits, {doc['summary']['misses']} misses" in text
        assert doc["summary"]["eat_ns"] == 85.0 and "**85 ns**" in text
    assert [i for i, a in enumerate(tlb_full["answers"]) if a["hit"]] == [3, 7]
    assert [i for i, a in enumerate(tlb_direct["answers"]) if a["hit"]] == [3, 6]
    assert "hits at [3] (VPN 0) and [7] (VPN 0)" in text and "hits at [3] (VPN 0) and [6] (VPN 1" in text

    # Step 6: the kernel's TLB.
    g = run_json(
        capsys,
        "simulate",
        str(ROOT / "scenarios" / "thrashing.yaml"),
        "-q",
        "--set",
        "processes.0.count=2",
        "--set",
        "machine.tlb.entries=16",
    )["global"]  # type: ignore[index]
    t = g["tlb"]
    assert (
        f"16 entries flushed on a switch: hit ratio **{100 * t['hit_ratio']:.2f}%**, effective access "
        f"{t['effective_access_ns']:.1f} ns, {t['flushes']} flushes"
    ) in text
