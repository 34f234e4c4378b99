"""Sweep speed (issue 8): a 200-run grid with 1 worker, 2 local workers and a local Dask cluster.

The grid is scenarios/thrashing.yaml with 10 degrees of multiprogramming x 20 seeds (12,000
references per process, so a run takes 10-90 ms). Whole-sweep wall time, median of ``--repeat``
(default 5; the paths alternate within each repeat), in this process after imports; the same
results are checked across the three paths. A pure-Python CPU loop split the same way gives the
machine's own ceiling for the speed-up. Prints the
speed-up of 2 workers over 1 and the Dask path's cost per run over the plain process pool.

    python benchmarks/sweep.py [--repeat 5] [--references 12000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from vmsim.metrics.schema import dump_json
from vmsim.parallel import default_workers
from vmsim.sweep import sweep

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "thrashing.yaml"
VARY = ["processes.0.count=1..10", "seed=1..20"]


def timed(workers: int, scheduler: str | None, refs: int) -> tuple[float, str]:
    t0 = time.perf_counter()
    doc = sweep(SCENARIO, VARY, [f"processes.0.workload.references={refs}"], workers=workers, scheduler=scheduler).doc
    return time.perf_counter() - t0, dump_json(doc)


def _burn(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def ceiling(repeat: int) -> float:
    """Speed-up of 2 workers over 1 on 200 jobs of pure CPU work: what the machine allows."""
    from vmsim.parallel import run_jobs

    ratios = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_jobs(_burn, [200_000] * 200, workers=1)
        t1 = time.perf_counter()
        run_jobs(_burn, [200_000] * 200, workers=2)
        ratios.append((t1 - t0) / (time.perf_counter() - t1))
    return statistics.median(ratios)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--references", type=int, default=12000, help="references per process")
    args = ap.parse_args()
    paths = [
        ("1 worker (in this process)", 1, None),
        ("2 workers (process pool)", 2, None),
        ("2 workers (local Dask cluster)", 2, "local"),
    ]
    times: dict[str, list[float]] = {label: [] for label, *_ in paths}
    outputs: set[str] = set()
    for _ in range(args.repeat):
        for label, workers, scheduler in paths:
            seconds, out = timed(workers, scheduler, args.references)
            times[label].append(seconds)
            outputs.add(out)
    assert len(outputs) == 1, "the three paths gave different results"
    med = {label: statistics.median(ts) for label, ts in times.items()}
    runs = 200
    print(
        f"200-run sweep of {SCENARIO.name} ({args.references:,} references per process), {default_workers()} cores, "
        f"median of {args.repeat}\n"
    )
    print("| path | median s | runs/s |")
    print("|---|---:|---:|")
    for label, s in med.items():
        print(f"| {label} | {s:.2f} | {runs / s:.1f} |")
    one, pool, dask = (med[label] for label, *_ in paths)
    print(f"\n2 workers / 1 worker: {one / pool:.2f}x faster (pure CPU work on this machine: {ceiling(args.repeat):.2f}x)")
    print(
        f"Dask over the process pool: {1000 * (dask - pool) / runs:+.1f} ms per run "
        f"(the local cluster's start-up included: {dask - pool:+.2f} s in all)"
    )


if __name__ == "__main__":
    main()
