"""`vmsim compare`: every policy at every frame count on one input, OPT as the reference, and
every Belady anomaly (more frames, more faults) found on the way."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vmsim.engine import replay
from vmsim.metrics.schema import SCHEMA_VERSION, Anomaly, CompareDoc, Run
from vmsim.policies import PolicySpec, parse_policy


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
) -> CompareDoc:
    """Run every (policy, frames) pair; add OPT as the reference when the input allows it (a
    trace always; a scenario under local replacement). Scenario runs carry CPU utilisation.
    ``progress(references, faults)`` returning True stops the current run, which is marked
    partial, and skips the rest."""
    from vmsim import __version__

    labels = [p.label for p in policies]
    runs: list[Run] = []
    config: dict[str, Any] = {"input": str(path), "policies": labels, "frames": frames}
    if is_scenario(path):
        from vmsim.scenario.build import simulate
        from vmsim.scenario.loader import load_scenario

        base = load_scenario(path, overrides or [])
        ps = base.machine.page_size
        config.update(kind="scenario", overrides=overrides or [], scenario=base.model_dump(mode="json"))
        if "opt" not in labels and base.kernel.replacement.scope == "local":
            policies = [parse_policy("opt"), *policies]

        def run_one(spec: PolicySpec, f: int) -> Run:
            sc = load_scenario(path, [*(overrides or []), f"kernel.replacement.policy={spec.label}",
                                      f"machine.memory={f * ps}"])
            return Run.of_simulation(spec.label, f, simulate(sc, on_sample=progress))
    else:
        from vmsim.workloads import open_trace

        source = open_trace(path, trace_format, page_size)
        config.update(kind="trace", format=source.fmt, page_size=page_size, seed=seed)
        if "opt" not in labels:
            policies = [parse_policy("opt"), *policies]

        def run_one(spec: PolicySpec, f: int) -> Run:
            return Run.of(replay(source, spec, f, seed=seed, on_chunk=progress))

    for spec, f in itertools.product(policies, frames):
        runs.append(run_one(spec, f))
        if runs[-1].partial:
            break
    return CompareDoc(schema_version=SCHEMA_VERSION, vmsim_version=__version__, command="compare", config=config,
                      partial=any(r.partial for r in runs), runs=runs, anomalies=anomalies(runs))


def anomalies(runs: Sequence[Run]) -> list[Anomaly]:
    """Belady anomalies: for each policy, consecutive frame counts where more frames fault more."""
    out: list[Anomaly] = []
    by_policy: dict[str, list[tuple[int, int]]] = {}
    for r in runs:
        by_policy.setdefault(r.policy, []).append((r.frames, r.faults))
    for policy, points in by_policy.items():
        points.sort()
        for (f1, n1), (f2, n2) in itertools.pairwise(points):
            if n2 > n1:
                out.append(Anomaly(policy=policy, frames_from=f1, frames_to=f2, faults_from=n1, faults_to=n2))
    return out
