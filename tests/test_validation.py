"""Issue 13: every input validated up front, one line and exit 2, validate agreeing with simulate,
and a last-resort handler (exit 70) for whatever is a bug. Each bad input found is a case here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vmsim import cli
from vmsim.errors import OptionError, PolicyError, ScenarioError, TraceError, VmsimError
from vmsim.limits import MAX_BYTES, MAX_DURATION_NS, MAX_FRAMES
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import load_scenario
from vmsim.units import parse_duration, parse_size

TINY = {"kind": "uniform", "pages": 8, "references": 200}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``vmsim ARGV`` in-process; a failure is one line on stderr."""
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    if rc == 2:
        assert err.count("\n") == 1 and err.startswith("vmsim: error: "), err
    return rc, out, err


def scenario(tmp_path: Path, workload: dict | None = None, **top: object) -> Path:
    data: dict = {"name": "t", "machine": {"memory": "64KiB"}, "processes": [{"name": "a", "workload": workload or TINY}]}
    data.update(top)
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(data))
    return f


# --------------------------------------------------------------------------- numbers out of range


@pytest.mark.parametrize("value", [float("inf"), "1e400ms", 1e30, 2**63, "-5ms", float("nan")])
def test_durations_are_finite_and_bounded(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_duration_limit_is_inclusive() -> None:
    assert parse_duration(f"{MAX_DURATION_NS}ns") == MAX_DURATION_NS
    assert parse_duration("5ms") == 5_000_000 and parse_duration(0.5) == 500_000_000


@pytest.mark.parametrize("value", [float("inf"), "1e400", 1e30, 2**63, MAX_BYTES + 1])
def test_sizes_are_bounded(value: object) -> None:
    with pytest.raises(ValueError, match="larger than the largest size"):
        parse_size(value)
    assert parse_size(MAX_BYTES) == MAX_BYTES


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ("machine.memory", 1e30, "machine.memory"),
        ("machine.memory", "1TiB", "machine"),  # 2**28 frames of 4 KiB: more than MAX_FRAMES
        ("kernel.scheduler.quantum", ".inf", "kernel.scheduler.quantum"),
        ("kernel.sample_interval", "1e400ms", "kernel.sample_interval"),
        ("processes.0.workload", {"kind": "zipf", "pages": 2**63}, "processes.0.workload.pages"),
        ("processes.0.workload", {"kind": "zipf", "pages": 8, "alpha": ".inf"}, "processes.0.workload.alpha"),
        ("processes.0.workload", {"kind": "llm_infer", "rate_per_step": 1e20}, "processes.0.workload.rate_per_step"),
        ("processes.0.workload", {"kind": "llm_infer", "kv": {"pool_bytes": 1e30}}, "processes.0.workload.kv.pool_bytes"),
        (
            "processes.0.workload",
            {"kind": "embedding_lookup", "tables": [{"rows": 10, "dim": 2**64}]},
            "processes.0.workload.tables.0.dim",
        ),
        (
            "processes.0.workload",
            {"kind": "data_loader", "dataset_bytes": 2**64, "sample_bytes": 4096},
            "processes.0.workload.dataset_bytes",
        ),
    ],
)
def test_numbers_out_of_range_are_named(
    tmp_path: Path, where: str, value: object, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = scenario(tmp_path)
    data = yaml.safe_load(f.read_text())
    node = data
    keys = where.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node.setdefault(k, {})
    node[keys[-1]] = yaml.safe_load(value) if isinstance(value, str) and value.startswith(".") else value
    f.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.field == field and info.value.line is not None
    rc, _, err = run(["validate", str(f)], capsys)
    assert rc == 2 and f"{f}:" in err and field in err


# --------------------------------------------------------------------------- validate agrees with simulate


@pytest.mark.parametrize(
    ("workload", "share", "message"),
    [
        # explicit CNN layers without sample_bytes
        (
            {"kind": "cnn_train", "model": {"layers": [{"name": "l", "param_bytes": 4096, "act_bytes_per_sample": 4096}]}},
            None,
            "sample_bytes is required",
        ),
        # weights that fill memory
        ({"kind": "llm_infer", "model": {"weight_bytes": "1MiB"}}, None, "weights fill memory"),
        # a pool that holds no block
        ({"kind": "llm_infer", "kv": {"pool_bytes": 16}}, None, "less than one block"),
        # share: names a segment the workload does not have
        (TINY, ["heap"], "no segment named heap"),
        # a heap without the contiguous manager
        (
            {"kind": "llm_infer", "model": {"weight_bytes": 0}, "kv": {"heap": "best_fit", "pool_bytes": "32KiB"}},
            None,
            "needs manager contiguous",
        ),
    ],
)
def test_validate_rejects_what_simulate_would(
    tmp_path: Path, workload: dict, share: list[str] | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = scenario(tmp_path, workload)
    if share:
        data = yaml.safe_load(f.read_text())
        data["processes"][0]["share"] = share
        f.write_text(yaml.safe_dump(data))
    for command in ("validate", "simulate"):
        rc, out, err = run([command, str(f), "--quiet"] if command == "simulate" else [command, str(f)], capsys)
        assert rc == 2 and message in err and f"{f}:" in err, (command, err)
        assert out == ""


def test_a_trace_path_that_is_not_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("these are my notes\n")
    f = scenario(tmp_path, {"kind": "trace", "path": "notes.txt"})
    rc, _, err = run(["validate", str(f)], capsys)
    assert rc == 2 and "cannot tell the trace format" in err and "notes.txt:1:" in err


def test_every_shipped_scenario_validates_and_a_valid_tiny_one_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1] / "scenarios"
    rc, out, _ = run(["validate", *map(str, sorted(root.glob("*.yaml")))], capsys)
    assert rc == 0 and out.count(": ok (") == len(list(root.glob("*.yaml")))
    assert simulate(load_scenario(scenario(tmp_path))).references == 200


# --------------------------------------------------------------------------- policies


@pytest.mark.parametrize(
    "policy",
    [
        "s3fifo:small_ratio=2",
        "lruk:k=0",
        "lirs:hir_ratio=1",
        "2q:kin=2",
        "lruk:k=99999999999999999999",
        "2q:kout=inf",
        "s3fifo:ghost_ratio=nan",
        {"kind": "s3fifo", "small_ratio": 2},
        {"kind": "2q", "kout": float("inf")},
        {"kind": ["lru"]},
        {"kind": 5},
    ],
)
def test_bad_policies_in_a_scenario(tmp_path: Path, policy: object, capsys: pytest.CaptureFixture[str]) -> None:
    f = scenario(tmp_path, kernel={"replacement": {"policy": policy}})
    rc, _, err = run(["validate", str(f)], capsys)
    assert rc == 2 and "kernel.replacement.policy" in err and f"{f}:" in err


def test_bad_policy_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["refs", "1 2 3", "-f", "2", "-p", "s3fifo:ghost_ratio=nan"], capsys)
    assert rc == 2 and "ghost_ratio must be between 0.0 and 100.0, got nan" in err


# --------------------------------------------------------------------------- traces and reference strings


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("big.pages", "1\n2\n9223372036854775808\n", "pages"),
        ("big.rw", "R 0x10\nW 0xfffffffffffffffffff\n", "rw"),
        ("big.lackey", "I  0403c000,4\n L ffffffffffffffff,4\n", "lackey"),
    ],
)
def test_page_numbers_beyond_int64(tmp_path: Path, name: str, text: str, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / name
    f.write_text(text)
    page_size = ["--page-size", "1"] if fmt == "lackey" else []
    rc, _, err = run(["replay", str(f), "-f", "4", "--trace-format", fmt, "--quiet", *page_size], capsys)
    assert rc == 2 and "larger than 9,223,372,036,854,775,807" in err and f"{f}:" in err
    with pytest.raises(TraceError) as info:
        from vmsim.workloads import open_trace

        list(open_trace(f, fmt, 1 if fmt == "lackey" else 4096)())
    assert info.value.line == text.count("\n")


def test_reference_string_beyond_int64(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["refs", "1 2 9223372036854775808", "-f", "3"], capsys)
    assert rc == 2 and "reference 3" in err
    rc, _, err = run(["refs", "1 " + "9" * 5000, "-f", "3"], capsys)
    assert rc == 2 and "reference 2" in err and len(err) < 300


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["refs", "1 2 3", "-f", "99999999999"], f"at most {MAX_FRAMES:,}"),
        (["refs", "1 2 3", "-f", "1..99999999999"], "more than 1,000,000 sizes"),
        (["refs", "1 2 3", "-f", "-1"], "must be positive"),
    ],
)
def test_frame_options(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(argv, capsys)
    assert rc == 2 and message in err


def test_set_with_a_unicode_digit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = scenario(tmp_path)
    rc, _, err = run(["validate", str(f), "--set", "processes.²=1"], capsys)
    assert rc == 2 and "processes.²" in err


def test_bogus_scheduler_is_refused_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vmsim.parallel import check_scheduler

    with pytest.raises(OptionError, match="--scheduler"):
        check_scheduler("bogus")
    check_scheduler("tcp://127.0.0.1:8786")
    f = scenario(tmp_path)
    rc, _, err = run(["sweep", str(f), "--vary", "seed=1,2", "--scheduler", "bogus", "--quiet"], capsys)
    assert rc == 2 and "--scheduler takes 'local' or an address" in err


# --------------------------------------------------------------------------- errors and the last resort


def test_errors_carry_structured_fields() -> None:
    with pytest.raises(PolicyError) as info:
        from vmsim.policies import parse_policy

        parse_policy("lruk:k=0")
    assert (info.value.policy, info.value.param) == ("lruk", "k")
    e = PolicyError("bad", policy="lruk").at("s.yaml", 3, "kernel.replacement.policy")
    assert isinstance(e, PolicyError) and e.policy == "lruk" and str(e) == "s.yaml:3: kernel.replacement.policy: bad"
    assert issubclass(ScenarioError, VmsimError) and issubclass(TraceError, VmsimError)
    assert "\n" not in str(VmsimError("two\nlines"))


def _boom() -> None:
    raise ZeroDivisionError("a bug")


def test_an_internal_error_is_one_line_and_exit_70(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("vmsim.workloads.refstring.parse_refs", lambda *a, **k: _boom())
    monkeypatch.delenv("VMSIM_DEBUG", raising=False)
    rc = cli.main(["refs", "1 2 3", "-f", "2"])
    _, err = capsys.readouterr()
    assert rc == 70 and err.count("\n") == 1
    assert err.startswith("vmsim: internal error: ZeroDivisionError: a bug") and "--debug" in err and "report" in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vmsim.workloads.refstring.parse_refs", lambda *a, **k: _boom())
    argv = ["refs", "1 2 3", "-f", "2"]
    if how == "flag":
        argv.append("--debug")
    else:
        monkeypatch.setenv("VMSIM_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(argv)


def test_out_of_memory_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def oom(*a: object, **k: object) -> None:
        raise MemoryError

    monkeypatch.setattr("vmsim.workloads.refstring.parse_refs", oom)
    monkeypatch.delenv("VMSIM_DEBUG", raising=False)
    assert cli.main(["refs", "1", "-f", "1"]) == 70
    assert capsys.readouterr().err.startswith("vmsim: error: out of memory")


# --------------------------------------------------------------------------- answer keys


@pytest.fixture
def key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    rc, out, _ = run(["exercise", "tlb", "--seed", "1", "--solve", "--format", "json"], capsys)
    assert rc == 0
    import json

    return json.loads(out)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answers": 5}, '"answers" is a list of objects'),
        ({"answers": ["a", "b"]}, '"answers" is a list of objects'),
        ({"params": [1]}, '"params" is an object'),
        ({"seed": "x"}, '"seed" is a whole number'),
        ({"params.entries": "x"}, "--entries takes a number"),
        ({"params.entries": 10**30}, "--entries must be at most 1024"),  # used to hang the solver
        ({"params.addresses": [10**30]}, "outside the address space"),
    ],
)
def test_damaged_answer_keys(tmp_path: Path, key: dict, change: dict, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    for k, v in change.items():
        if k.startswith("params."):
            key["params"][k.split(".", 1)[1]] = v
        else:
            key[k] = v
    f = tmp_path / "key.json"
    f.write_text(json.dumps(key))
    (tmp_path / "a.json").write_text("[]")
    rc, _, err = run(["check", str(f), "--answers", str(tmp_path / "a.json")], capsys)
    assert rc == 2 and message in err and str(f) in err


def test_every_kind_of_key_checks_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The params round trip (options -> params -> options) holds for every kind's keys."""
    for kind in ("relocation", "segmentation", "linear", "tlb", "freelist", "multilevel"):
        for seed in (1, 2):
            rc, out, _ = run(["exercise", kind, "--seed", str(seed), "--solve", "--format", "json"], capsys)
            f = tmp_path / f"{kind}{seed}.json"
            f.write_text(out)
            rc, out, err = run(["check", str(f)], capsys)
            assert rc == 0 and "every field matches" in out, (kind, seed, err)


def test_validate_reads_a_trace_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed line anywhere in a scenario's trace is found by validate, naming both files."""
    (tmp_path / "t.pages").write_text("1\n2\n3\n" * 50_000 + "oops\n")
    f = scenario(tmp_path, {"kind": "trace", "path": "t.pages", "format": "pages"})
    rc, _, err = run(["validate", str(f)], capsys)
    assert rc == 2 and f"{f}:" in err and "t.pages:150001:" in err


# --------------------------------------------------------------------------- found by tests/test_fuzz.py


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("processes.0.count=99999999999", "processes.0.count"),  # built every process: hung validate
        ("kernel.load_control={kind: working_set, interval: 1ns}", "kernel.load_control.interval"),  # hung simulate
        ("kernel.load_control={kind: pff, interval: 1ns}", "kernel.load_control.interval"),
        ("kernel.sample_interval=1ns", "kernel.sample_interval"),
    ],
)
def test_counts_and_periods_that_would_hang(override: str, field: str, capsys: pytest.CaptureFixture[str]) -> None:
    f = Path(__file__).resolve().parents[1] / "scenarios" / "textbook.yaml"
    rc, _, err = run(["validate", str(f), "--set", override], capsys)
    assert rc == 2 and field in err


def test_too_many_processes_in_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {"name": "t", "processes": [{"name": f"g{i}", "count": 6000, "workload": TINY} for i in range(2)]}
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(data))
    rc, _, err = run(["validate", str(f)], capsys)
    assert rc == 2 and "12,000 processes" in err


def test_an_embedding_table_beyond_the_byte_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = scenario(tmp_path, {"kind": "embedding_lookup", "tables": [{"rows": 2**40, "dim": 2**20}]})
    rc, _, err = run(["validate", str(f)], capsys)
    assert rc == 2 and "processes.0.workload.tables.0" in err and "rows x dim x dtype_bytes" in err


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("9" * 5000 + "\n", "pages", "larger than 9,223,372,036,854,775,807"),  # int() refuses > 4,300 digits
        ("l 0x10 " + "9" * 5000 + "\n", "pid", "larger than 9,223,372,036,854,775,807"),
        ("1" + "\0" * 200_000, "pages", "line longer than 65,536 bytes"),  # read whole before
    ],
)
def test_trace_lines_too_long(tmp_path: Path, text: str, fmt: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.trace"
    f.write_text(text)
    rc, _, err = run(["replay", str(f), "-f", "2", "--trace-format", fmt, "--quiet"], capsys)
    assert rc == 2 and message in err and f"{f}:1:" in err


def test_file_names_too_long(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long = "a" * 300
    rc, out, _ = run(["refs", "1 2", "-f", "2", "--format", "json"], capsys)
    (tmp_path / "r.json").write_text(out)
    rc, _, err = run(["report", str(tmp_path / "r.json"), "--html", str(tmp_path / f"{long}.html")], capsys)
    assert rc == 2 and "cannot write it" in err
    rc, _, err = run(["--policy-file", f"{long}.py:X", "policies"], capsys)
    assert rc == 2 and "cannot read" in err
    f = scenario(tmp_path, {"kind": "trace", "path": f"{long}.pages"})
    rc, _, err = run(["validate", str(f)], capsys)
    assert rc == 2 and "processes.0.workload.path" in err


def test_a_huge_vary_range(capsys: pytest.CaptureFixture[str]) -> None:
    f = Path(__file__).resolve().parents[1] / "scenarios" / "textbook.yaml"
    rc, _, err = run(["sweep", str(f), "--vary", "seed=1..99999999999", "--workers", "1", "--quiet"], capsys)
    assert rc == 2 and "more than 1,000,000 values" in err


def test_answer_key_with_a_non_string_policy(tmp_path: Path, key: dict, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    key["params"]["policy"] = True
    f = tmp_path / "key.json"
    f.write_text(json.dumps(key))
    rc, _, err = run(["check", str(f)], capsys)
    assert rc == 2 and "not a valid tlb answer key" in err
