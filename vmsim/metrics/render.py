"""Renderings of the results documents (:mod:`vmsim.metrics.schema`): tables, CSV, step tables,
and the OSTEP and Pitt formats. JSON is :func:`vmsim.metrics.schema.dump_json`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from vmsim.metrics.schema import CompareDoc, CurvePoint, GPURecord, LLMRecord, Run, SimDoc, SweepDoc, Thrashing

COLUMNS = ("policy", "frames", "references", "hits", "faults", "fault_rate", "evictions", "writebacks")
_CSV_COLUMNS = (*COLUMNS, "cold_faults", "scope", "seed")


def tabulate(*args: Any, **kwargs: Any) -> str:
    """tabulate, imported on first use: JSON and CSV runs do not pay for importing it."""
    from tabulate import tabulate as _tabulate

    return _tabulate(*args, **kwargs)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def runs_table(runs: Sequence[Run]) -> str:
    """The runs as a text table: counters and fault rate per policy and frame count."""
    rows = [[*(getattr(r, c) for c in COLUMNS[:5]), f"{100 * r.fault_rate:.2f}%", r.evictions, r.writebacks] for r in runs]
    headers = ["policy", "frames", "references", "hits", "faults", "fault rate", "evictions", "write-backs"]
    return tabulate(rows, headers=headers, intfmt=",")


def runs_csv(runs: Sequence[Run]) -> str:
    """One row per run; ``cpu_utilization`` is a column when any run has it (scenario compares)."""
    cols = [*_CSV_COLUMNS, *(["cpu_utilization"] if any(r.cpu_utilization is not None for r in runs) else [])]
    if any(r.partial for r in runs):
        cols.append("partial")
    return _csv(cols, ([getattr(r, c) for c in cols] for r in runs))


def _page(pid: int, page: int, multi: bool) -> str:
    return f"{pid}:{page}" if multi else str(page)


def step_rows(run: Run) -> tuple[list[str], list[list[str]]]:
    """The step table's headers and rows (as text): one row per access with hit or miss, each
    frame's page after it, the victim. Pages are ``pid:page`` when several processes ran."""
    assert run.steps is not None
    multi = len({s.pid for s in run.steps}) > 1
    headers = ["#", "ref", "result", *(f"f{i}" for i in range(run.frames)), "victim"]
    rows = []
    for i, s in enumerate(run.steps, 1):
        ref = _page(s.pid, s.page, multi) + ("w" if s.write else "")
        cells = ["" if p is None else str(p) for p in s.frames]
        victim = "" if s.victim is None else str(s.victim)
        rows.append([str(i), ref, "hit" if s.hit else "MISS", *cells, victim])
    return headers, rows


def steps_table(run: Run) -> str:
    """The textbook table (``--explain``), under a line with the run's totals."""
    headers, rows = step_rows(run)
    title = f"{run.policy}, {run.frames} frames: {run.faults} faults, {run.hits} hits, {run.writebacks} write-backs"
    return title + "\n" + tabulate(rows, headers=headers, disable_numparse=True, stralign="right")


_OSTEP_ENDS = {"fifo": ("FirstIn", "Lastin "), "lru": ("LRU", "MRU"), "mru": ("LRU", "MRU")}


def to_ostep(run: Run) -> str:
    """OSTEP paging-policy.py ``-c`` style: memory shown oldest-loaded first, or LRU to MRU for
    recency policies, as that tool shows it."""
    assert run.steps is not None
    base = run.policy.split(":")[0]
    left, right = _OSTEP_ENDS.get(base, ("Left ", "Right"))
    recency = base in ("lru", "mru")
    memory: list[int] = []
    hits = misses = 0
    lines = []
    for s in run.steps:
        if s.hit:
            hits += 1
            if recency:
                memory.remove(s.page)
                memory.append(s.page)
        else:
            misses += 1
            if s.victim is not None:
                memory.remove(s.victim)
            memory.append(s.page)
        shown = "[" + ", ".join(map(str, memory)) + "]"
        replaced = "-" if s.victim is None else str(s.victim)
        lines.append(
            f"Access: {s.page}  {'HIT ' if s.hit else 'MISS'} {left} -> {shown:>12} <- {right} "
            f"Replaced:{replaced} [Hits:{hits} Misses:{misses}]"
        )
    rate = 100.0 * hits / (hits + misses) if hits + misses else 0.0
    lines.append("")
    lines.append(f"FINALSTATS hits {hits}   misses {misses}   hitrate {rate:.2f}")
    return "\n".join(lines)


def to_pitt(run: Run) -> str:
    """The Pitt CS1550 vmsim summary lines."""
    return "\n".join(
        [
            f"Algorithm: {run.policy.upper()}",
            f"Number of frames: {run.frames}",
            f"Total memory accesses: {run.references}",
            f"Total page faults: {run.faults}",
            f"Total writes to disk: {run.writebacks}",
        ]
    )


def thrashing_verdict(th: Thrashing) -> str:
    """``yes, from 0.110 s: 1 episode, 87% of the run`` / ``no (1 episode, 0.350-0.365 s, 4% of
    the run)`` / ``no``."""
    n = len(th.episodes)
    share = f"{100 * sum(e.share for e in th.episodes):.0f}% of the run"
    if th.detected:
        return f"yes, from {th.since_s:.3f} s: {n} episode{'s' if n > 1 else ''}, {share}"
    if n == 1:
        e = th.episodes[0]
        return f"no (1 episode, {e.start_s:.3f}-{e.end_s:.3f} s, {share})"
    return f"no ({n} short episodes, {share})" if n else "no"


def sim_table(doc: SimDoc) -> str:
    """The summary of a kernel simulation and one row per process."""
    g = doc.global_
    verdict = thrashing_verdict(g.thrashing)
    summary = [
        ["scenario", doc.scenario],
        ["policy / scope / frames", f"{g.policy} / {g.scope} / {g.frames:,}"],
        ["references", f"{g.references:,}"],
        ["faults", f"{g.faults:,} ({g.faults_per_1000_references:.3f} per 1,000 references, {g.faults_per_second:.1f}/s)"],
        ["write-backs", f"{g.writebacks:,}"],
        ["CPU utilization", f"{100 * g.cpu_utilization:.1f}%"],
        ["paging device utilization", f"{100 * g.paging_device_utilization:.1f}%"],
        ["simulated time", f"{g.simulated_time_s:.6f} s"],
        ["thrashing", verdict],
    ]
    if g.tlb is not None:
        t = g.tlb
        shape = "fully associative" if t.ways == t.entries else f"{t.ways}-way"
        tagged = "ASID-tagged" if t.asid else "flushed on switch"
        summary.append(
            [
                "TLB",
                f"{t.entries} entries, {shape}, {t.policy}, {tagged}: hit ratio {100 * t.hit_ratio:.2f}%, "
                f"effective access {t.effective_access_ns:.1f} ns, {t.flushes:,} flushes",
            ]
        )
    if g.gpu is not None:
        summary.extend(gpu_lines(g.gpu))
    if g.llm is not None:
        summary.extend(llm_lines(g.llm))
    rows = [
        [
            p.name,
            p.references,
            p.faults,
            p.writebacks,
            p.max_rss,
            f"{p.running_s:.4f}",
            f"{p.ready_s:.4f}",
            f"{p.blocked_s:.4f}",
            f"{p.suspended_s:.4f}",
            "-" if p.finish_s is None else f"{p.finish_s:.4f}",
        ]
        for p in doc.processes
    ]
    headers = [
        "process",
        "references",
        "faults",
        "write-backs",
        "max RSS",
        "running s",
        "ready s",
        "blocked s",
        "suspended s",
        "finished s",
    ]
    out = tabulate(summary, tablefmt="plain") + "\n\n" + tabulate(rows, headers=headers, intfmt=",")
    extra = [(p.name, p.workload) for p in doc.processes if p.workload]
    if extra:
        out += "\n\n" + "\n".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in w.items()) for name, w in extra)
    return out


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n} B"


def gpu_lines(u: GPURecord) -> list[list[str]]:
    """The GPU block of a simulation's summary."""
    name = u.preset or "custom GPU"
    slowdown = f"{u.slowdown:.2f}x the job on a GPU it fits ({u.fits_time_s:.6f} s)" if u.slowdown is not None else "not measured"
    prefetch = f"{u.prefetched:,} units prefetched, {u.prefetch_hits:,} of them used" if u.prefetch else "off"
    return [
        [
            "GPU",
            f"{name}: {_bytes(u.device_memory)} device memory, footprint {_bytes(u.footprint)} ({100 * u.oversubscription:.0f}%)",
        ],
        ["kernel time", f"{u.kernel_time_s:.6f} s: compute {u.compute_s:.6f} s, fault service {u.fault_service_s:.6f} s"],
        ["slowdown", slowdown],
        ["UVM faults", f"{u.faults:,} in {u.fault_batches:,} batches ({_bytes(u.granularity)} units)"],
        [
            "migrated",
            f"{_bytes(u.bytes_to_device)} to the GPU, {_bytes(u.bytes_to_host)} back; {_bytes(u.bytes_remote)} read remotely",
        ],
        ["prefetch", prefetch],
        ["evictions", f"{u.evictions:,} units ({u.eviction}), {u.refaults:,} faulted back"],
        *(
            [["host paging", f"{u.host_page_ins:,} units read from the paging device, {u.host_page_outs:,} paged out"]]
            if u.host_page_ins or u.host_page_outs
            else []
        ),
    ]


def _s(v: float | None, scale: float = 1.0, unit: str = "s") -> str:
    return "-" if v is None else f"{v * scale:,.3f} {unit}"


def llm_lines(u: LLMRecord) -> list[list[str]]:
    """The LLM serving block of a simulation's summary."""
    pre = f", preemption by {u.preemption}" if u.preemption else ""
    rejected = f" ({u.rejected:,} rejected: too long for the pool)" if u.rejected else ""
    lines = [
        [
            "serving",
            f"{u.model} on {u.gpu}, KV manager {u.manager}{pre}: {_bytes(u.kv_pool_bytes)} KV pool, "
            f"{_bytes(u.kv_bytes_per_token)} per token, {_bytes(u.weight_bytes)} of weights",
        ],
        [
            "served",
            f"{u.finished:,} of {u.requests:,} requests finished{rejected}, "
            f"{u.output_tokens:,} tokens in {u.duration_s:,.1f} s "
            f"({u.iterations:,} iterations, mean batch {u.mean_batch:.1f}, most {u.max_batch})",
        ],
        ["throughput", f"{u.throughput_tokens_s:,.1f} tokens/s, {u.throughput_requests_s:.3f} requests/s"],
        [
            "latency",
            f"time to first token p50 {_s(u.ttft_p50_s)}, p99 {_s(u.ttft_p99_s)}; "
            f"per output token p50 {_s(u.tpot_p50_s, 1e3, 'ms')}, p99 {_s(u.tpot_p99_s, 1e3, 'ms')}",
        ],
        [
            "KV memory",
            f"token states {100 * u.token_share:.1f}% of the memory held; of the pool: tokens {100 * u.kv_token_states:.1f}%, "
            f"reservation {100 * u.kv_reservation:.1f}%, internal fragmentation {100 * u.kv_internal_fragmentation:.1f}%, "
            f"external fragmentation {100 * u.kv_external_fragmentation:.1f}%, free {100 * u.kv_free:.1f}%",
        ],
        [
            "preemption",
            f"{u.preemptions:,} ({u.swapped_out:,} swapped out, {u.recomputed_tokens:,} tokens recomputed); "
            f"host link {_bytes(u.link_bytes)}, busy {u.link_busy_s:,.3f} s",
        ],
    ]
    if u.prefix_hit_ratio is not None or u.cow_copies or u.sharing_saving:
        hit = "off" if u.prefix_hit_ratio is None else f"{100 * u.prefix_hit_ratio:.1f}% of prompt tokens hit"
        lines.append(
            [
                "sharing",
                f"prefix cache {hit}; {u.cow_copies:,} copy-on-write copies, "
                f"{100 * u.sharing_saving:.1f}% of blocks saved by sharing",
            ]
        )
    return lines


_SWEEP_KEYS = ("references", "faults", "writebacks", "cpu_utilization", "paging_device_utilization", "simulated_time_s")


def _sweep_rows(doc: SweepDoc) -> tuple[list[str], list[list[Any]]]:
    """One row per point: the varied values, the counters, the TLB's hit ratio and effective
    access time when the machine has a TLB, and the thrashing verdict (last)."""
    keys = list(doc.points[0].params) if doc.points else []
    tlb = any(p.global_.tlb is not None for p in doc.points)
    # the GPU and LLM records' columns, for a sweep where some point has the record
    records = [(name, cols) for name, cols in RECORD_COLUMNS if any(getattr(p.global_, name) is not None for p in doc.points)]
    rows = []
    for p in doc.points:
        t = p.global_.tlb
        extra: list[Any] = ([t.hit_ratio, t.effective_access_ns] if t is not None else ["", ""]) if tlb else []
        for name, cols in records:
            rec = getattr(p.global_, name)
            extra += [getattr(rec, k) if rec is not None else "" for k in cols]
        rows.append(
            [*(p.params[k] for k in keys), *(getattr(p.global_, k) for k in _SWEEP_KEYS), *extra, p.global_.thrashing.detected]
        )
    names = [*(["tlb_hit_ratio", "effective_access_ns"] if tlb else []), *(f"{n}_{k}" for n, cols in records for k in cols)]
    return [*keys, *_SWEEP_KEYS, *names, "thrashing"], rows


#: The GPU record's figures a sweep shows per point (as gpu_NAME columns).
GPU_COLUMNS = ("oversubscription", "kernel_time_s", "slowdown", "fault_batches", "bytes_to_device", "refaults")
#: The LLM serving record's figures a sweep shows per point (as llm_NAME columns).
LLM_COLUMNS = (
    "token_share",
    "kv_free",
    "throughput_tokens_s",
    "throughput_requests_s",
    "ttft_p50_s",
    "tpot_p50_s",
    "tpot_p99_s",
    "preemptions",
    "link_bytes",
)
#: The records a sweep table shows columns of, by GlobalStats' field name.
RECORD_COLUMNS = (("gpu", GPU_COLUMNS), ("llm", LLM_COLUMNS))


def sweep_table(doc: SweepDoc) -> str:
    """A sweep's points as a text table."""
    headers, rows = _sweep_rows(doc)
    return tabulate([[*r[:-1], "yes" if r[-1] else "no"] for r in rows], headers=headers, intfmt=",")


def sweep_csv(doc: SweepDoc) -> str:
    """A sweep's points as CSV, the same columns as :func:`sweep_table`."""
    return _csv(*_sweep_rows(doc))


def compare_table(doc: CompareDoc) -> str:
    """One row per (policy, frames); OPT's faults at the same frames as the reference column."""
    opt = {r.frames: r.faults for r in doc.runs if r.policy == "opt"}
    cols = ["policy", "frames", "references", "faults", "writebacks"]
    if any(r.cpu_utilization is not None for r in doc.runs):
        cols.append("cpu_utilization")
    rows = []
    for r in doc.runs:
        ref = opt.get(r.frames)
        rows.append([*(getattr(r, c) for c in cols), f"{r.faults / ref:.2f}x" if ref else ""])
    return tabulate(rows, headers=[*cols, "vs OPT"], intfmt=",")


_CURVE_COLUMNS = ("policy", "frames", "references", "faults", "writebacks")


def curve_table(points: Sequence[CurvePoint]) -> str:
    """Faults with one row per frame count and one column per policy."""
    policies = list(dict.fromkeys(p.policy for p in points))
    frames = sorted({p.frames for p in points})
    faults = {(p.policy, p.frames): p.faults for p in points}
    rows = [[f, *(faults.get((pol, f), "") for pol in policies)] for f in frames]
    return tabulate(rows, headers=["frames", *policies], intfmt=",")


def curve_csv(points: Sequence[CurvePoint]) -> str:
    """Miss-ratio curve points as CSV."""
    return _csv(_CURVE_COLUMNS, ([getattr(p, c) for c in _CURVE_COLUMNS] for p in points))
