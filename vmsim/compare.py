"""`vmsim compare`: every policy at every frame count on one input, OPT as the reference, and
every Belady anomaly (more frames, more faults) found on the way."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vmsim.engine import replay
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.schema import SCHEMA_VERSION, CompareDoc, Run, anomalies
from vmsim.parallel import Totals, run_jobs
from vmsim.policies import PolicySpec, parse_policy


def is_scenario(path: Path) -> bool:
    """Whether ``path`` names a YAML scenario (by its suffix) rather than a trace."""
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
    progress: ProgressFn | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> CompareDoc:
    """Run every (policy, frames) pair; add OPT as the reference when the input allows it (a
    trace always; a scenario under local replacement). Scenario runs carry CPU utilisation.

    With one worker and no scheduler the runs are made here in order, and ``progress(references,
    faults)`` returning True stops the current run, marked partial, and skips the rest. Otherwise
    they run in parallel (:func:`vmsim.parallel.run_jobs`), ``progress`` gets the totals as each
    run finishes, and stopping keeps the runs finished. The runs are listed in the same order and
    with the same counters whatever the number of workers."""
    from vmsim import __version__

    labels = [p.label for p in policies]
    config: dict[str, Any] = {"input": str(path), "policies": labels, "frames": frames}
    jobs: list[Any]
    if is_scenario(path):
        from vmsim.scenario.loader import check_cpu_memory, load_grid, load_scenario

        base = load_scenario(path, overrides or [])
        check_cpu_memory(base, str(path), "compare and curve")
        ps = base.machine.page_size
        config.update(kind="scenario", overrides=overrides or [], scenario=base.model_dump(mode="json"))
        if "opt" not in labels and base.kernel.replacement.scope == "local":
            policies = [parse_policy("opt"), *policies]
        # Jobs carry the validated scenario as plain data (it pickles; the worker validates it again)
        # and the policy's spec (unpickling it loads a plug-in in a worker that lacks it).
        pairs = list(itertools.product(policies, frames))
        points = [{"kernel.replacement.policy": spec.label, "machine.memory": f * ps} for spec, f in pairs]
        scenarios = load_grid(path, overrides or [], points)  # the YAML is read once for every run
        jobs = [(spec, f, sc.model_dump(mode="json")) for (spec, f), sc in zip(pairs, scenarios)]
        run_one: Callable[..., Run] = _simulate_job
    else:
        from vmsim.workloads import open_trace

        source = open_trace(path, trace_format, page_size)
        config.update(kind="trace", format=source.fmt, page_size=page_size, seed=seed)
        if "opt" not in labels:
            policies = [parse_policy("opt"), *policies]
        jobs = [(source, spec, f, seed) for spec, f in itertools.product(policies, frames)]
        run_one = _replay_job

    runs: list[Run] = []
    if workers == 1 and scheduler is None:
        for job in jobs:
            runs.append(run_one(job, progress))
            if runs[-1].partial:
                break
    else:
        totals = Totals(progress)
        done = run_jobs(
            run_one, jobs, workers=workers, scheduler=scheduler, on_result=lambda _, r: totals.add(r.references, r.faults)
        )
        runs = [done[i] for i in range(len(jobs)) if i in done]
    return CompareDoc(
        schema_version=SCHEMA_VERSION,
        vmsim_version=__version__,
        command="compare",
        config=config,
        partial=len(runs) < len(jobs) or any(r.partial for r in runs),
        runs=runs,
        anomalies=anomalies(runs),
    )


def _simulate_job(job: tuple[PolicySpec, int, dict[str, Any]], on_sample: ProgressFn | None = None) -> Run:
    from vmsim.scenario.build import simulate
    from vmsim.scenario.models import Scenario

    spec, f, data = job
    return Run.of_simulation(spec.label, f, simulate(Scenario.model_validate(data), on_sample=on_sample))


def _replay_job(job: tuple[Any, PolicySpec, int, int], on_chunk: ProgressFn | None = None) -> Run:
    source, spec, f, seed = job
    return Run.of(replay(source, spec, f, seed=seed, on_chunk=on_chunk))
