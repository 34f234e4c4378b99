"""The results model: versioned pydantic documents of every result vmsim prints.

The engines return plain immutable records (:mod:`vmsim.metrics.results`); each command turns them
into one document here, once, and every rendering (tables, JSON, CSV, plots, the HTML report) is
drawn from that document. Documents carry ``schema_version``, the vmsim version, the command and
its configuration echo, so a results file says what produced it. ``vmsim report`` reads them back
with :func:`load_results`. docs/results.schema.json is :func:`results_schema_text`.

JSON is written by :func:`dump_json`: fields left at their default (``partial: false``, absent
steps or processes) are omitted, every other field is always present, in the order declared here.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from vmsim.errors import VmsimError
from vmsim.metrics.results import (
    GPURecord,
    LLMRecord,
    ProcessCounters,
    ProcessStats,
    RunResult,
    Sample,
    SimResult,
    Step,
    Thrashing,
    ThrashingEpisode,
    TLBRecord,
)

__all__ = [
    "SCHEMA_VERSION",
    "Anomaly",
    "CompareDoc",
    "CurvePoint",
    "GPURecord",
    "GlobalStats",
    "LLMRecord",
    "ProcessCounters",
    "ProcessStats",
    "Results",
    "Run",
    "RunsDoc",
    "Sample",
    "SimDoc",
    "Step",
    "SweepDoc",
    "SweepPoint",
    "TLBRecord",
    "Thrashing",
    "ThrashingEpisode",
    "dump_json",
    "load_results",
    "results_schema",
    "results_schema_text",
]

#: Version of the documents' shape; bumped when a key is added to, removed from or changes meaning
#: in a document. 2: every document is an object with schema_version, vmsim_version and command.
SCHEMA_VERSION: Final = 2


def _version() -> str:
    from vmsim import __version__

    return __version__


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# Multiple bases: pydantic lays out the fields of the last base first, so ``class X(Counters, _RunKey)``
# puts the key before the counters.


class Counters(Record):
    """The counters every run and process reports. Cold faults are included in faults."""

    # The same six as results.ProcessCounters on purpose: the documents' Run and GlobalStats are
    # pydantic models with derived fields of their own and cannot take a dataclass as their base.

    references: int
    hits: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int


class _RunKey(Record):
    policy: str
    frames: int
    scope: str
    seed: int


class Run(Counters, _RunKey):
    """One policy at one number of frames, on a trace, a reference string or a scenario."""

    fault_rate: float
    #: Only for runs of a scenario on the kernel (compare).
    cpu_utilization: float | None = None
    #: Stopped early (Ctrl-C): the counters cover what ran.
    partial: bool = False
    processes: list[ProcessCounters] | None = None
    steps: list[Step] | None = None

    @classmethod
    def of(cls, r: RunResult) -> Run:
        """The document row of one run."""
        return cls(
            policy=r.policy,
            frames=r.frames,
            scope=r.scope,
            seed=r.seed,
            **_counters(r),
            fault_rate=_rate(r.faults, r.references),
            partial=r.partial,
            processes=list(r.processes) if len(r.processes) > 1 else None,
            steps=None if r.steps is None else list(r.steps),
        )

    @classmethod
    def of_simulation(cls, policy: str, frames: int, r: SimResult) -> Run:
        """A kernel run as a row of ``compare``: the global counters and CPU utilisation."""
        return cls(
            policy=policy,
            frames=frames,
            scope=r.scope,
            seed=r.seed,
            **_counters(r),  # type: ignore[arg-type]  # only Counters' fields, never processes or steps
            fault_rate=_rate(r.faults, r.references),
            cpu_utilization=round(r.cpu_utilization, 6),
            partial=r.partial,
        )


def _counters(r: Any) -> dict[str, int]:
    return {name: getattr(r, name) for name in Counters.model_fields}


def _rate(faults: int, references: int) -> float:
    return round(faults / references, 6) if references else 0.0


class _Doc(Record):
    schema_version: Literal[2]
    vmsim_version: str


class RunsDoc(_Doc):
    """`vmsim refs` and `vmsim replay`: one run per (policy, frames)."""

    command: Literal["refs", "replay"]
    #: What ran: the reference string, or the trace with its format, page size and limit.
    config: dict[str, Any]
    partial: bool = False
    runs: list[Run]

    @classmethod
    def of(
        cls, command: Literal["refs", "replay"], config: dict[str, Any], runs: Sequence[RunResult], partial: bool = False
    ) -> RunsDoc:
        """The document of a refs or replay command's runs; partial if any run is."""
        return cls(
            schema_version=SCHEMA_VERSION,
            vmsim_version=_version(),
            command=command,
            config=config,
            partial=partial or any(r.partial for r in runs),
            runs=[Run.of(r) for r in runs],
        )


class Anomaly(Record):
    """A Belady anomaly: the same policy faults more with more frames."""

    policy: str
    frames_from: int
    frames_to: int
    faults_from: int
    faults_to: int


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


class CompareDoc(_Doc):
    """`vmsim compare`: every policy at every frame count, OPT as the reference when the input
    allows it, and the anomalies found."""

    command: Literal["compare"]
    config: dict[str, Any]
    partial: bool = False
    runs: list[Run]
    anomalies: list[Anomaly]


class CurvePoint(Record):
    """One point of a miss-ratio curve (`vmsim curve --format json` prints a list of them)."""

    policy: str
    frames: int
    references: int
    faults: int
    writebacks: int
    partial: bool = False

    @classmethod
    def of(cls, run: Any) -> CurvePoint:
        """The point of one run (a RunResult or a document's Run: both have these fields)."""
        return cls(**{name: getattr(run, name) for name in cls.model_fields})

    @property
    def miss_ratio(self) -> float:
        """Faults per reference."""
        return self.faults / self.references if self.references else 0.0


class _Setup(Record):
    frames: int
    policy: str
    scope: str


class GlobalStats(Counters, _Setup):
    """A kernel simulation as a whole."""

    faults_per_1000_references: float
    faults_per_second: float
    cpu_utilization: float
    paging_device_utilization: float
    simulated_time_s: float
    context_switches: int
    thrashing: Thrashing
    tlb: TLBRecord | None = None
    gpu: GPURecord | None = None
    llm: LLMRecord | None = None

    @classmethod
    def of(cls, r: SimResult) -> GlobalStats:
        """The system-wide summary of a simulation, rounded as documents print it."""
        per_s = r.faults / r.simulated_time_s if r.simulated_time_s else 0.0
        th = r.thrashing
        return cls(
            frames=r.frames,
            policy=r.policy,
            scope=r.scope,
            **_counters(r),
            faults_per_1000_references=round(1000 * r.faults / r.references, 6) if r.references else 0.0,
            faults_per_second=round(per_s, 6),
            cpu_utilization=round(r.cpu_utilization, 6),
            paging_device_utilization=round(r.paging_device_utilization, 6),
            simulated_time_s=round(r.simulated_time_s, 9),
            context_switches=r.context_switches,
            thrashing=replace(
                th, fraction=round(th.fraction, 6), episodes=tuple(replace(e, share=round(e.share, 6)) for e in th.episodes)
            ),
            tlb=r.tlb,
            gpu=r.gpu,
            llm=r.llm,
        )


def _process_stats(r: SimResult) -> list[ProcessStats]:
    return [
        replace(
            p,
            running_s=round(p.running_s, 9),
            ready_s=round(p.ready_s, 9),
            blocked_s=round(p.blocked_s, 9),
            suspended_s=round(p.suspended_s, 9),
            workload=p.workload or None,
        )
        for p in r.processes
    ]


class SimDoc(_Doc):
    """`vmsim simulate`: one kernel simulation with its time series."""

    command: Literal["simulate"]
    scenario: str
    seed: int
    #: The validated scenario, as plain data.
    config: dict[str, Any]
    partial: bool = False
    global_: GlobalStats = Field(alias="global")
    processes: list[ProcessStats]
    samples: list[Sample] | None = None

    @classmethod
    def of(cls, r: SimResult, series: bool = True) -> SimDoc:
        """The document of a simulation; ``series`` False leaves out the samples."""
        samples = None
        if series:
            samples = [
                replace(
                    s,
                    cpu_utilization=round(s.cpu_utilization, 6),
                    paging_device_utilization=round(s.paging_device_utilization, 6),
                )
                for s in r.samples
            ]
        return cls(
            schema_version=SCHEMA_VERSION,
            vmsim_version=_version(),
            command="simulate",
            scenario=r.scenario,
            seed=r.seed,
            config=r.config or {},
            partial=r.partial,
            global_=GlobalStats.of(r),
            processes=_process_stats(r),
            samples=samples,
        )


class SweepPoint(Record):
    """One combination of a sweep: the varied values, the seed used, and the run's counters."""

    params: dict[str, Any]
    seed: int
    partial: bool = False
    global_: GlobalStats = Field(alias="global")
    processes: list[ProcessStats]

    @classmethod
    def of(cls, params: Mapping[str, Any], r: SimResult) -> SweepPoint:
        """The point of one combination of a sweep."""
        return cls(params=dict(params), seed=r.seed, partial=r.partial, global_=GlobalStats.of(r), processes=_process_stats(r))


class SweepDoc(_Doc):
    """`vmsim sweep`: one point per combination of the varied values."""

    command: Literal["sweep"]
    scenario: str
    #: The validated scenario before the varied values are applied.
    config: dict[str, Any]
    vary: list[str]
    partial: bool = False
    points: list[SweepPoint]


#: Every results document, told apart by its ``command``.
Results = Annotated[RunsDoc | CompareDoc | SimDoc | SweepDoc, Field(discriminator="command")]
_RESULTS: TypeAdapter[RunsDoc | CompareDoc | SimDoc | SweepDoc] = TypeAdapter(Results)
_CURVE: TypeAdapter[list[CurvePoint]] = TypeAdapter(list[CurvePoint])


def dump_json(doc: BaseModel | Sequence[BaseModel]) -> str:
    """The JSON of a document (or of a list of curve points): stable key order, no timings."""
    if isinstance(doc, BaseModel):
        data: Any = doc.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    else:
        data = [d.model_dump(mode="json", by_alias=True, exclude_defaults=True) for d in doc]
    return json.dumps(data, indent=2)


def load_results(data: Any, source: str | None = None) -> RunsDoc | CompareDoc | SimDoc | SweepDoc | list[CurvePoint]:
    """A parsed JSON results file as its document; a list is a curve. Anything else, or a document
    of another schema version, is a one-line VmsimError."""
    if isinstance(data, list):
        try:
            return _CURVE.validate_python(data)
        except ValidationError as e:
            raise VmsimError(f"not a vmsim curve: {_first_error(e)}", source=source) from None
    if not isinstance(data, dict) or "command" not in data:
        raise VmsimError(
            "not a vmsim results document: expected the JSON of refs, replay, simulate, sweep, compare or curve", source=source
        )
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise VmsimError(
            f"results of schema version {version} (vmsim {data.get('vmsim_version', '?')}); this vmsim "
            f"reads version {SCHEMA_VERSION}: re-run the command with this vmsim",
            source=source,
        )
    try:
        return _RESULTS.validate_python(data)
    except ValidationError as e:
        raise VmsimError(f"not a valid {data['command']!s} results document: {_first_error(e)}", source=source) from None


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def results_schema() -> dict[str, Any]:
    """The JSON Schema of every results document, and of a curve."""
    return {
        "title": "vmsim results",
        "schema_version": SCHEMA_VERSION,
        "documents": _RESULTS.json_schema(by_alias=True),
        "curve": _CURVE.json_schema(by_alias=True),
    }


def results_schema_text() -> str:
    """The results JSON Schema as sorted, indented text, as docs/results.schema.json holds it."""
    return json.dumps(results_schema(), indent=2, sort_keys=True) + "\n"
