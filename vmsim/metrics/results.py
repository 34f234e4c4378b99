"""Immutable result records, as the engines return them. Summaries are computed from them, never
kept alongside; :mod:`vmsim.metrics.schema` turns them into the documents every rendering uses.

The records that a document carries as they are (a process's counters and life, a sample, a step, the
thrashing verdict) are defined here only: the documents use these dataclasses as their field types
(pydantic validates and serialises stdlib dataclasses), so each is written once; a document rounds
their floats when it is made. ``_DOC`` makes pydantic refuse unknown keys when it reads a document
back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypedDict, cast

_DOC: Final = {"extra": "forbid"}


@dataclass(frozen=True)
class ProcessCounters:
    """One process of a run. Evictions and write-backs are charged to the evicted page's owner;
    cold faults are included in faults, and hits are references - faults."""

    __pydantic_config__ = _DOC

    pid: int
    references: int
    hits: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int


@dataclass(frozen=True)
class Step:
    """One access of a step-by-step run (``--explain`` and the OSTEP profile)."""

    __pydantic_config__ = _DOC

    pid: int
    page: int
    write: bool
    hit: bool
    #: Page held by each frame after the access, by frame number (None = free).
    frames: tuple[int | None, ...]
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
    processes: tuple[ProcessCounters, ...] = ()
    steps: tuple[Step, ...] | None = None
    #: Stopped early (Ctrl-C): the counters cover the accesses replayed so far.
    partial: bool = False

    @property
    def hits(self) -> int:
        """References that found their page present."""
        return self.references - self.faults

    @property
    def fault_rate(self) -> float:
        """Faults per reference."""
        return self.faults / self.references if self.references else 0.0


@dataclass(frozen=True, kw_only=True)
class ProcessStats(ProcessCounters):
    """One process of a kernel simulation: its counters and its life in simulated seconds."""

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
    #: TLB lookups of this process's references that hit and missed (None without a TLB).
    tlb_hits: int | None = None
    tlb_misses: int | None = None


@dataclass(frozen=True)
class Sample:
    """The system at one sampling time: utilisations over the last period, sizes per process."""

    __pydantic_config__ = _DOC

    # Named like SimResult's fields on purpose (a sample is the system over one period, the result
    # over the whole run); separate records, since the field order is the JSON documents' order.
    t_s: float
    cpu_utilization: float
    paging_device_utilization: float
    faults: int
    evictions: int
    rss: tuple[int, ...]
    working_set: tuple[int, ...]
    active: int


@dataclass(frozen=True)
class ThrashingEpisode:
    """A stretch of thrashing: at least 3 consecutive samples that each show it (docs/semantics.md),
    from the start of the first one's period to the last one; ``share`` of the run's time."""

    __pydantic_config__ = _DOC

    start_s: float
    end_s: float
    share: float


@dataclass(frozen=True)
class Thrashing:
    """Sustained thrashing (``detected``): episodes of at least 3 consecutive samples with CPU
    utilisation below 0.35 while the paging device is busier than 0.85 and pages are being
    evicted, lasting together at least a quarter of the run; ``since_s``: the first episode's
    start; ``fraction``: the share of samples that show thrashing (docs/semantics.md)."""

    __pydantic_config__ = _DOC

    detected: bool
    since_s: float | None
    fraction: float
    episodes: tuple[ThrashingEpisode, ...] = ()


@dataclass(frozen=True)
class TLBRecord:
    """The TLBs of all CPUs: their shape and counters; the effective access time is the mean time
    of a reference that does not fault (hits cost hit_ns, misses miss_ns)."""

    __pydantic_config__ = _DOC

    entries: int
    ways: int
    policy: str
    #: Entries tagged with the process (ASID); untagged TLBs flush on every context switch.
    asid: bool
    hit_ns: int
    miss_ns: int
    hits: int
    misses: int
    flushes: int
    hit_ratio: float
    effective_access_ns: float

    @classmethod
    def of(
        cls, *, entries: int, ways: int, policy: str, asid: bool, hit_ns: int, miss_ns: int, hits: int, misses: int, flushes: int
    ) -> TLBRecord:
        """The record with its ratios: h = hits / lookups, EAT = h * hit_ns + (1 - h) * miss_ns."""
        n = hits + misses
        return cls(
            entries=entries,
            ways=ways,
            policy=policy,
            asid=asid,
            hit_ns=hit_ns,
            miss_ns=miss_ns,
            hits=hits,
            misses=misses,
            flushes=flushes,
            hit_ratio=round(hits / n, 6) if n else 0.0,
            effective_access_ns=round((hits * hit_ns + misses * miss_ns) / n, 6) if n else 0.0,
        )


@dataclass(frozen=True)
class GPURecord:
    """A GPU job under Unified Memory (``machine.gpu``): the device, the job's footprint, kernel time
    against the same job on a device it fits, and what the UVM driver did (docs/gpu.md). Sizes in
    bytes; faults, evictions and refaults count migration units of ``granularity`` bytes."""

    __pydantic_config__ = _DOC

    preset: str | None
    device_memory: int
    footprint: int
    #: footprint / device memory (1.0 or less: the job fits).
    oversubscription: float
    granularity: int
    eviction: str
    prefetch: bool
    kernel_time_s: float
    #: The same job on a device that holds its whole footprint (None if not run).
    fits_time_s: float | None
    slowdown: float | None
    compute_s: float
    #: Time spent servicing fault batches (the GPU stalls), and the link's share of it.
    fault_service_s: float
    link_busy_s: float
    faults: int
    fault_batches: int
    bytes_to_device: int
    bytes_to_host: int
    #: Bytes the GPU read over the link from arrays left in host memory (hint ``host``).
    bytes_remote: int
    #: Units migrated ahead of a fault (by the prefetcher or a prefetch hint), and those later used.
    prefetched: int
    prefetch_hits: int
    evictions: int
    #: Faults on a unit evicted earlier (thrashing: pages evicted and faulted back).
    refaults: int
    #: With host paging (``machine.gpu.host_paging``): units read from the paging device before
    #: they could migrate, and units the host paged out to make room for the GPU's evictions.
    host_page_ins: int = 0
    host_page_outs: int = 0


@dataclass(frozen=True)
class LLMRecord:
    """An LLM serving run on a GPU (``llm_infer`` with ``machine.gpu``, docs/llm.md): the model and
    KV manager, what was served in the simulated time, latency percentiles over the finished
    requests, the KV pool in the vLLM paper's categories (shares of the pool, averaged over time),
    preemption and sharing. Sizes in bytes, times in seconds."""

    __pydantic_config__ = _DOC

    model: str
    gpu: str
    manager: str
    #: paged only: how preempted requests come back (recompute or swap).
    preemption: str | None
    kv_bytes_per_token: int
    weight_bytes: int
    kv_pool_bytes: int
    duration_s: float
    iterations: int
    requests: int
    finished: int
    #: Requests whose KV could never fit the pool, dropped at admission (as vLLM does).
    rejected: int
    output_tokens: int
    throughput_tokens_s: float
    throughput_requests_s: float
    #: Sequences decoding per iteration, averaged over time, and the most at once.
    mean_batch: float
    max_batch: int
    #: Time to first token and time per output token (None if no request finished).
    ttft_p50_s: float | None
    ttft_p99_s: float | None
    tpot_p50_s: float | None
    tpot_p99_s: float | None
    #: Token states over the KV memory held (everything but free memory): the vLLM paper's Figure 2.
    token_share: float
    #: The KV pool in the paper's categories, as shares of the whole pool (they sum to 1).
    kv_token_states: float
    kv_reservation: float
    kv_internal_fragmentation: float
    kv_external_fragmentation: float
    kv_free: float
    preemptions: int
    swapped_out: int
    recomputed_tokens: int
    #: Bytes copied over the host link (swaps, demand paging) and the time the copies took.
    link_bytes: int
    link_busy_s: float
    #: Prompt tokens found in cached blocks over prompt tokens admitted (None without prefix caching).
    prefix_hit_ratio: float | None
    cow_copies: int
    #: 1 - physical blocks / blocks in the sequences' tables, averaged over time.
    sharing_saving: float


class SystemCounters(TypedDict):
    """A system's counters, as keyword arguments of SimResult."""

    references: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int


def totals(processes: Sequence[ProcessCounters]) -> SystemCounters:
    """A system's counters: the sums of its processes'."""
    return cast(SystemCounters, {k: sum(getattr(p, k) for p in processes) for k in SystemCounters.__annotations__})


@dataclass(frozen=True)
class SimResult:
    """One kernel simulation: the system's counters (the utilisations over the whole run, as a
    Sample's are over one period), every process, the time series and the thrashing verdict."""

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
    simulated_time_s: float
    context_switches: int
    cpu_utilization: float
    paging_device_utilization: float
    thrashing: Thrashing
    processes: tuple[ProcessStats, ...]
    samples: tuple[Sample, ...]
    #: Stopped early (Ctrl-C): everything covers the simulated time so far.
    partial: bool = False
    #: The validated scenario the run came from, as plain data (the configuration echo).
    config: dict[str, Any] | None = None
    #: The TLBs' counters, when the machine has a TLB.
    tlb: TLBRecord | None = None
    #: The GPU and its Unified Memory driver, when the machine has a GPU.
    gpu: GPURecord | None = None
    #: An LLM serving run on a GPU.
    llm: LLMRecord | None = None

    @property
    def hits(self) -> int:
        """References that found their page present."""
        return self.references - self.faults
