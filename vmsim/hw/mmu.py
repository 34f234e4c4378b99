"""The MMU: translates one access and sets the referenced and dirty bits, as hardware does."""

from __future__ import annotations

from enum import Enum

from vmsim.hw.address import AddressSplit
from vmsim.hw.frames import FrameTable
from vmsim.hw.segments import AddressSpace


class Outcome(Enum):
    """What translating one access yields. Faults are results to count, never exceptions."""

    HIT = "hit"
    PAGE_FAULT = "page_fault"
    SEGMENTATION_FAULT = "segmentation_fault"
    PROTECTION_FAULT = "protection_fault"


class MMU:
    """Address translation for one frame pool and page size.

    This is the general (segment-checking) path. The replay engine inlines the same steps for a
    flat address space; both set the bits in the same FrameTable.
    """

    def __init__(self, frames: FrameTable, split: AddressSplit) -> None:
        self.frames = frames
        self.split = split

    def access(self, space: AddressSpace, vaddr: int, write: bool, execute: bool = False) -> tuple[Outcome, int]:
        """Translate one access: (outcome, frame or segment index).

        On a hit the frame's referenced bit is set, and its dirty bit on a write. On a page fault
        the second value is the segment index, for the fault handler.
        """
        seg = space.lookup(vaddr)
        if seg is None:
            return Outcome.SEGMENTATION_FAULT, -1
        perms = space.segments[seg].perms
        if (write and "w" not in perms) or (execute and "x" not in perms) or (not write and not execute and "r" not in perms):
            return Outcome.PROTECTION_FAULT, seg
        frame = space.tables[seg].entries.get(vaddr >> self.split.shift)
        if frame is None:
            return Outcome.PAGE_FAULT, seg
        self.frames.referenced[frame] = 1
        if write:
            self.frames.dirty[frame] = 1
        return Outcome.HIT, frame
