"""Renderings of run results: tables, JSON, CSV, step tables, and the OSTEP and Pitt formats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from tabulate import tabulate

from vmsim.metrics.results import RunResult

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
