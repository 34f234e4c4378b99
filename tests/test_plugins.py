"""Plug-in policies: --policy-file and entry points, their errors, scenario safety, new-policy,
and plug-ins in curve's worker processes."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from vmsim.cli import main
from vmsim.engine.curves import _picklable, curve
from vmsim.policies import available, base, load_policy_file, lookup, parse_policy
from vmsim.policies._plugins import ORIGINS
from vmsim.workloads import open_trace

ROOT = Path(__file__).resolve().parents[1]
SILBERSCHATZ = "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1"

#: A plug-in: FIFO under another name, with one parameter. Importing it appends a line (its
#: process id) to the file MARKER (if not None), so a test can tell whether, and in which
#: processes, it was imported.
PLUGIN = '''\
"""Test plug-in: FIFO by another name."""
import os
from collections import OrderedDict

from vmsim.policies import Policy, RepeatIsNoop

if MARKER is not None:
    with open(MARKER, "a") as _f:
        _f.write(f"{os.getpid()}\\n")


class Mine(RepeatIsNoop, Policy):
    name = "mine"
    aliases = ("my-fifo",)
    summary = "FIFO again, as a plug-in"

    def __init__(self, frames, rng, bonus: int = 0) -> None:
        super().__init__(frames, rng)
        self.bonus = bonus
        self._queue = OrderedDict()

    def insert(self, frame): self._queue[frame] = None
    def victim(self): return self._queue.popitem(last=False)[0]
    def remove(self, frame): del self._queue[frame]
    def order(self): return list(self._queue)
'''


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    """Every test starts and ends with only the built-in policies registered."""
    saved = dict(base.REGISTRY), dict(base.ALIASES), dict(ORIGINS)
    yield
    for d, s in zip((base.REGISTRY, base.ALIASES, ORIGINS), saved):
        d.clear()
        d.update(s)  # type: ignore[arg-type]
    for name in [m for m in sys.modules if m.startswith(("vmsim_plugin_", "vmsim_ep_demo"))]:
        del sys.modules[name]


def write_plugin(directory: Path, text: str = PLUGIN, name: str = "mine.py") -> tuple[Path, Path]:
    """The plug-in file and its (not yet written) marker file."""
    marker = directory / f"{name}.imported"
    path = directory / name
    path.write_text(f"MARKER = {str(marker)!r}\n" + text)
    return path, marker


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_vmsim(*args: str, cwd: Path | None = None, pythonpath: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, as a user runs vmsim (nothing registered beforehand)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*(pythonpath or []), ROOT])
    return subprocess.run([sys.executable, "-m", "vmsim", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def faults(out: str) -> list[int]:
    return [r["faults"] for r in json.loads(out)["runs"]]


# -- --policy-file -----------------------------------------------------------------------------------


def test_policy_file_before_or_after_the_command(tmp_path: Path, capsys) -> None:
    path, marker = write_plugin(tmp_path)
    code, out, _ = cli(
        capsys, "--policy-file", f"{path}:Mine", "refs", SILBERSCHATZ, "-f", "3,4", "-p", "mine", "--format", "json"
    )
    assert code == 0 and faults(out) == [15, 10]  # FIFO's textbook counts
    # after the command, in the = form, with the alias and a parameter; loaded once per process
    code, out, _ = cli(
        capsys, "refs", SILBERSCHATZ, "-f", "3", "-p", "my-fifo:bonus=2,fifo", "--format", "json", f"--policy-file={path}:Mine"
    )
    assert code == 0 and faults(out) == [15, 15]
    assert [r["policy"] for r in json.loads(out)["runs"]] == ["mine:bonus=2", "fifo"]
    assert len(marker.read_text().split()) == 1
    assert ORIGINS["mine"].detail == f"file {path}"


def test_the_class_may_be_left_out_when_the_file_defines_one(tmp_path: Path) -> None:
    path, _ = write_plugin(tmp_path)
    cls = load_policy_file(str(path))
    assert cls.__name__ == "Mine" and lookup("mine") is cls
    assert load_policy_file(f"{path}:Mine") is cls  # the same file again is a no-op


def test_policies_lists_plugins_with_where_they_come_from(tmp_path: Path, capsys) -> None:
    path, _ = write_plugin(tmp_path)
    code, out, _ = cli(capsys, "--policy-file", f"{path}:Mine", "policies")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("mine "))
    assert "my-fifo" in row and "bonus=0" in row and "FIFO again, as a plug-in" in row and f"file {path}" in row
    assert next(line for line in out.splitlines() if line.startswith("lru ")).rstrip().endswith("built-in")


def test_a_plugin_grades_with_record_and_check(tmp_path: Path, capsys) -> None:
    """The autograder round trip: vmsim --policy-file student.py:Mine check golden.json."""
    path, _ = write_plugin(tmp_path)
    trace = tmp_path / "t.pages"
    trace.write_text("".join(f"{p}\n" for p in (1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5) * 2))
    golden = tmp_path / "golden.json"
    scenario = str(ROOT / "scenarios" / "belady_anomaly.yaml")
    assert main(["--policy-file", f"{path}:Mine", "record", str(golden), str(trace), scenario, "-p", "mine", "-f", "3,4"]) == 0
    doc = json.loads(golden.read_text())
    # a FIFO by another name: FIFO's counts, on the trace and on the kernel (Belady's anomaly)
    assert [r["counters"]["faults"] for r in doc["runs"]] == [18, 20, 9, 10]
    capsys.readouterr()
    assert main(["--policy-file", f"{path}:Mine", "check", str(golden)]) == 0
    assert "every counter matches" in capsys.readouterr().out


# -- errors --------------------------------------------------------------------------------------------


BAD = {
    "syntax": ("from vmsim.policies import Policy\nclass Mine(Policy:\n", "syntax error", 3),
    "raises": ("import os\nraise RuntimeError('no GPU here')\n", "importing it failed: RuntimeError: no GPU here", 3),
    "no_class": ("x = 1\n", "no class 'Mine' in this file", None),
    "not_policy": ("class Mine:\n    name = 'mine'\n", "Mine is not a subclass of vmsim.policies.Policy", None),
    "builtin_name": (PLUGIN.replace('name = "mine"', 'name = "lru"'), "'lru' is already taken by the built-in policy", None),
    "builtin_alias": (PLUGIN.replace('("my-fifo",)', '("belady",)'), "'belady' is already taken by the built-in", None),
    "bad_name": (PLUGIN.replace('name = "mine"', 'name = "mine:x"'), "Mine.name must be a policy name", None),
    "no_victim": (PLUGIN.replace("    def victim(self)", "    def _victim(self)"), "Mine does not define victim", None),
    "untyped": (PLUGIN.replace("bonus: int = 0", "bonus=0"), "parameter 'bonus' needs a type", None),
    "retired_flag": (
        PLUGIN.replace('    summary = "FIFO again, as a plug-in"\n', '    summary = "x"\n    needs_hit = True\n'),
        "Mine: needs_hit is no longer a policy attribute; declare path = Path.HITS",
        None,
    ),
    "hits_without_hit": (
        PLUGIN.replace('    summary = "FIFO again, as a plug-in"\n', '    summary = "x"\n    path = Path.HITS\n').replace(
            "import Policy,", "import Path, Policy,"
        ),
        "Mine does not define hit (path HITS)",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_plugin_files_are_one_line_errors_naming_the_file(tmp_path: Path, capsys, case: str) -> None:
    body, message, line = BAD[case]
    path, _ = write_plugin(tmp_path, body)
    before = dict(base.REGISTRY)
    code, out, err = cli(capsys, "--policy-file", f"{path}:Mine", "refs", "1 2 3")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    where = f"{path}:{line}: " if line else f"{path}: "
    assert err.startswith(f"vmsim: error: {where}") and message in err, err
    assert before == base.REGISTRY  # nothing half-registered
    assert not [m for m in sys.modules if m.startswith("vmsim_plugin_")]


def test_missing_file_and_missing_class_name(tmp_path: Path, capsys) -> None:
    code, _, err = cli(capsys, "--policy-file", str(tmp_path / "nope.py:Mine"), "policies")
    assert code == 2 and err == f"vmsim: error: {tmp_path / 'nope.py'}: no such file\n"
    two = tmp_path / "two.py"
    two.write_text("MARKER = None\n" + PLUGIN.replace("class Mine", "class Other(Policy): pass\nclass Mine"))
    code, _, err = cli(capsys, "--policy-file", str(two), "policies")
    assert code == 2 and "name the class as" in err and "Other, Mine" not in err and "Mine, Other" in err


def test_a_plugin_clashing_with_another_plugin(tmp_path: Path, capsys) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = write_plugin(tmp_path / "a")
    second, _ = write_plugin(tmp_path / "b")
    code, _, err = cli(capsys, "--policy-file", f"{first}:Mine", "--policy-file", f"{second}:Mine", "policies")
    assert code == 2 and f"{second}: " in err and f"already taken by the file {first} policy 'mine'" in err


# -- scenarios never load code ---------------------------------------------------------------------------


SCENARIO = """\
name: plugged
seed: 0
machine: {page_size: 4KiB, memory: 12KiB}
kernel:
  replacement: {policy: mine, scope: local}
processes:
  - name: textbook
    workload: {kind: refs, refs: "1 2 3 4 1 2 5 1 2 3 4 5"}
"""


def test_a_scenario_naming_an_unregistered_policy_loads_no_code(tmp_path: Path) -> None:
    path, marker = write_plugin(tmp_path)  # the plug-in sits right beside the scenario
    scenario = tmp_path / "plugged.yaml"
    scenario.write_text(SCENARIO)
    for command in (["simulate", str(scenario)], ["validate", str(scenario)]):
        r = run_vmsim(*command, cwd=tmp_path)
        assert r.returncode == 2, r.stderr
        assert r.stderr.splitlines() == [
            f"vmsim: error: {scenario}:5: kernel.replacement.policy: unknown policy 'mine'; "
            f"valid policies: {', '.join(available())}"
        ]
        assert not marker.exists()
    # given on the command line, the same scenario runs the plug-in (so the marker does work)
    r = run_vmsim("--policy-file", f"{path}:Mine", "simulate", str(scenario), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert marker.exists()
    run = json.loads(r.stdout)
    assert run["config"]["kernel"]["replacement"]["policy"] == {"kind": "mine", "bonus": 0}
    assert run["global"]["faults"] == 9  # FIFO's, with 3 frames


def test_scenarios_take_registered_plugins_with_parameters(tmp_path: Path, capsys) -> None:
    path, _ = write_plugin(tmp_path)
    scenario = tmp_path / "plugged.yaml"
    scenario.write_text(SCENARIO)
    code, _, err = cli(
        capsys,
        "--policy-file",
        f"{path}:Mine",
        "simulate",
        str(scenario),
        "--set",
        "kernel.replacement.policy={kind: my-fifo, bonus: lots}",
    )
    assert code == 2 and err.startswith(f"vmsim: error: {scenario}:5: kernel.replacement.policy: policy mine: bonus: ")
    code, out, _ = cli(
        capsys,
        "--policy-file",
        f"{path}:Mine",
        "sweep",
        str(scenario),
        "--vary",
        "kernel.replacement.policy=mine:bonus=1,fifo",
        "--vary",
        "machine.memory=12KiB,16KiB",
        "--format",
        "json",
    )
    assert code == 0
    assert [(p["params"]["kernel.replacement.policy"], p["global"]["faults"]) for p in json.loads(out)["points"]] == [
        ("mine:bonus=1", 9),
        ("mine:bonus=1", 10),
        ("fifo", 9),
        ("fifo", 10),
    ]


# -- entry points ------------------------------------------------------------------------------------------


def make_distribution(root: Path, value: str = "vmsim_ep_demo:EpFifo", module: str | None = None) -> Path:
    """An installed distribution in ``root`` (a .dist-info with entry_points.txt), as pip leaves it."""
    root.mkdir(parents=True, exist_ok=True)
    src = "MARKER = None\n" + PLUGIN.replace("class Mine", "class EpFifo")
    src = src.replace('name = "mine"', 'name = "ep_fifo"').replace('("my-fifo",)', "()")
    (root / "vmsim_ep_demo.py").write_text(module if module is not None else src)
    info = root / "vmsim_ep_demo-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vmsim-ep-demo\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(f"[vmsim.policies]\nep_fifo = {value}\n")
    return root


def test_an_entry_point_adds_a_policy(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_distribution(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    code, out, _ = cli(capsys, "refs", SILBERSCHATZ, "-f", "3", "-p", "ep_fifo", "--format", "json")
    assert code == 0 and faults(out) == [15]
    assert ORIGINS["ep_fifo"].detail == "entry point ep_fifo (vmsim-ep-demo 1.2)"
    code, out, _ = cli(capsys, "policies")
    assert "entry point ep_fifo (vmsim-ep-demo 1.2)" in out
    # a fresh process, as a user runs it
    r = run_vmsim("refs", SILBERSCHATZ, "-f", "4", "-p", "ep_fifo", "--format", "json", pythonpath=[site])
    assert r.returncode == 0 and faults(r.stdout) == [10]


def test_no_entry_points_skips_installed_plugins(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(make_distribution(tmp_path / "site")))
    code, _, err = cli(capsys, "--no-entry-points", "refs", "1 2", "-p", "ep_fifo")
    assert code == 2 and "unknown policy 'ep_fifo'" in err


def test_a_broken_entry_point_is_one_line_and_spares_help(tmp_path: Path) -> None:
    site = make_distribution(tmp_path / "site", module="import no_such_module_anywhere\n")
    r = run_vmsim("refs", "1 2 3", pythonpath=[site])
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "vmsim: error: entry point 'ep_fifo' (vmsim_ep_demo:EpFifo) from vmsim-ep-demo 1.2 in group vmsim.policies: "
        "cannot load it: ModuleNotFoundError: No module named 'no_such_module_anywhere'; "
        "run vmsim with --no-entry-points to skip installed plug-ins"
    ]
    for args in (["--help"], ["refs", "--help"], ["--no-entry-points", "refs", "1 2 3"]):
        r = run_vmsim(*args, pythonpath=[site])
        assert r.returncode == 0 and r.stderr == "", (args, r.stderr)


def test_an_entry_point_that_is_not_a_policy(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(
        str(make_distribution(tmp_path / "site", value="vmsim_ep_demo:helper", module="def helper(): pass\n"))
    )
    code, _, err = cli(capsys, "policies")
    assert code == 2 and err == (
        "vmsim: error: entry point 'ep_fifo' (vmsim_ep_demo:helper) from vmsim-ep-demo 1.2 in group vmsim.policies: "
        "vmsim_ep_demo:helper is not a subclass of vmsim.policies.Policy\n"
    )


# -- new-policy -------------------------------------------------------------------------------------------


def test_new_policy_writes_a_skeleton_whose_tests_pass(tmp_path: Path, capsys) -> None:
    code, out, _ = cli(capsys, "new-policy", "my_lfu", "--dir", str(tmp_path / "lab"))
    assert code == 0 and "my_lfu.py: written" in out
    policy, tests = tmp_path / "lab" / "my_lfu.py", tmp_path / "lab" / "test_my_lfu.py"
    assert "class MyLfu(RepeatIsNoop, Policy)" in policy.read_text() and "path = Path.BITS" in policy.read_text()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path / "lab",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "23 passed" in r.stdout
    # the skeleton is FIFO, which the plug-in loader accepts and runs
    code, out, _ = cli(
        capsys, "--policy-file", f"{policy}:MyLfu", "refs", SILBERSCHATZ, "-f", "3", "-p", "my_lfu,fifo", "--format", "json"
    )
    assert code == 0 and faults(out) == [15, 15]


def test_new_policy_never_overwrites_without_force(tmp_path: Path, capsys) -> None:
    assert cli(capsys, "new-policy", "mine", "--dir", str(tmp_path))[0] == 0
    (tmp_path / "mine.py").write_text("# my work\n")
    code, _, err = cli(capsys, "new-policy", "mine", "--dir", str(tmp_path))
    assert code == 2 and err == (
        f"vmsim: error: {tmp_path / 'mine.py'}: already exists; not overwriting it (use --force to replace it)\n"
    )
    assert (tmp_path / "mine.py").read_text() == "# my work\n"
    assert cli(capsys, "new-policy", "mine", "--dir", str(tmp_path), "--force")[0] == 0
    assert "class Mine(RepeatIsNoop, Policy)" in (tmp_path / "mine.py").read_text()


@pytest.mark.parametrize(
    ("name", "message"), [("lru", "already a built-in"), ("My-LFU", "lower-case letters"), ("2q", "lower-case")]
)
def test_new_policy_bad_names(tmp_path: Path, capsys, name: str, message: str) -> None:
    code, _, err = cli(capsys, "new-policy", name, "--dir", str(tmp_path))
    assert code == 2 and message in err and not list(tmp_path.iterdir())


# -- curve's worker processes --------------------------------------------------------------------------------


def small_trace(tmp_path: Path) -> Path:
    trace = tmp_path / "t.rw"
    trace.write_text("".join(f"{'W' if i % 7 == 0 else 'R'} {((i * i) % 23) * 4096:x}\n" for i in range(500)))
    return trace


def test_curve_runs_a_plugin_in_worker_processes(tmp_path: Path) -> None:
    path, _ = write_plugin(tmp_path)
    load_policy_file(f"{path}:Mine")
    source = open_trace(small_trace(tmp_path))
    specs = [parse_policy("mine"), parse_policy("fifo")]
    assert _picklable(source, specs)  # so curve really uses the pool, not the in-process fallback
    parallel = curve(source, specs, [2, 4, 8], workers=2)
    serial = curve(source, specs, [2, 4, 8], workers=1)
    assert parallel == serial
    assert [p.faults for p in parallel[:3]] == [p.faults for p in parallel[3:]]  # mine is FIFO


def test_a_plugin_spec_unpickles_in_a_process_that_never_loaded_it(tmp_path: Path) -> None:
    """What a spawn or forkserver worker sees: the spec loads its class again from the file."""
    path, marker = write_plugin(tmp_path)
    load_policy_file(f"{path}:Mine")
    blob = tmp_path / "spec.pickle"
    blob.write_bytes(pickle.dumps(parse_policy("mine:bonus=3")))
    code = textwrap.dedent(f"""
        import pickle
        from vmsim.engine import replay
        from vmsim.workloads import parse_refs
        spec = pickle.loads(open({str(blob)!r}, "rb").read())
        chunk = parse_refs({SILBERSCHATZ!r})
        print(spec.label, replay(lambda: [chunk], spec, 3).faults)
    """)
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["mine:bonus=3", "15"]
    assert len(marker.read_text().split()) == 2  # imported here, and again in the other process


def test_curve_with_spawned_workers_reloads_the_plugin(tmp_path: Path) -> None:
    path, marker = write_plugin(tmp_path)
    trace = small_trace(tmp_path)
    code = textwrap.dedent(f"""
        import multiprocessing, os
        from vmsim.engine.curves import curve
        from vmsim.policies import load_policy_file, parse_policy
        from vmsim.workloads import open_trace
        if __name__ == "__main__":
            multiprocessing.set_start_method("spawn")
            load_policy_file({f"{path}:Mine"!r})
            points = curve(open_trace({str(trace)!r}), [parse_policy("mine"), parse_policy("fifo")], [2, 4], workers=2)
            print(os.getpid(), *[p.faults for p in points])
    """)
    script = tmp_path / "spawn_curve.py"
    script.write_text(code)
    r = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert r.returncode == 0, r.stderr
    pid, *counts = r.stdout.split()
    assert counts[:2] == counts[2:]
    importers = marker.read_text().split()
    assert pid in importers and len(set(importers)) > 1  # a worker imported the plug-in too


def test_scenario_sweeps_and_compares_with_spawned_workers_reload_the_plugin(tmp_path: Path) -> None:
    """A plug-in named in a scenario run reaches workers that did not inherit the registry: the
    job carries the policy's spec, and unpickling it loads the plug-in before the scenario is
    validated there."""
    path, marker = write_plugin(tmp_path)
    scenario = tmp_path / "plugged.yaml"
    scenario.write_text(SCENARIO)
    code = textwrap.dedent(f"""
        import multiprocessing, os
        from pathlib import Path
        from vmsim.compare import compare
        from vmsim.policies import load_policy_file, parse_policy
        from vmsim.sweep import sweep
        if __name__ == "__main__":
            multiprocessing.set_start_method("spawn")
            load_policy_file({f"{path}:Mine"!r})
            doc = sweep({str(scenario)!r}, ["kernel.replacement.policy=mine,fifo"], workers=2).doc
            cmp = compare(Path({str(scenario)!r}), [parse_policy("mine"), parse_policy("fifo")], [3, 4], workers=2)
            print(os.getpid(), *[p.global_.faults for p in doc.points], *[r.faults for r in cmp.runs])
    """)
    script = tmp_path / "spawn_sweep.py"
    script.write_text(code)
    r = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert r.returncode == 0, r.stderr
    pid, *counts = r.stdout.split()
    assert counts[0] == counts[1]  # the plug-in is a FIFO: the same faults as fifo
    assert len(counts) >= 6
    importers = marker.read_text().split()
    assert pid in importers and len(set(importers)) > 1  # a worker imported the plug-in too
