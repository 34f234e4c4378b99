"""What several test modules share (a helper module, not a test module): the shared traces'
directory, libCacheSim as an optional oracle, the generated and shared reference streams, and
small re-iterable sources, a simulation drawn and reported. Fixtures built on these are in
conftest.py."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vmsim.cli import main
from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.policies import parse_policy
from vmsim.workloads import open_trace

ROOT = Path(__file__).resolve().parents[1]
#: The real lackey traces (../shared/traces beside the repository; VMSIM_TRACES overrides).
TRACES = Path(os.environ.get("VMSIM_TRACES") or ROOT.parent / "shared" / "traces")
SLICE = 100_000
HASHPOWER = 16  # the default (24) makes every cache slow to create


class _Optional:
    """A module imported on first use; without it, the test that uses it is skipped (only that
    test: the others in its module still run)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            try:
                self._module = importlib.import_module(self._name)
            except ImportError:
                pytest.skip(f"{self._name} is not installed")
        return getattr(self._module, attr)


#: libCacheSim, the independent C oracle (pip install libcachesim).
lcs: Any = _Optional("libcachesim")


class Chunks:
    """A picklable re-iterable source over fixed chunks."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    def __call__(self) -> Iterator[Chunk]:
        return iter(self.chunks)


def lcs_misses(cache_obj: object, pages: Sequence[int]) -> int:
    """Misses of a libCacheSim cache, one ``get`` per reference (an exact integer count)."""
    req = lcs.Request()
    req.obj_size = 1
    get = cache_obj.get  # type: ignore[attr-defined]
    misses = 0
    for page in pages:
        req.obj_id = page
        misses += not get(req)
    return misses


def vm_faults(chunk: Chunk, policy: str, frames: int) -> int:
    """vmsim's fault count for one in-memory chunk."""
    return replay(lambda: [chunk], parse_policy(policy), frames).faults


@cache
def generated(name: str) -> Chunk:
    """Synthetic traces (fixed seeds), with about 10% writes (they do not change fault counts)."""
    rng = np.random.default_rng(20240601)
    if name == "uniform":  # 10k references over 200 pages
        pages = rng.integers(0, 200, 10_000)
    elif name == "zipf":  # 20k references, skewed (s=1.1) over 1,000 pages, hot pages scattered
        ranks = np.arange(1, 1001)
        prob = ranks**-1.1
        pages = rng.permutation(1000)[rng.choice(1000, 20_000, p=prob / prob.sum())]
    elif name == "loop":  # a 600-page loop, longer than every memory size used
        pages = np.tile(np.arange(600), 20)
    elif name == "phases":  # 4 phases of 4k references, each on its own (overlapping) working set
        pages = np.concatenate([rng.integers(k * 40, k * 40 + 60, 4000) for k in range(4)])
        # occasional references far outside the working set
        stray = rng.random(len(pages)) < 0.02
        pages[stray] = rng.integers(1000, 2000, int(stray.sum()))
    else:
        raise KeyError(name)
    writes = (rng.random(len(pages)) < 0.1).astype(np.uint8)
    return Chunk(np.asarray(pages, dtype=np.int64), writes)


@cache
def shared(name: str) -> Chunk:
    """The first 100,000 accesses of a shared lackey trace, read with vmsim's own trace reader."""
    path = TRACES / f"{name}.lackey.gz"
    if not path.exists():
        pytest.skip(f"shared trace {path} is not available")
    chunks = list(open_trace(path, limit=SLICE)())
    pages = np.concatenate([c.pages for c in chunks])
    writes = np.concatenate([c.writes for c in chunks])
    assert len(pages) == SLICE
    return Chunk(pages, writes)


GENERATED = ("uniform", "zipf", "loop", "phases")
GENERATED_FRAMES = (1, 2, 7, 64, 500)
SHARED = ("bzip2", "sort")
SHARED_FRAMES = (4, 16, 48)  # each slice touches about 95 distinct pages

CASES = [("gen", t, f) for t in GENERATED for f in GENERATED_FRAMES] + [("shared", t, f) for t in SHARED for f in SHARED_FRAMES]


def load(kind: str, name: str) -> Chunk:
    return generated(name) if kind == "gen" else shared(name)


def plot_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: Path, args: list[str]) -> str:
    """``simulate --plot`` (a real picture drawn), then ``simulate --format json`` turned into an
    HTML report by ``report --html``: the page's text."""
    png, doc, page = tmp_path / "s.png", tmp_path / "s.json", tmp_path / "s.html"
    assert main(["simulate", str(scenario), *args, "--plot", str(png), "-q"]) == 0
    assert png.stat().st_size > 10_000
    capsys.readouterr()
    assert main(["simulate", str(scenario), *args, "--format", "json"]) == 0
    doc.write_text(capsys.readouterr().out)
    assert main(["report", str(doc), "--html", str(page)]) == 0
    return page.read_text()
