"""Pydantic models of the JSON results, for validation and for docs/results.schema.json.

The runs of `refs`, `replay` and `compare` share RunRecord; `simulate` prints a SimRecord; `sweep`
prints a list of SweepRecord. The models describe what the renderers in this package write; a
test validates real outputs against them and checks the schema file is current.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vmsim.metrics.results import SCHEMA_VERSION


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProcessCounters(_Record):
    pid: int
    references: int
    hits: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int


class StepRecord(_Record):
    pid: int
    page: int
    write: bool
    hit: bool
    frames: list[int | None]
    victim: int | None


class RunRecord(_Record):
    """One replay run: one policy at one number of frames."""

    policy: str
    frames: int
    scope: str
    seed: int
    references: int
    hits: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int
    fault_rate: float
    partial: bool | None = None
    vmsim_version: str | None = None
    config: dict[str, Any] | None = None
    processes: list[ProcessCounters] | None = None
    steps: list[StepRecord] | None = None
    cpu_utilization: float | None = None


class Thrashing(_Record):
    detected: bool
    since_s: float | None
    fraction: float


class GlobalRecord(_Record):
    frames: int
    policy: str
    scope: str
    references: int
    hits: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int
    faults_per_1000_references: float
    faults_per_second: float
    cpu_utilization: float
    paging_device_utilization: float
    simulated_time_s: float
    context_switches: int
    thrashing: Thrashing


class ProcessRecord(ProcessCounters):
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
    workload: dict[str, Any] | None = None


class SampleRecord(_Record):
    t_s: float
    cpu_utilization: float
    paging_device_utilization: float
    faults: int
    evictions: int
    rss: list[int]
    working_set: list[int]
    active: int


class SimRecord(_Record):
    """One kernel simulation (`vmsim simulate --format json`)."""

    schema_version: int = Field(SCHEMA_VERSION)
    vmsim_version: str
    scenario: str
    seed: int
    partial: bool | None = None
    config: dict[str, Any] | None = None
    global_: GlobalRecord = Field(alias="global")
    processes: list[ProcessRecord]
    samples: list[SampleRecord] | None = None


class SweepRecord(_Record):
    """One point of `vmsim sweep --format json`."""

    params: dict[str, Any]
    global_: GlobalRecord = Field(alias="global")


class CompareRecord(_Record):
    """`vmsim compare --format json`."""

    runs: list[RunRecord]
    anomalies: list[dict[str, Any]]


def results_schema() -> dict[str, Any]:
    """The JSON Schema of every results document, keyed by the command that prints it."""
    return {
        "title": "vmsim results",
        "schema_version": SCHEMA_VERSION,
        "refs_replay_run": RunRecord.model_json_schema(by_alias=True),
        "simulate": SimRecord.model_json_schema(by_alias=True),
        "sweep_point": SweepRecord.model_json_schema(by_alias=True),
        "compare": CompareRecord.model_json_schema(by_alias=True),
    }


def results_schema_text() -> str:
    return json.dumps(results_schema(), indent=2, sort_keys=True) + "\n"
