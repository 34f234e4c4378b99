"""Workloads given explicitly: a reference string, or a trace file as one process's stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from vmsim.errors import VmsimError
from vmsim.hw.access import CHUNK, Chunk
from vmsim.kernel.config import SegmentPages
from vmsim.spec import Model
from vmsim.workloads.refstring import parse_refs
from vmsim.workloads.traces import open_trace


class Refs(Model):
    """An explicit reference string, e.g. ``"7 0 1 2w 0"`` (``w`` marks a write)."""

    kind: Literal["refs"] = Field(description="an explicit reference string")
    refs: str = Field(description="pages separated by spaces or commas; 2w writes page 2, 2 or 2r reads it")
    repeat: int = Field(1, ge=1, description="times the string is played")

    @field_validator("refs")
    @classmethod
    def _refs(cls, v: str) -> str:
        try:
            parse_refs(v)
        except VmsimError as e:
            raise ValueError(str(e)) from None
        return v


class Trace(Model):
    """A trace file as one process's stream; a relative path is relative to the scenario file."""

    kind: Literal["trace"] = Field(description="a trace file")
    path: str = Field(description="the trace file; relative to the scenario file's directory")
    format: Literal["lackey", "pitt", "rw", "pid", "pages", "txt", "oracleGeneral", "vmsim"] | None = Field(
        None, description="the trace format; default: detected from the file"
    )
    instructions: bool = Field(True, description="keep instruction fetches (lackey traces); false: data accesses only")
    limit: int | None = Field(None, ge=1, description="read at most this many accesses; default: the whole file")

    @field_validator("path")
    @classmethod
    def _path(cls, v: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base_dir")
        p = Path(v) if base is None or Path(v).is_absolute() else Path(base) / v
        try:
            exists = p.is_file()
        except OSError as e:  # a name too long for the file system, ...
            raise ValueError(f"trace file {str(p)[:200]!r}: {e.strerror or e}") from None
        if not exists:
            raise ValueError(f"trace file {str(p)[:200]!r} does not exist")
        return str(p)


@dataclass(frozen=True)
class RefStringWorkload:
    """A reference string (``"7 0 1 2w 0"``), played ``repeat`` times."""

    spec: Refs

    @cached_property
    def _chunk(self) -> Chunk:
        return parse_refs(self.spec.refs)

    @property
    def footprint(self) -> int:
        """Distinct pages the string can touch: its largest page + 1."""
        return int(self._chunk.pages.max()) + 1

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The string's one chunk, ``repeat`` times."""
        for _ in range(self.spec.repeat):
            yield self._chunk


@dataclass(frozen=True)
class TraceWorkload:
    """A trace file (any format `vmsim replay` reads) as one process's stream. A ``pid`` trace's
    process ids are ignored: every access belongs to this process."""

    spec: Trace
    page_size: int = 4096

    @cached_property
    def _source(self):  # type: ignore[no-untyped-def]
        t = self.spec
        return open_trace(Path(t.path), t.format, self.page_size, t.instructions, t.limit)

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
    def segments(self) -> tuple[SegmentPages, ...]:
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
        """The trace's chunks as it reads them (process ids dropped)."""
        for chunk in self._source():
            yield Chunk(chunk.pages, chunk.writes)
