"""Fuzzing the promise the README makes about bad input (issue 13, item 5).

Bad input is ONE line on stderr (``vmsim: error: ...``), exit code 2, never a traceback; and
``vmsim validate`` rejects exactly what ``vmsim simulate`` would reject. The tests below throw
mutated scenarios, damaged traces, abusive command lines and hostile JSON at ``vmsim.cli.main``
in-process, and check that promise on every example (docs/reliability.md).

Environment:

- ``VMSIM_FUZZ_EXAMPLES=N``: the biggest tests run N examples, the others in proportion
  (default: the CI size, 200 for the biggest; ``just fuzz`` runs 5000).
- ``VMSIM_FUZZ_SEED=S``: the seed of every test (default 0, so CI sees the same examples on every
  run). A failure names the seed and the command line; rerun with the same seed to replay it.
- ``VMSIM_FUZZ_TIMEOUT=SECONDS``: how long one command (or one build and short run) may take
  before it counts as a hang (default 5).

Every command runs in a temporary directory, never with ``--force``, and never on a file outside
that directory: a fuzzed command cannot overwrite anything of the checkout.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import itertools
import json
import math
import os
import shlex
import shutil
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

from vmsim.cli import app, main

# ----------------------------------------------------------------------------- the shared helper

SEED = int(os.environ.get("VMSIM_FUZZ_SEED", "0") or 0)
_EXAMPLES = os.environ.get("VMSIM_FUZZ_EXAMPLES")
TIMEOUT = float(os.environ.get("VMSIM_FUZZ_TIMEOUT", "5") or 5)
#: The examples of the biggest tests in CI; the others are given as a share of it.
CI_EXAMPLES = 200
REPLAY = f"VMSIM_FUZZ_SEED={SEED}" + (f" VMSIM_FUZZ_EXAMPLES={_EXAMPLES}" if _EXAMPLES else "")

#: Exit codes vmsim may return on any input; 70 (an internal error caught by the last-resort
#: handler) is a bug, as is any exception escaping main().
OK_CODES = frozenset({0, 2})


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so vmsim's ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the block after ``seconds`` (SIGALRM; no limit where there is none)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover (Windows)
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def describe(argv: Sequence[str]) -> str:
    return f"vmsim {shlex.join(argv)}  [replay: {REPLAY} python -m pytest tests/test_fuzz.py]"


def check_one_line(argv: Sequence[str], rc: int, err: str) -> None:
    """Exit code 2 means exactly one non-empty ``vmsim: error:`` line on stderr (``validate``: one
    per file it rejects)."""
    if rc != 2:
        return
    most = max(1, len(argv) - 1) if "validate" in argv else 1
    lines = err.split("\n")
    assert err.endswith("\n") and 2 <= len(lines) <= most + 1 and "\r" not in err, (
        f"{describe(argv)}: exit 2 must print exactly one line on stderr, got {err!r}"
    )
    for line in lines[:-1]:
        assert line.startswith("vmsim: error: ") and line[len("vmsim: error: ") :].strip(), (
            f"{describe(argv)}: the error line must start 'vmsim: error: ' and say something, got {err!r}"
        )


@contextlib.contextmanager
def debug_mode() -> Iterator[None]:
    """VMSIM_DEBUG=1: an internal error escapes main() as the exception itself (instead of exit 70
    and one line), so a failure shows its traceback and hypothesis tells the crashes apart."""
    old = os.environ.get("VMSIM_DEBUG")
    os.environ["VMSIM_DEBUG"] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["VMSIM_DEBUG"]
        else:
            os.environ["VMSIM_DEBUG"] = old


def run_cli(argv: Sequence[str], ok: frozenset[int] = OK_CODES, timeout: float | None = None) -> tuple[int, str, str]:
    """``main(argv)`` in-process with stdout and stderr captured: (exit code, stdout, stderr).

    Asserts the README's promise: no exception escapes, the exit code is in ``ok`` (never 70, the
    last-resort handler's code), no traceback is printed, and exit code 2 comes with exactly one
    ``vmsim: error:`` line. Runs with VMSIM_DEBUG=1, so an internal error escapes as the exception
    itself; it is re-raised with a note naming the command line and the seed, and hypothesis tells
    the distinct crashes apart by where they are raised."""
    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), debug_mode(), time_limit(timeout or TIMEOUT):
            rc = main(argv)
    except Hang:
        raise AssertionError(f"{describe(argv)}: did not finish in {timeout or TIMEOUT:g} s") from None
    except BaseException as e:
        e.add_note(f"escaped vmsim.cli.main: {describe(argv)}")
        e.add_note(f"stderr so far: {err.getvalue()[-500:]!r}")
        raise
    o, e_ = out.getvalue(), err.getvalue()
    assert rc != 70, f"{describe(argv)}: internal error (exit 70): {e_!r}"
    assert rc in ok, f"{describe(argv)}: exit code {rc} (expected one of {sorted(ok)}); stderr {e_!r}"
    assert "Traceback (most recent call last)" not in e_ + o, f"{describe(argv)}: printed a traceback: {e_!r}"
    check_one_line(argv, rc, e_)
    return rc, o, e_


def fuzz(ci: int) -> Any:
    """Settings and seed for a fuzz test of ``ci`` examples in CI (scaled by VMSIM_FUZZ_EXAMPLES)."""
    n = ci if not _EXAMPLES else max(1, round(ci * int(_EXAMPLES) / CI_EXAMPLES))
    conf = settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=True,
        report_multiple_bugs=True,
        suppress_health_check=list(HealthCheck),
    )

    def deco(fn: Any) -> Any:
        return fixed_seed(SEED)(conf(fn))

    return deco


@pytest.fixture(scope="module", autouse=True)
def _click_command_once() -> Iterator[None]:
    """Typer rebuilds the click command from the annotations on every call (about 80 ms, more than
    most fuzzed commands take); build vmsim's once for this module. The command is the same."""
    built = typer.main.get_command(app)
    original = typer.main.get_command

    def get_command(typer_instance: typer.Typer) -> Any:
        return built if typer_instance is app else original(typer_instance)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.main, "get_command", get_command)
        yield


#: Address space a fuzzed command may add to this process: a bigger allocation fails at once (a
#: MemoryError, reported as a failure) instead of filling the machine's memory.
MEMORY_HEADROOM = 4 << 30


@pytest.fixture(scope="module", autouse=True)
def _memory_limit() -> Iterator[None]:
    try:
        import resource
    except ImportError:  # pragma: no cover (Windows)
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover (no /proc)
        yield
        return
    limit = used + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module", autouse=True)
def _announce_seed(request: pytest.FixtureRequest) -> None:
    """Print the seed, so that any failure of this run can be replayed."""
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    line = f"vmsim fuzz: {REPLAY} (set VMSIM_FUZZ_SEED to replay these examples)"
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.write_line("")
            reporter.write_line(line)


# ----------------------------------------------------------------------------- fixture files

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
REAL_TRACE = ROOT.parent / "shared" / "traces" / "bzip2.lackey.gz"
_names = itertools.count()

BIG_DIGITS = "9" * 5000  # more digits than Python's int <-> str limit (4300)
#: A 5000-digit integer in a document: Python cannot write it (str(int) is limited), so a placeholder
#: stands for it until the text is written (see :func:`big_ints`).
BIG_INT = "BIGINTPLACEHOLDER"


#: A value nested this deep in lists, written in as text too (nothing recurses through it before).
DEEP = {n: f"DEEPNEST{n}PLACEHOLDER" for n in (50, 500, 1000)}


def big_ints(text: str) -> str:
    """The written document with the placeholders (quoted or not) replaced by the 5000-digit integer
    and the deeply nested lists."""
    for token, value in [("BIGINTPLACEHOLDER", BIG_DIGITS)] + [(t, "[" * n + "1" + "]" * n) for n, t in DEEP.items()]:
        text = text.replace(f'"{token}"', value).replace(f"'{token}'", value).replace(token, value)
    return text


def dump_yaml(data: Any) -> bytes:
    return big_ints(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**9)).encode()


def _lackey_lines() -> list[str]:
    """The first accesses of a real lackey trace (a slice), or synthetic ones without it."""
    if REAL_TRACE.is_file():
        with gzip.open(REAL_TRACE, "rt") as fh:
            return [line.rstrip("\n") for line in itertools.islice(fh, 300)]
    kinds = ["I ", " L", " S", " M"]
    return ["==1== Lackey, an example Valgrind tool"] + [
        f"{kinds[i % 4]} {0x4000000 + 64 * (i * 7919 % 509):08x},{1 + i % 8}" for i in range(300)
    ]


def base_traces() -> dict[str, list[str]]:
    pages = [0x401000 + 0x1000 * (i * 31 % 23) for i in range(200)]
    return {
        "lackey": _lackey_lines(),
        "pitt": [f"{a:08x} {'W' if i % 5 == 0 else 'R'}" for i, a in enumerate(pages)],
        "rw": [f"{'W' if i % 5 == 0 else 'R'} 0x{a:x}" for i, a in enumerate(pages)],
        "pid": [f"{'s' if i % 5 == 0 else 'l'} 0x{a:x} {1 + i % 3}" for i, a in enumerate(pages)],
        "pages": [str(i * 31 % 23) for i in range(200)],
    }


TINY = {
    "name": "tiny",
    "seed": 1,
    "machine": {"page_size": "4KiB", "memory": "32KiB", "paging_device": {"read": "1ms", "write": "1ms"}},
    "kernel": {"replacement": {"policy": "lru"}},
    "processes": [{"name": "p", "count": 2, "workload": {"kind": "zipf", "pages": 20, "references": 500}}],
}


class Files:
    """Small input files in a temporary directory: scenarios, traces, results, golden files, keys."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inputs = root / "inputs"
        self.inputs.mkdir()
        for name in ("textbook.yaml", "belady_anomaly.yaml"):
            shutil.copy(ROOT / "scenarios" / name, self.inputs / name)
        (self.inputs / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
        self.traces = base_traces()
        for fmt, lines in self.traces.items():
            (self.inputs / f"t.{fmt}").write_text("\n".join(lines) + "\n")
        with gzip.open(self.inputs / "t.lackey.gz", "wb") as fh:
            fh.write(("\n".join(self.traces["lackey"]) + "\n").encode())
        (self.inputs / "junk.bin").write_bytes(bytes(range(256)) * 4)
        (self.inputs / "empty.txt").write_bytes(b"")
        (self.inputs / "notes.txt").write_text("hello\nworld\n")
        (self.inputs / "adir").mkdir()
        (self.inputs / "huge.pages").write_text("1\n18446744073709551616\n")
        (self.inputs / "trunc.gz").write_bytes(gzip.compress(b"1\n2\n3\n" * 500)[:40])
        self.docs: dict[str, Any] = {}
        with contextlib.chdir(self.inputs):
            self._make_json()

    def _make_json(self) -> None:
        """Real documents made by vmsim itself (results, golden file, answer keys)."""
        runs = {
            "refs.json": ["refs", "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1", "-f", "3,4", "-p", "fifo,lru", "--format", "json"],
            "replay.json": ["replay", "t.pages", "-f", "4", "-p", "lru", "--format", "json", "--quiet"],
            "simulate.json": ["simulate", "textbook.yaml", "--format", "json", "--quiet"],
            "compare.json": [
                "compare",
                "t.pages",
                "-f",
                "1..4",
                "-p",
                "fifo,lru",
                "--workers",
                "1",
                "--format",
                "json",
                "--quiet",
            ],
        }
        for kind in ("relocation", "segmentation", "linear", "tlb", "freelist"):
            runs[f"key_{kind}.json"] = ["exercise", kind, "--seed", "3", "--solve", "--format", "json"]
        for name, argv in runs.items():
            rc, out, err = run_cli(argv)
            assert rc == 0, (argv, err)
            Path(name).write_text(out)
            self.docs[name] = json.loads(out)
        rc, _, err = run_cli(["record", "golden.json", "t.pages", "textbook.yaml", "-f", "3", "-p", "fifo,lru", "--quiet"])
        assert rc == 0, err
        self.docs["golden.json"] = json.loads(Path("golden.json").read_text())
        for name, doc in list(self.docs.items()):
            if name.startswith("key_"):
                answers = doc["answers"]
                Path(f"answers_{name[4:]}").write_text(json.dumps(answers))
                self.docs[f"answers_{name[4:]}"] = answers

    def workdir(self) -> Path:
        """A fresh, empty directory for one example, with the inputs copied in."""
        d = self.root / f"ex{next(_names)}"
        shutil.copytree(self.inputs, d)
        return d


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("fuzz"))


@contextlib.contextmanager
def inside(d: Path) -> Iterator[Path]:
    """Run in ``d`` (every relative path a command writes lands there)."""
    with contextlib.chdir(d):
        yield d


# ----------------------------------------------------------------------------- nasty values

EXTREME: list[Any] = [
    0,
    -1,
    1,
    2**31,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63),
    1e30,
    -1e30,
    "1e400",
    math.inf,
    -math.inf,
    math.nan,
    BIG_INT,
    0.5,
    1e-30,
    -0.0,
]
WRONG_TYPE: list[Any] = [
    None,
    True,
    False,
    "x",
    "",
    [],
    {},
    [1, 2],
    {"a": 1},
    "²",
    "\u0663",
    "1 2",
    "\x00",
    "🙂🙂",
    "-",
    DEEP[1000],
]
UNITS = [
    "1e400ms",
    "4XiB",
    "-5ms",
    "1.5B",
    "0B",
    "0ns",
    "1e30GiB",
    "nanms",
    "infms",
    "inf",
    "nan",
    "4 KiB",
    "4kib",
    "1e-9ns",
    "0.5ns",
    "5000000000000000000000min",
    "9e18s",
    "1µs",
    "\u0661\u0662KiB",
    BIG_DIGITS + "KiB",
    "1e400",
    "0x10KiB",
    "1e308TiB",
    "18446744073709551616B",
    "4KiB ",
    "MiB",
    ".5MiB",
]
SIZE_KEYS = {
    "memory",
    "page_size",
    "dataset_bytes",
    "sample_bytes",
    "weight_bytes",
    "pool_bytes",
    "param_bytes",
    "act_bytes_per_sample",
}
TIME_KEYS = {
    "memory_access",
    "context_switch",
    "zero_fill",
    "read",
    "write",
    "quantum",
    "tau",
    "interval",
    "sample_interval",
    "ws_tau",
    "arrival",
    "arrival_interval",
    "hit_time",
}
POLICIES: list[Any] = [
    "s3fifo:small_ratio=2",
    "lruk:k=0",
    "lirs:hir_ratio=1",
    "2q:kin=2",
    "2q:kout=inf",
    "s3fifo:ghost_ratio=nan",
    "lruk:k=99999999999999999999",
    {"kind": ["lru"]},
    {"kind": 5},
    {"kind": None},
    {"kind": "lru", "k": 2},
    {"kind": "lruk", "k": 2**64},
    {"kind": "s3fifo", "ghost_ratio": math.nan},
    {"kind": "2q", "kout": math.inf},
    {"kind": "clock", "ref_bit_on_load": "maybe"},
    {"kind": "aging", "bits": 0},
    {"kind": "aging", "bits": 10**6},
    "aging:bits=99999",
    "aging:period=0",
    "ws:tau=-1",
    "ws:tau=1e400",
    "wsclock:period=nan",
    "pff:threshold=-1",
    "nfu:period=18446744073709551616",
    "nru:period=0",
    "clockpro:cold_ratio=nan",
    "clockpro:cold_ratio=1",
    "s3fifo:threshold=99999999999999999999",
    "lirs:hir_ratio=-0.0",
    "lirs:hir_ratio=1e-300",
    "2q:kin=1e-300",
    "lruk:k=1.5",
    "lruk:k=",
    "lruk:=2",
    "lruk:k=2:k=3",
    "lru:",
    ":",
    "",
    "all",
    "LRU",
    "belady",
    "random",
    "opt",
    "arc:x=1",
    "clock:ref_bit_on_load=",
    "2q:kin=0.25,kout=0.5",
    ["lru"],
    5,
    None,
    "lru\n",
    "lrü",
]
SHARES: list[Any] = [
    ["weights"],
    ["data"],
    ["nope"],
    ["dataset"],
    ["kv"],
    ["params", "activations"],
    [""],
    ["data", "data"],
    "data",
    [5],
    [None],
    [["data"]],
]
ADDED: list[tuple[tuple[Any, ...], list[Any]]] = [
    (
        ("machine", "tlb"),
        [
            {"entries": 64, "ways": 3},
            {"entries": 2**63},
            {"entries": 64, "ways": 0},
            {"entries": 1, "policy": "random"},
            {"entries": 2**40, "ways": 1},
            {"entries": 8, "ways": 2**63},
            {"hit_time": "1e400ms"},
            {"entries": BIG_INT},
        ],
    ),
    (
        ("kernel", "load_control"),
        [
            {"kind": "working_set", "tau": "1ns"},
            {"kind": "pff", "lower": 0, "upper": math.inf},
            {"kind": "pff", "upper": 1e-300, "lower": 0},
            {"kind": "working_set", "interval": "1ns"},
            {"kind": "pff", "interval": 2**63},
            {"kind": "bogus"},
            {"kind": "working_set", "victim": "oldest"},
        ],
    ),
    (
        ("kernel", "allocation"),
        [
            {"kind": "fixed", "frames": {"x": 1}},
            {"kind": "fixed", "frames": {}},
            {"kind": "proportional", "min_frames": 2**63},
            {"kind": "equal", "min_frames": 10**6},
        ],
    ),
    (("kernel", "replacement", "scope"), ["local", "global", "both", None]),
    (("machine", "cpus"), [2**63, 64, 0, 1.5]),
    (("machine", "paging_device", "channels"), [2**63, 10**6, 0]),
    (("kernel", "sample_interval"), ["1ns", 2**63, "1e400ms", "1000s"]),
    (("seed",), [2**64, -1, BIG_INT, "x", math.nan, 1.5]),
    (("name",), ["", "x" * 10000, None, 5, "a\nb", "\x00"]),
    (("processes",), [[], None, {}, "p"]),
]
#: Damaged lines per trace format: huge addresses, negative numbers, missing fields.
BAD_LINES = {
    "lackey": [
        "I  ffffffffffffffffff,4",
        " L 8000000000000000,4",
        " S ffffffffffffffff,8",
        " S -10,4",
        "I  ,4",
        " M 10,",
        " L 10,99999999999999999999",
        " X 10,4",
        "I 10,4",
        "==",
        "I  10,4,4",
        " L 0x10,4",
    ],
    "pitt": ["ffffffffffffffffff R", "8000000000000000 W", "ffffffffffffffff W", "-1 R", "0x R", "10", "10 X", "10 R W"],
    "rw": ["W 0xffffffffffffffffffff", "R 0x8000000000000000", "R -0x10", "R", "X 10", "R 0x"],
    "pid": [
        "s 0x10 99999999999999999999",
        "l 0x10 -1",
        "l 0xffffffffffffffffff 1",
        "l 0x10",
        "s 0x10 9223372036854775808",
        "l 0x8000000000000000 1",
    ],
    "pages": [
        "9223372036854775808",
        "18446744073709551616",
        "9223372036854775807",
        "-1",
        "1e3",
        "\u0663",
        "0x10",
        BIG_DIGITS,
        "1.5",
        "+5",
    ],
}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _parent(data: Any, path: tuple[Any, ...], create: bool = False) -> Any:
    node = data
    for key in path[:-1]:
        if isinstance(node, dict):
            if create and not isinstance(node.get(key), dict | list):
                node[key] = {}
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def set_at(data: Any, path: tuple[Any, ...], value: Any) -> None:
    parent = _parent(data, path, create=True)
    key = path[-1]
    if isinstance(parent, dict) or (isinstance(parent, list) and isinstance(key, int) and key < len(parent)):
        parent[key] = value


def delete_at(data: Any, path: tuple[Any, ...]) -> None:
    parent = _parent(data, path)
    key = path[-1]
    if isinstance(parent, dict):
        parent.pop(key, None)
    elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
        del parent[key]


# ----------------------------------------------------------------------------- scenario mutants

_SHIPPED = {p.name: yaml.safe_load(p.read_text()) for p in SCENARIOS}
_WORKLOADS = [g["workload"] for doc in _SHIPPED.values() for g in doc["processes"]]
_KINDS = sorted({w["kind"] for w in _WORKLOADS} | {"uniform", "loop", "sequential", "refs", "trace"})
_CAPS = {"references": 20_000, "iterations": 2, "steps": 30, "batches": 2, "epochs": 1, "count": 2}
TRACE_TARGETS = [
    "SELF",
    "junk.bin",
    "empty.txt",
    "notes.txt",
    "adir",
    "huge.pages",
    "trunc.gz",
    "t.lackey.gz",
    "t.pages",
    "t.pid",
    "missing.trace",
    "",
    "/dev/null",
    ".",
]


def capped(doc: dict[str, Any]) -> dict[str, Any]:
    """A shipped scenario made small: memory, counts and lengths capped, samples frequent. The
    mutation comes after, so a mutated size is used as it is."""
    d = copy.deepcopy(doc)
    d.setdefault("machine", {})["memory"] = "16MiB"
    d.setdefault("kernel", {})["sample_interval"] = "1ms"

    def cap(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in _CAPS and isinstance(v, int) and not isinstance(v, bool):
                    node[k] = min(v, _CAPS[k])
                else:
                    cap(v)
        elif isinstance(node, list):
            for v in node:
                cap(v)

    cap(d)
    return d


MUTATIONS = ("delete", "retype", "extreme", "units", "policy", "workload", "kind", "share", "trace", "add", "unknown")
#: For whole runs: no mutation that makes a run long (an extreme count, a bigger workload).
SMALL_MUTATIONS = ("delete", "retype", "units", "policy", "kind", "share", "trace", "unknown")


@st.composite
def mutation(draw: st.DrawFn, data: dict[str, Any], kinds: Sequence[str] = MUTATIONS) -> str:
    """Apply one mutation to ``data`` in place; returns what it did (for the failure message)."""
    paths = list(_paths(data))
    kind = draw(st.sampled_from(kinds))
    groups = data.get("processes") if isinstance(data.get("processes"), list) else []
    group = draw(st.integers(0, len(groups) - 1)) if groups else 0
    if kind == "delete" and paths:
        path = draw(st.sampled_from(paths))
        delete_at(data, path)
        return f"delete {path}"
    if kind in ("retype", "extreme") and paths:
        path = draw(st.sampled_from(paths))
        value = draw(st.sampled_from(WRONG_TYPE if kind == "retype" else EXTREME))
        set_at(data, path, value)
        return f"{path} = {value!r:.60}"
    if kind == "units":
        keyed = [p for p in paths if isinstance(p[-1], str) and p[-1] in SIZE_KEYS | TIME_KEYS]
        path = draw(st.sampled_from(keyed)) if keyed else ("machine", "timing", "memory_access")
        value = draw(st.sampled_from(UNITS))
        set_at(data, path, value)
        return f"{path} = {value!r:.60}"
    if kind == "policy":
        value = draw(st.sampled_from(POLICIES))
        set_at(data, ("kernel", "replacement", "policy"), value)
        return f"policy = {value!r}"
    if kind == "workload" and groups:
        value = copy.deepcopy(draw(st.sampled_from(_WORKLOADS)))
        set_at(data, ("processes", group, "workload"), capped({"w": value})["w"])
        return f"processes.{group}.workload = {value['kind']}"
    if kind == "kind" and groups:
        value = draw(st.sampled_from([*_KINDS, "bogus", "", None, 5]))
        set_at(data, ("processes", group, "workload", "kind"), value)
        return f"processes.{group}.workload.kind = {value!r}"
    if kind == "share" and groups:
        value = draw(st.sampled_from(SHARES))
        set_at(data, ("processes", group, "share"), value)
        return f"processes.{group}.share = {value!r}"
    if kind == "trace" and groups:
        target = draw(st.sampled_from(TRACE_TARGETS))
        w: dict[str, Any] = {"kind": "trace", "path": target}
        if draw(st.booleans()):
            w["format"] = draw(st.sampled_from(["lackey", "pitt", "rw", "pid", "pages", "bogus"]))
        if draw(st.booleans()):
            w["limit"] = draw(st.sampled_from([1, 0, 2**63, 100]))
        set_at(data, ("processes", group, "workload"), w)
        return f"processes.{group}.workload = {w!r}"
    if kind == "add":
        path, values = draw(st.sampled_from(ADDED))
        value = draw(st.sampled_from(values))
        set_at(data, path, copy.deepcopy(value))
        return f"{path} = {value!r:.60}"
    # an unknown key somewhere
    dicts = [p for p in paths if isinstance(_get(data, p), dict)] + [()]
    path = draw(st.sampled_from(dicts))
    set_at(data, (*path, draw(st.sampled_from(["bogus", "Memory", "procesess", "kind ", "²"]))), 1)
    return f"unknown key under {path}"


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


RAW_YAML = [
    "name: x\nprocesses: [" * 300,  # deep nesting
    "[" * 2000 + "]" * 2000,
    "a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nname: bomb\nprocesses: [{name: p, workload: {kind: uniform, pages: 1}}]\n",
    "name: x\nname: y\nprocesses: [{name: p, workload: {kind: uniform, pages: 1}}]\n",
    "name: !!python/object:os.system x\n",
    "--- a\n--- b\n",
    "\ufeffname: x\nprocesses: [{name: p, workload: {kind: uniform, pages: 1, references: 10}}]\n",
    "name: x\n\tprocesses: []\n",
    "name: x\nseed: " + BIG_DIGITS + "\nprocesses: [{name: p, workload: {kind: uniform, pages: 1}}]\n",
    "name: x\nseed: 0x" + "f" * 5000 + "\nprocesses: [{name: p, workload: {kind: uniform, pages: 1}}]\n",
    "name: x\nmachine: {memory: 1_0_0_0_0_0}\nprocesses: [{name: p, workload: {kind: uniform, pages: 1}}]\n",
    "name: x\nseed: 1:00:00\nprocesses: [{name: p, workload: {kind: uniform, pages: 1}}]\n",
    "name: 2024-01-01\nprocesses: [{name: p, workload: {kind: uniform, pages: 1}}]\n",
    "? [a, b]\n: 1\nname: x\n",
    "{1: 2, name: x, processes: [{name: p, workload: {kind: uniform, pages: 1}}]}\n",
    "",
    "null\n",
    "- 1\n- 2\n",
    "name: x\nprocesses: [{name: p, workload: {kind: refs, refs: '" + "1 " * 20000 + "'}}]\n",
    "name: x\nprocesses: [{name: p, workload: {kind: refs, refs: '" + BIG_DIGITS + "'}}]\n",
    "name: x\nprocesses: [{name: p, workload: {kind: refs, refs: '1 99999999999999999999 2w'}}]\n",
]
RAW_BYTES = [b"\xff\xfe\x00n\x00a", b"name: \xff\xfe\n", b"\x00" * 100, bytes(range(256))]


@st.composite
def scenario_mutants(draw: st.DrawFn) -> tuple[str, bytes]:
    """(what was done, the file's bytes): a shipped scenario, capped, with 1-3 mutations; or a
    hostile YAML text."""
    if draw(st.integers(0, 15)) == 0:
        raw = draw(st.sampled_from([r.encode() for r in RAW_YAML] + RAW_BYTES))
        return f"raw YAML {raw[:60]!r}", raw
    name = draw(st.sampled_from(sorted(_SHIPPED)))
    data = capped(_SHIPPED[name])
    done = [draw(mutation(data)) for _ in range(draw(st.integers(1, 3)))]
    return f"{name}: {'; '.join(done)}", dump_yaml(data)


def _write_scenario(d: Path, name: str, content: bytes) -> Path:
    path = d / name
    path.write_bytes(content.replace(b"path: SELF", f"path: {name}".encode()))
    return path


def _build_and_run(path: Path, what: str) -> None:
    """Build the validated scenario and run it until it has made a few thousand references."""
    from vmsim.errors import VmsimError
    from vmsim.scenario.build import build
    from vmsim.scenario.loader import load_scenario

    try:
        with time_limit(TIMEOUT):
            kernel = build(load_scenario(path))
            kernel.run(on_sample=lambda references, faults: references > 5_000)
    except Hang:
        raise AssertionError(
            f"validate accepted {what}, but building it and running 5,000 references did not finish in "
            f"{TIMEOUT:g} s [replay: {REPLAY}]\n{path.read_text(errors='replace')[:2000]}"
        ) from None
    except VmsimError as e:
        e.add_note(f"vmsim validate accepted this scenario, but simulate rejects it: {what} [replay: {REPLAY}]")
        e.add_note(path.read_text(errors="replace")[:2000])
        raise
    except BaseException as e:
        e.add_note(f"vmsim validate accepted this scenario, and building or running it crashed: {what} [replay: {REPLAY}]")
        e.add_note(path.read_text(errors="replace")[:2000])
        raise


@fuzz(150)
@given(mutant=scenario_mutants())
def test_validate_rejects_what_cannot_run(files: Files, mutant: tuple[str, bytes]) -> None:
    """Every mutant: validate exits 0 or 2 (one line); what it accepts builds and runs."""
    what, content = mutant
    d = files.inputs  # traces named by a mutant are beside it
    name = f"mutant{next(_names)}.yaml"
    path = _write_scenario(d, name, content)
    try:
        with inside(d):
            rc, out, _ = run_cli(["validate", name])
            if rc == 0:
                assert out.startswith(f"{name}: ok"), f"validate said {out!r} for {what}"
                _build_and_run(Path(name), what)
    finally:
        path.unlink()


@fuzz(25)
@given(base=st.sampled_from(["textbook.yaml", "belady_anomaly.yaml", "tiny.yaml"]), data=st.data())
def test_simulate_agrees_with_validate(files: Files, base: str, data: st.DataObject) -> None:
    """End to end on small scenarios: simulate exits 2 exactly when validate does."""
    doc = yaml.safe_load((files.inputs / base).read_text())
    done = data.draw(mutation(doc, SMALL_MUTATIONS))
    fmt = data.draw(st.sampled_from(["table", "json"]))
    with inside(files.workdir()) as d:
        _write_scenario(d, "m.yaml", dump_yaml(doc))
        rc_validate, _, err_validate = run_cli(["validate", "m.yaml"])
        rc_sim, _, err_sim = run_cli(["simulate", "m.yaml", "--quiet", "--format", fmt])
        assert rc_validate == rc_sim, (
            f"{base} with {done}: validate exits {rc_validate} {err_validate!r} but simulate "
            f"exits {rc_sim} {err_sim!r} [replay: {REPLAY}]"
        )


# ----------------------------------------------------------------------------- damaged traces


@st.composite
def damaged_traces(draw: st.DrawFn, traces: dict[str, list[str]]) -> tuple[str, str, bytes]:
    """(format it started as, what was done, the file's bytes)."""
    fmt = draw(st.sampled_from(sorted(traces)))
    lines = list(traces[fmt][: draw(st.integers(1, len(traces[fmt])))])
    done: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(
                [
                    "bad_line",
                    "bad_line",
                    "garbage",
                    "truncate",
                    "crlf",
                    "nul",
                    "no_newline",
                    "long",
                    "banner_only",
                    "blank",
                    "other_format",
                ]
            )
        )
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "bad_line":
            bad = draw(st.sampled_from(BAD_LINES[fmt]))
            lines[i : i + 1] = [bad]
            done.append(f"line {i + 1} = {bad[:40]!r}")
        elif op == "garbage":
            junk = draw(st.binary(min_size=1, max_size=12)).decode("latin-1")
            lines[i] = lines[i][: len(lines[i]) // 2] + junk + lines[i][len(lines[i]) // 2 :]
            done.append(f"garbage {junk!r} in line {i + 1}")
        elif op == "truncate":
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
            done.append(f"truncated in line {i + 1}")
        elif op == "crlf":
            lines = [x + "\r" for x in lines]
            done.append("CRLF")
        elif op == "nul":
            lines[i] += "\x00"
            done.append(f"NUL in line {i + 1}")
        elif op == "no_newline":
            lines.append("")
            done.append("no final newline")
        elif op == "long":
            lines[i] = lines[i] + "0" * draw(st.sampled_from([100, 10_000, 300_000]))
            done.append(f"long line {i + 1}")
        elif op == "banner_only":
            lines = ["==1== Memcheck", "==1== banner"]
            done.append("banner only")
        elif op == "blank":
            lines = ["", "  ", "\t"]
            done.append("blank lines")
        else:
            other = draw(st.sampled_from(sorted(traces)))
            lines[i:i] = traces[other][:3]
            done.append(f"{other} lines at {i + 1}")
    body = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    whole = draw(st.integers(0, 12))
    if whole == 0:
        body, done = b"", ["empty file"]
    elif whole == 1:
        body, done = draw(st.binary(min_size=1, max_size=2000)), ["binary junk"]
    packing = draw(st.sampled_from(["plain", "plain", "gzip", "gzip_truncated", "gzip_trailing", "gzip_twice", "gzip_header"]))
    if packing == "gzip":
        body = gzip.compress(body)
    elif packing == "gzip_truncated":
        packed = gzip.compress(body)
        body = packed[: draw(st.integers(0, max(0, len(packed) - 1)))]
    elif packing == "gzip_trailing":
        body = gzip.compress(body) + draw(st.binary(min_size=1, max_size=20))
    elif packing == "gzip_twice":
        body = gzip.compress(gzip.compress(body))
    elif packing == "gzip_header":
        body = b"\x1f\x8b" + body
    return fmt, f"{fmt} trace: {'; '.join(done)}; {packing}", body


@fuzz(150)
@given(data=st.data())
def test_damaged_traces(files: Files, data: st.DataObject) -> None:
    """replay (and compare, curve) on a damaged trace: exit 0 or 2, one line."""
    fmt, what, body = data.draw(damaged_traces(files.traces))
    note = f"the trace: {what}"
    ext = data.draw(st.sampled_from(["", ".gz", f".{fmt}", f".{fmt}.gz", ".txt"]))
    name = f"trace{next(_names)}{ext}"
    path = files.inputs / name
    path.write_bytes(body)
    argv = ["replay", name, "--frames", data.draw(st.sampled_from(["4", "1", "2,8"])), "--quiet"]
    if data.draw(st.booleans()):
        argv += ["--trace-format", data.draw(st.sampled_from([fmt, "lackey", "pitt", "rw", "pid", "pages", "auto"]))]
    if data.draw(st.booleans()):
        argv += ["--page-size", data.draw(st.sampled_from(["1", "4096", str(2**40), str(2**62), str(2**63), "3"]))]
    if data.draw(st.booleans()):
        argv += ["-p", data.draw(st.sampled_from(["lru", "opt", "clock", "pff", "ws", "lruk", "arc", "random", "all"]))]
    if data.draw(st.booleans()):
        argv += [
            data.draw(
                st.sampled_from(
                    [
                        "--no-instructions",
                        "--explain",
                        "--scope=local",
                        "--limit=3",
                        "--format=json",
                        "--format=csv",
                        "--profile=pitt",
                        "--profile=ostep",
                    ]
                )
            )
        ]
    try:
        with inside(files.inputs):
            run_cli(argv)
            command = data.draw(st.sampled_from(["compare", "curve", None, None]))
            if command is not None:
                run_cli([command, name, "--frames", "1..3", "-p", "fifo,lru", "--workers", "1", "--quiet"])
    except BaseException as e:
        e.add_note(note)
        raise
    finally:
        path.unlink()


# ----------------------------------------------------------------------------- abusing the CLI

_CLICK = typer.main.get_command(app)
COMMANDS = dict(_CLICK.commands)  # type: ignore[attr-defined]
#: Options a fuzzed command line never uses: --force could overwrite, --debug asks for tracebacks.
NEVER = {"--force", "--debug"}
INTS = [
    "0",
    "-1",
    "1",
    "3",
    "99999999999",
    str(2**63),
    str(2**64),
    "1e3",
    "",
    "x",
    "\u0663",
    "+5",
    " 7",
    "0x10",
    BIG_DIGITS,
    "-0",
    "1.5",
    "nan",
]
STRINGS = [
    "",
    " ",
    "x",
    "²",
    "🙂",
    "\x00",
    "a\nb",
    "-",
    "--",
    "1e400",
    "nan",
    "inf",
    "-1",
    "0",
    BIG_DIGITS,
    "é" * 300,
    "%s%n",
    "{}",
    "[1",
    "..",
    "a=b",
]
SAFE_OUTPUTS = [
    "out.json",
    "out.csv",
    "out.parquet",
    "out.svg",
    "out.png",
    "out.html",
    "out.txt",
    "sub/out.json",
    "missing/dir/out.svg",
    "",
    "ü.svg",
    "adir",
    "out",
    "textbook.yaml",
    "t.pages",
]
INPUTS = [
    "textbook.yaml",
    "belady_anomaly.yaml",
    "tiny.yaml",
    "t.pages",
    "t.pitt",
    "t.rw",
    "t.pid",
    "t.lackey",
    "t.lackey.gz",
    "junk.bin",
    "empty.txt",
    "notes.txt",
    "adir",
    "huge.pages",
    "trunc.gz",
    "missing.yaml",
    "",
    "refs.json",
    "golden.json",
    "key_tlb.json",
    "answers_tlb.json",
    "simulate.json",
]
VALUES: dict[str, list[str]] = {
    "--frames": [
        "99999999999",
        "-1",
        "0",
        "3",
        "1..4",
        "4..1",
        "1..",
        "..",
        "1..99999999999",
        "1,,2",
        "2,2",
        "²",
        "",
        "1..1e3",
        "0x10",
        str(2**63),
    ],
    "--policy": [p for p in POLICIES if isinstance(p, str)] + ["fifo,lru", "lru,,opt", "all,all"],
    "--set": [
        "processes.²=1",
        "a",
        "a=1",
        "=",
        ".=1",
        "processes..=1",
        "processes.0.count=99999999999",
        "processes.0.count=0",
        "machine.memory=1e400",
        "machine.memory=18446744073709551616KiB",
        "kernel.replacement.policy=lruk:k=99999999999999999999",
        "kernel.replacement.policy={kind: [lru]}",
        "kernel.replacement.policy={kind: 5}",
        "seed=" + BIG_DIGITS,
        "processes.0.workload=5",
        "processes.0.share=[weights]",
        "machine.timing.memory_access=.inf",
        "processes=[]",
        "name.x=1",
        "processes.5.count=1",
        "processes.-1.count=1",
        "machine.tlb.entries=99999999999999999999",
        "kernel.sample_interval=1ns",
        "machine={a: &a [*a]}",
        "x=[1",
        "processes.0.workload.refs=1 2 3w",
    ],
    "--vary": [
        "x=1..",
        "processes.0.count=1..3",
        "seed=1..99999999999",
        "a",
        "=",
        "x=",
        "processes.²=1,2",
        "kernel.replacement.policy=fifo,lru",
        "kernel.replacement.policy=lruk:k=0,lru",
        "machine.memory=4KiB,1e400",
        "processes.0.count=3..1",
        "seed=1..2",
        "seed=" + BIG_DIGITS + "..1",
        "seed=-2..-1",
        ",,,",
    ],
    "--workers": ["0", "-1", "1", "x", "", "1.5"],
    "--scheduler": ["bogus", "", "tcp://", "tcp://:", "inproc", "local:", "tcp://[::1", "udp://:1"],
    "--trace-format": ["lackey", "pitt", "rw", "pid", "pages", "auto", "bogus", "", "LACKEY"],
    "--format": ["table", "json", "csv", "text", "bogus", "", "JSON"],
    "--profile": ["ostep", "pitt", "bogus", ""],
    "--scope": ["global", "local", "both", ""],
    "--policy-file": ["nope.py:Nope", "nope.py", ":", "", "x.py:", "/nonexistent/x.py:X", "adir:X", "notes.txt:X"],
    "--page-size": ["3", "0", "-4096", "4096", "1", str(2**63), str(2**64), "4KiB", "16k", "", "99999999999999999999999"],
    "--limit": INTS,
    "--seed": INTS,
    "--count": INTS,
    "--addresses": ["1,2,3", "0x10,0x20", "", ",", "-1", str(2**64), "1e400", "²", BIG_DIGITS, "0x", "1,,2"],
    "--page-table": ["12,-,-,6", "", "-", "x", "-1", str(2**64), ",,,"],
    "--ops": ["a16,f0", "a0", "f0", "f99", "a-1", "a" + BIG_DIGITS, "x", "", "a16,f0,f0", "a99999999999999"],
    "--order": ["address", "size-asc", "size-desc", "front", "back", "bogus", ""],
}
SIZES = [
    "16k",
    "1m",
    "0x4000",
    "-1",
    "0",
    "99999999999999999999",
    "1e400",
    "nan",
    "",
    "1t",
    "3",
    "1k",
    "64",
    str(2**63),
    "x",
    "²",
    "1.5k",
    BIG_DIGITS,
]
COMMAND_ARGS: dict[str, list[str]] = {
    "references": [
        "7 0 1 2 0 3",
        "",
        " ",
        "1 2w 3x",
        "-1",
        "99999999999999999999",
        "1,2,,3",
        "²",
        "1 " * 2000,
        BIG_DIGITS,
        "9223372036854775807",
        "0w 0W 0r",
        "\x00",
    ],
    "name": ["mine", "Mine", "lru", "", "1x", "x-y", "ü", "all", "a" * 300, "fifo"],
    "kind": ["relocation", "segmentation", "linear", "multilevel", "tlb", "freelist", "bogus", "", "TLB"],
}


_SCENARIO_FILES = ["textbook.yaml", "belady_anomaly.yaml", "tiny.yaml"]
_TRACE_FILES = ["t.pages", "t.pitt", "t.rw", "t.pid", "t.lackey", "t.lackey.gz"]
#: The inputs each positional argument usually gets (INPUTS the rest of the time).
PREFERRED: dict[str, list[str]] = {
    "scenario": _SCENARIO_FILES,
    "scenarios": _SCENARIO_FILES,
    "trace": _TRACE_FILES,
    "source": _SCENARIO_FILES + _TRACE_FILES,
    "inputs": _SCENARIO_FILES + _TRACE_FILES,
    "golden": ["golden.json", "key_tlb.json", "key_freelist.json", "refs.json"],
    "results": ["refs.json", "replay.json", "simulate.json", "compare.json", "golden.json"],
}
#: Options a command line gets more often than the others (the ones that make it do something).
LIKELY = {"--frames", "--vary", "--set", "--policy", "--answers", "--html"}


def _option_values(name: str) -> list[str]:
    if name in VALUES:
        return VALUES[name]
    if name in ("--plot", "--out", "--html", "--write-memory", "--dir"):
        return SAFE_OUTPUTS
    if name in ("--answers", "--memory"):
        return INPUTS
    if name in (
        "--asize",
        "--psize",
        "--base",
        "--limit0",
        "--base0",
        "--base1",
        "--limit1",
        "--size",
        "--align",
        "--entries",
        "--ways",
        "--pdbr",
        "--hit-time",
        "--miss-penalty",
    ):
        return SIZES
    return STRINGS + INTS


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A command line made of the app's real command and option names, with nasty values."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    cmd = COMMANDS[command]
    argv: list[str] = []
    if draw(st.integers(0, 5)) == 0:
        argv += draw(
            st.sampled_from(
                [["--no-entry-points"], ["--policy-file", "nope.py:Nope"], ["--version"], ["--policy-file=adir:X"], ["--bogus"]]
            )
        )
    argv.append(command)
    options: list[list[str]] = []
    for p in cmd.params:
        if p.param_type_name == "argument":
            n = 1 if p.nargs == 1 else draw(st.integers(0, 3))
            for _ in range(n if draw(st.integers(0, 9)) else 0):  # sometimes missing
                if p.name == "golden" and command == "record":
                    argv.append(draw(st.sampled_from(SAFE_OUTPUTS)))
                elif p.name in PREFERRED and draw(st.integers(0, 3)):
                    argv.append(draw(st.sampled_from(PREFERRED[p.name])))
                else:
                    argv.append(draw(st.sampled_from(COMMAND_ARGS.get(p.name, INPUTS))))
            continue
        opts = [o for o in [*p.opts, *p.secondary_opts] if o not in NEVER]
        if not opts or draw(st.integers(0, 1 if set(p.opts) & LIKELY else 3)) != 0:
            continue
        opt = draw(st.sampled_from(opts))
        if getattr(p, "is_flag", False):
            options.append([opt])
        else:
            long = next((o for o in p.opts if o.startswith("--")), opt)
            value = draw(st.sampled_from(_option_values(long)))
            options.append([f"{opt}={value}"] if draw(st.integers(0, 4)) == 0 and opt.startswith("--") else [opt, value])
    if any(p.opts == ["--workers"] for p in cmd.params) and not any(o[0].startswith("--workers") for o in options):
        options.append(["--workers", "1"])  # no process pools: keep the runs in this process
    options = draw(st.permutations(options))
    for o in options:
        argv += o
    extra = draw(st.integers(0, 9))
    if extra == 0:
        argv.append(draw(st.sampled_from(["--bogus", "--", "-", "extra", "-x", "--help", "--frames"])))
    return argv


@fuzz(120)
@given(argv=command_lines())
def test_command_lines(files: Files, argv: list[str]) -> None:
    """Random command lines: exit 0, 1 (check's verdict) or 2, one line; never a crash."""
    with inside(files.workdir()):
        run_cli(argv, ok=OK_CODES | ({1} if argv and "check" in argv[:2] else set()))


# ----------------------------------------------------------------------------- hostile JSON

NASTY_JSON: list[Any] = [
    None,
    True,
    "x",
    "",
    5,
    -1,
    2**63,
    2**64,
    1.5,
    math.nan,
    math.inf,
    [],
    {},
    ["a", "b"],
    [1, 2],
    {"a": 1},
    [[[]]],
    [{"vaddr": "x"}],
    [None],
]


def _dump_json(value: Any) -> str:
    """JSON text with NaN and Infinity as Python writes them (JSON readers accept them)."""
    return big_ints(json.dumps(value, allow_nan=True))


@st.composite
def hostile_json(draw: st.DrawFn, docs: dict[str, Any], prefix: str = "") -> tuple[str, bytes]:
    """(what it is, the file's bytes): a real document of vmsim's, mutated, or a hostile text."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        text = draw(
            st.sampled_from(
                [
                    "[" * 1000 + "]" * 1000,
                    '{"a":' * 1000 + "1" + "}" * 1000,
                    BIG_DIGITS,
                    '{"answers": ' + BIG_DIGITS + "}",
                    "NaN",
                    "[NaN, Infinity, -Infinity]",
                    "",
                    "   ",
                    "\ufeff{}",
                    "{",
                    '{"a": 1}{"b": 2}',
                    "\x00",
                    '"\\ud800"',
                    '{"kind": "tlb", "params": {}, "answers": ' + BIG_DIGITS + "}",
                    "1e400",
                    "-0",
                ]
            )
        )
        return f"text {text[:50]!r}", text.encode()
    if choice == 1:
        return "invalid UTF-8", draw(st.sampled_from([b"\xff\xfe{}", b'{"a": "\xff"}', bytes(range(256))]))
    names = sorted(n for n in docs if n.startswith(prefix))
    name = draw(st.sampled_from(names))
    doc = copy.deepcopy(docs[name])
    done = []
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        op = draw(st.sampled_from(["delete", "set", "set", "answers", "deep"]))
        if op == "answers" and isinstance(doc, dict):
            value = draw(st.sampled_from([5, ["a", "b"], "x", None, {"answers": 1}, [[1]], [{}], math.nan, 2**64]))
            doc["answers"] = value
            done.append(f"answers = {value!r}")
        elif op == "deep" and paths:
            path = draw(st.sampled_from(paths))
            depth = draw(st.sampled_from(sorted(DEEP)))
            set_at(doc, path, DEEP[depth])
            done.append(f"{path} = nested {depth} deep")
        elif op == "delete" and paths:
            path = draw(st.sampled_from(paths))
            delete_at(doc, path)
            done.append(f"delete {path}")
        elif paths:
            path = draw(st.sampled_from(paths))
            value = draw(st.sampled_from([*NASTY_JSON, BIG_INT]))
            set_at(doc, path, value)
            done.append(f"{path} = {value!r:.40}")
    return f"{name}: {'; '.join(done)}", _dump_json(doc).encode()


@fuzz(100)
@given(data=st.data())
def test_hostile_json(files: Files, data: st.DataObject) -> None:
    """report, check and check --answers on hostile JSON: exit 0, 1 or 2, one line."""
    target = data.draw(st.sampled_from(["report", "check", "answers", "key"]))
    prefix = {"report": "", "check": "golden", "answers": "answers_", "key": "key_"}[target]
    what, body = data.draw(hostile_json(files.docs, prefix))
    with inside(files.workdir()) as d:
        (d / "hostile.json").write_bytes(body)
        if target == "report":
            argv = ["report", "hostile.json", "--html", "report.html"]
        elif target == "check":
            argv = ["check", "hostile.json", "--quiet"]
        elif target == "answers":
            kind = data.draw(st.sampled_from(["relocation", "segmentation", "linear", "tlb", "freelist"]))
            argv = ["check", f"key_{kind}.json", "--answers", "hostile.json"]
        else:
            kind = data.draw(st.sampled_from(["relocation", "segmentation", "linear", "tlb", "freelist"]))
            argv = ["check", "hostile.json", "--answers", f"answers_{kind}.json"]
        try:
            run_cli(argv, ok=OK_CODES | {1})
        except BaseException as e:
            e.add_note(f"the JSON file: {what}")
            raise
