"""`vmsim sweep`: one kernel run per combination of the varied values, here, in local worker
processes or on a Dask cluster, with an optional tidy results table that a stopped sweep can be
resumed from."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmsim import __version__
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.schema import SCHEMA_VERSION, GlobalStats, SweepDoc, SweepPoint
from vmsim.metrics.tidy import TidyTable, config_key
from vmsim.parallel import Totals, run_jobs
from vmsim.policies import PolicySpec
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import grid, load_grid
from vmsim.scenario.models import Scenario, policy_spec

__all__ = ["SweepOutcome", "sweep", "tidy_columns", "tidy_row"]

Progress = ProgressFn


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: the document of the runs made now, and how many the table already had."""

    doc: SweepDoc
    skipped: int


#: GlobalStats' nested records: a row flattens them into their own columns, not the counters'.
_RECORDS = ("thrashing", "tlb", "gpu", "llm")


def tidy_row(index: int, key: str, params: dict[str, Any], point: SweepPoint) -> dict[str, Any]:
    """One row of the results table: the run's place in the grid, its key, the varied values
    (one column per path), the seed and the global counters."""
    g = point.global_
    row: dict[str, Any] = {"run": index, "key": key}
    row.update({path: v if isinstance(v, int | float | str | bool) or v is None else json.dumps(v) for path, v in params.items()})
    row.update(g.model_dump(exclude=set(_RECORDS)))
    row["seed"] = point.seed
    row["thrashing"] = g.thrashing.detected
    row["thrashing_since_s"] = g.thrashing.since_s
    if g.tlb is not None:
        row["tlb_hit_ratio"] = g.tlb.hit_ratio
        row["effective_access_ns"] = g.tlb.effective_access_ns
    for name in ("gpu", "llm"):
        record = getattr(g, name)
        if record is not None:
            row.update({f"{name}_{k}": v for k, v in record.__dict__.items()})
    return row


def tidy_columns(paths: Sequence[str]) -> list[str]:
    """The columns every row of the table has (:func:`tidy_row`; the TLB and GPU columns are added
    only for a scenario with a TLB or a GPU): what a table to resume must have, for these ``--vary``
    paths."""
    counters = [f for f in GlobalStats.model_fields if f not in _RECORDS]
    return ["run", "key", *paths, *counters, "seed", "thrashing", "thrashing_since_s"]


def _run_point(job: tuple[dict[str, Any], dict[str, Any], PolicySpec]) -> SweepPoint:
    """One run in a worker: the scenario travels as plain data (it pickles) and is validated again.
    Its policy travels as a PolicySpec too: unpickling one loads a plug-in policy in a worker
    that did not inherit the registry (spawn, Dask), before the scenario names it."""
    params, data, _ = job
    return SweepPoint.of(params, simulate(Scenario.model_validate(data)))


def sweep(
    path: str | Path,
    vary: Sequence[str],
    overrides: Sequence[str] = (),
    *,
    workers: int = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    label: Callable[[str], None] | None = None,
) -> SweepOutcome:
    """Validate every point first, then run those not already in ``out`` (with ``resume``; a table
    that is not one of this grid is refused, before any run).

    With one worker and no scheduler the runs are made here, and ``progress(references,
    faults)`` is called during each run (returning True stops that run, marked partial, and the
    sweep). Otherwise runs go to :func:`vmsim.parallel.run_jobs` and ``progress`` is called with
    the totals as each run finishes. Every finished run is added to the table at once; a partial
    run never is. ``label(text)`` is told what is running.
    """
    params = grid(list(vary))
    # The YAML is read once: the base scenario (nothing varied) first, then every point.
    base, *scenarios = load_grid(path, list(overrides), [{}, *params])
    configs = [sc.model_dump(mode="json") for sc in scenarios]
    keys = [config_key(c) for c in configs]
    table = None
    if out is not None:  # a table to resume must be one of this grid: its columns, and only its runs
        table = TidyTable(out, resume=resume, overwrite=force, columns=tidy_columns(list(params[0])), keys=set(keys))
    done_keys = table.keys() if table is not None else set()
    todo = [i for i, k in enumerate(keys) if k not in done_keys]
    points: dict[int, SweepPoint] = {}

    def finished(i: int, point: SweepPoint) -> None:
        points[i] = point
        if table is not None and not point.partial:
            table.add(tidy_row(i, keys[i], params[i], point))

    stopped = False
    try:
        if workers == 1 and scheduler is None:
            for n, i in enumerate(todo, 1):
                if label is not None:
                    label(f"sweep {n}/{len(todo)}")
                finished(i, SweepPoint.of(params[i], simulate(scenarios[i], on_sample=progress)))
                if points[i].partial:
                    stopped = True
                    break
        else:
            totals = Totals(progress)
            if label is not None:
                label(f"sweep of {len(todo)} runs ({scheduler or f'{workers} workers'})")

            def on_result(j: int, point: SweepPoint) -> bool:
                nonlocal stopped
                finished(todo[j], point)
                stopped = totals.add(point.global_.references, point.global_.faults)
                return stopped

            jobs = [(params[i], configs[i], policy_spec(scenarios[i].kernel.replacement.policy)) for i in todo]
            run_jobs(_run_point, jobs, workers=workers, scheduler=scheduler, on_result=on_result)
    finally:
        if table is not None:
            table.close(order=keys)
    ordered = [points[i] for i in todo if i in points]
    doc = SweepDoc(
        schema_version=SCHEMA_VERSION,
        vmsim_version=__version__,
        command="sweep",
        scenario=base.name,
        config=base.model_dump(mode="json"),
        vary=list(vary),
        partial=stopped or len(ordered) < len(todo) or any(p.partial for p in ordered),
        points=ordered,
    )
    return SweepOutcome(doc, len(keys) - len(todo))
