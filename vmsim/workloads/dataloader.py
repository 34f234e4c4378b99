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

import numpy as np

from vmsim.errors import VmsimError
from vmsim.hw.access import CHUNK, Chunk
from vmsim.workloads.embedding import Segment, rechunk, whole_number

ORDERS = ("sequential", "shuffle")


@dataclass(frozen=True)
class DataLoader:
    """Reads of a data set for ``epochs`` epochs (see the module doc)."""

    dataset_bytes: int
    sample_bytes: int
    seed: int
    page_size: int = 4096
    order: str = "shuffle"
    epochs: int = 1
    workers: int = 1
    worker: int | None = None
    batch_size: int = 1

    def __post_init__(self) -> None:
        w = "data_loader"
        set_ = object.__setattr__
        for name, least in (
            ("dataset_bytes", 1),
            ("sample_bytes", 1),
            ("seed", 0),
            ("page_size", 1),
            ("epochs", 1),
            ("workers", 1),
            ("batch_size", 1),
        ):
            set_(self, name, whole_number(getattr(self, name), f"{w}.{name}", least))
        if self.sample_bytes > self.dataset_bytes:
            raise VmsimError(f"{w}.sample_bytes must be <= {w}.dataset_bytes ({self.dataset_bytes}), got {self.sample_bytes}")
        if self.order not in ORDERS:
            raise VmsimError(f"{w}.order must be one of {', '.join(ORDERS)}, got {self.order!r}")
        if self.worker is not None:
            worker = whole_number(self.worker, f"{w}.worker", 0)
            if worker >= self.workers:
                raise VmsimError(f"{w}.worker must be < {w}.workers ({self.workers}), got {worker}")
            set_(self, "worker", worker)

    @property
    def samples(self) -> int:
        """Samples in the data set."""
        return self.dataset_bytes // self.sample_bytes

    @property
    def footprint(self) -> int:
        """Distinct pages the stream can touch: the pages holding the samples."""
        return -(-(self.samples * self.sample_bytes) // self.page_size)

    @property
    def segments(self) -> tuple[Segment, ...]:
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
        for _ in range(self.epochs):
            order = gen.permutation(n) if self.order == "shuffle" else None
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
