"""`vmsim record` and `vmsim check` through the command line: the golden round trip."""

from __future__ import annotations

import json
from pathlib import Path

from vmsim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_record_check_tamper(tmp_path: Path, capsys) -> None:
    trace = tmp_path / "t.pages"
    trace.write_text("".join(f"{p}\n" for p in (1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5) * 3))
    golden = tmp_path / "golden.json"
    scenario = str(ROOT / "scenarios" / "belady_anomaly.yaml")
    assert main(["record", str(golden), str(trace), scenario, "-p", "fifo,lru", "-f", "3,4"]) == 0
    assert "8 runs recorded" in capsys.readouterr().out
    assert main(["check", str(golden)]) == 0
    assert "every counter matches" in capsys.readouterr().out
    doc = json.loads(golden.read_text())
    doc["runs"][0]["counters"]["faults"] += 1
    golden.write_text(json.dumps(doc))
    assert main(["check", str(golden)]) == 1
    out = capsys.readouterr().out
    assert "faults" in out and "expected" in out
    # never overwritten without being asked
    assert main(["record", str(golden), str(trace), "-f", "3"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["record", str(golden), str(trace), "-f", "3", "--force"]) == 0


def test_check_missing_or_bad_golden(tmp_path: Path, capsys) -> None:
    assert main(["check", str(tmp_path / "none.json")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "runs": [\n')
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("vmsim: error:") == 2 and "bad.json" in err
