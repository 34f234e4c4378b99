"""The scenario schema: pydantic models, validated completely before anything runs.

Every model forbids unknown keys, so a misspelt key is an error that names it. Sizes and times take
units (``4KiB``, ``64MiB``, ``100ns``, ``5ms``); times become whole nanoseconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vmsim.errors import VmsimError
from vmsim.hw.address import check_page_size
from vmsim.policies import parse_policy
from vmsim.scenario.units import Duration, Size


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- machine


class Timing(Model):
    """Cost of one memory access (TLB miss path) and of a context switch."""

    memory_access: Duration = Field(100, gt=0, description="time of one memory reference")
    context_switch: Duration = Field(5_000, ge=0, description="time to switch processes on a CPU")


class PagingDevice(Model):
    """The swap device: a SimPy resource with this many channels."""

    read: Duration = Field(5_000_000, gt=0, description="time to read one page in")
    write: Duration = Field(5_000_000, gt=0, description="time to write one page back")
    channels: int = Field(1, ge=1)


class TLB(Model):
    """A per-process, fully associative LRU TLB; a hit costs ``hit_time`` instead of memory_access."""

    entries: int = Field(64, ge=1)
    hit_time: Duration = Field(10, ge=0)


class Machine(Model):
    page_size: Size = 4096
    memory: Size = Field(64 * 2**20, description="physical memory; frames = memory / page_size")
    cpus: int = Field(1, ge=1)
    timing: Timing = Timing()
    paging_device: PagingDevice = PagingDevice()
    tlb: TLB | None = None

    @field_validator("page_size")
    @classmethod
    def _page_size(cls, v: int) -> int:
        try:
            return check_page_size(v)
        except VmsimError as e:
            raise ValueError(str(e)) from None

    @model_validator(mode="after")
    def _memory(self) -> Machine:
        if self.memory < self.page_size:
            raise ValueError(f"memory ({self.memory} bytes) is smaller than one page ({self.page_size} bytes)")
        return self

    @property
    def frames(self) -> int:
        return self.memory // self.page_size


# ----------------------------------------------------------------------------- kernel


class Scheduler(Model):
    kind: Literal["round_robin"] = "round_robin"
    quantum: Duration = Field(10_000_000, gt=0)


class Replacement(Model):
    policy: str = "lru"
    scope: Literal["global", "local"] = "global"

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        try:
            parse_policy(v)
        except VmsimError as e:
            raise ValueError(str(e)) from None
        return v


class Allocation(Model):
    """How frames are shared out under local replacement (global replacement ignores quotas)."""

    kind: Literal["equal", "proportional", "fixed"] = "equal"
    min_frames: int = Field(1, ge=1)
    #: For ``fixed``: frames per process group name.
    frames: dict[str, int] = Field(default_factory=dict)


class NoLoadControl(Model):
    kind: Literal["none"] = "none"


class WorkingSetControl(Model):
    """Suspend a process when the working sets no longer fit in memory; resume when they do."""

    kind: Literal["working_set"]
    tau: Duration = Field(10_000_000, gt=0, description="working-set window, in process virtual time")
    interval: Duration = Field(10_000_000, gt=0, description="how often the kernel checks")
    victim: Literal["largest", "newest"] = "largest"


class PFFControl(Model):
    """Page-fault frequency: grow a process above ``upper`` faults/s, shrink it below ``lower``."""

    kind: Literal["pff"]
    lower: float = Field(10.0, ge=0, description="faults per second of the process's own execution")
    upper: float = Field(1000.0, gt=0, description="faults per second of the process's own execution")
    interval: Duration = Field(10_000_000, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> PFFControl:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


LoadControl = Annotated[NoLoadControl | WorkingSetControl | PFFControl, Field(discriminator="kind")]


class Kernel(Model):
    scheduler: Scheduler = Scheduler()
    replacement: Replacement = Replacement()
    allocation: Allocation = Allocation()
    load_control: LoadControl = NoLoadControl()
    sample_interval: Duration = Field(10_000_000, gt=0, description="time-series sampling period")
    ws_tau: Duration = Field(50_000_000, gt=0, description="window of the reported working-set size W(t, tau)")


# ----------------------------------------------------------------------------- workloads


class _Synthetic(Model):
    references: int = Field(100_000, ge=1, description="accesses this process makes")
    write_fraction: float = Field(0.0, ge=0, le=1)


class Uniform(_Synthetic):
    kind: Literal["uniform"]
    pages: int = Field(ge=1)


class Zipf(_Synthetic):
    kind: Literal["zipf"]
    pages: int = Field(ge=1)
    alpha: float = Field(1.0, gt=0)


class Loop(_Synthetic):
    kind: Literal["loop"]
    pages: int = Field(ge=1)


class Sequential(_Synthetic):
    kind: Literal["sequential"]
    pages: int = Field(ge=1)


class Phases(_Synthetic):
    """Uniform over a window of ``pages`` pages that moves by ``shift`` pages every ``phase_length``
    accesses: a locality that drifts."""

    kind: Literal["phases"]
    pages: int = Field(ge=1, description="window (working-set) size in pages")
    phase_length: int = Field(10_000, ge=1)
    shift: int = Field(0, ge=0, description="pages the window moves per phase (default: its size)")


Workload = Annotated[Uniform | Zipf | Loop | Sequential | Phases, Field(discriminator="kind")]


class ProcessGroup(Model):
    name: str
    count: int = Field(1, ge=1)
    arrival: Duration = Field(0, ge=0, description="arrival of the first process of the group")
    arrival_interval: Duration = Field(0, ge=0, description="gap between arrivals within the group")
    workload: Workload


class Scenario(Model):
    name: str
    seed: int = 0
    machine: Machine = Machine()
    kernel: Kernel = Kernel()
    processes: list[ProcessGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _fixed_allocation(self) -> Scenario:
        alloc = self.kernel.allocation
        if alloc.kind == "fixed":
            names = {g.name for g in self.processes}
            missing = sorted(names - set(alloc.frames))
            if missing:
                raise ValueError(f"kernel.allocation.frames has no entry for group(s) {', '.join(missing)}")
        return self
