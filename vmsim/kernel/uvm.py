"""A GPU under CUDA Unified Memory: demand paging of device memory over the host link, as the UVM
driver does it (docs/gpu.md says what is modelled and where each figure comes from).

The GPU runs its processes' access streams (CUDA streams, each with its own address space; a
stream's pages map to migration units of ``granularity`` bytes). It issues ``in_flight`` accesses,
then waits for the ones that faulted: the driver fetches those faults in batches of at most
``batch_size``, and per batch pays ``batch_cost_ns`` plus its copies over the link (one copy per
2 MiB VA block, ``link_latency_ns`` each, and the bytes each way at the link's bandwidth). The GPU
stalls while a batch is serviced; between faults its time is the bytes it moves at the device
memory's bandwidth. Every first touch migrates from host memory (managed data starts on the host).

The density prefetcher works per 2 MiB VA block as the driver's does: of the units of the block
resident or being faulted in, the largest aligned power-of-two region around a faulting unit that
is more than ``threshold`` full is migrated whole. Eviction takes, when the device is full, either
every resident unit of the 2 MiB chunk allocated longest ago (the driver's root-chunk list, in
allocation order, not use), or with a replacement policy the unit it chooses, through the Pager
(the same fault path as the CPU kernel's). Evicted units are copied back to the host, unless they
are read-mostly copies.

No access is a SimPy event: the streams run window by window, vectorised over each window.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from vmsim.errors import VmsimError
from vmsim.hw.gpu import BLOCK
from vmsim.hw.segments import AddressSpace
from vmsim.kernel.config import HostPaging, ProcessSpec, UVMConfig
from vmsim.kernel.sampler import MAX_SAMPLES, compact, verdict
from vmsim.kernel.sim import layout_of
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.results import GPURecord, ProcessStats, Sample, SimResult, totals
from vmsim.vm.pager import Pager

NS = 1e-9
#: The GPURecord's counters kept under the same names by a run.
_COUNTS = ("fault_batches", "bytes_to_device", "bytes_to_host", "bytes_remote", "prefetched", "prefetch_hits", "refaults")


@dataclass
class _Space:
    """Every process's segments as dense unit ids, each segment starting on a block boundary."""

    cfg: UVMConfig
    processes: Sequence[ProcessSpec]
    per_block: int = 0
    size: int = 0
    footprint_units: int = 0
    #: Per process: segment first pages, dense bases, first units (block-aligned).
    starts: list[np.ndarray] = field(default_factory=list)
    bases: list[np.ndarray] = field(default_factory=list)
    firsts: list[np.ndarray] = field(default_factory=list)
    #: Per process: segment name -> dense range.
    ranges: list[dict[str, tuple[int, int]]] = field(default_factory=list)
    valid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))
    owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    def __post_init__(self) -> None:
        g, ps = self.cfg.granularity, self.cfg.page_size
        b = self.per_block = max(1, BLOCK // g)
        spans: list[tuple[int, int, int]] = []
        nxt = 0
        for pid, spec in enumerate(self.processes):
            layout = sorted(layout_of(spec.workload), key=lambda s: s[1])
            starts, bases, firsts, ranges = [], [], [], {}
            for name, first, n, _ in layout:
                u0, u1 = first * ps // g, -(-(first + max(1, n)) * ps // g)
                a0 = u0 // b * b
                starts.append(first)
                bases.append(nxt)
                firsts.append(a0)
                lo, hi = nxt + u0 - a0, nxt + u1 - a0
                ranges[name] = (lo, hi)
                spans.append((lo, hi, pid))
                self.footprint_units += u1 - u0
                nxt += -(-(u1 - a0) // b) * b
            self.starts.append(np.array(starts, np.int64))
            self.bases.append(np.array(bases, np.int64))
            self.firsts.append(np.array(firsts, np.int64))
            self.ranges.append(ranges)
        self.size = nxt
        self.valid = np.zeros(nxt, np.bool_)
        self.owner = np.zeros(nxt, np.int32)
        for lo, hi, pid in spans:
            self.valid[lo:hi] = True
            self.owner[lo:hi] = pid

    def dense(self, pid: int, pages: np.ndarray) -> np.ndarray:
        """The dense unit of each of process ``pid``'s pages."""
        i = np.searchsorted(self.starts[pid], pages, side="right") - 1
        return self.bases[pid][i] + pages * self.cfg.page_size // self.cfg.granularity - self.firsts[pid][i]

    def mask(self, pid: int, names: Sequence[str]) -> Iterator[tuple[int, int]]:
        """The dense ranges of process ``pid``'s segments named ``names``."""
        for n in names:
            yield self.ranges[pid][n]


class _Host:
    """Host memory under the GPU: ``cap`` units of the managed data (the first ones, in
    allocation order, at the start), the rest on the paging device; LRU over the units it holds.
    Each method returns the paging device's time for what it did."""

    def __init__(self, cfg: UVMConfig, host: HostPaging, space: _Space) -> None:
        self.cfg = cfg
        self.cap = host.units
        self.on = np.zeros(space.size, np.bool_)
        first = np.flatnonzero(space.valid)[: self.cap]
        self.on[first] = True
        self.lru: OrderedDict[int, None] = OrderedDict.fromkeys(first.tolist())
        pages = max(1.0, cfg.granularity / cfg.page_size)
        self.read_ns = pages * host.read_ns / host.channels
        self.write_ns = pages * host.write_ns / host.channels
        self.ins = self.outs = 0

    def leave(self, units: np.ndarray) -> float:
        """``units`` migrate to the GPU: those on the paging device are read in first."""
        here = self.on[units]
        for u in units[here].tolist():
            del self.lru[u]
        self.on[units] = False
        swapped = len(units) - int(here.sum())
        self.ins += swapped
        return swapped * self.read_ns

    def arrive(self, units: np.ndarray) -> float:
        """``units`` evicted from the GPU: the host's least recent units page out past ``cap``."""
        for u in units.tolist():
            self.lru[u] = None
        self.on[units] = True
        out = max(0, len(self.lru) - self.cap)
        for _ in range(out):
            u, _ = self.lru.popitem(last=False)
            self.on[u] = False
        self.outs += out
        return out * self.write_ns


class UVM:
    """One GPU job (every process of a scenario) on a UVMConfig; ``run()`` gives the SimResult."""

    def __init__(self, cfg: UVMConfig, processes: Sequence[ProcessSpec], rng: random.Random, name: str, seed: int) -> None:
        self.cfg = cfg
        self.processes = processes
        self.rng = rng
        self.name = name
        self.seed = seed
        self.space = _Space(cfg, processes)
        units = self.space.footprint_units
        if cfg.oversubscription is not None:
            self.device_units = int(units / cfg.oversubscription)
        else:
            self.device_units = cfg.device_memory // cfg.granularity
        least = 2 * self.space.per_block
        if self.device_units < least:
            raise VmsimError(
                f"device memory of {self.device_units * cfg.granularity:,} bytes holds fewer than two 2 MiB chunks "
                f"(the job's footprint is {units * cfg.granularity:,} bytes)",
                field="machine.gpu",
            )

    def run(self, on_sample: ProgressFn | None = None) -> SimResult:
        """The job on this device, and (``cfg.fits``) on one that holds all of it, for the
        slowdown. ``on_sample(references, faults)`` returning True stops the run (partial; a run
        stopped before its end has no slowdown)."""
        seed = self.rng.getrandbits(63)
        result = _Run(self.cfg, self.space, self.processes, self.device_units, random.Random(seed), on_sample).go()
        fits_time = None
        footprint = self.space.footprint_units * self.cfg.granularity
        if self.cfg.fits and not result.partial:
            if self.device_units >= self.space.footprint_units:
                fits_time = result.time_ns
            else:
                units = self.space.footprint_units
                fits = _Run(self.cfg, self.space, self.processes, units, random.Random(seed), on_sample).go()
                fits_time = None if fits.partial else fits.time_ns
                result.partial = fits.partial
        return result.result(self, footprint, fits_time)


class _Run:
    """The state of one run of the job."""

    def __init__(
        self,
        cfg: UVMConfig,
        space: _Space,
        processes: Sequence[ProcessSpec],
        units: int,
        rng: random.Random,
        on_sample: ProgressFn | None = None,
    ) -> None:
        self.cfg, self.space, self.processes, self.units = cfg, space, processes, units
        self.on_sample = on_sample
        self.partial = False
        n, b = space.size, space.per_block
        self.b = b
        self.resident = np.zeros(n, np.bool_)
        self.seen = np.zeros(n, np.bool_)
        self.evicted = np.zeros(n, np.bool_)
        self.pref = np.zeros(n, np.bool_)
        self.read_mostly = np.zeros(n, np.bool_)
        #: Units of arrays the GPU reads over the link (hint ``host``), never migrated.
        self.remote = np.zeros(n, np.bool_)
        self.block_res = np.zeros(max(1, n // b), np.int32)
        self.order: OrderedDict[int, None] = OrderedDict()
        self.held = 0
        self.full = False
        nproc = len(processes)
        self.refs = [0] * nproc
        self.faults = np.zeros(nproc, np.int64)
        self.cold = np.zeros(nproc, np.int64)
        self.evictions = np.zeros(nproc, np.int64)
        self.writebacks = np.zeros(nproc, np.int64)
        self.max_rss = [0] * nproc
        self.access_bytes = [int(getattr(p.workload, "access_bytes", cfg.page_size)) for p in processes]
        self.fault_batches = self.prefetched = self.prefetch_hits = self.refaults = 0
        self.bytes_to_device = self.bytes_to_host = self.bytes_remote = 0
        self.time_ns = self.compute_ns = self.service_ns = self.link_ns = 0.0
        self.samples: list[Sample] = []
        self.period = cfg.sample_ns
        self._next_sample = float(self.period)
        #: At the last sample: time, compute, link busy, faults, evictions.
        self._last = (0.0, 0.0, 0.0, 0, 0)
        self._out = 0
        self._swap_ns = 0.0
        self.hostmem = _Host(cfg, cfg.host, space) if cfg.host is not None else None
        self.pager: Pager | None = None
        self.tables: list[dict[int, int]] = []
        if cfg.policy is not None:
            self.pager = Pager(units, cfg.policy, rng)
            for pid in range(nproc):
                space_ = AddressSpace.flat()
                self.pager.add_process(pid, space_)
                self.tables.append(space_.tables[0].entries)
            self._hits = self.pager.plan.hits
        for pid, p in enumerate(processes):
            hints = getattr(p.workload, "hints", None)
            if hints is None:
                continue
            for lo, hi in space.mask(pid, hints.read_mostly):
                self.read_mostly[lo:hi] = True
            for lo, hi in space.mask(pid, hints.host):
                self.remote[lo:hi] = True
        self.any_remote = bool(self.remote.any())

    # ------------------------------------------------------------------ the job

    def go(self) -> _Run:
        """Prefetch hints, then every process's stream, window by window, round robin."""
        for pid, p in enumerate(self.processes):
            hints = getattr(p.workload, "hints", None)
            for lo, hi in self.space.mask(pid, hints.prefetch if hints is not None else ()):
                self._prefetch_range(lo, hi)
        streams = [(pid, iter(p.workload.chunks())) for pid, p in enumerate(self.processes)]
        step = self.cfg.in_flight
        while streams:
            for entry in list(streams):
                pid, it = entry
                chunk = next(it, None)
                if chunk is None:
                    streams.remove(entry)
                    continue
                units = self.space.dense(pid, np.asarray(chunk.pages, np.int64))
                for lo in range(0, len(units), step):
                    self._window(pid, units[lo : lo + step])
                if self.on_sample is not None and self.on_sample(sum(self.refs), int(self.faults.sum())):
                    self.partial = True
                    streams = []
                    break
        self._sample(final=True)
        return self

    def _window(self, pid: int, units: np.ndarray) -> None:
        """``in_flight`` accesses of one process: the hits run, the faults are serviced."""
        cfg = self.cfg
        self.refs[pid] += len(units)
        ab = self.access_bytes[pid]
        remote = self.remote[units] if self.any_remote else None
        if remote is not None and remote.any():
            k = int(remote.sum())
            self.bytes_remote += k * ab
            t = k * ab / cfg.link_bandwidth / NS
            self.link_ns += t
            self.time_ns += t
            units = units[~remote]
        t = len(units) * ab / cfg.device_bandwidth / NS
        self.compute_ns += t
        self.time_ns += t
        res = self.resident[units]
        used = units[res & self.pref[units]]
        if len(used):
            used = np.unique(used)
            self.prefetch_hits += len(used)
            self.pref[used] = False
        if self.pager is not None:
            self._policy_hits(pid, units[res])
        missed = units[~res]
        if len(missed):
            _, first = np.unique(missed, return_index=True)
            self._service(missed[np.sort(first)])
        if self.time_ns >= self._next_sample:
            self._sample()

    def _policy_hits(self, pid: int, units: np.ndarray) -> None:
        assert self.pager is not None
        table = self.tables[pid]
        frames = self.pager.frames
        ref = frames.referenced
        if self._hits:
            domain = self.pager.accounts[pid].domain
            for u in units.tolist():
                f = table[u]
                ref[f] = 1
                domain.hit(f)
        else:
            for u in units.tolist():
                ref[table[u]] = 1

    # ------------------------------------------------------------------ faults

    def _service(self, faults: np.ndarray) -> None:
        """Demand faults, in order of first access, in batches: each batch's blocks are migrated
        together (one copy per block), after the evictions that make room for them."""
        cfg = self.cfg
        owner = self.space.owner
        for s in range(0, len(faults), cfg.batch_size):
            batch = faults[s : s + cfg.batch_size]
            self.fault_batches += 1
            pids = owner[batch]
            self.faults += np.bincount(pids, minlength=len(self.faults))
            cold = ~self.seen[batch]
            self.cold += np.bincount(pids[cold], minlength=len(self.cold))
            self.seen[batch] = True
            self.refaults += int(self.evicted[batch].sum())
            self.evicted[batch] = False
            self.pref[batch] = False
            want = batch
            if cfg.prefetch and self.b > 1 and (cfg.prefetch_when_full or not self.full):
                extra = self._density(batch)
                if len(extra):
                    want = np.concatenate((batch, extra))
                    self.prefetched += len(extra)
                    self.pref[extra] = True
            blocks = np.unique(want // self.b)
            self._make_room(len(want), set(blocks.tolist()))
            self._load(want, blocks)
            link = self._copies(len(blocks), len(want), self._take_out())
            cost = cfg.batch_cost_ns + link + self._swap(want)
            self.service_ns += cost
            self.time_ns += cost

    def _copies(self, copies: int, units_in: int, units_out: int) -> float:
        """The link's time for ``copies`` block copies moving ``units_in`` units to the GPU and
        ``units_out`` back (counted as the link's busy time and bytes to the device)."""
        cfg = self.cfg
        t = copies * cfg.link_latency_ns + (units_in + units_out) * cfg.granularity / cfg.link_bandwidth / NS
        self.bytes_to_device += units_in * cfg.granularity
        self.link_ns += t
        return t

    def _density(self, faults: np.ndarray) -> np.ndarray:
        """The units the density prefetcher adds to ``faults``: per 2 MiB block, the largest
        aligned region around each fault that is more than ``threshold`` resident or faulting,
        for all of a batch's blocks at once (a row per block)."""
        b = self.b
        blocks, row = np.unique(faults // b, return_inverse=True)
        cells = blocks[:, None] * b + np.arange(b)[None, :]
        occ = self.resident[cells]
        leaf = faults - blocks[row] * b
        occ[row, leaf] = True
        count = np.zeros((len(blocks), b + 1), np.int64)
        np.cumsum(occ, axis=1, out=count[:, 1:])
        lo, hi = leaf.copy(), leaf + 1
        size = 2
        while size <= b:
            start = leaf // size * size
            ok = (count[row, start + size] - count[row, start]) > size * self.cfg.threshold
            lo = np.where(ok, start, lo)
            hi = np.where(ok, start + size, hi)
            size *= 2
        mark = np.zeros((len(blocks), b + 1), np.int32)
        np.add.at(mark, (row, lo), 1)
        np.add.at(mark, (row, hi), -1)
        region = np.cumsum(mark[:, :b], axis=1) > 0
        pick = region & ~occ & self.space.valid[cells]
        return cells[pick]

    def _prefetch_range(self, lo: int, hi: int) -> None:
        """A prefetch hint (``cudaMemPrefetchAsync``): dense units lo..hi migrated, block by block,
        before the first launch, at the link's bandwidth (on a device too small for the range, its
        later blocks push its earlier ones out)."""
        b = self.b
        moved_in = moved_out = copies = 0
        for blk in range(lo // b, -(-hi // b)):
            a, z = max(lo, blk * b), min(hi, (blk + 1) * b)
            want = np.arange(a, z, dtype=np.int64)
            want = want[~self.resident[want]]
            if not len(want):
                continue
            self._make_room(len(want), {blk})
            self._load(want, np.array([blk], np.int64))
            moved_out += self._take_out()
            swap = self._swap(want)
            self.service_ns += swap
            self.time_ns += swap
            self.seen[want] = True
            self.pref[want] = True
            self.prefetched += len(want)
            moved_in += len(want)
            copies += 1
        self.time_ns += self._copies(copies, moved_in, moved_out)

    def _load(self, units: np.ndarray, blocks: np.ndarray) -> None:
        """Map ``units`` (of ``blocks``) on the device; a block with no unit resident before is a
        new allocation, the newest on the chunk list."""
        self.held += len(units)
        if self.pager is None:
            self.resident[units] = True
            fresh = blocks[self.block_res[blocks] == 0]
            for blk in fresh.tolist():
                self.order[blk] = None
            np.add.at(self.block_res, units // self.b, 1)
            return
        owner = self.space.owner
        pager = self.pager
        for u in units.tolist():
            pid = int(owner[u])
            f = pager.fault(pid, self.tables[pid], u, 0)
            if f.victim_page >= 0:
                self._evicted(np.array([f.victim_page], np.int64))
                self.held -= 1
        self.resident[units] = True

    def _make_room(self, need: int, pinned: set[int]) -> None:
        """Evict until ``need`` more units fit: whole chunks, oldest allocation first, the blocks
        being migrated into last. With a policy the Pager evicts at each load instead."""
        if self.held + need > self.units:
            self.full = True
        if self.pager is not None:
            return
        while self.held + need > self.units:
            victim = next((c for c in self.order if c not in pinned), None)
            self._evict_block(next(iter(self.order)) if victim is None else victim)

    def _evict_block(self, blk: int) -> None:
        b = self.b
        units = np.flatnonzero(self.resident[blk * b : (blk + 1) * b]) + blk * b
        del self.order[blk]
        self.block_res[blk] = 0
        self.held -= len(units)
        self._evicted(units)

    def _evicted(self, units: np.ndarray) -> None:
        """Bookkeeping of evicted units (those copied back are counted until ``_take_out``)."""
        self.resident[units] = False
        self.evicted[units] = True
        self.pref[units] = False
        pids = self.space.owner[units]
        self.evictions += np.bincount(pids, minlength=len(self.evictions))
        back = ~self.read_mostly[units]
        self.writebacks += np.bincount(pids[back], minlength=len(self.writebacks))
        k = int(back.sum())
        self.bytes_to_host += k * self.cfg.granularity
        if self.hostmem is not None:
            self._swap_ns += self.hostmem.arrive(units)
        self._out += k

    def _swap(self, migrated: np.ndarray) -> float:
        """The paging device's time for ``migrated`` leaving the host and for the evictions since
        the last call arriving there (0 without host paging)."""
        if self.hostmem is None:
            return 0.0
        t, self._swap_ns = self._swap_ns + self.hostmem.leave(migrated), 0.0
        return t

    def _take_out(self) -> int:
        """Units copied back to the host since the last call."""
        k, self._out = self._out, 0
        return k

    # ------------------------------------------------------------------ results

    def _sample(self, final: bool = False) -> None:
        now = self.time_ns
        if final and self.samples and now <= self.samples[-1].t_s / NS:
            return
        t_last, compute_last, link_last, f_last, e_last = self._last
        span = now - t_last
        if span <= 0:
            return
        faults, evictions = int(self.faults.sum()), int(self.evictions.sum())
        owner = self.space.owner
        rss = np.bincount(owner[self.resident], minlength=len(self.processes))
        for i, r in enumerate(rss.tolist()):
            self.max_rss[i] = max(self.max_rss[i], r)
        self.samples.append(
            Sample(
                t_s=round(now * NS, 9),
                cpu_utilization=min(1.0, (self.compute_ns - compute_last) / span),
                paging_device_utilization=min(1.0, (self.link_ns - link_last) / span),
                faults=faults - f_last,
                evictions=evictions - e_last,
                rss=tuple(int(r) for r in rss.tolist()),
                working_set=(),
                active=len(self.processes),
            )
        )
        self._last = (now, self.compute_ns, self.link_ns, faults, evictions)
        while self._next_sample <= now:
            self._next_sample += self.period
        if len(self.samples) >= 2 * MAX_SAMPLES:
            self.samples = compact(self.samples)
            self.period *= 2

    def result(self, uvm: UVM, footprint: int, fits_ns: float | None) -> SimResult:
        """The SimResult of this run (``fits_ns``: the same job's time on a device it fits)."""
        cfg = self.cfg
        end = self.time_ns
        end_s = end * NS
        period = self.samples[1].t_s - self.samples[0].t_s if len(self.samples) > 1 else self.period * NS
        procs = tuple(
            ProcessStats(
                pid=pid,
                name=p.name,
                group=p.group,
                references=self.refs[pid],
                hits=self.refs[pid] - int(self.faults[pid]),
                faults=int(self.faults[pid]),
                cold_faults=int(self.cold[pid]),
                evictions=int(self.evictions[pid]),
                writebacks=int(self.writebacks[pid]),
                arrival_s=0.0,
                finish_s=round(end_s, 9),
                running_s=round(end_s, 9),
                ready_s=0.0,
                blocked_s=0.0,
                suspended_s=0.0,
                suspensions=0,
                max_rss=self.max_rss[pid],
            )
            for pid, p in enumerate(self.processes)
        )
        device = uvm.device_units * cfg.granularity
        gpu = GPURecord(
            preset=cfg.preset,
            device_memory=device,
            footprint=footprint,
            oversubscription=round(footprint / device, 6),
            granularity=cfg.granularity,
            eviction="chunk" if cfg.policy is None else cfg.policy.label,
            prefetch=cfg.prefetch,
            kernel_time_s=round(end_s, 9),
            fits_time_s=None if fits_ns is None else round(fits_ns * NS, 9),
            slowdown=None if not fits_ns else round(end / fits_ns, 6),
            compute_s=round(self.compute_ns * NS, 9),
            fault_service_s=round(self.service_ns * NS, 9),
            link_busy_s=round(self.link_ns * NS, 9),
            faults=int(self.faults.sum()),
            evictions=int(self.evictions.sum()),
            **{k: getattr(self, k) for k in _COUNTS},
            host_page_ins=self.hostmem.ins if self.hostmem else 0,
            host_page_outs=self.hostmem.outs if self.hostmem else 0,
        )
        return SimResult(
            scenario=uvm.name,
            seed=uvm.seed,
            frames=uvm.device_units,
            policy=gpu.eviction,
            scope="global",
            **totals(procs),
            simulated_time_s=end_s,
            context_switches=0,
            cpu_utilization=self.compute_ns / end if end else 0.0,
            paging_device_utilization=self.link_ns / end if end else 0.0,
            thrashing=verdict(self.samples, period, end_s),
            processes=procs,
            samples=tuple(self.samples),
            gpu=gpu,
            partial=self.partial,
        )
