"""Golden outputs of the kernel and the replay engine, to check that a refactoring changes nothing.

Records, for every shipped scenario and a grid of variants (load control, PFF, local scope, TLB,
every policy, several CPUs and channels), the full JSON document `vmsim simulate --format json`
prints (counters, simulated times, utilisations, the time series), and for the replay engine the
counters of every policy on slices of the shared traces, global and local. Then compares a later
run with the recording, document by document, and prints the first differing field of each.

    python benchmarks/kernel_golden.py record DIR      # before the change
    python benchmarks/kernel_golden.py check DIR       # after it: exit 1 if anything differs
    python benchmarks/kernel_golden.py check DIR --only thrashing   # names containing a string

Not a timed test: the whole grid takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "scenarios"
TRACES = ROOT.parent / "shared" / "traces"

POLICIES = [
    "fifo",
    "lru",
    "clock",
    "clock:ref_bit_on_load=false",
    "mru",
    "random",
    "second-chance",
    "esc",
    "nru",
    "aging",
    "nfu",
    "lfu",
    "mfu",
    "wsclock",
    "ws",
    "pff",
    "arc",
    "2q",
    "lirs",
    "clockpro",
    "s3fifo",
    "sieve",
    "lruk",
]


def _cases() -> dict[str, tuple[str, list[str]]]:
    """name -> (scenario file, --set overrides)."""
    cases: dict[str, tuple[str, list[str]]] = {}
    for f in sorted(SCEN.glob("*.yaml")):
        cases[f.stem] = (f.name, [])
    th = "thrashing.yaml"
    for n in (1, 2, 4, 6, 8, 12):
        for lc in ("none", "working_set", "pff"):
            cases[f"thrashing-n{n}-{lc}"] = (th, [f"processes.0.count={n}", f"kernel.load_control.kind={lc}"])
        cases[f"thrashing-n{n}-pff-local"] = (
            th,
            [f"processes.0.count={n}", "kernel.load_control.kind=pff", "kernel.replacement.scope=local"],
        )
    cases["thrashing-ws-newest"] = (
        th,
        ["processes.0.count=8", "kernel.load_control.kind=working_set", "kernel.load_control.victim=newest"],
    )
    for tlb in (
        "{entries: 16}",
        "{entries: 16, ways: 4, asid: true}",
        "{entries: 8, policy: fifo}",
        "{entries: 8, policy: random, asid: true}",
    ):
        tag = tlb.replace(" ", "").replace("{", "").replace("}", "").replace(":", "").replace(",", "-")
        for lc in ("none", "working_set"):
            cases[f"thrashing-tlb-{tag}-{lc}"] = (
                th,
                ["processes.0.count=4", f"machine.tlb={tlb}", f"kernel.load_control.kind={lc}"],
            )
    cases["thrashing-cpus2-ch2"] = (th, ["processes.0.count=6", "machine.cpus=2", "machine.paging_device.channels=2"])
    cases["thrashing-cpus2-ws"] = (th, ["processes.0.count=8", "machine.cpus=2", "kernel.load_control.kind=working_set"])
    for pol in [*POLICIES, "opt"]:
        tag = pol.replace(":", "-").replace("=", "")
        if pol != "opt":
            cases[f"thrashing-global-{tag}"] = (th, ["processes.0.count=4", f"kernel.replacement.policy={pol}"])
        cases[f"thrashing-local-{tag}"] = (
            th,
            ["processes.0.count=4", f"kernel.replacement.policy={pol}", "kernel.replacement.scope=local"],
        )
        cases[f"thrashing-local-ws-{tag}"] = (
            th,
            [
                "processes.0.count=8",
                f"kernel.replacement.policy={pol}",
                "kernel.replacement.scope=local",
                "kernel.load_control.kind=working_set",
            ],
        )
    for pol in ("fifo", "clock", "nru", "ws", "pff", "arc"):
        cases[f"cnn_train-{pol}"] = ("cnn_train.yaml", [f"kernel.replacement.policy={pol}"])
    cases["cnn_train-opt-local"] = ("cnn_train.yaml", ["kernel.replacement.policy=opt", "kernel.replacement.scope=local"])
    for kv in ("contiguous", "os_demand"):
        cases[f"llm_serving-{kv}"] = ("llm_serving.yaml", [f"processes.0.workload.kv.manager={kv}"])
    cases["multi_tenant-ws"] = ("multi_tenant_thrash.yaml", ["kernel.load_control.kind=working_set"])
    cases["multi_tenant-pff"] = ("multi_tenant_thrash.yaml", ["kernel.load_control.kind=pff"])
    cases["multi_tenant-local-pff"] = (
        "multi_tenant_thrash.yaml",
        ["kernel.load_control.kind=pff", "kernel.replacement.scope=local"],
    )
    cases["dataloader-shuffle-clock"] = (
        "dataloader_shuffle.yaml",
        ["processes.0.workload.order=shuffle", "kernel.replacement.policy=clock"],
    )
    return cases


def _replay_cases() -> dict[str, tuple[str, str, int, str, int]]:
    """name -> (trace, policy, frames, scope, limit)."""
    out: dict[str, tuple[str, str, int, str, int]] = {}
    for pol in [*POLICIES, "opt"]:
        tag = pol.replace(":", "-").replace("=", "")
        for frames in (16, 256):
            out[f"replay-bzip2-{tag}-{frames}"] = ("bzip2.lackey.gz", pol, frames, "global", 300_000)
        out[f"replay-sort-{tag}-64"] = ("sort.lackey.gz", pol, 64, "global", 200_000)
        for scope in ("global", "local"):
            out[f"replay-multi-{tag}-{scope}"] = ("", pol, 96, scope, 0)
    return out


def _multi_stream() -> Any:
    """Three processes' interleaved references (Zipf-like, 20% writes), in chunks, as a source."""
    import numpy as np

    from vmsim.hw.access import Chunk

    rng = np.random.default_rng(7)
    chunks = []
    for _ in range(4):
        n = 50_000
        pids = rng.integers(0, 3, n)
        pages = (rng.zipf(1.2, n) % 400 + pids * 1000).astype(np.int64)
        chunks.append(Chunk(pages, (rng.random(n) < 0.2).astype(np.uint8), pids.astype(np.int64)))
    return lambda: iter(chunks)


def _sim(name: str, scen: str, sets: list[str]) -> tuple[str, Any]:
    from vmsim.metrics.schema import SimDoc, dump_json
    from vmsim.scenario.build import simulate
    from vmsim.scenario.loader import load_scenario

    doc = json.loads(dump_json(SimDoc.of(simulate(load_scenario(SCEN / scen, sets)))))
    doc.pop("vmsim_version", None)
    return name, doc


def _replay(name: str, trace: str, pol: str, frames: int, scope: str, limit: int) -> tuple[str, Any]:
    from vmsim.engine import replay
    from vmsim.policies import parse_policy
    from vmsim.workloads.traces import open_trace

    src = open_trace(TRACES / trace, limit=limit) if trace else _multi_stream()
    r = replay(src, parse_policy(pol), frames, scope=scope, seed=1)  # type: ignore[arg-type]
    return name, {
        "faults": r.faults,
        "cold": r.cold_faults,
        "evictions": r.evictions,
        "writebacks": r.writebacks,
        "references": r.references,
    }


def _first_diff(a: Any, b: Any, path: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'recorded' if k in a else 'new'}"
            d = _first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["record", "check"])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--only", default="", help="only the cases whose name contains this")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--ignore", action="append", default=[], help="a field to leave out of the comparison, e.g. global.thrashing (repeatable)"
    )
    args = ap.parse_args()
    sims = {k: v for k, v in _cases().items() if args.only in k}
    reps = {k: v for k, v in _replay_cases().items() if args.only in k}
    args.dir.mkdir(parents=True, exist_ok=True)
    bad = 0
    with ProcessPoolExecutor(args.workers) as pool:
        futs = [pool.submit(_sim, k, *v) for k, v in sims.items()]
        futs += [pool.submit(_replay, k, *v) for k, v in reps.items()]
        for fut in futs:
            name, doc = fut.result()
            path = args.dir / f"{name}.json"
            if args.mode == "record":
                path.write_text(json.dumps(doc, indent=1, sort_keys=True))
                continue
            if not path.exists():
                print(f"{name}: not recorded")
                continue
            old = json.loads(path.read_text())
            for field in args.ignore:
                for d_ in (old, doc):
                    *parents, last = field.split(".")
                    for k in parents:
                        d_ = d_.get(k, {}) if isinstance(d_, dict) else {}
                    if isinstance(d_, dict):
                        d_.pop(last, None)
            d = _first_diff(old, doc)
            if d:
                bad += 1
                print(f"{name}: DIFFERS at {d}")
    print(f"{len(futs)} cases, {bad} differ" if args.mode == "check" else f"{len(futs)} cases recorded in {args.dir}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
