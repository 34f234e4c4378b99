"""The scenario schema: pydantic models, validated completely before anything runs.

Every model forbids unknown keys, so a misspelt key is an error that names it. Sizes and times take
units (``4KiB``, ``64MiB``, ``100ns``, ``5ms``); times become whole nanoseconds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    field_validator,
    model_validator,
)

from vmsim.errors import VmsimError
from vmsim.hw.address import check_page_size
from vmsim.hw.gpu import LINKS, PARTS, Link, Part
from vmsim.limits import MAX_FRAMES, MAX_PROCESSES, MIN_CHECK_NS, describe
from vmsim.policies import Param, PolicySpec, available, check_params, lookup, origin_of, param_info, parse_policy
from vmsim.spec import Model
from vmsim.units import Duration, Size
from vmsim.workloads.cnn import CNNTrainSpec
from vmsim.workloads.dataloader import DataLoaderSpec
from vmsim.workloads.embedding import EmbeddingLookupSpec
from vmsim.workloads.explicit import Refs, Trace
from vmsim.workloads.gpu import GPUKernelSpec
from vmsim.workloads.llm import LLMInferSpec
from vmsim.workloads.synthetic import Loop, Phases, Sequential, Uniform, Zipf

# ----------------------------------------------------------------------------- machine


class Timing(Model):
    """Cost of one memory access (TLB miss path) and of a context switch."""

    memory_access: Duration = Field(100, gt=0, description="time of one memory reference")
    context_switch: Duration = Field(5_000, ge=0, description="time to switch processes on a CPU")
    zero_fill: Duration = Field(1_000, ge=0, description="first touch of an anonymous page: zero-filled, no paging-device read")


class PagingDevice(Model):
    """The swap device: a SimPy resource with this many channels."""

    read: Duration = Field(5_000_000, gt=0, description="time to read one page in")
    write: Duration = Field(5_000_000, gt=0, description="time to write one page back")
    channels: int = Field(1, ge=1, description="transfers the device serves at once; others queue in FIFO order")


class TLB(Model):
    """One TLB per CPU; a hit costs ``hit_time`` instead of memory_access (the page-table walk)."""

    entries: int = Field(64, ge=1, description="entries in each CPU's TLB")
    ways: int | None = Field(None, ge=1, description="entries per set; default: fully associative (= entries)")
    policy: Literal["lru", "fifo", "random"] = Field("lru", description="replacement within a set")
    asid: bool = Field(False, description="tag entries with the process (ASID); false: flush on every context switch")
    hit_time: Duration = Field(10, ge=0, description="time of a reference that hits in the TLB")

    @model_validator(mode="after")
    def _ways_divide_entries(self) -> TLB:
        if self.ways is not None and self.entries % self.ways:
            raise ValueError(f"tlb.ways ({self.ways}) must divide tlb.entries ({self.entries})")
        return self


class GPUPrefetch(Model):
    """The UVM driver's tree-based density prefetcher, per 2 MiB VA block."""

    enabled: bool = Field(True, description="prefetch around faults (the driver's default)")
    threshold: float = Field(
        0.51, gt=0, lt=1, description="a region is migrated whole once more than this share of it is resident or faulting"
    )
    when_full: bool = Field(
        True, description="keep prefetching once device memory is full (false: demand faults only from then on)"
    )


class UnifiedMemory(Model):
    """How the UVM driver services the GPU's page faults (defaults from NVIDIA's open-source driver)."""

    granularity: Size = Field(64 * 1024, description="bytes migrated per fault: 4KiB, 64KiB (the driver's big page) or 2MiB")
    batch_size: int = Field(
        256, ge=1, le=1 << 16, description="faults fetched and serviced together (UVM_PERF_FAULT_BATCH_COUNT_DEFAULT)"
    )
    batch_cost: Duration = Field(
        45_000, ge=0, description="fixed cost of servicing one batch of faults (UVMSmart's far-fault latency)"
    )
    in_flight: int = Field(256, ge=1, le=1 << 20, description="accesses the GPU issues before it waits on the ones that faulted")
    prefetch: GPUPrefetch = Field(GPUPrefetch(), description="the density prefetcher")
    eviction: Literal["chunk", "policy"] = Field(
        "chunk",
        description="chunk: whole 2 MiB chunks, oldest allocation first (the driver's); "
        "policy: kernel.replacement.policy over migration units",
    )

    @field_validator("granularity")
    @classmethod
    def _granularity(cls, v: int) -> int:
        if v not in (4096, 64 * 1024, 2 << 20):
            raise ValueError(f"granularity must be 4KiB, 64KiB or 2MiB, got {v:,} bytes")
        return v


class GPU(Model):
    """A GPU whose memory the job's Unified Memory pages migrate to: a preset or its figures."""

    preset: str | None = Field(None, description=f"a GPU by name: {', '.join(PARTS)} (docs/gpu.md gives the sources)")
    memory: Size | None = Field(None, gt=0, description="device memory; default: the preset's (or set oversubscription)")
    bandwidth: float | None = Field(None, gt=0, le=1e5, description="device memory bandwidth in GB/s; default: the preset's")
    link: str | None = Field(None, description=f"the host link: {', '.join(LINKS)}; default: the preset's")
    link_bandwidth: float | None = Field(
        None, gt=0, le=1e5, description="link bandwidth per direction in GB/s; default: the link's"
    )
    link_latency: Duration | None = Field(None, ge=0, description="fixed cost of one copy over the link; default: the link's")
    flops: float | None = Field(
        None, gt=0, le=1e5, description="dense FP16 TFLOP/s (LLM serving's compute bound); default: the preset's"
    )
    oversubscription: float | None = Field(
        None, gt=0, le=1000, description="device memory = the job's footprint / this (1.25: the job is 125% of the GPU)"
    )
    fits_baseline: bool = Field(True, description="also run the job on a GPU it fits, for the slowdown")
    host_paging: bool = Field(
        False,
        description="the host holds machine.memory of the managed data, the rest on machine.paging_device "
        "(default: host memory holds all of it)",
    )
    uvm: UnifiedMemory = Field(UnifiedMemory(), description="the Unified Memory driver's settings")

    @model_validator(mode="after")
    def _resolved(self) -> GPU:
        if self.preset is not None and self.preset not in PARTS:
            raise ValueError(f"unknown GPU preset {self.preset!r}; the presets: {', '.join(PARTS)}")
        if self.link is not None and self.link not in LINKS:
            raise ValueError(f"unknown link {self.link!r}; the links: {', '.join(LINKS)}")
        if self.memory is not None and self.oversubscription is not None:
            raise ValueError("give machine.gpu.memory or machine.gpu.oversubscription, not both")
        if self.preset is None:
            missing = [f for f in ("bandwidth",) if getattr(self, f) is None]
            if self.memory is None and self.oversubscription is None:
                missing.insert(0, "memory (or oversubscription)")
            if self.link is None and self.link_bandwidth is None:
                missing.append("link (or link_bandwidth)")
            if missing:
                raise ValueError(f"without a preset, machine.gpu needs {', '.join(missing)}")
        return self

    @property
    def part(self) -> Part | None:
        """The preset, if any."""
        return PARTS[self.preset] if self.preset else None

    @property
    def host_link(self) -> Link:
        """The link with its figures, the explicit ones first."""
        part = self.part
        name = self.link or (part.link if part else None)
        base = LINKS[name] if name else Link("custom", 0.0, 5_000)
        bw = self.link_bandwidth * 1e9 if self.link_bandwidth else base.bandwidth
        lat = self.link_latency if self.link_latency is not None else base.latency_ns
        return Link(base.name, bw, lat)


class Machine(Model):
    """The simulated hardware: page size, physical memory, CPUs, access and device times, TLB."""

    page_size: Size = Field(4096, description="bytes per page, a power of two (e.g. 4KiB)")
    memory: Size = Field(64 * 2**20, description="physical memory; frames = memory / page_size")
    cpus: int = Field(1, ge=1, description="CPUs that run processes at the same time")
    timing: Timing = Field(Timing(), description="memory-access, context-switch and zero-fill times")
    paging_device: PagingDevice = Field(PagingDevice(), description="the swap device: page read and write times, channels")
    tlb: TLB | None = Field(None, description="one TLB per CPU; default: no TLB (every reference costs memory_access)")
    gpu: GPU | None = Field(None, description="run the processes on a GPU under CUDA Unified Memory (docs/gpu.md)")

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
        if self.frames > MAX_FRAMES:
            raise ValueError(
                f"memory ({self.memory:,} bytes) is {self.frames:,} frames of {self.page_size} bytes; "
                f"vmsim simulates at most {describe(MAX_FRAMES)} frames (use larger pages or less memory)"
            )
        return self

    @property
    def frames(self) -> int:
        """Physical frames: memory / page_size."""
        return self.memory // self.page_size


# ----------------------------------------------------------------------------- kernel


class Scheduler(Model):
    """CPU scheduling: round robin, a process runs until it faults, finishes or uses up its quantum."""

    kind: Literal["round_robin"] = Field("round_robin", description="the scheduler; only round_robin")
    quantum: Duration = Field(10_000_000, gt=0, description="longest time slice a process runs before the next one")


def _check_ranges(model: BaseModel) -> BaseModel:
    """The policy's checks across its parameters (``Policy.validate``), after pydantic has
    checked each against its declared range."""
    data = model.model_dump()
    try:
        check_params(lookup(data.pop("kind")), data)
    except VmsimError as e:
        raise ValueError(e.reason) from None
    return model


def _param_field(policy: str, pname: str, p: Param) -> Any:
    """A policy parameter as a pydantic field: its type, and its declared range checked with the
    same words as a ``NAME:key=value`` spec (the bounds also go into the JSON schema)."""
    doc = f"parameter {pname} of policy {policy} (see `vmsim policies`)"
    if p.type is bool or p.range is None:
        return (p.type, Field(p.default, description=doc))
    rng = p.range

    def in_range(v: Any) -> Any:
        if not rng.contains(v):
            raise ValueError(f"policy {policy}: parameter {pname} must be {rng.rule()}, got {v!r}")
        return v

    bounds: dict[str, Any] = {
        {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}[k]: v
        for k, v in rng.field_kwargs().items()
    }
    return (
        Annotated[p.type, Field(allow_inf_nan=True, json_schema_extra=bounds, description=doc), AfterValidator(in_range)],
        p.default,
    )


def _policy_model(name: str) -> type[BaseModel]:
    """The model of one registered policy: ``kind`` plus its parameters with their defaults and
    declared ranges (``param_info``, the same declaration ``NAME:key=value`` specs use)."""
    cls = lookup(name)
    fields: dict[str, Any] = {"kind": (Literal[name], Field(..., description=f"the policy {cls.name}"))}
    for pname, p in param_info(cls).items():
        fields[pname] = _param_field(cls.name, pname, p)
    return create_model(
        f"{cls.__name__}Policy",
        __base__=Model,
        __doc__=cls.summary,
        __validators__={"_ranges": model_validator(mode="after")(_check_ranges)},  # type: ignore[dict-item]
        **fields,
    )


def _policy_models() -> tuple[type[BaseModel], ...]:
    """One model per built-in policy (plug-ins are validated by ``_plugin_policy``)."""
    return tuple(_policy_model(name) for name in available() if origin_of(name) == "built-in")


def _policy_input(value: Any) -> Any:
    """Accept ``lru``, ``clock:ref_bit_on_load=false`` or ``{kind: clock, ...}``; aliases and
    case are normalised to the registered name."""
    if isinstance(value, str):
        try:
            spec = parse_policy(value)
        except VmsimError as e:
            raise ValueError(e.reason) from None
        return {"kind": spec.cls.name, **spec.params}
    if isinstance(value, dict) and isinstance(value.get("kind"), str):
        try:
            return {**value, "kind": lookup(value["kind"]).name}
        except VmsimError as e:
            raise ValueError(e.reason) from None
    return value


PolicyModels = _policy_models()
_BUILTIN_KINDS = frozenset(m.model_fields["kind"].annotation.__args__[0] for m in PolicyModels)  # type: ignore[union-attr]
_PLUGIN_MODELS: dict[type, type[BaseModel]] = {}


def _plugin_policy(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Built-in policies go through the tagged union (its errors name the key); a plug-in that is
    registered for this run is validated by a model made for it here. Nothing is ever loaded: a
    name that is not registered is an unknown policy (``_policy_input`` says so)."""
    value = _policy_input(value)
    kind = value.get("kind") if isinstance(value, dict) else None
    if not isinstance(kind, str) or kind in _BUILTIN_KINDS:
        return handler(value)
    cls = lookup(kind)
    model = _PLUGIN_MODELS.get(cls)
    if model is None:
        model = _PLUGIN_MODELS[cls] = _policy_model(kind)
    try:
        return model.model_validate(value)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"policy {kind}: {where + ': ' if where else ''}{err['msg']}") from None


# Serialized as what it is (a plug-in's model is not a member of the union).
PolicyChoice = Annotated[
    SerializeAsAny[Union[PolicyModels]],  # type: ignore[valid-type]  # noqa: UP007
    Field(discriminator="kind"),
    WrapValidator(_plugin_policy),
]


def policy_spec(model: BaseModel) -> PolicySpec:
    """The registry's PolicySpec for a validated policy model."""
    data = model.model_dump()
    return PolicySpec(lookup(data.pop("kind")), data)


class Replacement(Model):
    """Page replacement: which policy picks the victim frame, over all frames or per process."""

    policy: PolicyChoice = Field(
        default_factory=lambda: _policy_input("lru"),
        validate_default=True,
        description="the replacement policy: a name (lru), a spec (clock:ref_bit_on_load=false) or {kind: ..., parameters}; "
        "`vmsim policies` lists them",
    )
    scope: Literal["global", "local"] = Field(
        "global",
        description="global: one policy over all frames, a fault may evict any process's page; "
        "local: each process has its own policy and frame quota (see allocation)",
    )


class Allocation(Model):
    """How frames are shared out under local replacement (global replacement ignores quotas)."""

    kind: Literal["equal", "proportional", "fixed"] = Field(
        "equal",
        description="equal: the same share for every process; proportional: by virtual size; fixed: frames per group",
    )
    min_frames: int = Field(1, ge=1, description="frames every process gets at least")
    #: For ``fixed``: frames per process group name.
    frames: dict[str, int] = Field(default_factory=dict, description="for fixed: frames per process of each group, by group name")


class NoLoadControl(Model):
    """No load control: every process stays runnable, however much memory they need."""

    kind: Literal["none"] = Field("none", description="no load control")


class WorkingSetControl(Model):
    """Suspend a process when the working sets no longer fit in memory; resume when they do."""

    kind: Literal["working_set"] = Field(description="working-set load control")
    tau: Duration = Field(10_000_000, gt=0, description="working-set window, in process virtual time")
    interval: Duration = Field(10_000_000, ge=MIN_CHECK_NS, description="how often the kernel checks (at least 100us)")
    victim: Literal["largest", "newest"] = Field(
        "largest", description="the process to suspend: the one with the largest working set, or the newest"
    )


class PFFControl(Model):
    """Page-fault frequency: grow a process above ``upper`` faults/s, shrink it below ``lower``."""

    kind: Literal["pff"] = Field(description="page-fault-frequency load control")
    lower: float = Field(10.0, ge=0, description="faults per second of the process's own execution")
    upper: float = Field(1000.0, gt=0, description="faults per second of the process's own execution")
    interval: Duration = Field(10_000_000, ge=MIN_CHECK_NS, description="how often the kernel checks (at least 100us)")

    @model_validator(mode="after")
    def _bounds(self) -> PFFControl:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


LoadControlSpec = Annotated[NoLoadControl | WorkingSetControl | PFFControl, Field(discriminator="kind")]


class Kernel(Model):
    """The simulated operating system: scheduling, page replacement, frame allocation, load control."""

    scheduler: Scheduler = Field(Scheduler(), description="CPU scheduling (round robin with a quantum)")
    replacement: Replacement = Field(Replacement(), description="page-replacement policy and scope")
    allocation: Allocation = Field(Allocation(), description="frame quotas under local replacement")
    load_control: LoadControlSpec = Field(
        NoLoadControl(), description="suspend and resume processes against thrashing: none, working_set or pff"
    )
    sample_interval: Duration = Field(10_000_000, ge=MIN_CHECK_NS, description="time-series sampling period (at least 100us)")
    ws_tau: Duration = Field(50_000_000, gt=0, description="window of the reported working-set size W(t, tau)")


# ----------------------------------------------------------------------------- workloads


#: What one process of a group runs: one of the workload specs, told apart by ``kind``.
WorkloadSpec = Annotated[
    Uniform
    | Zipf
    | Loop
    | Sequential
    | Phases
    | Refs
    | Trace
    | EmbeddingLookupSpec
    | DataLoaderSpec
    | LLMInferSpec
    | CNNTrainSpec
    | GPUKernelSpec,
    Field(discriminator="kind"),
]


class ProcessGroup(Model):
    """A group of ``count`` processes running the same workload, arriving one after another."""

    name: str = Field(description="the group's name; its processes are name.0, name.1, ... (just name if count is 1)")
    count: int = Field(1, ge=1, le=MAX_PROCESSES, description=f"processes in the group (at most {MAX_PROCESSES:,} in a scenario)")
    arrival: Duration = Field(0, ge=0, description="arrival of the first process of the group")
    arrival_interval: Duration = Field(0, ge=0, description="gap between arrivals within the group")
    share: list[str] = Field(
        default_factory=list,
        description="segments of the workload that the group's processes share (same frames); "
        "synthetic workloads have one segment, 'data'",
    )
    workload: WorkloadSpec = Field(description="what each process of the group references, by kind")


class Scenario(Model):
    """A vmsim scenario file: a machine, a kernel, and the process groups that run on it."""

    name: str = Field(description="the scenario's name, shown in results")
    seed: int = Field(0, description="seed of the one random generator for workloads and policies: same seed, same run")
    machine: Machine = Field(Machine(), description="the simulated hardware")
    kernel: Kernel = Field(Kernel(), description="the simulated operating system")
    processes: list[ProcessGroup] = Field(min_length=1, description="the process groups, at least one")

    @model_validator(mode="after")
    def _process_count(self) -> Scenario:
        total = sum(g.count for g in self.processes)
        if total > MAX_PROCESSES:
            raise ValueError(f"{total:,} processes: a scenario runs at most {MAX_PROCESSES:,}")
        return self

    @model_validator(mode="after")
    def _gpu(self) -> Scenario:
        gpu = self.machine.gpu
        if gpu is None:
            for i, g in enumerate(self.processes):
                if isinstance(g.workload, GPUKernelSpec):
                    raise ValueError(f"processes.{i}: a gpu_kernel workload runs on a GPU: add machine.gpu")
            return self
        if self.machine.tlb is not None:
            raise ValueError("machine.tlb models a CPU's TLB; a machine.gpu run has none (remove one of them)")
        if not isinstance(self.kernel.load_control, NoLoadControl):
            raise ValueError("kernel.load_control suspends CPU processes; a machine.gpu run has none (remove one of them)")
        if gpu.host_paging and self.machine.memory < gpu.uvm.granularity:
            raise ValueError(
                f"machine.gpu.host_paging: machine.memory ({self.machine.memory:,} bytes) holds no "
                f"{gpu.uvm.granularity:,}-byte unit of the GPU's data"
            )
        demand = [
            i
            for i, g in enumerate(self.processes)
            if isinstance(g.workload, LLMInferSpec) and g.workload.kv.manager == "os_demand"
        ]
        if gpu.uvm.eviction == "policy" or demand:
            from vmsim.policies.base import Foresighted, Periodic, Releasing

            cls = policy_spec(self.kernel.replacement.policy).cls
            where, other = (
                (f"processes.{demand[0]}.workload.kv.manager os_demand", "another manager")
                if demand
                else ("machine.gpu.uvm.eviction policy", "chunk")
            )
            for mixin, why in ((Periodic, "runs on a timer"), (Foresighted, "needs the future"), (Releasing, "gives frames up")):
                if issubclass(cls, mixin):
                    raise ValueError(
                        f"{where}: {cls.name} {why}, which the GPU model does not drive; use {other} or another policy"
                    )
        return self

    @model_validator(mode="after")
    def _fixed_allocation(self) -> Scenario:
        alloc = self.kernel.allocation
        if alloc.kind == "fixed":
            names = {g.name for g in self.processes}
            missing = sorted(names - set(alloc.frames))
            if missing:
                raise ValueError(f"kernel.allocation.frames has no entry for group(s) {', '.join(missing)}")
        return self


def _tags(union: Any) -> set[str]:
    args = getattr(union, "__args__", ())
    members = args[0].__args__ if args and hasattr(args[0], "__args__") else args
    out: set[str] = set()
    for m in members:
        ann = getattr(m, "model_fields", {}).get("kind")
        if ann is not None:
            out.update(getattr(ann.annotation, "__args__", ()))
    return out


#: Values of ``kind`` that pydantic puts into error locations of tagged unions (not field names).
TAGS = frozenset(_tags(WorkloadSpec) | _tags(LoadControlSpec) | set(available()))
