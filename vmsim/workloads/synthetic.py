"""Synthetic workloads: uniform, Zipf, loop and sequential reference streams, lazily in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vmsim.hw.access import CHUNK, Chunk

#: Accesses per page in a sequential scan (a 4 KiB page of 8-byte words touched 8 times apart).
SEQUENTIAL_RUN = 64


KINDS = ("uniform", "zipf", "loop", "sequential", "phases")


@dataclass(frozen=True)
class SyntheticWorkload:
    """One process's stream of accesses over pages 0..pages-1 of one data segment.

    ``uniform``: every page equally likely. ``zipf``: page popularity ~ 1/rank**alpha, ranks
    shuffled over the pages. ``loop``: 0, 1, ..., pages-1, 0, 1, ... ``sequential``: a scan that
    touches each page SEQUENTIAL_RUN times in a row before the next, wrapping at the end.
    ``phases``: uniform over a window of ``pages`` pages that moves by ``shift`` pages every
    ``phase_length`` accesses (a locality that drifts, as in Denning's working-set model).
    """

    kind: str
    pages: int
    references: int
    seed: int
    write_fraction: float = 0.0
    alpha: float = 1.0
    phase_length: int = 10_000
    shift: int = 0

    @property
    def footprint(self) -> int:
        """Distinct pages the stream can touch (the process's virtual size in pages)."""
        if self.kind != "phases":
            return self.pages
        phases = -(-self.references // self.phase_length) + 1
        return self.pages + self.shift * (phases - 1)

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The whole stream, ``size`` accesses at a time; the same seed gives the same stream."""
        spec = self
        gen = np.random.default_rng(self.seed)
        total = spec.references
        cdf = None
        perm = None
        if spec.kind == "zipf":
            weights = 1.0 / np.arange(1, spec.pages + 1, dtype=np.float64) ** spec.alpha
            cdf = np.cumsum(weights)
            cdf /= cdf[-1]
            perm = gen.permutation(spec.pages)  # popularity is not ordered by page number
        # Each process enters its first phase part-way, so phase changes are not in lockstep.
        offset = int(gen.integers(0, spec.phase_length)) if spec.kind == "phases" else 0
        done = 0
        while done < total:
            n = min(size, total - done)
            idx = np.arange(done, done + n, dtype=np.int64)
            if spec.kind == "uniform":
                pages = gen.integers(0, spec.pages, n, dtype=np.int64)
            elif spec.kind == "zipf":
                assert cdf is not None and perm is not None
                ranks = np.minimum(np.searchsorted(cdf, gen.random(n), side="right"), spec.pages - 1)
                pages = perm[ranks].astype(np.int64)
            elif spec.kind == "phases":
                base = ((idx + offset) // spec.phase_length) * spec.shift
                pages = base + gen.integers(0, spec.pages, n, dtype=np.int64)
            elif spec.kind == "loop":
                pages = idx % spec.pages
            else:
                pages = (idx // SEQUENTIAL_RUN) % spec.pages
            writes = None
            if spec.write_fraction > 0:
                writes = (gen.random(n) < spec.write_fraction).astype(np.uint8)
            yield Chunk(pages, writes)
            done += n
