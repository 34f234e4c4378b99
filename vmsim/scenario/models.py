"""The scenario schema: pydantic models, validated completely before anything runs.

Every model forbids unknown keys, so a misspelt key is an error that names it. Sizes and times take
units (``4KiB``, ``64MiB``, ``100ns``, ``5ms``); times become whole nanoseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    field_validator,
    model_validator,
)

from vmsim.errors import VmsimError
from vmsim.hw.address import check_page_size
from vmsim.limits import MAX_BYTES, MAX_FRAMES, MAX_INT, MAX_PROCESSES, MIN_CHECK_NS, describe
from vmsim.policies import Param, PolicySpec, available, check_params, lookup, origin_of, param_info, parse_policy
from vmsim.scenario.units import Duration, Size
from vmsim.workloads.refstring import parse_refs


class Model(BaseModel):
    """Every scenario model: unknown keys are errors, floats must be finite, and no whole number
    exceeds :data:`~vmsim.limits.MAX_INT` (sizes and durations have their own, tighter limits)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _int_limit(cls, v: Any, info: ValidationInfo) -> Any:
        if type(v) is int and abs(v) > MAX_INT and info.field_name != "seed":
            raise ValueError(f"{v} is larger than the largest number vmsim accepts here, {describe(MAX_INT)}")
        return v


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


class Machine(Model):
    """The simulated hardware: page size, physical memory, CPUs, access and device times, TLB."""

    page_size: Size = Field(4096, description="bytes per page, a power of two (e.g. 4KiB)")
    memory: Size = Field(64 * 2**20, description="physical memory; frames = memory / page_size")
    cpus: int = Field(1, ge=1, description="CPUs that run processes at the same time")
    timing: Timing = Field(Timing(), description="memory-access, context-switch and zero-fill times")
    paging_device: PagingDevice = Field(PagingDevice(), description="the swap device: page read and write times, channels")
    tlb: TLB | None = Field(None, description="one TLB per CPU; default: no TLB (every reference costs memory_access)")

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


LoadControl = Annotated[NoLoadControl | WorkingSetControl | PFFControl, Field(discriminator="kind")]


class Kernel(Model):
    """The simulated operating system: scheduling, page replacement, frame allocation, load control."""

    scheduler: Scheduler = Field(Scheduler(), description="CPU scheduling (round robin with a quantum)")
    replacement: Replacement = Field(Replacement(), description="page-replacement policy and scope")
    allocation: Allocation = Field(Allocation(), description="frame quotas under local replacement")
    load_control: LoadControl = Field(
        NoLoadControl(), description="suspend and resume processes against thrashing: none, working_set or pff"
    )
    sample_interval: Duration = Field(10_000_000, ge=MIN_CHECK_NS, description="time-series sampling period (at least 100us)")
    ws_tau: Duration = Field(50_000_000, gt=0, description="window of the reported working-set size W(t, tau)")


# ----------------------------------------------------------------------------- workloads


class _Synthetic(Model):
    references: int = Field(100_000, ge=1, description="accesses this process makes")
    write_fraction: float = Field(0.0, ge=0, le=1, description="fraction of accesses that are writes")


class Uniform(_Synthetic):
    """Synthetic: every page of ``pages`` equally likely at each access."""

    kind: Literal["uniform"] = Field(description="uniform random accesses")
    pages: int = Field(ge=1, description="pages the process touches (its data segment)")


class Zipf(_Synthetic):
    """Synthetic: page popularity ~ 1/rank**alpha, the ranks shuffled over the pages."""

    kind: Literal["zipf"] = Field(description="Zipf-distributed accesses")
    pages: int = Field(ge=1, description="pages the process touches (its data segment)")
    alpha: float = Field(1.0, gt=0, description="skew: larger is more concentrated on the popular pages")


class Loop(_Synthetic):
    """Synthetic: pages 0, 1, ..., pages-1, then again from 0."""

    kind: Literal["loop"] = Field(description="a cyclic loop over the pages")
    pages: int = Field(ge=1, description="pages in the loop")


class Sequential(_Synthetic):
    """Synthetic: a scan that touches each page 64 times in a row before the next, wrapping at the end."""

    kind: Literal["sequential"] = Field(description="a sequential scan")
    pages: int = Field(ge=1, description="pages in the scan")


class Phases(_Synthetic):
    """Uniform over a window of ``pages`` pages that moves by ``shift`` pages every ``phase_length``
    accesses: a locality that drifts."""

    kind: Literal["phases"] = Field(description="a drifting locality window")
    pages: int = Field(ge=1, description="window (working-set) size in pages")
    phase_length: int = Field(10_000, ge=1, description="accesses per phase, before the window moves")
    shift: int = Field(0, ge=0, description="pages the window moves per phase (default: its size)")


class Refs(Model):
    """An explicit reference string, e.g. ``"7 0 1 2w 0"`` (``w`` marks a write)."""

    kind: Literal["refs"] = Field(description="an explicit reference string")
    refs: str = Field(description="pages separated by spaces or commas; 2w writes page 2, 2 or 2r reads it")
    repeat: int = Field(1, ge=1, description="times the string is played")

    @field_validator("refs")
    @classmethod
    def _refs(cls, v: str) -> str:
        try:
            parse_refs(v)
        except VmsimError as e:
            raise ValueError(str(e)) from None
        return v


class Trace(Model):
    """A trace file as one process's stream; a relative path is relative to the scenario file."""

    kind: Literal["trace"] = Field(description="a trace file")
    path: str = Field(description="the trace file; relative to the scenario file's directory")
    format: Literal["lackey", "pitt", "rw", "pid", "pages"] | None = Field(
        None, description="the trace format; default: detected from the file"
    )
    instructions: bool = Field(True, description="keep instruction fetches (lackey traces); false: data accesses only")
    limit: int | None = Field(None, ge=1, description="read at most this many accesses; default: the whole file")

    @field_validator("path")
    @classmethod
    def _path(cls, v: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base_dir")
        p = Path(v) if base is None or Path(v).is_absolute() else Path(base) / v
        try:
            exists = p.is_file()
        except OSError as e:  # a name too long for the file system, ...
            raise ValueError(f"trace file {str(p)[:200]!r}: {e.strerror or e}") from None
        if not exists:
            raise ValueError(f"trace file {str(p)[:200]!r} does not exist")
        return str(p)


class EmbeddingTableSpec(Model):
    """One embedding table: ``rows`` rows of ``dim`` elements, one segment of the process."""

    rows: int = Field(ge=1, description="rows in the table")
    dim: int = Field(ge=1, description="elements per row")
    dtype_bytes: int = Field(4, ge=1, description="bytes per element")
    hotness: int = Field(1, ge=1, description="lookups per sample in this table")
    name: str = Field("", description="name of the table's segment; default: table<i>")

    @model_validator(mode="after")
    def _size(self) -> EmbeddingTableSpec:
        size = self.rows * self.dim * self.dtype_bytes
        if size > MAX_BYTES:
            raise ValueError(f"the table is {size:,} bytes (rows x dim x dtype_bytes), more than {describe(MAX_BYTES)}")
        return self


class EmbeddingLookupSpec(Model):
    """DLRM-style embedding lookups: Zipf rows, hashed or popularity-sorted layout."""

    kind: Literal["embedding_lookup"] = Field(description="DLRM-style embedding lookups")
    tables: list[EmbeddingTableSpec] = Field(min_length=1, description="the embedding tables, looked up in turn")
    alpha: float = Field(1.05, gt=0, description="Zipf skew of row popularity: P(rank k) ~ 1/k**alpha")
    row_layout: Literal["hashed", "sorted_by_popularity"] = Field(
        "hashed",
        description="hashed: popular rows scattered over the pages; sorted_by_popularity: hottest rows on the first pages",
    )
    batch_size: int = Field(2048, ge=1, description="samples per batch (each looks up every table hotness times)")
    batches: int = Field(1, ge=1, description="batches the process runs")
    training: bool = Field(False, description="after each batch, write back the pages of the rows it touched")


class DataLoaderSpec(Model):
    """Epochs of reads over a file-backed data set; the group's processes are the workers and
    share the data set's pages."""

    kind: Literal["data_loader"] = Field(description="epochs of reads over a data set")
    dataset_bytes: Size = Field(gt=0, description="size of the data set file")
    sample_bytes: Size = Field(gt=0, description="size of one sample; samples are packed back to back")
    order: Literal["sequential", "shuffle"] = Field(
        "shuffle", description="each epoch in file order, or in a new seeded permutation"
    )
    epochs: int = Field(1, ge=1, description="passes over the data set")
    batch_size: int = Field(1, ge=1, description="consecutive samples per batch; batches go round-robin to the workers")


class LLMModelSpec(Model):
    """The served model: KV bytes per token = 2 x n_layers x n_kv_heads x head_dim x dtype_bytes."""

    n_layers: int = Field(4, ge=1, description="transformer layers")
    n_kv_heads: int = Field(2, ge=1, description="key/value heads per layer")
    head_dim: int = Field(64, ge=1, description="elements per head")
    dtype_bytes: int = Field(2, ge=1, description="bytes per KV element")
    weight_bytes: Size = Field(4 << 20, ge=0, description="size of the weights (file-backed), all read every decode step")


class KVSpec(Model):
    """How the KV cache is held: paged blocks, contiguous reservations, or plain demand paging."""

    manager: Literal["paged", "contiguous", "os_demand"] = Field(
        "paged",
        description="paged: blocks allocated on demand; contiguous: max_model_len reserved per sequence; "
        "os_demand: no manager, the KV grows in ordinary pages",
    )
    block_tokens: int = Field(16, ge=1, description="tokens per KV block (paged)")
    pool_bytes: Size | None = Field(
        None, gt=0, description="KV pool (paged, contiguous); default: pool_fraction of the memory left after the weights"
    )
    pool_fraction: float = Field(
        0.9, gt=0, le=1, description="without pool_bytes: the pool's share of the memory left after the weights"
    )
    max_model_len: int = Field(1024, ge=2, description="longest sequence in tokens (prompt plus output)")
    heap: Literal["first_fit", "next_fit", "best_fit", "worst_fit", "caching"] | None = Field(
        None, description="contiguous only: place each sequence's exact-length buffer with this allocator"
    )


class LengthSpec(Model):
    """A lognormal length in tokens, clipped to the model's maximum length."""

    mean: float = Field(ge=1, description="mean length in tokens")
    sigma: float = Field(0.5, ge=0, description="lognormal sigma (prompt_len's sigma is used for both lengths)")


class LLMInferSpec(Model):
    """LLM serving, decode step by decode step, with a paged, contiguous or OS-paged KV cache."""

    kind: Literal["llm_infer"] = Field(description="LLM inference serving")
    model: LLMModelSpec = Field(LLMModelSpec(), description="the model's shape and weight size")
    kv: KVSpec = Field(KVSpec(), description="the KV-cache manager and pool")
    rate_per_step: float = Field(0.2, ge=0, le=1000, description="Poisson arrivals per decode step (at most 1,000)")
    prompt_len: LengthSpec = Field(LengthSpec(mean=200), description="prompt length of a request, in tokens")
    output_len: LengthSpec = Field(LengthSpec(mean=100), description="output length of a request, in tokens")
    max_num_seqs: int = Field(64, ge=1, description="most sequences running at once")
    steps: int = Field(500, ge=1, description="decode steps to simulate")


class CNNLayerSpec(Model):
    """One explicit layer of a CNN, in fp32 sizes (``dtype`` rescales them)."""

    name: str = Field(description="the layer's name")
    param_bytes: Size = Field(ge=0, description="fp32 bytes of the layer's parameters")
    act_bytes_per_sample: Size = Field(ge=0, description="fp32 bytes of the activations it keeps per sample")


class CNNModelSpec(Model):
    """A preset (toy, resnet18, resnet50) or explicit layers, not both."""

    preset: Literal["toy", "resnet18", "resnet50"] | None = Field(None, description="a built-in model")
    layers: list[CNNLayerSpec] | None = Field(None, min_length=1, description="explicit layers, first to last")

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, v: Any) -> Any:
        return {"preset": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one(self) -> CNNModelSpec:
        if (self.preset is None) == (self.layers is None):
            raise ValueError("give either preset (toy, resnet18, resnet50) or layers")
        return self


class CNNInputSpec(Model):
    """The training data: sample size, data set size and order, staging buffers."""

    sample_bytes: Size | None = Field(None, gt=0, description="default: the preset's input size")
    dataset_samples: int = Field(0, ge=0, description="0: an endless stream, every batch is new data")
    shuffle: bool = Field(True, description="with a finite data set: a new seeded order each epoch; false: file order")
    staging_buffers: int = Field(1, ge=1, description="input buffers of batch_size samples, used in turn")


class CNNTrainSpec(Model):
    """CNN training: stream a batch in, forward, backward, optimizer step, every iteration."""

    kind: Literal["cnn_train"] = Field(description="CNN training")
    model: CNNModelSpec = Field(CNNModelSpec(preset="toy"), description="a preset name or explicit layers")
    batch_size: int = Field(1, ge=1, description="samples per iteration")
    iterations: int = Field(10, ge=1, description="training iterations to simulate")
    dtype: Literal["fp32", "amp", "fp16", "int8"] = Field(
        "fp32", description="precision of weights, gradients and activations (fp16 is the same as amp)"
    )
    optimizer: Literal["sgd", "momentum", "adam"] = Field(
        "adam", description="optimizer state per parameter: none (sgd), momentum, or two moments (adam)"
    )
    checkpoint_every: int = Field(
        0, ge=0, description="k > 1: keep every k-th layer's activations and recompute the rest in backward; 0: keep all"
    )
    input: CNNInputSpec = Field(CNNInputSpec(), description="the input samples and data set")


Workload = Annotated[
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
    | CNNTrainSpec,
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
    workload: Workload = Field(description="what each process of the group references, by kind")


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
TAGS = frozenset(_tags(Workload) | _tags(LoadControl) | set(available()))
