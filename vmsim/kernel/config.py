"""Plain configuration of the kernel, built by the scenario layer (the kernel never reads YAML)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from vmsim.hw.access import Chunk
from vmsim.policies import PolicySpec

if TYPE_CHECKING:
    from vmsim.hw.tlb import TLBPolicy
    from vmsim.vm.pager import Scope


#: A segment of a workload's pages: (name, first_page, n_pages, file_backed). The kernel turns
#: each into a :class:`vmsim.hw.segments.Segment` of the process's address space.
SegmentPages = tuple[str, int, int, bool]


class Workload(Protocol):
    """What the kernel needs of a workload: its virtual size in pages and its stream."""

    @property
    def footprint(self) -> int:
        """Distinct pages the stream can touch (its virtual size in pages)."""
        ...

    def chunks(self, size: int = ...) -> Iterator[Chunk]:
        """The stream, about ``size`` accesses at a time; the same seed gives the same stream."""
        ...


@dataclass(frozen=True)
class ProcessSpec:
    """One process. ``shared`` maps names of the workload's segments to a key: processes whose
    segments have the same key map the same frames (shared weights, an mmap'd data set)."""

    name: str
    group: str
    arrival_ns: int
    workload: Workload
    shared: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkingSetConfig:
    """Working-set load control: every ``interval_ns``, suspend a process (the ``victim``: the
    one with the largest working set, or the newest) while the working sets of window ``tau_ns``
    exceed memory; resume the longest-suspended one when its working set fits again."""

    tau_ns: int = 10_000_000
    interval_ns: int = 10_000_000
    victim: str = "largest"


@dataclass(frozen=True)
class PFFConfig:
    """Page-fault-frequency load control, checked every ``interval_ns`` on each process's faults
    per second of its own execution, against ``lower`` and ``upper``."""

    interval_ns: int = 10_000_000
    lower: float = 10.0
    upper: float = 1000.0


LoadControlConfig = WorkingSetConfig | PFFConfig | None


@dataclass(frozen=True)
class KernelConfig:
    """Every number the kernel uses; times in integer nanoseconds."""

    frames: int
    policy: PolicySpec
    page_size: int = 4096
    scope: Scope = "global"
    cpus: int = 1
    memory_access_ns: int = 100
    context_switch_ns: int = 5_000
    zero_fill_ns: int = 1_000
    device_read_ns: int = 5_000_000
    device_write_ns: int = 5_000_000
    device_channels: int = 1
    #: One TLB per CPU when tlb_entries > 0; tlb_ways 0 is fully associative; tlb_tagged keeps
    #: entries across context switches (ASIDs) instead of flushing.
    tlb_entries: int = 0
    tlb_ways: int = 0
    tlb_policy: TLBPolicy = "lru"
    tlb_tagged: bool = False
    tlb_hit_ns: int = 10
    quantum_ns: int = 10_000_000
    allocation: str = "equal"
    min_frames: int = 1
    fixed_frames: dict[str, int] = field(default_factory=dict)
    #: None: no load control; otherwise the kind of load control, by its configuration's type.
    load_control: LoadControlConfig = None
    sample_ns: int = 10_000_000
    ws_tau_ns: int = 50_000_000


@dataclass(frozen=True)
class HostPaging:
    """Host memory under a GPU: ``units`` of the managed data fit, the rest is on the paging
    device, whose read and write times are per page of the UVMConfig's ``page_size``."""

    units: int
    read_ns: int
    write_ns: int
    channels: int = 1


@dataclass(frozen=True)
class UVMConfig:
    """A GPU under Unified Memory (kernel/uvm.py): sizes in bytes, bandwidths in bytes per second,
    times in nanoseconds. ``policy`` None: evict whole 2 MiB chunks in allocation order (the
    driver's); otherwise that replacement policy over migration units."""

    #: Device memory in bytes; 0: footprint / ``oversubscription``.
    device_memory: int
    granularity: int
    page_size: int
    device_bandwidth: float
    link_bandwidth: float
    link_latency_ns: int
    batch_size: int = 256
    batch_cost_ns: int = 45_000
    in_flight: int = 256
    prefetch: bool = True
    threshold: float = 0.51
    prefetch_when_full: bool = True
    policy: PolicySpec | None = None
    sample_ns: int = 10_000_000
    preset: str | None = None
    #: Also run the job on a device it fits, for the slowdown.
    fits: bool = True
    oversubscription: float | None = None
    #: None: host memory holds all the managed data.
    host: HostPaging | None = None
