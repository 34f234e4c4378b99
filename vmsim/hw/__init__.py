"""The hardware: address split, physical frames, segment and page tables (the MMU's work, setting
referenced and dirty bits, is done inline by the VM core's run loops)."""

from vmsim.hw.address import AddressSplit, check_page_size
from vmsim.hw.frames import FrameTable
from vmsim.hw.segments import PTE, AddressSpace, PageTable, Segment

__all__ = [
    "PTE",
    "AddressSpace",
    "AddressSplit",
    "FrameTable",
    "PageTable",
    "Segment",
    "check_page_size",
]
