"""From a validated Scenario to a running kernel: the only place that knows both."""

from __future__ import annotations

import dataclasses
import random

from vmsim.errors import ScenarioError, VmsimError
from vmsim.kernel.config import (
    HostPaging,
    KernelConfig,
    LoadControlConfig,
    PFFConfig,
    ProcessSpec,
    UVMConfig,
    WorkingSetConfig,
    Workload,
)
from vmsim.kernel.sim import Simulation, check_layout, layout_of
from vmsim.kernel.uvm import UVM
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.results import SimResult
from vmsim.scenario.models import (
    NoLoadControl,
    PFFControl,
    Scenario,
    WorkingSetControl,
    WorkloadSpec,
    policy_spec,
)
from vmsim.workloads.cnn import CNNTrain, CNNTrainSpec
from vmsim.workloads.dataloader import DataLoader, DataLoaderSpec
from vmsim.workloads.embedding import EmbeddingLookup, EmbeddingLookupSpec
from vmsim.workloads.explicit import Refs, RefStringWorkload, Trace, TraceWorkload
from vmsim.workloads.gpu import GPUKernel, GPUKernelSpec
from vmsim.workloads.llm import LLMInfer, LLMInferSpec, changed
from vmsim.workloads.llm_presets import LENGTHS
from vmsim.workloads.serving import Serving, ServingConfig
from vmsim.workloads.synthetic import SyntheticWorkload


def kernel_config(s: Scenario) -> KernelConfig:
    """The kernel's configuration from a validated scenario: its machine and kernel sections."""
    m, k = s.machine, s.kernel
    lc = k.load_control
    control: LoadControlConfig = None
    if isinstance(lc, WorkingSetControl):
        control = WorkingSetConfig(tau_ns=lc.tau, interval_ns=lc.interval, victim=lc.victim)
    elif isinstance(lc, PFFControl):
        control = PFFConfig(interval_ns=lc.interval, lower=lc.lower, upper=lc.upper)
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
        tlb_ways=(m.tlb.ways or m.tlb.entries) if m.tlb else 0,
        tlb_policy=m.tlb.policy if m.tlb else "lru",
        tlb_tagged=m.tlb.asid if m.tlb else False,
        tlb_hit_ns=m.tlb.hit_time if m.tlb else 0,
        quantum_ns=k.scheduler.quantum,
        allocation=k.allocation.kind,
        min_frames=k.allocation.min_frames,
        fixed_frames=dict(k.allocation.frames),
        load_control=control,
        sample_ns=k.sample_interval,
        ws_tau_ns=k.ws_tau,
    )


def make_workload(
    w: WorkloadSpec, seed: int, page_size: int, memory: int = 0, worker: int = 0, workers: int = 1, thorough: bool = False
) -> Workload:
    """The generator for one process's validated workload spec (seeded from the simulation's
    generator); ``memory`` sizes an LLM's default KV pool."""
    if isinstance(w, CNNTrainSpec):
        return CNNTrain(w, seed, page_size)
    if isinstance(w, GPUKernelSpec):
        return GPUKernel(w, seed, page_size)
    if isinstance(w, EmbeddingLookupSpec):
        return EmbeddingLookup(w, seed, page_size)
    if isinstance(w, DataLoaderSpec):
        return DataLoader(w, seed, page_size, workers, worker)
    if isinstance(w, LLMInferSpec):
        w.check_mode(gpu=False)
        pool = w.kv.pool_bytes
        if pool is None:
            pool = int(w.kv.pool_fraction * (memory - w.shape.weight_bytes))
            if pool <= 0:
                raise VmsimError("llm_infer: the weights fill memory, no room for a KV pool (set kv.pool_bytes)")
        return LLMInfer(w, seed, page_size, pool)
    if isinstance(w, Refs):
        return RefStringWorkload(w)
    if isinstance(w, Trace):
        trace = TraceWorkload(w, page_size)
        trace.validate(thorough)
        return trace
    return SyntheticWorkload(w, seed)


def uvm_config(s: Scenario) -> UVMConfig:
    """The GPU model's configuration from a scenario with ``machine.gpu``."""
    m = s.machine
    gpu = m.gpu
    assert gpu is not None
    part, link, uvm = gpu.part, gpu.host_link, gpu.uvm
    bandwidth = gpu.bandwidth * 1e9 if gpu.bandwidth else (part.bandwidth if part else 0.0)
    memory = gpu.memory or (part.memory if part and gpu.oversubscription is None else 0)
    return UVMConfig(
        device_memory=memory,
        granularity=uvm.granularity,
        page_size=m.page_size,
        device_bandwidth=bandwidth,
        link_bandwidth=link.bandwidth,
        link_latency_ns=link.latency_ns,
        batch_size=uvm.batch_size,
        batch_cost_ns=uvm.batch_cost,
        in_flight=uvm.in_flight,
        prefetch=uvm.prefetch.enabled,
        threshold=uvm.prefetch.threshold,
        prefetch_when_full=uvm.prefetch.when_full,
        policy=policy_spec(s.kernel.replacement.policy) if uvm.eviction == "policy" else None,
        sample_ns=s.kernel.sample_interval,
        preset=gpu.preset,
        fits=gpu.fits_baseline,
        oversubscription=gpu.oversubscription,
        host=HostPaging(m.memory // uvm.granularity, m.paging_device.read, m.paging_device.write, m.paging_device.channels)
        if gpu.host_paging
        else None,
    )


def serving_config(s: Scenario, w: LLMInferSpec) -> ServingConfig:
    """The GPU serving model's configuration: the model, the GPU and its link, the KV manager."""
    gpu = s.machine.gpu
    assert gpu is not None
    for name in ("oversubscription", "host_paging", "uvm", "fits_baseline"):
        if changed(gpu, name):
            raise VmsimError(
                f"machine.gpu.{name} applies to Unified Memory jobs, not to llm_infer serving", field=f"machine.gpu.{name}"
            )
    w.check_mode(gpu=True)
    if w.kv.heap == "caching":
        raise VmsimError(
            "kv.heap caching is PyTorch's allocator; a GPU serving run places reservations "
            "with buddy (the default), first_fit, next_fit, best_fit or worst_fit",
            field="kv.heap",
        )
    part, link = gpu.part, gpu.host_link
    memory = gpu.memory or (part.memory if part else 0)
    bandwidth = gpu.bandwidth * 1e9 if gpu.bandwidth else (part.bandwidth if part else 0.0)
    flops = gpu.flops * 1e12 if gpu.flops else (part.flops if part else 0.0)
    if not flops:
        raise VmsimError(
            "without a preset, machine.gpu needs flops (dense FP16 TFLOP/s) for llm_infer", field="machine.gpu.flops"
        )
    shape = w.shape
    pool = w.kv.pool_bytes if w.kv.pool_bytes is not None else int(w.kv.gpu_memory_utilization * memory) - shape.weight_bytes
    if w.kv.pool_bytes is not None and pool + shape.weight_bytes > memory:
        raise VmsimError(
            f"a KV pool of {pool:,} bytes and {shape.weight_bytes:,} bytes of weights exceed the GPU's memory ({memory:,} bytes)",
            field="kv.pool_bytes",
        )
    if pool <= 0:
        raise VmsimError(
            f"llm_infer: the weights ({shape.weight_bytes:,} bytes) fill {w.kv.gpu_memory_utilization:.0%} of the GPU's "
            f"{memory:,} bytes: no room for a KV pool",
            field="model",
        )
    if w.lengths is not None and (changed(w, "prompt_len") or changed(w, "output_len")):
        raise VmsimError("give lengths or prompt_len/output_len, not both", field="lengths")
    lp = LENGTHS[w.lengths] if w.lengths else None
    width = w.sampling.width
    if width > 1 and w.kv.manager != "paged":
        raise VmsimError("sampling shares blocks between sequences: it needs kv.manager paged", field="sampling")
    max_len = w.max_len
    return ServingConfig(
        model=w.model if isinstance(w.model, str) else "custom",
        gpu=gpu.preset or "custom",
        kv_bytes_per_token=shape.kv_bytes_per_token,
        weight_bytes=shape.weight_bytes,
        params=shape.parameters,
        device_memory=memory,
        bandwidth=bandwidth * w.efficiency,
        flops=flops * w.efficiency,
        link_bandwidth=link.bandwidth,
        link_latency_s=link.latency_ns * 1e-9,
        manager=w.kv.manager,
        reserve=w.kv.reserve,
        heap=w.kv.heap or "buddy",  # the paper's Orca baselines place reservations with a buddy allocator
        preemption=w.kv.preemption,
        block_tokens=w.kv.block_tokens,
        pool_bytes=pool,
        swap_bytes=w.kv.swap_space,
        prefix_caching=w.kv.prefix_caching,
        max_model_len=max_len,
        max_num_seqs=w.seqs(True),
        max_batched_tokens=w.max_num_batched_tokens or max(max_len, 2048),
        duration_s=w.duration * 1e-9,
        rate=w.rate,
        prompt_mean=lp.prompt_mean if lp else w.prompt_len.mean,
        prompt_sigma=lp.prompt_sigma if lp else w.prompt_len.sigma,
        output_mean=lp.output_mean if lp else w.output_len.mean,
        output_sigma=lp.output_sigma if lp else w.output_len.sigma,
        requests_file=w.requests_file,
        samples=w.sampling.n,
        beam_width=w.sampling.beam_width,
        prefix_tokens=w.prefix.tokens,
        prefix_count=w.prefix.count,
        policy=policy_spec(s.kernel.replacement.policy),
        sample_s=s.kernel.sample_interval * 1e-9,
    )


def server_config(s: Scenario) -> ServingConfig:
    """:func:`serving_config` of the scenario's one process (the server), its errors' fields
    named from the scenario's root."""
    if len(s.processes) != 1 or s.processes[0].count != 1:
        raise ScenarioError("an llm_infer serving run on a GPU has one process (the server)", field="processes")
    w = s.processes[0].workload
    assert isinstance(w, LLMInferSpec)
    try:
        return serving_config(s, w)
    except VmsimError as e:
        f = e.field or ""
        raise ScenarioError(
            e.reason, field=f if f.startswith("machine") else ".".join(["processes.0.workload", *([f] if f else [])])
        ) from None


def build_serving(s: Scenario) -> Serving:
    """The LLM serving run of a scenario with ``machine.gpu`` and one llm_infer process."""
    cfg = server_config(s)
    rng = random.Random(s.seed)
    try:
        return Serving(cfg, rng.getrandbits(63), s.processes[0].name, s.name, rng)
    except VmsimError as e:  # a requests file's error names its file and line in the message
        raise ScenarioError(e.reason, field=e.field) from None


def serves(s: Scenario) -> bool:
    """Whether the scenario is an LLM serving run on a GPU (not a Unified Memory job)."""
    return s.machine.gpu is not None and any(isinstance(g.workload, LLMInferSpec) for g in s.processes)


def build_gpu(s: Scenario, *, thorough: bool = False) -> UVM:
    """The GPU job of a scenario with ``machine.gpu``: every process runs on the GPU."""
    rng = random.Random(s.seed)
    specs = _processes(s, rng, thorough)
    try:
        return UVM(uvm_config(s), specs, rng, name=s.name, seed=s.seed)
    except VmsimError as e:
        raise ScenarioError(e.reason, field=e.field) from None


def build(s: Scenario, *, dry: bool = False, thorough: bool = False) -> Simulation:
    """One seeded random.Random for the whole simulation: workloads draw their seeds from it in
    process order, then the kernel's policies use it. ``dry`` and ``thorough``: for :func:`check`."""
    rng = random.Random(s.seed)
    return Simulation(kernel_config(s), _processes(s, rng, thorough), rng, name=s.name, seed=s.seed, dry=dry)


def _processes(s: Scenario, rng: random.Random, thorough: bool) -> list[ProcessSpec]:
    """Every process of the scenario, its workload seeded from ``rng`` in process order."""
    specs: list[ProcessSpec] = []
    for group in s.processes:
        # Data-loader workers share one epoch order (one seed) and the data set's pages.
        sharded = isinstance(group.workload, DataLoaderSpec)
        group_seed = rng.getrandbits(63) if sharded else 0
        for i in range(group.count):
            seed = group_seed if sharded else rng.getrandbits(63)
            try:
                workload = make_workload(group.workload, seed, s.machine.page_size, s.machine.memory, i, group.count, thorough)
            except VmsimError as e:  # a trace's own error keeps its file and line in the message
                raise ScenarioError(str(e), field=e.field or f"processes.{s.processes.index(group)}.workload") from None
            name = group.name if group.count == 1 else f"{group.name}.{i}"
            try:
                check_layout(name, group.share, layout_of(workload), s.machine.page_size)
            except VmsimError as e:
                raise ScenarioError(e.reason, field=f"processes.{s.processes.index(group)}.{e.field}") from None
            share = set(group.share) | ({"dataset"} if sharded else set())
            shared = {seg: f"{group.name}/{seg}" for seg in sorted(share)}
            specs.append(ProcessSpec(name, group.name, group.arrival + i * group.arrival_interval, workload, shared))
    return specs


def check(s: Scenario, thorough: bool = False) -> None:
    """Everything a run would reject before its first reference, found without running: build
    the workloads and the kernel as ``simulate`` does, and drop them. Every command that runs
    scenarios calls this before anything runs; ``vmsim validate`` calls it ``thorough``, which
    also reads every trace file through (a malformed line anywhere is found), so validate rejects
    at least what a run would."""
    try:
        if serves(s):
            build_serving(s)
        elif s.machine.gpu is not None:
            build_gpu(s, thorough=thorough)
        else:
            build(s, dry=True, thorough=thorough)
    except MemoryError:
        raise VmsimError(
            "this machine cannot hold the simulation's tables (out of memory); use less memory or larger pages",
            field="machine.memory",
        ) from None


def simulate(s: Scenario, on_sample: ProgressFn | None = None) -> SimResult:
    """Build and run; ``on_sample(references, faults)`` returning True stops the run early."""
    if serves(s):
        result = build_serving(s).run(on_sample)
    elif s.machine.gpu is not None:
        result = build_gpu(s).run(on_sample)
    else:
        result = build(s).run(on_sample)
    return dataclasses.replace(result, config=s.model_dump(mode="json"))
