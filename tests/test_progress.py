"""Progress on stderr for long runs, and Ctrl-C as "stop and print what you have"."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import TRACES, Chunks

from vmsim.engine import replay
from vmsim.engine.curves import curve
from vmsim.hw.access import Chunk
from vmsim.metrics.progress import Progress
from vmsim.metrics.schema import Run, SimDoc, dump_json
from vmsim.policies import parse_policy
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal_and_cleared() -> None:
    tty = Tty()
    with Progress("run", stream=tty, delay=0, interval=0) as p:
        assert p(1_000_000, 42) is False
    out = tty.getvalue()
    assert out.startswith("\rrun: 1,000,000 references, 42 faults")
    assert out.endswith("\r")
    plain = io.StringIO()
    with Progress("run", stream=plain, delay=0, interval=0) as p:
        p(10, 1)
    assert plain.getvalue() == ""


def test_stopping_replay_gives_a_partial_but_consistent_result() -> None:
    rng = np.random.default_rng(0)
    chunks = [Chunk(rng.integers(0, 50, 1000), (rng.random(1000) < 0.3).astype(np.uint8)) for _ in range(5)]
    for policy in ("lru", "clock", "opt"):
        calls = []

        def stop_after_two(refs: int, faults: int, calls: list = calls) -> bool:
            calls.append(refs)
            return len(calls) > 2

        r = replay(lambda: chunks, parse_policy(policy), 8, on_chunk=stop_after_two)
        whole2 = replay(lambda: chunks[:2], parse_policy(policy), 8) if policy != "opt" else None
        assert r.partial and json.loads(dump_json(Run.of(r)))["partial"] is True
        assert r.references == 2000 and r.hits + r.faults == r.references
        if whole2 is not None:
            assert r.faults == whole2.faults


def test_stopping_simulate_marks_the_result_partial() -> None:
    sc = load_scenario(ROOT / "scenarios" / "thrashing.yaml", ["processes.0.count=8"])
    r = simulate(sc, on_sample=lambda refs, faults: True)
    full = simulate(sc)
    assert r.partial and json.loads(dump_json(SimDoc.of(r)))["partial"] is True
    assert "partial" not in json.loads(dump_json(SimDoc.of(full)))
    assert r.references < full.references
    assert r.simulated_time_s < full.simulated_time_s


def interrupted(*args: str) -> tuple[str, str]:
    """Run vmsim on the bzip2 trace, press Ctrl-C once its progress line shows the run is under
    way; stdout and stderr, after checking the exit code is 130 and no traceback was printed."""
    env = {**os.environ, "VMSIM_PROGRESS": "1", "VMSIM_PROGRESS_DELAY": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmsim", args[0], str(TRACES / "bzip2.lackey.gz"), *args[1:], "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    seen = ""
    while seen.count(" references") < 2:  # under way: its progress line drawn twice
        c = proc.stderr.read(1)
        assert c, f"vmsim ended before drawing a progress line: {seen!r}"
        seen += c
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    err = seen + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "partial" in err
    return out, err


def test_ctrl_c_prints_partial_results_and_exits_130() -> None:
    out, _ = interrupted("replay", "-f", "64", "-p", "clock")
    doc = json.loads(out)
    [d] = doc["runs"]
    assert doc["partial"] is True and d["partial"] is True and 0 < d["references"] < 10_844_607


def _stop_after(n: int):
    calls: list[int] = []

    def progress(refs: int, faults: int | None) -> bool:
        calls.append(refs)
        return len(calls) > n

    return progress


@pytest.mark.parametrize("workers", [1, 2])
def test_stopping_a_curve_keeps_the_finished_sizes(workers: int) -> None:
    rng = np.random.default_rng(1)
    chunks = [Chunk(rng.integers(0, 40, 500)) for _ in range(4)]
    source = Chunks(chunks)
    specs = [parse_policy("fifo")]
    full = curve(source, specs, [2, 4, 8, 16], workers=workers)
    part = curve(source, specs, [2, 4, 8, 16], workers=workers, progress=_stop_after(1 if workers > 1 else 5))
    assert 0 < len(part) < len(full)
    done = [p for p in part if not p.partial]
    # Every point finished is exact; in-process, the run that was stopped is marked partial.
    assert all(p == next(q for q in full if q.frames == p.frames) for p in done)
    if workers == 1:
        assert part[-1].partial and part[-1].references < 2000


def test_stopping_the_lru_pass_gives_the_prefix_curve() -> None:
    rng = np.random.default_rng(2)
    chunks = [Chunk(rng.integers(0, 40, 500)) for _ in range(4)]
    part = curve(Chunks(chunks), [parse_policy("lru"), parse_policy("fifo")], [2, 8], progress=_stop_after(1))
    prefix = curve(Chunks(chunks[:2]), [parse_policy("lru")], [2, 8])
    assert [p.policy for p in part] == ["lru", "lru"] and all(p.partial for p in part)
    assert [(p.references, p.faults) for p in part] == [(p.references, p.faults) for p in prefix]


def test_curve_cli_ctrl_c_prints_partial_points_and_exits_130() -> None:
    out, _ = interrupted("curve", "-f", "16,64", "-p", "fifo", "--workers", "1")
    points = json.loads(out)
    assert points and points[-1]["partial"] is True and 0 < points[-1]["references"] < 10_844_607
