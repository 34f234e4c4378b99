"""Every JSON result validates against the results model, and docs/results.schema.json is current."""

from __future__ import annotations

import json
from pathlib import Path

from vmsim.cli import main
from vmsim.metrics.schema import CompareRecord, RunRecord, SimRecord, SweepRecord, results_schema_text

ROOT = Path(__file__).resolve().parents[1]


def run_json(capsys, *args: str):
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_refs_and_replay_runs_validate(capsys, tmp_path: Path) -> None:
    RunRecord.model_validate(run_json(capsys, "refs", "1 2w 3 1", "--format", "json"))
    for r in run_json(capsys, "refs", "1 2w 3 1", "-p", "lru,opt", "--explain", "--format", "json"):
        RunRecord.model_validate(r)
    trace = tmp_path / "t.pid"
    trace.write_text("".join(f"l 0x{(i % 5) << 12:x} {i % 2}\n" for i in range(40)))
    rec = RunRecord.model_validate(run_json(capsys, "replay", str(trace), "-f", "3", "--format", "json"))
    assert rec.processes is not None and len(rec.processes) == 2


def test_simulate_sweep_compare_validate(capsys) -> None:
    thrash = str(ROOT / "scenarios" / "thrashing.yaml")
    small = ["--set", "processes.0.workload.references=20000", "--set", "processes.0.count=2"]
    sim = SimRecord.model_validate(run_json(capsys, "simulate", thrash, *small, "--format", "json"))
    assert sim.schema_version == 1 and sim.config is not None and sim.config["name"] == "thrashing"
    for point in run_json(capsys, "sweep", thrash, "--vary", "machine.cpus=1,2", *small, "--format", "json"):
        SweepRecord.model_validate(point)
    llm = run_json(capsys, "simulate", str(ROOT / "scenarios" / "llm_serving.yaml"), "--set",
                   "processes.0.workload.steps=10", "--format", "json")
    assert SimRecord.model_validate(llm).processes[0].workload["manager"] == "paged"
    bel = str(ROOT / "scenarios" / "belady_anomaly.yaml")
    CompareRecord.model_validate(run_json(capsys, "compare", bel, "-f", "3,4", "-p", "fifo", "--format", "json"))


def test_schema_file_is_current(capsys) -> None:
    assert (ROOT / "docs" / "results.schema.json").read_text() == results_schema_text()
    assert main(["schema", "--results"]) == 0
    assert capsys.readouterr().out == results_schema_text()
