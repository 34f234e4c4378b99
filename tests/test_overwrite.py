"""Nothing a user supplied is overwritten without being asked (issue 13): every output path refuses
an existing file without --force, before any run, in one line with exit code 2, leaving the file
as it was; a bad plot suffix or a missing directory fails up front too; --resume refuses a file
that is not a vmsim table of the same grid."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from vmsim import sweep as sw
from vmsim.cli import main
from vmsim.errors import VmsimError, check_output, replacing

ROOT = Path(__file__).resolve().parents[1]
THRASH = str(ROOT / "scenarios" / "thrashing.yaml")
TINY = ["--set", "processes.0.workload.references=2000", "--set", "processes.0.count=1"]
REFUSED = "already exists; not overwriting it (use --force to replace it)"
OLD = b"my own file, not vmsim's\n"


@pytest.fixture
def trace(tmp_path: Path) -> str:
    t = tmp_path / "b.pages"
    t.write_text("".join(f"{p}\n" for p in (1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5)))
    return str(t)


@pytest.fixture
def results(tmp_path: Path, trace: str, capsys) -> str:
    assert main(["compare", trace, "-f", "3,4", "-p", "fifo", "--format", "json"]) == 0
    r = tmp_path / "cmp.json"
    r.write_text(capsys.readouterr().out)
    return str(r)


def plot_commands(trace: str) -> dict[str, list[str]]:
    """Each command with --plot, ready for ``--plot FILE`` to be appended."""
    return {
        "simulate": ["simulate", THRASH, *TINY],
        "sweep": ["sweep", THRASH, *TINY[:2], "--vary", "processes.0.count=1,2", "--workers", "1"],
        "compare": ["compare", trace, "-f", "3,4", "-p", "fifo", "--workers", "1"],
        "curve": ["curve", trace, "-f", "1..4", "-p", "lru", "--workers", "1"],
    }


def refused(capsys, path: Path, message: str = REFUSED) -> None:
    """The last command printed exactly one line: the refusal of ``path``."""
    err = capsys.readouterr().err
    assert err == f"vmsim: error: {path}: {message}\n", err


def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any simulation fail the test: the checks must come before the runs."""
    import vmsim.compare
    import vmsim.engine.curves
    import vmsim.scenario.build
    import vmsim.sweep

    def boom(*args, **kwargs):
        raise AssertionError("a run started before the output path was checked")

    for mod, name in [
        (vmsim.scenario.build, "simulate"),
        (vmsim.sweep, "simulate"),
        (vmsim.compare, "compare"),
        (vmsim.engine.curves, "curve"),
        (vmsim.sweep, "run_jobs"),
    ]:
        monkeypatch.setattr(mod, name, boom)


@pytest.mark.parametrize("command", ["simulate", "sweep", "compare", "curve"])
def test_plot_refuses_an_existing_file_before_running(
    command: str, tmp_path: Path, trace: str, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = plot_commands(trace)[command]
    plot = tmp_path / "out.svg"
    plot.write_bytes(OLD)
    (tmp_path / "dir.svg").mkdir()
    with monkeypatch.context() as m:
        no_run(m)
        assert main([*args, "--plot", str(plot)]) == 2
        refused(capsys, plot)
        assert plot.read_bytes() == OLD
        for bad, message in [
            (tmp_path / "out.pdf", "a plot is written as .png or .svg; give a file name ending in one of them"),
            (tmp_path / "nowhere" / "out.svg", f"cannot write it: the directory {tmp_path / 'nowhere'} does not exist"),
            (tmp_path / "dir.svg", "is a directory; give a file name to write"),
        ]:
            assert main([*args, "--plot", str(bad)]) == 2
            refused(capsys, bad, message)
        assert not (tmp_path / "out.pdf").exists() and not (tmp_path / "nowhere").exists()
    assert main([*args, "--plot", str(plot), "--force", "-q"]) == 0
    capsys.readouterr()
    assert plot.read_bytes() != OLD and b"<svg" in plot.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.pages", "dir.svg", "out.svg"]  # no temporary file left


@pytest.mark.parametrize("command", ["simulate", "compare", "curve"])
def test_force_without_plot_is_an_error(command: str, trace: str, capsys) -> None:
    assert main([*plot_commands(trace)[command], "--force"]) == 2
    assert capsys.readouterr().err == "vmsim: error: --force only lets --plot replace a file; give --plot FILE\n"


def test_sweep_force_covers_out_and_plot(tmp_path: Path, trace: str, capsys) -> None:
    args = plot_commands(trace)["sweep"]
    assert main([*args, "--force"]) == 2
    assert capsys.readouterr().err == "vmsim: error: --force applies to --out FILE and --plot FILE\n"
    assert main([*args, "--resume", "--plot", str(tmp_path / "p.svg")]) == 2
    assert capsys.readouterr().err == "vmsim: error: --resume applies to --out FILE\n"
    out, plot = tmp_path / "r.csv", tmp_path / "p.svg"
    out.write_bytes(OLD)
    plot.write_bytes(OLD)
    assert main([*args, "--out", str(out), "--plot", str(plot)]) == 2
    refused(capsys, plot)
    plot.unlink()
    assert main([*args, "--out", str(out), "--plot", str(plot)]) == 2
    refused(capsys, out, "already exists; not overwriting it (use --resume to skip the runs it holds, or --force to replace it)")
    assert out.read_bytes() == OLD and not plot.exists()
    plot.write_bytes(OLD)
    assert main([*args, "--out", str(out), "--plot", str(plot), "--force", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["points"]) == 2
    assert b"<svg" in plot.read_bytes() and out.read_text().startswith("run,key,")
    assert main([*args, "--out", str(tmp_path / "nowhere" / "r.csv")]) == 2
    refused(capsys, tmp_path / "nowhere" / "r.csv", f"cannot write it: the directory {tmp_path / 'nowhere'} does not exist")


def test_report_refuses_before_reading_the_results(tmp_path: Path, results: str, capsys) -> None:
    page = tmp_path / "r.html"
    page.write_bytes(OLD)
    # the results file is not even read: a missing one still gets the refusal of the page
    assert main(["report", str(tmp_path / "missing.json"), "--html", str(page)]) == 2
    refused(capsys, page)
    assert main(["report", results, "--html", str(page)]) == 2
    refused(capsys, page)
    assert page.read_bytes() == OLD
    assert main(["report", results, "--html", str(tmp_path / "nowhere" / "r.html")]) == 2
    refused(capsys, tmp_path / "nowhere" / "r.html", f"cannot write it: the directory {tmp_path / 'nowhere'} does not exist")
    assert main(["report", results, "--html", str(page), "--force"]) == 0
    assert "<table" in page.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_record_exercise_and_new_policy_refuse_too(tmp_path: Path, trace: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    golden, memory = tmp_path / "golden.json", tmp_path / "mem.txt"
    policy = tmp_path / "mine.py"
    for f in (golden, memory, policy):
        f.write_bytes(OLD)
    with monkeypatch.context() as m:
        import vmsim.golden

        m.setattr(vmsim.golden, "record", lambda *a, **k: pytest.fail("recorded before checking GOLDEN"))
        assert main(["record", str(golden), trace, "-f", "3", "-p", "fifo"]) == 2
        refused(capsys, golden)
    assert main(["exercise", "multilevel", "--seed", "1", "--write-memory", str(memory)]) == 2
    refused(capsys, memory)
    assert main(["new-policy", "mine", "--dir", str(tmp_path)]) == 2
    refused(capsys, policy)
    assert golden.read_bytes() == memory.read_bytes() == policy.read_bytes() == OLD
    assert main(["record", str(golden), trace, "-f", "3", "-p", "fifo", "--force"]) == 0
    assert main(["exercise", "multilevel", "--seed", "1", "--write-memory", str(memory), "--force"]) == 0
    assert main(["new-policy", "mine", "--dir", str(tmp_path), "--force"]) == 0
    capsys.readouterr()
    assert OLD not in (golden.read_bytes(), memory.read_bytes(), policy.read_bytes())


# ---------------------------------------------------------------------------------------------
# --resume


SWEEP = ["sweep", THRASH, *TINY[:2], "--vary", "processes.0.count=1,2", "--workers", "1"]


def test_resume_of_a_genuine_table_still_works(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.csv"
    assert main([*SWEEP, "--out", str(out)]) == 0
    whole = out.read_bytes()
    with out.open(newline="") as fh:
        header = next(csv.reader(fh))
    assert header[: len(sw.tidy_columns(["processes.0.count"]))] == sw.tidy_columns(["processes.0.count"])
    out.write_bytes(b"".join(whole.splitlines(keepends=True)[:2]))  # the header and the first run
    assert main([*SWEEP, "--out", str(out), "--resume"]) == 0
    assert "1 of 2 runs were already in" in capsys.readouterr().err
    assert out.read_bytes() == whole
    header_only = whole.splitlines(keepends=True)[0]
    out.write_bytes(header_only)
    assert main([*SWEEP, "--out", str(out), "--resume"]) == 0 and out.read_bytes() == whole
    out.write_bytes(b"")  # an empty file holds no runs: resumed as a new table
    assert main([*SWEEP, "--out", str(out), "--resume"]) == 0 and out.read_bytes() == whole
    # a larger grid of the same scenario resumes a table of a smaller one: its runs are all in it
    assert main([*SWEEP[:-4], "--vary", "processes.0.count=1..3", "--workers", "1", "--out", str(out), "--resume"]) == 0
    assert "2 of 3 runs were already in" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"name,email\nann,ann@example.org\n",
            "not a vmsim results table (no 'run' and 'key' columns); not resuming it "
            "(use --force to replace it, or another --out)",
        ),
        (
            b"name,email\n",
            "not a vmsim results table (no 'run' and 'key' columns); not resuming it "
            "(use --force to replace it, or another --out)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe garbage", None),
        (
            b"run,key,faults\n0,abc,3\n",
            "not a results table of this sweep: no column 'processes.0.count', 'frames', 'policy' and 15 more; "
            "not resuming it (use --force to replace it, or another --out)",
        ),
    ],
)
def test_resume_refuses_a_file_that_is_not_a_vmsim_table(
    content: bytes, message: str | None, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r.csv"
    out.write_bytes(content)
    no_run(monkeypatch)
    assert main([*SWEEP, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"vmsim: error: {out}: ")
    if message is None:
        assert "cannot read the results table to resume" in err
    else:
        assert err == f"vmsim: error: {out}: {message}\n"
    assert out.read_bytes() == content


def test_resume_refuses_a_ragged_csv(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.csv"
    assert main([*SWEEP, "--out", str(out)]) == 0
    lines = out.read_bytes().splitlines(keepends=True)
    content = lines[0] + lines[1].rstrip(b"\n") + b",extra\n"
    out.write_bytes(content)
    assert main([*SWEEP, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"vmsim: error: {out}:2: not a vmsim results table") and err.count("\n") == 1
    assert out.read_bytes() == content


def test_resume_refuses_a_table_of_another_grid(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r.csv"
    assert main([*SWEEP, "--out", str(out)]) == 0
    before = out.read_bytes()
    keys = [r["key"] for r in csv.DictReader(out.read_text().splitlines())]
    no_run(monkeypatch)
    # the same varied path, another scenario setting: every run's configuration differs
    other = [
        "sweep",
        THRASH,
        "--set",
        "processes.0.workload.references=3000",
        "--vary",
        "processes.0.count=1,2",
        "--workers",
        "1",
        "--out",
        str(out),
        "--resume",
    ]
    assert main(other) == 2
    assert capsys.readouterr().err == (
        f"vmsim: error: {out}:2: run 0 (key {keys[0]}) is not a run of this sweep's grid: the table is from another "
        "sweep; not resuming it (use --force to replace it, or another --out)\n"
    )
    # a smaller grid: the table holds a run this grid does not have (the second)
    assert main([*SWEEP[:-4], "--vary", "processes.0.count=1", "--workers", "1", "--out", str(out), "--resume"]) == 2
    assert f"{out}:3: run 1 (key {keys[1]}) is not a run of this sweep's grid" in capsys.readouterr().err
    # another varied path: its column is missing
    assert (
        main(
            [
                *SWEEP[:-4],
                "--vary",
                "processes.0.count=1,2",
                "--vary",
                "kernel.replacement.policy=lru",
                "--workers",
                "1",
                "--out",
                str(out),
                "--resume",
            ]
        )
        == 2
    )
    assert capsys.readouterr().err == (
        f"vmsim: error: {out}: not a results table of this sweep: no column 'kernel.replacement.policy'; "
        "not resuming it (use --force to replace it, or another --out)\n"
    )
    assert out.read_bytes() == before


def test_resume_refuses_a_parquet_file_that_is_not_ours(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    theirs = tmp_path / "r.parquet"
    pq.write_table(pa.table({"name": ["ann"], "email": ["ann@example.org"]}), theirs)
    before = theirs.read_bytes()
    no_run(monkeypatch)
    assert main([*SWEEP, "--out", str(theirs), "--resume"]) == 2
    assert "not a vmsim results table (no 'run' and 'key' columns)" in capsys.readouterr().err
    garbage = tmp_path / "g.parquet"
    garbage.write_bytes(OLD)
    assert main([*SWEEP, "--out", str(garbage), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot read the results table to resume" in err and err.count("\n") == 1
    assert theirs.read_bytes() == before and garbage.read_bytes() == OLD


# ---------------------------------------------------------------------------------------------
# The helpers


def test_check_output_and_replacing(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    assert check_output(f) == f
    f.write_bytes(OLD)
    with pytest.raises(VmsimError, match=f"^{f}: already exists; not overwriting it"):
        check_output(f)
    assert check_output(f, force=True) == f
    assert check_output(tmp_path / "new" / "g.txt", mkdir=True) == tmp_path / "new" / "g.txt"
    with pytest.raises(VmsimError, match="is not a directory"):
        check_output(f / "g.txt")
    with pytest.raises(KeyboardInterrupt), replacing(f) as tmp:
        tmp.write_bytes(b"half a fi")
        raise KeyboardInterrupt
    assert f.read_bytes() == OLD and sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    with replacing(f) as tmp:
        tmp.write_bytes(b"new")
    assert f.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
