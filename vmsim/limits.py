"""The largest values vmsim accepts, named once, each with its reason (docs/reliability.md).

A value beyond one of these is an input error with a clear message before anything runs, never
an overflow or an allocation failure halfway through a run.
"""

from __future__ import annotations

#: Any size in bytes in a scenario (memory, a workload's data, a KV pool): 256 TiB, the virtual
#: address space of x86-64 and AArch64 with four-level page tables.
MAX_BYTES = 1 << 48
#: Physical frames of one machine: 2**27 (512 GiB of 4 KiB pages). The frame table costs about
#: 26 bytes a frame, so this is about 3.5 GB of tables, what a workstation can hold.
MAX_FRAMES = 1 << 27
#: Any one duration: 10**15 ns (about 11.6 days of simulated time). Simulated time is kept in
#: integer nanoseconds; sums of many such durations stay far inside an int64 (292 years).
MAX_DURATION_NS = 10**15
#: Any other whole number in a scenario (references, pages, rows, steps, counts): 2**48, so
#: products with a page size or an element size stay inside an int64.
MAX_INT = 1 << 48
#: Processes in one scenario: each has its own page table and SimPy process, built up front.
MAX_PROCESSES = 10_000
#: The finest period of the sampler and of load control: 100 us (a check costs O(processes),
#: and a page-in takes milliseconds; a finer period only multiplies events).
MIN_CHECK_NS = 100_000
#: Entries of a range on the command line (``--frames A..B``, ``--vary PATH=A..B``).
MAX_RANGE = 1_000_000
#: The longest line of a trace file vmsim reads (a file without newlines is not a trace).
MAX_LINE = 1 << 16
#: A process's virtual address space: 64 bits (a trace's one segment covers all of it).
ADDRESS_SPACE = 1 << 64
#: Page numbers and addresses in traces and reference strings: what an int64 holds.
MAX_PAGE = (1 << 63) - 1


def describe(limit: int) -> str:
    """``281,474,976,710,656 (2**48)`` for error messages."""
    exp = limit.bit_length() - 1
    if limit == 1 << exp:
        return f"{limit:,} (2**{exp})"
    if limit == (1 << (exp + 1)) - 1:
        return f"{limit:,} (2**{exp + 1} - 1)"
    return f"{limit:,}"
