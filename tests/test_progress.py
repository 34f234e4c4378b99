"""Progress on stderr for long runs, and Ctrl-C as "stop and print what you have"."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.metrics.progress import Progress
from vmsim.policies import parse_policy
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "traces"


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
        assert r.partial and r.to_dict()["partial"] is True
        assert r.references == 2000 and r.hits + r.faults == r.references
        if whole2 is not None:
            assert r.faults == whole2.faults


def test_stopping_simulate_marks_the_result_partial() -> None:
    sc = load_scenario(ROOT / "scenarios" / "thrashing.yaml", ["processes.0.count=8"])
    r = simulate(sc, on_sample=lambda refs, faults: True)
    full = simulate(sc)
    assert r.partial and r.to_dict()["partial"] is True
    assert r.references < full.references
    assert r.simulated_time_s < full.simulated_time_s


def test_ctrl_c_prints_partial_results_and_exits_130() -> None:
    trace = SHARED / "bzip2.lackey.gz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmsim", "replay", str(trace), "-f", "64", "-p", "clock", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(2.0)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    d = json.loads(out)
    assert d["partial"] is True and 0 < d["references"] < 10_844_607
    assert "Traceback" not in err and "partial" in err
