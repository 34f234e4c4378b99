"""The pool of physical frames shared by every process.

State per frame lives in flat sequences indexed by frame number, which are cheap to index in the
hot loop and cheap to scan for Clock-style policies. The referenced and dirty bits live here rather
than in each page-table entry: a resident page occupies exactly one frame, so the two are the same
bits, and the MMU sets them here on every access.
"""

from __future__ import annotations

import heapq

from vmsim.errors import VmsimError
from vmsim.limits import MAX_FRAMES, describe

FREE = -1


class FrameTable:
    """Physical frames: owner process, virtual page, referenced bit, dirty bit, and a free list."""

    __slots__ = ("_free", "_fresh", "dirty", "n", "owner", "page", "referenced", "table")

    def __init__(self, n: int) -> None:
        if n <= 0:
            raise VmsimError(f"frames must be a positive number, got {n}")
        if n > MAX_FRAMES:
            raise VmsimError(f"{n:,} frames: vmsim simulates at most {describe(MAX_FRAMES)} frames")
        self.n = n
        self.owner: list[int] = [FREE] * n
        self.page: list[int] = [FREE] * n
        # The page-table dict that maps this frame, so eviction can unmap it in O(1); for a page
        # of a shared segment, the list of every sharer's table.
        self.table: list[dict[int, int] | list[dict[int, int]] | None] = [None] * n
        self.referenced = bytearray(n)
        self.dirty = bytearray(n)
        # The lowest-numbered free frame is handed out first. Frames from _fresh on have never been
        # used; the ones released since form a min-heap, all below _fresh. So building and filling
        # memory cost nothing per frame beyond the flat arrays above.
        self._fresh = 0
        self._free: list[int] = []

    @property
    def free_count(self) -> int:
        """Frames not holding a page: never used plus freed."""
        return self.n - self._fresh + len(self._free)

    def allocate(self) -> int | None:
        """Take the lowest-numbered free frame, or None when every frame is in use."""
        if self._free:
            return heapq.heappop(self._free)
        f = self._fresh
        if f < self.n:
            self._fresh = f + 1
            return f
        return None

    def unmap(self, frame: int) -> None:
        """Remove the frame's page from every page table that maps it."""
        tables = self.table[frame]
        page = self.page[frame]
        if type(tables) is list:
            for t in tables:
                t.pop(page, None)
        elif tables is not None:
            del tables[page]

    def release(self, frame: int) -> None:
        """Return a frame to the free list, clearing its state."""
        self.owner[frame] = FREE
        self.page[frame] = FREE
        self.table[frame] = None
        self.referenced[frame] = 0
        self.dirty[frame] = 0
        heapq.heappush(self._free, frame)

    def release_all(self, frames: list[int]) -> None:
        """Return many frames to the free list at once (a process's frames at its exit)."""
        owner, page, table, ref, dirty = self.owner, self.page, self.table, self.referenced, self.dirty
        for f in frames:
            owner[f] = page[f] = FREE
            table[f] = None
            ref[f] = dirty[f] = 0
        free = self._free
        if len(frames) > len(free) // 8:
            free.extend(frames)
            heapq.heapify(free)
        else:
            for f in frames:
                heapq.heappush(free, f)
