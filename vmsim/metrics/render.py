"""Renderings of run results: tables, JSON, CSV, step tables, and the OSTEP and Pitt formats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from vmsim.metrics.results import RunResult, SimResult

COLUMNS = ("policy", "frames", "references", "hits", "faults", "fault_rate", "evictions", "writebacks")


def to_json(runs: Sequence[RunResult]) -> str:
    """One object for one run, a list for several. Keys in a fixed order; no timings."""
    data = [r.to_dict() for r in runs]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2)


def to_csv(runs: Sequence[RunResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*COLUMNS, "cold_faults", "scope", "seed"])
    for r in runs:
        d = r.to_dict()
        w.writerow([*(d[c] for c in COLUMNS), d["cold_faults"], d["scope"], d["seed"]])
    return buf.getvalue()


def tabulate(*args: Any, **kwargs: Any) -> str:
    """tabulate, imported on first use: JSON and CSV runs do not pay for importing it."""
    from tabulate import tabulate as _tabulate

    return _tabulate(*args, **kwargs)


def to_table(runs: Sequence[RunResult]) -> str:
    rows = []
    for r in runs:
        d = r.to_dict()
        rows.append([d[c] if c != "fault_rate" else f"{100 * r.fault_rate:.2f}%" for c in COLUMNS])
    headers = ["policy", "frames", "references", "hits", "faults", "fault rate", "evictions", "write-backs"]
    return tabulate(rows, headers=headers, intfmt=",")


def _page(pid: int, page: int, multi: bool) -> str:
    return f"{pid}:{page}" if multi else str(page)


def to_steps(run: RunResult) -> str:
    """The textbook table: one row per access with hit or miss, each frame's page, the victim."""
    assert run.steps is not None
    multi = len({s.pid for s in run.steps}) > 1
    headers = ["#", "ref", "result", *(f"f{i}" for i in range(run.frames)), "victim"]
    rows = []
    for i, s in enumerate(run.steps, 1):
        ref = _page(s.pid, s.page, multi) + ("w" if s.write else "")
        cells = ["" if p is None else str(p) for p in s.frames]
        victim = "" if s.victim is None else str(s.victim)
        rows.append([i, ref, "hit" if s.hit else "MISS", *cells, victim])
    title = f"{run.policy}, {run.frames} frames: {run.faults} faults, {run.hits} hits, {run.writebacks} write-backs"
    return title + "\n" + tabulate(rows, headers=headers, disable_numparse=True, stralign="right")


_OSTEP_ENDS = {"fifo": ("FirstIn", "Lastin "), "lru": ("LRU", "MRU"), "mru": ("LRU", "MRU")}


def to_ostep(run: RunResult) -> str:
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


def to_pitt(run: RunResult) -> str:
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


def sim_table(r: SimResult) -> str:
    """The summary of a kernel simulation and one row per process."""
    g = r.global_dict()
    th = g["thrashing"]
    verdict = f"yes, from {th['since_s']:.3f} s ({100 * th['fraction']:.0f}% of samples)" if th["detected"] else "no"
    summary = [
        ["scenario", r.scenario],
        ["policy / scope / frames", f"{r.policy} / {r.scope} / {r.frames:,}"],
        ["references", f"{r.references:,}"],
        ["faults", f"{r.faults:,} ({g['faults_per_1000_references']:.3f} per 1,000 references, {g['faults_per_second']:.1f}/s)"],
        ["write-backs", f"{r.writebacks:,}"],
        ["CPU utilization", f"{100 * r.cpu_utilization:.1f}%"],
        ["paging device utilization", f"{100 * r.paging_device_utilization:.1f}%"],
        ["simulated time", f"{r.simulated_time_s:.6f} s"],
        ["thrashing", verdict],
    ]
    rows = [
        [p.name, p.references, p.faults, p.writebacks, p.max_rss, f"{p.running_s:.4f}", f"{p.ready_s:.4f}",
         f"{p.blocked_s:.4f}", f"{p.suspended_s:.4f}", "-" if p.finish_s is None else f"{p.finish_s:.4f}"]
        for p in r.processes
    ]
    headers = ["process", "references", "faults", "write-backs", "max RSS", "running s", "ready s", "blocked s",
               "suspended s", "finished s"]
    out = tabulate(summary, tablefmt="plain") + "\n\n" + tabulate(rows, headers=headers, intfmt=",")
    extra = [(p.name, p.workload) for p in r.processes if p.workload]
    if extra:
        out += "\n\n" + "\n".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in w.items()) for name, w in extra)
    return out


_SWEEP_KEYS = ("references", "faults", "writebacks", "cpu_utilization", "paging_device_utilization", "simulated_time_s")


def sweep_table(rows: Sequence[tuple[dict, SimResult]]) -> str:
    keys = list(rows[0][0]) if rows else []
    out = []
    for params, r in rows:
        g = r.global_dict()
        out.append([*(params[k] for k in keys), *(g[k] for k in _SWEEP_KEYS), "yes" if g["thrashing"]["detected"] else "no"])
    return tabulate(out, headers=[*keys, *_SWEEP_KEYS, "thrashing"], intfmt=",")


def sweep_csv(rows: Sequence[tuple[dict, SimResult]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    keys = list(rows[0][0]) if rows else []
    w.writerow([*keys, *_SWEEP_KEYS, "thrashing"])
    for params, r in rows:
        g = r.global_dict()
        w.writerow([*(params[k] for k in keys), *(g[k] for k in _SWEEP_KEYS), g["thrashing"]["detected"]])
    return buf.getvalue()


def compare_table(runs: Sequence[dict]) -> str:
    """One row per (policy, frames); OPT's faults at the same frames as the reference column."""
    opt = {r["frames"]: r["faults"] for r in runs if r["policy"] == "opt"}
    cols = ["policy", "frames", "references", "faults", "writebacks"]
    if any("cpu_utilization" in r for r in runs):
        cols.append("cpu_utilization")
    rows = []
    for r in runs:
        ref = opt.get(r["frames"])
        extra = f"{r['faults'] / ref:.2f}x" if ref else ""
        rows.append([*(r.get(c, "") for c in cols), extra])
    return tabulate(rows, headers=[*cols, "vs OPT"], intfmt=",")


def runs_csv(runs: Sequence[dict]) -> str:
    buf = io.StringIO()
    cols = list(runs[0]) if runs else []
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in runs:
        w.writerow([r.get(c, "") for c in cols])
    return buf.getvalue()


def curve_table(points: Sequence[dict]) -> str:
    """Faults with one row per frame count and one column per policy."""
    policies = list(dict.fromkeys(p["policy"] for p in points))
    frames = sorted({p["frames"] for p in points})
    faults = {(p["policy"], p["frames"]): p["faults"] for p in points}
    rows = [[f, *(faults.get((pol, f), "") for pol in policies)] for f in frames]
    return tabulate(rows, headers=["frames", *policies], intfmt=",")
