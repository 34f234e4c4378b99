"""LLM serving speed (issue 17): ten simulated minutes of OPT-13B on an A100-40GB
(scenarios/vllm_memory_waste.yaml), per KV manager, as whole `vmsim simulate` processes
(interpreter start-up and imports included), against the issue's budget of one minute of wall
time. Like benchmarks/run.py, the untimed setup byte-compiles vmsim first (these machines set
PYTHONDONTWRITEBYTECODE, so an editable tree would be compiled in every timed process).

    python benchmarks/llm.py            # 3 repetitions, interleaved, medians
    python benchmarks/llm.py --quick    # 1 repetition
"""

from __future__ import annotations

import compileall
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import repetitions

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "vllm_memory_waste.yaml"
W = "processes.0.workload"
#: (label, --set overrides)
CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("paged, recompute, 2 requests/s (the scenario)", ()),
    ("paged, recompute, 5 requests/s", (f"{W}.rate=5",)),
    ("paged, swap, 5 requests/s", (f"{W}.kv.preemption=swap", f"{W}.rate=5")),
    ("contiguous, max, 5 requests/s", (f"{W}.kv.manager=contiguous", f"{W}.rate=5")),
    ("os_demand (LRU), 5 requests/s", (f"{W}.kv.manager=os_demand", f"{W}.rate=5")),
    ("paged, 1,000 requests/s", (f"{W}.rate=1000",)),
)
BUDGET_S = 60.0


def run(sets: tuple[str, ...]) -> tuple[float, dict]:
    """One whole process: its wall seconds and its JSON document."""
    args = [sys.executable, "-m", "vmsim", "simulate", str(SCENARIO), "--format", "json", "-q"]
    for s in sets:
        args += ["--set", s]
    t = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return time.perf_counter() - t, json.loads(out)


def main() -> None:
    """Print one markdown row per case: the served figures and the median wall seconds."""
    reps = repetitions(__doc__.splitlines()[0])
    compileall.compile_dir(ROOT / "vmsim", quiet=1)
    times: dict[str, list[float]] = {label: [] for label, _ in CASES}
    docs: dict[str, dict] = {}
    for _ in range(reps):
        for label, sets in CASES:
            dt, doc = run(sets)
            times[label].append(dt)
            docs[label] = doc
    print("| case | requests | iterations | references | faults | wall s (median) | per-run range s | budget / wall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for label, _ in CASES:
        g = docs[label]["global"]
        llm = g["llm"]
        med = statistics.median(times[label])
        span = f"{min(times[label]):.2f}-{max(times[label]):.2f}"
        print(
            f"| {label} | {llm['requests']:,} | {llm['iterations']:,} | {g['references']:,} | {g['faults']:,} | "
            f"{med:.2f} | {span} | {BUDGET_S / med:.0f}x |"
        )


if __name__ == "__main__":
    main()
