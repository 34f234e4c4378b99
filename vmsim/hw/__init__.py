"""The hardware: address split, physical frames, segment and page tables, the MMU."""

from vmsim.hw.address import AddressSplit, check_page_size
from vmsim.hw.frames import FrameTable
from vmsim.hw.mmu import MMU, Outcome
from vmsim.hw.segments import PTE, AddressSpace, PageTable, Segment

__all__ = [
    "MMU",
    "PTE",
    "AddressSpace",
    "AddressSplit",
    "FrameTable",
    "Outcome",
    "PageTable",
    "Segment",
    "check_page_size",
]
