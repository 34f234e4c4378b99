"""`vmsim compare`: every policy at every frame count on one input, OPT as the reference, and
every Belady anomaly (more frames, more faults) found on the way."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmsim.engine import replay
from vmsim.policies import PolicySpec, parse_policy


@dataclass(frozen=True)
class Anomaly:
    policy: str
    frames_from: int
    frames_to: int
    faults_from: int
    faults_to: int


def is_scenario(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def compare(
    path: Path,
    policies: list[PolicySpec],
    frames: list[int],
    *,
    page_size: int = 4096,
    trace_format: str | None = None,
    seed: int = 0,
    overrides: list[str] | None = None,
    progress: Callable[[int, int], bool] | None = None,
) -> tuple[list[dict[str, Any]], list[Anomaly]]:
    """Run every (policy, frames) pair; add OPT as the reference when the input allows it (a
    trace always; a scenario under local replacement). Returns run objects (as `replay`'s JSON,
    plus `cpu_utilization` for scenarios) and the anomalies. ``progress(references, faults)``
    returning True stops after the current run, which is marked partial."""
    labels = [p.label for p in policies]
    runs: list[dict[str, Any]] = []
    if is_scenario(path):
        from vmsim.scenario.build import simulate
        from vmsim.scenario.loader import load_scenario

        base = load_scenario(path, overrides or [])
        ps = base.machine.page_size
        if "opt" not in labels and base.kernel.replacement.scope == "local":
            policies = [parse_policy("opt"), *policies]
        for spec in policies:
            for f in frames:
                sc = load_scenario(path, [*(overrides or []), f"kernel.replacement.policy={spec.label}",
                                          f"machine.memory={f * ps}"])
                r = simulate(sc, on_sample=progress)
                g = r.global_dict()
                runs.append({
                    "policy": spec.label, "frames": f, "scope": r.scope, "seed": r.seed,
                    "references": r.references, "hits": r.hits, "faults": r.faults, "cold_faults": r.cold_faults,
                    "evictions": r.evictions, "writebacks": r.writebacks,
                    "fault_rate": round(r.faults / r.references, 6) if r.references else 0.0,
                    "cpu_utilization": g["cpu_utilization"],
                    **({"partial": True} if r.partial else {}),
                })
                if r.partial:
                    return runs, anomalies(runs)
    else:
        from vmsim.workloads import open_trace

        source = open_trace(path, trace_format, page_size)
        if "opt" not in labels:
            policies = [parse_policy("opt"), *policies]
        for spec in policies:
            for f in frames:
                run = replay(source, spec, f, seed=seed, on_chunk=progress)
                runs.append(run.to_dict())
                if run.partial:
                    return runs, anomalies(runs)
    return runs, anomalies(runs)


def anomalies(runs: list[dict[str, Any]]) -> list[Anomaly]:
    """Belady anomalies: for each policy, consecutive frame counts where more frames fault more."""
    out: list[Anomaly] = []
    by_policy: dict[str, list[tuple[int, int]]] = {}
    for r in runs:
        by_policy.setdefault(r["policy"], []).append((r["frames"], r["faults"]))
    for policy, points in by_policy.items():
        points.sort()
        for (f1, n1), (f2, n2) in itertools.pairwise(points):
            if n2 > n1:
                out.append(Anomaly(policy, f1, f2, n1, n2))
    return out
