"""The compiled loops (vmsim.vm.jit) give exactly the Python loops' counters: faults, cold faults,
evictions and write-backs, per process, on generated streams and slices of the shared traces."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.metrics.results import RunResult
from vmsim.policies import parse_policy
from vmsim.vm import jit
from vmsim.workloads import open_trace

COMPILED = [
    "fifo",
    "lru",
    "clock",
    "clock:ref_bit_on_load=false",
    "sieve",
    "opt",
    "s3fifo",
    "s3fifo:threshold=1:ghost_ratio=0",
    "arc",
]


def stream(seed: int, n: int, pages: int, processes: int, chunk: int = 5_000) -> list[Chunk]:
    """A skewed stream with writes, cut into chunks, over one or several processes."""
    rng = np.random.default_rng(seed)
    p = (rng.zipf(1.3, n) * 7919 % pages).astype(np.int64)
    w = (rng.random(n) < 0.3).astype(np.uint8)
    pid = rng.integers(0, processes, n) if processes > 1 else None
    return [Chunk(p[i : i + chunk], w[i : i + chunk], None if pid is None else pid[i : i + chunk]) for i in range(0, n, chunk)]


def both(
    chunks: list[Chunk], policy: str, frames: int, monkeypatch: pytest.MonkeyPatch, **kw: object
) -> tuple[RunResult, RunResult]:
    """(compiled, Python) results of the same run."""
    spec = parse_policy(policy)
    monkeypatch.setenv("VMSIM_JIT", "always")
    compiled = replay(lambda: iter(chunks), spec, frames, **kw)  # type: ignore[arg-type]
    monkeypatch.setenv("VMSIM_JIT", "0")
    python = replay(lambda: iter(chunks), spec, frames, **kw)  # type: ignore[arg-type]
    return compiled, python


@pytest.mark.parametrize("policy", COMPILED)
@pytest.mark.parametrize(("frames", "processes"), [(1, 1), (5, 1), (64, 1), (600, 1), (3, 3), (200, 4)])
def test_compiled_equals_python_on_generated_streams(
    policy: str, frames: int, processes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = stream(frames * 31 + processes, 40_000, 2_000, processes)
    compiled, python = both(chunks, policy, frames, monkeypatch)
    assert compiled == python
    assert compiled.evictions > 0 or frames >= 600


@pytest.mark.parametrize("policy", COMPILED)
@pytest.mark.parametrize("frames", [8, 32])
def test_compiled_equals_python_on_the_shared_traces(
    policy: str, frames: int, traces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = list(open_trace(traces / "bzip2.lackey.gz", limit=150_000)())
    compiled, python = both(chunks, policy, frames, monkeypatch)
    assert compiled == python and compiled.writebacks > 0


class StopAt:
    """An on_chunk callback that stops a run before its ``n``-th chunk (counting from 1)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self, references: int, faults: int) -> bool:
        self.calls += 1
        return self.calls >= self.n


@pytest.mark.parametrize("policy", ["fifo", "lru", "clock", "clock:ref_bit_on_load=false", "sieve", "opt", "s3fifo", "arc"])
@pytest.mark.parametrize(("frames", "processes"), [(3, 3), (10, 4), (101, 3)])
def test_compiled_equals_python_under_local_scope(
    policy: str, frames: int, processes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each process replaces among its own quota (an equal share, the remainder to the lowest pids)."""
    import vmsim.vm.jit.driver as driver

    chunks = stream(frames + processes, 30_000, 900, processes)
    spec = parse_policy(policy)
    monkeypatch.setenv("VMSIM_JIT", "always")
    ran = []
    real = driver.replay_chunks
    monkeypatch.setattr(driver, "replay_chunks", lambda *a, **k: ran.append(1) or real(*a, **k))
    compiled = replay(lambda: iter(chunks), spec, frames, scope="local")
    assert ran, "the compiled loop did not run"
    monkeypatch.setenv("VMSIM_JIT", "0")
    python = replay(lambda: iter(chunks), spec, frames, scope="local")
    assert compiled == python and compiled.scope == "local"
    assert compiled != replay(lambda: iter(chunks), spec, frames)  # local differs from global here


def test_a_stopped_run_counts_what_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped before the same chunk, both count the same accesses."""
    chunks = stream(3, 30_000, 1_000, 2)
    for policy in ("lru", "opt"):
        spec = parse_policy(policy)
        monkeypatch.setenv("VMSIM_JIT", "always")
        compiled = replay(lambda: iter(chunks), spec, 50, on_chunk=StopAt(3))
        monkeypatch.setenv("VMSIM_JIT", "0")
        python = replay(lambda: iter(chunks), spec, 50, on_chunk=StopAt(3))
        assert compiled.partial and compiled == python
        assert compiled.references == 10_000


def test_only_the_builtin_classes_run_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """MRU subclasses LRU but has its own order: it must not take LRU's compiled loop."""
    assert jit.kernel_module(parse_policy("lru")) is not None
    assert jit.kernel_module(parse_policy("mru")) is None
    assert jit.kernel_module(parse_policy("lirs")) is None


def _refuse(*args: object, **kw: object) -> Iterator[None]:
    raise AssertionError("the compiled loop ran")


def test_vmsim_jit_0_explain_and_short_streams_run_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import vmsim.vm.jit.driver as driver

    monkeypatch.setattr(driver, "replay_chunks", _refuse)
    chunks = stream(1, 5_000, 300, 2, chunk=1_000)
    monkeypatch.setenv("VMSIM_JIT", "0")
    replay(lambda: iter(chunks), parse_policy("lru"), 20)
    monkeypatch.setenv("VMSIM_JIT", "always")
    replay(lambda: iter(chunks), parse_policy("lru"), 20, steps=True)
    monkeypatch.setenv("VMSIM_JIT", "auto")
    replay(lambda: iter(chunks), parse_policy("lru"), 20)  # too short to be worth loading numba
    monkeypatch.setenv("VMSIM_JIT", "always")
    with pytest.raises(AssertionError, match="compiled loop ran"):
        replay(lambda: iter(chunks), parse_policy("lru"), 20)


def test_without_numba_python_runs_with_one_notice(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VMSIM_JIT", "always")
    monkeypatch.setattr(jit, "_state", {})
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now raises ImportError
    chunks = stream(2, 5_000, 300, 1, chunk=1_000)
    a = replay(lambda: iter(chunks), parse_policy("lru"), 20)
    b = replay(lambda: iter(chunks), parse_policy("fifo"), 20)
    err = capsys.readouterr().err
    assert err.count("numba is not available") == 1 and "pure-Python" in err
    assert a.faults > 0 and b.faults > 0


def test_the_compiled_lackey_parser_equals_the_vectorised_one(traces: Path) -> None:
    from vmsim.vm.jit.parse import lackey
    from vmsim.workloads.traces import _blocks, _lackey_fast

    checked = 0
    for _, block in _blocks(traces / "sort.lackey.gz"):
        want = _lackey_fast(block, 12)
        a = np.frombuffer(block, np.uint8)
        pages, writes, is_i = np.empty(len(a), np.int64), np.empty(len(a), np.uint8), np.empty(len(a), np.bool_)
        n = lackey(a, 12, pages, writes, is_i)
        if want is None:
            assert n == -1  # banners or odd lines: both leave the block to the general parser
            continue
        assert n == len(want[0])
        assert (pages[:n] == want[0]).all() and (writes[:n] == want[1]).all() and (is_i[:n] == want[2]).all()
        checked += 1
        if checked == 3:
            break
    assert checked == 3
    for bad in (b"==1== banner\n", b" X 0400,4\n", b"I  04zz,4\n", b" L 0400,4 \n", b"I  " + b"f" * 17 + b",1\n"):
        assert lackey(np.frombuffer(bad, np.uint8), 12, *(np.empty(4, t) for t in (np.int64, np.uint8, np.bool_))) == -1


def test_a_curve_of_compiled_policies_is_one_pass_with_the_same_points(monkeypatch: pytest.MonkeyPatch) -> None:
    from vmsim.engine.curves import curve

    chunks = stream(9, 30_000, 1_500, 1)
    policies = [parse_policy(p) for p in ("fifo", "clock", "arc", "mru")]
    sizes = [4, 50, 300]
    passes = []

    def source() -> Iterator[Chunk]:
        passes.append(1)
        return iter(chunks)

    monkeypatch.setenv("VMSIM_JIT", "always")
    compiled = curve(source, policies, sizes)
    compiled_passes = len(passes)
    monkeypatch.setenv("VMSIM_JIT", "0")
    python = curve(source, policies, sizes)
    assert compiled == python
    assert compiled_passes == 1 + len(sizes)  # fifo, clock and arc together; mru (Python) once per size


@pytest.mark.parametrize("later", ["a large page", "a second process"])
def test_small_page_numbers_then_the_table(later: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages below DIRECT are their own ids until a page or a process needs the table; the ids
    given so far stay valid."""
    first = stream(4, 20_000, 500, 1)
    rng = np.random.default_rng(8)
    pages = np.where(rng.random(20_000) < 0.3, rng.integers(0, 500, 20_000), (1 << 40) + rng.integers(0, 300, 20_000))
    pids = rng.integers(0, 2, 20_000) if later == "a second process" else None
    if pids is not None:
        pages = rng.integers(0, 700, 20_000)
        first = [Chunk(c.pages, c.writes, np.zeros(len(c), np.int64)) for c in first]
    rest = [Chunk(pages[i : i + 5_000], None, None if pids is None else pids[i : i + 5_000]) for i in range(0, 20_000, 5_000)]
    for policy in ("lru", "clock", "arc"):
        compiled, python = both(first + rest, policy, 120, monkeypatch)
        assert compiled == python


def test_loading_numba_leaves_scipy_linalg_unimported() -> None:
    """numba's CPU target imports scipy.linalg for BLAS (about 0.3 s), which no compiled loop uses:
    loading the loops hides it, and it still imports normally afterwards."""
    pytest.importorskip("scipy")
    code = (
        "import sys\n"
        "from vmsim.vm import jit\n"
        "assert jit.enabled()\n"
        "assert 'scipy.linalg' not in sys.modules, 'scipy.linalg was imported'\n"
        "import numpy, scipy.linalg\n"
        "print(scipy.linalg.det(numpy.eye(3)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "VMSIM_JIT"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1.0"
