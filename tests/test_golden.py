"""Golden files (vmsim.golden) and the assertions for users' own suites (vmsim.testing)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from vmsim import VmsimError, __version__
from vmsim.golden import Diff, check, diff_table, load_golden, record, write_golden
from vmsim.testing import assert_faults, check_golden

pytest_plugins = ["pytester"]

SILBERSCHATZ = "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1"
BELADY = "1 2 3 4 1 2 5 1 2 3 4 5"


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    """A small pitt trace (hexaddr R|W) over 24 pages with some locality."""
    rng = random.Random(7)
    lines = []
    page = 0
    for _ in range(2000):
        page = rng.randrange(24) if rng.random() < 0.3 else (page + rng.choice((0, 1, -1))) % 24
        lines.append(f"{page * 4096 + rng.randrange(4096):x} {'W' if rng.random() < 0.25 else 'R'}")
    p = tmp_path / "small.pitt"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    p = tmp_path / "belady.yaml"
    p.write_text(
        "name: belady\n"
        "seed: 0\n"
        "machine: {page_size: 4KiB, memory: 12KiB}\n"
        "kernel:\n"
        "  replacement: {policy: lru, scope: local}\n"
        "processes:\n"
        f'  - name: textbook\n    workload: {{kind: refs, refs: "{BELADY}"}}\n'
    )
    return p


@pytest.fixture
def golden(tmp_path: Path, trace: Path, scenario: Path) -> Path:
    doc = record([trace, scenario], ["fifo", "lru"], [3, 4, 8])
    path = tmp_path / "golden.json"
    write_golden(path, doc)
    return path


def _doc(path: Path) -> dict:
    return json.loads(path.read_text())


def test_record_document(golden: Path, trace: Path, scenario: Path) -> None:
    doc = _doc(golden)
    assert doc["vmsim_golden"] == 1 and doc["vmsim_version"] == __version__
    runs = doc["runs"]
    assert [(Path(r["input"]).name, r["kind"], r["policy"], r["frames"]) for r in runs[:6]] == [
        ("small.pitt", "trace", p, f) for p in ("fifo", "lru") for f in (3, 4, 8)
    ]
    assert all(r["input"] == str(trace) for r in runs[:6]) and all(r["input"] == str(scenario) for r in runs[6:])
    t = runs[0]
    assert (t["seed"], t["scope"], t["page_size"], t["trace_format"]) == (0, "global", 4096, "pitt")
    assert set(t["counters"]) == {"references", "hits", "faults", "cold_faults", "evictions", "writebacks"}
    assert t["counters"]["references"] == 2000
    assert t["counters"]["hits"] + t["counters"]["faults"] == 2000
    # LRU is a stack algorithm: more frames never fault more.
    lru = [r["counters"]["faults"] for r in runs[3:6]]
    assert lru == sorted(lru, reverse=True)
    # Belady's anomaly on the kernel: FIFO faults 9 times with 3 frames and 10 with 4.
    sc = {(r["policy"], r["frames"]): r for r in runs[6:]}
    assert sc["fifo", 3]["counters"]["faults"] == 9 and sc["fifo", 4]["counters"]["faults"] == 10
    assert sc["fifo", 3]["kind"] == "scenario" and sc["fifo", 3]["seed"] == 0
    assert set(sc["fifo", 3]["counters"]) == {"references", "hits", "faults", "writebacks", "cpu_utilization", "simulated_time_s"}
    assert sc["fifo", 3]["counters"]["references"] == 12
    # The file is stable: indent 2, keys sorted, trailing newline.
    text = golden.read_text()
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"


def test_recording_twice_gives_the_same_bytes(golden: Path, trace: Path, scenario: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    write_golden(again, record([trace, scenario], ["fifo", "lru"], [3, 4, 8]))
    assert again.read_bytes() == golden.read_bytes()


def test_check_passes(golden: Path) -> None:
    result = check(golden)
    assert result.ok and result.runs == 12 and result.diffs == []
    assert diff_table(result) == "12 runs: every counter matches"
    assert check_golden(golden).ok


def test_tampered_counter_is_exactly_one_diff(golden: Path, trace: Path) -> None:
    doc = _doc(golden)
    run = doc["runs"][4]  # lru, 4 frames, the trace
    true_faults = run["counters"]["faults"]
    run["counters"]["faults"] = true_faults + 1
    golden.write_text(json.dumps(doc))
    result = check(golden)
    assert not result.ok and result.runs == 12
    assert result.diffs == [Diff(str(trace), "lru", 4, "faults", true_faults + 1, true_faults)]
    table = diff_table(result)
    assert table.splitlines()[0].split() == ["input", "policy", "frames", "counter", "expected", "got"]
    assert f"{true_faults + 1}" in table and "faults" in table


def test_tampered_float_counter_is_compared_exactly(golden: Path) -> None:
    doc = _doc(golden)
    run = doc["runs"][6]
    true = run["counters"]["cpu_utilization"]
    run["counters"]["cpu_utilization"] = true + 1e-12
    golden.write_text(json.dumps(doc))
    (d,) = check(golden).diffs
    assert (d.counter, d.expected, d.got) == ("cpu_utilization", true + 1e-12, true)
    assert repr(true + 1e-12) in diff_table(check(golden))  # not rounded away by the table


def test_check_golden_raises_with_the_table(golden: Path) -> None:
    doc = _doc(golden)
    doc["runs"][0]["counters"]["writebacks"] += 5
    golden.write_text(json.dumps(doc))
    with pytest.raises(AssertionError) as info:
        check_golden(golden)
    msg = str(info.value)
    assert msg.startswith(f"{golden}: 1 counter differs from the golden file (12 runs checked):")
    assert "writebacks" in msg and "expected" in msg and "fifo" in msg


def test_write_refuses_to_overwrite(golden: Path) -> None:
    before = golden.read_bytes()
    doc = _doc(golden)
    doc["runs"] = doc["runs"][:1]
    with pytest.raises(VmsimError, match=r"golden\.json: already exists; not overwriting"):
        write_golden(golden, doc)
    assert golden.read_bytes() == before
    write_golden(golden, doc, overwrite=True)
    assert len(_doc(golden)["runs"]) == 1


def test_inputs_resolve_relative_to_the_golden_file(tmp_path: Path, trace: Path, scenario: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_golden("g.json", record([trace.name, scenario.name], ["opt"], [3]))
    assert [r["input"] for r in _doc(tmp_path / "g.json")["runs"]] == ["small.pitt", "belady.yaml"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert check(tmp_path / "g.json").ok
    (tmp_path / "small.pitt").rename(tmp_path / "gone.pitt")
    with pytest.raises(VmsimError, match=r"g\.json: input 'small.pitt' not found"):
        check(tmp_path / "g.json")


def test_trace_options_are_recorded_and_reused(tmp_path: Path, trace: Path) -> None:
    doc = record([trace], ["random", "clock:ref_bit_on_load=false"], [5], page_size=8192, seed=3, trace_format="pitt")
    assert [(r["policy"], r["seed"], r["page_size"]) for r in doc["runs"]] == [
        ("random", 3, 8192),
        ("clock:ref_bit_on_load=false", 3, 8192),
    ]
    path = tmp_path / "opts.json"
    write_golden(path, doc)
    assert check(path).ok


def _run(fields: str) -> str:
    return '{"vmsim_golden": 1, "runs": [{"input": "x", ' + fields + "}]}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"vmsim_golden": 1,\n "runs": [}\n', r"bad\.json:2: invalid JSON"),
        ("[1, 2]", r"bad\.json: not a vmsim golden file"),
        ('{"runs": []}', r"bad\.json: not a vmsim golden file"),
        ('{"vmsim_golden": 2, "runs": []}', r"bad\.json: golden format version 2 is not supported"),
        ('{"vmsim_golden": 1}', r'bad\.json: "runs" must be a list'),
        (_run('"kind": "trace", "policy": "lru", "frames": 3'), r'bad\.json: run 0: missing key "counters"'),
        (_run('"kind": "tape", "policy": "lru", "frames": 3, "counters": {"faults": 1}'), r'bad\.json: run 0: "kind" must be'),
        (
            _run('"kind": "trace", "policy": "lru", "frames": 0, "counters": {"faults": 1}'),
            r'bad\.json: run 0: "frames" must be a positive integer',
        ),
        (
            _run('"kind": "trace", "policy": "lru", "frames": 3, "counters": {"faults": "1"}'),
            r'bad\.json: run 0: counter "faults" must be a number',
        ),
    ],
)
def test_malformed_golden_files(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(VmsimError, match=message):
        load_golden(bad)
    with pytest.raises(VmsimError, match=message):
        check(bad)


def test_missing_golden_file(tmp_path: Path) -> None:
    with pytest.raises(VmsimError, match=r"nope\.json: no such file"):
        check(tmp_path / "nope.json")


def test_record_rejects_bad_arguments(trace: Path) -> None:
    with pytest.raises(VmsimError, match="frames must be positive"):
        record([trace], ["lru"], [0])
    with pytest.raises(VmsimError):
        record([trace], ["no_such_policy"], [3])
    with pytest.raises(VmsimError, match="at least one input"):
        record([], ["lru"], [3])


@pytest.mark.parametrize(("policy", "faults"), [("fifo", 15), ("lru", 12), ("opt", 9)])
def test_assert_faults_silberschatz(policy: str, faults: int) -> None:
    assert_faults(SILBERSCHATZ, policy, 3, faults)
    assert_faults(SILBERSCHATZ.replace(" ", ","), policy, 3, faults)


def test_assert_faults_message() -> None:
    with pytest.raises(AssertionError) as info:
        assert_faults(SILBERSCHATZ, "lru", 3, 13)
    assert str(info.value) == "lru with 3 frames on '7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1': expected 13 faults, got 12"
    cut = r"'7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0\.\.\.'"
    with pytest.raises(AssertionError, match=rf"^opt with 3 frames on {cut}: expected 1 faults, got 9$"):
        assert_faults(SILBERSCHATZ + " 0 1", "opt", 3, 1)  # long strings are cut short
    with pytest.raises(AssertionError, match=r"^fifo with 1 frame on '1 2 1': expected 2 faults, got 3$"):
        assert_faults("1 2 1", "fifo", 1, 2)


def test_assert_faults_on_a_trace(trace: Path, tmp_path: Path) -> None:
    faults = record([trace], ["lru"], [8])["runs"][0]["counters"]["faults"]
    assert_faults(trace, "lru", 8, faults)
    assert_faults(str(trace), "lru", 8, faults)
    expected = rf"^lru with 8 frames on trace '.*small\.pitt': expected {faults + 1} faults, got {faults}$"
    with pytest.raises(AssertionError, match=expected):
        assert_faults(trace, "lru", 8, faults + 1)
    with pytest.raises(VmsimError, match="no such file"):
        assert_faults(str(tmp_path / "missing.trace"), "lru", 8, 1)


def test_the_vmsim_golden_fixture_in_a_users_suite(pytester: pytest.Pytester) -> None:
    """A user's own suite: the plugin that installing vmsim registers provides vmsim_golden;
    the golden file passes as recorded and fails once a counter is tampered with."""
    course = pytester.path / "course"
    course.mkdir()
    (course / "t.pages").write_text("".join(f"{p}\n" for p in (1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5)))
    doc = record([str(course / "t.pages")], ["fifo"], [3, 4])
    write_golden(course / "golden.json", doc)
    (course / "test_course.py").write_text("def test_fifo(vmsim_golden):\n    assert vmsim_golden('golden.json').runs == 2\n")
    pytester.runpytest_subprocess(str(course)).assert_outcomes(passed=1)
    doc["runs"][1]["counters"]["faults"] = 9  # FIFO has Belady's 10 here
    write_golden(course / "golden.json", doc, overwrite=True)
    result = pytester.runpytest_subprocess(str(course))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 counter differs from the golden file*"])


def test_a_stopped_run_stops_record_and_check(golden: Path, trace: Path) -> None:
    """Ctrl-C (the progress callback saying stop) leaves no partial counters to record or compare."""
    with pytest.raises(KeyboardInterrupt):
        record([str(trace)], ["lru"], [3], progress=lambda refs, faults: True)
    with pytest.raises(KeyboardInterrupt):
        check(golden, progress=lambda refs, faults: True)
    calls: list[int] = []
    assert check(golden, progress=lambda refs, faults: calls.append(refs) is not None).ok
    assert calls, "the progress callback sees every run"
