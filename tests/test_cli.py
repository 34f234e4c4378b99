"""The `vmsim` command end to end: outputs, profiles, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import vmsim
from vmsim.cli import main
from vmsim.cli.options import parse_frames
from vmsim.policies import available

SILBERSCHATZ = "7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_refs_json_is_a_versioned_document(capsys) -> None:
    code, out, _ = cli(capsys, "refs", SILBERSCHATZ, "--frames", "3", "--policy", "fifo", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["schema_version"], doc["command"], doc["config"]) == (2, "refs", {"references": SILBERSCHATZ})
    assert doc["vmsim_version"] == vmsim.__version__
    [d] = doc["runs"]
    for key in ("policy", "frames", "references", "hits", "faults", "evictions", "writebacks"):
        assert key in d
    assert (d["policy"], d["frames"], d["faults"], d["hits"], d["references"]) == ("fifo", 3, 15, 5, 20)
    assert "partial" not in doc and "steps" not in d


def test_refs_several_runs(capsys) -> None:
    code, out, _ = cli(capsys, "refs", SILBERSCHATZ, "-f", "3,4", "-p", "fifo", "-p", "lru,opt", "--format", "json")
    runs = json.loads(out)["runs"]
    assert code == 0
    assert [(r["policy"], r["frames"]) for r in runs] == [
        ("fifo", 3),
        ("fifo", 4),
        ("lru", 3),
        ("lru", 4),
        ("opt", 3),
        ("opt", 4),
    ]
    assert [r["faults"] for r in runs if r["frames"] == 3] == [15, 12, 9]


def test_policy_all_and_parameters(capsys) -> None:
    code, out, _ = cli(capsys, "refs", SILBERSCHATZ, "-p", "all", "-p", "clock:ref_bit_on_load=false", "--format", "json")
    names = [r["policy"] for r in json.loads(out)["runs"]]
    assert code == 0
    assert names == [*available(), "clock:ref_bit_on_load=false"]  # 'all' is every registered policy, sorted


def test_frames_range_and_belady_anomaly_in_csv(capsys) -> None:
    code, out, _ = cli(capsys, "refs", "1,2,3,4,1,2,5,1,2,3,4,5", "-f", "3..4", "-p", "fifo", "--format", "csv")
    lines = out.strip().splitlines()
    assert code == 0
    assert lines[0].startswith("policy,frames,references,hits,faults")
    assert [line.split(",")[4] for line in lines[1:]] == ["9", "10"]


def test_table_and_explain(capsys) -> None:
    code, out, _ = cli(capsys, "refs", "7 0 1 2 0 3 0 4", "-p", "lru", "--explain")
    assert code == 0
    assert "victim" in out and "MISS" in out and "hit" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    # row 4: ref 2 misses, frames 2 0 1, victim 7
    assert rows[3] == ["4", "2", "MISS", "2", "0", "1", "7"]


def test_ostep_profile(capsys) -> None:
    code, out, _ = cli(capsys, "refs", "8,7,4,2,5,4,7,3,4,5", "-p", "lru", "--profile", "ostep")
    lines = out.strip().splitlines()
    assert code == 0
    assert lines[0] == "Access: 8  MISS LRU ->          [8] <- MRU Replaced:- [Hits:0 Misses:1]"
    assert lines[5] == "Access: 4  HIT  LRU ->    [2, 5, 4] <- MRU Replaced:- [Hits:1 Misses:5]"
    assert lines[-1] == "FINALSTATS hits 2   misses 8   hitrate 20.00"


def test_pitt_profile(capsys, tmp_path: Path) -> None:
    trace = tmp_path / "t.trace"
    trace.write_text("00001000 W\n00002000 R\n00003000 R\n00001000 R\n")
    code, out, _ = cli(capsys, "replay", str(trace), "-f", "2", "-p", "fifo", "--profile", "pitt")
    assert code == 0
    assert out.strip().splitlines() == [
        "Algorithm: FIFO",
        "Number of frames: 2",
        "Total memory accesses: 4",
        "Total page faults: 4",
        "Total writes to disk: 1",
    ]


def test_replay_pid_trace_local_and_global(capsys, tmp_path: Path) -> None:
    trace = tmp_path / "t.pid"
    trace.write_text("".join(f"l 0x{(i % 5) << 12:x} {i % 2}\n" for i in range(40)))
    for scope in ("global", "local"):
        code, out, _ = cli(capsys, "replay", str(trace), "-f", "4", "--scope", scope, "--format", "json")
        doc = json.loads(out)
        [d] = doc["runs"]
        assert code == 0
        assert doc["config"]["format"] == "pid" and d["scope"] == scope
        assert [p["pid"] for p in d["processes"]] == [0, 1]
        assert sum(p["faults"] for p in d["processes"]) == d["faults"]
        assert d["references"] == 40


def test_json_is_byte_identical_across_runs(capsys) -> None:
    args = ("refs", SILBERSCHATZ * 5, "-p", "random,clock", "-f", "2..5", "--seed", "11", "--format", "json")
    assert cli(capsys, *args)[1] == cli(capsys, *args)[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("refs", "1 2", "-p", "nosuch"), f"unknown policy 'nosuch'; valid policies: {', '.join(available())}"),
        (("refs", "1 2", "-p", "clock:bits=3"), "unknown parameter 'bits'"),
        (("refs", "1 2", "-p", "clock:ref_bit_on_load=maybe"), "takes true or false"),
        (("refs", "1 2", "-f", "0"), "--frames must be positive"),
        (("refs", "1 2", "-f", "x"), "--frames takes a number"),
        (("refs", "1 q"), "reference 2 is 'q'"),
        (("replay", "/no/such/trace.gz", "-f", "4"), "/no/such/trace.gz: no such file"),
        (("replay", "x", "-f", "4", "--page-size", "3000"), "power of two"),
        (("replay", "x"), "--frames is required"),
        (("refs", "1", "--bogus"), "No such option: --bogus"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args: tuple[str, ...], message: str) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("vmsim: error: ")
    assert message in err


def test_malformed_trace_names_file_and_line(capsys, tmp_path: Path) -> None:
    trace = tmp_path / "bad.trace"
    trace.write_text("00001000 W\n00002000 R\noops\n")
    code, _, err = cli(capsys, "replay", str(trace), "-f", "2", "--trace-format", "pitt")
    assert code == 2
    assert err.strip() == f"vmsim: error: {trace}:3: malformed pitt line 'oops': expected 'HEXADDR R|W'"


def test_parse_frames() -> None:
    assert parse_frames("1..4") == [1, 2, 3, 4]
    assert parse_frames("16,64,16") == [16, 64]


def test_console_script_runs_without_traceback() -> None:
    """The installed entry point, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "vmsim", "refs", "1 2 3", "-p", "nosuch"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("vmsim: error: unknown policy")
