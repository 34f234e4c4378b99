"""Workloads given explicitly: a reference string, or a trace file as one process's stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from vmsim.errors import VmsimError
from vmsim.hw.access import CHUNK, Chunk
from vmsim.workloads.refstring import parse_refs
from vmsim.workloads.traces import open_trace


@dataclass(frozen=True)
class RefStringWorkload:
    """A reference string (``"7 0 1 2w 0"``), played ``repeat`` times."""

    refs: str
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise VmsimError(f"refs workload: repeat must be >= 1, got {self.repeat}")
        parse_refs(self.refs)

    @cached_property
    def _chunk(self) -> Chunk:
        return parse_refs(self.refs)

    @property
    def footprint(self) -> int:
        return int(self._chunk.pages.max()) + 1

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        for _ in range(self.repeat):
            yield self._chunk


@dataclass(frozen=True)
class TraceWorkload:
    """A trace file (any format `vmsim replay` reads) as one process's stream. A ``pid`` trace's
    process ids are ignored: every access belongs to this process."""

    path: Path
    fmt: str | None = None
    page_size: int = 4096
    instructions: bool = True
    limit: int | None = None

    @cached_property
    def _source(self):  # type: ignore[no-untyped-def]
        return open_trace(self.path, self.fmt, self.page_size, self.instructions, self.limit)

    def validate(self, thorough: bool = False) -> None:
        """Open the file, detect its format and parse its first block now, so a bad trace fails
        before the run; ``thorough`` parses all of it (``vmsim validate``: a malformed line
        anywhere is found without running)."""
        chunks = self._source()
        if thorough:
            for _ in chunks:
                pass
        else:
            next(chunks, None)

    @property
    def segments(self) -> tuple[tuple[str, int, int, bool], ...]:
        """One file-backed data segment over the whole address space: a trace's pages may lie
        anywhere, and laying them out must not cost a pass over the file."""
        return (("data", 0, 1 << (64 - (self.page_size.bit_length() - 1)), True),)

    @cached_property
    def footprint(self) -> int:
        """Distinct pages in the trace (one pass over it; only proportional allocation asks)."""
        seen: set[int] = set()
        for chunk in self._source():
            seen.update(np.unique(chunk.pages).tolist())
        return max(1, len(seen))

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        for chunk in self._source():
            yield Chunk(chunk.pages, chunk.writes)
