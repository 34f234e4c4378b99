"""Segment tables and page tables: one address space per process."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from typing import Literal

from vmsim.errors import VmsimError
from vmsim.hw.frames import FrameTable

Grows = Literal["up", "down"]


@dataclass(frozen=True)
class Segment:
    """A contiguous range of virtual addresses with permissions.

    ``base`` is the lowest address for a segment that grows up, and one past the highest address
    for a segment that grows down (a stack), so ``limit`` is always the segment's size in bytes.
    """

    name: str
    base: int
    limit: int
    perms: str = "rw"
    grows: Grows = "up"
    #: Backed by a file (read from it on first touch, dropped when clean) rather than anonymous
    #: memory (zero-filled on first touch, written to swap when evicted dirty).
    file_backed: bool = False

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise VmsimError(f"segment {self.name!r}: limit must be >= 0, got {self.limit}")
        if set(self.perms) - set("rwx"):
            raise VmsimError(f"segment {self.name!r}: permissions are letters of 'rwx', got {self.perms!r}")
        if self.grows not in ("up", "down"):
            raise VmsimError(f"segment {self.name!r}: grows must be 'up' or 'down', got {self.grows!r}")
        if self.grows == "down" and self.base < self.limit:
            raise VmsimError(f"segment {self.name!r}: a downward segment needs base >= limit")

    @property
    def start(self) -> int:
        """The first valid address (a downward segment ends at its base)."""
        return self.base if self.grows == "up" else self.base - self.limit

    @property
    def end(self) -> int:
        """One past the last valid address."""
        return self.base + self.limit if self.grows == "up" else self.base

    def contains(self, vaddr: int) -> bool:
        """Whether ``vaddr`` lies in the segment."""
        return self.start <= vaddr < self.end


@dataclass(frozen=True)
class PTE:
    """A page-table entry as software sees it (referenced/dirty read from the frame)."""

    frame: int | None
    present: bool
    referenced: bool
    dirty: bool


@dataclass
class PageTable:
    """Virtual page number -> frame for the present pages of one segment.

    A page is present exactly when it has an entry; ``entries`` is a plain dict because the hot
    loop looks pages up in it directly.
    """

    entries: dict[int, int] = field(default_factory=dict)

    def entry(self, vpn: int, frames: FrameTable) -> PTE:
        """The page-table entry of ``vpn``, its bits read from ``frames``."""
        f = self.entries.get(vpn)
        if f is None:
            return PTE(None, False, False, False)
        return PTE(f, True, bool(frames.referenced[f]), bool(frames.dirty[f]))

    def __len__(self) -> int:
        return len(self.entries)


class AddressSpace:
    """A process's segment table, with one page table per segment."""

    def __init__(self, segments: list[Segment], unified: bool = False) -> None:
        """``unified``: the segments' page tables share one dict (keyed by virtual page number,
        which is unique across segments), as one multi-level table per process would; the
        kernel's slice loop then needs a single lookup per access."""
        ordered = sorted(segments, key=lambda s: s.start)
        for a, b in itertools.pairwise(ordered):
            if b.start < a.end:
                raise VmsimError(f"segments {a.name!r} and {b.name!r} overlap")
        self.segments = ordered
        self._starts = [s.start for s in ordered]
        if unified:
            entries: dict[int, int] = {}
            self.tables: list[PageTable] = [PageTable(entries) for _ in ordered]
        else:
            self.tables = [PageTable() for _ in ordered]

    @classmethod
    def flat(cls, bits: int = 64) -> AddressSpace:
        """One read-write-execute segment over the whole address space (for raw traces)."""
        return cls([Segment("all", 0, 1 << bits, "rwx")])

    def lookup(self, vaddr: int) -> int | None:
        """Index of the segment holding ``vaddr``, or None (a segmentation fault)."""
        i = bisect.bisect_right(self._starts, vaddr) - 1
        if i >= 0 and self.segments[i].contains(vaddr):
            return i
        return None
