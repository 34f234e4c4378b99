"""Every registered policy's faults on scenarios/cnn_train.yaml and on the shared bzip2 trace (issue 7).

cnn_train runs on the SimPy kernel with ``kernel.replacement.policy=NAME`` (its own scope, global;
a policy that needs the future, OPT, is exact only per process under local scope, so its row says
so instead). bzip2 is replayed with 64 frames (4 KiB pages), the whole trace unless ``--limit``
gives a prefix. Prints markdown rows for docs/policies.md.

    PYTHONPATH=$PWD python benchmarks/policy_table.py                 # every policy, whole trace
    PYTHONPATH=$PWD python benchmarks/policy_table.py -p arc --limit 2000000
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vmsim.engine import replay
from vmsim.errors import VmsimError
from vmsim.policies import available, parse_policy
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import load_scenario
from vmsim.workloads import open_trace

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "cnn_train.yaml"
BZIP2 = Path(os.environ.get("VMSIM_TRACES", ROOT.parent / "shared" / "traces")) / "bzip2.lackey.gz"
FRAMES = 64


def cnn_faults(name: str) -> str:
    """Global scope, as the scenario says; a policy that needs the future (OPT) runs under local
    scope instead, and the row says so."""
    try:
        result = simulate(load_scenario(SCENARIO, [f"kernel.replacement.policy={name}"]))
    except VmsimError as e:
        if "future" not in str(e):
            return f"n/a ({e})"
        local = simulate(load_scenario(SCENARIO, [f"kernel.replacement.policy={name}", "kernel.replacement.scope=local"]))
        return f"{local.faults:,} (local scope)"
    return f"{result.faults:,}"


def bzip2_faults(name: str, limit: int | None) -> str:
    if not BZIP2.exists():
        return "n/a (no trace)"
    return f"{replay(open_trace(BZIP2, limit=limit), parse_policy(name), FRAMES).faults:,}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-p", "--policies", default="", help="comma-separated names (default: every registered policy)")
    ap.add_argument("--limit", type=int, default=None, help="replay only this prefix of bzip2")
    args = ap.parse_args(argv)
    names = [n for n in args.policies.split(",") if n] or available()
    prefix = "whole trace" if args.limit is None else f"first {args.limit:,} accesses"
    print(f"| policy | cnn_train.yaml faults | bzip2 faults ({FRAMES} frames, {prefix}) |")
    print("|---|---:|---:|")
    for name in names:
        print(f"| {name} | {cnn_faults(name)} | {bzip2_faults(name, args.limit)} |", flush=True)


if __name__ == "__main__":
    main()
