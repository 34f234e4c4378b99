"""The hardware model: page sizes, frames, segment tables, and what the MMU reports."""

from __future__ import annotations

import pytest

from vmsim.errors import VmsimError
from vmsim.hw import AddressSpace, AddressSplit, FrameTable, Segment, check_page_size


def test_page_size_must_be_a_power_of_two() -> None:
    assert check_page_size(4096) == 4096
    for bad in (0, -4096, 3000, 4097):
        with pytest.raises(VmsimError, match="power of two"):
            check_page_size(bad)
    split = AddressSplit(4096)
    assert (split.shift, split.vpn(0x12345), split.offset(0x12345)) == (12, 0x12, 0x345)


def test_frames_hand_out_lowest_free_first() -> None:
    ft = FrameTable(4)
    assert [ft.allocate() for _ in range(5)] == [0, 1, 2, 3, None]
    ft.release(2)
    ft.release(0)
    assert (ft.allocate(), ft.allocate()) == (0, 2)
    with pytest.raises(VmsimError):
        FrameTable(0)


def space() -> AddressSpace:
    return AddressSpace(
        [
            Segment("code", 0x0000, 0x2000, "rx"),
            Segment("heap", 0x4000, 0x3000, "rw"),
            Segment("stack", 0x10000, 0x2000, "rw", grows="down"),
        ]
    )


def test_segment_lookup_and_downward_growth() -> None:
    s = space()
    assert s.lookup(0x1FFF) == 0
    assert s.lookup(0x2000) is None  # gap between code and heap
    assert s.lookup(0x6FFF) == 1 and s.lookup(0x7000) is None
    assert s.lookup(0xE000) == 2 and s.lookup(0xFFFF) == 2 and s.lookup(0x10000) is None
    assert s.lookup(0xDFFF) is None


def test_overlapping_or_invalid_segments_are_errors() -> None:
    with pytest.raises(VmsimError, match="overlap"):
        AddressSpace([Segment("a", 0, 0x2000), Segment("b", 0x1000, 0x1000)])
    with pytest.raises(VmsimError, match="permissions"):
        Segment("a", 0, 10, "rwq")
    with pytest.raises(VmsimError, match="grows"):
        Segment("a", 0, 10, "rw", grows="sideways")  # type: ignore[arg-type]
