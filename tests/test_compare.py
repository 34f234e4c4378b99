"""`vmsim compare`: runs per policy and frame count, OPT as the reference, Belady anomalies."""

from __future__ import annotations

import json
from pathlib import Path

from vmsim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_compare_trace_finds_beladys_anomaly(tmp_path: Path, capsys) -> None:
    trace = tmp_path / "b.pages"
    trace.write_text("".join(f"{p}\n" for p in (1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5)))
    assert main(["compare", str(trace), "-f", "1..5", "-p", "fifo,lru", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [(r["policy"], r["frames"]) for r in d["runs"][:2]] == [("opt", 1), ("opt", 2)]
    fifo = {r["frames"]: r["faults"] for r in d["runs"] if r["policy"] == "fifo"}
    assert (fifo[3], fifo[4]) == (9, 10)
    assert d["anomalies"] == [{"policy": "fifo", "frames_from": 3, "frames_to": 4, "faults_from": 9, "faults_to": 10}]
    # OPT is never beaten
    opt = {r["frames"]: r["faults"] for r in d["runs"] if r["policy"] == "opt"}
    assert all(r["faults"] >= opt[r["frames"]] for r in d["runs"])
    assert main(["compare", str(trace), "-f", "3,4", "-p", "fifo"]) == 0
    out = capsys.readouterr().out
    assert "vs OPT" in out and "Belady anomaly: fifo faults 9 with 3 frames but 10 with 4" in out
    assert main(["compare", str(trace), "-f", "3", "-p", "lru", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("policy,frames,references,hits,faults")


def test_compare_scenario_has_cpu_utilization(capsys) -> None:
    assert main(["compare", str(ROOT / "scenarios" / "belady_anomaly.yaml"), "-f", "3,4", "-p", "fifo", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {r["policy"] for r in d["runs"]} == {"opt", "fifo"}  # local scope: OPT is possible
    assert all("cpu_utilization" in r for r in d["runs"])
    assert d["anomalies"][0]["policy"] == "fifo"


def test_compare_needs_frames(capsys) -> None:
    assert main(["compare", str(ROOT / "scenarios" / "textbook.yaml")]) == 2
    assert "--frames is required" in capsys.readouterr().err


def test_curve_command_matches_single_runs(tmp_path: Path, capsys) -> None:
    trace = tmp_path / "s.pages"
    trace.write_text("".join(f"{p}\n" for p in (7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1)))
    assert main(["curve", str(trace), "-f", "1..6", "-p", "lru,fifo,opt", "--format", "json", "--workers", "2"]) == 0
    points = json.loads(capsys.readouterr().out)
    got = {(p["policy"], p["frames"]): p["faults"] for p in points}
    assert (got[("fifo", 3)], got[("lru", 3)], got[("opt", 3)]) == (15, 12, 9)
    for (policy, frames), faults in got.items():
        assert main(["replay", str(trace), "-f", str(frames), "-p", policy, "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["runs"][0]["faults"] == faults
    assert main(["curve", str(trace), "-f", "1..3", "-p", "lru"]) == 0
    assert "frames" in capsys.readouterr().out
    assert main(["curve", str(ROOT / "scenarios" / "belady_anomaly.yaml"), "-f", "3,4", "-p", "fifo", "--format", "json"]) == 0
    fifo = {p["frames"]: p["faults"] for p in json.loads(capsys.readouterr().out) if p["policy"] == "fifo"}
    assert fifo == {3: 9, 4: 10}


def test_compare_stops_early_with_a_partial_run(tmp_path: Path) -> None:
    from vmsim import compare as cmp
    from vmsim.policies import parse_policy

    trace = tmp_path / "t.pages"
    trace.write_text("".join(f"{i % 7}\n" for i in range(500)))
    doc = cmp.compare(trace, [parse_policy("lru")], [2, 3], progress=lambda refs, faults: True)
    assert doc.partial and len(doc.runs) == 1
    assert doc.runs[0].partial is True and doc.runs[0].policy == "opt"
