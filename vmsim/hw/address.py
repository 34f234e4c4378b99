"""Splitting a virtual address into page number and offset."""

from __future__ import annotations

from dataclasses import dataclass

from vmsim.errors import VmsimError


def check_page_size(page_size: int, field: str = "page size") -> int:
    """Return ``page_size`` if it is a positive power of two, else raise a VmsimError."""
    if page_size <= 0 or page_size & (page_size - 1):
        raise VmsimError(f"{field} must be a power of two (e.g. 4096), got {page_size}")
    return page_size


@dataclass(frozen=True)
class AddressSplit:
    """A page size and the shift that turns an address into its virtual page number."""

    page_size: int

    def __post_init__(self) -> None:
        check_page_size(self.page_size)

    @property
    def shift(self) -> int:
        """Bits of the page offset: log2(page_size)."""
        return self.page_size.bit_length() - 1

    def vpn(self, vaddr: int) -> int:
        """The virtual page number of ``vaddr``."""
        return vaddr >> self.shift

    def offset(self, vaddr: int) -> int:
        """The offset of ``vaddr`` within its page."""
        return vaddr & (self.page_size - 1)
