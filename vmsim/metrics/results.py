"""Immutable result records. Summaries are computed from them, never kept alongside."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Version of the JSON results' shape (docs/results.schema.json); bumped when a key changes meaning.
SCHEMA_VERSION = 1


#: The counters every run and process reports, in their JSON order.
COUNTERS = ("references", "hits", "faults", "cold_faults", "evictions", "writebacks")


def _counters(record: Any) -> dict[str, int]:
    return {name: getattr(record, name) for name in COUNTERS}


def _version() -> str:
    from vmsim import __version__

    return __version__


@dataclass(frozen=True)
class ProcessResult:
    """Counters of one process. Evictions and write-backs are charged to the page's owner."""

    pid: int
    references: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int

    @property
    def hits(self) -> int:
        return self.references - self.faults

    def counters(self) -> dict[str, Any]:
        """The counters as JSON, in a fixed order."""
        return {"pid": self.pid, **_counters(self)}


@dataclass(frozen=True)
class Step:
    """One access of a step-by-step run (``--explain`` and the OSTEP profile)."""

    pid: int
    page: int
    write: bool
    hit: bool
    #: Page held by each frame after the access, by frame number (None = free).
    frames: tuple[int | None, ...]
    #: Pages of the faulting process's replacement domain in the policy's order.
    order: tuple[int, ...]
    #: Page evicted by this access, if any.
    victim: int | None


@dataclass(frozen=True)
class RunResult:
    """The outcome of one single-stream run: one policy at one number of frames."""

    policy: str
    frames: int
    scope: str
    seed: int
    references: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int
    processes: tuple[ProcessResult, ...] = ()
    steps: tuple[Step, ...] | None = None
    #: Stopped early (Ctrl-C): the counters cover the accesses replayed so far.
    partial: bool = False
    #: What was replayed (input, format, page size, ...), echoed in the JSON when set.
    config: dict[str, Any] | None = None

    @property
    def hits(self) -> int:
        return self.references - self.faults

    @property
    def distinct_pages(self) -> int:
        """Pages touched at least once: every one of them cost exactly one cold fault."""
        return self.cold_faults

    @property
    def fault_rate(self) -> float:
        return self.faults / self.references if self.references else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of a run: stable key order, no timings (same input, same bytes)."""
        out: dict[str, Any] = {
            "policy": self.policy,
            "frames": self.frames,
            "scope": self.scope,
            "seed": self.seed,
            **_counters(self),
            "fault_rate": round(self.fault_rate, 6),
        }
        if self.partial:
            out["partial"] = True
        if self.config is not None:
            out["vmsim_version"] = _version()
            out["config"] = self.config
        if len(self.processes) > 1:
            out["processes"] = [p.counters() for p in self.processes]
        if self.steps is not None:
            out["steps"] = [
                {
                    "pid": s.pid,
                    "page": s.page,
                    "write": s.write,
                    "hit": s.hit,
                    "frames": list(s.frames),
                    "victim": s.victim,
                }
                for s in self.steps
            ]
        return out


@dataclass(frozen=True, kw_only=True)
class ProcessStats(ProcessResult):
    """One process of a kernel simulation: the replay counters plus its life in simulated time
    (seconds)."""

    name: str
    group: str
    arrival_s: float
    finish_s: float | None
    running_s: float
    ready_s: float
    blocked_s: float
    suspended_s: float
    suspensions: int
    max_rss: int
    #: What the workload itself reports (an LLM server's preemptions and tokens, say), if anything.
    workload: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sample:
    """The system at one sampling time: utilisations over the last period, per-process sizes."""

    t_s: float
    cpu_utilization: float
    paging_device_utilization: float
    faults: int
    evictions: int
    rss: tuple[int, ...]
    working_set: tuple[int, ...]
    active: int


@dataclass(frozen=True)
class Thrashing:
    """Thrashing: at least 3 consecutive samples with CPU utilisation below 0.35 while the paging
    device is busier than 0.85 and pages are being evicted (memory is full: not a cold start)."""

    detected: bool
    since_s: float | None
    fraction: float


@dataclass(frozen=True)
class SimResult:
    scenario: str
    seed: int
    frames: int
    policy: str
    scope: str
    references: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int
    cpu_utilization: float
    paging_device_utilization: float
    simulated_time_s: float
    context_switches: int
    thrashing: Thrashing
    processes: tuple[ProcessStats, ...]
    samples: tuple[Sample, ...]
    #: Stopped early (Ctrl-C): everything covers the simulated time so far.
    partial: bool = False
    #: The validated scenario the run came from, as plain data (the configuration echo).
    config: dict[str, Any] | None = None

    @property
    def hits(self) -> int:
        return self.references - self.faults

    def global_dict(self) -> dict[str, Any]:
        faults_per_s = self.faults / self.simulated_time_s if self.simulated_time_s else 0.0
        return {
            "frames": self.frames,
            "policy": self.policy,
            "scope": self.scope,
            "references": self.references,
            "hits": self.hits,
            "faults": self.faults,
            "cold_faults": self.cold_faults,
            "evictions": self.evictions,
            "writebacks": self.writebacks,
            "faults_per_1000_references": round(1000 * self.faults / self.references, 6) if self.references else 0.0,
            "faults_per_second": round(faults_per_s, 6),
            "cpu_utilization": round(self.cpu_utilization, 6),
            "paging_device_utilization": round(self.paging_device_utilization, 6),
            "simulated_time_s": round(self.simulated_time_s, 9),
            "context_switches": self.context_switches,
            "thrashing": {
                "detected": self.thrashing.detected,
                "since_s": self.thrashing.since_s,
                "fraction": round(self.thrashing.fraction, 6),
            },
        }

    def to_dict(self, series: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "vmsim_version": _version(),
            "scenario": self.scenario,
            "seed": self.seed,
        }
        if self.config is not None:
            out["config"] = self.config
        out["global"] = self.global_dict()
        if self.partial:
            out["partial"] = True
        out["processes"] = [
            {
                **p.counters(),
                "name": p.name,
                "group": p.group,
                "arrival_s": p.arrival_s,
                "finish_s": p.finish_s,
                "running_s": round(p.running_s, 9),
                "ready_s": round(p.ready_s, 9),
                "blocked_s": round(p.blocked_s, 9),
                "suspended_s": round(p.suspended_s, 9),
                "suspensions": p.suspensions,
                "max_rss": p.max_rss,
                **({"workload": p.workload} if p.workload else {}),
            }
            for p in self.processes
        ]
        if series:
            out["samples"] = [
                {
                    "t_s": s.t_s,
                    "cpu_utilization": round(s.cpu_utilization, 6),
                    "paging_device_utilization": round(s.paging_device_utilization, 6),
                    "faults": s.faults,
                    "evictions": s.evictions,
                    "rss": list(s.rss),
                    "working_set": list(s.working_set),
                    "active": s.active,
                }
                for s in self.samples
            ]
        return out
