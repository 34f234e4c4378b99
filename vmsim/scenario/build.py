"""From a validated Scenario to a running kernel: the only place that knows both."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from vmsim.kernel.config import KernelConfig, ProcessSpec
from vmsim.kernel.sim import Kernel
from vmsim.metrics.results import SimResult
from vmsim.scenario.models import (
    NoLoadControl,
    PFFControl,
    Phases,
    Refs,
    Scenario,
    Trace,
    WorkingSetControl,
    Workload,
    policy_spec,
)
from vmsim.workloads.explicit import RefStringWorkload, TraceWorkload
from vmsim.workloads.synthetic import SyntheticWorkload


def kernel_config(s: Scenario) -> KernelConfig:
    m, k = s.machine, s.kernel
    lc = k.load_control
    extra: dict[str, object] = {}
    if isinstance(lc, WorkingSetControl):
        extra = {"lc_tau_ns": lc.tau, "lc_interval_ns": lc.interval, "lc_victim": lc.victim}
    elif isinstance(lc, PFFControl):
        extra = {"lc_interval_ns": lc.interval, "pff_lower": lc.lower, "pff_upper": lc.upper}
    else:
        assert isinstance(lc, NoLoadControl)
    return KernelConfig(
        frames=m.frames,
        policy=policy_spec(k.replacement.policy),
        page_size=m.page_size,
        scope=k.replacement.scope,
        cpus=m.cpus,
        memory_access_ns=m.timing.memory_access,
        context_switch_ns=m.timing.context_switch,
        zero_fill_ns=m.timing.zero_fill,
        device_read_ns=m.paging_device.read,
        device_write_ns=m.paging_device.write,
        device_channels=m.paging_device.channels,
        tlb_entries=m.tlb.entries if m.tlb else 0,
        tlb_hit_ns=m.tlb.hit_time if m.tlb else 0,
        quantum_ns=k.scheduler.quantum,
        allocation=k.allocation.kind,
        min_frames=k.allocation.min_frames,
        fixed_frames=dict(k.allocation.frames),
        load_control=lc.kind,
        sample_ns=k.sample_interval,
        ws_tau_ns=k.ws_tau,
        **extra,  # type: ignore[arg-type]
    )


def make_workload(w: Workload, seed: int, page_size: int) -> Any:
    """The generator for one process's workload model (seeded from the simulation's generator)."""
    if isinstance(w, Refs):
        return RefStringWorkload(w.refs, w.repeat)
    if isinstance(w, Trace):
        trace = TraceWorkload(Path(w.path), w.format, page_size, w.instructions, w.limit)
        trace.validate()
        return trace
    return SyntheticWorkload(
        kind=w.kind,
        pages=w.pages,
        references=w.references,
        seed=seed,
        write_fraction=w.write_fraction,
        alpha=getattr(w, "alpha", 1.0),
        phase_length=getattr(w, "phase_length", 10_000),
        shift=(w.shift or w.pages) if isinstance(w, Phases) else 0,
    )


def build(s: Scenario) -> Kernel:
    """One seeded random.Random for the whole simulation: workloads draw their seeds from it in
    process order, then the kernel's policies use it."""
    rng = random.Random(s.seed)
    specs: list[ProcessSpec] = []
    for group in s.processes:
        for i in range(group.count):
            workload = make_workload(group.workload, rng.getrandbits(63), s.machine.page_size)
            name = group.name if group.count == 1 else f"{group.name}.{i}"
            shared = {seg: f"{group.name}/{seg}" for seg in group.share}
            specs.append(ProcessSpec(name, group.name, group.arrival + i * group.arrival_interval, workload, shared))
    return Kernel(kernel_config(s), specs, rng, name=s.name, seed=s.seed)


def simulate(s: Scenario) -> SimResult:
    return build(s).run()
