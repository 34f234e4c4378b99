"""Lab (a) end to end: the sample student LFU loads with --policy-file, passes the lab's golden
check, agrees with libCacheSim's LFU, and a wrong policy under the same name fails the check."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vmsim.cli import main
from vmsim.engine import replay
from vmsim.policies import base, load_policy_file, parse_policy
from vmsim.policies._plugins import ORIGINS
from vmsim.testing import assert_faults
from vmsim.workloads import parse_refs

LAB = Path(__file__).resolve().parents[1] / "docs" / "labs" / "files" / "lab_a"
SAMPLE = LAB / "lfu.py"
GOLDEN = LAB / "golden.json"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = dict(base.REGISTRY), dict(base.ALIASES), dict(ORIGINS)
    yield
    for d, s in zip((base.REGISTRY, base.ALIASES, ORIGINS), saved):
        d.clear()
        d.update(s)  # type: ignore[arg-type]
    for name in [m for m in sys.modules if m.startswith("vmsim_plugin_")]:
        del sys.modules[name]


def test_without_the_plugin_the_golden_files_policy_is_unknown(capsys) -> None:
    assert main(["check", str(GOLDEN)]) == 2
    assert "unknown policy 'lab_lfu'" in capsys.readouterr().err


def test_the_sample_passes_the_labs_golden_check(capsys) -> None:
    assert main(["--policy-file", f"{SAMPLE}:LFU", "check", str(GOLDEN)]) == 0
    assert "8 runs: every counter matches" in capsys.readouterr().out


def test_a_wrong_policy_under_the_labs_name_fails_the_check(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "lab_lfu.py"
    fifo.write_text(
        "from vmsim.policies.fifo import FIFO\n\n"
        "class NotLFU(FIFO):\n    name = 'lab_lfu'\n    aliases = ()\n"
    )
    assert main(["check", str(GOLDEN), "--policy-file", str(fifo)]) == 1
    out = capsys.readouterr().out
    assert "lab_a.rw" in out and "faults" in out and "expected" in out


def test_the_handouts_hand_worked_counts() -> None:
    load_policy_file(str(SAMPLE))
    assert_faults("1 1 2 3 1 4 2 5 2 1", "lab_lfu", 3, 6)
    assert_faults("7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1", "lab_lfu", 3, 11)
    assert_faults("7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1", "lab_lfu", 4, 9)
    assert_faults("1 2 3 4 1 2 5 1 2 3 4 5", "lab_lfu", 3, 10)
    assert_faults("1 2 3 4 1 2 5 1 2 3 4 5", "lab_lfu", 4, 8)
    assert_faults("1 1 1 2 3 4 2 3 4 2 3 4", "lab_lfu", 3, 10)


def test_the_sample_agrees_with_libcachesim_lfu() -> None:
    lcs = pytest.importorskip("libcachesim")
    load_policy_file(str(SAMPLE))
    spec = parse_policy("lab_lfu")
    for seed in range(40):
        rng = random.Random(seed)
        pages = [int(rng.paretovariate(1.2)) % 20 for _ in range(300)]
        chunk = parse_refs(" ".join(map(str, pages)))
        for frames in (2, 3, 5, 8):
            cache = lcs.LFU(cache_size=frames, hashpower=10)
            req = lcs.Request()
            req.obj_size = 1
            misses = 0
            for p in pages:
                req.obj_id = p
                misses += not cache.get(req)
            assert replay(lambda c=chunk: [c], spec, frames).faults == misses, (seed, frames)
