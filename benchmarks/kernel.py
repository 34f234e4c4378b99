"""Kernel speed (issue 3): `vmsim simulate scenarios/speed.yaml` against `vmsim replay` of the same
references.

scenarios/speed.yaml runs 8 processes, 1M references in total, global LRU, about 3 faults per
1,000 references. The replay input is the same eight streams (same seeds: built by the scenario
layer) written as one `pid`-format trace, interleaved a quantum's worth of references at a time,
and replayed with global LRU over the same 2,048 frames. Both are timed as whole child processes
(start-up included), medians of --repeat runs.

    python benchmarks/kernel.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
SCENARIO = ROOT / "scenarios" / "speed.yaml"
VMSIM = str(Path(sys.executable).with_name("vmsim"))


def write_trace(path: Path) -> tuple[int, int]:
    """The scenario's streams as one pid trace, a slice (one quantum of references) per process
    in turn. Returns (references, frames)."""
    from vmsim.scenario.build import build
    from vmsim.scenario.loader import load_scenario

    sc = load_scenario(SCENARIO)
    kernel = build(sc)
    streams = [np.concatenate([c.pages for c in p.spec.workload.chunks()]) for p in kernel.procs]
    writes = [np.concatenate([c.writes for c in p.spec.workload.chunks()]) for p in kernel.procs]
    step = sc.kernel.scheduler.quantum // sc.machine.timing.memory_access
    total = 0
    with path.open("w") as fh:
        pos = [0] * len(streams)
        while any(pos[i] < len(s) for i, s in enumerate(streams)):
            for i, s in enumerate(streams):
                a, b = pos[i], min(len(s), pos[i] + step)
                for page, w in zip(s[a:b].tolist(), writes[i][a:b].tolist()):
                    fh.write(f"{'s' if w else 'l'} 0x{page << 12:x} {i}\n")
                total += b - a
                pos[i] = b
    return total, sc.machine.frames


def in_process(trace: Path, frames: int, repeat: int) -> dict[str, float]:
    """The simulation alone: scenario already loaded, trace already parsed into memory."""
    from vmsim.engine import replay
    from vmsim.policies import parse_policy
    from vmsim.scenario.build import simulate
    from vmsim.scenario.loader import load_scenario
    from vmsim.workloads import open_trace

    sc = load_scenario(SCENARIO)
    chunks = list(open_trace(trace)())
    sim, rep = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        simulate(sc)
        sim.append(time.perf_counter() - t)
        t = time.perf_counter()
        replay(lambda: chunks, parse_policy("lru"), frames)
        rep.append(time.perf_counter() - t)
    return {"simulate()": statistics.median(sim), "replay()": statistics.median(rep)}


def timed(cmd: list[str]) -> tuple[float, dict]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t, json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    trace = OUT / "speed.pid"
    refs, frames = write_trace(trace)
    sim_cmd = [VMSIM, "simulate", str(SCENARIO), "--format", "json"]
    rep_cmd = [VMSIM, "replay", str(trace), "--frames", str(frames), "--policy", "lru", "--format", "json"]
    sims, reps = [], []
    for _ in range(args.repeat):
        t, sim = timed(sim_cmd)
        sims.append(t)
        t, doc = timed(rep_cmd)
        rep = doc["runs"][0]
        reps.append(t)
    s, r = statistics.median(sims), statistics.median(reps)
    inproc = in_process(trace, frames, args.repeat)
    print("| path | references | faults | median s | M references/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| vmsim simulate scenarios/speed.yaml (SimPy kernel) | {sim['global']['references']:,} | "
        f"{sim['global']['faults']:,} | {s:.2f} | {sim['global']['references'] / s / 1e6:.2f} |"
    )
    print(
        f"| vmsim replay of the same references (pid trace, global LRU) | {rep['references']:,} | "
        f"{rep['faults']:,} | {r:.2f} | {rep['references'] / r / 1e6:.2f} |"
    )
    print(f"\nkernel / replay time: {s / r:.2f}x ({args.repeat} runs, medians; trace {refs:,} references, {frames} frames)")
    print(
        "\nIn one process, after imports (medians): "
        + ", ".join(f"{k} {v:.2f} s ({refs / v / 1e6:.2f} M/s)" for k, v in inproc.items())
    )


if __name__ == "__main__":
    main()
