"""Miss-ratio curve benchmark (issue 5): LRU at 50 sizes in one pass against one single replay.

In-process wall time (``time.perf_counter``; trace parsing included on both sides, interpreter
start-up and imports excluded), median of ``--repeat`` runs, interleaved. Inputs: the 1M-reference
Zipf(1.0) trace of benchmarks/run.py (written to benchmarks/out/zipf1m.pages if missing) and the
shared valgrind lackey trace of bzip2 (10.8M accesses, 4 KiB pages).

    python benchmarks/curve.py            # 3 repetitions
    python benchmarks/curve.py --quick    # 1 repetition
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
from common import repetitions

from vmsim.engine.curves import curve
from vmsim.engine.replay import replay
from vmsim.policies import parse_policy
from vmsim.workloads.traces import TraceSource, open_trace

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
LACKEY = HERE.parent.parent / "shared" / "traces" / "bzip2.lackey.gz"
ZIPF = OUT / "zipf1m.pages"


def zipf_trace() -> Path:
    """The Zipf trace of benchmarks/run.py (same parameters and seed), written once."""
    if not ZIPF.exists():
        rng = np.random.default_rng(20240502)
        n_pages = 100_000
        weights = 1.0 / np.arange(1, n_pages + 1, dtype=np.float64)
        ranks = rng.choice(n_pages, size=1_000_000, p=weights / weights.sum())
        pages = rng.permutation(n_pages).astype(np.int64)[ranks]
        OUT.mkdir(parents=True, exist_ok=True)
        ZIPF.write_text("\n".join(map(str, pages.tolist())) + "\n")
    return ZIPF


def sizes(low: int, high: int, single: int) -> list[int]:
    """50 sizes spread geometrically over [low, high], the single run's size among them."""
    grid = {single} | {round(float(x)) for x in np.geomspace(low, high, 49)}
    extra = low
    while len(grid) < 50:  # rounding merged some low sizes: fill in with the smallest missing
        grid.add(extra)
        extra += 1
    return sorted(grid)


def timed(fn: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - t0, out


def bench(name: str, source: TraceSource, single: int, grid: list[int], repeat: int) -> tuple[str, ...]:
    lru = parse_policy("lru")
    t_one: list[float] = []
    t_curve: list[float] = []
    for _ in range(repeat):
        s, run = timed(lambda: replay(source, lru, single))
        t_one.append(s)
        s, points = timed(lambda: curve(source, [lru], grid))
        t_curve.append(s)
    point = next(p for p in points if p.frames == single)  # type: ignore[attr-defined]
    assert (point.faults, point.writebacks) == (run.faults, run.writebacks), (point, run)  # type: ignore[attr-defined]
    one, many = statistics.median(t_one), statistics.median(t_curve)
    return (
        name,
        f"{run.references:,}",  # type: ignore[attr-defined]
        str(len(grid)),
        f"{grid[0]}..{grid[-1]}",
        f"{one:.2f}",
        f"{many:.2f}",
        f"{many / one:.2f}x",
        f"{point.faults:,}",
    )


def main() -> None:
    repeat = repetitions(__doc__.splitlines()[0])
    rows = [bench("zipf1m", open_trace(zipf_trace(), "pages"), 1000, sizes(10, 100_000, 1000), repeat)]
    if LACKEY.exists():
        rows.append(bench("bzip2", open_trace(LACKEY), 64, sizes(1, 4096, 64), repeat))
    head = ("input", "references", "sizes", "range", "1 replay s", "curve s", "curve / replay", "faults at single size")
    print(f"LRU curve vs one replay, median of {repeat}, in-process wall time (parsing included)\n")
    print("| " + " | ".join(head) + " |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
