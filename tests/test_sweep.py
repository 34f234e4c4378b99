"""Sweeps in parallel: the same results with 1 worker, 2 workers and a local Dask cluster; the tidy
results table written as runs finish, and a stopped sweep resumed into the same table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from vmsim import sweep as sw
from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.metrics.schema import dump_json
from vmsim.parallel import MISSING_DASK, run_jobs

ROOT = Path(__file__).resolve().parents[1]
THRASH = ROOT / "scenarios" / "thrashing.yaml"
SMALL = ["processes.0.workload.references=3000"]
VARY = ["processes.0.count=1..3", "kernel.replacement.policy=fifo,lru"]


def stop_after(n: int):
    """A progress callback that asks to stop once ``n`` runs have reported."""
    calls: list[int] = []

    def progress(refs: int, faults: int) -> bool:
        calls.append(refs)
        return len(calls) >= n

    return progress


def test_same_results_with_one_two_workers_and_dask() -> None:
    one = dump_json(sw.sweep(THRASH, VARY, SMALL, workers=1).doc)
    assert json.loads(one)["points"][5]["params"] == {"processes.0.count": 3, "kernel.replacement.policy": "lru"}
    assert dump_json(sw.sweep(THRASH, VARY, SMALL, workers=2).doc) == one
    pytest.importorskip("dask.distributed")
    assert dump_json(sw.sweep(THRASH, VARY, SMALL, workers=2, scheduler="local").doc) == one


def test_compare_and_curve_do_not_depend_on_workers(capsys) -> None:
    bel = str(ROOT / "scenarios" / "belady_anomaly.yaml")
    outs = []
    for w in ("1", "2"):
        assert main(["compare", bel, "-f", "3..5", "-p", "fifo,lru", "--workers", w, "--format", "json"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and json.loads(outs[0])["anomalies"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_stopped_sweep_resumed_gives_the_same_table(tmp_path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    whole, part = tmp_path / f"whole{suffix}", tmp_path / f"part{suffix}"
    sw.sweep(THRASH, VARY, SMALL, workers=2, out=whole)
    stopped = sw.sweep(THRASH, VARY, SMALL, workers=2, out=part, progress=stop_after(2))
    assert stopped.doc.partial and 2 <= len(stopped.doc.points) < 6
    kept = len(rows(part))
    assert kept == len(stopped.doc.points)  # what finished is on disk
    resumed = sw.sweep(THRASH, VARY, SMALL, workers=1, out=part, resume=True)
    assert resumed.skipped == kept and len(resumed.doc.points) == 6 - kept and not resumed.doc.partial
    assert rows(part) == rows(whole)
    if suffix == ".csv":
        assert part.read_bytes() == whole.read_bytes()
    again = sw.sweep(THRASH, VARY, SMALL, workers=2, out=part, resume=True)
    assert again.skipped == 6 and again.doc.points == []


def rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        import csv

        with path.open() as fh:
            return list(csv.DictReader(fh))
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def test_tidy_rows_have_parameters_keys_and_counters(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    doc = sw.sweep(THRASH, VARY, SMALL, workers=1, out=out).doc
    table = rows(out)
    assert [int(r["run"]) for r in table] == list(range(6))
    assert len({r["key"] for r in table}) == 6
    for r, p in zip(table, doc.points):
        assert int(r["processes.0.count"]) == p.params["processes.0.count"]
        assert r["kernel.replacement.policy"] == p.params["kernel.replacement.policy"]
        assert int(r["faults"]) == p.global_.faults and float(r["cpu_utilization"]) == p.global_.cpu_utilization


def test_a_run_stopped_midway_is_not_written(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    doc = sw.sweep(
        THRASH, VARY, ["processes.0.workload.references=20000"], workers=1, out=out, progress=lambda refs, faults: True
    ).doc
    assert doc.partial and len(doc.points) == 1 and doc.points[0].partial
    assert not out.exists() or rows(out) == []


def test_out_is_never_overwritten_without_being_asked(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.csv"
    args = ["sweep", str(THRASH), "--set", SMALL[0], "--vary", "processes.0.count=1,2", "--workers", "1", "--out", str(out)]
    assert main(args) == 0
    before = out.read_text()
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err and out.read_text() == before
    assert main([*args, "--resume"]) == 0
    assert "2 of 2 runs were already in" in capsys.readouterr().err
    assert main([*args, "--force", "--format", "json"]) == 0 and out.read_text() == before
    assert main(["sweep", str(THRASH), "--vary", "processes.0.count=1", "--resume"]) == 2
    assert main([*args[:-2], "--out", str(tmp_path / "r.txt")]) == 2
    assert "FILE.csv or FILE.parquet" in capsys.readouterr().err


def test_workers_and_scheduler_errors(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert main(["sweep", str(THRASH), "--vary", "processes.0.count=1", "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(VmsimError, match=f"^{MISSING_DASK.replace('[', '.').replace(']', '.')}$"):
        run_jobs(abs, [1, 2], workers=2, scheduler="local")
    assert main(["sweep", str(THRASH), "--vary", "processes.0.count=1", "--scheduler", "local"]) == 2
    assert "pip install 'vmsim[cluster]'" in capsys.readouterr().err


def test_run_jobs_keeps_indices_and_stops() -> None:
    assert run_jobs(abs, [-3, 4, -5], workers=2) == {0: 3, 1: 4, 2: 5}
    seen: list[int] = []
    got = run_jobs(abs, list(range(-10, 0)), workers=1, on_result=lambda i, r: seen.append(i) or len(seen) == 3)
    assert got == {0: 10, 1: 9, 2: 8}
