"""``gpu_kernel``: a GPU kernel over managed (CUDA Unified Memory) arrays, described in bytes.

Each array is one allocation (``cudaMallocManaged``), placed on a 2 MiB boundary as the driver's VA
blocks are, and one segment of the process. An iteration is one launch of the kernel:

- ``regular`` (a streaming stencil, like Rodinia's hotspot or srad): the arrays are swept in
  lockstep, page by page (element i of every array, then i + 1), every page in full;
- ``irregular`` (a graph traversal, like bfs): as many accesses as the arrays have pages, each to a
  page drawn uniformly over all the arrays' pages, each moving only ``access_bytes`` (a scattered
  gather touches a few cache lines of a page, not the page).

An array the kernel writes (``write: true``) is written wherever it is accessed. The hints are the
CUDA calls a user adds to such a job: ``prefetch`` (``cudaMemPrefetchAsync`` to the GPU before the
first launch), ``read_mostly`` (``cudaMemAdviseSetReadMostly``: the GPU holds a read-only copy,
so evicting it copies nothing back) and ``host`` (``cudaMemAdviseSetPreferredLocation`` to the CPU
with ``AccessedBy`` the GPU: the GPU reads it over the link and never migrates it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from vmsim.hw.access import CHUNK, Chunk
from vmsim.hw.gpu import BLOCK
from vmsim.kernel.config import SegmentPages
from vmsim.limits import MAX_BYTES, describe
from vmsim.spec import Model
from vmsim.units import Size


class GPUArray(Model):
    """One managed allocation of the kernel."""

    name: str = Field(description="the array's name (its segment's), used by the hints")
    size: Size = Field(gt=0, le=MAX_BYTES, description=f"bytes (e.g. 4GiB), at most {describe(MAX_BYTES)}")
    write: bool = Field(False, description="the kernel writes the array (else it only reads it)")


class GPUHints(Model):
    """Memory hints, by array name."""

    prefetch: list[str] = Field(default_factory=list, description="arrays prefetched to the GPU before the first launch")
    read_mostly: list[str] = Field(
        default_factory=list, description="read-only arrays the GPU keeps a copy of (eviction copies nothing back)"
    )
    host: list[str] = Field(default_factory=list, description="arrays that stay in host memory; the GPU reads them over the link")


class GPUKernelSpec(Model):
    """A GPU kernel launched ``iterations`` times over managed arrays (needs ``machine.gpu``)."""

    kind: Literal["gpu_kernel"] = Field(description="a GPU kernel over Unified Memory arrays")
    arrays: list[GPUArray] = Field(min_length=1, description="the kernel's managed allocations, in allocation order")
    access: Literal["regular", "irregular"] = Field(
        "regular", description="regular: the arrays streamed in lockstep; irregular: uniformly scattered page accesses"
    )
    iterations: int = Field(10, ge=1, le=1_000_000, description="launches of the kernel")
    access_bytes: Size | None = Field(
        None, gt=0, description="bytes one access moves on the device; default: a page (regular) or 128 bytes (irregular)"
    )
    hints: GPUHints = Field(GPUHints(), description="memory hints: prefetch, read_mostly, host")

    @model_validator(mode="after")
    def _names(self) -> GPUKernelSpec:
        names = [a.name for a in self.arrays]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"array name {dup[0]!r} is used twice")
        h = self.hints
        for field in ("prefetch", "read_mostly", "host"):
            for n in getattr(h, field):
                if n not in names:
                    raise ValueError(f"hints.{field}: no array named {n!r}; the arrays: {', '.join(names)}")
        written = {a.name for a in self.arrays if a.write}
        for n in h.read_mostly:
            if n in written:
                raise ValueError(f"hints.read_mostly: array {n!r} is written by the kernel (read_mostly is for read-only data)")
        both = sorted(set(h.host) & (set(h.prefetch) | set(h.read_mostly)))
        if both:
            raise ValueError(f"hints.host: array {both[0]!r} stays in host memory; it cannot also be prefetched or read_mostly")
        return self


class GPUKernel:
    """The access stream of a :class:`GPUKernelSpec` at ``page_size`` pages."""

    def __init__(self, spec: GPUKernelSpec, seed: int, page_size: int) -> None:
        self.spec = spec
        self.seed = seed
        self.page_size = page_size
        per_block = max(1, BLOCK // page_size)
        segs: list[SegmentPages] = []
        first = 0
        for a in spec.arrays:
            n = -(-a.size // page_size)
            segs.append((a.name, first, n, False))
            first += -(-n // per_block) * per_block
        self.segments: tuple[SegmentPages, ...] = tuple(segs)
        self.access_bytes = spec.access_bytes or (page_size if spec.access == "regular" else 128)
        self.hints = spec.hints

    @property
    def footprint(self) -> int:
        """Pages of the arrays."""
        return sum(n for _, _, n, _ in self.segments)

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """Every launch's accesses, ``size`` at a time."""
        firsts = np.array([s[1] for s in self.segments], np.int64)
        counts = np.array([s[2] for s in self.segments], np.int64)
        writes = np.array([a.write for a in self.spec.arrays], np.bool_)
        if self.spec.access == "regular":
            yield from self._regular(firsts, counts, writes, size)
        else:
            yield from self._irregular(firsts, counts, writes, size)

    def _regular(self, firsts: np.ndarray, counts: np.ndarray, writes: np.ndarray, size: int) -> Iterator[Chunk]:
        k = len(firsts)
        longest = int(counts.max())
        rows = max(1, size // k)
        for _ in range(self.spec.iterations):
            for lo in range(0, longest, rows):
                i = np.arange(lo, min(longest, lo + rows), dtype=np.int64)
                pages = firsts[None, :] + i[:, None]
                live = i[:, None] < counts[None, :]
                yield Chunk(pages[live], np.broadcast_to(writes, pages.shape)[live].astype(np.uint8))

    def _irregular(self, firsts: np.ndarray, counts: np.ndarray, writes: np.ndarray, size: int) -> Iterator[Chunk]:
        gen = np.random.default_rng(self.seed)
        ends = np.cumsum(counts)
        base = firsts - (ends - counts)  # an array's first page, less the flat index of its first
        total = int(ends[-1])
        for _ in range(self.spec.iterations):
            for lo in range(0, total, size):
                flat = gen.integers(0, total, min(size, total - lo), dtype=np.int64)
                which = np.searchsorted(ends, flat, side="right")
                pages = base[which] + flat
                yield Chunk(pages, writes[which].astype(np.uint8))
