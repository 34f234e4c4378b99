"""The sampler: the system's time series (utilisations, faults, resident and working sets) and the
thrashing verdict drawn from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from vmsim.kernel.config import KernelConfig
from vmsim.kernel.cpu import CPUs
from vmsim.kernel.events import DeviceQueue, SimProcess
from vmsim.kernel.process import Processes
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.results import Sample, Thrashing, ThrashingEpisode
from vmsim.vm import Pager

NS = 1e-9

#: Time series keep at most twice this many samples: past it, pairs merge and the period doubles.
MAX_SAMPLES = 1000

#: A sample shows thrashing when the CPUs are mostly idle while the paging device is mostly busy and
#: pages are being evicted (memory is full: not a cold start) ...
THRASHING_CPU_BELOW = 0.35
THRASHING_DEVICE_ABOVE = 0.85
#: ... that many samples in a row showing it make an episode ...
THRASHING_RUN = 3
#: ... and the run thrashes (sustained thrashing) when its episodes last this share of it.
THRASHING_SUSTAINED = 0.25


class Stop(Exception):
    """Raised inside the simulation to end it early (the user pressed Ctrl-C)."""


@dataclass(eq=False)
class Sampler:
    """Every ``sample_ns`` of simulated time, one Sample; ``on_sample(references, faults)``
    returning True stops the run (Stop)."""

    cfg: KernelConfig
    procs: Processes
    cpus: CPUs
    device: DeviceQueue
    pager: Pager
    samples: list[Sample] = field(default_factory=list)
    on_sample: ProgressFn | None = None

    def run(self) -> SimProcess:
        """The SimPy process."""
        cfg, procs, pager = self.cfg, self.procs, self.pager
        env = self.device.agenda.env
        accounts = pager.accounts
        last_cpu = last_dev = last_faults = last_evictions = 0
        period = cfg.sample_ns
        while procs.remaining:
            yield env.timeout(period)
            now = int(env.now)
            faults = sum(a.faults for a in accounts.values())
            evictions = sum(a.evictions for a in accounts.values())
            for p in procs.all:
                p.max_rss = max(p.max_rss, accounts[p.pid].resident)
            self.samples.append(
                Sample(
                    t_s=now * NS,
                    cpu_utilization=(self.cpus.busy - last_cpu) / (cfg.cpus * period),
                    paging_device_utilization=(self.device.busy - last_dev) / (cfg.device_channels * period),
                    faults=faults - last_faults,
                    evictions=evictions - last_evictions,
                    rss=tuple(accounts[p.pid].resident for p in procs.all),
                    working_set=tuple(p.ws.size(cfg.ws_tau_ns, p.vtime) for p in procs.all),
                    active=len(procs.active()),
                )
            )
            last_cpu, last_dev, last_faults, last_evictions = self.cpus.busy, self.device.busy, faults, evictions
            if self.on_sample is not None and self.on_sample(sum(p.references for p in procs.all), faults):
                raise Stop
            if len(self.samples) >= 2 * MAX_SAMPLES:
                self.samples = compact(self.samples)
                period *= 2

    def thrashing(self, run_s: float) -> Thrashing:
        """The verdict over the samples of a run that lasted ``run_s`` simulated seconds."""
        samples = self.samples
        period = samples[1].t_s - samples[0].t_s if len(samples) > 1 else self.cfg.sample_ns * NS
        return verdict(samples, period, run_s)


def verdict(samples: list[Sample], period: float, run_s: float) -> Thrashing:
    """The thrashing verdict over ``samples`` taken every ``period`` seconds of a ``run_s`` run
    (the kernel's and the GPU model's alike: docs/semantics.md)."""
    flags = [
        s.cpu_utilization < THRASHING_CPU_BELOW and s.paging_device_utilization > THRASHING_DEVICE_ABOVE and s.evictions > 0
        for s in samples
    ]
    episodes: list[ThrashingEpisode] = []
    first = None  # the first sample of the current run of flagged samples
    for i, flag in enumerate([*flags, False]):
        if flag and first is None:
            first = i
        elif not flag and first is not None:
            if i - first >= THRASHING_RUN:
                start, end = round(samples[first].t_s - period, 9), round(samples[i - 1].t_s, 9)
                episodes.append(ThrashingEpisode(start, end, (end - start) / run_s if run_s else 0.0))
            first = None
    sustained = sum(e.share for e in episodes) >= THRASHING_SUSTAINED
    fraction = sum(flags) / len(flags) if flags else 0.0
    return Thrashing(sustained, episodes[0].start_s if sustained else None, fraction, tuple(episodes))


def compact(samples: list[Sample]) -> list[Sample]:
    """Pairs of consecutive samples merged into one (the period doubles) once a series is long."""
    return [_merge(a, b) for a, b in zip(samples[::2], samples[1::2], strict=False)]


def _merge(a: Sample, b: Sample) -> Sample:
    """Two consecutive samples as one over both periods (sizes as at the later one)."""
    return Sample(
        t_s=b.t_s,
        cpu_utilization=(a.cpu_utilization + b.cpu_utilization) / 2,
        paging_device_utilization=(a.paging_device_utilization + b.paging_device_utilization) / 2,
        faults=a.faults + b.faults,
        evictions=a.evictions + b.evictions,
        rss=b.rss,
        working_set=b.working_set,
        active=b.active,
    )
