"""``data_loader``: epochs of reads over a file-backed data set, lazily.

The data set is a file of ``dataset_bytes // sample_bytes`` fixed-size samples packed back to
back (trailing bytes too few for a sample are never read), mapped as one file-backed segment of
the pages that hold the samples. Reading a sample references each of its pages once, in order
(a sample that straddles a page boundary shares that page with its neighbour). Reads only.

Each epoch visits every sample once, in file order (``sequential``) or in a new seeded
permutation (``shuffle``). The epoch's order is cut into batches of ``batch_size`` consecutive
samples (the last may be short), dealt round-robin to ``workers`` workers as PyTorch's DataLoader
does: worker i gets batches i, i+n, i+2n, ... (with batch_size 1, samples i, i+n, ...).
``worker=None`` gives the whole epoch order (all workers' reads as the page cache sees them when
the workers keep pace with each other); ``worker=i`` (or ``for_worker(i)``) gives worker i's
stream alone. All workers share the epoch's order, so their streams partition it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from vmsim.hw.access import CHUNK, Chunk, rechunk
from vmsim.kernel.config import SegmentPages
from vmsim.spec import Model
from vmsim.units import Size


class DataLoaderSpec(Model):
    """Epochs of reads over a file-backed data set; the group's processes are the workers and
    share the data set's pages."""

    kind: Literal["data_loader"] = Field(description="epochs of reads over a data set")
    dataset_bytes: Size = Field(gt=0, description="size of the data set file")
    sample_bytes: Size = Field(gt=0, description="size of one sample; samples are packed back to back")
    order: Literal["sequential", "shuffle"] = Field(
        "shuffle", description="each epoch in file order, or in a new seeded permutation"
    )
    epochs: int = Field(1, ge=1, description="passes over the data set")
    batch_size: int = Field(1, ge=1, description="consecutive samples per batch; batches go round-robin to the workers")

    @model_validator(mode="after")
    def _sample_fits(self) -> DataLoaderSpec:
        if self.sample_bytes > self.dataset_bytes:
            raise ValueError(f"sample_bytes must be <= dataset_bytes ({self.dataset_bytes}), got {self.sample_bytes}")
        return self


@dataclass(frozen=True)
class DataLoader:
    """Reads of the spec's data set for its epochs (see the module doc): all workers' reads
    (``worker`` None) or worker ``worker``'s of ``workers``."""

    spec: DataLoaderSpec
    seed: int
    page_size: int = 4096
    workers: int = 1
    worker: int | None = None

    def __post_init__(self) -> None:
        assert self.worker is None or 0 <= self.worker < self.workers, "worker must be one of the workers"

    @property
    def sample_bytes(self) -> int:
        """Bytes of one sample."""
        return self.spec.sample_bytes

    @property
    def batch_size(self) -> int:
        """Consecutive samples per batch."""
        return self.spec.batch_size

    @property
    def samples(self) -> int:
        """Samples in the data set."""
        return self.spec.dataset_bytes // self.sample_bytes

    @property
    def footprint(self) -> int:
        """Distinct pages the stream can touch: the pages holding the samples."""
        return -(-(self.samples * self.sample_bytes) // self.page_size)

    @property
    def segments(self) -> tuple[SegmentPages, ...]:
        """One file-backed segment: (``dataset``, 0, footprint, True)."""
        return (("dataset", 0, self.footprint, True),)

    def for_worker(self, i: int) -> DataLoader:
        """Worker i's stream alone (same data set, order, seed and epochs)."""
        return dataclasses.replace(self, worker=i)

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The whole stream, ``size`` accesses at a time; the same seed gives the same stream."""
        return rechunk(self._pieces(max(1, size)), size)

    def _pages_of(self, samples: np.ndarray) -> np.ndarray:
        """Every page of each sample, sample after sample."""
        s, p = self.sample_bytes, self.page_size
        first = samples * s // p
        counts = ((samples + 1) * s - 1) // p - first + 1
        starts = np.cumsum(counts) - counts
        return np.repeat(first - starts, counts) + np.arange(int(counts.sum()), dtype=np.int64)

    def _pieces(self, size: int) -> Iterator[tuple[np.ndarray, None]]:
        n = self.samples
        gen = np.random.default_rng(self.seed)
        span = -(-self.sample_bytes // self.page_size) + 1  # most pages one sample can touch
        step = max(1, size // span)  # samples per piece
        nbatches = -(-n // self.batch_size)
        for _ in range(self.spec.epochs):
            order = gen.permutation(n) if self.spec.order == "shuffle" else None
            if self.worker is None:
                for lo in range(0, n, step):
                    idx = np.arange(lo, min(n, lo + step), dtype=np.int64)
                    yield self._pages_of(idx if order is None else order[idx]), None
                continue
            for idx in self._worker_positions(n, nbatches, step):
                yield self._pages_of(idx if order is None else order[idx]), None

    def _worker_positions(self, n: int, nbatches: int, step: int) -> Iterator[np.ndarray]:
        """Positions in the epoch's order that this worker reads, at most ``step`` at a time."""
        bsz = self.batch_size
        mine = np.arange(self.worker or 0, nbatches, self.workers, dtype=np.int64)
        if bsz <= step:
            per = step // bsz  # whole batches per piece
            for lo in range(0, len(mine), per):
                idx = (mine[lo : lo + per, None] * bsz + np.arange(bsz, dtype=np.int64)).ravel()
                yield idx[idx < n]
            return
        for b in mine.tolist():
            end = min(n, (b + 1) * bsz)
            for lo in range(b * bsz, end, step):
                yield np.arange(lo, min(end, lo + step), dtype=np.int64)
