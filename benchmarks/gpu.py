"""GPU (CUDA Unified Memory) speed (issue 16): a 16 GiB job of 64 KiB pages on a GPU it
oversubscribes 1.5x, simulated in-process (the fits run for the slowdown included), against only
generating the same job's access stream (the floor any simulation of it pays).

    python benchmarks/gpu.py            # 3 repetitions, medians
    python benchmarks/gpu.py --quick    # 1 repetition
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from common import repetitions

from vmsim.scenario.build import build_gpu, simulate
from vmsim.scenario.loader import checked


def job(access: str) -> dict[str, Any]:
    """Four 4 GiB managed arrays (one written), three launches, on an A100 40GB at 1.5x."""
    return {
        "name": f"gpu-16gib-{access}",
        "machine": {"page_size": "64KiB", "gpu": {"preset": "a100-40gb", "oversubscription": 1.5}},
        "processes": [
            {
                "name": "k",
                "workload": {
                    "kind": "gpu_kernel",
                    "access": access,
                    "iterations": 3,
                    "arrays": [{"name": f"a{i}", "size": "4GiB", "write": i == 3} for i in range(4)],
                },
            }
        ],
    }


def main() -> None:
    """Print one markdown row per access pattern: medians of wall seconds."""
    reps = repetitions(__doc__.splitlines()[0])
    print("| job | references | faults | slowdown | simulate s | stream only s | simulate / stream | M refs/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for access in ("regular", "irregular"):
        sc = checked(job(access), "benchmarks/gpu.py")
        sim, gen = [], []
        result = None
        for _ in range(reps):
            t = time.perf_counter()
            for p in build_gpu(sc).processes:
                for _chunk in p.workload.chunks():
                    pass
            gen.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = simulate(sc)
            sim.append(time.perf_counter() - t)
        assert result is not None and result.gpu is not None
        s, g = statistics.median(sim), statistics.median(gen)
        print(
            f"| 16 GiB {access}, 64 KiB pages, 1.5x | {result.references:,} | {result.faults:,} | "
            f"{result.gpu.slowdown:.1f}x | {s:.2f} | {g:.2f} | {s / g:.1f}x | {result.references / s / 1e6:.2f} |"
        )


if __name__ == "__main__":
    main()
