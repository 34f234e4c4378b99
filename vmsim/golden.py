"""Golden files: record a policy's exact counters once, check later runs against them.

A golden file is JSON::

    {"vmsim_golden": 1, "vmsim_version": "0.1.0",
     "runs": [{"input": "traces/small.pitt", "kind": "trace", "policy": "lru", "frames": 8,
               "seed": 0, "scope": "global", "page_size": 4096, "trace_format": "pitt",
               "counters": {"references": ..., "hits": ..., "faults": ..., ...}}, ...]}

An input is a trace file (any format :func:`vmsim.workloads.open_trace` reads) or a scenario YAML
(``.yaml``/``.yml``). A trace run replays the trace with the policy at ``frames`` frames and records
``references, hits, faults, cold_faults, evictions, writebacks``. A scenario run sets
``kernel.replacement.policy`` and ``machine.memory = frames * machine.page_size`` (the scenario's
own page size) and ``seed``, runs the kernel, and records ``references, hits, faults, writebacks,
cpu_utilization`` (rounded to 6 places) and ``simulated_time_s`` (rounded to 9 places, whole
nanoseconds). Checking compares every recorded counter exactly; counters a newer vmsim adds are
not compared.

**Paths.** Inputs are stored as given when recording (relative to the current directory). When
checking, an input is looked up as stored: an absolute path as it is, a relative one first
relative to the current directory and, if no file is there, relative to the directory holding the
golden file. Record from the golden file's directory (or with paths relative to it) and the file
checks from anywhere.

**Seeds.** A trace run uses ``seed`` (default 0) for the random policy. A scenario run uses the
scenario's own ``seed`` unless one is given; the seed used is recorded and pinned when checking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmsim import __version__
from vmsim.engine import replay
from vmsim.errors import VmsimError, read_json
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.schema import GlobalStats
from vmsim.policies import parse_policy
from vmsim.workloads import open_trace

FORMAT_VERSION = 1
SCENARIO_SUFFIXES = (".yaml", ".yml")
TRACE_COUNTERS = ("references", "hits", "faults", "cold_faults", "evictions", "writebacks")
SCENARIO_COUNTERS = ("references", "hits", "faults", "writebacks", "cpu_utilization", "simulated_time_s")
_SCOPES = ("global", "local")

Counters = dict[str, int | float]


@dataclass(frozen=True)
class Diff:
    """One counter of one run that no longer matches the golden file."""

    input: str
    policy: str
    frames: int
    counter: str
    expected: int | float | None
    got: int | float | None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: how many runs were re-run and every counter that differs."""

    ok: bool
    runs: int
    diffs: list[Diff] = field(default_factory=list)


def input_kind(path: str | Path) -> str:
    """``"scenario"`` for a ``.yaml``/``.yml`` file, ``"trace"`` for anything else."""
    return "scenario" if Path(path).suffix.lower() in SCENARIO_SUFFIXES else "trace"


# -- running one configuration ---------------------------------------------------------------------


Progress = ProgressFn


def _whole(partial: bool) -> None:
    """A run stopped early (Ctrl-C through the progress callback) has no counters to record or
    compare: the whole command stops."""
    if partial:
        raise KeyboardInterrupt


def _trace_counters(
    path: Path,
    policy: str,
    frames: int,
    *,
    page_size: int,
    trace_format: str | None,
    seed: int,
    scope: str,
    progress: Progress | None = None,
) -> tuple[Counters, str]:
    """Replay a trace; the counters and the trace format used (detected unless given)."""
    source = open_trace(path, trace_format, page_size)
    r = replay(source, parse_policy(policy), frames, seed=seed, scope=scope, on_chunk=progress)  # type: ignore[arg-type]
    _whole(r.partial)
    return {name: getattr(r, name) for name in TRACE_COUNTERS}, source.fmt


def _scenario_counters(
    path: Path, policy: str, frames: int, seed: int | None, progress: Progress | None = None
) -> tuple[Counters, int]:
    """Run a scenario at ``frames`` frames of its page size; the counters and the seed used."""
    from vmsim.scenario.build import simulate
    from vmsim.scenario.loader import check_cpu_memory, load_scenario

    base = load_scenario(path)
    check_cpu_memory(base, str(path), "golden-file")
    page_size = base.machine.page_size
    overrides = [f"kernel.replacement.policy={policy}", f"machine.memory={frames * page_size}"]
    if seed is not None:
        overrides.append(f"seed={seed}")
    sc = load_scenario(path, overrides)
    r = simulate(sc, on_sample=progress)
    _whole(r.partial)
    g = GlobalStats.of(r)  # the results model's rounding, as simulate's JSON shows them
    return {name: getattr(g, name) for name in SCENARIO_COUNTERS}, sc.seed


# -- recording -------------------------------------------------------------------------------------


def record(
    inputs: Sequence[str | Path],
    policies: Sequence[str],
    frames: Sequence[int],
    *,
    page_size: int = 4096,
    trace_format: str | None = None,
    seed: int | None = None,
    scope: str = "global",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every input x policy x frames combination and return the golden document.

    ``page_size``, ``trace_format`` and ``scope`` apply to traces (a scenario has its own).
    ``seed``: a trace run uses it (``None`` means 0); a scenario run overrides the scenario's
    seed with it only when it is given. ``progress(references, faults)`` is passed to each run;
    when it returns True, KeyboardInterrupt stops the recording.
    """
    if not inputs:
        raise VmsimError("record needs at least one input (a trace or a scenario YAML)")
    if not policies:
        raise VmsimError("record needs at least one policy")
    if not frames:
        raise VmsimError("record needs at least one frame count")
    bad = [f for f in frames if isinstance(f, bool) or not isinstance(f, int) or f <= 0]
    if bad:
        raise VmsimError(f"frames must be positive numbers, got {bad[0]!r}")
    if scope not in _SCOPES:
        raise VmsimError(f"scope is global or local, got {scope!r}")
    labels = list(dict.fromkeys(parse_policy(p).label for p in policies))
    runs: list[dict[str, Any]] = []
    for given in inputs:
        path = Path(given)
        kind = input_kind(path)
        for label in labels:
            for f in frames:
                run: dict[str, Any] = {"input": str(given), "kind": kind, "policy": label, "frames": f}
                if kind == "trace":
                    s = 0 if seed is None else seed
                    counters, fmt = _trace_counters(
                        path,
                        label,
                        f,
                        page_size=page_size,
                        trace_format=trace_format,
                        seed=s,
                        scope=scope,
                        progress=progress,
                    )
                    run.update(seed=s, scope=scope, page_size=page_size, trace_format=fmt)
                else:
                    counters, s = _scenario_counters(path, label, f, seed, progress)
                    run["seed"] = s
                run["counters"] = counters
                runs.append(run)
    return {"vmsim_golden": FORMAT_VERSION, "vmsim_version": __version__, "runs": runs}


def dumps(doc: dict[str, Any]) -> str:
    """The golden document as written: JSON, indent 2, keys sorted, one trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def write_golden(path: str | Path, doc: dict[str, Any], *, overwrite: bool = False) -> None:
    """Write ``doc`` to ``path``; an existing file is replaced only with ``overwrite=True``."""
    p = Path(path)
    text = dumps(doc)
    try:
        with p.open("w" if overwrite else "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise VmsimError(
            "already exists; not overwriting it (pass overwrite=True, or --force, to replace it)", source=str(p)
        ) from None
    except IsADirectoryError:
        raise VmsimError("is a directory, not a golden file", source=str(p)) from None
    except OSError as e:
        raise VmsimError(f"cannot write: {e.strerror or e}", source=str(p)) from None


# -- reading and checking --------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def load_golden(path: str | Path) -> dict[str, Any]:
    """Read and validate a golden file; anything malformed is a VmsimError naming the file."""
    return validate_golden(read_json(path), str(path))


def validate_golden(doc: Any, src: str) -> dict[str, Any]:
    """Check a parsed golden file; anything malformed is a VmsimError naming ``src``."""
    if not isinstance(doc, dict) or "vmsim_golden" not in doc:
        raise VmsimError('not a vmsim golden file: expected a JSON object with "vmsim_golden" and "runs"', source=src)
    if doc["vmsim_golden"] != FORMAT_VERSION:
        raise VmsimError(
            f"golden format version {doc['vmsim_golden']!r} is not supported (this vmsim reads version {FORMAT_VERSION})",
            source=src,
        )
    runs = doc.get("runs")
    if not isinstance(runs, list):
        raise VmsimError('"runs" must be a list of runs', source=src)
    for i, run in enumerate(runs):
        _check_run(run, i, src)
    return doc


def _check_run(run: Any, i: int, src: str) -> None:
    def bad(msg: str) -> VmsimError:
        return VmsimError(f"run {i}: {msg}", source=src)

    if not isinstance(run, dict):
        raise bad("must be an object")
    for key in ("input", "kind", "policy", "frames", "counters"):
        if key not in run:
            raise bad(f'missing key "{key}"')
    if not isinstance(run["input"], str) or not run["input"]:
        raise bad('"input" must be a file path')
    if run["kind"] not in ("trace", "scenario"):
        raise bad(f'"kind" must be "trace" or "scenario", got {run["kind"]!r}')
    if not isinstance(run["policy"], str):
        raise bad('"policy" must be a string')
    if not _is_int(run["frames"]) or run["frames"] <= 0:
        raise bad(f'"frames" must be a positive integer, got {run["frames"]!r}')
    if run.get("seed") is not None and not _is_int(run["seed"]):
        raise bad(f'"seed" must be an integer, got {run["seed"]!r}')
    counters = run["counters"]
    if not isinstance(counters, dict) or not counters:
        raise bad('"counters" must be a non-empty object of counter: number')
    for name, value in counters.items():
        if not _is_number(value):
            raise bad(f'counter "{name}" must be a number, got {value!r}')
    if run["kind"] == "trace":
        if "page_size" in run and not _is_int(run["page_size"]):
            raise bad(f'"page_size" must be an integer, got {run["page_size"]!r}')
        if run.get("scope", "global") not in _SCOPES:
            raise bad(f'"scope" must be "global" or "local", got {run["scope"]!r}')
        if run.get("trace_format") is not None and not isinstance(run["trace_format"], str):
            raise bad('"trace_format" must be a string')


def resolve_input(stored: str, golden: str | Path) -> Path:
    """Where a stored input is: as given (absolute, or relative to the current directory), else
    relative to the golden file's directory."""
    p = Path(stored)
    if p.is_absolute() or p.exists():
        return p
    beside = Path(golden).parent / p
    if beside.exists():
        return beside
    raise VmsimError(
        f"input {stored!r} not found (looked in the current directory and in {Path(golden).parent.as_posix() or '.'})",
        source=str(golden),
    )


def rerun(run: dict[str, Any], golden: str | Path = ".", progress: Progress | None = None) -> Counters:
    """Run one recorded configuration again and return its counters."""
    path = resolve_input(run["input"], golden)
    if run["kind"] == "trace":
        counters, _ = _trace_counters(
            path,
            run["policy"],
            run["frames"],
            page_size=run.get("page_size", 4096),
            trace_format=run.get("trace_format"),
            seed=run.get("seed") or 0,
            scope=run.get("scope", "global"),
            progress=progress,
        )
    else:
        counters, _ = _scenario_counters(path, run["policy"], run["frames"], run.get("seed"), progress)
    return counters


def check(path: str | Path, progress: Progress | None = None, doc: Any = None) -> CheckResult:
    """Re-run every run of the golden file at ``path`` and compare its counters exactly
    (``progress`` as in :func:`record`). ``doc``: the file's contents when already read."""
    doc = load_golden(path) if doc is None else validate_golden(doc, str(path))
    diffs: list[Diff] = []
    for run in doc["runs"]:
        got = rerun(run, path, progress)
        for name, expected in run["counters"].items():
            value = got.get(name)
            if value is None or value != expected:
                diffs.append(Diff(run["input"], run["policy"], run["frames"], name, expected, value))
    return CheckResult(ok=not diffs, runs=len(doc["runs"]), diffs=diffs)


def diff_table(result: CheckResult) -> str:
    """The differing counters as a table (input, policy, frames, counter, expected, got)."""
    from tabulate import tabulate

    if not result.diffs:
        return f"{result.runs} run{'s' if result.runs != 1 else ''}: every counter matches"
    # Values as Python writes them (repr of a float is exact): tabulate's number format would round.
    rows = [[d.input, d.policy, d.frames, d.counter, str(d.expected), "-" if d.got is None else str(d.got)] for d in result.diffs]
    return tabulate(rows, headers=["input", "policy", "frames", "counter", "expected", "got"], disable_numparse=True)
