"""The scenario schema: policy and workload unions, validate, schema, and the shipped scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.policies import available
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import load_scenario, validate

ROOT = Path(__file__).resolve().parents[1]


def base(policy: object = "lru", workload: dict | None = None) -> dict:
    return {
        "name": "t",
        "kernel": {"replacement": {"policy": policy}},
        "processes": [{"name": "a", "workload": workload or {"kind": "zipf", "pages": 10, "references": 100}}],
    }


@pytest.mark.parametrize(
    ("given", "kind", "params"),
    [
        ("lru", "lru", {}),
        ("LRU", "lru", {}),
        ("belady", "opt", {}),
        ("clock:ref_bit_on_load=false", "clock", {"ref_bit_on_load": False}),
        ({"kind": "clock", "ref_bit_on_load": False}, "clock", {"ref_bit_on_load": False}),
        ({"kind": "Second-Chance-Clock"}, "clock", {"ref_bit_on_load": True}),
    ],
)
def test_policy_forms(given: object, kind: str, params: dict) -> None:
    pol = validate(base(given), "x").kernel.replacement.policy
    assert pol.model_dump() == {"kind": kind, **params}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (base("nope"), f"unknown policy 'nope'; valid policies: {', '.join(available())}"),
        (base({"kind": "clock", "ref_bit_onload": True}), "unknown key 'ref_bit_onload'; did you mean 'ref_bit_on_load'?"),
        (base(workload={"kind": "zipf", "pagez": 10}), "unknown key 'pagez'; did you mean 'pages'?"),
        (base(workload={"kind": "zipff", "pages": 10}), "unknown kind 'zipff'; valid kinds:"),
        (base(workload={"kind": "zipf", "pages": 10, "alpha": -1}), "processes.0.workload.alpha: Input should be greater than 0"),
        (base(workload={"kind": "refs", "refs": "1 2 x"}), "reference 3 is 'x'"),
        (base(workload={"kind": "trace", "path": "no/such.gz"}), "does not exist"),
    ],
)
def test_bad_values_are_named(data: dict, message: str) -> None:
    with pytest.raises(VmsimError) as e:
        validate(data, "s.yaml")
    assert message in str(e.value)
    assert str(e.value).startswith("s.yaml")


def test_load_control_key_suggestion() -> None:
    data = base()
    data["kernel"]["load_control"] = {"kind": "pff", "upperr": 5}
    with pytest.raises(VmsimError, match="unknown key 'upperr'; did you mean 'upper'"):
        validate(data, "x")


def test_validate_command(tmp_path: Path, capsys) -> None:
    good = ROOT / "scenarios" / "thrashing.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nprocesses:\n  - {name: a, workload: {kind: zipf, pages: 0}}\n")
    assert main(["validate", str(good)]) == 0
    assert "ok (thrashing: 4 processes, 128 frames)" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert "thrashing.yaml: ok" in out
    assert err.strip() == f"vmsim: error: {bad}:3: processes.0.workload.pages: Input should be greater than or equal to 1"


def test_schema_command(capsys) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Scenario"
    names = set(schema["$defs"])
    assert {"Zipf", "Refs", "Trace", "WorkingSetControl", "ClockPolicy"} <= names


def test_refs_and_trace_workloads(tmp_path: Path) -> None:
    trace = tmp_path / "t.pages"
    trace.write_text("1\n2\n3\n4\n1\n2\n5\n1\n2\n3\n4\n5\n")
    data = base("fifo", {"kind": "trace", "path": "t.pages"})
    data["machine"] = {"memory": "12KiB"}
    f = tmp_path / "s.yaml"
    import yaml

    f.write_text(yaml.safe_dump(data))
    r = simulate(load_scenario(f))  # the path is relative to the scenario file
    assert (r.references, r.faults) == (12, 9)


@pytest.mark.parametrize(("memory", "policy", "faults"), [("12KiB", "fifo", 9), ("16KiB", "fifo", 10), ("16KiB", "lru", 8)])
def test_belady_anomaly_scenario(memory: str, policy: str, faults: int) -> None:
    sc = load_scenario(
        ROOT / "scenarios" / "belady_anomaly.yaml", [f"machine.memory={memory}", f"kernel.replacement.policy={policy}"]
    )
    assert simulate(sc).faults == faults


@pytest.mark.parametrize(("policy", "faults"), [("fifo", 15), ("lru", 12), ("opt", 9)])
def test_textbook_scenario(policy: str, faults: int) -> None:
    sc = load_scenario(ROOT / "scenarios" / "textbook.yaml", [f"kernel.replacement.policy={policy}"])
    assert simulate(sc).faults == faults
