"""Immutable result records. Summaries are computed from them, never kept alongside."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProcessResult:
    """Counters of one process. Evictions and write-backs are charged to the page's owner."""

    pid: int
    references: int
    faults: int
    cold_faults: int
    evictions: int
    writebacks: int

    @property
    def hits(self) -> int:
        return self.references - self.faults


@dataclass(frozen=True)
class Step:
    """One access of a step-by-step run (``--explain`` and the OSTEP profile)."""

    pid: int
    page: int
    write: bool
    hit: bool
    #: Page held by each frame after the access, by frame number (None = free).
    frames: tuple[int | None, ...]
    #: Pages of the faulting process's replacement domain in the policy's order.
    order: tuple[int, ...]
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
    processes: tuple[ProcessResult, ...] = ()
    steps: tuple[Step, ...] | None = None

    @property
    def hits(self) -> int:
        return self.references - self.faults

    @property
    def distinct_pages(self) -> int:
        """Pages touched at least once: every one of them cost exactly one cold fault."""
        return self.cold_faults

    @property
    def fault_rate(self) -> float:
        return self.faults / self.references if self.references else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of a run: stable key order, no timings (same input, same bytes)."""
        out: dict[str, Any] = {
            "policy": self.policy,
            "frames": self.frames,
            "scope": self.scope,
            "seed": self.seed,
            "references": self.references,
            "hits": self.hits,
            "faults": self.faults,
            "cold_faults": self.cold_faults,
            "evictions": self.evictions,
            "writebacks": self.writebacks,
            "fault_rate": round(self.fault_rate, 6),
        }
        if len(self.processes) > 1:
            out["processes"] = [
                {
                    "pid": p.pid,
                    "references": p.references,
                    "hits": p.hits,
                    "faults": p.faults,
                    "cold_faults": p.cold_faults,
                    "evictions": p.evictions,
                    "writebacks": p.writebacks,
                }
                for p in self.processes
            ]
        if self.steps is not None:
            out["steps"] = [
                {
                    "pid": s.pid,
                    "page": s.page,
                    "write": s.write,
                    "hit": s.hit,
                    "frames": list(s.frames),
                    "victim": s.victim,
                }
                for s in self.steps
            ]
        return out
