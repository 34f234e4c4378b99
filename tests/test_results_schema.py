"""Every JSON result is a document of the results model, reads back into it, and
docs/results.schema.json is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmsim import __version__
from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.metrics.schema import (
    SCHEMA_VERSION,
    CompareDoc,
    CurvePoint,
    RunsDoc,
    SimDoc,
    SweepDoc,
    dump_json,
    load_results,
    results_schema_text,
)

ROOT = Path(__file__).resolve().parents[1]
THRASH = str(ROOT / "scenarios" / "thrashing.yaml")
SMALL = ["--set", "processes.0.workload.references=20000", "--set", "processes.0.count=2"]


def run_json(capsys, *args: str):
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def round_trip(data, cls):
    """The document reads back as ``cls`` and writes the same JSON again."""
    doc = load_results(data)
    assert isinstance(doc, cls)
    assert json.loads(dump_json(doc)) == data
    return doc


def test_refs_and_replay_are_run_documents(capsys, tmp_path: Path) -> None:
    doc = round_trip(run_json(capsys, "refs", "1 2w 3 1", "--format", "json"), RunsDoc)
    assert (doc.schema_version, doc.vmsim_version, doc.command) == (SCHEMA_VERSION, __version__, "refs")
    doc = round_trip(run_json(capsys, "refs", "1 2w 3 1", "-p", "lru,opt", "--explain", "--format", "json"), RunsDoc)
    assert [len(r.steps or []) for r in doc.runs] == [4, 4] and doc.runs[0].steps[1].write is True
    trace = tmp_path / "t.pid"
    trace.write_text("".join(f"l 0x{(i % 5) << 12:x} {i % 2}\n" for i in range(40)))
    doc = round_trip(run_json(capsys, "replay", str(trace), "-f", "3", "--format", "json"), RunsDoc)
    assert doc.command == "replay" and doc.config["trace"] == str(trace) and doc.config["format"] == "pid"
    assert doc.runs[0].processes is not None and len(doc.runs[0].processes) == 2


def test_simulate_sweep_compare_curve_documents(capsys) -> None:
    sim = round_trip(run_json(capsys, "simulate", THRASH, *SMALL, "--format", "json"), SimDoc)
    assert sim.config["name"] == "thrashing" and sim.samples and sim.global_.references == 40_000
    sweep = round_trip(run_json(capsys, "sweep", THRASH, "--vary", "machine.cpus=1,2", *SMALL, "--format", "json"), SweepDoc)
    assert sweep.vary == ["machine.cpus=1,2"] and sweep.config["name"] == "thrashing"
    assert [p.params for p in sweep.points] == [{"machine.cpus": 1}, {"machine.cpus": 2}]
    assert all(len(p.processes) == 2 and p.seed == sweep.config["seed"] for p in sweep.points)
    llm = run_json(
        capsys,
        "simulate",
        str(ROOT / "scenarios" / "llm_serving.yaml"),
        "--set",
        "processes.0.workload.steps=10",
        "--format",
        "json",
    )
    assert round_trip(llm, SimDoc).processes[0].workload["manager"] == "paged"
    bel = str(ROOT / "scenarios" / "belady_anomaly.yaml")
    cmp = round_trip(run_json(capsys, "compare", bel, "-f", "3,4", "-p", "fifo", "--format", "json"), CompareDoc)
    assert cmp.config["kind"] == "scenario" and cmp.anomalies[0].policy == "fifo"
    points = load_results(run_json(capsys, "curve", bel, "-f", "3,4", "-p", "fifo", "--format", "json"))
    assert isinstance(points, list) and all(isinstance(p, CurvePoint) for p in points)


def test_bad_documents_are_one_line_errors(capsys) -> None:
    good = run_json(capsys, "refs", "1 2 3", "--format", "json")
    with pytest.raises(VmsimError, match="schema version 1"):
        load_results({**good, "schema_version": 1})
    with pytest.raises(VmsimError, match=r"runs\.0\.faults"):
        load_results({**good, "runs": [{**good["runs"][0], "faults": "many"}]})
    with pytest.raises(VmsimError, match="not a vmsim results document"):
        load_results({"hello": 1})
    with pytest.raises(VmsimError, match="not a vmsim curve"):
        load_results([{"policy": "lru"}])


def test_schema_file_is_current(capsys) -> None:
    assert (ROOT / "docs" / "results.schema.json").read_text() == results_schema_text()
    assert main(["schema", "--results"]) == 0
    assert capsys.readouterr().out == results_schema_text()
